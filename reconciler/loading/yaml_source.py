"""YAML text → plain Python data plus where every field was written.

Why this exists: every diagnostic must name the file, line and column of the offending field,
so we compose YAML *nodes* once (libyaml's C composer when present, ~10× faster) and build the
Python values ourselves, recording a 1-based `SourceLocation` for each mapping key and sequence
item on the way. Duplicate keys — which PyYAML silently overwrites — are errors here.

Hostile input is bounded: aliases may expand to at most `MAX_ALIAS_NODES` nodes per document
(a few hundred bytes of "billion laughs" would otherwise build 10⁹ nodes), nesting is at most
`MAX_DEPTH` levels, and an alias or merge key that refers to its own enclosing node is an error,
not an endless loop. The checks are counters on the existing walk, so they cost nothing measurable.

What it must not do: know anything about kinds, specs or providers. It returns documents and
diagnostics; the loader decides what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.models.diagnostics import Diagnostic, SourceLocation
from reconciler.models.resources import Resource

YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]

_MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_ALIAS_NODES = 10_000  # nodes built by expanding aliases, per document; real manifests use dozens
MAX_DEPTH = 100  # nested mappings and lists; manifests need fewer than ten


class _DocumentTooLarge(Exception):
    """Raised inside the builder to abandon a document; carries its diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


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
    locations: dict[str, SourceLocation] = field(default_factory=dict)

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
    locations: dict[str, SourceLocation], path: str, default: SourceLocation
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
    """Compose every document in `text` once; syntax errors and duplicate keys become diagnostics.

    Documents before a syntax error are kept (their own errors are still worth reporting); the
    rest of the file is not readable and is dropped.
    """
    result = YamlFile(path=display_path)
    loader = YamlLoader(text)
    builder = _Builder(loader, display_path, result.diagnostics)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node() said there was one
                break
            doc = YamlDocument(index=index, data=None, location=builder.loc(node))
            builder.start_document(doc.locations)
            try:
                doc.data = builder.build(node, "")
            except _DocumentTooLarge as exc:  # the document is unusable; one clear error instead
                result.diagnostics.append(exc.diagnostic)
                doc.data, doc.locations = None, {}
            result.documents.append(doc)
            index += 1
    except yaml.MarkedYAMLError as exc:
        result.diagnostics.append(_syntax_diagnostic(exc, display_path))
    except yaml.reader.ReaderError as exc:  # bytes that are not text in a YAML encoding
        result.diagnostics.append(
            Diagnostic(
                f"not a text file in UTF-8 or UTF-16 ({exc.reason} at byte {exc.position})",
                SourceLocation(display_path, 1, 1),
            )
        )
    except yaml.YAMLError as exc:  # pragma: no cover - every other YAML error is marked
        result.diagnostics.append(Diagnostic(f"not valid YAML: {exc}", SourceLocation(display_path, 1, 1)))
    finally:
        loader.dispose()
    return result


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, display_path: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    loc = SourceLocation(display_path, mark.line + 1, mark.column + 1) if mark else None
    problem = exc.problem or "syntax error"
    detail = f"YAML syntax error: {problem}"
    if exc.context and exc.context_mark is not None:
        detail += (
            f" ({exc.context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        )
    elif exc.context:
        detail += f" ({exc.context})"
    return Diagnostic(detail, loc)


class _Builder:
    """Builds Python values from composed nodes, recording field locations as it goes."""

    def __init__(self, loader: yaml.SafeLoader, display_path: str, diagnostics: list[Diagnostic]) -> None:
        self.loader = loader
        self.path = display_path
        self.diagnostics = diagnostics
        self.locations: dict[str, SourceLocation] = {}
        self._active: set[int] = set()  # nodes being built: an alias to one of them is a cycle
        self._constructors = loader.yaml_constructors
        self._built: set[int] = set()  # nodes built once already: building one again expands an alias
        self._alias_nodes = 0
        self._in_alias = 0
        self._depth = 0

    def start_document(self, locations: dict[str, SourceLocation]) -> None:
        """Anchors, and the alias budget, are per document."""
        self.locations = locations
        self._built.clear()
        self._alias_nodes = 0
        self._in_alias = self._depth = 0

    def loc(self, node: Node) -> SourceLocation:
        mark = node.start_mark
        return SourceLocation(self.path, mark.line + 1, mark.column + 1)

    def error(self, node: Node, message: str) -> None:
        self.diagnostics.append(Diagnostic(message, self.loc(node)))

    def build(self, node: Node, path: str) -> Any:
        key = id(node)
        alias = key in self._built
        if alias or self._in_alias:
            self._count_alias_node(node)
        if isinstance(node, ScalarNode):
            self._built.add(key)
            return self.scalar(node)
        if key in self._active:
            self.error(node, "recursive YAML alias is not allowed")
            return None
        if self._depth >= MAX_DEPTH:
            raise _DocumentTooLarge(
                Diagnostic(
                    f"YAML nesting is deeper than {MAX_DEPTH} levels; a manifest needs only a few — "
                    "flatten the structure",
                    self.loc(node),
                )
            )
        self._active.add(key)
        self._depth += 1
        self._in_alias += alias
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
        finally:
            self._active.discard(key)
            self._built.add(key)
            self._depth -= 1
            self._in_alias -= alias
        self.error(node, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover
        return None

    def _count_alias_node(self, node: Node) -> None:
        self._alias_nodes += 1
        if self._alias_nodes > MAX_ALIAS_NODES:
            raise _DocumentTooLarge(
                Diagnostic(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?); "
                    "write the repeated values out, or anchor smaller parts",
                    self.loc(node),
                )
            )

    def scalar(self, node: ScalarNode) -> Any:
        constructor = self._constructors.get(node.tag)
        if constructor is None:
            self.error(node, f"unsupported YAML tag {node.tag!r}; use plain values")
            return node.value
        try:
            return constructor(self.loader, node)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            self.error(node, f"cannot read value {node.value!r}: {exc}")
            return node.value

    def sequence(self, node: SequenceNode, path: str) -> list[Any]:
        items = []
        for i, child in enumerate(node.value):
            child_path = f"{path}[{i}]"
            self.locations[child_path] = self.loc(child)
            items.append(self.build(child, child_path))
        return items

    def mapping(self, node: MappingNode, path: str) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        seen: dict[Any, Node] = {}
        merges: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append((key_node, value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, "mapping keys must be plain scalars")
                continue
            key = self.scalar(key_node)
            try:
                hash(key)
            except TypeError:  # pragma: no cover - scalars are hashable
                self.error(key_node, "mapping keys must be plain scalars")
                continue
            if key in seen:
                first = seen[key].start_mark
                self.error(
                    key_node,
                    f"duplicate key {key!r} (first defined at line {first.line + 1}, column {first.column + 1});"
                    " remove one of them",
                )
                continue
            seen[key] = key_node
            child_path = join_path(path, str(key))
            self.locations[child_path] = self.loc(key_node)
            result[key] = self.build(value_node, child_path)
        for merge_key, merge in merges:
            self._merge_into(result, merge_key, merge, path)
        return result

    def _merge_into(self, result: dict[Any, Any], merge_key: Node, merge: Node, path: str) -> None:
        """`<<: *anchor` — explicit keys win over merged ones, as in YAML 1.1."""
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.error(source, "a merge key (<<) needs a mapping or a list of mappings")
                continue
            if id(source) in self._active:
                self.error(merge_key, "a merge key (<<) merges a mapping into itself; remove this '<<' line")
                continue
            before = dict(self.locations)
            merged = self.build(source, path)
            # keys written explicitly keep their own locations
            self.locations.update({k: v for k, v in before.items()})
            for k, v in merged.items():
                result.setdefault(k, v)


def locate(resource: Resource, path: str) -> SourceLocation | None:
    """Where `path` of a loaded resource was written, or its nearest written ancestor."""
    if resource.location is None:
        return None
    return nearest_location(resource.field_locations, path, resource.location)
