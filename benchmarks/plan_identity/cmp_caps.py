"""Compare the plans two suite runs captured (`plancapture.py`): the same files, the same bytes,
after normalising what differs between any two runs of the same code.

    python benchmarks/plan_identity/cmp_caps.py OLD_DIR NEW_DIR [TREE ...]

TREE: the checkouts the runs were made in (their paths are normalised too). Exit 1 on a difference.
"""

from __future__ import annotations

import os
import re
import sys

RULES = [
    (re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/(popen-gw\d+/)?"), "TMP/"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"lineage [0-9a-f]{8}"), "lineage L"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?"), "ISO"),
    (re.compile(r"(?<=ft-)\d{12}"), "T"),
    (re.compile(r"(file-ft-|file-)[0-9a-f]{16,32}"), r"\1ID"),
    (re.compile(r"127\.0\.0\.1:\d+/reconciler_gw\d+_[0-9a-f]+"), "PG"),
    (re.compile(r"(workspace [^ )]*/)[0-9a-f]{8}"), r"\1W"),
    (re.compile(r"serial\"?:? ?\d+"), "serial S"),
    (re.compile(r"\b[0-9a-f]{24,32}\b"), "HEX"),
    (re.compile(r"repo-[0-9a-z]+"), "repo-R"),
    (re.compile(r"\b1[78]\d{8}(\.\d+)?\b"), "EPOCH"),
]


def main(old: str, new: str, trees: list[str]) -> int:
    rules = [(re.compile(re.escape(t.rstrip("/")) + "/"), "TREE/") for t in trees] + RULES

    def norm(text: str) -> str:
        for rule, to in rules:
            text = rule.sub(to, text)
        return text

    same, differ, only = 0, [], []
    for name in sorted(set(os.listdir(old)) | set(os.listdir(new))):
        a, b = os.path.join(old, name), os.path.join(new, name)
        if not (os.path.exists(a) and os.path.exists(b)):
            only.append(name)
            continue
        with open(a) as fa, open(b) as fb:
            if norm(fa.read()) == norm(fb.read()):
                same += 1
            else:
                differ.append(name)
    print(f"same {same} differ {len(differ)} only-in-one {len(only)}")
    for name in differ:
        print("DIFF", name)
    for name in only:
        print("ONLY", name)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
