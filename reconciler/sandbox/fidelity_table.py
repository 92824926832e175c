"""The one table of what the emulator answers in each fidelity mode, and why (README.md).

Each provider's emulator keeps its own `fidelity.py` with `BEHAVIOURS: list[tuple[str, str, str,
str]]` = (behaviour, what `documented` answers, what `permissive` answers, source). This module
renders them, provider by provider, into the Markdown table between README's
`<!-- fidelity:begin … -->` and `<!-- fidelity:end -->` markers (`scripts/update_readme.py`
writes it; a test fails when README is stale). A provider whose module does not exist yet is
left out rather than failing the build.

Source tags (providers.md): `[seed]`, `[doc]`, `[sdk]`, `[inf]` — one or more — or `guess`.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

MODULES: tuple[tuple[str, str], ...] = (
    ("DashScope", "reconciler.sandbox.dashscope.fidelity"),
    ("WaveSpeed", "reconciler.sandbox.wavespeed.fidelity"),
    ("ImgOpen", "reconciler.sandbox.imgopen.fidelity"),
)
SOURCE = re.compile(r"^(?:guess|(?:\[(?:seed|doc|sdk|inf)\])+)$")
HEADER = ("Provider", "Behaviour", "`documented` answers", "`permissive` answers", "Source")

Row = tuple[str, str, str, str, str]  # provider, behaviour, documented, permissive, source


def load() -> list[tuple[str, ModuleType]]:
    """The providers' fidelity modules that exist, in table order."""
    found = []
    for title, name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a module that exists but fails to import is a bug, not an absence
                raise
            continue
        found.append((str(getattr(module, "PROVIDER", title)), module))
    return found


def problems(behaviours: object) -> list[str]:
    """What is wrong with one module's BEHAVIOURS (empty when it is well formed)."""
    if not isinstance(behaviours, list):
        return ["BEHAVIOURS must be a list of (behaviour, documented, permissive, source) tuples"]
    out, seen = [], set()
    for i, row in enumerate(behaviours):
        if not (
            isinstance(row, tuple) and len(row) == 4 and all(isinstance(c, str) and c.strip() for c in row)
        ):
            out.append(f"row {i}: not a tuple of four non-empty strings: {row!r}")
            continue
        behaviour, _, _, source = row
        if not SOURCE.match(source):
            out.append(
                f"row {i} ({behaviour}): source {source!r} is not [seed]/[doc]/[sdk]/[inf] (combined) or guess"
            )
        if behaviour in seen:
            out.append(f"row {i}: behaviour {behaviour!r} is listed twice")
        seen.add(behaviour)
    return out


def rows() -> list[Row]:
    out: list[Row] = []
    for provider, module in load():
        behaviours = getattr(module, "BEHAVIOURS", None)
        wrong = problems(behaviours)
        if wrong:
            raise ValueError(f"{module.__name__}: " + "; ".join(wrong))
        assert isinstance(behaviours, list)
        out.extend((provider, *row) for row in behaviours)
    return out


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    """The Markdown table (ends with a newline)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows()]
    return "\n".join(lines) + "\n"


__all__ = ["HEADER", "MODULES", "SOURCE", "load", "problems", "render", "rows"]
