"""Field paths of a spec change come from DeepDiff's tree view, and read as they did when parsed.

The reference is the string parsing the planner did before (issue 13): it read "root['a'][0]"
back into "a[0]". Random nested specs, seeded, must give the same paths both ways.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from deepdiff import DeepDiff

from reconciler.engine.planning import _DIFF_REPORTS, _field_path


def parsed_path(p: str) -> str:
    out = p[4:] if p.startswith("root") else p
    out = out.replace("']['", ".").replace("['", ".").replace("']", "")
    return out.lstrip(".")


def random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth < 3 and pick < 0.3:
        return {
            rng.choice("abcde") + rng.choice(["", "_x", "0"]): random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))
        }
    if depth < 3 and pick < 0.5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice([1, 2, 2.5, "s", "t", None, True])


def mutate(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: mutate(rng, v) if rng.random() < 0.5 else v for k, v in value.items() if rng.random() > 0.1}
        if rng.random() < 0.2:
            out[rng.choice("fgh")] = random_value(rng, 2)
        return out
    if isinstance(value, list):
        out = [mutate(rng, v) if rng.random() < 0.4 else v for v in value if rng.random() > 0.15]
        return out + ([random_value(rng, 2)] if rng.random() < 0.2 else [])
    return random_value(rng, 3) if rng.random() < 0.5 else value


@pytest.mark.parametrize("seed", range(150))
def test_tree_paths_read_as_the_parsed_paths_did(seed: int) -> None:
    rng = random.Random(seed)
    before = {"spec": random_value(rng), "n": 1}
    after = mutate(rng, before)
    tree = DeepDiff(before, after, ignore_order=False, view="tree")
    text = DeepDiff(before, after, ignore_order=False, verbose_level=2)
    got = {_field_path(level.path(output_format="list")) for r in _DIFF_REPORTS for level in tree.get(r, ())}
    want = {parsed_path(p) for r in _DIFF_REPORTS for p in text.get(r, {})}
    assert got == want
