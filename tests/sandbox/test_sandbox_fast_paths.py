"""The emulator's cheaper ways of writing the same answers give exactly the bytes of the plain ones.

A refresh lists every object of the account, so the sandbox writes JSON with the ASCII encoder
when that gives the same text (`routing.dumps`), formats times without `strftime`
(`common.fmt_time` / `fmt_iso`) and counts a job's kept checkpoints without making them
(`Job.saved_count`). Each is checked here against the plain computation it replaces.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime
from typing import Any

import pytest
from sandbox_testkit import Kit

from reconciler.sandbox.dashscope import training
from reconciler.sandbox.dashscope.common import CHINA_TZ, fmt_iso, fmt_time
from reconciler.sandbox.dashscope.fine_tunes import Job
from reconciler.sandbox.routing import Router, dumps
from reconciler.sandbox.sandbox import _emulators

TRICKY_TEXTS = [
    "plain",
    "",
    "数据集",  # non-ASCII
    "café ☕ 🚀",  # BMP and astral
    'tab\tnew\nline\rback\\slash "quoted"',
    "\x00\x01\x1f control",
    "del \x7f",
    "a literal \\u0041 in the text",
    "\\",
    "\u2028\u2029",
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_dumps_writes_what_json_dumps_without_ensure_ascii_writes(text: str) -> None:
    payload: Any = {
        "request_id": "r",
        text: text,
        "output": {"items": [text, {"name": text, "n": 1, "f": 2e-05, "b": True, "none": None}]},
        "nan": float("nan"),
        "inf": float("-inf"),
    }
    assert dumps(payload) == json.dumps(payload, ensure_ascii=False)


def test_fmt_time_and_fmt_iso_are_strftime() -> None:
    rng = random.Random(20260101)
    times = [0.0, 1_767_225_600.0, 1_767_225_599.9999996, 1_767_225_599.9999994, 4_102_444_799.5]
    times += [rng.uniform(-2e9, 4e9) for _ in range(3000)]
    times += [float(int(t)) + rng.choice((0.9999995, 0.9999996, 0.0000004)) for t in times[:500]]
    for t in times:
        dt = datetime.fromtimestamp(t, CHINA_TZ)
        assert fmt_time(t) == dt.strftime("%Y-%m-%d %H:%M:%S"), t
        assert fmt_iso(t) == dt.strftime("%Y-%m-%dT%H:%M:%S"), t
        assert (
            fmt_iso(t, millis=True) == f"{dt.strftime('%Y-%m-%dT%H:%M:%S')}.{dt.microsecond // 1000:03d}"
        ), t


def _job(n_epochs: int, eval_epochs: int, limit: int) -> Job:
    spec = {"hyper_parameters": {"n_epochs": n_epochs, "eval_epochs": eval_epochs, "save_total_limit": limit}}
    facts = training.JobFacts("ft-x", 1, 0.0, 1.0, 10.0, 1.0, 1.0, None, None)
    timeline = training.Timeline(facts, 1.0, 1.0, 11.0, 12.0, training.SUCCEEDED)
    return Job({"spec": json.dumps(spec), "steps_per_epoch": 3, "train_s": 10.0}, timeline)


def test_saved_count_is_the_number_of_saved_checkpoints() -> None:
    for n_epochs in range(1, 41):
        for eval_epochs in range(1, 45):
            for limit in (1, 2, 3, 5, 20, 100):
                job = _job(n_epochs, eval_epochs, limit)
                assert job.saved_count() == len(job.saved_checkpoints()), (n_epochs, eval_epochs, limit)


def test_list_pages_are_the_plain_encoding_of_what_they_hold(kit: Kit) -> None:
    """Every list answer, with non-ASCII names in it or not, is `json.dumps(…, ensure_ascii=False)`."""
    plain = kit.upload(name="plain.zip")
    named = kit.upload(name="数据集-café.zip")
    for file_id in (plain, named):
        kit.create_job(file_id)
    kit.clock.advance(5000)
    job = kit.create_job(plain)
    kit.http.post(f"/api/v1/fine-tunes/{job['job_id']}/cancel")
    kit.clock.advance(0.5)
    for path, params in (
        ("/compatible-mode/v1/files", {}),
        ("/api/v1/fine-tunes", {"page_size": 100}),
        ("/api/v1/fine-tunes", {"page_size": 1, "page_no": 2}),
        ("/api/v1/deployments", {}),
    ):
        r = kit.http.get(path, params=params)
        assert r.status_code == 200, r.text
        assert r.content == json.dumps(r.json(), ensure_ascii=False).encode("utf-8"), path
    assert "数据集-café" in kit.http.get("/compatible-mode/v1/files").text
    statuses = {j["status"] for j in kit.http.get("/api/v1/fine-tunes").json()["output"]["jobs"]}
    assert {"SUCCEEDED", "CANCELING"} <= statuses or {"SUCCEEDED", "CANCELED"} <= statuses


def _eager_match(router: Router, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """What the router answered when it compiled every pattern up front and tried each in turn."""
    for _, route, _emu in router._table:
        if route.method == method and (m := route.compile().match(path)):
            return route.key, m.groupdict()
    return None


def test_the_router_matches_what_trying_every_compiled_pattern_matches() -> None:
    """Patterns are compiled on first use, and a path without a template's literal head skips it."""
    router = Router(_emulators())
    paths = {"/", "", "/api", "/api/v1", "/nothing", "/api/v1/fine-tunes/", "/api/v1/fine-tunes//logs"}
    for _, route, _emu in router._table:
        filled = re.sub(r"\{\w+\}", "x-1", route.template)
        head = route.template.partition("{")[0]
        paths |= {filled, filled + "/", filled + "/more", filled[:-1], head, head.rstrip("/"), "/v2" + filled}
        paths.add(re.sub(r"\{\w+\}", "a:b@c", route.template))
    methods = {route.method for _, route, _emu in router._table} | {"PATCH"}
    for method in sorted(methods):
        for path in sorted(paths):
            got = router.match(method, path)
            assert (None if got is None else (got[0].key, got[1])) == _eager_match(router, method, path), (
                method,
                path,
            )
    assert router._patterns  # compiled on the way
