"""Plots of what experiments cost (matplotlib), drawn from `qwenlab.costs.frames.Costs`.

    from qwenlab.costs.plots import cumulative_spend, cost_by_experiment, cost_by_setting, estimate_vs_actual
    cumulative_spend(costs)                    # where the money went over time
    cost_by_experiment(costs)                  # API / emulated / estimated / in doubt, with each budget (40 costliest)
    cost_by_setting(costs, "promptExtend")     # spend and $/image per value of an axis
    cost_by_setting(costs, "week")             # per period: day, week, month or year (coarsened past 40 bars)
    cost_by_setting(costs, "axis:year")        # an axis named as a period ("period:year": the period)
    estimate_vs_actual(costs)                  # the plan's estimate against the spend

Each takes a `Costs` (or a Log, a Lab, a path) and an optional `ax` to draw into, and returns
the Figure. No pyplot: figures are plain `matplotlib.figure.Figure`s (safe in any thread, no
GUI backend); a notebook shows one with `display(fig)` or as a cell's last value.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from ..core.glyphs import drawable, legible
from ..core.scripts import wrap_units
from ..core.values import count_of, format_usd, format_usd_estimates
from ..store.organize import DELETED_PREFIX
from .frames import Costs
from .labels import AXIS_PREFIX, BUILTIN_PREFIX, PER_EXPERIMENT, PERIOD_PREFIX, PERIODS, swept_axis
from .query import BUILTIN_KEYS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .frames import Costs

__all__ = ["cumulative_spend", "cost_by_experiment", "cost_by_setting", "estimate_vs_actual"]

_OWN_FIGURE = "qwenlab-cost-plot"  # the gid of a figure a plot made (no `ax=` given), which `_fit_notes` may widen
_NOTE = "qwenlab-bar-note"  # the gid of a note written after a bar, which `_fit_notes` makes room for
_EMULATED = "emulated (offline emulator, nothing paid)"  # the legend entry of the emulator's money, in every plot
_PAID = "#3b6ea8"  # money spent on Runware (reported, or counted at its estimate)
# the offline emulator's money (nothing paid), drawn one way in every plot (a bar's part, the area
# under the spend): grey in one plot and blue in the next, it read as paid where it was not said
_EMULATED_STYLE = {"facecolor": "#dcdcdc", "edgecolor": "#6f6f6f", "hatch": "...", "linewidth": 0.0}
# the parts of a spend, in the order they are stacked, with their colours (None: the emulated style)
_PARTS = [("api_usd", "reported by the API", _PAID), ("emulated_usd", _EMULATED, None),
          ("estimate_usd", "estimated (no API cost)", "#9ab8d8"), ("in_doubt_usd", "in doubt (sent, no answer)", "#e0a040")]
# cumulative_spend's time ticks, by what they step over (years, months, days, hours, minutes,
# seconds; matplotlib's ConciseDateFormatter): the first of its kind (a year's January, a day's
# midnight) in `_TICK_ZERO_FORMATS`. No tick is a bare number: "Feb 15", "12:00", "10:25:30";
# the first time of a new day has its date under it (`_dated_times`).
_TICK_FORMATS = ["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%H:%M:%S.%f"]
_TICK_ZERO_FORMATS = ["%Y", "%Y", "%b %d", "%b %d", "%H:%M", "%H:%M:%S.%f"]
_MAX_SECOND_TICKS = 8  # ticks of an axis of seconds (HH:MM:SS) that fit side by side in the axes' width
_MAX_LINES = 8  # experiments drawn as their own line; the rest are summed as "others"
_MAX_COLUMNS = 12  # experiments whose estimate and actual stand side by side; more lie across, one under the other
# bars cost_by_setting and cost_by_experiment draw: past it a period is drawn by the next coarser
# one, and any other key (settings, an axis's values, experiments) by its costliest values and one
# bar of the others (`_costliest`); the title says which
_MAX_BARS = 40
# what a key's values are called in the title and the bar of the others ("others (60 settings)")
_VALUES = {"setting": "settings", "experiment": "experiments", "model": "models", "size": "sizes",
           "status": "statuses", "backend": "backends"}


def _cjk_text(plot: Callable[..., "Figure"]) -> Callable[..., "Figure"]:
    """A plot whose texts (experiment names, axis values, prompts) draw CJK characters with the
    system's CJK font, where one is found (`qwenlab.core.cjk_font`), and a character no font has
    (an emoji) as its name in brackets (`qwenlab.core.glyphs`), instead of empty boxes: the tick
    labels, made when the figure is drawn, too (`legible`)."""
    @functools.wraps(plot)
    def drawn(*args: Any, **kwargs: Any) -> "Figure":
        return legible(plot(*args, **kwargs))
    return drawn


def _notes_fitted(plot: Callable[..., "Figure"]) -> Callable[..., "Figure"]:
    """A bar plot whose notes after the bars (`_finish_bars`) end inside its axes, as drawn: outermost,
    after `_cjk_text`, whose fonts change the labels' widths and so the axes'."""
    @functools.wraps(plot)
    def drawn(*args: Any, **kwargs: Any) -> "Figure":
        fig = plot(*args, **kwargs)
        for ax in fig.axes:
            _fit_notes(ax)
        return fig
    return drawn


def _fit_notes(ax: "Axes", pad_px: float = 6.0) -> None:
    """Make room for each note after a bar to end inside the axes. The room a note needs is a share
    of the axes' width, which the labels' length and a legend beside the axes decide once laid out:
    the estimate alone ("2% of the width per character") ran notebook 03's notes ("$1.80, 12 kept
    of 24 rated (24 images), $0.15 per kept") past the frame and under the legend. A figure of
    qwenlab's own (not one given as `ax=`) too narrow for its notes beside the bars is widened, so
    that the notes take at most 60% of the axes; then the x range is widened until each fits."""
    notes = [t for t in ax.texts if t.get_gid() == _NOTE and t.get_text()]
    if not notes:
        return
    fig = ax.figure.figure  # the root figure, of a subfigure too (matplotlib 3.8 has no get_figure(root=))
    widened = False
    for _ in range(4):  # a wider figure or range moves the layout and relabels the ticks: measure again
        fig.draw_without_rendering()
        width = ax.get_window_extent().width
        widest = max(note.get_window_extent().width for note in notes) + pad_px
        if fig.get_gid() == _OWN_FIGURE and not widened and widest > 0.6 * width:
            # bars squeezed into what the notes leave were slivers: the figure gains what is lacking
            fig.set_size_inches(fig.get_figwidth() + (widest / 0.6 - width) / fig.dpi, fig.get_figheight())
            widened = True
            continue
        right = ax.get_xlim()[1]
        need = right
        for note in notes:
            end = float(note.get_position()[0])
            free = width - note.get_window_extent().width - pad_px  # a note wider than the axes cannot fit
            if free > 0 and end > 0:
                need = max(need, end * width / free)
        if need <= right * 1.001:
            return
        ax.set_xlim(0, need)


def _costs(source: Any) -> "Costs":

    return source if isinstance(source, Costs) else Costs(source)


def _axes(ax: "Axes | None", size: tuple[float, float]) -> tuple["Figure", "Axes"]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained", gid=_OWN_FIGURE)
    return fig, fig.add_subplot()


def _usd(x: float, _pos: Any = None) -> str:
    # format_usd's dollars (cents, or up to a hundredth of a cent where cents would round it away), with
    # r"\$": a literal dollar; two plain ones in a label would start matplotlib's mathtext
    return format_usd(x).replace("$", "\\$")


def _estimate(x: float) -> str:
    # spend over the images kept: an estimate, to three digits as readable() writes it (money.py)
    return format_usd_estimates([x])[0].replace("$", "\\$")


def _emulated_line(emulated: float, total: float) -> str:
    """A title's second line where some of the money drawn is the offline emulator's (nothing was
    paid): a plot of "spend" in USD alone reads as money paid to Runware."""
    if emulated <= 0:
        return ""
    if emulated >= total - 1e-9:
        return "\nall emulated by qwenlab's offline emulator (nothing paid)"
    return f"\n{_usd(emulated)} of {_usd(total)} emulated by qwenlab's offline emulator (nothing paid)"


def _emulated_style(of: str | None = None) -> dict[str, Any]:
    """The keywords (colours, hatch, legend label) that draw emulated money, in every cost plot:
    `of` names what it is part of, before the shared label ("actual, emulated (...)")."""
    return {**_EMULATED_STYLE, "label": f"{of}, {_EMULATED}" if of else _EMULATED}


def _split_bars(ax: "Axes", at: list[float], spent: list[float], emulated: list[float], thickness: float, *,
                horizontal: bool, label: str | None, of: str | None = None, colour: str = _PAID) -> list[float]:
    """Bars of spend at `at`, the part paid to Runware in `colour` and the emulated part after it
    in `_emulated_style`; returns where each bar ends. `label`: the paid part's legend entry."""
    draw, base = (ax.barh, "left") if horizontal else (ax.bar, "bottom")
    paid = [max(0.0, round(s - e, 9)) for s, e in zip(spent, emulated)]
    if any(paid) or not any(emulated):
        draw(at, paid, thickness, color=colour, label=label, **{base: [0.0] * len(at)})
    if any(emulated):
        draw(at, emulated, thickness, **{base: paid}, **_emulated_style(of))
    return [a + b for a, b in zip(paid, emulated)]


