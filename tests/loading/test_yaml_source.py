"""YAML → data + positions: line:col of every key and item, duplicates, syntax errors, speed."""

from __future__ import annotations

import time

import pytest

from reconciler.loading.yaml_parser import YamlLoader
from reconciler.loading.yaml_source import MAX_ALIAS_NODES, MAX_DEPTH, parent_path, parse_yaml
from reconciler.models.diagnostics import SourceLocation


def loc(line: int, col: int) -> SourceLocation:
    return SourceLocation("m.yaml", line, col)


def test_positions_of_keys_and_items() -> None:
    text = "a: 1\nspec:\n  hp:\n    lora_rank: 48\n  ds: [x, y]\n  flow: {k: v}\n"
    parsed = parse_yaml(text, "m.yaml")
    (doc,) = parsed.documents
    assert doc.data == {"a": 1, "spec": {"hp": {"lora_rank": 48}, "ds": ["x", "y"], "flow": {"k": "v"}}}
    assert doc.locations["spec.hp.lora_rank"] == loc(4, 5)
    assert doc.locations["spec.ds[1]"] == loc(5, 11)
    assert doc.locations["spec.flow.k"] == loc(6, 10)
    assert parsed.positions[(0, "a")] == loc(1, 1)


def test_missing_path_walks_up_to_nearest_written_ancestor() -> None:
    (doc,) = parse_yaml("spec:\n  hp:\n    n: 1\n", "m.yaml").documents
    assert doc.location_of("spec.hp.lora_rank") == loc(2, 3)
    assert doc.location_of("spec.nothing.deeper[3]") == loc(1, 1)
    assert doc.location_of("") == loc(1, 1)


@pytest.mark.parametrize(
    ("path", "parent"), [("spec.a[2]", "spec.a"), ("spec.a", "spec"), ("spec", ""), ("a[0][1]", "a[0]")]
)
def test_parent_path(path: str, parent: str) -> None:
    assert parent_path(path) == parent


def test_multi_document_and_empty_documents() -> None:
    parsed = parse_yaml("a: 1\n---\n---\n# only a comment\n---\nb: 2\n", "m.yaml")
    data = [d.data for d in parsed.documents]
    assert data[0] == {"a": 1} and data[-1] == {"b": 2}
    assert [d.data for d in parsed.documents if d.data is not None] == [{"a": 1}, {"b": 2}]
    assert parsed.documents[-1].locations["b"] == loc(6, 1)


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    parsed = parse_yaml("spec:\n  model: a\n  model: b\n", "m.yaml")
    (d,) = parsed.diagnostics
    assert d.location == loc(3, 3)
    assert d.message == "duplicate key 'model' (first defined at line 2, column 3); remove one of them"
    assert parsed.documents[0].data == {"spec": {"model": "a"}}


def test_syntax_error_has_a_location_and_earlier_documents_survive() -> None:
    parsed = parse_yaml("a: 1\n---\nb: [1, 2\nc: 3\n", "m.yaml")
    assert [d.data for d in parsed.documents] == [{"a": 1}]
    (d,) = parsed.diagnostics
    assert d.location is not None and d.location.line == 4
    assert d.message.startswith("YAML syntax error: did not find expected ',' or ']'")


def test_merge_keys_and_anchors() -> None:
    (doc,) = parse_yaml("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 5\n", "m.yaml").documents
    assert doc.data["m"] == {"x": 1, "y": 5}
    assert doc.locations["m.y"] == loc(4, 3)


def test_unknown_tag_and_non_scalar_key() -> None:
    parsed = parse_yaml("a: !secret x\n? [1]\n: v\n", "m.yaml")
    messages = [d.message for d in parsed.diagnostics]
    assert messages == [
        "unsupported YAML tag '!secret'; use plain values",
        "mapping keys must be plain scalars",
    ]


