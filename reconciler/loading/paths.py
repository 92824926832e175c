"""How file paths appear in diagnostics: relative to the working directory when possible."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path, cwd: Path | None = None) -> str:
    """Relative to `cwd` (default: the working directory) when the file is under it, else absolute."""
    here = (cwd or Path.cwd()).resolve()
    absolute = path.resolve()
    try:
        return absolute.relative_to(here).as_posix()
    except ValueError:
        return str(absolute)
