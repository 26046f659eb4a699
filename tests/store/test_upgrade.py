"""Opening a log an older qwenlab wrote: the schema upgrade runs once, whole or not at all, and
what the old version stored reads as this one says it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from qwenlab.errors import QwenlabError
from qwenlab.store.log import Log
from qwenlab.store.migrations import runner
from qwenlab.store.migrations.runner import MIGRATIONS, MIGRATIONS_TABLE, migrate


def _old_log(path: Path, until: str = "m012_api_extra") -> None:
    """A log as a qwenlab of that era left it: its migrations up to `until`, one experiment, one
    task done and paid for, its image rated."""
    db = sqlite_utils.Database(path)
    migrate(db, until=until)
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    db["tasks"].insert({"id": 1, "task_uuid": "uuid-1", "experiment_id": 1, "cell_key": "k1", "prompt": "A poster for AURELIS",
                        "status": "done", "estimated_cost_usd": 0.075, "cost_usd": 0.075, "cost_source": "api"})
    db["images"].insert({"id": 1, "image_uuid": "img-1", "task_id": 1, "task_uuid": "uuid-1", "experiment_id": 1,
                         "cost_usd": 0.075, "path": "images/aa/x.png"})
    db["ratings"].insert({"image_id": 1, "score": 4, "created_at": "2026-12-01T00:00:00+00:00"})
    db.close()


def _applied(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}] ORDER BY rowid")]


def test_an_upgrade_interrupted_half_way_leaves_the_old_log_whole_and_the_next_open_finishes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the schema upgrade of an old log (the cost rollups of a large one take a
    while): none of it stays, so the next open runs every migration once and the rows are there."""
    path = tmp_path / "qwenlab.db"
    _old_log(path)
    before = _applied(path)
    last = MIGRATIONS[-1]

    def interrupted(db: sqlite_utils.Database) -> None:
        last(db)  # its tables made, then the user presses Ctrl-C before it is recorded
        raise KeyboardInterrupt

    interrupted.__name__ = last.__name__
    monkeypatch.setattr(runner, "MIGRATIONS", [*MIGRATIONS[:-1], interrupted])
    with pytest.raises(KeyboardInterrupt):
        Log(path)
    assert _applied(path) == before  # nothing of the upgrade stayed
    monkeypatch.undo()

    log = Log(path)
    assert log.migrations() == [fn.__name__ for fn in MIGRATIONS]
    assert log.experiment("old")["status"] == "done"
    assert log.spent(1) == pytest.approx(0.075)
    assert [r["score"] for r in log.rows("SELECT score FROM ratings")] == [4]
    log.close()


def test_an_sqlite_utils_that_commits_inside_transactions_is_refused_before_the_log_is_touched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite-utils before 4.0 (no `Database.atomic`) commits around each table method: a schema
    upgrade interrupted half-way stayed half-applied and the log never opened again ("table
    log_meta already exists"), and every run failed on "cannot commit - no transaction is
    active". pip keeps one already installed, so opening says so, naming the fix, and changes nothing."""
    path = tmp_path / "qwenlab.db"
    _old_log(path)
    before = _applied(path)
    monkeypatch.delattr(sqlite_utils.Database, "atomic")
    with pytest.raises(QwenlabError, match=r"needs sqlite-utils 4\.0 or newer.*Nothing was opened or changed.*"
                                           r"pip install 'sqlite-utils>=4'"):
        Log(path)
    assert _applied(path) == before
