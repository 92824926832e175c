"""What the ImgOpen emulator answers in each fidelity mode, and on what authority.

One row per behaviour: (behaviour, what `documented` answers, what `permissive` answers, source),
with the source tags of `reconciler.sandbox.wavespeed.fidelity`. ImgOpen documents exactly one
endpoint — the training submit (seed 003, providers.md §3.1). Everything beyond it is labelled
`guess`: the result query, its status numbers, the LoRA file, the error codes, and the answer to a
duplicate `taskId`. Only the submit's fields and its success answer carry a source.

README's "Sandbox fidelity" table is rendered from this list and a test fails when it is stale.
"""

from __future__ import annotations

PROVIDER = "ImgOpen"

BEHAVIOURS: list[tuple[str, str, str, str]] = [
    # --- the one documented endpoint ----------------------------------------------------------------
    (
        "Submit (`POST …/modelTraining/submitTraining/Job`): body",
        "the field table's camelCase names; `taskId` required, `fileUrlList` 10–100 public URLs; ranges, enums "
        "and defaults as documented (`learningRate` a string)",
        "the same",
        "[seed]",
    ),
    (
        "Submit: success answer",
        'HTTP 200 `{"code": "200", "msg": "success"}` (a string code, no `data`)',
        "the same",
        "[seed]",
    ),
    (
        "Submit: the seed example's snake_case spellings (`file_url_list`, `max_epochs`, …)",
        "refused as unknown parameters",
        "the same",
        "[inf]",
    ),
    (
        '`taskId` is unique ("required and unique")',
        "enforced: a second submit with a known `taskId` never trains again",
        "the same",
        "[inf]",
    ),
    (
        "Answer to a duplicate `taskId`",
        '`{"code": "400", "msg": "submit failed"}`: says nothing about why',
        '`{"code": "409", "msg": "taskId already exists"}`',
        "guess",
    ),
    ("`taskId` length", "at most 64 characters", "the same", "guess"),
    (
        "Credentials",
        "both `X-Request-req-accessKeyId` and `…Secret` required (the page marks them optional); "
        'missing → code "401"',
        "the same",
        "guess",
    ),
    (
        "Error codes of a refused request",
        'HTTP 200 with code "400" (invalid) or "401" (credentials) and a message of the sandbox\'s own; '
        "injected 429/5xx keep their HTTP status",
        "the same",
        "guess",
    ),
    # --- beyond the submit: all guesses -------------------------------------------------------------
    (
        "Result query: path and body",
        '`POST …/modelTraining/queryTrainingResult` `{"taskId"}` (the sidebar names a "Training result query"; '
        "its page was not found)",
        "the same",
        "guess",
    ),
    (
        "Result query: answer",
        "`data: {taskId, status: 1 queued | 3 training | 2 succeeded | 4 failed, loraUrl (2), msg (4)}`",
        "the same",
        "guess",
    ),
    ("Result query: unknown `taskId`", '`{"code": "404", "msg": "taskId … not found"}`', "the same", "guess"),
    (
        "Training timeline",
        "120 s queued, then maxEpochs × ⌈images × repeats / batchSize⌉ steps × 1.2 s × (resolution/512)², then "
        "60 s saving (emulated)",
        "the same",
        "guess",
    ),
    ("Failed trainings (`fail_jobs` fault)", "status 4 with the fault's message", "the same", "guess"),
    ("LoRA file", "`…/<taskId>/lora.safetensors`, no credentials, never expires", "the same", "guess"),
    ("List, cancel and delete", "none (unknown paths → HTTP 404)", "the same", "guess"),
    (
        "A submit the client timed out on (`late_commit` fault)",
        "may still be committed later; a re-sent submit is then the duplicate",
        "the same",
        "[inf]",
    ),
]

__all__ = ["BEHAVIOURS", "PROVIDER"]
