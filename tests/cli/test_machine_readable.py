"""`apply --json` / `plan --json` streams, checked against schemas/output/stream.json, and the request log.

The apply runs as a user runs it (a fresh `reconciler` process, output piped), against the sandbox
answering 429s with Retry-After: every line must parse and validate, retries must show in the
stream and the log, and the API key's value must appear nowhere — not in the log, the stream, a
saved plan or the state.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "output" / "stream.json").read_text())
API_KEY = "sk-verbs0test0key0do0not0log0" + "7f3a9c1e2b4d6f80"
FAULTS = {"seed": 11, "rules": [{"match": "*", "rate_429": 0.2, "retry_after_s": 0.05}]}


def reconciler(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env() -> dict[str, str]:
    out = dict(os.environ)
    out.update(
        RECONCILER_SANDBOX_TIME_SCALE="200000",
        RECONCILER_SANDBOX_FAULTS=json.dumps(FAULTS),
        DASHSCOPE_API_KEY=API_KEY,
        NO_COLOR="1",
    )
    return out


def lines_of(stdout: str) -> list[dict[str, object]]:
    parsed = [json.loads(line) for line in stdout.splitlines()]  # every line is one JSON object
    for line in parsed:
        jsonschema.validate(line, SCHEMA)
    return parsed


def test_apply_json_stream_validates_and_shows_retries_and_the_log_has_every_request(
    env: dict[str, str], example_copy: Callable[..., Path], tmp_path: Path
) -> None:
    root = example_copy("manifests/quickstart")
    log = tmp_path / "apply.log"
    saved = tmp_path / "plan.json"
    planned = reconciler("plan", "-f", str(root), "--out", str(saved), env=env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    done = reconciler(
        "apply", "-f", str(root), "--json", "--auto-approve", "--log-level", "debug", "--log-file", str(log),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    stream = lines_of(done.stdout)
    types = [line["type"] for line in stream]
    assert types[0] == "version" and types[1] == "plan" and types[-1] == "summary"
    assert {"resource_start", "progress", "retry", "finish"} <= set(types)
    finished = {line["hook"]["address"]: line["hook"] for line in stream if line["type"] == "finish"}  # type: ignore[index]
    assert set(finished) == {
        "Dataset/money-rain-train",
        "FineTune/money-rain",
        "CheckpointExport/money-rain-c600",
        "Deployment/money-rain",
    }
    assert all(h["outcome"] == "succeeded" and h["remote_id"] for h in finished.values())
    assert str(finished["FineTune/money-rain"]["remote_id"]).startswith("ft-")
    retries = [line["hook"] for line in stream if line["type"] == "retry"]
    assert all(r["status"] == 429 and r["retry_after_s"] == 0.05 for r in retries)  # type: ignore[index]
    assert stream[-1]["outcomes"] == {
        "succeeded": 4,
        "failed": 0,
        "skipped": 0,
        "submitted": 0,
        "deferred": 0,
    }

    text = log.read_text()
    requests = re.findall(r" DEBUG reconciler\.http: dashscope (GET|POST|DELETE|PUT) (/\S+) -> (\d{3}) "
                          r"\(request id (\S+), (\d+) ms\)", text)  # fmt: skip
    assert {m[0] for m in requests} >= {"GET", "POST"}
    assert any(status == "429" for _, _, status, _, _ in requests)
    assert all(rid != "-" for _, path, status, rid, _ in requests if status == "200" and "/files" not in path)
    assert "Retry-After 0.05s" in text and " INFO reconciler.providers.http: dashscope " in text
    assert re.search(r"INFO reconciler\.engine: FineTune/money-rain: ft-\S+ SUCCEEDED after", text)
    assert len(re.findall("retry \\d+/4", text)) == len(retries)

    # never the key: not in the log, the stream, the saved plan, the state or the output
    state = (root / ".reconciler" / "state.db").read_bytes()
    for where, content in [
        ("log", text),
        ("stream", done.stdout + done.stderr),
        ("plan", saved.read_text() + planned.stdout + planned.stderr),
        ("state", state.decode("latin-1")),
    ]:
        assert API_KEY not in content, where
        assert API_KEY[:24] not in content, where


def test_plan_json_is_the_same_stream_and_errors_are_diagnostic_lines(
    env: dict[str, str], example_copy: Callable[..., Path], tmp_path: Path
) -> None:
    root = example_copy("manifests/quickstart")
    env = {**env, "RECONCILER_SANDBOX_FAULTS": ""}
    planned = reconciler("plan", "-f", str(root), "--json", env=env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    stream = lines_of(planned.stdout)
    assert [line["type"] for line in stream] == ["version", "plan", "summary"]
    assert stream[2]["changes"]["create"] == 4 and stream[2]["has_changes"] is True  # type: ignore[index]

    (root / "money-rain.yaml").write_text(
        (root / "money-rain.yaml").read_text().replace("lora_rank: 32", "lora_rank: 33")
    )
    bad = reconciler("apply", "-f", str(root), "--json", "--auto-approve", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr == ""
    diagnostics = [line for line in lines_of(bad.stdout) if line["type"] == "diagnostic"]
    assert diagnostics and diagnostics[0]["diagnostic"]["line"]  # type: ignore[index]
    assert diagnostics[0]["@level"] == "error" and "lora_rank" in str(diagnostics[0]["@message"])

    prompt = reconciler("apply", "-f", str(root), "--json", env=env, cwd=tmp_path)
    assert prompt.returncode == 1
    (only,) = lines_of(prompt.stdout)[1:]
    assert "--auto-approve" in str(only["@message"])


def test_the_quickstart_at_the_default_time_scale_shows_every_phase_piped(
    example_copy: Callable[..., Path], tmp_path: Path
) -> None:
    """The README's first command, output piped (`| cat`): each phase is a line. (How long it takes is
    measured by the benchmarks, not asserted here.)"""
    root = example_copy("manifests/quickstart")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_SANDBOX_")}
    env["NO_COLOR"] = "1"
    done = reconciler("apply", "-f", str(root), "--auto-approve", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (
        r"FineTune/money-rain: ft-\S+ PENDING \(0s\), about \d+s left \(estimate\)",
        r"FineTune/money-rain: ft-\S+ RUNNING ",
        r"FineTune/money-rain: ft-\S+ SUCCEEDED ",
        r"CheckpointExport/money-rain-c600: ft-\S+:checkpoint-600 PROCESSING ",
        r"Deployment/money-rain: wan2\.5-i2v-preview-ft-\S+ PENDING ",
        r"Deployment/money-rain: wan2\.5-i2v-preview-ft-\S+ RUNNING ",
        r"Apply complete: 4 succeeded, 0 failed, 0 skipped",
    ):
        assert re.search(line, out), line
