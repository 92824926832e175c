"""Refresh and discovery: what the providers say now, for everything we manage or want.

- Known objects (in state) are read through `adapter.read_many`, which batches through list
  endpoints where the API has them, one thread per provider.
- Desired resources with no state are looked for by fingerprint (`adapter.discover`), kind
  by kind in dependency order, because a fine-tune's fingerprint needs its datasets' file ids.
  This is how a CI runner with no state, or a lost state file, still gets the right plan.
- Open journal rows (a run killed mid-create) are settled *before* this, by `recovering`, for
  every address; the addresses they still hold back are not discovered here (`held`).

Nothing here writes: the caller decides whether the refreshed view is persisted (`refresh`,
`apply`) or only used for a plan (`plan` leaves the state byte-for-byte unchanged).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.recovering import claimed_ids
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet, Resource
from reconciler.models.state import ResourceRecord, iso_utc
from reconciler.providers.errors import ProviderError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, ProviderAdapter


@dataclass
class RefreshResult:
    records: dict[str, ResourceRecord]  # state with observations folded in (in memory)
    observations: dict[str, Observation] = field(default_factory=dict)
    discovered: dict[str, Observation] = field(default_factory=dict)
    # no state, not recognised, but the provider holds objects that might be them: address -> warning
    unrecognised: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def desired_of(resource: Resource, spec_hash: str, inputs: Mapping[str, Mapping[str, Any]]) -> Desired:
    content = resource.content
    return Desired(
        address=resource.address,
        kind=resource.kind.value,
        name=resource.name,
        spec=resource.effective_spec(),
        spec_hash=spec_hash,
        inputs=dict(inputs),
        content_digest=content.digest if content else None,
        source_path=content.source if content else None,
    )


def observe(
    records: Mapping[str, ResourceRecord], observations: Mapping[str, Observation], now: float
) -> dict[str, ResourceRecord]:
    """Fold observations into records (status, observed object, outputs, observed_at)."""
    return observe_into(dict(records), observations, now)


def observe_into(
    records: dict[str, ResourceRecord], observations: Mapping[str, Observation], now: float
) -> dict[str, ResourceRecord]:
    """`observe`, each folded record replacing its old one in `records` itself (same order).

    For a caller that hands its records over: an old record (its copy of every field, and a
    stored one's observed text) is freed as its refreshed one is made, instead of both sets living
    together at the end of the fold (~40 MB at 5,000 chains, at the plan's peak)."""
    stamp = iso_utc(now)
    for address, obs in observations.items():
        rec = records.get(address)
        if rec is None:
            continue
        # the recorded outputs with the provider's over them (a stored record merges them when
        # they are first read: a no-change plan reads none)
        records[address] = rec.with_refreshed(obs.status, obs.object or rec.observed, obs.outputs, stamp)
        del rec
    return records


def refresh(
    manifests: ManifestSet,
    records: Mapping[str, ResourceRecord],
    adapters: Mapping[str, ProviderAdapter],
    spec_hashes: Callable[[], Mapping[str, str]],
    *,
    now: float,
    held: frozenset[str] = frozenset(),
    discover: bool = True,
    parallelism: int = 10,
    take_records: bool = False,
    fold: bool = True,
) -> RefreshResult:
    """`take_records`: the caller hands `records` over (a dict it reads no more; only the result's
    records afterwards): it becomes `result.records`, folded in place (`observe_into`).

    `fold=False`: only the observations are wanted (`result.records` stays unfolded), for a caller
    that folds them elsewhere (a plan's forked child sends them to the parent, which folds them
    into its own records)."""
    if take_records and not isinstance(records, dict):
        raise TypeError("take_records needs the caller's own dict of records")
    if discover and not fold:
        raise ValueError("discovery works on the folded records: fold=False needs discover=False")
    result = RefreshResult(records=records if take_records and isinstance(records, dict) else dict(records))
    by_provider: dict[str, list[ResourceRecord]] = defaultdict(list)
    for rec in records.values():
        by_provider[rec.provider].append(rec)
    if records:
        del rec  # (the loop's last record: held here, it would outlive its fold)

    def read(provider: str, recs: list[ResourceRecord]) -> tuple[str, dict[str, Observation] | Diagnostic]:
        adapter = adapters.get(provider)
        if adapter is None:
            return provider, Diagnostic(
                f"{len(recs)} resource(s) in state belong to provider '{provider}', which no manifest declares; "
                "restore its Provider manifest (so they can be refreshed or deleted), or 'reconciler state rm' them",
                address=recs[0].address,
            )
        try:
            return provider, adapter.read_many(recs)
        except ProviderError as e:
            return provider, Diagnostic(f"refresh failed for provider '{provider}': {e}")

    from concurrent.futures import ThreadPoolExecutor  # here: a plan without refresh needs no threads

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(by_provider) or 1))) as pool:
        for _provider, got in pool.map(lambda kv: read(*kv), by_provider.items()):
            if isinstance(got, Diagnostic):
                result.diagnostics.append(got)
            else:
                result.observations.update(got)
    # the lists of records handed to the adapters go first: nothing but `result.records` then
    # holds a taken record, so each is freed as it is replaced
    by_provider.clear()
    if fold:
        result.records = observe_into(result.records, result.observations, now)

    if discover:
        _discover(manifests, result, adapters, spec_hashes, held)
    return result


