"""End-to-end fixtures: a copy of a manifest set, a fake clock, and the in-process sandbox.

The sandbox answers in documented fidelity (DESIGN.md §5): recovery and discovery are proved
against the least helpful shapes the providers document, never against emulator conveniences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace


@dataclass
class Env:
    root: Path
    clock: FakeClock
    sandbox: Sandbox

    def workspace(self, **kwargs: object) -> Workspace:
        return Workspace(
            [self.root],
            clock=self.clock,
            wiring=WiringContext(env={}, clock=self.clock, sandbox=self.sandbox),
            **kwargs,
        )

    @property
    def state_file(self) -> Path:
        return self.root / ".reconciler" / "state.db"

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))

    def submit_training(self) -> None:
        """`apply --no-wait` until the training job is submitted (in documented fidelity an upload
        stays `processing` for a while, so the first run may only upload the dataset)."""
        for _ in range(10):
            self.workspace().apply(wait=False)
            record = self.workspace().records().get("FineTune/money-rain")
            if record is not None:
                return
            self.clock.advance(1)
        raise AssertionError("the training job was never submitted")

    def live(self, kind: str) -> list[dict]:
        """Objects of one kind that still exist in the sandbox."""
        return [o for o in self.sandbox.list_objects(kind) if not o.get("_deleted")]


@pytest.fixture
def make_env(example_copy: Callable[..., Path]) -> Callable[[str], Env]:
    def make(example: str = "manifests/quickstart") -> Env:
        root = example_copy(example)
        clock = FakeClock()
        return Env(
            root=root,
            clock=clock,
            sandbox=Sandbox(clock=clock, seed=7, fidelity="documented", time_scale=600.0),
        )

    return make
