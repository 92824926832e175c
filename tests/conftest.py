"""Fixtures every test directory shares.

`example_copy` is the one way tests use the example manifest sets: a copy in the test's own
temporary directory, without the `.reconciler/` state a user leaves behind by running the README's
quickstart in this checkout (tests must pass after it; `test_example_copies.py` keeps it so).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LEFT_OUT = shutil.ignore_patterns(".reconciler")


@pytest.fixture
def example_copy(tmp_path: Path) -> Callable[..., Path]:
    """`example_copy("manifests/quickstart", "qs")` -> tmp_path/qs, a copy without any `.reconciler/`.

    The example is relative to the repository (an absolute path is copied as it is).
    """

    def copy(example: str | Path, name: str | None = None) -> Path:
        source = REPO / example
        target = tmp_path / (name or source.name)
        shutil.copytree(source, target, ignore=LEFT_OUT)
        return target

    return copy
