"""Money qwenlab estimated is never shown as money the API reported.

A task whose images were made (so paid for) and none downloaded, with no `cost` in Runware's
answer (includeCost off), is logged failed with its estimate in `tasks.cost_usd` and
cost_source 'estimate'. The cost summaries read any cost_usd as the API's: `api_usd`, "reported by
the API", "failed requests were charged ... by the API", a timeline source of 'api'. Here the
state is made by a real run against a MockTransport answering as Runware does (an image item
with its imageURL and no `cost`, the image's GET refused), and by hand in a log of the schema
before migration m017.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from qwenlab import Sweep
from qwenlab.cli import cli
from qwenlab.costs import Costs
from qwenlab.store.log import SPENT_SQL, Log
from tests.api.test_audit_fixes import PROMPT, lab_for
from tests.costs.test_rollups import _scanned, assert_exact
from tests.sweeps.test_in_doubt import _LostOnce

ESTIMATE = 0.075  # the model's price for one image, what qwenlab counts the lost image at


def _lost_without_a_cost(data_dir: Path) -> tuple[Log, "_LostOnce"]:
    """A run whose one cell's image was made and could not be downloaded (410), its answer
    without a cost: the log holds the estimate in cost_usd, cost_source 'estimate'."""
    fake = _LostOnce()
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(Sweep(prompt=PROMPT, size="256x256", includeCost=False), name="nocost", progress=False, concurrency=1)
    [row] = lab.log.tasks(exp.id)
    assert row["status"] == "failed" and row["cost_source"] == "estimate" and row["cost_usd"] == pytest.approx(ESTIMATE)
    assert fake.results[row["task_uuid"]] and all("cost" not in item for item in fake.results[row["task_uuid"]])
    return lab.log, fake


def _assert_estimated(costs: Costs) -> None:
    t = costs.totals()
    assert t["cost_usd"] == pytest.approx(ESTIMATE)  # counted: it was paid for
    assert t["api_usd"] == 0 and t["emulated_usd"] == 0, "no API reported that money"
    assert t["estimate_usd"] == pytest.approx(ESTIMATE)
    assert t["failed_usd"] == pytest.approx(ESTIMATE) and t["failed_estimate_usd"] == pytest.approx(ESTIMATE)
    row = costs.by("experiment").loc["nocost"]
    assert (row["api_usd"], row["estimate_usd"], row["cost_usd"]) == (0, pytest.approx(ESTIMATE), pytest.approx(ESTIMATE))
    assert costs.by("day")["api_usd"].sum() == 0 and costs.by("setting")["estimate_usd"].sum() == pytest.approx(ESTIMATE)
    assert costs.estimate_vs_actual().loc["nocost", "api_estimated_usd"] == 0  # no API number to set against an estimate
    assert costs.timeline()["cost_source"].tolist() == ["estimate"]
    assert costs.tasks()["cost_source"].tolist() == ["estimate"]
    assert costs.failed()[["cost_usd", "cost_source"]].values.tolist() == [[pytest.approx(ESTIMATE), "estimate"]]
    headline = costs.headline()[0]
    assert "reported by the API" not in headline.replace("$0.00 reported by the API", "") and "$0.075 estimated" in headline
    notes = " ".join(costs.notes())
    assert "by the API" not in notes and "$0.075 is estimated" in notes


def test_an_estimated_charge_of_a_failed_task_is_not_reported_by_the_api(data_dir: Path) -> None:
    log, _ = _lost_without_a_cost(data_dir)
    costs = Costs(log)
    _assert_estimated(costs)
    _scanned(costs, _assert_estimated)  # the tasks summed, not the rollups: the same words
    assert_exact(log)


def test_the_cli_shows_the_estimated_charge_as_an_estimate(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lost_without_a_cost(data_dir)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(data_dir))
    out = CliRunner().invoke(cli, ["costs", "--json"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["totals"]["api_usd"] == 0 and answer["totals"]["estimate_usd"] == pytest.approx(ESTIMATE)
    assert answer["rows"][0]["api_usd"] == 0 and answer["rows"][0]["estimate_usd"] == pytest.approx(ESTIMATE)
    text = CliRunner().invoke(cli, ["costs"]).output
    assert "$0.075 estimated" in text and "$0.075 reported by the API" not in text


def test_a_retried_estimated_charge_stays_an_estimate_in_the_history(data_dir: Path) -> None:
    """The server forgot the task before the next run asked for its image: the cell is bought
    again, and the earlier attempt, kept in history_json, is still counted at its estimate."""
    log, fake = _lost_without_a_cost(data_dir)
    fake.results.clear()  # getResponse: taskFailedOrNotFound
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(Sweep(prompt=PROMPT, size="256x256", includeCost=False), name="nocost", progress=False,
                      concurrency=1)
    assert exp.counts()["done"] == 1
    [row] = lab.log.tasks(exp.id)
    assert json.loads(row["history_json"])[0]["cost_source"] == "estimate"
    for costs in (Costs(lab.log), Costs(lab.log, since="2000-01-01T12:00")):  # rollups, and the tasks of a day's part
        t = costs.totals()
        assert t["tasks"] == 2 and t["api_usd"] == 0 and t["estimate_usd"] == pytest.approx(2 * ESTIMATE)
        assert t["failed_estimate_usd"] == pytest.approx(ESTIMATE)
        assert sorted(costs.timeline()["cost_source"]) == ["estimate", "estimate"]
    assert_exact(lab.log)


def test_the_report_shows_the_estimated_charge_as_an_estimate(data_dir: Path, tmp_path: Path) -> None:
    from qwenlab import Lab

    _lost_without_a_cost(data_dir)
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    page = lab.experiment("nocost").export(tmp_path / "report.html").read_text(encoding="utf-8")
    costs = page[page.index('id="costs"'):page.index('id="ratings"')]
    assert "$0.075 estimated" in costs and "$0.075 reported by the API" not in costs
    assert "charged $0.075 by the API" not in page
    assert "$0.075 <span class=\"muted\">(estimate)</span>" in page  # the request's own row


def test_datasette_gives_the_estimated_charge_apart_from_the_api_s_numbers(data_dir: Path) -> None:
    from tests.store.test_datasette_config import _get

    _lost_without_a_cost(data_dir)
    [row] = _get(data_dir, "/qwenlab/cost_by_experiment.json?_shape=array")[0].json()
    assert (row["cost_usd"], row["reported_usd"], row["estimate_usd"]) == (ESTIMATE, 0, ESTIMATE)


# -- the migration ---------------------------------------------------------------------------------
def _old_log(path: Path) -> None:
    """A log of the schema before m017 (every migration up to m016), its rollups kept by m013's
    triggers: a task done at the API's cost, one done with none reported, the failed one whose
    estimate is in cost_usd, a failed one the API charged, one in doubt, one retried."""
    import sqlite_utils

    from qwenlab.store.migrations.runner import migrate

    db = sqlite_utils.Database(path)
    migrate(db, until="m016_key_ids")
    db["experiments"].insert({"id": 1, "name": "old", "status": "done", "axes_json": '{"promptExtend": ["on", "off"]}'})
    rows = [("done", 0.08, "api", 1), ("done", None, "estimate", 1), ("failed", ESTIMATE, "estimate", 0),
            ("failed", 0.01, "api", 0), ("sent", None, None, 0), ("done", ESTIMATE, "api", 1)]
    for i, (status, cost, source, images) in enumerate(rows):
        day = f"2026-03-0{1 + i % 3}"
        db["tasks"].insert({"id": i + 1, "task_uuid": f"t{i}", "experiment_id": 1, "cell_key": f"k{i}", "status": status,
                            "model": "alibaba:qwen-image@2.0-pro", "price_usd": ESTIMATE, "estimated_cost_usd": ESTIMATE,
                            "number_results": 1, "cell_json": f'{{"promptExtend": {"true" if i % 2 else "false"}}}',
                            "backend": "runware", "cost_usd": cost, "cost_source": source,
                            "created_at": f"{day}T09:00:00.000+00:00", "sent_at": f"{day}T09:00:01.000+00:00",
                            "completed_at": None if status == "sent" else f"{day}T09:00:05.000+00:00"})
        for k in range(images):
            db["images"].insert({"image_uuid": f"i{i}-{k}", "task_id": i + 1, "experiment_id": 1, "cost_usd": cost})
    # the last one was retried: its earlier attempt failed with its estimate counted, as reset_task kept it then
    db["tasks"].update(6, {"history_json": json.dumps([{"task_uuid": "t5-0", "status": "failed", "cost_usd": 0.02,
                                                         "sent_at": "2026-03-03T08:00:00.000+00:00",
                                                         "completed_at": "2026-03-03T08:00:05.000+00:00"}])})
    db.close()


def test_a_log_of_the_previous_schema_upgrades_in_place_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_log(path)
    import sqlite3

    with sqlite3.connect(path) as conn:
        before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ("experiments", "tasks", "images")}
        spent_before = conn.execute(f"SELECT {SPENT_SQL} FROM tasks t").fetchone()[0]
    log = Log(path)
    applied = [r["name"] for r in log.rows("SELECT name FROM _qwenlab_migrations")]
    assert "m017_cost_sources" in applied
    with sqlite3.connect(path) as conn:  # every row as it was: the migration moves no money, it labels it
        assert {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in before} == before
    t = Costs(log).totals()
    assert t["cost_usd"] == pytest.approx(spent_before) == pytest.approx(0.08 + ESTIMATE + ESTIMATE + 0.01 + ESTIMATE + ESTIMATE
                                                                          + 0.02)
    assert t["api_usd"] == pytest.approx(0.08 + 0.01 + ESTIMATE + 0.02)  # the API's numbers, and an old history's
    assert t["estimate_usd"] == pytest.approx(2 * ESTIMATE) and t["failed_estimate_usd"] == pytest.approx(ESTIMATE)
    assert t["in_doubt_usd"] == pytest.approx(ESTIMATE) and t["failed_usd"] == pytest.approx(ESTIMATE + 0.01 + 0.02)
    assert log.experiments_frame().set_index("name").loc["old", "cost_usd"] == pytest.approx(spent_before)
    from qwenlab.store.tasks import SPENT_ESTIMATE_SQL
    estimated = log.rows(f"SELECT {SPENT_ESTIMATE_SQL} AS usd FROM tasks t")[0]["usd"]  # Datasette's estimate_usd
    assert estimated == pytest.approx(t["estimate_usd"] + t["in_doubt_usd"])
    plan = " ".join(r["detail"] for r in log.rows(
        "EXPLAIN QUERY PLAN SELECT t.cost_source, t.cost_usd, t.backend, t.status FROM tasks t WHERE t.experiment_id = 1"))
    assert "COVERING INDEX idx_tasks_costs" in plan, plan  # the sources are read from the cost index, not the rows
    assert_exact(log)
    by_day = Costs(log).by("day")
    pd.testing.assert_frame_equal(by_day, _scanned(Costs(log), lambda c: c.by("day")))
    assert by_day.loc["2026-03-03", "estimate_usd"] == pytest.approx(ESTIMATE)  # the failed task's day
    log.close()
