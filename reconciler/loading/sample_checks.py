"""Plan-time checks of a Sample against the FineTune whose LoRA it renders with.

Why here: whether a Sample's LoRA lists fit (at most 3 items each, seeds 001/004) and whether its
model can take the FineTune's LoRA at all depend on two resources — the Sample's model and
extras, and the FineTune's trainer (a Wan 2.2 trainer makes two LoRAs, which only the Wan 2.2
t2v model's high/low-noise lists can take). Caught before any training is paid for.
"""

from __future__ import annotations

from reconciler.loading.yaml_source import locate
from reconciler.models.dashscope_samples import RESOLUTIONS, DashScopeSample
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet, Resource
from reconciler.models.wavespeed import TRAINERS
from reconciler.models.wavespeed_samples import MAX_LORAS, WAN_T2V, WaveSpeedSample, loras_needed


def check_samples(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    _check_requires(manifests, out)
    for sample in manifests:
        if sample.kind is Kind.SAMPLE and isinstance(sample.spec, DashScopeSample):
            _check_dashscope(manifests, sample, sample.spec, out)
        if sample.kind is not Kind.SAMPLE or not isinstance(sample.spec, WaveSpeedSample):
            continue
        spec = sample.spec
        fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE.value}/{spec.fine_tune}")
        trainer = getattr(fine_tune.spec, "trainer", None) if fine_tune is not None else None
        facts = TRAINERS.get(str(trainer)) if trainer is not None else None
        if facts is None or fine_tune is None:
            continue
        if facts.two_loras and spec.model != WAN_T2V:
            path = "spec.model"
            out.append(
                Diagnostic(
                    f"{spec.model} takes one LoRA list, but {fine_tune.address} ({trainer}) makes two LoRAs "
                    f"(high and low noise), which only {WAN_T2V} can take: render with {WAN_T2V}, or train "
                    "this sample's LoRA with a single-LoRA trainer (e.g. qwen-image-lora-trainer)",
                    locate(sample, path),
                    sample.address,
                    path,
                )
            )
            continue
        for target, count in sorted(loras_needed(facts.two_loras, spec.extra_loras).items()):
            if count > MAX_LORAS:
                path = "spec.extra_loras"
                out.append(
                    Diagnostic(
                        f"{target} would hold {count} LoRAs (the FineTune's own and {count - 1} extra); "
                        f"at most {MAX_LORAS} are allowed: remove {count - MAX_LORAS}",
                        locate(sample, path),
                        sample.address,
                        path,
                    )
                )


def _base_model(manifests: ManifestSet, deployment: Resource) -> str | None:
    """The Wan base model a Deployment serves, through its FineTune or CheckpointExport."""
    source = getattr(deployment.spec, "fine_tune", None)
    if source is None:
        export = manifests.resources.get(
            f"{Kind.CHECKPOINT_EXPORT.value}/{getattr(deployment.spec, 'checkpoint_export', '')}"
        )
        source = getattr(export.spec, "fine_tune", None) if export is not None else None
    fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE.value}/{source}") if source else None
    model = getattr(fine_tune.spec, "model", None) if fine_tune is not None else None
    return str(model) if model else None


def _check_dashscope(
    manifests: ManifestSet, sample: Resource, spec: DashScopeSample, out: list[Diagnostic]
) -> None:
    deployment = manifests.resources.get(f"{Kind.DEPLOYMENT.value}/{spec.deployment}")
    base = _base_model(manifests, deployment) if deployment is not None else None
    if base is None:
        return
    kf2v = base.startswith("wan2.2-kf2v")
    if kf2v != spec.kf2v:
        path = "spec.img_url" if spec.img_url else "spec.first_frame_url"
        wanted = "first_frame_url and last_frame_url" if kf2v else "img_url"
        out.append(
            Diagnostic(
                f"{spec.deployment} serves {base}, which takes {wanted} (providers.md §1.7)",
                locate(sample, path),
                sample.address,
                path,
            )
        )
    allowed = RESOLUTIONS.get(base, ())
    if allowed and spec.resolution not in allowed:
        path = "spec.resolution"
        out.append(
            Diagnostic(
                f"must be one of {', '.join(allowed)} for {base} (got {spec.resolution})",
                locate(sample, path),
                sample.address,
                path,
            )
        )


def _check_requires(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    """A Deployment's `requires` names Samples of *its* model: Samples that render with it."""
    for deployment in manifests:
        if deployment.kind is not Kind.DEPLOYMENT:
            continue
        for i, address in enumerate(getattr(deployment.spec, "requires", None) or []):
            sample = manifests.resources.get(address)
            problem = None
            if sample is None:
                problem = f"{address} is not declared"
            elif getattr(sample.spec, "deployment", None) != deployment.name:
                problem = (
                    f"{address} does not render with {deployment.address} (its spec.deployment is "
                    f"{getattr(sample.spec, 'deployment', None) or 'not set'}), so it cannot show this deployment's new model"
                )
            if problem:
                path = f"spec.requires[{i}]"
                out.append(
                    Diagnostic(
                        f"{problem}: list Samples whose deployment is {deployment.name}",
                        locate(deployment, path),
                        deployment.address,
                        path,
                    )
                )
