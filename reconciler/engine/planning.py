"""The planner: desired resources + refreshed state -> a `Plan`. Pure: no I/O, no clock.

Two sources of difference are kept apart (STYLE.md, after Terraform's drift handling):
- *manifest changes*: the desired spec differs from the spec last applied (state);
- *drift*: the provider differs from what we applied (deleted, FAILED, scaled outside).
Each action names its change class and a one-line reason. Apply never reads the reasons.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine import moves, targeting
from reconciler.engine.costing import price_actions
from reconciler.engine.identity import spec_hashes
from reconciler.engine.scheduling import schedule_actions
from reconciler.models.changes import ChangeClass, field_change_class
from reconciler.models.diagnostics import Diagnostic, Severity
from reconciler.models.envelope import Lifecycle, Timeouts, format_duration
from reconciler.models.kinds import Kind, ProviderType
from reconciler.models.plans import (
    PLAN_FORMAT_VERSION,
    Action,
    ActionType,
    Cost,
    FieldChange,
    Plan,
    ReplaceMode,
)
from reconciler.models.resources import ManifestSet, Resource, sorted_rounds
from reconciler.models.specs import ResourceSpec
from reconciler.models.state import ResourceRecord, StateMeta
from reconciler.providers.economics import Economics
from reconciler.providers.facts import ObservationNotes, ProviderFacts
from reconciler.providers.interface import Observation, Phase
from reconciler.providers.plugins import facts_for

# Which class a kind's replacement costs when it is forced from upstream.
_FORCED_CLASS = {
    Kind.DATASET: ChangeClass.RETRAIN,
    Kind.FINE_TUNE: ChangeClass.RETRAIN,
    Kind.CHECKPOINT_EXPORT: ChangeClass.REEXPORT,
    Kind.DEPLOYMENT: ChangeClass.REDEPLOY,
    Kind.SAMPLE: ChangeClass.RERENDER,
}

# How a dependent names the upstream object it was built from, in a lineage reason.
_BUILT_FROM = {
    "Deployment": "serves",
    "CheckpointExport": "was exported from",
    "FineTune": "was trained on",
    "Sample": "was rendered with",
}


@dataclass
class PlanInputs:
    manifests: ManifestSet
    records: Mapping[str, ResourceRecord]  # state (refreshed in memory when refreshed=True)
    meta: StateMeta
    observations: Mapping[str, Observation] = field(default_factory=dict)  # address -> refreshed view
    discovered: Mapping[str, Observation] = field(default_factory=dict)  # no state, found by fingerprint
    # resources an open journal row holds back (recovering.Resolution.blocks): address -> (verdict, message)
    blocked: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # no state, not recognised, but the provider holds objects that might be them (display only)
    unrecognised: Mapping[str, str] = field(default_factory=dict)
    now: float = 0.0  # epoch seconds, for "running for 2h13m"
    refreshed: bool = True
    operation: str = "apply"  # apply | destroy
    targets: frozenset[str] | None = None  # --target: these and their upstreams (engine/targeting.py)
    replace: frozenset[str] = frozenset()  # --replace: rebuild these although unchanged
    moved: Mapping[str, str] = field(default_factory=dict)  # new address -> old (engine/moves.py)
    reconciler_version: str = "0"
    created_at: str = ""
    manifest_paths: list[str] = field(default_factory=list)
    state_path: str | None = None
    # provider name -> kind -> why its API cannot delete that kind: removing one only forgets it
    undeletable: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hashes: Mapping[str, str] | None = None  # spec_hashes(manifests), when the caller has them already
    order: list[str] | None = None  # manifests.topological_order(), when the caller has it already
    # provider type -> its pure facts (status words, replace rules); by default the registered plugin's
    facts: Callable[[str], ProviderFacts] = facts_for
    # provider name -> its prices, billable quantities and quota (wiring.provider_economics)
    economics: Mapping[str, Economics] = field(default_factory=dict)


# resources per step of `prepare` (a step is ~0.5 ms; the caller's check between steps ~2 µs)
PREPARE_STEP = 64


def prepare(manifests: ManifestSet) -> Iterator[None]:
    """What a plan reads of the manifests alone, computed ahead a step at a time: each resource's
    spec dump (`shared_effective_spec`, which also builds a spec model's serializer on first use)
    and its references. Why: a plan whose refresh is not back yet has nothing else to do
    (`refresh_ahead.meanwhile`); at 1,000 chains this is a quarter of `make_plan`. Both are
    computed once per resource and kept on it, so stopping anywhere changes no plan: `make_plan`
    computes what was not prepared, as it always did."""
    for done, resource in enumerate(manifests.resources.values(), start=1):
        resource.shared_effective_spec()
        resource.dependency_addresses  # noqa: B018 - computed once, kept on the resource
        if done % PREPARE_STEP == 0:
            yield
    yield


def make_plan(inputs: PlanInputs) -> Plan:
    planner = _Planner(inputs)
    actions = planner.destroy_all() if inputs.operation == "destroy" else planner.converge()
    if inputs.targets is not None:
        actions, notes = targeting.limit_to_targets(actions, inputs.targets)
        planner.diagnostics.extend(notes)
    total = price_actions(actions, inputs.economics)
    planner.diagnostics += schedule_actions(
        actions,
        inputs.records,
        inputs.observations,
        inputs.economics,
        inputs.manifests,
        now=inputs.now,
        hours_of=planner.hours_of,
    )
    # Built without validation (`trusted`, every field given, in declaration order): every value
    # is made here, of its field's type, and the actions are this plan's own. Validating would
    # look at every action once more, and build the schema of `Plan` and of every model inside it
    # (`Action`, `FieldChange`, `Cost`: ~25 ms at start-up) that a printed plan never uses.
    return Plan.trusted(
        format_version=PLAN_FORMAT_VERSION,
        reconciler_version=inputs.reconciler_version,
        created_at=inputs.created_at,
        operation=inputs.operation,
        mode="normal",
        environment=None,
        manifest_paths=list(inputs.manifest_paths),
        state_path=inputs.state_path,
        lineage=inputs.meta.lineage,
        serial=inputs.meta.serial,
        refreshed=inputs.refreshed,
        targets=sorted(inputs.targets or ()),
        actions=actions,
        errors=[d.to_dict() for d in planner.diagnostics if d.severity is Severity.ERROR],
        warnings=[d.to_dict() for d in planner.diagnostics if d.severity is Severity.WARNING],
        cost_total=total,
    )


class _Planner:
    def __init__(self, inputs: PlanInputs) -> None:
        self.i = inputs
        self.m = inputs.manifests
        self.order = inputs.order if inputs.order is not None else inputs.manifests.topological_order()
        self.hashes = (
            inputs.hashes if inputs.hashes is not None else spec_hashes(inputs.manifests, self.order)
        )
        self.diagnostics: list[Diagnostic] = []
        self.actions: dict[str, Action] = {}
        self.facts: dict[str, ProviderFacts] = {}  # provider type -> its facts, asked once per plan
        self.notes: dict[str, ObservationNotes] = {}  # address -> its observation's notes
        # id(lifecycle) -> (it, its JSON data): the loader shares one Lifecycle among the resources
        # that write none, so this is dumped (and compared) once a plan, not once a resource. The
        # object is held beside its data so that its id cannot be reused by another one meanwhile.
        self._lifecycles: dict[int, tuple[Lifecycle, dict[str, Any]]] = {}
        self._type_names: dict[str, str] = {}  # provider type -> its name (`_type_name`)

    # ------------------------------------------------------------------ converge
    def converge(self) -> list[Action]:
        resources, actions = self.m.resources, self.actions
        for address in self.order:
            resource = resources[address]
            action = actions[address] = self._plan_desired(resource)
            self._add_spec_facts(resource, action)
        moves.mark_moved(self.actions, self.i.moved)
        prunes = self._plan_prunes()
        for action in self.actions.values():
            if (
                action.action is not ActionType.REPLACE
            ):  # (asked first: a look-up is pure, and most are no-ops)
                continue
            why = self._no_delete_api(action.provider, action.kind)
            if why:
                action.facts["old_object"] = f"forgotten, not deleted: {why}"
        return list(self.actions.values()) + self._plan_deposed() + prunes

    def _add_spec_facts(self, r: Resource, action: Action) -> None:
        """Display-only lines the spec derives from what was recorded (e.g. a checkpoint
        selector's resolution). A create or replace makes a new object: nothing recorded applies."""
        if type(r.spec).plan_facts is _NO_PLAN_FACTS:  # most specs have none: no outputs to look up
            return
        outputs: Mapping[str, Any] = {}
        if action.action not in (ActionType.CREATE, ActionType.REPLACE):
            obs = self.i.observations.get(r.address)
            record = self.i.records.get(r.address)
            outputs = (
                obs.outputs if obs is not None else _RecordedOutputs(record) if record is not None else {}
            )
        action.facts.update(r.spec.plan_facts(outputs))

    def _no_delete_api(self, provider: str, kind: str) -> str | None:
        return self.i.undeletable.get(provider, {}).get(kind)

    def _plan_deposed(self) -> list[Action]:
        """Objects an interrupted create-before-destroy replace left behind: delete them now.

        A replace in this plan deletes them itself (its "old" step), and so does a removal.
        """
        out = []
        # (only the records that hold one are sorted: a plan has few, and every record is a sort of 8,000)
        for address, rec in sorted(item for item in self.i.records.items() if item[1].deposed):
            current = self.actions.get(address)
            if current is None or current.action is ActionType.REPLACE:
                continue
            why = self._no_delete_api(rec.provider, rec.kind)
            resource = self.m.resources.get(address)
            # a Deployment's `requires`: its Samples must have succeeded with the new model first
            gates = [g for g in (resource.spec.gates() if resource is not None else []) if g in self.actions]
            for old in rec.deposed:
                remote = str(old.get("remote_id") or "")
                # depends on its own address: the replacement must be ready, and its dependents moved
                # onto it, before the old object goes (the replace protocol, DESIGN.md §3b.5)
                out.append(
                    Action(
                        address=address,
                        kind=rec.kind,
                        name=rec.name,
                        provider=rec.provider,
                        provider_type=rec.provider_type,
                        action=ActionType.FORGET if why else ActionType.DELETE,
                        deposed=remote,
                        prior=old,
                        depends_on=[address, *gates],
                        gated_by=gates,
                        reason=_deposed_reason(remote, old, rec)
                        + (f"; forgotten, not deleted: {why}" if why else ""),
                    )
                )
        return out

    def _plan_desired(self, r: Resource) -> Action:
        address = r.address
        record = self.i.records.get(address)
        obs = self.i.observations.get(address)
        action = self._base_action(r)
        if address in self.i.blocked:
            return self._held_back(r, record, action, *self.i.blocked[address])

        if record is None:
            found = self.i.discovered.get(address)
            if found is not None and not self._upstream_new(r):
                action.action = ActionType.ADOPT
                action.adopted = _observation_dict(found)
                action.reason = f"found on {r.provider_name} by fingerprint ({found.remote_id}, {found.status}); adopting instead of creating"
                return action
            action.action = ActionType.CREATE
            if address in self.i.unrecognised:
                action.warnings.append(self.i.unrecognised[address])
            # a create has no change class, except that a new training job costs what a retrain costs
            action.change_class = ChangeClass.RETRAIN if r.kind is Kind.FINE_TUNE else None
            action.reason = "not in state" + ("" if self.i.refreshed else " (refresh skipped)")
            if address in self.i.replace:
                action.warnings.append(
                    "--replace: not in state yet, so it is created; there is nothing to replace"
                )
            # what validation keeps (a str path, the value itself, a ChangeClass), without it: a
            # create has one per field of its spec, 33,000 at 1,000 chains
            action.changes = [
                FieldChange.trusted(
                    path=p, before=None, after=v, change_class=self._class_of(r, p), outside=False
                )
                for p, v in _flatten(action.desired or {}).items()
            ]
            self._add_cost(action, r)
            return action

        action.defer_prior(record.to_dict)  # made if read or saved: a printed no-op never reads it
        ignore = r.lifecycle.ignore_changes  # (only read: a frozen resource's list, not copied per resource)

        # --- drift: the provider moved
        if obs is not None:
            drift = self._drift(r, record, obs, action, ignore)
            if drift is not None:
                return drift

        # --- manifest changes (and identity changes upstream)
        spec_changed = record.spec_hash != self.hashes[address]
        changes: list[FieldChange] = []
        if spec_changed or (r.content and r.content.digest != record.content_digest):
            changes, content_facts = self._field_changes(r, record)
            changes = [c for c in changes if not _ignored(c.path, ignore)]
            action.facts.update(content_facts)
        # a reference renamed along with its upstream (metadata.moved_from) is the same object
        renamed: list[FieldChange] = []
        if changes:  # (nothing to relabel in an unchanged resource: the common case)
            relabelled = moves.renamed_references(r, record, self.i.records, changes)
            renamed = [c for c, before in zip(relabelled, changes, strict=True) if c != before]
            changes = relabelled
        forced_by = self._forced_by(r)
        stale = [] if forced_by else self._stale_lineage(r, record, hash_moved=spec_changed)
        local_changes = self._local_changes(r, record, action.lifecycle)
        requested = address in self.i.replace  # --replace

        structural = (
            [c for c in changes if c.change_class not in (ChangeClass.LOCAL, ChangeClass.UPDATE)]
            if changes
            else changes  # (empty: the common case)
        )
        if forced_by or structural or stale or requested:
            forced = bool(forced_by or stale or requested)
            cls = max(
                [c.change_class for c in structural] + ([_FORCED_CLASS[r.kind]] if forced else []),
                key=lambda c: c.rank,
            )
            action.action = ActionType.REPLACE
            action.change_class = cls
            action.changes = changes
            action.reason = self._replace_reason(changes, forced_by, cls, action.facts, stale, r.kind.value)
            if requested:
                action.facts["replacement"] = "requested"
                action.reason = "replacement requested (--replace)" + (
                    "" if action.reason == f"inputs changed forces {cls.value}" else f"; {action.reason}"
                )
            action.replace_mode = self._replace_mode(r, record, changes, bool(forced_by or stale))
            action.gated_by = [g for g in r.spec.gates() if g in self.m.resources]
            if r.spec.gates() and action.replace_mode is ReplaceMode.DESTROY_BEFORE_CREATE:
                action.warnings.append(
                    f"the old object is deleted before the new one exists, so {', '.join(r.spec.gates())} cannot "
                    "keep it: give the new one a distinct name (a Deployment: a new suffix) to keep the old one "
                    "until they succeed"
                )
            self._running_job_note(r, record, obs, action)
            self._add_cost(action, r)
            self._guard_destroy(r, action)
            return action

        update_changes = [c for c in changes if c.change_class is ChangeClass.UPDATE] if changes else changes
        if update_changes:
            action.action = ActionType.UPDATE
            action.change_class = ChangeClass.UPDATE
            action.changes = changes + local_changes
            action.reason = "; ".join(
                f"{c.path} {_short(c.before)} → {_short(c.after)}" for c in update_changes
            )
            return action

        # A hash that moved with no visible change (e.g. only ignored fields upstream) is a no-op.
        if changes or local_changes:
            action.action = ActionType.UPDATE
            action.change_class = ChangeClass.LOCAL
            action.changes = changes + local_changes
            action.reason = "local fields only: recorded in state, no provider call"
            moves.reference_note(action, renamed)
            return action

        if obs is not None and obs.phase is Phase.PENDING:
            # unsettled is not converged (DESIGN.md §3b.4): apply waits for it, CI sees a change
            action.action = ActionType.WAIT
            action.facts["status"] = obs.status
            if obs.progress:
                action.facts["progress"] = obs.progress
            action.reason = (
                f"{obs.remote_id} is still {obs.status} on the provider"
                + (f" ({obs.progress})" if obs.progress else "")
                + "; apply waits until it is ready"
            )
            return action

        # still the base action's NOOP: every branch above that changes it has returned
        if record.status and obs is None and not self.i.refreshed:
            action.facts["status"] = record.status
        if obs is not None:
            action.facts["status"] = obs.status
            if obs.progress:
                action.facts["progress"] = obs.progress
            warnings = self._observation_notes(r, obs).warnings
            if warnings:  # (most observations have none)
                action.warnings.extend(note.message for note in warnings)
        return action

    def _observation_notes(self, r: Resource, obs: Observation) -> ObservationNotes:
        """The provider's notes on one observation, asked once per resource (drift asks for the
        errors, a no-op for the warnings). The spec is dumped only if the provider reads it."""
        notes = self.notes.get(r.address)
        if notes is None:
            notes = self.notes[r.address] = self._facts(r.provider_type).observation_notes(
                r.kind.value, _SpecDump(r), obs
            )
        return notes

    def _held_back(
        self, r: Resource, record: ResourceRecord | None, action: Action, verdict: str, message: str
    ) -> Action:
        """An open journal row holds this resource: nothing is planned for it until it settles."""
        action.action = ActionType.WAIT
        action.prior = record.to_dict() if record is not None else None
        action.reason = message
        action.facts["journal"] = verdict
        if verdict in ("ambiguous", "unknown"):
            self.diagnostics.append(Diagnostic(message, location=r.location, address=r.address))
        return action

    def _stale_lineage(
        self, r: Resource, record: ResourceRecord, *, hash_moved: bool
    ) -> list[tuple[str, str, str]]:
        """Upstreams whose current object is not the one this resource was built from.

        (upstream address, object built from, current object). A dataset's identity is its
        content: a new upload of the same bytes (an upload that expired, say) retrains
        nothing, so a dataset counts only when this resource's identity hash moved too — the
        content it was trained on is not the content the manifests now say (e.g. a run killed
        after uploading the new dataset, before retraining).
        """
        out = []
        records = self.i.records
        for dep, built in (record.built_from or {}).items():
            upstream = records.get(dep)
            if upstream is None or not upstream.remote_id:
                continue
            if upstream.kind == _DATASET and not hash_moved:
                continue
            if upstream.remote_id != built:
                out.append((dep, built, upstream.remote_id))
        out.sort()  # by upstream address (each is there once): sorted only when something is stale
        return out

    def _drift(
        self, r: Resource, record: ResourceRecord, obs: Observation, action: Action, ignore: list[str]
    ) -> Action | None:
        if obs.phase is Phase.GONE or obs.phase is Phase.DELETING:
            action.action = ActionType.CREATE
            action.drift = True
            action.change_class = _FORCED_CLASS[r.kind]
            what = obs.message or f"{record.remote_id or r.address} was deleted outside reconciler"
            action.reason = f"{what}; it will be created again"
            self._add_cost(action, r)
            return action
        if obs.phase in (Phase.FAILED, Phase.CANCELED):
            action.action = ActionType.REPLACE
            action.drift = True
            action.change_class = _FORCED_CLASS[r.kind]
            if obs.facts.get("log_tail"):  # why it failed, in the provider's own words (display only)
                action.facts["log_tail"] = list(obs.facts["log_tail"])
            word = {
                "FineTune": "job",
                "Deployment": "deployment",
                "CheckpointExport": "export",
                "Sample": "render",
                "Dataset": "file",
            }[r.kind.value]
            detail = f": {obs.message}" if obs.message else ""
            action.reason = f"{word} {obs.remote_id} is {obs.status} on the provider{detail}"
            action.replace_mode = ReplaceMode.CREATE_BEFORE_DESTROY
            self._add_cost(action, r)
            self._guard_destroy(r, action)
            return action
        for note in self._observation_notes(r, obs).errors:
            self.diagnostics.append(
                Diagnostic(note.message, location=r.location, address=r.address, field=note.field)
            )
        # in-place drift of live fields (e.g. capacity scaled in the console)
        desired = _flattened_at(action.desired or {}, obs.live_fields) if obs.live_fields else {}
        outside = [
            FieldChange(
                path=p, before=v, after=desired.get(p), change_class=self._class_of(r, p), outside=True
            )
            for p, v in obs.live_fields.items()
            if p in desired and desired[p] != v and not _ignored(p, ignore)
        ]
        if outside and record.spec_hash == self.hashes[r.address]:
            action.action = ActionType.UPDATE
            action.drift = True
            action.change_class = max((c.change_class for c in outside), key=lambda c: c.rank)
            action.changes = outside
            action.reason = "changed outside reconciler: " + "; ".join(
                f"{c.path} is {_short(c.before)}, manifest says {_short(c.after)}" for c in outside
            )
            if action.change_class.rank > ChangeClass.UPDATE.rank:
                action.action = ActionType.REPLACE
                action.replace_mode = ReplaceMode.CREATE_BEFORE_DESTROY
                self._guard_destroy(r, action)
            return action
        return None

    # ------------------------------------------------------------------ prune / destroy
    def _plan_prunes(self) -> list[Action]:
        desired = set(self.m.resources)
        gone = {a: rec for a, rec in self.i.records.items() if a not in desired}
        return [self._removal(rec, reason="removed from the manifests") for rec in _reverse_order(gone)]

    def destroy_all(self) -> list[Action]:
        return [self._removal(rec, reason="destroy") for rec in _reverse_order(dict(self.i.records))]

    def _removal(self, rec: ResourceRecord, reason: str) -> Action:
        lifecycle = rec.lifecycle or {}
        obs = self.i.observations.get(rec.address)
        action = Action(
            address=rec.address,
            kind=rec.kind,
            name=rec.name,
            provider=rec.provider,
            provider_type=rec.provider_type,
            action=ActionType.DELETE,
            prior=rec.to_dict(),
            depends_on=list(rec.dependencies),
            labels=dict(rec.labels),
            lifecycle=dict(lifecycle),
        )
        if lifecycle.get("deletion") == "retain":
            action.action = ActionType.FORGET
            action.reason = f"{reason}; lifecycle.deletion is retain: forgotten, left on the provider"
            return action
        if obs is not None and obs.phase is Phase.GONE:
            action.action = ActionType.FORGET
            action.reason = f"{reason}; already deleted outside reconciler"
            return action
        why = self._no_delete_api(rec.provider, rec.kind)
        status = (obs.status if obs else rec.status) or ""
        if why:  # prevent_destroy still refuses it (below): reconciler would stop managing it
            action.action = ActionType.FORGET
            action.reason = f"{reason}; forgotten, not deleted: {why}"
        elif self._running(rec.kind, rec.provider_type, status):
            action.action = ActionType.CANCEL
            action.reason = f"{reason}; job {rec.remote_id} is {status}: it will be canceled, then deleted"
            self._running_for(rec, obs, action)
        else:
            action.reason = reason
        if lifecycle.get("prevent_destroy"):
            self.diagnostics.append(
                Diagnostic(
                    f"is set, but the plan would {action.action.value} it ({reason}); "
                    "remove prevent_destroy first, or keep the resource",
                    address=rec.address,
                    field="lifecycle.prevent_destroy",
                )
            )
        return action

    # ------------------------------------------------------------------ pieces
    def _base_action(self, r: Resource) -> Action:
        # Built without validation (`trusted`): every value below is made here, of its field's
        # type. The action holds the dump the spec hash was computed from, the resource's labels
        # and its content's file table as they are (validating would copy each of them once
        # more, for every resource); nothing changes them: apply copies what it records.
        content, address = r.content, r.address
        # (a copy of the template, every field in declaration order, then this resource's values:
        # `trusted` without its keywords and check; a dict's copy is one block, not 28 inserts)
        values = _BASE_ACTION.copy()
        values["address"] = address
        values["kind"] = r.kind._value_
        values["name"] = r.name
        values["provider"] = r.provider_name
        values["provider_type"] = self._type_name(r.provider_type)
        values["depends_on"] = r.dependencies()
        values["desired"] = r.shared_effective_spec()
        values["spec_hash"] = self.hashes[address]
        if content is not None:
            values["content"] = {
                "digest": content.digest,
                "files": content.files,
                "sample_count": content.sample_count,
                "total_bytes": content.total_bytes,
                "source": content.source,
            }
        values["gated_by"] = []
        values["labels"] = r.labels
        values["lifecycle"] = self._lifecycle_data(r.lifecycle)
        values["changes"] = []
        values["warnings"] = []
        values["facts"] = {}
        return Action._trusted_in_order(values)

    def _type_name(self, provider_type: ProviderType) -> str:
        """`provider_type.value`, one string per type and plan (`.value` makes a new one per call)."""
        name = self._type_names.get(provider_type)
        if name is None:
            name = self._type_names[provider_type] = provider_type.value
        return name

    def _lifecycle_data(self, lifecycle: Lifecycle) -> dict[str, Any]:
        known = self._lifecycles.get(id(lifecycle))
        if known is None:
            known = self._lifecycles[id(lifecycle)] = (lifecycle, _lifecycle_data(lifecycle))
        return known[1]

    def _class_of(self, r: Resource, path: str) -> ChangeClass:
        top = path.split(".", 1)[0].split("[", 1)[0]
        info = type(r.spec).model_fields.get(top)
        cls = field_change_class(info) if info is not None else None
        return cls or _FORCED_CLASS[r.kind]

    def _field_changes(self, r: Resource, record: ResourceRecord) -> tuple[list[FieldChange], dict[str, Any]]:
        """Field-level before → after, plus (for datasets) which files changed."""
        before, after = record.spec or {}, r.effective_spec()
        changes: list[FieldChange] = []
        facts: dict[str, Any] = {}
        if before != after:
            from deepdiff import DeepDiff  # ~0.15 s to import; a no-change plan never needs it

            # the tree view hands each change's path as keys and indices: nothing to parse
            diff = DeepDiff(before, after, ignore_order=False, view="tree")
            flat_before, flat_after = _flatten(before), _flatten(after)
            paths = {
                _field_path(level.path(output_format="list"))
                for report in _DIFF_REPORTS
                for level in diff.get(report, ())
            }
            for p in sorted(paths):
                b = flat_before.get(p, _lookup(before, p))
                a = flat_after.get(p, _lookup(after, p))
                changes.append(FieldChange(path=p, before=b, after=a, change_class=self._class_of(r, p)))
        if r.content and r.content.digest != record.content_digest:
            added, removed, modified = _file_changes(record.content_files or {}, r.content.files)
            summary = ", ".join(
                f"{n} {w}"
                for n, w in ((len(modified), "modified"), (len(added), "added"), (len(removed), "removed"))
                if n
            )
            changes.append(
                FieldChange(
                    path="(content)",
                    before=record.content_digest,
                    after=r.content.digest,
                    change_class=ChangeClass.RETRAIN,
                )
            )
            facts = {
                "files_added": added,
                "files_removed": removed,
                "files_modified": modified,
                "summary": summary or "content changed",
            }
        return changes, facts

    def _local_changes(
        self, r: Resource, record: ResourceRecord, lifecycle: dict[str, Any]
    ) -> list[FieldChange]:
        """`lifecycle` is `r.lifecycle` as JSON data (the action's copy: dumped once per resource)."""
        out = []
        before = record.labels or {}
        # (plain dicts compare as they are; another mapping as a dict, as before)
        if (before if type(before) is dict else dict(before)) != (
            r.labels if type(r.labels) is dict else dict(r.labels)
        ):
            out.append(
                FieldChange(
                    path="metadata.labels",
                    before=record.labels,
                    after=r.labels,
                    change_class=ChangeClass.LOCAL,
                )
            )
        if (record.lifecycle or {}) != lifecycle:
            for p, v in _flatten({"lifecycle": lifecycle}).items():
                old = _flatten({"lifecycle": record.lifecycle or {}}).get(p)
                if old != v:
                    out.append(FieldChange(path=p, before=old, after=v, change_class=ChangeClass.LOCAL))
        return out

    def _upstream_new(self, r: Resource) -> bool:
        return any(
            self.actions.get(dep) is not None
            and self.actions[dep].action in (ActionType.CREATE, ActionType.REPLACE)
            and self.actions[dep].kind != Kind.DATASET.value
            or (
                self.actions.get(dep) is not None
                and self.actions[dep].kind == Kind.DATASET.value
                and self.actions[dep].action is ActionType.REPLACE
            )
            for dep in r.dependency_addresses
        )

    def _forced_by(self, r: Resource) -> list[Action]:
        """Upstream actions that force this resource to be replaced.

        A replaced dataset (new content) or any new fine-tune/export (new model) forces its
        dependents; a dataset merely re-uploaded with the same content does not retrain anything.
        """
        forced = []
        for dep in r.dependency_addresses:
            a = self.actions.get(dep)
            if a is None or a.action is ActionType.NOOP:  # (the common case, asked first)
                continue
            if a.kind == _DATASET and a.facts.get("replacement") == "requested" and not a.changes:
                continue  # the same content uploaded again: what was trained on it is unchanged
            if a.action is ActionType.REPLACE or a.action is ActionType.CREATE and a.kind != _DATASET:
                forced.append(a)
        return forced

    def _replace_reason(
        self,
        changes: list[FieldChange],
        forced_by: list[Action],
        cls: ChangeClass,
        facts: dict[str, Any],
        stale: list[tuple[str, str, str]] | None = None,
        kind: str = "",
    ) -> str:
        parts = [
            f"{_BUILT_FROM.get(kind, 'was built from')} {built}, but {dep} is now {now}"
            for dep, built, now in stale or []
        ]
        for c in changes:
            if c.change_class is ChangeClass.LOCAL:
                continue
            if c.path == "(content)":
                parts.append(f"dataset content changed ({facts.get('summary', 'content changed')})")
            else:
                parts.append(f"{c.path} {_short(c.before)} → {_short(c.after)}")
        for a in forced_by:
            what = {
                "Dataset": "content changed",
                "FineTune": "is retrained (new model)",
                "CheckpointExport": "is re-exported (new model)",
                "Deployment": "is replaced",
                "Sample": "is rendered again",
            }[a.kind]
            if a.action is ActionType.CREATE and a.drift:
                what = "is created again"
            parts.append(f"{a.address} {what}")
        if not parts:
            parts.append("inputs changed")
        return f"{'; '.join(parts)} forces {cls.value}"

    def _replace_mode(
        self, r: Resource, record: ResourceRecord, changes: list[FieldChange], forced: bool
    ) -> ReplaceMode:
        """The provider says whether the replacement can stand beside the old object."""
        references = type(r.spec).REFERENCES
        upstream_changed = forced or any(c.path in references for c in changes)  # rebuilt from a new upstream
        return self._facts(r.provider_type).replace_mode(
            r.kind.value, record.spec or {}, r.effective_spec(), upstream_changed=upstream_changed
        )

    def _facts(self, provider_type: str) -> ProviderFacts:
        facts = self.facts.get(provider_type)
        if facts is None:
            facts = self.facts[provider_type] = self.i.facts(provider_type)
        return facts

    def _running(self, kind: str, provider_type: str, status: str) -> bool:
        return bool(status) and self._facts(provider_type).running(kind, status)

    def _running_job_note(
        self, r: Resource, record: ResourceRecord, obs: Observation | None, action: Action
    ) -> None:
        status = (obs.status if obs else record.status) or ""
        if self._running(r.kind.value, r.provider_type, status):
            since = self._running_for(record, obs, action)
            action.replace_mode = ReplaceMode.DESTROY_BEFORE_CREATE
            action.reason += (
                f"; the {status} job {record.remote_id}"
                + (f" (running for {since})" if since else "")
                + " will be canceled first"
            )

    def _running_for(self, rec: ResourceRecord, obs: Observation | None, action: Action) -> str | None:
        started = obs.created_at if obs and obs.created_at else None
        if started and self.i.now:
            text = format_duration(self.i.now - started)
            action.facts["running_for"] = text
            return text
        return None

    def _add_cost(self, action: Action, r: Resource) -> None:
        """Training steps (the money and GPU-hours are added for every action by engine/costing.py)."""
        if r.kind is not Kind.FINE_TUNE:
            return
        steps = self._training_steps(r)
        cost = Cost(training_steps=steps)
        if steps is not None:
            hours = r.spec.estimated_gpu_hours(steps)
            cost.estimated_gpu_hours = hours
            cost.note = f"{steps} training steps" + (
                f", about {hours} GPU-hours (estimate)" if hours is not None else ""
            )
            action.warnings.extend(r.spec.training_warnings(steps))
        else:
            cost.note = "a new training job (hours of GPU time)"
        action.cost = cost

    def hours_of(self, address: str) -> float | None:
        """The estimated duration of the training a resource declares (for queue estimates)."""
        r = self.m.resources.get(address)
        steps = self._training_steps(r) if r is not None and r.kind is Kind.FINE_TUNE else None
        return r.spec.estimated_gpu_hours(steps) if r is not None and steps is not None else None

    def _training_steps(self, r: Resource) -> int | None:
        """The provider's count (its spec model's rule) over the samples of the datasets it trains on."""
        samples = 0
        for _, kind, name in r.spec.references():
            ds = self.m.resources.get(f"Dataset/{name}") if kind is Kind.DATASET else None
            if ds is not None:
                samples += ds.spec.training_samples(ds.content.sample_count if ds.content else None)
        try:
            return r.spec.planned_training_steps(samples)
        except (TypeError, ValueError, ZeroDivisionError):
            return None

    def _guard_destroy(self, r: Resource, action: Action) -> None:
        if r.lifecycle.prevent_destroy:
            self.diagnostics.append(
                Diagnostic(
                    f"is set, but the plan would replace it ({action.reason}); "
                    "remove prevent_destroy to allow it, or revert the change",
                    location=r.location_of("lifecycle.prevent_destroy"),
                    address=r.address,
                    field="lifecycle.prevent_destroy",
                )
            )


# ---------------------------------------------------------------------- helpers
# Every field of a planned resource's base action, in `Action`'s declaration order, holding the
# values every one starts with (`_base_action` copies it and sets the rest; the mutable ones,
# None here, are made per action). The golden plans' bytes check the order.
_BASE_ACTION: dict[str, Any] = {
    "address": None,
    "kind": None,
    "name": None,
    "provider": None,
    "provider_type": None,
    "action": ActionType.NOOP,
    "change_class": None,
    "replace_mode": None,
    "depends_on": None,
    "desired": None,
    "spec_hash": None,
    "content": None,
    "prior": None,
    "adopted": None,
    "deposed": None,
    "gated_by": None,
    "labels": None,
    "lifecycle": None,
    "drift": False,
    "moved_from": None,
    "reason": "",
    "changes": None,
    "warnings": None,
    "facts": None,
    "cost": None,
}
_DATASET = Kind.DATASET.value
_NO_PLAN_FACTS = ResourceSpec.plan_facts  # the base method: no facts, whatever was recorded
# The default lifecycle, made without validation: `Lifecycle()` here built its validator and
# serializer (~20 ms, and pydantic's plugin scan with them) in every command that imports the
# planner, though a plan loaded from the memo validates no Lifecycle at all. Its dump is written
# out; tests/engine/test_default_lifecycle.py holds both to `Lifecycle()` and its `model_dump`.
_DEFAULT_LIFECYCLE = Lifecycle.model_construct(timeouts=Timeouts.model_construct())
_DEFAULT_LIFECYCLE_DATA: dict[str, Any] = {
    "prevent_destroy": False,
    "deletion": "delete",
    "ignore_changes": [],
    "timeouts": {"create": None, "update": None, "delete": None},
    "on_timeout": None,
}


def _lifecycle_data(lifecycle: Lifecycle) -> dict[str, Any]:
    """`lifecycle.model_dump(mode="json")`. Most resources declare none: theirs is one dict, shared
    by their actions (read only: nothing changes an action's lifecycle; apply and the state copy it)."""
    if type(lifecycle) is Lifecycle and lifecycle == _DEFAULT_LIFECYCLE:
        return _DEFAULT_LIFECYCLE_DATA
    return lifecycle.model_dump(mode="json")


class _SpecDump(Mapping[str, Any]):
    """`r.spec.model_dump()`, made on the first read: most observations' notes never read the spec."""

    def __init__(self, resource: Resource) -> None:
        self._resource = resource
        self._dump: dict[str, Any] | None = None

    def _data(self) -> dict[str, Any]:
        if self._dump is None:
            self._dump = self._resource.spec.model_dump()
        return self._dump

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


class _RecordedOutputs(Mapping[str, Any]):
    """`record.outputs`, read on the first look: most specs' facts look at them only for some
    settings (a checkpoint selector), and a record read from the state decodes its outputs on the
    first read (with the rest of its batch: `state/sqlite.py`), which a no-change plan never needs."""

    __slots__ = ("_record",)

    def __init__(self, record: ResourceRecord) -> None:
        self._record = record

    def __getitem__(self, key: str) -> Any:
        return self._record.outputs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._record.outputs)

    def __len__(self) -> int:
        return len(self._record.outputs)


def _deposed_reason(remote: str, old: Mapping[str, Any], current: ResourceRecord) -> str:
    if (
        old.get("spec_hash") == current.spec_hash
        and old.get("built_from") == current.built_from
        and old.get("status") == current.status
    ):
        return (
            f"{remote} duplicates {current.remote_id} (the same create landed twice): the older one is kept, "
            "this one is deleted"
        )
    return f"{remote} was replaced by {current.remote_id} in an earlier apply that stopped before deleting it"


def _observation_dict(o: Observation) -> dict[str, Any]:
    return {
        "remote_id": o.remote_id,
        "phase": o.phase.value,
        "status": o.status,
        "outputs": o.outputs,
        "object": o.object,
        "message": o.message,
        "created_at": o.created_at,
    }


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        if not data and prefix:
            out[prefix] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = data
    return out


def _flattened_at(data: dict[str, Any], paths: Mapping[str, Any]) -> dict[str, Any]:
    """`_flatten(data)` as far as `paths` can read it: only the top-level keys a path can start
    with are flattened (a drift check asks for a few live fields of a spec flattened to ~30 paths,
    on every resource of a plan). Same values for every path in `paths`, and the same overrides,
    since the keys are taken in `data`'s order as `_flatten` takes them."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = str(k)
        if any(p == key or p.startswith(key + ".") for p in paths):
            out.update(_flatten(v, key))
    return out


# the DeepDiff reports that are changes of a spec field (the others are about attributes, sets…)
_DIFF_REPORTS = (
    "values_changed",
    "type_changes",
    "dictionary_item_added",
    "dictionary_item_removed",
    "iterable_item_added",
    "iterable_item_removed",
)


def _field_path(parts: list[str | int]) -> str:
    """["hyper_parameters", "n_epochs"] -> "hyper_parameters.n_epochs"; ["x", 0, "y"] -> "x[0].y"."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _lookup(data: Any, path: str) -> Any:
    cur = data
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            try:
                cur = cur[int(part[1:-1])]
            except (IndexError, TypeError, ValueError):
                return None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


def _ignored(path: str, ignore: list[str]) -> bool:
    for raw in ignore:
        p = raw.removeprefix("spec.")
        if path == p or path.startswith(p + ".") or path.startswith(p + "["):
            return True
    return False


def _file_changes(
    before: Mapping[str, str], after: Mapping[str, str]
) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    modified = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    return added, removed, modified


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _reverse_order(records: dict[str, ResourceRecord]) -> list[ResourceRecord]:
    """Dependents before their dependencies; deterministic."""
    kind_rank = {k.value: i for i, k in enumerate(Kind)}
    dependents: dict[str, set[str]] = {a: set() for a in records}
    for a, rec in records.items():
        for d in rec.dependencies:
            if d in dependents:
                dependents[d].add(a)
    last_kind_first = lambda a: (-kind_rank.get(records[a].kind, 0), a)  # noqa: E731
    try:
        order = sorted_rounds(dependents, key=last_kind_first)
    except graphlib.CycleError:  # a cycle in recorded dependencies: fall back to kind order
        order = sorted(records, key=last_kind_first)
    return [records[a] for a in order]
