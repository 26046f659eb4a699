"""The log's SQLite file: opened, refused when it is another program's, and read and written safely.

`LogFile` is what every part of the log goes through: it opens the file (`Log()` opens
`<data>/qwenlab.db`), refuses one that holds another program's tables, switches it to WAL mode and
applies the migrations of `qwenlab.store.migrations`. In WAL mode Datasette
(`datasette data/qwenlab.db`) and a second process can read the file while a sweep writes, and
two processes may write to it (each write waits up to `BUSY_TIMEOUT_S`).

Writes go through one lock per file (threads of a sweep share the connection) and run in
`BEGIN IMMEDIATE` transactions (`transaction`), so a task row and its images land together or
not at all. Reads come as rows (dicts), DataFrames or, for a million rows, plain columns.
`log_advice`, `write_failure` and `open_failure` say what to do when SQLite refuses the file.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import LogWriteError, NotALogError, QwenlabError
from ..paths import db_path
from ..wal import switch_to_wal
from .migrations.runner import MIGRATIONS_TABLE, migrate

if TYPE_CHECKING:
    import pandas as pd
    import sqlite_utils  # imported when a Log opens: it pulls in pandas, too slow for `import qwenlab`

__all__ = ["LogFile", "BUSY_TIMEOUT_S", "log_advice", "damaged_log_advice", "write_failure", "open_failure"]

BUSY_TIMEOUT_S = 30.0
_FETCH_BATCH = 10_000  # rows per fetchmany() in LogFile.columns: its row tuples never pile up


def log_advice(exc: sqlite3.Error) -> str:
    """What to do about an error SQLite gave on the log, by its reason."""
    text = str(exc).lower()
    if "full" in text:
        return "free space on the disk that holds it"
    if "locked" in text or "busy" in text:
        # an older qwenlab upgrading the log holds it as long, and leaves no `.upgrading` marker to tell it apart
        return (f"another process held it for more than {BUSY_TIMEOUT_S:.0f} s (a run, a notebook or sqlite3 shell with "
                "a write left open, BEGIN without COMMIT?, or an older qwenlab upgrading the log): finish or close it, "
                "or let the upgrade end")
    if "malformed" in text:
        return damaged_log_advice()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return "make the file, its -wal and -shm files and their folder writable (SQLite writes beside it even to read)"
    return ("check that its disk is healthy and not full, and that the file and its folder can be written (SQLite "
            "writes beside it even to read)")


def damaged_log_advice(name: str = "qwenlab.db") -> str:
    """What to do with a log SQLite calls malformed: keep it, and recover what it holds. Never
    "start a new log": the damage is often one page, and every other row is still there."""
    return (f"the file is damaged, not lost: copy it, with its -wal and -shm files, somewhere safe before anything "
            f"else writes to it, then recover what it holds with "
            f"`sqlite3 {name} .recover | sqlite3 recovered.db` and use recovered.db as the log "
            f"(named {name} in a data folder)")


def write_failure(exc: sqlite3.Error, path: Path | None) -> LogWriteError:
    """What a write the log refused says: which file, SQLite's reason, and what to do about it."""
    return LogWriteError(f"the log {path or ':memory:'} could not be written ({exc}): {log_advice(exc)}, then run again. "
                         "What was logged stays, and cells sent before are asked about before anything is sent again")


# below this many bytes free, a disk SQLite calls failing is taken for a full one: a write it
# refused there was almost surely for want of room
_NEARLY_FULL = 1 << 20