def _titled(c: "Costs", title: str) -> str:
    """A plot's title with what its view holds, on a line of its own, where it is not the whole
    log ("Cost by experiment\nsince 2026-12-01"): a figure of a month's spend, saved and shared,
    reads as all of it without."""
    scope = c.scope()
    return f"{title}\n{_wrap('; '.join(scope), 70)}" if scope else title


def _empty(ax: "Axes", title: str, c: "Costs", drawn: "pd.DataFrame | None" = None) -> None:
    """An empty plot that says why: nothing logged yet, no request in the view, or requests that
    cost nothing (failed uncharged, not sent). `drawn`: the `by()` frame the plot draws, where its
    rows are not the whole view (an axis only some experiments swept)."""
    counts = drawn.sum(numeric_only=True) if drawn is not None else c.totals()
    tasks = int(counts["tasks"]) if len(counts) else 0
    if tasks:
        states = [(counts["done"], "done"), (counts["failed"], "failed"), (counts["in_doubt"], "in doubt"),
                  (counts["pending"], "not sent")]
        said = ", ".join(f"{int(n)} {word}" for n, word in states if n)
        why = f"nothing spent: {count_of(tasks, 'request')} in view ({said}), none charged"
    else:
        why = "no requests in view" if c.scope() else "nothing spent yet"
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


