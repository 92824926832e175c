"""The Python API: one manifest set, its state, and its providers.

    ws = Workspace(["manifests/quickstart"])
    plan = ws.plan()
    result = ws.apply(plan)

Every CLI command is a thin wrapper over a method here. The workspace owns the sequence
(load → lock → refresh → plan → execute); the planner and executor own the decisions.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import refresh_ahead
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.datasets import ContentCache, content_digest
from reconciler.datasets.vouchers import Vouchers, vouchers_of
from reconciler.datasets.vouchers import install as install_vouchers
from reconciler.engine.costing import budget_problem, price_actions
from reconciler.engine.events import ApplyEvent, EventCallback, EventSink, retry_events
from reconciler.engine.identity import spec_hashes
from reconciler.engine.moves import plan_moves
from reconciler.engine.outcomes import ApplyResult, ResourceOutcome
from reconciler.engine.planning import PlanInputs, make_plan
from reconciler.engine.planning import prepare as prepare_plan
from reconciler.engine.progress import ProgressSink, SilentProgress
from reconciler.engine.recovering import (
    LOOK_AGAIN_S,
    SETTLE_WINDOW_S,
    Resolution,
    blocked_message,
    persist,
    repair,
    resolve,
    unlooked,
)
from reconciler.engine.targeting import unknown_addresses
from reconciler.loading import ManifestError, load
from reconciler.loading.discovering import NearMiss
from reconciler.loading.load_memo import LoadMemo, derive
from reconciler.loading.parse_cache import ParseCache
from reconciler.models.diagnostics import Diagnostics, Severity
from reconciler.models.envelope import parse_duration
from reconciler.models.kinds import parse_address
from reconciler.models.plans import ActionType, Plan
from reconciler.models.resources import ManifestSet
from reconciler.models.state import Event, ResourceRecord, iso_utc, parse_iso_utc
from reconciler.notifications import ApplyListener
from reconciler.providers.economics import FailureExplainer, PriceQuoter
from reconciler.providers.errors import ProviderError
from reconciler.providers.interface import DOWNLOADABLE_OUTPUT_KEYS, DownloadsOutputs, Phase, ProviderAdapter

if TYPE_CHECKING:
    from reconciler.engine.refreshing import RefreshResult
    from reconciler.gallery import GalleryReport
    from reconciler.loading.project_file import Selection
from reconciler.prune_guard import guard_prunes, near_miss_warnings
from reconciler.state.interface import StateError, StateStore
from reconciler.state.locations import StateLocation, derive_workspace_name, is_postgres_url, state_location
from reconciler.state.ownership import Owner, check_owner, claim
from reconciler.state.sqlite import default_state_path
from reconciler.version import __version__
from reconciler.wiring import (
    WiringContext,
    build_adapters,
    holding_lock,
    open_store,
    provider_economics,
    serial_providers,
    undeletable_kinds,
)

SETTLE_WINDOW_ENV = "RECONCILER_SETTLE_WINDOW"


def settle_window_from_env() -> float:
    """`RECONCILER_SETTLE_WINDOW` (a duration: `90s`, `5m`), else the engine's default."""
    raw = os.environ.get(SETTLE_WINDOW_ENV, "").strip()
    if not raw:
        return SETTLE_WINDOW_S
    try:
        return parse_duration(raw).total_seconds()
    except ValueError as e:
        raise WorkspaceError(f"{SETTLE_WINDOW_ENV}={raw!r}: {e}; use a duration such as 90s or 5m") from None


class _Both:
    """Two progress sinks fed the same reports (the CLI's view and an `on_event` callback)."""

    def __init__(self, first: ProgressSink, second: ProgressSink) -> None:
        self.first, self.second = first, second
        self.wants_ids = True

    def started(self, address: str, action: str) -> None:
        self.first.started(address, action)
        self.second.started(address, action)

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        self.first.waiting(address, status, elapsed, hint, remote_id)
        self.second.waiting(address, status, elapsed, hint, remote_id)

    def finished(self, outcome: ResourceOutcome) -> None:
        self.first.finished(outcome)
        self.second.finished(outcome)


class WorkspaceError(Exception):
    """A command cannot go ahead; the message says why and what to do."""


class StalePlanError(WorkspaceError):
    pass


class OverBudget(WorkspaceError):
    """The plan's known cost is above the budget (`--max-cost`); nothing was applied."""

    def __init__(self, message: str, plan: Plan) -> None:
        super().__init__(message)
        self.plan = plan


@dataclass
class RefreshSummary:
    refreshed: int
    adopted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    resolved_journal: int = 0
    diagnostics: list[str] = field(default_factory=list)


@dataclass
class MigrationSummary:
    source: str
    destination: StateLocation
    lineage: str
    serial: int
    counts: str


