"""Plan-time checks of a Sample against the FineTune whose LoRA it renders with.

Why here: whether a Sample's LoRA lists fit (at most 3 items each, seeds 001/004) and whether its
model can take the FineTune's LoRA at all depend on two resources — the Sample's model and
extras, and the FineTune's trainer (a Wan 2.2 trainer makes two LoRAs, which only the Wan 2.2
t2v model's high/low-noise lists can take). Caught before any training is paid for.
"""

from __future__ import annotations

from reconciler.loading.yaml_source import locate
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet
from reconciler.models.wavespeed import TRAINERS
from reconciler.models.wavespeed_samples import MAX_LORAS, WAN_T2V, WaveSpeedSample, loras_needed


def check_samples(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    for sample in manifests:
        if sample.kind is not Kind.SAMPLE or not isinstance(sample.spec, WaveSpeedSample):
            continue
        spec = sample.spec
        fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE.value}/{spec.fine_tune}")
        trainer = getattr(fine_tune.spec, "trainer", None) if fine_tune is not None else None
        facts = TRAINERS.get(str(trainer)) if trainer is not None else None
        if facts is None:
            continue
        if facts.two_loras and spec.model != WAN_T2V:
            path = "spec.model"
            out.append(
                Diagnostic(
                    f"{spec.model} takes one LoRA list, but {fine_tune.address} ({trainer}) makes two LoRAs "  # type: ignore[union-attr]
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
