"""What the WaveSpeed emulator answers in each fidelity mode, and on what authority.

One row per behaviour: (behaviour, what `documented` answers, what `permissive` answers, source).
The source is one or more of `[seed]` (shared/seeds 000/001/004), `[doc]` (wavespeed.ai docs
pages, providers.md §2), `[sdk]` (the official `wavespeed` SDK), `[inf]` (inferred from those —
a hypothesis), or `guess` (no source at all: the emulator had to answer something). Where the
documents allow several answers, `documented` gives the least helpful one (providers.md §4b);
recovery code may rely only on what that column shows.

README's "Sandbox fidelity" table is rendered from this list (`reconciler.sandbox.fidelity_table`)
and a test fails when it is stale. Change a handler, change its row.
"""

from __future__ import annotations

PROVIDER = "WaveSpeed"

BEHAVIOURS: list[tuple[str, str, str, str]] = [
    # --- LoRA inference (Samples) ----------------------------------------------------------------
    (
        "LoRA renders (`POST …/wan-2.2/t2v-720p-lora-ultra-fast`, `…/qwen-image/edit-plus-lora`): inputs",
        "validated as the seeds' parameter tables say (required fields, enums, ranges, ≤ 3 LoRAs per list, "
        "scale 0–4, ≤ 3 images; seeds 001, 004); a violation is HTTP 400 (wording our own) and creates nothing; the answer is a prediction "
        "like a trainer's (no `input`), queued with the trainers under the same tier cap",
        "the same",
        "[seed]",
    ),
    (
        "LoRA renders: duration, media and failures",
        "40 s (t2v) / 8 s (edit) emulated; one output URL serving a tiny real MP4 / JPEG / PNG / WebP; a LoRA "
        "`path` on this sandbox that no longer exists fails the render; `enable_base64_output: true` is "
        "refused (not emulated)",
        "the same",
        "guess",
    ),
    # --- predictions ------------------------------------------------------------------------------
    (
        "Submit and result answers (`POST /api/v3/wavespeed-ai/<trainer>`, `GET …/predictions/{id}/result`)",
        "`{code: 200, message, data}` with exactly the seed's fields: `id`, `model`, `outputs`, `urls.get`, "
        "`has_nsfw_contents`, `status`, `created_at` (milliseconds), `error`, `timings` — no `input`",
        "the same",
        "[seed]",
    ),
    (
        "History items (`POST /api/v3/predictions`): the submitted `input`",
        "absent (the predictions page's examples carry none; only the webhook payload does)",
        "echoed, defaults filled in",
        "[doc]",
    ),
    (
        "History items: other fields",
        "`executionTime`; `created_at` with nanoseconds (`…15.948268264Z`); no `has_nsfw_contents`",
        "`executionTime`; millisecond `created_at`; `has_nsfw_contents`",
        "[doc]",
    ),
    (
        "History page",
        "`{page, items}` (the newer example has no `total`): clients page until a short or empty page",
        "`{page, page_size, total, items}`",
        "[doc]",
    ),
    (
        "History order, window and filters",
        "newest first; the last 7 days only; `model`, `status`, `created_after`/`created_before` (inclusive, "
        "ISO 8601); `page` and `page_size` (1–100) required",
        "the same",
        "[doc]",
    ),
    (
        "History lists queued (`created`) predictions",
        'yes: the page promises "all predictions", though its status filter names only completed, failed and '
        "processing",
        "yes",
        "[inf]",
    ),
    ("Status lifecycle", "`created` → `processing` → `completed` | `failed`", "the same", "[seed][doc]"),
    (
        "How long a prediction stays `created`",
        "120 s (emulated), longer while it waits for a slot",
        "10 s (emulated)",
        "guess",
    ),
    (
        "Submit over the account's concurrency cap",
        'accepted; waits as `created` until a slot frees (Bronze runs 2 at a time: "if you submit a 3rd, it will '
        'wait until one finishes")',
        'HTTP 429 "Too Many Requests" while 3 tasks are queued or running',
        "[doc]",
    ),
    (
        "Pricing (`POST /api/v3/model/pricing` `{model_id, inputs}`): the answer's shape",
        "`{code: 200, message, data: {unit_price}}`; $0.025 for `wavespeed-ai/qwen-image/edit-plus-lora` (seed 004)",
        "the same",
        "[sdk][seed]",
    ),
    (
        "Pricing: a trainer's `unit_price`",
        "$0.00125 per training step (no trainer price is documented); an unknown model → 404",
        "the same",
        "guess",
    ),
    ("A deleted task's concurrency slot", "kept until the task's scheduled end", "freed at once", "guess"),
    (
        "Training duration",
        "steps × a per-trainer time per step (e.g. 1.2 s for wan-2.2-image)",
        "the same",
        "guess",
    ),
    (
        "Per-minute generation limits (images/videos per minute)",
        "not applied to trainers",
        "the same",
        "guess",
    ),
    (
        "Poll URLs",
        "`GET /api/v3/predictions/{id}/result` (= `urls.get`) and the older `GET /api/v3/predictions/{id}`",
        "the same",
        "[seed][doc]",
    ),
    ("Result of an unknown or deleted prediction", "HTTP 404 `{code: 404, message}`", "the same", "guess"),
    (
        "Delete (`POST /api/v3/predictions/delete`)",
        "`{ids}` → `deleted_count`; unknown ids ignored",
        "the same",
        "[doc]",
    ),
    (
        "Trainer inputs: defaults and ranges",
        "as each trainer page documents them; out of range → HTTP 400",
        "the same",
        "[seed][doc]",
    ),
    (
        "Trainer inputs: an unknown parameter (e.g. `epochs`, `enable_sync_mode`)",
        "HTTP 400",
        "the same",
        "guess",
    ),
    (
        "Refusals",
        "HTTP status and `{code: <status>, message, data: null}`; the wording is the sandbox's own",
        "the same",
        "[sdk]",
    ),
    (
        "Training data the sandbox holds is unusable (expired upload, not a zip, too few images or videos)",
        "the prediction fails when training starts, with a message in `error`",
        "the same",
        "guess",
    ),
    (
        "Trainer outputs",
        "URL strings: two for Wan 2.2 (file names carry `high_noise_lora` / `low_noise_lora`), one otherwise",
        "the same",
        "[inf]",
    ),
    ("Output URLs", "served without a key for 7 days after training, then 404", "the same", "[doc]"),
    (
        "Webhooks (`?webhook=<url>`)",
        "the URL is checked and kept; nothing is ever delivered (the sandbox is offline)",
        "the same",
        "[doc]",
    ),
    (
        "Authentication",
        "any non-empty `Authorization: Bearer` key; otherwise HTTP 401",
        "the same",
        "[seed][sdk]",
    ),
    (
        "A submit the client timed out on (`late_commit` fault)",
        "may still be committed later (no idempotency key exists)",
        "the same",
        "[inf]",
    ),
    # --- media upload -------------------------------------------------------------------------------
    (
        "Upload URL: simple `POST /api/v3/upload` → `data.url`",
        "opaque `…/uploads/<token>.<ext>`, as the page's `https://cdn.wavespeed.ai/uploads/abc123.png`; our file "
        "name is not in it",
        "`…/media/<id>/<our file name>`",
        "[doc]",
    ),
    (
        "Upload URL: legacy `POST /api/v3/media/upload/binary` → `data.download_url`",
        "opaque `…/uploads/<token>.<ext>` (the page shows only `https://...`)",
        "`…/media/<id>/<our file name>`",
        "guess",
    ),
    (
        "Upload URL: ticket `POST /api/v3/media/uploads` + `PUT` → `data.download_url`",
        "opaque `…/uploads/<token>.<ext>` (the SDK only passes it on)",
        "`…/media/<id>/<our file name>`",
        "guess",
    ),
    (
        "Legacy upload answer",
        "`{type, download_url, filename, size}` (`filename`: the original name)",
        "the same",
        "[doc]",
    ),
    (
        "Ticket answer",
        "`{upload: {method: PUT, url, headers}, download_url}`, the fields the SDK reads",
        "also `filename` and `size`",
        "[sdk]",
    ),
    (
        "Zip uploads",
        "accepted, up to 1 GB (the trainer pages ask for a zip; the upload pages list only image, video and "
        "audio formats)",
        "the same",
        "[inf]",
    ),
    (
        "Upload size limits",
        'images 20 MB, videos 100 MB, audio 50 MB; over → HTTP 413 "File too large"',
        "the same limits; over → HTTP 400",
        "[doc]",
    ),
    ("Upload retention", "7 days, then 404", "the same", "[doc]"),
    ("Listing or deleting uploads", "no such endpoint (HTTP 404)", "the same", "[doc]"),
]

__all__ = ["BEHAVIOURS", "PROVIDER"]
