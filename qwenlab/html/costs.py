"""A report's money: the Costs section and each request's cost, by the one rule every total
uses (`qwenlab.costs`), so that the rows of the requests table add up to the section's total.

    frame = request_frame(experiment)               # Costs.tasks(), each earlier attempt under its task
    costs_section(experiment, catalog, where)       # the section's HTML
    request_costs(frame)                            # {task id: the cost cell's HTML}

A report of part of an experiment (`where=`) gives the costs of the requests it shows, as a
`Costs` of those tasks says them (the whole's code and words, so the two cannot drift), and says
what the whole experiment cost: the whole's tables beside a part's images read as theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..core.values import count_of, format_usd
from ..costs.frames import Costs
from ..costs.labels import axis_key
from ..errors import UnknownAxisError, UnknownCostKeyError
from ..store.catalog import REPEAT, Catalog
from .page import esc, fmt, hover, table

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["request_frame", "request_costs", "costs_section", "describe_where"]

_COLUMNS = ["tasks", "done", "failed", "images", "cost_usd", "usd_per_image"]


def request_frame(experiment: "ExperimentRecord") -> "pd.DataFrame":
    """`Costs.tasks()` of the experiment (a comparison's: of every run), with each earlier
    attempt of a retried cell given its task's id (their rows have none of their own)."""
    frame = Costs(experiment.log, experiments=experiment.names).tasks()
    cell = list(zip(frame["experiment"], frame["cell_key"]))
    task_of = {c: t for c, t, r in zip(cell, frame["task_id"], frame["retried"]) if not r}
    frame["task_id"] = [task_of.get(c) for c in cell]
    return frame.dropna(subset=["task_id"])


def request_costs(frame: "pd.DataFrame") -> dict[int, str]:
    """Each task's cost as the totals count it, as table HTML: the API's or the emulator's number,
    else the estimate (said so: one in doubt may have been paid for), with what its earlier
    attempts were charged."""
    out: dict[int, str] = {}
    for task_id, rows in frame.groupby("task_id", sort=False):
        if (rows["status"] == "pending").all():
            continue  # never sent: nothing to count
        now, before = rows[rows["retried"] == 0], rows[rows["retried"] != 0]
        source = str(now["cost_source"].iloc[0]) if len(now) else ""
        total = float(rows["cost"].fillna(0).sum())
        # short: the Costs section's notes say what an estimate and a request in doubt are
        said = {"estimate": "estimate", "in_doubt": "in doubt: estimate"}.get(source, "")
        earlier = float(before["cost"].fillna(0).sum())
        if earlier:
            said = "; ".join(filter(None, [said, f"{format_usd(earlier)} of it for {count_of(len(before), 'earlier attempt')}"]))
        out[int(task_id)] = fmt(total, "usd") + (f" <span class=\"muted\">({esc(said)})</span>" if said else "")
    return out


def costs_section(experiment: "ExperimentRecord", catalog: Catalog, where: Mapping[str, Any] | None = None) -> str:
    """The Costs section: the totals, a table per varying axis and the notes, of the whole
    experiment, or, with `where`, of the requests the report shows (a `Costs` of those tasks:
    the same code and words as the whole's), then what the whole cost."""
    whole = Costs(experiment.log, experiments=experiment.names)  # a comparison's: every member's
    costs = whole.filter(task_ids=[e.task_id for e in catalog.entries],
                         tasks_said=f"the requests shown: {describe_where(where, catalog)}") if where else whole
    totals = costs.totals()
    out = ["".join(f"<p>{esc(line)}</p>" for line in costs.headline(totals))]
    for axis in [a for a in catalog.varying if a != REPEAT]:
        try:
            df = costs.by(axis_key(axis))  # an axis "year" spelled out: by("year") is refused as ambiguous
        except UnknownCostKeyError:  # an axis the cost query cannot group by: no table, the report goes on
            continue
        out.append(_axis_table(axis, df, catalog))
        if left_out := costs.uncovered(df, totals):  # a comparison's member that did not sweep it
            out.append(f"<p class=\"muted\">note: {esc(left_out)}</p>")
    for note in costs.notes(totals):
        out.append(f"<p class=\"muted\">note: {esc(note)}</p>")
    if where:
        t = whole.totals()
        said = (f"note: this report shows part of the experiment; the whole cost {format_usd(t['cost_usd'])} over "
                f"{count_of(int(t['tasks']), 'task')} and {count_of(int(t['images']), 'image')} (qwenlab costs).")
        out.append(f"<p class=\"muted\">{esc(said)}</p>")
    return "".join(out)


def _axis_table(axis: str, df: "pd.DataFrame", catalog: Catalog) -> str:
    info = catalog.axes[axis]
    full = {info.label(v): info.note(v) for v in info.values}  # a shortened value's full text, on hover
    body = [[hover(esc(idx), full.get(str(idx)))]
            + [fmt(r.get(c), "usd" if c.endswith("usd") or c == "usd_per_image" else "") for c in _COLUMNS]
            for idx, r in df.iterrows()]
    return f"<h3>by {esc(axis)}</h3>" + table([axis, *_COLUMNS], body, numeric=range(1, len(_COLUMNS) + 1))


def describe_where(where: Mapping[str, Any], catalog: Catalog | None = None) -> str:
    """The filters of a report of part of an experiment, as a reader reads them: "size = 512x768",
    each value by its label in `catalog` ("prompt = prompt 2: …reads 'AURELIS' in silver…"), the
    name the grid, the tables and the captions give it, not a 600-character prompt in full."""
    def said(axis: str, value: Any) -> str:
        if catalog is None or axis not in catalog.axes:
            return str(value)
        try:
            return catalog.axes[axis].label(catalog.resolve(axis, value))
        except UnknownAxisError:  # a value no entry has (a comparison's member without it): as given
            return str(value)

    return "; ".join(f"{axis} = {', '.join(said(axis, x) for x in (v if isinstance(v, (list, tuple, set)) else [v]))}"
                     for axis, v in where.items())

