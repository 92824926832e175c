"""`encode_all` (one credential pre-check for a whole state write) must give exactly what encoding
each value alone gives: a secret in any one column, the event detail or the journal result is
scrubbed even when every other text of the write is clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from state_fixtures import make_record

from reconciler.state.interface import StateError
from reconciler.state.redaction import REDACTED, encode, encode_all
from reconciler.state.sqlite import SqliteStateStore

KEY = "sk-" + "0123456789abcdef" * 2

CLEAN: list[Any] = [
    {},
    [],
    {"model": "wan2.5-i2v-preview", "n": 1},
    ["a", "b"],
    "plain",
    3,
    None,
    {"x": [1.5]},
]
SECRETS: list[Any] = [
    {"api_key": "x"},
    {"headers": {"Authorization": "abc"}},
    f"called with Bearer {KEY}",
    [{"webhook": {"secret": "whsec_abc"}}],
    {"note": f"key {KEY}"},
]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("at", [0, 3, len(CLEAN)])
def test_one_secret_among_clean_values_is_redacted(secret: Any, at: int) -> None:
    values = [*CLEAN[:at], secret, *CLEAN[at:]]
    texts = encode_all(values)
    assert texts == [encode(v) for v in values]
    assert REDACTED in texts[at] and KEY not in "".join(texts)


def test_clean_values_encode_as_alone() -> None:
    assert encode_all(CLEAN) == [encode(v) for v in CLEAN]
    assert encode_all([]) == []


def test_a_hint_across_two_texts_changes_nothing() -> None:
    """`"sec` + `ret"` joined reads as a hint: each value is then encoded alone, as it would be."""
    values = ["api_", "key", "sec", "ret"]
    assert encode_all(values) == [encode(v) for v in values] == ['"api_"', '"key"', '"sec"', '"ret"']


def test_values_that_are_not_json_raise_as_encode_does() -> None:
    with pytest.raises(TypeError):
        encode_all([{}, {"x": object()}])
    with pytest.raises(ValueError):
        encode_all([float("nan")])


FIELDS = ["spec", "observed", "outputs", "labels", "lifecycle", "built_from", "content_files"]


@pytest.mark.parametrize("field", [*FIELDS, "detail", "result"])
def test_a_put_scrubs_a_secret_in_any_one_place(tmp_path: Path, field: str) -> None:
    secret: dict[str, Any] = {"note": f"called with Bearer {KEY}"}
    path = tmp_path / "state.db"
    with SqliteStateStore.open(path) as store:
        entry = store.journal_open("FineTune/money-rain", "create", "p", {"a": 1}, {"f": 1})
        record = make_record(**({field: secret} if field in FIELDS else {}))
        store.put(
            record,
            event="created",
            detail=secret if field == "detail" else {"remote_id": "ft-1"},
            close_journal=(entry, "done", secret if field == "result" else {"remote_id": "ft-1"}),
        )
        stored = store.get(record.address)
        assert stored is not None
        if field in FIELDS:
            assert getattr(stored, field) == {"note": f"called with {REDACTED}"}
        if field == "result":
            assert store.journal_entries()[0].result == {"note": f"called with {REDACTED}"}
        if field == "detail":
            assert store.events(record.address)[-1].detail == {"note": f"called with {REDACTED}"}
    assert KEY.encode() not in path.read_bytes()


def test_a_put_names_the_first_column_that_is_not_json(tmp_path: Path) -> None:
    with SqliteStateStore.open(tmp_path / "state.db") as store:
        with pytest.raises(StateError, match="FineTune/money-rain: observed is not JSON data"):
            store.put(make_record(observed={"x": object()}, outputs={"y": object()}), event="created")
        with pytest.raises(StateError, match="FineTune/money-rain: event detail is not JSON data"):
            store.put(make_record(), event="created", detail={"x": object()})
        entry = store.journal_open("FineTune/money-rain", "create", "p", {"a": 1}, {"f": 1})
        with pytest.raises(StateError, match=f"journal entry {entry}: result is not JSON data"):
            store.put(make_record(), event="created", close_journal=(entry, "done", {"x": object()}))
        with pytest.raises(StateError, match="journal fingerprint is not JSON data"):
            store.journal_open("FineTune/money-rain", "create", "p", {"a": 1}, {"f": object()})
        assert store.get("FineTune/money-rain") is None  # nothing was written by the refused puts
        assert [e.id for e in store.open_journal()] == [entry]
