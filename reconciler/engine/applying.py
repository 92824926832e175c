"""Apply: run a plan's actions against the providers, in dependency order, crash-safely.

Guarantees (DESIGN.md §3–§4):
- a journal row is committed before every mutating provider call, and closed after;
- one short state transaction per resource transition (the store enforces it);
- an ambiguous create is settled by looking the object up (`adapter.find`) again and again
  until the provider has had time to commit it (`recovering.SETTLE_WINDOW_S`); it is never
  re-sent in the same run — the journal row stays open and the next run looks again first;
- a create's outcome and the record holding it are committed in one transaction;
- every record remembers which upstream objects it was built from (lineage);
- a replaced object is kept in state as *deposed* until it is deleted, so a crash between
  "new one created" and "old one deleted" never leaves an object the state does not know;
- a failure stops only its dependents; everything else goes on — except a state that can no
  longer be written, which stops everything (nothing may be sent that could not be recorded).

Scheduling: each action becomes one node (plus a "delete the old one" node for a
create-before-destroy replace). Provider calls run on a pool of `parallelism` workers; waits
for readiness run on a separate pool, so a six-hour training job never holds a worker. The
serial providers' steps and waits run on one thread of their own (`serial_loop`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from reconciler.clock import Clock
from reconciler.engine.claims import Claims
from reconciler.engine.costing import estimate_output, used_output
from reconciler.engine.moves import perform_moves
from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
from reconciler.engine.progress import ProgressSink, SilentProgress
from reconciler.engine.recovering import (
    CLOCK_SKEW_S,
    LOOK_AGAIN_S,
    SETTLE_WINDOW_S,
    ambiguous_message,
    claimed_ids,
    create_request,
    keep_oldest,
)
from reconciler.engine.scheduling import TrainingSlots
from reconciler.engine.serial_loop import SerialLoop
from reconciler.engine.waiting import (
    SETTLED_PHASES,
    Pauses,
    Waiter,
    WaitInterrupted,
    WaitTimeout,
    timeout_for,
)
from reconciler.models.changes import ChangeClass
from reconciler.models.plans import Action, ActionType, Plan, ReplaceMode
from reconciler.models.state import ResourceRecord
from reconciler.providers.economics import Economics, FailureExplainer
from reconciler.providers.errors import NotFoundError, OutcomeUnknownError, ProviderError, RateLimitedError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase, ProviderAdapter
from reconciler.state.interface import StateError, StateStore

log = logging.getLogger("reconciler.engine")
LOG_TAIL_LINES = 10  # a failed job's last log lines, shown in the apply summary and the plan
BUSY_RETRY_S = 60.0  # a training submit refused as busy (429) without Retry-After is sent again after this


class StepFailed(Exception):
    """A resource could not be brought to its desired state; the message says why."""


class DatasetChanged(StepFailed):
    pass


ContentCheck = Callable[[str], str]  # source path -> content digest (the engine cannot import loading)


@dataclass
class ApplyOptions:
    # provider name -> its economics: prices the usage a job reports, and its quota's training slots
    economics: Mapping[str, Economics] = field(default_factory=dict)
    parallelism: int = 10
    wait: bool = True
    verify_content: ContentCheck | None = None
    settle_window_s: float = (
        SETTLE_WINDOW_S  # how long an ambiguous create is looked for before the step stops
    )
    # Providers served in this process with nothing that makes a call wait (the embedded sandbox
    # without injected faults): their steps run one at a time, on a worker of their own. Such a
    # call is pure CPU on this process's one interpreter lock, so parallel workers bought nothing
    # but hand-offs of that lock at every SQLite statement (a 100-chain apply ran faster with
    # --parallelism 1). Their waits for readiness still overlap: the same thread polls each one
    # when its pause is over, between steps (`serial_loop`); other providers' steps use the
    # `parallelism` workers.
    serial_providers: frozenset[str] = frozenset()


class _Busy(Exception):
    """A resubmitted training was refused as busy again (429): the caller pauses and tries once more."""

    def __init__(self, refused: RateLimitedError) -> None:
        super().__init__(str(refused))
        self.refused = refused


@dataclass
class _Wait:
    """A step that has submitted and now waits for readiness: driven on the wait pool (a thread
    each), or resumed by the serial loop after each pause."""

    pauses: Callable[[], Pauses[tuple[Outcome, str]]]


StepResult = tuple[Outcome, str] | _Wait
_R = TypeVar("_R", bound=StepResult)


class _Node:
    """One step of the graph. Slots and tuples: an apply holds one per resource for its whole run
    (a dataclass with two sets and a closure each was ~1 KB, ~4 MB at N = 1000)."""

    __slots__ = ("action", "dependents", "deps", "key", "old")

    def __init__(self, key: str, action: Action, *, old: bool = False) -> None:
        self.key = key
        self.action = action
        self.old = old  # the "delete the old object" step of a create-before-destroy replace
        self.deps = 0  # how many nodes this one waits for
        self.dependents: tuple[str, ...] = ()  # sorted: the order they are released in

    @property
    def gives_ready(self) -> bool:
        """Whether dependents need this node's object READY (not just "done")."""
        return not self.old


def _slot_text(slots: TrainingSlots, key: str, *, deferred: bool = False) -> str:
    """`waiting for a training slot on my-account (1 at a time: …)`."""
    provider = next((p for p, keys in slots.parked.items() if key in keys), None) or next(
        (p for p in slots.limits), ""
    )
    quota = slots.limits.get(provider)
    limit = f" ({quota.concurrent_jobs} at a time: {quota.concurrent_source})" if quota is not None else ""
    if deferred:
        return (
            f"not submitted: every training slot on {provider} is held by a job still running{limit}; "
            "run apply again when it is done to continue"
        )
    return f"waiting for a training slot on {provider}{limit}"


