"""The YAML parser behind `yaml_source.parse_yaml`: libyaml's events → values and positions.

See `yaml_source` for what it does and why (one loop over the C parser's events, positions
packed per field path, hostile input bounded). It is its own module so that PyYAML is imported
only when a file is really parsed, not for a plan served from the parse cache; the parse
cache's fingerprint stats this file too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from sys import intern
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from reconciler.loading.yaml_source import (
    _SHIFT,
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    Positions,
    YamlDocument,
    YamlFile,
    join_path,
)
from reconciler.models.diagnostics import Diagnostic, SourceLocation

YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVERS: dict[Any, list[tuple[str, Any]]] = YamlLoader.yaml_implicit_resolvers
_WILDCARD = _RESOLVERS.get(None, [])
_CONSTRUCTORS = YamlLoader.yaml_constructors


def _pack(mark: Any) -> int:
    return int(((mark.line + 1) << _SHIFT) | (mark.column + 1))


def parse(text: str | bytes, display_path: str) -> YamlFile:
    """Parse every document in `text` once; syntax errors and duplicate keys become diagnostics.

    Documents before a syntax error are kept (their own errors are still worth reporting); the
    rest of the file is not readable and is dropped.
    """
    result = YamlFile(path=display_path)
    loader = YamlLoader(text)
    try:
        loader.get_event()  # StreamStartEvent
        index = 0
        while not loader.check_event(StreamEndEvent):
            start = loader.get_event()
            if not isinstance(start, DocumentStartEvent):  # pragma: no cover - the parser guarantees it
                raise ComposerError(None, None, "expected a document", start.start_mark)
            builder = _Builder(loader, display_path, result.diagnostics)
            doc = builder.document(index)
            loader.get_event()  # DocumentEndEvent
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


class _Abandon(Exception):
    """The document is unusable (an alias bomb, too deep): its one diagnostic, the rest skipped."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


@dataclass
class _Anchor:
    value: Any = None
    nodes: int = 0  # nodes in the anchored subtree, expansions of inner aliases included
    positions: list[tuple[str, int]] = field(default_factory=list)  # (path relative to the anchor, packed)
    done: bool = False


_WANT_KEY, _WANT_VALUE, _SKIP_KEY, _SKIP_VALUE = range(4)


class _Frame:
    """A mapping or sequence being built, a `<<:` list of merge sources, or a subtree being skipped."""

    __slots__ = (
        "kind",
        "value",
        "path",
        "state",
        "key",
        "key_pos",
        "seen",
        "merges",
        "merge_src",
        "anchor",
        "anchor_nodes",
        "anchor_at",
        "index",
    )

    def __init__(self, kind: str, value: Any, path: str, merge_src: bool = False) -> None:
        self.kind = kind  # "map" | "seq" | "merge" | "skip"
        self.value = value
        self.path = path
        self.state = _WANT_KEY
        self.key: Any = None
        self.key_pos = 0
        self.seen: dict[Any, int] = {}  # mapping keys -> packed position of their first definition
        self.merges: list[tuple[int, Any]] = []  # (position of the `<<` key, merged value)
        self.merge_src = merge_src  # inside a merged mapping: explicit keys keep their own positions
        self.anchor: str | None = None
        self.anchor_nodes = 0
        self.anchor_at = 0
        self.index = 0  # next sequence index; for "skip", the nesting depth left


class _MergeKey:
    """The key `<<`."""


_MERGE_KEY = _MergeKey()
_SELF_MERGE = object()  # an alias that merged a mapping into itself (already reported)


class _MergeSources(list[Any]):
    """The value of `<<: [*a, *b]`."""


