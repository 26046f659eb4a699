"""Cost analysis on logs whose true totals are known: written through the real `Log` API (so the
schema is the real one), and one written by a real sweep against the emulator, whose ledger
says what was charged."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import tomllib
import uuid
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.core.model import get_model, register_model
from qwenlab.core.values import format_usd, format_value
from qwenlab.costs import Costs
from qwenlab.errors import ExperimentNotFoundError, UnknownCostKeyError
from qwenlab.store.log import Log
from tests.support.sqlite_build import HAS_DBSTAT

PRO, BASE = "alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"
CREATED = "2026-02-28T09:00:00.000+00:00"


def at(day: str, hour: int = 12) -> str:
    return f"{day}T{hour:02d}:00:00.000+00:00"


# -- building a log with known totals -------------------------------------------------------------
def experiment(log: Log, name: str, axes: dict[str, list], budget: float | None = None, model: str = PRO) -> int:
    sweep = {"model": model, "axes": {a: {"kind": "param", "labels": [format_value(v) for v in vals], "values": vals}
                                      for a, vals in axes.items()}}
    row = log.ensure_experiment(name, model=model, budget_usd=budget, sweep_json=json.dumps(sweep),
                                axes_json=json.dumps({a: [format_value(v) for v in vals] for a, vals in axes.items()}))
    return int(row["id"])


def task(log: Log, exp_id: int, cell: dict, *, model: str = PRO, price: float = 0.075, n: int = 1,
         size: tuple[int, int] = (1024, 1536)) -> int:
    key = json.dumps(cell, sort_keys=True)
    log.add_tasks([{
        "task_uuid": str(uuid.uuid4()), "experiment_id": exp_id, "cell_key": key, "cell_json": json.dumps(cell),
        "repeat": cell.get("repeat", 0), "model": model, "prompt": "a poster", "width": size[0], "height": size[1],
        "number_results": n, "seed_policy": "sample", "estimated_cost_usd": round(price * n, 6), "price_usd": price,
        "created_at": CREATED,
    }])
    return int(log.rows("SELECT id FROM tasks WHERE experiment_id = ? AND cell_key = ?", [exp_id, key])[0]["id"])


def send(log: Log, task_id: int, when: str) -> None:
    log.mark_sent(task_id, "{}")
    log.note_task(task_id, sent_at=when)


def finish(log: Log, task_id: int, when: str, image_costs: list[float | None], *, status: str = "done",
           task_cost: float | None = None) -> None:
    """Complete a sent task; its cost is the sum of its images' API costs unless given."""
    row = log.task(task_id)
    reported = [c for c in image_costs if c is not None]
    cost = task_cost if task_cost is not None else (round(sum(reported), 6) if reported else None)
    images = [{"image_uuid": str(uuid.uuid4()), "task_uuid": row["task_uuid"], "experiment_id": row["experiment_id"],
               "cost_usd": c, "cost_source": "api" if c is not None else "estimate", "path": f"images/{i}.jpg"}
              for i, c in enumerate(image_costs)]
    log.complete_task(task_id, {"status": status, "cost_usd": cost, "cost_source": "api" if cost is not None else "estimate",
                                "completed_at": when, "error_code": "inferenceError" if status == "failed" else None},
                      images)


def images_of(log: Log, task_id: int) -> list[int]:
    return [r["id"] for r in log.rows("SELECT id FROM images WHERE task_id = ? ORDER BY id", [task_id])]


@pytest.fixture
def known(tmp_path: Path) -> Log:
    """alpha (PRO at $0.075, budget $0.50, axes promptExtend x size) and beta (BASE, whose
    recorded price changed from $0.035 to $0.030 on 2026-04-01, axis prompt). True totals in
    TRUTH below, worked out by hand."""
    log = Log(tmp_path / "known.db")
    a = experiment(log, "alpha", {"promptExtend": [True, False], "size": ["1024x1536", "1536x1024"]}, budget=0.50)
    tall, wide = (1024, 1536), (1536, 1024)
    t = {}
    t[1] = task(log, a, {"promptExtend": True, "size": "1024x1536", "repeat": 0}, size=tall)
    t[2] = task(log, a, {"promptExtend": False, "size": "1024x1536", "repeat": 0}, size=tall)
    t[3] = task(log, a, {"promptExtend": True, "size": "1536x1024", "repeat": 0}, size=wide)
    t[4] = task(log, a, {"promptExtend": False, "size": "1536x1024", "repeat": 0}, size=wide)
    t[5] = task(log, a, {"promptExtend": True, "size": "1024x1536", "repeat": 1}, size=tall)
    t[6] = task(log, a, {"promptExtend": False, "size": "1024x1536", "repeat": 1}, size=tall)
    t[7] = task(log, a, {"promptExtend": True, "size": "1536x1024", "repeat": 1}, size=wide)
    t[8] = task(log, a, {"promptExtend": False, "size": "1536x1024", "repeat": 1}, size=wide)
    for i, day in [(1, "2026-03-01"), (2, "2026-03-01"), (3, "2026-03-02"), (4, "2026-03-02"), (5, "2026-03-03"),
                   (6, "2026-03-03"), (7, "2026-03-04")]:
        send(log, t[i], at(day, 11))
    finish(log, t[1], at("2026-03-01"), [0.075])
    finish(log, t[2], at("2026-03-01"), [0.075])
    finish(log, t[3], at("2026-03-02"), [0.080])  # the API charged more than the description's price
    finish(log, t[4], at("2026-03-02"), [None])  # no cost reported: the estimate counts
    finish(log, t[5], at("2026-03-03"), [], status="failed")  # failed, not charged
    finish(log, t[6], at("2026-03-03"), [], status="failed", task_cost=0.075)  # failed and charged
    # t7: sent, never answered (in doubt); t8: never sent
    b = experiment(log, "beta", {"prompt": ["a", "b", "c"]}, model=BASE)
    t[9] = task(log, b, {"prompt": "a", "repeat": 0}, model=BASE, price=0.035, n=2, size=(1024, 1024))
    t[10] = task(log, b, {"prompt": "b", "repeat": 0}, model=BASE, price=0.030, size=(1024, 1024))
    t[11] = task(log, b, {"prompt": "c", "repeat": 0}, model=BASE, price=0.030, size=(1024, 1024))
    send(log, t[9], at("2026-03-10", 11))
    finish(log, t[9], at("2026-03-10"), [0.035, 0.035])
    send(log, t[10], at("2026-04-01", 11))
    finish(log, t[10], at("2026-04-01"), [0.030])
    # t11 failed once and was charged for it, then was retried under a new taskUUID and succeeded
    send(log, t[11], at("2026-04-02", 9))
    finish(log, t[11], at("2026-04-02", 9), [], status="failed", task_cost=0.030)
    log.reset_task(t[11], task_uuid=str(uuid.uuid4()), request_json="{}")
    send(log, t[11], at("2026-04-02", 11))
    finish(log, t[11], at("2026-04-02"), [0.030])
    # ratings: the latest one with a score counts
    i1, i2, i3, i4 = (images_of(log, t[k])[0] for k in (1, 2, 3, 4))
    log.rate(i1, 5)
    log.rate(i1, 2)  # re-rated: no longer kept
    log.rate(i2, 4)
    log.rate(i3, 3)
    log.rate(i4, 5)
    i9a, i9b = images_of(log, t[9])
    log.rate(i9a, 5)
    log.rate(i9b, 4)
    log.rate(images_of(log, t[10])[0], None, note="a note, no score")
    log.rate(images_of(log, t[11])[0], 1)
    log.task_ids = t  # type: ignore[attr-defined]
    return log


TRUTH = {
    "alpha": {"tasks": 8, "done": 4, "failed": 2, "in_doubt": 1, "pending": 1, "images": 4,
              "api_usd": 0.075 + 0.075 + 0.080 + 0.075, "estimate_usd": 0.075, "in_doubt_usd": 0.075, "failed_usd": 0.075,
              "estimated_usd": 7 * 0.075},
    "beta": {"tasks": 4, "done": 3, "failed": 1, "in_doubt": 0, "pending": 0, "images": 4,
             "api_usd": 0.070 + 0.030 + 0.030 + 0.030, "estimate_usd": 0.0, "in_doubt_usd": 0.0, "failed_usd": 0.030,
             "estimated_usd": 0.070 + 0.030 + 0.030 + 0.030},
}
for _row in TRUTH.values():
    _row["cost_usd"] = _row["api_usd"] + _row["estimate_usd"] + _row["in_doubt_usd"]
TOTAL = TRUTH["alpha"]["cost_usd"] + TRUTH["beta"]["cost_usd"]  # 0.615


