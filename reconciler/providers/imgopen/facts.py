"""ImgOpen's status words and what it cannot delete, for the planner (no I/O, no client; providers.md §3).

`1` and `3` are the inferred in-progress codes of the result endpoint (a guess, `result_endpoint`);
`SUBMITTED` is what the adapter records for a task before its first result query.
"""

from __future__ import annotations

from reconciler.providers.facts import TableFacts

IMGOPEN_FACTS = TableFacts(
    running={"FineTune": frozenset({"1", "3", "SUBMITTED"})},
    undeletable={
        "Dataset": "ImgOpen keeps no dataset objects (the dataset is your list of image URLs)",
        "FineTune": "ImgOpen has no delete or cancel API: the task stays on ImgOpen (a running one keeps running)",
    },
)