class _Builder:
    """Builds one document's values from parser events, recording packed positions as it goes."""

    def __init__(self, loader: yaml.SafeLoader, display_path: str, diagnostics: list[Diagnostic]) -> None:
        self.loader = loader
        self.path = display_path
        self.diagnostics = diagnostics
        self.packed: dict[str, int] = {}
        self.log: list[tuple[str, int]] = []  # (path, position) as recorded while an anchor is open
        self.open_anchors = 0
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0
        self.alias_nodes = 0

    def loc(self, pos: int) -> SourceLocation:
        return SourceLocation(self.path, pos >> _SHIFT, pos & ((1 << _SHIFT) - 1))

    def error(self, pos: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(message, self.loc(pos)))

    def document(self, index: int) -> YamlDocument:
        first = self.loader.peek_event()
        doc = YamlDocument(index=index, data=None, location=self.loc(_pack(first.start_mark)))
        try:
            doc.data = self.build()
            doc.locations = Positions(self.path, self.packed)
        except _Abandon as exc:
            self.diagnostics.append(exc.diagnostic)
            get, check = self.loader.get_event, self.loader.check_event
            while not check(DocumentEndEvent):
                get()
        return doc

    def record(self, frame: _Frame, path: str, pos: int) -> None:
        if frame.merge_src and path in self.packed:
            return
        self.packed[path] = pos
        if self.open_anchors:
            self.log.append((path, pos))

    # -- the loop ----------------------------------------------------------------------------------

    def build(self) -> Any:  # noqa: C901 - one flat loop over events, for speed
        get = self.loader.get_event
        packed = self.packed
        resolvers = _RESOLVERS
        stack: list[_Frame] = []
        top: _Frame | None = None
        while True:
            ev = get()
            cls = type(ev)
            top = stack[-1] if stack else None
            # fast path (most events): an untagged, unanchored string key or value in a mapping
            if (
                cls is ScalarEvent
                and top is not None
                and top.kind == "map"
                and ev.tag is None
                and ev.anchor is None
                and not top.merge_src
                and not self.open_anchors
            ):
                value = ev.value
                if not ev.implicit[0] or (value and value[0] not in resolvers):
                    state = top.state
                    if state == _WANT_VALUE and top.key is not _MERGE_KEY:
                        self.nodes += 1
                        top.value[top.key] = intern(value)
                        top.state = _WANT_KEY
                        continue
                    if state == _WANT_KEY and value not in top.seen:
                        self.nodes += 1
                        value = intern(value)
                        mark = ev.start_mark
                        pos = ((mark.line + 1) << _SHIFT) | (mark.column + 1)
                        top.seen[value] = pos
                        top.key = value
                        top.state = _WANT_VALUE
                        packed[f"{top.path}.{value}" if top.path else value] = pos
                        continue
            if top is not None and top.kind == "skip":
                if cls is MappingStartEvent or cls is SequenceStartEvent:
                    top.index += 1
                elif cls is MappingEndEvent or cls is SequenceEndEvent:
                    top.index -= 1
                    if top.index == 0:
                        stack.pop()
                        parent = stack[-1]
                        parent.state = _SKIP_VALUE if parent.state == _SKIP_KEY else _WANT_KEY
                continue
            if cls is ScalarEvent or cls is AliasEvent:
                pos = _pack(ev.start_mark)
                if top is not None and top.kind == "map" and top.state != _WANT_VALUE:
                    if top.state == _SKIP_VALUE:
                        top.state = _WANT_KEY
                    elif cls is ScalarEvent:
                        self.nodes += 1
                        self._key(top, self._scalar(ev, pos, key=True), pos)
                    else:
                        self._key(top, self._alias(ev, pos, None), pos)
                    continue
                if cls is ScalarEvent:
                    self.nodes += 1
                    value = self._scalar(ev, pos)
                    if ev.anchor is not None:
                        self.anchors[ev.anchor] = _Anchor(value, 1, [], True)
                else:
                    value = self._alias(ev, pos, top)
                if top is not None and top.kind == "seq":
                    self.record(top, f"{top.path}[{top.index}]", pos)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                pos = _pack(ev.start_mark)
                if top is not None and top.kind == "map" and top.state != _WANT_VALUE:
                    if top.state == _WANT_KEY:
                        self.error(pos, "mapping keys must be plain scalars")
                        top.state = _SKIP_KEY
                    skip = _Frame("skip", None, "")
                    skip.index = 1
                    stack.append(skip)
                    continue
                if len(stack) >= MAX_DEPTH:
                    raise _Abandon(
                        Diagnostic(
                            f"YAML nesting is deeper than {MAX_DEPTH} levels; a manifest needs only a few — "
                            "flatten the structure",
                            self.loc(pos),
                        )
                    )
                self.nodes += 1
                frame = self._open(cls is MappingStartEvent, top, pos)
                if ev.anchor is not None:
                    frame.anchor, frame.anchor_nodes, frame.anchor_at = (
                        ev.anchor,
                        self.nodes - 1,
                        len(self.log),
                    )
                    self.anchors[ev.anchor] = _Anchor()
                    self.open_anchors += 1
                stack.append(frame)
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                value = self._close(stack.pop())
                top = stack[-1] if stack else None
            else:  # pragma: no cover - stream and document events cannot appear inside a document
                raise ComposerError(None, None, f"unexpected {cls.__name__}", ev.start_mark)
            # deliver the finished value to its parent
            if top is None:
                return value
            if top.kind == "map":
                if top.key is _MERGE_KEY:
                    top.merges.append((top.key_pos, value))
                else:
                    top.value[top.key] = value
                top.state = _WANT_KEY
            else:
                top.value.append(value)
                top.index += 1

    # -- pieces ------------------------------------------------------------------------------------

    def _open(self, mapping: bool, top: _Frame | None, pos: int) -> _Frame:
        """A new mapping or sequence under `top`, its position recorded where it is an item."""
        merge_src = top is not None and top.merge_src
        if top is None:
            path = ""
        elif top.kind == "map":
            if top.key is _MERGE_KEY:  # `<<: {...}` or `<<: [...]`: merged into the parent mapping
                if mapping:
                    return _Frame("map", {}, top.path, merge_src=True)
                frame = _Frame("merge", _MergeSources(), top.path, merge_src=True)
                frame.key_pos = top.key_pos
                return frame
            path = join_path(top.path, str(top.key))
        elif top.kind == "merge":
            return _Frame("map" if mapping else "seq", {} if mapping else [], top.path, merge_src=True)
        else:
            path = f"{top.path}[{top.index}]"
            self.record(top, path, pos)
        return _Frame("map" if mapping else "seq", {} if mapping else [], path, merge_src)

    def _key(self, top: _Frame, key: Any, pos: int) -> None:
        top.key_pos = pos
        if key is _MERGE_KEY:
            top.key, top.state = _MERGE_KEY, _WANT_VALUE
            return
        try:
            hash(key)
        except TypeError:
            self.error(pos, "mapping keys must be plain scalars")
            top.state = _SKIP_VALUE
            return
        first = top.seen.get(key)
        if first is not None:
            self.error(
                pos,
                f"duplicate key {key!r} (first defined at line {first >> _SHIFT}, column "
                f"{first & ((1 << _SHIFT) - 1)}); remove one of them",
            )
            top.state = _SKIP_VALUE
            return
        top.seen[key] = pos
        top.key, top.state = key, _WANT_VALUE
        self.record(top, join_path(top.path, str(key)), pos)

    def _scalar(self, ev: Any, pos: int, *, key: bool = False) -> Any:
        value = ev.value
        tag = ev.tag
        if tag is None or tag == "!":
            if not ev.implicit[0]:
                return intern(value)  # quoted: a string
            tag = _STR
            for candidate, regexp in _RESOLVERS.get(value[0] if value else "", []) + _WILDCARD:
                if regexp.match(value):
                    tag = candidate
                    break
            if tag == _STR:
                return intern(value)
            if tag == _NULL:
                return None
            if tag == _MERGE:
                return _MERGE_KEY if key else value
        elif tag == _STR:
            return intern(value)
        constructor = _CONSTRUCTORS.get(tag)
        if constructor is None:
            self.error(pos, f"unsupported YAML tag {tag!r}; use plain values")
            return value
        try:
            return constructor(self.loader, ScalarNode(tag, value, ev.start_mark, ev.end_mark))
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            self.error(pos, f"cannot read value {value!r}: {exc}")
            return value

    def _alias(self, ev: Any, pos: int, top: _Frame | None) -> Any:
        anchor = self.anchors.get(ev.anchor)
        if anchor is None:
            raise ComposerError(None, None, f"found undefined alias {ev.anchor!r}", ev.start_mark)
        merging = top is not None and (top.kind == "merge" or (top.kind == "map" and top.key is _MERGE_KEY))
        if not anchor.done:
            if merging and top is not None:
                self.error(
                    top.key_pos, "a merge key (<<) merges a mapping into itself; remove this '<<' line"
                )
                return _SELF_MERGE
            self.error(pos, "recursive YAML alias is not allowed")
            return None
        self.alias_nodes += anchor.nodes
        self.nodes += anchor.nodes
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise _Abandon(
                Diagnostic(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?); "
                    "write the repeated values out, or anchor smaller parts",
                    self.loc(pos),
                )
            )
        if top is None or not anchor.positions:
            return anchor.value
        # the anchored fields are written (for diagnostics) where the anchor defined them
        if merging:
            base, explicit_wins = top.path, True
        elif top.kind == "seq":
            base, explicit_wins = f"{top.path}[{top.index}]", top.merge_src
        else:
            base, explicit_wins = join_path(top.path, str(top.key)), top.merge_src
        packed, log, logging = self.packed, self.log, self.open_anchors
        for suffix, p in anchor.positions:
            child = base + suffix if base or not suffix.startswith(".") else suffix[1:]
            if explicit_wins and child in packed:
                continue
            packed[child] = p
            if logging:
                log.append((child, p))
        return anchor.value

    def _close(self, frame: _Frame) -> Any:
        value = frame.value
        for merge_pos, source in frame.merges:
            self._merge_into(value, merge_pos, source)
        if frame.anchor is not None:
            self.open_anchors -= 1
            prefix = len(frame.path)
            self.anchors[frame.anchor] = _Anchor(
                list(value) if frame.kind == "merge" else value,
                self.nodes - frame.anchor_nodes,
                [(path[prefix:], p) for path, p in self.log[frame.anchor_at :]],
                True,
            )
        return value

    def _merge_into(self, result: dict[Any, Any], merge_pos: int, source: Any) -> None:
        """`<<: *anchor` — explicit keys win over merged ones, earlier merged ones over later (YAML 1.1)."""
        for item in source if isinstance(source, _MergeSources) else [source]:
            if item is _SELF_MERGE:
                continue
            if not isinstance(item, dict):
                self.error(merge_pos, "a merge key (<<) needs a mapping or a list of mappings")
                continue
            for k, v in item.items():
                if k not in result:
                    result[k] = v
