"""WaveSpeed's resource handlers, one per kind, behind `WaveSpeedAdapter` (which only routes).

Why: each kind talks to a different part of the API — a Dataset is a given URL or a media upload
(never listed, never deleted), a FineTune a trainer prediction, a Sample an inference prediction —
so each has its own read, find, create, cancel, delete and fingerprint
(`reconciler.providers.handlers.KindHandler`). What trainings and renders share (reading a
prediction, the live history of one model, deleting instead of canceling) is `Predictions`.
The API map and what "found again" may rely on are in `adapter.py`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from reconciler.clock import Clock
from reconciler.models.state import ResourceRecord, iso_utc, parse_iso_utc
from reconciler.models.wavespeed import TRAINER_NAMESPACE, TRAINERS, trainer_model_id
from reconciler.providers.candidates import Candidate, Unrecognised
from reconciler.providers.errors import NotFoundError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase
from reconciler.providers.packaging import upload_name, zipped
from reconciler.providers.wavespeed import samples
from reconciler.providers.wavespeed.client import WaveSpeedClient
from reconciler.providers.wavespeed.outputs import missing_loras, parse_lora_outputs
from reconciler.providers.wavespeed.types import Prediction, PredictionStatus, TrainerInputs

UPLOAD_RETENTION_S = 7 * 24 * 3600.0  # "uploads retained 7 days" [doc]
OUTPUT_RETENTION_S = 7 * 24 * 3600.0  # trainer output URLs "valid for 7 days" [doc]

_PHASES = {
    PredictionStatus.CREATED: Phase.PENDING,
    PredictionStatus.PENDING: Phase.PENDING,
    PredictionStatus.PROCESSING: Phase.PENDING,
    PredictionStatus.COMPLETED: Phase.READY,
    PredictionStatus.FAILED: Phase.FAILED,
    PredictionStatus.CANCELLED: Phase.FAILED,
    PredictionStatus.TIMEOUT: Phase.FAILED,
    PredictionStatus.DELETED: Phase.GONE,
}
_NOT_ADOPTABLE = frozenset(
    {PredictionStatus.FAILED, PredictionStatus.CANCELLED, PredictionStatus.TIMEOUT, PredictionStatus.DELETED}
)
_PROGRESS = {
    PredictionStatus.CREATED: "queued on WaveSpeed (Bronze accounts run 2–3 tasks at a time)",
    PredictionStatus.PENDING: "queued on WaveSpeed",
    PredictionStatus.PROCESSING: "training",
}
_FINGERPRINT_FIELDS = ("trigger_word", "steps", "learning_rate", "lora_rank")


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_iso_utc(text)
    except ValueError:
        return None


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool | str):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _trainer_of(model_id: str | None) -> str | None:
    if not model_id:
        return None
    namespace, _, trainer = model_id.partition("/")
    return trainer if namespace == TRAINER_NAMESPACE and trainer in TRAINERS else None


def _gone(remote_id: str | None, message: str | None = None) -> Observation:
    return Observation(remote_id=remote_id or "", phase=Phase.GONE, status="not_found", message=message)


def _deleted_instead(record: ResourceRecord) -> Observation:
    return Observation(
        remote_id=record.remote_id or "",
        phase=Phase.GONE,
        status=PredictionStatus.DELETED,
        message="WaveSpeed has no cancel endpoint; the prediction was deleted instead",
    )


def _no_update(record: ResourceRecord) -> Observation:
    raise ValueError(f"{record.kind} has no in-place update on wavespeed: every change retrains")


def _known_data_url(desired: Desired) -> str | None:
    dataset = desired.spec.get("dataset")
    url = (desired.inputs.get(f"Dataset/{dataset}") or {}).get("url")
    return str(url) if url else None


def _data_url(desired: Desired) -> str:
    url = _known_data_url(desired)
    if url is None:
        raise ValueError(
            f"{desired.address}: Dataset/{desired.spec['dataset']} has no URL yet (apply it first)"
        )
    return url


class Predictions:
    """What trainings and renders share: a prediction read as an observation, the live history
    of one model, and delete standing in for the cancel WaveSpeed does not have."""

    def __init__(self, client: WaveSpeedClient, clock: Clock, parallelism: int) -> None:
        self.client = client
        self.clock = clock
        self.parallelism = parallelism

    def observation(self, p: Prediction) -> Observation:
        created = _epoch(p.created_at)
        status = p.status or PredictionStatus.CREATED
        phase = _PHASES.get(status, Phase.PENDING)  # unknown statuses: not finished yet
        outputs: dict[str, Any] = {"prediction_id": p.id}
        facts: dict[str, Any] = {}
        message: str | None = None
        if status == PredictionStatus.COMPLETED and p.model and not _trainer_of(p.model):
            outputs.update(samples.media_outputs(p.outputs))
            outputs["media_type"] = samples.media_type(p.model)
            finished = self._finished_at(p, created)
            if finished is not None:  # a render is not redone when its URL expires: it would bill again
                outputs["outputs_expire_at"] = iso_utc(finished + OUTPUT_RETENTION_S)
                if self.clock.now() >= finished + OUTPUT_RETENTION_S:
                    facts["outputs_expired"] = (
                        f"the media URL expired on {_day(finished + OUTPUT_RETENTION_S)}; copies made by "
                        "`reconciler output --download` or `--gallery` remain"
                    )
        elif status == PredictionStatus.COMPLETED:
            loras = parse_lora_outputs(p.outputs)
            outputs.update(loras)
            trainer = _trainer_of(p.model)
            if trainer is not None and (absent := missing_loras(loras, TRAINERS[trainer].lora_outputs)):
                facts["missing_outputs"] = absent
            finished = self._finished_at(p, created)
            if finished is not None:
                expires = finished + OUTPUT_RETENTION_S
                outputs["outputs_expire_at"] = iso_utc(expires)
                facts["outputs_expire_at"] = iso_utc(expires)
                if self.clock.now() >= expires:
                    phase = Phase.GONE
                    facts["outputs_expired"] = True
                    message = (
                        f"LoRA output URLs expired on {_day(expires)}; retrain, or next time download "
                        "them in time with `reconciler output --download`"
                    )
        elif phase is Phase.FAILED:
            message = p.error or f"prediction {status}"
        elif phase is Phase.GONE:
            message = "the prediction was deleted on WaveSpeed"
        return Observation(
            remote_id=p.id,
            phase=phase,
            status=status,
            object=p.model_dump(mode="json", by_alias=True, exclude_none=True),
            outputs=outputs,
            message=message,
            created_at=created,
            progress=_PROGRESS.get(status),
            facts=facts,
        )

    @staticmethod
    def _finished_at(p: Prediction, created: float | None) -> float | None:
        """When the outputs were made: creation + execution time (ms) when reported, else creation."""
        if created is None:
            return None
        millis = p.execution_time
        if millis is None and p.timings:
            value = p.timings.get("inference")
            millis = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        return created + max(float(millis or 0.0), 0.0) / 1000.0

    def read(self, record: ResourceRecord) -> Observation:
        if not record.remote_id:
            return _gone(None)
        try:
            return self.observation(self.client.get_result(record.remote_id))
        except NotFoundError:
            return _gone(record.remote_id, "the prediction no longer exists on WaveSpeed (deleted)")

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        """One `GET …/result` per prediction in bounded parallel: there is no batch read."""
        if not records:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(records))) as pool:
            return {r.address: obs for r, obs in zip(records, pool.map(self.read, records), strict=True)}

    def live(self, model_id: str, claimed: AbstractSet[str], since: float | None) -> list[Prediction]:
        """Unclaimed predictions of `model_id` that are not failed/canceled/deleted (created at or
        after `since`), newest first — everything the documented history lets us compare."""
        out = []
        for p in self.client.iter_predictions(model=model_id, created_after=since):
            if p.id in claimed or p.status in _NOT_ADOPTABLE or (p.model and p.model != model_id):
                continue
            created = _epoch(p.created_at)
            if since is not None and created is not None and created < since:
                continue
            out.append(p)
        return out

    def observe(self, prediction_id: str) -> Observation | None:
        try:  # history is not for status: read the chosen one properly
            return self.observation(self.client.get_result(prediction_id))
        except NotFoundError:
            return None

    def cancel(self, record: ResourceRecord) -> Observation:
        """WaveSpeed has no cancel endpoint: a running prediction is deleted instead."""
        if record.remote_id:
            self.client.delete_predictions([record.remote_id])
        return _deleted_instead(record)

    def delete(self, record: ResourceRecord) -> None:
        """`predictions/delete` (unknown ids are ignored)."""
        if record.remote_id:
            try:
                self.client.delete_predictions([record.remote_id])
            except NotFoundError:
                return


class Datasets:
    """A given URL (nothing to call: the URL *is* the dataset) or a media upload (kept 7 days,
    never listed, never deleted: its lifecycle is known from its upload time alone)."""

    def __init__(self, client: WaveSpeedClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    @staticmethod
    def _external(url: str) -> Observation:
        return Observation(
            remote_id=url, phase=Phase.READY, status="external", object={"url": url}, outputs={"url": url}
        )

    def _upload(self, url: str, filename: str | None, uploaded_at: float | None) -> Observation:
        outputs: dict[str, Any] = {"url": url}
        if filename:
            outputs["filename"] = filename
        facts: dict[str, Any] = {}
        phase, status, message = Phase.READY, "uploaded", None
        if uploaded_at is not None:
            expires = uploaded_at + UPLOAD_RETENTION_S
            outputs["uploaded_at"] = iso_utc(uploaded_at)
            outputs["expires_at"] = iso_utc(expires)
            facts["expires_at"] = iso_utc(expires)
            if self.clock.now() >= expires:
                phase, status = Phase.GONE, "expired"
                message = f"upload expired on {_day(expires)} (WaveSpeed keeps uploads 7 days)"
                facts["expired"] = True
        return Observation(
            remote_id=url,
            phase=phase,
            status=status,
            object=dict(outputs),
            outputs=outputs,
            created_at=uploaded_at,
            message=message,
            facts=facts,
        )

    def read(self, record: ResourceRecord) -> Observation:
        external = (record.spec or {}).get("url")
        if external:
            return self._external(str(external))
        url = record.outputs.get("url") or record.remote_id
        if not url:
            return _gone(None)
        uploaded = _epoch(record.outputs.get("uploaded_at")) or _epoch(record.created_at)
        return self._upload(str(url), record.outputs.get("filename"), uploaded)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return {r.address: self.read(r) for r in records}  # no request: see `read`

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        """A given URL is its dataset; an upload cannot be found again (opaque URL, no listing): it
        is uploaded again, which is cheap and retrains nothing."""
        return {d.address: self._external(str(d.spec["url"])) for d in desired if d.spec.get("url")}

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        spec = desired.spec
        if spec.get("url"):
            return self._external(str(spec["url"]))
        if not desired.source_path:
            raise ValueError(f"{desired.address}: no local source to upload")
        filename = upload_name(desired.name, desired.content_digest or "")
        with zipped(desired.source_path) as path:
            media = self.client.upload_media(path, filename=filename, content_type="application/zip")
        return self._upload(media.url, filename, self.clock.now())

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return _deleted_instead(record)  # nothing runs: no request

    def delete(self, record: ResourceRecord) -> None:
        """Uploads cannot be deleted through the API (they expire after 7 days): only forgotten."""
        return None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        """Nothing to find: an upload's URL is opaque and uploads cannot be listed; the file name
        is journaled for humans only."""
        if desired.spec.get("url"):
            return {"url": desired.spec["url"]}
        return {"filename": upload_name(desired.name, desired.content_digest or "")}


class Trainings:
    """A FineTune: one trainer prediction (`POST /api/v3/wavespeed-ai/<trainer>`)."""

    def __init__(self, client: WaveSpeedClient, predictions: Predictions) -> None:
        self.client = client
        self.predictions = predictions

    @staticmethod
    def wanted_inputs(model_id: str, spec: Mapping[str, Any], data: str | None) -> dict[str, Any]:
        """The input the API applies for this spec: unset fields are the trainer's defaults."""
        facts = TRAINERS.get(_trainer_of(model_id) or "")
        defaults: dict[str, Any] = {"trigger_word": "p3r5on"}
        if facts is not None:
            defaults.update(
                steps=facts.steps_default,
                learning_rate=facts.learning_rate_default,
                lora_rank=facts.lora_rank_default,
            )
        wanted = {k: spec.get(k) if spec.get(k) is not None else defaults.get(k) for k in _FINGERPRINT_FIELDS}
        return {"data": data, **wanted}

    @staticmethod
    def _input_differs(p: Prediction, wanted: Mapping[str, Any]) -> bool:
        """Whether a prediction that *shows* its input was provably not made from `wanted`.

        A prediction without `input` (the documented history) is never ruled out here; a field it
        does not echo counts as the trainer's default (what the API applied).
        """
        given = p.input
        if not isinstance(given, dict):
            return False
        if wanted.get("data") is not None and given.get("data") != wanted["data"]:
            return True
        return not all(
            _same(given.get(k, wanted[k]), wanted[k])
            for k in _FINGERPRINT_FIELDS
            if wanted.get(k) is not None
        )

    @staticmethod
    def _input_matches(p: Prediction, wanted: Mapping[str, Any]) -> bool:
        """Provably this spec's prediction: it shows an input, and every field matches exactly."""
        return (
            isinstance(p.input, dict)
            and wanted.get("data") is not None
            and not Trainings._input_differs(p, wanted)
        )

    def read(self, record: ResourceRecord) -> Observation:
        return self.predictions.read(record)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return self.predictions.read_many(records)

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        return self._since(desired, claimed, since) if since is not None else self._discover(desired, claimed)

    def _since(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float
    ) -> dict[str, Observation]:
        """The prediction an ambiguous submit made, or nothing (the engine looks again later).

        Candidates: predictions of the same trainer model created at or after `since`, unclaimed,
        not failed/canceled/deleted; one that shows a different `input` is ruled out. Exactly one
        left is ours. More than one: `AmbiguousMatch` — the history cannot tell them apart, and
        adopting the wrong one would hand this resource someone else's LoRA.
        """
        out: dict[str, Observation] = {}
        for d in desired:
            model_id = trainer_model_id(d.spec["trainer"])
            wanted = self.wanted_inputs(model_id, d.spec, _known_data_url(d))
            hits = [
                p
                for p in self.predictions.live(model_id, claimed, since)
                if not self._input_differs(p, wanted)
            ]
            if len(hits) > 1:
                raise AmbiguousMatch(
                    d.address,
                    [p.id for p in hits],
                    f"{len(hits)} unclaimed trainings of {model_id} were created since {iso_utc(since)}, and "
                    "WaveSpeed's history does not show a prediction's inputs, so which one this submit made "
                    "cannot be told",
                )
            if hits and (obs := self.predictions.observe(hits[0].id)) is not None:
                out[d.address] = obs
        return out

    def _discover(self, desired: list[Desired], owned: AbstractSet[str]) -> dict[str, Observation]:
        """With no state and no journal row: adopted only when a prediction shows an `input`
        matching exactly (the documented history shows none, so normally nothing is); two such →
        `AmbiguousMatch`. What might be it is reported by `unrecognised`, for the plan to warn about."""
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        for model_id, group in self._by_model(desired).items():
            wanted = {d.address: self.wanted_inputs(model_id, d.spec, _known_data_url(d)) for d in group}
            if not any(w["data"] for w in wanted.values()):
                continue  # nothing can be proven without the dataset's URL
            live = self.predictions.live(model_id, claimed, None)
            for d in group:
                hits = [p for p in live if p.id not in claimed and self._input_matches(p, wanted[d.address])]
                if len(hits) > 1:
                    raise AmbiguousMatch(
                        d.address,
                        [p.id for p in hits],
                        f"{len(hits)} unclaimed trainings of {model_id} show exactly this input",
                    )
                if hits and (obs := self.predictions.observe(hits[0].id)) is not None:
                    out[d.address] = obs
                    claimed.add(obs.remote_id)
        return out

    def unrecognised(self, desired: list[Desired], claimed: AbstractSet[str]) -> dict[str, Unrecognised]:
        """For FineTunes `find` did not adopt: the unclaimed trainings of their trainer model in the
        history (last 7 days) that do not provably belong to something else."""
        out: dict[str, Unrecognised] = {}
        for model_id, group in self._by_model(desired).items():
            live = self.predictions.live(model_id, claimed, None)
            for d in group:
                wanted = self.wanted_inputs(model_id, d.spec, _known_data_url(d))
                fits = [p for p in live if not self._input_differs(p, wanted)]
                if fits:
                    out[d.address] = Unrecognised(
                        address=d.address,
                        what=f"trainings of {model_id}",
                        window="from the last 7 days",
                        why="WaveSpeed's history does not show a prediction's inputs, so none can be recognised "
                        "as this resource",
                        candidates=[Candidate(p.id, p.status, p.created_at) for p in fits],
                    )
        return out

    @staticmethod
    def _by_model(desired: list[Desired]) -> dict[str, list[Desired]]:
        by_model: dict[str, list[Desired]] = defaultdict(list)
        for d in desired:
            by_model[trainer_model_id(d.spec["trainer"])].append(d)
        return by_model

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        spec = desired.spec
        inputs = TrainerInputs(
            data=_data_url(desired),
            trigger_word=spec.get("trigger_word"),
            steps=spec.get("steps"),
            learning_rate=spec.get("learning_rate"),
            lora_rank=spec.get("lora_rank"),
        )
        return self.predictions.observation(self.client.submit_trainer(spec["trainer"], inputs))

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return self.predictions.cancel(record)

    def delete(self, record: ResourceRecord) -> None:
        self.predictions.delete(record)

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        """The trainer `model` is what the history can filter on and shows; the submit time is the
        journal row's own. `data` and the hyper-parameters are kept too, but only to rule a
        candidate *out* where a prediction happens to show its `input` — the documents never
        promise it does."""
        spec = desired.spec
        return {
            "model": trainer_model_id(spec["trainer"]),
            "data": _data_url(desired),
            **{k: spec.get(k) for k in _FINGERPRINT_FIELDS},
        }