# -- the frames -----------------------------------------------------------------------------------
def test_totals_are_the_true_totals(known: Log) -> None:
    t = Costs(known).totals()
    assert t["cost_usd"] == pytest.approx(TOTAL) == pytest.approx(0.615)
    for col in ("tasks", "done", "failed", "in_doubt", "pending", "images"):
        assert t[col] == TRUTH["alpha"][col] + TRUTH["beta"][col], col
    for col in ("api_usd", "estimate_usd", "in_doubt_usd", "failed_usd", "estimated_usd"):
        assert t[col] == pytest.approx(TRUTH["alpha"][col] + TRUTH["beta"][col]), col


def test_by_experiment_has_every_part_of_the_spend(known: Log) -> None:
    df = Costs(known).by("experiment")
    assert list(df.index) == ["alpha", "beta"]
    for name, truth in TRUTH.items():
        for col, want in truth.items():
            assert df.loc[name, col] == pytest.approx(want), (name, col)
    assert df.loc["alpha", "usd_per_image"] == pytest.approx(TRUTH["alpha"]["cost_usd"] / 4)


def test_failed_tasks_are_shown_and_cost_nothing_unless_charged(known: Log) -> None:
    costs = Costs(known)
    failed = costs.failed()
    assert len(failed) == 3  # t5, t6, and the first attempt of t11 (kept in its history)
    charged = failed[failed["cost_usd"].fillna(0) > 0]
    assert sorted(charged["cost_usd"]) == pytest.approx([0.030, 0.075])
    assert set(failed["retried"]) == {0, 1}
    assert (failed["error_code"] == "inferenceError").all()
    assert any("failed requests were charged $0.105" in n for n in costs.notes())
    tasks = costs.tasks()
    t5 = tasks[tasks["task_id"] == known.task_ids[5]].iloc[0]  # type: ignore[attr-defined]
    assert (t5["cost"], t5["cost_source"]) == (0.0, "none")


def test_cost_source_marks_api_estimate_and_in_doubt(known: Log) -> None:
    tasks = Costs(known).tasks().set_index("task_id")
    ids = known.task_ids  # type: ignore[attr-defined]
    assert tasks.loc[ids[1], "cost_source"] == "api"
    assert (tasks.loc[ids[4], "cost_source"], tasks.loc[ids[4], "cost"]) == ("estimate", 0.075)
    assert (tasks.loc[ids[7], "cost_source"], tasks.loc[ids[7], "cost"]) == ("in_doubt", 0.075)
    assert (tasks.loc[ids[8], "cost_source"], tasks.loc[ids[8], "cost"]) == ("none", 0.0)
    assert Costs(known).tasks()["cost"].sum() == pytest.approx(TOTAL)


def test_an_api_cost_that_differs_from_the_price_is_said(known: Log) -> None:
    costs = Costs(known)
    prices = costs.price_changes()
    pro = prices[prices["model"] == PRO].iloc[0]
    assert (pro["price_usd"], pro["images"], pro["api_images"], pro["differing_images"]) == (0.075, 4, 3, 1)
    assert pro["api_minus_price_usd"] == pytest.approx(0.005)
    assert (pro["api_min_usd"], pro["api_max_usd"]) == (0.075, 0.080)
    note = next(n for n in costs.notes() if "differs from the description's price" in n)
    assert "for 1 of 3 images of alibaba:qwen-image@2.0-pro sent 2026-03-01 to 2026-03-04" in note
    assert "charged $0.075 to $0.08 per image where $0.075 was recorded (+$0.005 in all)" in note
    assert note in costs.summary()


def test_prices_are_dated_per_task(known: Log) -> None:
    prices = Costs(known).price_changes()
    base = prices[prices["model"] == BASE]
    assert list(base["price_usd"]) == [0.035, 0.030]  # in time order
    assert list(base["first_at"].str[:10]) == ["2026-03-10", "2026-04-01"]
    assert list(base["images"]) == [2, 2]


def test_changing_a_price_in_the_description_does_not_rewrite_past_costs(known: Log) -> None:
    shipped = get_model(BASE)
    data = tomllib.loads(resources.files("qwenlab.core.models").joinpath("alibaba-qwen-image-2.0.toml").read_text())
    before = Costs(known).by("experiment")
    try:
        # the description as it should be: two dated prices, matching what was recorded
        data["prices"] = [{"since": "2026-02-10", "usd_per_image": 0.035}, {"since": "2026-04-01", "usd_per_image": 0.030}]
        register_model(data)
        prices = Costs(known).price_changes()
        assert not prices["description_changed"].any()
        assert not any("now gives" in n for n in Costs(known).notes())
        # someone edits the price retroactively: past costs keep what was recorded
        data["prices"] = [{"since": "2026-02-10", "usd_per_image": 0.05}]
        register_model(data)
        after = Costs(known).by("experiment")
        assert after.equals(before)
        prices = Costs(known).price_changes()
        assert list(prices[prices["model"] == BASE]["description_changed"]) == [True, True]
        assert any("now gives $0.05 per image" in n and "past costs keep the recorded price" in n for n in Costs(known).notes())
    finally:
        register_model(shipped)


def test_by_an_axis_uses_the_sweeps_labels_and_order(known: Log) -> None:
    df = Costs(known).by("promptExtend")
    assert list(df.index) == ["on", "off"]  # the sweep's order, only alpha swept it
    assert df.loc["on", "cost_usd"] == pytest.approx(0.075 + 0.080 + 0 + 0.075)  # t1, t3, t5 (free), t7 (in doubt)
    assert df.loc["off", "cost_usd"] == pytest.approx(0.075 + 0.075 + 0.075 + 0)  # t2, t4 (estimate), t6 (charged), t8
    assert df["tasks"].tolist() == [4, 4]
    assert df["cost_usd"].sum() == pytest.approx(TRUTH["alpha"]["cost_usd"])
    assert list(Costs(known).by("prompt").index) == ["a", "b", "c"]


def test_values_that_read_alike_in_their_own_experiments_stay_apart(tmp_path: Path) -> None:
    """Two negative prompts that start alike, one in each experiment, each read "negativePrompt:
    blurry text, misspelled…" in their own: grouped by that label, they were one row with both
    experiments' tasks and money. Labelled over both, each is a row of its own."""
    log = Log(tmp_path / "alike.db")
    common = "blurry text, misspelled words, low quality, extra fingers, watermark, signature, "
    first, second = common + "jpeg artifacts", common + "cropped frame"
    for name, negative, price in (("x1", first, 0.075), ("x2", second, 0.05)):
        exp_id = experiment(log, name, {"negativePrompt": [None, negative]})
        for value in (None, negative):
            for repeat in (0, 1):
                t = task(log, exp_id, {"negativePrompt": value, "repeat": repeat}, price=price)
                send(log, t, at("2026-03-01", 11))
                finish(log, t, at("2026-03-01"), [price])
    df = Costs(log).by("negativePrompt")
    assert len(df) == 3 and len(set(df.index)) == 3, list(df.index)  # none, and each prompt
    assert df["tasks"].tolist() == [4, 2, 2]
    assert df["cost_usd"].tolist() == pytest.approx([0.25, 0.15, 0.10])
    assert "jpeg" in df.index[1] and "cropped" in df.index[2]  # where they part, not their common start
    # the same by experiment and value, and for kept images
    both = Costs(log).by(["experiment", "negativePrompt"])
    assert both.loc[("x1", df.index[1]), "tasks"] == 2 and both.loc[("x2", df.index[2]), "tasks"] == 2
    assert ("x1", df.index[2]) not in both.index


def test_by_size_model_day_and_week(known: Log) -> None:
    c = Costs(known)
    size = c.by("size")["cost_usd"]
    assert size.to_dict() == pytest.approx({"1024x1024": 0.16, "1024x1536": 0.225, "1536x1024": 0.23})
    assert c.by("model")["cost_usd"].to_dict() == pytest.approx({BASE: 0.16, PRO: 0.455})
    day = c.by("day")
    assert day["cost_usd"].to_dict() == pytest.approx({
        "2026-02-28": 0.0, "2026-03-01": 0.15, "2026-03-02": 0.155, "2026-03-03": 0.075, "2026-03-04": 0.075,
        "2026-03-10": 0.07, "2026-04-01": 0.03, "2026-04-02": 0.06})
    assert day.loc["2026-02-28", "pending"] == 1  # the unsent cell, on the day it was planned
    weeks: dict[str, float] = {}
    for d, usd in day["cost_usd"].items():  # independent of SQLite: Python's own calendar
        monday = dt.date.fromisoformat(d) - dt.timedelta(days=dt.date.fromisoformat(d).weekday())
        weeks[monday.isoformat()] = weeks.get(monday.isoformat(), 0.0) + usd
    assert c.by("week")["cost_usd"].to_dict() == pytest.approx(weeks)
    assert c.by("month")["cost_usd"].to_dict() == pytest.approx({"2026-02": 0.0, "2026-03": 0.525, "2026-04": 0.09})


