"""Manifest files and directories → a validated `ManifestSet` plus every diagnostic.

Order of work: discover files (recursive `*.yaml`/`*.yml`, sorted, skipping hidden folders,
`.reconciler/` and dataset folders: `discovering.py`), parsing each once as it is found; check
envelopes, drop duplicate names, validate Providers, then
every other kind against its provider's spec model, then references, cycles and local datasets.
A run reports all errors; nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.datasets import ContentCache
from reconciler.loading.checkpoint_checks import check_checkpoints
from reconciler.loading.dataset_checks import check_datasets
from reconciler.loading.discovering import (
    MANIFEST_SUFFIXES,
    ManifestFile,
    ManifestWalk,
    NearMiss,
    normalized_source,
)
from reconciler.loading.documents import (
    Document,
    did_you_mean,
    provider_type_of,
    read_envelope,
    serving_error,
    validate_spec,
)
from reconciler.loading.errors import ManifestError
from reconciler.loading.load_memo import Derived, Draft, FileKey, LoadMemo, dataset_digests, load_context
from reconciler.loading.parse_cache import ParseCache
from reconciler.loading.paths import display_path
from reconciler.loading.references import (
    Reference,
    check_cycles,
    check_references,
    drop_duplicates,
    raw_references,
)
from reconciler.loading.sample_checks import check_samples
from reconciler.loading.spec_registry import installed_specs
from reconciler.loading.yaml_source import YamlFile, parse_yaml
from reconciler.models.diagnostics import Diagnostic, Diagnostics, SourceLocation
from reconciler.models.kinds import Kind
from reconciler.models.registry import SpecRegistry
from reconciler.models.resources import ManifestSet, ProviderConfig, Resource
from reconciler.models.specs import ResourceSpec

if TYPE_CHECKING:
    from reconciler.loading.patching import PatchSet

STATE_DIR = ".reconciler"
# Kind members' `.value` is a Python-level property: read once, not per document
_DATASET = Kind.DATASET.value
__all__ = [
    "MANIFEST_SUFFIXES",
    "STATE_DIR",
    "LoadResult",
    "discover",
    "in_source_order",
    "load",
    "load_manifests",
]


@dataclass
class LoadResult:
    manifests: ManifestSet
    diagnostics: Diagnostics
    near_misses: list[NearMiss] = field(default_factory=list)  # files not read that look like manifests
    # a full load with a memo: what `LoadMemo.save` keeps once the caller has the load it wanted
    draft: Draft | None = None
    # a load from a memo: its dependency order and spec hashes, still valid for these datasets
    derived: Derived | None = None

    @property
    def ok(self) -> bool:
        return not self.diagnostics.has_errors()


def load(
    paths: Iterable[str | Path],
    *,
    check_data: bool = True,
    cwd: str | Path | None = None,
    content_cache: ContentCache | None = None,
    parse_cache: ParseCache | None = None,
    specs: SpecRegistry | None = None,
    patches: Iterable[str | Path] = (),
    memo: LoadMemo | None = None,
) -> LoadResult:
    """Load and validate; never raises for anything a user can cause.

    `specs`: the spec models to validate against; by default those of the installed provider
    plugins (`spec_registry.installed_specs`).
    `patches`: an environment's merge-patch files (`patching.py`), merged into the documents
    they name before anything is validated.

    `content_cache` lets unchanged datasets be only stat'ed, `parse_cache` unchanged files be
    not parsed again; what they learned is saved by the caller (their `save()`), so a load
    itself writes nothing anywhere. With a `memo` (`load_memo.py`) whose inputs are this load's,
    nothing is parsed or validated: its resources are used, and only the dataset checks run.
    """
    here = Path(cwd) if cwd is not None else Path.cwd()
    out: list[Diagnostic] = []
    path_list = [Path(p) for p in paths]
    patch_list = [Path(p) for p in patches]
    walk = ManifestWalk(path_list, str(here), out)
    context = load_context(path_list, patch_list, str(here), check_data) if memo is not None else ""
    # real path -> parsed file, its bytes not yet parsed (the memo knows them), or why it could not be read
    parsed: dict[str, YamlFile | _Unparsed | str] = {}
    shas: dict[str, bytes] = {}
    sources: dict[bytes, tuple[str, ...]] = {}  # file sha256 -> its Datasets' raw sources (for a memo)
    for found in walk:  # each file is parsed as it is found, so the walk can skip dataset folders
        try:
            text = read_bytes(found.real)
        except OSError as exc:
            parsed[found.real] = f"cannot read file: {exc.strerror or exc}"
            continue
        sha = hashlib.sha256(text).digest()
        shas[found.real] = sha
        raw = memo.sources_of(context, sha) if memo is not None else None
        if raw is None:
            parsed_file = _parse(text, found.shown, sha, parse_cache)
            parsed[found.real] = parsed_file
            raw = _raw_sources(parsed_file)
        else:  # the memo's file with these bytes: parsed only if the memo turns out not to match
            parsed[found.real] = _Unparsed(text, sha, found.shown)
        sources[sha] = raw
        base_dir = os.path.dirname(found.real)
        walk.declare(found, [normalized_source(base_dir, s) for s in raw])
    files = walk.files()
    walked = len(out)  # the walk's own diagnostics are this run's, memo or not
    file_keys = _file_keys(files, shas, patch_list, walk) if memo is not None else None
    restored = memo.restore(context, file_keys) if memo is not None and file_keys is not None else None
    if restored is not None:
        return _finish(
            restored.manifests,
            out + restored.later,
            restored.base_dirs,
            restored.patch_set,
            walk,
            here,
            check_data,
            content_cache,
            None,
            restored.derived,
        )
    ready: dict[str, YamlFile | str] = {
        real: _parse(read.text, read.shown, read.sha, parse_cache) if isinstance(read, _Unparsed) else read
        for real, read in parsed.items()
    }
    del parsed
    manifests = ManifestSet(root=_root(path_list, here), files=[f.shown for f in files])
    patch_set = _read_patch_files(patch_list, walk, ready, parse_cache, out)
    if patch_set:  # an environment's patches: only then is their module imported
        from reconciler.loading.patching import patch_document, unused

    documents: list[Document] = []
    base_dirs: dict[str, str] = {}
    for file in files:
        read = ready[file.real]
        if isinstance(read, str):
            out.append(Diagnostic(read, SourceLocation(file.shown, 1, 1)))
            continue
        yaml_file = read
        out.extend(yaml_file.diagnostics)
        base_dir = os.path.dirname(file.real)
        for written in yaml_file.documents:
            if written.data is None:
                continue
            doc = patch_document(file.shown, base_dir, written, patch_set) if patch_set else written
            document = read_envelope(file.shown, doc, out)
            # the envelope is read: only the spec (on the Document, until it is validated) is needed
            # of the raw data, so the rest can go before the specs are built (a lower peak)
            written.data = doc.data = None
            if document is not None:
                documents.append(document)
                base_dirs.setdefault(document.address, base_dir)

    documents = drop_duplicates(documents, out)
    declared = {(d.kind, d.name): d for d in documents}
    if patch_set:
        out.extend(
            unused(patch_set, [display_path(p, here) for p in path_list], [(k.value, n) for k, n in declared])
        )
    registry = specs if specs is not None else installed_specs()
    provider_types = _load_providers(documents, registry, manifests, out)
    typed = _load_resources(documents, registry, provider_types, manifests, out)
    check_references(typed, declared, out)
    check_cycles(typed, out)
    check_samples(manifests, out)
    draft = (
        Draft(context, file_keys, sources, out[walked:], base_dirs, patch_set)
        if memo is not None and file_keys is not None
        else None
    )
    return _finish(manifests, out, base_dirs, patch_set, walk, here, check_data, content_cache, draft, None)


def _finish(
    manifests: ManifestSet,
    out: list[Diagnostic],
    base_dirs: dict[str, str],
    patch_set: PatchSet | None,
    walk: ManifestWalk,
    here: Path,
    check_data: bool,
    content_cache: ContentCache | None,
    draft: Draft | None,
    derived: Derived | None,
) -> LoadResult:
    """What every load does last, from its memo or not: the dataset checks, then the patches' notes."""
    if check_data:
        check_datasets(manifests, base_dirs, out, here, content_cache)
        check_checkpoints(manifests, out)
    if derived is not None and derived.digests != dataset_digests(manifests):
        derived = None  # the spec hashes were of other dataset contents
    diagnostics = Diagnostics()
    if patch_set:
        from reconciler.loading.patching import explain

        diagnostics.extend(explain(out, patch_set))
    else:
        diagnostics.extend(out)
    return LoadResult(manifests, diagnostics, walk.near_misses(), draft=draft, derived=derived)


