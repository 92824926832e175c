"""Compiled code of the functions `dataclasses` and `typing.ForwardRef` generate, kept between runs.

Why: defining a dataclass compiles the source text of its `__init__`, `__repr__`, `__eq__`, ... (a
plan's imports define ~100 dataclasses: ~470 `exec` calls of generated text), and pydantic and
`TypedDict` compile every string annotation (`typing.ForwardRef`, ~980 `compile` calls). Parsing
and compiling that text was about a fifth of the instructions of a small `plan --refresh=false`,
every run, for the same texts. `.pyc` files keep the compiled modules; nothing keeps these.

How: `install()` gives the `dataclasses` module its own `exec`, and `typing` its own `compile`
(module globals shadowing the builtins: the stdlib code is untouched). For a text seen before
they take the code object from this cache instead of compiling it again; anything else (a code
object, a text not seen yet, other modes or flags) goes to the builtin as it is.

Why a hit is the same result: a code object is a pure function of the source text, the mode, the
compiler flags and the Python that compiled it. The key is the text and the mode; the flags are
the callers' (neither module has `__future__` imports, so they are 0, and this module compiles
with `dont_inherit=True` so that its own `from __future__ import annotations` is not added);
the file is named by the interpreter and its optimization level (`-O`) and tagged with its bytecode
magic number, and a file of another Python, or a damaged one, is ignored. Code objects round-trip through `marshal` exactly: it is how
`.pyc` files hold them.

Storage: one marshal file in this package's `__pycache__`, where the interpreter writes the
`.pyc` files (the same permissions: whoever can change it can change those); it is written at
exit, atomically, only when a text was compiled that it did not hold, and not at all under
`PYTHONDONTWRITEBYTECODE` or where the folder is not writable. It keeps at most `MAX_ENTRIES`
texts (beyond that, only the ones this process used).

What it must not do: change what the generated functions are (same code), swallow a compile
error (a text that fails to compile goes to the builtin, which raises as before), or be
installed outside the `reconciler` executable's process set-up (`reconciler.cli` installs it).
"""

from __future__ import annotations

import builtins
import contextlib
import marshal
import os
import sys
import types
from typing import Any

MAX_ENTRIES = 4_000  # (~3 MB; a plan uses ~700 texts, every command together ~1,500)
# the interpreter and its optimization level (-O strips asserts: it is part of what compiling gives)
_FILE = f"generated-code.{sys.implementation.cache_tag}.opt-{sys.flags.optimize}.marshal"

_codes: dict[tuple[str, str], types.CodeType] = {}
_used: set[tuple[str, str]] = set()
_state: dict[str, Any] = {"dirty": False, "installed": False, "loaded": False, "path": ""}
_builtin_exec = builtins.exec
_builtin_compile = builtins.compile


def _magic() -> bytes:
    from importlib.util import MAGIC_NUMBER

    return MAGIC_NUMBER


def _code(text: str, mode: str) -> types.CodeType:
    if not _state["loaded"]:  # read on first use: a command that defines nothing never reads it
        _state["loaded"] = True
        _load(_state["path"])
    key = (text, mode)
    code = _codes.get(key)
    if code is None:
        code = _builtin_compile(text, "<string>", mode, 0, True)  # dont_inherit: no flags of ours
        _codes[key] = code
        _state["dirty"] = True
    _used.add(key)
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002
    """`exec` for `dataclasses`: its generated text compiled once (then from the cache)."""
    if globals is None:  # (dataclasses always passes its globals) the caller's, as the builtin takes them
        caller = sys._getframe(1)
        globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
    if type(source) is str:
        source = _code(source, "exec")
    if locals is None:
        _builtin_exec(source, globals)
    else:
        _builtin_exec(source, globals, locals)


def _compile(
    source: Any, filename: Any, mode: str, flags: int = 0, dont_inherit: bool = False, *a: Any, **k: Any
) -> Any:
    """`compile` for `typing` (ForwardRef's annotation strings, mode "eval")."""
    if type(source) is str and filename == "<string>" and mode == "eval" and not flags and not a and not k:
        try:
            return _code(source, "eval")
        except SyntaxError:
            pass  # the builtin raises it again, exactly as it would have
    # (dont_inherit: the flags of typing, which has no __future__ imports, not this module's)
    return _builtin_compile(source, filename, mode, flags, True, *a, **k)


def _load(path: str) -> None:
    try:
        with open(path, "rb") as f:
            blob = f.read()
        magic = _magic()
        if not blob.startswith(magic):
            return
        entries = marshal.loads(blob[len(magic) :])
    except Exception:  # missing, unreadable or damaged: compile as usual (and write a new one)
        return
    if not isinstance(entries, dict):
        return
    for key, code in entries.items():
        if (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], str)
            and key[1] in ("exec", "eval")
            and isinstance(code, types.CodeType)
        ):
            _codes[key] = code


def save() -> bool:
    """Write the cache if this process compiled a text it did not hold; False when nothing was written."""
    path: str = _state["path"]
    if not _state["dirty"] or not path or sys.dont_write_bytecode:
        return False
    keep = _codes if len(_codes) <= MAX_ENTRIES else {k: v for k, v in _codes.items() if k in _used}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_magic() + marshal.dumps(keep))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    _state["dirty"] = False
    return True


def install(path: str | None = None) -> None:
    """Use the cache for `dataclasses` and `typing` from here on in this process (once), saved at exit."""
    if _state["installed"]:
        return
    import atexit
    import dataclasses
    import typing

    if getattr(dataclasses, "exec", _builtin_exec) is not _builtin_exec:
        return  # something else already shadows it: leave it alone
    if getattr(typing, "compile", _builtin_compile) is not _builtin_compile:
        return
    _state["path"] = path or os.path.join(os.path.dirname(__file__), "__pycache__", _FILE)
    _state["loaded"] = False
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # a module global shadowing the builtin
    typing.compile = _compile  # type: ignore[attr-defined]  # a module global shadowing the builtin
    _state["installed"] = True
    atexit.register(save)


def uninstall() -> None:
    """Give `dataclasses` and `typing` their builtins back (tests)."""
    import dataclasses
    import typing

    if getattr(dataclasses, "exec", None) is _exec:
        del dataclasses.exec  # type: ignore[attr-defined]  # the global install() added
    if getattr(typing, "compile", None) is _compile:
        del typing.compile  # type: ignore[attr-defined]  # the global install() added
    _state["installed"] = False