def test_by_setting_puts_the_repeats_of_a_cell_together(known: Log) -> None:
    df = Costs(known).by("setting")
    alpha = df.loc["alpha"]
    assert list(alpha.index) == ["promptExtend=on, size=1024x1536", "promptExtend=off, size=1024x1536",
                                 "promptExtend=on, size=1536x1024", "promptExtend=off, size=1536x1024"]
    assert alpha["tasks"].tolist() == [2, 2, 2, 2]
    assert alpha.loc["promptExtend=off, size=1024x1536", "cost_usd"] == pytest.approx(0.15)  # t2 + charged t6
    assert df.loc[("beta", "prompt=c"), "tasks"] == 2  # the retried cell and its earlier attempt
    assert df["cost_usd"].sum() == pytest.approx(TOTAL)
    # in a window the settings keep the sweep's order, whichever way the sums are made: a window
    # starting at midnight is summed from the rollups, one starting at noon from the tasks, and
    # both once ordered the settings by their first task inside the window (size 1536x1024 first)
    for since in ("2026-03-02", "2026-03-02T00:00:01"):
        window = Costs(known, since=since).by("setting").loc["alpha"]
        assert list(window.index) == list(alpha.index), since


def test_by_several_keys(known: Log) -> None:
    df = Costs(known).by(["experiment", "size"])
    assert df.loc[("alpha", "1536x1024"), "cost_usd"] == pytest.approx(0.23)
    assert df.loc[("beta", "1024x1024"), "images"] == 4
    both = Costs(known).by(["promptExtend", "size"])
    assert both.loc[("on", "1536x1024"), "cost_usd"] == pytest.approx(0.155)


def test_estimate_against_actual(known: Log) -> None:
    df = Costs(known).estimate_vs_actual()
    alpha = df.loc["alpha"]
    assert alpha["planned_usd"] == pytest.approx(0.6)  # 8 cells at $0.075
    assert alpha["estimated_usd"] == pytest.approx(0.525)  # the 7 sent
    assert alpha["difference_usd"] == pytest.approx(0.455 - 0.525)
    assert alpha["api_gap_usd"] == pytest.approx(0.005)  # the one image charged $0.080
    assert df.loc["beta", "api_gap_usd"] == pytest.approx(0.0)  # the charged earlier attempt was estimated too
    # beta's plan is its 3 cells ($0.07 + $0.03 + $0.03), once: the retried cell's earlier attempt
    # is a request sent (estimated_usd) but no cell of the plan; both ways of summing agree
    for costs in (Costs(known), Costs(known, since="2026-01-01T00:00")):
        beta = costs.estimate_vs_actual().loc["beta"]
        assert beta["planned_usd"] == pytest.approx(0.13) and beta["estimated_usd"] == pytest.approx(0.16)


def test_spend_against_budget(known: Log) -> None:
    df = Costs(known).budget()
    alpha = df.loc["alpha"]
    assert (alpha["budget_usd"], alpha["unsent"]) == (0.5, 1)
    assert alpha["remaining_usd"] == pytest.approx(0.045)
    assert alpha["used_pct"] == pytest.approx(91.0)
    # the next run sends the never-sent cell and sends the two failed ones again: $0.225, where
    # the unsent cell alone ($0.075) would also not fit; the in-doubt one is asked about, not resent
    assert (alpha["unsent_usd"], alpha["to_retry"], alpha["to_send_usd"]) == (0.075, 2, pytest.approx(0.225))
    assert alpha["would_exceed"] is True
    known.update_experiment(known.experiment("alpha")["id"], budget_usd=0.6)  # $0.145 left: the unsent cell fits
    alpha = Costs(known).budget().loc["alpha"]
    assert alpha["would_exceed"] is True, "the two failed cells, sent again, do not"
    assert Costs(known).budget().loc["beta", "to_retry"] == 0  # its failed attempt was retried and succeeded
    assert df.loc["beta", "would_exceed"] is None and math.isnan(df.loc["beta", "budget_usd"])


def test_over_budget_is_noted(known: Log) -> None:
    known.update_experiment(known.experiment("alpha")["id"], budget_usd=0.40)
    assert any("'alpha' spent $0.455, over its budget of $0.40" in n for n in Costs(known).notes())


def test_a_budget_is_held_against_the_whole_experiment_in_a_window_of_time(known: Log) -> None:
    """A budget holds for every request of its experiment, whenever sent: "what did March 3 and
    4 cost" still leaves alpha $0.045 of its $0.50, not $0.35 (its spend before the window
    left out), with its never-sent cell (made before the window) still to send; and an experiment
    over budget is noted in a window too. The window's own spend stays in by("experiment")."""
    whole = Costs(known).budget()
    window = Costs(known, since="2026-03-03", until="2026-03-05")
    budget = window.budget()
    assert list(budget.index) == ["alpha"]  # the experiments with requests in the window
    pd.testing.assert_frame_equal(budget, whole.loc[["alpha"]])
    assert budget.loc["alpha", "remaining_usd"] == pytest.approx(0.045)
    assert window.by("experiment").loc["alpha", "cost_usd"] == pytest.approx(0.150)  # in the window: $0.075 + $0.075
    assert Costs(known, task_ids=[known.task_ids[6]]).budget().loc["alpha", "remaining_usd"] == pytest.approx(0.045)  # type: ignore[attr-defined]
    known.update_experiment(known.experiment("alpha")["id"], budget_usd=0.40)
    assert any("'alpha' spent $0.455, over its budget of $0.40" in n for n in window.notes())


def test_cost_per_kept_image_counts_every_attempt(known: Log) -> None:
    c = Costs(known)
    df = c.per_kept_image(min_score=4)
    # alpha: kept = t2 (4) and t4 (5); t1 was re-rated 2. Its whole spend, failures and the
    # request in doubt included, is carried by those two images.
    assert (df.loc["alpha", "rated"], df.loc["alpha", "kept"]) == (4, 2)
    assert df.loc["alpha", "usd_per_kept_image"] == pytest.approx(0.455 / 2)
    assert df.loc["alpha", "keep_rate"] == pytest.approx(0.5)
    assert (df.loc["beta", "rated"], df.loc["beta", "kept"]) == (3, 2)  # a rating with no score is no rating
    assert df.loc["beta", "usd_per_kept_image"] == pytest.approx(0.16 / 2)
    by_axis = c.per_kept_image(min_score=4, by="promptExtend")
    assert by_axis.loc["on", "kept"] == 0 and math.isnan(by_axis.loc["on", "usd_per_kept_image"])
    assert by_axis.loc["off", "usd_per_kept_image"] == pytest.approx(0.225 / 2)
    assert c.per_kept_image(min_score=5).loc["alpha", "kept"] == 1
    # an unrated image counts as not kept: where the groups were rated unevenly, that is said
    assert "alpha 4 of 4, beta 3 of 4" in df.attrs["coverage_note"] and "compare keep_rate" in df.attrs["coverage_note"]
    assert by_axis.attrs["coverage_note"] is None  # on and off: every image rated
    # a score no rating reaches kept nothing, silently; now refused as --kept refuses it
    assert c.per_kept_image(min_score=np.int64(4)).equals(df)
    for bad in (9, 0, "4", None, True):
        with pytest.raises(ValueError, match="min_score: give a number from 1 to 5"):
            c.per_kept_image(min_score=bad)


def test_a_deleted_experiments_spend_is_not_laid_on_the_kept_images_of_others(known: Log, tmp_path: Path) -> None:
    """By month, March holds alpha and beta's first request. Once beta is deleted, its images and
    ratings are gone and its spend stays in the month: a price per kept image over that spend made
    each of alpha's kept images look $0.035 dearer, where by experiment it was not."""
    from qwenlab.store.organize import Organizer

    before = Costs(known).per_kept_image(min_score=4, by="month")
    assert before.loc["2026-03", "usd_per_kept_image"] == pytest.approx((0.455 + 0.07) / 4)  # 2 kept of each
    beta = int(known.rows("SELECT id FROM experiments WHERE name = 'beta'")[0]["id"])
    Organizer(known, tmp_path).delete(beta, confirm=True)

    after = Costs(known).per_kept_image(min_score=4, by="month")
    assert after.loc["2026-03", "cost_usd"] == pytest.approx(0.455 + 0.07)  # the month's spend is unchanged
    assert after.loc["2026-03", "kept"] == 2  # alpha's alone
    assert after.loc["2026-03", "usd_per_kept_image"] == pytest.approx(0.455 / 2)  # what alpha's kept images cost
    assert after.loc["2026-03", "usd_per_kept_image"] == pytest.approx(
        Costs(known).per_kept_image(min_score=4).loc["alpha", "usd_per_kept_image"])
    assert math.isnan(after.loc["2026-04", "usd_per_kept_image"])  # beta's alone: nothing kept is left


