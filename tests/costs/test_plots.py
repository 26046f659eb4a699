"""The cost plots draw the numbers of `Costs`, on the known log of test_costs."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd
import pytest
from matplotlib.figure import Figure

from qwenlab.costs.frames import Costs
from qwenlab.costs.plots import (
    cost_by_experiment,
    cost_by_setting,
    cumulative_spend,
    estimate_vs_actual,
)
from qwenlab.store.log import Log
from tests.costs.test_costs import TOTAL, known  # noqa: F401  (the fixture)


def render(fig: Figure, path: Path) -> None:
    """Draw for real: a label matplotlib cannot lay out fails here, not in a user's notebook."""
    fig.savefig(path)
    assert path.stat().st_size > 5_000


def texts(fig: Figure) -> str:
    ax = fig.axes[0]
    return "\n".join([t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_yticklabels()]
                     + [t.get_text() for t in ax.get_xticklabels()] + [ax.get_title()])


def test_cumulative_spend_ends_at_the_total(known: Log, tmp_path: Path) -> None:  # noqa: F811
    fig = cumulative_spend(Costs(known))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    total = lines[next(k for k in lines if k.startswith("all"))]
    assert total.get_ydata()[-1] == pytest.approx(TOTAL)
    assert {k.split(" ")[0] for k in lines} == {"all", "alpha", "beta"}
    assert lines[next(k for k in lines if k.startswith("alpha"))].get_ydata()[-1] == pytest.approx(0.455)
    render(fig, tmp_path / "cumulative.png")


def test_cost_by_experiment_stacks_the_parts_and_marks_the_budget(known: Log, tmp_path: Path) -> None:  # noqa: F811
    fig = cost_by_experiment(known)  # a Log is accepted too
    ax = fig.axes[0]
    widths: dict[str, list[float]] = {}
    for container, label in zip(ax.containers, [h.get_label() for h in ax.containers]):
        widths[label] = [bar.get_width() for bar in container]
    assert widths["reported by the API"] == pytest.approx([0.305, 0.16])
    assert widths["estimated (no API cost)"] == pytest.approx([0.075, 0.0])
    assert widths["in doubt (sent, no answer)"] == pytest.approx([0.075, 0.0])
    budget = [line for line in ax.get_lines() if line.get_label() == "budget"]
    assert len(budget) == 1 and list(budget[0].get_xdata()) == [0.5, 0.5]
    words = texts(fig)
    assert "alpha" in words and "\\$0.455 (\\$0.075 on failures)" in words
    render(fig, tmp_path / "by-experiment.png")


def test_cost_by_setting_draws_one_bar_per_axis_value(known: Log, tmp_path: Path) -> None:  # noqa: F811
    fig = cost_by_setting(Costs(known), "promptExtend")
    ax = fig.axes[0]
    assert [bar.get_width() for bar in ax.patches] == pytest.approx([0.23, 0.225])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["on", "off"]
    assert ax.get_title().endswith("\n8 of 12 tasks: the experiments that swept promptExtend")  # beta did not
    assert "\n" not in cost_by_setting(Costs(known), "size").axes[0].get_title()  # every task has a size
    render(fig, tmp_path / "by-setting.png")
    kept = cost_by_setting(Costs(known), "experiment", min_score=4)
    words = texts(kept)
    # alpha: $0.455 over 2 kept images, an estimate to three digits as the notebook's table writes it
    assert "2 kept of 4 rated (4 images), \\$0.228 per kept" in words
    assert "score >= 4" in kept.axes[0].get_title()
    assert "2 kept of 3 rated (4 images)" in words and "rated unevenly" in kept.axes[0].get_title()  # beta: one unrated
    render(kept, tmp_path / "kept.png")
    every = cost_by_setting(Costs(known))  # every setting of both experiments
    assert len(every.axes[0].patches) == 7
    render(every, tmp_path / "settings.png")


def test_estimate_vs_actual_pairs_the_bars(known: Log, tmp_path: Path) -> None:  # noqa: F811
    fig = estimate_vs_actual(Costs(known))
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([0.525, 0.16, 0.455, 0.16])  # estimates, then actuals
    assert "-\\$0.07" in texts(fig)
    render(fig, tmp_path / "estimate.png")


def test_plots_draw_into_a_given_axes(known: Log) -> None:  # noqa: F811
    fig = Figure(figsize=(12, 8))
    axes = fig.subplots(2, 2).ravel()
    c = Costs(known)
    for plot, ax in zip([cumulative_spend, cost_by_experiment, estimate_vs_actual], axes):
        assert plot(c, ax=ax) is fig
    assert cost_by_setting(c, "size", ax=axes[3]) is fig
    assert all(ax.has_data() for ax in axes)


