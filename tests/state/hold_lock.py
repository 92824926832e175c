"""Run as a script by the lock tests: take the apply lock of a state, print its LockInfo, hold it.

Usage: python hold_lock.py STATE OPERATION [WORKSPACE]
STATE is a state file or a postgresql:// URL (then WORKSPACE names the workspace).
Holds until stdin closes (or the process is killed), then releases and exits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reconciler.state.locations import state_location
from reconciler.wiring import open_store

if __name__ == "__main__":
    workspace = sys.argv[3] if len(sys.argv) > 3 else None
    store = open_store(
        state_location(sys.argv[1], manifest_root=Path.cwd(), workspace=workspace), readonly=False
    )
    with store.lock(sys.argv[2]) as info:
        print(json.dumps(info.to_dict()), flush=True)
        sys.stdin.read()
    store.close()
