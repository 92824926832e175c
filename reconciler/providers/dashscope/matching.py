"""How a DashScope object is recognised as a resource's: echoed hyper-parameters, deployment names.

Only documented fields are read (DESIGN.md §3b, providers.md §4b); the rules are in `adapter.py`'s
module note.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from reconciler.providers.dashscope.observations import epoch
from reconciler.providers.dashscope.types import Deployment, FineTuneJob

# A decimal number as text: "400", "-3", "0.9", ".5", "2.", "2.0E-5", "1.6e-5", "2e-05". Not
# "nan", "inf", "1_000" or hex, which Python's float() would also take.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
DELETING = frozenset({"DELETING", "OFFLINING"})
_HEX8 = r"[0-9A-Fa-f]{8}"


def _as_number(value: Any) -> float | None:
    """A hyper-parameter as a number, whether echoed as one or as its text; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())
        return number if math.isfinite(number) else None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def same_hyper_parameter(echoed: Any, wanted: Any) -> bool:
    """Whether a job's echoed hyper-parameter is the one we asked for.

    DashScope echoes numbers in some documents and strings in others (providers.md §4b), so two
    numbers, or a number and its text, compare numerically (2e-05 == "2.0E-5" == "2e-5",
    400 == "400" == "400.0"); anything else — booleans, words — compares as text
    (True == "true", "cosine" == "cosine").
    """
    a, b = _as_number(echoed), _as_number(wanted)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return _as_text(echoed) == _as_text(wanted)


def job_matches(job: FineTuneJob, fp: Mapping[str, Any]) -> bool:
    """Whether `job` is what a FineTune with fingerprint `fp` would have created."""
    if job.model != fp["model"] and job.base_model != fp["model"]:
        return False
    if sorted(job.training_file_ids) != sorted(fp["training_file_ids"]):
        return False
    if sorted(job.validation_file_ids or []) != sorted(fp["validation_file_ids"]):
        return False
    wanted = fp.get("hyper_parameters") or {}
    # The provider echoes a subset of the hyper-parameters (seed 002 shows five), as numbers or
    # as strings; every one it echoes must be the one we asked for. One it does not echo is no
    # evidence either way (and max_output_cnt is not compared: the seed's own examples disagree).
    return all(
        same_hyper_parameter(v, wanted[k])
        for k, v in job.hyper_parameters.items()
        if wanted.get(k) is not None
    )


def deployed_model_fits(deployed_model: str, model_name: str, suffix: str | None) -> bool:
    """Whether a `deployed_model` is what DashScope names a deployment of `model_name` (+ `suffix`).

    Without a suffix it is the model name; with one, `<model_name>-<8 hex>-<suffix>` [doc]
    (`emo` + `sample01` → `emo-35b3f106-sample01`), or `<model_name>-<suffix>` (the permissive
    sandbox's shape). The caller also requires the listed `model_name` to be ours, and two
    candidates are an `AmbiguousMatch`, so accepting both shapes never picks a stranger.
    """
    if not suffix:
        return deployed_model == model_name
    if deployed_model == f"{model_name}-{suffix}":
        return True
    return re.fullmatch(f"{re.escape(model_name)}-{_HEX8}-{re.escape(suffix)}", deployed_model) is not None


def deployment_candidates(
    deployments: Iterable[Deployment],
    model_name: str,
    suffix: str | None,
    claimed: AbstractSet[str],
    since: float | None = None,
) -> list[Deployment]:
    """Live, unclaimed deployments of `model_name` named as DashScope names one with `suffix`."""
    hits = []
    for dep in deployments:
        if dep.status in DELETING or dep.deployed_model in claimed or dep.model_name != model_name:
            continue
        if not deployed_model_fits(dep.deployed_model, model_name, suffix):
            continue
        created = epoch(dep.gmt_create)
        if since is not None and created is not None and created < since:
            continue
        hits.append(dep)
    return hits
