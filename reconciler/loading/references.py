"""Rules across documents: duplicate names, references, provider consistency and cycles.

Why this exists: a single document can be valid while the set is not — a FineTune naming a
Dataset nobody declared, two Deployments called the same, a Deployment whose FineTune lives on
another account. Every problem is reported at the field that causes it, saying what exists.
"""

from __future__ import annotations

from reconciler.loading.documents import Document, did_you_mean
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.specs import ResourceSpec


def drop_duplicates(documents: list[Document], out: list[Diagnostic]) -> list[Document]:
    """The first definition of each Kind/name wins; every repeat is reported at both places."""
    first: dict[tuple[Kind, str], Document] = {}
    kept: list[Document] = []
    for doc in documents:
        key = (doc.kind, doc.name)
        if key not in first:
            first[key] = doc
            kept.append(doc)
            continue
        original = first[key]
        here, there = doc.loc("metadata.name"), original.loc("metadata.name")
        out.append(
            original.diagnostic(
                "metadata.name", f"{doc.kind.value} '{doc.name}' is defined more than once (again at {here})"
            )
        )
        out.append(
            doc.diagnostic(
                "metadata.name",
                f"{doc.kind.value} '{doc.name}' is already defined at {there}; names are unique within a kind",
            )
        )
    return kept


Reference = tuple[str, Kind, str]  # (field path, kind, name) as written


def raw_references(doc: Document, model: type[ResourceSpec]) -> list[Reference]:
    """(field path, kind, name) for each reference written in the document, valid spec or not."""
    spec = doc.spec or {}
    found: list[Reference] = []
    for field_name, kind in model.REFERENCES.items():
        value = spec.get(field_name)
        if isinstance(value, str):
            found.append((f"spec.{field_name}", kind, value))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    found.append((f"spec.{field_name}[{i}]", kind, item))
    return found


def check_references(
    typed: list[tuple[Document, list[Reference]]],
    declared: dict[tuple[Kind, str], Document],
    out: list[Diagnostic],
) -> None:
    """Dangling references, references to the wrong kind, and references across providers.

    Works on the written data (`raw_references`), so a resource with an invalid field still has
    its references checked.
    """
    names_by_kind: dict[Kind, list[str]] = {}
    for kind, name in declared:
        names_by_kind.setdefault(kind, []).append(name)
    for doc, references in typed:
        provider = doc.provider
        for path, kind, name in references:
            target = declared.get((kind, name))
            if target is None:
                out.append(doc.diagnostic(path, _missing(kind, name, names_by_kind)))
                continue
            target_provider = target.provider
            if isinstance(target_provider, str) and target_provider != provider:
                out.append(
                    doc.diagnostic(
                        path,
                        f"{kind.value} '{name}' uses provider '{target_provider}', but this "
                        f"{doc.kind.value} uses '{provider}'; resources that depend on each "
                        "other must use the same provider",
                    )
                )


def _missing(kind: Kind, name: str, names_by_kind: dict[Kind, list[str]]) -> str:
    others = [k.value for k, names in names_by_kind.items() if k is not kind and name in names]
    if others:
        return f"'{name}' is a {others[0]}, but this field takes a {kind.value}"
    existing = sorted(names_by_kind.get(kind, []))
    if not existing:
        return f"{kind.value} '{name}' not found; no {kind.value} is defined"
    return f"{kind.value} '{name}' not found{did_you_mean(name, existing)}; defined: {', '.join(existing)}"


def check_cycles(typed: list[tuple[Document, list[Reference]]], out: list[Diagnostic]) -> None:
    """Report each dependency cycle once, at its alphabetically first member."""
    docs = {doc.address: doc for doc, _ in typed}
    graph: dict[str, list[str]] = {}
    for doc, references in typed:
        edges = []
        for _, k, n in references:
            target = f"{k}/{n}"  # a StrEnum formats as its value (no `.value` property call)
            if target in docs:
                edges.append(target)
        graph[doc.address] = edges
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    for node in sorted(graph):
        if node not in state:
            _visit(node, graph, state, stack, docs, out)


def _visit(
    node: str,
    graph: dict[str, list[str]],
    state: dict[str, int],
    stack: list[str],
    docs: dict[str, Document],
    out: list[Diagnostic],
) -> None:
    # a module function, not a closure: a recursive closure refers to itself (a reference cycle
    # that keeps every document alive until the cyclic collector runs, and it is paused)
    state[node] = 1
    stack.append(node)
    for dep in graph[node]:
        if state.get(dep) == 1:
            cycle = stack[stack.index(dep) :]
            start = min(cycle)
            i = cycle.index(start)
            ordered = [*cycle[i:], *cycle[:i], start]
            out.append(
                docs[start].diagnostic(
                    "", f"dependency cycle: {' → '.join(ordered)}; remove one of these references"
                )
            )
        elif dep not in state:
            _visit(dep, graph, state, stack, docs, out)
    stack.pop()
    state[node] = 2
