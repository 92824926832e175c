"""An apply asks glibc for two malloc arenas (`cli/malloc_arenas.py`), unless the user chose.

The peak memory it saves is measured in the benchmarks; these check who asks, when, and that
nothing can go wrong by asking.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import malloc_arenas
from reconciler.cli.app import main


class FakeLibc:
    def __init__(self, answer: int = 1, has_mallopt: bool = True) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer
        if has_mallopt:
            self.mallopt = self._mallopt

    def _mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> FakeLibc:
    import ctypes

    fake = FakeLibc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv(malloc_arenas.ENV, raising=False)
    return fake


def test_it_asks_glibc_for_two_arenas(libc: FakeLibc) -> None:
    assert malloc_arenas.limit()
    assert libc.calls == [(-8, 2)]  # M_ARENA_MAX from glibc's malloc.h


def test_a_users_own_setting_is_kept(libc: FakeLibc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(malloc_arenas.ENV, "8")
    assert not malloc_arenas.limit()
    assert libc.calls == []


@pytest.mark.parametrize("kind", ["no mallopt", "refused", "no libc", "not linux"])
def test_another_libc_or_system_changes_nothing_and_never_raises(
    kind: str, libc: FakeLibc, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes

    if kind == "no mallopt":
        monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc(has_mallopt=False))
    elif kind == "refused":
        libc.answer = 0
    elif kind == "no libc":

        def missing(name: Any) -> Any:
            raise OSError("no such library")

        monkeypatch.setattr(ctypes, "CDLL", missing)
    else:
        monkeypatch.setattr(sys, "platform", "darwin")
    assert not malloc_arenas.limit()
    assert kind in ("refused",) or libc.calls == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_real_libc_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(malloc_arenas.ENV, raising=False)
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert malloc_arenas.limit()


@pytest.mark.parametrize(("command", "asks"), [("apply", True), ("destroy", True), ("plan", False)])
def test_apply_and_destroy_ask_and_plan_does_not(
    command: str, asks: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    monkeypatch.setattr(malloc_arenas, "limit", lambda: asked.append(True) or True)
    CliRunner().invoke(
        main, [command, "-f", str(tmp_path / "nowhere"), "--auto-approve"][: 3 if command == "plan" else 4]
    )
    assert asked == ([True] if asks else [])
