"""What a `Costs` view says in words: its totals, the notes a reader must know, the headline and
the summary; `readable`, a frame as a person reads it, and `format_table`, as the terminal
text they are printed in.

    print(costs.summary())     # the headline, the table per experiment, and every note
    costs.notes()              # ["3 requests ran on qwenlab's offline emulator, not on Runware: ...", ...]
    costs.uncovered(costs.by("promptExtend"))   # what the rows of an axis leave out of the totals

`Costs` inherits them from `CostSummary`: they read its frames (`by`, `budget`, `price_changes`),
its query and view, and the bounds it was made with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.terminal import fit_table, table_text
from ..core.values import count_of, format_usd, format_usd_column, format_usd_estimates, is_missing
from ..money import USD_COLUMNS, fewest_decimals
from ..store.organize import DELETED_PREFIX
from .labels import BUILTIN_PREFIX, PER_EXPERIMENT, swept_axis
from .prices import PRICE_TOLERANCE_USD
from .query import BUILTIN_KEYS, CostQuery
from .sql import SUM_COLUMNS
from .view import CostView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CostSummary", "format_table", "readable", "bound_words"]

EMULATED = "emulated by qwenlab's offline emulator: nothing paid"  # in the headline's brackets: no brackets of its own


class CostSummary:
    """The words of `Costs`, which it inherits; they read its frames, query, view and bounds."""

    _q: CostQuery
    _view: CostView
    experiments: list[str] | None
    imported: bool
    task_ids: list[int] | None
    tasks_said: str | None
    since: str | None
    until: str | None
    # the bounds in a reader's words, as given (`bound_words`): "through 2029-06", "before 2029-06-15"
    said: dict[str, str]

    def totals(self) -> dict[str, Any]:
        """The whole view in numbers: tasks, images, cost_usd and its parts."""
        df = self._q.grouped([])
        row = df.iloc[0] if len(df) else None
        out: dict[str, Any] = {}
        for c in SUM_COLUMNS:
            value = float(row[c]) if row is not None and row[c] == row[c] else 0.0
            out[c] = round(value, 6) if c.endswith("_usd") else int(value)
        return out

    def notes(self, _totals: dict[str, Any] | None = None) -> list[str]:
        """What a reader of the totals should know: the API charging another price than the
        description's, prices edited since, estimates, charged failures, requests in doubt,
        experiments over budget."""
        t = _totals or self.totals()
        out: list[str] = self._backend_notes(t)
        prices = self.price_changes()
        for _, r in prices.iterrows():
            if r["differing_images"]:
                lo, hi = r["api_min_usd"], r["api_max_usd"]
                charged = format_usd(lo) if abs(hi - lo) <= PRICE_TOLERANCE_USD else f"{format_usd(lo)} to {format_usd(hi)}"
                out.append(f"the API's cost differs from the description's price for {int(r['differing_images'])} of "
                           f"{count_of(int(r['api_images']), 'image')} of {r['model']} sent {r['first_at'][:10]} to {r['last_at'][:10]}: "
                           f"it charged {charged} per image where {format_usd(r['price_usd'])} was recorded "
                           f"({_signed(r['api_minus_price_usd'])} in all); the costs above are the API's. If Runware's price "
                           "changed, add a dated [[prices]] entry to the model description.")
            if r["description_changed"]:
                out.append(f"the description of {r['model']} now gives {format_usd(r['description_usd'])} per image for "
                           f"{r['first_at'][:10]}, where {format_usd(r['price_usd'])} was recorded when the requests were sent; "
                           "past costs keep the recorded price.")
        if t["estimate_usd"] > 0:
            lost = t["failed_estimate_usd"]
            out.append(f"{format_usd(t['estimate_usd'])} is estimated from the description's price: the API reported no cost "
                       "for those tasks (was includeCost turned off?)"
                       + (f"; {format_usd(lost)} of it for failed requests whose images were made (so paid for) and not "
                          "downloaded, counted until a run fetches them (see .failed())." if lost > 0 else "."))
        charged = round(t["failed_usd"] - t["failed_estimate_usd"], 6)  # the API's numbers, not qwenlab's estimates
        if charged > 0:
            out.append(f"failed requests were charged {format_usd(charged)} by the API (see .failed()).")
        if t["in_doubt_usd"] > 0:
            n = int(t["in_doubt"])
            out.append(f"{n} {'request is' if n == 1 else 'requests are'} in doubt (sent, no answer logged): their estimate "
                       f"{format_usd(t['in_doubt_usd'])} is counted; run the experiment again to recover them (one given up "
                       "and sent anew with resend_in_doubt stays counted: it may have been paid for).")
        b = self.budget()  # each experiment's whole spend, in a view of some time or tasks too
        whole_view = self.since is None and self.until is None and self.task_ids is None
        spent = b["cost_usd"] if whole_view else self.by(PER_EXPERIMENT)["cost_usd"]  # the view's part
        imported = self._imported_in(spent)
        if imported:
            names = ", ".join(repr(n) for n in imported)
            out.append(f"{format_usd(sum(imported.values()))} of this was spent in other logs: {len(imported)} "
                       f"{'experiment' if len(imported) == 1 else 'experiments'} imported from bundles ({names}); "
                       "Costs(imported=False) (`qwenlab costs --no-imported`) leaves them out.")
        # a view of some tasks (a report of part of an experiment) says what the whole cost apart
        for name, r in b[b["remaining_usd"] < -PRICE_TOLERANCE_USD].iterrows() if self.task_ids is None else ():
            out.append(f"experiment {name!r} spent {format_usd(r['cost_usd'])}, over its budget of {format_usd(r['budget_usd'])}.")
        return out

    def imported_spend(self) -> dict[str, float]:
        """What each experiment in view that was imported from a bundle cost, in USD (the view's
        part of it; those that cost nothing left out): money spent in the log it came from, which
        the totals count and `Costs(imported=False)` leaves out. `qwenlab costs --json` gives its
        sum as `totals.imported_usd`."""
        if not self._view.imported_names():  # no query for a log that imported nothing
            return {}
        return self._imported_in(self.by(PER_EXPERIMENT)["cost_usd"])

    def _imported_in(self, spent: "pd.Series") -> dict[str, float]:
        """The imported experiments' part of `spent` (cost_usd by experiment)."""
        return {n: round(float(spent[n]), 6) for n in self._view.imported_names() if n in spent.index and spent[n] > 0}

    def _backend_notes(self, t: dict[str, Any]) -> list[str]:
        """What the reader must know of where the requests ran: emulated money, unrecorded backends."""
        sent = self.by(BUILTIN_PREFIX + "backend") if t["tasks"] else None  # the built-in, whatever the axes' names
        out = []
        if sent is not None and "emulator" in sent.index:
            n = int(sent.loc["emulator", "tasks"])
            # one request's note in the singular: "1 request ... their $0.0750 ... their images" read as a slip
            its, them = ("its", "it") if n == 1 else ("their", "them")
            images = "image is" if int(sent.loc["emulator", "images"]) == 1 else "images are"
            out.append(f"{n} {'request' if n == 1 else 'requests'} ran on qwenlab's offline emulator, not on Runware: {its} "
                       f"{format_usd(t['emulated_usd'])} is emulated (what Runware would charge; nothing was paid) and {its} {images} "
                       f"synthetic. by('backend') (`qwenlab costs --by backend`) keeps {them} apart.")
        if sent is not None and "unknown" in sent.index:
            row = sent.loc["unknown"]
            # the requests whose money it concerns: done, in doubt, or failed and charged (a cell
            # that failed reaching no server has no backend either, and cost nothing)
            n = int(row["done"] + row["in_doubt"] + (row["failed"] if row["failed_usd"] > 0 else 0))
            if n:
                out.append(f"{n} {'request was' if n == 1 else 'requests were'} logged before qwenlab recorded where each "
                           "ran (the emulator or Runware): where is not recorded, and their costs are counted as the API's.")
        return out

    def uncovered(self, grouped: "pd.DataFrame", totals: dict[str, Any] | None = None) -> str | None:
        """What the rows of `grouped` (from `by()`) leave out of the totals, said in a sentence, or
        None when they cover every task: grouped by an axis, only the experiments that swept it
        have rows, and a reader adding them up must not take them for the whole."""
        t = totals or self.totals()
        tasks = int(grouped["tasks"].sum()) if len(grouped) else 0
        if tasks >= t["tasks"]:
            return None
        cost = float(grouped["cost_usd"].sum()) if len(grouped) else 0.0
        levels = [str(n) for n in grouped.index.names if n is not None]
        axes = [a for n in levels if (a := swept_axis(n, BUILTIN_KEYS))]
        swept = (f"by {' and '.join(axes)}, only the experiments that swept {'it' if len(axes) == 1 else 'them'} have rows"
                 if axes else "some tasks have no row")
        rest = t["tasks"] - tasks
        # grouped by experiment and an axis too, the experiments without the axis have no row, and
        # "by experiment, every task has a row" would be read as these rows being the whole
        alone = " alone" if "experiment" in levels else ""
        return (f"the rows cover {tasks} of {count_of(int(t['tasks']), 'task')} ({format_usd(cost)} of {format_usd(t['cost_usd'])}): {swept}; the "
                f"other {rest} {'task' if rest == 1 else 'tasks'} ({format_usd(t['cost_usd'] - cost)}{self._without(axes)}) "
                f"{'is' if rest == 1 else 'are'} left out (by experiment{alone}, every task has a row)")

    def _without(self, axes: list[str]) -> str:
        """", of experiments 'beta' and 'gamma'": the experiments with tasks in view that did not
        sweep every one of `axes` (the first three named), or "" where no axis is grouped by."""
        if not axes:
            return ""
        lacking = {e.name for e in self._view.experiments().values() if not all(a in e.axes for a in axes)}
        if not lacking:
            return ""
        spent = self.by(PER_EXPERIMENT)["tasks"]
        names = [str(n) for n in spent.index if n in lacking and spent[n] > 0]
        if not names:
            return ""
        shown = ", ".join(repr(n) for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f", of {'experiment' if len(names) == 1 else 'experiments'} {shown}"

    def deleted_usd(self, per_experiment: "pd.DataFrame | None" = None) -> float:
        """What the experiments deleted since cost, in this view: their spend stays in the history
        (as "(deleted) NAME"), their images do not. `per_experiment`: `by("experiment")`, where the
        caller has it already."""
        df = per_experiment if per_experiment is not None else self.by(PER_EXPERIMENT)
        return round(float(df.loc[[str(n).startswith(DELETED_PREFIX) for n in df.index], "cost_usd"].sum()), 6)

    def scope(self) -> list[str]:
        """What this view holds, in words, where it is not the whole log ([] then): its experiments,
        tasks, imported ones left out, and its time bounds as they were given ("since 2026-12",
        "through 2026-12": a month taken whole; "before 2026-12-02 12:00 UTC": a day or a time, left
        out itself). The headline and the plots' titles say it."""
        where = []
        if self.experiments:
            # "experiments demo" read as a typo where the view holds one
            noun = "experiment" if len(self.experiments) == 1 else "experiments"
            where.append(f"{noun} " + ", ".join(self.experiments))
        if self.task_ids is not None:
            where.append(self.tasks_said or f"{count_of(len(self.task_ids), 'task')} chosen")
        if not self.imported:
            where.append("without experiments imported from bundles")
        said = getattr(self, "said", {})
        if self.since:
            where.append(said.get("since") or bound_words("since", self.since))
        if self.until:
            where.append(said.get("until") or bound_words("until", self.until))
        return where

    def headline(self, totals: dict[str, Any] | None = None, per_experiment: "pd.DataFrame | None" = None) -> list[str]:
        """Two lines: the spend and its parts, then tasks and images (what `summary()` starts with).
        `per_experiment`: `by("experiment")`, where the caller has it already."""
        t = totals or self.totals()
        where = self.scope()
        parts = [f"{format_usd(t['api_usd'])} reported by the API"] if t["api_usd"] or not t["emulated_usd"] else []
        if t["emulated_usd"]:
            parts.append(f"{format_usd(t['emulated_usd'])} {EMULATED}")
        if t["estimate_usd"]:
            parts.append(f"{format_usd(t['estimate_usd'])} estimated")
        if t["in_doubt_usd"]:
            parts.append(f"{format_usd(t['in_doubt_usd'])} in doubt")
        if not t["tasks"]:  # "$0.0000 ($0.0000 reported by the API)" read as an answer the API gave
            parts = ["no requests in view"]
        return [
            f"Costs{' (' + '; '.join(where) + ')' if where else ''}: {format_usd(t['cost_usd'])} "
            f"({', '.join(parts)})",
            f"{count_of(int(t['tasks']), 'task')} ({int(t['done'])} done, {int(t['failed'])} failed, {int(t['in_doubt'])} in doubt, "
            f"{int(t['pending'])} not sent), {count_of(int(t['images']), 'image')}" + self._per_image(t, per_experiment),
        ]

    def _per_image(self, t: dict[str, Any], per_experiment: "pd.DataFrame | None") -> str:
        """", $0.0750 per image", over the images still here: a deleted experiment's spend stays
        and its images do not, which would make every image look dearer."""
        if not t["images"]:
            return ""
        deleted = self.deleted_usd(per_experiment)
        per = (t["cost_usd"] - deleted) / t["images"]
        return f", {format_usd(per)} per image" + (f" (leaving out {format_usd(deleted)} spent by deleted experiments)" if deleted else "")

    def summary(self) -> str:
        """Totals, the table per experiment, and the notes, as text."""
        t = self.totals()
        df = self.by(PER_EXPERIMENT)
        lines = self.headline(t, df)
        if len(df):
            money = ["cost_usd", *(["emulated_usd"] if t["emulated_usd"] else []), "failed_usd", "usd_per_image"]
            lines += ["", format_table(df[["tasks", "done", "failed", "images", *money]])]
        notes = self.notes(t)
        if notes:
            lines += [""] + [f"note: {n}" for n in notes]
        return "\n".join(lines)


def readable(df: "pd.DataFrame") -> "pd.DataFrame":
    """A cost frame as a person reads it, in a notebook or a terminal: dollars by `format_usd`'s
    one rule ("$4.80", "$0.075"; a column with one number of decimals), a price worked out as a
    ratio (usd_per_kept_image, `cost_per_correct`'s) by `format_usd_estimates` ("$0.133", not
    "$0.1333"; "no bound" for an infinity), a column of rates or percentages with one number of
    decimals too ("60.0", "94.7"), a budget not set as "no budget set" and what follows from it
    (left, used, would exceed) blank, and no NaN or None anywhere. A copy of text: the frame itself keeps numbers
    for arithmetic (`costs.budget()["remaining_usd"].sum()`).

        readable(costs.budget())      # in a notebook: the budget table, readable
    """
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    dollars = df.attrs.get(USD_COLUMNS) or {}  # cost_per_correct's lo and hi: dollars not named so
    for col in df.columns:
        values = list(df[col])
        if col == "budget_usd":
            out[col] = format_usd_column(values, missing="no budget set")
        elif dollars.get(col) == "estimate":  # an estimate and its interval: one number of decimals
            out[col] = format_usd_estimates(values, among=[v for c, kind in dollars.items() if kind == "estimate"
                                                            and c in df.columns for v in df[c]])
        elif col in USD_ESTIMATES:
            out[col] = format_usd_estimates(values)
        elif dollars.get(col) == "price" or "usd" in col.split("_"):  # cost_usd, usd_per_image, api_usd_per_image
            out[col] = format_usd_column(values)
        elif _is_share(col):
            out[col] = _share_column(values)
        else:
            out[col] = ["" if is_missing(v) else v for v in values]
    return out


# spend divided by a count of good images: an estimate, not a price anyone was charged (money.py)
USD_ESTIMATES = ("usd_per_kept_image",)

SHARE_DECIMALS = 4  # keep_rate is stored to 4 decimals, a percentage to 1 or 2: each shown whole


def _is_share(col: str) -> bool:
    """A rate or a percentage: keep_rate, used_pct, difference_pct, rate, rate_lo, rate_hi."""
    return col.endswith(("_pct", "_rate")) or col == "rate" or col.startswith("rate_")


def _share_column(values: list[Any]) -> list[str]:
    """A column of rates or percentages with one number of decimals, the fewest its most precise
    figure needs (to `SHARE_DECIMALS`), so their points line up: each written on its own,
    keep_rate read "0.431" above "0.4224" and used_pct "60", "72", "94.7"."""
    places = max((fewest_decimals(float(v), 0, SHARE_DECIMALS) for v in values if not is_missing(v)), default=0)
    return ["" if is_missing(v) else f"{float(v):.{places}f}" for v in values]


_TABLE_DISPLAY = {"max_rows": 1000, "max_columns": 50, "width": 200, "max_colwidth": 60}


def format_table(df: "pd.DataFrame", *, width: int | None = None) -> str:
    """A frame as terminal text: `readable`'s dollars and blanks, counts as integers. `width`: the
    terminal's columns, which the widest row label (an experiment's name, an axis's label) is cut
    to fit (`fit_table`); None: every label whole."""
    text = readable(df)
    labels = [n for n in text.index.names if n is not None]
    return table_text(fit_table(text, labels, width, display=_TABLE_DISPLAY), _TABLE_DISPLAY)


def _signed(usd: float) -> str:
    return f"{'+' if usd >= 0 else '-'}{format_usd(abs(usd))}"


def bound_words(name: str, bound: str, period: str | None = None) -> str:
    """A bound of a view (`date_bound`'s text) as its reader meant it, for a headline or a title.
    `period`: the month, year or ISO week it was given as ("2029-06"), taken whole.

    until="2029-06" read "until 2029-07-01", a day nobody typed that seems to take July in:
    it is "through 2029-06". A day or a time as until is where the view stops, itself left out:
    "until 2029-06-15" read as June 15 included; it is "before 2029-06-15"."""
    if name == "since":
        return f"since {period or _bound_text(bound)}"
    return f"through {period}" if period else f"before {_bound_text(bound)}"


def _bound_text(bound: str) -> str:
    """A bound as `date_bound` gives it, for a reader: a day as it is, a time as "2026-12-01 12:00
    UTC" (its seconds only where they are not zero)."""
    if len(bound) == 10:
        return bound
    day, time = bound[:10], bound[11:23]  # ISO text in UTC: YYYY-MM-DDTHH:MM:SS.mmm+00:00
    time = time.removesuffix(".000").removesuffix(":00") if time.endswith(":00.000") else time.removesuffix(".000")
    return f"{day} {time} UTC"
