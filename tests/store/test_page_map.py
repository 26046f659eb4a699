"""The pages of a SQLite file's b-trees, found from their interior pages: what a cold log's big
reads ask of the OS at once. Checked against SQLite's own account of its pages (`dbstat`) and
against each leaf's rowids, read here by a plain reading of the file format."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pytest

from qwenlab.store.page_map import PageMap, PageMapError, page_ranges
from tests.support.sqlite_build import needs_dbstat


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """One varint and the offset after it: the file format's definition, a byte at a time."""
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _rowids_on(path: Path, page: int, page_size: int) -> set[int]:
    """The rowids of a table leaf page (kind 13), as signed 64-bit numbers."""
    with open(path, "rb") as f:
        f.seek((page - 1) * page_size)
        data = f.read(page_size)
    head = 100 if page == 1 else 0
    assert data[head] == 13, f"page {page} is no table leaf"
    cells = int.from_bytes(data[head + 3:head + 5], "big")
    out = set()
    for k in range(cells):
        offset = int.from_bytes(data[head + 8 + 2 * k:head + 10 + 2 * k], "big")
        _, at = _varint(data, offset)  # the payload's size
        rowid, _ = _varint(data, at)
        out.add(rowid - (1 << 64) if rowid >= 1 << 63 else rowid)
    return out


def _leaves(conn: sqlite3.Connection, name: str) -> list[int]:
    """SQLite's own list of a b-tree's leaves, in the order it walks them (key order)."""
    return [p for p, in conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
                                      [name])]


def _root(conn: sqlite3.Connection, name: str) -> int:
    return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Small pages, so that a few thousand rows make b-trees three and four levels deep, with the
    rows' texts of random length (leaves of different fill) and an index beside them."""
    path = tmp_path / "log.db"
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 512")
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, experiment_id INTEGER, status TEXT, note TEXT)")
    conn.execute("CREATE INDEX idx_status ON tasks (experiment_id, status, note)")
    rows = [(i, rng.randrange(5), rng.choice(["done", "failed", "sent"]), "x" * rng.randrange(1, 120))
            for i in range(1, 6001)]
    conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?)", rows)
    conn.execute("DELETE FROM tasks WHERE id % 7 = 0")  # gaps in the rowids, half-empty pages
    conn.commit()
    conn.close()
    return path


@needs_dbstat
def test_every_leaf_of_a_table_and_of_an_index_in_key_order(db: Path) -> None:
    conn = sqlite3.connect(db)
    with PageMap(db) as pages:
        assert pages.page_size == 512
        for name in ("tasks", "idx_status"):
            found = pages.leaves(_root(conn, name))
            assert found == _leaves(conn, name)
            assert len(found) > 50  # deep enough to have levels of interior pages


@needs_dbstat
def test_the_leaves_holding_some_rows_are_those_pages_and_no_others(db: Path) -> None:
    conn = sqlite3.connect(db)
    root = _root(conn, "tasks")
    every = [r for r, in conn.execute("SELECT id FROM tasks")]
    rng = random.Random(3)
    with PageMap(db) as pages:
        for wanted in ([every[0]], [every[-1]], every[:5], rng.sample(every, 40), rng.sample(every, 900), every):
            found = pages.leaves_of_rowids(root, reversed(wanted))  # any order, and numpy's ints or Python's
            held = {page: _rowids_on(db, page, 512) for page in found}
            assert set(wanted) <= set().union(*held.values())  # every row is on a page found
            assert all(rows & set(wanted) for rows in held.values())  # and every page found holds one
            assert found == sorted(set(found), key=found.index)  # each page once
        assert pages.leaves_of_rowids(root, []) == []
        # rows the table does not hold lead to the leaf their rowid would be on, nothing more
        assert set(pages.leaves_of_rowids(root, [7, 10**9])) <= set(_leaves(conn, "tasks"))


@needs_dbstat
def test_rowids_of_every_size_are_found(tmp_path: Path) -> None:
    """Rowids are signed 64-bit numbers, 1 to 9 bytes in the file: a negative one takes all 9."""
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 512")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    ids = sorted({*range(-300, 300), 2**31, 2**40 + 5, 2**56 - 1, 2**56, 2**62, 2**63 - 1, -(2**63), -(2**40)}
                 | {random.Random(1).randrange(-(2**63), 2**63) for _ in range(400)})
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "y" * 40) for i in ids])
    conn.commit()
    root = _root(conn, "t")
    with PageMap(path) as pages:
        for wanted in ([2**63 - 1], [-(2**63)], [2**56 - 1, 2**56], ids[::37], ids):
            found = pages.leaves_of_rowids(root, wanted)
            assert set(wanted) <= set().union(*(_rowids_on(path, p, 512) for p in found))


