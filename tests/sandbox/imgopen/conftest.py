from __future__ import annotations

from collections.abc import Iterator

import pytest

import reconciler.sandbox.sandbox as sandbox_module
from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox
from reconciler.sandbox.imgopen import ImgOpenEmulator


@pytest.fixture(autouse=True)
def _with_imgopen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Include the ImgOpen emulator until the lead adds it to `_emulators()` (then this is a no-op)."""
    original = sandbox_module._emulators
    monkeypatch.setattr(
        sandbox_module, "_emulators",
        lambda: [*(e for e in original() if e.name != "imgopen"), ImgOpenEmulator()],
    )


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)
    yield sb
    sb.close()
