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
    assert "($0.60 emulated by qwenlab's offline emulator: nothing paid)" in head
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
    assert "$0.30 reported by the API" in head and "$0.30 emulated" in head
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
    assert "actual" not in legend and "actual, emulated (offline emulator, nothing paid)" in legend


def _emulated_looks(fig) -> list[tuple]:
    """How each thing drawn with a legend entry saying "emulated" looks: (label, face colour, edge
    colour, hatch), for each bar and area of the figure."""
    import numpy as np
    from matplotlib.colors import to_hex

    def colour(value) -> str:  # a bar's colour is one RGBA, an area's an array of them
        return to_hex(np.atleast_2d(value)[0], keep_alpha=True)

    ax = fig.axes[0]
    drawn = [(c.get_label(), p) for c in ax.containers for p in c] + [(p.get_label(), p) for p in ax.collections]
    return [(label, colour(p.get_facecolor()), colour(p.get_edgecolor()), p.get_hatch())
            for label, p in drawn if "emulated" in label]


def test_every_cost_plot_draws_emulated_money_one_way_with_a_legend_entry(exp, tmp_path: Path) -> None:
    """Half the sweep ran on the emulator, half on "Runware". The emulator's money was grey in
    cost_by_experiment, blue like paid money in cost_by_setting and estimate_vs_actual, and not
    drawn apart in cumulative_spend: each plot now draws it in one shared style (colour and
    hatch), with a legend entry saying "emulated", and Runware's money apart from it."""
    relabel(exp, "runware", every=2)
    c = Costs(exp.log)
    assert c.totals()["emulated_usd"] == pytest.approx(0.3) and c.totals()["api_usd"] == pytest.approx(0.3)
    figures = {"cumulative_spend": cumulative_spend(c), "cost_by_experiment": cost_by_experiment(c),
               "cost_by_setting": cost_by_setting(c, "size"), "kept": cost_by_setting(c, "size", min_score=4),
               "estimate_vs_actual": estimate_vs_actual(c)}
    looks = set()
    for name, fig in figures.items():
        drawn = _emulated_looks(fig)
        assert drawn, name
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert any(text.endswith("emulated (offline emulator, nothing paid)") for text in legend), (name, legend)
        looks |= {look[1:] for look in drawn}
        fig.savefig(tmp_path / f"{name}.png")
    assert len(looks) == 1 and next(iter(looks))[2], looks  # one colour, one edge, one hatch, in every plot
    # the emulated part of each bar is the emulated money: half of each size's spend here
    by_size = figures["cost_by_setting"].axes[0]
    [paid, emulated] = by_size.containers
    assert [b.get_width() for b in emulated] == pytest.approx(list(c.by("size")["emulated_usd"]))
    assert [b.get_width() for b in paid] == pytest.approx(list(c.by("size")["api_usd"]))
    assert [b.get_x() for b in emulated] == pytest.approx([b.get_width() for b in paid])  # stacked after it


def test_qwenlab_costs_says_emulated(exp) -> None:
    out = CliRunner().invoke(cli, ["costs"])
    assert out.exit_code == 0, out.output
    assert "reported by the API" not in out.output and "emulated" in out.output
    # the note names the option that keeps them apart, not only Python's by('backend') (notebook 03 printed that alone)
    assert "`qwenlab costs --by backend`" in out.output
    assert "emulated_usd" in out.output
    by = CliRunner().invoke(cli, ["costs", "--by", "backend"])
    assert by.exit_code == 0 and "emulator" in by.output
    data = json.loads(CliRunner().invoke(cli, ["costs", "--json"]).output)
    assert data["totals"]["emulated_usd"] == pytest.approx(0.6) and data["totals"]["api_usd"] == 0


def _notes_not_clear(fig) -> list[str]:
    """The notes written after the bars that, as drawn, reach past the axes' right edge or under
    the legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer) if ax.get_legend() else None
    out = []
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        if box.x1 > frame.x1 + 1 or (legend is not None and box.overlaps(legend)):
            out.append(text.get_text())
    return out


def test_the_notes_after_the_bars_stay_inside_the_axes_clear_of_the_legend(emulator, data_dir: Path) -> None:
    """Notebook 03's "Cost by example, kept": long setting names and the legend beside the axes left
    the axes narrow, and each note ("$1.80, 12 kept of 24 rated (24 images), $0.15 per kept") ran
    past the frame, its end under the legend. The room after the bars is measured as drawn, and the
    figure widened where the bars would otherwise be slivers."""
    from qwenlab import Request

    names = ["skincare poster (LUMIERE)", "art deco perfume (AURELIS NOIR)", "perfume billboard (LUMIÈRE NOIR)"]
    examples = {n: Request(prompt=f"A poster reading '{n}'", size="256x256") for n in names}
    exp = run_sweep(emulator, data_dir, name="examples", axes={"example": examples, "promptExtend": [True, False]},
                    repeats=2, fail_one=False)
    for i, image_id in enumerate(exp.images["image_id"]):
        exp.log.rate(int(image_id), 1 + i % 5)
    c = Costs(exp.log)
    for fig in (cost_by_setting(c, "example"), cost_by_setting(c, "example", min_score=4), cost_by_experiment(c)):
        ax = fig.axes[0]
        assert len(ax.texts) >= 1
        assert _notes_not_clear(fig) == [], ax.get_title()
        # room made by widening the figure, not by shrinking the bars to slivers
        longest = max(bar.get_x() + bar.get_width() for container in ax.containers for bar in container)
        assert longest / ax.get_xlim()[1] > 0.3, (ax.get_title(), ax.get_xlim())


def test_the_note_of_one_emulated_request_says_its_money_and_image(emulator, data_dir: Path) -> None:
    """"1 request ran on qwenlab's offline emulator ...: their $0.0750 is emulated ... and their
    images are synthetic": one request's note in the plural's words."""
    exp = run_sweep(emulator, data_dir, name="one", axes={}, repeats=1, fail_one=False)
    note = next(n for n in Costs(exp.log).notes() if "ran on qwenlab's offline emulator" in n)
    assert note.startswith("1 request ran on qwenlab's offline emulator, not on Runware: its $0.075 is emulated")
    assert "and its image is synthetic" in note and "their" not in note, note
