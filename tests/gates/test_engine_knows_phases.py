"""The engine and the plan models know phases, not providers (issue 13, item 1).

No provider name appears anywhere in `reconciler/engine/` or `reconciler/models/plans.py` (code,
strings or comments), and no status word a provider registers is spelled there as a string. The
status words are read from the providers themselves (their facts and phase tables), so a provider
added later is covered without editing this test. Words that are also our own vocabulary (a
`Phase`, an `Outcome`, an action or journal status: "failed", "pending"…) are ours by definition.
The import contract in `.importlinter` keeps the engine from importing a provider package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import ActionType
from reconciler.models.state import JournalStatus
from reconciler.providers.interface import Phase
from reconciler.providers.plugins import installed

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
SCANNED = sorted((PACKAGE / "engine").rglob("*.py")) + [PACKAGE / "models" / "plans.py"]
OURS = {str(v.value) for enum in (Phase, Outcome, ActionType, JournalStatus) for v in enum}


def provider_words() -> tuple[set[str], set[str]]:
    """(provider type names and titles, status words) of every installed provider plugin."""
    from reconciler.providers.dashscope import facts as dashscope
    from reconciler.providers.imgopen.adapter import NOT_FOUND, SUBMITTED
    from reconciler.providers.wavespeed.types import PredictionStatus

    names = {p.type for p in installed().values()} | {p.title for p in installed().values()}
    statuses = {
        *dashscope.JOB_PHASES,
        *dashscope.EXPORT_PHASES,
        *dashscope.DEPLOYMENT_PHASES,
        *dashscope.FILE_PHASES,
        *dashscope.RUNNING_JOB_STATUSES,
        *(v for k, v in vars(PredictionStatus).items() if k.isupper()),
        SUBMITTED,
        NOT_FOUND,
        "1",
        "3",
    }
    return names, statuses - OURS


def string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant, except the names of our own state events (`event="created"`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    event_names = {
        id(kw.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "event"
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in event_names
    ]


def test_no_provider_name_anywhere_in_the_engine_or_the_plan_models() -> None:
    names, _ = provider_words()
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names)), re.IGNORECASE)
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
        for path in SCANNED
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found


def test_no_provider_status_word_is_spelled_in_the_engine_or_the_plan_models() -> None:
    _, statuses = provider_words()
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{n}: {value!r}"
        for path in SCANNED
        for n, value in string_literals(path)
        if value in statuses
    ]
    assert not found, found


def test_the_scan_sees_what_it_looks_for(tmp_path: Path) -> None:
    names, statuses = provider_words()
    assert {"dashscope", "WaveSpeed", "imgopen"} <= names
    assert {"RUNNING", "QUEUING", "processing", "SUBMITTED", "1"} <= statuses
    sample = tmp_path / "sample.py"
    sample.write_text('STATUSES = {"RUNNING", "ok"}\nstore.put(r, event="created")\nwhen = "created"\n')
    assert sorted(v for _, v in string_literals(sample) if v in statuses) == ["RUNNING", "created"]
