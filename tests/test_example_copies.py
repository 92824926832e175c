"""The suite passes after the README's quickstart ran in this checkout.

`reconciler apply -f manifests/quickstart` leaves `manifests/quickstart/.reconciler/` (state and
sandbox databases) behind. A test that copies an example with it, or runs one in place, would plan
against that state instead of starting fresh. So every copy goes through the `example_copy`
fixture (tests/conftest.py), which leaves `.reconciler/` out; these tests keep it that way.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_example_copy_leaves_out_the_state_a_quickstart_run_left(
    tmp_path: Path, example_copy: Callable[..., Path]
) -> None:
    example = tmp_path / "ran-the-quickstart"
    (example / ".reconciler").mkdir(parents=True)
    (example / ".reconciler" / "state.db").write_bytes(b"SQLite format 3\x00")
    (example / "provider.yaml").write_text("kind: Provider\n")
    copy = example_copy(example, "copy")
    assert (copy / "provider.yaml").exists()
    assert not (copy / ".reconciler").exists()


# Copies that take the state along on purpose: the crash suite's snapshots of a run in progress.
SNAPSHOTS = {"crash/crash_harness.py"}


def _leaves_out_state(node: ast.Call) -> bool:
    """`copytree(..., ignore=shutil.ignore_patterns(".reconciler"))`."""
    return any(kw.arg == "ignore" and ".reconciler" in ast.unparse(kw.value) for kw in node.keywords)


def test_no_test_copies_a_directory_tree_by_itself() -> None:
    """`shutil.copytree` outside conftest.py would copy a leftover `.reconciler/` along."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        where = str(path.relative_to(TESTS))
        if path == TESTS / "conftest.py" or where in SNAPSHOTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name == "copytree" and not _leaves_out_state(node):
                    offenders.append(f"{where}:{node.lineno}")
    assert not offenders, (
        "copy examples with the example_copy fixture (tests/conftest.py), which leaves out "
        f".reconciler/: {', '.join(offenders)}"
    )
