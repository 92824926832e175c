"""WaveSpeed behind the engine's `ProviderAdapter` interface (kinds: Dataset, FineTune).

Kinds → API (providers.md §2):
- Dataset with `url`    → nothing to call: the URL *is* the dataset. READY, outputs {url}.
- Dataset with `source` → the folder/zip is zipped and sent through media upload (the file name
  we send carries the content hash, for humans; the URL we get back is opaque and is never
  assumed to keep it). WaveSpeed cannot list or delete uploads and keeps them 7 days, so an
  upload's whole lifecycle is known from its upload time: `read` makes no request and reports
  GONE ("upload expired …") after 7 days. (We deliberately do not probe the URL: the CDN's answer
  to HEAD is undocumented and a refresh must not hinge on a third-party host.) Deleting one
  forgets it. An upload is never found again — with no state it is simply uploaded again, which
  is cheap and retrains nothing (a re-created Dataset with the same content does not force the
  FineTunes that use it; `engine/planning.py` `_forced_by`).
- FineTune → one trainer prediction (`POST /api/v3/wavespeed-ai/<trainer>`); remote id = the
  prediction id. Reads are one `GET …/result` per prediction in bounded parallel — there is no
  batch read, and the docs say not to poll the history. LoRA URLs expire 7 days after training:
  a completed prediction past that is GONE, with a message saying so (drift → retrain). There
  is no cancel endpoint: cancel deletes.

Finding a training again reads only what the documents promise (providers.md §4b): the history
(`POST /api/v3/predictions`, last 7 days) shows a prediction's model, status and creation time —
not its `input`. So:
- `find` (after an ambiguous submit, with the journal row's time): the unclaimed, live
  predictions of the same trainer created since then. One → ours; several → `AmbiguousMatch`;
  none → None (look again later). An `input`, where one happens to be shown, only rules a
  candidate out.
- `discover` (no state, no journal row): adopts only a prediction that shows an `input` matching
  exactly — normally none — and `unrecognised` lists the candidates so the plan can say "N
  unclaimed trainings of <trainer> exist; `reconciler import` one if it is this resource".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.costs import Price
from reconciler.models.state import ResourceRecord, iso_utc, parse_iso_utc
from reconciler.models.wavespeed import TRAINER_NAMESPACE, TRAINERS, trainer_model_id
from reconciler.providers.candidates import Candidate, Unrecognised
from reconciler.providers.errors import NotFoundError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase
from reconciler.providers.packaging import upload_name, zipped
from reconciler.providers.wavespeed import samples
from reconciler.providers.wavespeed.client import WaveSpeedClient
from reconciler.providers.wavespeed.facts import WAVESPEED_FACTS
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


class WaveSpeedAdapter:
    # For the README's provider table (generated from here and tested to be current).
    CAPABILITIES: dict[str, str] = {
        "Dataset": "folder/zip uploaded to media upload (kept 7 days), or a given URL",
        "FineTune": "LoRA trainer prediction (wan-2.2 image/i2v, qwen-image, flux-dev(+turbo), wan-2.1-14b)",
        "Refresh": "one `predictions/{id}/result` per training (no batch read exists)",
        "Found again without state by": "nothing provable (the history shows no inputs): the plan lists the "
        "trainer's unclaimed trainings to `import`; datasets are uploaded again",
        "Ambiguous create": "looked up in prediction history (trainer, submit time); several candidates stop it, "
        "never re-sent blindly",
        "Cancel a running job": "no cancel API: the prediction is deleted",
        "Delete": "`predictions/delete`; uploads cannot be deleted (expire after 7 days)",
        "Sample": "one prediction of `wan-2.2/t2v-720p-lora-ultra-fast` or `qwen-image/edit-plus-lora` with the "
        "FineTune's LoRA",
        "Outputs": "`high_noise_lora` + `low_noise_lora`, or `lora`; a Sample's `media` (URLs expire after 7 days: "
        "`output --download`)",
    }
    type = "wavespeed"

    def __init__(
        self, name: str, client: WaveSpeedClient, *, clock: Clock = SYSTEM_CLOCK, parallelism: int = 10
    ) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.parallelism = max(1, parallelism)

    # ------------------------------------------------------------------ observations
    def _external_dataset_obs(self, url: str) -> Observation:
        return Observation(
            remote_id=url, phase=Phase.READY, status="external", object={"url": url}, outputs={"url": url}
        )

    def _upload_obs(self, url: str, filename: str | None, uploaded_at: float | None) -> Observation:
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

    def _prediction_obs(self, p: Prediction) -> Observation:
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

    @staticmethod
    def _gone(remote_id: str | None, message: str | None = None) -> Observation:
        return Observation(remote_id=remote_id or "", phase=Phase.GONE, status="not_found", message=message)

    # ------------------------------------------------------------------ read
    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        out = {r.address: self._read_dataset(r) for r in records if r.kind == "Dataset"}
        fine_tunes = [r for r in records if r.kind in ("FineTune", "Sample")]
        if fine_tunes:
            workers = min(self.parallelism, len(fine_tunes))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for record, obs in zip(fine_tunes, pool.map(self._read_prediction, fine_tunes), strict=True):
                    out[record.address] = obs
        for r in records:
            if r.kind not in ("Dataset", "FineTune", "Sample"):
                raise ValueError(f"wavespeed cannot serve {r.kind}")
        return out

    def read(self, record: ResourceRecord) -> Observation:
        if record.kind == "Dataset":
            return self._read_dataset(record)
        if record.kind in ("FineTune", "Sample"):
            return self._read_prediction(record)
        raise ValueError(f"wavespeed cannot serve {record.kind}")

    def _read_dataset(self, record: ResourceRecord) -> Observation:
        external = (record.spec or {}).get("url")
        if external:
            return self._external_dataset_obs(str(external))
        url = record.outputs.get("url") or record.remote_id
        if not url:
            return self._gone(None)
        uploaded = _epoch(record.outputs.get("uploaded_at")) or _epoch(record.created_at)
        return self._upload_obs(str(url), record.outputs.get("filename"), uploaded)

    def _read_prediction(self, record: ResourceRecord) -> Observation:
        if not record.remote_id:
            return self._gone(None)
        try:
            return self._prediction_obs(self.client.get_result(record.remote_id))
        except NotFoundError:
            return self._gone(record.remote_id, "the prediction no longer exists on WaveSpeed (deleted)")

    # ------------------------------------------------------------------ identity
    @staticmethod
    def _data_url(desired: Desired) -> str:
        url = WaveSpeedAdapter._known_data_url(desired)
        if url is None:
            raise ValueError(
                f"{desired.address}: Dataset/{desired.spec['dataset']} has no URL yet (apply it first)"
            )
        return url

    @staticmethod
    def _known_data_url(desired: Desired) -> str | None:
        dataset = desired.spec.get("dataset")
        url = (desired.inputs.get(f"Dataset/{dataset}") or {}).get("url")
        return str(url) if url else None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        """What `find` recognises this create by (journaled before the call).

        FineTune: the trainer `model` is what the history can filter on and shows; the submit time
        is the journal row's own. `data` and the hyper-parameters are kept too, but only to rule a
        candidate *out* where a prediction happens to show its `input` — the documents never
        promise it does. Dataset: nothing to find (an upload's URL is opaque and uploads cannot be
        listed); the file name is journaled for humans only.
        """
        spec = desired.spec
        if desired.kind == "Dataset":
            if spec.get("url"):
                return {"url": spec["url"]}
            return {"filename": upload_name(desired.name, desired.content_digest or "")}
        if desired.kind == "FineTune":
            return {
                "model": trainer_model_id(spec["trainer"]),
                "data": self._data_url(desired),
                **{k: spec.get(k) for k in _FINGERPRINT_FIELDS},
            }
        if desired.kind == "Sample":
            # the history can filter on (and shows) the model; the body is kept to rule a candidate
            # out where a prediction happens to show its input
            return {"model": samples.model_id_of(spec), "input": self._render_body(desired)}
        raise ValueError(f"wavespeed cannot serve {desired.kind}")

    @staticmethod
    def _render_body(desired: Desired) -> dict[str, Any]:
        loras = samples.fine_tune_loras(desired.inputs, str(desired.spec["fine_tune"]))
        if not loras:
            raise ValueError(
                f"{desired.address}: FineTune/{desired.spec['fine_tune']} has no LoRA output yet (apply it first)"
            )
        return samples.render_body(desired.spec, loras)

    def _find_render(self, desired: Desired, since: float | None, claimed: set[str]) -> list[Prediction]:
        """Live, unclaimed predictions of this Sample's model (created since `since`) that do not
        provably show another input."""
        model_id = samples.model_id_of(desired.spec)
        try:
            wanted: dict[str, Any] | None = self._render_body(desired)
        except ValueError:
            wanted = None
        out = []
        for p in self._live(model_id, claimed, since):
            shown = p.input
            if isinstance(shown, dict) and wanted is not None and shown.get("prompt") != wanted.get("prompt"):
                continue
            out.append(p)
        return out

    @staticmethod
    def _wanted_inputs(model_id: str, spec: Mapping[str, Any], data: str | None) -> dict[str, Any]:
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
            and not WaveSpeedAdapter._input_differs(p, wanted)
        )

    # ------------------------------------------------------------------ discovery
    def _live(self, model_id: str, claimed: set[str], since: float | None) -> list[Prediction]:
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

    def _observe(self, prediction_id: str) -> Observation | None:
        try:  # history is not for status: read the chosen one properly
            return self._prediction_obs(self.client.get_result(prediction_id))
        except NotFoundError:
            return None

    def find(self, desired: Desired, since: float, claimed: set[str]) -> Observation | None:
        """The prediction an ambiguous submit made, or None (the engine looks again later).

        Candidates: predictions of the same trainer model created at or after `since`, unclaimed,
        not failed/canceled/deleted; one that shows a different `input` is ruled out. Exactly one
        left is ours. More than one: `AmbiguousMatch` — the history cannot tell them apart, and
        adopting the wrong one would hand this resource someone else's LoRA.
        """
        if desired.kind == "Dataset":
            if desired.spec.get("url"):
                return self._external_dataset_obs(str(desired.spec["url"]))
            return None  # an upload cannot be found again (opaque URL, no listing): upload again
        if desired.kind == "Sample":
            hits = self._find_render(desired, since, claimed)
            if len(hits) > 1:
                raise AmbiguousMatch(
                    desired.address,
                    [p.id for p in hits],
                    f"{len(hits)} unclaimed renders of {samples.model_id_of(desired.spec)} were created since "
                    f"{iso_utc(since)}, and WaveSpeed's history does not show a prediction's inputs",
                )
            return self._observe(hits[0].id) if hits else None
        if desired.kind != "FineTune":
            raise ValueError(f"wavespeed cannot serve {desired.kind}")
        model_id = trainer_model_id(desired.spec["trainer"])
        wanted = self._wanted_inputs(model_id, desired.spec, self._known_data_url(desired))
        hits = [p for p in self._live(model_id, claimed, since) if not self._input_differs(p, wanted)]
        if len(hits) > 1:
            raise AmbiguousMatch(
                desired.address,
                [p.id for p in hits],
                f"{len(hits)} unclaimed trainings of {model_id} were created since {iso_utc(since)}, and WaveSpeed's "
                "history does not show a prediction's inputs, so which one this submit made cannot be told",
            )
        return self._observe(hits[0].id) if hits else None

    def discover(self, desired: list[Desired], claimed: set[str]) -> dict[str, Observation]:
        """With no state and no journal row: adopt only what is provably ours.

        A given-URL Dataset is its URL. An uploaded Dataset is never found (it is uploaded again:
        cheap, and it does not retrain anything downstream). A FineTune is adopted only when a
        prediction shows an `input` matching it exactly (the documented history shows none, so
        normally nothing is); two such → `AmbiguousMatch`. What might be it is reported by
        `unrecognised`, for the plan to warn about.
        """
        out: dict[str, Observation] = {}
        by_model: dict[str, list[Desired]] = defaultdict(list)
        for d in desired:
            if d.kind == "Dataset":
                if d.spec.get("url"):
                    out[d.address] = self._external_dataset_obs(str(d.spec["url"]))
            elif d.kind == "FineTune":
                by_model[trainer_model_id(d.spec["trainer"])].append(d)
            elif d.kind != "Sample":  # a render is never provably ours without a journal row: rendered again
                raise ValueError(f"wavespeed cannot serve {d.kind}")
        for model_id, group in by_model.items():
            wanted = {
                d.address: self._wanted_inputs(model_id, d.spec, self._known_data_url(d)) for d in group
            }
            if not any(w["data"] for w in wanted.values()):
                continue  # nothing can be proven without the dataset's URL
            live = self._live(model_id, claimed, None)
            for d in group:
                hits = [p for p in live if p.id not in claimed and self._input_matches(p, wanted[d.address])]
                if len(hits) > 1:
                    raise AmbiguousMatch(
                        d.address,
                        [p.id for p in hits],
                        f"{len(hits)} unclaimed trainings of {model_id} show exactly this input",
                    )
                if hits and (obs := self._observe(hits[0].id)) is not None:
                    out[d.address] = obs
                    claimed.add(obs.remote_id)
        return out

    def unrecognised(self, desired: list[Desired], claimed: set[str]) -> dict[str, Unrecognised]:
        """For FineTunes `discover` did not adopt: the unclaimed trainings of their trainer model
        in the history (last 7 days) that do not provably belong to something else."""
        out: dict[str, Unrecognised] = {}
        by_model: dict[str, list[Desired]] = defaultdict(list)
        for d in desired:
            if d.kind == "FineTune":
                by_model[trainer_model_id(d.spec["trainer"])].append(d)
        for model_id, group in by_model.items():
            live = self._live(model_id, claimed, None)
            for d in group:
                wanted = self._wanted_inputs(model_id, d.spec, self._known_data_url(d))
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

    # ------------------------------------------------------------------ mutate
    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        spec = desired.spec
        if desired.kind == "Dataset":
            if spec.get("url"):
                return self._external_dataset_obs(str(spec["url"]))
            if not desired.source_path:
                raise ValueError(f"{desired.address}: no local source to upload")
            filename = upload_name(desired.name, desired.content_digest or "")
            with zipped(desired.source_path) as path:
                media = self.client.upload_media(path, filename=filename, content_type="application/zip")
            return self._upload_obs(media.url, filename, self.clock.now())
        if desired.kind == "FineTune":
            inputs = TrainerInputs(
                data=self._data_url(desired),
                trigger_word=spec.get("trigger_word"),
                steps=spec.get("steps"),
                learning_rate=spec.get("learning_rate"),
                lora_rank=spec.get("lora_rank"),
            )
            return self._prediction_obs(self.client.submit_trainer(spec["trainer"], inputs))
        if desired.kind == "Sample":
            body = self._render_body(desired)
            return self._prediction_obs(self.client.submit(samples.model_id_of(spec), body))
        raise ValueError(f"wavespeed cannot serve {desired.kind}")

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        raise ValueError(f"{record.kind} has no in-place update on wavespeed: every change retrains")

    def cancel(self, record: ResourceRecord) -> Observation:
        """WaveSpeed has no cancel endpoint: a running prediction is deleted instead."""
        if record.kind in ("FineTune", "Sample") and record.remote_id:
            self.client.delete_predictions([record.remote_id])
        return Observation(
            remote_id=record.remote_id or "",
            phase=Phase.GONE,
            status=PredictionStatus.DELETED,
            message="WaveSpeed has no cancel endpoint; the prediction was deleted instead",
        )

    def delete(self, record: ResourceRecord) -> None:
        """FineTune: `predictions/delete` (unknown ids are ignored). Dataset: uploads cannot be
        deleted through the API — they expire after 7 days — so this only forgets it."""
        if record.kind in ("FineTune", "Sample") and record.remote_id:
            try:
                self.client.delete_predictions([record.remote_id])
            except NotFoundError:
                return

    def quote(self, kind: str, spec: Mapping[str, Any]) -> Price | None:
        """What this training will cost, from WaveSpeed's pricing endpoint (providers.md §2.7).

        Asked with the trainer inputs the create would send, without `data` (its URL exists only
        after the upload; the price depends on the training parameters, not on the zip's address)."""
        if kind != "FineTune" or not spec.get("trainer"):
            return None
        model_id = trainer_model_id(str(spec["trainer"]))
        inputs = {k: v for k, v in self._wanted_inputs(model_id, spec, None).items() if v is not None}
        amount = self.client.model_pricing(model_id, inputs)
        return Price(
            amount,
            "USD",
            "run",
            f"WaveSpeed pricing endpoint (POST /api/v3/model/pricing, {model_id}, asked {iso_utc(self.clock.now())})",
        )

    def download(self, url: str, destination: str) -> tuple[int, str]:
        """LoRA outputs expire after 7 days: `reconciler output --download` keeps a copy."""
        return self.client.download(url, destination)

    @classmethod
    def no_delete_api(cls, kind: str) -> str | None:
        return WAVESPEED_FACTS.no_delete_api(kind)


__all__ = ["OUTPUT_RETENTION_S", "UPLOAD_RETENTION_S", "WaveSpeedAdapter"]
