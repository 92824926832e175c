"""Recovery: settle what an interrupted or ambiguous run left open in the journal (DESIGN.md §3b).

Every mutating provider call is journaled before it is sent and closed, together with the record
that holds its result, after. So an open row means "sent, outcome never recorded": a kill, or a
create whose answer was lost. Before anything is planned, every open row is looked at — for every
address, whether the state holds it or not (a replace's address is in state):

- a **create** row is looked up on the provider with the request as it was journaled (the spec
  and inputs *as they were sent*, not today's manifest):
  - found → it becomes the resource's current object; the object it was replacing, if any, is
    kept as *deposed* until the replace protocol deletes it. The planner then sees the state as if
    the run had not been interrupted, and re-points dependents by lineage;
  - not found while the row is younger than `SETTLE_WINDOW_S` → *settling*: the provider may
    still commit it (no idempotency keys; providers.md §4b). Nothing is created for that resource
    until the window has passed: apply waits and looks again, plan shows it as a change;
  - not found after the window → *absent*: the row is closed, and the resource is planned as usual;
  - more than one candidate (`AmbiguousMatch`) → *ambiguous*: that resource stops, with the
    commands that settle it. It is never guessed, and never created again.
- **delete, cancel, update** rows need no look-up: the refresh that follows reads the object as
  it is now, and the planner acts on that. They are closed.

`resolve` asks the providers; `repair` is pure (records + resolutions -> records); `persist` writes
the outcome in one transaction per resource. `plan` uses `repair` in memory and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from reconciler.models.state import JournalEntry, ResourceRecord, iso_utc, parse_iso_utc
from reconciler.providers.errors import ProviderError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, ProviderAdapter
from reconciler.state.interface import StateStore

SETTLE_WINDOW_S = 120.0
"""How long after a create was sent a negative look-up is not yet proof of absence (the default).

A create the client timed out on (30 s) may still be committed by the provider afterwards; the
window covers the client's timeout plus the provider's commit delay with room to spare. The
workspace may set another (`RECONCILER_SETTLE_WINDOW`), e.g. for a sandbox run in compressed time."""

CLOCK_SKEW_S = 60.0
"""Provider creation times are compared with our journal's clock: allow this much skew."""

LOOK_AGAIN_S = (5.0, 10.0, 20.0, 40.0, 60.0)
"""Pauses between look-ups while a create settles (the last repeats until the window closes)."""

Verdict = Literal["found", "absent", "settling", "ambiguous", "unknown", "unlooked", "closed"]


@dataclass
class Resolution:
    entry: JournalEntry
    verdict: Verdict
    found: Observation | None = None
    message: str = ""
    candidates: list[str] = field(default_factory=list)
    twins: list[Observation] = field(
        default_factory=list
    )  # more objects the same create made (deposed, deleted)

    @property
    def address(self) -> str:
        return self.entry.address

    @property
    def blocks(self) -> bool:
        """Whether the resource must not be acted on until this row is settled."""
        return self.verdict in ("settling", "ambiguous", "unknown", "unlooked")

    @property
    def is_error(self) -> bool:
        """Whether the plan must stop here (as opposed to showing the resource as unsettled)."""
        return self.verdict in ("ambiguous", "unknown")


# ---------------------------------------------------------------------- what a create row carries
def create_request(
    desired: Desired, *, provider: str, provider_type: str, record: dict[str, Any]
) -> dict[str, Any]:
    """The journal `request` of a create: enough to look the object up, and to record it, later.

    `record` is the template of the ResourceRecord the create will produce (everything but what
    the provider answers): kind, spec, spec_hash, content, dependencies, labels, lifecycle, lineage.
    """
    return {
        "kind": desired.kind,
        "spec": dict(desired.spec),
        "desired": {
            "address": desired.address,
            "kind": desired.kind,
            "name": desired.name,
            "spec": dict(desired.spec),
            "spec_hash": desired.spec_hash,
            "inputs": {k: dict(v) for k, v in desired.inputs.items()},
            "content_digest": desired.content_digest,
            "source_path": desired.source_path,
        },
        "record": {"provider": provider, "provider_type": provider_type, **record},
    }


