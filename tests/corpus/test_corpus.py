"""Broken manifests and archives, one case per directory, each with its exact expected diagnostics.

`expected.txt` holds the lines `reconciler validate` prints, paths relative to the case directory.
Inputs are written by `build_corpus.py`; after an intended wording change, regenerate with
`RECONCILER_UPDATE_CORPUS=1 pytest tests/corpus` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.loading import in_source_order, load

HERE = Path(__file__).resolve().parent
CASES = sorted(p.name for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_case(case: str) -> None:
    directory = HERE / case
    result = load([directory], cwd=directory)
    actual = [str(d) for d in in_source_order(result.diagnostics)]
    expected_file = directory / "expected.txt"
    if os.environ.get("RECONCILER_UPDATE_CORPUS"):
        expected_file.write_text("".join(line + "\n" for line in actual))
    expected = expected_file.read_text().splitlines()
    assert actual == expected
    assert actual, "every corpus case must produce at least one diagnostic"
