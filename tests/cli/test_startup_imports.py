"""A command imports only what it uses: `--help` and `validate` load no HTTP client, live display or sandbox.

Start-up is most of a small command's time (`reconciler --help` took 0.55 s, mostly imports), so
heavy modules are imported where they are used. Each case runs the real entry point in a fresh
interpreter and lists the modules it ended with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Only what the command imported counts: a coverage run (.ci/run) has loaded sqlite3 and more
# into the interpreter before the probe starts.
PROBE = """
import atexit, json, sys
before = set(sys.modules)
atexit.register(
    lambda: open(sys.argv[1], "w").write(json.dumps(sorted(k for k, v in sys.modules.items() if v and k not in before)))
)
from reconciler.cli import main
main(args=sys.argv[2:], prog_name="reconciler")
"""

HTTP_AND_DISPLAY = ("httpx", "httpcore", "rich")
EMULATOR = ("reconciler.sandbox.sandbox", "reconciler.sandbox.app")
PROVIDERS = (
    "reconciler.providers.dashscope",
    "reconciler.providers.wavespeed",
    "reconciler.providers.imgopen",
)


def modules_after(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args], cwd=tmp_path, capture_output=True, timeout=120
    )
    return set(json.loads(out.read_text()))


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        m
        for m in modules
        if m.startswith(prefixes)
        and (m in prefixes or m.split(".")[0] in prefixes or any(m.startswith(p + ".") for p in prefixes))
    )


def test_help_imports_no_library_code(tmp_path: Path) -> None:
    modules = modules_after(tmp_path, "--help")
    heavy = (
        "pydantic",
        "yaml",
        "sqlite3",
        "sqlite_utils",
        "deepdiff",
        "reconciler.models.envelope",
        "reconciler.workspace",
        *HTTP_AND_DISPLAY,
        *EMULATOR,
        *PROVIDERS,
    )
    assert loaded(modules, heavy) == []


def test_validate_imports_no_http_display_sandbox_or_provider(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "qs", ignore=shutil.ignore_patterns(".reconciler")
    )
    modules = modules_after(tmp_path, "validate", "-f", "qs")
    assert "reconciler.loading.loader" in modules  # it did validate
    # the spec models come from the plugin of each provider type the manifests use: its
    # registration and the pure facts it names, never its client, adapter or another provider
    pure = {"reconciler.providers.dashscope", "reconciler.providers.dashscope.plugin"}
    pure.add("reconciler.providers.dashscope.facts")
    assert "reconciler.providers.dashscope.plugin" in modules
    assert [
        m
        for m in loaded(modules, (*HTTP_AND_DISPLAY, *EMULATOR, *PROVIDERS, "deepdiff", "sqlite_utils"))
        if m not in pure
    ] == []


@pytest.mark.parametrize("example", ["manifests/quickstart", "manifests/examples/wavespeed"])
def test_an_offline_plan_imports_no_provider_client_and_no_diff_library(tmp_path: Path, example: str) -> None:
    shutil.copytree(REPO / example, tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler"))
    modules = modules_after(tmp_path, "plan", "-f", "m", "--refresh=false")
    assert "reconciler.engine.planning" in modules
    # a provider's plugin, its facts (status words, replacement rules) and its economics (prices,
    # quotas): pure data, all a plan needs of it: the package (whose names load lazily) and those
    # modules, never its client or adapter
    pure = {p for name in PROVIDERS for p in (name, name + ".plugin", name + ".facts", name + ".economics")}
    assert any(m.endswith(".facts") for m in modules)  # the planner asked a provider
    assert any(m.endswith(".economics") for m in modules)  # and priced the plan
    assert [
        m for m in loaded(modules, ("httpx", *EMULATOR, *PROVIDERS, "sqlite_utils")) if m not in pure
    ] == []
    assert loaded(modules, ("rich",)) == []  # its text goes to a pipe: plain, without rich


# What a no-change `plan --refresh=false` never uses (each was imported by one once): PyYAML (every
# manifest comes from the parse cache), logging (no --log-level), a thread pool (no refresh), the
# project file's models (there is none), the models of a provider no manifest names, an HTTP server
UNUSED_BY_A_CACHED_OFFLINE_PLAN = (
    "yaml",
    "reconciler.loading.yaml_parser",
    "logging",
    "concurrent.futures",
    "reconciler.providers.candidates",
    "getpass",
    "reconciler.models.projects",
    "reconciler.models.wavespeed",
    "reconciler.models.wavespeed_samples",
    "reconciler.models.imgopen",
    "reconciler.sandbox",
    "http.server",
    # a refresh's engine, the project file (-f names the manifests), an environment's patches, the
    # state copier of `state migrate`, another provider's layout checks and tables (the content
    # cache's fingerprint stats their files without importing them), the deterministic zipper
    "reconciler.engine.refreshing",
    "reconciler.loading.project_file",
    "reconciler.loading.patching",
    "reconciler.state.moving",
    "reconciler.datasets.wavespeed_layout",
    "reconciler.models.wavespeed_tables",
    "reconciler.datasets.zipping",
)


def test_a_cached_offline_plan_imports_no_yaml_logging_threads_or_unused_models(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler")
    )
    first = modules_after(tmp_path, "plan", "-f", "m", "--refresh=false")
    assert "reconciler.loading.yaml_parser" in first  # the first plan parsed (and filled the caches)
    modules = modules_after(tmp_path, "plan", "-f", "m", "--refresh=false")
    assert "reconciler.engine.planning" in modules and "reconciler.models.dashscope" in modules
    assert loaded(modules, UNUSED_BY_A_CACHED_OFFLINE_PLAN) == []


def test_a_plan_imports_only_the_providers_its_manifests_use(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler")
    )
    modules = modules_after(tmp_path, "plan", "-f", "m")
    assert "reconciler.providers.dashscope.adapter" in modules
    assert "reconciler.sandbox.app" in modules  # it did refresh, against the emulator
    # the embedded sandbox reads every plugin's registration (to know its emulator): pure data, no client
    others = ("reconciler.providers.wavespeed", "reconciler.providers.imgopen")
    registration = {p for name in others for p in (name, name + ".plugin", name + ".facts")}
    assert [m for m in loaded(modules, others) if m not in registration] == []
    # nor httpx's own command-line client (rich, pygments), nor sqlite-utils for the emulator, nor
    # an HTTP server for it (only `sandbox serve` has one), nor the project file's models
    assert loaded(modules, ("httpx._main", "pygments", "rich", "sqlite_utils")) == []
    server = ("reconciler.sandbox.server", "http.server", "socketserver", "wsgiref")
    assert loaded(modules, (*server, "reconciler.models.projects")) == []
    # the other providers' emulators read their plain tables, not their spec models
    unused_models = (
        "reconciler.models.wavespeed",
        "reconciler.models.wavespeed_samples",
        "reconciler.models.imgopen",
    )
    assert "reconciler.sandbox.wavespeed" in modules
    assert [m for m in modules if m in unused_models] == []


# The models a printed no-change plan makes without validating (`trusted`, `model_construct`):
# their validators are built only when something validates or dumps one (`defer_build`).
NOT_VALIDATED_BY_A_PRINTED_PLAN = ("Plan", "Action", "FieldChange", "Cost", "CostTotal", "PlanSummary")

BUILT_PROBE = f"""
import atexit, json, sys
def _report():
    from reconciler.models import costs, plans
    names = {{n: getattr(plans, n, None) or getattr(costs, n) for n in {NOT_VALIDATED_BY_A_PRINTED_PLAN!r}}}
    open(sys.argv[1], "w").write(json.dumps(sorted(n for n, c in names.items() if c.__pydantic_complete__)))
