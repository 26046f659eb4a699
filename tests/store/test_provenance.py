"""Provenance in the log: the m007 columns (old rows stay NULL: "not recorded"), and the experiment
as it shows itself: its summary, repr and HTML say when its images are synthetic and its costs
emulated, when it is mixed, and when where it ran was not recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from qwenlab.store.log import Log
from qwenlab.store.migrations.runner import MIGRATIONS, migrate
from qwenlab.store.provenance import Provenance
from tests.support.backends import relabel
from tests.support.labkit import run_sweep


def test_m007_adds_nullable_provenance_columns_and_old_rows_stay_unknown(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrate(db, until="m006_text_readings_and_scores")
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    db["tasks"].insert({"task_uuid": "u1", "experiment_id": 1, "cell_key": "k1", "status": "done", "cost_usd": 0.075})
    db.close()

    log = Log(path)
    names = log.migrations()
    assert "m007_provenance" in names and names.index("m007_provenance") == names.index("m006_text_readings_and_scores") + 1
    assert names == [fn.__name__ for fn in MIGRATIONS]
    assert {"backend", "api_host", "qwenlab_version"} <= set(log.db["tasks"].columns_dict)
    assert {"backend", "api_host"} <= set(log.db["experiments"].columns_dict)
    (task,) = log.tasks(1)
    assert (task["backend"], task["api_host"], task["qwenlab_version"]) == (None, None, None)
    assert log.experiment("old")["backend"] is None
    assert log.provenance(1).kind == "unknown"


def test_m007_is_applied_before_any_later_migration() -> None:
    names = [fn.__name__ for fn in MIGRATIONS]
    assert names.index("m007_provenance") > names.index("m006_text_readings_and_scores")
    later = [n for n in names if n > "m007_provenance"]
    assert all(names.index(n) > names.index("m007_provenance") for n in later)


def test_the_cost_index_still_covers_the_cost_sums_with_the_backend(tmp_path: Path) -> None:
    log = Log(tmp_path / "x.db")
    plan = " ".join(r["detail"] for r in log.rows(
        "EXPLAIN QUERY PLAN SELECT t.experiment_id, coalesce(t.backend, 'unknown'), total(t.cost_usd) FROM tasks t GROUP BY 1, 2"))
    assert "COVERING INDEX idx_tasks_costs" in plan


def test_mark_sent_records_where_the_request_goes_and_a_reset_keeps_it_in_history(tmp_path: Path) -> None:
    import json

    log = Log(tmp_path / "x.db")
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([{"task_uuid": "u1", "experiment_id": exp["id"], "cell_key": "a", "estimated_cost_usd": 0.075}])
    (task,) = log.tasks(exp["id"])
    log.mark_sent(task["id"], "{}", backend="runware", api_host="api.runware.ai", qwenlab_version="9.9")
    row = log.task(task["id"])
    assert (row["status"], row["backend"], row["api_host"], row["qwenlab_version"]) == ("sent", "runware", "api.runware.ai", "9.9")
    log.complete_task(task["id"], {"status": "failed", "error_code": "inferenceError"})
    log.reset_task(task["id"], task_uuid="u2", request_json="{}")
    row = log.task(task["id"])
    assert row["backend"] is None and json.loads(row["history_json"])[0]["backend"] == "runware"


def test_a_task_marked_sent_that_never_left_is_as_before_once_unmarked(tmp_path: Path) -> None:
    log = Log(tmp_path / "x.db")
    exp = log.ensure_experiment("e", model="m")
    log.add_tasks([{"task_uuid": "u1", "experiment_id": exp["id"], "cell_key": "a", "estimated_cost_usd": 0.075,
                    "request_json": '{"taskUUID": "u1"}'}])
    (before,) = log.tasks(exp["id"])
    log.mark_sent(before["id"], before["request_json"], backend="emulator", api_host="127.0.0.1:1", qwenlab_version="9.9")
    log.unmark_sent(before["id"])
    after = log.task(before["id"])
    assert after == before  # pending, no send time, no provenance: by("backend") counts it where it did
    assert log.task_counts(exp["id"]) == {"pending": 1}


# -- the experiment as it shows itself ----------------------------------------------------------------
@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x 2 repeats = 8 cells, run on the emulator (found by its marker)."""
    return run_sweep(emulator, data_dir, name="lumiere", fail_one=False)


def test_an_emulator_experiment_says_its_images_are_synthetic_and_its_costs_emulated(exp) -> None:
    assert exp.provenance.kind == "emulator" and exp.provenance.synthetic
    text = exp.summary()
    lines = text.splitlines()
    assert lines[1].strip().startswith("SYNTHETIC: run on qwenlab's offline emulator")
    assert "not on Runware" in text and "costs emulated" in text
    assert "$0.60 emulated (nothing paid)" in text
    assert repr(exp) == text
    html = exp._repr_html_()
    assert "qwenlab-provenance" in html and "SYNTHETIC" in html.split("<table")[0]
    table = html.split("<table")[1]  # the table reads values as the summary above it does: on/off
    assert "<td>on</td>" in table and "<td>True</td>" not in table
    df = exp.df
    assert set(df["backend"]) == {"emulator"} and set(df["cost_source"]) == {"emulated"}
    assert set(exp.images["cost_source"]) == {"emulated"}


def test_a_runware_experiment_names_its_host(exp) -> None:
    relabel(exp, "runware")
    text = exp.summary()
    assert "SYNTHETIC" not in text and "emulated" not in text
    assert "run on Runware (api.runware.ai)" in text and "$0.60 spent" in text
    assert set(exp.df["cost_source"]) == {"api"}


def test_a_mixed_experiment_says_so(exp) -> None:
    relabel(exp, "runware", every=2)
    prov = exp.provenance
    assert prov.kind == "mixed" and (prov.emulator, prov.runware) == (4, 4)
    text = exp.summary()
    assert "MIXED: 4 cells ran on qwenlab's offline emulator" in text and "4 on Runware" in text
    assert "$0.60 spent, $0.30 of it emulated (nothing paid)" in text
    html = exp._repr_html_()
    assert "MIXED" in html and "<th>backend</th>" in html


def test_cells_logged_before_provenance_say_it_was_not_recorded(exp) -> None:
    relabel(exp, None)
    assert exp.provenance.kind == "unknown"
    assert "where these 8 cells ran was not recorded" in exp.summary()
    assert set(exp.df["backend"]) == {None}


def test_an_experiment_of_one_cell_says_cell_and_image_not_cells_and_images(emulator, data_dir: Path) -> None:
    one = run_sweep(emulator, data_dir, name="solo", axes={}, repeats=1, fail_one=False)
    text = one.summary()
    lines = text.splitlines()
    assert lines[0] == "Experiment 'solo' (done): 1/1 cell done", text
    assert lines[2].startswith("  1 image, $0.075 emulated"), text
    assert repr(one) == text


def test_one_cell_logged_before_provenance_is_this_cell_not_these_1_cell() -> None:
    assert Provenance(unknown=1).headline().startswith("where this cell ran was not recorded (logged before qwenlab "
                                                       "recorded it): it may be")
    assert Provenance(unknown=2).headline().startswith("where these 2 cells ran was not recorded")


def test_an_experiment_with_nothing_sent_says_nothing_of_where(tmp_path: Path) -> None:
    assert Provenance().kind == "none" and Provenance().headline() is None and Provenance().mark() == ""
