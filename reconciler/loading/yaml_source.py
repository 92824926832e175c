"""YAML text → plain Python data plus where every field was written.

Why this exists: every diagnostic must name the file, line and column of the offending field.
libyaml's C parser (PyYAML's `CSafeLoader`, when installed) turns the text into *events*; one
loop here builds the Python values from them and records, for each mapping key and sequence item,
where it was written — as one packed integer per field path (`Positions`), turned into a
`SourceLocation` only when a diagnostic asks. This skips PyYAML's node composer and constructor,
which call Python methods per node and cost more than the C parser itself. Scalars resolve to the
same types as `yaml.safe_load` (PyYAML's own implicit resolvers and constructors decide). Duplicate
keys — which PyYAML silently overwrites — are errors here.

Hostile input is bounded: aliases may expand to at most `MAX_ALIAS_NODES` nodes per document
(a few hundred bytes of "billion laughs" would otherwise build 10⁹ nodes), nesting is at most
`MAX_DEPTH` levels, and an alias or merge key that refers to its own enclosing node is an error,
not an endless loop. The checks are counters on the one loop, so they cost nothing measurable.

Strings are interned (`sys.intern`): a manifest set repeats the same provider names, labels,
referenced names and field-path lists thousands of times, and a loaded set keeps them (in specs
and `Positions`). The parse cache's `marshal` keeps a string interned, so a cache hit shares them too.

What it must not do: know anything about kinds, specs or providers. It returns documents and
diagnostics; the loader decides what they mean.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from reconciler.models.diagnostics import Diagnostic, SourceLocation
from reconciler.models.resources import Resource

MAX_ALIAS_NODES = 10_000  # nodes built by expanding aliases, per document; real manifests use dozens
MAX_DEPTH = 100  # nested mappings and lists; manifests need fewer than ten

_SHIFT = 32  # a position is (line << _SHIFT) | column, both 1-based


class Positions(Mapping[str, SourceLocation]):
    """{field path: SourceLocation} for one document, built on the first lookup.

    Stored compact — every path in one NUL-joined string and each one's packed (line, column) in
    one array — because a loaded manifest set keeps them all (8,000 documents: ~120,000 paths)
    and looks up a handful, for diagnostics. The dict is made the first time one is asked for.
    """

    __slots__ = ("file", "_paths", "_packed", "_index")

    def __init__(
        self, file: str, packed: dict[str, int] | None = None, *, compact: tuple[str, bytes] | None = None
    ) -> None:
        self.file = file
        self._index: dict[str, int] | None = None
        if compact is not None:
            self._paths, self._packed = compact
        else:
            packed = packed or {}
            self._paths = intern("\0".join(packed))
            self._packed = array("Q", packed.values()).tobytes()

    def compact(self) -> tuple[str, bytes]:
        """(joined paths, packed positions as bytes): what the parse cache stores."""
        return self._paths, self._packed

    @property
    def packed(self) -> dict[str, int]:
        if self._index is None:
            values = array("Q")
            values.frombytes(self._packed)
            self._index = dict(zip(self._paths.split("\0"), values, strict=True)) if values else {}
        return self._index

    def __getitem__(self, path: str) -> SourceLocation:
        p = self.packed[path]
        return SourceLocation(self.file, p >> _SHIFT, p & ((1 << _SHIFT) - 1))

    def get(self, path: str, default: Any = None) -> Any:
        p = self.packed.get(path)
        return default if p is None else SourceLocation(self.file, p >> _SHIFT, p & ((1 << _SHIFT) - 1))

    def __contains__(self, path: object) -> bool:
        return path in self.packed

    def __iter__(self) -> Iterator[str]:
        return iter(self.packed)

    def __len__(self) -> int:
        return len(self.packed)

    def __repr__(self) -> str:
        return f"Positions({self.file!r}, {len(self)} paths)"


@dataclass
class YamlDocument:
    """One `---` document: its data, where it starts, and where each field path was written.

    Field paths are dotted with list indices in brackets: `spec.training_datasets[0]`. The empty
    path `""` is the document itself. For a mapping entry the location is that of its key; for a
    sequence item, of the item.
    """

    index: int  # 0-based position in the file (empty documents count)
    data: Any
    location: SourceLocation
    locations: Mapping[str, SourceLocation] = field(default_factory=dict)

    def location_of(self, path: str) -> SourceLocation:
        """The location of `path`, or of its nearest written ancestor (a missing key → its mapping)."""
        return nearest_location(self.locations, path, self.location)


@dataclass
class YamlFile:
    path: str  # as shown in diagnostics
    documents: list[YamlDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def positions(self) -> dict[tuple[int, str], SourceLocation]:
        """{(document index, dotted.field.path): location} over the whole file."""
        return {(d.index, p): loc for d in self.documents for p, loc in d.locations.items()}


def nearest_location(
    locations: Mapping[str, SourceLocation], path: str, default: SourceLocation
) -> SourceLocation:
    """The location of `path`, or of its nearest written ancestor, or `default`."""
    while path:
        loc = locations.get(path)
        if loc is not None:
            return loc
        path = parent_path(path)
    return default


def parent_path(path: str) -> str:
    """'spec.a[2]' → 'spec.a'; 'spec.a' → 'spec'; 'spec' → ''."""
    if path.endswith("]"):
        return path[: path.rindex("[")]
    dot = path.rfind(".")
    return path[:dot] if dot >= 0 else ""


def join_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def parse_yaml(text: str | bytes, display_path: str) -> YamlFile:
    """Parse every document in `text` once; syntax errors and duplicate keys become diagnostics.

    Documents before a syntax error are kept (their own errors are still worth reporting); the
    rest of the file is not readable and is dropped. The parser is `yaml_parser`, imported on the
    first parse: a plan whose manifests all come from the parse cache never imports PyYAML
    (8-9 ms of start-up).
    """
    from reconciler.loading.yaml_parser import parse

    return parse(text, display_path)


def locate(resource: Resource, path: str) -> SourceLocation | None:
    """Where `path` of a loaded resource was written, or its nearest written ancestor."""
    if resource.location is None:
        return None
    return nearest_location(resource.field_locations, path, resource.location)
