"""The migrations' runner: the order they run in, the table that records them, and `migrate()`."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ...caller import warn
from ...version import __version__
from . import cost_rollups, former_names, key_ids, log_tables, stop_status
from .under_way import begin_upgrade, upgrading

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE", "migrate", "unknown_migrations"]

MIGRATIONS_TABLE = "_qwenlab_migrations"
# an upgrade of a log with at least this many tasks says so before it starts: the cost rollups
# (m013) of 1,000,000 tasks take about a minute, which an open said nothing about
NOTICE_FROM_TASKS = 100_000


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


Migration = Callable[["sqlite_utils.Database"], None]
# They run in this order, each once, and are recorded by name in MIGRATIONS_TABLE: a new one is
# appended, never inserted, and none is renamed (a log out there has recorded them).
MIGRATIONS: list[Migration] = [
    log_tables.m001_experiments_tasks_images,
    log_tables.m002_ratings_judgements,
    log_tables.m003_prompt_search,
    log_tables.m004_stop_reason_and_task_history,
    log_tables.m005_cost_indexes,
    log_tables.m006_text_readings_and_scores,
    log_tables.m007_provenance,
    log_tables.m008_cost_reading,
    log_tables.m009_judgement_criterion,
    log_tables.m010_scale_indexes,
    log_tables.m011_organize,
    log_tables.m012_api_extra,
    cost_rollups.m013_cost_rollups,
    cost_rollups.m014_image_prices_by_day,
    cost_rollups.m015_cost_scores,
    key_ids.m016_key_ids,
    cost_rollups.m017_cost_sources,
    former_names.m018_former_names,
    stop_status.m019_budget_stops,
]


def migrate(db: sqlite_utils.Database, *, until: str | None = None, path: Path | None = None) -> list[str]:
    """Apply every migration not yet recorded (up to and including `until`); return the names
    applied now. Safe to call on every open, and from two processes at once: the check and the
    migrations run inside one `BEGIN IMMEDIATE` transaction. `path` is the log's file: while it
    upgrades an existing log, a marker beside it tells another process opening the log that an
    upgrade is under way, and that one says so and waits for it (`under_way`)."""
    conn = db.conn
    conn.execute(f"CREATE TABLE IF NOT EXISTS [{MIGRATIONS_TABLE}] (name TEXT PRIMARY KEY, applied_at TEXT)")
    if conn.in_transaction:
        conn.commit()
    done = {row[0] for row in conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}]")}
    wanted = _wanted(until)
    _warn_if_newer(done)
    if all(fn.__name__ in done for fn in wanted):
        return []
    applied: list[str] = []
    try:
        # inside the try, as in Log.transaction: a Ctrl-C just after it rolls back. Another
        # process upgrading the log holds the lock for as long as its upgrade takes: waited for
        begin_upgrade(conn, path if done else None)
        done = {row[0] for row in conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}]")}
        pending = [fn for fn in wanted if fn.__name__ not in done]
        # an existing log: a new one has nothing to wait for, nor anyone to tell
        with upgrading(path if done else None, [fn.__name__ for fn in pending]):
            if done and pending:
                _notice_long_upgrade(conn, [fn.__name__ for fn in pending])
            for fn in pending:
                fn(db)
                conn.execute(f"INSERT INTO [{MIGRATIONS_TABLE}] (name, applied_at) VALUES (?, ?)", (fn.__name__, _utc_now()))
                applied.append(fn.__name__)
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return applied


def _notice_long_upgrade(conn: sqlite3.Connection, pending: list[str]) -> None:
    """A line on stderr before an upgrade of a large log: the first open after an update of
    qwenlab (a notebook's `Lab()`, even `qwenlab logs`) otherwise hung a minute or more without
    a word, and a Ctrl-C there rolls it all back, so the next open starts it again."""
    try:
        (tasks,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM tasks").fetchone()  # one index lookup
    except sqlite3.Error:  # no tasks table yet
        return
    if tasks >= NOTICE_FROM_TASKS:
        steps = pending[0] if len(pending) == 1 else f"{pending[0]} to {pending[-1]}"
        print(f"qwenlab: upgrading the log to this version's schema ({steps}), once; on {tasks:,} tasks this takes a "
              "while (up to about a minute per million). Let it finish: an interruption leaves the log as it was, and "
              "the next open starts again", file=sys.stderr, flush=True)


def unknown_migrations(done: set[str]) -> list[str]:
    """Of the migrations a log records (`done`), those this qwenlab does not know, sorted: a
    newer qwenlab has written the log."""
    return sorted(done - {fn.__name__ for fn in MIGRATIONS})


def _warn_if_newer(done: set[str]) -> None:
    """A warning when the log records migrations this qwenlab does not know: a newer qwenlab has
    written it. Opened by this one, it went on without a word, and its writes know nothing of
    what the newer one added (a column it leaves empty, a rule it does not keep)."""
    unknown = unknown_migrations(done)
    if unknown:
        warn(f"this log was written by a newer qwenlab (its migrations {', '.join(unknown)} are unknown to "
             f"qwenlab {__version__}): reading it works, but update this qwenlab (the checkout or package it runs from) before "
             "running sweeps in it or changing it")


def _wanted(until: str | None) -> list[Migration]:
    if until is None:
        return list(MIGRATIONS)
    names = [fn.__name__ for fn in MIGRATIONS]
    if until not in names:
        raise ValueError(f"no migration named {until!r}; known: {', '.join(names)}")
    return MIGRATIONS[: names.index(until) + 1]
