"""The drift check flattens only the part of a spec its live fields can read (`_flattened_at`):
for every such path it must give what flattening the whole spec gives, overrides included."""

from __future__ import annotations

import random
from typing import Any

import pytest

from reconciler.engine.planning import _flatten, _flattened_at

# keys with dots in them too: "a.b" at the top and {"a": {"b": …}} flatten to the same path
KEYS = ["a", "b", "a.b", "b.c", "c", "ab", "0"]
OTHER_PATHS = ["a", "a.b", "a.b.c", "b", "c.a", "x", "a."]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.45:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice([None, 0, 1, -2, "", "x", [1], [], {"k": 1} if depth >= 3 else 2])


@pytest.mark.parametrize("seed", range(40))
def test_every_asked_path_reads_what_flattening_the_whole_spec_reads(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        spec = {rng.choice(KEYS): _value(rng, 1) for _ in range(rng.randint(0, 5))}
        whole = _flatten(spec)
        candidates = sorted(set(whole) | set(OTHER_PATHS))
        asked = rng.sample(candidates, rng.randint(1, min(4, len(candidates))))
        part = _flattened_at(spec, dict.fromkeys(asked, 0))
        for path in asked:
            assert (path in part) == (path in whole), (spec, path)
            if path in whole:
                assert part[path] == whole[path], (spec, path)


def test_a_dotted_top_level_key_and_its_nested_twin_override_in_order() -> None:
    spec: dict[str, Any] = {"a.b": 1, "a": {"b": 2}}
    assert _flattened_at(spec, {"a.b": 0}) == {"a.b": 2} == {"a.b": _flatten(spec)["a.b"]}
    spec = {"a": {"b": 2}, "a.b": 1}
    assert _flattened_at(spec, {"a.b": 0})["a.b"] == _flatten(spec)["a.b"] == 1


def test_only_the_keys_a_path_can_start_with_are_flattened() -> None:
    spec = {"capacity": 2, "model": {"name": "m"}, "cap": 1}
    assert _flattened_at(spec, {"capacity": 0}) == {"capacity": 2}
    assert _flattened_at(spec, {"model.name": 0}) == {"model.name": "m"}
    assert _flattened_at({"a": {}, "b": 1}, {"a": 0}) == {"a": {}}
