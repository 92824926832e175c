#!/usr/bin/env python3
"""Write the golden plan cases' *inputs*: manifests, tiny datasets, state.json, observations.json.

Run from the repository root: `python tests/golden/build_cases.py`. Deterministic; the output is
checked in. Each case's state is what an earlier apply of its `before` manifests would have
recorded (same spec, spec hash, content digest and file list), so the planner sees exactly the
difference the case is about. The expected outputs (plan.txt/json/md) are written by
`pytest tests/golden --update-golden`, then reviewed by reading the diff.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from reconciler.engine.identity import spec_hashes  # noqa: E402
from reconciler.loading import load  # noqa: E402
from reconciler.models.resources import ManifestSet  # noqa: E402
from reconciler.models.state import ResourceRecord, iso_utc  # noqa: E402

NOW = 1767268800.0  # 2026-01-01T12:00:00Z: the plans' fixed "now"
APPLIED = iso_utc(NOW - 86_400)  # the earlier apply, a day before
LINEAGE = "6f1c2b8e-3d4a-4e5f-9a7b-0c1d2e3f4a5b"
JOB_ID = "ft-202512311200-7c1d"
NEW_JOB_CREATED = NOW - 7_980  # a job submitted 2h13m before "now"
FINETUNED = "wan2.5-i2v-preview-ft-202512311200-7c1d"
EXPORTED = "wan2.5-i2v-preview-ft-202512311200-7c1d-c400"

# ---------------------------------------------------------------------------------------------- data


def png(size: int = 8, shade: int = 40) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = (b"\x00" + bytes((shade, 20, 30)) * size) * size
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def mp4(tag: int) -> bytes:
    return struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41" + bytes([tag])


def dataset(n: int = 15, *, captions: dict[int, str] | None = None) -> dict[str, bytes]:
    """A DashScope i2v training set: data.jsonl + image_N.png + video_N.mp4."""
    files: dict[str, bytes] = {}
    lines = []
    for i in range(1, n + 1):
        prompt = (captions or {}).get(i, f"scene {i}: s86b5p golden coins rain from the sky")
        lines.append(
            json.dumps(
                {"prompt": prompt, "first_frame_path": f"image_{i}.png", "video_path": f"video_{i}.mp4"}
            )
        )
        files[f"image_{i}.png"] = png(shade=30 + i)
        files[f"video_{i}.mp4"] = mp4(i)
    files["data.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


# ---------------------------------------------------------------------------------------------- manifests

PROVIDER = """apiVersion: reconciler/v1
kind: Provider
metadata:
  name: dashscope
spec:
  type: dashscope
  endpoint: sandbox
  api_key_env: DASHSCOPE_API_KEY
"""

DATASET = """apiVersion: reconciler/v1
kind: Dataset
metadata:
  name: coins-train
  labels: {team: effects}
spec:
  provider: dashscope
  source: data/coins
  format: i2v
"""


def finetune(
    *,
    n_epochs: int = 200,
    learning_rate: str = "2.0e-5",
    labels: str = "{team: effects}",
    lifecycle: str = "",
) -> str:
    return f"""apiVersion: reconciler/v1
kind: FineTune
metadata:
  name: coins
  labels: {labels}
spec:
  provider: dashscope
  model: wan2.5-i2v-preview
  training_datasets: [coins-train]
  hyper_parameters:
    n_epochs: {n_epochs}
    learning_rate: {learning_rate}
    lora_rank: 32
    lora_alpha: 32
{lifecycle}"""


EXPORT = """apiVersion: reconciler/v1
kind: CheckpointExport
metadata:
  name: coins-c400
spec:
  provider: dashscope
  fine_tune: coins
  checkpoint: checkpoint-400
  model_name: coins-c400
"""


def deployment(*, lifecycle: str = "") -> str:
    return f"""apiVersion: reconciler/v1
kind: Deployment
metadata:
  name: coins
spec:
  provider: dashscope
  checkpoint_export: coins-c400
  plan: lora
  aigc_config:
    use_input_prompt: false
    prompt: "Describe the image in one sentence, then append: s86b5p golden coins rain from the sky."
    lora_prompt_default: s86b5p golden coins rain from the sky.
{lifecycle}"""


def deployment_mu(capacity: int) -> str:
    return f"""apiVersion: reconciler/v1
kind: Deployment
metadata:
  name: coins-mu
spec:
  provider: dashscope
  fine_tune: coins
  plan: mu
  capacity: {capacity}