@dataclass
class _Unparsed:
    text: bytes
    sha: bytes
    shown: str


def _parse(text: bytes, shown: str, sha: bytes, parse_cache: ParseCache | None) -> YamlFile:
    return parse_cache.parse(text, shown, key=sha) if parse_cache is not None else parse_yaml(text, shown)


def _file_keys(
    files: list[ManifestFile], shas: dict[str, bytes], patches: list[Path], walk: ManifestWalk
) -> tuple[FileKey, ...] | None:
    """Every file the load reads, by resolved path, displayed path and content; None if one cannot be read."""
    keys: list[FileKey] = []
    for file in files:
        sha = shas.get(file.real)
        if sha is None:
            return None
        keys.append((file.real, file.shown, sha))
    for path in patches:
        real = os.path.realpath(path)
        try:
            text = read_bytes(real)
        except OSError:
            return None
        keys.append((real, walk.shown(real), hashlib.sha256(text).digest()))
    return tuple(keys)


def _read_patch_files(
    paths: list[Path],
    walk: ManifestWalk,
    manifests: dict[str, YamlFile | str],
    parse_cache: ParseCache | None,
    out: list[Diagnostic],
) -> PatchSet | None:
    """Parse an environment's patch files; one that is also read as a manifest is an error.

    None without patch files (no environment): the patching module is then not imported.
    """
    if not paths:
        return None
    from reconciler.loading.patching import read_patches

    files: list[tuple[str, str, YamlFile | str]] = []
    for path in paths:
        real = os.path.realpath(path)
        shown = walk.shown(real)
        if real in manifests:
            out.append(
                Diagnostic(
                    "this patch file is also read as a manifest (it is inside a manifest path); move it "
                    "out of the manifest directories (e.g. envs/<env>/patches.yaml), or list narrower "
                    "manifest paths in reconciler.yaml",
                    SourceLocation(shown, 1, 1),
                )
            )
            continue
        try:
            text = read_bytes(real)
        except OSError as exc:
            files.append((shown, real, f"cannot read file: {exc.strerror or exc}"))
            continue
        parsed = parse_cache.parse(text, shown) if parse_cache is not None else parse_yaml(text, shown)
        files.append((shown, real, parsed))
    return read_patches(files, out)


