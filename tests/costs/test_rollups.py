"""The cost rollups (migration m013_cost_rollups) stay exact: after inserts, sends, completions,
retries (history_json), recoveries of requests in doubt, deletes, experiment deletion and bundle
imports, the trigger-kept rollups equal the rollups summed afresh from the tasks, and every summary
read from them equals the same summary summed over the tasks themselves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from qwenlab import Lab
from qwenlab.costs.frames import Costs
from qwenlab.costs.sql import AT_SQL
from qwenlab.costs.view import CostView
from qwenlab.store.log import SPENT_SQL, Log
from qwenlab.store.migrations.cost_rollups import FIRST_TASK_SQL, ROLLUP_KEYS, ROLLUP_SUMS, SCORE_KEYS, fill_cost_rollups
from tests.support.labkit import run_sweep

KEYS = ["experiment", "model", "size", "day", "week", "month", "year", "status", "backend", "setting", "promptExtend",
        ["experiment", "day"], ["experiment", "status", "backend"]]
KEPT_KEYS = ["experiment", "day", "status", "setting", "promptExtend", ["experiment", "status", "backend"]]  # a key of each kind


def _rollups(conn: sqlite3.Connection) -> tuple[list[tuple], ...]:
    keys = ", ".join(ROLLUP_KEYS)
    prices = conn.execute("SELECT * FROM cost_image_prices WHERE images != 0 ORDER BY 1, 2, 3, 4").fetchall()
    rollups = conn.execute(f"SELECT * FROM cost_rollups WHERE {' OR '.join(f'{c} != 0' for c in ROLLUP_SUMS)} "
                           f"ORDER BY {keys}").fetchall()
    settings = conn.execute(f"SELECT s.experiment_id, s.setting, {FIRST_TASK_SQL} AS first FROM cost_settings s "
                            "WHERE first IS NOT NULL ORDER BY 1, 2").fetchall()
    scores = conn.execute(f"SELECT * FROM cost_scores WHERE images != 0 ORDER BY {', '.join(SCORE_KEYS)}").fetchall()
    return rollups, settings, prices, scores


def assert_exact(log: Log) -> None:
    """The trigger-kept rollups are the rollups summed afresh, and the summaries agree with a scan."""
    kept = _rollups(log.db.conn)
    fresh = sqlite3.connect(":memory:")
    log.db.conn.backup(fresh)
    fresh.execute("DELETE FROM cost_rollups")
    fresh.execute("DELETE FROM cost_settings")
    fresh.execute("DELETE FROM cost_image_prices")
    fresh.execute("DELETE FROM cost_scores")

    class _Db:  # fill_cost_rollups takes a sqlite-utils Database: only execute() is used
        execute = fresh.execute
    fill_cost_rollups(_Db())  # type: ignore[arg-type]
    assert kept == _rollups(fresh)
    fresh.close()
    _listing_matches_the_tasks(log)
    # whole days, read from the rollups: all, and either side of the day a test moves a task to;
    # and bounds inside a day (the rest of the day read from the tasks): at requests' own times
    times = sorted(r["at"] for r in log.rows(f"SELECT {AT_SQL} AS at FROM tasks t WHERE {AT_SQL} IS NOT NULL"))
    inside = [(times[len(times) // 2], None), (None, times[len(times) // 2]), (times[0], times[-1]),
              ("2020-06-01T09:00", "2020-06-03T00:30"), ("2020-06-01T10:30", None)] if times else []
    inside = [(a, b) for a, b in inside if a is None or b is None or a < b]
    for since, until in ((None, None), ("2020-01-01", None), ("2020-06-02", None), (None, "2020-06-02"), *inside):
        costs = Costs(log, since=since, until=until)
        for key in KEYS:
            if key == "promptExtend" and "promptExtend" not in costs.axes():
                continue
            fast = costs.by(key)
            slow = _scanned(costs, lambda c, key=key: c.by(key))
            pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=0, atol=1e-9)
            if key in KEPT_KEYS:  # kept images, read from cost_scores (m015)
                fast = costs.per_kept_image(min_score=4, by=key)
                slow = _scanned(costs, lambda c, key=key: c.per_kept_image(min_score=4, by=key))
                pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=0, atol=1e-9)
        pd.testing.assert_frame_equal(costs.budget(), _scanned(costs, lambda c: c.budget()))
        pd.testing.assert_frame_equal(costs.estimate_vs_actual(), _scanned(costs, lambda c: c.estimate_vs_actual()))
        assert costs.totals() == _scanned(costs, lambda c: c.totals())
        prices = costs.price_changes()
        pd.testing.assert_frame_equal(prices, _scanned(costs, lambda c: c.price_changes()), check_dtype=False)


def _listing_matches_the_tasks(log: Log) -> None:
    """`qwenlab logs` (experiments_frame, from the rollups) against the same sums over the tasks."""
    listed = log.experiments_frame(archived=True).set_index("name")
    scanned = {r["name"]: r for r in log.rows(
        f"SELECT e.name, count(*) AS cells, total(t.status = 'done') AS done, total(t.status = 'failed') AS failed, "
        f"total(t.status = 'pending') AS pending, total(t.status = 'sent') AS sent, round({SPENT_SQL}, 6) AS usd, "
        "group_concat(DISTINCT CASE WHEN t.status != 'pending' THEN coalesce(t.backend, 'unknown') END) AS backend "
        "FROM tasks t JOIN experiments e ON e.id = t.experiment_id WHERE e.deleted_at IS NULL GROUP BY e.id")}
    for name, row in listed.iterrows():
        want = scanned.get(name)
        if want is None:
            assert row["cells"] == 0
            continue
        assert [row[c] for c in ("cells", "done", "failed", "pending", "in_doubt")] == \
            [want[c] for c in ("cells", "done", "failed", "pending", "sent")]
        assert row["cost_usd"] == pytest.approx(want["usd"], abs=1e-9)
        assert row["backend"] == (want["backend"] if "," not in (want["backend"] or ",") else "mixed") or \
            (want["backend"] is None and row["backend"] == "")


def _scanned(costs: Costs, summary):  # the same summary summed over every task (no rollups)
    original = CostView.rollups_answer
    CostView.rollups_answer = lambda self, keys: False  # type: ignore[method-assign]
    try:
        return summary(costs)
    finally:
        CostView.rollups_answer = original  # type: ignore[method-assign]


def _rate(log: Log, experiment: str) -> list[int]:
    """Rate an experiment's images 2 to 5 in turn, the first twice (kept, then not), the second
    with a note alone after its score (the score stays); returns the images' ids."""
    ids = [r["id"] for r in log.rows("SELECT i.id FROM images i JOIN experiments e ON e.id = i.experiment_id "
                                     "WHERE e.name = ? ORDER BY i.id", [experiment])]
    for n, image_id in enumerate(ids):
        log.rate(image_id, 2 + n % 4)
    if ids:
        log.rate(ids[0], 5)
        log.rate(ids[0], 3)
    if len(ids) > 1:
        log.rate(ids[1], note="the headline is right")
    return ids