@_cjk_text
def cumulative_spend(costs: Any, ax: "Axes | None" = None, *, by_experiment: bool = True) -> "Figure":
    """Cumulative USD over time (UTC): the total, and one line per experiment (the largest
    eight; the others summed) when `by_experiment`."""
    import numpy as np
    from matplotlib.dates import SECONDLY, AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import FuncFormatter

    c = _costs(costs)
    fig, ax = _axes(ax, (9.5, 4))  # the legend beside the axes takes about 1.5 inches of it
    df = c.timeline()
    title = _titled(c, "Cumulative spend")
    if df.empty:
        _empty(ax, title, c)
        return fig
    title += _emulated_line(float(df.loc[df["cost_source"] == "emulated", "cost_usd"].sum()), float(df["cost_usd"].sum()))
    at = df["at"].dt.tz_convert("UTC").dt.tz_localize(None)
    # the lines' points as numpy arrays (datetime64, float): matplotlib converts an array at once,
    # and a list of Timestamps one by one (a million requests: 28 s to draw, 0.9 s so)
    times = at.to_numpy()
    # every line rises from $0 at its first request: started at its first sum, an experiment whose
    # requests came at one time (one request, a batch) was a line of no length, in the legend only
    ax.step(np.concatenate([times[:1], times]), np.concatenate([[0.0], df["cumulative_usd"].to_numpy(dtype=float)]),
            where="post", color="black", linewidth=2, label=f"all ({_usd(df['cost_usd'].sum())})")
    emulated = np.where(df["cost_source"].to_numpy() == "emulated", df["cost_usd"].to_numpy(dtype=float), 0.0).cumsum()
    if emulated[-1] > 0:  # the spend so far that is the emulator's, under the lines
        ax.fill_between(np.concatenate([times[:1], times]), np.concatenate([[0.0], emulated]), step="post",
                        zorder=0.5, **_emulated_style())
    if by_experiment and df["experiment"].nunique() > 1:
        totals = df.groupby("experiment")["cost_usd"].sum().sort_values(ascending=False)
        shown = list(totals.index[:_MAX_LINES])
        names = df["experiment"].where(df["experiment"].isin(shown), "others").to_numpy()
        end = times.max()
        for name in [*shown, *(["others"] if len(totals) > _MAX_LINES else [])]:
            rows = names == name
            when, spent = times[rows], df["cost_usd"].to_numpy(dtype=float)[rows].cumsum()
            # each line runs on at its total to the end: an experiment run in a few minutes of a
            # long log was a spike nobody could read
            ax.step(np.concatenate([when[:1], when, [end]]), np.concatenate([[0.0], spent, spent[-1:]]), where="post",
                    linewidth=1, label=f"{name} ({_usd(float(spent[-1]))})")
    if at.min() == at.max():
        # every request at one instant (a first request, a batch): matplotlib widens a span of no
        # length by two years each side, a spike at the middle of 2025 to 2029
        import pandas as pd

        ax.set_xlim(at.min() - pd.Timedelta(minutes=1), at.max() + pd.Timedelta(minutes=1))
    # a tick of seconds reads "15:34:30", longer than the other levels' labels: matplotlib's eleven
    # of them ran into one another on a log of a minute and a half (the demo and notebooks run in a row)
    locator = AutoDateLocator(maxticks={SECONDLY: _MAX_SECOND_TICKS})
    # fewer ticks need longer steps: a minute, for four or five minutes (too few for ticks of minutes)
    locator.intervald[SECONDLY] = [1, 2, 5, 10, 15, 20, 30, 60]
    ax.xaxis.set_major_locator(locator)
    # every tick says what it is: matplotlib's concise labels wrote a minute's seconds as a bare
    # "30" between "10:25" and "10:26" (read as half past ten), and a month's days as "15";
    # the day, which times of day leave out, is in the axis label rather than in a corner
    ax.xaxis.set_major_formatter(_dated_times(ConciseDateFormatter(locator, formats=_TICK_FORMATS,
                                                                   zero_formats=_TICK_ZERO_FORMATS, show_offset=False)))
    ax.set_title(title)
    first, last = at.min().strftime("%Y-%m-%d"), at.max().strftime("%Y-%m-%d")
    ax.set_xlabel(f"time (UTC), {first}" + (f" to {last}" if last != first else ""))
    ax.set_ylabel("USD")
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.set_ylim(bottom=0)
    # beside the axes, as the bar plots' legends: in the upper left corner it covered the total's
    # step wherever a large experiment ran early in the log
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    return fig


