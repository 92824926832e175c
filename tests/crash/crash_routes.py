"""Which provider requests mutate: the one table the crash harness kills at.

Why a table of our own, and not "every non-GET": the APIs do not follow that rule. DashScope's
checkpoint export is a GET with a side effect, and WaveSpeed's prediction *history* is a POST
that only reads. Each row cites providers.md. A request no row matches, and that is not a plain
GET, is *unclassified*: the harness fails the trial so a new route forces a decision here instead
of silently never being killed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RouteRule:
    provider: str
    method: str
    pattern: str  # a regex over the URL path, anchored at both ends
    label: str  # the name crash points are reported by
    mutating: bool
    note: str

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.pattern, path) is not None


_ID = r"[^/]+"

ROUTES: tuple[RouteRule, ...] = (
    # ---- DashScope (providers.md §1)
    RouteRule(
        "dashscope",
        "POST",
        r"/compatible-mode/v1/files",
        "POST /compatible-mode/v1/files",
        True,
        "§1.3 A: upload a dataset zip; creates a file (no idempotency key)",
    ),
    RouteRule(
        "dashscope",
        "DELETE",
        rf"/compatible-mode/v1/files/{_ID}",
        "DELETE /compatible-mode/v1/files/{id}",
        True,
        "§1.3 A: delete a file",
    ),
    RouteRule(
        "dashscope",
        "POST",
        r"/api/v1/files",
        "POST /api/v1/files",
        True,
        "§1.3 B: native upload (legacy); creates files",
    ),
    RouteRule(
        "dashscope",
        "DELETE",
        rf"/api/v1/files/{_ID}",
        "DELETE /api/v1/files/{id}",
        True,
        "§1.3 B: native delete",
    ),
    RouteRule(
        "dashscope",
        "POST",
        r"/api/v1/fine-tunes",
        "POST /api/v1/fine-tunes",
        True,
        "§1.4: create a training job — billed, no idempotency key",
    ),
    RouteRule(
        "dashscope",
        "POST",
        rf"/api/v1/fine-tunes/{_ID}/cancel",
        "POST /api/v1/fine-tunes/{id}/cancel",
        True,
        "§1.4: cancel a job",
    ),
    RouteRule(
        "dashscope",
        "DELETE",
        rf"/api/v1/fine-tunes/{_ID}",
        "DELETE /api/v1/fine-tunes/{id}",
        True,
        "§1.4: delete a job (terminal jobs only)",
    ),
    RouteRule(
        "dashscope",
        "GET",
        rf"/api/v1/fine-tunes/{_ID}/export/{_ID}",
        "GET /api/v1/fine-tunes/{id}/export/{checkpoint}",
        True,
        "§1.5: export a checkpoint — a GET with a side effect (publishes a model)",
    ),
    RouteRule(
        "dashscope",
        "POST",
        r"/api/v1/deployments",
        "POST /api/v1/deployments",
        True,
        "§1.6: create a deployment",
    ),
    RouteRule(
        "dashscope",
        "PUT",
        rf"/api/v1/deployments/{_ID}/scale",
        "PUT /api/v1/deployments/{dm}/scale",
        True,
        "§1.6: scale capacity",
    ),
    RouteRule(
        "dashscope",
        "PUT",
        rf"/api/v1/deployments/{_ID}/update",
        "PUT /api/v1/deployments/{dm}/update",
        True,
        "§1.6: update rate limits (not used by reconciler today; listed so it is never taken for a read)",
    ),
    RouteRule(
        "dashscope",
        "DELETE",
        rf"/api/v1/deployments/{_ID}",
        "DELETE /api/v1/deployments/{dm}",
        True,
        "§1.6: delete a deployment (DELETING, then 404)",
    ),
    # ---- WaveSpeed (providers.md §2)
    RouteRule(
        "wavespeed",
        "POST",
        r"/api/v3/media/uploads",
        "POST /api/v3/media/uploads",
        True,
        "§2.4 ticket upload, step 1: reserves an upload",
    ),
    RouteRule(
        "wavespeed",
        "PUT",
        r"/.+",
        "PUT <ticket upload url>",
        True,
        "§2.4 ticket upload, step 2: the bytes, PUT to the URL the ticket named (any path: it is pre-signed)",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        r"/api/v3/media/upload/binary",
        "POST /api/v3/media/upload/binary",
        True,
        "§2.4 legacy binary upload",
    ),
    RouteRule("wavespeed", "POST", r"/api/v3/upload", "POST /api/v3/upload", True, "§2.4 simple upload"),
    RouteRule(
        "wavespeed",
        "POST",
        r"/api/v3/predictions/delete",
        "POST /api/v3/predictions/delete",
        True,
        "§2.2: delete predictions (irreversible; WaveSpeed's only way to stop a training)",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        r"/api/v3/predictions",
        "POST /api/v3/predictions",
        False,
        "§2.2: prediction history — a POST that only reads",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        r"/api/v3/model/pricing",
        "POST /api/v3/model/pricing",
        False,
        "§2.7: a price quote — a POST that only reads",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        rf"/api/v3/wavespeed-ai/{_ID}",
        "POST /api/v3/wavespeed-ai/{trainer}",
        True,
        "§2.2/§2.5: submit a LoRA trainer run — billed, no idempotency key; the SDK never re-sends it",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        rf"/api/v3/wavespeed-ai/{_ID}/{_ID}",
        "POST /api/v3/wavespeed-ai/{family}/{model}",
        True,
        "§2.2/§2.6: submit a LoRA inference render (seeds 001, 004) — billed, no idempotency key",
    ),
    RouteRule(
        "wavespeed",
        "POST",
        rf"/api/v3/{_ID}/{_ID}",
        "POST /api/v3/{owner}/{model}",
        True,
        "§2.2: submit any other model's prediction (not used by reconciler; a submit is never a read)",
    ),
    RouteRule(
        "dashscope",
        "POST",
        r"/api/v1/services/aigc/(video-generation|image2video)/video-synthesis",
        "POST /api/v1/services/aigc/{kind}/video-synthesis",
        True,
        "§1.7: render a video with a deployed model — an async task, billed, no id of ours, no task list",
    ),
    # ---- ImgOpen (providers.md §3)
    RouteRule(
        "imgopen",
        "POST",
        r"/AIGCImgOpenServ/saas/modelTraining/submitTraining/Job",
        "POST submitTraining/Job",
        True,
        "§3.1: submit a training with a client-chosen taskId",
    ),
    RouteRule(
        "imgopen",
        "POST",
        r"/AIGCImgOpenServ/saas/modelTraining/queryTrainingResult",
        "POST queryTrainingResult",
        False,
        "§3.2: the (inferred) result query — a POST that only reads",
    ),
)


@dataclass(frozen=True)
class Classified:
    label: str
    mutating: bool
    known: bool  # False: no row matched and it is not a plain GET


def classify(provider_type: str, method: str, path: str) -> Classified:
    """The first matching row wins; an unlisted GET/HEAD is a read; anything else is unclassified."""
    method = method.upper()
    for rule in ROUTES:
        if rule.provider == provider_type and rule.matches(method, path):
            return Classified(rule.label, rule.mutating, True)
    if method in ("GET", "HEAD"):
        return Classified(f"{method} {path}", False, True)
    return Classified(f"{method} {path}", False, False)
