"""The crash invariants of DESIGN.md §3b, checked against the provider (the sandbox) and the state.

Why a list of violations instead of asserts: a crash trial that breaks one invariant usually breaks
several (a duplicate job is also an orphan and a stale dependent), and the report must say all of
it. Each violation is one sentence naming the resource, the provider object and what is wrong.

The provider is the source of truth, so every check starts from what the sandbox holds, read through
its introspection (`Sandbox.list_objects`, every object ever created with `_deleted`). Where the
documented-fidelity API hides a fact we need as a *judge* (what a WaveSpeed prediction was submitted
with), the emulator's own record is read; the engine never gets that help.

Objects the provider cannot delete are exempt from "one live object" and "no orphans": DashScope
exports (gone with their job), WaveSpeed uploads (expire after 7 days, cannot be listed) and ImgOpen
tasks (no delete API). They must still be what the state points at, and never be in the state after
a destroy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from crash_harness import open_sandbox, read_clock, workspace
from crash_scenarios import Scenario

from reconciler.clock import Clock, FakeClock
from reconciler.models.imgopen import ImgOpenFineTune
from reconciler.models.plans import Plan
from reconciler.models.resources import ManifestSet
from reconciler.models.state import ResourceRecord
from reconciler.providers.imgopen.adapter import dataset_remote_id
from reconciler.providers.packaging import upload_name, zipped
from reconciler.sandbox import Sandbox

IMGOPEN_SUCCEEDED = 2  # the emulator's (inferred) status code for a finished training
TRAINING_ROUTES = {  # the sandbox's request-count key for each provider's training submit
    "dashscope": "POST /api/v1/fine-tunes",
    "wavespeed": "POST /api/v3/wavespeed-ai/{trainer}",
}


# --------------------------------------------------------------------------- what the world looks like
@dataclass
class World:
    provider: str
    scenario: Scenario
    records: dict[str, ResourceRecord]
    open_journal: list[str]
    manifests: ManifestSet
    plan: Plan
    sandbox: Sandbox

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return self.sandbox.list_objects(kind)

    def of_kind(self, kind: str) -> list[ResourceRecord]:
        return [r for r in self.records.values() if r.kind == kind]

    def record(self, kind: str, name: str) -> ResourceRecord | None:
        return self.records.get(f"{kind}/{name}")

    @property
    def known_ids(self) -> set[str]:
        ids = {r.remote_id for r in self.records.values() if r.remote_id}
        ids |= {d.get("remote_id") for r in self.records.values() for d in r.deposed if d.get("remote_id")}
        return ids


def observe(root: Path, provider: str, scenario: Scenario, clock: Clock | None = None) -> World:
    clock = clock or FakeClock(read_clock(root))
    sandbox = open_sandbox(root, clock)
    ws = workspace(root, clock, sandbox, provider, sandbox.transport())
    store = ws.open_state(readonly=True)
    try:
        records = store.all()
        journal = [f"{e.address} {e.operation} (journal row {e.id})" for e in store.open_journal()]
    finally:
        store.close()
    plan = ws.plan(destroy=scenario.destroy)
    return World(provider, scenario, records, journal, ws.manifests, plan, sandbox)


def check(
    root: Path, provider: str, scenario: Scenario, clock: Clock | None = None, notes: list[str] | None = None
) -> list[str]:
    """Every invariant violation after recovery; empty when the trial passes.

    `clock`: the time to look at the world at (default: where the last engine run left the fake clock).
    `notes`: if given, receives facts worth reporting that break no invariant (e.g. an extra upload).
    """
    world = observe(root, provider, scenario, clock)
    try:
        if notes is not None:
            notes.extend(_notes(world))
        return [*_converged(world), *PROVIDER_CHECKS[provider](world)]
    finally:
        world.sandbox.close()


def _notes(w: World) -> list[str]:
    if w.provider != "wavespeed":
        return []
    uploads = [u for u in w.objects("wavespeed_uploads") if u.get("completed")]
    # the setup's upload, plus one per re-upload of changed content, is what a clean run makes
    clean = 1 + (w.scenario.name == "dataset")
    if len(uploads) > clean:
        return [
            f"{len(uploads)} completed uploads, a clean run makes {clean} (uploads cannot be deleted; "
            "the extra one expires after 7 days)"
        ]
    return []


# --------------------------------------------------------------------------- shared checks
def _converged(w: World) -> list[str]:
    out = []
    changes = [
        f"{a.address}{' deposed ' + a.deposed if a.deposed else ''}: {a.action.value} ({a.reason})"
        for a in w.plan.changes
    ]
    if changes:
        out.append("plan not empty: " + "; ".join(changes))
    if w.plan.errors:
        out.append("plan errors: " + "; ".join(str(e.get("message", e)) for e in w.plan.errors))
    for r in w.records.values():
        if r.deposed:
            out.append(
                f"{r.address}: deposed objects left in state: {[d.get('remote_id') for d in r.deposed]}"
            )
    if w.open_journal:
        out.append("journal rows left open: " + "; ".join(w.open_journal))
    declared = set() if w.scenario.destroy else set(w.manifests.resources)
    for address in sorted(declared - set(w.records)):
        out.append(f"{address}: declared but not in state")
    for address in sorted(set(w.records) - declared):
        out.append(f"{address}: in state but {'destroyed' if w.scenario.destroy else 'not declared'}")
    return out


def _live(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if not o.get("_deleted")]


def _one_object_per_resource(
    w: World, kind: str, live: list[dict[str, Any]], id_key: str, records: list[ResourceRecord]
) -> list[str]:
    """Invariant 1 (one object per resource) and 2 (no orphans) for a kind the provider can delete."""
    out = []
    ids = [str(o[id_key]) for o in live]
    if len(ids) != len(records):
        out.append(
            f"{len(ids)} live {kind} {sorted(ids)} for {len(records)} resource(s) "
            f"{sorted(r.address for r in records)}"
        )
    for r in records:
        if r.remote_id not in ids:
            out.append(f"{r.address}: its {kind} {r.remote_id} is not live on the provider")
    known = w.known_ids
    for i in ids:
        if i not in known:
            out.append(f"orphan {kind} {i}: live on the provider, unknown to the state")
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as the providers mean it: numbers may come back as strings ("1.6e-5")."""
    try:
        if not isinstance(a, bool) and not isinstance(b, bool):
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-15)
    except (TypeError, ValueError):
        pass
    return a == b


