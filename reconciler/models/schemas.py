"""JSON Schemas for manifests, generated from the models (pure: returns dicts, writes nothing).

One schema per kind (`provider.json`, `dataset.json`, …) describes a whole document — the
envelope (apiVersion, kind, metadata, spec, lifecycle) with `spec` as any of the provider
variants for that kind — plus `reconciler.json`, which dispatches on `kind`. Every spec field
carries `x-change-class`, so editors show what changing it costs. Editors find the schemas
through a `# yaml-language-server: $schema=...` line; `reconciler schema` writes them and a
test fails when the checked-in copies are stale.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from reconciler.models.envelope import Lifecycle, Metadata
from reconciler.models.kinds import API_VERSION, Kind
from reconciler.models.projects import ProjectSpec
from reconciler.models.registry import PROVIDER_SPECS, SPEC_MODELS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMBINED_FILE = "reconciler.json"
PROJECT_FILE = "project.json"

KIND_DESCRIPTIONS: dict[Kind, str] = {
    Kind.PROVIDER: "A provider account: type, endpoint and the names of the environment variables holding credentials",
    Kind.DATASET: "Training or validation data, identified by its content",
    Kind.FINE_TUNE: "A LoRA fine-tune job",
    Kind.CHECKPOINT_EXPORT: "An intermediate checkpoint of a fine-tune, exported as a deployable model",
    Kind.DEPLOYMENT: "An online deployment of a fine-tuned model or an exported checkpoint",
    Kind.SAMPLE: "A prompt rendered with a fine-tune's LoRA, to look at before promoting it",
}


def schema_file_name(kind: Kind) -> str:
    return f"{kind.value.lower()}.json"


def spec_models(kind: Kind) -> list[type[BaseModel]]:
    """The spec variants for `kind`, in provider-type order."""
    if kind is Kind.PROVIDER:
        return list(PROVIDER_SPECS.values())
    return [model for (k, _), model in SPEC_MODELS.items() if k is kind]


def _variant_type(model: type[BaseModel]) -> str:
    """The provider type a spec variant belongs to (a Provider spec's TYPE, a resource spec's PROVIDER_TYPE)."""
    return str(getattr(model, "TYPE", None) or model.PROVIDER_TYPE)  # type: ignore[attr-defined]  # ResourceSpec's ClassVar, absent on Provider specs


def build_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: one per kind, the combined `reconciler.json`, and `project.json`
    for the project file (`reconciler.yaml`)."""
    schemas: dict[str, dict[str, Any]] = {}
    documents: dict[str, dict[str, Any]] = {}
    all_defs: dict[str, Any] = {}
    for kind in Kind:
        defs, document = _document_schema(kind)
        schemas[schema_file_name(kind)] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": schema_file_name(kind),
            "title": kind.value,
            **document,
            "$defs": defs,
        }
        documents[f"{kind.value}Document"] = document
        all_defs.update(defs)
    schemas[COMBINED_FILE] = _combined_schema(documents, all_defs)
    schemas[PROJECT_FILE] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": PROJECT_FILE,
        **ProjectSpec.model_json_schema(ref_template="#/$defs/{model}"),
        "title": "reconciler.yaml (project file)",
    }
    return schemas


def render_schema_files() -> dict[str, str]:
    """File name -> file text, byte-for-byte what `reconciler schema` writes (sorted keys)."""
    return {
        name: json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in build_schemas().items()
    }


def _document_schema(kind: Kind) -> tuple[dict[str, Any], dict[str, Any]]:
    variants = spec_models(kind)
    documented: list[type[BaseModel]] = [Metadata, Lifecycle, *variants]
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in documented]
    _, top = models_json_schema(
        inputs,
        ref_template="#/$defs/{model}",
    )
    defs: dict[str, Any] = top.get("$defs", {})
    refs = [{"$ref": f"#/$defs/{model.__name__}"} for model in variants]
    if kind is Kind.PROVIDER:
        # dispatch on spec.type so editors report the errors of the right variant only
        spec: dict[str, Any] = {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": [_variant_type(model) for model in variants]}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": _variant_type(model)}}, "required": ["type"]},
                    "then": ref,
                }
                for model, ref in zip(variants, refs, strict=True)
            ],
        }
    else:
        spec = {"anyOf": refs} if len(refs) > 1 else dict(refs[0])
    provider_types = ", ".join(_variant_type(model) for model in variants)
    spec["description"] = f"{KIND_DESCRIPTIONS[kind]}. Variants by provider type: {provider_types}"
    document = {
        "type": "object",
        "description": KIND_DESCRIPTIONS[kind],
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": "Manifest format version"},
            "kind": {"const": kind.value, "description": "Resource kind"},
            "metadata": {"$ref": "#/$defs/Metadata"},
            "spec": spec,
            "lifecycle": {"$ref": "#/$defs/Lifecycle"},
        },
    }
    return defs, document


def _combined_schema(documents: dict[str, dict[str, Any]], defs: dict[str, Any]) -> dict[str, Any]:
    kinds = [kind.value for kind in Kind]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": COMBINED_FILE,
        "title": "reconciler manifest",
        "description": "Any reconciler/v1 document; the schema is chosen by its kind",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {"kind": {"enum": kinds, "description": "Resource kind"}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{kind}Document"},
            }
            for kind in kinds
        ],
        "$defs": {**defs, **documents},
    }
