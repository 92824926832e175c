"""Telling people outside the terminal what an apply did (webhooks), as a listener on its progress.

Public interface: `ApplyListener` (what `Workspace(listeners=...)` accepts) and `WebhookNotifier`
(`reconciler.notifications.webhooks`, imported on first use: httpx loads only when a project
file names a webhook).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reconciler.engine.outcomes import ApplyResult
    from reconciler.engine.progress import ProgressSink
    from reconciler.models.plans import Plan


class ApplyListener(Protocol):
    def progress(self, inner: ProgressSink) -> ProgressSink:
        """A sink that passes every hook on to `inner` and listens to them."""
        ...

    def apply_finished(self, plan: Plan, result: ApplyResult | None, error: BaseException | None) -> None:
        """Called once at the end of an apply that ran (`error`: what stopped it, if anything)."""
        ...


__all__ = ["ApplyListener"]