def test_an_empty_log_says_nothing_was_spent(tmp_path: Path) -> None:
    c = Costs(Log(tmp_path / "empty.db"))
    for plot in (cumulative_spend, cost_by_experiment, estimate_vs_actual, cost_by_setting):
        fig = plot(c)
        assert "nothing spent yet" in texts(fig)
        render(fig, tmp_path / f"{plot.__name__}.png")


def test_a_plot_of_part_of_the_log_says_which_part_and_why_it_is_empty(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """A plot of March's spend, saved and shared, must say it is March's: its title names the
    view, as the summary's headline does. An empty one says why: no request in the window, or
    requests that cost nothing (a failure not charged), not "nothing spent yet" of a log in use."""
    march = Costs(known, since="2026-03-01", until="2026-03-05T06:00")
    for plot in (cumulative_spend, cost_by_experiment, estimate_vs_actual, cost_by_setting):
        fig = plot(march)
        assert "\nsince 2026-03-01; before 2026-03-05 06:00 UTC" in fig.axes[0].get_title(), plot.__name__
        render(fig, tmp_path / f"march-{plot.__name__}.png")
    assert march.headline()[0].startswith("Costs (since 2026-03-01; before 2026-03-05 06:00 UTC): $0.455")
    kept = cost_by_setting(march, "promptExtend", min_score=4).axes[0].get_title()
    assert kept.startswith("Cost by promptExtend, kept: score >= 4\nsince 2026-03-01; before")
    quiet = Costs(known, since="2026-05-01")
    for plot in (cumulative_spend, cost_by_experiment, estimate_vs_actual, cost_by_setting):
        assert "no requests in view" in texts(plot(quiet)), plot.__name__
    failed = Costs(known, task_ids=[known.task_ids[5]], tasks_said="the failed request")  # type: ignore[attr-defined]
    for plot in (cumulative_spend, cost_by_experiment):
        words = texts(plot(failed))
        assert "nothing spent: 1 request in view (1 failed), none charged" in words, plot.__name__
        assert "\nthe failed request" in words


def test_each_spend_line_rises_from_zero_so_one_request_is_drawn(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """A line began at its first sum: beta's one request of the window, its last, drew a line of
    no length (from its time to the end, which is its time), in the legend and nowhere else."""
    fig = cumulative_spend(Costs(known, since="2026-03-04", until="2026-03-10T13:00"))  # alpha's t7, beta's t9
    lines = {line.get_label().split(" ")[0]: line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"all", "alpha", "beta"}
    for name, line in lines.items():
        y = list(line.get_ydata())
        assert y[0] == 0 and max(y) > 0, name  # rises from $0: a visible step however short the span
    assert list(lines["beta"].get_ydata()) == pytest.approx([0, 0.07, 0.07])
    assert list(lines["all"].get_ydata()) == pytest.approx([0, 0.075, 0.145])
    render(fig, tmp_path / "window.png")


def test_a_window_sets_the_budget_mark_against_the_whole_spend(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """alpha spent $0.15 on March 3 and 4 and $0.455 in all, of its $0.50 budget. Its window's bar
    alone beside the budget's mark read as $0.35 left; the budget holds every request, as
    budget() of the window says, so the rest of its spend is drawn after the window's, hatched,
    and its whole spend is written beside."""
    window = Costs(known, since="2026-03-03", until="2026-03-05")
    fig = cost_by_experiment(window)
    ax = fig.axes[0]
    bars = {c.get_label(): c for c in ax.containers}
    outside = bars["outside this window, counted by the budget"]
    [bar] = outside
    assert bar.get_x() == pytest.approx(0.15) and bar.get_x() + bar.get_width() == pytest.approx(0.455)
    assert bar.get_x() + bar.get_width() == pytest.approx(window.budget().loc["alpha", "cost_usd"])
    budget = [line for line in ax.get_lines() if line.get_label() == "budget (of every request)"]
    assert len(budget) == 1 and list(budget[0].get_xdata()) == [0.5, 0.5]
    assert "\\$0.15 (\\$0.075 on failures); \\$0.455 in all" in texts(fig)
    render(fig, tmp_path / "window-by-experiment.png")
    some = cost_by_experiment(Costs(known, task_ids=[known.task_ids[1]]))  # type: ignore[attr-defined]
    [bar] = {c.get_label(): c for c in some.axes[0].containers}["its requests not shown, counted by the budget"]
    assert bar.get_x() + bar.get_width() == pytest.approx(0.455)
    april = cost_by_experiment(Costs(known, since="2026-04-01"))  # beta has no budget: nothing to hold it against
    assert [c.get_label() for c in april.axes[0].containers] == ["reported by the API"]
    assert "in all" not in texts(april)
    whole = cost_by_experiment(Costs(known))  # the whole log: nothing outside it
    assert len(whole.axes[0].containers) == 3 and "in all" not in texts(whole)


def cut_texts(fig: Figure) -> list[str]:
    """The title and the notes of a figure that reach past its edges, as drawn (cut off in the PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    cut = []
    for ax in fig.axes:
        for text in [ax.title, *ax.texts]:
            box = text.get_window_extent(renderer)
            if text.get_text() and (box.x0 < -1 or box.x1 > fig.bbox.x1 + 1 or box.y1 > fig.bbox.y1 + 1):
                cut.append(text.get_text())
    return cut


def test_every_title_fits_its_figure(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """The title says which part of the log a plot shows: of one or two experiments, the estimate
    plot was 5 inches wide and cut its title at both sides ("xperiments beta; without experiment")."""
    views = [Costs(known), Costs(known, experiments="beta", since="2026-04-01", imported=False),
             Costs(known, experiments=["alpha", "beta"], since="2026-03-01T12:00", until="2026-03-05T06:00")]
    for c in views:
        for plot in (cumulative_spend, cost_by_experiment, estimate_vs_actual, cost_by_setting):
            fig = plot(c)
            assert cut_texts(fig) == [], (plot.__name__, c.scope())
    render(estimate_vs_actual(views[1]), tmp_path / "beta-estimate.png")


def test_one_request_is_drawn_at_its_minute_not_in_a_span_of_years(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """A log's first request alone (or a batch logged at one instant) spans no time: matplotlib
    widened it to two years each side, 2025 to 2029, a spike in the middle."""
    from matplotlib.dates import date2num

    one = Costs(known, since="2026-03-10", until="2026-03-11")  # beta's t9 alone, done at 12:00
    assert len(one.timeline()) == 1
    fig = cumulative_spend(one)
    low, high = fig.axes[0].get_xlim()
    done = date2num(pd.Timestamp("2026-03-10T12:00"))
    assert low < done < high and high - low <= 1 / 24  # within the hour
    render(fig, tmp_path / "one.png")


def test_the_spend_of_many_requests_of_many_experiments_adds_up_line_by_line(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines drawn from arrays (a million requests' spend took 28 s to draw as lists of
    Timestamps; what it takes now is a benchmark's to say, not a test's): each ends at its
    experiment's total, the eight largest apart and the others summed."""
    import numpy as np

    n = 50_000
    rng = np.random.default_rng(7)
    cost = rng.choice([0.075, 0.15, 0.0375], n)
    big = pd.DataFrame({"at": pd.date_range("2026-01-01", periods=n, freq="37s", tz="UTC"),
                        "experiment": [f"exp-{i % 12:02d}" for i in range(n)], "cost_usd": cost,
                        "cost_source": "api", "cumulative_usd": np.round(np.cumsum(cost), 6)})
    c = Costs(Log(tmp_path / "empty.db"))
    monkeypatch.setattr(c, "timeline", lambda: big)
    fig = cumulative_spend(c)
    lines = {line.get_label().split(" ")[0]: line for line in fig.axes[0].get_lines()}
    assert len(lines) == 10 and "others" in lines  # all, the eight largest, the rest summed
    assert lines["all"].get_ydata()[-1] == pytest.approx(cost.sum())
    per = big.groupby("experiment")["cost_usd"].sum().sort_values()
    assert lines["others"].get_ydata()[-1] == pytest.approx(per.iloc[:4].sum())  # the four smallest
    assert lines[per.index[-1]].get_ydata()[-1] == pytest.approx(per.iloc[-1])
    render(fig, tmp_path / "big.png")


def test_many_experiments_estimates_lie_across_not_in_a_figure_yards_wide(tmp_path: Path) -> None:
    """Side by side, each experiment's pair took 1.1 inches: the 20 experiments of the cost
    benchmark made a figure 24 inches wide, 60 of them 68, shrunk to an unreadable sliver in a
    notebook. Past twelve, the pairs lie across, one experiment under the other."""
    from tests.costs.test_costs import at, experiment, finish, send, task

    log = Log(tmp_path / "many.db")
    for e in range(14):
        exp_id = experiment(log, f"poster-run-{e:02d}", {"promptExtend": [True, False]})
        for rep in range(e % 3 + 1):
            tid = task(log, exp_id, {"promptExtend": True, "repeat": rep})
            send(log, tid, at("2026-03-01", 10))
            finish(log, tid, at("2026-03-01", 10), [0.075] if rep else [], status="done" if rep else "failed")
    c = Costs(log)
    df = c.estimate_vs_actual()
    fig = estimate_vs_actual(c)
    width, height = fig.get_size_inches()
    assert width <= 10 and height > 7  # 17.4 inches wide and 4 high before: 14 pairs side by side
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(df.index)
    estimated, actual = ax.containers
    assert [bar.get_width() for bar in estimated] == pytest.approx(df["estimated_usd"].tolist())
    assert [bar.get_width() for bar in actual] == pytest.approx(df["cost_usd"].tolist())
    assert "-\\$0.075" in texts(fig)  # each pair's difference: the failed first request cost nothing
    assert cut_texts(fig) == []
    render(fig, tmp_path / "many-estimates.png")
    few = estimate_vs_actual(Costs(log, experiments=list(df.index[:12])))  # twelve still stand side by side
    assert [t.get_text() for t in few.axes[0].get_xticklabels()][0].startswith("poster-")


def test_kept_images_by_an_axis_say_the_bars_are_not_the_whole(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """Only alpha swept promptExtend: its bars are 8 of the 12 tasks, kept or not. The plot of the
    cost per kept image said nothing of beta's requests, where `qwenlab costs --kept 4 --by
    promptExtend` and the plot of the spend say so."""
    fig = cost_by_setting(Costs(known), "promptExtend", min_score=4)
    title = fig.axes[0].get_title()
    assert title.startswith("Cost by promptExtend, kept: score >= 4")
    assert "\n8 of 12 tasks: the experiments that swept promptExtend" in title, title
    assert cut_texts(fig) == []
    render(fig, tmp_path / "kept-by-axis.png")
    assert "swept" not in cost_by_setting(Costs(known), "size", min_score=4).axes[0].get_title()  # every task has a size


def test_titles_and_headlines_say_the_bounds_as_they_were_given(known: Log, tmp_path: Path) -> None:  # noqa: F811
    """until="2026-03" takes March whole, as documented; the titles said "until 2026-04-01", a day
    nobody typed that reads as April's first day taken in. A day as until is left out itself:
    "until 2026-03-10" read as the 10th included. Each plot and the summary say what was meant."""
    cases = [(Costs(known, since="2026-03", until="2026-03"), "since 2026-03; through 2026-03"),
             (Costs(known, since="2026-03-02", until="2026-03-10"), "since 2026-03-02; before 2026-03-10"),
             (Costs(known, since="2026", until="2026-W10"), "since 2026; through 2026-W10"),
             (Costs(known, until="2026-3"), "through 2026-03")]
    for c, said in cases:
        for plot in (cumulative_spend, cost_by_experiment, estimate_vs_actual, cost_by_setting):
            title = plot(c).axes[0].get_title()
            assert f"\n{said}" in title and "2026-04-01" not in title, (plot.__name__, title)
        assert cost_by_setting(c, "promptExtend", min_score=4).axes[0].get_title().split("\n")[1] == said
        assert c.headline()[0].startswith(f"Costs ({said}): $"), c.headline()[0]
        assert c.summary().startswith(f"Costs ({said}): $")
    march = Costs(known, since="2026-03", until="2026-03")
    assert (march.since, march.until) == ("2026-03-01", "2026-04-01")  # the bounds themselves are unchanged
    # a view narrowed further keeps saying a bound it kept as it was given
    assert march.filter(experiments="alpha").scope() == ["experiment alpha", "since 2026-03", "through 2026-03"]
    assert march.filter(since="2026-03-02").scope() == ["since 2026-03-02", "through 2026-03"]
    render(cost_by_experiment(cases[0][0]), tmp_path / "through-march.png")


@pytest.fixture
def three_years(tmp_path: Path) -> Log:
    """One request a day, $0.075 each, from 2026-01-01 for 1,158 days (to 2029-03-03)."""
    return _one_request_a_day(tmp_path / "years.db", "daily",
                              pd.date_range("2026-01-01", periods=1158, freq="D").strftime("%Y-%m-%d"))


def _one_request_a_day(path: Path, name: str, days: Iterable[str]) -> Log:
    """A log of experiment `name` with one $0.075 request on each of `days` (promptExtend alternating)."""
    from tests.costs.test_costs import at, experiment, finish, send, task

    log = Log(path)
    exp_id = experiment(log, name, {"promptExtend": [True, False]})
    for i, day in enumerate(days):
        tid = task(log, exp_id, {"promptExtend": bool(i % 2), "repeat": i})
        send(log, tid, at(day, 11))
        finish(log, tid, at(day), [0.075])
    return log


def test_a_period_of_too_many_bars_is_drawn_coarser_and_says_so(three_years: Log, tmp_path: Path) -> None:
    """cost_by_setting(costs, "day") over three years drew 1,158 bars in a figure 250 inches high.
    Past 40 bars a period is drawn by the next coarser one, the title saying so; a window of a few
    weeks still draws each day."""
    c = Costs(three_years)
    for asked, bars in (("day", "1,158"), ("week", "166")):
        for fig in (cost_by_setting(c, asked), cost_by_setting(c, asked, min_score=4)):
            ax = fig.axes[0]
            labels = [t.get_text() for t in ax.get_yticklabels()]
            assert labels == list(c.by("month").index) and len(labels) == 39, asked  # 2026-01 .. 2029-03
            assert ax.get_title().startswith("Cost by month") and f"(by {asked}: {bars} bars, too many to read" in ax.get_title()
            assert fig.get_size_inches()[1] < 25 and cut_texts(fig) == []
        assert sum(bar.get_width() for bar in cost_by_setting(c, asked).axes[0].patches) == pytest.approx(1158 * 0.075)
    render(cost_by_setting(c, "day"), tmp_path / "three-years-by-day.png")
    month = cost_by_setting(Costs(three_years, since="2027-06", until="2027-06"), "day").axes[0]
    assert len(month.get_yticklabels()) == 30 and month.get_title().startswith("Cost by day\n")  # a month's days, drawn
    assert len(cost_by_setting(c, "month").axes[0].get_yticklabels()) == 39  # asked for and drawn: nothing said
    assert "too many" not in cost_by_setting(c, "month").axes[0].get_title()


def drawn_ticks(fig: Figure) -> list[str]:
    """The time axis's tick labels as drawn (matplotlib picks the ticks when it draws)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]


@pytest.mark.parametrize(("start", "span", "ticks", "day"), [
    # a demo run of three minutes: "10:25", "30", "10:26", "30" read the seconds as half past ten
    ("2026-03-01T10:25", "3min", r"\d\d:\d\d:\d\d", "2026-03-01"),
    ("2026-03-01T10:25:03", "50s", r"\d\d:\d\d:\d\d", "2026-03-01"),
    ("2026-03-01T10:25", "5h", r"\d\d:\d\d", "2026-03-01"),
    ("2026-03-01T00:00", "4D", r"\d\d:\d\d|[A-Z][a-z]{2} \d\d", "2026-03-01 to 2026-03-05"),
    # four months: the days between the months were a bare "15"
    ("2026-01-15", "120D", r"[A-Z][a-z]{2} \d\d", "2026-01-15 to 2026-05-15"),
    ("2026-01-15", "1500D", r"\d{4}|[A-Z][a-z]{2}", "2026-01-15 to 2030-02-23"),
])
def test_every_time_tick_says_what_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         start: str, span: str, ticks: str, day: str) -> None:
    """matplotlib's concise dates labelled a minute's half as a bare "30" and a month's middle as
    "15", the day in a corner: each tick now reads as a time or a date, and the axis says the days."""
    import re

    import numpy as np

    at = pd.date_range(start, pd.Timestamp(start) + pd.Timedelta(span), periods=30, tz="UTC")
    cost = np.full(30, 0.075)
    spend = pd.DataFrame({"at": at, "experiment": "demo", "cost_usd": cost, "cost_source": "api",
                          "cumulative_usd": np.cumsum(cost)})
    c = Costs(Log(tmp_path / "empty.db"))
    monkeypatch.setattr(c, "timeline", lambda: spend)
    fig = cumulative_spend(c)
    labels = drawn_ticks(fig)
    assert len(labels) >= 3 and all(re.fullmatch(ticks, label) for label in labels), labels
    assert fig.axes[0].get_xlabel() == f"time (UTC), {day}"
    assert fig.axes[0].xaxis.get_offset_text().get_text() == ""  # the day is in the label, not in a corner
    render(fig, tmp_path / "span.png")


def test_past_forty_months_a_period_is_drawn_by_year(tmp_path: Path) -> None:
    """One request a month for 45 months: by day, week or month, 45 bars each, drawn by month
    still (the ladder stopped there), 45 bars past the 40 a plot draws. by("year") groups them as
    by("month") does, and the plot goes on to years, saying so."""
    log = _one_request_a_day(tmp_path / "monthly.db", "monthly",
                             pd.date_range("2026-01-01", periods=45, freq="MS").strftime("%Y-%m-10"))
    c = Costs(log)
    years = c.by("year")
    assert years["cost_usd"].to_dict() == pytest.approx({"2026": 0.9, "2027": 0.9, "2028": 0.9, "2029": 0.675})
    assert years["tasks"].tolist() == [12, 12, 12, 9]
    assert Costs(log, since="2027", until="2027").by("year").index.tolist() == ["2027"]
    for asked in ("day", "week", "month"):
        for fig in (cost_by_setting(c, asked), cost_by_setting(c, asked, min_score=4)):
            ax = fig.axes[0]
            assert [t.get_text() for t in ax.get_yticklabels()] == ["2026", "2027", "2028", "2029"], asked
            assert ax.get_title().startswith("Cost by year"), asked
            assert f"(by {asked}: 45 bars, too many to read;\nsince/until of at most 40 {asked}s draws each {asked})" \
                in ax.get_title()
            assert cut_texts(fig) == []
    render(cost_by_setting(c, "month"), tmp_path / "by-year.png")
    drawn = cost_by_setting(Costs(log, since="2027-01", until="2029-12"), "month").axes[0]  # 33 months: each drawn
    assert len(drawn.get_yticklabels()) == 33 and drawn.get_title().startswith("Cost by month\n")


def test_a_key_of_a_hundred_values_draws_the_forty_costliest_and_the_others(tmp_path: Path) -> None:
    """100 settings drew 100 bars in a figure 45 inches high. The 40 costliest are drawn, in the
    sweep's order, and the other 60 summed in one bar, "others", as the title says; by() still
    has every value."""
    from tests.costs.test_costs import at, experiment, finish, images_of, send, task

    log = Log(tmp_path / "wide.db")
    exp_id = experiment(log, "wide", {"example": list(range(100))})
    for k in range(100):
        price = round(0.01 * ((k * 37) % 100 + 1), 2)  # $0.01 .. $1.00, each once, out of order
        tid = task(log, exp_id, {"example": k, "repeat": 0}, price=price)
        send(log, tid, at("2026-03-01", 10))
        finish(log, tid, at("2026-03-01", 10), [price])
        log.rate(images_of(log, tid)[0], 5 if k % 2 else 3)
    c = Costs(log)
    spend = c.by("example")["cost_usd"]
    costliest = [str(k) for k in range(100) if (k * 37) % 100 >= 60]  # $0.61 .. $1.00, in the sweep's order
    rest = spend.drop(costliest)
    for axis, bars in (("example", costliest), ("setting", [f"example={k}" for k in costliest])):
        for fig in (cost_by_setting(c, axis), cost_by_setting(c, axis, min_score=4)):
            ax = fig.axes[0]
            noun = "settings" if axis == "setting" else "example values"
            assert [t.get_text() for t in ax.get_yticklabels()] == [*bars, f"others (60 {noun})"], axis
            assert f"\nthe 40 costliest of 100 {noun}; the other 60 summed as \"others\"" in ax.get_title()
            assert [bar.get_width() for bar in ax.patches] == pytest.approx([*spend[costliest], rest.sum()])
            assert fig.get_size_inches()[1] < 25 and cut_texts(fig) == []
        words = texts(cost_by_setting(c, axis))
        assert f"\\${rest.sum():.2f}, 60 images, \\${rest.sum() / 60:.4f}".rstrip("0") in words, words[-300:]
        kept = texts(cost_by_setting(c, axis, min_score=4))
        odd = sum(1 for k in range(100) if k % 2 and (k * 37) % 100 < 60)  # kept among the others
        assert f"{odd} kept of 60 rated (60 images)" in kept
    render(cost_by_setting(c, "example"), tmp_path / "hundred.png")
    assert len(cost_by_setting(Costs(log, task_ids=list(range(1, 41))), "example").axes[0].patches) == 40  # 40: each drawn
    # a deleted experiment's spend stays in the bars, not in a price per image: its images are gone
    from qwenlab.store.organize import Organizer

    old = experiment(log, "old", {"example": list(range(100))})
    for k in range(0, 100, 5):
        tid = task(log, old, {"example": k, "repeat": 0}, price=0.002)
        send(log, tid, at("2026-02-01", 10))
        finish(log, tid, at("2026-02-01", 10), [0.002])
    Organizer(log, tmp_path).delete(old, confirm=True)
    fig = cost_by_setting(Costs(log), "example")  # its values one more: "(deleted: values not kept)", $0.04
    assert fig.axes[0].get_yticklabels()[-1].get_text() == "others (61 example values)"
    assert "\\$18.34, 60 images, \\$0.305 each" in texts(fig)  # $18.30 over 60 images, not $18.34 ($0.306)


def test_the_others_of_many_experiments_are_priced_over_their_images(tmp_path: Path) -> None:
    """By experiment, a deleted experiment is a row of its own, its spend kept and its images
    gone: summed into "others", its spend is left out of their price per image, as by() does."""
    from qwenlab.store.organize import Organizer
    from tests.costs.test_costs import at, experiment, finish, send, task

    log = Log(tmp_path / "many.db")
    for i in range(42):
        exp_id = experiment(log, f"run-{i:02d}", {"promptExtend": [True]})
        price = 0.001 if i == 0 else round(0.01 * i, 2)
        tid = task(log, exp_id, {"promptExtend": True, "repeat": 0}, price=price)
        send(log, tid, at("2026-03-01", 10))
        finish(log, tid, at("2026-03-01", 10), [price])
        if i == 0:
            Organizer(log, tmp_path).delete(exp_id, confirm=True)
    fig = cost_by_setting(Costs(log), "experiment")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 41 and labels[-1] == "others (2 experiments)"  # the deleted one ($0.001) and run-01 ($0.01)
    assert "\\$0.011, 1 image, \\$0.01 each" in texts(fig)  # not $0.011


def test_a_hundred_experiments_draw_the_forty_costliest_and_the_others(tmp_path: Path) -> None:
    """cost_by_experiment drew one bar per experiment: 100 made a figure 48 inches high. It draws
    the 40 costliest, in their order, and the other 60 summed in one bar, as cost_by_setting does
    and says; their parts (the emulator's money in its own style) and budgets stay as they were."""
    from tests.costs.test_costs import at, experiment, finish, task

    log = Log(tmp_path / "hundred.db")
    for k in range(100):
        price = round(0.01 * ((k * 37) % 100 + 1), 2)  # $0.01 .. $1.00, each once, out of order
        exp_id = experiment(log, f"run-{k:03d}", {"promptExtend": [True]}, budget=2.0 if k % 10 == 0 else None)
        tid = task(log, exp_id, {"promptExtend": True, "repeat": 0}, price=price)
        log.mark_sent(tid, "{}", backend="runware" if k % 3 else "emulator")  # the emulator's money: nothing paid
        log.note_task(tid, sent_at=at("2026-03-01", 10))
        finish(log, tid, at("2026-03-01", 10), [price])
    c = Costs(log)
    spend = c.by("experiment")
    costliest = [f"run-{k:03d}" for k in range(100) if (k * 37) % 100 >= 60]  # $0.61 .. $1.00, in their order
    rest = spend.drop(costliest)
    fig = cost_by_experiment(c)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [*costliest, "others (60 experiments)"]
    assert "\nthe 40 costliest of 100 experiments; the other 60 summed as \"others\"" in ax.get_title()
    assert fig.get_size_inches()[1] < 25 and cut_texts(fig) == []
    drawn = {container.get_label(): [bar.get_width() for bar in container] for container in ax.containers}
    for column, label in (("api_usd", "reported by the API"), ("emulated_usd", "emulated (offline emulator, nothing paid)")):
        assert drawn[label] == pytest.approx([*spend.loc[costliest, column], rest[column].sum()]), label
    emulated = next(c for c in ax.containers if c.get_label().startswith("emulated"))
    assert emulated.patches[0].get_hatch() == "..."  # the shared style of the emulator's money
    budgets = [line for line in ax.get_lines() if list(line.get_xdata()) == [2.0, 2.0]]
    assert len(budgets) == sum(1 for name in costliest if int(name[4:]) % 10 == 0)  # "others" has none marked
    assert f"\\${rest['cost_usd'].sum():.2f}" in texts(fig)
    render(fig, tmp_path / "hundred-experiments.png")
    few = cost_by_experiment(Costs(log, experiments=costliest))  # 40: each drawn, nothing said
    assert len(few.axes[0].get_yticklabels()) == 40 and "costliest" not in few.axes[0].get_title()


def test_a_time_tick_past_midnight_says_the_new_day(tmp_path: Path) -> None:
    """Requests from 23:10 to 00:40 were ticked "23:30 ... 00:00 ... 00:30": nothing said the day
    changed. The first tick of the new day has its date under it; the ticks before have none."""
    from tests.costs.test_costs import experiment, finish, send, task

    log = Log(tmp_path / "midnight.db")
    exp_id = experiment(log, "late", {"promptExtend": [True, False]})
    for i, when in enumerate(pd.date_range("2026-03-01T23:10", "2026-03-02T00:40", freq="10min")):
        stamp = when.strftime("%Y-%m-%dT%H:%M:00.000+00:00")
        tid = task(log, exp_id, {"promptExtend": bool(i % 2), "repeat": i})
        send(log, tid, stamp)
        finish(log, tid, stamp, [0.075])
    fig = cumulative_spend(Costs(log))
    labels = drawn_ticks(fig)
    dated = [i for i, label in enumerate(labels) if "Mar 02" in label]
    assert len(dated) == 1, labels  # the first tick of March 2, and only it
    assert labels[dated[0]].startswith("00:") and all(label.startswith("23:") for label in labels[:dated[0]]), labels
    assert not any("Mar 01" in label for label in labels)
    assert fig.axes[0].get_xlabel() == "time (UTC), 2026-03-01 to 2026-03-02"
    assert cut_texts(fig) == []
    render(fig, tmp_path / "midnight.png")


def test_a_period_that_is_also_an_axis_is_drawn_as_asked(tmp_path: Path) -> None:
    """cost_by_setting draws "axis:week" as the axis and "period:day" as days, coarsened past 40
    bars to "period:week" (not to by("week"), refused where an axis "week" is in view); "day"
    itself is refused there, saying how to ask for each."""
    from qwenlab.errors import UnknownCostKeyError
    from tests.costs.test_costs import at, experiment, finish, send, task

    log = _one_request_a_day(tmp_path / "weeks.db", "daily", pd.date_range("2026-03-02", periods=45).strftime("%Y-%m-%d"))
    exp_id = experiment(log, "weekly", {"week": ["first", "second"], "day": ["mon", "tue"]})
    for i, week in enumerate(["first", "second", "second"]):
        tid = task(log, exp_id, {"week": week, "day": "mon", "repeat": i})
        send(log, tid, at("2026-03-03"))
        finish(log, tid, at("2026-03-03"), [0.075])
    c = Costs(log)
    with pytest.raises(UnknownCostKeyError, match="by='day' is ambiguous"):
        cost_by_setting(c, "day")
    ax = cost_by_setting(c, "period:day").axes[0]
    assert ax.get_title().startswith("Cost by week (by day: 45 bars, too many to read")
    assert [t.get_text() for t in ax.get_yticklabels()] == list(c.by("period:week").index) and len(ax.patches) == 7
    fig = cost_by_setting(c, "axis:week")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["first", "second"]
    assert ax.get_title().startswith("Cost by week (sweep axis)\n3 of 48 tasks: the experiments that swept week")
    assert [bar.get_width() for bar in ax.patches] == pytest.approx([0.075, 0.15])
    render(fig, tmp_path / "axis-week.png")


def test_the_spend_over_time_keeps_its_legend_off_the_lines(known: Log) -> None:  # noqa: F811
    """Notebook 03's cumulative spend put its legend in the upper left corner, over the total's
    step when a large experiment ran early in the log: the legend stands beside the axes now, as
    the bar plots' does."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = cumulative_spend(Costs(known))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(canvas.get_renderer())
    assert legend.x0 >= ax.get_window_extent().x1, (legend, ax.get_window_extent())
    assert legend.x1 <= fig.bbox.x1 + 1  # and inside the figure


@pytest.mark.parametrize("span", ["8s", "80s", "90s", "270s", "10min", "30h"])
def test_the_time_axis_labels_stand_apart_on_a_log_of_a_minute_or_two(span: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo and notebooks 01 and 02 run in a row log a minute and a half of requests: the
    spend's time axis had a tick every 10 s, "15:34:30" run into "15:34:40" and the rest, one
    smear of digits under the plot. Each tick's label now stands clear of the next."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    n = 40
    cost = np.full(n, 0.075)
    line = pd.DataFrame({"at": pd.date_range("2026-12-07T15:34:27", periods=n, freq=pd.Timedelta(span) / (n - 1), tz="UTC"),
                         "experiment": [f"run-{i % 3}" for i in range(n)], "cost_usd": cost,
                         "cost_source": "emulated", "cumulative_usd": np.cumsum(cost)})
    c = Costs(Log(tmp_path / "empty.db"))
    monkeypatch.setattr(c, "timeline", lambda: line)
    fig = cumulative_spend(c)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [t for t in ax.get_xticklabels() if t.get_text() and low <= t.get_position()[0] <= high]
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in shown]
    assert len(shown) >= 3, [t.get_text() for t in shown]
    crowded = [(a.get_text(), b.get_text()) for a, b, left, right in zip(shown, shown[1:], boxes, boxes[1:])
               if left.x1 + 2 > right.x0]
    assert crowded == [], crowded


def test_an_emoji_in_a_name_or_an_axis_value_is_named_not_an_empty_box(tmp_path: Path) -> None:
    """An emoji in an experiment's name or an axis value was an empty box in every cost plot (its
    tick labels, legend, bar labels), said only by matplotlib's "Glyph ... missing" warning: it is
    its name in brackets, as in the grids (`qwenlab.core.glyphs`), and CJK text is drawn as it is."""
    import warnings

    from tests.costs.test_costs import at, experiment, finish, send, task

    log = Log(tmp_path / "emoji.db")
    prompts = ["poster 🚀 launch", "新年快乐 poster"]
    spring = experiment(log, "spring 🌸 sale", {"prompt": prompts}, budget=0.5)
    plain = experiment(log, "plain", {"promptExtend": [True, False]})
    for i, (exp_id, cell) in enumerate([(spring, {"prompt": p}) for p in prompts]
                                       + [(plain, {"promptExtend": v}) for v in (True, False)]):
        tid = task(log, exp_id, {**cell, "repeat": 0})
        send(log, tid, at("2026-03-01", 10 + i))
        finish(log, tid, at("2026-03-01", 11 + i), [0.075])
    costs = Costs(log)
    figures = {"cumulative": cumulative_spend(costs), "by-experiment": cost_by_experiment(costs),
               "by-prompt": cost_by_setting(costs, "prompt"), "by-setting": cost_by_setting(costs),
               "estimate": estimate_vs_actual(costs)}
    for name, fig in figures.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            render(fig, tmp_path / f"{name}.png")
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert not missing, (name, missing)
        ax = fig.axes[0]
        legend = ax.get_legend()
        drawn = " ".join([texts(fig), *([t.get_text() for t in legend.get_texts()] if legend else [])]).replace("\n", " ")
        assert "🌸" not in drawn and "🚀" not in drawn, (name, drawn)
        if name != "by-prompt":  # the prompts' bars are named by the prompts alone
            assert "[cherry blossom]" in drawn, (name, drawn)
    prompt_labels = " ".join(t.get_text() for t in figures["by-prompt"].axes[0].get_yticklabels()).replace("\n", " ")
    assert "poster [rocket] launch" in prompt_labels and "新年快乐 poster" in prompt_labels, prompt_labels
