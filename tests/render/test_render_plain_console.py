"""Plain output without rich is byte for byte what rich writes: the apply summary, the progress lines
and the plan, on `PlainConsole` (what the CLI's apply prints to a pipe or CI log).

The reference is rich itself: a real `Console` with no colour system, on which `print_lines` takes
rich's own `print` (its `no_color` is off, so the plain shortcut is not taken). Each case is drawn
from a seeded generator: messages with the control codes rich drops ("\\r", bell, form feed), tabs
(which rich expands), non-ASCII text and lines longer than any terminal.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from render_plans import big_plan
from rich.console import Console
from rich.table import Table

from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
from reconciler.render import RichProgress, make_console, output_console, print_apply_result, print_plan
from reconciler.render.terminal import PlainConsole, StyledLine, as_rich_plain, print_lines

SEEDS = range(40)
ACTIONS = ("create", "update", "replace", "delete", "forget", "adopt", "cancel", "wait", "no-op", "odd")
PIECES = (
    "job",
    " ",
    "ft-1",
    "RUNNING",
    "é",
    "数据",
    "\r",
    "\x07",
    "\x0c",
    "\x0b",
    "\x08",
    "\t",
    ":",
    "x" * 90,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def rich_reference(buffer: io.StringIO) -> Console:
    """A rich console that writes plain text through rich's own rendering (no shortcut)."""
    return Console(
        file=buffer, color_system=None, no_color=False, highlight=False, emoji=False, force_terminal=False
    )


def text(rng: random.Random, *, tabs: bool) -> str:
    pieces = [p for p in PIECES if tabs or p != "\t"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))


def outcome(rng: random.Random, i: int, *, tabs: bool) -> ResourceOutcome:
    return ResourceOutcome(
        address=f"{rng.choice(('FineTune', 'Dataset', 'Deployment'))}/r-{i}{text(rng, tabs=False)[:3]}",
        action=rng.choice(ACTIONS),
        outcome=rng.choice(list(Outcome)),
        message=text(rng, tabs=tabs),
        remote_id=rng.choice((None, "", "ft-202612", "file-\r1")),
        elapsed=rng.choice((0.0, 0.4, 65.0, 19_650.0)),
    )


def result_of(rng: random.Random, *, tabs: bool) -> ApplyResult:
    items = [outcome(rng, i, tabs=tabs) for i in range(rng.randint(0, 9))]
    return ApplyResult(outcomes={o.address: o for o in items}, interrupted=rng.random() < 0.3)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_apply_summary_on_a_plain_console_is_what_rich_writes(seed: int) -> None:
    rng = random.Random(seed)
    result = result_of(rng, tabs=rng.random() < 0.3)
    plain, reference, shortcut = io.StringIO(), io.StringIO(), io.StringIO()
    print_apply_result(PlainConsole(plain), result)
    print_apply_result(rich_reference(reference), result)
    print_apply_result(make_console(shortcut, no_color=True), result)  # rich's console, plain shortcut
    assert plain.getvalue() == reference.getvalue() == shortcut.getvalue()


@pytest.mark.parametrize("seed", SEEDS)
def test_progress_lines_on_a_plain_console_are_what_rich_writes(seed: int) -> None:
    """Every event of a seeded sequence (starts, status changes, heartbeats, finishes)."""
    outputs = []
    for console_of in (PlainConsole, rich_reference):
        events = random.Random(seed)  # the same sequence for both consoles
        buffer = io.StringIO()
        clock = FakeClock()
        progress = RichProgress(console_of(buffer), clock=clock, estimates={"FineTune/r-1": 600.0})
        assert not progress.use_live
        for _ in range(30):
            step = events.random()
            address = f"FineTune/r-{events.randint(0, 3)}"
            if step < 0.25:
                progress.started(address, events.choice(ACTIONS))
            elif step < 0.7:
                status = events.choice(("QUEUING", "RUNNING", "RUN\rNING"))
                progress.waiting(address, status, events.uniform(0, 900), text(events, tabs=True) or None)
            elif step < 0.8:
                clock.t += 45.0
                progress.tick()
            else:
                progress.finished(outcome(events, events.randint(0, 3), tabs=True))
        progress.close()
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") >= 10  # it printed


