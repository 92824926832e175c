"""Diagnostics: what is wrong, where, and in which resource.

Every user-facing error in reconciler is a `Diagnostic`. It carries the source location
(file, line, column — 1-based), the resource address (`Kind/name`), the dotted field path
and a message that says what to do. Rendering is `str(diagnostic)`:

    manifests/ft.yaml:14:5: FineTune/money-rain: spec.hyper_parameters.lora_rank: must be a power of two (got 48)

This module is pure data: no YAML, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class SourceLocation:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    message: str
    location: SourceLocation | None = None
    address: str | None = None  # "Kind/name"
    field: str | None = None  # dotted path, e.g. "spec.hyper_parameters.lora_rank"
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.address:
            parts.append(self.address)
        if self.field:
            parts.append(self.field)
        parts.append(self.message if self.severity is Severity.ERROR else f"warning: {self.message}")
        return ": ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
            "address": self.address,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class Diagnostics:
    """An ordered collection; a run reports all errors, not just the first."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic] | Diagnostics) -> None:
        self.items.extend(diagnostics.items if isinstance(diagnostics, Diagnostics) else diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        def key(d: Diagnostic) -> tuple[str, int, int, str]:
            loc = d.location
            return (loc.file if loc else "", loc.line if loc else 0, loc.column if loc else 0, d.message)

        return sorted(self.items, key=key)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