def desired_from(entry: JournalEntry) -> Desired | None:
    data = (entry.request or {}).get("desired")
    if not isinstance(data, dict):
        return None  # a row written before requests carried the whole desired object
    return Desired(
        address=data["address"],
        kind=data["kind"],
        name=data["name"],
        spec=data.get("spec") or {},
        spec_hash=data.get("spec_hash") or "",
        inputs=data.get("inputs") or {},
        content_digest=data.get("content_digest"),
        source_path=data.get("source_path"),
    )


def record_from(entry: JournalEntry, obs: Observation, now: float) -> ResourceRecord | None:
    template = (entry.request or {}).get("record")
    desired = desired_from(entry)
    if not isinstance(template, dict) or desired is None:
        return None
    stamp = iso_utc(now)
    return ResourceRecord(
        address=entry.address,
        kind=desired.kind,
        name=desired.name,
        provider=template["provider"],
        provider_type=template["provider_type"],
        remote_id=obs.remote_id,
        spec=dict(desired.spec),
        spec_hash=desired.spec_hash,
        content_digest=desired.content_digest,
        content_files=dict(template.get("content_files") or {}),
        status=obs.status,
        observed=obs.object,
        outputs=dict(obs.outputs),
        dependencies=list(template.get("dependencies") or []),
        labels=dict(template.get("labels") or {}),
        lifecycle=dict(template.get("lifecycle") or {}),
        created_at=stamp,
        updated_at=stamp,
        observed_at=stamp,
        built_from=dict(template.get("built_from") or {}),
    )


# ---------------------------------------------------------------------- asking the providers
def claimed_ids(records: Mapping[str, ResourceRecord]) -> set[str]:
    """Every remote id the state already owns (current and deposed objects)."""
    out = {r.remote_id for r in records.values() if r.remote_id}
    for r in records.values():
        out.update(str(d.get("remote_id")) for d in r.deposed if d.get("remote_id"))
    return out


def look_up(
    entry: JournalEntry,
    adapter: ProviderAdapter | None,
    claimed: set[str],
    now: float,
    fallback: Desired | None = None,
    window: float = SETTLE_WINDOW_S,
) -> Resolution:
    """One look-up for one open create row."""
    desired = desired_from(entry) or fallback
    if adapter is None:
        return Resolution(
            entry,
            "unknown",
            message=f"provider '{entry.provider}' is not configured; restore its "
            "Provider manifest so the interrupted create can be looked up",
        )
    if desired is None:
        return Resolution(
            entry,
            "absent",
            message="the create's request was not journaled in full and the resource is no longer declared",
        )
    started = parse_iso_utc(entry.started_at)
    try:
        found = adapter.find(desired, started - CLOCK_SKEW_S, claimed)
    except AmbiguousMatch as e:
        if e.twins:
            kept, extra = keep_oldest(e.twins)
            return Resolution(
                entry,
                "found",
                found=kept,
                twins=extra,
                message=f"found {kept.remote_id} ({kept.status}) and {len(extra)} duplicate(s)",
            )
        return Resolution(entry, "ambiguous", candidates=e.candidates, message=e.why)
    except ProviderError as e:
        return Resolution(entry, "unknown", message=f"could not look up the interrupted create: {e}")
    if found is not None:
        return Resolution(entry, "found", found=found, message=f"found {found.remote_id} ({found.status})")
    age = now - started
    if age < window:
        return Resolution(
            entry,
            "settling",
            message=(
                f"a create sent at {entry.started_at} has not appeared on the provider yet; it may still land "
                f"(looking again until {iso_utc(started + window)})"
            ),
        )
    return Resolution(
        entry, "absent", message=f"a create sent at {entry.started_at} never appeared on the provider"
    )


def keep_oldest(twins: list[Observation]) -> tuple[Observation, list[Observation]]:
    """(the object to keep, the duplicates to delete): the oldest one stays (DESIGN.md §3b.1)."""
    ordered = sorted(twins, key=lambda o: (o.created_at or 0.0, o.remote_id))
    return ordered[0], ordered[1:]


def twin_record(template: ResourceRecord, twin: Observation) -> dict[str, Any]:
    """A duplicate as a deposed entry: tracked in state until the replace protocol deletes it."""
    return replace(
        template,
        remote_id=twin.remote_id,
        status=twin.status,
        observed=twin.object,
        outputs=dict(twin.outputs),
        deposed=[],
        built_from=dict(template.built_from),
    ).to_dict()