class Workspace:
    def __init__(
        self,
        paths: Iterable[str | Path],
        *,
        state_path: str | Path | None = None,
        workspace: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        wiring: WiringContext | None = None,
        parallelism: int = 10,
        settle_window_s: float | None = None,
        allow_empty: bool = False,
        patches: Iterable[str | Path] = (),
        owner: Owner | None = None,
        separate: Callable[[Owner], str] | None = None,
        listeners: Iterable[ApplyListener] = (),
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.patches = [Path(p) for p in patches]  # an environment's merge patches (loading/patching.py)
        # who the state belongs to: a second manifest set on the same state is refused (state/ownership.py)
        self._owner = owner
        self._separate = separate or self._separate_paths
        self.listeners = list(listeners)  # told about each resource and the end of apply (notifications)
        # the command-line flags that select these manifests again, for hints that must work as printed
        self.selection_flags: list[str] = [a for p in self.paths for a in ("-f", str(p))]
        self.environment: str | None = None  # the project environment (for_project), named in plans
        # the project file's budget (for_project): apply refuses a plan above it unless given max_cost
        self.budget: tuple[float, str] | None = None
        self.budget_source = "--max-cost"
        self.settle_window_s = settle_window_s if settle_window_s is not None else settle_window_from_env()
        self.allow_empty = allow_empty  # plan removing everything because nothing is declared (prune_guard)
        if not self.paths:
            raise WorkspaceError("no manifests given; use -f PATH (a file or a directory)")
        self.clock = clock
        self.parallelism = parallelism
        self._manifests: ManifestSet | None = None
        self._near_misses: list[NearMiss] = []  # files the loader passed that look like manifests
        first = self.paths[0]
        root = first if first.is_dir() else first.parent
        # a file path, or a postgresql:// URL and a workspace in it (state/locations.py)
        self.state_location: StateLocation = state_location(
            state_path, manifest_root=root, workspace=workspace
        )
        self.state_path = self.state_location.path or default_state_path(
            root
        )  # SQLite's file (or where it would be)
        self.wiring = wiring or WiringContext(clock=clock)
        if self.wiring.sandbox_db is None:  # the sandbox lives beside a state file, or beside the manifests
            self.wiring.sandbox_db = (
                self.state_location.sandbox_db or default_state_path(root).parent / "sandbox.db"
            )
        self.wiring.clock = clock
        self.wiring.parallelism = parallelism
        self._adapters: dict[str, ProviderAdapter] | None = None
        self._content_cache: ContentCache | None = None
        # an apply's load: what its pre-upload re-checks need (datasets/vouchers.py), not the cache
        self._uploads_follow = False
        self._vouchers: Vouchers | None = None
        self._hashes: dict[str, str] | None = None
        self._hint_confirmed = False  # the refresh hint (refresh_ahead.py) holds these providers already
        self._order: list[str] | None = None

    @classmethod
    def for_project(
        cls,
        selection: Selection,
        *,
        state_path: str | None = None,
        workspace: str | None = None,
        warn: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """One environment of a project file (`loading/project_file.py`): its manifests, patches,
        state and webhook. `state_path` / `workspace` (the flags) override the project file."""
        project, env = selection.project, selection.environment
        state = state_path if state_path else selection.state
        name = workspace or selection.workspace
        if name is None and is_postgres_url(state):
            base = derive_workspace_name(project.root)
            name = f"{base}/{env}" if env is not None else base
        owner = Owner.of_project(project.root, env)

        def separate(recorded: Owner) -> str:
            key = f"environments.{env}.state" if env is not None else "state"
            if state_path:
                return (
                    f"Each environment has its own state by default (.reconciler/<env>/state.db): drop --state "
                    f"(and RECONCILER_STATE), or name one of this environment's own; or set {key} in {project.shown}"
                )
            claim_cmd = shlex.join(["reconciler", "state", "claim", *selection.flags])
            return (
                f"Give it a state of its own: set {key} in {project.shown}; if it replaced the old manifests "
                f"on purpose, '{claim_cmd}' hands the state over"
            )

        listeners: list[ApplyListener] = []
        hook = selection.webhook
        if hook is not None:
            url = hook.url if hook.url is not None else os.environ.get(hook.url_env or "", "")
            source = f"${hook.url_env}" if hook.url_env else project.shown
            if url:
                from reconciler.notifications.webhooks import WebhookNotifier

                listeners.append(
                    WebhookNotifier(
                        url,
                        source=source,
                        project=derive_workspace_name(project.root),
                        environment=env,
                        timeout=hook.timeout,
                        warn=warn,
                    )
                )
            elif warn is not None:
                from reconciler.notifications.webhooks import UnsetWebhook

                listeners.append(
                    UnsetWebhook(source, warn)
                )  # says so when an apply starts, not on every plan
        ws = cls(
            selection.manifest_paths,
            state_path=state,
            workspace=name,
            patches=selection.patches,
            owner=owner,
            separate=separate,
            listeners=listeners,
            **kwargs,
        )
        ws.selection_flags = selection.flags
        ws.environment = env
        if selection.budget is not None:
            ws.budget, ws.budget_source = selection.budget, selection.budget_source
        return ws

    def budget_for(self, max_cost: tuple[float, str] | None) -> tuple[tuple[float, str] | None, str]:
        """The limit a plan is held to, and what to call it: --max-cost wins over the project's budget."""
        if max_cost is not None:
            return max_cost, "--max-cost"
        return self.budget, self.budget_source

    # ------------------------------------------------------------------ plumbing
    @property
    def manifests(self) -> ManifestSet:
        if self._manifests is None:
            # raises ManifestError with every diagnostic (and then writes nothing)
            caches = self.state_path.parent
            parse_cache = ParseCache.in_directory(caches)
            memo = LoadMemo.in_directory(caches)
            self.content_cache.keep_reads = self._uploads_follow  # the bytes its uploads will zip
            result = load(
                self.paths,
                content_cache=self.content_cache,
                parse_cache=parse_cache,
                patches=self.patches,
                memo=memo,
            )
            if not result.ok:
                result.diagnostics.extend(
                    near_miss_warnings(result.near_misses)
                )  # every file renamed to .YAML
                raise ManifestError(result.diagnostics)
            self._near_misses = result.near_misses
            self._manifests = result.manifests
            if result.derived is not None:  # from the memo, for these very datasets
                self._order, self._hashes = result.derived.order, result.derived.hashes
            self.content_cache.save()
            parse_cache.save()
            if result.draft is not None:  # a full load: the next one with the same inputs starts from it
                memo.save(
                    result.draft,
                    result.manifests,
                    derive(result.manifests, self.topological_order, self.spec_hashes),
                )
            if self._uploads_follow:
                self._vouchers = vouchers_of(self.content_cache)
            self._content_cache = None  # saved; apply re-checks through its vouchers, a plan keeps the memory
        return self._manifests

    def expect_uploads(self) -> None:
        """An apply follows: the load keeps what its pre-upload re-checks and zips need (the
        folders' vouchers, and the bytes a cold load reads). Called before the manifests load;
        later, it changes nothing (the re-checks then go through the content cache)."""
        self._uploads_follow = True

    @property
    def content_cache(self) -> ContentCache:
        """Dataset hashes and layout results beside the state (never inside `state.db`)."""
        if self._content_cache is None:
            self._content_cache = ContentCache.in_directory(self.state_path.parent)
        return self._content_cache

    def spec_hashes(self) -> dict[str, str]:
        """Every resource's identity hash, computed once per workspace (refresh and planner share it)."""
        if self._hashes is None:
            self._hashes = spec_hashes(self.manifests, self.topological_order())
        return self._hashes

    def topological_order(self) -> list[str]:
        """The manifests' dependency order, computed once (hashes and the planner both walk it)."""
        if self._order is None:
            self._order = self.manifests.topological_order()
        return list(self._order)

    def adapters(self) -> dict[str, ProviderAdapter]:
        if self._adapters is None:
            self._adapters = build_adapters(self.manifests.providers, self.wiring)
        return self._adapters

    def _preflight(self) -> None:
        """Load manifests and wire providers before anything is written: bad input changes nothing."""
        self.adapters()

    def open_state(self, *, readonly: bool) -> StateStore:
        store = open_store(self.state_location, readonly=readonly, clock=self.clock)
        try:
            check_owner(store, self.owner, location=self.state_display, separate=self._separate)
        except BaseException:
            store.close()
            raise
        return store

    @property
    def owner(self) -> Owner:
        """Who the state belongs to: the project environment, or these `-f` paths (state/ownership.py)."""
        if self._owner is None:
            self._owner = Owner.of_paths(self.paths, self.state_location.path)
        return self._owner

    def _separate_paths(self, recorded: Owner) -> str:
        """How an `-f` set gets a state of its own: name one, or put the differing path first."""
        if recorded.project is not None:
            return "Run it as that environment (--env), or give these manifests their own state with --state PATH"
        theirs = set(recorded.paths)
        location = self.state_location.path
        differing = next(
            (p for p in self.paths if Owner.of_paths([p], location).paths[0] not in theirs), self.paths[0]
        )
        root = differing if differing.is_dir() else differing.parent
        if self.state_location.is_postgresql:
            own = f"--workspace {Owner.of_paths([root]).paths[0]}"
        else:
            own = f"--state {default_state_path(root)}"
        return (
            f"Give this manifest set its own state with {own}, or describe both as environments in a "
            "reconciler.yaml (each environment has its own state); if these manifests replaced the old "
            f"ones on purpose, '{shlex.join(['reconciler', 'state', 'claim', *self.selection_flags])}' hands "
            "the state over"
        )

    def claim_state(self, *, lock_timeout: float = 0.0) -> Owner | None:
        """Record this manifest set as the state's owner, whoever owned it before; returns the previous one."""
        from reconciler.state.ownership import recorded_owner

        store = open_store(self.state_location, readonly=False, clock=self.clock)
        try:
            with store.lock("state claim", timeout=lock_timeout):
                previous = recorded_owner(store)
                claim(store, self.owner)
                return previous
        finally:
            store.close()

    @property
    def state_display(self) -> str:
        """Where the state is, safe to print (a PostgreSQL password is never shown)."""
        if self.state_location.is_postgresql:
            return self.state_location.display
        return str(self.state_path.resolve())

    def _recover(
        self, store: StateStore, *, wait: bool, write: bool, stop: threading.Event | None = None
    ) -> tuple[dict[str, ResourceRecord], list[Resolution]]:
        """Settle the open journal rows (recovering.py); returns the records as they should be.

        `wait`: while a create is still settling, look again until its window has passed (apply);
        otherwise one look each (plan). `write`: persist what was settled (apply, refresh).
        """
        records = store.all()
        entries = store.open_journal()
        if not entries:
            return records, []
        adapters = self.adapters()
        pauses = iter(LOOK_AGAIN_S)
        pause = LOOK_AGAIN_S[0]
        while True:
            resolutions = resolve(entries, records, adapters, self.clock.now(), window=self.settle_window_s)
            settling = [r for r in resolutions if r.verdict == "settling"]
            if not wait or not settling or (stop is not None and stop.is_set()):
                break
            closes = min(parse_iso_utc(r.entry.started_at) + self.settle_window_s for r in settling)
            pause = next(pauses, pause)
            self.clock.sleep(max(0.0, min(pause, closes - self.clock.now())) or 0.01)
        repaired = repair(records, resolutions, self.clock.now())
        if write:
            persist(store, resolutions, repaired)
        return repaired, resolutions

    def _refresh(
        self,
        store: StateStore,
        records: dict[str, ResourceRecord],
        held: frozenset[str],
        *,
        discover: bool = True,
        take_records: bool = False,
    ) -> RefreshResult:
        from reconciler.engine.refreshing import refresh  # only a refreshing command reads the providers

        manifests = self.manifests
        result = refresh(
            manifests,
            records,
            self.adapters(),
            self.spec_hashes,  # asked for only if something is to be discovered
            now=self.clock.now(),
            held=held,
            discover=discover,
            parallelism=self.parallelism,
            take_records=take_records,
        )
        self._keep_refresh_hint()
        return result

    def _keep_refresh_hint(self) -> None:
        """The providers this refresh used, for the next plan's child (`refresh_ahead.py`)."""
        caches = self.state_path.parent
        if not self._hint_confirmed and self.manifests.providers and caches.is_dir():
            refresh_ahead.write_hint(caches, dict(self.manifests.providers))
            self._hint_confirmed = True

    def observe_ahead(self) -> tuple[Any, ...] | None:
        """What a forked child does for a plan of this workspace (`refresh_ahead.observe`)."""
        return refresh_ahead.observe(self.state_location, self.state_display, self.wiring, self.clock)

    def _refreshed_ahead(
        self, store: StateStore, records: dict[str, ResourceRecord], meta: Any
    ) -> RefreshResult | None:
        """The child's refresh (`refresh_ahead.py`), when it was of this state and these providers."""
        refresh_ahead.meanwhile(prepare_plan(self.manifests))  # what planning needs of the manifests
        answer = refresh_ahead.claim()
        if not isinstance(answer, tuple) or len(answer) != 6:
            return None
        shown, seen, providers, packed, diagnostics, warnings = answer
        now_meta = store.meta()
        if (
            shown != self.state_display
            or seen != (meta.lineage, meta.serial)
            or seen != (now_meta.lineage, now_meta.serial)
            or providers != self.manifests.providers
        ):
            return None
        from reconciler.engine.refreshing import RefreshResult, observe_into

        try:
            observations = refresh_ahead.unpack_observations(packed)
        except Exception:  # noqa: BLE001 - an odd answer: this process refreshes itself
            return None
        refresh_ahead.relay(warnings)
        return RefreshResult(
            records=observe_into(records, observations, self.clock.now()),
            observations=observations,
            diagnostics=list(diagnostics),
        )

    def _plan_from(
        self,
        store: StateStore,
        *,
        refresh_first: bool,
        operation: str,
        recovered: tuple[dict[str, ResourceRecord], list[Resolution]] | None = None,
        targets: Iterable[str] = (),
        replace: Iterable[str] = (),
        idle_after_refresh: bool = False,
    ) -> tuple[Plan, RefreshResult | None]:
        """`idle_after_refresh`: the providers are not called again after the refresh (a `plan`;
        an apply goes on to execute, and keeps the emulator's caches warm for it)."""
        manifests = self.manifests
        meta = store.meta()
        if recovered is None:
            recovered = (
                self._recover(store, wait=False, write=False)
                if refresh_first
                else (store.all(), unlooked(store.open_journal()))
            )
        records, resolutions = recovered
        del recovered  # the refreshed records replace these: the old observed objects can go before planning
        targets, replace = list(targets), list(replace)
        self._check_addresses(records, targets, replace)
        # renames first (metadata.moved_from): refresh and the planner see the state as it will be
        moves = plan_moves(manifests, records) if operation == "apply" else None
        if moves is not None:
            # taken, not kept: `moves` lives through planning, and the refresh replaces every record
            records, moves.records = moves.records, {}
        blocked = {r.address: (r.verdict, blocked_message(r)) for r in resolutions if r.blocks}
        result = None
        if refresh_first and idle_after_refresh and not resolutions and not (moves and moves.moved):
            # a plan: the refresh a forked child did while this process loaded, if it checks out
            result = self._refreshed_ahead(store, records, meta)
        else:
            refresh_ahead.discard()  # not a plan's plain refresh: nothing is claimed
        if refresh_first and result is None:
            # handed over: the refreshed records replace these one by one (`observe_into`)
            result = self._refresh(
                store, records, frozenset(blocked), discover=operation == "apply", take_records=True
            )
        if result is not None:
            records = result.records
            self._explain_failures(result)
            if idle_after_refresh:
                # nothing more is asked of the providers: the embedded emulator's caches (its jobs:
                # ~17 MB at 5,000 chains) go before the planner's objects are made, not beside them
                self.wiring.release_sandbox_caches()
        inputs = PlanInputs(
            manifests=manifests,
            records=result.records if result else records,
            meta=meta,
            observations=result.observations if result else {},
            discovered=result.discovered if result else {},
            unrecognised=result.unrecognised if result else {},
            blocked=blocked,
            now=self.clock.now(),
            refreshed=refresh_first,
            operation=operation,
            reconciler_version=__version__,
            created_at=iso_utc(self.clock.now()),
            manifest_paths=[str(p.resolve()) for p in self.paths],
            state_path=self.state_display,
            undeletable=undeletable_kinds(manifests.providers),
            hashes=self.spec_hashes(),
            order=self.topological_order(),
            economics=provider_economics(manifests.providers),
            targets=frozenset(targets) if targets else None,
            replace=frozenset(replace),
            moved=moves.moved if moves is not None else {},
        )
        plan = make_plan(inputs)
        plan.environment = self.environment
        if refresh_first:
            self._quote_prices(plan, manifests)
        for d in moves.diagnostics if moves is not None else []:
            (plan.errors if d.severity.value == "error" else plan.warnings).append(d.to_dict())
        if result and result.diagnostics:
            plan.errors.extend(d.to_dict() for d in result.diagnostics)
        guard_prunes(plan, manifests, self.paths, self._near_misses, allow_empty=self.allow_empty)
        return plan, result

    def _check_addresses(
        self, records: dict[str, ResourceRecord], targets: list[str], replace: list[str]
    ) -> None:
        """--target names anything declared or in state; --replace something declared (and so kept)."""
        declared = set(self.manifests.resources)
        problems = unknown_addresses("--target", targets, declared | set(records))
        problems += unknown_addresses(
            "--replace", [a for a in replace if a in declared or a not in records], declared
        )
        problems += [
            f"--replace {a}: is in state but no longer declared, so this plan deletes it; "
            "declare it again to replace it"
            for a in replace
            if a in records and a not in declared
        ]
        if problems:
            raise WorkspaceError("\n  ".join(problems))

    def _explain_failures(self, result: RefreshResult) -> None:
        """A FAILED job's log tail (where the provider has a logs endpoint), for the plan to show."""
        for address, obs in result.observations.items():
            record = result.records.get(address)
            if obs.phase is not Phase.FAILED or record is None:
                continue
            adapter = self.adapters().get(record.provider)
            if not isinstance(adapter, FailureExplainer):
                continue
            from reconciler.engine.applying import LOG_TAIL_LINES  # the executor: only when one failed

            try:
                obs.facts["log_tail"] = adapter.failure_logs(record, LOG_TAIL_LINES)
            except ProviderError as e:
                obs.facts["log_tail"] = [f"(the logs could not be read: {e})"]

    def _quote_prices(self, plan: Plan, manifests: ManifestSet) -> None:
        """Ask the providers that have a pricing endpoint what each new job costs, and price the plan again.

        A read, like refresh, so `plan --refresh=false` skips it (and says the price is unknown
        where only the endpoint knows it). A failed quote leaves that price unknown, with the reason."""
        quotes: dict[str, dict[str, Any]] = {}
        failures: dict[str, str] = {}
        adapters: dict[str, ProviderAdapter] | None = None
        for action in plan.actions:
            if action.action.value not in ("create", "replace") or not action.desired:
                continue
            if adapters is None:
                adapters = self.adapters()
            adapter = adapters.get(action.provider)
            if not isinstance(adapter, PriceQuoter):
                continue
            try:
                price = adapter.quote(action.kind, action.desired)
            except ProviderError as e:
                failures[action.address] = f"the pricing endpoint did not answer ({e})"
                continue
            if price is not None:
                quotes.setdefault(action.provider, {})[action.address] = price
        if not quotes and not failures:
            return
        plan.cost_total = price_actions(plan.actions, provider_economics(manifests.providers, quotes))
        for action in plan.actions:
            if action.address in failures and action.cost is not None and action.cost.money is None:
                action.cost.unknown = failures[action.address]

    # ------------------------------------------------------------------ commands
    def plan(
        self,
        *,
        refresh: bool = True,
        destroy: bool = False,
        targets: Iterable[str] = (),
        replace: Iterable[str] = (),
        refresh_only: bool = False,
    ) -> Plan:
        """Read-only: the state database is left byte-for-byte unchanged.

        `targets`: limit the plan to these addresses and their upstreams (`--target`);
        `replace`: rebuild these although unchanged (`--replace`); `refresh_only`: drift alone — the
        state against what the providers say now, ignoring the manifests (`engine/drift_only.py`), as
        Terraform's `plan -refresh-only`."""
        store = self.open_state(readonly=True)
        try:
            if refresh_only:
                return self._refresh_only_plan(store, self._recover(store, wait=False, write=False))
            plan, _ = self._plan_from(
                store,
                refresh_first=refresh,
                operation="destroy" if destroy else "apply",
                targets=targets,
                replace=replace,
                idle_after_refresh=True,
            )
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
        targets: Iterable[str] = (),
        replace: Iterable[str] = (),
        on_event: EventCallback | None = None,
        refresh_only: bool = False,
        max_cost: tuple[float, str] | None = None,
    ) -> tuple[Plan, ApplyResult | None]:
        """Plan (unless given a saved plan), confirm, and execute. Returns (plan, result or None if declined).

        `on_event` is called with each `ApplyEvent` as the apply runs (started, progress, retried,
        finished), from worker threads; `progress` is the lower-level `ProgressSink` (the CLI's view).
        `targets`/`replace` as for `plan`; both are ignored for a saved plan (it was made with them).
        `refresh_only` (or a saved refresh-only plan): accept drift into the state, change nothing remote."""
        if not destroy:
            self.expect_uploads()
        self._preflight()
        targets, replace = list(targets), list(replace)
        if (targets or replace) and plan is None:  # a bad address changes nothing: checked before any write
            self._check_addresses(self.records(), targets, replace)
        if plan is None and not destroy and any(r.moved_from for r in self.manifests):
            found = plan_moves(self.manifests, self.records()).diagnostics
            refused = [d for d in found if d.severity is Severity.ERROR]
            if refused:  # a chain or a conflicting move: refused before anything is written
                raise ManifestError(Diagnostics(refused))
        store = self.open_state(readonly=False)
        try:
            with store.lock("destroy" if destroy else "apply", timeout=lock_timeout):
                refreshed: RefreshResult | None = None
                # what an interrupted run left open is settled (and written) before anything is planned
                recovered = self._recover(store, wait=True, write=True, stop=stop)
                if plan is None and refresh_only:
                    plan = self._refresh_only_plan(store, recovered)
                elif plan is None:
                    plan, refreshed = self._plan_from(
                        store,
                        refresh_first=refresh,
                        recovered=recovered,
                        operation="destroy" if destroy else "apply",
                        targets=targets,
                        replace=replace,
                    )
                else:
                    self._check_saved(plan, store)
                if plan.errors:
                    self._tell_refused(plan)
                    return plan, None
                limit, flag = self.budget_for(max_cost)
                if limit is not None:
                    problem = budget_problem(plan.cost_total, *limit, flag=flag)
                    if problem:
                        raise OverBudget(problem, plan)
                if confirm is not None and plan.has_changes and not confirm(plan):
                    return plan, None
                if plan.mode == "refresh-only":
                    return plan, self._accept_drift(store, plan)
                if refreshed is not None:
                    self._persist_refresh(store, refreshed)
                if on_event is not None:
                    sink = EventSink(on_event, self.estimates(plan))
                    progress = sink if progress is None else _Both(progress, sink)
                from reconciler.engine.applying import ApplyOptions, Executor  # only apply executes

                listened: ProgressSink | None = progress
                for listener in self.listeners:
                    listened = listener.progress(listened or SilentProgress())
                executor = Executor(
                    store,
                    self.adapters(),
                    self.clock,
                    options=ApplyOptions(
                        economics=provider_economics(self.manifests.providers),
                        parallelism=self.parallelism,
                        wait=wait,
                        settle_window_s=self.settle_window_s,
                        verify_content=self._verify_content,
                        serial_providers=serial_providers(self.manifests.providers, self.wiring),
                    ),
                    progress=listened,
                    stop=stop,
                )
                if self._vouchers is not None:  # only the folders this plan uploads keep their bytes
                    self._vouchers.keep_bytes_of(_uploaded_sources(plan))
                install_vouchers(self._vouchers)
                try:
                    with retry_events(on_event) if on_event is not None else contextlib.nullcontext():
                        result = executor.apply(plan)
                except BaseException as e:
                    for listener in self.listeners:
                        listener.apply_finished(plan, None, e)
                    raise
                finally:
                    install_vouchers(None)
                for listener in self.listeners:
                    listener.apply_finished(plan, result, None)
                if self._content_cache is not None:  # what the pre-upload re-checks hashed, if any did
                    self._content_cache.save()
                return plan, result
        finally:
            store.close()

    def _tell_refused(self, plan: Plan) -> None:
        """An apply that stops on plan errors (a refresh that failed, say) is a failed apply to listeners."""
        if not self.listeners:
            return
        from reconciler.render.describing import diagnostic_text

        first = diagnostic_text(plan.errors[0])
        more = f" (and {len(plan.errors) - 1} more)" if len(plan.errors) > 1 else ""
        error = WorkspaceError(f"the plan has errors, nothing was applied: {first}{more}")
        for listener in self.listeners:
            listener.apply_finished(plan, None, error)

    def _refresh_only_plan(
        self, store: StateStore, recovered: tuple[dict[str, ResourceRecord], list[Resolution]]
    ) -> Plan:
        from reconciler.engine.drift_only import make_refresh_only_plan

        records, resolutions = recovered
        blocked = {r.address: blocked_message(r) for r in resolutions if r.blocks}
        result = self._refresh(store, records, frozenset(blocked), discover=False)
        plan = make_refresh_only_plan(
            records,
            result.observations,
            store.meta(),
            diagnostics=list(result.diagnostics),
            blocked=blocked,
            reconciler_version=__version__,
            created_at=iso_utc(self.clock.now()),
            manifest_paths=[str(p.resolve()) for p in self.paths],
            state_path=self.state_display,
        )
        plan.environment = self.environment
        return plan

    def _accept_drift(self, store: StateStore, plan: Plan) -> ApplyResult:
        """Apply a refresh-only plan: the state records what the providers have; no provider call."""
        from reconciler.engine.drift_only import accept
        from reconciler.engine.outcomes import Outcome, ResourceOutcome

        writes, forgets = accept(store.all(), plan, self.clock.now())
        if writes:
            store.put_many(writes, event="drift-accepted")
        for address in forgets:
            store.remove(address, event="drift-accepted", detail={"deleted_outside": True})
        result = ApplyResult()
        for action in plan.actions:
            result.outcomes[action.address] = ResourceOutcome(
                action.address, action.action.value, Outcome.SUCCEEDED, action.reason
            )
        return result

    def estimates(self, plan: Plan) -> dict[str, float]:
        """Expected seconds of each training in `plan`, from its cost estimate (display only).

        Against the sandbox, divided by its time scale: the emulator compresses training, and an
        estimate of hours for a job that ends in seconds would say nothing.
        """
        out: dict[str, float] = {}
        for a in plan.actions:
            hours = a.cost.estimated_gpu_hours if a.cost is not None else None
            if not hours or a.action not in (ActionType.CREATE, ActionType.REPLACE):
                continue
            seconds = hours * 3600.0
            provider = self.manifests.providers.get(a.provider)
            if provider is not None and provider.spec.is_sandbox:
                seconds /= float(self.wiring.sandbox_instance().time_scale)
            out[a.address] = seconds
        return out

    def _verify_content(self, source_path: str) -> str:
        """Apply's re-check of a dataset before upload: stat'ed against what the load found (its
        voucher), else against the cache, changed files re-read."""
        if self._vouchers is not None:
            digest = self._vouchers.verify(source_path)
            if digest is not None:
                return digest
        return content_digest(source_path, self.content_cache)

    def _check_saved(self, plan: Plan, store: StateStore) -> None:
        meta = store.meta()
        if plan.operation == "apply" and not plan.lineage and plan.serial == 0 and meta.serial == 0:
            return  # planned before any state existed, and none has been written since
        if plan.lineage and meta.lineage and plan.lineage != meta.lineage:
            raise StalePlanError(
                f"this plan was made for a different state (lineage {plan.lineage}, "
                f"the state at {self.state_display} has {meta.lineage}); make a new plan"
            )
        if plan.serial != meta.serial:
            raise StalePlanError(
                f"the state changed since this plan was made (serial {plan.serial} → {meta.serial}); "
                "run 'reconciler plan --out' again and apply the new plan"
            )
        held = [a.address for a in plan.actions if a.facts.get("journal")]
        if held:
            raise StalePlanError(
                f"this plan was made while an interrupted create of {', '.join(held)} was not "
                "settled yet; it is settled now: run 'reconciler plan --out' again"
            )

    def _persist_refresh(self, store: StateStore, refreshed: RefreshResult) -> None:
        current = store.all()
        changed = [r for a, r in refreshed.records.items() if a in current and r != current[a]]
        if changed:
            store.put_many(changed, event="refreshed")

    def refresh(self, *, lock_timeout: float = 0.0) -> RefreshSummary:
        """Update the cache from the providers (and adopt what discovery finds); nothing remote changes."""
        self._preflight()
        store = self.open_state(readonly=False)
        try:
            with store.lock("refresh", timeout=lock_timeout):
                records, resolutions = self._recover(store, wait=False, write=True)
                records = plan_moves(self.manifests, records).records  # a renamed object is not adopted twice
                held = frozenset(r.address for r in resolutions if r.blocks)
                result = self._refresh(store, records, held)
                self._persist_refresh(store, result)
                hashes = self.spec_hashes()
                adopted = []
                for address, obs in result.discovered.items():
                    resource = self.manifests.resources[address]
                    rec = self._record_for(resource, hashes[address], obs, store)
                    store.put(rec, event="adopted", detail={"remote_id": obs.remote_id, "by": "refresh"})
                    adopted.append(address)
                gone = [a for a, o in result.observations.items() if o.phase is Phase.GONE]
                return RefreshSummary(
                    refreshed=len(result.observations),
                    adopted=adopted,
                    gone=gone,
                    resolved_journal=sum(1 for r in resolutions if not r.blocks),
                    diagnostics=[str(d) for d in result.diagnostics]
                    + [blocked_message(r) for r in resolutions if r.blocks],
                )
        finally:
            store.close()

    def _record_for(self, resource: Any, spec_hash: str, obs: Any, store: StateStore) -> ResourceRecord:
        now = iso_utc(self.clock.now())
        content = resource.content
        return ResourceRecord(
            address=resource.address,
            kind=resource.kind.value,
            name=resource.name,
            provider=resource.provider_name,
            provider_type=resource.provider_type,
            remote_id=obs.remote_id,
            spec=resource.effective_spec(),
            spec_hash=spec_hash,
            content_digest=content.digest if content else None,
            content_files=dict(content.files) if content else {},
            status=obs.status,
            observed=obs.object,
            outputs=dict(obs.outputs),
            dependencies=resource.dependencies(),
            labels=dict(resource.labels),
            lifecycle=resource.lifecycle.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
            observed_at=now,
            built_from=self._upstream_objects(resource, store),
        )

    @staticmethod
    def _upstream_objects(resource: Any, store: StateStore) -> dict[str, str]:
        """Lineage of an object found or imported now: the upstreams' current objects."""
        out = {}
        for dep in resource.dependencies():
            rec = store.get(dep)
            if rec is not None and rec.remote_id:
                out[dep] = rec.remote_id
        return out

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
                interrupted = [
                    e for e in store.open_journal() if e.address == address and e.operation == "create"
                ]
                if existing is not None and not interrupted:
                    raise WorkspaceError(
                        f"{address} is already in state (remote id {existing.remote_id}); "
                        f"'reconciler state rm {address}' first to re-import"
                    )
                adapter = self.adapters()[resource.provider_name]
                content = resource.content
                probe = ResourceRecord(
                    address=address,
                    kind=resource.kind.value,
                    name=resource.name,
                    provider=resource.provider_name,
                    provider_type=resource.provider_type,
                    remote_id=remote_id,
                    spec=resource.effective_spec(),
                    spec_hash="",
                    content_digest=content.digest if content else None,
                )
                obs = adapter.read(probe)
                if obs.phase is Phase.GONE:
                    raise WorkspaceError(
                        f"{resource.provider_name} has no {resource.kind.value} with id {remote_id}"
                    )
                record = self._record_for(resource, self.spec_hashes()[address], obs, store)
                if existing is not None and existing.remote_id and existing.remote_id != remote_id:
                    # an interrupted replace: the imported object is the replacement; the old one is
                    # kept as deposed until the next apply deletes it, after its dependents moved on
                    old = existing.to_dict()
                    old.pop("deposed", None)
                    record = replace(record, deposed=[*existing.deposed, old])
                settled = {"found": remote_id, "how": "imported"}
                first = (interrupted[0].id, "resolved", settled) if interrupted else None
                store.put(record, event="imported", detail={"remote_id": remote_id}, close_journal=first)
                for entry in interrupted[1:]:
                    store.journal_close(entry.id, "resolved", result=settled)
                return record
        finally:
            store.close()

    def state_resolve_absent(self, address: str, *, lock_timeout: float = 0.0) -> int:
        """Declare that an interrupted create of ADDRESS never reached the provider; returns rows closed.

        For when `plan` says an interrupted create cannot be settled and you have checked the
        provider's console: the next apply then creates the resource again.
        """
        store = self.open_state(readonly=False)
        try:
            with store.lock("state resolve", timeout=lock_timeout):
                rows = [e for e in store.open_journal() if e.address == address and e.operation == "create"]
                if not rows:
                    raise WorkspaceError(
                        f"{address} has no interrupted create to resolve "
                        "(nothing is open in the journal for it)"
                    )
                for entry in rows:
                    store.journal_close(
                        entry.id, "resolved", result={"found": None, "how": "declared absent by the user"}
                    )
                store.append_event(
                    "state-resolve", address, {"absent": True, "journal": [e.id for e in rows]}
                )
                return len(rows)
        finally:
            store.close()

    def write_gallery(self, directory: str | Path) -> GalleryReport:
        """`output --gallery DIR`: a static page of every Sample's renders per LoRA version and each
        DashScope fine-tune's validation previews per checkpoint, media downloaded beside it.

        Reads the state (it is not changed) and the providers (previews, media files)."""
        from reconciler.gallery import write_gallery

        self._preflight()
        records = self.records()
        try:
            return write_gallery(
                records,
                self.adapters(),
                directory,
                title=f"reconciler gallery: {', '.join(str(p) for p in self.paths)}",
                generated_at=iso_utc(self.clock.now()),
            )
        except OSError as exc:
            raise WorkspaceError(
                f"cannot write the gallery to {directory}: {exc.strerror or exc}; give a directory you can write"
            ) from exc

    def download_outputs(
        self, directory: str | Path, address: str | None = None, *, lock_timeout: float = 0.0
    ) -> dict[str, dict[str, dict[str, Any]]]:
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
                    urls = {
                        k: rec.outputs[k]
                        for k in DOWNLOADABLE_OUTPUT_KEYS
                        if isinstance(rec.outputs.get(k), str)
                    }
                    if not urls:
                        continue
                    adapter = adapters.get(rec.provider)
                    if not isinstance(adapter, DownloadsOutputs):
                        raise WorkspaceError(f"{addr}: provider '{rec.provider}' cannot download outputs")
                    files: dict[str, dict[str, Any]] = {}
                    for key, url in urls.items():
                        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or f"{key}.bin"
                        target = Path(directory) / rec.kind / rec.name / f"{key}-{name}"
                        size, sha = adapter.download(url, str(target))
                        files[key] = {"path": str(target), "sha256": sha, "bytes": size, "url": url}
                    downloads = {**(rec.outputs.get("downloads") or {}), **files}
                    store.put(
                        replace(rec, outputs={**rec.outputs, "downloads": downloads}),
                        event="downloaded",
                        detail={k: v["sha256"] for k, v in files.items()},
                    )
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

    def events(self, address: str | None = None, limit: int = 100) -> list[Event]:
        """The state's history, oldest first: what each apply, refresh and move recorded (read only)."""
        store = self.open_state(readonly=True)
        try:
            return store.events(address, limit)
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

    def state_mv(self, old: str, new: str, *, lock_timeout: float = 0.0) -> ResourceRecord:
        """Move OLD's record to NEW (same kind, NEW not in state): the same provider object under a new
        address, its dependents' lineage re-pointed. Nothing remote changes. Returns the moved record."""
        store = self.open_state(readonly=False)
        try:
            with store.lock("state mv", timeout=lock_timeout):
                store.move(old, new)
                moved = store.get(new)
                assert moved is not None  # the move committed it
                return moved
        finally:
            store.close()

    def migrate_state(
        self, to: str, *, to_workspace: str | None = None, lock_timeout: float = 0.0
    ) -> MigrationSummary:
        """Copy this state, with its lineage, serial, journal and events, into the empty state at `to`.

        Both states are locked while it runs; the copy is verified; the source is only read (opened
        read-only: a SQLite source file is left byte for byte as it was). A
        PostgreSQL destination keeps the source's workspace name unless `to_workspace` names another.
        """
        if to_workspace is None and self.state_location.is_postgresql and is_postgres_url(to):
            to_workspace = self.state_location.workspace
        first = self.paths[0]
        destination = state_location(
            to, manifest_root=first if first.is_dir() else first.parent, workspace=to_workspace
        )
        if destination.display == self.state_location.display or (
            destination.path is not None
            and self.state_location.path is not None
            and destination.path.resolve() == self.state_location.path.resolve()
        ):
            raise WorkspaceError(f"--to {destination.display} is the state being migrated; name another one")
        with holding_lock(self.state_location, "state migrate", timeout=lock_timeout, clock=self.clock):
            source = self.open_state(readonly=True)
            try:
                if not source.meta().lineage:
                    raise WorkspaceError(
                        f"there is no state at {self.state_display} to migrate "
                        "(check -f, --state and --workspace)"
                    )
                target = open_store(destination, readonly=False, clock=self.clock)
                try:
                    with target.lock("state migrate", timeout=lock_timeout):
                        from reconciler.state.moving import copy_state  # only `state migrate`

                        copied = copy_state(source, target)  # type: ignore[arg-type]  # both stores open_store makes can be copied
                finally:
                    target.close()
            finally:
                source.close()
        return MigrationSummary(
            source=self.state_display,
            destination=destination,
            lineage=copied.lineage,
            serial=copied.serial,
            counts=copied.counts(),
        )

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
        return {
            a: {"remote_id": r.remote_id, "status": r.status, **r.outputs} for a, r in sorted(records.items())
        }


__all__ = [
    "ApplyEvent",
    "MigrationSummary",
    "OverBudget",
    "RefreshSummary",
    "StalePlanError",
    "StateError",
    "Workspace",
    "WorkspaceError",
]


def _uploaded_sources(plan: Plan) -> set[str]:
    """The dataset folders this plan's creates and replaces upload (their `content.source`)."""
    return {
        str(a.content["source"])
        for a in plan.actions
        if a.content and a.content.get("source") and a.action in (ActionType.CREATE, ActionType.REPLACE)
    }
