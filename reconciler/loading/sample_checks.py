"""Plan-time checks of a Sample against the FineTune whose LoRA it renders with.

Why here: whether a Sample's LoRA lists fit (at most 3 items each, seeds 001/004) and whether its
model can take the FineTune's LoRA at all depend on two resources — the Sample's model and
extras, and the FineTune's trainer (a Wan 2.2 trainer makes two LoRAs, which only the Wan 2.2
t2v model's high/low-noise lists can take). Caught before any training is paid for. The rules are
the provider's, so each spec model states them (`ResourceSpec.manifest_problems`); this module
only places them in the file and checks a Deployment's `requires`.
"""

from __future__ import annotations

from reconciler.loading.yaml_source import locate
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet


def check_samples(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    _check_requires(manifests, out)
    for resource in manifests:
        for path, message in resource.spec.manifest_problems(manifests):
            out.append(Diagnostic(message, locate(resource, path), resource.address, path))


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