@needs_dbstat
def test_a_b_tree_on_page_1_and_one_of_a_single_page(tmp_path: Path) -> None:
    """Page 1 holds the schema's b-tree behind the file's 100-byte header; a small table is one
    page, its root and only leaf."""
    path = tmp_path / "many.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 512")
    for i in range(60):
        conn.execute(f"CREATE TABLE table_with_a_long_name_{i} (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT)")
    conn.execute("INSERT INTO table_with_a_long_name_3 VALUES (1, 'a', 'b', 'c')")
    conn.commit()
    with PageMap(path) as pages:
        assert pages.leaves(1) == _leaves(conn, "sqlite_schema") and len(pages.leaves(1)) > 1
        root = _root(conn, "table_with_a_long_name_3")
        assert pages.leaves(root) == [root]
        assert pages.leaves_of_rowids(root, [1]) == [root]


def test_warming_asks_for_runs_of_adjacent_pages(db: Path) -> None:
    assert page_ranges([9, 3, 4, 5, 9, 12, 1]) == [(1, 1), (3, 3), (9, 1), (12, 1)]
    assert page_ranges([]) == []
    with PageMap(db) as pages:
        expected = 2 if hasattr(os, "posix_fadvise") else 0
        assert pages.warm([4, 5, 6, 10]) == expected


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, but long enough to have a header of a hundred bytes. " * 3)
    with pytest.raises(PageMapError, match="not a SQLite database"):
        PageMap(path)
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(PageMapError):
        PageMap(tmp_path / "empty.db")


@needs_dbstat
def test_a_damaged_or_changed_file_gives_fewer_pages_never_an_error(db: Path) -> None:
    """What the walk finds is a hint: pages overwritten, a root that is no b-tree page, or a
    file cut short give what can be found."""
    conn = sqlite3.connect(db)
    root = _root(conn, "tasks")
    leaves = _leaves(conn, "tasks")
    interior = [p for p, in conn.execute("SELECT pageno FROM dbstat WHERE name = 'tasks' AND pagetype = 'internal'")]
    conn.close()
    with PageMap(db) as pages:
        assert pages.leaves(leaves[3]) == [leaves[3]]  # a leaf given as the root: itself
    data = bytearray(db.read_bytes())
    rng = random.Random(5)
    for page in rng.sample([p for p in interior if p != root], 3):
        data[(page - 1) * 512:page * 512] = bytes(rng.randrange(256) for _ in range(512))  # garbage
    db.write_bytes(bytes(data))
    with PageMap(db) as pages:
        found = pages.leaves(root)
        assert found and len(found) < len(leaves)
        assert all(1 <= p <= pages.page_count for p in found)
        pages.leaves_of_rowids(root, range(1, 6000))  # no error
    db.write_bytes(bytes(data[:len(data) // 3]))  # cut short: children past the end
    with PageMap(db) as pages:
        assert all(1 <= p <= pages.page_count for p in pages.leaves(root))
        assert all(1 <= p <= pages.page_count for p in pages.leaves_of_rowids(root, range(1, 6000)))


@needs_dbstat
def test_a_log_with_changes_still_in_its_write_ahead_file(db: Path) -> None:
    """The walk reads the main file; changes not yet copied back from the WAL only make the hint
    less exact, and the file is never written."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.executemany("INSERT INTO tasks VALUES (?, 1, 'done', ?)", [(i, "z" * 90) for i in range(7000, 9000)])
    conn.commit()
    before = db.read_bytes()
    with PageMap(db) as pages:
        found = pages.leaves(_root(conn, "tasks"))
        assert found and all(1 <= p <= pages.page_count for p in found)
    assert db.read_bytes() == before


def test_cells_pointing_past_their_page_are_dropped(db: Path) -> None:
    """An interior page whose cell offsets say 65,000 (in a 512-byte page) gives no children."""
    conn = sqlite3.connect(db)
    root = _root(conn, "tasks")
    conn.close()
    data = bytearray(db.read_bytes())
    start = (root - 1) * 512
    assert data[start] == 5  # an interior table page
    cells = int.from_bytes(data[start + 3:start + 5], "big")
    data[start + 12:start + 12 + 2 * cells] = b"\xfd\xe8" * cells
    db.write_bytes(bytes(data))
    with PageMap(db) as pages:
        assert pages.leaves(root) == []
        assert pages.leaves_of_rowids(root, [1, 2, 3]) == []
