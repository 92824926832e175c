"""DashScope behind the engine's `ProviderAdapter` interface.

Kinds → API (providers.md §1):
- Dataset          → a zip on the OpenAI-compatible files API; the file name carries the content
                     hash (`<name>-<hash16>.zip`), which is how discovery finds it again.
- FineTune         → a `/fine-tunes` job; found again by (model, training/validation file ids,
                     the hyper-parameters the job echoes) — DashScope has no idempotency key.
- CheckpointExport → `export/{checkpoint}?model_name=` on the job; found again by the display
                     name we gave it. DashScope has no API to delete an exported model: deleting
                     a CheckpointExport only forgets it (the job's deletion removes its checkpoints).
- Deployment       → `/deployments`; looked up by listing and matching `model_name` (+ suffix),
                     never by a computed id: with a suffix the server inserts 8 hex characters
                     (`<model_name>-<8 hex>-<suffix>`). The remote id is `deployed_model` as returned.
Reads are batched through the list endpoints (files: 1 request per 2,000; jobs: per 100;
deployments: per 200); checkpoints have no account-wide list, so exports cost one request per job.

Recovery and discovery read only documented fields (DESIGN.md §3b, providers.md §4b):
- hyper-parameters may be echoed as numbers or as strings ("2.0E-5", "1.6e-5", "400"), and only
  some of them (seed 002 echoes five): echoed values compare numerically, missing ones are not
  evidence either way, and a job whose echoed value differs is never adopted;
- `finetuned_output` may be absent until the job SUCCEEDED, an exported checkpoint's names until
  its export SUCCEEDED; nothing here needs them earlier;
- a checkpoint row is PENDING both when never exported and when queued: only the engine's journal
  knows we asked, so `find` treats PENDING as "not known yet" and `create` reads the row when an
  export is refused (see `handlers.Exports.create`);
- more than one live, unclaimed object that fits → `AmbiguousMatch`, never a guess.

Each kind is one handler (`handlers.py`: `Files`, `Jobs`, `Exports`, `Deployments`, `Renders`);
this class only routes (`reconciler.providers.handlers.KindRoutedAdapter`), except that a refresh
walks the kinds in the order above and hands its FineTune and CheckpointExport reads one shared
`JobsSeen`, so the jobs are asked for once — the requests are those of one adapter.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.dashscope.facts import DASHSCOPE_FACTS
from reconciler.providers.dashscope.handlers import Deployments, Exports, Files, Jobs, JobsSeen, Renders
from reconciler.providers.dashscope.matching import (
    deployed_model_fits,
    deployment_candidates,
    job_matches,
    same_hyper_parameter,
)
from reconciler.providers.dashscope.observations import CHINA_UTC_OFFSET_S
from reconciler.providers.handlers import KindHandler, KindRoutedAdapter
from reconciler.providers.interface import Desired, Observation


class DashScopeAdapter(KindRoutedAdapter):
    type = "dashscope"
    # For the README's provider table (generated from here and tested to be current).
    CAPABILITIES: dict[str, str] = {
        "Dataset": "zip uploaded to the OpenAI-compatible files API",
        "FineTune": "`/api/v1/fine-tunes` job (Wan i2v/kf2v LoRA)",
        "CheckpointExport": "`export/{checkpoint}` + `/checkpoints`",
        "Deployment": "`/api/v1/deployments` (plan mu scales in place; plan lora: capacity 1, never scaled)",
        "Sample": "a `video-synthesis` task of the Deployment's model (i2v or kf2v); a lost submit is not findable "
        "(no task list): it stops with `import` / `state resolve`",
        "Refresh": "batched: files list, jobs list (100/page), deployments list (200/page); checkpoints per job",
        "Found again without state by": (
            "file name with content hash; model + file ids + echoed hyper-parameters; "
            "export display name (once SUCCEEDED); model_name + suffix, by listing"
        ),
        "Ambiguous create": "looked up, never re-sent blindly",
        "Cancel a running job": "`POST /fine-tunes/{id}/cancel`",
        "Delete": "files, jobs (terminal), deployments; exports are forgotten (no API)",
        "Outputs": "`file_id`, `job_id`, `finetuned_output`, export `model_name`, `deployed_model`",
    }

    # kept under their old names: tests and callers match jobs and deployments through the adapter
    _job_matches = staticmethod(job_matches)
    _deployment_candidates = staticmethod(deployment_candidates)

    def __init__(
        self, name: str, client: DashScopeClient, *, clock: Clock = SYSTEM_CLOCK, parallelism: int = 10
    ) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.parallelism = parallelism
        self.files = Files(client)
        self.jobs = Jobs(client)
        self.exports = Exports(client, clock, parallelism)
        self.deployments = Deployments(client)
        self.renders = Renders(client)
        # in this order a refresh reads and a discovery looks (a job's reads before its exports')
        self.handlers: dict[str, KindHandler] = {
            "Dataset": self.files,
            "FineTune": self.jobs,
            "CheckpointExport": self.exports,
            "Deployment": self.deployments,
            "Sample": self.renders,
        }

    def _in_order(self, kinds: list[str]) -> list[str]:
        present = set(self._by_kind(kinds))  # refuses a kind this provider does not serve
        return [kind for kind in self.handlers if kind in present]

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        """Kind by kind in the handlers' order; FineTune and CheckpointExport share one `JobsSeen`."""
        seen = JobsSeen()
        out: dict[str, Observation] = {}
        by_kind: dict[str, list[ResourceRecord]] = {}
        for r in records:  # one pass over the records (a refresh hands over every one of them)
            group = by_kind.get(r.kind)
            if group is None:
                group = by_kind[r.kind] = []
            group.append(r)
        for kind in self._in_order(list(by_kind)):
            mine = by_kind[kind]
            if kind == "FineTune":
                out.update(self.jobs.read_many(mine, seen))
            elif kind == "CheckpointExport":
                out.update(self.exports.read_many(mine, seen))
            else:
                out.update(self.handlers[kind].read_many(mine))
        return out

    def discover(self, desired: list[Desired], owned: AbstractSet[str]) -> dict[str, Observation]:
        """Kind by kind in the handlers' order, each seeing the claims the ones before it made."""
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        for kind in self._in_order([d.kind for d in desired]):
            found = self.handlers[kind].find([d for d in desired if d.kind == kind], claimed, None)
            out.update(found)
            claimed.update(obs.remote_id for obs in found.values())
        return out

    def validation_previews(self, record: ResourceRecord) -> dict[str, list[dict[str, Any]]]:
        """Checkpoint -> its validation previews ({video_path, prompt, first_frame_path}) for a
        FineTune: `validation-results` lists the checkpoints whose preview succeeded, and
        `validation-details` pages through each one's videos (signed URLs, valid 24 h) [seed]."""
        if record.kind != "FineTune" or not record.remote_id:
            return {}
        out: dict[str, list[dict[str, Any]]] = {}
        for checkpoint in self.client.validation_results(record.remote_id):
            items: list[dict[str, Any]] = []
            page_no = 1
            while True:
                page = self.client.validation_details(
                    record.remote_id, checkpoint, page_no=page_no, page_size=10
                )
                items += [i.model_dump(exclude_none=True) for i in page.items]
                if not page.items or len(items) >= page.total:
                    break
                page_no += 1
            out[checkpoint] = items
        return out

    def download(self, url: str, destination: str) -> tuple[int, str]:
        """Validation preview media expire after 24 h: the gallery keeps a copy."""
        return self.client.download(url, destination)

    def failure_logs(self, record: ResourceRecord, lines: int) -> list[str]:
        """The tail of a failed job's `/logs` (providers.md §1.4), for the plan and the apply summary."""
        if record.kind != "FineTune" or not record.remote_id:
            return []
        return self.client.fine_tune_log_tail(record.remote_id, lines)

    @classmethod
    def no_delete_api(cls, kind: str) -> str | None:
        return DASHSCOPE_FACTS.no_delete_api(kind)


__all__ = ["CHINA_UTC_OFFSET_S", "DashScopeAdapter", "deployed_model_fits", "same_hyper_parameter"]