def _dated_times(formatter: Any) -> Any:
    """`formatter` (a ConciseDateFormatter), its first time-of-day tick of each new day followed
    by that day on a line of its own ("00:00" over "Mar 02"): an hour and a half from 23:10 to
    00:40 was ticked "23:30 ... 00:00 ... 00:30", and nothing said the day had changed. Ticks of
    days ("Mar 02") say it already."""
    from matplotlib.dates import num2date

    concise = formatter.format_ticks

    def format_ticks(values: Any) -> list[str]:
        labels = concise(values)
        days = [num2date(v).date() for v in values]  # in matplotlib's zone, UTC: the formatter's own
        return [f"{label}\n{day:%b %d}" if i and day != days[i - 1] and ":" in label else label
                for i, (label, day) in enumerate(zip(labels, days))]

    formatter.format_ticks = format_ticks  # matplotlib labels the ticks with it, all at once
    return formatter


@_notes_fitted
@_cjk_text
def cost_by_experiment(costs: Any, ax: "Axes | None" = None) -> "Figure":
    """Spend per experiment as horizontal bars (API-reported, emulated, estimated, in doubt stacked), with
    each experiment's budget marked, and the part charged for failed requests written beside.

    In a view of some time (since, until) or some tasks, a budget still holds every request of its
    experiment, as `budget()` says: an experiment with a budget has its spend outside the view
    drawn hatched after the view's bar, and its whole spend written beside ("$0.15; $0.455 in
    all"), so the mark is read against what the budget counts.

    More than 40 experiments draw the 40 costliest, in their order, and the rest summed in one bar,
    "others (60 experiments)", as the title says and as `cost_by_setting` does; its parts are
    stacked as each experiment's are, and no budget is marked on it. `Costs.by("experiment")` has
    them all."""
    c = _costs(costs)
    df = c.by(PER_EXPERIMENT)  # the built-in, whatever the axes' names
    # a deleted experiment's spend stays and its images do not: left out of "others"' price per image
    df, shown, said = _costliest(df, "experiment", _deleted_rows(df))
    labels = [_wrap(str(n), 30) for n in df.index]
    fig, ax = _axes(ax, (9, _height(labels)))
    title = _titled(c, "Cost by experiment") + said
    if df.empty or not df["cost_usd"].any():
        _empty(ax, title, c)
        return fig
    held = c.budget()  # each experiment's whole spend, in a view of some time or tasks too
    budgets = held["budget_usd"]
    y = list(range(len(df)))
    left = [0.0] * len(df)
    for col, label, colour in _PARTS:
        values = [float(v) for v in df[col]]
        if any(values):
            ax.barh(y, values, left=left, **({"color": colour, "label": label} if colour else _emulated_style()))
            left = [a + b for a, b in zip(left, values)]
    part = c.since is not None or c.until is not None or c.task_ids is not None
    outside = _outside_view(df, held) if part else [0.0] * len(df)
    if shown is not None:  # "others" has no budget, so nothing to hold its spend outside the view against
        outside[-1] = 0.0
    if any(outside):
        # a budget holds every request of its experiment, whenever sent: the window's bar alone
        # against it showed money left that earlier runs had spent
        ax.barh(y, outside, left=left, color="white", edgecolor="#999999", hatch="///", linewidth=0.8,
                label="outside this window, counted by the budget" if c.task_ids is None
                else "its requests not shown, counted by the budget")
        left = [a + b for a, b in zip(left, outside)]
    marked = False
    right = max(left)
    at = list(left)  # where each bar's note starts: past its budget mark, which would strike it through
    for i, name in enumerate(df.index):
        budget = budgets.get(name) if shown is None or i < len(shown) else None  # "others": many budgets, none marked
        if budget is not None and budget == budget:
            ax.plot([budget, budget], [i - 0.42, i + 0.42], color="#c03030", linewidth=2,
                    label=None if marked else ("budget (of every request)" if part else "budget"))
            marked, right, at[i] = True, max(right, budget), max(at[i], budget)
    notes = []
    for out, (name, r) in zip(outside, df.iterrows()):
        note = _usd(r["cost_usd"])
        if r["failed_usd"] > 0:
            note += f" ({_usd(r['failed_usd'])} on failures)"
        if out > 0:
            note += f"; {_usd(held.loc[name, 'cost_usd'])} in all"
        notes.append(note)
    _finish_bars(ax, y, labels, at, notes, right, title)
    # beside the axes, not over them: inside, it covered the longest bar's note and its budget
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


