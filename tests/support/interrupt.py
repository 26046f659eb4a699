"""Ctrl-C in the middle of a run, for the tests that check what a run leaves when interrupted."""

from __future__ import annotations

import _thread
import sqlite3
import threading
import time
from pathlib import Path


def statuses(db: Path) -> dict[str, int]:
    """Task counts by status in the log at `db`, read-only ({} before there is one)."""
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return dict(conn.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())
        except sqlite3.OperationalError:  # not created yet
            return {}


def ctrl_c_when_sent(db: Path, count: int = 2, timeout: float = 30) -> threading.Thread:
    """Start a thread that interrupts the main thread (as Ctrl-C does) once `count` tasks of the
    log at `db` are 'sent' (in flight)."""

    def press() -> None:
        deadline = time.monotonic() + timeout
        while statuses(db).get("sent", 0) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        _thread.interrupt_main()

    thread = threading.Thread(target=press)
    thread.start()
    return thread


def join_run_threads(timeout: float = 10) -> None:
    """Wait for the run's workers: the requests in flight when it was interrupted finish and are logged."""
    for t in threading.enumerate():
        if t.name.startswith("qwenlab-run"):
            t.join(timeout=timeout)