"""


def chain(**changes: str) -> dict[str, str]:
    files = {
        "provider.yaml": PROVIDER,
        "dataset.yaml": DATASET,
        "finetune.yaml": finetune(),
        "export.yaml": EXPORT,
        "deployment.yaml": deployment(),
    }
    files.update(changes)
    return {k: v for k, v in files.items() if v}


# ---------------------------------------------------------------------------------------------- provider side

REMOTE: dict[str, dict[str, Any]] = {
    "Dataset/coins-train": {
        "remote_id": "file-ft-9d2c41e0b7",
        "status": "processed",
        "outputs": {"file_id": "file-ft-9d2c41e0b7", "filename": "coins-train.zip"},
    },
    "FineTune/coins": {
        "remote_id": JOB_ID,
        "status": "SUCCEEDED",
        "outputs": {"job_id": JOB_ID, "finetuned_output": FINETUNED},
    },
    "CheckpointExport/coins-c400": {
        "remote_id": f"{JOB_ID}:checkpoint-400",
        "status": "SUCCEEDED",
        "outputs": {"job_id": JOB_ID, "checkpoint": "checkpoint-400", "model_name": EXPORTED},
    },
    "Deployment/coins": {
        "remote_id": f"{EXPORTED}-dep",
        "status": "RUNNING",
        "outputs": {"deployed_model": f"{EXPORTED}-dep", "model_name": EXPORTED},
    },
    "Deployment/coins-mu": {
        "remote_id": FINETUNED,
        "status": "RUNNING",
        "outputs": {"deployed_model": FINETUNED, "model_name": FINETUNED},
    },
}

PHASES = {
    "processed": "ready",
    "SUCCEEDED": "ready",
    "RUNNING": "ready",
    "FAILED": "failed",
    "CANCELED": "canceled",
    "NOT_FOUND": "gone",
}


def observation(address: str, status: str | None = None, **extra: Any) -> dict[str, Any]:
    """An Observation as the DashScope adapter reports it (JSON form)."""
    remote = REMOTE[address]
    status = status or remote["status"]
    phase = PHASES[status]
    if address.startswith("FineTune/") and status in ("RUNNING", "QUEUING", "PENDING"):
        phase = "pending"
    data: dict[str, Any] = {
        "remote_id": remote["remote_id"],
        "phase": phase,
        "status": status,
        "outputs": remote["outputs"] if phase != "gone" else {},
    }
    data.update(extra)
    return data


def ready(*addresses: str) -> dict[str, dict[str, Any]]:
    return {a: observation(a) for a in addresses}


CHAIN = ("Dataset/coins-train", "FineTune/coins", "CheckpointExport/coins-c400", "Deployment/coins")


# ---------------------------------------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    description: str
    after: dict[str, str]  # the manifests now
    before: dict[str, str] | None = None  # the manifests last applied (None: no state)
    data_after: dict[str, bytes] = field(default_factory=dataset)
    data_before: dict[str, bytes] | None = None  # defaults to data_after
    state_status: dict[str, str] = field(default_factory=dict)  # address -> status recorded at apply
    observations: dict[str, dict[str, Any]] = field(default_factory=dict)
    discovered: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # operation, refreshed
    expect: dict[str, Any] = field(default_factory=dict)  # asserted by the test beside the golden files


def cases() -> list[Case]:
    modified = dataset(16, captions={3: "scene 3: s86b5p golden coins pour down a staircase"})
    return [
        Case(
            "create-chain",
            "Empty state: the whole DashScope chain is created, training cost shown.",
            after=chain(),
            expect={"has_changes": True, "summary": {"create": 4, "retrains": 1}},
        ),
        Case(
            "no-changes",
            "State and providers match the manifests.",
            after=chain(),
            before=chain(),
            observations=ready(*CHAIN),
            expect={"has_changes": False, "summary": {"no_op": 4}},
        ),
        Case(
            "hyperparameter-retrain",
            "n_epochs 200 → 300: the fine-tune retrains (cost shown); export and deployment follow.",
            after=chain(**{"finetune.yaml": finetune(n_epochs=300)}),
            before=chain(),
            observations=ready(*CHAIN),
            expect={"has_changes": True, "summary": {"replace": 3, "retrains": 1}},
        ),
        Case(
            "dataset-content-changed",
            "One caption edited (data.jsonl modified) and one sample added: dataset replaced, fine-tune retrained.",
            after=chain(),
            before=chain(),
            data_after=modified,
            data_before=dataset(),
            observations=ready(*CHAIN),
            expect={"has_changes": True, "summary": {"replace": 4, "retrains": 1}},
        ),
        Case(
            "running-job-spec-changed",
            "The job is still RUNNING and its learning rate changes: it is canceled first (running for 2h13m).",
            after=chain(**{"finetune.yaml": finetune(learning_rate="1.0e-4")}),
            before=chain(**{"export.yaml": "", "deployment.yaml": ""}),
            state_status={"FineTune/coins": "RUNNING"},
            observations={
                "Dataset/coins-train": observation("Dataset/coins-train"),
                "FineTune/coins": observation(
                    "FineTune/coins", "RUNNING", created_at=NEW_JOB_CREATED, outputs={"job_id": JOB_ID}
                ),
            },
            expect={"has_changes": True, "summary": {"replace": 1, "create": 2}},
        ),
        Case(
            "job-failed-drift",
            "The job FAILED on the provider: it is replaced (drift), with the provider's message.",
            after=chain(**{"export.yaml": "", "deployment.yaml": ""}),
            before=chain(**{"export.yaml": "", "deployment.yaml": ""}),
            state_status={"FineTune/coins": "RUNNING"},
            observations={
                "Dataset/coins-train": observation("Dataset/coins-train"),
                "FineTune/coins": observation(
                    "FineTune/coins",
                    "FAILED",
                    outputs={"job_id": JOB_ID},
                    message="training data check failed: video_7.mp4 is shorter than 2 seconds",
                ),
            },
            expect={"has_changes": True, "summary": {"replace": 1, "drifted": 1}},
        ),
        Case(
            "deployment-deleted-outside",
            "The deployment was deleted in the console: it is created again (drift).",
            after=chain(),
            before=chain(),
            observations={
                **ready(*CHAIN[:3]),
                "Deployment/coins": observation("Deployment/coins", "NOT_FOUND"),
            },
            expect={"has_changes": True, "summary": {"create": 1, "drifted": 1}},
        ),
        Case(
            "deployment-capacity-drift",
            "A plan=mu deployment scaled from 2 to 1 instances outside reconciler: updated in place.",
            after=chain(**{"export.yaml": "", "deployment.yaml": deployment_mu(2)}),
            before=chain(**{"export.yaml": "", "deployment.yaml": deployment_mu(2)}),
            observations={
                **ready(*CHAIN[:2]),
                "Deployment/coins-mu": observation("Deployment/coins-mu", live_fields={"capacity": 1}),
            },
            expect={"has_changes": True, "summary": {"update": 1, "drifted": 1}},
        ),
        Case(
            "manifest-removed-delete",
            "The deployment's manifest was removed: it is deleted (prune).",
            after=chain(**{"deployment.yaml": ""}),
            before=chain(),
            observations=ready(*CHAIN),
            expect={"has_changes": True, "summary": {"delete": 1}},
        ),
        Case(
            "removed-retain-forget",
            "Removed, with lifecycle.deletion: retain: forgotten, left running on the provider.",
            after=chain(**{"deployment.yaml": ""}),
            before=chain(**{"deployment.yaml": deployment(lifecycle="lifecycle:\n  deletion: retain\n")}),
            observations=ready(*CHAIN),
            expect={"has_changes": True, "summary": {"forget": 1}},
        ),
        Case(
            "removed-running-job-cancel",
            "The fine-tune's manifest was removed while its job is RUNNING: the job is canceled, then deleted.",
            after=chain(**{"finetune.yaml": "", "export.yaml": "", "deployment.yaml": ""}),
            before=chain(**{"export.yaml": "", "deployment.yaml": ""}),
            state_status={"FineTune/coins": "RUNNING"},
            observations={
                "Dataset/coins-train": observation("Dataset/coins-train"),
                "FineTune/coins": observation(
                    "FineTune/coins", "RUNNING", created_at=NEW_JOB_CREATED, outputs={"job_id": JOB_ID}
                ),
            },
            expect={"has_changes": True, "summary": {"cancel": 1}},
        ),
        Case(
            "prevent-destroy-error",
            "A retrain would replace a fine-tune marked prevent_destroy: the plan is an error.",
            after=chain(
                **{"finetune.yaml": finetune(n_epochs=300, lifecycle="lifecycle:\n  prevent_destroy: true\n")}
            ),
            before=chain(**{"finetune.yaml": finetune(lifecycle="lifecycle:\n  prevent_destroy: true\n")}),
            observations=ready(*CHAIN),
            expect={"errors": 1},
        ),
        Case(
            "ignore-changes-noop",
            "learning_rate differs but is listed in lifecycle.ignore_changes: no change.",
            after=chain(
                **{
                    "finetune.yaml": finetune(
                        learning_rate="1.0e-4",
                        lifecycle="lifecycle:\n  ignore_changes: [spec.hyper_parameters.learning_rate]\n",
                    )
                }
            ),
            before=chain(
                **{
                    "finetune.yaml": finetune(
                        lifecycle="lifecycle:\n  ignore_changes: [spec.hyper_parameters.learning_rate]\n"
                    )
                }
            ),
            observations=ready(*CHAIN),
            expect={"has_changes": False, "summary": {"no_op": 4}},
        ),
        Case(
            "labels-only",
            "Only a label changed: recorded in state, no provider call.",
            after=chain(**{"finetune.yaml": finetune(labels="{team: effects, owner: mei}")}),
            before=chain(),
            observations=ready(*CHAIN),
            expect={"has_changes": True, "summary": {"update": 1, "no_op": 3}},
        ),
        Case(
            "discovered-adopt",
            "No state (a fresh CI runner): every object is found on the provider by fingerprint and adopted.",
            after=chain(),
            discovered=ready(*CHAIN),
            expect={"has_changes": False, "summary": {"adopt": 4}},
        ),
        Case(
            "expired-checkpoint-warning",
            "Nothing to change, but the exported checkpoint has expired on the provider: a no-op with a warning.",
            after=chain(),
            before=chain(),
            observations={
                **ready(*CHAIN),
                "CheckpointExport/coins-c400": observation(
                    "CheckpointExport/coins-c400",
                    facts={"expire_time": "2025-12-31T00:00:00Z", "expired": True},
                ),
            },
            expect={"has_changes": False, "summary": {"no_op": 4}},
        ),
        Case(
            "destroy",
            "`reconciler destroy`: everything in state is deleted, dependents first; the export, "
            "which DashScope has no API to delete, is forgotten.",
            after=chain(),
            before=chain(),
            observations=ready(*CHAIN),
            options={"operation": "destroy"},
            expect={"has_changes": True, "summary": {"delete": 3, "forget": 1}},
        ),
    ]


# ---------------------------------------------------------------------------------------------- writing


def write_tree(root: Path, manifests: dict[str, str], data: dict[str, bytes]) -> None:
    for name, text in manifests.items():
        (root / name).write_text(text)
    data_dir = root / "data" / "coins"
    data_dir.mkdir(parents=True)
    for name, content in data.items():
        (data_dir / name).write_bytes(content)


def applied_state(manifests: ManifestSet, status: dict[str, str]) -> list[dict[str, Any]]:
    """What an apply of `manifests` would have recorded."""
    hashes = spec_hashes(manifests)
    records = []
    for address in manifests.topological_order():
        r = manifests.resources[address]
        remote = REMOTE[address]
        recorded = status.get(address, remote["status"])
        outputs = (
            dict(remote["outputs"])
            if recorded == remote["status"]
            else {k: v for k, v in remote["outputs"].items() if k == "job_id"}
        )  # a job not finished has no model yet
        rec = ResourceRecord(
            address=address,
            kind=r.kind.value,
            name=r.name,
            provider=r.provider_name,
            provider_type=r.provider_type.value,
            remote_id=remote["remote_id"],
            spec=r.effective_spec(),
            spec_hash=hashes[address],
            content_digest=r.content.digest if r.content else None,
            content_files=dict(r.content.files) if r.content else {},
            status=recorded,
            observed=None,
            outputs=outputs,
            dependencies=r.dependencies(),
            labels=dict(r.labels),
            lifecycle=r.lifecycle.model_dump(mode="json"),
            created_at=APPLIED,
            updated_at=APPLIED,
            observed_at=APPLIED,
        )
        records.append(rec.to_dict())
    return records


def load_checked(root: Path) -> ManifestSet:
    result = load([root / "manifests"], cwd=root)
    if not result.ok:
        raise SystemExit(f"{root}: manifests do not load:\n" + "\n".join(str(d) for d in result.diagnostics))
    return result.manifests


def build(case: Case) -> None:
    target = HERE / case.name
    if target.exists():
        for child in ("manifests", "state.json", "observations.json", "discovered.json", "case.json"):
            path = target / child
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (target / "manifests").mkdir(parents=True, exist_ok=True)
    write_tree(target / "manifests", case.after, case.data_after)
    load_checked(target)

    records: list[dict[str, Any]] = []
    if case.before is not None:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "manifests").mkdir()
            write_tree(root / "manifests", case.before, case.data_before or case.data_after)
            records = applied_state(load_checked(root), case.state_status)
    meta = (
        {"lineage": LINEAGE, "serial": 7, "schema_version": 1}
        if records
        else {"lineage": "", "serial": 0, "schema_version": 1}
    )
    dump(target / "state.json", {"meta": meta, "records": records})
    if case.observations:
        dump(target / "observations.json", case.observations)
    if case.discovered:
        dump(target / "discovered.json", case.discovered)
    dump(
        target / "case.json",
        {"description": case.description, "now": NOW, **case.options, "expect": case.expect},
    )


def dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> None:
    wanted = set(argv)
    for case in cases():
        if not wanted or case.name in wanted:
            build(case)
            print(f"wrote {case.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