@_notes_fitted
@_cjk_text
def cost_by_setting(costs: Any, axis: str = BUILTIN_PREFIX + "setting", ax: "Axes | None" = None, *,
                    min_score: float | None = None) -> "Figure":
    """Spend per value of a sweep axis (or per "setting", "size", "model", ...), each bar
    labelled with its images and USD per image, or per kept image when `min_score` is given.

    A period ("day", "week", "month", "year") of more than 40 bars is drawn by the next coarser
    one (days by week, weeks by month, months by year), and the title says so: a window
    (`Costs(since=, until=)`) of at most 40 days, weeks or months draws each one. Any other key of
    more than 40 values draws the 40 costliest, in their order, and the rest summed in one bar,
    "others (60 settings)", as the title says; `Costs.by()` has them all. `axis` takes the keys
    `Costs.by()` does: a period or a built-in key that is also an axis in view is refused,
    "axis:year" or "period:year" ("axis:status" or "builtin:status") says which. By default the
    built-in setting, whatever the axes are named (a default nobody typed is never ambiguous)."""
    c = _costs(costs)
    key = axis

    def grouped(key: str) -> "pd.DataFrame":
        return c.per_kept_image(min_score=min_score, by=key) if min_score is not None else c.by(key)

    df = grouped(key)  # a period that is also an axis in view is refused here, saying how to ask for each
    # what the bars are of, in the title and "others": the period, the key or the axis, without "period:",
    # "builtin:" or "axis:"
    axis = (key.removeprefix(PERIOD_PREFIX).removeprefix(BUILTIN_PREFIX) if key.startswith((PERIOD_PREFIX, BUILTIN_PREFIX))
            else swept_axis(key, BUILTIN_KEYS) or key)
    period = key.startswith(PERIOD_PREFIX) or (key in PERIODS)
    asked, bars = axis, len(df)
    while period and axis != PERIODS[-1] and len(df) > _MAX_BARS:
        # three years by day were 1,158 bars in a figure 250 inches high: the next coarser period
        # instead, said in the title, as a window (since/until) of a few weeks shows each day;
        # spelled out, so that a sweep axis "week" in view is not asked for
        axis = PERIODS[PERIODS.index(axis) + 1]
        df = grouped(PERIOD_PREFIX + axis)
    if df.index.nlevels > 1:  # "setting": experiment and setting in one label (the experiment only if several)
        several = df.index.get_level_values(0).nunique() > 1
        df.index = [" / ".join(map(str, k if several else k[1:])) for k in df.index]
    shown, said = None, ""
    if not period and len(df) > _MAX_BARS:
        # the deleted experiments' part of each row's spend: by experiment, their own rows
        df, shown, said = _costliest(df, axis, _deleted_rows(df) if key in ("experiment", PER_EXPERIMENT) else c.by_with_deleted(key)[1])
    labels = [_wrap(str(i), 40) for i in df.index]
    fig, ax = _axes(ax, (9, _height(labels)))
    title = _titled(c, f"Cost by {axis}" + (" (sweep axis)" if key.startswith(AXIS_PREFIX) else "") + (f", kept: score >= {min_score:g}" if min_score is not None else "")
                    + (f" (by {asked}: {bars:,} bars, too many to read;\nsince/until of at most {_MAX_BARS} "
                       f"{asked}s draws each {asked})" if axis != asked else ""))
    title += said
    if min_score is not None and df.attrs.get("coverage_note"):
        title += "\nrated unevenly: an unrated image counts as not kept (compare kept of rated)"
    totals = c.totals() if len(df) else None  # kept or not, the bars of an axis cover only the experiments that swept it
    if totals is not None and c.uncovered(df, totals):  # the bars are not the whole: say how much they are
        title += f"\n{int(df['tasks'].sum())} of {count_of(int(totals['tasks']), 'task')}: the experiments that swept {axis}"
    drawn = key if axis == asked else PERIOD_PREFIX + axis  # the key of the bars drawn
    if df.empty or not df["cost_usd"].any():
        _empty(ax, title, c, df if "done" in df else c.by(drawn))
        return fig
    money = df if "emulated_usd" in df else c.by(drawn)  # per kept image: the same groups' parts
    if shown is not None and money is not df:
        money = _fold(money, shown, "others")
    title += _emulated_line(float(money["emulated_usd"].sum()), float(money["cost_usd"].sum()))
    y = list(range(len(df)))
    values = [float(v) for v in df["cost_usd"]]
    emulated = [float(v) for v in money["emulated_usd"]]  # the same groups, in the same order
    _split_bars(ax, y, values, emulated, 0.8, horizontal=True, label="Runware")
    if any(emulated):
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    notes = []
    for _, r in df.iterrows():
        if min_score is not None:
            per = r["usd_per_kept_image"]
            notes.append(f"{_usd(r['cost_usd'])}, {int(r['kept'])} kept of {int(r['rated'])} rated "
                         f"({count_of(int(r['images']), 'image')}), " + (f"{_estimate(per)} per kept" if per == per else "none kept"))
        else:
            per = r["usd_per_image"]
            notes.append(f"{_usd(r['cost_usd'])}, {count_of(int(r['images']), 'image')}" + (f", {_usd(per)} each" if per == per else ""))
    _finish_bars(ax, y, labels, values, notes, max(values), title)
    return fig


