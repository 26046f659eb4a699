"""The SQLite log: schema, migrations, transactions, full-text search, two writers, the logs CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.secrets import register_secret
from qwenlab.store.log import Log
from qwenlab.store.migrations.runner import MIGRATIONS, migrate
from qwenlab.store.rows import to_json

SCHEMA = {  # schema.md: names other helpers code against
    "experiments": {"id", "name", "created_at", "updated_at", "model", "sweep_json", "axes_json", "budget_usd", "notes", "status"},
    "tasks": {"id", "task_uuid", "experiment_id", "cell_key", "cell_json", "repeat", "request_json", "output_hash", "model",
              "prompt", "negative_prompt", "prompt_extend", "width", "height", "number_results", "seed_policy", "seed",
              "status", "error_code", "error_message", "http_status", "attempts", "latency_s", "estimated_cost_usd",
              "price_usd", "cost_usd", "cost_source", "created_at", "sent_at", "completed_at"},
    "images": {"id", "image_uuid", "task_id", "task_uuid", "experiment_id", "seed", "cost_usd", "cost_source", "nsfw", "path",
               "sha256", "format", "width", "height", "bytes", "url", "raw_json", "created_at"},
    "ratings": {"id", "image_id", "score", "note", "judge", "created_at"},
    "judgements": {"id", "experiment_id", "axis", "image_a", "image_b", "winner", "criterion", "created_at"},
}


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path / "log.db")


def _task(exp_id: int, key: str, prompt: str = "A poster for LUMIERE", **extra: object) -> dict:
    return {"task_uuid": f"uuid-{key}", "experiment_id": exp_id, "cell_key": key, "prompt": prompt,
            "estimated_cost_usd": 0.075, **extra}


def test_fresh_database_has_the_documented_schema(log: Log) -> None:
    db = log.db
    for table, columns in SCHEMA.items():
        assert columns <= set(db[table].columns_dict), f"{table} lacks {columns - set(db[table].columns_dict)}"
    assert log.migrations() == [fn.__name__ for fn in MIGRATIONS]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexed = {tuple(ix.columns) for t in ("tasks", "images") for ix in db[t].indexes}
    for cols in [("experiment_id",), ("status",), ("created_at",), ("model",), ("task_id",), ("experiment_id", "cell_key")]:
        assert cols in indexed
    assert db["tasks"].detect_fts() == "tasks_fts"
    assert log.integrity_check() == "ok"


def test_the_migrations_keep_their_names_and_their_order() -> None:
    """Logs out there record each migration by name in `_qwenlab_migrations`: a name changed, or
    one moved in the list, would run it again on them (or skip one). New ones go at the end."""
    assert [fn.__name__ for fn in MIGRATIONS][:16] == [
        "m001_experiments_tasks_images", "m002_ratings_judgements", "m003_prompt_search", "m004_stop_reason_and_task_history",
        "m005_cost_indexes", "m006_text_readings_and_scores", "m007_provenance", "m008_cost_reading",
        "m009_judgement_criterion", "m010_scale_indexes", "m011_organize", "m012_api_extra", "m013_cost_rollups",
        "m014_image_prices_by_day", "m015_cost_scores", "m016_key_ids",
    ]


def test_each_log_names_keys_under_a_salt_of_its_own(tmp_path: Path) -> None:
    """The name a log keeps for a key (on each task sent) is an HMAC under the log's random salt:
    two logs name one key differently, one log names two keys differently, and it holds no key."""
    from qwenlab.secrets import key_id

    one, two = Log(tmp_path / "one.db"), Log(tmp_path / "two.db")
    assert len(one.key_salt()) == 16 and one.key_salt() != two.key_salt()
    assert Log(tmp_path / "one.db").key_salt() == one.key_salt()  # kept in the file
    key = "sk-live-0123456789abcdef"
    assert key_id(key, one.key_salt()) != key_id(key, two.key_salt())
    assert key_id(key, one.key_salt()) != key_id(key + "x", one.key_salt())
    assert key_id(key, one.key_salt()) == key_id(key, one.key_salt()) and len(key_id(key, one.key_salt())) == 16


def test_migrating_an_older_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    assert migrate(db, until="m001_experiments_tasks_images") == ["m001_experiments_tasks_images"]
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    db["tasks"].insert(_task(1, "k1", prompt="an Art Deco poster for AURELIS", status="done"))
    assert "stop_reason" not in db["experiments"].columns_dict
    db.close()

    log = Log(path)  # opening migrates the rest
    assert log.migrations() == [fn.__name__ for fn in MIGRATIONS]
    assert log.experiment("old")["stop_reason"] is None
    assert [t["cell_key"] for t in log.tasks(1)] == ["k1"]
    assert [t["task_uuid"] for t in log.search("AURELIS")] == ["uuid-k1"]  # the index covers rows from before it


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "x.db")
    assert migrate(db) == [fn.__name__ for fn in MIGRATIONS]
    schema = db.schema
    assert migrate(db) == []
    assert db.schema == schema
    with pytest.raises(ValueError, match="no migration named"):
        migrate(db, until="m999_nope")


def test_a_log_written_by_a_newer_qwenlab_is_said_so_when_opened(tmp_path: Path) -> None:
    """A log whose migrations table names one this qwenlab does not know was opened without a
    word, and written to by a version that knows nothing of what the newer one added."""
    Log(tmp_path / "newer.db").close()
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("INSERT INTO _qwenlab_migrations (name, applied_at) VALUES ('m099_from_the_future', '2027-01-01')")
    with pytest.warns(UserWarning, match=r"written by a newer qwenlab \(its migrations m099_from_the_future are "
                                         r"unknown to qwenlab .*update this qwenlab"):
        log = Log(tmp_path / "newer.db")
    assert log.experiment_names() == []  # it still reads
    log.close()


def test_search_follows_inserts_and_updates(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], "a", "A skincare poster for LUMIERE"), _task(exp["id"], "b", "A billboard for NOIR")])
    assert [t["cell_key"] for t in log.search("LUMIERE")] == ["a"]
    task_b = log.tasks(exp["id"])[1]
    log.note_task(task_b["id"], prompt="Now LUMIERE too")
    assert sorted(t["cell_key"] for t in log.search("LUMIERE")) == ["a", "b"]


def test_a_status_update_leaves_the_prompt_index_alone(log: Log) -> None:
    # a sweep updates each row twice (sent, done): the full-text index is rewritten only when a prompt changes
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], "a", "A skincare poster for LUMIERE")])
    task_id = log.tasks(exp["id"])[0]["id"]
    before = log.db.conn.total_changes
    log.note_task(task_id, status="sent", sent_at="2026-12-04T00:00:00.000+00:00")
    log.complete_task(task_id, {"status": "done", "cost_usd": 0.075})
    # the task row twice, and each time its cost rollups (m013: the old row, the new row): nothing
    # written to tasks_fts
    assert log.db.conn.total_changes - before == 2 * (1 + 2)
    assert [t["cell_key"] for t in log.search("LUMIERE")] == ["a"]


def test_add_tasks_counts_only_new_cells_whatever_their_columns(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    rows = [_task(exp["id"], "a"), _task(exp["id"], "b", seed=7), _task(exp["id"], "c"), _task(exp["id"], "a")]
    rows[3] = {**rows[3], "task_uuid": "again"}
    assert log.add_tasks(rows) == 3
    assert [(t["cell_key"], t["seed"], t["status"]) for t in log.tasks(exp["id"])] == [
        ("a", None, "pending"), ("b", 7, "pending"), ("c", None, "pending")]


def test_add_tasks_keeps_cells_already_logged(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    assert log.add_tasks([_task(exp["id"], "a")]) == 1
    log.complete_task(log.tasks(exp["id"])[0]["id"], {"status": "done", "cost_usd": 0.075})
    assert log.add_tasks([{**_task(exp["id"], "a"), "task_uuid": "another"}]) == 0
    (row,) = log.tasks(exp["id"])
    assert (row["status"], row["task_uuid"]) == ("done", "uuid-a")


def test_a_task_and_its_images_land_together_or_not_at_all(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], "a")])
    task_id = log.tasks(exp["id"])[0]["id"]
    with pytest.raises(sqlite3.OperationalError):
        log.complete_task(task_id, {"status": "done"}, [{"image_uuid": "i1", "no_such_column": 1}])
    assert log.task(task_id)["status"] == "pending"
    assert log.images(exp["id"]) == []
    log.complete_task(task_id, {"status": "done"}, [{"image_uuid": "i1", "experiment_id": exp["id"], "seed": 7}])
    log.complete_task(task_id, {"status": "done"}, [{"image_uuid": "i1", "experiment_id": exp["id"], "seed": 7}])  # recovered again
    assert [i["seed"] for i in log.images(exp["id"])] == [7]


def test_the_listing_of_a_big_log_asks_for_the_pages_it_reads_whole(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab logs` reads the cost rollups, their key's index and the images' index whole: on a
    big log (here: any), their leaves are asked of the OS at once, and the listing is the same."""
    import time

    from qwenlab.store import log as log_module
    from qwenlab.store import prefetch

    for name in ("a", "b"):
        exp = log.ensure_experiment(name, model="m")
        log.add_tasks([_task(exp["id"], f"{name}{i}") for i in range(3)])
        task_id = log.tasks(exp["id"])[0]["id"]
        log.complete_task(task_id, {"status": "done", "cost_usd": 0.075},
                          [{"image_uuid": f"i-{name}", "experiment_id": exp["id"], "seed": 7}])
    before = log.experiments_frame()
    log.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the hints read the main file
    made: list[prefetch.Prefetch] = []

    class Recorded(prefetch.Prefetch):
        def __exit__(self, *exc: object) -> None:
            deadline = time.monotonic() + 10
            while self.completed < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            super().__exit__(*exc)
            made.append(self)

    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 0)
    monkeypatch.setattr(log_module, "Prefetch", Recorded)
    import pandas as pd

    pd.testing.assert_frame_equal(log.experiments_frame(), before)
    assert [(p.trees, p.completed) for p in made] == [(list(log_module._LISTING_TREES), 1)]
    assert made[0].pages_warmed >= 3  # one leaf at least of each tree


