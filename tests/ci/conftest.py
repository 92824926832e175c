"""Fixtures for running the CI kit's own steps: a project repository, a forge, a fake pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from forge import Forge, serve  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def forge() -> Iterator[tuple[Forge, str]]:
    state = Forge()
    # someone else's comments first: more than one page, so finding ours needs paging
    state.comments = [{"id": i, "body": f"review comment {i}"} for i in range(1, 121)]
    server, url = serve(state)
    yield state, url
    server.shutdown()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(REPO / "manifests" / "project", dest, ignore=shutil.ignore_patterns(".reconciler"))
    return dest


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """`pip` that records what it was asked to install (the test runs on an installed reconciler)."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    pip = fake / "pip"
    pip.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/pip-calls"\n')
    pip.chmod(0o755)
    return fake


def base_env(tmp_path: Path, fake_bin: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "PATH": f"{fake_bin}{os.pathsep}{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "RECONCILER_SANDBOX_TIME_SCALE": "1e9",
        "RECONCILER_CEILING_DIRECTORIES": str(tmp_path),
        "NO_COLOR": "1",
    }


def reconciler(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "reconciler"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def delete_deployment_outside(repo: Path, env_name: str) -> None:
    """Drift: the deployment is deleted in the environment's sandbox, not through reconciler."""
    from reconciler.providers.dashscope.client import DashScopeClient
    from reconciler.sandbox import Sandbox

    sandbox = Sandbox(db_path=repo / ".reconciler" / env_name / "sandbox.db", time_scale=1e9)
    client = DashScopeClient("http://127.0.0.1", "k", transport=sandbox.transport())
    for deployment in list(client.iter_deployments()):
        client.delete_deployment(deployment.deployed_model)
