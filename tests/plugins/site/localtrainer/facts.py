"""The local trainer's status words, for the planner."""

from __future__ import annotations

from reconciler.providers.facts import TableFacts

LOCALTRAINER_FACTS = TableFacts(running={"FineTune": frozenset({"queued", "training"})})
