"""Concurrent writers — worker threads of one apply, and separate processes — keep the serial consistent."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from state_fixtures import make_record

from reconciler.state.sqlite import SqliteStateStore

WRITER = """
import sys
from reconciler.state.sqlite import SqliteStateStore
from reconciler.models.state import ResourceRecord
store = SqliteStateStore.open(sys.argv[1])
for i in range(int(sys.argv[3])):
    store.put(ResourceRecord(address=f"Dataset/{sys.argv[2]}-{i}", kind="Dataset", name=f"{sys.argv[2]}-{i}",
              provider="p", provider_type="dashscope", remote_id=None, spec={"i": i}, spec_hash="h"), event="create")
store.close()
"""


def test_threads_share_one_store_without_losing_a_write(store: SqliteStateStore) -> None:
    threads, per_thread = 8, 40
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                record = make_record(f"t{t}-{i}")
                store.put(record, event="create")
                entry = store.journal_open(record.address, "create", "p", {"i": i}, {"t": t})
                record.status = "RUNNING"
                store.put(record, event="refresh")
                store.journal_close(entry, "done", result={"ok": True})
                store.get(record.address)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    assert len(store.all()) == total
    assert store.meta().serial == 2 * total
    assert len(store.events(limit=10 * total)) == 2 * total
    assert store.open_journal() == []


def test_separate_processes_writing_at_once_keep_every_serial_bump(
    store: SqliteStateStore, state_path: Path
) -> None:
    count = 150
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(state_path), name, str(count)])
        for name in ("a", "b")
    ]
    for name in range(count // 3):  # and this process writes too
        store.put(make_record(f"main-{name}"), event="create")
    assert [p.wait(timeout=60) for p in processes] == [0, 0]
    assert len(store.all()) == 2 * count + count // 3
    assert store.meta().serial == 2 * count + count // 3
