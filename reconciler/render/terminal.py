"""The one place that decides whether output is coloured.

Colour only on a terminal, never when `NO_COLOR` is set (https://no-color.org: present and not
empty), and whatever the caller forces. Renderers take a `Console` and never build their own,
so tests and the CLI see exactly the same bytes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

if TYPE_CHECKING:  # rich is imported where a console is made (a pipe gets plain text without it)
    from rich.console import Console
    from rich.text import Text


class StyledLine(NamedTuple):
    """One output line without rich: `Text(first, style=style)`, then each (text, style) appended.

    Why: a plan or an apply printed to a pipe, a file or CI is plain text, and building it needs
    no rich (importing rich was a tenth of a small plan's time); a terminal gets the same lines as
    rich `Text`, built exactly as before.
    """

    first: str
    style: str = ""
    rest: tuple[tuple[str, str], ...] = ()

    @property
    def plain(self) -> str:
        return self.first + "".join(text for text, _ in self.rest) if self.rest else self.first

    def to_text(self) -> Text:
        from rich.text import Text

        text = Text(self.first, style=self.style)
        for part, style in self.rest:
            text.append(part, style=style)
        return text


# What rich's `Text` drops from every string it is given (`rich.control.strip_control_codes`: bell,
# backspace, vertical tab, form feed, carriage return), so plain text written without rich is
# byte for byte what rich writes. A provider's message may hold a "\r" (a job's log lines).
_STRIPPED_BY_RICH = re.compile("[\x07\x08\x0b\x0c\x0d]")
_STRIP_TABLE = dict.fromkeys((7, 8, 11, 12, 13))


def as_rich_plain(text: str) -> str:
    """`text` as rich's `Text(text).plain` is: the control codes it drops removed (a search first:
    almost no text has one, and translating every line would cost more than the rest)."""
    return text.translate(_STRIP_TABLE) if _STRIPPED_BY_RICH.search(text) else text


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


class PlainConsole:
    """`make_console(stream)` for a plain stream (a pipe, a file, CI) that imports rich only when
    something asks more of it than plain text.

    Why: an apply in CI writes three plain lines a resource and a summary, and importing rich for
    them cost ~25 ms (`-X importtime`) and ~2 MB of peak RSS of every such run. The renderers'
    plain paths (`print_lines`, `RichProgress`) read only `file`, `is_terminal`, `color_system`
    and `no_color`; anything else (a rich `print`, a width) goes to the very console
    `make_console` gives for this stream, made on first use, so every byte written is what that
    console writes.
    """

    is_terminal = False
    color_system = None
    no_color = True

    def __init__(self, file: IO[str]) -> None:
        self.file: IO[str]
        self._rich: Console | None
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "_rich", None)

    def _console(self) -> Console:
        rich: Console | None = self._rich
        if rich is None:
            rich = make_console(self.file)
            object.__setattr__(self, "_rich", rich)
        return rich

    def __getattr__(self, name: str) -> Any:  # only what this class does not define
        return getattr(self._console(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._console(), name, value)


def output_console(stream: IO[str] | None = None) -> Console:
    """`make_console(stream)`, as a `PlainConsole` when the stream is plain (the CLI's apply)."""
    stream = stream if stream is not None else sys.stdout
    if is_plain_stream(stream):
        return cast("Console", PlainConsole(stream))
    return make_console(stream)


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


def print_lines(console: Console, lines: Sequence[Text | StyledLine]) -> None:
    """Print many lines at once (rich costs ~0.1 ms per `print`; a 4,000-action plan has 40,000 lines).

    A plain console (no colour: a pipe, a file, CI) gets the text itself — what rich would write
    there anyway, minus its rendering pipeline, and without rich when the lines are `StyledLine`s;
    a terminal gets one rich `print` of them all.
    """
    if console.color_system is None and console.no_color and not console.is_terminal:
        plain = as_rich_plain("\n".join(line.plain for line in lines))
        if "\t" not in plain:  # rich expands tabs: that text goes through it
            console.file.write(plain + "\n")
            return
    from rich.text import Text

    text = Text("\n").join(line.to_text() if isinstance(line, StyledLine) else line for line in lines)
    console.print(text, soft_wrap=True)
