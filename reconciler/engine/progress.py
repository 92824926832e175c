"""How the executor reports what it is doing; the renderer decides how it looks.

The engine calls these hooks from worker threads; implementations must be thread-safe. A sink with
a true `wants_ids` attribute gets each finished step's remote id (one state read per step).
"""

from __future__ import annotations

from typing import Protocol

from reconciler.engine.outcomes import ResourceOutcome


class ProgressSink(Protocol):
    def started(self, address: str, action: str) -> None: ...

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        """A poll's result: the provider's status word, how long this step has waited, the provider's
        hint (queue position…), and the object's id once it has one."""
        ...

    def finished(self, outcome: ResourceOutcome) -> None: ...


class SilentProgress:
    def started(self, address: str, action: str) -> None:
        pass

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        pass

    def finished(self, outcome: ResourceOutcome) -> None:
        pass
