"""Environment overlays: RFC 7386 JSON merge patches, keyed by kind and `metadata.name`.

Why patches and not value files: the shared manifests stay complete, valid documents (editors,
`validate -f shared` and the JSON Schemas keep working on them), an overlay says only what
differs, and there is no template language to learn. A patch document looks like the document it
changes, cut down to the fields it sets:

    kind: FineTune
    metadata: {name: money-rain}
    spec:
      hyper_parameters: {n_epochs: 400}   # mappings merge key by key
      validation_datasets: null           # null removes a field
                                          # anything else (lists too) replaces the value

`apiVersion` is optional; `kind` and `metadata.name` say which resource, and cannot be changed.
The merged document keeps positions: a field the patch wrote points at the patch, the rest at the
base. `explain()` then adds the other side to every diagnostic of a patched resource, so an error
names both files: `envs/prod/p.yaml:4:5: FineTune/x: spec.n_epochs: … (patch of shared/ft.yaml:9:5)`.

What it must not do: know about specs or providers; validation runs after patching, unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.loading.yaml_source import YamlDocument, YamlFile, join_path, nearest_location
from reconciler.models.diagnostics import Diagnostic, SourceLocation
from reconciler.models.kinds import API_VERSION, Kind

_KINDS = [k.value for k in Kind]
_PATCHABLE = ("apiVersion", "kind", "metadata", "spec", "lifecycle")


@dataclass
class Patch:
    file: str  # as shown in diagnostics
    directory: str  # real directory of the patch file (relative dataset sources resolve from it)
    doc: YamlDocument
    kind: str
    name: str
    used: bool = False

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class PatchSet:
    """Every patch of one environment, by address, plus what the merge learned (for `explain`)."""

    patches: dict[str, Patch] = field(default_factory=dict)
    applied: dict[str, tuple[SourceLocation, YamlDocument, Patch]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.patches)


def read_patches(files: Iterable[tuple[str, str, YamlFile | str]], out: list[Diagnostic]) -> PatchSet:
    """`(shown path, real path, parsed file or why unreadable)` for each patch file → a `PatchSet`."""
    result = PatchSet()
    for shown, real, parsed in files:
        if isinstance(parsed, str):
            out.append(Diagnostic(f"patch file: {parsed}", SourceLocation(shown, 1, 1)))
            continue
        out.extend(parsed.diagnostics)
        for doc in parsed.documents:
            if doc.data is None:
                continue
            patch = _read_patch(shown, os.path.dirname(real), doc, out)
            if patch is None:
                continue
            earlier = result.patches.get(patch.address)
            if earlier is not None:
                out.append(
                    Diagnostic(
                        f"patched twice in this environment (first at {earlier.doc.location}); "
                        "merge the two patches into one document",
                        doc.location,
                        patch.address,
                    )
                )
                continue
            result.patches[patch.address] = patch
    return result


def _read_patch(shown: str, directory: str, doc: YamlDocument, out: list[Diagnostic]) -> Patch | None:
    data = doc.data
    if not isinstance(data, dict):
        out.append(
            Diagnostic(
                "a patch document must be a mapping with kind, metadata.name and the fields it changes",
                doc.location,
            )
        )
        return None
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    address = f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"
    ok = True
    for key in data:
        if key not in _PATCHABLE:
            out.append(
                Diagnostic(
                    f"unknown top-level field {str(key)!r} in a patch; allowed: {', '.join(_PATCHABLE)}",
                    doc.location_of(str(key)),
                    address,
                    str(key),
                )
            )
            ok = False
    if data.get("apiVersion") not in (None, API_VERSION):
        out.append(
            Diagnostic(
                f"must be {API_VERSION} (got {data['apiVersion']!r})",
                doc.location_of("apiVersion"),
                address,
                "apiVersion",
            )
        )
        ok = False
    if kind not in _KINDS:
        message = "missing: a patch names the kind it changes" if kind is None else f"unknown kind {kind!r}"
        out.append(
            Diagnostic(f"{message}; one of: {', '.join(_KINDS)}", doc.location_of("kind"), address, "kind")
        )
        ok = False
    if not isinstance(name, str) or not name:
        out.append(
            Diagnostic(
                "missing: a patch names the resource it changes (metadata.name)",
                doc.location_of("metadata.name"),
                address,
                "metadata.name",
            )
        )
        ok = False
    if not ok:
        return None
    return Patch(shown, directory, doc, str(kind), str(name))


def patch_document(base_file: str, base_dir: str, doc: YamlDocument, patches: PatchSet) -> YamlDocument:
    """The document with its patch merged in (or unchanged). Never mutates `doc` (it may be cached)."""
    data = doc.data
    if not isinstance(data, dict) or not patches:
        return doc
    meta = data.get("metadata")
    address = f"{data.get('kind')}/{meta.get('name') if isinstance(meta, dict) else None}"
    patch = patches.patches.get(address)
    if patch is None or patch.used:
        return doc  # a duplicate base document is reported by the loader; patch the first only
    patch.used = True
    locations = dict(doc.locations.items())
    merged = dict(data)
    body = {k: v for k, v in patch.doc.data.items() if k not in ("apiVersion", "kind")}
    meta_patch = body.get("metadata")
    if isinstance(meta_patch, dict):
        body["metadata"] = {k: v for k, v in meta_patch.items() if k != "name"}
    _merge_into(merged, body, "", locations, patch.doc.locations)
    _rebase_source(merged, patch, base_dir)
    patched = YamlDocument(doc.index, merged, doc.location, locations)
    patches.applied[address] = (doc.location, doc, patch)
    return patched


def _merge_into(
    target: dict[str, Any],
    patch: Mapping[str, Any],
    prefix: str,
    locations: dict[str, SourceLocation],
    patch_locations: Mapping[str, SourceLocation],
) -> None:
    for key, value in patch.items():
        path = join_path(prefix, str(key))
        if value is None:
            target.pop(key, None)
            _drop(locations, path)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            inner = dict(target[key])
            _merge_into(inner, value, path, locations, patch_locations)
            target[key] = inner
        else:
            _drop(locations, path)
            target[key] = clean = _without_nulls(value)
            for p in _paths_in(clean, path):  # the nulls dropped from `clean` keep no position
                loc = patch_locations.get(p)
                if loc is not None:
                    locations[p] = loc


def _without_nulls(value: Any) -> Any:
    """RFC 7386: a null inside a mapping that replaces a non-mapping is dropped, not kept."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _paths_in(value: Any, path: str) -> Iterable[str]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths_in(v, join_path(path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths_in(v, f"{path}[{i}]")