def test_the_rollups_are_read_and_exact_after_a_sweep_with_a_failure(emulator, data_dir: Path) -> None:
    run_sweep(emulator, data_dir, name="posters", repeats=2)  # 8 cells, one failed
    log = Log(data_dir / "qwenlab.db")
    assert log.rows("SELECT sum(tasks) AS n FROM cost_rollups")[0]["n"] == 8
    assert Costs(log).by("status").loc["failed", "tasks"] == 1
    ids = _rate(log, "posters")
    assert log.rows("SELECT sum(images) AS n FROM cost_scores")[0]["n"] == len(ids) == 7
    assert Costs(log).per_kept_image(min_score=4)["kept"].sum() == sum(1 for n in range(1, 7) if 2 + n % 4 >= 4)
    assert_exact(log)


def test_retries_recoveries_and_deletes_keep_the_rollups_exact(tmp_path: Path) -> None:
    log = Log(tmp_path / "log.db")
    exp = log.ensure_experiment("e", model="runware:qwen@image-2", axes_json='{"promptExtend": ["on", "off"]}')
    cells = [{"task_uuid": f"u{i}", "experiment_id": exp["id"], "cell_key": f"c{i}", "model": "runware:qwen@image-2",
              "width": 1024, "height": 1024, "estimated_cost_usd": 0.0175, "price_usd": 0.0175, "number_results": 1,
              "cell_json": f'{{"promptExtend": {"true" if i % 2 else "false"}, "repeat": {i // 2}}}'} for i in range(6)]
    assert log.add_tasks(cells) == 6
    assert_exact(log)
    ids = [t["id"] for t in log.tasks(exp["id"])]
    for i, task_id in enumerate(ids[:4]):
        log.mark_sent(task_id, "{}", backend="emulator" if i % 2 else "runware")
    # done with the API's cost, done with none (estimate), failed with a charge, left in doubt
    log.complete_task(ids[0], {"status": "done", "cost_usd": 0.0175}, [{"image_uuid": "i0", "path": "a.jpg", "cost_usd": 0.0175}])
    log.complete_task(ids[1], {"status": "done"}, [{"image_uuid": "i1", "path": "b.jpg"}, {"image_uuid": "i1b", "path": "c.jpg"}])
    log.complete_task(ids[2], {"status": "failed", "cost_usd": 0.003, "error_code": "x"})
    assert_exact(log)
    log.reset_task(ids[2], task_uuid="u2-again", request_json="{}")  # retried: the failed attempt goes to history_json
    log.mark_sent(ids[2], "{}", backend="runware")
    log.complete_task(ids[2], {"status": "done", "cost_usd": 0.0181}, [{"image_uuid": "i2", "path": "d.jpg", "cost_usd": 0.0181}])
    assert_exact(log)
    log.complete_task(ids[3], {"status": "done", "cost_usd": 0.0175}, [{"image_uuid": "i3", "path": "e.jpg"}])  # recovered
    image = {r["image_uuid"]: r["id"] for r in log.rows("SELECT id, image_uuid FROM images")}
    for uuid, scores in {"i0": [5], "i1": [2, 4], "i1b": [3], "i2": [4, None], "i3": [5]}.items():
        for score in scores:
            log.rate(image[uuid], score)
    assert_exact(log)
    with log.transaction() as db:  # a rating an INSERT OR IGNORE leaves out (as a bundle's import may) changes nothing
        db.execute("CREATE UNIQUE INDEX test_one_rating_a_time ON ratings (image_id, score, created_at)")
        db.execute("INSERT OR IGNORE INTO ratings (image_id, score, created_at) SELECT image_id, score, created_at FROM ratings "
                   "WHERE score IS NOT NULL")
        db.execute("DROP INDEX test_one_rating_a_time")
    assert_exact(log)
    with log.transaction() as db:  # a day later, by hand
        db.execute("UPDATE tasks SET completed_at = '2020-06-01T10:00:00.000+00:00' WHERE id = ?", [ids[0]])
        db.execute("UPDATE ratings SET score = 2 WHERE image_id = ?", [image["i0"]])  # a score corrected
        db.execute("UPDATE ratings SET image_id = ? WHERE image_id = ? AND score = 4", [image["i3"], image["i2"]])  # moved
        db.execute("DELETE FROM ratings WHERE image_id = ? AND score = 4", [image["i1"]])  # its 2 counts again
        db.execute("UPDATE tasks SET status = 'failed' WHERE id = ?", [ids[3]])
        db.execute("DELETE FROM ratings WHERE image_id = ?", [image["i1b"]])
        db.execute("DELETE FROM images WHERE image_uuid = 'i1b'")
        db.execute("UPDATE tasks SET price_usd = 0.02 WHERE id = ?", [ids[1]])  # a price corrected
        db.execute("UPDATE images SET cost_usd = 0.0176 WHERE image_uuid = 'i0'")
        db.execute("DELETE FROM tasks WHERE id = ?", [ids[5]])
        db.execute("UPDATE tasks SET cell_json = '{\"promptExtend\": true, \"repeat\": 9}' WHERE id = ?", [ids[4]])
        # the first task of its setting leaves it: by("setting") still lists that setting where its first task is
        db.execute("UPDATE tasks SET cell_json = '{\"promptExtend\": null, \"repeat\": 0}' WHERE id = ?", [ids[0]])
    assert_exact(log)
    assert Costs(log).totals()["cost_usd"] == pytest.approx(0.0175 + 0.0175 + 0.003 + 0.0181 + 0.0175, abs=1e-12)
    kept = Costs(log).per_kept_image(min_score=4, by="status")
    assert kept[["rated", "kept"]].to_dict("index") == {
        "done": {"rated": 2, "kept": 0}, "failed": {"rated": 1, "kept": 1}, "pending": {"rated": 0, "kept": 0}}


