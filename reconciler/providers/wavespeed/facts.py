"""WaveSpeed's status words and what it cannot delete, for the planner (no I/O, no client; providers.md §2)."""

from __future__ import annotations

from reconciler.providers.facts import TableFacts

WAVESPEED_FACTS = TableFacts(
    # `created`, `processing`, and the desktop app's `pending`: a prediction not finished yet
    running={"FineTune": frozenset({"created", "pending", "processing"})},
    undeletable={
        "Dataset": "WaveSpeed has no API to delete an upload (it expires 7 days after upload; "
        "a dataset given by URL was never uploaded)"
    },
)
