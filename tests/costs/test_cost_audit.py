"""Figures of the cost audit: what a run, a summary and a listing say of the budget and the spend."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.store.log import Log

PROMPT = "A premium beauty poster for LUMIERE serum, 'Glow, Refined.' headline"


def test_a_budget_of_a_tenth_of_a_cent_is_shown_as_it_is_held(emulator, data_dir: Path) -> None:
    # $0.375 is five images at $0.075: the run stops at it exactly; "$0.38" said half a cent more was allowed
    client = RunwareClient("sk-budget", emulator.url, images_dir=data_dir / "images", backoff_base=0.01,
                           poll_initial=0.02, poll_max=0.1)
    with client:
        exp = Lab(data_dir, client=client).run(Sweep(prompt=PROMPT, size="512x512", repeats=6), name="fifths",
                                              budget_usd=0.375, progress=False, concurrency=1)
    assert exp.counts()["done"] == 5 and exp.cost == 0.375
    assert "of $0.375 budget" in exp.summary(), exp.summary()
    assert "of $0.375 is left" in exp.stop_reason and "$0.38" not in exp.stop_reason, exp.stop_reason


def test_progress_shows_a_budget_of_a_tenth_of_a_cent_as_it_is(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from qwenlab.progress import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar is drawn
    for budget, shown in ((0.375, "of $0.375"), (2.0, "of $2.00")):
        bar = Progress(5, desc="fifths", budget_usd=budget)
        bar.advance(0.075)
        bar.close()
        assert shown in capsys.readouterr().err


def _task(log: Log, exp_id: int, rep: int, backend: str | None) -> None:
    at = "2026-11-20T10:00:00.000+00:00"
    with log.transaction() as db:
        db.execute("INSERT INTO tasks (task_uuid, experiment_id, cell_key, cell_json, repeat, model, prompt, width, height, "
             "number_results, status, attempts, estimated_cost_usd, price_usd, cost_usd, created_at, sent_at, completed_at, "
             "backend, api_host) VALUES (?, ?, ?, ?, ?, 'alibaba:qwen-image@2.0-pro', 'poster', 1024, 1024, 1, 'done', 1, "
             "0.075, 0.075, 0.075, ?, ?, ?, ?, ?)",
                   [str(uuid.uuid4()), exp_id, f"c{rep}", f'{{"repeat": {rep}}}', rep, at, at, at, backend,
                    "api.runware.ai" if backend else None])


def test_the_listing_does_not_say_emulator_cells_where_there_are_none(data_dir: Path) -> None:
    # Runware cells beside cells logged before the backend was recorded (written directly: an
    # older qwenlab's rows) are "mixed", but none of them is the emulator's synthetic image
    log = Log(data_dir / "qwenlab.db")
    with log.transaction() as db:
        exp_id = db.execute("INSERT INTO experiments (name, created_at, updated_at, model, sweep_json, axes_json, status) "
                            "VALUES ('paid', '2026-11-20', '2026-11-20', 'alibaba:qwen-image@2.0-pro', '{}', '{}', 'done')"
                            ).lastrowid
    _task(log, exp_id, 0, "runware")
    _task(log, exp_id, 1, None)
    log.close()
    out = CliRunner().invoke(cli, ["logs"])
    assert out.exit_code == 0, out.output
    assert "mixed" in out.output
    assert "emulator" not in out.output and "synthetic" not in out.output, out.output


def test_the_cost_plots_say_when_the_money_drawn_is_emulated(emulator, data_dir: Path) -> None:
    # a sweep on the emulator: "Cumulative spend" and "Cost by size" in USD alone read as money paid
    from qwenlab.costs import Costs
    from qwenlab.costs.plots import cost_by_setting, cumulative_spend
    from tests.support.labkit import run_sweep

    exp = run_sweep(emulator, data_dir, fail_one=False)
    costs = Costs(exp.log)
    assert costs.totals()["emulated_usd"] > 0 and costs.totals()["api_usd"] == 0
    for fig in (cumulative_spend(costs), cost_by_setting(costs, "size"), cost_by_setting(costs, "size", min_score=4)):
        title = fig.axes[0].get_title()
        assert "emulated by qwenlab's offline emulator (nothing paid)" in title, title
