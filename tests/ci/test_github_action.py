"""action.yml, run step by step as GitHub's runner would: bash steps, env from expressions,
$GITHUB_OUTPUT between steps, against a forge on 127.0.0.1. (`uses:` steps — setup-python — are
GitHub's own and are skipped: the test runs on this interpreter.)"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from ci_forge import TOKEN, Forge
from ci_helpers import REPO, base_env, delete_deployment_outside, reconciler

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
sys.path.insert(0, str(REPO / "scripts"))
from run_action import run_action  # noqa: E402  (scripts/run_action.py: the runner the README shows)


class Runner:
    def __init__(self, tmp_path: Path, fake_bin: Path, repo: Path, api: str) -> None:
        self.tmp = tmp_path
        self.repo = repo
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 7}}))
        self.env = {
            **base_env(tmp_path, fake_bin),
            "GITHUB_API_URL": api,
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_WORKSPACE": str(repo),
        }
        self.runs = 0

    def run(self, **inputs: str) -> tuple[int, dict[str, str], str]:
        """Run every step; (exit code of the last step run, the plan step's outputs, all output)."""
        self.runs += 1
        temp = self.tmp / f"run-{self.runs}"
        temp.mkdir()
        done = run_action(inputs, workdir=self.repo, env=self.env, temp=temp, token=TOKEN)
        return done.code, done.outputs, done.log


@pytest.fixture
def runner(tmp_path: Path, fake_bin: Path, repo: Path, forge: tuple[Forge, str]) -> Runner:
    return Runner(tmp_path, fake_bin, repo, forge[1])


def test_the_action_plans_comments_once_per_environment_and_fails_on_drift(
    runner: Runner, forge: tuple[Forge, str], repo: Path, tmp_path: Path
) -> None:
    state, _ = forge
    marker = "<!-- reconciler:plan env=dev -->"

    code, out, log = runner.run(env="dev")
    assert code == 0, log  # changes from the manifests do not fail with fail-on: drift
    assert out["exitcode"] == "2" and out["drift"] == "0" and out["manifest-changes"] == "3"
    assert (tmp_path / "pip-calls").read_text().split() == [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        str(REPO),
    ]
    (body,) = state.bodies(marker)
    assert "**Plan: 3 to create (1 training job)" in body
    assert state.mutations() == ["POST"]
    assert json.loads(Path(out["plan-file"]).read_text())["environment"] == "dev"

    assert reconciler(repo, runner.env, "apply", "--env", "dev", "--auto-approve").returncode == 0
    code, out, log = runner.run(env="dev")
    assert code == 0 and out["exitcode"] == "0", log
    (body,) = state.bodies(marker)  # updated in place, not a second comment
    assert "No changes. The providers match the manifests." in body
    assert state.mutations() == ["POST", "PATCH"]

    delete_deployment_outside(repo, "dev")
    code, out, log = runner.run(env="dev")
    assert code == 1 and out["drift"] == "1", log
    assert "::error::1 resource(s) changed outside reconciler (drift)" in log
    (body,) = state.bodies(marker)
    assert "1 drift (changed outside reconciler)" in body
    assert state.mutations() == ["POST", "PATCH", "PATCH"]

    code, out, log = runner.run(env="dev", **{"fail-on": "never"})
    assert code == 0, log

    code, out, log = runner.run(env="prod")  # another environment: its own sticky comment
    assert code == 0, log
    assert len(state.bodies("<!-- reconciler:plan env=prod -->")) == 1 and len(state.bodies(marker)) == 1
    assert len(state.comments) == 122
    assert TOKEN not in log


def test_refresh_only_and_fail_on_changes(runner: Runner, forge: tuple[Forge, str]) -> None:
    code, out, log = runner.run(env="dev", **{"refresh-only": "true"})
    assert code == 0 and out["exitcode"] == "0", log  # nothing applied yet: no drift
    assert "No drift" in forge[0].bodies("<!-- reconciler:plan env=dev -->")[0]
    code, out, log = runner.run(env="dev", **{"fail-on": "changes"})
    assert code == 1 and "::error::the plan has changes" in log


def test_broken_manifests_still_comment_and_fail(
    runner: Runner, forge: tuple[Forge, str], repo: Path
) -> None:
    (repo / "envs" / "dev" / "patches.yaml").write_text("kind: FineTune\nmetadata: {name: nope}\n")
    code, out, log = runner.run(env="dev")
    assert code == 1 and out["exitcode"] == "1", log
    (body,) = forge[0].bodies("<!-- reconciler:plan env=dev -->")
    assert "[!CAUTION]" in body and "envs/dev/patches.yaml:2:" in body and "this patch targets" in body


def test_outside_a_pull_request_nothing_is_posted(runner: Runner, forge: tuple[Forge, str]) -> None:
    runner.env["GITHUB_EVENT_NAME"] = "push"
    code, _, log = runner.run(env="dev")
    assert code == 0 and "not a pull request: no comment" in log
    assert forge[0].requests == []


def test_a_refused_token_fails_the_step_without_printing_it(runner: Runner, forge: tuple[Forge, str]) -> None:
    code, _, log = runner.run(env="dev", **{"github-token": "wrong-token"})
    assert code == 1 and "HTTP 401" in log and "wrong-token" not in log


def test_the_action_declares_what_it_uses() -> None:
    assert ACTION["runs"]["using"] == "composite"
    used = set(re.findall(r"inputs\.([a-z-]+)", (REPO / "action.yml").read_text()))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        if "run" in step:  # inputs reach scripts through env:, never pasted into the script
            assert "${{" not in step["run"], step["name"]
