"""Costs by backend: what the emulator "charged" is emulated money, never "reported by the API"; a
`backend` key groups by where each request ran; costs of requests logged before provenance was
recorded are kept apart as "unknown", and cells never sent as "not sent"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.costs import Costs
from qwenlab.costs.plots import cost_by_experiment, cost_by_setting, cumulative_spend, estimate_vs_actual
from tests.support.backends import relabel
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator, data_dir: Path):
    """8 cells (8 x $0.075) run on the emulator, in the default log."""
    return run_sweep(emulator, data_dir, name="emulated", fail_one=False)


def test_emulator_costs_are_emulated_not_reported_by_the_api(exp) -> None:
    c = Costs(exp.log)
    t = c.totals()
    assert t["emulated_usd"] == pytest.approx(0.6) and t["api_usd"] == 0 and t["cost_usd"] == pytest.approx(0.6)
    head = "\n".join(c.headline(t))
    assert "reported by the API" not in head
    assert "$0.6000 emulated by qwenlab's offline emulator (nothing paid)" in head
    assert any("ran on qwenlab's offline emulator" in n and "synthetic" in n for n in c.notes(t))
    tasks = c.tasks()
    assert set(tasks["cost_source"]) == {"emulated"} and set(tasks["backend"]) == {"emulator"}
    assert "reported by the API" not in c.summary()
    assert set(c.timeline()["cost_source"]) == {"emulated"}


def test_by_backend_keeps_emulator_runware_and_unknown_apart(exp) -> None:
    relabel(exp, "runware", every=2)
    c = Costs(exp.log)
    df = c.by("backend")
    assert list(df.index) == ["emulator", "runware"]
    assert df.loc["emulator", "emulated_usd"] == pytest.approx(0.3) and df.loc["emulator", "api_usd"] == 0
    assert df.loc["runware", "api_usd"] == pytest.approx(0.3) and df.loc["runware", "emulated_usd"] == 0
    head = c.headline()[0]
    assert "$0.3000 reported by the API" in head and "$0.3000 emulated" in head
    both = c.by(["experiment", "backend"])
    assert both.loc[("emulated", "emulator"), "tasks"] == 4

    relabel(exp, None)
    df = Costs(exp.log).by("backend")
    assert list(df.index) == ["unknown"]
    assert any("not recorded" in n for n in Costs(exp.log).notes())


def test_cells_never_sent_are_not_sent_not_unknown(emulator, data_dir: Path) -> None:
    """A budget's stop leaves cells logged 'pending', never sent: by("backend") filed them under
    "unknown", which the README keeps for requests sent before qwenlab recorded where."""
    from qwenlab import Lab, Sweep
    from qwenlab.api.client import RunwareClient

    with RunwareClient("sk-not-sent", emulator.url, images_dir=data_dir / "images") as client:
        exp = Lab(data_dir, client=client).run(Sweep(prompt="A poster for 'LUMIERE'", size="256x256", repeats=8),
                                               name="stopped", budget_usd=3 * 0.075, concurrency=1, progress=False)
    assert exp.counts()["pending"] == 5
    df = Costs(exp.log).by("backend")
    assert list(df.index) == ["emulator", "not sent"] and df.loc["not sent", "tasks"] == 5
    assert df.loc["not sent", "cost_usd"] == 0
    assert not any("not recorded" in n for n in Costs(exp.log).notes())


def test_the_cost_plot_draws_emulated_money_apart(exp) -> None:
    fig = cost_by_experiment(Costs(exp.log))
    labels = [t.get_text() for ax in fig.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    assert any("emulated" in label for label in labels)
    assert not any(label == "reported by the API" for label in labels)


def test_every_cost_plot_says_its_money_is_emulated(exp) -> None:
    """Each plot is a figure that may be shared alone: one that calls the emulator's money
    "actual" with no word of it (estimate_vs_actual did) reads as money paid to Runware."""
    c = Costs(exp.log)
    for fig in (cumulative_spend(c), cost_by_experiment(c), cost_by_setting(c, "size"), estimate_vs_actual(c)):
        ax = fig.axes[0]
        words = ax.get_title() + " ".join(t.get_text() for t in (ax.get_legend().get_texts() if ax.get_legend() else []))
        assert "emulated" in words, words
    legend = [t.get_text() for t in estimate_vs_actual(c).axes[0].get_legend().get_texts()]
    assert "actual" not in legend and "actual (emulated)" in legend


def test_qwenlab_costs_says_emulated(exp) -> None:
    out = CliRunner().invoke(cli, ["costs"])
    assert out.exit_code == 0, out.output
    assert "reported by the API" not in out.output and "emulated" in out.output
    assert "emulated_usd" in out.output
    by = CliRunner().invoke(cli, ["costs", "--by", "backend"])
    assert by.exit_code == 0 and "emulator" in by.output
    data = json.loads(CliRunner().invoke(cli, ["costs", "--json"]).output)
    assert data["totals"]["emulated_usd"] == pytest.approx(0.6) and data["totals"]["api_usd"] == 0