def _number_or_text(value: Any) -> Any:
    try:
        return float(value) if not isinstance(value, bool) else value
    except (TypeError, ValueError):
        return value


def _canonical(mapping: dict[str, Any]) -> str:
    return json.dumps({k: _number_or_text(v) for k, v in mapping.items() if v is not None}, sort_keys=True)


def _trainings_ever(
    w: World, label: str, keyed: list[tuple[str, Any]], request_route: str | None
) -> list[str]:
    """Invariant 1, second half: never a training submitted twice for one spec, and exactly as many as needed."""
    out = []
    groups: dict[Any, list[str]] = defaultdict(list)
    for object_id, key in keyed:
        groups[key].append(object_id)
    for ids in groups.values():
        if len(ids) > 1:
            out.append(f"training submitted twice: {len(ids)} {label} {ids} for one spec")
    needed = w.scenario.trainings
    if len(keyed) != needed:
        out.append(f"{len(keyed)} {label} created ever {[i for i, _ in keyed]}, the scenario needs {needed}")
    if request_route is not None:
        sent = w.sandbox.request_counts().get(request_route, 0)
        if sent != needed:
            out.append(f"{request_route} reached the provider {sent} times, the scenario needs {needed}")
    return out


def _current_digest(w: World, name: str) -> str | None:
    resource = w.manifests.resources.get(f"Dataset/{name}")
    return resource.content.digest if resource is not None and resource.content is not None else None


