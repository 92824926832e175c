"""A state that can no longer be written stops the whole apply, and the next run loses nothing.

Why: with a shared PostgreSQL state the database can go away mid-apply (a restart, a dropped
connection — and with it the apply lock). Nothing may then be sent to a provider that could not
be recorded: the apply stops at the first failed write with the store's one-line error, and the
next run settles what was sent from the journal. Here the store is the real SQLite store behind a
wrapper that fails from one write on, as a lost database would; tests/engine/test_postgres_apply.py
does it against a real PostgreSQL server that restarts.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.models.state import ResourceRecord
from reconciler.state.interface import StateError, StateStore
from reconciler.workspace import Workspace

LOST = "lost the connection to the state database (test): run the command again"


class LosesTheDatabase:
    """The real store, until the dataset's record is written: from then on every write fails."""

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self.lost = False
        self.writes_refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _refuse(self) -> None:
        self.writes_refused += 1
        raise StateError(LOST)

    def put(self, record: ResourceRecord, **kwargs: Any) -> int:
        if self.lost or (record.kind == "Dataset" and kwargs.get("event") == "created"):
            self.lost = True
            self._refuse()
        return self.inner.put(record, **kwargs)

    def put_many(self, *args: Any, **kwargs: Any) -> int:
        if self.lost:
            self._refuse()
        return self.inner.put_many(*args, **kwargs)

    def journal_open(self, *args: Any, **kwargs: Any) -> int:
        if self.lost:
            self._refuse()
        return self.inner.journal_open(*args, **kwargs)

    def journal_close(self, *args: Any, **kwargs: Any) -> None:
        if self.lost:
            self._refuse()
        self.inner.journal_close(*args, **kwargs)


def test_a_failed_state_write_stops_the_apply_and_the_next_run_resumes(make_env, monkeypatch) -> None:
    env = make_env()
    wrappers: list[LosesTheDatabase] = []
    real_open = Workspace.open_state

    def failing_open(self: Workspace, *, readonly: bool) -> StateStore:
        store = real_open(self, readonly=readonly)
        if readonly:
            return store
        wrapper = LosesTheDatabase(store)
        wrappers.append(wrapper)
        return wrapper  # type: ignore[return-value]

    monkeypatch.setattr(Workspace, "open_state", failing_open)
    with pytest.raises(StateError, match="lost the connection to the state database"):
        env.workspace().apply()
    counts = env.sandbox.request_counts()
    assert counts.get("POST /compatible-mode/v1/files") == 1  # the upload that could not be recorded…
    assert counts.get("POST /api/v1/fine-tunes", 0) == 0  # …and nothing after it was sent
    monkeypatch.undo()

    store = env.workspace().open_state(readonly=True)
    try:
        assert store.get("Dataset/money-rain-train") is None
        assert [e.address for e in store.open_journal()] == [
            "Dataset/money-rain-train"
        ]  # what was sent is known
    finally:
        store.close()

    plan, result = env.workspace().apply()
    assert result is not None and result.ok, result
    assert not env.workspace().plan().has_changes
    counts = env.sandbox.request_counts()
    assert counts.get("POST /compatible-mode/v1/files") == 1  # the first upload was adopted, not repeated
    assert counts.get("POST /api/v1/fine-tunes") == 1
    assert len(env.live("files")) == 1
