"""Run action.yml's steps here, as GitHub's runner runs a composite action, and print the comment.

    python scripts/run_action.py --workdir manifests/project --input env=dev
    python scripts/run_action.py --workdir manifests/project --input env=prod --input fail-on=never

Each `run:` step runs in `bash --noprofile --norc -eo pipefail`, with its `env:` expressions
(`${{ inputs.* }}`, `${{ github.* }}`, `${{ runner.temp }}`, `${{ steps.ID.outputs.* }}`) filled in,
and `$GITHUB_OUTPUT` carried from step to step. `uses:` steps (actions/setup-python) are GitHub's
own and are skipped: this runs on the Python that runs it. Unless `--event pull_request` (with
`GITHUB_API_URL`, `GITHUB_REPOSITORY`, `GITHUB_TOKEN` set), no comment is posted; the comment's
Markdown is printed at the end. `install` defaults to `none` here (reconciler is installed).
tests/ci/test_github_action.py runs the same steps against a forge on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class ActionRun:
    code: int  # the exit code of the last step that ran
    outputs: dict[str, str]  # the plan step's outputs
    log: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)


def expand(text: str, context: dict[str, Any]) -> str:
    """Fill in `${{ a.b.c }}`; an expression this runner does not know is an error, not an empty string."""

    def value(m: re.Match[str]) -> str:
        cur: Any = context
        for part in m.group(1).split("."):
            if not isinstance(cur, dict) or part not in cur:
                raise KeyError(f"unknown expression {m.group(0)}")
            cur = cur[part]
        return str(cur)

    return _EXPR.sub(value, text)


def run_action(
    inputs: dict[str, str],
    *,
    workdir: Path,
    env: dict[str, str],
    temp: Path,
    action_file: Path = REPO / "action.yml",
    token: str = "",
) -> ActionRun:
    action = yaml.safe_load(action_file.read_text())
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(values)
    if unknown:
        raise KeyError(f"action.yml has no input {', '.join(sorted(unknown))}")
    values.update(inputs)
    runner_temp = temp / "runner-temp"
    runner_temp.mkdir(parents=True, exist_ok=True)
    context: dict[str, Any] = {
        "github": {"action_path": str(action_file.parent), "token": token},
        "runner": {"temp": str(runner_temp)},
        "steps": {},
    }
    context["inputs"] = {k: expand(v, context) for k, v in values.items()}
    log: list[str] = []
    code = 0
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            continue
        if step.get("shell") != "bash":
            raise ValueError(f"step {step.get('name')!r}: only shell: bash is run here")
        output = temp / f"github-output-{i}"
        output.write_text("")
        step_env = {k: expand(str(v), context) for k, v in (step.get("env") or {}).items()}
        step_env.update(env, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(temp / "step-summary.md"))
        step_env.setdefault("RUNNER_TEMP", str(runner_temp))
        script = temp / f"step-{i}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir / expand(step.get("working-directory", "."), context),
            env=step_env,
            capture_output=True,
            text=True,
        )
        log.append(f"--- {step.get('name')} (exit {proc.returncode})\n{proc.stdout}{proc.stderr}")
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if step.get("id"):
            context["steps"][step["id"]] = {"outputs": outputs}
        code = proc.returncode
        if code != 0:
            break
    plan_outputs = context["steps"].get("plan", {}).get("outputs", {})
    return ActionRun(code, plan_outputs, "\n".join(log), context["steps"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("."), help="the checkout (GITHUB_WORKSPACE)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="an action input")
    parser.add_argument("--event", default="push", help="GITHUB_EVENT_NAME (pull_request posts the comment)")
    parser.add_argument("--pr", type=int, help="the pull request number for --event pull_request")
    args = parser.parse_args(argv)
    inputs = {"install": "none"}
    for item in args.input:
        name, _, value = item.partition("=")
        inputs[name] = value
    temp = Path(tempfile.mkdtemp(prefix="reconciler-action-"))
    env = dict(os.environ, GITHUB_EVENT_NAME=args.event, GITHUB_WORKSPACE=str(args.workdir.resolve()))
    if args.pr is not None:
        event = temp / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": args.pr}}))
        env["GITHUB_EVENT_PATH"] = str(event)
    run = run_action(
        inputs, workdir=args.workdir.resolve(), env=env, temp=temp, token=env.get("GITHUB_TOKEN", "")
    )
    print(run.log, file=sys.stderr)
    comment = run.outputs.get("comment-file")
    if comment and Path(comment).is_file():
        print(Path(comment).read_text(), end="")
    return run.code


if __name__ == "__main__":
    raise SystemExit(main())
