"""Register the test-only local trainer the way any installed provider is registered.

`site/` holds the `localtrainer` package and its `reconciler_localtrainer-0.1.dist-info`, whose
`entry_points.txt` declares it in the `reconciler.providers` group. Putting `site/` on `sys.path`
is what installing the distribution would do; the registry is reset on both sides so no other
test sees it (pytest itself puts only this folder, not `site/`, on the path).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.providers import plugins

HERE = str(Path(__file__).resolve().parent / "site")


@pytest.fixture
def local_trainer() -> Iterator[None]:
    sys.path.insert(0, HERE)
    plugins.reset()
    try:
        yield
    finally:
        sys.path.remove(HERE)
        plugins.reset()
        for name in [m for m in sys.modules if m == "localtrainer" or m.startswith("localtrainer.")]:
            del sys.modules[name]
