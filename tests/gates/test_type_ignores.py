"""Every `type: ignore` in the package says why, on its own line (issue 13, item 7).

mypy itself (`.ci/run`, strict, `warn_unused_ignores`) fails on an ignore that hides nothing;
this test fails on one that hides something without saying what makes it safe.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
# `# type: ignore[code]  # why it is safe` — a code, then a comment with words in it
EXPLAINED = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\w+")
ANY_IGNORE = re.compile(r"#\s*type:\s*ignore")


def unexplained(text: str) -> list[int]:
    return [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if ANY_IGNORE.search(line) and not EXPLAINED.search(line)
    ]


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    found = {
        f"{path.relative_to(PACKAGE.parent)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n in unexplained(path.read_text(encoding="utf-8"))
    }
    assert not found, f"type: ignore without a code and a reason on its line: {sorted(found)}"


def test_the_check_tells_a_reason_from_none() -> None:
    assert unexplained("x = f()  # type: ignore[arg-type]  # the stub is wrong\n") == []
    assert unexplained("x = f()  # type: ignore[arg-type]\n") == [1]
    assert unexplained("x = f()  # type: ignore\n") == [1]
    assert unexplained("x = f()  # type: ignore  # bare, but explained\n") == [1]
