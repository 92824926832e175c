"""`refreshing.observe` folds what a provider says into the records: outputs the provider reports
again unchanged keep the record's own dict (no copy per record), and any new or changed output is
still folded in."""

from __future__ import annotations

from typing import Any

from reconciler.engine.refreshing import observe
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Observation, Phase


def _record(outputs: dict[str, Any]) -> ResourceRecord:
    return ResourceRecord(
        address="FineTune/ft",
        kind="FineTune",
        name="ft",
        provider="dashscope",
        provider_type="dashscope",
        remote_id="ft-1",
        spec={},
        spec_hash="h",
        status="RUNNING",
        outputs=outputs,
    )


def _obs(outputs: dict[str, Any]) -> Observation:
    return Observation(
        remote_id="ft-1", phase=Phase.READY, status="SUCCEEDED", object={"a": 1}, outputs=outputs
    )


def test_outputs_reported_again_keep_the_records_dict() -> None:
    outputs = {"job_id": "ft-1", "finetuned_output": "m-ft-1", "mine": [1, 2]}
    rec = _record(outputs)
    got = observe(
        {rec.address: rec}, {rec.address: _obs({"job_id": "ft-1", "finetuned_output": "m-ft-1"})}, 0.0
    )
    new = got[rec.address]
    assert new.outputs is outputs
    assert new.status == "SUCCEEDED" and new.observed == {"a": 1} and new.observed_at is not None


def test_a_new_or_changed_output_is_folded_in() -> None:
    rec = _record({"job_id": "ft-1", "mine": {"x": 1}})
    for reported, expected in [
        (
            {"job_id": "ft-1", "finetuned_output": "m-ft-1"},
            {"job_id": "ft-1", "mine": {"x": 1}, "finetuned_output": "m-ft-1"},
        ),
        ({"job_id": "ft-2"}, {"job_id": "ft-2", "mine": {"x": 1}}),
        ({"mine": {"x": 2}}, {"job_id": "ft-1", "mine": {"x": 2}}),
    ]:
        new = observe({rec.address: rec}, {rec.address: _obs(reported)}, 0.0)[rec.address]
        assert new.outputs == expected
        assert rec.outputs == {"job_id": "ft-1", "mine": {"x": 1}}  # the old record is untouched