@pytest.mark.parametrize("keys", [["experiment"], ["setting"], ["promptExtend"], ["day"], ["model"],
                                  ["experiment", "promptExtend"]])
def test_kept_images_read_from_the_tasks_or_from_the_ratings_are_the_same(known: Log, keys: list[str]) -> None:
    """per_kept_image reads the rated images from the tasks in view or from the ratings, whichever
    holds fewer rows: both must count each image's latest scored rating, in the same groups."""
    i2 = images_of(known, known.task_ids[2])[0]  # type: ignore[attr-defined]
    known.rate(i2, None, note="a note after the score")  # the score before it still counts
    known.rate(images_of(known, known.task_ids[3])[0], 5)  # re-rated up: now kept
    for costs in (Costs(known), Costs(known, experiments="alpha"), Costs(known, since="2026-03-02")):
        from_tasks = costs._q.kept(keys, 4.0, tasks_in_view=0)
        from_ratings = costs._q.kept(keys, 4.0, tasks_in_view=10**9)
        pd.testing.assert_frame_equal(from_tasks, from_ratings)
        assert from_ratings["rated"].sum() > 0
    alpha = Costs(known).per_kept_image(min_score=4).loc["alpha"]
    assert (alpha["rated"], alpha["kept"]) == (4, 3)  # t1 re-rated 2; t2 4 (its note has no score), t3 5, t4 5


def test_a_span_back_from_now_counts_whole_days_and_exact_hours(known: Log) -> None:
    """"7d" is today and the seven days before (from 00:00 UTC), as by("day") lists days, and a
    view of whole days is summed from the rollups; "12h" is exactly twelve hours back."""
    from qwenlab.costs.frames import date_bound

    def days_back(n: int) -> set[str]:  # either side of a midnight passing during the test
        return {(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n) + dt.timedelta(seconds=s)).date().isoformat()
                for s in (-5, 0, 5)}

    assert date_bound("7d", "since") in days_back(7)
    assert date_bound("0d", "since") in days_back(0)
    assert date_bound(" 2w ", "until") in days_back(14)
    assert date_bound("7D", "since") in days_back(7) and date_bound("2W", "until") in days_back(14)  # either case
    hours = dt.datetime.fromisoformat(date_bound("12h", "since"))
    assert abs(hours - (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=12))) < dt.timedelta(seconds=5)
    days, edges = Costs(known, since="7d")._view.day_split()  # whole days: the rollups alone
    assert days is not None and days[0] in days_back(7) and edges == []
    days, edges = Costs(known, since="12h")._view.day_split()  # the rest of a day read from the tasks
    assert len(edges) == 1 and len(edges[0][0]) > 10 and len(edges[0][1]) == 10
    assert Costs(known, since="9999d").totals() == Costs(known).totals()


@pytest.mark.parametrize("since, until, days, edges", [
    ("2026-03-01", "2026-03-05", ("2026-03-01", "2026-03-05"), []),
    ("2026-03-01T12:00", None, ("2026-03-02", None), [("2026-03-01T12:00:00.000+00:00", "2026-03-02")]),
    (None, "2026-03-05T08:00", (None, "2026-03-05"), [("2026-03-05", "2026-03-05T08:00:00.000+00:00")]),
    ("2026-03-01T12:00", "2026-03-03T08:00", ("2026-03-02", "2026-03-03"),
     [("2026-03-01T12:00:00.000+00:00", "2026-03-02"), ("2026-03-03", "2026-03-03T08:00:00.000+00:00")]),
    ("2026-03-01T12:00", "2026-03-02T08:00", None, [("2026-03-01T12:00:00.000+00:00", "2026-03-02T08:00:00.000+00:00")]),
    ("2026-03-01T12:00", "2026-03-02", None, [("2026-03-01T12:00:00.000+00:00", "2026-03-02")]),
])
def test_a_window_is_its_whole_days_and_the_parts_of_a_day_at_either_end(
        known: Log, since: str | None, until: str | None, days: tuple | None, edges: list) -> None:
    """The rollups sum whole days; the rest of a day a bound falls inside is read from the tasks,
    and the two add up to what the tasks alone give (the rollups' tests check that per summary)."""
    costs = Costs(known, since=since, until=until)
    assert costs._view.day_split() == (days, edges)
    if edges:  # only the experiments with requests on those days are read for them
        assert costs._view.edge_where(edges).startswith("t.experiment_id IN (")


def test_since_and_until_split_the_spend(known: Log) -> None:
    late = Costs(known, since="2026-03-03")
    early = Costs(known, until="2026-03-03")
    assert late.totals()["cost_usd"] == pytest.approx(0.075 + 0.075 + 0.16)
    assert early.totals()["cost_usd"] + late.totals()["cost_usd"] == pytest.approx(TOTAL)
    assert list(late.by("day").index) == ["2026-03-03", "2026-03-04", "2026-03-10", "2026-04-01", "2026-04-02"]
    assert Costs(known, since=dt.date(2026, 4, 1)).totals()["cost_usd"] == pytest.approx(0.09)
    assert Costs(known, since="9999d").totals()["tasks"] == 12  # 9999 days back: everything
    with pytest.raises(ValueError, match="is not a date"):
        Costs(known, since="last tuesday")


def test_a_month_or_a_year_is_a_bound_as_by_month_labels_it(known: Log, known_default: Path) -> None:
    """by("month") reads "2026-03": since="2026-03" starts with March 1; until="2026-03" takes March
    whole (up to April 1), as a reader means it, so since and until of one month are that month. A
    year likewise, and an ISO week ("2026-W10", March 2 to 8). A day as until stays where it stops."""
    months = Costs(known).by("month")["cost_usd"]
    assert list(months.index) == ["2026-02", "2026-03", "2026-04"]  # February: the cell never sent, logged then
    march = Costs(known, since="2026-03", until="2026-03")
    assert (march.since, march.until) == ("2026-03-01", "2026-04-01")
    assert march.totals()["cost_usd"] == pytest.approx(months["2026-03"])
    assert Costs(known, since="2026-04").totals()["cost_usd"] == pytest.approx(months["2026-04"])
    assert Costs(known, until="2026-03").totals()["cost_usd"] == pytest.approx(months["2026-03"])  # March included
    assert Costs(known, since="2026-03", until="2026-03").by("month").index.tolist() == ["2026-03"]
    assert Costs(known, until="2026-03-10").totals()["cost_usd"] == pytest.approx(0.455)  # the 10th left out
    assert Costs(known, since="2026", until="2026").totals()["cost_usd"] == pytest.approx(TOTAL)
    assert Costs(known, since="2027").totals()["tasks"] == 0
    assert Costs(known, since="2026-W10", until="2026-W10").by("day").index.tolist() == ["2026-03-02", "2026-03-03",
                                                                                         "2026-03-04"]
    assert Costs(known, since="2026-3").since == "2026-03-01"
    assert Costs(known, until="2026-12").until == "2027-01-01"
    for bad in ("2026-13", "2026-00"):
        with pytest.raises(ValueError, match=f"until: '{bad}' is no month of the calendar: use .*a month 2026-03"):
            Costs(known, until=bad)
    with pytest.raises(ValueError, match=r"until: '2026-11' \(read as 2026-12-01\) is not after since: '2026-12' \(read "
                                         r"as 2026-12-01\); no request can be in between; are they swapped\?"):
        Costs(known, since="2026-12", until="2026-11")
    result = CliRunner().invoke(cli, ["costs", "--json", "--since", "2026-03", "--until", "2026-03"])
    data = json.loads(result.output)
    assert (data["since"], data["until"]) == ("2026-03-01", "2026-04-01")
    assert data["totals"]["cost_usd"] == pytest.approx(months["2026-03"])
    bad = CliRunner().invoke(cli, ["costs", "--since", "2026-13"])
    assert bad.exit_code == 2 and "'--since': '2026-13' is no month of the calendar" in bad.output


def test_experiment_filter(known: Log) -> None:
    beta = Costs(known, experiments="beta")
    assert beta.totals()["cost_usd"] == pytest.approx(0.16)
    assert list(beta.by("experiment").index) == ["beta"]
    assert Costs(known).filter(experiments=["alpha"]).totals()["tasks"] == 8
    with pytest.raises(ExperimentNotFoundError, match="known: alpha, beta"):
        Costs(known, experiments="gamma").totals()


