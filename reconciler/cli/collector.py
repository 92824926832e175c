"""Python's cyclic garbage collector during one `reconciler` process.

Why: loading and planning build a few million long-lived objects (documents, specs, records,
actions) and next to no cyclic garbage, yet the collector's full passes over that growing heap
cost about a quarter of a plan's CPU. So the process entry point (`reconciler.cli.run`) pauses
it, after freezing what the imports made; a long-running step — apply executing its actions,
`sandbox serve` — resumes it, freezing first what exists by then, so that only objects made
afterwards (per-request cycles in the HTTP stack) are ever scanned.

What it must not do: touch the collector of a process that did not start through `run()` (a
test calling the click group in process keeps its own settings).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    global _paused
    gc.freeze()
    gc.disable()
    _paused = True


def resume() -> None:
    """Collect again from here on (a no-op unless `pause()` ran in this process)."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False
