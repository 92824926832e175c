"""Local dataset checks run by the loader: content hash, provider layout, training-step warning.

Why here and not in `datasets/`: only the loader knows how a Dataset is *used* — which FineTunes
name it, and at which field. What a use means (a dataset's layout may depend on the base model or
trainer of the FineTune, or on its role) is the provider's: its plugin names its dataset rules
(`reconciler.datasets.rules`), and this module names no provider. The file work itself is `reconciler.datasets`: each source is scanned once per load, however many
fine-tunes use it, and read only when the content cache cannot vouch for it. Problems are
reported at the Dataset's `spec.source`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.datasets import (
    ContentCache,
    DatasetError,
    DatasetSource,
    LayoutReport,
    inspect_dataset,
    rules_for,
)
from reconciler.datasets.rules import Usage  # ("<provider type>", ...what its rules need)
from reconciler.datasets.scanning import claim_prescan
from reconciler.loading.discovering import normalized_source
from reconciler.loading.paths import display_path
from reconciler.loading.yaml_source import locate
from reconciler.models.diagnostics import Diagnostic, Severity
from reconciler.models.kinds import Kind
from reconciler.models.resources import DatasetContent, ManifestSet, Resource

MIN_RECOMMENDED_STEPS = 800  # seed 002: "at least 800 steps"
_DATASET = Kind.DATASET.value  # `.value` of a Kind is a Python-level property: read once


@dataclass
class _Reporter:
    """Diagnostics at one Dataset's spec.source, each message once (several usages may repeat it)."""

    out: list[Diagnostic]
    dataset: Resource  # located only when there is something to say (positions are built on lookup)
    address: str
    seen: set[tuple[str, Severity]] = field(default_factory=set)

    def __call__(self, message: str, severity: Severity = Severity.ERROR) -> None:
        if (message, severity) not in self.seen:
            self.seen.add((message, severity))
            where = locate(self.dataset, "spec.source")
            self.out.append(Diagnostic(message, where, self.address, "spec.source", severity))


@dataclass
class _DatasetPlan:
    resource: Resource
    path: str  # absolute and normalised (`normalized_source`); a Path is made only to show it
    usages: dict[Usage, None] = field(default_factory=dict)


def check_datasets(
    manifests: ManifestSet,
    base_dirs: dict[str, str],
    out: list[Diagnostic],
    cwd: Path | None = None,
    cache: ContentCache | None = None,
) -> None:
    """Hash and check every local Dataset; set `Resource.content`; warn about short trainings.

    With a `cache`, an unchanged dataset is only stat'ed (`datasets.inspecting`). Saving it is
    the caller's decision: bad manifests change nothing on disk.
    """
    plans = _plan(manifests, base_dirs, out)
    # folders a helper process stat'ed during this run (cli/prescan.py); the others are scanned here
    prescans = claim_prescan(str(cache.path)) if cache is not None and cache.path is not None else {}
    for address, plan in plans.items():
        dataset = plan.resource
        report = _Reporter(out, dataset, address)
        try:
            inspection = inspect_dataset(
                plan.path,
                provider=dataset.provider_type,
                usages=plan.usages,
                check_layout=_check_layout,
                cache=cache,
                prescanned=prescans.get(plan.path),
            )
        except DatasetError as exc:
            if not os.path.exists(plan.path):  # asked only now: a dataset that is there costs no stat for it
                report(
                    f"dataset not found: {display_path(Path(plan.path), cwd)} (source paths are relative to the manifest file)"
                )
                continue
            for problem in exc.problems:
                report(problem)
            continue
        for usage in plan.usages:
            for layout_problem in inspection.layouts.get(usage, ()):
                report(layout_problem.message, layout_problem.severity)
        found = inspection.content
        located = DatasetContent(found.digest, found.files, found.sample_count, found.total_bytes, plan.path)
        manifests.resources[address] = dataclasses.replace(dataset, content=located)
    _warn_short_trainings(manifests, out)


def _plan(
    manifests: ManifestSet, base_dirs: dict[str, str], out: list[Diagnostic]
) -> dict[str, _DatasetPlan]:
    plans: dict[str, _DatasetPlan] = {}
    cwd = os.getcwd()
    for resource in manifests:
        if resource.kind is Kind.DATASET:
            source = getattr(resource.spec, "source", None)
            if source:
                base = base_dirs.get(resource.address, cwd)
                plans[resource.address] = _DatasetPlan(resource, normalized_source(base, source))
    for ft in manifests:
        if ft.kind is not Kind.FINE_TUNE:
            continue
        for field_path, kind, name in ft.spec.references():
            plan = plans.get(f"{_DATASET}/{name}")
            if kind is not Kind.DATASET or plan is None:
                continue
            usage = _usage(ft, field_path, plan.resource, out)
            if usage is not None:
                plan.usages[usage] = None
    for plan in plans.values():
        rules = rules_for(plan.resource.provider_type) if not plan.usages else None
        default = rules.default_usage(plan.resource.spec) if rules is not None else None
        if default is not None:
            plan.usages[default] = None
    return plans


def _usage(ft: Resource, field_path: str, dataset: Resource, out: list[Diagnostic]) -> Usage | None:
    rules = rules_for(ft.provider_type)
    if rules is None:
        return None
    usage, problems = rules.usage(ft.spec, field_path, dataset.name, dataset.spec)
    path = f"spec.{field_path}"
    for problem in problems:
        out.append(Diagnostic(problem, locate(ft, path), ft.address, path))
    return usage


def _check_layout(source: DatasetSource, usage: Usage) -> LayoutReport:
    rules = rules_for(usage[0])
    return rules.check_layout(source, usage) if rules is not None else LayoutReport()


def _warn_short_trainings(manifests: ManifestSet, out: list[Diagnostic]) -> None:
    for ft in manifests:
        if ft.kind is not Kind.FINE_TUNE or not hasattr(ft.spec, "training_steps"):
            continue
        names = getattr(ft.spec, "training_datasets", None) or []
        contents = [manifests.resources.get(f"{_DATASET}/{n}") for n in names]
        if not contents or any(r is None or r.content is None for r in contents):
            continue
        samples = sum(r.content.sample_count for r in contents if r is not None and r.content is not None)
        if samples <= 0:
            continue
        steps = ft.spec.training_steps(samples)
        if steps >= MIN_RECOMMENDED_STEPS:
            continue
        hp = ft.spec.hyper_parameters  # type: ignore[attr-defined]  # the provider type fixes the spec model
        per_epoch = max(1, steps // max(1, hp.n_epochs))
        needed = math.ceil(MIN_RECOMMENDED_STEPS / per_epoch)
        path = "spec.hyper_parameters.n_epochs"
        out.append(
            Diagnostic(
                f"trains for only {steps} steps ({samples} samples, batch_size {hp.batch_size}, "
                f"n_epochs {hp.n_epochs}); at least {MIN_RECOMMENDED_STEPS} are recommended: "
                f"set n_epochs to {needed} or more",
                locate(ft, path),
                ft.address,
                path,
                Severity.WARNING,
            )
        )
