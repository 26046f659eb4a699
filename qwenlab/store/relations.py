"""Which tables of the log point at which: read from SQLite's own foreign keys.

Deleting an experiment and copying one into a bundle both have to follow every row that hangs
off an experiment, a task or an image: ratings, judgements, text readings and scores, tags, and
whatever table a later migration adds. Reading the foreign keys from the schema (instead of a
list written here) keeps both right when the schema grows.

    refs = references(db)            # {"ratings": [("image_id", "images")], ...}
    dependent_tables(db)             # tables that hang off experiments, tasks or images only
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["ROOTS", "references", "dependent_tables", "columns"]

# the three tables everything else hangs off, in the order a copy must insert them
ROOTS = ("experiments", "tasks", "images")


def references(db: "sqlite_utils.Database") -> dict[str, list[tuple[str, str]]]:
    """Every table with foreign keys: table -> [(column, referenced table)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in names:
        fks = [(row[3], row[2]) for row in db.execute(f"PRAGMA foreign_key_list([{table}])")]
        if fks:
            out[table] = fks
    return out


def dependent_tables(db: "sqlite_utils.Database") -> list[str]:
    """Tables (other than the roots) whose every foreign key points at a root, in an order where
    a table comes after any non-root table it points at (none do today)."""
    refs = references(db)
    return sorted(t for t, fks in refs.items() if t not in ROOTS and all(target in ROOTS for _, target in fks))


def columns(db: "sqlite_utils.Database", table: str) -> list[str]:
    """The column names of `table`, in schema order."""
    return [row[1] for row in db.execute(f"PRAGMA table_info([{table}])")]
