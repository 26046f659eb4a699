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

Where the read covers whole b-trees, or rows it can name beforehand, the pages themselves are
better hints than queries: `trees` (the names of indexes or tables read whole) and `rows` (a table
and a query giving the rowids read) are found in the file's b-trees (`qwenlab.store.page_map`) and
asked of the OS all at once, in file order, which reads them many at a time: on the 1,000,000-task
benchmark log, the cost index's 44,000 leaves in 0.5 s against 1.4 s read by six threads.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from .page_map import PageMap, PageMapError

__all__ = ["Prefetch", "RowsHint", "PAGE_HINTS", "PREFETCH_MIN_BYTES", "PREFETCH_THREADS"]

# (table, SQL giving the rowids of that table's rows a read will touch, its parameters). The SQL
# should be answered from an index alone: a query that reads the rows would warm nothing.
RowsHint = tuple[str, str, Sequence[Any]]

# Below this a cold read of the whole file takes well under a second: a prefetch would only add
# its threads and connections to the read.
PREFETCH_MIN_BYTES: float = 256 << 20
# Reads at once beside the caller's own: 6 took the cold `timeline()` from 5.2 s to 1.7 s and
# `failed()` from 4.3 s to 1.5 s (4 did worse, 8 and 12 no better on `timeline()`); when the pages
# are warm, the threads cost the caller about 0.08 s, since SQLite runs them without Python's lock
# on the other core.
PREFETCH_THREADS = 6
# Page hints need posix_fadvise (Linux, the BSDs; not macOS or Windows): without it they are not given
PAGE_HINTS = hasattr(os, "posix_fadvise")


class Prefetch:
    """A context manager that runs `queries` (SQL, parameters) in background threads on their own
    read-only connections to the SQLite file at `path`, while its block reads the same pages, and
    asks the OS for the pages of `trees` (b-trees by name, every leaf) and `rows` (`RowsHint`s).
    Nothing happens for an in-memory log or a file under `min_bytes` (PREFETCH_MIN_BYTES)."""

    def __init__(self, path: Path | str | None, queries: Sequence[tuple[str, Sequence[Any]]], *,
                 trees: Sequence[str] = (), rows: Sequence[RowsHint] = (),
                 threads: int = PREFETCH_THREADS, min_bytes: float | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.queries = list(queries)
        self.trees = list(trees) if PAGE_HINTS else []
        self.rows = list(rows) if PAGE_HINTS else []
        self.threads = threads
        # read when made: a benchmark sets PREFETCH_MIN_BYTES = math.inf for its baseline without
        self.min_bytes = PREFETCH_MIN_BYTES if min_bytes is None else min_bytes
        self.completed = 0  # queries (and the page hints, as one) that ran to their end (for tests and benchmarks)
        self.pages_warmed = 0  # pages asked of the OS for `trees` and `rows` (for tests and benchmarks)
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[sqlite3.Connection] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def __repr__(self) -> str:
        return (f"Prefetch({str(self.path)!r}, {len(self.queries)} queries, {len(self.trees) + len(self.rows)} page hints, "
                f"completed={self.completed})")

    def _worthwhile(self) -> bool:
        if self.path is None or not (self.queries or self.trees or self.rows):
            return False
        try:
            return self.path.stat().st_size >= self.min_bytes
        except OSError:
            return False

    def __enter__(self) -> "Prefetch":
        if self._worthwhile():
            hints = 1 if self.trees or self.rows else 0
            self._executor = ThreadPoolExecutor(max(1, min(self.threads, len(self.queries) + hints)),
                                                thread_name_prefix="qwenlab-prefetch", initializer=_lower_priority)
            uri = self.path.resolve().as_uri() + "?mode=ro"  # type: ignore[union-attr]
            if hints:
                self._executor.submit(self._warm_pages, uri)
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

    def _connect(self, uri: str) -> sqlite3.Connection | None:
        """A read-only connection the block's end can interrupt; None once it has ended."""
        with self._lock:
            if self._stopped:
                return None
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=1.0, check_same_thread=False)
            except sqlite3.Error:
                return None
            self._running.add(conn)
            return conn

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._running.discard(conn)
        conn.close()

    def _run(self, uri: str, sql: str, params: list[Any]) -> None:
        conn = self._connect(uri)
        if conn is None:
            return
        try:
            conn.execute(sql, params).fetchall()
            with self._lock:
                self.completed += 1
        except sqlite3.Error:
            pass  # a hint only: an interrupted, locked or failing prefetch changes nothing but the time
        finally:
            self._release(conn)

    def _warm_pages(self, uri: str) -> None:
        """Asks the OS for the leaves of `trees` and the table pages of `rows`, found in the file
        (`PageMap`): the interior pages first, level by level, then every leaf at once."""
        conn = self._connect(uri)
        if conn is None:
            return
        try:
            names = [*self.trees, *(table for table, _, _ in self.rows)]
            marks = ",".join("?" * len(names))
            roots = dict(conn.execute(f"SELECT name, rootpage FROM sqlite_master WHERE name IN ({marks})", names).fetchall())
            with PageMap(self.path) as pages:  # type: ignore[arg-type]
                leaves = [page for name in self.trees if roots.get(name) for page in pages.leaves(roots[name])]
                pages.warm(leaves)  # the trees first: their reads run while the rowids are looked up
                found = list(leaves)
                for table, sql, params in self.rows:
                    if self._stopped or not roots.get(table):
                        continue
                    rowids = [row[0] for row in conn.execute(sql, list(params))]
                    rows = pages.leaves_of_rowids(roots[table], rowids)
                    pages.warm(rows)
                    found += rows
            with self._lock:
                self.pages_warmed += len(set(found))
                self.completed += 1
        except (sqlite3.Error, OSError, PageMapError, ValueError, IndexError):
            pass  # a hint only, as above (a page changed mid-read parses as anything)
        finally:
            self._release(conn)


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
