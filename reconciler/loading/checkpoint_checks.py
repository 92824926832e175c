"""Plan-time check of a CheckpointExport's `checkpoint-N` against what its job will save.

Why here: an export of a checkpoint the job never saves (`checkpoint-600` of a 60-step job)
would otherwise fail only after the training has been paid for. The loader knows the dataset
sizes (it has just hashed them), and the FineTune spec knows its checkpoint schedule
(`saved_checkpoints`), so the check needs no provider call. Selectors (`latest`,
`latest-validated`) are resolved after training and are not checked here.
"""

from __future__ import annotations

from reconciler.loading.yaml_source import locate
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet, Resource


def check_checkpoints(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    for export in manifests:
        if export.kind is not Kind.CHECKPOINT_EXPORT:
            continue
        wanted = str(getattr(export.spec, "checkpoint", "") or "")
        if not wanted.startswith("checkpoint-"):
            continue
        fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE}/{getattr(export.spec, 'fine_tune', '')}")
        samples = _training_samples(manifests, fine_tune) if fine_tune is not None else None
        schedule = getattr(fine_tune.spec, "saved_checkpoints", None) if fine_tune is not None else None
        if fine_tune is None or samples is None or not callable(schedule):
            continue
        saved: list[str] = schedule(samples)
        if wanted in saved:
            continue
        hp = fine_tune.spec.hyper_parameters  # type: ignore[attr-defined]  # saved_checkpoints implies it
        path = "spec.checkpoint"
        shown = ", ".join(saved) if len(saved) <= 8 else ", ".join([*saved[:3], "…", *saved[-3:]])
        out.append(
            Diagnostic(
                f"{fine_tune.address} will save only {shown} ({samples} training samples, batch_size "
                f"{hp.batch_size}, n_epochs {hp.n_epochs}, eval_epochs {hp.eval_epochs}, save_total_limit "
                f"{hp.save_total_limit}), so {wanted} will never exist: export one of those, or use "
                "latest / latest-validated",
                locate(export, path),
                export.address,
                path,
            )
        )


def _training_samples(manifests: ManifestSet, fine_tune: Resource) -> int | None:
    """Samples in the FineTune's training datasets; None while any of them is unhashed."""
    total = 0
    for name in getattr(fine_tune.spec, "training_datasets", None) or []:
        dataset = manifests.resources.get(f"{Kind.DATASET}/{name}")
        if dataset is None or dataset.content is None:
            return None
        total += dataset.content.sample_count
    return total or None