def _costliest(df: "pd.DataFrame", key: str, gone: "pd.Series | float" = 0.0) -> "tuple[pd.DataFrame, list[int] | None, str]":
    """`df` (a `by(key)` frame) cut to the `_MAX_BARS` costliest rows, in their own order, and one
    row of the others summed (`_fold`; `gone` as there), with the positions kept and the title's
    line that says so; `df` as it is, None and "" where it has no more rows than that. 100
    settings or experiments made a figure 45 inches high; cumulative_spend draws its largest
    lines and "others" likewise."""
    count = len(df)
    if count <= _MAX_BARS:
        return df, None, ""
    shown = sorted(df["cost_usd"].reset_index(drop=True).sort_values(ascending=False, kind="stable").index[:_MAX_BARS])
    noun = _VALUES.get(key, f"{key} values")
    folded = _fold(df, shown, f"others ({count - _MAX_BARS:,} {noun})", gone)
    return folded, shown, (f"\nthe {_MAX_BARS} costliest of {count:,} {noun}; "
                           f"the other {count - _MAX_BARS:,} summed as \"others\"")


def _deleted_rows(df: "pd.DataFrame") -> "pd.Series":
    """By experiment, the spend of the deleted experiments' rows (0 in the others'): `_fold`'s `gone`."""
    return df["cost_usd"].where([str(n).startswith(DELETED_PREFIX) for n in df.index], 0.0)