def resolve(
    entries: list[JournalEntry],
    records: Mapping[str, ResourceRecord],
    adapters: Mapping[str, ProviderAdapter],
    now: float,
    fallbacks: Mapping[str, Desired] | None = None,
    window: float = SETTLE_WINDOW_S,
) -> list[Resolution]:
    """Look at every open row once (oldest first); found objects are claimed for the rows after."""
    claimed = claimed_ids(records)
    out: list[Resolution] = []
    for entry in entries:
        if not entry.is_open:
            continue
        if entry.operation != "create":
            out.append(Resolution(entry, "closed", message="re-read by refresh"))
            continue
        got = look_up(
            entry, adapters.get(entry.provider), claimed, now, (fallbacks or {}).get(entry.address), window
        )
        if got.found is not None:
            claimed.add(got.found.remote_id)
        claimed.update(t.remote_id for t in got.twins)
        out.append(got)
    return out


def unlooked(entries: list[JournalEntry]) -> list[Resolution]:
    """Open create rows when the providers are not asked (`plan --refresh=false`): held back, unsettled."""
    return [
        Resolution(
            e,
            "unlooked",
            message=f"an interrupted create (sent at {e.started_at}) is still open in the "
            "journal; plan with refresh, or apply, to settle it",
        )
        for e in entries
        if e.is_open and e.operation == "create"
    ]


# ---------------------------------------------------------------------- the state as it should be
def repair(
    records: Mapping[str, ResourceRecord], resolutions: list[Resolution], now: float
) -> dict[str, ResourceRecord]:
    """The records with every found object recorded (pure)."""
    out = dict(records)
    for r in resolutions:
        if r.verdict != "found" or r.found is None:
            continue
        current = out.get(r.address)
        if current is not None and current.remote_id == r.found.remote_id:
            if r.twins:
                out[r.address] = replace(
                    current, deposed=[*current.deposed, *(twin_record(current, t) for t in r.twins)]
                )
            continue
        new = record_from(r.entry, r.found, now)
        if new is None:
            continue
        if current is not None and current.remote_id:
            old = current.to_dict()
            old.pop("deposed", None)
            new = replace(new, deposed=[*current.deposed, old], created_at=current.created_at)
        elif current is not None:
            new = replace(new, deposed=list(current.deposed))
        if r.twins:
            new = replace(new, deposed=[*new.deposed, *(twin_record(new, t) for t in r.twins)])
        out[r.address] = new
    return out


def persist(store: StateStore, resolutions: list[Resolution], repaired: Mapping[str, ResourceRecord]) -> None:
    """Write what `resolve` settled; rows still settling, ambiguous or unknown stay open."""
    for r in resolutions:
        if r.verdict == "found" and r.found is not None:
            result: dict[str, Any] = {
                "found": r.found.remote_id,
                "how": "looked up after an interrupted create",
            }
            if r.twins:
                result["duplicates"] = [t.remote_id for t in r.twins]
                store.append_event(
                    "duplicate-found",
                    r.address,
                    {
                        "kept": r.found.remote_id,
                        "deleting": [t.remote_id for t in r.twins],
                        "why": "one create landed more than once; the oldest object is kept, the others deleted",
                    },
                )
            record = repaired.get(r.address)
            current = store.get(r.address)
            if record is not None and (current is None or current != record):
                store.put(
                    record,
                    event="recovered",
                    detail={"remote_id": r.found.remote_id, "journal": r.entry.id},
                    close_journal=(r.entry.id, "resolved", result),
                )
            else:
                store.journal_close(r.entry.id, "resolved", result=result)
        elif r.verdict == "absent":
            store.journal_close(r.entry.id, "resolved", result={"found": None, "how": r.message})
        elif r.verdict == "closed":
            store.journal_close(r.entry.id, "resolved", result={"how": r.message})


def ambiguous_message(address: str, candidates: list[str], why: str) -> str:
    return (
        f"an interrupted create cannot be settled: {len(candidates)} provider objects could be this "
        f"resource ({', '.join(candidates)}): {why}. If one of them is it: 'reconciler import {address} ID'; "
        f"if none is: 'reconciler state resolve {address} --absent'. Nothing is created for it until then"
    )


def blocked_message(r: Resolution) -> str:
    if r.verdict == "ambiguous":
        return ambiguous_message(r.address, r.candidates, r.message)
    return r.message
