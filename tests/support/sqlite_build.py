"""What the SQLite this Python links was built with, for tests that read its own account of a
file's pages (the `dbstat` table: SQLITE_ENABLE_DBSTAT_VTAB, on in python.org's and most distros'
builds) as the truth a page walk is checked against."""

from __future__ import annotations

import sqlite3

import pytest


def _has_dbstat() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT count(*) FROM dbstat").fetchone()
        return True
    except sqlite3.Error:
        return False


HAS_DBSTAT = _has_dbstat()
needs_dbstat = pytest.mark.skipif(not HAS_DBSTAT, reason="this SQLite was built without the dbstat table, the test's truth")