def _discover(
    manifests: ManifestSet,
    result: RefreshResult,
    adapters: Mapping[str, ProviderAdapter],
    spec_hashes: Callable[[], Mapping[str, str]],
    held: frozenset[str],
) -> None:
    # what has no state (and is not held back) does not change while discovering: found objects go
    # to `result.discovered`, never into the records; a no-change plan has none, and asks nobody
    # (nor computes the identity hashes: the planner does, when it needs them)
    unknown = [r for r in manifests if r.address not in result.records and r.address not in held]
    if not unknown:
        return
    hashes = spec_hashes()
    claimed = claimed_ids(result.records)

    def outputs_of(address: str) -> Mapping[str, Any] | None:
        rec = result.records.get(address)
        if rec is not None:
            return rec.outputs
        found = result.discovered.get(address)
        return found.outputs if found is not None else None

    for kind in (Kind.DATASET, Kind.FINE_TUNE, Kind.CHECKPOINT_EXPORT, Kind.DEPLOYMENT, Kind.SAMPLE):
        wanted: dict[str, list[Desired]] = defaultdict(list)
        partial: dict[str, list[Desired]] = defaultdict(list)  # an upstream was not found either
        for resource in unknown:
            if resource.kind is not kind:
                continue
            inputs: dict[str, Mapping[str, Any]] = {}
            complete = True
            for dep in resource.dependencies():
                out = outputs_of(dep)
                if out is None:
                    complete = False
                else:
                    inputs[dep] = out
            (wanted if complete else partial)[resource.provider_name].append(
                desired_of(resource, hashes[resource.address], inputs)
            )
        for provider in sorted(set(wanted) | set(partial)):
            adapter = adapters.get(provider)
            if adapter is None:
                continue
            try:
                rest = [d for d in wanted.get(provider, []) if d.address not in result.discovered]
                asked = list(rest)
                while asked:
                    try:
                        found_map = adapter.discover(asked, claimed)
                    except AmbiguousMatch as e:  # that one stops; the others are asked again
                        result.diagnostics.append(
                            Diagnostic(
                                f"{e}. If one of them is it: 'reconciler import {e.address} ID'",
                                address=e.address,
                            )
                        )
                        asked = [d for d in asked if d.address != e.address]
                        rest = [d for d in rest if d.address != e.address]
                        continue
                    for address, obs in found_map.items():
                        result.discovered[address] = obs
                        claimed.add(obs.remote_id)
                    break
                missing = [d for d in rest + partial.get(provider, []) if d.address not in result.discovered]
                # here, not at import: a plan without refresh never asks (the module is 1-2 ms)
                from reconciler.providers.candidates import ReportsUnrecognised

                if missing and isinstance(adapter, ReportsUnrecognised):
                    for address, report in adapter.unrecognised(missing, claimed).items():
                        result.unrecognised[address] = report.warning()
            except AmbiguousMatch as e:  # from `unrecognised`: it reports, it does not decide
                result.diagnostics.append(
                    Diagnostic(
                        f"{e}. If one of them is it: 'reconciler import {e.address} ID'", address=e.address
                    )
                )
            except ProviderError as e:
                result.diagnostics.append(Diagnostic(f"discovery failed for provider '{provider}': {e}"))
