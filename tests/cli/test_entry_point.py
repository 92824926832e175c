"""The `reconciler` executable (`reconciler.cli.run`) ends the process itself: exit codes and output survive it.

run() pauses the cyclic collector and, once the command is done, flushes, runs the atexit
handlers and calls os._exit (skipping the interpreter's slow teardown). These run the real entry
point in a subprocess and check what a shell sees.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_exit_codes_and_all_output_survive_the_quick_exit(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "qs", ignore=shutil.ignore_patterns(".reconciler")
    )
    plan = cli("plan", "-f", "qs", "--refresh=false", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 2, plan.stderr  # changes: everything is to be created
    assert (
        plan.stdout.rstrip().splitlines()[-1].startswith("Refresh was skipped")
    )  # the last line made it out
    ok = cli("validate", "-f", "qs", cwd=tmp_path)
    assert ok.returncode == 0 and "valid" in ok.stdout + ok.stderr
    bad = cli("validate", "-f", "nowhere", cwd=tmp_path)
    assert bad.returncode == 1 and "nowhere: no such file or directory" in bad.stderr
    usage = cli("no-such-command", cwd=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr


def test_atexit_handlers_still_run(tmp_path: Path) -> None:
    probe = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(tmp_path / 'ran')!r}, 'w').write('yes'))\n"
        "sys.argv = ['reconciler', '--help']\n"
        "from reconciler.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage:" in done.stdout
    assert (tmp_path / "ran").read_text() == "yes"


def _plugin_setting_after_run(env_value: str | None, tmp_path: Path) -> str:
    probe = (
        "import atexit, os, sys\n"
        f"atexit.register(lambda: open({str(tmp_path / 'seen')!r}, 'w')"
        ".write(os.environ.get('PYDANTIC_DISABLE_PLUGINS', '<unset>')))\n"
        "sys.argv = ['reconciler', '--help']\n"
        "from reconciler.cli import run\n"
        "run()\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "seen").read_text()


def test_the_command_skips_pydantics_plugin_scan_unless_the_user_says_otherwise(tmp_path: Path) -> None:
    assert _plugin_setting_after_run(None, tmp_path) == "__all__"
    assert _plugin_setting_after_run("logfire", tmp_path) == "logfire"


def test_the_commands_objects_are_not_freed_before_the_process_ends(tmp_path: Path) -> None:
    """A command ends by sys.exit; its locals (a plan, a workspace: millions of objects at scale)
    must not be freed one by one on the way out: the exit handlers run with them still alive, and
    os._exit drops them at once."""
    log = tmp_path / "order"
    probe = (
        "import atexit, sys, weakref\n"
        "import reconciler.cli as cli\n"
        f"log = open({str(log)!r}, 'w')\n"
        "class Big: pass\n"
        "def main():\n"
        "    big = Big()\n"
        "    weakref.finalize(big, lambda: (log.write('freed\\n'), log.flush())).atexit = False\n"
        "    sys.exit(3)\n"
        "cli.main = main\n"
        "atexit.register(lambda: (log.write('exit handlers\\n'), log.flush()))\n"
        "cli.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert log.read_text() == "exit handlers\n"  # never freed: not before the handlers, not after


def test_a_plan_imports_what_both_processes_need_before_it_forks_and_nothing_only_the_child_needs() -> None:
    probe = (
        "import sys\n"
        "from reconciler import refresh_ahead\n"
        "refresh_ahead.import_shared()\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('reconciler.', 'httpx')))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    loaded = set(done.stdout.split())
    assert {"reconciler.engine.refreshing", "reconciler.loading.load_memo", "reconciler.wiring"} <= loaded
    child_only = ("httpx", "reconciler.sandbox", "reconciler.providers.dashscope")
    # (httpx._main is reconciler's own placeholder that keeps httpx's command line unimported)
    assert not {m for m in loaded - {"httpx._main"} if m.startswith(child_only)}
