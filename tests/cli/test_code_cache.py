"""The cache of generated code (`reconciler.cli.code_cache`) gives what compiling gives.

Each case defines classes twice, with the builtins and through the cache (a miss that compiles, and
a hit read back from the file a previous process wrote), and compares the generated functions'
code objects, their annotations and their behaviour; and checks that a damaged or foreign cache
file, or a text that does not compile, behaves as if there were no cache.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.cli import code_cache

METHODS = ("__init__", "__repr__", "__eq__", "__lt__", "__hash__", "__setattr__", "__delattr__")


def _define() -> list[type]:
    @dataclasses.dataclass(frozen=True, order=True)
    class Frozen:
        a: int
        b: str = "x"
        c: tuple[int, ...] = dataclasses.field(default_factory=tuple)
        d: dict[str, Any] | None = dataclasses.field(default=None, compare=False)
        K: ClassVar[int] = 3

    @dataclasses.dataclass(slots=True, kw_only=True)
    class Slotted:
        name: str
        size: float = 1.5
        init_only: dataclasses.InitVar[int] = 0

        def __post_init__(self, init_only: int) -> None:
            self.size += init_only

    @dataclasses.dataclass(unsafe_hash=True)
    class Plain:
        x: tuple[int, ...] = ()

    # (its annotations are objects: this module's are strings, `from __future__ import annotations`)
    made = dataclasses.make_dataclass(
        "Made", [("a", int), ("b", "list[str]", dataclasses.field(default=None))]
    )
    return [Frozen, Slotted, Plain, made]


def _codes(classes: list[type]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in classes:
        for name in METHODS:
            fn = cls.__dict__.get(name)
            if fn is not None and hasattr(fn, "__code__"):
                out[f"{cls.__name__}.{name}"] = (fn.__code__, fn.__qualname__, inspect.get_annotations(fn))
    return out


def _behave(classes: list[type]) -> list[Any]:
    frozen, slotted, plain, made = classes
    f = frozen(1, "y", (2,))
    s = slotted(name="n", init_only=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.a = 2  # type: ignore[misc]
    return [
        repr(f), f == frozen(1, "y", (2,), {"ignored": 1}), f < frozen(2), hash(f) == hash(frozen(1, "y", (2,))),
        repr(s), s.size, repr(plain((1,))), hash(plain((1,))) == hash(plain((1,))), repr(made(1)),
    ]  # fmt: skip


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The cache installed on a file of this test's own (the process's state put back after)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # (PYTHONDONTWRITEBYTECODE may be set)
    saved = (dict(code_cache._codes), set(code_cache._used), dict(code_cache._state))
    was_installed = code_cache._state["installed"]
    code_cache.uninstall()
    code_cache._codes.clear()
    code_cache._used.clear()
    code_cache._state.update(dirty=False, installed=False, loaded=False, path="")
    path = tmp_path / "generated.marshal"
    try:
        yield path
    finally:
        code_cache.uninstall()
        code_cache._codes.clear()
        code_cache._codes.update(saved[0])
        code_cache._used.clear()
        code_cache._used.update(saved[1])
        code_cache._state.clear()
        code_cache._state.update(saved[2], installed=False)
        if was_installed:
            code_cache._state["installed"] = False
            code_cache.install(saved[2]["path"] or None)


def _as_a_new_process(path: Path) -> None:
    code_cache.uninstall()
    code_cache._codes.clear()
    code_cache._used.clear()
    code_cache._state.update(dirty=False, installed=False)
    code_cache.install(str(path))
    code_cache._state["loaded"] = True  # (read now, as the first generated text would)
    code_cache._load(str(path))


def test_generated_functions_are_the_ones_compiling_gives(cached: Path) -> None:
    plain = _define()
    code_cache.install(str(cached))
    missed = _define()  # compiled by the cache (a miss), then kept
    assert code_cache.save() and cached.exists()
    hits = len(code_cache._codes)
    _as_a_new_process(cached)  # as a new process: read back from the file
    assert len(code_cache._codes) == hits
    compiled_before = dict(code_cache._codes)
    hit = _define()
    assert code_cache._codes == compiled_before and not code_cache._state["dirty"]  # every text a hit
    assert _codes(missed) == _codes(plain) == _codes(hit)
    assert _behave(missed) == _behave(plain) == _behave(hit)
    # the annotations are objects, not strings: this module's `from __future__ import annotations`
    # (and code_cache's) must not reach the generated code
    init = inspect.get_annotations(hit[3].__init__)
    assert init == {"a": int, "b": "list[str]", "return": None}


def test_forward_references_compile_as_before(cached: Path) -> None:
    texts = ["dict[str, Any] | None", "list[int]", "Frozen", "tuple[int, ...]"]
    plain = [typing.ForwardRef(t).__forward_code__ for t in texts]
    code_cache.install(str(cached))
    assert typing.compile is not compile  # type: ignore[attr-defined]
    missed = [typing.ForwardRef(t).__forward_code__ for t in texts]
    code_cache.save()
    _as_a_new_process(cached)
    hit = [typing.ForwardRef(t).__forward_code__ for t in texts]
    assert plain == missed == hit
    assert typing.get_type_hints(_Annotated, {"Any": Any}) == {"x": dict[str, Any] | None, "y": list[int]}
    with pytest.raises(SyntaxError, match="Forward reference must be an expression"):
        typing.ForwardRef("not an expression)")


class _Annotated:
    x: dict[str, Any] | None
    y: list[int]


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(p.read_bytes()[:-40]),  # truncated
        lambda p: p.write_bytes(b"\x00\x00\r\n" + p.read_bytes()[4:]),  # another Python's magic
        lambda p: p.write_bytes(p.read_bytes()[:4] + __import__("marshal").dumps({("x", "exec"): 1, "y": 2})),
    ],
)
def test_a_damaged_or_foreign_file_is_ignored(cached: Path, damage: Any) -> None:
    code_cache.install(str(cached))
    _define()
    code_cache.save()
    damage(cached)
    _as_a_new_process(cached)
    assert all(isinstance(c, type(compile("1", "<string>", "eval"))) for c in code_cache._codes.values())
    assert _codes(_define()) == _codes(_define())  # and classes still come out right
    assert _behave(_define())


def test_nothing_is_written_without_news_or_under_dont_write_bytecode(
    cached: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code_cache.install(str(cached))
    assert not code_cache.save() and not cached.exists()  # nothing compiled yet: nothing to write
    _define()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert not code_cache.save() and not cached.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert code_cache.save() and cached.exists()
    assert not code_cache.save()  # written: clean again


PROBE = """
import builtins, sys
from reconciler.cli import code_cache
code_cache.install(sys.argv[1])
calls = []
real = code_cache._builtin_compile
code_cache._builtin_compile = lambda *a: calls.append(a[0]) or real(*a)
import dataclasses
@dataclasses.dataclass(frozen=True)
class C:
    a: int
    b: "list[str]"
