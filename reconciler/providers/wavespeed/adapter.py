"""WaveSpeed behind the engine's `ProviderAdapter` interface (kinds: Dataset, FineTune, Sample).

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
- Sample → one prediction of a LoRA inference model; found again after an ambiguous submit as a
  training is, never without a journal row (it is rendered again).

Each kind is one handler (`handlers.py`: `Datasets`, `Trainings`, `Renders`); this class only
routes (`reconciler.providers.handlers.KindRoutedAdapter`), quotes and downloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.costs import Price
from reconciler.models.state import iso_utc
from reconciler.models.wavespeed import trainer_model_id
from reconciler.providers.candidates import ReportsUnrecognised, Unrecognised
from reconciler.providers.handlers import KindHandler, KindRoutedAdapter
from reconciler.providers.interface import Desired
from reconciler.providers.wavespeed.client import WaveSpeedClient
from reconciler.providers.wavespeed.facts import WAVESPEED_FACTS
from reconciler.providers.wavespeed.handlers import (
    OUTPUT_RETENTION_S,
    UPLOAD_RETENTION_S,
    Datasets,
    Predictions,
    Renders,
    Trainings,
)


class WaveSpeedAdapter(KindRoutedAdapter):
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
        predictions = Predictions(client, clock, self.parallelism)
        self.handlers: dict[str, KindHandler] = {
            "Dataset": Datasets(client, clock),
            "FineTune": Trainings(client, predictions),
            "Sample": Renders(client, predictions),
        }

    def unrecognised(self, desired: list[Desired], claimed: AbstractSet[str]) -> dict[str, Unrecognised]:
        """What might be ours but cannot be proven, from each handler that can tell (trainings)."""
        out: dict[str, Unrecognised] = {}
        for kind, handler in self.handlers.items():
            if isinstance(handler, ReportsUnrecognised):
                out.update(handler.unrecognised([d for d in desired if d.kind == kind], claimed))
        return out

    def quote(self, kind: str, spec: Mapping[str, Any]) -> Price | None:
        """What this training will cost, from WaveSpeed's pricing endpoint (providers.md §2.7).

        Asked with the trainer inputs the create would send, without `data` (its URL exists only
        after the upload; the price depends on the training parameters, not on the zip's address)."""
        if kind != "FineTune" or not spec.get("trainer"):
            return None
        model_id = trainer_model_id(str(spec["trainer"]))
        inputs = {k: v for k, v in Trainings.wanted_inputs(model_id, spec, None).items() if v is not None}
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