def test_the_headline_names_one_experiment_in_the_singular(known: Log) -> None:
    """A view of one experiment (`exp.costs()`, a report, `qwenlab costs -e NAME`) was headed
    "Costs (experiments beta): ..."; two are still "experiments"."""
    assert Costs(known, experiments="beta").headline()[0].startswith("Costs (experiment beta): $")
    assert Costs(known, experiments=["alpha", "beta"]).headline()[0].startswith("Costs (experiments alpha, beta): $")


def test_experiments_as_a_frame_column_and_an_empty_selection(known: Log) -> None:
    """The names as pandas hands them (a column of `lab.experiments(tag=...)`) are taken as a list,
    not refused with "the truth value of a Series is ambiguous"; and no names at all (a tag that
    no experiment has) is refused, not read as every experiment: "what did this client cost"
    would have been answered with the whole log's spend."""
    names = pd.DataFrame({"name": ["beta"]})["name"]
    assert Costs(known, experiments=names).totals()["cost_usd"] == pytest.approx(0.16)
    assert Costs(known, experiments=pd.Index(["alpha", "beta"])).totals()["tasks"] == 12
    for empty in ([], (), names.iloc[:0]):
        with pytest.raises(ValueError, match="experiments: no experiment named"):
            Costs(known, experiments=empty)
    with pytest.raises(ValueError, match="experiments: no experiment named"):
        Costs(known).filter(experiments=[])


def test_an_unknown_key_names_the_known_ones(known: Log) -> None:
    with pytest.raises(UnknownCostKeyError, match="promptExtend"):
        Costs(known).by("colour")
    assert Costs(known).axes() == ["promptExtend", "size", "prompt"]


def _with_an_axis_named(log: Log, key: str) -> None:
    """Experiment "plain" (a promptExtend axis, no task) and "named", whose axis `key` gives its
    three tasks "draft", "final", "draft", each done for $0.075."""
    experiment(log, "plain", {"promptExtend": [True, False]})
    named = experiment(log, "named", {key: ["draft", "final"]})
    for i, value in enumerate(["draft", "final", "draft"]):
        tid = task(log, named, {key: value, "repeat": i})
        send(log, tid, at("2026-03-01"))
        finish(log, tid, at("2026-03-01"), [0.075])


@pytest.mark.parametrize("key", ["status", "backend", "setting", "experiment"])
def test_a_built_in_key_that_is_also_an_axis_is_refused_and_each_is_asked_for_spelled_out(tmp_path: Path, key: str) -> None:
    """A bundle or request axis takes any name: one named "status" (its values "draft", "final")
    was hidden behind by("status"), the requests' done and failed, as "backend", "setting" and
    "experiment" were behind theirs. Refused as a period that is an axis is, naming both and how
    to ask for each; "builtin:NAME" and "axis:NAME" give each, and qwenlab's own tables (the
    summary, the notebook's table) keep grouping by the built-in experiment and backend."""
    log = Log(tmp_path / "named.db")
    _with_an_axis_named(log, key)
    c = Costs(log)
    with pytest.raises(UnknownCostKeyError) as refused:
        c.by(key)
    said = str(refused.value)
    assert f"by={key!r} is ambiguous: the built-in {key}" in said and "'named'" in said, said
    assert f"by('builtin:{key}')" in said and f"by('axis:{key}')" in said, said
    assert f"--by builtin:{key} or --by axis:{key}" in said, said
    assert c.by(f"axis:{key}")["tasks"].to_dict() == {"draft": 2, "final": 1}
    builtin = c.by(f"builtin:{key}")
    assert builtin["tasks"].sum() == 3 and "draft" not in builtin.index.get_level_values(-1), builtin
    assert c.by("builtin:experiment")["tasks"].to_dict() == {"named": 3}
    assert "named" in c.summary() and "named" in c._repr_html_()  # by the built-in experiment, without a word
    assert Costs(log, experiments=["plain"]).by(key)["tasks"].sum() == 0  # no such axis in view: the built-in, as before
    with pytest.raises(UnknownCostKeyError, match="builtin:experiment, builtin:model"):
        c.by("builtin:colour")


@pytest.mark.parametrize("key", ["experiment", "setting"])
def test_a_default_key_means_the_built_in_whatever_the_axes_are_named(tmp_path: Path, data_dir: Path, key: str) -> None:
    """`qwenlab costs` with no --by, `by()` and `per_kept_image()` with no key (the built-in
    experiment) and `cost_by_setting` with no axis (the built-in setting) were refused as
    ambiguous where an experiment in view had an axis of that name: a default nobody typed. The
    default is the built-in, its index still read "experiment"; typed, the key is still refused."""
    from qwenlab.costs.plots import cost_by_setting

    log = Log(data_dir / "qwenlab.db")  # where the CLI looks
    _with_an_axis_named(log, key)
    c = Costs(log)
    assert c.by().index.name == "experiment" and c.by()["tasks"].to_dict() == {"named": 3}
    assert c.per_kept_image(min_score=4)["tasks"].to_dict() == {"named": 3}
    cost_by_setting(c)  # the built-in setting: experiment and its axes' values
    with pytest.raises(UnknownCostKeyError, match="is ambiguous"):
        c.by(key)  # typed by the user: which one is asked
    out = CliRunner().invoke(cli, ["costs"])
    assert out.exit_code == 0, out.output
    assert "experiment" in [line.strip() for line in out.output.splitlines()] and "\nnamed " in out.output, out.output
    as_json = json.loads(CliRunner().invoke(cli, ["costs", "--json"]).output)
    assert as_json["by"] == ["experiment"] and [r["experiment"] for r in as_json["rows"]] == ["named"]
    typed = CliRunner().invoke(cli, ["costs", "--by", key])
    assert typed.exit_code == 2 and "is ambiguous" in typed.output, typed.output


def test_a_period_that_is_also_an_axis_is_refused_and_each_is_asked_for_spelled_out(tmp_path: Path) -> None:
    """An axis "year" (1920, 1950, ...) was hidden behind by("year"), the years the requests were
    sent in, as axes "day", "week" and "month" were. Where an experiment in view has such an axis,
    by("year") is refused as ambiguous (as pandas refuses a key that is both a level and a
    column), naming both and how to ask for each; "axis:year" and "period:year" give each. A view
    without the axis keeps the period."""
    log = Log(tmp_path / "era.db")
    era = experiment(log, "era", {"year": [1920, 1950, 1980]})
    plain = experiment(log, "plain", {"promptExtend": [True, False]})
    for i, (exp_id, cell, day) in enumerate([(era, {"year": 1920}, "2026-03-01"), (era, {"year": 1950}, "2026-03-01"),
                                             (era, {"year": 1920}, "2026-03-02"), (plain, {"promptExtend": True}, "2027-01-05")]):
        tid = task(log, exp_id, {**cell, "repeat": i})
        send(log, tid, at(day))
        finish(log, tid, at(day), [0.075])
    c = Costs(log)
    for period in ("day", "week", "month", "year"):
        experiment(log, f"by-{period}", {period: ["a", "b"]})  # swept, nothing sent: an axis of the view all the same
        with pytest.raises(UnknownCostKeyError) as refused:
            Costs(log).by(period)
        said = str(refused.value)
        assert f"by={period!r} is ambiguous" in said and f"'by-{period}'" in said, said
        assert f"by('period:{period}')" in said and f"by('axis:{period}')" in said, said
    assert "'era'" in str(pytest.raises(UnknownCostKeyError, Costs(log).by, "year").value)
    assert c.by("axis:year")["tasks"].to_dict() == {"1920": 2, "1950": 1}
    assert c.by("period:year")["tasks"].to_dict() == {"2026": 3, "2027": 1}
    both = c.by(["period:year", "axis:year"])
    assert both.index.names == ["period:year", "axis:year"] and both["tasks"].to_dict() == {("2026", "1920"): 2, ("2026", "1950"): 1}
    assert "by year, only the experiments that swept it have rows" in c.uncovered(c.by("axis:year"))
    assert c.per_kept_image(min_score=4, by="axis:year")["images"].to_dict() == {"1920": 2, "1950": 1}
    assert c.by("axis:promptExtend")["tasks"].to_dict() == {"on": 1}  # any axis may be spelled out
    # without the axis in view, as before
    assert Costs(log, experiments=["plain"]).by("year")["tasks"].to_dict() == {"2027": 1}
    with pytest.raises(UnknownCostKeyError, match="period:day, period:week, period:month, period:year"):
        c.by("period:hour")
    with pytest.raises(UnknownCostKeyError, match="no experiment in view has an axis 'colour'"):
        c.by("axis:colour")