def _fold(df: "pd.DataFrame", shown: list[int], others: str, gone: "pd.Series | float" = 0.0) -> "pd.DataFrame":
    """`df`'s rows at the positions `shown`, and the rest summed in one row named `others`, its
    prices per image recomputed from the sums. `gone`: per row, the part of its spend that deleted
    experiments made (`Costs._by`; 0.0: none), left out of a price per image as `by()` leaves it
    out: their images are gone."""
    import pandas as pd

    keep = set(shown)
    rest = [i for i in range(len(df)) if i not in keep]
    summed = df.iloc[rest].sum(numeric_only=True)
    spent = float(summed["cost_usd"]) - (float(gone.iloc[rest].sum()) if isinstance(gone, pd.Series) else 0.0)
    for ratio, over in (("usd_per_image", "images"), ("usd_per_kept_image", "kept")):
        if ratio in df:
            summed[ratio] = round(spent / summed[over], 6) if summed[over] > 0 else float("nan")
    if "keep_rate" in df:
        summed["keep_rate"] = round(summed["kept"] / summed["rated"], 4) if summed["rated"] > 0 else float("nan")
    out = pd.concat([df.iloc[shown].reset_index(drop=True), summed.to_frame().T], ignore_index=True)
    out.index = pd.Index([*df.index[shown], others], name=df.index.name)
    out.attrs = dict(df.attrs)  # the kept images' coverage note
    return out


def _outside_view(df: "pd.DataFrame", held: "pd.DataFrame") -> list[float]:
    """Per row of `df` (the view's spend per experiment), what its experiment spent outside the
    view, where it has a budget to hold it against (`held`: `budget()`, the whole spend); 0 for the
    others, whose whole spend nothing is compared with."""
    out = []
    for name, spent in zip(df.index, df["cost_usd"]):
        budget = held["budget_usd"].get(name)
        whole = held["cost_usd"].get(name)
        has_budget = budget is not None and budget == budget and whole is not None
        out.append(max(0.0, round(float(whole) - float(spent), 6)) if has_budget else 0.0)
    return out


