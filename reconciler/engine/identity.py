"""Identity of a desired resource: a hash of what it *is*, not where it came from.

`spec_hash` covers the effective spec, the dataset content digest, and the identities of the
resources it references — so a changed caption in a dataset changes the dataset's hash, and
therefore the hash of every fine-tune, export and deployment downstream of it. Labels and
lifecycle are excluded (they are local). Dataset `source` paths are excluded too: moving a
folder is not a change.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from reconciler.models.changes import ChangeClass, field_change_class
from reconciler.models.resources import ManifestSet, Resource
from reconciler.models.specs import ResourceSpec

# built once: `json.dumps` with these options makes a new encoder on every call (one per resource)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(data: Any) -> str:
    return _CANONICAL.encode(data)


@functools.cache
def _local_fields(spec_type: type[ResourceSpec]) -> frozenset[str]:
    """Fields of class LOCAL in a spec model (models are fixed once defined, so this is cached)."""
    fields = spec_type.model_fields
    return frozenset(k for k, info in fields.items() if field_change_class(info) is ChangeClass.LOCAL)


def identity_spec(resource: Resource) -> dict[str, Any]:
    """The effective spec minus fields of class LOCAL (e.g. a dataset's source path)."""
    spec = resource.shared_effective_spec()  # read only: the dict below is new
    local = _local_fields(type(resource.spec))
    return {k: v for k, v in spec.items() if k not in local} if local else spec


def spec_hashes(manifests: ManifestSet, order: list[str] | None = None) -> dict[str, str]:
    """Identity of every resource; `order` is the topological order when the caller already has it."""
    hashes: dict[str, str] = {}
    for address in order if order is not None else manifests.topological_order():
        resource = manifests.resources[address]
        payload = {
            "kind": resource.kind.value,
            "spec": identity_spec(resource),
            "content": resource.content.digest if resource.content else None,
            "inputs": {dep: hashes.get(dep) for dep in resource.dependency_addresses},
        }
        hashes[address] = "sha256:" + hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    return hashes
