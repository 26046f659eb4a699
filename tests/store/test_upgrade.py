"""Opening a log an older qwenlab wrote: the schema upgrade runs once, whole or not at all, and
what the old version stored reads as this one says it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
import sqlite_utils

from qwenlab.errors import QwenlabError
from qwenlab.store.log import Log
from qwenlab.store.migrations import runner
from qwenlab.store.migrations.runner import MIGRATIONS, MIGRATIONS_TABLE, migrate
from qwenlab.store.migrations.under_way import marker_path


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


# A text score as qwenlab 280941d stored it (scoring_version 2, which compared no punctuation): a
# price misprinted "$2999" for "$29.99" counted as read right. Scoring version 8 tells them apart.
_OLD_READING = '[{"text":"SALE $2999","confidence":0.99,"box":[[0,0],[300,0],[300,40],[0,40]]}]'
_OLD_STRINGS = ('[{"expected":"SALE $29.99","read":"SALE $2999","ned":1.0,"words":3,"words_read":3,"status":"exact",'
                '"lines":[0],"word_hits":[true,true,true]}]')


def test_text_scores_an_older_qwenlab_stored_are_shown_as_this_version_scores_them(tmp_path: Path) -> None:
    """The views (exp.text_scores(), the report, grids, exported files) read the stored scores; a
    score made by an older definition was shown as this version's: "$2999" counted right for
    "$29.99" after an upgrade, while `score_text()` would have said it is wrong. It is scored
    again from its stored reading, with no OCR, the first time it is read."""
    from qwenlab.lab import Lab
    from qwenlab.typography.scoring import SCORING_VERSION

    path = tmp_path / "qwenlab.db"
    _old_log(path, until="m006_text_readings_and_scores")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tasks SET prompt = ?, cell_json = '{\"repeat\": 0}' WHERE id = 1",
                     ["A shop window poster reading 'SALE $29.99'"])
        conn.execute("UPDATE experiments SET sweep_json = '{}', axes_json = '{}' WHERE id = 1")
        conn.execute("INSERT INTO text_readings (image_id, experiment_id, engine, engine_version, text, lines_json, n_lines) "
                     "VALUES (1, 1, 'rapidocr', 'rapidocr-onnxruntime 1.4.4', 'SALE $2999', ?, 1)", [_OLD_READING])
        conn.execute("INSERT INTO text_scores (image_id, experiment_id, engine, expected_json, word_accuracy, ned, "
                     "sentence_accuracy, words, words_read, strings, strings_exact, correct, missing_json, "
                     "read_instead_json, strings_json, scoring_version) VALUES (1, 1, 'rapidocr', '[\"SALE $29.99\"]', "
                     "1.0, 1.0, 1.0, 3, 3, 1, 1, 1, '[]', '{}', ?, 2)", [_OLD_STRINGS])
    exp = Lab(tmp_path).experiment("old")
    scores = exp.text_scores()
    assert scores["correct"].tolist() == [False]
    assert scores["word_accuracy"].iloc[0] < 1.0
    assert [r["scoring_version"] for r in exp.log.rows("SELECT scoring_version FROM text_scores")] == [SCORING_VERSION]


def test_an_image_lost_from_a_log_that_predates_backends_is_fetched_again_by_the_emulator(data_dir: Path) -> None:
    """Tasks logged before qwenlab recorded where each ran (m007: backend NULL, every log of the
    first day's versions) are continued by the emulator, but a lost image of one was never asked
    for again: the run said every cell was done and `qwenlab verify` kept promising it back.
    Found by deleting an image file from the demo log of 280941d and running `qwenlab demo`."""
    from qwenlab import Sweep
    from qwenlab.lab import Lab

    lab = Lab(data_dir)
    sweep = Sweep(prompt="A poster that reads 'EST. 1928'", size="1024x1024", repeats=2)
    first = lab.run(sweep, name="old", progress=False)
    with sqlite3.connect(data_dir / "qwenlab.db") as conn:  # as a log of the first day's qwenlab holds it
        conn.execute("UPDATE tasks SET backend = NULL, api_host = NULL, qwenlab_version = NULL")
        conn.execute("UPDATE experiments SET backend = NULL, api_host = NULL")
    path = data_dir / first.images["path"].iloc[0]
    whole = path.read_bytes()
    path.unlink()

    again = lab.run(sweep, name="old", progress=False)
    assert lab.last_refetched == 1
    assert path.read_bytes() == whole  # free: getResponse of the task the emulator still keeps
    assert again.cost == pytest.approx(first.cost) and again.counts()["done"] == 2


def test_the_upgrade_of_a_large_log_says_so_before_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The first open after an update (a notebook's Lab(), even `qwenlab logs`) upgrades the log:
    on a log of 200,000 tasks written before m013 it took 11 s without a word (about a minute per
    million), where a Ctrl-C rolls it all back. A large log's upgrade says so first, once."""
    monkeypatch.setattr(runner, "NOTICE_FROM_TASKS", 1, raising=False)  # the one task of this log counts as a large log's
    path = tmp_path / "qwenlab.db"
    _old_log(path)
    Log(path).close()
    said = capsys.readouterr().err
    assert f"upgrading the log to this version's schema (m013_cost_rollups to {MIGRATIONS[-1].__name__}), once" in said
    assert "an interruption leaves the log as it was" in said
    Log(path).close()  # upgraded: nothing more to say
    Log(tmp_path / "new.db").close()  # a new log: nothing to wait for
    assert "upgrading" not in capsys.readouterr().err


def test_budget_stops_the_first_versions_recorded_as_interrupted_read_as_budget_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Until e7dfb64 a run stopped by its budget was recorded 'interrupted', as Ctrl-C is, and
    `qwenlab logs`, the summary and the views said so after every upgrade. Its stop reason, which
    starts "budget:", tells it apart from a real interruption, which stays one."""
    from click.testing import CliRunner

    from qwenlab.cli import cli
    from qwenlab.lab import Lab

    path = tmp_path / "qwenlab.db"
    _old_log(path, until="m004_stop_reason_and_task_history")
    reasons = {  # as the runner of those versions wrote them
        "capped": "budget: the next cell needs $0.075 and $0.025 of $0.10 is left; 1 cells not sent. "
                  "Raise budget_usd and run again",
        "ctrl-c": "interrupted (Ctrl-C); requests in flight finish and are logged; run again to finish the rest",
        "crashed": "stopped: OSError: [Errno 28] No space left on device",
        "killed": "its run ended before it finished (its process was killed, or its kernel restarted, while it sent): "
                  "run the sweep again to finish the rest",
        "budgetary": "stopped: ValueError: budget: not a number",  # an error's text: no budget stop
    }
    with sqlite3.connect(path) as conn:
        for name, reason in reasons.items():
            conn.execute("INSERT INTO experiments (name, status, stop_reason, budget_usd) VALUES (?, 'interrupted', ?, 0.1)",
                         [name, reason])
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path))
    listed = CliRunner().invoke(cli, ["logs", "--json"])
    assert listed.exit_code == 0, listed.output
    statuses = {e["name"]: e["status"] for e in json.loads(listed.output)}
    assert statuses == {"old": "done", "capped": "budget", "ctrl-c": "interrupted", "crashed": "interrupted",
                        "killed": "interrupted", "budgetary": "interrupted"}
    capped = Lab(tmp_path).experiment("capped")
    assert capped.summary().startswith("Experiment 'capped' (stopped at its budget)"), capped.summary()
    assert capped.stop_reason == reasons["capped"]  # kept as it was


# A process upgrading the log, its last migration held until the test lets it go: the upgrade of
# a large log, which holds the log's write lock a minute or more, as long as the test needs
_UPGRADER = """
import sys, time
from pathlib import Path
from qwenlab.store.log import Log
from qwenlab.store.migrations import runner
path, started, release = map(Path, sys.argv[1:4])
last = runner.MIGRATIONS[-1]
def held(db):
    started.touch()
    while not release.exists():
        time.sleep(0.05)
    last(db)
held.__name__ = last.__name__
runner.MIGRATIONS[-1] = held
Log(path).close()
"""
_ROOT = Path(__file__).resolve().parents[2]


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Until `condition` holds; an AssertionError if `process` ends first (or it never does)."""
    deadline = time.monotonic() + 180
    while not condition():
        assert process.poll() is None, f"the process ended first (exit {process.returncode})"
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_process_opening_a_log_another_is_upgrading_says_so_and_waits_for_it(tmp_path: Path) -> None:
    """Two processes opening an old log at once: the second waited SQLite's 30 s behind the
    first's upgrade, then failed on "database is locked", told that another process held the
    log (a write left open?) and to close it. It says an upgrade is under way in the other
    process, and waits for it: then it opens the log, upgraded once."""
    path = tmp_path / "qwenlab.db"
    _old_log(path, until="m017_cost_sources")
    started, release, said = tmp_path / "started", tmp_path / "release", tmp_path / "second.err"
    env = {**os.environ, "QWENLAB_DATA_DIR": str(tmp_path)}
    first = subprocess.Popen([sys.executable, "-c", _UPGRADER, str(path), str(started), str(release)], cwd=_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = None
    try:
        _wait_for(started.exists, first)
        assert marker_path(path).is_file()
        with said.open("w") as err:
            second = subprocess.Popen([sys.executable, "-m", "qwenlab.cli", "logs"], cwd=_ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=err, text=True)
            _wait_for(lambda: "upgrading this log" in said.read_text(), second)  # while the first still upgrades
            release.touch()
            out, _ = second.communicate(timeout=180)
        first.communicate(timeout=180)
    finally:
        release.touch()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    text = said.read_text()
    assert first.returncode == 0 and second.returncode == 0, text
    steps = f"{MIGRATIONS[17].__name__} to {MIGRATIONS[-1].__name__}"  # every step after m017, the last whatever it is
    assert (f"another process (pid {first.pid}) has been upgrading this log to a newer schema ({steps}) since "
            in text), text
    assert "waiting for it to finish" in text and "held it for more than" not in text, text
    assert "old" in out
    assert _applied(path) == [fn.__name__ for fn in MIGRATIONS] and not marker_path(path).exists()