# --------------------------------------------------------------------------- DashScope
def _dashscope(w: World) -> list[str]:
    out: list[str] = []
    files_all = w.objects("files")
    jobs_all = w.objects("fine_tunes")
    files = {f["id"]: f for f in _live(files_all)}
    jobs = {j["job_id"]: j for j in _live(jobs_all)}
    deployments = {d["deployed_model"]: d for d in _live(w.objects("deployments"))}
    checkpoints = {(c["job_id"], c["checkpoint"]): c for c in _live(w.objects("checkpoints"))}

    out += _one_object_per_resource(w, "files", list(files.values()), "id", w.of_kind("Dataset"))
    out += _one_object_per_resource(w, "fine_tunes", list(jobs.values()), "job_id", w.of_kind("FineTune"))
    out += _one_object_per_resource(
        w, "deployments", list(deployments.values()), "deployed_model", w.of_kind("Deployment")
    )

    # invariant 3: lineage — every dependent built from its upstream's current object
    for ds in w.of_kind("Dataset"):
        digest = _current_digest(w, ds.name)
        if ds.content_digest != digest:
            out.append(
                f"{ds.address}: state records content {ds.content_digest}, the manifests have {digest}"
            )
        f = files.get(ds.remote_id or "")
        wanted = upload_name(ds.name, digest or "")
        if f is not None and f["filename"] != wanted:
            out.append(
                f"{ds.address}: live file {f['id']} is {f['filename']}, the current content uploads as {wanted}"
            )
    for ft in w.of_kind("FineTune"):
        job = jobs.get(ft.remote_id or "")
        if job is None:
            continue
        upstream = [w.record("Dataset", n) for n in ft.spec.get("training_datasets") or []]
        current_files = sorted(str(d.remote_id) if d else "(not in state)" for d in upstream)
        if sorted(job["training_file_ids"]) != current_files:
            out.append(
                f"{ft.address}: job {job['job_id']} trained on {sorted(job['training_file_ids'])}, "
                f"the Dataset's current file is {current_files}"
            )
        for key, value in (ft.spec.get("hyper_parameters") or {}).items():
            echoed = job["hyper_parameters"].get(key)
            if value is not None and echoed is not None and not _same(echoed, value):
                out.append(
                    f"{ft.address}: job {job['job_id']} has {key}={echoed}, the applied spec says {value}"
                )
        if job["status"] != "SUCCEEDED":
            out.append(f"{ft.address}: job {job['job_id']} is {job['status']}, not settled")
        if ft.outputs.get("finetuned_output") != job.get("finetuned_output"):
            out.append(
                f"{ft.address}: state says finetuned_output {ft.outputs.get('finetuned_output')}, "
                f"job {job['job_id']} produced {job.get('finetuned_output')}"
            )
    for ce in w.of_kind("CheckpointExport"):
        ft = w.record("FineTune", ce.spec.get("fine_tune", ""))
        wanted_id = f"{ft.remote_id if ft else '(no FineTune)'}:{ce.spec.get('checkpoint')}"
        if ce.remote_id != wanted_id:
            out.append(f"{ce.address}: exports {ce.remote_id}, the FineTune's current job gives {wanted_id}")
        job_id, _, name = (ce.remote_id or "").partition(":")
        cp = checkpoints.get((job_id, name))
        if cp is None:
            out.append(f"{ce.address}: checkpoint {ce.remote_id} is not live on the provider")
        elif cp.get("status") != "SUCCEEDED":
            out.append(f"{ce.address}: export {ce.remote_id} is {cp.get('status')}, not settled")
        elif cp.get("model_name") != ce.outputs.get("model_name"):
            out.append(
                f"{ce.address}: state says model_name {ce.outputs.get('model_name')}, "
                f"the export is {cp.get('model_name')}"
            )
    for dep in w.of_kind("Deployment"):
        live = deployments.get(dep.remote_id or "")
        if live is None:
            continue
        if dep.spec.get("checkpoint_export"):
            source = w.record("CheckpointExport", dep.spec["checkpoint_export"])
            wanted_model = source.outputs.get("model_name") if source else None
        else:
            source = w.record("FineTune", dep.spec.get("fine_tune", ""))
            job = jobs.get(source.remote_id or "") if source else None
            wanted_model = job.get("finetuned_output") if job else None
        if live["model_name"] != wanted_model:
            out.append(
                f"{dep.address}: deployment {live['deployed_model']} serves {live['model_name']}, "
                f"the current {source.address if source else 'source'} produced {wanted_model}"
            )
        if live["status"] != "RUNNING":
            out.append(f"{dep.address}: deployment {live['deployed_model']} is {live['status']}, not settled")

    filenames = {f["id"]: f["filename"] for f in files_all}
    keyed = [
        (
            j["job_id"],
            (
                j["model"],
                tuple(sorted(filenames.get(i, i) for i in j["training_file_ids"])),
                _canonical(j["hyper_parameters"]),
            ),
        )
        for j in jobs_all
    ]
    out += _trainings_ever(w, "fine-tune jobs", keyed, TRAINING_ROUTES["dashscope"])
    return out


