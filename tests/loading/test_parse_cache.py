"""The manifest parse cache returns exactly what parse_yaml returns, and parses again whenever the bytes differ.

It is keyed by the sha256 of a file's bytes, so correctness comes down to: a hit is the same
result (data, every field position, every diagnostic) under whatever name the file has now; a
miss for any other bytes; no object shared between two results; anything odd on disk is a miss.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.loading import parse_cache as pc
from reconciler.loading.parse_cache import ParseCache
from reconciler.loading.yaml_source import parse_yaml

REPO = Path(__file__).resolve().parents[2]
SAMPLES = [
    "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: p}\nspec: {type: dashscope, endpoint: sandbox}\n",
    "a: yes\nb: ~\nc: 0x1F\nd: 1.5e3\ne: '01'\nf: [1, {g: h}]\n---\n---\nz: 1\n",
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 5\nseq: [*b]\n",
    "spec:\n  model: a\n  model: b\n",  # a duplicate key: a diagnostic with a position
    "a: 1\n---\nb: [1, 2\nc: 3\n",  # a syntax error after a good document
    "a: !secret x\n? [1]\n: v\n",
    "lol: &a [lol, lol, lol]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" * 1,
]


def snapshot(parsed):  # type: ignore[no-untyped-def]
    return (
        parsed.path,
        [(d.index, d.data, d.location, dict(d.locations)) for d in parsed.documents],
        [str(d) for d in parsed.diagnostics],
    )


@pytest.mark.parametrize("text", SAMPLES)
def test_a_hit_is_exactly_the_parse_under_the_current_name(tmp_path: Path, text: str) -> None:
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    first = cache.parse(text.encode(), "old/name.yaml")
    assert snapshot(first) == snapshot(parse_yaml(text.encode(), "old/name.yaml"))
    cache.save()
    again = ParseCache(tmp_path / pc.CACHE_FILE)
    hit = again.parse(text.encode(), "moved/elsewhere.yaml")
    assert again.hits == 1 and again.misses == 0
    assert snapshot(hit) == snapshot(parse_yaml(text.encode(), "moved/elsewhere.yaml"))


def test_every_manifest_in_the_repository_round_trips(tmp_path: Path) -> None:
    files = [p for p in REPO.rglob("*.y*ml") if ".venv" not in p.parts and ".reconciler" not in p.parts]
    assert len(files) > 50
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    for f in files:
        cache.parse(f.read_bytes(), str(f))
    cache.save()
    again = ParseCache(tmp_path / pc.CACHE_FILE)
    for f in files:
        assert snapshot(again.parse(f.read_bytes(), str(f))) == snapshot(
            parse_yaml(f.read_bytes(), str(f))
        ), f
    assert again.misses == 0


def test_any_other_bytes_are_parsed_again(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    cache.parse(b"a: 1\n", "m.yaml")
    assert cache.parse(b"a: 2\n", "m.yaml").documents[0].data == {"a": 2}
    assert cache.misses == 2


def test_two_hits_share_no_objects(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    cache.parse(b"a: {b: [1]}\n", "m.yaml")
    one = cache.parse(b"a: {b: [1]}\n", "m.yaml")
    one.documents[0].data["a"]["b"].append(2)
    two = cache.parse(b"a: {b: [1]}\n", "m.yaml")
    assert two.documents[0].data == {"a": {"b": [1]}}


def test_hits_share_equal_positions_but_keep_their_own(tmp_path: Path) -> None:
    # equal packed positions are one object across hits; a document of the same shape written at
    # other lines must still report its own lines
    texts = {
        "a.yaml": b"a: 1\nb: {c: 2}\n",
        "b.yaml": b"\n\na: 1\nb: {c: 2}\n",
        "c.yaml": b"a: 3\nb: {c: 4}\n",
    }
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    for name, text in texts.items():
        cache.parse(text, name)
    cache.save()
    again = ParseCache(tmp_path / pc.CACHE_FILE)
    hits = {name: again.parse(text, name) for name, text in texts.items()}
    assert again.hits == 3
    for name, hit in hits.items():
        assert snapshot(hit) == snapshot(parse_yaml(texts[name], name))
    assert hits["a.yaml"].documents[0].locations["b.c"].line == 2
    assert hits["b.yaml"].documents[0].locations["b.c"].line == 4
    assert hits["c.yaml"].documents[0].locations["b.c"].line == 2


def test_values_marshal_cannot_hold_are_parsed_every_time(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / pc.CACHE_FILE)
    text = b"when: 2026-01-01\n"
    assert cache.parse(text, "m.yaml").documents[0].data == parse_yaml(text, "m.yaml").documents[0].data
    assert cache.parse(text, "m.yaml").documents[0].data["when"].year == 2026
    assert cache.hits == 0


# the third flips every bit of one byte: writing a fixed byte there is no damage when it is already that byte
@pytest.mark.parametrize(
    "damage", [lambda b: b[:-3], lambda b: b"junk", lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:]]
)
def test_a_damaged_cache_file_is_a_miss(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / pc.CACHE_FILE
    cache = ParseCache(path)
    cache.parse(b"a: 1\n", "m.yaml")
    cache.save()
    path.write_bytes(damage(path.read_bytes()))
    again = ParseCache(path)
    assert again.load_problem is not None
    assert again.parse(b"a: 1\n", "m.yaml").documents[0].data == {"a": 1} and again.misses == 1


def test_a_second_plan_parses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.workspace import Workspace

    root = tmp_path / "qs"
    shutil.copytree(REPO / "manifests" / "quickstart", root, ignore=shutil.ignore_patterns(".reconciler"))
    Workspace([root]).plan(refresh=False)
    assert (root / ".reconciler" / pc.CACHE_FILE).is_file()
    calls: list[str] = []
    real = pc.parse_yaml
    monkeypatch.setattr(pc, "parse_yaml", lambda text, shown: calls.append(shown) or real(text, shown))
    Workspace([root]).plan(refresh=False)
    assert calls == []
    (root / "provider.yaml").write_text((root / "provider.yaml").read_text() + "\n# edited\n")
    Workspace([root]).plan(refresh=False)
    assert [Path(c).name for c in calls] == ["provider.yaml"]


def test_the_fingerprint_stats_the_parser_and_the_pyyaml_it_would_import() -> None:
    """PyYAML is not imported for the fingerprint (a cached plan never parses), so it must name the
    very files an import would run: PyYAML's package and its libyaml extension, and the parser."""
    import yaml

    from reconciler.loading import yaml_parser, yaml_source

    identities = pc._pyyaml()
    assert identities[0].startswith(f"{yaml.__file__}:")
    if yaml.__with_libyaml__:
        assert identities[1].startswith(f"{yaml._yaml.__file__}:")  # type: ignore[attr-defined]  # the C extension
    else:
        assert identities[1] == "none"
    assert pc._origin("reconciler.loading.yaml_parser") == yaml_parser.__file__
    assert yaml_source.__file__ != yaml_parser.__file__


def test_the_fingerprint_changes_with_the_parser_or_pyyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new parser or another PyYAML must never meet a cache the old one wrote."""
    import os

    fake = {name: tmp_path / f"{name}.py" for name in ("parser", "yaml", "ext")}
    for f in fake.values():
        f.write_text("x = 1\n")
    monkeypatch.setattr(pc, "_origin", lambda module: str(fake["parser"]))
    monkeypatch.setattr(
        pc, "_pyyaml", lambda: [pc._file_identity(str(fake["yaml"])), pc._file_identity(str(fake["ext"]))]
    )

    def current() -> str:
        monkeypatch.setattr(pc, "_fingerprint", None)
        return pc.fingerprint()

    seen = {current()}
    for f in fake.values():
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        seen.add(current())
    assert len(seen) == 4
    assert current() in seen  # and it is stable while nothing changes
