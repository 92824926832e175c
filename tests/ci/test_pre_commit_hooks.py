""".pre-commit-hooks.yaml: each hook's entry, run as pre-commit runs it (pass_filenames: false)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import yaml
from ci_helpers import REPO, base_env

HOOKS = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}


def run_hook(hook_id: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    hook = HOOKS[hook_id]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    command = [*shlex.split(hook["entry"]), *hook.get("args", []), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def test_validate_hook_passes_then_names_the_broken_line(repo: Path, tmp_path: Path, fake_bin: Path) -> None:
    env = base_env(tmp_path, fake_bin)
    r = run_hook("reconciler-validate", repo, env)
    assert r.returncode == 0, r.stderr
    assert "environment dev:" in r.stderr and "environment prod:" in r.stderr
    ft = repo / "shared" / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("learning_rate: 2.0e-5", "learning_rate: fast"))
    r = run_hook("reconciler-validate", repo, env)
    assert r.returncode == 1
    line = next(i for i, t in enumerate(ft.read_text().splitlines(), 1) if "learning_rate" in t)
    assert (
        f"shared/money-rain.yaml:{line}:5: FineTune/money-rain: spec.hyper_parameters.learning_rate:"
        in r.stderr
    )
    r = run_hook("reconciler-validate", repo, env, "-f", "shared")  # args: [-f, DIR] as a hook's args
    assert r.returncode == 1


def test_schema_hook_checks_vendored_schemas(tmp_path: Path, fake_bin: Path) -> None:
    env = base_env(tmp_path, fake_bin)
    project = tmp_path / "manifests-repo"
    project.mkdir()
    r = run_hook("reconciler-schema-check", project, env)
    assert r.returncode == 1 and "missing" in r.stderr
    assert (
        subprocess.run(
            [str(Path(env["PATH"].split(":")[1]) / "reconciler"), "schema"], cwd=project, env=env
        ).returncode
        == 0
    )
    assert run_hook("reconciler-schema-check", project, env).returncode == 0
    stale = project / "schemas" / "reconciler.json"
    stale.write_text(stale.read_text().replace('"', "'", 1))
    r = run_hook("reconciler-schema-check", project, env)
    assert r.returncode == 1 and "reconciler.json: stale" in r.stderr


def test_the_hooks_are_the_two_the_readme_names() -> None:
    assert set(HOOKS) == {"reconciler-validate", "reconciler-schema-check"}
    readme = (REPO / "README.md").read_text()
    for hook_id in HOOKS:
        assert hook_id in readme
