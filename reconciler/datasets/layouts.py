"""Results of a provider layout check, shared by the per-provider checkers.

A problem names the file inside the dataset (`data.jsonl line 3: video_path 'v.mp4' not found`);
the loader attaches the dataset's `spec.source` location. Checks stop collecting after
`MAX_PROBLEMS` errors so one bad 10,000-line file does not drown the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.models.diagnostics import Severity

MAX_PROBLEMS = 20
MB = 1 << 20
GB = 1 << 30


@dataclass(frozen=True)
class DatasetProblem:
    message: str
    severity: Severity = Severity.ERROR


@dataclass
class LayoutReport:
    sample_count: int = 0
    problems: list[DatasetProblem] = field(default_factory=list)
    _suppressed: int = 0

    def error(self, message: str) -> None:
        if sum(p.severity is Severity.ERROR for p in self.problems) >= MAX_PROBLEMS:
            self._suppressed += 1
            return
        self.problems.append(DatasetProblem(message))

    def warning(self, message: str) -> None:
        self.problems.append(DatasetProblem(message, Severity.WARNING))

    def finish(self) -> LayoutReport:
        if self._suppressed:
            self.problems.append(DatasetProblem(f"... and {self._suppressed} more problems like these"))
            self._suppressed = 0
        return self

    @property
    def errors(self) -> list[DatasetProblem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


def human_size(n: int) -> str:
    if n >= GB:
        return f"{n / GB:.1f} GB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n} bytes"


def name_list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