def _finish_bars(ax: "Axes", y: list[int], labels: list[str], ends: list[float], notes: list[str], right: float, title: str) -> None:
    """Labels, notes after each bar (room kept for them), dollar ticks, top-down order."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for i, (end, note) in enumerate(zip(ends, notes)):
        ax.text(end, i, " " + note, va="center", fontsize="small", gid=_NOTE)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(y) - 0.5, -0.5)  # first row on top
    longest = max((len(n) for n in notes), default=0)
    # room for the notes, about 2% of the width per character; `_notes_fitted` measures them once drawn
    ax.set_xlim(0, right * (1.15 + 0.022 * longest))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(_usd))
    ax.set_title(title)
    ax.set_xlabel("USD")
    ax.grid(axis="x", alpha=0.3)


def _height(labels: list[str]) -> float:
    lines = sum(max(1, lbl.count("\n") + 1) for lbl in labels)
    return max(2.5, 0.22 * lines + 0.25 * len(labels) + 1.2)


@_cjk_text
def estimate_vs_actual(costs: Any, ax: "Axes | None" = None) -> "Figure":
    """Per experiment, the plan's estimate of the requests sent beside what they cost; the
    difference is written on each pair (failures that cost nothing make it negative)."""
    from matplotlib.ticker import FuncFormatter

    c = _costs(costs)
    df = c.estimate_vs_actual()
    across = len(df) > _MAX_COLUMNS
    # 7 inches at least: the title's lines (the view, wrapped at 70 characters; the emulator's
    # line) were cut at both sides of a figure of one or two experiments. Past _MAX_COLUMNS
    # experiments the pairs lie across, one under the other, as cost_by_experiment's bars do:
    # side by side, 60 experiments made a figure 68 inches wide, shrunk to a sliver in a notebook
    labels = [_wrap(str(n), 30) for n in df.index] if across else []
    fig, ax = _axes(ax, (9, _height(labels)) if across else (max(7.0, 1.1 * len(df) + 2), 4))
    title = _titled(c, "Estimate against actual")
    if df.empty or not (df["estimated_usd"].any() or df["cost_usd"].any()):
        _empty(ax, title, c)
        return fig
    # "actual" of the emulator's money alone reads as money paid to Runware: say so, as the others do
    emulated, total = float(df["emulated_usd"].sum()), float(df["cost_usd"].sum())
    title += _emulated_line(emulated, total)
    if across:
        _pairs_across(ax, df, labels, title)
        return fig
    x = list(range(len(df)))
    width = 0.38
    ax.bar([i - width / 2 for i in x], df["estimated_usd"], width, label="estimated (description's price)", color="#9ab8d8")
    _split_bars(ax, [i + width / 2 for i in x], [float(v) for v in df["cost_usd"]], [float(v) for v in df["emulated_usd"]],
                width, horizontal=False, label="actual", of="actual")
    for i, (_, r) in enumerate(df.iterrows()):
        top = max(r["estimated_usd"], r["cost_usd"])
        diff = r["difference_usd"]
        ax.text(i, top, f"{'+' if diff >= 0 else '-'}{_usd(abs(diff))}", ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, [_wrap(str(n), 14) for n in df.index], rotation=30 if len(df) > 4 else 0, ha="right" if len(df) > 4 else "center")
    ax.set_title(title)
    ax.set_ylabel("USD")
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    # room above the bars for the legend, a line per entry: three (the actual bars split into
    # Runware's and the emulator's money) covered the bars of one or two experiments; beside the
    # axes, it narrowed them and cut the title, which is centred on them
    entries = len(ax.get_legend_handles_labels()[1])
    ax.set_ylim(0, float(max(df["estimated_usd"].max(), df["cost_usd"].max())) * (1.2 + 0.09 * entries))
    ax.legend(fontsize="small", loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _pairs_across(ax: "Axes", df: "pd.DataFrame", labels: list[str], title: str) -> None:
    """estimate_vs_actual's pairs as horizontal bars, one experiment under the other, each pair's
    difference written after it."""
    y = list(range(len(df)))
    height = 0.38
    estimated, spent = [float(v) for v in df["estimated_usd"]], [float(v) for v in df["cost_usd"]]
    ax.barh([i - height / 2 for i in y], estimated, height, label="estimated (description's price)", color="#9ab8d8")
    _split_bars(ax, [i + height / 2 for i in y], spent, [float(v) for v in df["emulated_usd"]], height, horizontal=True,
                label="actual", of="actual")
    ends = [max(e, a) for e, a in zip(estimated, spent)]
    notes = [f"{'+' if d >= 0 else '-'}{_usd(abs(d))}" for d in df["difference_usd"]]
    _finish_bars(ax, y, labels, ends, notes, max(ends), title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _wrap(text: str, width: int = 40) -> str:
    """Long labels on several lines of at most `width` Latin letters' width rather than shrunk (a
    Chinese label by the width its characters take, a full em each)."""
    text = drawable(text)  # wrapped by the width of what is drawn: "[cherry blossom]" for an emoji no font has
    return "\n".join(wrap_units(text, width, break_on_hyphens=True)) or text
