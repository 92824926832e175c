"""The Python API: one manifest set, its state, and its providers.

    ws = Workspace(["manifests/quickstart"])
    plan = ws.plan()
    result = ws.apply(plan)

Every CLI command is a thin wrapper over a method here. The workspace owns the sequence
(load → lock → refresh → plan → execute); the planner and executor own the decisions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.datasets import ContentCache, content_digest
from reconciler.engine.identity import spec_hashes
from reconciler.engine.outcomes import ApplyResult
from reconciler.engine.planning import PlanInputs, make_plan
from reconciler.engine.progress import ProgressSink
from reconciler.engine.refreshing import RefreshResult, refresh
from reconciler.loading import load_manifests
from reconciler.loading.parse_cache import ParseCache
from reconciler.models.kinds import parse_address
from reconciler.models.plans import Plan
from reconciler.models.resources import ManifestSet
from reconciler.models.state import ResourceRecord, iso_utc
from reconciler.providers.interface import LORA_OUTPUT_KEYS, Phase, ProviderAdapter
from reconciler.state.interface import StateError, StateStore
from reconciler.state.sqlite import SqliteStateStore, default_state_path
from reconciler.wiring import WiringContext, build_adapters


class WorkspaceError(Exception):
    """A command cannot go ahead; the message says why and what to do."""


class StalePlanError(WorkspaceError):
    pass


@dataclass
class RefreshSummary:
    refreshed: int
    adopted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    resolved_journal: int = 0
    diagnostics: list[str] = field(default_factory=list)


class Workspace:
    def __init__(
        self,
        paths: Iterable[str | Path],
        *,
        state_path: str | Path | None = None,
        clock: Clock = SYSTEM_CLOCK,
        wiring: WiringContext | None = None,
        parallelism: int = 10,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise WorkspaceError("no manifests given; use -f PATH (a file or a directory)")
        self.clock = clock
        self.parallelism = parallelism
        self._manifests: ManifestSet | None = None
        first = self.paths[0]
        root = first if first.is_dir() else first.parent
        self.state_path = Path(state_path) if state_path else default_state_path(root)
        self.wiring = wiring or WiringContext(clock=clock)
        if self.wiring.sandbox_db is None:
            self.wiring.sandbox_db = self.state_path.parent / "sandbox.db"
        self.wiring.clock = clock
        self.wiring.parallelism = parallelism
        self._adapters: dict[str, ProviderAdapter] | None = None
        self._content_cache: ContentCache | None = None
        self._hashes: dict[str, str] | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def manifests(self) -> ManifestSet:
        if self._manifests is None:
            # raises ManifestError with every diagnostic (and then writes nothing)
            parse_cache = ParseCache.in_directory(self.state_path.parent)
            self._manifests = load_manifests(self.paths, content_cache=self.content_cache, parse_cache=parse_cache)
            self.content_cache.save()
            parse_cache.save()
            self._content_cache = None  # saved; apply's re-check reads it again, a plan keeps the memory
        return self._manifests

    @property
    def content_cache(self) -> ContentCache:
        """Dataset hashes and layout results beside the state (never inside `state.db`)."""
        if self._content_cache is None:
            self._content_cache = ContentCache.in_directory(self.state_path.parent)
        return self._content_cache

    def spec_hashes(self) -> dict[str, str]:
        """Every resource's identity hash, computed once per workspace (refresh and planner share it)."""
        if self._hashes is None:
            self._hashes = spec_hashes(self.manifests)
        return self._hashes

    def adapters(self) -> dict[str, ProviderAdapter]:
        if self._adapters is None:
            self._adapters = build_adapters(self.manifests.providers, self.wiring)
        return self._adapters

    def _preflight(self) -> None:
        """Load manifests and wire providers before anything is written: bad input changes nothing."""
        self.adapters()

    def open_state(self, *, readonly: bool) -> StateStore:
        return SqliteStateStore.open(self.state_path, readonly=readonly, clock=self.clock)

    def _refresh(self, store: StateStore, *, discover: bool = True) -> RefreshResult:
        manifests = self.manifests
        return refresh(manifests, store.all(), self.adapters(), self.spec_hashes(), now=self.clock.now(),
                       journal=store.open_journal(), discover=discover, parallelism=self.parallelism)

    def _plan_from(self, store: StateStore, *, refresh_first: bool, operation: str) -> tuple[Plan, RefreshResult | None]:
        manifests = self.manifests
        meta = store.meta()
        result = self._refresh(store, discover=operation == "apply") if refresh_first else None
        inputs = PlanInputs(
            manifests=manifests,
            records=result.records if result else store.all(),
            meta=meta,
            observations=result.observations if result else {},
            discovered=result.discovered if result else {},
            now=self.clock.now(),
            refreshed=refresh_first,
            operation=operation,
            reconciler_version=__version__,
            created_at=iso_utc(self.clock.now()),
            manifest_paths=[str(p.resolve()) for p in self.paths],
            state_path=str(self.state_path.resolve()),
            hashes=self.spec_hashes(),
        )
        plan = make_plan(inputs)
        if result and result.diagnostics:
            plan.errors.extend(d.to_dict() for d in result.diagnostics)
        return plan, result

    # ------------------------------------------------------------------ commands
    def plan(self, *, refresh: bool = True, destroy: bool = False) -> Plan:
        """Read-only: the state database is left byte-for-byte unchanged."""
        store = self.open_state(readonly=True)
        try:
            plan, _ = self._plan_from(store, refresh_first=refresh, operation="destroy" if destroy else "apply")
            return plan
        finally:
            store.close()

    def apply(
        self,
        plan: Plan | None = None,
        *,
        destroy: bool = False,
        confirm: Callable[[Plan], bool] | None = None,
        wait: bool = True,
        progress: ProgressSink | None = None,
        stop: threading.Event | None = None,
        lock_timeout: float = 0.0,
        refresh: bool = True,
    ) -> tuple[Plan, ApplyResult | None]:
        """Plan (unless given a saved plan), confirm, and execute. Returns (plan, result or None if declined)."""
        self._preflight()
        store = self.open_state(readonly=False)
        try:
            with store.lock("destroy" if destroy else "apply", timeout=lock_timeout):
                refreshed: RefreshResult | None = None
                if plan is None:
                    plan, refreshed = self._plan_from(store, refresh_first=refresh,
                                                      operation="destroy" if destroy else "apply")
                else:
                    self._check_saved(plan, store)
                if plan.errors:
                    return plan, None
                if confirm is not None and plan.has_changes and not confirm(plan):
                    return plan, None
                if refreshed is not None:
                    self._persist_refresh(store, refreshed)
                from reconciler.engine.applying import ApplyOptions, Executor  # only apply executes

                executor = Executor(store, self.adapters(), self.clock,
                                    options=ApplyOptions(parallelism=self.parallelism, wait=wait,
                                                         verify_content=self._verify_content),
                                    progress=progress, stop=stop)
                result = executor.apply(plan)
                self.content_cache.save()  # what the pre-upload re-checks hashed
                return plan, result
        finally:
            store.close()

    def _verify_content(self, source_path: str) -> str:
        """Apply's re-check of a dataset before upload: stat'ed against the cache, changed files re-read."""
        return content_digest(source_path, self.content_cache)

    def _check_saved(self, plan: Plan, store: StateStore) -> None:
        meta = store.meta()
        if plan.operation == "apply" and not plan.lineage and plan.serial == 0 and meta.serial == 0:
            return  # planned before any state existed, and none has been written since
        if plan.lineage and meta.lineage and plan.lineage != meta.lineage:
            raise StalePlanError(f"this plan was made for a different state (lineage {plan.lineage}, "
                                 f"the state at {self.state_path} has {meta.lineage}); make a new plan")
        if plan.serial != meta.serial:
            raise StalePlanError(f"the state changed since this plan was made (serial {plan.serial} → {meta.serial}); "
                                 "run 'reconciler plan --out' again and apply the new plan")

    def _persist_refresh(self, store: StateStore, refreshed: RefreshResult) -> None:
        current = store.all()
        changed = [r for a, r in refreshed.records.items() if a in current and r != current[a]]
        if changed:
            store.put_many(changed, event="refreshed")
        for entry, found in refreshed.resolved_journal:
            store.journal_close(entry.id, "resolved", result={"found": found.remote_id if found else None})
        for entry in store.open_journal():
            if entry.operation != "create" or entry.address in current:
                store.journal_close(entry.id, "resolved", result={"how": "re-planned from refreshed state"})

    def refresh(self, *, lock_timeout: float = 0.0) -> RefreshSummary:
        """Update the cache from the providers (and adopt what discovery finds); nothing remote changes."""
        self._preflight()
        store = self.open_state(readonly=False)
        try:
            with store.lock("refresh", timeout=lock_timeout):
                result = self._refresh(store)
                self._persist_refresh(store, result)
                hashes = self.spec_hashes()
                adopted = []
                for address, obs in result.discovered.items():
                    resource = self.manifests.resources[address]
                    rec = self._record_for(resource, hashes[address], obs, store)
                    store.put(rec, event="adopted", detail={"remote_id": obs.remote_id, "by": "refresh"})
                    adopted.append(address)
                gone = [a for a, o in result.observations.items() if o.phase is Phase.GONE]
                return RefreshSummary(refreshed=len(result.observations), adopted=adopted, gone=gone,
                                      resolved_journal=len(result.resolved_journal),
                                      diagnostics=[str(d) for d in result.diagnostics])
        finally:
            store.close()

    def _record_for(self, resource: Any, spec_hash: str, obs: Any, store: StateStore) -> ResourceRecord:
        now = iso_utc(self.clock.now())
        content = resource.content
        return ResourceRecord(
            address=resource.address, kind=resource.kind.value, name=resource.name,
            provider=resource.provider_name, provider_type=resource.provider_type.value,
            remote_id=obs.remote_id, spec=resource.effective_spec(), spec_hash=spec_hash,
            content_digest=content.digest if content else None,
            content_files=dict(content.files) if content else {}, status=obs.status, observed=obs.object,
            outputs=dict(obs.outputs), dependencies=resource.dependencies(), labels=dict(resource.labels),
            lifecycle=resource.lifecycle.model_dump(mode="json"), created_at=now, updated_at=now, observed_at=now)

    def import_resource(self, address: str, remote_id: str, *, lock_timeout: float = 0.0) -> ResourceRecord:
        """Adopt an existing provider object into state (the resource must be declared in the manifests)."""
        try:
            parse_address(address)
        except ValueError as e:
            raise WorkspaceError(str(e)) from None
        resource = self.manifests.get(address)
        if resource is None:
            raise WorkspaceError(f"{address} is not declared in the manifests; add it first, then import it")
        self._preflight()
        store = self.open_state(readonly=False)
        try:
            with store.lock("import", timeout=lock_timeout):
                existing = store.get(address)
                if existing is not None:
                    raise WorkspaceError(f"{address} is already in state (remote id {existing.remote_id}); "
                                         f"'reconciler state rm {address}' first to re-import")
                adapter = self.adapters()[resource.provider_name]
                content = resource.content
                probe = ResourceRecord(address=address, kind=resource.kind.value, name=resource.name,
                                       provider=resource.provider_name, provider_type=resource.provider_type.value,
                                       remote_id=remote_id, spec=resource.effective_spec(), spec_hash="",
                                       content_digest=content.digest if content else None)
                obs = adapter.read(probe)
                if obs.phase is Phase.GONE:
                    raise WorkspaceError(f"{resource.provider_name} has no {resource.kind.value} with id {remote_id}")
                record = self._record_for(resource, self.spec_hashes()[address], obs, store)
                store.put(record, event="imported", detail={"remote_id": remote_id})
                return record
        finally:
            store.close()

    def download_outputs(self, directory: str | Path, address: str | None = None,
                         *, lock_timeout: float = 0.0) -> dict[str, dict[str, dict[str, Any]]]:
        """Fetch every LoRA file in the outputs to DIRECTORY/<Kind>/<name>/, recording sha256s in state.

        Provider output URLs expire (WaveSpeed: 7 days); the recorded sha256 lets a later
        download, or a copy elsewhere, be checked against what the provider produced.
        """
        self._preflight()
        adapters = self.adapters()
        store = self.open_state(readonly=False)
        done: dict[str, dict[str, dict[str, Any]]] = {}
        try:
            with store.lock("output --download", timeout=lock_timeout):
                records = store.all()
                if address is not None and address not in records:
                    raise WorkspaceError(f"{address} is not in state (see 'reconciler state list')")
                for addr, rec in sorted(records.items()):
                    if address is not None and addr != address:
                        continue
                    urls = {k: rec.outputs[k] for k in LORA_OUTPUT_KEYS if isinstance(rec.outputs.get(k), str)}
                    if not urls:
                        continue
                    adapter = adapters.get(rec.provider)
                    if adapter is None or not hasattr(adapter, "download"):
                        raise WorkspaceError(f"{addr}: provider '{rec.provider}' cannot download outputs")
                    files: dict[str, dict[str, Any]] = {}
                    for key, url in urls.items():
                        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or f"{key}.safetensors"
                        target = Path(directory) / rec.kind / rec.name / f"{key}-{name}"
                        size, sha = adapter.download(url, str(target))
                        files[key] = {"path": str(target), "sha256": sha, "bytes": size, "url": url}
                    downloads = {**(rec.outputs.get("downloads") or {}), **files}
                    store.put(replace(rec, outputs={**rec.outputs, "downloads": downloads}), event="downloaded",
                              detail={k: v["sha256"] for k, v in files.items()})
                    done[addr] = files
        finally:
            store.close()
        return done

    # ------------------------------------------------------------------ state inspection
    def records(self) -> dict[str, ResourceRecord]:
        store = self.open_state(readonly=True)
        try:
            return store.all()
        finally:
            store.close()

    def state_rm(self, addresses: list[str], *, lock_timeout: float = 0.0) -> list[str]:
        store = self.open_state(readonly=False)
        try:
            with store.lock("state rm", timeout=lock_timeout):
                missing = [a for a in addresses if store.get(a) is None]
                if missing:
                    raise WorkspaceError(f"not in state: {', '.join(missing)} (see 'reconciler state list')")
                for a in addresses:
                    store.remove(a, event="state-rm", detail={})
                return addresses
        finally:
            store.close()

    def force_unlock(self, lock_id: str | None) -> Any:
        store = self.open_state(readonly=False)
        try:
            return store.force_unlock(lock_id)
        finally:
            store.close()

    def outputs(self, address: str | None = None) -> dict[str, dict[str, Any]]:
        records = self.records()
        if address is not None:
            if address not in records:
                raise WorkspaceError(f"{address} is not in state (see 'reconciler state list')")
            records = {address: records[address]}
        return {a: {"remote_id": r.remote_id, "status": r.status, **r.outputs} for a, r in sorted(records.items())}


__all__ = ["RefreshSummary", "StalePlanError", "StateError", "Workspace", "WorkspaceError"]
