"""Environments on one PostgreSQL database: a workspace each, derived from the project and the environment."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_database: str) -> Path:
    dest = tmp_path / f"repo-{uuid.uuid4().hex[:8]}"  # its own workspaces in the shared test database
    shutil.copytree(REPO / "manifests" / "project", dest, ignore=shutil.ignore_patterns(".reconciler"))
    config = dest / "reconciler.yaml"
    config.write_text(
        config.read_text().replace("manifests: [shared]", f"manifests: [shared]\nstate: {pg_database}")
    )
    for name in ("RECONCILER_STATE", "RECONCILER_ENV", "RECONCILER_WORKSPACE", "RECONCILER_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.setenv("RECONCILER_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(dest)
    return dest


def test_each_environment_gets_its_own_workspace(project: Path) -> None:
    assert run("apply", "--env", "dev", "--auto-approve").exit_code == 0
    r = run("plan", "--env", "prod", "--detailed-exitcode")
    # prod's state holds none of dev's resources (the one sandbox "account" both use still has dev's
    # dataset upload, which prod adopts by its content fingerprint: see README, environments)
    assert r.exit_code == 2 and "Plan: 2 to create (1 training job)" in r.output and "1 to adopt" in r.output
    assert f"(workspace {project}/prod)" in r.output
    assert run("apply", "--env", "prod", "--auto-approve").exit_code == 0
    r = run("plan", "--env", "dev", "--detailed-exitcode")
    assert r.exit_code == 0 and f"(workspace {project}/dev)" in r.output


def test_one_workspace_named_for_two_environments_is_refused(project: Path) -> None:
    shared = f"team/{project.name}"  # a workspace no other test uses
    assert run("apply", "--env", "dev", "--auto-approve", "--workspace", shared).exit_code == 0
    r = run("plan", "--env", "prod", "--workspace", shared)
    assert r.exit_code == 1 and "belongs to environment 'dev'" in r.output