# --------------------------------------------------------------------------- WaveSpeed
class _Fetcher:
    """Reads a URL through the sandbox (a GET, like any consumer of the LoRA data would)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._client = httpx.Client(transport=sandbox.transport(), base_url="http://127.0.0.1")
        self._cache: dict[str, str | None] = {}

    def sha256(self, url: str) -> str | None:
        if url not in self._cache:
            r = self._client.get(url)
            self._cache[url] = hashlib.sha256(r.content).hexdigest() if r.status_code == 200 else None
        return self._cache[url]

    def close(self) -> None:
        self._client.close()


def _prediction_input(w: World, p: dict[str, Any]) -> dict[str, Any]:
    if isinstance(p.get("input"), dict):
        return p["input"]
    row = w.sandbox.store.one("SELECT input FROM wavespeed_predictions WHERE id = ?", (p["id"],))
    return json.loads(row["input"]) if row else {}


def _wavespeed(w: World) -> list[str]:
    out: list[str] = []
    preds_all = w.objects("wavespeed_predictions")
    preds = {p["id"]: p for p in _live(preds_all)}
    out += _one_object_per_resource(
        w, "wavespeed_predictions", list(preds.values()), "id", w.of_kind("FineTune")
    )
    fetch = _Fetcher(w.sandbox)
    try:
        for ds in w.of_kind("Dataset"):
            digest = _current_digest(w, ds.name)
            if ds.content_digest != digest:
                out.append(
                    f"{ds.address}: state records content {ds.content_digest}, the manifests have {digest}"
                )
            resource = w.manifests.resources.get(ds.address)
            source = resource.content.source if resource and resource.content else None
            served = fetch.sha256(str(ds.remote_id))
            if served is None:
                out.append(f"{ds.address}: its upload {ds.remote_id} is not served by the provider")
            elif source:
                with zipped(source) as path:
                    wanted = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                if served != wanted:
                    out.append(
                        f"{ds.address}: upload {ds.remote_id} holds other bytes than the current dataset"
                    )
        for ft in w.of_kind("FineTune"):
            p = preds.get(ft.remote_id or "")
            if p is None:
                continue
            given = _prediction_input(w, p)
            ds = w.record("Dataset", ft.spec.get("dataset", ""))
            if ds is None or given.get("data") != ds.remote_id:
                out.append(
                    f"{ft.address}: prediction {p['id']} trains on {given.get('data')}, "
                    f"the Dataset's current upload is {ds.remote_id if ds else '(not in state)'}"
                )
            for key in ("trigger_word", "steps", "learning_rate", "lora_rank"):
                if ft.spec.get(key) is not None and not _same(given.get(key), ft.spec[key]):
                    out.append(
                        f"{ft.address}: prediction {p['id']} has {key}={given.get(key)}, "
                        f"the applied spec says {ft.spec[key]}"
                    )
            if p["status"] != "completed":
                out.append(f"{ft.address}: prediction {p['id']} is {p['status']}, not settled")
        keyed = []
        for p in preds_all:
            given = _prediction_input(w, p)
            data = str(given.get("data"))
            params = {k: v for k, v in given.items() if k != "data"}
            keyed.append((p["id"], (p["model"], fetch.sha256(data) or data, _canonical(params))))
    finally:
        fetch.close()
    out += _trainings_ever(w, "trainer predictions", keyed, TRAINING_ROUTES["wavespeed"])
    return out


# --------------------------------------------------------------------------- ImgOpen
def _imgopen(w: World) -> list[str]:
    out: list[str] = []
    tasks_all = w.objects("imgopen_tasks")
    tasks = {t["taskId"]: t for t in tasks_all}
    for ds in w.of_kind("Dataset"):
        resource = w.manifests.resources.get(ds.address)
        urls = list(resource.effective_spec().get("urls") or []) if resource else []
        if ds.remote_id != dataset_remote_id(ds.name, urls):
            out.append(
                f"{ds.address}: state names URL list {ds.remote_id}, the manifests' URLs are "
                f"{dataset_remote_id(ds.name, urls)}"
            )
    for ft in w.of_kind("FineTune"):
        t = tasks.get(ft.remote_id or "")
        if t is None:
            out.append(f"{ft.address}: its task {ft.remote_id} does not exist on the provider")
            continue
        ds = w.record("Dataset", ft.spec.get("dataset", ""))
        current = list(ds.outputs.get("urls") or []) if ds else None
        if t["fileUrlList"] != current:
            out.append(
                f"{ft.address}: task {t['taskId']} trains on other URLs than the Dataset's current list"
            )
        wanted = ImgOpenFineTune.model_validate(dict(ft.spec)).training_request()
        for key, value in wanted.items():
            if not _same(t["fields"].get(key), value):
                out.append(
                    f"{ft.address}: task {t['taskId']} has {key}={t['fields'].get(key)}, "
                    f"the applied spec says {value}"
                )
        if t["status"] != IMGOPEN_SUCCEEDED:
            out.append(f"{ft.address}: task {t['taskId']} has status {t['status']}, not settled")
    keyed = [(t["taskId"], (tuple(t["fileUrlList"]), _canonical(t["fields"]))) for t in tasks_all]
    # a re-submit of a taken taskId reaches the provider and is answered "already exists" by design
    # (ImgOpen's taskId is its idempotency key), so submits are not counted, only tasks
    out += _trainings_ever(w, "ImgOpen tasks", keyed, None)
    return out


PROVIDER_CHECKS = {"dashscope": _dashscope, "wavespeed": _wavespeed, "imgopen": _imgopen}