atexit.register(_report)
from reconciler.cli import main
main(args=sys.argv[2:], prog_name="reconciler")
"""


def test_a_printed_plan_builds_no_validator_for_the_plan_models(tmp_path: Path) -> None:
    """Building a pydantic model's validator is most of the cost of defining it (`Action` and
    `Plan` ~25 ms of start-up): a plan printed as text never validates or dumps one of these."""
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler")
    )
    applied = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "apply", "-f", "m", "--auto-approve"],
        cwd=tmp_path, capture_output=True, timeout=120, env={**os.environ, "RECONCILER_SANDBOX_TIME_SCALE": "1e9"},
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    out = tmp_path / "built.json"
    args = ["plan", "-f", "m", "--refresh=false"]
    run = subprocess.run(
        [sys.executable, "-c", BUILT_PROBE, str(out), *args], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert b"No changes" in run.stdout, run.stderr
    assert json.loads(out.read_text()) == []
    # and `plan -out` (which saves the plan as JSON) still works: the validators are built on use
    saved = subprocess.run(
        [sys.executable, "-c", BUILT_PROBE, str(out), *args, "-out", "p.json"],
        cwd=tmp_path, capture_output=True, timeout=120,
    )  # fmt: skip
    assert json.loads((tmp_path / "p.json").read_text())["actions"], saved.stderr
    assert "Plan" in json.loads(out.read_text())