def test_the_report_tables_an_axis_named_year_by_its_values(tmp_path: Path) -> None:
    """A report has a cost table per varying axis: of an axis "year" it was the years the
    requests were sent in, headed "by year"; it is the axis's values."""
    from qwenlab.html.costs import costs_section
    from qwenlab.store.catalog import Catalog
    from qwenlab.store.experiment import ExperimentRecord

    log = Log(tmp_path / "era.db")
    era = experiment(log, "era", {"year": [1920, 1950]})
    for i, year in enumerate([1920, 1950, 1950]):
        tid = task(log, era, {"year": year, "repeat": i})
        send(log, tid, at("2026-03-01"))
        finish(log, tid, at("2026-03-01"), [0.075])
    record = ExperimentRecord(log, "era", tmp_path)
    html = costs_section(record, Catalog.load(record))
    table = html[html.index("<h3>by year</h3>"):]
    assert "<td>1920</td>" in table and "<td>1950</td>" in table and "2026" not in table, table


def test_timeline_adds_up_to_the_total(known: Log) -> None:
    tl = Costs(known).timeline()
    assert len(tl) == 10  # every request that cost something (t5 and t8 did not)
    assert tl["at"].is_monotonic_increasing
    assert tl["cumulative_usd"].iloc[-1] == pytest.approx(TOTAL)


def _spend_by_hand(log: Log) -> list[tuple[str, str, float, str]]:
    """Every request that cost something, worked out one by one from the task rows and the
    attempts in their history_json: (at, experiment, cost, cost_source), unordered."""
    names = {r["id"]: r["name"] for r in log.rows("SELECT id, name FROM experiments")}
    out = []
    for t in log.rows("SELECT * FROM tasks"):
        inherited = {k: t[k] for k in ("experiment_id", "estimated_cost_usd", "created_at")}  # an attempt has its task's
        for r in [t, *({**h, **inherited} for h in json.loads(t["history_json"] or "[]"))]:
            if r.get("cost_usd") is not None:
                cost, source = r["cost_usd"], "emulated" if r.get("backend") == "emulator" else "api"
            elif r["status"] in ("done", "sent"):
                cost, source = r["estimated_cost_usd"] or 0.0, "estimate" if r["status"] == "done" else "in_doubt"
            else:
                continue
            if cost > 0:
                when = r.get("completed_at") or r.get("sent_at") or r["created_at"]
                out.append((when, names[r["experiment_id"]], cost, source))
    return out


def _assert_timeline_is_requests(costs: Costs, tl: pd.DataFrame) -> None:
    """`tl` (timeline()) holds the rows, order and types that requests() reads its own way."""
    from qwenlab.costs.sql import COST_SQL

    want = costs._q.requests([f"({COST_SQL}) > 0"], ["at", "cost", "cost_source"]).rename(columns={"cost": "cost_usd"})
    want["at"] = pd.to_datetime(want["at"], utc=True, format="ISO8601")
    pd.testing.assert_frame_equal(tl.drop(columns="cumulative_usd"), want[["at", "experiment", "cost_usd", "cost_source"]],
                                  check_exact=True)


def test_timeline_is_every_request_that_cost_something_in_time_order(known: Log) -> None:
    """timeline() reads a million requests its own way: it must give the rows, order, types and
    running totals that requests() and a request-by-request count give, retried attempts and
    requests of the same time included."""
    alpha, beta = (int(known.experiment(n)["id"]) for n in ("alpha", "beta"))
    same_time = at("2026-04-05")  # a charged failed attempt (kept in history_json) and two tasks end at once
    retried = task(known, beta, {"prompt": "a", "repeat": 1}, model=BASE, price=0.030, size=(1024, 1024))
    send(known, retried, same_time)
    finish(known, retried, same_time, [], status="failed", task_cost=0.030)
    known.reset_task(retried, task_uuid=str(uuid.uuid4()), request_json="{}")
    send(known, retried, at("2026-04-06"))
    finish(known, retried, at("2026-04-06"), [0.030])
    for repeat in (2, 3):
        t = task(known, alpha, {"promptExtend": True, "size": "1024x1536", "repeat": repeat})
        send(known, t, same_time)
        finish(known, t, same_time, [0.075])
    costs = Costs(known)
    tl = costs.timeline()
    _assert_timeline_is_requests(costs, tl)

    by_hand = sorted(_spend_by_hand(known))
    assert len(tl) == len(by_hand) == 14 and (tl["at"] == same_time).sum() == 3
    assert tl["at"].is_monotonic_increasing
    rows = sorted(zip(tl["at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "+00:00", tl["experiment"], tl["cost_usd"],
                      tl["cost_source"]))
    assert rows == [(w, e, pytest.approx(c), s) for w, e, c, s in by_hand]
    assert list(tl["cumulative_usd"]) == list(tl["cost_usd"].cumsum().round(6))
    last_of_each_time = tl.groupby("at")["cumulative_usd"].last()  # a running total that any order of a time reaches
    for when, total in last_of_each_time.items():
        assert total == pytest.approx(sum(c for w, _, c, _ in by_hand if pd.Timestamp(w) <= when))


@pytest.mark.parametrize("foreign", [None, "2026-04-07T18:00:00+02:00", "2026-04-07T16:00:00Z", "2026-04-07T16:00:00.000000+00:00"])
def test_timeline_reads_packed_times_only_when_each_is_qwenlabs_own(known: Log, foreign: str | None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """timeline() reads the tasks a group at a time, their times packed in one text, which it
    parses as a whole only when every time is in the format qwenlab writes; a time another program
    wrote (another offset, a Z, microseconds) sends it back to reading a row at a time, with the
    same result. Requests of both backends in one group keep their own cost source."""
    import qwenlab.costs.query as query

    alpha = int(known.experiment("alpha")["id"])
    for repeat, backend in [(5, "emulator"), (6, "runware"), (7, "emulator")]:  # one group: same cell shape and cost
        t = task(known, alpha, {"promptExtend": True, "size": "1024x1536", "repeat": repeat})
        send(known, t, at("2026-04-07", 11))
        finish(known, t, at("2026-04-07", 8 + repeat), [0.075])
        known.note_task(t, backend=backend)
    if foreign:
        known.note_task(t, completed_at=foreign)
    parsed: list[bool] = []
    real = query.parse_packed
    monkeypatch.setattr(query, "parse_packed", lambda *a: parsed.append((r := real(*a)) is not None) or r)

    costs = Costs(known)
    tl = costs.timeline()
    assert parsed == [foreign is None]
    _assert_timeline_is_requests(costs, tl)
    part = costs.filter(since="2026-03-02T12:00", experiments="alpha")  # the WHERE of a view applies to the groups
    _assert_timeline_is_requests(part, part.timeline())
    assert len(part.timeline()) == len(tl[(tl["experiment"] == "alpha") & (tl["at"] >= pd.Timestamp("2026-03-02T12:00Z"))])
    mine = tl[tl["at"] >= pd.Timestamp("2026-04-07", tz="UTC")]
    assert list(mine["cost_source"]) == ["emulated", "api", "emulated"]
    assert mine["at"].iloc[-1] == pd.Timestamp(f"2026-04-07T{16 if foreign else 15}:00", tz="UTC")  # +02:00, Z: UTC


def test_timeline_reads_a_first_time_of_another_format(tmp_path: Path) -> None:
    """The first time SQLite hands over, in a format qwenlab does not write, is read as any other."""
    log = Log(tmp_path / "other.db")
    exp = experiment(log, "other", {})
    for repeat, when in [(0, "2026-04-07T18:00:00+02:00"), (1, at("2026-04-08"))]:  # one group, that time first
        t = task(log, exp, {"repeat": repeat})
        send(log, t, at("2026-04-07", 11))
        finish(log, t, when, [0.075])
    costs = Costs(log)
    tl = costs.timeline()
    _assert_timeline_is_requests(costs, tl)
    assert list(tl["at"]) == [pd.Timestamp("2026-04-07T16:00", tz="UTC"), pd.Timestamp("2026-04-08T12:00", tz="UTC")]


def test_summary_and_html(known: Log) -> None:
    task(known, experiment(known, "<b>x</b>", {}), {"repeat": 0})  # a user's name, and a cell not sent
    c = Costs(known)
    text = c.summary()
    assert text.startswith("Costs: $0.615 ($0.465 reported by the API, $0.075 estimated, $0.075 in doubt)")
    assert "13 tasks (7 done, 3 failed, 1 in doubt, 2 not sent), 8 images" in text
    assert "1 request is in doubt" in text and "$0.075 is estimated" in text
    assert repr(c) == text
    html = c._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_summary_of_one_task_says_task_and_image_not_tasks_and_images(tmp_path: Path) -> None:
    log = Log(tmp_path / "one.db")
    t = task(log, experiment(log, "solo", {}), {"repeat": 0})
    send(log, t, at("2026-03-01", 11))
    finish(log, t, at("2026-03-01"), [0.080])  # the API charged more than the description's price
    text = Costs(log).summary()
    assert "1 task (1 done, 0 failed, 0 in doubt, 0 not sent), 1 image, $0.08 per image" in text, text
    assert "for 1 of 1 image of alibaba:qwen-image@2.0-pro sent 2026-03-01 to 2026-03-01" in text


def test_an_empty_log(tmp_path: Path) -> None:
    c = Costs(Log(tmp_path / "empty.db"))
    assert c.totals()["cost_usd"] == 0 and c.totals()["tasks"] == 0
    for key in ("experiment", "day", "setting"):
        assert c.by(key).empty
    assert c.estimate_vs_actual().empty and c.budget().empty and c.price_changes().empty and c.timeline().empty
    assert c.per_kept_image(min_score=4).empty
    assert c.notes() == []
    # it said "$0.0000 ($0.0000 reported by the API)", as if the API had answered
    assert c.summary().splitlines()[0] == "Costs: $0.00 (no requests in view)"


def test_costs_opens_a_log_a_lab_or_a_path(known: Log, data_dir: Path) -> None:
    from qwenlab import Lab

    assert Costs(known.path).totals()["cost_usd"] == pytest.approx(TOTAL)
    lab = Lab(data_dir, log=known)
    assert Costs(lab).totals()["cost_usd"] == pytest.approx(TOTAL)
    assert Costs().log.path == data_dir / "qwenlab.db"
    with pytest.raises(TypeError):
        Costs(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no log at"):
        Costs(data_dir / "typo.db")
    assert not (data_dir / "typo.db").exists()


def test_cost_indexes_exist_and_are_used(known: Log) -> None:
    assert "m005_cost_indexes" in known.migrations()
    plan = " ".join(r["detail"] for r in known.rows(
        "EXPLAIN QUERY PLAN SELECT t.experiment_id, total(t.cost_usd), total(t.estimated_cost_usd) FROM tasks t GROUP BY 1"))
    assert "COVERING INDEX idx_tasks_costs" in plan


# -- the command ----------------------------------------------------------------------------------
@pytest.fixture
def known_default(known: Log, data_dir: Path) -> Path:
    """The known log where the CLI looks for it."""
    import sqlite3

    with sqlite3.connect(known.path) as src, sqlite3.connect(data_dir / "qwenlab.db") as dst:
        src.backup(dst)
    return data_dir / "qwenlab.db"


def test_cli_prints_the_table(known_default: Path) -> None:
    result = CliRunner().invoke(cli, ["costs"])
    assert result.exit_code == 0, result.output
    assert "Costs: $0.615" in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith(("alpha", "beta"))}
    assert "$0.455" in lines["alpha"] and "$0.16" in lines["beta"]
    assert "note: the API's cost differs" in result.output


def test_cli_by_axis_since_and_kept(known_default: Path) -> None:
    out = CliRunner().invoke(cli, ["costs", "--by", "promptExtend"]).output
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("on ", "off "))]
    assert rows == ["on", "off"]
    # the header totals every task; the rows only alpha's, which swept promptExtend: a note says so
    alpha, everything = TRUTH["alpha"]["cost_usd"], TOTAL
    assert (f"note: the rows cover 8 of {TRUTH['alpha']['tasks'] + TRUTH['beta']['tasks']} tasks "
            f"({format_usd(alpha)} of {format_usd(everything)}): by promptExtend, only the experiments that swept it") in out
    assert "rows cover" not in CliRunner().invoke(cli, ["costs", "--by", "experiment"]).output
    assert "rows cover" not in CliRunner().invoke(cli, ["costs", "--by", "size"]).output
    out = CliRunner().invoke(cli, ["costs", "--by", "day", "--since", "2026-04-01"]).output
    assert "2026-04-01" in out and "2026-03-10" not in out and "Costs (since 2026-04-01): $0.09" in out
    out = CliRunner().invoke(cli, ["costs", "--kept", "4", "-e", "alpha"]).output
    assert "$0.228" in out and "$0.2275" not in out  # 0.455 / 2 kept: an estimate, to three digits
    kept = CliRunner().invoke(cli, ["costs", "--kept", "4", "--by", "promptExtend"]).output
    assert "note: the rows cover 8 of 12 tasks" in kept  # with --kept too (the note was left out)



