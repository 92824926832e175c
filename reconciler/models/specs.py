"""Base classes for provider and resource specs.

Concrete specs live in one module per provider type (`dashscope.py`, `wavespeed.py`,
`imgopen.py`) and are looked up through `registry`. A spec declares which of its fields
reference other resources (`REFERENCES`), so the loader can resolve them and build the
dependency graph without knowing any provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from reconciler.models.envelope import StrictModel
from reconciler.models.kinds import Kind

if TYPE_CHECKING:
    from reconciler.models.resources import ManifestSet


class ProviderSpec(StrictModel):
    """spec of a `kind: Provider` document. Subclasses fix `type` with a Literal."""

    TYPE: ClassVar[str]

    def credential_envs(self) -> dict[str, str]:
        """Credential role -> environment variable name, e.g. {'api_key': 'DASHSCOPE_API_KEY'}."""
        raise NotImplementedError

    @property
    def is_sandbox(self) -> bool:
        return getattr(self, "endpoint", None) == "sandbox"


class ResourceSpec(StrictModel):
    """spec of a Dataset, FineTune, CheckpointExport or Deployment for one provider type."""

    KIND: ClassVar[Kind]
    PROVIDER_TYPE: ClassVar[str]
    # field name -> kind it references; the field holds a name, a list of names, or None.
    REFERENCES: ClassVar[dict[str, Kind]] = {}

    provider: str  # a Provider's metadata.name (redeclared by subclasses with its change class)

    def plan_facts(self, outputs: Mapping[str, Any]) -> dict[str, str]:
        """Display-only lines for the plan, from the recorded outputs (e.g. which checkpoint a
        selector resolved to, and why). Most specs have none."""
        return {}

    def manifest_problems(self, manifests: ManifestSet) -> list[tuple[str, str]]:
        """(field path, what is wrong and what to do) for rules that span resources, e.g. whether
        a Sample's model can take the LoRA its FineTune makes; checked by the loader, before any
        training is paid for. Most specs have none."""
        return []

    def gates(self) -> list[str]:
        """Addresses that must have succeeded, after a replace, before this resource's old object
        is deleted (a Deployment's `requires`). Not references: they depend on this resource."""
        return []

    # --- numbers derived from a spec, for the plan (the provider's rules, asked by the planner) ---
    def training_samples(self, content_samples: int | None) -> int:
        """A Dataset's training samples (`content_samples`: counted in its local content, if any)."""
        return content_samples or 0

    def planned_training_steps(self, samples: int) -> int | None:
        """The optimiser steps a FineTune with this spec runs on `samples`; None when not known."""
        return None

    def estimated_gpu_hours(self, steps: int) -> float | None:
        """A rough duration of a training of `steps` steps, shown as an estimate; None when unknown."""
        return None

    def training_warnings(self, steps: int) -> list[str]:
        """What the provider says about a training of `steps` steps (e.g. too few to learn)."""
        return []

    def references(self) -> Iterator[tuple[str, Kind, str]]:
        """Yields (field path, referenced kind, referenced name), e.g. ('training_datasets[0]', DATASET, 'x')."""
        for field_name, kind in self.REFERENCES.items():
            value: Any = getattr(self, field_name)
            if value is None:
                continue
            if isinstance(value, str):
                yield field_name, kind, value
            else:
                for i, item in enumerate(value):
                    yield f"{field_name}[{i}]", kind, item
