"""Terraform's everyday verbs as a user runs them: --replace, --target, show, state mv, moved_from,
single-dash spellings, and hints that work as printed (each one is executed)."""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli.spellings import TERRAFORM_ONLY, long_options, rewrite


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    dest = example_copy("manifests/quickstart")
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")  # jobs finish at once
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return dest


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def ids(root: Path) -> dict[str, str]:
    listing = run("state", "list", "-f", str(root)).output
    return {line.split("\t")[0]: line.split("\t")[1] for line in listing.splitlines() if line}


def built_from(root: Path, address: str) -> dict[str, str]:
    shown = json.loads(run("state", "show", "-f", str(root), address).output)
    return dict(shown["built_from"])


def creates(root: Path) -> dict[str, int]:
    """Objects the sandbox holds, by table: a retrain or redeploy would add rows."""
    with sqlite3.connect(root / ".reconciler" / "sandbox.db") as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM dashscope_{table}").fetchone()[0]
            for table in ("files", "fine_tunes", "deployments")
        }


def state_bytes(root: Path) -> bytes:
    return (root / ".reconciler" / "state.db").read_bytes()


def execute_hint(line: str) -> Result:
    """Run a printed `reconciler …` command exactly as printed."""
    words = shlex.split(line[line.index("reconciler ") :])
    assert words[0] == "reconciler"
    return run(*words[1:])


def applied(root: Path) -> Path:
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    return root


# -- --replace ------------------------------------------------------------------------------------


