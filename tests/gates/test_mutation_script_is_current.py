"""scripts/check_mutations.py breaks the crash-safety code on purpose; each of its mutations must still
find the exact text it patches, or the script stops testing that guard without anyone noticing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_mutations", REPO / "scripts" / "check_mutations.py")
assert _spec is not None and _spec.loader is not None
check_mutations = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("check_mutations", check_mutations)  # its dataclasses look themselves up there
_spec.loader.exec_module(check_mutations)


@pytest.mark.parametrize("m", check_mutations.MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_patches_exactly_one_place(m) -> None:
    text = (REPO / m.path).read_text(encoding="utf-8")
    assert text.count(m.old) == 1, f"{m.name}: its text is in {m.path} {text.count(m.old)} times, not once"
    for test in m.tests:
        assert (REPO / test.split("::")[0]).exists(), f"{m.name}: {test} does not exist"
