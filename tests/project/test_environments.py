"""reconciler.yaml as a user runs it: found like .git, --env, a state per environment, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.loading.project_file import find_project_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "project"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".reconciler"))
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    monkeypatch.delenv("RECONCILER_ENV", raising=False)
    monkeypatch.delenv("RECONCILER_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("RECONCILER_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(dest)
    return dest


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_example_validates_and_plans_for_each_environment(project: Path, env: str) -> None:
    r = run("validate", "--env", env)
    assert r.exit_code == 0, r.output
    assert "0 errors, 0 warnings" in r.output
    r = run("plan", "--env", env, "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert f"state: {project / '.reconciler' / env / 'state.db'} (new)" in r.output
    assert "Plan: 3 to create" in r.output
    steps = {"dev": "900 training steps", "prod": "1,200 training steps"}[env]
    assert steps in r.output
    assert not (project / ".reconciler" / env / "state.db").exists()  # plan writes no state


def test_dev_and_prod_apply_to_two_separate_states(project: Path) -> None:
    assert run("apply", "--env", "dev", "--auto-approve").exit_code == 0
    assert run("plan", "--env", "dev", "--detailed-exitcode").exit_code == 0
    r = run("plan", "--env", "prod", "--detailed-exitcode")
    assert r.exit_code == 2 and "Plan: 3 to create" in r.output  # prod sees none of dev's resources
    assert run("apply", "--env", "prod", "--auto-approve").exit_code == 0
    dev = run("state", "list", "--env", "dev").output
    prod = run("state", "list", "--env", "prod").output
    assert "-dev\t" in dev and "-prod\t" in prod  # each deployment has its environment's suffix
    assert dev != prod
    assert run("plan", "--env", "dev", "--detailed-exitcode").exit_code == 0
    assert run("plan", "--env", "prod", "--detailed-exitcode").exit_code == 0


def test_the_project_file_is_found_from_a_subdirectory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "envs" / "dev")
    assert find_project_file() == project / "reconciler.yaml"
    r = run("plan", "--env", "dev", "--refresh=false")
    assert r.exit_code == 0, r.output
    assert str(project / "shared") in r.output


def test_the_search_stops_at_a_ceiling_and_at_the_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = project.parent / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert find_project_file() is None
    assert find_project_file(Path("/")) is None or Path("/reconciler.yaml").is_file()


def test_env_without_a_project_file_is_a_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = project.parent / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    r = run("plan", "--env", "prod")
    assert r.exit_code == 2
    assert "--env prod: no reconciler.yaml in" in r.output and "-f PATH" in r.output
    r = run("plan")
    assert r.exit_code == 2 and "no manifests given: use -f PATH" in r.output


def test_an_unknown_environment_lists_the_known_ones(project: Path) -> None:
    r = run("plan", "--env", "staging")
    assert r.exit_code == 1
    assert (
        "Error: --env staging: reconciler.yaml has no environment 'staging'; it defines: dev, prod"
        in r.output
    )
    r = run("plan")
    assert r.exit_code == 1 and "choose one with --env dev" in r.output


def test_validate_without_env_checks_every_environment(project: Path) -> None:
    r = run("validate")
    assert r.exit_code == 0, r.output
    assert "environment dev:" in r.output and "environment prod:" in r.output
    # break prod only: validate fails, and says where in both files
    (project / "envs" / "prod" / "patches.yaml").write_text(
        "kind: FineTune\nmetadata: {name: money-rain}\nspec: {hyper_parameters: {n_epochs: -1}}\n"
    )
    r = run("validate", "--json")
    assert r.exit_code == 1
    body = json.loads(r.stdout)
    assert body["environments"]["dev"]["valid"] and not body["environments"]["prod"]["valid"]
    (err,) = body["environments"]["prod"]["errors"]
    assert err["file"] == "envs/prod/patches.yaml" and "(patch of shared/money-rain.yaml:" in err["message"]


def test_errors_in_the_project_file_name_its_lines(project: Path) -> None:
    (project / "reconciler.yaml").write_text("manifests: [shared]\nenvironments:\n  dev:\n    stat: x\n")
    r = run("plan", "--env", "dev")
    assert r.exit_code == 1
    assert "reconciler.yaml:4:5: environments.dev.stat: unknown field 'stat'" in r.output
    (project / "reconciler.yaml").write_text(
        "manifests: [shared]\nenvironments:\n  dev:\n    patches: [envs/dev/nope.yaml]\n"
    )
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 1
    assert "reconciler.yaml:4:15: environments.dev.patches[0]: envs/dev/nope.yaml: no such file" in r.output
    assert "Traceback" not in r.output
    assert not (project / ".reconciler").exists()


def test_two_environments_sharing_one_state_file_are_refused(project: Path) -> None:
    text = (project / "reconciler.yaml").read_text()
    (project / "reconciler.yaml").write_text(
        text.replace("manifests: [shared]", "manifests: [shared]\nstate: st.db")
    )
    r = run("plan", "--env", "dev")
    assert r.exit_code == 1
    assert "environments 'dev' and 'prod' would share one state (reconciler.yaml:" in r.output
    assert "state: .reconciler/{env}/state.db" in r.output
    (project / "reconciler.yaml").write_text(
        text.replace("manifests: [shared]", "manifests: [shared]\nstate: .reconciler/{env}/st.db")
    )
    assert run("plan", "--env", "dev", "--refresh=false").exit_code == 0


def test_an_explicit_state_shared_by_two_environments_is_refused_at_the_second(project: Path) -> None:
    shared = str(project / "one.db")
    assert run("apply", "--env", "dev", "--auto-approve", "--state", shared).exit_code == 0
    r = run("plan", "--env", "prod", "--state", shared)
    assert r.exit_code == 1
    assert "belongs to environment 'dev' of project" in r.output
    assert "drop --state" in r.output
    assert run("plan", "--env", "dev", "--state", shared, "--detailed-exitcode").exit_code == 0


def test_f_works_as_before_even_beside_a_project_file(project: Path) -> None:
    r = run("plan", "-f", "shared", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert f"state: {project / 'shared' / '.reconciler' / 'state.db'} (new)" in r.output
    r = run("plan", "-f", "shared", "--env", "dev")
    assert r.exit_code == 2 and "use one: drop -f" in r.output


def test_two_f_sets_on_one_state_are_refused_with_a_hint_that_works(project: Path) -> None:
    for env in ("dev", "prod"):
        extra = project / "envs" / env / "extra"
        extra.mkdir()
        (extra / "d.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Deployment\n"
            f"metadata: {{name: extra-{env}}}\n"
            f"spec: {{provider: dashscope, fine_tune: money-rain, suffix: x{env}, aigc_config: {{use_input_prompt: true}}}}\n"
        )
    assert run("apply", "-f", "shared", "-f", "envs/dev/extra", "--auto-approve").exit_code == 0
    r = run("plan", "-f", "shared", "-f", "envs/prod/extra")
    assert r.exit_code == 1
    assert "belongs to the manifests" in r.output and "Deployment/extra-dev" not in r.output
    hint = "--state envs/prod/extra/.reconciler/state.db"
    assert hint in r.output
    r = run("plan", "-f", "shared", "-f", "envs/prod/extra", *hint.split())
    assert r.exit_code == 0 and "Plan: 4 to create" in r.output
    # growing or shrinking one set is an edit of that set, not a second set
    r = run("plan", "-f", "shared", "--refresh=false")
    assert r.exit_code == 0 and "1 to delete" in r.output
    # handing the state over on purpose
    r = run("state", "claim", "-f", "shared", "-f", "envs/prod/extra")
    assert r.exit_code == 0 and "now belongs to the manifests" in r.output
    assert run("plan", "-f", "shared", "-f", "envs/prod/extra", "--refresh=false").exit_code == 0
    assert run("plan", "-f", "shared", "-f", "envs/dev/extra", "--refresh=false").exit_code == 1


def test_a_state_made_by_f_refuses_an_environment(project: Path) -> None:
    assert run("apply", "-f", "shared", "--auto-approve").exit_code == 0
    r = run("plan", "--env", "dev", "--state", "shared/.reconciler/state.db")
    assert r.exit_code == 1 and "belongs to the manifests" in r.output


def test_every_manifest_command_takes_env(project: Path) -> None:
    assert run("apply", "--env", "dev", "--auto-approve").exit_code == 0
    for args in (
        ["graph", "--env", "dev"],
        ["output", "--env", "dev"],
        ["state", "list", "--env", "dev"],
        ["state", "show", "--env", "dev", "FineTune/money-rain"],
    ):
        r = run(*args)
        assert r.exit_code == 0, (args, r.output)
        assert "money-rain" in r.output, args
    r = run("refresh", "--env", "dev")
    assert r.exit_code == 0 and "Refreshed 3 resource(s)." in r.output


def test_hints_repeat_the_environment_and_work_as_printed(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    r = run("plan", "--env", "prod", "--out", str(out))
    assert f"apply exactly it with: reconciler apply --env prod {out}" in r.output
    hint = r.output.split("apply exactly it with: ", 1)[1].splitlines()[0].split()
    assert hint[0] == "reconciler"
    r = run(*hint[1:])
    assert r.exit_code == 0 and "3 succeeded" in r.output
