"""Record factories shared by the state-store tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from typing import Any

from reconciler.models.state import ResourceRecord


def make_record(name: str = "money-rain", kind: str = "FineTune", **overrides: Any) -> ResourceRecord:
    values: dict[str, Any] = {
        "address": f"{kind}/{name}",
        "kind": kind,
        "name": name,
        "provider": "dashscope-intl",
        "provider_type": "dashscope",
        "remote_id": f"ft-{name}",
        "spec": {
            "model": "wan2.5-i2v-preview",
            "training_datasets": ["money-rain-train"],
            "hyper_parameters": {"n_epochs": 400, "batch_size": 2, "learning_rate": 2.0e-5},
        },
        "spec_hash": "sha256:" + "ab" * 32,
    }
    values.update(overrides)
    return ResourceRecord(**values)


FULL_RECORD = make_record(
    "money-rain-train",
    kind="Dataset",
    content_digest="sha256:" + "cd" * 32,
    content_files={"data.jsonl": "11" * 32, "images/1.png": "22" * 32},
    status="processed",
    observed={"id": "file-ft-1", "status": "processed", "bytes": 1234},
    outputs={"file_id": "file-ft-1"},
    dependencies=["Provider/dashscope-intl"],
    labels={"team": "effects"},
    lifecycle={"prevent_destroy": True, "deletion": "retain", "ignore_changes": ["spec.x"], "timeouts": {}},
    created_at="2026-01-01T00:00:00.000Z",
    updated_at="2026-01-01T00:01:00.000Z",
    observed_at="2026-01-01T00:02:00.000Z",
)
