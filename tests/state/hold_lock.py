"""Run as a script by the lock tests: take the apply lock of a state, print its LockInfo, hold it.

Usage: python hold_lock.py STATE_PATH OPERATION
Holds until stdin closes (or the process is killed), then releases and exits.
"""

from __future__ import annotations

import json
import sys

from reconciler.state.sqlite import SqliteStateStore

if __name__ == "__main__":
    store = SqliteStateStore.open(sys.argv[1])
    with store.lock(sys.argv[2]) as info:
        print(json.dumps(info.to_dict()), flush=True)
        sys.stdin.read()
    store.close()