def test_replace_retrains_and_lineage_carries_the_dependents(root: Path) -> None:
    applied(root)
    before = ids(root)
    r = run("plan", "-f", str(root), "--replace", "FineTune/money-rain", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "FineTune/money-rain  replace [retrain]" in r.output
    assert "# replacement requested (--replace)" in r.output
    assert "900 training steps, about 6.0 GPU-hours (estimate)" in r.output
    assert "CheckpointExport/money-rain-c600  replace [re-export]" in r.output
    assert "Deployment/money-rain  replace [redeploy]" in r.output
    assert "Dataset/money-rain-train" not in r.output  # upstream: untouched

    r = run("apply", "-f", str(root), "--replace", "FineTune/money-rain", "--auto-approve")
    assert r.exit_code == 0, r.output
    after = ids(root)
    assert after["FineTune/money-rain"] != before["FineTune/money-rain"]
    assert after["Dataset/money-rain-train"] == before["Dataset/money-rain-train"]
    assert built_from(root, "Deployment/money-rain") == {"FineTune/money-rain": after["FineTune/money-rain"]}
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0  # converged


def test_replacing_a_leaf_or_reuploading_a_dataset_rebuilds_nothing_else(root: Path) -> None:
    applied(root)
    before, objects = ids(root), creates(root)
    r = run("apply", "-f", str(root), "--replace", "Deployment/money-rain", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Deployment/money-rain  replace" in r.output and "FineTune/money-rain  replace" not in r.output
    assert creates(root)["fine_tunes"] == objects["fine_tunes"]
    assert creates(root)["deployments"] == objects["deployments"] + 1
    # the same bytes uploaded again: what was trained on them is unchanged (lineage, by content)
    r = run("plan", "-f", str(root), "--replace", "Dataset/money-rain-train")
    assert r.exit_code == 0, r.output
    assert "Dataset/money-rain-train  replace" in r.output
    assert "FineTune/money-rain  replace" not in r.output
    assert ids(root)["FineTune/money-rain"] == before["FineTune/money-rain"]


def test_an_unknown_replace_or_target_is_an_error_listing_near_matches(root: Path) -> None:
    applied(root)
    before = state_bytes(root)
    r = run("plan", "-f", str(root), "--replace", "FineTune/money-rian")
    assert r.exit_code == 1
    assert "--replace FineTune/money-rian: is not declared" in r.output
    assert "did you mean FineTune/money-rain" in r.output and "Traceback" not in r.output
    r = run("apply", "-f", str(root), "--target", "Deploymnet/money-rain", "--auto-approve")
    assert r.exit_code == 1 and "did you mean Deployment/money-rain" in r.output
    r = run("plan", "-f", str(root), "--target", "money-rain")
    assert r.exit_code == 1 and "is not an address (addresses are Kind/name" in r.output
    assert state_bytes(root) == before  # nothing was written


# -- --target -------------------------------------------------------------------------------------


def test_target_limits_the_run_to_it_and_its_upstreams_with_terraforms_warning(root: Path) -> None:
    r = run("plan", "-f", str(root), "--target", "FineTune/money-rain")
    assert r.exit_code == 0, r.output
    assert "Resource targeting is in effect" in r.output
    assert "Plan: 2 to create" in r.output and "Deployment/money-rain" not in r.output
    r = run("apply", "-f", str(root), "--target", "FineTune/money-rain", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Applied changes may be incomplete" in r.stderr
    assert set(ids(root)) == {"Dataset/money-rain-train", "FineTune/money-rain"}
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 2 and "Plan: 2 to create" in r.output  # the rest is still to do


def test_a_targeted_replace_brings_the_dependents_lineage_requires(root: Path) -> None:
    applied(root)
    r = run(
        "apply",
        "-f",
        str(root),
        "-target=FineTune/money-rain",
        "-replace=FineTune/money-rain",
        "-auto-approve",
    )
    assert r.exit_code == 0, r.output
    assert (
        "Deployment/money-rain: included although not targeted: it is built from FineTune/money-rain"
        in r.output
    )
    job = ids(root)["FineTune/money-rain"]
    assert built_from(root, "Deployment/money-rain") == {"FineTune/money-rain": job}  # never left stale
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0


# -- show -----------------------------------------------------------------------------------------


def test_show_renders_a_saved_plan_as_plan_did_and_the_state(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    planned = run("plan", "-f", str(root), "--out", str(out))
    assert planned.exit_code == 0
    shown = run("show", "-f", str(root), str(out))
    assert shown.exit_code == 0 and shown.stdout == planned.stdout
    assert json.loads(run("show", "-f", str(root), "--json", str(out)).output) == json.loads(out.read_text())
    assert "manages nothing yet" in run("show", "-f", str(root)).output
    applied(root)
    text = run("show", "-f", str(root)).output
    job = ids(root)["FineTune/money-rain"]
    assert "FineTune/money-rain\n" in text and f"  id     = {job}" in text and "status = SUCCEEDED" in text
    assert "deployed_model = " in text
    data = json.loads(run("show", "-f", str(root), "--json").output)
    by_address = {r["address"]: r for r in data["resources"]}
    assert by_address["FineTune/money-rain"]["remote_id"] == job
    assert by_address["Deployment/money-rain"]["outputs"]["deployed_model"]


def test_show_prints_each_output_as_output_does(root: Path) -> None:
    """Costs in words, never a raw JSON dict, and the same line in both commands."""
    applied(root)
    shown = run("show", "-f", str(root)).output.splitlines()
    printed = run("output", "-f", str(root)).output.splitlines()
    costs = [ln for ln in shown if ln.lstrip().startswith("cost_estimated = ")]
    assert costs and all("{" not in ln for ln in costs), costs
    assert any("$" in ln for ln in costs) and any("unknown (" in ln for ln in costs)
    assert set(costs) <= set(printed)


# -- state mv and metadata.moved_from --------------------------------------------------------------


def _rename_fine_tune(root: Path, *, moved_from: bool) -> None:
    manifest = root / "money-rain.yaml"
    text = manifest.read_text()
    text = text.replace(
        "kind: FineTune\nmetadata:\n  name: money-rain\n",
        "kind: FineTune\nmetadata:\n  name: rain-v2\n" + ("  moved_from: money-rain\n" if moved_from else ""),
    )
    manifest.write_text(text.replace("fine_tune: money-rain", "fine_tune: rain-v2"))


def test_a_rename_without_moved_from_would_retrain(root: Path) -> None:
    applied(root)
    _rename_fine_tune(root, moved_from=False)
    r = run("plan", "-f", str(root))
    assert "FineTune/rain-v2  create [retrain]" in r.output and "FineTune/money-rain  delete" in r.output


def test_moved_from_keeps_the_job_and_its_dependents(root: Path) -> None:
    applied(root)
    before, objects = ids(root), creates(root)
    _rename_fine_tune(root, moved_from=True)
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "FineTune/rain-v2 (moved from FineTune/money-rain)  update [local]" in r.output
    assert "[retrain]" not in r.output and "[redeploy]" not in r.output and "  delete" not in r.output
    assert "Deployment/money-rain  update [local]" in r.output
    assert "the same object under its new name" in r.output
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    after = ids(root)
    assert after["FineTune/rain-v2"] == before["FineTune/money-rain"] and "FineTune/money-rain" not in after
    assert after["Deployment/money-rain"] == before["Deployment/money-rain"]
    assert creates(root) == objects  # no new job, no new deployment
    assert built_from(root, "Deployment/money-rain") == {"FineTune/rain-v2": after["FineTune/rain-v2"]}
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 0, r.output  # converged; the stale moved_from is only a note
    assert (
        "money-rain.yaml:17:3: FineTune/rain-v2: metadata.moved_from: FineTune/money-rain is not in state"
        in r.output
    )
    # and a later upstream change still reaches it: lineage follows the new name
    manifest = root / "money-rain.yaml"
    manifest.write_text(manifest.read_text().replace("n_epochs: 150", "n_epochs: 160"))
    r = run("plan", "-f", str(root))
    assert "Deployment/money-rain  replace [redeploy]" in r.output


def test_state_mv_then_a_rename_is_no_rebuild_and_bad_moves_are_refused(root: Path) -> None:
    applied(root)
    before, objects = ids(root), creates(root)
    r = run("state", "mv", "-f", str(root), "FineTune/money-rain", "Deployment/money-rain")
    assert r.exit_code == 1 and "the kinds differ" in r.output
    r = run("state", "mv", "-f", str(root), "Dataset/money-rain-train", "Dataset/money-rain-train")
    assert r.exit_code == 1 and "same address" in r.output
    r = run("state", "mv", "-f", str(root), "FineTune/nope", "FineTune/x")
    assert r.exit_code == 1 and "FineTune/nope is not in state" in r.output
    assert ids(root) == before
    r = run("state", "mv", "-f", str(root), "FineTune/money-rain", "FineTune/rain-v2")
    assert r.exit_code == 0 and "Moved FineTune/money-rain to FineTune/rain-v2" in r.output
    _rename_fine_tune(root, moved_from=False)
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "[retrain]" not in r.output and "[redeploy]" not in r.output
    assert creates(root) == objects
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0


def test_a_chain_or_a_conflicting_move_is_an_error_naming_file_and_line(root: Path) -> None:
    applied(root)
    manifest = root / "money-rain.yaml"
    original = manifest.read_text()
    # a chain: the export moves from a name that itself moved
    chained = original.replace(
        "kind: FineTune\nmetadata:\n  name: money-rain\n",
        "kind: FineTune\nmetadata:\n  name: money-rain\n  moved_from: rain-v0\n",
    ).replace(
        "kind: CheckpointExport\nmetadata:\n  name: money-rain-c600\n",
        "kind: CheckpointExport\nmetadata:\n  name: money-rain-c600\n",
    )
    (root / "extra.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: FineTune\nmetadata:\n  name: rain-v3\n  moved_from: money-rain\n"
        "spec:\n  provider: dashscope\n  model: wan2.5-i2v-preview\n  training_datasets: [money-rain-train]\n"
    )
    manifest.write_text(chained)
    before = state_bytes(root)
    r = run("plan", "-f", str(root))
    assert r.exit_code == 1, r.output
    assert "extra.yaml:5:3: FineTune/rain-v3: metadata.moved_from: is a chain of moves" in r.output
    assert "money-rain.yaml:17:3: FineTune/money-rain: metadata.moved_from: is a chain of moves" in r.output
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 1 and "is a chain of moves" in r.output and "nothing was changed" in r.output
    assert state_bytes(root) == before
    # a conflict: both the old and the new name are in state (say, the new one was imported)
    (root / "extra.yaml").unlink()
    with sqlite3.connect(root / ".reconciler" / "state.db") as db:
        db.execute(
            "INSERT INTO resources SELECT 'Deployment/second', kind, 'second', provider, provider_type, "
            "remote_id, spec, spec_hash, content_digest, content_files, status, observed, outputs, "
            "dependencies, labels, lifecycle, created_at, updated_at, observed_at, deposed, built_from "
            "FROM resources WHERE address = 'Deployment/money-rain'"
        )
    manifest.write_text(
        original.replace(
            "kind: Deployment\nmetadata:\n  name: money-rain\n",
            "kind: Deployment\nmetadata:\n  name: second\n  moved_from: money-rain\n",
        )
    )
    before = state_bytes(root)
    r = run("plan", "-f", str(root), "--refresh=false")
    assert r.exit_code == 1, r.output
    assert (
        "money-rain.yaml:45:3: Deployment/second: metadata.moved_from: conflicts: both Deployment/money-rain "
        "and Deployment/second are in state" in r.output
    )
    # the command it suggests works as printed, and settles it
    hint = r.output.split("drop with '", 1)[1].split("'", 1)[0]
    assert hint == f"reconciler state rm -f {root} Deployment/money-rain"
    assert state_bytes(root) == before
    assert execute_hint(hint).exit_code == 0
    assert "conflicts" not in run("plan", "-f", str(root), "--refresh=false").output


# -- Terraform's spellings ------------------------------------------------------------------------


def test_terraform_single_dash_flags_work(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    r = run("plan", "-f", str(root), "-detailed-exitcode", f"-out={out}", "-refresh=false")
    assert r.exit_code == 2, r.output
    assert out.exists()
    r = run("apply", "-f", str(root), "-auto-approve", "-json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.splitlines()[-1])["type"] == "summary"
    r = run("plan", "-f", str(root), "-out", str(out), "-detailed-exitcode")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("flag", ["-input=false", "-lock=false", "-no-color", "-var=x=1"])
def test_a_terraform_flag_with_no_equivalent_gets_a_one_line_hint(root: Path, flag: str) -> None:
    r = run("plan", "-f", str(root), flag)
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert lines == [f"Error: {flag}: {TERRAFORM_ONLY[flag[1:].split('=')[0]]}"]


def test_every_long_option_is_rewritten_from_its_single_dash_spelling() -> None:
    """A new option is never left to click's `No such option '-d'`: the names come from click."""
    known = long_options(main)
    assert {"detailed-exitcode", "out", "auto-approve", "refresh", "replace", "target", "json"} <= known
    for name in sorted(known):
        assert rewrite([f"-{name}", f"-{name}=x"], known) == [f"--{name}", f"--{name}=x"]
    assert rewrite(["-f", "dir", "--", "-out"], known) == ["-f", "dir", "--", "-out"]  # -- ends it


# -- hints that work as printed --------------------------------------------------------------------


def test_the_saved_plan_hint_works_as_printed(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the hint must not depend on the working directory
    r = run("plan", "-f", str(root), "--out", "p.json")
    hint = r.stderr.strip().splitlines()[-1]
    assert hint == f"Saved the plan to p.json; apply exactly it with: reconciler apply -f {root} p.json"
    applied_plan = execute_hint(hint)
    assert applied_plan.exit_code == 0, applied_plan.output
    assert "4 succeeded" in applied_plan.output
    # applied again, it is stale: the hint says how to make a new one, and that works too
    stale = execute_hint(hint)
    assert stale.exit_code == 1
    again = stale.output.split("run '", 1)[1].split("'", 1)[0]
    assert again == f"reconciler plan -f {root} --out p.json"
    assert execute_hint(again).exit_code == 0
    assert execute_hint(hint).exit_code == 0


def test_a_run_killed_right_after_the_move_converges_with_no_rebuild(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The move is its own transaction, made first: stopped there, the next run finishes the rename."""
    from reconciler.engine.applying import Executor

    applied(root)
    before, objects = ids(root), creates(root)
    _rename_fine_tune(root, moved_from=True)

    def killed(self: Executor, *args: object) -> None:
        raise KeyboardInterrupt  # as if the process died after the move committed

    with monkeypatch.context() as m:
        m.setattr(Executor, "_build_nodes", killed)
        stopped = run("apply", "-f", str(root), "--auto-approve")
        assert stopped.exit_code == 1  # click turns the interrupt into "Aborted!"
    assert "FineTune/rain-v2" in ids(root) and "FineTune/money-rain" not in ids(root)  # moved, nothing else
    r = run("plan", "-f", str(root))
    assert "FineTune/money-rain is not in state: nothing to move" in r.output  # the note, not an error
    assert "Deployment/money-rain  update [local]" in r.output and "[redeploy]" not in r.output
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    assert creates(root) == objects and ids(root)["Deployment/money-rain"] == before["Deployment/money-rain"]
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0