def test_recursive_alias_does_not_hang() -> None:
    parsed = parse_yaml("a: &x [1, *x]\n", "m.yaml")
    assert [d.message for d in parsed.diagnostics] == ["recursive YAML alias is not allowed"]


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_alias_bomb_is_refused_quickly() -> None:
    start = time.perf_counter()
    parsed = parse_yaml(BILLION_LAUGHS, "m.yaml")
    assert time.perf_counter() - start < 2.0  # 10^9 nodes if expanded; the budget stops it at 10^4
    (d,) = parsed.diagnostics
    assert d.message.startswith(f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes")
    assert d.location is not None and d.location.file == "m.yaml"
    assert [doc.data for doc in parsed.documents] == [None]  # the document is dropped, not half-built


def test_aliases_within_the_budget_are_fine() -> None:
    text = "hp: &hp {n_epochs: 400, lora_rank: 32}\n" + "".join(f"ft{i}: *hp\n" for i in range(100))
    (doc,) = parse_yaml(text, "m.yaml").documents
    assert doc.data["ft99"] == {"n_epochs": 400, "lora_rank": 32}


def test_alias_budget_is_per_document() -> None:
    one = "x: &x [" + ", ".join(["v"] * 100) + "]\n" + "".join(f"y{i}: *x\n" for i in range(90))
    parsed = parse_yaml("---\n".join([one] * 3), "m.yaml")
    assert not parsed.diagnostics and len(parsed.documents) == 3


@pytest.mark.parametrize(
    "text",
    ["x: &x\n  <<: *x\n", "x: &x\n  a: 1\n  <<: *x\n", "x: &x\n  a: [{<<: *x}]\n"],
)
def test_self_merge_is_an_error_not_a_traceback(text: str) -> None:
    parsed = parse_yaml(text, "m.yaml")
    (d,) = parsed.diagnostics
    assert d.message == "a merge key (<<) merges a mapping into itself; remove this '<<' line"
    assert d.location is not None and d.location.line == text.count("\n", 0, text.index("<<")) + 1


def test_nesting_depth_is_capped() -> None:
    parsed = parse_yaml("a: " + "[" * 500 + "]" * 500 + "\n", "m.yaml")  # libyaml itself allows 1000
    (d,) = parsed.diagnostics
    assert d.message.startswith(f"YAML nesting is deeper than {MAX_DEPTH} levels")


def test_not_text() -> None:
    parsed = parse_yaml(b"a: \x80\x81", "m.yaml")
    assert [str(d) for d in parsed.diagnostics] == [
        "m.yaml:1:1: not a text file in UTF-8 or UTF-16 (invalid leading UTF-8 octet at byte 3)"
    ]


def test_uses_the_c_loader_when_available() -> None:
    import yaml

    if getattr(yaml, "CSafeLoader", None) is not None:
        assert YamlLoader is yaml.CSafeLoader


def test_thousands_of_documents_load_quickly() -> None:
    doc = (
        "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: ft-%d}\nspec:\n  provider: p\n"
        "  model: wan2.5-i2v-preview\n  training_datasets: [d-%d]\n  hyper_parameters: {n_epochs: 400}\n"
    )
    text = "---\n".join(doc % (i, i) for i in range(3000))
    start = time.perf_counter()
    parsed = parse_yaml(text, "m.yaml")
    elapsed = time.perf_counter() - start
    assert len(parsed.documents) == 3000
    assert parsed.documents[2999].locations["spec.training_datasets[0]"].line == 2999 * 9 + 7
    assert elapsed < 3.0


SAME_AS_SAFE_LOAD = [
    "a: yes\nb: No\nc: ~\nd: 0x1F\ne: 1_000\nf: 1.5e3\ng: 2.0e-5\nh: 2026-01-01\ni: '01'\nj: !!str 5\n"
    "k: 0o17\nl: .inf\nm: ''\nn:\no: -3\np: 190:20:30\nq: \"x\"\nr: !!float 1\ns: [1, 'a', {t: null}]\n",
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 5\n",
    "a: &a {p: 1}\nb: &b {q: 2, p: 3}\nc:\n  z: 0\n  <<: [*a, *b]\n  w: 9\n",
    "c:\n  <<: {a: 1, b: {c: 2}}\n  a: 5\n",
    "x: &x [1, 2, {k: v}]\ny: [*x, *x]\nz: *x\n",
    "k: &k name\n*k : v\n",
    "a: 1\n---\n---\n# only a comment\n---\nb: [1, {c: d}]\n",
]


@pytest.mark.parametrize("text", SAME_AS_SAFE_LOAD)
def test_values_are_what_safe_load_gives(text: str) -> None:
    import yaml

    assert [d.data for d in parse_yaml(text, "m.yaml").documents] == list(yaml.safe_load_all(text))


def test_merged_and_aliased_fields_are_located_where_they_were_written() -> None:
    text = "hp: &hp\n  n: 1\n  m: 2\nft:\n  <<: *hp\n  m: 3\nseq: [*hp]\n"
    (doc,) = parse_yaml(text, "m.yaml").documents
    assert doc.locations["ft.n"] == loc(2, 3)  # merged: where the anchor defined it
    assert doc.locations["ft.m"] == loc(6, 3)  # explicit: where it was written here
    assert doc.locations["seq[0]"] == loc(7, 7) and doc.locations["seq[0].m"] == loc(3, 3)


def test_an_undefined_alias_is_a_syntax_error_naming_it() -> None:
    (d,) = parse_yaml("a: *nope\n", "m.yaml").diagnostics
    assert str(d) == "m.yaml:1:4: YAML syntax error: found undefined alias 'nope'"