def test_ctrl_c_just_after_a_transaction_began_leaves_the_log_writable(log: Log) -> None:
    """A KeyboardInterrupt lands between two bytecodes: one landing right after BEGIN must not
    leave the connection inside a transaction, where every later write fails."""
    exp = log.ensure_experiment("e", model="m")

    class InterruptedAfterBegin:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def execute(self, sql: str, *args: object):
            out = self._conn.execute(sql, *args)
            if sql == "BEGIN IMMEDIATE":
                raise KeyboardInterrupt
            return out

        def __getattr__(self, name: str):
            return getattr(self._conn, name)

    real = log.db.conn
    log.db.conn = InterruptedAfterBegin(real)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        log.add_tasks([_task(exp["id"], "a")])
    log.db.conn = real
    assert not real.in_transaction
    assert log.add_tasks([_task(exp["id"], "a")]) == 1  # the next write goes through


def test_reset_task_keeps_the_failed_attempt(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], "a")])
    task_id = log.tasks(exp["id"])[0]["id"]
    log.complete_task(task_id, {"status": "failed", "error_code": "inferenceError", "error_message": "boom"})
    log.reset_task(task_id, task_uuid="fresh", request_json="{}")
    row = log.task(task_id)
    assert (row["status"], row["task_uuid"], row["error_code"]) == ("pending", "fresh", None)
    assert json.loads(row["history_json"])[0]["error_code"] == "inferenceError"


