"""ci/gitlab/reconciler.gitlab-ci.yml: its script lines run as GitLab's runner runs them (one bash
session, `set -eo pipefail`), against a forge on 127.0.0.1 that answers the merge-request notes API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ci_forge import TOKEN, Forge
from ci_helpers import REPO, base_env, delete_deployment_outside, reconciler

TEMPLATE = yaml.safe_load((REPO / "ci" / "gitlab" / "reconciler.gitlab-ci.yml").read_text())
JOB = TEMPLATE[".reconciler-plan"]


def run_job(repo: Path, env: dict[str, str], **variables: str) -> tuple[int, str]:
    merged = {k: str(v) for k, v in JOB["variables"].items()}
    merged.update(variables)
    script = "set -eo pipefail\n" + "\n".join(JOB["script"]) + "\n"
    proc = subprocess.run(
        ["bash", "-c", script], cwd=repo, env={**env, **merged}, capture_output=True, text=True
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def env(tmp_path: Path, fake_bin: Path, forge: tuple[Forge, str]) -> dict[str, str]:
    return {
        **base_env(tmp_path, fake_bin),
        "CI_API_V4_URL": forge[1] + "/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "3",
        "RECONCILER_GITLAB_TOKEN": TOKEN,
    }


def test_the_template_plans_notes_once_and_fails_on_drift(
    repo: Path, env: dict[str, str], forge: tuple[Forge, str], tmp_path: Path
) -> None:
    state, _ = forge
    marker = "<!-- reconciler:plan env=dev -->"
    code, log = run_job(repo, env, RECONCILER_ENV="dev")
    assert code == 0, log
    assert (tmp_path / "pip-calls").read_text().split() == [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "reconciler",
    ]
    (body,) = state.bodies(marker)
    assert "**Plan: 3 to create" in body and (repo / "reconciler-plan" / "plan.json").is_file()
    assert reconciler(repo, {**env, "RECONCILER_ENV": "dev"}, "apply", "--auto-approve").returncode == 0
    code, log = run_job(repo, env, RECONCILER_ENV="dev")
    assert code == 0, log
    (body,) = state.bodies(marker)
    assert "No changes" in body
    assert state.mutations() == ["POST", "PUT"]
    delete_deployment_outside(repo, "dev")
    code, log = run_job(repo, env, RECONCILER_ENV="dev")
    assert code == 1 and "1 resource(s) changed outside reconciler (drift)" in log
    assert state.mutations() == ["POST", "PUT", "PUT"] and len(state.bodies(marker)) == 1
    code, log = run_job(repo, env, RECONCILER_ENV="dev", RECONCILER_FAIL_ON="never")
    assert code == 0, log
    assert TOKEN not in log


def test_a_failed_plan_is_a_note_that_leads_with_the_error(
    repo: Path, env: dict[str, str], forge: tuple[Forge, str]
) -> None:
    code, log = run_job(repo, env, RECONCILER_ENV="staging")
    assert code == 1
    (body,) = forge[0].bodies("<!-- reconciler:plan env=staging -->")
    assert "plan failed (exit 1)" in body and "it defines: dev, prod" in body


def test_outside_a_merge_request_nothing_is_posted(
    repo: Path, env: dict[str, str], forge: tuple[Forge, str]
) -> None:
    env.pop("CI_MERGE_REQUEST_IID")
    code, log = run_job(repo, env, RECONCILER_ENV="dev", RECONCILER_PLAN_ARGS="--refresh=false")
    assert code == 0, log
    assert forge[0].requests == []


def test_the_template_is_a_hidden_job_to_extend() -> None:
    assert list(TEMPLATE) == [".reconciler-plan"]
    assert all(isinstance(line, str) for line in JOB["script"])
    assert "$RECONCILER_PLAN_DIR/" in JOB["artifacts"]["paths"]