import typing
typing.get_type_hints(C)
print(len(calls))
"""


def test_a_second_process_compiles_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "generated.marshal")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", PROBE, path], capture_output=True, text=True, timeout=60, env=env
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    first, second = (int(r.stdout.strip()) for r in runs)
    assert first > 0 and second == 0


def test_the_executable_installs_it_and_a_plan_leaves_no_text_uncompiled(tmp_path: Path) -> None:
    """`reconciler` (cli.run) installs the cache; a second `--help` compiles no generated text."""
    path = Path(code_cache.__file__).parent / "__pycache__" / code_cache._FILE
    probe = (
        "import sys; from reconciler.cli import code_cache, run; sys.argv = ['reconciler', '--help']\n"
        "import atexit; atexit.register(lambda: print('installed', code_cache._state['installed'],"
        " 'dirty', code_cache._state['dirty'], file=sys.stderr))\nrun()"
    )
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        for _ in range(2)
    ]
    assert "installed True" in runs[1].stderr, runs[1].stderr
    if os.access(path.parent, os.W_OK):
        assert "dirty False" in runs[1].stderr  # (the atexit handlers run last first: before save)


def test_beyond_the_limit_only_what_this_process_used_is_kept(
    cached: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code_cache.install(str(cached))
    _define()
    code_cache.save()
    _as_a_new_process(cached)  # a new process: holds the texts above, has used none of them
    typing.ForwardRef("frozenset[int]")  # uses (and compiles) one new text
    monkeypatch.setattr(code_cache, "MAX_ENTRIES", 1)
    assert code_cache.save()
    code_cache._codes.clear()
    code_cache._load(str(cached))
    assert list(code_cache._codes) == [("frozenset[int]", "eval")]
