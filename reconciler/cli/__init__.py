"""The `reconciler` command line: thin click wrappers over the library.

This package is the only place that wires concrete providers, the sandbox and the state
store together. Each command module registers its commands on `main`.
"""

from __future__ import annotations

import sys

from reconciler.cli import (  # noqa: F401,E402  (importing registers the commands)
    engine_cmds,
    ownership_cmds,
    sandbox_cmd,
    schema_cmd,
    show_cmd,
    state_cmds,
    validate_cmd,
)
from reconciler.cli.app import main


def run() -> None:
    """The `reconciler` executable: process-wide settings, then the click group, then a quick exit.

    A plan leaves a few million objects behind; tearing the interpreter down object by object
    took 0.1-0.3 s after the command had finished. Once the command is done (its output flushed,
    its files and databases closed by their own `with`/`finally`), the process runs the atexit
    handlers and ends at once — unless a non-daemon thread is still running, when Python's own
    shutdown (which waits for it) is kept.

    The command's own objects are not freed on the way out either: a command ends by
    `sys.exit`, and the exception's traceback holds its frames and so its locals (the workspace,
    the plan). Dropped with the exception, they were freed one by one before the quick exit:
    35 ms of a no-change plan at 2,000 chains. They are kept until `os._exit`.
    """
    import atexit
    import os
    import threading

    from reconciler.cli import code_cache, collector

    code_cache.install()  # before the lazy imports of the models, the engine and pydantic
    # pydantic looks for its plugins (an entry-point scan of every installed distribution, ~12 ms)
    # when a command builds its first validator; the command has no use for them. A library user's
    # process keeps them; a user may still set the variable (documented by pydantic) to anything.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    collector.pause()
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
        unwound = exc  # noqa: F841 - its traceback keeps the command's objects until os._exit
    others = [
        t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if others:
        raise SystemExit(code)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more to say
        status = status or 1
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None:
        run_exit_handlers()
    os._exit(status)


__all__ = ["main", "run"]
