"""Loaded, validated resources and the manifest set they form (pure data).

The loader (`reconciler.loading`) turns YAML documents into these; the planner and the engine
consume them. Nothing here knows where the data came from.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from reconciler.models.connections import ProviderConfig as ConnectionSpec
from reconciler.models.diagnostics import SourceLocation
from reconciler.models.envelope import Lifecycle
from reconciler.models.kinds import Kind, ProviderType, address
from reconciler.models.specs import ResourceSpec

T = TypeVar("T")


class computed_once(Generic[T]):  # noqa: N801 - used as a decorator, as functools.cached_property
    """`functools.cached_property` without its lock: the value is computed on the first read and
    put in the instance's `__dict__`, where later reads find it as a plain attribute.

    Why: Python 3.11's `cached_property` takes an `RLock` on every first read (a plan makes some
    28,000 first reads at 2,000 chains); these values are pure functions of a frozen object, so
    two threads computing one at once compute the same value, and either may be kept."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> computed_once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | computed_once[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


@dataclass(frozen=True)
class DatasetContent:
    """The identity of a local dataset: its content, not its path (DESIGN.md §2).

    `digest` is sha256 over the sorted (relative name, sha256 of bytes) pairs, so it changes when
    a caption is edited or an image added, and does not change when the folder moves or files
    are touched.
    """

    digest: str
    files: dict[str, str]  # relative posix name -> sha256 hex of its bytes
    sample_count: int  # training samples (data.jsonl lines, images, videos…) — drives step counts
    total_bytes: int
    # where the bytes were read from (absolute); not part of the identity
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    spec: ConnectionSpec  # every Provider spec derives from it (endpoint, credentials, sandbox)
    location: SourceLocation | None = None

    @property
    def type(self) -> ProviderType:
        return ProviderType(self.spec.TYPE)


@dataclass(frozen=True)
class Resource:
    kind: Kind
    name: str
    spec: ResourceSpec
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    labels: dict[str, str] = field(default_factory=dict)
    location: SourceLocation | None = None
    # dotted field path ("spec.hyper_parameters.n_epochs") -> where it was written
    field_locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False, repr=False)
    content: DatasetContent | None = None  # local datasets only
    moved_from: str | None = None  # metadata.moved_from: the name it had before a rename (engine/moves.py)

    # A Resource is a value (frozen; its spec is never changed after loading), so what is derived
    # from it is computed once. `computed_once` keeps it in the instance's `__dict__`, where
    # later reads find it as a plain attribute (a plan asks each resource for its address a dozen
    # times, for its dependencies and provider type several).
    @computed_once
    def address(self) -> str:
        return address(self.kind, self.name)

    @property
    def provider_name(self) -> str:
        return self.spec.provider

    @computed_once
    def provider_type(self) -> ProviderType:
        return ProviderType(self.spec.PROVIDER_TYPE)

    def dependencies(self) -> list[str]:
        """Addresses this resource references (its Provider excluded): a new list, the caller's."""
        return list(self.dependency_addresses)

    @computed_once
    def dependency_addresses(self) -> tuple[str, ...]:
        """`dependencies()` without the copy, for callers that only read it."""
        seen: dict[str, None] = {}
        for _, kind, name in self.spec.references():
            seen[address(kind, name)] = None
        return tuple(seen)

    def effective_spec(self) -> dict[str, Any]:
        """The spec with every default applied, as plain JSON data (a fresh copy: callers own it)."""
        return self.spec.model_dump(mode="json")

    def shared_effective_spec(self) -> dict[str, Any]:
        """`effective_spec()` computed once and shared: read it, never change it."""
        spec: dict[str, Any] | None = self.__dict__.get("_effective_spec")
        if spec is None:
            spec = self.spec.model_dump(mode="json")
            object.__setattr__(self, "_effective_spec", spec)
        return spec

    def location_of(self, field_path: str) -> SourceLocation | None:
        return self.field_locations.get(field_path, self.location)


@dataclass
class ManifestSet:
    """Everything declared under one manifest root."""

    root: str  # the directory given with -f (first one), used to place the state file
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)  # address -> resource
    files: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources.values())

    def get(self, addr: str) -> Resource | None:
        return self.resources.get(addr)

    def topological_order(self) -> list[str]:
        """Dependencies first; ties broken by (kind order, name) so output is deterministic.

        The loader has already rejected cycles; a cycle here is a programming error.
        """
        kind_rank = {k: i for i, k in enumerate(Kind)}
        resources = self.resources
        return sorted_rounds(
            {a: [d for d in r.dependency_addresses if d in resources] for a, r in resources.items()},
            key=lambda a: (kind_rank[resources[a].kind], a),
        )


def sorted_rounds(predecessors: Mapping[str, Iterable[str]], key: Callable[[str], Any]) -> list[str]:
    """A topological order in rounds: everything whose predecessors are all placed, sorted by `key`,
    then the next round. Raises `graphlib.CycleError` on a cycle.

    The rounds of `graphlib.TopologicalSorter` (`get_ready` / `done` of a whole round), counted
    here without its per-node bookkeeping, and its cycle search run only when there is a cycle
    (a plan orders every resource; the loader has already rejected cycles)."""
    waiting: dict[str, int] = {}  # node -> predecessors not yet placed
    successors: dict[str, list[str]] = {}
    for node, preds in predecessors.items():
        unique = dict.fromkeys(preds)  # (a predecessor named twice counts once, as graphlib)
        waiting[node] = waiting.get(node, 0) + len(unique)
        for pred in unique:
            successors.setdefault(pred, []).append(node)
            waiting.setdefault(pred, 0)
    ready = [node for node, count in waiting.items() if count == 0]
    order: list[str] = []
    while ready:
        ready.sort(key=key)
        order.extend(ready)
        following: list[str] = []
        for node in ready:
            for succ in successors.get(node, ()):
                waiting[succ] -= 1
                if waiting[succ] == 0:
                    following.append(succ)
        ready = following
    if len(order) != len(waiting):
        graphlib.TopologicalSorter(predecessors).prepare()  # raises CycleError, naming the cycle
        raise graphlib.CycleError("cycle", [])  # (unreachable: what was left unplaced is a cycle)
    return order
