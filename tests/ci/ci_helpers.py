"""Helpers for running the CI kit's own steps (shared by the tests in this folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


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