def test_spent_counts_costs_and_tasks_in_doubt(log: Log) -> None:
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], k) for k in "abcd"])
    a, b, c, _ = (t["id"] for t in log.tasks(exp["id"]))
    log.complete_task(a, {"status": "done", "cost_usd": 0.07})
    log.complete_task(b, {"status": "done", "cost_usd": None})  # no cost reported: the estimate counts
    log.mark_sent(c, "{}")  # in flight when a process died: it may have been charged
    assert log.spent(exp["id"]) == pytest.approx(0.07 + 0.075 + 0.075)




def _two_images(log: Log) -> tuple[int, int, int]:
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([_task(exp["id"], "a")])
    log.complete_task(log.tasks(exp["id"])[0]["id"], {"status": "done"},
                      [{"image_uuid": "i1", "experiment_id": exp["id"]}, {"image_uuid": "i2", "experiment_id": exp["id"]}])
    i1, i2 = (i["id"] for i in log.images(exp["id"]))
    return exp["id"], i1, i2


def test_ratings_and_judgements(log: Log) -> None:
    exp_id, i1, i2 = _two_images(log)
    log.rate(i1, score=4, note="crisp text", judge="me")
    log.judge(exp_id, "promptExtend", i1, i2, "a")
    assert log.db["ratings"].count == 1 and log.db["judgements"].count == 1
    with pytest.raises(ValueError, match="'a', 'b' or 'tie'"):
        log.judge(exp_id, "promptExtend", i1, i2, "left")