def _on_timeout(a: Action) -> str:
    """lifecycle.on_timeout, defaulting to cancel for training jobs (a job given up on must stop billing)."""
    chosen = (a.lifecycle or {}).get("on_timeout")
    if chosen:
        return str(chosen)
    return "cancel" if a.kind == "FineTune" else "keep"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Executor:
    def __init__(
        self,
        store: StateStore,
        adapters: Mapping[str, ProviderAdapter],
        clock: Clock,
        *,
        options: ApplyOptions | None = None,
        progress: ProgressSink | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.options = options or ApplyOptions()
        self.progress = progress or SilentProgress()
        self.stop = stop or threading.Event()
        self.waiter = Waiter(clock, self.stop)
        self._ids_lock = threading.Lock()  # `_ids` only: `Claims` locks itself
        self._claims = Claims()
        self._ids: dict[str, str | None] = {}  # address -> remote id, as this run last wrote it
        self._state_error: StateError | None = None  # the first failed state write stops the apply

    # ------------------------------------------------------------------ public
    def apply(self, plan: Plan) -> ApplyResult:
        """Run the plan. A state that can no longer be written (its database went away, the lock with
        it) stops the whole apply: calls in flight finish, nothing new starts, and the `StateError`
        is raised. Every call already sent is in the journal, so the next run continues from there."""
        perform_moves(self.store, plan)  # renames (metadata.moved_from) before anything acts on them
        records = self.store.all()
        self._claims = Claims(claimed_ids(records))
        nodes = self._build_nodes(plan, records)
        result = self._run(nodes)
        if self._state_error is not None:
            raise self._state_error
        return result

    # ------------------------------------------------------------------ graph
    def _build_nodes(self, plan: Plan, records: Mapping[str, ResourceRecord]) -> dict[str, _Node]:
        actions = {a.address + (f"#deposed:{a.deposed}" if a.deposed else ""): a for a in plan.actions}
        nodes: dict[str, _Node] = {}
        wanted = {a.address for a in plan.actions if a.action is not ActionType.NOOP}
        # NOOP resources only need a node when something that depends on them changes (or when an
        # object they replaced waits for them to be ready before it is deleted).
        needed_noops = {
            d for a in plan.actions if a.address in wanted and not a.deposed for d in a.depends_on
        }
        needed_noops |= {a.address for a in plan.actions if a.deposed and a.action is ActionType.DELETE}
        # and what a deposed object's deletion is gated on (a Deployment's `requires`)
        needed_noops |= {
            d for a in plan.actions if a.deposed and a.action is ActionType.DELETE for d in a.depends_on
        }
        for key, a in actions.items():
            if a.action is ActionType.NOOP and a.address not in needed_noops:
                continue
            nodes[key] = _Node(key, a)
            if a.action is ActionType.REPLACE and a.replace_mode is ReplaceMode.CREATE_BEFORE_DESTROY:
                old = f"{a.address}#old"
                nodes[old] = _Node(old, a, old=True)

        removal = (ActionType.DELETE, ActionType.CANCEL, ActionType.FORGET)
        deps: dict[str, set[str]] = {key: set() for key in nodes}  # while the graph is built
        for key, n in nodes.items():
            a = n.action
            mine = deps[key]
            if key.endswith("#old") or a.deposed:
                # the replace protocol: the old object goes only after the new one is ready (its own
                # node) and everything that depended on it has moved on to the new one
                if a.address in nodes:
                    mine.add(a.address)
                for other in nodes.values():
                    if (
                        a.address in other.action.depends_on
                        and not other.key.endswith("#old")
                        and other.action.action not in removal
                        and (other.action.kind != "Sample" or other.action.address in a.gated_by)
                    ):
                        # a Sample only looks at the new object: it holds the old one only when the
                        # resource requires it (a Deployment's `requires`)
                        mine.add(other.key)
                continue
            if a.action in removal:
                # reverse order: dependents are removed first
                for other in nodes.values():
                    if other.action.action in removal and a.address in other.action.depends_on:
                        mine.add(other.key)
                continue
            for dep in a.depends_on:
                if dep in nodes:
                    mine.add(dep)
        dependents: dict[str, list[str]] = {}
        for key, mine in deps.items():
            mine.discard(key)
            nodes[key].deps = len(mine)
            for d in mine:
                dependents.setdefault(d, []).append(key)
        for key, keys in dependents.items():
            nodes[key].dependents = tuple(sorted(keys))
        return nodes

    def _run(self, nodes: dict[str, _Node]) -> ApplyResult:
        """Run the node graph: a ready queue fed by dependency counts (O(N) overall).

        A step's provider calls run on the work pool (`parallelism` threads). When a step has
        submitted and must wait for readiness, it returns a `_Wait`, which runs on the wait pool,
        so long trainings never hold a worker that other resources need. The serial providers'
        steps and waits both run on the serial loop's one thread instead.
        """
        result = ApplyResult()
        lock = threading.Lock()
        wake = threading.Condition(lock)
        pending = {k: n.deps for k, n in nodes.items()}
        ready: deque[str] = deque(sorted(k for k, c in pending.items() if c == 0))
        blocked: dict[str, tuple[Outcome, str]] = {}
        unfinished = set(nodes)
        running = 0
        slots = TrainingSlots({p: eco.quota for p, eco in self.options.economics.items()})
        for key, n in sorted(nodes.items()):  # a job already running holds its slot from the start
            if n.action.action is ActionType.WAIT and self._needs_slot(slots, n):
                slots.reserve(n.action.provider, key)

        def record(key: str, outcome: ResourceOutcome) -> None:
            if key.endswith("#old"):
                if outcome.outcome is Outcome.FAILED:
                    prev = result.outcomes.get(outcome.address)
                    msg = (
                        f"the replacement is in place, but deleting the old object failed: {outcome.message}"
                    )
                    result.outcomes[outcome.address] = replace(
                        prev or outcome, outcome=Outcome.FAILED, message=msg
                    )
                return
            result.outcomes[key.split("#", 1)[0] if "#deposed" not in key else key] = outcome

        def settle(key: str, outcome: Outcome, message: str, elapsed: float = 0.0) -> None:
            """Record a node's end and release (or block) its dependents. Caller holds the lock."""
            n = nodes[key]
            unfinished.discard(key)
            record(
                key,
                ResourceOutcome(n.action.address, n.action.action.value, outcome, message, elapsed=elapsed),
            )
            ok = outcome is Outcome.SUCCEEDED or (outcome is Outcome.SUBMITTED and not n.gives_ready)
            for d in n.dependents:
                if not ok and d not in blocked:
                    if outcome in (Outcome.SUBMITTED, Outcome.DEFERRED):
                        blocked[d] = (
                            Outcome.DEFERRED,
                            f"waiting for {n.action.address} ({message}); run apply again to continue",
                        )
                    else:
                        blocked[d] = (Outcome.SKIPPED, f"{n.action.address} did not succeed")
                pending[d] -= 1
                if pending[d] == 0:
                    ready.append(d)

        def finish(key: str, outcome: Outcome, message: str, elapsed: float) -> None:
            nonlocal running
            n = nodes[key]
            self.progress.finished(
                ResourceOutcome(
                    n.action.address,
                    n.action.action.value,
                    outcome,
                    message,
                    remote_id=self._remote_id(n.action.address),
                    elapsed=elapsed,
                )
            )
            with lock:
                running -= 1
                settle(key, outcome, message, elapsed)
                if outcome is not Outcome.SUBMITTED:  # a job left running (--no-wait) keeps its slot
                    ready.extend(slots.give_back(n.action.provider, key))
                # what this made ready starts from here: waking the main thread to launch it cost a
                # hand-off of the interpreter lock per step (the main thread only decides the end)
                drain()
                if running == 0 or not unfinished or self.stop.is_set():
                    wake.notify_all()

        def failure(e: Exception) -> tuple[Outcome, str]:
            if isinstance(e, StateError):  # the state cannot be written: nothing more may be sent
                if self._state_error is None:
                    self._state_error = e
                self.stop.set()
                return Outcome.FAILED, f"the state could not be written: {e}"
            if isinstance(e, StepFailed | ProviderError):
                return Outcome.FAILED, str(e)
            return (
                Outcome.FAILED,
                f"internal error: {type(e).__name__}: {e}",
            )  # a bug must not take the others down

        def guarded(step: Callable[[], _R]) -> _R | tuple[Outcome, str]:
            try:
                return step()
            except Exception as e:
                return failure(e)

        def guarded_pauses(pauses: Pauses[tuple[Outcome, str]]) -> Pauses[tuple[Outcome, str]]:
            try:
                return (yield from pauses)
            except Exception as e:
                return failure(e)

        def drain() -> None:
            """Start (or settle, or park) every ready node, in order. Caller holds the lock."""
            nonlocal running
            while ready:
                key = ready.popleft()
                if key in blocked:
                    settle(key, *blocked[key])
                    ready.extend(slots.give_back(nodes[key].action.provider, key))  # a reserved slot
                elif self.stop.is_set():
                    settle(key, Outcome.SKIPPED, "interrupted before it started")
                    ready.extend(slots.give_back(nodes[key].action.provider, key))
                elif self._needs_slot(slots, nodes[key]) and not slots.take(nodes[key].action.provider, key):
                    self.progress.waiting(nodes[key].action.address, "queued", 0.0, _slot_text(slots, key))
                else:
                    running += 1
                    launch(key)

        def launch(key: str) -> None:
            if serial is not None and nodes[key].action.provider in self.options.serial_providers:
                serial.submit(key)
            else:
                work_pool.submit(act, key)

        def begin(key: str) -> tuple[StepResult, float]:
            n = nodes[key]
            start = self.clock.monotonic()
            self.progress.started(
                n.action.address, "delete old" if key.endswith("#old") else n.action.action.value
            )
            return guarded(functools.partial(self._step, n)), start

        def act(key: str) -> None:
            got, start = begin(key)
            if isinstance(got, _Wait):
                wait_pool.submit(wait_then_finish, key, got, start)
            else:
                finish(key, got[0], got[1], self.clock.monotonic() - start)

        def wait_then_finish(key: str, waiting: _Wait, start: float) -> None:
            outcome, message = self.waiter.run(guarded_pauses(waiting.pauses()))
            finish(key, outcome, message, self.clock.monotonic() - start)

        def act_serially(key: str) -> Pauses[None] | None:
            """`act` on the serial loop: the wait, if any, is handed back to be resumed there."""
            got, start = begin(key)
            if isinstance(got, _Wait):
                return finishing(key, got, start)
            finish(key, got[0], got[1], self.clock.monotonic() - start)
            return None

        def finishing(key: str, waiting: _Wait, start: float) -> Pauses[None]:
            outcome, message = yield from guarded_pauses(waiting.pauses())
            finish(key, outcome, message, self.clock.monotonic() - start)

        waits = max(128, self.options.parallelism * 8)  # waiting threads mostly sleep
        work_pool = ThreadPoolExecutor(
            max_workers=max(1, self.options.parallelism), thread_name_prefix="apply"
        )
        wait_pool = ThreadPoolExecutor(max_workers=waits, thread_name_prefix="wait")
        serial = SerialLoop(act_serially, self.waiter) if self.options.serial_providers else None
        # exit order: the lock is released first, then the pools drain (their threads need the lock)
        with work_pool, wait_pool, serial or contextlib.nullcontext(), lock:
            while unfinished:
                drain()
                if self.stop.is_set():
                    result.interrupted = True
                if not unfinished or (not ready and running == 0):
                    parked = slots.still_parked()
                    if not parked:
                        break
                    for provider, key in parked:  # nothing left that could free a slot in this run
                        slots.parked[provider].remove(key)
                        settle(key, Outcome.DEFERRED, _slot_text(slots, key, deferred=True))
                    continue
                wake.wait(timeout=0.5)
            if self.stop.is_set():  # set while the last steps finished (they drain without waking us)
                result.interrupted = True
        return result

    @staticmethod
    def _needs_slot(slots: TrainingSlots, node: _Node) -> bool:
        """Training submits take a slot of their account; so does waiting on a job already running."""
        a = node.action
        if node.key.endswith("#old") or not slots.needs_slot(a):
            return False
        return a.action in (ActionType.CREATE, ActionType.REPLACE, ActionType.WAIT)

    # ------------------------------------------------------------------ steps
    def _put(
        self,
        record: ResourceRecord,
        *,
        event: str,
        detail: dict[str, Any] | None = None,
        close_journal: tuple[int, str, dict[str, Any] | None] | None = None,
    ) -> int:
        """`store.put`, remembering the record's remote id for `_remote_id`."""
        serial = self.store.put(record, event=event, detail=detail, close_journal=close_journal)
        with self._ids_lock:
            self._ids[record.address] = record.remote_id
        return serial

    def _remove(self, address: str, *, event: str, detail: dict[str, Any] | None = None) -> int:
        serial = self.store.remove(address, event=event, detail=detail)
        with self._ids_lock:
            self._ids[address] = None
        return serial

    def _remote_id(self, address: str) -> str | None:
        """The id a finished step left in state, for a sink that shows it (`wants_ids`): what this
        run last wrote for it, else read back (a whole record, JSON columns and all, per step)."""
        if not getattr(self.progress, "wants_ids", False):
            return None
        with self._ids_lock:
            if address in self._ids:
                return self._ids[address]
        try:
            record = self.store.get(address)
        except StateError:
            return None
        return record.remote_id if record is not None else None

    def _step(self, n: _Node) -> StepResult:
        a = n.action
        if n.old:
            return self._delete_deposed_of(a)
        if a.action is ActionType.CREATE:
            return self._create(a)
        return {
            ActionType.ADOPT: self._adopt,
            ActionType.UPDATE: self._update,
            ActionType.REPLACE: self._replace,
            ActionType.DELETE: self._delete,
            ActionType.CANCEL: self._cancel_and_delete,
            ActionType.FORGET: self._forget,
            ActionType.WAIT: self._await_existing,
            ActionType.NOOP: self._await_existing,
        }[a.action](a)

    def _adapter(self, a: Action) -> ProviderAdapter:
        adapter = self.adapters.get(a.provider)
        if adapter is None:
            raise StepFailed(
                f"provider '{a.provider}' is not configured (no Provider manifest with that name)"
            )
        return adapter

    def _desired(self, a: Action) -> tuple[Desired, dict[str, str]]:
        """What the adapter needs, and the lineage: which upstream object each input comes from."""
        inputs: dict[str, Mapping[str, Any]] = {}
        built_from: dict[str, str] = {}
        for dep in a.depends_on:
            upstream = self._outputs_of(dep)
            if upstream is None:
                raise StepFailed(f"{dep} is not in state; it must be created first")
            remote_id, inputs[dep] = upstream
            if remote_id:
                built_from[dep] = remote_id
        content = a.content or {}
        desired = Desired(
            address=a.address,
            kind=a.kind,
            name=a.name,
            spec=a.desired or {},
            spec_hash=a.spec_hash or "",
            inputs=inputs,
            content_digest=content.get("digest"),
            source_path=content.get("source"),
        )
        return desired, built_from

    def _outputs_of(self, address: str) -> tuple[str | None, Mapping[str, Any]] | None:
        """An upstream record's remote id and outputs: read alone where the store can
        (`SqliteStateStore.outputs_of`), else from the whole record."""
        read = getattr(self.store, "outputs_of", None)
        if read is not None:
            found: tuple[str | None, Mapping[str, Any]] | None = read(address)
            return found
        rec = self.store.get(address)
        return None if rec is None else (rec.remote_id, rec.outputs)

    def _new_record(
        self,
        a: Action,
        obs: Observation,
        *,
        built_from: dict[str, str],
        created_at: str | None = None,
        deposed: list[dict[str, Any]] | None = None,
    ) -> ResourceRecord:
        now = _iso(self.clock.now())
        content = a.content or {}
        return ResourceRecord(
            address=a.address,
            kind=a.kind,
            name=a.name,
            provider=a.provider,
            provider_type=a.provider_type,
            remote_id=obs.remote_id,
            spec=dict(a.desired or {}),
            spec_hash=a.spec_hash or "",
            content_digest=content.get("digest"),
            content_files=dict(content.get("files") or {}),
            status=obs.status,
            observed=obs.object,
            outputs={**obs.outputs, **self._cost_outputs(a, obs)},
            dependencies=list(a.depends_on),
            labels=dict(a.labels),
            lifecycle=dict(a.lifecycle),
            created_at=created_at or now,
            updated_at=now,
            observed_at=now,
            deposed=list(deposed or []),
            built_from=dict(built_from),
        )

    def _cost_outputs(self, a: Action, obs: Observation) -> dict[str, Any]:
        """`cost_estimated` (from the plan) and, once the provider reports it, `cost_used`."""
        out: dict[str, Any] = {}
        estimate = estimate_output(a)
        if estimate is not None:
            out["cost_estimated"] = estimate
        if obs.phase in (Phase.READY, Phase.FAILED, Phase.CANCELED):
            used = used_output(self.options.economics.get(a.provider), a, obs.object)
            if used is not None:
                out["cost_used"] = used
        return out

    def _used_only(self, a: Action, obs: Observation) -> dict[str, Any]:
        used = self._cost_outputs(a, obs).get("cost_used")
        return {"cost_used": used} if used is not None else {}

    def _claim(self, remote_id: str) -> None:
        self._claims.add(remote_id)

    def _verify_content(self, desired: Desired) -> None:
        if desired.source_path and self.options.verify_content and desired.content_digest:
            actual = self.options.verify_content(desired.source_path)
            if actual != desired.content_digest:
                raise DatasetChanged(
                    f"dataset content at {desired.source_path} changed since the plan was made; "
                    "run plan again"
                )

    def _create(
        self,
        a: Action,
        deposed: list[dict[str, Any]] | None = None,
        first_try: float | None = None,
        *,
        retrying: bool = False,
    ) -> StepResult:
        """Journal the intent, send the create once, and commit its outcome with the record."""
        first_try = self.clock.now() if first_try is None else first_try
        desired, built_from = self._desired(a)
        self._verify_content(desired)
        adapter = self._adapter(a)
        content = a.content or {}
        template = {
            "content_files": dict(content.get("files") or {}),
            "dependencies": list(a.depends_on),
            "labels": dict(a.labels),
            "lifecycle": dict(a.lifecycle),
            "built_from": built_from,
        }
        sent_at = self.clock.now()
        entry = self.store.journal_open(
            a.address,
            "create",
            a.provider,
            create_request(desired, provider=a.provider, provider_type=a.provider_type, record=template),
            adapter.fingerprint(desired),
        )
        try:
            obs = adapter.create(desired, claimed=self._claims)
        except OutcomeUnknownError as e:
            obs = self._settle_unknown_create(a, adapter, desired, entry, sent_at, e)
        except RateLimitedError as e:
            self.store.journal_close(entry, "failed", error=str(e))  # refused: nothing was created
            if a.kind not in self._slot_kinds(a.provider) or self.clock.now() - first_try > timeout_for(
                a.kind, a.lifecycle
            ):
                raise
            # the account is busy with work this state does not know (its slots are not ours):
            # wait for one to free instead of failing, then submit again
            if retrying:
                raise _Busy(e) from None
            refused = e
            return _Wait(lambda: self._creating_when_free(a, deposed, refused, first_try))
        except ProviderError as e:
            self.store.journal_close(entry, "failed", error=str(e))
            raise
        self._claim(obs.remote_id)
        record = self._new_record(a, obs, built_from=built_from, deposed=deposed)
        self._put(
            record,
            event="created",
            detail={"remote_id": obs.remote_id},
            close_journal=(entry, "done", {"remote_id": obs.remote_id, "status": obs.status}),
        )
        return self._settle(a, obs, record)

    def _slot_kinds(self, provider: str) -> tuple[str, ...]:
        eco = self.options.economics.get(provider)
        return eco.quota.kinds if eco is not None else ()

    def _creating_when_free(
        self, a: Action, deposed: list[dict[str, Any]] | None, refused: RateLimitedError, first_try: float
    ) -> Pauses[tuple[Outcome, str]]:
        """A training submit the provider refused as busy (429): wait, then submit it again (it was
        refused, so nothing exists to duplicate)."""
        while True:
            pause = refused.retry_after or BUSY_RETRY_S
            self.progress.waiting(
                a.address, "queued", self.clock.now() - first_try, f"provider busy: {refused}"
            )
            try:
                yield from self.waiter.pausing(pause)
            except WaitInterrupted:
                return (
                    Outcome.DEFERRED,
                    f"interrupted while {a.provider} was busy ({refused}); run apply again",
                )
            try:
                got = self._create(a, deposed, first_try, retrying=True)
            except _Busy as busy:
                refused = busy.refused
                continue
            if isinstance(got, _Wait):
                return (yield from got.pauses())
            return got

    def _keep_oldest(self, a: Action, twins: list[Observation]) -> Observation:
        """One create landed more than once: keep the oldest object and delete the others now.

        The journal row is still open while this runs: a kill here is settled by the next run,
        which finds them all again.
        """
        kept, extra = keep_oldest(twins)
        self.store.append_event(
            "duplicate-found",
            a.address,
            {
                "kept": kept.remote_id,
                "deleting": [t.remote_id for t in extra],
                "why": "one create landed more than once; the oldest object is kept, the others deleted",
            },
        )
        for twin in extra:
            probe = ResourceRecord(
                address=a.address,
                kind=a.kind,
                name=a.name,
                provider=a.provider,
                provider_type=a.provider_type,
                remote_id=twin.remote_id,
                spec=dict(a.desired or {}),
                spec_hash=a.spec_hash or "",
                lifecycle=dict(a.lifecycle),
            )
            self._destroy_object(a, probe, reason="duplicate")
        return kept

    def _settle_unknown_create(
        self,
        a: Action,
        adapter: ProviderAdapter,
        desired: Desired,
        entry: int,
        sent_at: float,
        error: OutcomeUnknownError,
    ) -> Observation:
        """A create that may or may not have landed: look, and look again, until the window closes.

        One negative look-up proves nothing (the provider may commit it after the client gave up),
        and there is no idempotency key: re-sending could pay for a second training. So this never
        re-sends. Nothing found by the end of the window → the step fails and the journal row stays
        open; the next run looks again before it plans anything for this resource.

        A match that is older than the request (it fits only thanks to the clock-skew margin) may
        be someone else's twin while ours is still to land: keep looking until the window closes,
        then keep the oldest of what is there.
        """
        pauses = iter(LOOK_AGAIN_S)
        pause = LOOK_AGAIN_S[0]
        earlier: Observation | None = None  # a match made before our request
        while True:
            try:
                found = adapter.find(desired, sent_at - CLOCK_SKEW_S, self._claims)
            except AmbiguousMatch as m:
                if m.twins:
                    return self._keep_oldest(a, m.twins)
                raise StepFailed(ambiguous_message(a.address, m.candidates, m.why)) from None
            except ProviderError:
                found = None  # the look-up itself failed; the next one may work
            waited = self.clock.now() - sent_at
            window = self.options.settle_window_s
            if found is not None and ((found.created_at or sent_at) >= sent_at - 1.0 or waited >= window):
                self.store.append_event(
                    "create-resolved",
                    a.address,
                    {"remote_id": found.remote_id, "how": f"found by look-up after: {error}"},
                )
                return found
            if found is not None:
                earlier = found
            elif earlier is not None and waited >= window:
                return earlier
            if waited >= window:
                raise StepFailed(
                    f"the create's outcome is unknown ({error}) and nothing appeared on '{a.provider}' within "
                    f"{window:.0f}s; it is not sent again. The journal keeps it open, so the next apply "
                    "looks again before creating anything. If you know it never reached the provider: "
                    f"'reconciler state resolve {a.address} --absent'"
                )
            pause = next(pauses, pause)
            self.progress.waiting(
                a.address, "outcome unknown", waited, "looking again: the provider may commit late"
            )
            try:
                self.waiter.pause(min(pause, window - waited))
            except WaitInterrupted:
                raise StepFailed(
                    "interrupted while settling an ambiguous create; the next apply looks again "
                    "before creating anything"
                ) from None

    def _settle(self, a: Action, obs: Observation, record: ResourceRecord) -> StepResult:
        """Done if ready; else wait for readiness on the wait pool (unless --no-wait)."""
        if obs.phase is Phase.READY:
            return Outcome.SUCCEEDED, obs.status
        if not self.options.wait:
            return Outcome.SUBMITTED, f"{obs.status}; not waiting (--no-wait)"
        return _Wait(lambda: self._waiting_ready(a, obs, record))

    def _waiting_ready(
        self, a: Action, obs: Observation, record: ResourceRecord
    ) -> Pauses[tuple[Outcome, str]]:
        """Poll until ready, failed or gone, recording every status change."""
        adapter = self._adapter(a)
        last_status = [obs.status]

        def on_poll(o: Observation, elapsed: float) -> None:
            self.progress.waiting(a.address, o.status, elapsed, o.progress, remote_id=o.remote_id)
            changed = o.status != last_status[0]
            log.log(
                logging.INFO if changed else logging.DEBUG,
                "%s: %s %s after %.1fs of waiting%s",
                a.address,
                o.remote_id,
                o.status,
                elapsed,
                f" ({o.progress})" if o.progress else "",
                extra={"event": "wait", "address": a.address, "status": o.status, "elapsed_s": elapsed},
            )
            if changed:
                last_status[0] = o.status
            # the poll that settles it is written once, by the "settled" write that follows at once
            # (same thread, nothing sent in between): a "status" write of it too was a second
            # transaction and a second encoding of the whole record per waited resource
            if changed and o.phase not in SETTLED_PHASES:
                self._put(
                    replace(
                        record,
                        status=o.status,
                        observed=o.object,
                        outputs={**record.outputs, **o.outputs},
                        observed_at=_iso(self.clock.now()),
                        updated_at=_iso(self.clock.now()),
                    ),
                    event="status",
                    detail={"status": o.status},
                )

        current = record
        self.progress.waiting(a.address, obs.status, 0.0, obs.progress, remote_id=obs.remote_id)
        try:
            final = yield from self.waiter.settling(
                obs, lambda: adapter.read(current), timeout_for(a.kind, a.lifecycle), on_poll
            )
        except WaitTimeout as t:
            if _on_timeout(a) == "cancel":
                raise StepFailed(self._cancel_timed_out(a, adapter, current, t)) from None
            raise StepFailed(
                f"{t}; it keeps going on the provider (lifecycle.on_timeout: keep) — run apply again to keep "
                "waiting, or raise lifecycle.timeouts.create"
            ) from None
        except WaitInterrupted as w:
            return (
                Outcome.SUBMITTED,
                f"{w.last.status}; interrupted while waiting — the next apply picks it up",
            )
        self._put(
            replace(
                record,
                status=final.status,
                observed=final.object,
                outputs={**record.outputs, **final.outputs, **self._used_only(a, final)},
                observed_at=_iso(self.clock.now()),
                updated_at=_iso(self.clock.now()),
            ),
            event="settled",
            detail={"status": final.status},
        )
        if final.phase is Phase.READY:
            return Outcome.SUCCEEDED, final.status
        detail = f": {final.message}" if final.message else ""
        if final.phase is Phase.GONE:
            raise StepFailed(f"{final.remote_id} disappeared from the provider while waiting")
        raise StepFailed(
            f"{final.remote_id} ended {final.status}{detail}{self._log_tail(adapter, current, final)}"
        )

    def _log_tail(self, adapter: ProviderAdapter, record: ResourceRecord, final: Observation) -> str:
        """The last lines of a failed job's logs, where the provider has a logs endpoint."""
        if final.phase is not Phase.FAILED or not isinstance(adapter, FailureExplainer):
            return ""
        try:
            lines = adapter.failure_logs(record, LOG_TAIL_LINES)
        except ProviderError as e:
            return f"\n      (its logs could not be read: {e})"
        return "".join(f"\n      log: {line}" for line in lines)

    def _cancel_timed_out(
        self, a: Action, adapter: ProviderAdapter, record: ResourceRecord, timeout: WaitTimeout
    ) -> str:
        """A job past its timeout is canceled so it stops billing (lifecycle.on_timeout: cancel), journaled."""
        entry = self.store.journal_open(
            a.address,
            "cancel",
            a.provider,
            {"remote_id": record.remote_id, "reason": "past lifecycle.timeouts.create"},
            {"remote_id": record.remote_id},
        )
        try:
            obs = adapter.cancel(record)
        except ProviderError as e:
            self.store.journal_close(entry, "failed", error=str(e))
            return (
                f"{timeout}; canceling {record.remote_id} failed ({e}): it may still be running and billing"
            )
        self.store.journal_close(entry, "done", result={"status": obs.status})
        self._put(
            replace(
                record,
                status=obs.status,
                observed=obs.object or record.observed,
                updated_at=_iso(self.clock.now()),
            ),
            event="timeout-canceled",
            detail={"status": obs.status, "waited_s": round(timeout.waited)},
        )
        how = f" ({obs.message})" if obs.message else f" (now {obs.status})"
        return (
            f"{timeout}: past lifecycle.timeouts.create, so {record.remote_id} was canceled{how}; "
            "set lifecycle.on_timeout: keep to let it run, or raise the timeout. The next plan creates it again"
        )

    def _adopt(self, a: Action) -> StepResult:
        found = a.adopted or {}
        obs = Observation(
            remote_id=found["remote_id"],
            phase=Phase(found["phase"]),
            status=found["status"],
            object=found.get("object") or {},
            outputs=found.get("outputs") or {},
            message=found.get("message"),
            created_at=found.get("created_at"),
        )
        _, built_from = self._desired(a)
        record = self._new_record(a, obs, built_from=built_from)
        self._put(record, event="adopted", detail={"remote_id": obs.remote_id})
        self._claim(obs.remote_id)
        if obs.phase in (Phase.FAILED, Phase.CANCELED):
            raise StepFailed(
                f"adopted {obs.remote_id}, but it is {obs.status}: {obs.message or ''}; "
                "plan again to replace it"
            )
        return self._settle(a, obs, record)

    def _update(self, a: Action) -> StepResult:
        prior = ResourceRecord.from_dict(a.prior or {})
        current = self.store.get(a.address) or prior
        if a.change_class is ChangeClass.LOCAL:
            content = a.content or {}
            self._put(
                replace(
                    current,
                    spec=dict(a.desired or current.spec),
                    spec_hash=a.spec_hash or current.spec_hash,
                    labels=dict(a.labels),
                    lifecycle=dict(a.lifecycle),
                    content_files=dict(content.get("files") or current.content_files),
                    updated_at=_iso(self.clock.now()),
                ),
                event="updated-local",
            )
            return Outcome.SUCCEEDED, "state updated"
        adapter = self._adapter(a)
        desired, _ = self._desired(a)
        entry = self.store.journal_open(
            a.address, "update", a.provider, {"spec": a.desired}, {"remote_id": current.remote_id}
        )
        try:
            obs = adapter.update(desired, current)
        except ProviderError as e:
            self.store.journal_close(entry, "failed", error=str(e))
            raise
        record = replace(
            current,
            spec=dict(a.desired or {}),
            spec_hash=a.spec_hash or "",
            status=obs.status,
            observed=obs.object,
            outputs={**current.outputs, **obs.outputs},
            labels=dict(a.labels),
            lifecycle=dict(a.lifecycle),
            updated_at=_iso(self.clock.now()),
        )
        self._put(
            record,
            event="updated",
            detail={"status": obs.status},
            close_journal=(entry, "done", {"status": obs.status}),
        )
        return self._settle(a, obs, record)

    def _replace(self, a: Action) -> StepResult:
        prior = ResourceRecord.from_dict(a.prior or {})
        if a.replace_mode is ReplaceMode.DESTROY_BEFORE_CREATE:
            self._destroy_object(a, prior, reason="replace")
            self._remove(a.address, event="replaced-old-deleted", detail={"remote_id": prior.remote_id})
            return self._create(a)
        # create-before-destroy: the old object stays in state as deposed until #old deletes it
        old = prior.to_dict()
        old.pop("deposed", None)
        return self._create(a, deposed=[*prior.deposed, old])

    def _delete_deposed_of(self, a: Action) -> tuple[Outcome, str]:
        current = self.store.get(a.address)
        if current is None or not current.deposed:
            return Outcome.SUCCEEDED, "nothing deposed"
        for old in list(current.deposed):
            self._destroy_object(a, ResourceRecord.from_dict(old), reason="replace")
            current = self.store.get(a.address) or current
            self._put(
                replace(
                    current,
                    deposed=[d for d in current.deposed if d.get("remote_id") != old.get("remote_id")],
                ),
                event="deposed-deleted",
                detail={"remote_id": old.get("remote_id")},
            )
        return Outcome.SUCCEEDED, "old object deleted"

    def _destroy_object(self, a: Action, record: ResourceRecord, *, reason: str) -> None:
        """Cancel (if still running) and delete one provider object, journaled."""
        if not record.remote_id:
            return
        adapter = self._adapter(a)
        obs = adapter.read(record)
        if obs.phase is Phase.GONE:
            return
        if obs.phase is Phase.PENDING and record.kind == "FineTune":
            entry = self.store.journal_open(
                a.address,
                "cancel",
                a.provider,
                {"remote_id": record.remote_id},
                {"remote_id": record.remote_id},
            )
            try:
                obs = adapter.cancel(record)
            except NotFoundError:
                obs = replace(obs, phase=Phase.GONE)
            except ProviderError as e:
                self.store.journal_close(entry, "failed", error=str(e))
                raise
            self.store.journal_close(entry, "done", result={"status": obs.status})
            if obs.phase is not Phase.GONE:
                try:
                    self.waiter.until_settled(
                        obs,
                        lambda: adapter.read(record),
                        3600.0,
                        lambda o, t: self.progress.waiting(
                            a.address, o.status, t, "canceling", remote_id=o.remote_id
                        ),
                        settled=frozenset({Phase.CANCELED, Phase.FAILED, Phase.READY, Phase.GONE}),
                    )
                except WaitTimeout as t:
                    raise StepFailed(f"job {record.remote_id} did not finish canceling: {t}") from None
                except WaitInterrupted:
                    raise StepFailed(f"interrupted while canceling job {record.remote_id}") from None
        entry = self.store.journal_open(
            a.address,
            "delete",
            a.provider,
            {"remote_id": record.remote_id, "reason": reason},
            {"remote_id": record.remote_id},
        )
        try:
            pending = adapter.delete(record)
        except NotFoundError:
            pending = None
        except ProviderError as e:
            self.store.journal_close(entry, "failed", error=str(e))
            raise
        self.store.journal_close(entry, "done")
        if pending is not None:
            # deleted asynchronously (a deployment goes DELETING, then 404): wait until it is gone,
            # so a replacement can take the same name and destroy really leaves nothing behind
            try:
                self.waiter.until_settled(
                    pending,
                    lambda: adapter.read(record),
                    timeout_for(record.kind, record.lifecycle, "delete"),
                    lambda o, t: self.progress.waiting(
                        a.address, o.status, t, "deleting", remote_id=o.remote_id
                    ),
                    settled=frozenset({Phase.GONE}),
                )
            except WaitTimeout as t:
                raise StepFailed(f"{record.remote_id} is still being deleted: {t}") from None
            except WaitInterrupted:
                raise StepFailed(f"interrupted while {record.remote_id} was being deleted") from None

    def _delete(self, a: Action) -> tuple[Outcome, str]:
        if a.deposed:
            current = self.store.get(a.address)
            old = next(
                (d for d in (current.deposed if current else []) if d.get("remote_id") == a.deposed), None
            )
            if old is not None:
                self._destroy_object(a, ResourceRecord.from_dict(old), reason="deposed")
                current = self.store.get(a.address)
                if current is not None:
                    self._put(
                        replace(
                            current, deposed=[d for d in current.deposed if d.get("remote_id") != a.deposed]
                        ),
                        event="deposed-deleted",
                        detail={"remote_id": a.deposed},
                    )
            return Outcome.SUCCEEDED, f"deleted deposed {a.deposed}"
        record = self.store.get(a.address) or ResourceRecord.from_dict(a.prior or {})
        for old in record.deposed:
            self._destroy_object(a, ResourceRecord.from_dict(old), reason="deposed")
        self._destroy_object(a, record, reason="delete")
        self._remove(a.address, event="deleted", detail={"remote_id": record.remote_id})
        return Outcome.SUCCEEDED, f"deleted {record.remote_id or ''}".strip()

    def _cancel_and_delete(self, a: Action) -> tuple[Outcome, str]:
        return self._delete(a)

    def _forget(self, a: Action) -> tuple[Outcome, str]:
        if a.deposed:  # an old object the provider cannot delete: drop it from the record, keep the record
            current = self.store.get(a.address)
            if current is not None:
                self._put(
                    replace(current, deposed=[d for d in current.deposed if d.get("remote_id") != a.deposed]),
                    event="deposed-forgotten",
                    detail={"remote_id": a.deposed},
                )
            return Outcome.SUCCEEDED, f"forgot deposed {a.deposed}; left on the provider"
        self._remove(a.address, event="forgotten", detail={"reason": a.reason})
        return Outcome.SUCCEEDED, "removed from state; left on the provider"

    def _await_existing(self, a: Action) -> StepResult:
        """A no-op resource that something downstream needs ready (e.g. after apply --no-wait)."""
        record = self.store.get(a.address)
        if record is None:
            raise StepFailed("not in state")
        obs = self._adapter(a).read(record)
        if obs.phase is Phase.GONE:
            raise StepFailed(f"{record.remote_id} no longer exists on the provider; plan again")
        return self._settle(a, obs, record)