def _drop(locations: dict[str, SourceLocation], path: str) -> None:
    for p in [p for p in locations if p == path or p.startswith(path + ".") or p.startswith(path + "[")]:
        del locations[p]


def _rebase_source(merged: dict[str, Any], patch: Patch, base_dir: str) -> None:
    """A dataset `source` written in a patch is relative to the patch file, like every other path in it."""
    spec = patch.doc.data.get("spec")
    source = spec.get("source") if isinstance(spec, dict) else None
    target = merged.get("spec")
    if not isinstance(source, str) or not source or "://" in source or not isinstance(target, dict):
        return
    if not os.path.isabs(source):
        target["source"] = os.path.relpath(os.path.join(patch.directory, source), base_dir)


def unused(patches: PatchSet, base_paths: list[str], declared: Iterable[tuple[str, str]]) -> list[Diagnostic]:
    """A patch whose resource the base manifests do not declare is an error (a typo must not pass)."""
    names: dict[str, list[str]] = {}
    for kind, name in declared:
        names.setdefault(kind, []).append(name)
    out = []
    for patch in patches.patches.values():
        if patch.used:
            continue
        same_kind = sorted(names.get(patch.kind, []))
        known = (
            f"declared {patch.kind}s: {', '.join(same_kind)}" if same_kind else f"no {patch.kind} is declared"
        )
        import difflib

        close = difflib.get_close_matches(patch.name, same_kind, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        out.append(
            Diagnostic(
                f"this patch targets a resource the manifests ({', '.join(base_paths)}) do not declare{hint}; "
                f"{known}",
                patch.doc.location_of("metadata.name"),
                patch.address,
                "metadata.name",
            )
        )
    return out


def explain(diagnostics: list[Diagnostic], patches: PatchSet) -> list[Diagnostic]:
    """Every diagnostic of a patched resource names the other file too (base ↔ patch)."""
    if not patches.applied:
        return diagnostics
    out = []
    for d in diagnostics:
        hit = patches.applied.get(d.address or "")
        if hit is None or d.location is None:
            out.append(d)
            continue
        base_start, base_doc, patch = hit
        if d.location.file == patch.file:
            base = nearest_location(base_doc.locations, d.field or "", base_start)
            note = f"patch of {base}"
        elif _touches(patch, d.field):
            note = f"after the patch at {patch.doc.location}"
        else:
            out.append(d)  # a base error the patch has nothing to do with reads as it does without it
            continue
        out.append(replace(d, message=f"{d.message} ({note})"))
    return out


def _touches(patch: Patch, field: str | None) -> bool:
    """Whether the patch wrote `field`, something inside it, or something that contains it."""
    if not field:
        return False
    for path in patch.doc.locations:
        if not path or path in ("kind", "apiVersion") or path.startswith("metadata.name"):
            continue
        if path == field or _inside(path, field) or _inside(field, path):
            return True
    return False


def _inside(path: str, parent: str) -> bool:
    return path.startswith(parent + ".") or path.startswith(parent + "[")


__all__ = ["Patch", "PatchSet", "explain", "patch_document", "read_patches", "unused"]
