"""What the experiments cost, read from the log as pandas frames.

    costs = Costs()                     # the log in $QWENLAB_DATA_DIR (or Costs(lab), Costs(log), Costs("x.db"))
    costs.by("experiment")              # or "model", "size", "day", "week", "month", "year", "status", "setting", "backend", any axis
    costs.by(["experiment", "promptExtend"])
    costs.by("axis:year")               # an axis that is also a period by name: "period:year" for the period
    costs.by("axis:status")             # an axis named as a built-in key: "builtin:status" for the built-in
    costs.estimate_vs_actual()          # the plan's estimate against what was paid, per experiment
    costs.budget()                      # spend against each experiment's budget
    costs.per_kept_image(min_score=4)   # what each image rated >= 4 cost, its failed siblings included
    costs.price_changes()               # the prices in force over time, and where the API charged another
    print(costs.summary())              # totals, the table per experiment, and every note

How a request's cost is counted (the same everywhere, `cost_source` per task in `tasks()`):
- `api`: Runware's own number (qwenlab asks `includeCost` on every request), also when the task
  failed; a failed task normally costs nothing, and one that was charged shows in `failed_usd`.
- `emulated`: the number qwenlab's offline emulator reported (what Runware would charge). Nothing
  was paid, and its images are synthetic: it is summed in `emulated_usd`, never in `api_usd`, and
  `by("backend")` keeps emulator, Runware, "unknown" (logged before qwenlab recorded where a
  request ran; counted as the API's) and "not sent" (cells logged, never sent) apart.
- `estimate`: a finished task with no number from the API: the price recorded when it was sent
  (`tasks.estimated_cost_usd` = `tasks.price_usd` x numberResults). Also a failed task whose
  images were made (so paid for) and none downloaded, with no cost reported: the log keeps that
  estimate in its `cost_usd`, with `cost_source` 'estimate' (counted in `estimate_usd` and in
  `failed_usd`, never in `api_usd`; `totals()["failed_estimate_usd"]` is that part). Prices are dated data: the
  price is recorded per task at send time, so a later edit of a model description never rewrites
  a past cost (`price_changes()` shows where the description now says otherwise).
- `in_doubt`: sent and never answered (a crash in flight): its estimate is counted, because it may
  have been charged, until a rerun recovers it. Same rule as the runner's budget.
- `none`: pending, or failed with no charge reported: nothing.
Earlier failed attempts of a retried cell (kept in `tasks.history_json`) are requests of their
own: they count as tasks, and their charges, if any, count in the spend.

Times are UTC: a request belongs to the day of its `completed_at` (else `sent_at`, else
`created_at`); weeks start on Monday and are labelled by that day.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..core.model import get_model
from ..errors import ModelNotFoundError, UnknownCostKeyError
from ..store.log import Log
from ..store.organize import DELETED_PREFIX
from ..store.ratings import check_min_rating
from .labels import PER_EXPERIMENT
from .prices import PRICE_TOLERANCE_USD, PriceQuery
from .query import CostQuery
from .summary import CostSummary, bound_words, readable
from .view import CostView

if TYPE_CHECKING:
    import pandas as pd

    from ..store.log import Log

__all__ = ["Costs", "DATE_FORMS", "date_bound"]

_MONEY = ["cost_usd", "api_usd", "emulated_usd", "estimate_usd", "in_doubt_usd", "failed_usd", "estimated_usd"]


class Costs(CostSummary):
    """Cost analysis of a log. Every method queries the log afresh, so it shows what is there now.

    log: a `Log`, a `Lab` (its log), a path to a log file, or None for the default log.
    since / until: only requests of that time (a date, a datetime, ISO text, or a span back from
    now: "7d" is from the start of the day seven days ago, UTC, so today and the seven days before;
    "0d" is today, "2w" fourteen days back, "12h" exactly twelve hours; text without an offset is
    UTC, a datetime without a zone the machine's local time, as Python takes it); `since` inclusive, `until`
    exclusive: until="2026-03-05" ends with March 4. A month ("2026-12", as by("month") labels
    it), a year ("2026") or an ISO week ("2026-W49") is taken whole: since from its first day,
    until through its last (since="2026-12", until="2026-12" is December). The whole days in view are summed from the log's cost rollups, and the rest of a
    day a bound falls inside from the requests of that day's experiments (a summary of a million
    requests takes under a second). experiments: only these experiment names (one, a list, or a
    pandas column such as `lab.experiments(tag="posters", archived=True)["name"]`; an empty one is
    refused, not read as every experiment).
    imported: False leaves out the experiments imported from bundles (`Lab.import_bundle`), whose
    money was spent in the log they came from; by default they are in, and a note says how much.
    task_ids: only these tasks (their ids, as `exp.df["task_id"]` and `qwenlab logs NAME` give them),
    the earlier attempts of their cells included: what a report of part of an experiment counts
    (`export --where`). tasks_said: what they are, for the headline ("the requests shown: size =
    512x768"; "3 tasks chosen" without it). Such a view sums the tasks, not the rollups.
    """

    def __init__(self, log: "Log | Any | str | Path | None" = None, *, since: Any = None, until: Any = None,
                 experiments: str | Iterable[str] | None = None, imported: bool = True,
                 task_ids: Iterable[int] | None = None, tasks_said: str | None = None) -> None:

        if isinstance(log, (str, Path)) and str(log) != ":memory:" and not Path(log).is_file():
            raise FileNotFoundError(f"no log at {log}; Costs() with no argument reads the default log ($QWENLAB_DATA_DIR/qwenlab.db)")
        if log is None or isinstance(log, (str, Path)):
            log = Log(log)
        elif not isinstance(log, Log) and isinstance(getattr(log, "log", None), Log):
            log = log.log  # a Lab
        if not isinstance(log, Log):
            raise TypeError(f"Costs(log=...) takes a Log, a Lab or a path, got {type(log).__name__}")
        self.log = log
        self.since = date_bound(since, "since")
        self.until = date_bound(until, "until")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError(f"until: {_as_given(until, self.until)} is not after since: {_as_given(since, self.since)}; "
                             "no request can be in between; are they swapped?")
        # what titles and headlines say: the bounds as given (until="2029-06" is "through 2029-06")
        self.said = {name: bound_words(name, bound, _period_given(value))
                     for name, value, bound in (("since", since, self.since), ("until", until, self.until)) if bound}
        self.experiments = _experiment_names(experiments)
        self.imported = bool(imported)
        self.task_ids = _task_ids(task_ids)
        self.tasks_said = tasks_said
        self._view = CostView(log, self.since, self.until, self.experiments, self.imported, self.task_ids)
        self._q = CostQuery(self._view)
        self._prices = PriceQuery(self._view)

    def filter(self, *, since: Any = None, until: Any = None, experiments: str | Iterable[str] | None = None,
               imported: bool | None = None, task_ids: Iterable[int] | None = None,
               tasks_said: str | None = None) -> "Costs":
        """The same analysis on part of the log (arguments as in the constructor; None keeps the current one)."""
        out = Costs(self.log, since=since if since is not None else self.since,
                    until=until if until is not None else self.until,
                    experiments=experiments if experiments is not None else self.experiments,
                    imported=imported if imported is not None else self.imported,
                    task_ids=task_ids if task_ids is not None else self.task_ids,
                    tasks_said=tasks_said if task_ids is not None else self.tasks_said)
        # a bound kept is said as it was given: a month's "through 2029-06", not its next day's date
        out.said.update({name: text for name, text in self.said.items() if {"since": since, "until": until}[name] is None})
        return out

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        t = self.totals()
        df = self.by(PER_EXPERIMENT)
        head = "".join(f"<div>{html.escape(line)}</div>" for line in self.headline(t, df))
        table = readable(df).to_html()  # the dollars as every view writes them
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes(t))
        return f"<div class='qwenlab-costs'>{head}{table}{f'<ul>{notes}</ul>' if notes else ''}</div>"

    # -- frames --------------------------------------------------------------------------------
    def axes(self) -> list[str]:
        """The sweep axes of the experiments in view: any of them is a key for `by()`."""
        return self._view.axis_names()

    def by(self, key: str | Sequence[str] = PER_EXPERIMENT) -> "pd.DataFrame":
        """Cost grouped by one key or several (a list): experiment, model, size, day, week, month,
        year, status, setting (experiment + every axis value but the repeat), backend (emulator, runware,
        unknown), or any sweep axis. With no key, the built-in experiment, whatever the axes are
        named (its index reads "experiment").

        A period (day, week, month, year) or a built-in experiment, status, setting or backend that
        is also an axis of an experiment in view (a bundle or request axis takes any name) is
        refused as ambiguous (`UnknownCostKeyError`), as pandas refuses a groupby key that is both
        an index level and a column: "axis:year" asks for the sweep axis, "period:year" for the
        period, "builtin:status" for the built-in (any axis may be spelled "axis:NAME", any other
        built-in "builtin:NAME"). The index is named by the key as given.

        Columns: tasks (requests, earlier failed attempts included), done, failed, in_doubt,
        pending, images, cost_usd (= api_usd + emulated_usd + estimate_usd + in_doubt_usd; api_usd
        is what Runware reported, emulated_usd what the offline emulator did, estimate_usd what is
        counted at qwenlab's estimate because no cost was reported), failed_usd (the part counted
        for failed requests: charged by the API, or paid images lost, at their estimate),
        estimated_usd (the description's estimate of every request sent, not a part of cost_usd),
        usd_per_image (over the images still here: the spend of deleted experiments, whose images
        are gone, is left out of it). An axis groups only the experiments that swept it.
        """
        return self.by_with_deleted(key)[0]

    def with_values(self, df: "pd.DataFrame") -> "pd.DataFrame":
        """A `by()` (or `per_kept_image()`) frame with its index as columns, each sweep axis's
        labels given back as the values they stand for (promptExtend "on" -> True): what a
        script reads (`qwenlab costs --json`); the tables keep the labels."""
        out = df.reset_index()
        for level in df.index.names:
            values = self._q.axis_values(level) if level is not None else None
            if values:
                out[level] = [values.get(label, label) if isinstance(label, str) else label for label in out[level]]
        return out

    def by_with_deleted(self, key: str | Sequence[str]) -> "tuple[pd.DataFrame, pd.Series | float]":
        """`by(key)`, and the part of each group's `cost_usd` that deleted experiments spent (0.0
        where none is in it): their requests stay in every group they fall in, their images and
        ratings do not, so a price per image (kept or not) leaves that part out."""
        keys = [key] if isinstance(key, str) else list(key)
        out = _finish(self._q.grouped(keys))
        names = [e.name for e in self._view.experiments().values()]
        deleted = [n for n in names if n.startswith(DELETED_PREFIX)]
        gone: "pd.Series | float" = 0.0
        if deleted and len(deleted) < len(names) and not {"experiment", PER_EXPERIMENT} & set(keys) and len(out):
            try:
                gone = self.filter(experiments=deleted).by(keys)["cost_usd"].reindex(out.index).fillna(0.0)
            except UnknownCostKeyError:  # no deleted experiment swept that axis: none of their spend is in these groups
                gone = 0.0
            out["usd_per_image"] = ((out["cost_usd"] - gone) / out["images"].where(out["images"] > 0)).round(6)
        return out, gone

    def tasks(self) -> "pd.DataFrame":
        """One row per request (earlier failed attempts included, `retried` = 1): experiment,
        status, model, size, images, the counted `cost` and its `cost_source`, the estimate, the
        recorded price and the times. For analysis of your own."""
        return self._q.requests()

    def failed(self) -> "pd.DataFrame":
        """Every failed request with its error and what it cost (normally 0): `cost_source` says
        whose number `cost_usd` is, the API's ("api", "emulated") or qwenlab's estimate
        ("estimate": its images were made, so paid for, and not downloaded, and the API reported
        no cost; the next run asks for them, free, before it buys the cell again)."""
        cols = ["experiment", "cell_key", "retried", "task_uuid", "error_code", "error_message", "http_status",
                "attempts", "cost_usd", "cost_source", "at"]
        return self._q.requests(["t.status = 'failed'"], cols, prefetch=True)  # a few rows, scattered

    def estimate_vs_actual(self) -> "pd.DataFrame":
        """Per experiment: what the plan estimated for the requests sent, against what they cost.

        planned_usd: the estimate of every cell (sent or not); estimated_usd: of the requests sent;
        cost_usd: as counted (API, estimate, in doubt); difference_usd = cost_usd - estimated_usd
        (negative when failures cost nothing); api_usd against api_estimated_usd compares the API's
        numbers with the estimate of the very same tasks, so a price change shows there alone.
        """
        df = self.by(PER_EXPERIMENT)
        extra = self._q.per_experiment_extra()
        out = df[["tasks", "done", "failed", "estimated_usd", "cost_usd", "api_usd", "emulated_usd"]].join(extra, how="left")
        out["planned_usd"] = out["planned_usd"].fillna(0)  # every cell's estimate once, retried or not
        out["difference_usd"] = (out["cost_usd"] - out["estimated_usd"]).round(6)
        out["difference_pct"] = (100 * out["difference_usd"] / out["estimated_usd"].where(out["estimated_usd"] > 0)).round(2)
        # the numbers reported (by Runware or the emulator) against the estimate of the same tasks
        out["api_gap_usd"] = (out["api_usd"] + out["emulated_usd"] - out["api_estimated_usd"].fillna(0)).round(6)
        cols = ["tasks", "done", "failed", "planned_usd", "estimated_usd", "cost_usd", "difference_usd", "difference_pct",
                "api_usd", "emulated_usd", "api_estimated_usd", "api_gap_usd"]
        return out[cols]

    def budget(self) -> "pd.DataFrame":
        """Per experiment: its budget, the spend, what is left, and what its next run would send.

        unsent: cells never sent; to_retry: cells that failed, which the next run sends again (its
        budget stop counts both as not sent); to_send_usd: both's estimate. used_pct is spend /
        budget; would_exceed says to_send_usd does not fit in what is left (None for an experiment
        without a budget, whose budget_usd, remaining_usd and used_pct are NaN: numbers, for
        arithmetic; `readable(costs.budget())` shows them as "no budget set" and blanks). In-doubt
        cells (in_doubt_usd) are asked about first, not sent again.

        A budget holds for every request of its experiment, whenever it was sent: in a view of some
        time (since, until) or some tasks, each experiment with requests in view is shown with its
        whole spend and what is left of it, not the view's part (which `by("experiment")` gives)."""
        if self.since is not None or self.until is not None or self.task_ids is not None:
            # this month's part of the spend, set against the whole budget, would show money left
            # that earlier runs spent, and hide cells that the next run sends
            shown = self.by(PER_EXPERIMENT).index
            whole = Costs(self.log, experiments=self.experiments, imported=self.imported).budget()
            return whole[whole.index.isin(shown)]
        df = self.by(PER_EXPERIMENT)
        info = self._view.experiments_info()
        extra = self._q.per_experiment_extra()
        out = df[["cost_usd", "in_doubt_usd"]].join(info[["status", "budget_usd", "stop_reason"]], how="left")
        out = out.join(extra[["unsent", "unsent_usd", "to_retry", "to_send_usd"]], how="left")
        out["remaining_usd"] = (out["budget_usd"] - out["cost_usd"]).round(6)
        out["used_pct"] = (100 * out["cost_usd"] / out["budget_usd"].where(out["budget_usd"] > 0)).round(1)
        out["would_exceed"] = [None if b != b or b is None else bool(u > r + PRICE_TOLERANCE_USD)
                               for b, u, r in zip(out["budget_usd"], out["to_send_usd"].fillna(0), out["remaining_usd"])]
        return out[["status", "budget_usd", "cost_usd", "in_doubt_usd", "remaining_usd", "used_pct", "unsent", "unsent_usd",
                    "to_retry", "to_send_usd", "would_exceed", "stop_reason"]]

    def per_kept_image(self, *, min_score: float, by: str | Sequence[str] = PER_EXPERIMENT) -> "pd.DataFrame":
        """What each image you kept actually cost, every attempt that led to it included.

        An image is kept when its latest rating has a score >= min_score. For each group of `by`
        (experiment, setting, an axis, model, ... as in `by()`; by default the built-in experiment),
        usd_per_kept_image is the group's whole spend (`cost_usd`: every request of the group, its
        failed, rejected and unrated images, charged failures and earlier failed attempts) divided
        by the number of kept images of the group; NaN when none was kept. The spend of deleted experiments, whose images and
        ratings are gone, stays in `cost_usd` and is left out of both prices per image. Beside it:
        images, rated, kept, keep_rate (kept / rated) and usd_per_image (spend / images delivered).

        An unrated image counts as not kept, so the figure also measures how many images were
        rated: where the groups' shares of rated images differ, `attrs["coverage_note"]` says so
        (the CLI and the plot print it); compare keep_rate there, or rate the rest.
        """
        score = check_min_rating(min_score, "min_score")  # 9 or 40 kept nothing, silently
        if score is None:
            raise ValueError("min_score: give a number from 1 to 5, the score from which an image counts as kept")
        keys = [by] if isinstance(by, str) else list(by)
        df, gone = self.by_with_deleted(keys)
        kept = self._q.kept(keys, score, tasks_in_view=int(df["tasks"].sum()))
        out = df[["tasks", "images", "cost_usd", "usd_per_image"]].join(kept, how="left")
        out[["rated", "kept"]] = out[["rated", "kept"]].fillna(0).astype(int)
        out["keep_rate"] = (out["kept"] / out["rated"].where(out["rated"] > 0)).round(4)
        # over what led to the images still here: a deleted experiment's spend bought none of them
        # (by day, its $0.45 over another experiment's 4 kept images made each look $0.11 dearer)
        out["usd_per_kept_image"] = ((out["cost_usd"] - gone) / out["kept"].where(out["kept"] > 0)).round(6)
        out = out[["tasks", "images", "rated", "kept", "keep_rate", "cost_usd", "usd_per_image", "usd_per_kept_image"]]
        out.attrs["coverage_note"] = _coverage_note(out)
        return out

    def price_changes(self) -> "pd.DataFrame":
        """The per-image prices recorded over time, per model, one row per price in force.

        price_usd: the description's price recorded at send time; first_at / last_at: the
        requests sent at it; api_images / api_usd_per_image / api_min_usd / api_max_usd: what the
        API reported per image meanwhile; differing_images and api_minus_price_usd: images whose
        API cost is not the recorded price, and by how much in all; description_usd: what the model
        description gives today for first_at's date (description_changed: it was edited since).
        """
        df = self._prices.prices()
        if df.empty:
            return df
        df["description_usd"] = [_described_price(m, at) for m, at in zip(df["model"], df["first_at"])]
        df["description_changed"] = [d == d and p == p and abs(d - p) > PRICE_TOLERANCE_USD
                                     for d, p in zip(df["description_usd"], df["price_usd"])]
        return df

    def timeline(self) -> "pd.DataFrame":
        """Every request that cost something, in time order: at (UTC), experiment, cost_usd,
        cost_source, and cumulative_usd. What the cumulative spend plot draws."""
        df = self._q.spend()
        df["cumulative_usd"] = df["cost_usd"].cumsum().round(6)
        return df[["at", "experiment", "cost_usd", "cost_source", "cumulative_usd"]]


# -- helpers -------------------------------------------------------------------------------------
def _finish(df: "pd.DataFrame") -> "pd.DataFrame":
    df = df.copy()
    for col in _MONEY:
        df[col] = df[col].astype(float).round(6)
    for col in ("tasks", "done", "failed", "in_doubt", "pending", "images"):
        df[col] = df[col].astype(int)
    df["usd_per_image"] = (df["cost_usd"] / df["images"].where(df["images"] > 0)).round(6)
    return df[["tasks", "done", "failed", "in_doubt", "pending", "images", *_MONEY, "usd_per_image"]]


def _experiment_names(experiments: str | Iterable[str] | None) -> list[str] | None:
    """`experiments=` as a list of names (None: every experiment): one name, or any iterable of
    them (a list, a pandas column or Index). ValueError for none at all."""
    if experiments is None:
        return None
    names = [experiments] if isinstance(experiments, str) else list(experiments)
    if not names:
        # read as "no filter", the spend of a tag no experiment has would be the whole log's
        raise ValueError("experiments: no experiment named (an empty list: a tag that no experiment has?); give one "
                         "name or more, or leave experiments out for every experiment")
    return names


def _task_ids(task_ids: Iterable[int] | None) -> list[int] | None:
    """`task_ids=` as a sorted list (None: every task); TypeError for anything but whole numbers."""
    if task_ids is None:
        return None
    if isinstance(task_ids, (str, bytes)):  # "12" would be read as the tasks 1 and 2
        raise TypeError(f"task_ids: a list of task ids, not the text {task_ids!r}")
    ids = list(task_ids)
    wrong = [i for i in ids if not isinstance(i, numbers.Integral) or isinstance(i, bool)]  # numpy's ints are Integral
    if wrong:
        raise TypeError(f"task_ids: whole numbers, the tasks' ids (as exp.df['task_id'] gives them), not {wrong[0]!r}")
    return sorted({int(i) for i in ids})


def _described_price(model: str, at: str) -> float:

    try:
        return float(get_model(model).price_on(at))
    except (ModelNotFoundError, ValueError):
        return float("nan")


# either case: "7D" is a span as "7d" is (it was refused as "not a date")
_RELATIVE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$", re.IGNORECASE)
# a whole month or year ("2026-12", "2026", as by("month") labels them) or an ISO week ("2026-W49")
_PERIOD = re.compile(r"^\s*(\d{4})(?:-(?:(\d{1,2})|[Ww](\d{1,2})))?\s*$")


# the forms a date bound takes, for the message that refuses another
DATE_FORMS = ("use 2026-03-01, 2026-03-01T12:00, a month 2026-03 or a year 2026, 7d (today and the 7 days before), "
              "2w or 12h")


def date_bound(value: Any, name: str) -> str | None:
    """A bound (`since`, `until`) as ISO-8601 UTC text, comparable with the log's timestamps;
    ValueError naming `name` for text that is not a date.

    A month ("2026-12"), a year ("2026") or an ISO week ("2026-W49") is a period: `since` starts
    at its first day, and `until` takes it whole, up to the first day after it (until="2026-12" is
    "2027-01-01": December included), as a reader of by("month") means it. A day or a time is
    where `until` stops, itself left out (until="2026-12-05" ends with December 4)."""
    if value is None or value == "":
        return None
    typed = isinstance(value, str)
    if isinstance(value, str) and (p := _PERIOD.match(value)):
        value = _period_bound(value, name, int(p.group(1)), p.group(2), p.group(3))
    elif isinstance(value, str):
        m = _RELATIVE.match(value)
        if m:
            n, unit = int(m.group(1)), m.group(2).lower()
            units = {"d": "days", "h": "hours", "w": "weeks"}[unit]
            try:
                value = dt.datetime.now(dt.timezone.utc) - dt.timedelta(**{units: n})
            except OverflowError:  # 99999999d: before the year 1, which no date can be
                raise ValueError(f"{name}: {value!r} is too far back (before the year 1); give fewer {units}, "
                                 f"or a date: {DATE_FORMS}") from None
            if unit != "h":
                # days and weeks count whole days (UTC), as by("day") shows them: a first day cut
                # at this hour would read as a cheap day, and whole days are summed from the rollups
                value = value.date()
        else:
            try:
                value = dt.datetime.fromisoformat(value.strip()) if "T" in value or " " in value.strip() else dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{name}: {value!r} is not a date: {DATE_FORMS}") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and typed:
            value = value.replace(tzinfo=dt.timezone.utc)  # text without an offset: UTC, as the log's times
        # a datetime object without a zone is the machine's local time, as Python takes it
        # (`datetime.now()`, `.timestamp()`): read as UTC, since=datetime.now() - timedelta(hours=3)
        # lay hours in the future on a machine east of UTC, and showed nothing
        if value.tzinfo is None and type(value) is not dt.datetime:
            # a subclass's own astimezone may refuse a naive value: pandas' Timestamp ("Cannot
            # convert tz-naive Timestamp", naming no parameter); the same moment as a datetime
            value = dt.datetime.combine(value.date(), value.time())
        return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()  # '2026-03-01' sorts before any timestamp of that day
    raise TypeError(f"{name} must be a date, a datetime or text, got {type(value).__name__}")


def _period_given(value: Any) -> str | None:
    """A bound given as a month, year or ISO week, as `by("month")` and ISO write it ("2029-06",
    "2029", "2029-W10"); None for any other bound (a day, a time, a span back from now)."""
    p = _PERIOD.match(value) if isinstance(value, str) else None
    if p is None:
        return None
    year, month, week = p.group(1), p.group(2), p.group(3)
    return f"{year}-{int(month):02d}" if month else f"{year}-W{int(week):02d}" if week else year


def _as_given(value: Any, bound: str) -> str:
    """A bound for a message, as typed and as read where they differ ("'2026-11' (read as
    2026-12-01)"): the bound alone read "2026-12-01 is not after since (2026-12-01)" to one who
    typed --since 2026-12 --until 2026-11."""
    typed = value.strip() if isinstance(value, str) else None
    return bound if typed is None or typed == bound else f"{typed!r} (read as {bound})"


def _period_bound(text: str, name: str, year: int, month: str | None, week: str | None) -> dt.date:
    """The first day of a year, month or ISO week, or for `until` the first day after it."""
    whole = name == "until"
    try:
        if week is not None:
            start = dt.date.fromisocalendar(year, int(week), 1)
            return start + dt.timedelta(weeks=1) if whole else start
        if month is not None:
            start = dt.date(year, int(month), 1)
            return dt.date(year + start.month // 12, start.month % 12 + 1, 1) if whole else start
        return dt.date(year + 1, 1, 1) if whole else dt.date(year, 1, 1)
    except ValueError:  # month 13, week 54, the year 0 or after 9998
        what = "week" if week is not None else "month" if month is not None else "year"
        raise ValueError(f"{name}: {text!r} is no {what} of the calendar: {DATE_FORMS}") from None


def _coverage_note(df: "pd.DataFrame") -> str | None:
    """A word when the groups' shares of rated images differ by more than a tenth: an unrated
    image counts as not kept, so the cost per kept image then follows how many were rated."""
    with_images = df[df["images"] > 0]
    if len(with_images) < 2:
        return None
    shares = with_images["rated"] / with_images["images"]
    if float(shares.max() - shares.min()) <= 0.1:
        return None
    parts = ", ".join(f"{_label(i)} {int(r.rated)} of {int(r.images)}" for i, r in zip(with_images.index, with_images.itertuples()))
    return (f"not every group had its images rated alike ({parts}): an unrated image counts as not kept, so "
            "usd_per_kept_image also follows how many were rated; compare keep_rate (kept of rated), or rate the rest")


def _label(index: Any) -> str:
    return " / ".join(map(str, index)) if isinstance(index, tuple) else str(index)
