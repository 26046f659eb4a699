"""A `Costs` view: which experiments and which times it covers, and where its sums are read.

`CostView` holds the filters of a view (since, until, experiment names, imported or not), reads
the experiments in view (`ExperimentInView`: what the frames label and describe them by), and
gives the WHERE clause every cost query of the view shares.

On a big log the frames read the cost rollups of migration `m013_cost_rollups` instead of the
tasks (tasks, images and spend per experiment, setting, day, model, size, status, backend and
price, kept exact by triggers): the same sums from thousands of rows instead of a million. They
know a request's day, not its time: of a bound inside a day, the rest of that day is summed from
the tasks of the experiments with requests that day (`CostView.day_split`), and added in
(`CostView.reads`). A view they cannot answer (an axis named "repeat", a view of some
experiments for the prices) sums the tasks.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ExperimentNotFoundError
from ..store.axes import AxisInfo, axis_infos_of
from .sql import AT_SQL, Read

if TYPE_CHECKING:
    import pandas as pd

    from ..store.log import Log

__all__ = ["CostView", "ExperimentInView"]


@dataclass
class ExperimentInView:
    """An experiment of a view, as the cost frames label and describe it."""

    id: int
    name: str
    status: str | None
    budget_usd: float | None
    stop_reason: str | None
    axes: dict[str, AxisInfo] = field(default_factory=dict)  # how each axis's values read, as grids show them
    imported: bool = False  # imported from a bundle: its money was spent in another log


def _whole_day(bound: str | None) -> bool:
    return bound is None or len(bound) == 10  # date_bound gives a day as YYYY-MM-DD, a time in full


class CostView:
    """The filters of a `Costs` view over one log, and what follows from them: the experiments
    in view, the WHERE clause of its queries, and whether the rollups can answer them."""

    def __init__(self, log: "Log", since: str | None, until: str | None, experiments: list[str] | None,
                 imported: bool = True, task_ids: list[int] | None = None) -> None:
        self.log = log
        self.since, self.until, self.names = since, until, experiments
        self.imported = imported  # False: leave out experiments imported from bundles
        self.task_ids = task_ids  # only these task ids (and their cells' earlier attempts); None: every task
        self._has_rollups: bool | None = None

    # -- experiments ------------------------------------------------------------------------------
    def experiments(self) -> dict[int, ExperimentInView]:
        out: dict[int, ExperimentInView] = {}
        for r in self.log.rows("SELECT id, name, status, budget_usd, stop_reason, sweep_json, axes_json, "
                               "imported_from IS NOT NULL AS imported FROM experiments ORDER BY id"):
            exp = ExperimentInView(int(r["id"]), r["name"], r["status"], r["budget_usd"], r.get("stop_reason"),
                                   imported=bool(r["imported"]))
            labels = json.loads(r["axes_json"] or "{}") or {}
            infos = axis_infos_of(json.loads(r["sweep_json"] or "{}") or {}, labels)
            exp.axes = {name: infos[name] for name in labels if name in infos}
            out[exp.id] = exp
        if self.names is not None:
            known = {e.name for e in out.values()}
            missing = [n for n in self.names if n not in known]
            if missing:
                raise ExperimentNotFoundError(f"no experiment named {', '.join(map(repr, missing))} in {self.log.path}; "
                                              f"known: {', '.join(sorted(known)) or 'none yet'}")
            out = {i: e for i, e in out.items() if e.name in self.names}
        if not self.imported:
            out = {i: e for i, e in out.items() if not e.imported}
        return out

    @property
    def filtered(self) -> bool:
        """Whether the view holds only some experiments (by name, or without the imported ones), or
        only some tasks."""
        return self.names is not None or not self.imported or self.task_ids is not None

    def imported_names(self) -> list[str]:
        """The experiments in view imported from a bundle (their money was spent in another log)."""
        return [e.name for e in self.experiments().values() if e.imported]

    def experiments_info(self) -> "pd.DataFrame":
        import pandas as pd

        rows = [{"experiment": e.name, "status": e.status, "budget_usd": e.budget_usd, "stop_reason": e.stop_reason}
                for e in self.experiments().values()]
        return pd.DataFrame(rows, columns=["experiment", "status", "budget_usd", "stop_reason"]).set_index("experiment")

    def axis_names(self) -> list[str]:
        return list(dict.fromkeys(a for e in self.experiments().values() for a in e.axes))

    # -- filters ----------------------------------------------------------------------------------
    def where(self, exps: dict[int, ExperimentInView], extra: Sequence[str | None] = (), at: str = AT_SQL,
              bounds: tuple[str | None, str | None] | None = None) -> tuple[str, list[Any]]:
        """The WHERE clause of this view (its time bounds, or `bounds`, and experiments) and `extra`."""
        since, until = bounds if bounds is not None else (self.since, self.until)
        conds: list[str] = []
        params: list[Any] = []
        if since:
            conds.append(f"{at} >= ?")
            params.append(since)
        if until:
            conds.append(f"{at} < ?")
            params.append(until)
        if self.filtered:
            conds.append(f"t.experiment_id IN ({','.join(str(i) for i in exps) or 'NULL'})")
        if self.task_ids is not None:
            # by experiment and cell, which a task and the earlier attempts of its cell (HISTORY_SOURCE,
            # rows of no id of their own) share; the ids as one JSON parameter, however many
            conds.append("t.experiment_id || '/' || t.cell_key IN (SELECT experiment_id || '/' || cell_key FROM tasks "
                         "WHERE id IN (SELECT value FROM json_each(?)))")
            params.append(json.dumps(self.task_ids))
        conds += [c for c in extra if c]
        return (" WHERE " + " AND ".join(conds)) if conds else "", params

    # -- reads -------------------------------------------------------------------------------------
    def rollups_answer(self, keys: Sequence[str]) -> bool:
        """Whether the rollups (m013) hold these keys: not an axis named "repeat" (the rollups
        keep the setting, the cell without its repeat), nor a view of some tasks. They know a
        request's day, not its time: of a bound inside a day, the rest of that day is read from the
        tasks (`day_split`)."""
        return "repeat" not in keys and self.task_ids is None and self.rollups_exist()

    def day_split(self) -> tuple[tuple[str | None, str | None] | None, list[tuple[str | None, str | None]]]:
        """This view's time bounds as the whole days inside them, which the rollups sum (None:
        not one whole day), and the parts of a day at either end, read from the tasks."""
        since, until = self.since, self.until
        first = since if _whole_day(since) else (dt.date.fromisoformat(since[:10]) + dt.timedelta(days=1)).isoformat()  # type: ignore[index]
        last = until if _whole_day(until) else until[:10]  # type: ignore[index]
        if first is not None and last is not None and first >= last:
            return None, [(since, until)]  # no whole day inside (Costs refuses until <= since)
        edges = ([] if _whole_day(since) else [(since, first)]) + ([] if _whole_day(until) else [(last, until)])
        return (first, last), edges

    def edge_where(self, edges: list[tuple[str | None, str | None]]) -> str:
        """A condition that keeps, of the tasks, the experiments with requests on the days the
        `edges` fall in (the rollups say which), so a bound inside a day reads those experiments'
        tasks, not the whole log's."""
        days = sorted({b[:10] for edge in edges for b in edge if b})
        rows = self.log.rows(f"SELECT DISTINCT experiment_id AS id FROM cost_rollups WHERE day IN ({', '.join('?' * len(days))}) "
                             "AND tasks != 0", days)
        ids = [int(r["id"]) for r in rows]
        known = f"t.experiment_id IN ({', '.join(str(i) for i in ids if i != -1) or 'NULL'})"
        return f"({known} OR t.experiment_id IS NULL)" if -1 in ids else known

    def reads(self, keys: Sequence[str], rollup: Read, task_sums: dict[str, str],
              task_sources: Sequence[tuple[str, dict[str, str]]]) -> list[Read]:
        """What `CostQuery._group` reads for this view: the rollups (`rollup`, its bounds set here)
        for its whole days and the tasks for the parts of a day at either end, or the tasks alone
        where the rollups cannot answer."""
        if not self.rollups_answer(keys):
            return [Read(src, task_sums, fill, (self.since, self.until)) for src, fill in task_sources]
        days, edges = self.day_split()
        reads = [] if days is None else [replace(rollup, bounds=days)]
        if edges:
            near = self.edge_where(edges)
            reads += [Read(src, task_sums, fill, edge, where=(near,)) for edge in edges for src, fill in task_sources]
        return reads

    def rollups_exist(self) -> bool:
        """Whether the log has the rollups: m013's and m015's tables, made together on opening
        (a benchmark's baseline drops them all)."""
        if self._has_rollups is None:
            self._has_rollups = len(self.log.rows(
                "SELECT 1 FROM sqlite_master WHERE name IN ('cost_rollups', 'cost_scores')")) == 2
        return self._has_rollups
