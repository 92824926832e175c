"""The one place that decides whether output is coloured.

Colour only on a terminal, never when `NO_COLOR` is set (https://no-color.org: present and not
empty), and whatever the caller forces. Renderers take a `Console` and never build their own,
so tests and the CLI see exactly the same bytes.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a console is made (a pipe gets plain text without it)
    from rich.console import Console
    from rich.text import Text


def wants_colour(stream: IO[str], no_color: bool | None = None) -> bool:
    if no_color is not None:
        return not no_color
    if os.environ.get("NO_COLOR"):
        return False
    return _isatty(stream)


def make_console(stream: IO[str] | None = None, *, no_color: bool | None = None) -> Console:
    """A console on `stream` (stdout by default).

    `no_color=None` decides from the stream and `NO_COLOR`; `False` forces colour (e.g. `--color`
    in CI logs that render ANSI); `True` forces plain text. Plain text carries no ANSI escapes at
    all — not even bold — so it can be diffed, grepped and pasted.
    """
    from rich.console import Console

    stream = stream if stream is not None else sys.stdout
    colour = wants_colour(stream, no_color)
    if colour:
        forced = no_color is False and not _isatty(stream)
        return Console(
            file=stream,
            force_terminal=True if forced else None,
            color_system="standard" if forced else "auto",
            no_color=False,
            highlight=False,
            emoji=False,
        )
    return Console(
        file=stream,
        color_system=None,
        no_color=True,
        highlight=False,
        emoji=False,
        force_terminal=False if not _isatty(stream) else None,
    )


def is_plain_stream(stream: IO[str]) -> bool:
    """Whether `make_console(stream)` is a plain console that is not a terminal (a pipe, a file, CI).

    Such a console writes plain text as it is (`print_lines`), so callers may write it themselves.
    """
    return not wants_colour(stream) and not _isatty(stream)


def _isatty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def print_lines(console: Console, lines: list[Text]) -> None:
    """Print many lines at once (rich costs ~0.1 ms per `print`; a 4,000-action plan has 40,000 lines).

    A plain console (no colour: a pipe, a file, CI) gets the text itself — what rich would write
    there anyway, minus its rendering pipeline; a terminal gets one rich `print` of them all.
    """
    from rich.text import Text

    text = Text("\n").join(lines)
    plain = text.plain
    if console.color_system is None and console.no_color and not console.is_terminal and "\t" not in plain:
        console.file.write(plain + "\n")
        return
    console.print(text, soft_wrap=True)