def _disk_failure(exc: BaseException) -> bool:
    """Whether SQLite's `exc` is the disk's doing (full, or an I/O error writing beside the
    file), not the file's (damaged, another program's, busy, read-only)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    name = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc).lower()
    return name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR") or "disk is full" in text or "disk i/o error" in text


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def open_failure(exc: sqlite3.Error, path: Path) -> LogWriteError:
    """What opening the log on a disk that refused SQLite's writes says: what happened, that what
    was logged is kept, and the fix. Opening writes even to read: the -wal and -shm files beside
    the log, switching a new one to WAL, a migration a newer qwenlab adds."""
    folder = path.parent
    free = _free_bytes(folder)
    full = "full" in str(exc).lower() or (free is not None and free < _NEARLY_FULL)
    room = f" ({free / 1e6:.1f} MB free there)" if free is not None else ""
    if full:
        what = "the disk that holds it is full"
        kept = "Nothing already logged was lost: SQLite wrote no part of what it could not finish"
        fix = f"free space on the disk at {folder}{room}"
    else:
        what = "SQLite could not write beside it: the disk may be over your quota, or failing"
        kept = ("What was logged is as it was (SQLite wrote no part of what it could not finish), unless the disk itself "
                "is failing: `qwenlab verify` checks the log once it opens")
        fix = f"check your quota on the disk at {folder}{room} and that the disk is sound"
    return LogWriteError(f"the log {path} could not be opened ({exc}): {what}. {kept}. Fix: {fix}, then open it again")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection inside: a million row tuples coming from SQLite, each outliving a
    few collections of the youngest generation, start full collections of the whole heap over
    and over (the 950,000 rows of `Costs.timeline()` on the 1,000,000-task benchmark log are read
    in 0.76 s without, 1.5 s with). Rows of plain values hold no cycles to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """NotALogError (the connection closed) when the file holds tables but is no qwenlab log (it
    has no migrations table): migrating it added some 45 tables to another program's database,
    even from `qwenlab logs`, or failed half-way on a table of the same name."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if tables and MIGRATIONS_TABLE not in tables:
        conn.close()
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        raise NotALogError(f"{path} is not a qwenlab log: it holds another program's tables ({shown}), and nothing was "
                           "changed in it. Point QWENLAB_DATA_DIR at the folder holding your log, or move that file away "
                           "to start a new log there")


def _require_nested_transactions(sqlite_utils: Any) -> None:
    """QwenlabError before the file is opened when the installed sqlite-utils predates 4.0.

    The log's writes and its migrations run inside one `BEGIN IMMEDIATE` transaction, and they call
    sqlite-utils' table methods (`create`, `insert`, `enable_fts`) inside it. Before 4.0 (its
    `Database.atomic`, savepoints) each of those committed the transaction around it: a
    migration interrupted half-way was left applied but not recorded, and the log failed to open
    ever after ("table ... already exists"); a run stopped on "cannot commit - no transaction is
    active". pip keeps an older sqlite-utils already installed, so this is said plainly."""
    if not hasattr(sqlite_utils.Database, "atomic"):
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            version = installed("sqlite-utils")
        except PackageNotFoundError:
            version = "older than 4.0"
        raise QwenlabError(f"qwenlab needs sqlite-utils 4.0 or newer (installed: {version}): older ones commit in the "
                           "middle of the log's transactions, so a schema upgrade interrupted half-way could leave "
                           "the log unopenable. Nothing was opened or changed. Fix: install a newer one into the "
                           "Python that runs qwenlab (`python -m pip install 'sqlite-utils>=4'`), then open the log again")