def read_bytes(path: str) -> bytes:
    """A whole file, in four system calls (open, fstat, read, close) instead of the nine of
    `open(path, "rb").read()` (which also asks isatty and seeks): a load reads every manifest."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) == size:  # all of it (the one extra byte asked for was not there)
            return data
        chunks = [data]  # it changed size since fstat, or a short read: read on to its end
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _raw_sources(parsed: YamlFile) -> tuple[str, ...]:
    """The folders a file's Dataset documents name as `source`, as written (read from the raw data,
    pre-validation); `normalized_source` makes each one a path against the file's folder."""
    sources = []
    for doc in parsed.documents:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == _DATASET:
            spec = data.get("spec")
            source = spec.get("source") if isinstance(spec, dict) else None
            if isinstance(source, str) and source:
                sources.append(source)
    return tuple(sources)


def load_manifests(
    paths: Iterable[str | Path],
    *,
    check_data: bool = True,
    cwd: str | Path | None = None,
    content_cache: ContentCache | None = None,
    parse_cache: ParseCache | None = None,
    specs: SpecRegistry | None = None,
    patches: Iterable[str | Path] = (),
) -> ManifestSet:
    """Like `load`, but raises `ManifestError` when there is any error (warnings are kept on it)."""
    result = load(
        paths,
        check_data=check_data,
        cwd=cwd,
        content_cache=content_cache,
        parse_cache=parse_cache,
        specs=specs,
        patches=patches,
    )
    if not result.ok:
        raise ManifestError(result.diagnostics)
    return result.manifests


def in_source_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """By file, line and column; diagnostics without a place first; ties keep the order found."""

    def key(d: Diagnostic) -> tuple[int, str, int, int]:
        loc = d.location
        return (1, loc.file, loc.line, loc.column) if loc else (0, "", 0, 0)

    return sorted(diagnostics, key=key)


