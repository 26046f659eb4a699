"""The SQL behind `qwenlab.costs.frames`: one grouped query per frame, run inside SQLite.

Each frame is an aggregate over the tasks table (plus, rarely, the earlier failed attempts kept in
`tasks.history_json`), grouped by key expressions, so a 100,000-task log is summed where it lies
instead of being loaded into pandas. Money the emulator "charged" is summed apart (`emulated_usd`,
cost_source 'emulated'): it was never paid, and is never counted as reported by the API. The cost indexes (migration `m005_cost_indexes` in
qwenlab/migrations.py) let SQLite read a narrow covering index instead of the wide task rows.
Grouping by an axis or a setting groups by the raw JSON value inside SQLite and turns it into the
sweep's label afterwards, on the few grouped rows.

On a big log the frames read the cost rollups of migration `m013_cost_rollups` instead (tasks,
images and spend per experiment, setting, day, model, size, status, backend and price, kept exact
by triggers): the same sums from thousands of rows instead of a million. They know a request's
day, not its time: of a bound inside a day, the rest of that day is summed from the tasks of the
experiments with requests that day (`CostQuery._day_split`), and added in. A view they cannot
answer (an axis named "repeat", a view of some experiments for the prices) sums the tasks.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..core.values import format_value, is_missing
from ..errors import ExperimentNotFoundError, UnknownCostKeyError
from ..store.axes import AxisInfo, axis_infos_of, merged_axis, names_axis
from ..store.migrations import FIRST_TASK_SQL
from ..store.organize import DELETED_PREFIX
from ..store.prefetch import Prefetch
from .packed_times import EXAMPLE, SEPARATOR, parse_packed

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..store.log import Log

__all__ = ["CostQuery", "SUM_COLUMNS", "COST_SQL", "COST_SOURCE_SQL", "COST_SOURCES", "AT_SQL", "label_value", "BUILTIN_KEYS"]

BUILTIN_KEYS = ("experiment", "model", "size", "day", "week", "month", "status", "setting", "backend")
AT_SQL = "coalesce(t.completed_at, t.sent_at, t.created_at)"
# the cost of one request, and where the number comes from (see the docstring of qwenlab.costs.frames)
COST_SQL = ("CASE WHEN t.cost_usd IS NOT NULL THEN t.cost_usd "
            "WHEN t.status IN ('done', 'sent') THEN coalesce(t.estimated_cost_usd, 0) ELSE 0 END")
# a number the emulator reported is 'emulated', never 'api' (Runware's own number)
COST_SOURCES = ("api", "emulated", "estimate", "in_doubt", "none")
_SOURCE_CASE = ("CASE WHEN t.cost_usd IS NOT NULL THEN (CASE WHEN t.backend = 'emulator' THEN {emulated} ELSE {api} END) "
                "WHEN t.status = 'done' THEN {estimate} WHEN t.status = 'sent' THEN {in_doubt} ELSE {none} END")
COST_SOURCE_SQL = _SOURCE_CASE.format(**{s: f"'{s}'" for s in COST_SOURCES})
# the same as its place in COST_SOURCES: a small integer is cheaper to hand over than a text
_SOURCE_CODE_SQL = _SOURCE_CASE.format(**{s: i for i, s in enumerate(COST_SOURCES)})
# where a request ran (m007): 'emulator', 'runware', 'not sent' for a cell logged and never sent
# (a budget's stop, a run stopped first), or 'unknown' for one sent before it was recorded
BACKEND_SQL = "CASE WHEN t.backend IS NOT NULL THEN t.backend WHEN t.status = 'pending' THEN 'not sent' ELSE 'unknown' END"
# the per-image price recorded at send time (older rows without price_usd: estimate / numberResults)
PRICE_SQL = "round(coalesce(t.price_usd, t.estimated_cost_usd / max(coalesce(t.number_results, 1), 1)), 6)"
_IMAGES_SQL = "(SELECT count(*) FROM images i WHERE i.task_id = t.id)"
# the leading columns of the cost index (m005, m007): grouped by them, SQLite reads the index in its order
_COST_INDEX_LEAD = "t.experiment_id, t.status, t.model, t.width, t.height, t.price_usd, t.estimated_cost_usd, t.cost_usd"
_ROUND_BATCH = 500  # values rounded per query: one column each, within SQLite's 999 parameters and 2000 columns

_SUMS = {
    "tasks": "count(*)",
    "done": "total(t.status = 'done')",
    "failed": "total(t.status = 'failed')",
    "in_doubt": "total(t.status = 'sent')",
    "pending": "total(t.status = 'pending')",
    "images": "total({images})",
    # reported by the API (Runware, or a request whose backend was not recorded) / by the emulator
    "api_usd": "total(CASE WHEN t.backend IS NOT 'emulator' THEN t.cost_usd END)",
    "emulated_usd": "total(CASE WHEN t.backend = 'emulator' THEN t.cost_usd END)",
    "estimate_usd": "total(CASE WHEN t.cost_usd IS NULL AND t.status = 'done' THEN t.estimated_cost_usd END)",
    "in_doubt_usd": "total(CASE WHEN t.cost_usd IS NULL AND t.status = 'sent' THEN t.estimated_cost_usd END)",
    "failed_usd": "total(CASE WHEN t.status = 'failed' THEN t.cost_usd END)",
    "estimated_usd": "total(CASE WHEN t.status != 'pending' THEN t.estimated_cost_usd END)",
}
SUM_COLUMNS = (*_SUMS, "cost_usd")

# The earlier failed attempts of retried cells, shaped like task rows. The partial index
# `idx_tasks_history` finds the few rows that have any without reading the others.
_HISTORY_SOURCE = (
    "(SELECT NULL AS id, ht.experiment_id, ht.model, ht.width, ht.height, ht.cell_json, ht.cell_key, ht.number_results, "
    "ht.price_usd, ht.estimated_cost_usd, ht.created_at, 1 AS retried, "
    "json_extract(h.value, '$.status') AS status, json_extract(h.value, '$.cost_usd') AS cost_usd, "
    "json_extract(h.value, '$.completed_at') AS completed_at, json_extract(h.value, '$.sent_at') AS sent_at, "
    "json_extract(h.value, '$.task_uuid') AS task_uuid, json_extract(h.value, '$.error_code') AS error_code, "
    "json_extract(h.value, '$.error_message') AS error_message, json_extract(h.value, '$.http_status') AS http_status, "
    "json_extract(h.value, '$.attempts') AS attempts, json_extract(h.value, '$.backend') AS backend "
    "FROM tasks ht, json_each(ht.history_json) h WHERE ht.history_json IS NOT NULL) t"
)


# The rollups of migration m013 (`cost_rollups`, kept exact by triggers), shaped like task rows
# with a `day` column for the time and summed columns: a summary reads thousands of rollup rows
# instead of a million tasks. Sentinels (-1, '') back to NULL, as the tasks hold them.
# The key columns are cost_scores' (m015) too.
_ROLLUP_KEY_COLUMNS = ("nullif(r.experiment_id, -1) AS experiment_id, nullif(r.setting, '') AS cell_json, "
                       "nullif(r.day, '') AS day, nullif(r.model, '') AS model, nullif(r.width, -1) AS width, "
                       "nullif(r.height, -1) AS height, nullif(r.status, '') AS status, nullif(r.backend, '') AS backend")
_ROLLUP_COLUMNS = (f"{_ROLLUP_KEY_COLUMNS}, r.retried, r.tasks, r.images, r.reported_e10, r.reported_estimate_e10, "
                   "r.unreported_estimate_e10")
# a setting's first task: the order by("setting") lists settings in
_ROLLUP_FIRST = (f"CASE WHEN r.tasks != 0 THEN (SELECT {FIRST_TASK_SQL} FROM cost_settings s WHERE s.experiment_id = r.experiment_id "
                 "AND s.setting = r.setting) END AS id")
# a key's expression that only orders its groups (one value per group): not in the GROUP BY
_ORDER_ONLY = "(SELECT "
_USD = "coalesce(sum({}), 0) / 1e10"  # integer 1e-10 USD units back to dollars
_ROLLUP_SUMS = {
    "tasks": "coalesce(sum(t.tasks), 0)",
    "done": "total(CASE WHEN t.status = 'done' THEN t.tasks END)",
    "failed": "total(CASE WHEN t.status = 'failed' THEN t.tasks END)",
    "in_doubt": "total(CASE WHEN t.status = 'sent' THEN t.tasks END)",
    "pending": "total(CASE WHEN t.status = 'pending' THEN t.tasks END)",
    "images": "total(t.images)",
    "api_usd": _USD.format("CASE WHEN t.backend IS NOT 'emulator' THEN t.reported_e10 END"),
    "emulated_usd": _USD.format("CASE WHEN t.backend = 'emulator' THEN t.reported_e10 END"),
    "estimate_usd": _USD.format("CASE WHEN t.status = 'done' THEN t.unreported_estimate_e10 END"),
    "in_doubt_usd": _USD.format("CASE WHEN t.status = 'sent' THEN t.unreported_estimate_e10 END"),
    "failed_usd": _USD.format("CASE WHEN t.status = 'failed' THEN t.reported_e10 END"),
    "estimated_usd": _USD.format("CASE WHEN t.status != 'pending' THEN t.reported_estimate_e10 + t.unreported_estimate_e10 END"),
}
_ROLLUP_EXTRA = {
    "unsent": "total(CASE WHEN t.status = 'pending' THEN t.tasks END)",
    "unsent_usd": _USD.format("CASE WHEN t.status = 'pending' THEN t.reported_estimate_e10 + t.unreported_estimate_e10 END"),
    # a cell that failed is sent again by the next run (its earlier attempts, retried = 1, are not)
    "to_retry": "total(CASE WHEN t.status = 'failed' AND t.retried = 0 THEN t.tasks END)",
    "to_send_usd": _USD.format("CASE WHEN t.status IN ('pending', 'failed') AND t.retried = 0 "
                               "THEN t.reported_estimate_e10 + t.unreported_estimate_e10 END"),
    "api_estimated_usd": _USD.format("t.reported_estimate_e10"),
    # the estimate of every cell, sent or not, once: not again for the earlier attempts of a retried one
    "planned_usd": _USD.format("CASE WHEN t.retried = 0 THEN t.reported_estimate_e10 + t.unreported_estimate_e10 END"),
}


# The rated images with their latest scored rating (`r.score`), joined to their tasks, read from
# the tasks (every task's images, each image's latest rating found through the ratings' index) or
# from the ratings (each image's latest scored rating: SQLite gives a bare column the values of the
# row where max() found its maximum, then the image and the task by their keys). See CostQuery.kept.
_RATED_FROM_TASKS = ("tasks t CROSS JOIN images i ON i.task_id = t.id CROSS JOIN ratings r ON r.id = "
                     "(SELECT max(r2.id) FROM ratings r2 WHERE r2.image_id = i.id AND r2.score IS NOT NULL)")
_RATED_FROM_RATINGS = ("(SELECT image_id, max(id) AS id, score FROM ratings WHERE score IS NOT NULL GROUP BY image_id) r "
                       "CROSS JOIN images i ON i.id = r.image_id CROSS JOIN tasks t ON t.id = i.task_id")


def _rollup_read(sums: dict[str, str], with_first_task: bool = False) -> "_Read":
    """A read of `sums` over cost_rollups (its bounds set by CostQuery._reads)."""
    source = f"(SELECT {_ROLLUP_COLUMNS}{', ' + _ROLLUP_FIRST if with_first_task else ''} FROM cost_rollups r) t"
    return _Read(source, dict(sums), {}, (None, None), rollup=True)


# The latest scores of migration m015 (`cost_scores`: rated images per rollup key and score),
# shaped like the rollups. No task id: by("setting") orders its groups by the tasks' frame,
# which kept() is joined to.
_SCORES_SOURCE = f"(SELECT {_ROLLUP_KEY_COLUMNS}, r.score, r.images, NULL AS id FROM cost_scores r) t"
_SCORES_SUMS = {"rated": "coalesce(sum(t.images), 0)", "kept": "total(CASE WHEN t.score >= ? THEN t.images END)"}


@dataclass
class _Experiment:
    id: int
    name: str
    status: str | None
    budget_usd: float | None
    stop_reason: str | None
    axes: dict[str, AxisInfo] = field(default_factory=dict)  # how each axis's values read, as grids show them
    imported: bool = False  # imported from a bundle: its money was spent in another log


@dataclass
class _Key:
    """A `by=` key: the SQL expressions it groups by, and how to label and order a group."""

    levels: list[str]  # output index levels
    sql: list[str]  # expressions, in the GROUP BY
    label: Callable[[list[Any], dict[int, _Experiment]], list[tuple[Any, Any]]]  # raw values -> [(label, order)] per level
    where: str | None = None


@dataclass
class _Read:
    """One part of a grouped aggregate: `sums` over `source` (FROM text, its template values in
    `fill`), within the time bounds `bounds` (since, until) and the conditions `where`. rollup:
    the source is the rollups (a request's time is its day), whose groups count where `live`."""

    source: str
    sums: dict[str, str]
    fill: dict[str, str]
    bounds: tuple[str | None, str | None]
    rollup: bool = False
    where: tuple[str, ...] = ()
    live: str = "sum(t.tasks) != 0"  # of a rollup's group: it holds something (rows whose tasks moved on hold zeros)


def _whole_day(bound: str | None) -> bool:
    return bound is None or len(bound) == 10  # date_bound gives a day as YYYY-MM-DD, a time in full


def _setting_part(axis: str, label: str) -> str:
    """One axis of a setting: "size=1024x1536", or a long value's label alone, which names its
    axis already ("negativePrompt 2: blurry text, misspelled…")."""
    return label if names_axis(label, axis) else f"{axis}={label}"


def label_value(exp: _Experiment | None, axis: str, raw: str | None, info: AxisInfo | None = None) -> tuple[str, int]:
    """An axis value's label (from raw JSON text from SQLite), as the grids and `qwenlab logs` show
    it, and its place in the axis. `info`: the axis to label it by (the axis of every experiment
    in view, `merged_axis`), instead of the experiment's own."""
    if raw is None:
        # a deleted experiment keeps its spend but not its cells' values: not "(not swept)"
        deleted = exp is not None and exp.name.startswith(DELETED_PREFIX)
        return ("(deleted: values not kept)" if deleted else "(not swept)"), 1 << 30
    value = json.loads(raw)
    info = info or (exp.axes.get(axis) if exp else None)
    place = info.index(value) if info is not None else None
    if info is None or place is None:
        return format_value(value), len(info.values) if info is not None else 0
    return info.label(value), place


class CostQuery:
    """The grouped queries over one log, with the filters of a `Costs` view."""

    def __init__(self, log: "Log", since: str | None, until: str | None, experiments: list[str] | None,
                 imported: bool = True) -> None:
        self.log = log
        self.since, self.until, self.names = since, until, experiments
        self.imported = imported  # False: leave out experiments imported from bundles
        self._has_rollups: bool | None = None

    # -- experiments ------------------------------------------------------------------------------
    def _experiments(self) -> dict[int, _Experiment]:
        out: dict[int, _Experiment] = {}
        for r in self.log.rows("SELECT id, name, status, budget_usd, stop_reason, sweep_json, axes_json, "
                               "imported_from IS NOT NULL AS imported FROM experiments ORDER BY id"):
            exp = _Experiment(int(r["id"]), r["name"], r["status"], r["budget_usd"], r.get("stop_reason"),
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
        """Whether the view holds only some experiments (by name, or without the imported ones)."""
        return self.names is not None or not self.imported

    def imported_names(self) -> list[str]:
        """The experiments in view imported from a bundle (their money was spent in another log)."""
        return [e.name for e in self._experiments().values() if e.imported]

    def experiments_info(self) -> "pd.DataFrame":
        import pandas as pd

        rows = [{"experiment": e.name, "status": e.status, "budget_usd": e.budget_usd, "stop_reason": e.stop_reason}
                for e in self._experiments().values()]
        return pd.DataFrame(rows, columns=["experiment", "status", "budget_usd", "stop_reason"]).set_index("experiment")

    def axis_names(self) -> list[str]:
        return list(dict.fromkeys(a for e in self._experiments().values() for a in e.axes))

    # -- filters ----------------------------------------------------------------------------------
    def _where(self, exps: dict[int, _Experiment], extra: Sequence[str | None] = (), at: str = AT_SQL,
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
        conds += [c for c in extra if c]
        return (" WHERE " + " AND ".join(conds)) if conds else "", params

    # -- keys -------------------------------------------------------------------------------------
    def _rollups_answer(self, keys: Sequence[str]) -> bool:
        """Whether the rollups (m013) hold these keys: not an axis named "repeat" (the rollups
        keep the setting, the cell without its repeat). They know a request's day, not its time:
        of a bound inside a day, the rest of that day is read from the tasks (`_day_split`)."""
        return "repeat" not in keys and self._rollups_exist()

    def _day_split(self) -> tuple[tuple[str | None, str | None] | None, list[tuple[str | None, str | None]]]:
        """This view's time bounds as the whole days inside them, which the rollups sum (None:
        not one whole day), and the parts of a day at either end, read from the tasks."""
        since, until = self.since, self.until
        first = since if _whole_day(since) else (dt.date.fromisoformat(since[:10]) + dt.timedelta(days=1)).isoformat()  # type: ignore[index]
        last = until if _whole_day(until) else until[:10]  # type: ignore[index]
        if first is not None and last is not None and first >= last:
            return None, [(since, until)]  # no whole day inside (Costs refuses until <= since)
        edges = ([] if _whole_day(since) else [(since, first)]) + ([] if _whole_day(until) else [(last, until)])
        return (first, last), edges

    def _edge_where(self, edges: list[tuple[str | None, str | None]]) -> str:
        """A condition that keeps, of the tasks, the experiments with requests on the days the
        `edges` fall in (the rollups say which), so a bound inside a day reads those experiments'
        tasks, not the whole log's."""
        days = sorted({b[:10] for edge in edges for b in edge if b})
        rows = self.log.rows(f"SELECT DISTINCT experiment_id AS id FROM cost_rollups WHERE day IN ({', '.join('?' * len(days))}) "
                             "AND tasks != 0", days)
        ids = [int(r["id"]) for r in rows]
        known = f"t.experiment_id IN ({', '.join(str(i) for i in ids if i != -1) or 'NULL'})"
        return f"({known} OR t.experiment_id IS NULL)" if -1 in ids else known

    def _reads(self, keys: Sequence[str], rollup: _Read, task_sums: dict[str, str],
               task_sources: Sequence[tuple[str, dict[str, str]]]) -> list[_Read]:
        """What `_group` reads for this view: the rollups (`rollup`, its bounds set here) for its
        whole days and the tasks for the parts of a day at either end, or the tasks alone where
        the rollups cannot answer."""
        if not self._rollups_answer(keys):
            return [_Read(src, task_sums, fill, (self.since, self.until)) for src, fill in task_sources]
        days, edges = self._day_split()
        reads = [] if days is None else [replace(rollup, bounds=days)]
        if edges:
            near = self._edge_where(edges)
            reads += [_Read(src, task_sums, fill, edge, where=(near,)) for edge in edges for src, fill in task_sources]
        return reads

    def _rollups_exist(self) -> bool:
        """Whether the log has the rollups: m013's and m015's tables, made together on opening
        (a benchmark's baseline drops them all)."""
        if self._has_rollups is None:
            self._has_rollups = len(self.log.rows(
                "SELECT 1 FROM sqlite_master WHERE name IN ('cost_rollups', 'cost_scores')")) == 2
        return self._has_rollups

    def _key(self, name: str, exps: dict[int, _Experiment], at: str = AT_SQL, rollup: bool = False) -> _Key:
        def plain(vals: list[Any], _: dict[int, _Experiment]) -> list[tuple[Any, Any]]:
            return [(vals[0], "" if vals[0] is None else str(vals[0]))]  # (label, order)

        # unary + keeps SQLite from walking the one-column index of model or status (to skip a sort)
        # and reading every wide row through it: the covering cost index is faster
        simple = {"model": "+t.model", "size": "t.width || 'x' || t.height", "status": "+t.status",
                  "day": f"substr({at}, 1, 10)", "week": f"date({at}, 'weekday 0', '-6 days')",
                  "month": f"substr({at}, 1, 7)", "backend": BACKEND_SQL}
        if name in simple:
            return _Key([name], [simple[name]], plain)
        if name == "experiment":
            return _Key(["experiment"], ["t.experiment_id"], lambda v, e: [_exp_label(v[0], e)])
        if name == "setting":
            def setting(v: list[Any], e: dict[int, _Experiment]) -> list[tuple[Any, Any]]:
                exp = e.get(v[0])
                cell = json.loads(v[1] or "{}")
                text = ", ".join(_setting_part(a, label_value(exp, a, json.dumps(x))[0]) for a, x in cell.items()) or "(no axes)"
                return [_exp_label(v[0], e), (text, v[2] if v[2] is not None else 1 << 62)]
            # ordered by the setting's first task in the whole log (the sweep's order), read from
            # cost_settings on both paths: the first task inside a window would order it by when it
            # ran (a log without the rollups, as the cost benchmark's baseline makes, has no choice)
            first = (f"{_ORDER_ONLY}{FIRST_TASK_SQL} FROM cost_settings s WHERE s.experiment_id = ifnull(t.experiment_id, -1) "
                     "AND s.setting = json_remove(t.cell_json, '$.repeat'))")
            return _Key(["experiment", "setting"], ["t.experiment_id", "json_remove(t.cell_json, '$.repeat')",
                                                    first if not rollup and self._rollups_exist() else "min(t.id)"],
                        setting)
        having = [i for i, e in exps.items() if name in e.axes]
        if not having:
            known = ", ".join(dict.fromkeys([*BUILTIN_KEYS, *self.axis_names()]))
            raise UnknownCostKeyError(f"by={name!r}: no experiment in view has an axis of that name; use one of: {known}")
        if '"' in name:
            raise UnknownCostKeyError(f"by={name!r}: an axis name with a double quote cannot be grouped on")
        path = "'$.\"" + name.replace("'", "''") + "\"'"

        # labelled over every experiment in view: groups are made by label, and two distinct values
        # that read the same in their own experiments ("negativePrompt: blurry text, misspelled…")
        # were one row, their tasks and money added up
        merged = merged_axis([exps[i].axes[name] for i in having])

        def axis(v: list[Any], e: dict[int, _Experiment]) -> list[tuple[Any, Any]]:
            return [label_value(e.get(v[0]), name, v[1], merged)]
        return _Key([name], ["t.experiment_id", f"t.cell_json -> {path}"], axis,
                    where=f"t.experiment_id IN ({','.join(map(str, having))})")

    # -- the grouped aggregate -----------------------------------------------------------------------
    def _group(self, keys: Sequence[str], reads: Sequence[_Read], params_before: Sequence[Any] = ()) -> "pd.DataFrame":
        """Run each read's sums grouped by `keys` (the reads give the same sums, by name), add the
        parts, label the groups and order them. Returns a frame indexed by the keys' levels."""
        import pandas as pd

        exps = self._experiments()
        names = list(reads[0].sums)
        frames = []
        for read in reads:
            at = "t.day" if read.rollup else AT_SQL
            specs = [self._key(k, exps, at, read.rollup) for k in keys]
            exprs = [s for spec in specs for s in spec.sql]
            group_exprs = [s for s in exprs if not s.startswith(("min(", _ORDER_ONLY))]
            where, params = self._where(exps, [*(s.where for s in specs), *read.where], at, read.bounds)
            select = ([f"{s} AS k{i}" for i, s in enumerate(exprs)]
                      + [f"{read.sums[n].format(**read.fill)} AS [{n}]" for n in names])
            group = f" GROUP BY {', '.join(str(exprs.index(g) + 1) for g in group_exprs)}" if group_exprs else ""
            if group and read.rollup:  # rollup rows whose tasks all moved on hold zeros: no group of its own
                group += f" HAVING {read.live}"
            sql = f"SELECT {', '.join(select)} FROM {read.source}{where}{group}"
            frames.append((self.log.frame(sql, [*params_before, *params]), specs))
            # the columns grouped by: the same places in every read (the same keys), whatever their SQL
            grouping = [f"k{i}" for i, s in enumerate(exprs) if s in group_exprs]
        specs = frames[0][1]
        levels = list(dict.fromkeys(level for spec in specs for level in spec.levels))
        if not specs:
            raw = pd.concat([f for f, _ in frames if len(f)] or [frames[0][0]], ignore_index=True)
            out = raw[names].sum(numeric_only=True).to_frame().T if len(raw) else pd.DataFrame([{n: 0 for n in names}])
            return out.fillna(0)
        # the parts that have rows (an empty part's columns have no type, and would make them objects)
        raw = pd.concat([f.assign(__part=i) for i, (f, _) in enumerate(frames) if len(f)]
                        or [frames[0][0].assign(__part=0)], ignore_index=True)
        if raw["__part"].nunique() > 1:
            # in the order one GROUP BY gives its groups (by their keys), which orders groups whose
            # labels tie, as a read of the tasks alone would
            raw = raw.sort_values(grouping, kind="stable", na_position="first", ignore_index=True)
        labelled: dict[str, list[Any]] = {lv: [] for lv in levels}
        orders: dict[str, list[Any]] = {lv: [] for lv in levels}
        for _, row in raw.iterrows():  # each row labelled by its part's keys (a rollup's SQL or the tasks')
            pos = 0
            seen: set[str] = set()
            for spec in frames[int(row["__part"])][1]:
                vals = [row[f"k{pos + j}"] for j in range(len(spec.sql))]
                pos += len(spec.sql)
                for level, (label, order) in zip(spec.levels, spec.label([_py(v) for v in vals], exps)):
                    if level in seen:
                        continue
                    seen.add(level)
                    labelled[level].append(label)
                    orders[level].append(order)
        frame = raw[names].copy()
        for lv in levels:
            frame[lv] = labelled[lv]
            frame[f"__order_{lv}"] = orders[lv]
        if len(frame):
            frame = frame.sort_values([f"__order_{lv}" for lv in levels], kind="stable")
        out = frame.groupby(levels, sort=False, dropna=False)[names].sum()
        return out

    def grouped(self, keys: Sequence[str]) -> "pd.DataFrame":
        reads = self._reads(keys, _rollup_read(_ROLLUP_SUMS, "setting" in keys), dict(_SUMS),
                            [("tasks t", {"images": _IMAGES_SQL}), (_HISTORY_SOURCE, {"images": "0"})])
        out = self._group(keys, reads)
        out["cost_usd"] = out["api_usd"] + out["emulated_usd"] + out["estimate_usd"] + out["in_doubt_usd"]
        return out

    def kept(self, keys: Sequence[str], min_score: float, tasks_in_view: int) -> "pd.DataFrame":
        """Rated and kept images per group: each image's latest rating with a score counts.

        Where the rollups answer, the whole days in view are read from cost_scores (m015: the
        rated images per rollup key and score, kept by triggers), some thousands of rows, and the
        part of a day at either end of a window from its tasks; on the 1,000,000-task benchmark
        log, per_kept_image() by an axis 1.97 s -> 0.38 s cold, since a time inside a day 1.73 s
        -> 0.54 s cold. Without the rollups (an older log, an axis named "repeat") it reads the
        ratings one of two ways, the same rows either way: from the tasks in view (each task's
        images, then each image's latest rating), or from the ratings (each rated image's latest
        rating, then its image and its task). The first reads every task in view, the second every
        rating in the log, and a task's row costs about what a rating's does: the ratings are read
        first where there are fewer than half as many as `tasks_in_view` (the tasks the groups
        hold, from `grouped()`)."""
        sums = {"rated": "count(*)", "kept": "total(r.score >= ?)"}
        if not self._rollups_answer(keys):
            ratings = int(self.log.rows("SELECT count(*) AS n FROM ratings")[0]["n"])
            source = _RATED_FROM_RATINGS if 2 * ratings < tasks_in_view else _RATED_FROM_TASKS
            return self._group(keys, [_Read(source, sums, {}, (self.since, self.until))], params_before=[min_score])
        # the part of a day at either end of a window holds few tasks: read from them
        scores = _Read(_SCORES_SOURCE, _SCORES_SUMS, {}, (None, None), rollup=True, live="sum(t.images) != 0")
        return self._group(keys, self._reads(keys, scores, sums, [(_RATED_FROM_TASKS, {})]), params_before=[min_score])

    def per_experiment_extra(self) -> "pd.DataFrame":
        sums = {"unsent": "total(t.status = 'pending')",
                "unsent_usd": "total(CASE WHEN t.status = 'pending' THEN t.estimated_cost_usd END)",
                "to_retry": "total(CASE WHEN t.id IS NOT NULL AND t.status = 'failed' THEN 1 END)",
                "to_send_usd": "total(CASE WHEN t.id IS NOT NULL AND t.status IN ('pending', 'failed') "
                               "THEN t.estimated_cost_usd END)",
                "api_estimated_usd": "total(CASE WHEN t.cost_usd IS NOT NULL THEN t.estimated_cost_usd END)",
                "planned_usd": "total(CASE WHEN t.id IS NOT NULL THEN t.estimated_cost_usd END)"}  # not the history's
        out = self._group(["experiment"], self._reads(["experiment"], _rollup_read(_ROLLUP_EXTRA), sums,
                                                      [("tasks t", {}), (_HISTORY_SOURCE, {})]))
        out[["unsent", "to_retry"]] = out[["unsent", "to_retry"]].astype(int)
        return out.round(6)

    # -- rows -------------------------------------------------------------------------------------
    def requests(self, where: Sequence[str] = (), columns: Sequence[str] | None = None, *,
                 prefetch: bool = False) -> "pd.DataFrame":
        """One row per request (tasks and earlier failed attempts), in time order; `where`: extra
        SQL conditions on `t`, `columns`: only these of the output columns. `prefetch`: warm the
        pages from background threads first (`qwenlab.store.prefetch`), for a read of few rows
        scattered through a big log; a read of every row would only do its work twice (on the
        1,000,000-task log, `tasks()` 2.6 s faster cold and 0.6 to 1.5 s slower warm)."""
        import pandas as pd

        exps = self._experiments()
        names = {i: e.name for i, e in exps.items()}
        every = {
            "task_id": "t.id", "experiment_id": "t.experiment_id", "cell_key": "t.cell_key", "task_uuid": "t.task_uuid",
            "retried": "{retried}", "status": "t.status", "model": "t.model", "width": "t.width", "height": "t.height",
            "images": "{images}", "price_usd": "t.price_usd", "estimated_cost_usd": "t.estimated_cost_usd",
            "cost_usd": "t.cost_usd", "cost": f"round({COST_SQL}, 10)", "cost_source": COST_SOURCE_SQL,
            "error_code": "t.error_code", "error_message": "t.error_message", "http_status": "t.http_status",
            "attempts": "t.attempts", "backend": BACKEND_SQL, "at": AT_SQL,
        }
        wanted = ["experiment_id", *[c for c in (columns or every) if c not in ("experiment", "experiment_id")]]
        clause, params = self._where(exps, list(where))
        reads = [(source, [every[c].format(**fill) for c in wanted], clause, params)
                 for source, fill in (("tasks t", {"images": _IMAGES_SQL, "retried": "0"}),
                                      (_HISTORY_SOURCE, {"images": "0", "retried": "1"}))]
        frames = []
        with self._prefetch(exps, reads if prefetch else []):
            for source, exprs, clause, params in reads:
                select = ", ".join(f"{e} AS [{c}]" for e, c in zip(exprs, wanted))
                frames.append(self.log.frame(f"SELECT {select} FROM {source}{clause}", params))
        df = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        df.insert(0, "experiment", df.pop("experiment_id").map(names))
        if "at" in df.columns:
            df = df.sort_values("at", kind="stable")
        return df.reset_index(drop=True)

    def spend(self) -> "pd.DataFrame":
        """Every request that cost something (tasks and earlier failed attempts), in time order:
        at (UTC), experiment, cost_usd, cost_source. The rows, order and types of
        `requests(["cost > 0"], ["at", "cost", "cost_source"])`, read as a million rows are read
        fast (see `_spend_columns`), sorted on the parsed times."""
        import numpy as np
        import pandas as pd

        exps = self._experiments()
        kind, at, costs = self._spend_columns(exps)
        # Stable: requests of the same time stay in the order read (tasks, then earlier attempts), and
        # those of no time go last, as requests() sorts them.
        order = at.sort_values(kind="stable").index.to_numpy()
        kind = kind[order]
        cost = self._rounded(costs)[order]
        names = {i: e.name for i, e in exps.items()}
        return pd.DataFrame({
            "at": at.iloc[order].reset_index(drop=True),
            "experiment": pd.Series(kind >> 3).map(names),  # >> 3 floors: -1 (no experiment) for -8 + code
            "cost_usd": pd.Series(cost, dtype=None if len(cost) else object),  # object when empty, as pandas reads no rows
            "cost_source": pd.Series(np.array(COST_SOURCES, dtype=object)[kind & 7]),  # str, as pandas reads texts
        })

    def _spend_columns(self, exps: dict[int, _Experiment]) -> tuple["np.ndarray", "pd.Series", "np.ndarray"]:
        """The requests that cost something, unordered: experiment_id * 8 + the code of the cost's
        source (-8 + code for no experiment), the time (UTC), the cost before rounding (`_rounded`
        rounds it per distinct cost). The tasks, then the earlier attempts, as requests() reads them.

        The sqlite3 module's time goes per value it hands over (1.3 s for 950,000 requests of three
        values). The tasks are read a group at a time instead (`_spend_grouped`); the few earlier
        attempts, or tasks whose times are not all in qwenlab's format, a row at a time."""
        import numpy as np
        import pandas as pd

        where, params = self._where(exps, [f"({COST_SQL}) > 0"])
        # * 1.0: a REAL, as round() would read the value
        exprs = [f"coalesce(t.experiment_id, -1) * 8 + ({_SOURCE_CODE_SQL})", AT_SQL, f"({COST_SQL}) * 1.0"]
        reads = [(source, exprs, where, params) for source in ("tasks t", _HISTORY_SOURCE)]
        with self._prefetch(exps, reads):
            parts = [self._spend_grouped(where, params) or self._spend_rows("tasks t", exprs, where, params),
                     self._spend_rows(_HISTORY_SOURCE, exprs, where, params)]
        parts = [p for p in parts if len(p[0])] or parts[:1]
        return (np.concatenate([p[0] for p in parts]), pd.concat([p[1] for p in parts], ignore_index=True),
                np.concatenate([p[2] for p in parts]))

    def _spend_rows(self, source: str, exprs: Sequence[str], where: str, params: list[Any]
                    ) -> tuple["np.ndarray", "pd.Series", "np.ndarray"]:
        """`_spend_columns` of `source`, a row at a time: three plain values a row."""
        import numpy as np
        import pandas as pd

        kinds, texts, costs = self.log.columns(f"SELECT {', '.join(exprs)} FROM {source}{where}", params)
        at = pd.to_datetime(pd.Series(texts, dtype=object), utc=True, format="ISO8601")
        return np.asarray(kinds, dtype=np.int64), at, np.asarray(costs, dtype=np.float64)

    def _spend_grouped(self, where: str, params: list[Any]) -> tuple["np.ndarray", "pd.Series", "np.ndarray"] | None:
        """`_spend_columns` of the tasks, one row per group of the cost index's leading columns:
        within a group (experiment, status, model, size, price, estimate, reported cost) every
        request costs the same, so SQLite hands over the group's cost once, its requests' times
        packed in one text and their cost sources as one digit each (0.6 s instead of 1.3 s for
        950,000 requests, then 0.1 s to parse the times instead of 0.2 s). Grouped by the index's
        own order, SQLite reads it as the row-at-a-time query does, in the same order. None when
        there is nothing, or a time is not in qwenlab's own format (`parse_packed`)."""
        import numpy as np
        import pandas as pd

        sql = (f"SELECT coalesce(t.experiment_id, -1) * 8, ({COST_SQL}) * 1.0, count(*), "
               f"group_concat({AT_SQL}, '{SEPARATOR}'), group_concat({_SOURCE_CODE_SQL}, '') "
               f"FROM tasks t{where} GROUP BY {_COST_INDEX_LEAD}")
        bases, costs, counts, times, codes = self.log.columns(sql, params)
        n = sum(counts)
        if not n or any(t is None for t in times):
            return None
        digits = "".join(codes).encode("ascii")
        if len(digits) != n:
            return None
        # the unit pandas gives such times (the row-at-a-time read's), so both reads give one type
        unit = np.datetime_data(pd.to_datetime(pd.Series([EXAMPLE]), utc=True, format="ISO8601").dtype.base)[0]
        parsed = parse_packed(SEPARATOR.join(times), n, unit)
        if parsed is None:
            return None
        kind = np.repeat(np.asarray(bases, dtype=np.int64), counts) + (np.frombuffer(digits, dtype=np.uint8) - ord("0"))
        at = pd.Series(pd.DatetimeIndex(parsed).tz_localize("UTC"))
        return kind, at, np.repeat(np.asarray(costs, dtype=np.float64), counts)

    def _prefetch(self, exps: dict[int, _Experiment], reads: Sequence[tuple[str, Sequence[str], str, list[Any]]]) -> Prefetch:
        """A prefetch of the pages `reads` (source, the expressions read, WHERE clause, its
        parameters) will touch, one query per source and experiment in the order they read them
        (the cost index and the tasks go by experiment): `count()` of each expression reads every
        column the read does, and returns one row."""
        queries = []
        for source, exprs, where, params in reads:
            touch = ", ".join(f"count({e})" for e in exprs)
            part = f"{where} AND t.experiment_id IS ?" if where else " WHERE t.experiment_id IS ?"
            queries += [(f"SELECT {touch} FROM {source}{part}", [*params, i]) for i in [None, *sorted(exps)]]
        return Prefetch(getattr(self.log, "path", None), queries)

    def _rounded(self, costs: list[float]) -> "np.ndarray":
        """round(cost, 10) as SQLite computes it (the number requests() gives), asked of SQLite once
        per distinct cost: a log's costs are a few prices times a few image counts (12 distinct in
        the 1,000,000-task benchmark, 0.2 s less than round() on each row; 950,000 distinct would
        take 0.5 s more)."""
        import numpy as np
        import pandas as pd

        codes, distinct = pd.factorize(np.asarray(costs, dtype=np.float64))
        rounded: list[float] = []
        for i in range(0, len(distinct), _ROUND_BATCH):
            batch = distinct[i:i + _ROUND_BATCH].tolist()
            rounded += [column[0] for column in self.log.columns("SELECT " + ", ".join(["round(?, 10)"] * len(batch)), batch)]
        return np.asarray(rounded, dtype=np.float64)[codes]

    def prices(self) -> "pd.DataFrame":
        import pandas as pd

        exps = self._experiments()
        if not self.filtered and self._rollups_answer([]):
            tasks, images = self._prices_split(exps)
        else:
            tasks, images = self._prices_from_tasks(exps)
        df = tasks.merge(images, on=["model", "price_usd"], how="left")
        for col in ("images", "api_images", "differing_images"):
            df[col] = df[col].fillna(0).astype(int)
        df["api_usd_per_image"] = (df.pop("api_image_usd") / df["api_images"].where(df["api_images"] > 0)).round(6)
        df["api_minus_price_usd"] = df["api_minus_price_usd"].fillna(0).round(6)
        # NaN where the API reported no image's cost, on every read (SQLite's NULL came as None from one)
        df[["api_min_usd", "api_max_usd"]] = df[["api_min_usd", "api_max_usd"]].astype(float)
        cols = ["model", "price_usd", "first_at", "last_at", "tasks", "images", "api_images", "api_usd_per_image",
                "api_min_usd", "api_max_usd", "differing_images", "api_minus_price_usd"]
        return df.sort_values(["model", "first_at"], kind="stable")[cols].reset_index(drop=True) if len(df) else pd.DataFrame(columns=cols)

    def _prices_split(self, exps: dict[int, _Experiment]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() of the whole log's view: its whole days from the rollups, the parts of a day at
        either end from the tasks (`_day_split`), added up."""
        import pandas as pd

        days, edges = self._day_split()
        parts = [self._prices_from_rollups(days)] if days is not None else []
        if edges:
            near = self._edge_where(edges)
            parts += [self._prices_from_tasks(exps, edge, near) for edge in edges]
        if len(parts) == 1:
            return parts[0]
        key = ["model", "price_usd"]
        tasks = pd.concat([t for t, _ in parts], ignore_index=True).groupby(key, dropna=False, sort=False).agg(
            first_at=("first_at", "min"), last_at=("last_at", "max"), tasks=("tasks", "sum")).reset_index()
        sums = {c: "sum" for c in ("images", "api_images", "api_image_usd", "differing_images", "api_minus_price_usd")}
        images = pd.concat([i for _, i in parts], ignore_index=True).groupby(key, dropna=False, sort=False).agg(
            {**sums, "api_min_usd": "min", "api_max_usd": "max"}).reset_index()
        tasks = tasks[tasks["tasks"] != 0]
        return tasks, images[images["images"] != 0]

    def _prices_from_tasks(self, exps: dict[int, _Experiment], bounds: tuple[str | None, str | None] | None = None,
                           near: str | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() summed over the tasks and their images, within `bounds` (default: the view's).
        near: a condition on the tasks' experiments (`_edge_where`): the images are then found
        from their tasks, not the tasks from every image."""
        extra = [near] if near else []
        where, params = self._where(exps, ["t.status != 'pending'", *extra], bounds=bounds)
        tasks = self.log.frame(
            f"SELECT +t.model AS model, {PRICE_SQL} AS price_usd, min({AT_SQL}) AS first_at, max({AT_SQL}) AS last_at, "
            f"count(*) AS tasks FROM tasks t{where} GROUP BY 1, 2", params)
        where, params = self._where(exps, extra, bounds=bounds)
        joined = "tasks t CROSS JOIN images i ON i.task_id = t.id" if near else "images i JOIN tasks t ON t.id = i.task_id"
        images = self.log.frame(
            f"SELECT +t.model AS model, {PRICE_SQL} AS price_usd, count(*) AS images, count(i.cost_usd) AS api_images, "
            f"min(i.cost_usd) AS api_min_usd, max(i.cost_usd) AS api_max_usd, total(i.cost_usd) AS api_image_usd, "
            f"total(i.cost_usd IS NOT NULL AND abs(i.cost_usd - {PRICE_SQL}) > 1e-6) AS differing_images, "
            f"total(i.cost_usd - {PRICE_SQL}) AS api_minus_price_usd "
            f"FROM {joined}{where} GROUP BY 1, 2", params)
        return tasks, images

    def _prices_from_rollups(self, bounds: tuple[str | None, str | None]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() of the log, or of the whole days `bounds` of it, from the rollups (m013, m014):
        the tasks per model and price, the first and last of them by a seek each on
        idx_tasks_price_times, the images per API cost."""
        import pandas as pd

        days, day_params = self._where({}, at="nullif(r.day, '')", bounds=bounds)  # the rollups' day: '' is none
        within = days.replace(" WHERE ", " AND ")
        price = "CASE WHEN r.price_e10 = -1 THEN NULL ELSE r.price_e10 / 1e10 END"
        tasks = self.log.frame(
            f"SELECT nullif(r.model, '') AS model, {price} AS price_usd, sum(r.tasks) AS tasks FROM cost_rollups r "
            f"WHERE r.retried = 0 AND r.status NOT IN ('pending', ''){within} GROUP BY r.model, r.price_e10 "
            "HAVING sum(r.tasks) != 0", day_params)
        times, time_params = self._where({}, bounds=bounds)
        seek = (f"SELECT {{}}({AT_SQL}) AS at FROM tasks t WHERE t.status != 'pending' AND t.model IS ? AND {PRICE_SQL} IS ?"
                + times.replace(" WHERE ", " AND "))
        for column, fn in (("first_at", "min"), ("last_at", "max")):
            tasks[column] = [self.log.rows(seek.format(fn), [m, p, *time_params])[0]["at"]
                             for m, p in zip(tasks["model"], tasks["price_usd"].astype(object).where(tasks["price_usd"].notna(), None))]
        cost = "CASE WHEN r.cost_e10 != -1 THEN r.cost_e10 END"
        priced = "r.cost_e10 != -1 AND r.price_e10 != -1"
        images = self.log.frame(
            f"SELECT nullif(r.model, '') AS model, {price} AS price_usd, sum(r.images) AS images, "
            f"total(CASE WHEN r.cost_e10 != -1 THEN r.images END) AS api_images, "
            f"min(CASE WHEN r.images != 0 THEN {cost} END) / 1e10 AS api_min_usd, "
            f"max(CASE WHEN r.images != 0 THEN {cost} END) / 1e10 AS api_max_usd, "
            f"total({cost} * r.images) / 1e10 AS api_image_usd, "
            f"total(CASE WHEN {priced} AND abs(r.cost_e10 - r.price_e10) > 10000 THEN r.images END) AS differing_images, "
            f"total(CASE WHEN {priced} THEN (r.cost_e10 - r.price_e10) * r.images END) / 1e10 AS api_minus_price_usd "
            f"FROM cost_image_prices r{days} GROUP BY r.model, r.price_e10 HAVING sum(r.images) != 0", day_params)
        return tasks[["model", "price_usd", "first_at", "last_at", "tasks"]], pd.DataFrame(images)


def _exp_label(exp_id: Any, exps: dict[int, _Experiment]) -> tuple[Any, Any]:
    exp = exps.get(exp_id)
    return (exp.name if exp else f"#{exp_id}", exp_id if exp_id is not None else 1 << 62)


def _py(value: Any) -> Any:
    """numpy scalars and NaN from pandas back to plain Python (None for missing)."""
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


