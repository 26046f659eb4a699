"""A report's money: the Costs section and each request's cost, by the one rule every total
uses (`qwenlab.costs`), so that the rows of the requests table add up to the section's total.

    frame = request_frame(experiment)               # Costs.tasks(), each earlier attempt under its task
    costs_section(experiment, catalog)              # the section's HTML
    request_costs(frame)                            # {task id: the cost cell's HTML}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.values import count_of
from ..costs.frames import Costs
from ..errors import UnknownCostKeyError
from ..store.catalog import REPEAT, Catalog
from .page import esc, fmt, table

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["request_frame", "request_costs", "costs_section"]

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
        said = {"estimate": "estimate: the API reported no cost", "in_doubt": "in doubt: its estimate, counted as it may have "
                "been paid for"}.get(source, "")
        earlier = float(before["cost"].fillna(0).sum())
        if earlier:
            said = "; ".join(filter(None, [said, f"${earlier:,.4f} of it for {count_of(len(before), 'earlier attempt')}"]))
        out[int(task_id)] = fmt(total, "usd") + (f" <span class=\"muted\">({esc(said)})</span>" if said else "")
    return out


def costs_section(experiment: "ExperimentRecord", catalog: Catalog) -> str:
    """The Costs section: the totals and a table per varying axis."""
    costs = Costs(experiment.log, experiments=experiment.names)  # a comparison's: every member's
    totals = costs.totals()
    out = ["".join(f"<p>{esc(line)}</p>" for line in costs.headline(totals))]
    for axis in [a for a in catalog.varying if a != REPEAT]:
        try:
            df = costs.by(axis)
        except UnknownCostKeyError:  # an axis the cost query cannot group by: no table, the report goes on
            continue
        out.append(_axis_table(axis, df))
        if left_out := costs.uncovered(df, totals):  # a comparison's member that did not sweep it
            out.append(f"<p class=\"muted\">note: {esc(left_out)}</p>")
    for note in costs.notes(totals):
        out.append(f"<p class=\"muted\">note: {esc(note)}</p>")
    return "".join(out)


def _axis_table(axis: str, df: "pd.DataFrame") -> str:
    body = [[esc(idx)] + [fmt(r.get(c), "usd" if c.endswith("usd") or c == "usd_per_image" else "") for c in _COLUMNS]
            for idx, r in df.iterrows()]
    return f"<h3>by {esc(axis)}</h3>" + table([axis, *_COLUMNS], body, numeric=range(1, len(_COLUMNS) + 1))