def test_a_plan_on_a_plain_console_is_what_rich_writes() -> None:
    plan = big_plan(40)
    plan.actions[3].reason = "the job's log said \r\nstep 3/9\x07 done"  # codes rich drops
    plan.actions[5].reason = "a\ttab"  # rich expands it: through rich
    for tabbed in (False, True):
        if not tabbed:
            plan.actions[5].reason = "no tab"
        plain, reference = io.StringIO(), io.StringIO()
        print_plan(PlainConsole(plain), plan)
        print_plan(rich_reference(reference), plan)
        assert plain.getvalue() == reference.getvalue()
        assert "\r" not in plain.getvalue()


def test_a_plan_written_to_a_pipe_drops_what_rich_drops() -> None:
    """`write_plan`'s own plain shortcut (`plan` to a pipe) matched rich only without control codes."""
    from reconciler.render.text import write_plan

    plan = big_plan(5)
    plan.actions[1].reason = "carriage\rreturn and a bell\x07"
    out, reference = io.StringIO(), io.StringIO()
    write_plan(out, plan)
    print_plan(rich_reference(reference), plan)
    assert out.getvalue() == reference.getvalue()


def test_as_rich_plain_is_rich_text_plain() -> None:
    from rich.text import Text

    rng = random.Random(7)
    for _ in range(500):
        sample = "".join(chr(rng.choice((7, 8, 9, 10, 11, 12, 13, 27, 65, 233, 0x6570))) for _ in range(8))
        assert as_rich_plain(sample) == Text(sample).plain
    line = StyledLine("a\r", "bold", (("b\x07", "red"), ("c", "")))
    assert as_rich_plain(line.plain) == line.to_text().plain == "abc"


def test_lines_of_either_kind_print_alike() -> None:
    """`print_lines` takes rich `Text` and `StyledLine` alike, on a plain console and through rich."""
    from rich.text import Text

    styled = [StyledLine("one"), StyledLine("two ", "bold", (("three\r", "red"),))]
    mixed = [Text("one"), styled[1]]
    for console_of in (PlainConsole, rich_reference):
        outputs = []
        for lines in (styled, mixed, [line.to_text() for line in styled]):
            buffer = io.StringIO()
            print_lines(console_of(buffer), lines)
            outputs.append(buffer.getvalue())
        assert outputs == ["one\ntwo three\n"] * 3


def test_a_plain_console_hands_everything_else_to_the_console_make_console_gives() -> None:
    buffer, reference = io.StringIO(), io.StringIO()
    console = PlainConsole(buffer)
    assert console._rich is None  # nothing of rich made yet
    console.width = 57  # a setting goes to the real console, as it would on make_console's
    assert console.width == 57 and console._rich is not None and console._rich.width == 57
    table = Table("resource", "status")
    table.add_row("FineTune/x", "RUNNING")
    console.print(table)
    real = make_console(reference)
    real.width = 57
    real.print(table)
    assert buffer.getvalue() == reference.getvalue()
    assert console.file is buffer and console.is_terminal is False


def test_output_console_is_plain_only_for_a_plain_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert isinstance(output_console(io.StringIO()), PlainConsole)
    on_a_terminal = output_console(Tty())
    assert not isinstance(on_a_terminal, PlainConsole) and on_a_terminal.is_terminal


PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('RICH=%s\\n' % any(m.split('.')[0] == 'rich' for m in sys.modules)))\n"
    "from reconciler.cli import main\n"
    "main(args=sys.argv[1:], prog_name='reconciler')\n"
)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def _quickstart(tmp_path: Path) -> Path:
    import shutil

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(
        repo / "manifests" / "quickstart", tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler")
    )
    return tmp_path


def test_an_apply_to_a_pipe_imports_no_rich(tmp_path: Path) -> None:
    """The CLI's apply, its plan, progress and summary written to a pipe, never loads rich."""
    done = _cli(_quickstart(tmp_path), "apply", "-f", "m", "--auto-approve")
    assert (
        "Apply complete:" in done.stdout and "started" in done.stdout
    )  # it printed progress and the summary
    assert "RICH=False" in done.stderr


def test_showing_a_saved_plan_to_a_pipe_imports_no_rich(tmp_path: Path) -> None:
    cwd = _quickstart(tmp_path)
    _cli(cwd, "plan", "-f", "m", "--out", "plan.json")
    done = _cli(cwd, "show", "-f", "m", "plan.json")
    assert "Plan:" in done.stdout or "to create" in done.stdout, done.stdout
    assert "RICH=False" in done.stderr