def discover(paths: list[Path], out: list[Diagnostic]) -> list[Path]:
    """Manifest files in load order (directories walked, sorted); no dataset folders are known here."""
    walk = ManifestWalk(paths, os.getcwd(), out)
    for _ in walk:
        pass
    return [Path(f.real) for f in walk.files()]


def _root(paths: list[Path], cwd: Path) -> str:
    if not paths:
        return str(cwd)
    first = paths[0]
    return str(first if first.is_dir() else first.parent)


def _load_providers(
    documents: list[Document], registry: SpecRegistry, manifests: ManifestSet, out: list[Diagnostic]
) -> dict[str, str]:
    types: dict[str, str] = {}
    provider_kind = Kind.PROVIDER  # an enum member lookup costs a Python call; 20,000 documents ask
    for doc in documents:
        if doc.kind is not provider_kind or doc.spec is None:
            continue
        ptype = provider_type_of(doc, registry.provider_types(), out)
        model = registry.provider_spec(ptype) if ptype is not None else None
        if ptype is None or model is None:
            continue
        types[doc.name] = ptype
        spec = validate_spec(doc, model, out)
        if spec is not None and doc.metadata is not None:
            manifests.providers[doc.name] = ProviderConfig(doc.name, spec, doc.loc(""))
    return types


def _load_resources(
    documents: list[Document],
    registry: SpecRegistry,
    provider_types: dict[str, str],
    manifests: ManifestSet,
    out: list[Diagnostic],
) -> list[tuple[Document, list[Reference]]]:
    """Validate every non-Provider document whose spec model is known; returns each with the
    references it writes (read from the raw spec, so an invalid spec still has them checked).

    A document's raw spec is dropped once it is validated: what the later checks need of it
    (`Document.provider`, the references) is kept, and the raw data would otherwise live as long
    as the validated specs it was turned into."""
    typed: list[tuple[Document, list[Reference]]] = []
    provider_kind = Kind.PROVIDER
    declared_providers = sorted(d.name for d in documents if d.kind is provider_kind)
    models: dict[tuple[Kind, str], type[ResourceSpec] | None] = {}  # (kind, provider type) -> spec model
    for doc in documents:
        if doc.kind is provider_kind or doc.spec is None:
            continue
        provider = doc.spec.get("provider")
        if provider is None:
            hint = (
                f"defined: {', '.join(declared_providers)}"
                if declared_providers
                else "no Provider is defined"
            )
            out.append(
                doc.diagnostic("spec.provider", f"missing; name a Provider ({hint})", located_at="spec")
            )
            continue
        if not isinstance(provider, str):
            out.append(doc.diagnostic("spec.provider", "must be the metadata.name of a Provider"))
            continue
        if provider not in declared_providers:
            if declared_providers:
                message = (
                    f"provider '{provider}' not found{did_you_mean(provider, declared_providers)}; "
                    f"defined: {', '.join(declared_providers)}"
                )
            else:
                message = (
                    f"provider '{provider}' not found; no Provider is defined (add a kind: Provider document)"
                )
            out.append(doc.diagnostic("spec.provider", message))
            continue
        ptype = provider_types.get(provider)
        if ptype is None:
            continue  # the Provider itself is broken and already reported
        key = (doc.kind, ptype)
        model = models[key] if key in models else models.setdefault(key, registry.spec_model(doc.kind, ptype))
        if model is None:
            able = registry.providers_serving(doc.kind)
            out.append(doc.diagnostic("spec.provider", serving_error(doc.kind, provider, ptype, able)))
            continue
        typed.append((doc, raw_references(doc, model)))
        spec = validate_spec(doc, model, out)
        doc.spec = None
        if spec is None or doc.metadata is None or doc.lifecycle is None:
            continue
        resource = Resource(
            kind=doc.kind,
            name=doc.name,
            spec=spec,
            lifecycle=doc.lifecycle,
            labels=doc.metadata.labels,  # validated into a dict of its own; the Metadata is dropped
            moved_from=doc.metadata.moved_from,
            location=doc.loc(""),
            # the document's compact Positions itself: a copy would build every SourceLocation
            # (~12 per document) that only a diagnostic ever asks for
            field_locations=doc.doc.locations,
        )
        manifests.resources[doc.address] = resource  # the same string as resource.address
    return typed