def test_deleting_and_importing_experiments_keeps_the_rollups_exact(emulator, data_dir: Path, tmp_path: Path) -> None:
    run_sweep(emulator, data_dir, name="posters", repeats=2)
    run_sweep(emulator, data_dir, name="noctis", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    _rate(lab.log, "posters")
    _rate(lab.log, "noctis")
    bundle = lab.bundle(["posters"], tmp_path / "posters.zip")
    spent = Costs(lab).totals()["cost_usd"]
    lab.experiment("noctis").delete(confirm=True, force=True)
    assert Costs(lab).totals()["cost_usd"] == spent  # a deleted experiment's spend stays
    assert_exact(lab.log)
    ben = Lab(tmp_path / "ben", client=lambda: pytest.fail("nothing here may connect"))
    ben.import_bundle(bundle.path)
    assert_exact(ben.log)
    imported = Costs(ben).per_kept_image(min_score=4)  # the bundle carries the ratings
    assert imported.loc["posters", "kept"] > 0
    pd.testing.assert_frame_equal(imported, Costs(lab).per_kept_image(min_score=4).loc[["posters"]])
    assert Costs(ben).by("experiment").loc["posters", "cost_usd"] == Costs(lab).by("experiment").loc["posters", "cost_usd"]


def test_a_log_of_before_the_image_prices_by_day_gets_them(tmp_path: Path) -> None:
    """m014: a log whose image prices were kept without their day has them counted per day on
    opening, and its windows of whole days read from the rollups as from the tasks."""
    import sqlite_utils

    from qwenlab.store.migrations.runner import migrate

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrate(db, until="m013_cost_rollups")
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    for i, (day, cost) in enumerate([("2026-03-01", 0.075), ("2026-03-02", 0.08), ("2026-03-02", None)]):
        db["tasks"].insert({"id": i + 1, "task_uuid": f"t{i}", "experiment_id": 1, "cell_key": f"k{i}", "status": "done",
                            "model": "alibaba:qwen-image@2.0-pro", "price_usd": 0.075, "estimated_cost_usd": 0.075,
                            "number_results": 1, "created_at": f"{day}T09:00:00.000+00:00",
                            "completed_at": f"{day}T10:00:00.000+00:00", "cost_usd": cost})
        db["images"].insert({"id": i + 1, "image_uuid": f"i{i}", "task_id": i + 1, "experiment_id": 1, "cost_usd": cost})
    db.close()

    log = Log(path)
    assert log.rows("SELECT day, sum(images) AS n FROM cost_image_prices GROUP BY day ORDER BY day") == [
        {"day": "2026-03-01", "n": 1}, {"day": "2026-03-02", "n": 2}]
    assert_exact(log)
    second = Costs(log, since="2026-03-02").price_changes()
    assert (second["images"].sum(), second["differing_images"].sum()) == (2, 1)  # the $0.08 image of that day


def test_a_log_of_before_the_latest_scores_gets_them(tmp_path: Path) -> None:
    """m015: a log rated before cost_scores existed has its images' latest scores counted on
    opening, and its kept images read from them as from the ratings."""
    import sqlite_utils

    from qwenlab.store.migrations.runner import migrate

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrate(db, until="m014_image_prices_by_day")
    db["experiments"].insert({"id": 1, "name": "old", "status": "done", "axes_json": '{"promptExtend": ["on", "off"]}'})
    for i in range(4):
        db["tasks"].insert({"id": i + 1, "task_uuid": f"t{i}", "experiment_id": 1, "cell_key": f"k{i}", "status": "done",
                            "model": "alibaba:qwen-image@2.0-pro", "price_usd": 0.075, "estimated_cost_usd": 0.075,
                            "number_results": 1, "cell_json": f'{{"promptExtend": {"true" if i % 2 else "false"}}}',
                            "created_at": f"2026-03-0{1 + i // 2}T09:00:00.000+00:00"})
        db["images"].insert({"id": i + 1, "image_uuid": f"i{i}", "task_id": i + 1, "experiment_id": 1})
    # image 1 kept then not, 2 kept, 3 a note alone, 4 not rated
    for image_id, score in [(1, 5), (2, 4), (1, 2), (3, None)]:
        db["ratings"].insert({"image_id": image_id, "score": score})
    db.close()

    log = Log(path)
    assert log.rows("SELECT score, sum(images) AS n FROM cost_scores GROUP BY score ORDER BY score") == [
        {"score": 2, "n": 1}, {"score": 4, "n": 1}]
    assert_exact(log)
    kept = Costs(log).per_kept_image(min_score=4, by="promptExtend")
    assert kept[["images", "rated", "kept"]].to_dict("index") == {
        "off": {"images": 2, "rated": 1, "kept": 0}, "on": {"images": 2, "rated": 1, "kept": 1}}
