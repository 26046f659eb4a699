"""Switching a new SQLite file to write-ahead logging when another process opens it too.

Switching a new file to WAL takes it for a moment alone, and SQLite answers "database is locked"
at once (its busy wait does not cover this) when another process opens the same new file at that
instant: two notebooks, or a kernel and a `qwenlab` command, starting together on a new data
folder. The log (`store/log_file.py`) and the emulator's memory (`emulator/memory.py`) both open
files so; each waits and tries again rather than fail (the log) or run without memory (the
emulator, which then forgot the other's tasks and charged a taskUUID sent by both twice).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

__all__ = ["switch_to_wal"]


def switch_to_wal(switch: Callable[[], object], timeout_s: float) -> None:
    """Call `switch` (the statement that turns WAL on) until SQLite takes it, for at most
    `timeout_s` seconds while it answers "locked"; any other error at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            switch()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