def test_a_rating_takes_a_numpy_image_id_and_refuses_a_score_outside_1_to_5(log: Log) -> None:
    """`lab.log.rate(exp.images["image_id"][0], 5)` (notebook 05 rates by code) failed with
    SQLite's bare "FOREIGN KEY constraint failed": pandas gives a numpy integer, which SQLite
    does not take as an integer. And any score was stored: a 50 typed for a 5 ranked first
    in search and counted as kept in costs. The id is taken as the integer it is; a score
    outside 1-5 and an id no image has are refused naming the parameter, nothing written."""
    import numpy as np

    exp_id, i1, i2 = _two_images(log)
    rid = log.rate(np.int64(i1), np.int64(4), note="crisp")
    assert log.rows("SELECT image_id, score FROM ratings WHERE id = ?", [rid]) == [{"image_id": i1, "score": 4}]
    for score in (0, 6, 50, 4.5, "5", True):
        with pytest.raises(ValueError, match=r"^score: .*1 to 5"):
            log.rate(i2, score)
    with pytest.raises(ValueError, match=r"^image_id: no image with id 999"):
        log.rate(999, 5)
    with pytest.raises(ValueError, match=r"^image_id: "):
        log.rate("1", 5)
    assert log.db["ratings"].count == 1
    log.rate(i2, None, note="a note alone")  # still allowed
    assert log.db["ratings"].count == 2


def test_a_later_note_without_a_score_keeps_the_score_in_every_view(log: Log) -> None:
    """A note added after a score (log.rate(image, note=...)) kept the image rated 5 in costs and
    search, while the report and the explorer, reading the latest row, showed it unrated."""
    from qwenlab.costs import Costs

    exp_id, i1, i2 = _two_images(log)
    log.rate(i1, score=5)
    log.rate(i1, note="is the accent right?")
    log.rate(i2, score=2)
    log.rate(i2, score=4)  # re-rated: the later score counts
    latest = log.latest_ratings(exp_id)
    assert (latest[i1]["score"], latest[i1]["note"]) == (5, "is the accent right?")
    assert latest[i2]["score"] == 4
    kept = Costs(log).per_kept_image(min_score=4)
    assert int(kept["kept"].sum()) == 2  # the costs' own rule: the same two images kept


def test_judgements_keep_their_criterion_and_are_read_per_criterion(log: Log) -> None:
    exp_id, i1, i2 = _two_images(log)
    first = log.judge(exp_id, "promptExtend", i1, i2, "a")  # no criterion named: "overall"
    second = log.judge(exp_id, "promptExtend", i1, i2, "b", criterion="text correct")
    log.judge(exp_id, "size", i1, i2, "tie", criterion="text correct")
    stored = log.db.execute("SELECT id, criterion FROM judgements ORDER BY id").fetchall()
    assert stored[:2] == [(first, "overall"), (second, "text correct")]
    assert [j["winner"] for j in log.judgements(exp_id, "promptExtend")] == ["a", "b"]
    assert [j["id"] for j in log.judgements(exp_id, "promptExtend", "text correct")] == [second]
    assert [j["axis"] for j in log.judgements(exp_id, criterion="text correct")] == ["promptExtend", "size"]
    assert log.judgements(exp_id, "promptExtend", "composition") == []


def test_delete_judgement_removes_one_row_and_returns_it(log: Log) -> None:
    exp_id, i1, i2 = _two_images(log)
    keep = log.judge(exp_id, "promptExtend", i1, i2, "a")
    gone = log.judge(exp_id, "promptExtend", i1, i2, "tie", criterion="text correct")
    removed = log.delete_judgement(gone)
    assert removed is not None and (removed["id"], removed["winner"], removed["criterion"]) == (gone, "tie", "text correct")
    assert [r[0] for r in log.db.execute("SELECT id FROM judgements")] == [keep]
    assert log.delete_judgement(gone) is None  # a second undo of the same row finds nothing


