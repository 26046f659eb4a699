"""`Lab()` on a disk that refuses SQLite's writes says so in words, as the CLI does: which log,
what happened, that what was logged is kept, and the fix (free space, naming the folder), with
SQLite's own error chained under it. SQLite writes even to open a log: switching a new one to WAL,
a migration a newer qwenlab adds, the -shm file beside it. The errors here are SQLite's own, from
a real limit: a page cap (`PRAGMA max_page_count`: SQLite's SQLITE_FULL, as on a full disk) and a
file-size limit (RLIMIT_FSIZE: the -shm file cannot grow, SQLITE_IOERR_SHMSIZE, as on a full disk)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qwenlab import Lab
from qwenlab.errors import LogWriteError
from qwenlab.store.log import Log
from qwenlab.store.migrations.runner import MIGRATIONS, migrate

LAST = MIGRATIONS[-1].__name__


def _capped(monkeypatch: pytest.MonkeyPatch, path: Path, pages: int | None) -> None:
    """Connections to `path` can hold at most `pages` pages (None: as many as it has now): a disk
    with no room for one more."""
    connect = sqlite3.connect

    def capped(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        conn = connect(database, *args, **kwargs)  # type: ignore[arg-type]
        if str(database) == str(path):
            cap = pages if pages is not None else conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(cap, 1)}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", capped)


def test_a_new_log_on_a_full_disk_says_it_in_words(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_dir / "qwenlab.db"
    _capped(monkeypatch, path, 1)
    with pytest.raises(LogWriteError) as err:
        Lab(data_dir)
    message = str(err.value)
    assert f"the log {path} could not be opened (database or disk is full)" in message
    assert "the disk that holds it is full" in message and "Nothing already logged was lost" in message
    assert f"free space on the disk at {data_dir} (" in message and "MB free there)" in message
    cause = err.value.__cause__  # SQLite's own error, kept for whoever needs it
    assert isinstance(cause, sqlite3.OperationalError) and cause.sqlite_errorname == "SQLITE_FULL"


def test_a_log_a_new_migration_finds_no_room_for_keeps_what_it_holds(data_dir: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # a log written by the qwenlab before the last migration that needs room (m018 makes a table;
    # m019 only rewrites the status of old budget stops, none here), with an experiment in it
    path = data_dir / "qwenlab.db"
    older = Log(path, migrate_schema=False)
    migrate(older.db, until="m017_cost_sources")
    older.ensure_experiment("kept", sweep_json="{}")
    older.close()
    _capped(monkeypatch, path, None)  # the disk filled up since
    with pytest.raises(LogWriteError, match="Nothing already logged was lost") as err:
        Lab(data_dir)
    assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    monkeypatch.undo()  # room again: the log opens, migrated, and what it held is there
    with Log(path) as log:
        assert log.experiment("kept") is not None and log.migrations()[-1] == LAST
        assert log.integrity_check() == "ok"


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("free", [0, None])
def test_a_log_whose_shm_file_cannot_grow_says_so(data_dir: Path, free: int | None) -> None:
    # in a process of its own: the file-size limit holds for the whole process. `free`: what the
    # disk says it has left (0: full, as it is when SQLite cannot grow a file there); None: as it is
    code = textwrap.dedent(f"""
        import resource, shutil, signal, sqlite3
        from collections import namedtuple
        from qwenlab import Lab
        from qwenlab.errors import LogWriteError
        if {free!r} is not None:
            shutil.disk_usage = lambda path: namedtuple("usage", "total used free")(10**9, 10**9, {free!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            Lab({str(data_dir)!r})
        except LogWriteError as exc:
            print(exc.__cause__.sqlite_errorname)
            print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name, message = done.stdout.split("\n", 1)
    assert name.startswith("SQLITE_IOERR")
    assert f"the log {data_dir / 'qwenlab.db'} could not be opened (disk I/O error)" in message
    if free == 0:
        assert "the disk that holds it is full" in message and "Nothing already logged was lost" in message
        assert f"free space on the disk at {data_dir} (0.0 MB free there)" in message
    else:  # room on the disk: said as it is, not called full
        assert "full" not in message and f"check your quota on the disk at {data_dir}" in message
