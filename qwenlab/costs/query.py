"""The grouped queries behind `qwenlab.costs.frames`, and its rows of requests, run inside SQLite.

Each frame is an aggregate over the tasks table (plus, rarely, the earlier failed attempts kept in
`tasks.history_json`), grouped by key expressions, so a 100,000-task log is summed where it lies
instead of being loaded into pandas. Money the emulator "charged" is summed apart (`emulated_usd`,
cost_source 'emulated'): it was never paid, and is never counted as reported by the API. The cost indexes (migration `m005_cost_indexes` in
qwenlab/store/migrations/log_tables.py) let SQLite read a narrow covering index instead of the wide task rows.
Grouping by an axis or a setting groups by the raw JSON value inside SQLite and turns it into the
sweep's label afterwards, on the few grouped rows.

The parts around it: the view's filters and where its sums are read (rollups or tasks) in
`qwenlab.costs.view`, the SQL text in `qwenlab.costs.sql`, the keys and labels in
`qwenlab.costs.labels`, the prices in `qwenlab.costs.prices`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UnknownCostKeyError
from ..store.axes import merged_axis
from ..store.log import status_word
from ..store.migrations.cost_rollups import FIRST_TASK_SQL
from ..store.organize import DELETED_PREFIX
from ..store.prefetch import PAGE_HINTS, Prefetch
from .labels import (
    AXIS_PREFIX,
    BUILTIN_PREFIX,
    PER_EXPERIMENT,
    PERIOD_PREFIX,
    PERIODS,
    SHADOWED,
    GroupKey,
    experiment_label,
    label_value,
    plain_value,
    setting_part,
    swept_axis,
)
from .packed_times import EXAMPLE, SEPARATOR, parse_packed
from .sql import (
    AT_SQL,
    BACKEND_SQL,
    COST_INDEX,
    COST_INDEX_LEAD,
    COST_SOURCE_SQL,
    COST_SOURCES,
    COST_SQL,
    HISTORY_SOURCE,
    IMAGES_SQL,
    ORDER_ONLY,
    RATED_FROM_RATINGS,
    RATED_FROM_TASKS,
    ROLLUP_EXTRA,
    ROLLUP_SUMS,
    SCORES_SOURCE,
    SCORES_SUMS,
    SOURCE_CODE_SQL,
    TASK_SUMS,
    Read,
    rollup_read,
)
from .view import CostView, ExperimentInView

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["CostQuery", "BUILTIN_KEYS"]

BUILTIN_KEYS = ("experiment", "model", "size", "day", "week", "month", "year", "status", "setting", "backend")
# what a built-in an axis may share a name with groups by, as the ambiguity is said
_BUILTIN_WHAT = {"experiment": "each request's experiment", "status": "each request's status (done, failed, in_doubt, "
                 "pending)", "setting": "each experiment's settings, its axes' values but the repeat",
                 "backend": "where each request ran (emulator, runware, unknown)"}
# the tasks with earlier attempts, which HISTORY_SOURCE reads: found by the partial index idx_tasks_history
_HISTORY_ROWS = "SELECT t.id FROM tasks t WHERE t.history_json IS NOT NULL"
_ROUND_BATCH = 500  # values rounded per query: one column each, within SQLite's 999 parameters and 2000 columns


def _named(keys: Sequence[str]) -> list[str]:
    """The keys with the axes spelled out named by their names ("axis:repeat" -> "repeat"), as
    `CostView.rollups_answer` knows them."""
    return [swept_axis(k, BUILTIN_KEYS) or k for k in keys]


def _by_setting(keys: Sequence[str]) -> bool:
    """Whether the keys group by the built-in setting ("setting", or "builtin:setting")."""
    return any(k in ("setting", BUILTIN_PREFIX + "setting") for k in keys)


class CostQuery:
    """The grouped queries over one log, with the filters of a `Costs` view (`CostView`)."""

    def __init__(self, view: CostView) -> None:
        self.view = view
        self.log = view.log

    # -- keys -------------------------------------------------------------------------------------
    def _key(self, name: str, exps: dict[int, ExperimentInView], at: str = AT_SQL, rollup: bool = False) -> GroupKey:
        def plain(vals: list[Any], _: dict[int, ExperimentInView]) -> list[tuple[Any, Any]]:
            return [(vals[0], "" if vals[0] is None else str(vals[0]))]  # (label, order)

        # unary + keeps SQLite from walking the one-column index of model or status (to skip a sort)
        # and reading every wide row through it: the covering cost index is faster
        simple = {"model": "+t.model", "size": "t.width || 'x' || t.height",
                  "day": f"substr({at}, 1, 10)", "week": f"date({at}, 'weekday 0', '-6 days')",
                  "month": f"substr({at}, 1, 7)", "year": f"substr({at}, 1, 4)", "backend": BACKEND_SQL}
        # the level is named as the key was given: by(["period:year", "axis:year"]) has two
        axis = name[len(AXIS_PREFIX):] if name.startswith(AXIS_PREFIX) else None
        if name.startswith(PERIOD_PREFIX):
            period = name[len(PERIOD_PREFIX):]
            if period not in PERIODS:
                raise UnknownCostKeyError(f"by={name!r}: no such period; use one of: "
                                          + ", ".join(PERIOD_PREFIX + p for p in PERIODS))
            return GroupKey([name], [simple[period]], plain)
        builtin = name[len(BUILTIN_PREFIX):] if name.startswith(BUILTIN_PREFIX) else None
        if builtin is not None and (builtin not in BUILTIN_KEYS or builtin in PERIODS):
            raise UnknownCostKeyError(f"by={name!r}: no such built-in key; use one of: "
                                      + ", ".join(BUILTIN_PREFIX + k for k in BUILTIN_KEYS if k not in PERIODS)
                                      + " (a period: " + ", ".join(PERIOD_PREFIX + p for p in PERIODS) + ")")
        if name in PERIODS or name in SHADOWED:
            self._refuse_ambiguous(name, exps)
        key = builtin if builtin is not None else name if axis is None else None  # the built-in asked for
        if key in simple:
            return GroupKey([name], [simple[key]], plain)
        if key == "status":  # a task left 'sent' is "in_doubt", as every count of qwenlab says it
            return GroupKey([name], ["+t.status"], lambda v, e: plain([status_word(v[0])], e))
        if key == "experiment":
            return GroupKey(["experiment"], ["t.experiment_id"], lambda v, e: [experiment_label(v[0], e)])
        if key == "setting":
            def setting(v: list[Any], e: dict[int, ExperimentInView]) -> list[tuple[Any, Any]]:
                exp = e.get(v[0])
                cell = json.loads(v[1] or "{}")
                text = ", ".join(setting_part(a, label_value(exp, a, json.dumps(x))[0]) for a, x in cell.items()) or "(no axes)"
                if v[1] is None and exp is not None and exp.name.startswith(DELETED_PREFIX):
                    # its cells' values went with its content: "(no axes)" would say it swept none
                    text = label_value(exp, "setting", None)[0]
                return [experiment_label(v[0], e), (text, v[2] if v[2] is not None else 1 << 62)]
            # ordered by the setting's first task in the whole log (the sweep's order), read from
            # cost_settings on both paths: the first task inside a window would order it by when it
            # ran (a log without the rollups, as the cost benchmark's baseline makes, has no choice)
            first = (f"{ORDER_ONLY}{FIRST_TASK_SQL} FROM cost_settings s WHERE s.experiment_id = ifnull(t.experiment_id, -1) "
                     "AND s.setting = json_remove(t.cell_json, '$.repeat'))")
            return GroupKey(["experiment", "setting"], ["t.experiment_id", "json_remove(t.cell_json, '$.repeat')",
                                                        first if not rollup and self.view.rollups_exist() else "min(t.id)"],
                            setting)
        swept = name if axis is None else axis
        having = [i for i, e in exps.items() if swept in e.axes]
        if not having:
            known = ", ".join(dict.fromkeys([*BUILTIN_KEYS, *self.view.axis_names()]))
            raise UnknownCostKeyError(f"by={name!r}: no experiment in view has an axis {swept!r}; use one of: {known}")
        if '"' in swept:
            raise UnknownCostKeyError(f"by={name!r}: an axis name with a double quote cannot be grouped on")
        path = "'$.\"" + swept.replace("'", "''") + "\"'"

        # labelled over every experiment in view: groups are made by label, and two distinct values
        # that read the same in their own experiments ("negativePrompt: blurry text, misspelled…")
        # were one row, their tasks and money added up
        merged = merged_axis([exps[i].axes[swept] for i in having])

        def values(v: list[Any], e: dict[int, ExperimentInView]) -> list[tuple[Any, Any]]:
            return [label_value(e.get(v[0]), swept, v[1], merged)]
        return GroupKey([name], ["t.experiment_id", f"t.cell_json -> {path}"], values,
                        where=f"t.experiment_id IN ({','.join(map(str, having))})")

    @staticmethod
    def _refuse_ambiguous(key: str, exps: dict[int, ExperimentInView]) -> None:
        """A built-in key (a period, or one of `SHADOWED`) that is also a sweep axis of an
        experiment in view is refused, as pandas refuses a groupby key that is both an index level
        and a column: grouped by the period, an axis "year" (1920, 1950, ...) was hidden behind the
        years the requests were sent in, and by the status a bundle axis named "status" behind the
        requests' done and failed."""
        having = [e.name for e in exps.values() if key in e.axes]
        if not having:
            return
        names = ", ".join(repr(n) for n in having[:3]) + (f" and {len(having) - 3} more" if len(having) > 3 else "")
        period = key in PERIODS
        spelled = (PERIOD_PREFIX if period else BUILTIN_PREFIX) + key
        what = f"the built-in period (the UTC {key} each request was sent)" if period else f"the built-in {key} ({_BUILTIN_WHAT[key]})"
        raise UnknownCostKeyError(
            f"by={key!r} is ambiguous: {what} or the sweep axis {key!r} of "
            f"{'experiment' if len(having) == 1 else 'experiments'} {names}. Ask for one: "
            f"by({spelled!r}) for the {'period' if period else 'built-in'}, by({AXIS_PREFIX + key!r}) for the axis "
            f"(qwenlab costs --by {spelled} or --by {AXIS_PREFIX + key}).")

    # -- the grouped aggregate -----------------------------------------------------------------------
    def _group(self, keys: Sequence[str], reads: Sequence[Read], params_before: Sequence[Any] = ()) -> "pd.DataFrame":
        """Run each read's sums grouped by `keys` (the reads give the same sums, by name), add the
        parts, label the groups and order them. Returns a frame indexed by the keys' levels."""
        import pandas as pd

        exps = self.view.experiments()
        names = list(reads[0].sums)
        frames = []
        for read in reads:
            at = "t.day" if read.rollup else AT_SQL
            specs = [self._key(k, exps, at, read.rollup) for k in keys]
            exprs = [s for spec in specs for s in spec.sql]
            group_exprs = [s for s in exprs if not s.startswith(("min(", ORDER_ONLY))]
            where, params = self.view.where(exps, [*(s.where for s in specs), *read.where], at, read.bounds)
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
                for level, (label, order) in zip(spec.levels, spec.label([plain_value(v) for v in vals], exps)):
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

    def axis_values(self, level: str) -> dict[str, Any] | None:
        """The values behind the labels of a `by()` level that is a sweep axis ("on" -> True),
        labelled as `_key` labels them (over every experiment in view that swept it: distinct
        values read distinctly there); None for a built-in key, whose labels are its values."""
        swept = swept_axis(level, BUILTIN_KEYS)
        if swept is None:
            return None
        infos = [e.axes[swept] for e in self.view.experiments().values() if swept in e.axes]
        if not infos:
            return None
        merged = merged_axis(infos)
        return {merged.label(v): v for v in merged.values}

    def grouped(self, keys: Sequence[str]) -> "pd.DataFrame":
        reads = self.view.reads(_named(keys), rollup_read(ROLLUP_SUMS, _by_setting(keys)), dict(TASK_SUMS),
                            [("tasks t", {"images": IMAGES_SQL}), (HISTORY_SOURCE, {"images": "0"})])
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
        if not self.view.rollups_answer(_named(keys)):
            ratings = int(self.log.rows("SELECT count(*) AS n FROM ratings")[0]["n"])
            source = RATED_FROM_RATINGS if 2 * ratings < tasks_in_view else RATED_FROM_TASKS
            return self._group(keys, [Read(source, sums, {}, (self.view.since, self.view.until))], params_before=[min_score])
        # the part of a day at either end of a window holds few tasks: read from them
        scores = Read(SCORES_SOURCE, SCORES_SUMS, {}, (None, None), rollup=True, live="sum(t.images) != 0")
        return self._group(keys, self.view.reads(_named(keys), scores, sums, [(RATED_FROM_TASKS, {})]), params_before=[min_score])

    def per_experiment_extra(self) -> "pd.DataFrame":
        sums = {"unsent": "total(t.status = 'pending')",
                "unsent_usd": "total(CASE WHEN t.status = 'pending' THEN t.estimated_cost_usd END)",
                "to_retry": "total(CASE WHEN t.id IS NOT NULL AND t.status = 'failed' THEN 1 END)",
                "to_send_usd": "total(CASE WHEN t.id IS NOT NULL AND t.status IN ('pending', 'failed') "
                               "THEN t.estimated_cost_usd END)",
                # the estimate of the tasks whose cost the API reported (not of one logged at its estimate)
                "api_estimated_usd": ("total(CASE WHEN t.cost_usd IS NOT NULL AND t.cost_source IS NOT 'estimate' "
                                      "THEN t.estimated_cost_usd END)"),
                "planned_usd": "total(CASE WHEN t.id IS NOT NULL THEN t.estimated_cost_usd END)"}  # not the history's
        out = self._group([PER_EXPERIMENT], self.view.reads(["experiment"], rollup_read(ROLLUP_EXTRA), sums,
                                                      [("tasks t", {}), (HISTORY_SOURCE, {})]))
        out[["unsent", "to_retry"]] = out[["unsent", "to_retry"]].astype(int)
        return out.round(6)

    # -- rows -------------------------------------------------------------------------------------
    def requests(self, where: Sequence[str] = (), columns: Sequence[str] | None = None, *,
                 prefetch: bool = False) -> "pd.DataFrame":
        """One row per request (tasks and earlier failed attempts), in time order; `where`: extra
        SQL conditions on `t`, `columns`: only these of the output columns. `prefetch`: warm the
        pages from background threads first (`qwenlab.store.prefetch`), for a read of few rows
        scattered through a big log; a read of every row would only do its work twice (on the
        1,000,000-task log, `tasks()` 2.6 s faster cold and 0.6 to 1.5 s slower warm). In a view
        of the whole log it warms the pages of the tasks `where` selects, so `where` should be
        what an index answers (a status), and of the tasks with earlier attempts."""
        import pandas as pd

        exps = self.view.experiments()
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
        clause, params = self.view.where(exps, list(where))
        reads = [(source, [every[c].format(**fill) for c in wanted], clause, params)
                 for source, fill in (("tasks t", {"images": IMAGES_SQL, "retried": "0"}),
                                      (HISTORY_SOURCE, {"images": "0", "retried": "1"}))]
        frames = []
        # the rows themselves, found by an index: the tasks of `where` and those with earlier attempts
        rows = [f"SELECT t.id FROM tasks t WHERE {' AND '.join(where)}", _HISTORY_ROWS] if where else [_HISTORY_ROWS]
        with self._prefetch(exps, reads if prefetch else [], rows=rows if prefetch else []):
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

        exps = self.view.experiments()
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

    def _spend_columns(self, exps: dict[int, ExperimentInView]) -> tuple["np.ndarray", "pd.Series", "np.ndarray"]:
        """The requests that cost something, unordered: experiment_id * 8 + the code of the cost's
        source (-8 + code for no experiment), the time (UTC), the cost before rounding (`_rounded`
        rounds it per distinct cost). The tasks, then the earlier attempts, as requests() reads them.

        The sqlite3 module's time goes per value it hands over (1.3 s for 950,000 requests of three
        values). The tasks are read a group at a time instead (`_spend_grouped`); the few earlier
        attempts, or tasks whose times are not all in qwenlab's format, a row at a time."""
        import numpy as np
        import pandas as pd

        where, params = self.view.where(exps, [f"({COST_SQL}) > 0"])
        # * 1.0: a REAL, as round() would read the value
        exprs = [f"coalesce(t.experiment_id, -1) * 8 + ({SOURCE_CODE_SQL})", AT_SQL, f"({COST_SQL}) * 1.0"]
        reads = [(source, exprs, where, params) for source in ("tasks t", HISTORY_SOURCE)]
        with self._prefetch(exps, reads, trees=[COST_INDEX], rows=[_HISTORY_ROWS]):
            parts = [self._spend_grouped(where, params) or self._spend_rows("tasks t", exprs, where, params),
                     self._spend_rows(HISTORY_SOURCE, exprs, where, params)]
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
               f"group_concat({AT_SQL}, '{SEPARATOR}'), group_concat({SOURCE_CODE_SQL}, '') "
               f"FROM tasks t{where} GROUP BY {COST_INDEX_LEAD}")
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

    def _prefetch(self, exps: dict[int, ExperimentInView], reads: Sequence[tuple[str, Sequence[str], str, list[Any]]], *,
                  trees: Sequence[str] = (), rows: Sequence[str] = ()) -> Prefetch:
        """A prefetch of the pages `reads` (source, the expressions read, WHERE clause, its
        parameters) will touch.

        In a view of the whole log, the pages themselves, found in the file: every leaf of the
        indexes `trees` the reads go through whole, and the table pages of the tasks whose ids the
        queries `rows` give (each answered by an index). In a view of some experiments or tasks,
        which reads part of those, one query per source and experiment in the order they read them
        (the cost index and the tasks go by experiment): `count()` of each expression reads every
        column the read does, and returns one row."""
        path = getattr(self.log, "path", None)
        if (trees or rows) and PAGE_HINTS and not self.view.filtered:
            return Prefetch(path, [], trees=trees, rows=[("tasks", sql, []) for sql in rows])
        queries = []
        for source, exprs, where, params in reads:
            touch = ", ".join(f"count({e})" for e in exprs)
            part = f"{where} AND t.experiment_id IS ?" if where else " WHERE t.experiment_id IS ?"
            queries += [(f"SELECT {touch} FROM {source}{part}", [*params, i]) for i in [None, *sorted(exps)]]
        return Prefetch(path, queries)

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