def test_rows_of_several_keys_say_what_they_leave_out_as_one_key_does(known_default: Path, known: Log) -> None:
    """by(["experiment", "promptExtend"]) has rows for alpha alone, as by("promptExtend") has:
    the note said "(by experiment, every task has a row)" to a user who grouped by experiment,
    and named no experiment left out. It names them, and says by experiment alone."""
    c = Costs(known)
    single, several = c.uncovered(c.by("promptExtend")), c.uncovered(c.by(["experiment", "promptExtend"]))
    for note in (single, several):
        assert note is not None and "the rows cover 8 of 12 tasks" in note and "($0.16, of experiment 'beta')" in note, note
    assert "(by experiment, every task has a row)" in single and "(by experiment alone, every task has a row)" in several
    out = CliRunner().invoke(cli, ["costs", "--by", "experiment,promptExtend"]).output
    assert f"note: {several}" in out, out
    assert c.uncovered(c.by(["experiment", "size"])) is None  # size, the built-in: every task has one

def test_cli_json(known_default: Path) -> None:
    result = CliRunner().invoke(cli, ["costs", "--json", "--by", "experiment,size"])
    data = json.loads(result.output)
    assert data["totals"]["cost_usd"] == pytest.approx(TOTAL)
    assert {(r["experiment"], r["size"]) for r in data["rows"]} == {
        ("alpha", "1024x1536"), ("alpha", "1536x1024"), ("beta", "1024x1024")}
    assert sum(r["cost_usd"] for r in data["rows"]) == pytest.approx(TOTAL)
    assert any("differs from the description's price" in n for n in data["notes"])


