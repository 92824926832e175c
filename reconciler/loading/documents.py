"""One YAML document → a validated `ProviderConfig` or `Resource`, or diagnostics saying why not.

Why this exists: the envelope (apiVersion, kind, metadata, spec, lifecycle) is checked the same
way for every kind, and pydantic's errors must be turned into `file:line:col: Kind/name: field:
message` lines using the position map. Cross-document rules (duplicates, references, cycles,
datasets) live in `references.py` and `dataset_checks.py`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.loading.yaml_source import YamlDocument
from reconciler.models.diagnostics import Diagnostic, SourceLocation
from reconciler.models.envelope import Lifecycle, Metadata
from reconciler.models.kinds import API_VERSION, Kind
from reconciler.models.messages import humanize

M = TypeVar("M", bound=BaseModel)

ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec", "lifecycle")
KINDS = [k.value for k in Kind]
_KIND_OF = {k.value: k for k in Kind}  # Kind(value) is a Python call; a dict lookup is not


@dataclass
class Document:
    """A document whose envelope is readable enough to have an address."""

    file: str
    doc: YamlDocument
    kind: Kind
    name: str
    spec: dict[str, Any] | None  # the raw spec; None once validated (the loader drops it)
    metadata: Metadata | None = None
    lifecycle: Lifecycle | None = None
    provider: Any = None  # spec.provider as written (any type), kept when the raw spec is dropped
    address: str = field(init=False)  # Kind/name, asked for many times

    def __post_init__(self) -> None:
        self.address = f"{self.kind}/{self.name}"  # a StrEnum formats as its value

    def loc(self, path: str) -> SourceLocation:
        return self.doc.location_of(path)

    def diagnostic(self, path: str, message: str, *, located_at: str | None = None, **kw: Any) -> Diagnostic:
        return Diagnostic(message, self.loc(located_at or path), self.address, path or None, **kw)


def did_you_mean(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_envelope(file: str, doc: YamlDocument, out: list[Diagnostic]) -> Document | None:
    """Check apiVersion, kind, metadata and top-level keys. None when there is no usable address."""
    data = doc.data
    if not isinstance(data, dict):
        out.append(
            Diagnostic(
                "a manifest document must be a mapping with apiVersion, kind, metadata and spec "
                f"(got {_type_name(data)})",
                doc.location,
            )
        )
        return None
    kind_value = data.get("kind")
    raw_meta = data.get("metadata")
    raw_name = raw_meta.get("name") if isinstance(raw_meta, dict) else None
    name = raw_name if isinstance(raw_name, str) and raw_name else "?"
    kind = _KIND_OF.get(kind_value) if isinstance(kind_value, str) else None
    address = f"{kind_value if isinstance(kind_value, str) and kind_value else '?'}/{name}"

    def err(path: str, message: str) -> None:
        out.append(Diagnostic(message, doc.location_of(path), address, path or None))

    for key in data:
        if key not in ENVELOPE_KEYS:
            err(
                str(key),
                f"unknown top-level field {str(key)!r}{did_you_mean(str(key), list(ENVELOPE_KEYS))}; "
                f"allowed: {', '.join(ENVELOPE_KEYS)}",
            )
    api = data.get("apiVersion")
    if api is None:
        err("", f"apiVersion is missing; add apiVersion: {API_VERSION}")
    elif api != API_VERSION:
        err("apiVersion", f"must be {API_VERSION} (got {api!r})")
    if kind_value is None:
        err("", f"kind is missing; one of: {', '.join(KINDS)}")
    elif kind is None:
        err(
            "kind",
            f"unknown kind {kind_value!r}{did_you_mean(str(kind_value), KINDS)}; one of: {', '.join(KINDS)}",
        )
    metadata = _validate_model(
        Metadata,
        raw_meta,
        "metadata",
        doc,
        address,
        out,
        missing="metadata is missing; add metadata: {name: ...}",
    )
    lifecycle = (
        _validate_model(Lifecycle, data["lifecycle"], "lifecycle", doc, address, out)
        if data.get("lifecycle") is not None
        else _default_lifecycle()
    )
    spec = data.get("spec")
    if "spec" not in data or spec is None:
        err("", "spec is missing")
        spec = None
    elif not isinstance(spec, dict):
        err("spec", f"must be a mapping (got {_type_name(spec)})")
        spec = None
    if kind is None or name == "?":
        return None
    return Document(file, doc, kind, name, spec, metadata, lifecycle, spec.get("provider") if spec else None)


_DEFAULT_LIFECYCLE: list[Lifecycle] = []


def _default_lifecycle() -> Lifecycle:
    """One `Lifecycle()` shared by every document that writes none: nothing changes a loaded
    lifecycle, and 20,000 resources would otherwise keep 20,000 equal models (~18 MB)."""
    if not _DEFAULT_LIFECYCLE:
        _DEFAULT_LIFECYCLE.append(Lifecycle())
    return _DEFAULT_LIFECYCLE[0]


def validate_spec(document: Document, model: type[M], out: list[Diagnostic]) -> M | None:
    spec = _validate_model(model, document.spec, "spec", document.doc, document.address, out)
    return spec if isinstance(spec, model) else None


def provider_type_of(document: Document, provider_types: list[str], out: list[Diagnostic]) -> str | None:
    """spec.type of a Provider document, reported when missing or not one of the installed `provider_types`."""
    spec = document.spec or {}
    value = spec.get("type")
    if isinstance(value, str) and value in provider_types:
        return value
    # the types a plugin is installed for: what the user can write, and what to install otherwise
    installed = ", ".join(provider_types) or "none installed (install a provider plugin)"
    if document.spec is None:
        return None
    if value is None:
        out.append(document.diagnostic("spec.type", f"missing; one of: {installed}", located_at="spec"))
    else:
        out.append(
            document.diagnostic(
                "spec.type",
                f"unknown provider type {value!r}{did_you_mean(str(value), provider_types)}; "
                f"one of: {installed}",
            )
        )
    return None


def serving_error(kind: Kind, provider: str, ptype: str, able: list[str]) -> str:
    """`able`: the installed provider types that serve `kind`."""
    options = " or ".join(f"type: {t}" for t in able) or "a type that serves it (none is installed)"
    return f"provider '{provider}' ({ptype}) cannot serve {kind.value}; use a provider of {options}"


def _validate_model(
    model: type[BaseModel],
    data: Any,
    prefix: str,
    doc: YamlDocument,
    address: str,
    out: list[Diagnostic],
    *,
    missing: str | None = None,
) -> Any:
    if data is None and missing is not None:
        out.append(Diagnostic(missing, doc.location, address, None))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for detail in exc.errors(include_url=False):
            path, message = humanize(detail, model)
            full = f"{prefix}.{path}" if path else prefix
            full = full.replace(".[", "[")
            out.append(Diagnostic(message, doc.location_of(full), address, full))
        return None


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
