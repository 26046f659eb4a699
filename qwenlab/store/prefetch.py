"""Warming the OS's cache of a big log's pages from background threads, while a read goes on.

SQLite reads one page at a time. A read of a million rows whose pages are cold (the OS let them go
since: the log was opened in a new session, or a gigabyte of images passed through meanwhile) waits
for each page in turn, and the pages of an index lie scattered among the table's: on this project's
machine that is 12,600 reads a second alone, 47,000 with eight at once. `Costs.timeline()` on the
1,000,000-task benchmark log took 5.2 s cold for 1.1 s warm; `failed()` 4.3 s for 0.3 s.

    with Prefetch(log.path, [(sql, params), ...]):
        rows = log.columns(big_sql)

Each query (an aggregate that touches the pages the big read will: `count(x)` of the columns it
reads, restricted to one part of it, such as one experiment) runs on a read-only connection of its
own in one of a few threads, in the order given, so the threads stay ahead of a read that goes the
same way. The queries return nothing to anyone: a prefetch is a hint, and an error in one (a
locked or vanished file, an interrupt) is dropped. Leaving the block interrupts those still running.

It pays for a read of part of a big file (an index, rows scattered through the table). A read of
every row of the table would do its work twice: warm, `Costs.tasks()` took 0.6 to 1.5 s more.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

__all__ = ["Prefetch", "PREFETCH_MIN_BYTES", "PREFETCH_THREADS"]

# Below this a cold read of the whole file takes well under a second: a prefetch would only add
# its threads and connections to the read.
PREFETCH_MIN_BYTES: float = 256 << 20
# Reads at once beside the caller's own: 6 took the cold `timeline()` from 5.2 s to 1.7 s and
# `failed()` from 4.3 s to 1.5 s (4 did worse, 8 and 12 no better on `timeline()`); when the pages
# are warm, the threads cost the caller about 0.08 s, since SQLite runs them without Python's lock
# on the other core.
PREFETCH_THREADS = 6


class Prefetch:
    """A context manager that runs `queries` (SQL, parameters) in background threads on their own
    read-only connections to the SQLite file at `path`, while its block reads the same pages.
    Nothing happens for an in-memory log or a file under `min_bytes` (PREFETCH_MIN_BYTES)."""

    def __init__(self, path: Path | str | None, queries: Sequence[tuple[str, Sequence[Any]]], *,
                 threads: int = PREFETCH_THREADS, min_bytes: float | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.queries = list(queries)
        self.threads = threads
        # read when made: a benchmark sets PREFETCH_MIN_BYTES = math.inf for its baseline without
        self.min_bytes = PREFETCH_MIN_BYTES if min_bytes is None else min_bytes
        self.completed = 0  # queries that ran to their end (for tests and benchmarks)
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[sqlite3.Connection] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def __repr__(self) -> str:
        return f"Prefetch({str(self.path)!r}, {len(self.queries)} queries, completed={self.completed})"

    def _worthwhile(self) -> bool:
        if self.path is None or not self.queries:
            return False
        try:
            return self.path.stat().st_size >= self.min_bytes
        except OSError:
            return False

    def __enter__(self) -> "Prefetch":
        if self._worthwhile():
            self._executor = ThreadPoolExecutor(min(self.threads, len(self.queries)), thread_name_prefix="qwenlab-prefetch",
                                                initializer=_lower_priority)
            uri = self.path.resolve().as_uri() + "?mode=ro"  # type: ignore[union-attr]
            for sql, params in self.queries:
                self._executor.submit(self._run, uri, sql, list(params))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is None:
            return
        with self._lock:
            self._stopped = True
            for conn in self._running:
                conn.interrupt()  # thread-safe in SQLite: the query stops at its next step
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def _run(self, uri: str, sql: str, params: list[Any]) -> None:
        with self._lock:
            if self._stopped:
                return
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=1.0, check_same_thread=False)
            except sqlite3.Error:
                return
            self._running.add(conn)
        try:
            conn.execute(sql, params).fetchall()
            with self._lock:
                self.completed += 1
        except sqlite3.Error:
            pass  # a hint only: an interrupted, locked or failing prefetch changes nothing but the time
        finally:
            with self._lock:
                self._running.discard(conn)
            conn.close()


def _lower_priority() -> None:
    """This thread yields the CPU to the caller's (Linux: a thread has a nice value of its own);
    once per thread, as it starts.
    When the pages are warm already, the prefetch only competes with the read it serves."""
    # Linux only: there a thread's native id is a task id setpriority takes; elsewhere it is not
    # a process id, and could name another process
    if sys.platform.startswith("linux"):
        try:
            me = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, me, min(os.getpriority(os.PRIO_PROCESS, me) + 10, 19))  # 10 lower, never higher
        except OSError:
            pass
