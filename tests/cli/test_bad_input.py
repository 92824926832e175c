"""Bad input gets one clear line — which file, what is wrong, what to do — and changes nothing.

Never a traceback, never "Internal error" for a user's mistake.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.models.plans import PLAN_FORMAT_VERSION
from reconciler.state.sqlite import SqliteStateStore


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")  # jobs finish at once
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return example_copy("manifests/quickstart")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_error_line(r: Result) -> str:
    """The only thing on stderr: one line starting with 'Error: '."""
    lines = r.stderr.splitlines()
    assert r.exit_code == 1, r.output
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.output and "Internal error" not in r.output
    return lines[0]


def state_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / ".reconciler").glob("state.db*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- saved plans

GARBAGE = {
    "garbage.json": (b"garbage\n", "the file is not valid JSON"),
    "truncated.json": (None, "the file is not valid JSON"),
    "array.json": (b"[1, 2]\n", "the file holds a JSON array, not an object with a format_version field"),
    "null.json": (b"null\n", "the file holds a JSON null"),
    "binary.json": (b"\xff\xfe\x00garbage", "the file is not valid JSON"),
    "wrong-shape.json": (
        b'{"format_version": "1.0", "actions": 3}',
        "not a valid reconciler plan (reconciler_version: Field required",
    ),
    "newer-major.json": (None, "this plan uses format 2.0, written by a newer reconciler"),
    "not-a-version.json": (None, "format_version 'soon' is not MAJOR.MINOR"),
    "operation.json": (None, "operation: 'upgrade' is not one of apply, destroy"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_a_garbage_plan_file_is_one_line_naming_the_file(root: Path, tmp_path: Path, name: str):
    good = tmp_path / "good.json"
    assert run("plan", "-f", str(root), "--out", str(good)).exit_code == 0
    text = good.read_text()
    content, message = GARBAGE[name]
    if content is None:
        content = {
            "truncated.json": text[:300],
            "newer-major.json": text.replace(
                f'"format_version": "{PLAN_FORMAT_VERSION}"', '"format_version": "2.0"'
            ),
            "not-a-version.json": text.replace(
                f'"format_version": "{PLAN_FORMAT_VERSION}"', '"format_version": "soon"'
            ),
            "operation.json": text.replace('"operation": "apply"', '"operation": "upgrade"'),
        }[name].encode()
    bad = tmp_path / name
    bad.write_bytes(content)
    line = one_error_line(run("apply", "-f", str(root), str(bad), "--auto-approve"))
    assert line.startswith(f"Error: {bad}: "), line
    assert message in line
    assert "reconciler plan --out" in line  # what to do
    assert state_files(root) == {}  # nothing was written


def test_a_manifest_given_as_the_plan_file_says_so(root: Path):
    line = one_error_line(run("apply", "-f", str(root), str(root / "money-rain.yaml")))
    assert "money-rain.yaml: not a reconciler plan" in line and "give manifests with -f" in line


def test_an_unreadable_plan_file_is_one_line(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == plan:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    line = one_error_line(run("apply", "-f", str(root), str(plan)))
    assert line == f"Error: {plan}: cannot read the plan file: Permission denied"


# ---------------------------------------------------------------------------------------------- plan --out


def test_plan_out_into_a_missing_directory_is_refused_before_planning(root: Path, tmp_path: Path):
    out = tmp_path / "plans" / "plan.json"
    r = run("plan", "-f", str(root), "--out", str(out))
    line = one_error_line(r)
    assert line == (
        f"Error: --out {out}: the directory {out.parent} does not exist; "
        "create it first, or choose another path"
    )
    assert r.stdout == ""  # refused before refreshing or planning anything
    assert not out.parent.exists()
    assert not (root / ".reconciler").exists()


def test_plan_out_under_a_file_is_refused(root: Path):
    out = root / "money-rain.yaml" / "plan.json"
    line = one_error_line(run("plan", "-f", str(root), "--out", str(out)))
    assert f"{out.parent} is a file, not a directory" in line


def test_plan_out_that_cannot_be_written_is_one_line(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "plan.json"
    real = Path.write_text

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self == out:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    r = run("plan", "-f", str(root), "--out", str(out))
    assert r.exit_code == 1
    assert (
        r.stderr.splitlines()[-1] == f"Error: --out {out}: cannot write the plan: No space left on device; "
        "nothing was changed"
    )
    assert "Traceback" not in r.output and "Internal error" not in r.output


def test_a_plan_saved_with_errors_says_apply_will_refuse_it(root: Path, tmp_path: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    ft = root / "money-rain.yaml"
    ft.write_text(
        ft.read_text()
        .replace("n_epochs: 150", "n_epochs: 300")
        .replace("prevent_destroy: false", "prevent_destroy: true", 1)
    )
    out = tmp_path / "plan.json"
    r = run("plan", "-f", str(root), "--out", str(out))
    assert r.exit_code == 1, r.output
    assert f"Saved the plan to {out}; it has errors, so apply will refuse it." in r.stderr
    assert json.loads(out.read_text())["errors"]


# ---------------------------------------------------------------------------------------------- lost manifests


def records(root: Path) -> list[str]:
    return run("state", "list", "-f", str(root)).output.splitlines()


def state_contents(root: Path) -> tuple[int, str | None, dict[str, object]]:
    """Serial, lineage and records: what "nothing changed" means for a command that took the lock."""
    with SqliteStateStore.open(root / ".reconciler" / "state.db", readonly=True) as store:
        meta = store.meta()
        return meta.serial, meta.lineage, {a: r.to_dict() for a, r in store.all().items()}


def test_a_set_whose_manifests_were_renamed_does_not_prune_the_state(root: Path, tmp_path: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    held = records(root)
    assert len(held) == 4
    (root / "money-rain.yaml").rename(root / "money-rain.YAML")
    before = state_contents(root)

    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 1, r.output
    assert (
        "the manifests declare no resources (only Providers), but the state holds 4, so this plan would "
        "delete 3 and forget 1. Refusing, in case manifests were lost rather than removed (not read: "
    ) in r.output
    assert (
        "money-rain.YAML): restore them; to delete everything, run "
        f"'reconciler destroy -f {root}', or plan again with --allow-empty" in r.output
    )  # the suggested command carries this run's -f, so it works as printed
    assert (
        "money-rain.YAML:1:1: not read: only files ending in .yaml or .yml (lower case) are manifests; "
        "if it is one, rename it to money-rain.yaml" in r.output
    )

    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 1 and "Refusing, in case manifests were lost" in r.output
    saved = tmp_path / "plan.json"
    assert run("plan", "-f", str(root), "--out", str(saved)).exit_code == 1
    r = run("apply", "-f", str(root), str(saved))
    assert r.exit_code == 1 and "Refusing, in case manifests were lost" in r.output
    assert records(root) == held and state_contents(root) == before

    (root / "money-rain.YAML").rename(root / "money-rain.yaml")
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0  # nothing was deleted


def test_allow_empty_plans_and_applies_the_prune(root: Path, tmp_path: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    (root / "money-rain.yaml").unlink()  # removed on purpose: only the Provider is left
    r = run("plan", "-f", str(root))
    assert r.exit_code == 1 and "(only Providers), but the state holds 4" in r.output
    assert "not read" not in r.output
    r = run("plan", "-f", str(root), "--allow-empty", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "3 to delete, 0 to cancel, 1 to forget" in r.output and "Refusing" not in r.output
    saved = tmp_path / "plan.json"
    assert run("plan", "-f", str(root), "--allow-empty", "--out", str(saved)).exit_code == 0
    r = run("apply", "-f", str(root), str(saved))
    assert r.exit_code == 0, r.output
    assert records(root) == []


def test_apply_allow_empty(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    (root / "money-rain.yaml").unlink()
    r = run("apply", "-f", str(root), "--allow-empty", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert records(root) == []


def test_an_empty_set_with_an_empty_state_is_no_error(root: Path):
    (root / "money-rain.yaml").unlink()
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 0, r.output


def test_destroy_is_not_refused_for_an_empty_set(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    (root / "money-rain.yaml").unlink()
    r = run("plan", "-f", str(root), "--destroy", "--detailed-exitcode")
    assert r.exit_code == 2 and "Refusing" not in r.output, r.output


def test_every_file_renamed_is_one_error_and_names_the_files(root: Path):
    for name in ("money-rain.yaml", "provider.yaml"):
        (root / name).rename(root / name.replace(".yaml", ".Yml"))
    r = run("plan", "-f", str(root))
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert lines[0] == f"{root}: no *.yaml or *.yml files found"
    assert [line.split(": ", 1)[0] for line in lines[1:3]] == [
        f"{root / 'money-rain.Yml'}:1:1",
        f"{root / 'provider.Yml'}:1:1",
    ]
    assert all("warning: not read" in line for line in lines[1:3])
    assert lines[3] == "1 error(s) in the manifests; nothing was changed."


def test_a_near_miss_beside_real_manifests_is_a_warning(root: Path):
    (root / "notes.yaml.txt").write_text("kind: Deployment\n")
    r = run("plan", "-f", str(root), "--json")
    assert r.exit_code == 0, r.output
    (plan_line,) = [json.loads(x) for x in r.stdout.splitlines() if json.loads(x)["type"] == "plan"]
    warnings = plan_line["plan"]["warnings"]
    assert [(Path(w["file"]).name, w["severity"]) for w in warnings] == [("notes.yaml.txt", "warning")]
    assert warnings[0]["message"].endswith("rename it to notes.yaml")
    r = run("validate", "-f", str(root))
    assert r.exit_code == 0
    assert "notes.yaml.txt:1:1: warning: not read" in r.stderr


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("ft.YAML", ".YAML"),
        ("ft.Yml", ".Yml"),
        ("ft.yaml.txt", ".yaml.txt"),
        ("ft.YML.TXT", ".YML.TXT"),
        ("ft.yaml", None),
        ("ft.yml", None),
        ("ft.json", None),
        ("ft.yaml.bak", None),
        ("notes.txt", None),
        ("yaml", None),
    ],
)
def test_near_miss_suffixes(name: str, suffix: str | None):
    from reconciler.prune_guard import near_miss_suffix

    assert near_miss_suffix(name) == suffix


def test_hidden_folders_are_not_searched_for_near_misses(tmp_path: Path):
    from reconciler.prune_guard import skipped_files

    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.YAML").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "y.YAML").write_text("")
    found = skipped_files([tmp_path], cwd=tmp_path)
    assert [(d.location.file, d.message.rsplit(" ", 1)[-1]) for d in found if d.location] == [
        ("sub/y.YAML", "y.yaml")
    ]


def test_near_misses_are_looked_for_where_the_loader_walks(root: Path):
    """Sub-folders are searched; a dataset folder is dataset content (the loader never walks it)."""
    (root / "jobs").mkdir()
    (root / "jobs" / "ft.Yml").write_text("kind: FineTune\n")
    (root / "data" / "money-rain" / "captions.YAML").write_text("a: b\n")
    (root / "data" / "money-rain.yaml.txt").write_text("")
    r = run("plan", "-f", str(root), "--refresh=false", "--json")
    assert r.exit_code == 0, r.output
    (plan_line,) = [json.loads(x) for x in r.stdout.splitlines() if json.loads(x)["type"] == "plan"]
    warnings = plan_line["plan"]["warnings"]
    assert [Path(w["file"]).relative_to(root).as_posix() for w in warnings] == [
        "data/money-rain.yaml.txt",
        "jobs/ft.Yml",
    ]
    assert [w["message"].rsplit(" ", 1)[-1] for w in warnings] == ["money-rain.yaml", "ft.yml"]


def _plan_removing(*actions: str):
    from reconciler.models.plans import Action, ActionType, Plan

    return Plan(
        reconciler_version="0",
        created_at="",
        actions=[
            Action(
                address=f"FineTune/ft-{i}",
                kind="FineTune",
                name=f"ft-{i}",
                provider="p",
                provider_type="imgopen",
                action=ActionType(a),
            )
            for i, a in enumerate(actions)
        ],
    )


@pytest.mark.parametrize(
    ("actions", "says"),
    [
        (("delete", "cancel"), "the state holds 2, so this plan would delete all 2."),
        (("forget", "forget"), "the state holds 2, so this plan would forget all 2."),
        (("delete", "forget", "forget"), "the state holds 3, so this plan would delete 1 and forget 2."),
    ],
)
def test_the_refusal_counts_what_the_plan_would_remove(actions: tuple[str, ...], says: str):
    from reconciler.models.resources import ManifestSet
    from reconciler.prune_guard import refuse_empty_prune

    refusal = refuse_empty_prune(_plan_removing(*actions), ManifestSet(root="m"), [], "m", allow_empty=False)
    assert refusal is not None and says in refusal.message
    assert (
        refuse_empty_prune(_plan_removing(*actions), ManifestSet(root="m"), [], "m", allow_empty=True) is None
    )
