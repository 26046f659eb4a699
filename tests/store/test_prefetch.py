"""The prefetch that warms a big log's pages from background threads while a summary reads them:
it runs its queries, never writes, never raises, and stops when the read is over."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from qwenlab.store import prefetch
from qwenlab.store.prefetch import Prefetch
from tests.support.sqlite_build import needs_dbstat

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, experiment_id INTEGER, v TEXT)")
        conn.executemany("INSERT INTO t (experiment_id, v) VALUES (?, ?)", [(i % 4, "x" * 50) for i in range(2000)])
    return path


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("qwenlab-prefetch")]


def test_every_query_runs_on_a_file_log(db: Path) -> None:
    queries = [("SELECT count(v) FROM t WHERE experiment_id IS ?", [i]) for i in range(4)]
    with Prefetch(db, queries, min_bytes=0) as p:
        deadline = time.monotonic() + 10
        while p.completed < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert p.completed == 4
    assert not _prefetch_threads()


def test_nothing_runs_for_a_small_file_or_a_log_in_memory(db: Path) -> None:
    queries = [("SELECT count(v) FROM t", [])]
    for path in (db, None):  # the file is far under the default threshold
        with Prefetch(path, queries) as p:
            assert not _prefetch_threads()
        assert p.completed == 0


def test_the_threshold_is_read_when_a_prefetch_is_made(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the benchmark's `no prefetch` baseline relies on."""
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 0)
    with Prefetch(db, [("SELECT count(v) FROM t", [])]) as p:
        pass
    assert p.min_bytes == 0
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", float("inf"))
    assert Prefetch(db, []).min_bytes == float("inf")


def test_leaving_the_block_stops_a_query_still_running(db: Path) -> None:
    made: list[Prefetch] = []

    def read() -> None:
        with Prefetch(db, [(FOREVER, [])] * 3, min_bytes=0) as p:
            time.sleep(0.2)  # the queries are under way
        made.append(p)

    reader = threading.Thread(target=read, daemon=True)  # a prefetch that never stops fails here, not hangs
    reader.start()
    reader.join(5.0)
    assert not reader.is_alive(), "leaving the block did not stop the prefetch's queries"
    assert made[0].completed == 0
    assert not _prefetch_threads()


def test_a_failing_query_is_dropped_and_the_others_run(db: Path) -> None:
    queries = [("SELECT count(*) FROM no_such_table", []), ("SELECT count(v) FROM t", []), ("not sql", [])]
    with Prefetch(db, queries, threads=1, min_bytes=0) as p:
        deadline = time.monotonic() + 10
        while p.completed < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert p.completed == 1


def test_a_prefetch_cannot_write(db: Path) -> None:
    with Prefetch(db, [("DELETE FROM t", [])], min_bytes=0) as p:
        time.sleep(0.2)
    assert p.completed == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2000


def test_a_file_gone_meanwhile_changes_nothing(tmp_path: Path) -> None:
    with Prefetch(tmp_path / "gone.db", [("SELECT 1", [])], min_bytes=0) as p:
        pass
    assert p.completed == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is a Linux feature")
def test_the_prefetch_threads_yield_the_cpu(db: Path) -> None:
    """Warm pages make the prefetch useless: then it must not slow the read it serves."""
    seen: list[int] = []

    def record() -> None:
        prefetch._lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=record)
    thread.start()
    thread.join()
    assert seen == [min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is a Linux feature")
def test_each_prefetch_thread_is_lowered_once_however_many_queries_it_runs(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(prefetch, "_lower_priority", lambda: calls.append(threading.get_native_id()))
    queries = [("SELECT count(v) FROM t WHERE experiment_id IS ?", [i % 4]) for i in range(12)]
    with Prefetch(db, queries, threads=2, min_bytes=0) as p:
        deadline = time.monotonic() + 10
        while p.completed < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert p.completed == 12
    assert len(calls) == len(set(calls)) <= 2


def _wait(p: Prefetch, jobs: int) -> None:
    deadline = time.monotonic() + 10
    while p.completed < jobs and time.monotonic() < deadline:
        time.sleep(0.01)


def _leaf_pages(db: Path, name: str) -> set[int]:
    with sqlite3.connect(db) as conn:
        return {p for p, in conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", [name])}


@needs_dbstat
def test_page_hints_ask_for_every_leaf_of_the_trees_and_the_pages_of_the_rows(db: Path) -> None:
    """A read of a whole index, or of rows it can name, asks for their pages all at once."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE INDEX idx_t_v ON t (experiment_id, v)")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the hints read the main file, not the WAL's newer pages
    index, table = _leaf_pages(db, "idx_t_v"), _leaf_pages(db, "t")
    with Prefetch(db, [], trees=["idx_t_v"], min_bytes=0) as p:
        _wait(p, 1)
    assert (p.completed, p.pages_warmed) == (1, len(index))
    with Prefetch(db, [], rows=[("t", "SELECT id FROM t WHERE id IN (1, 2000)", [])], min_bytes=0) as p:
        _wait(p, 1)
    assert p.pages_warmed == 2  # the first row's page and the last's
    with Prefetch(db, [], trees=["t"], rows=[("t", "SELECT id FROM t", [])], min_bytes=0) as p:
        _wait(p, 1)
    assert p.pages_warmed == len(table)  # each page once


def test_page_hints_of_no_such_tree_or_a_failing_query_change_nothing(db: Path) -> None:
    with Prefetch(db, [], trees=["no_such_index"], rows=[("t", "not sql", [])], min_bytes=0) as p:
        time.sleep(0.2)
    assert p.pages_warmed == 0 and not _prefetch_threads()
    with Prefetch(db, [], rows=[("no_such_table", "SELECT 1", [])], min_bytes=0) as p:
        _wait(p, 1)
    assert p.pages_warmed == 0
    with Prefetch(db, [], trees=["t"]) as p:  # a small file: nothing at all
        assert not _prefetch_threads()
    assert p.completed == 0