class Renders:
    """A Sample: one prediction of a LoRA inference model with the FineTune's LoRA."""

    def __init__(self, client: WaveSpeedClient, predictions: Predictions) -> None:
        self.client = client
        self.predictions = predictions

    @staticmethod
    def _body(desired: Desired) -> dict[str, Any]:
        loras = samples.fine_tune_loras(desired.inputs, str(desired.spec["fine_tune"]))
        if not loras:
            raise ValueError(
                f"{desired.address}: FineTune/{desired.spec['fine_tune']} has no LoRA output yet (apply it first)"
            )
        return samples.render_body(desired.spec, loras)

    def _candidates(self, desired: Desired, since: float, claimed: AbstractSet[str]) -> list[Prediction]:
        """Live, unclaimed predictions of this Sample's model (created since `since`) that do not
        provably show another input."""
        model_id = samples.model_id_of(desired.spec)
        try:
            wanted: dict[str, Any] | None = self._body(desired)
        except ValueError:
            wanted = None
        out = []
        for p in self.predictions.live(model_id, claimed, since):
            shown = p.input
            if isinstance(shown, dict) and wanted is not None and shown.get("prompt") != wanted.get("prompt"):
                continue
            out.append(p)
        return out

    def read(self, record: ResourceRecord) -> Observation:
        return self.predictions.read(record)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return self.predictions.read_many(records)

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        """After an ambiguous submit, as a training is; with no journal row (`since` None) a render
        is never provably ours: it is rendered again."""
        out: dict[str, Observation] = {}
        if since is None:
            return out
        for d in desired:
            hits = self._candidates(d, since, claimed)
            if len(hits) > 1:
                raise AmbiguousMatch(
                    d.address,
                    [p.id for p in hits],
                    f"{len(hits)} unclaimed renders of {samples.model_id_of(d.spec)} were created since "
                    f"{iso_utc(since)}, and WaveSpeed's history does not show a prediction's inputs",
                )
            if hits and (obs := self.predictions.observe(hits[0].id)) is not None:
                out[d.address] = obs
        return out

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        body = self._body(desired)
        return self.predictions.observation(self.client.submit(samples.model_id_of(desired.spec), body))

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return self.predictions.cancel(record)

    def delete(self, record: ResourceRecord) -> None:
        self.predictions.delete(record)

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        """The history can filter on (and shows) the model; the body is kept to rule a candidate
        out where a prediction happens to show its input."""
        return {"model": samples.model_id_of(desired.spec), "input": self._body(desired)}