class _ClosedDatabase:
    """What `LogFile.db` is once the log is closed: any use raises a QwenlabError naming the log
    and the fix. SQLite's own "Cannot operate on a closed database" named neither, in a notebook
    whose cell ran again after `lab.close()`."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def __getattr__(self, name: str) -> Any:
        where = f" at {self._path}" if self._path is not None else ""
        raise QwenlabError(f"the log{where} was closed (lab.close()): open it again with a new Lab (lab = Lab(...)), "
                           "and take experiments from it (lab.experiment(name)); nothing logged was lost")


class LogFile:
    """One SQLite file opened as the log: its connection (`db`), lock, write transactions and
    reads, and whether another connection has written to it since (`shared`). Thread-safe."""

    def __init__(self, path: str | Path | None = None, *, migrate_schema: bool = True) -> None:
        if path is None:

            path = db_path()
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        import sqlite_utils

        _require_nested_transactions(sqlite_utils)  # before the file is touched
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if self.path is not None and migrate_schema:
                _refuse_foreign(conn, self.path)  # before WAL and the schema change it
            conn.execute("PRAGMA foreign_keys = ON")
            if self.path is not None:
                switch_to_wal(self.db.enable_wal, BUSY_TIMEOUT_S)  # two notebooks opening a new log at once
                # WAL + NORMAL survives a killed process (only an OS crash can lose the last commit)
                conn.execute("PRAGMA synchronous = NORMAL")
            if migrate_schema:
                with self._lock:
                    migrate(self.db, path=self.path)
        except BaseException as exc:
            # A file refused (not a database, damaged, another program's, busy) is let go of now,
            # not when the error's traceback is: on Windows an open file cannot be deleted, and
            # the temporary folder of a damaged bundle's log failed to go, its PermissionError
            # hiding what was wrong with the bundle
            conn.close()
            if self.path is not None and _disk_failure(exc):
                # SQLite's bare "database or disk is full" / "disk I/O error" named no file and no
                # fix; SQLite's own error stays chained under it
                raise open_failure(exc, self.path) from exc  # type: ignore[arg-type]
            raise
        # another connection's commits (a second notebook or process on this log), as SQLite counts
        # them: once one is seen, a budget is checked against the log itself (`Log.mark_sent`)
        self._data_version = self._read_data_version()
        self.shared = False

    def close(self) -> None:
        """Close the connection. Using the log after it (a notebook cell run again after
        `lab.close()`) raises an error saying so and how to open it again; closing twice is
        harmless."""
        with self._lock:
            if isinstance(self.db, _ClosedDatabase):
                return
            self.db.close()
            self.db = _ClosedDatabase(self.path)  # type: ignore[assignment]

    @contextmanager
    def transaction(self) -> Iterator["sqlite_utils.Database"]:
        """One write transaction, taken immediately so two processes queue instead of failing.
        For the layers that keep tables of their own in the log (text scores); everything else
        writes through the methods below."""
        with self._lock:
            conn = self.db.conn
            try:
                # BEGIN inside the try: a Ctrl-C landing just after it must not leave the connection
                # in a transaction, where every later write would fail
                conn.execute("BEGIN IMMEDIATE")
                yield self.db
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees the log as it was at the first one: one read transaction, so a
        run writing meanwhile (another process, or a thread of this one, which waits) cannot land
        between two reads. For a copy made of several queries (a bundle)."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:  # inside a write transaction of its own already: that is one snapshot
                yield
                return
            conn.execute("BEGIN")
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")  # it only read

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """The rows of a read-only query, as dicts (for the cost and text-score queries; views use
        the methods below)."""
        with self._lock:
            return [dict(r) for r in self.db.query(sql, params)]

    def frame(self, sql: str, params: Any = ()) -> "pd.DataFrame":
        """Any read query as a pandas DataFrame."""
        import pandas as pd

        with self._lock:
            try:
                return pd.read_sql_query(sql, self.db.conn, params=list(params) if params else None)
            except pd.errors.DatabaseError as exc:
                # pandas wraps SQLite's error in its own, with the query: the log's error is what
                # a caller (and the CLI's "what to do" for a busy or damaged log) knows
                if isinstance(exc.__cause__, sqlite3.Error):
                    raise exc.__cause__ from None
                raise

    def columns(self, sql: str, params: Any = ()) -> list[list[Any]]:
        """The columns of a read-only query as lists of plain values, for a result of a million
        rows: read in batches with no garbage collection meanwhile, and no DataFrame built from
        row tuples (the caller makes the columns it needs)."""
        with self._lock, _gc_paused():
            cursor = self.db.conn.execute(sql, list(params))
            out: list[list[Any]] = [[] for _ in cursor.description]
            while rows := cursor.fetchmany(_FETCH_BATCH):
                for column, values in zip(out, zip(*rows)):
                    column.extend(values)
            return out

    def migrations(self) -> list[str]:
        """Names of the migrations applied to this file, in order."""
        return [r["name"] for r in self.rows(f"SELECT name FROM [{MIGRATIONS_TABLE}] ORDER BY rowid")]

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: 'ok' when it is sound."""
        return str(self.rows("PRAGMA integrity_check")[0]["integrity_check"])

    def _read_data_version(self) -> int:
        return int(self.db.conn.execute("PRAGMA data_version").fetchone()[0])

    def _others_wrote(self) -> bool:
        """Whether another connection has committed to the log, since it was opened: sticky
        (`shared`), so that every later check reads the log, not a figure it had before."""
        if not self.shared:
            version = self._read_data_version()
            self.shared = version != self._data_version
            self._data_version = version
        return self.shared