def test_cli_errors(known_default: Path) -> None:
    bad = CliRunner().invoke(cli, ["costs", "--by", "colour"])
    assert bad.exit_code == 2 and "--by" in bad.output and "promptExtend" in bad.output
    bad = CliRunner().invoke(cli, ["costs", "--since", "soon"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
    known_default.unlink()
    none = CliRunner().invoke(cli, ["costs"])
    assert none.exit_code == 1 and "no log yet" in none.output


# -- a real sweep against the emulator ------------------------------------------------------------
@pytest.mark.slow
def test_a_real_sweep_costs_what_the_emulator_charged(data_dir: Path) -> None:
    from qwenlab import Lab
    from qwenlab.emulator import Emulator, Faults
    from qwenlab.sweeps.sweep import Sweep

    shipped = get_model(PRO)
    data = tomllib.loads(resources.files("qwenlab.core.models").joinpath("alibaba-qwen-image-2.0-pro.toml").read_text())
    axes = {"promptExtend": [True, False], "size": ["1024x1536", "1536x1024"]}
    with Emulator(faults=Faults(task_error=0.3, seed=5)) as emu:
        lab = Lab(data_dir, base_url=emu.url)
        try:
            lab.run(Sweep(prompt="A poster for LUMIERE", axes=axes, repeats=3), name="first", progress=False)
            # Runware lowers the price today: a description with two dated prices says so
            today = dt.date.today().isoformat()
            data["prices"] = [{"since": "2026-02-10", "usd_per_image": 0.075}, {"since": today, "usd_per_image": 0.05}]
            register_model(data)
            lab.run(Sweep(prompt="A poster for LUNE NOIRE", axes=axes, repeats=2), name="second", progress=False)
        finally:
            register_model(shipped)  # and the description goes back to one price: past costs stay
            lab.client.close()
        charged = emu.ledger.charges
    c = Costs(lab)
    t = c.totals()
    # the emulator's numbers are emulated money, never "reported by the API"
    assert t["emulated_usd"] == pytest.approx(sum(ch.usd for ch in charged)) and t["api_usd"] == 0
    assert t["cost_usd"] == pytest.approx(t["emulated_usd"])  # every cost came from the (emulated) API
    assert t["images"] == len(charged)
    failed = sum(1 for r in lab.log.rows("SELECT status FROM tasks") if r["status"] == "failed")
    assert failed > 0 and t["failed"] >= failed and t["failed_usd"] == 0  # a task error is not charged
    by_exp = c.by("experiment")["cost_usd"]
    uuids = {r["task_uuid"]: r["name"] for r in lab.log.rows(
        "SELECT i.task_uuid, e.name FROM images i JOIN experiments e ON e.id = i.experiment_id")}
    for name in ("first", "second"):
        assert by_exp[name] == pytest.approx(sum(ch.usd for ch in charged if uuids.get(ch.task_uuid) == name))
    assert c.by("promptExtend")["cost_usd"].sum() == pytest.approx(t["cost_usd"])
    prices = c.price_changes()
    assert sorted(prices["price_usd"]) == [0.05, 0.075]
    assert prices["differing_images"].sum() == 0  # the API charged the recorded price each time
    assert list(prices.sort_values("price_usd")["description_changed"]) == [True, False]  # 0.05 is no longer described


# -- a generated log (the benchmark's), bigger and random, with its truth computed as it is written
def test_a_generated_log_has_the_totals_it_was_built_with(tmp_path: Path) -> None:
    from qwenlab.bench.costs import _check, build_log

    truth = build_log(tmp_path / "gen.db", n_tasks=3000, n_experiments=6, seed=11)
    assert truth.failed_usd > 0 and truth.in_doubt_usd > 0 and truth.estimate_usd > 0 and truth.differing_images > 0
    assert truth.failed_estimate_usd > 0  # failed tasks whose lost images count at their estimate
    costs = Costs(tmp_path / "gen.db")
    assert _check(costs, truth, 4) == []
    assert costs.by("week")["cost_usd"].sum() == pytest.approx(truth.cost_usd)
    assert costs.by("setting")["cost_usd"].sum() == pytest.approx(truth.cost_usd)


def test_the_benchmark_runs_and_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qwenlab.bench.costs import main

    assert main(["--tasks", "400", "--repeat", "1", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "every total matches the truth" in out
    assert 'by("experiment")' in out and "no index" in out and "pandas" in out
    assert "no prefetch" in out and "cold" in out  # each summary also timed with the OS's cache of the log dropped


def test_a_big_log_is_prefetched_and_reads_the_same(known: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a log big enough (here: any), timeline() and failed() warm their pages from a
    background thread: of the whole log, the pages themselves (the cost index's, the rows'); of
    some experiments, one query per source (tasks, earlier attempts) and experiment. Each gives
    the very frames it gives without; tasks(), which reads every row, warms nothing."""
    import qwenlab.costs.query as query
    from qwenlab.store import prefetch

    costs = Costs(known)
    without = {name: getattr(costs, name)() for name in ("timeline", "failed", "tasks")}
    made: list[prefetch.Prefetch] = []

    class Recorded(prefetch.Prefetch):
        def __exit__(self, *exc: object) -> None:
            # let the queries finish, to count them (a real read does not wait for them)
            deadline = time.monotonic() + 10
            while self.completed < len(self.queries) + bool(self.trees or self.rows) and time.monotonic() < deadline:
                time.sleep(0.01)
            super().__exit__(*exc)
            made.append(self)

    some = Costs(known, experiments=["alpha"])
    without_some = {name: getattr(some, name)() for name in ("timeline", "failed")}
    known.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the page hints read the main file
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 0)
    monkeypatch.setattr(query, "Prefetch", Recorded)
    for name, frame in without.items():
        pd.testing.assert_frame_equal(getattr(costs, name)(), frame)
    assert [(len(p.queries), p.trees, p.completed) for p in made] == [(0, ["idx_tasks_costs"], 1), (0, [], 1), (0, [], 0)]
    assert made[0].pages_warmed > 0 and made[1].pages_warmed > 0
    if HAS_DBSTAT:  # SQLite's own count of the pages, where it was built with it
        leaves = {n: len(known.rows("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", [n]))
                  for n in ("idx_tasks_costs", "tasks")}
        assert made[0].pages_warmed <= leaves["idx_tasks_costs"] + leaves["tasks"]
        assert made[1].pages_warmed <= leaves["tasks"]  # the failed rows' pages
    made.clear()
    for name, frame in without_some.items():
        pd.testing.assert_frame_equal(getattr(some, name)(), frame)
    assert [p.completed for p in made] == [2 * (1 + 1)] * 2  # alpha and the tasks of no experiment


def test_a_view_of_some_tasks_counts_them_and_their_earlier_attempts(known: Log) -> None:
    """`Costs(task_ids=...)`: what a report of part of an experiment counts (`export --where`), by the
    rules and in the words of every other view, a retried cell's charged earlier attempt included."""
    t = known.task_ids  # type: ignore[attr-defined]
    part = Costs(known, task_ids=[t[3], t[7], t[11]], tasks_said="the requests shown")
    totals = part.totals()
    assert (totals["tasks"], totals["done"], totals["failed"], totals["in_doubt"], totals["images"]) == (4, 2, 1, 1, 2)
    assert totals["cost_usd"] == pytest.approx(0.080 + 0.075 + 0.030 + 0.030)
    assert part.by("experiment")["cost_usd"].to_dict() == pytest.approx({"alpha": 0.155, "beta": 0.060})
    assert part.headline(totals)[0].startswith("Costs (the requests shown): $0.215 (")
    assert any("1 request is in doubt" in n for n in part.notes(totals))  # the whole's notes, of the part
    assert part.filter(experiments=["beta"]).totals()["cost_usd"] == pytest.approx(0.060)  # a filter keeps the tasks
    assert Costs(known, task_ids=[]).totals()["tasks"] == 0
    assert Costs(known, task_ids=[t[1]]).headline()[0].startswith("Costs (1 task chosen): $0.075")
    with pytest.raises(TypeError, match="task_ids: whole numbers"):
        Costs(known, task_ids=["alpha"])


@pytest.mark.skipif(not hasattr(__import__("time"), "tzset"), reason="time.tzset: POSIX only")
def test_a_datetime_without_a_zone_is_the_machine_s_local_time(known: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python takes a naive datetime as local time (`datetime.now()`, `.timestamp()`); read as
    UTC, since=datetime.now() - timedelta(hours=3) on a machine nine hours east of UTC lay six
    hours in the future and showed nothing. Text without an offset stays UTC, as the log's times."""
    import dataclasses
    import datetime as dt
    import time

    from qwenlab.core.model import Price, get_model

    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no daylight saving
    time.tzset()
    try:
        local = dt.datetime(2026, 3, 3, 9, 30)  # 00:30 UTC
        assert Costs(known, since=local).since == "2026-03-03T00:30:00.000+00:00"
        assert Costs(known, since="2026-03-03T09:30").since == "2026-03-03T09:30:00.000+00:00"
        assert Costs(known, since=local.replace(tzinfo=dt.timezone.utc)).since == "2026-03-03T09:30:00.000+00:00"
        # a price dated by its UTC day: 08:00 in Tokyo on April 1 is still March 31 in UTC
        pro = get_model("alibaba:qwen-image@2.0-pro")
        changed = dataclasses.replace(pro, prices=(Price(dt.date(2026, 2, 10), 0.075), Price(dt.date(2026, 4, 1), 0.05)))
        assert changed.price_on(dt.datetime(2026, 4, 1, 8, 0)) == 0.075
        assert changed.price_on(dt.datetime(2026, 4, 1, 10, 0)) == 0.05
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.skipif(not hasattr(__import__("time"), "tzset"), reason="time.tzset: POSIX only")
def test_a_pandas_timestamp_is_a_bound_as_a_datetime_is(known: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    """`since=pd.Timestamp.now() - pd.Timedelta("3h")`, or a day as pandas reads it, is a
    datetime without a zone: pandas' own astimezone refused it ("Cannot convert tz-naive
    Timestamp, use tz_localize"), naming no parameter. It is the moment a datetime is: local time."""
    import datetime as dt
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9: local time is not UTC here
    time.tzset()
    try:
        assert Costs(known, since=pd.Timestamp("2026-03-03 09:30")).since == "2026-03-03T00:30:00.000+00:00"
        assert Costs(known, until=pd.Timestamp("2026-03-03 09:30:15.25")).until == (
            Costs(known, until=dt.datetime(2026, 3, 3, 9, 30, 15, 250000)).until)
        # with a zone, its own: midnight in Tokyo is 15:00 the day before in UTC
        assert Costs(known, since=pd.Timestamp("2026-03-03", tz="Asia/Tokyo")).since == "2026-03-02T15:00:00.000+00:00"
        window = Costs(known, since=pd.Timestamp("2026-03-02 09:00"), until=pd.Timestamp("2026-03-03 09:00"))  # 00:00 UTC
        assert window.by("day").index.tolist() == ["2026-03-02"]
        assert window.totals()["cost_usd"] == pytest.approx(0.080 + 0.075)  # t3 (the API's $0.08) and t4's estimate
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
