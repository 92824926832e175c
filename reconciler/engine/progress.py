"""How the executor reports what it is doing; the renderer decides how it looks.

The engine calls these hooks from worker threads; implementations must be thread-safe.
"""

from __future__ import annotations

from typing import Protocol

from reconciler.engine.outcomes import ResourceOutcome


class ProgressSink(Protocol):
    def started(self, address: str, action: str) -> None: ...

    def waiting(self, address: str, status: str, elapsed: float, hint: str | None) -> None: ...

    def finished(self, outcome: ResourceOutcome) -> None: ...


class SilentProgress:
    def started(self, address: str, action: str) -> None:
        pass

    def waiting(self, address: str, status: str, elapsed: float, hint: str | None) -> None:
        pass

    def finished(self, outcome: ResourceOutcome) -> None:
        pass