def test_judgements_from_before_criteria_read_as_overall(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrate(db, until="m008_cost_reading")
    assert "criterion" not in db["judgements"].columns_dict
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    db["tasks"].insert(_task(1, "k1", status="done"))
    db["images"].insert_all([{"id": 1, "image_uuid": "u1", "task_id": 1, "experiment_id": 1},
                             {"id": 2, "image_uuid": "u2", "task_id": 1, "experiment_id": 1}])
    db["judgements"].insert({"experiment_id": 1, "axis": "promptExtend", "image_a": 1, "image_b": 2, "winner": "b",
                             "created_at": "2026-01-01T00:00:00.000+00:00"})
    db.close()

    log = Log(path)  # opening applies m009_judgement_criterion
    assert log.db.execute("SELECT criterion FROM judgements").fetchall() == [(None,)]  # the row is left as it was
    (old,) = log.judgements(1, "promptExtend")
    assert (old["winner"], old["criterion"]) == ("b", "overall")
    assert log.judgements(1, "promptExtend", "overall") == [old]
    assert log.judgements(1, "promptExtend", "text correct") == []


def test_registered_secrets_never_reach_a_row() -> None:
    register_secret("sk-test-never-log-me")
    assert "sk-test-never-log-me" not in to_json({"header": "Bearer sk-test-never-log-me", "x": ["sk-test-never-log-me"]})


def test_a_prompt_about_a_flag_bearer_is_kept_as_written_but_a_quoted_token_is_not() -> None:
    prompt = "A medieval poster: a flag bearer holding a banner that reads 'VICTORY'"
    assert prompt in to_json({"positivePrompt": prompt})  # the log keeps the exact request
    unregistered = "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4"  # a header a server echoed
    assert "9f8e7d6c5b4a" not in to_json({"error": unregistered})


def test_two_processes_write_to_the_same_log(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Log(path).close()
    script = (
        "import sys; from qwenlab.store.log import Log\n"
        "log = Log(sys.argv[1])\n"
        "for i in range(150): log.ensure_experiment(f'child-{i}', model='m')\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(path)])
    log = Log(path)
    for i in range(150):
        log.ensure_experiment(f"parent-{i}", model="m")
    assert child.wait(timeout=60) == 0
    names = log.experiment_names()
    assert len(names) == 300 and len(set(names)) == 300
    assert log.integrity_check() == "ok"


# -- the logs command -----------------------------------------------------------------------------
def _logged(data_dir: Path) -> None:
    log = Log(data_dir / "qwenlab.db")
    exp = log.ensure_experiment("lumiere", model="alibaba:qwen-image@2.0-pro", axes_json='{"size": ["1024x1536"]}')
    log.add_tasks([_task(exp["id"], "a", cell_json='{"size": "1024x1536", "repeat": 0}', repeat=0)])
    log.complete_task(log.tasks(exp["id"])[0]["id"], {"status": "done", "cost_usd": 0.075},
                      [{"image_uuid": "i1", "experiment_id": exp["id"], "seed": 1196265337}])


def test_logs_lists_experiments_and_tasks(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["logs", "path"]).output.strip() == str(data_dir / "qwenlab.db")
    missing = runner.invoke(cli, ["logs"])
    assert missing.exit_code != 0 and "no log yet" in missing.output
    _logged(data_dir)
    listing = runner.invoke(cli, ["logs"])
    assert listing.exit_code == 0 and "lumiere" in listing.output
    one = runner.invoke(cli, ["logs", "lumiere"])
    assert one.exit_code == 0, one.output
    assert "1/1 cell done" in one.output and "1196265337" in one.output and "1024x1536" in one.output
    data = json.loads(runner.invoke(cli, ["logs", "--json"]).output)
    assert data[0]["name"] == "lumiere" and data[0]["images"] == 1 and data[0]["cost_usd"] == pytest.approx(0.075)
    detail = json.loads(runner.invoke(cli, ["logs", "lumiere", "--json"]).output)
    assert detail["experiment"]["name"] == "lumiere" and detail["tasks"][0]["status"] == "done"
    unknown = runner.invoke(cli, ["logs", "nope"])
    assert unknown.exit_code != 0 and "known: lumiere" in unknown.output


def test_a_file_that_is_no_log_is_let_go_of_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file SQLite refuses stayed open for as long as the error's traceback lived: on Windows
    an open file cannot be deleted, so the temporary folder a damaged bundle's log was unpacked
    in failed to go, and its PermissionError hid the BundleError that said what was wrong."""
    opened: list[sqlite3.Connection] = []
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: opened.append(real(*a, **k)) or opened[-1])
    path = tmp_path / "qwenlab.db"
    path.write_bytes(b"not a database, " * 512)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        Log(path)
    assert caught.value.__traceback__ is not None and len(opened) == 1  # the traceback, and its frames, still live
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def test_a_closed_lab_says_so_and_how_to_open_it_again(tmp_path: Path) -> None:
    """A notebook cell run again after `lab.close()` met SQLite's "Cannot operate on a closed
    database", naming neither the log nor the fix; closing twice is harmless."""
    from qwenlab import Lab
    from qwenlab.errors import QwenlabError

    lab = Lab(tmp_path / "data")
    lab.close()
    lab.close()
    for use in (lab.experiments, lambda: lab.experiment("any"), lambda: lab.log.rows("SELECT 1")):
        with pytest.raises(QwenlabError, match=r"was closed \(lab.close\(\)\): open it again with a new Lab") as info:
            use()
        assert str(tmp_path / "data") in str(info.value)
    assert Lab(tmp_path / "data").experiments().empty  # the file itself is as it was
