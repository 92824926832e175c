"""When each fine-tune job pends, queues, runs and ends — a pure function of persisted facts.

Nothing runs in the background: every request recomputes the account's schedule from each job's
creation time, emulated durations, injected failure point and cancel time, then reads statuses
at "now". One job trains at a time per account, in creation order (providers.md §1.4), so a
job's start is the later of its data processing ending and the previous runner freeing the slot.
Because an accepted cancel only ever moves later jobs' starts to a time after "now", statuses a
client has already observed never change retroactively. No I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PENDING, QUEUING, RUNNING, CANCELING = "PENDING", "QUEUING", "RUNNING", "CANCELING"
SUCCEEDED, FAILED, CANCELED = "SUCCEEDED", "FAILED", "CANCELED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})
CANCELABLE = frozenset({PENDING, QUEUING, RUNNING})


@dataclass(frozen=True)
class JobFacts:
    """What the store remembers about a job (all durations already time-scaled)."""

    job_id: str
    seq: int
    created: float
    pending_s: float
    train_s: float
    post_s: float
    cancel_s: float
    fail_fraction: float | None  # injected failure: fraction of training reached first
    cancel_at: float | None


@dataclass(frozen=True)
class Timeline:
    facts: JobFacts
    pending_end: float
    start: float | None  # None: canceled before it ever ran
    train_end: float | None  # when training (not post-processing) stops
    end: float
    final: str

    def status(self, now: float) -> str:
        f = self.facts
        if self.final == CANCELED and f.cancel_at is not None and now >= f.cancel_at:
            return CANCELING if now < self.end else CANCELED
        if now < self.pending_end:
            return PENDING
        if self.start is None or now < self.start:
            return QUEUING
        if now < self.end:
            return RUNNING
        return self.final

    def training_fraction(self, now: float) -> float:
        """How much of the training steps are done at `now` (0..1)."""
        if self.start is None or now <= self.start or self.facts.train_s <= 0:
            return 0.0
        stop = self.train_end if self.train_end is not None else self.end
        return min(max((min(now, stop) - self.start) / self.facts.train_s, 0.0), 1.0)


def schedule(jobs: list[JobFacts]) -> dict[str, Timeline]:
    return schedule_from(jobs, -math.inf)[0]


def schedule_from(jobs: list[JobFacts], slot_free: float) -> tuple[dict[str, Timeline], float]:
    """Schedule `jobs` (all created after those already scheduled) once the slot frees at `slot_free`.

    Returns their timelines and when the slot frees after them, so appended jobs can be scheduled
    without replaying the whole account.
    """
    timelines: dict[str, Timeline] = {}
    for job in sorted(jobs, key=lambda j: (j.created, j.seq)):
        pending_end = job.created + job.pending_s
        start = max(pending_end, slot_free)
        if job.cancel_at is not None and job.cancel_at < start:
            # Canceled while pending or queued: it never takes the training slot.
            timelines[job.job_id] = Timeline(
                job, pending_end, None, None, job.cancel_at + job.cancel_s, CANCELED
            )
            continue
        if job.fail_fraction is not None:
            train_end = start + job.train_s * job.fail_fraction
            natural_end, final = train_end, FAILED
        else:
            train_end = start + job.train_s
            natural_end, final = train_end + job.post_s, SUCCEEDED
        if job.cancel_at is not None and job.cancel_at < natural_end:
            end = job.cancel_at + job.cancel_s
            timelines[job.job_id] = Timeline(
                job, pending_end, start, min(train_end, job.cancel_at), end, CANCELED
            )
        else:
            end = natural_end
            timelines[job.job_id] = Timeline(job, pending_end, start, train_end, end, final)
        slot_free = end
    return timelines, slot_free
