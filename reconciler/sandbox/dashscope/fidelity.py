"""What the DashScope emulator answers in each fidelity mode, and where each answer comes from.

One row per emulated behaviour that recovery or discovery could lean on:
(behaviour, what `documented` answers, what `permissive` answers, source). Sources are the tags of
providers.md: `[seed]` (seed 002), `[doc]` (Alibaba's documentation), `[sdk]` (the official
`dashscope` SDK), `[inf]` (inferred), or `guess` — no source at all: the emulator had to answer
something, and nothing may rely on it. A row whose two answers differ is a convenience that
`permissive` keeps for older tests; `documented` (the mode crash, fault and end-to-end tests use)
answers with the least helpful shape the documents allow (DESIGN.md §5, providers.md §4b).

Where a row has several sources the strongest is given ([seed] > [doc] > [sdk] > [inf]), and the
answer names the weaker ones. Error *codes* carry the row's source; error *message wording* is a
guess everywhere except the sentences quoted from the documents (one row below says so).

The README's fidelity table is generated from this list and its WaveSpeed and ImgOpen siblings.
"""

from __future__ import annotations

SAME = "same"

BEHAVIOURS: list[tuple[str, str, str, str]] = [
    (
        "Video synthesis with a deployed model (`POST …/video-synthesis`, `GET /api/v1/tasks/{id}`)",
        "async only (`X-DashScope-Async: enable`; without it 403 AccessDenied — wording a guess); the model must be "
        "a RUNNING deployment and the path match its base model (i2v / kf2v); `task_status` PENDING → RUNNING → "
        "SUCCEEDED with `video_url` (24 h), UNKNOWN for an id that does not exist; no task list",
        "the same",
        "[doc]",
    ),
    (
        "Validation previews (`validation-results`, `validation-details`, the preview files)",
        "only checkpoints whose preview succeeded are listed (all of them, unless the `fail_previews` fault fails "
        "the newest N); `video_path` / `first_frame_path` are signed URLs with `Expires` (24 h) on the sandbox's "
        "own host, serving a tiny real MP4 / PNG, 404 once expired",
        "the same",
        "[seed]",
    ),
    # --- files ---------------------------------------------------------------------------------
    (
        "file status after an upload",
        "`uploaded`, then `processing`, then `processed`, in the upload answer, get and list",
        "`processed` at once (as the seed's upload example)",
        "[doc]",
    ),
    (
        "how long a file stays `uploaded`, then `processing`",
        "10 s, then 50 s emulated (divided by the time scale)",
        "—",
        "guess",
    ),
    (
        "a fine-tune naming a file that is not `processed` yet",
        '400 `InvalidParameter` ("wait for processed before use")',
        "accepted (every file is processed)",
        "[doc]",
    ),
    ("file `filename` in get and list", "the uploaded file name, unchanged", SAME, "[seed]"),
    ("files list `after` cursor", "`after` = the last id of the previous page; `has_more`", SAME, "[doc]"),
    ("files list order", "newest first", SAME, "[inf]"),
    ("files list `limit`", "default 2000, 1–2000", SAME, "[doc]"),
    (
        "a missing file id",
        'compatible API: 404 `NotFound`; native API: 400 `InvalidParameter` "File not found."',
        SAME,
        "[sdk]",
    ),
    # --- fine-tunes ----------------------------------------------------------------------------
    (
        "`hyper_parameters` echoed by job create, get and list",
        "only the five keys seed 002 echoes (n_epochs, batch_size, learning_rate, split, eval_epochs), each a "
        'string in Java rendering (`"400"`, `"2.0E-5"`, `"0.9"`; the list-jobs page [doc] shows strings)',
        "every effective hyper-parameter, as numbers",
        "[seed]",
    ),
    (
        "`finetuned_output` of a job",
        "absent until the job is SUCCEEDED (the Wan seed shows it at create)",
        "from create on",
        "[doc]",
    ),
    ("`finetuned_output` value", "`<model>-<job_id>`", SAME, "[seed]"),
    (
        "`job_name` given at create",
        "not honoured: `job_name` is the job id (documented for LLM jobs only)",
        "honoured",
        "[inf]",
    ),
    ("job id", "server-generated `ft-<yyyyMMddHHmm>-<4 hex>`; no idempotency key", SAME, "[doc]"),
    ("jobs list order", "oldest first", "newest first", "guess"),
    ("jobs list `page_size`", "default 10, max 100 (larger is a 400)", SAME, "[doc]"),
    ("jobs list `model` filter", "filters by base model", SAME, "[doc]"),
    (
        "job status machine",
        "PENDING → QUEUING → RUNNING → SUCCEEDED | FAILED; cancel → CANCELING → CANCELED; "
        "one job trains at a time per account",
        SAME,
        "[seed]",
    ),
    (
        "`end_time`, `usage`, `output_cnt`",
        "`end_time` and `output_cnt` on terminal states, `usage` on SUCCEEDED and CANCELED",
        SAME,
        "[doc]",
    ),
    ("a failed or canceled job in a list", 'the item carries `code: "1"` and `message`', SAME, "[doc]"),
    ("job quota", "429 `Throttling.AllocationQuota` at 20 jobs running or succeeded", SAME, "[doc]"),
    (
        "delete of a job that is not terminal",
        "400 `UnsupportedOperation`, the documented sentence",
        SAME,
        "[doc]",
    ),
    ("cancel of a terminal job", "400 `UnsupportedOperation`", SAME, "guess"),
    # --- checkpoints and exports ---------------------------------------------------------------
    ("validation-results before the job SUCCEEDED", "an empty list", SAME, "[seed]"),
    ("checkpoint rows before the job SUCCEEDED", "an empty list", SAME, "guess"),
    (
        "checkpoint rows `model_name` and `model_display_name`",
        "absent until the row's status is SUCCEEDED",
        SAME,
        "[seed]",
    ),
    (
        "checkpoint status",
        "`PENDING` both for never exported and for queued; then PROCESSING, SUCCEEDED",
        SAME,
        "[seed]",
    ),
    ("checkpoint rows order", "by step, descending", SAME, "[doc]"),
    ("exported model's `model_name`", "server-assigned `<finetuned_output>-c<step>`", SAME, "[seed]"),
    ("how long an export is PENDING, then PROCESSING", "30 s, then 180 s emulated", SAME, "guess"),
    (
        "a second export of one checkpoint (queued, processing or done)",
        "400 `UnsupportedOperation`, whatever the `model_name`, naming nobody",
        "`output: true` for the same `model_name`; 400 naming the holder's display name for another",
        "guess",
    ),
    (
        "an export `model_name` another export already uses",
        "400 `InvalidParameter` (names are globally unique)",
        SAME,
        "[seed]",
    ),
    ("an export of an expired checkpoint", "400 `UnsupportedOperation`", SAME, "[doc]"),
    ("an export before the job SUCCEEDED", "400 `UnsupportedOperation`", SAME, "guess"),
    ("export answer `output: false`", 'never sent (documented as "not submitted, retry")', SAME, "[seed]"),
    # --- deployments ---------------------------------------------------------------------------
    (
        "`deployed_model` with a `suffix`",
        "`<model_name>-<8 hex>-<suffix>` (the hex from the sandbox seed)",
        "`<model_name>-<suffix>`",
        "[doc]",
    ),
    ("`deployed_model` without a suffix", "the model name", SAME, "[seed]"),
    (
        "deploying a model already deployed without a suffix",
        '409 `Conflict` "Deployed model … already exists, please specify a suffix"',
        SAME,
        "[doc]",
    ),
    (
        "a `suffix` a live deployment already holds",
        "409 `Conflict`, whatever the model (globally unique)",
        "409 only when the same model holds the same suffix",
        "[doc]",
    ),
    (
        "`PUT /deployments/{dm}/scale` on a `plan: lora` deployment",
        "400 `UnsupportedOperation` (capacity applies to plan mu only; the code is the closest documented one)",
        "scaled: UPDATING, then RUNNING",
        "[doc]",
    ),
    ("scale of a deployment that is not RUNNING", "400 `UnsupportedOperation`", SAME, "guess"),
    (
        "capacity fields of a `plan: lora` deployment",
        "absent (`base_capacity`, `capacity`, `ready_capacity` only for mu and cu)",
        SAME,
        "[doc]",
    ),
    (
        "`name` in a deployment create",
        "optional (the intl seed and the SDK omit it; a newer Beijing doc requires it)",
        SAME,
        "[seed]",
    ),
    (
        "deployment status",
        "PENDING for 5–10 min emulated, then RUNNING; UPDATING after a scale",
        SAME,
        "[seed]",
    ),
    (
        "delete of a deployment",
        'answers `DELETING`; a later GET is 404 `NotFound` "Not found."',
        SAME,
        "[seed]",
    ),
    ("how long a deployment is DELETING", "60 s emulated, listed meanwhile", SAME, "guess"),
    ("deployments list order", "oldest first", "newest first", "guess"),
    ("deployments list `page_size`", "default 50, max 200", SAME, "[doc]"),
    (
        "deployment times",
        "`gmt_create` with milliseconds in the create answer, without later",
        SAME,
        "[seed]",
    ),
    # --- everything ----------------------------------------------------------------------------
    (
        "error message wording",
        "the documented sentences where quoted above; any other wording",
        SAME,
        "guess",
    ),
    ("a create the client timed out on (`late_commit` fault)", "may commit afterwards", SAME, "[inf]"),
    ("times without a zone", "China Standard Time", SAME, "[inf]"),
]
"""(behaviour, documented answer, permissive answer — `same` when equal, source: one of SOURCES)."""

SOURCES = ("[seed]", "[doc]", "[sdk]", "[inf]", "guess")
