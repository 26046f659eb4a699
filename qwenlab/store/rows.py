"""The log's rows as they are written: their times, their JSON text, and the plain SQL that writes them.

`utc_now` is the one format of every time in the log, `to_json` the compact JSON of its TEXT
columns (secrets scrubbed); `update_task`, `insert_image` and the column lists and placeholders
of an INSERT write task and image rows with plain SQL, faster than sqlite-utils' own methods.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..secrets import redact

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["utc_now", "to_json", "column_list", "placeholders", "update_task", "insert_image", "runs_of_same_columns"]


def utc_now() -> str:
    """Now as ISO-8601 UTC with milliseconds: `2026-03-01T12:00:00.123+00:00`."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    """Compact JSON for a TEXT column, with any registered secret scrubbed."""
    return redact(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def column_list(values: dict[str, Any]) -> str:
    return ", ".join(f"[{c}]" for c in values)


def placeholders(values: dict[str, Any]) -> str:
    return ", ".join("?" * len(values))


def update_task(db: "sqlite_utils.Database", task_id: int, fields: dict[str, Any]) -> None:
    """UPDATE one task row with plain SQL: sqlite-utils' `update()` reads the table's schema and
    the row back on every call, which was a tenth of a sweep's time per task at concurrency 1."""
    if fields:
        sets = ", ".join(f"[{c}] = ?" for c in fields)
        db.execute(f"UPDATE tasks SET {sets} WHERE id = ?", [*fields.values(), task_id])


def insert_image(db: Any, task_id: int, now: str, image: dict[str, Any]) -> None:
    """One image row of a task (one already logged under its imageUUID is kept, not duplicated)."""
    values = {"task_id": task_id, "created_at": now, **image}
    db.execute(f"INSERT OR IGNORE INTO images ({column_list(values)}) VALUES ({placeholders(values)})", list(values.values()))


def runs_of_same_columns(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive rows grouped while their keys (in order) stay the same."""
    run: list[dict[str, Any]] = []
    for row in rows:
        if run and list(row) != list(run[0]):
            yield run
            run = []
        run.append(row)
    if run:
        yield run
