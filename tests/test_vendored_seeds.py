"""tests/seeds/ is the vendored copy of shared/seeds: it must never drift from the original."""

from __future__ import annotations

from pathlib import Path

import pytest

VENDORED = Path(__file__).resolve().parent / "seeds"
ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def _documents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "README.md"}


def test_the_vendored_seeds_are_there() -> None:
    names = sorted(_documents(VENDORED))
    assert [n[:3] for n in names] == ["000", "001", "002", "003", "004"], names


@pytest.mark.skipif(not ORIGINAL.is_dir(), reason="shared/seeds is not beside this checkout (a clean clone)")
def test_the_vendored_seeds_equal_shared_seeds() -> None:
    assert _documents(VENDORED) == _documents(ORIGINAL)
