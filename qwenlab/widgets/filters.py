"""The explorer's filters and sort orders beyond the sweep's axes: status, rating, text score, cost.

    exp.explore(status="done", rating=">=4", score=">=0.8", max_cost=0.08, sort="rating")

Each is a dropdown over what the experiment holds (the statuses present, the costs charged, the
ratings and text scores in the log); `sort` orders the tiles within each cell of the grid (with no
row or column axis, the whole experiment). Nothing here reads the log: the explorer hands over the
ratings and text scores it loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..core.values import format_usd, present
from ..store.log import AWAITED, IN_DOUBT, status_word
from .require import require_ipywidgets

if TYPE_CHECKING:
    from ..store.catalog import Entry
    from ..typography.badges import ScoreBadges

__all__ = ["EntryFilters", "SORTS", "RATING_CHOICES", "SCORE_CHOICES"]

ALL = "*"
RATING_CHOICES = {"all": ALL, "rated": "rated", "unrated": "unrated", **{f"★ ≥ {s}": f">={s}" for s in (2, 3, 4)},
                  "★ 5": ">=5"}
SCORE_CHOICES = {"all": ALL, "scored": "scored", "unscored": "unscored", "≥ 0.5": ">=0.5", "≥ 0.8": ">=0.8",
                 "1.0 (all read)": ">=1", "< 0.5": "<0.5"}
SORTS = {"sweep order": "sweep", "rating, best first": "rating", "text score, best first": "score",
         "cost, cheapest first": "cost", "cost, dearest first": "-cost", "status": "status"}
_STATUS_ORDER = {"failed": 0, "sent": 1, "pending": 2, "done": 3}
_LAST = float("inf")


def _threshold(choice: str, value: float | None) -> bool:
    """Whether `value` passes a choice such as ">=4", "<0.5", "rated"/"scored" or their opposites."""
    if choice == ALL:
        return True
    if choice in ("rated", "scored"):
        return value is not None
    if choice in ("unrated", "unscored"):
        return value is None
    if value is None:
        return False
    if choice.startswith(">="):
        return value >= float(choice[2:]) - 1e-9
    return value < float(choice[1:])


class EntryFilters:
    """The four filter dropdowns and the sort dropdown (`.widgets`), and what they keep and how they order."""

    def __init__(self, *, status: str | None = None, rating: str | None = None, score: str | None = None,
                 max_cost: float | None = None, sort: str | None = None) -> None:
        w = require_ipywidgets()
        style = {"description_width": "initial"}

        def auto() -> Any:  # a layout each: hiding one dropdown must not hide the others
            return w.Layout(width="auto")

        self.ratings: Mapping[int, Mapping[str, Any]] = {}
        self.badges: "ScoreBadges | None" = None
        self.status = w.Dropdown(options=[("all", ALL)], value=ALL, description="status", style=style, layout=auto())
        self.rating = w.Dropdown(options=list(RATING_CHOICES.items()), value=_choice(RATING_CHOICES, rating, "rating"),
                                 description="rating", style=style, layout=auto())
        self.score = w.Dropdown(options=list(SCORE_CHOICES.items()), value=_choice(SCORE_CHOICES, score, "score"),
                                description="text score", style=style, layout=auto())
        self.cost = w.Dropdown(options=[("any", ALL)], value=ALL, description="cost ≤", style=style, layout=auto())
        self.sort = w.Dropdown(options=list(SORTS.items()), value=_choice(SORTS, sort, "sort", default="sweep"),
                               description="sort", style=style, layout=auto())
        self._wanted = (status, max_cost)
        self.widgets = [self.status, self.rating, self.score, self.cost, self.sort]

    def refresh(self, entries: list["Entry"], ratings: Mapping[int, Mapping[str, Any]], badges: "ScoreBadges", *,
                live: bool = False) -> None:
        """Offer the statuses and costs these entries have; remember the ratings and scores to filter by.
        live: the experiment's run is still sending (a task sent is then "running", not "in_doubt")."""
        self.ratings, self.badges = ratings, badges
        statuses = sorted({e.status for e in entries}, key=lambda s: _STATUS_ORDER.get(s, 9))
        costs = sorted({round(c, 6) for c in (_cost(e) for e in entries) if c is not None})[:24]
        status, max_cost = self._wanted
        self._wanted = (None, None)  # asked for at opening only; later the user's choice stands
        if status in (IN_DOUBT, AWAITED):  # as every count says it (or, its run live, "running"); the log's is 'sent'
            status = "sent"
        if status is not None and status not in _STATUS_ORDER:
            raise ValueError(f"status must be one of {', '.join(status_word(s) for s in _STATUS_ORDER)} ({AWAITED!r}: "
                             f"sent while its run still sends, as {IN_DOUBT!r}), got {status!r}")
        if status is not None and status not in statuses:  # asked for, none yet: an empty choice, not an error
            statuses.append(status)
        _set_options(self.status, [("all", ALL)] + [(status_word(s, live), s) for s in statuses], status)
        cost_value = None
        if max_cost is not None:
            under = [c for c in costs if c <= max_cost + 1e-9]
            if not under:
                raise ValueError(f"max_cost: no image of this experiment costs ${max_cost} or less; the cheapest "
                                 f"cost {format_usd(min(costs, default=0.0))} (pass a larger max_cost, or none)")
            cost_value = str(max(under))
        _set_options(self.cost, [("any", ALL)] + [(f"{format_usd(c)}", str(c)) for c in costs], cost_value)
        self.score.layout.display = "flex" if badges else "none"

    def observe(self, callback: Callable[[Any], None]) -> None:
        for d in self.widgets:
            d.observe(callback, names="value")

    # -- what they keep and how they order -----------------------------------------------------------
    def _rating(self, e: "Entry") -> float | None:
        r = self.ratings.get(e.image_id) if e.image_id is not None else None
        return None if r is None else present(r.get("score"))

    def _score(self, e: "Entry") -> float | None:
        return self.badges.value(e.image_id) if self.badges and e.image_id is not None else None

    @property
    def active(self) -> bool:
        return any(d.value != ALL for d in (self.status, self.rating, self.score, self.cost))

    def keep(self, e: "Entry") -> bool:
        """Whether the entry passes the status, rating, text score and cost filters."""
        if self.status.value != ALL and e.status != self.status.value:
            return False
        if not _threshold(self.rating.value, self._rating(e)):
            return False
        if self.badges and not _threshold(self.score.value, self._score(e)):
            return False
        if self.cost.value != ALL:
            cost = _cost(e)
            return cost is not None and cost <= float(self.cost.value) + 1e-9
        return True

    def sort_key(self, e: "Entry") -> tuple[float, ...]:
        """The entry's place in the chosen order (0 for sweep order: the sweep's order decides)."""
        how = self.sort.value
        if how == "rating":
            r = self._rating(e)
            return (-r if r is not None else _LAST,)
        if how == "score":
            s = self._score(e)
            return (-s if s is not None else _LAST,)
        if how in ("cost", "-cost"):
            c = _cost(e)
            return (_LAST,) if c is None else ((c,) if how == "cost" else (-c,))
        if how == "status":
            return (float(_STATUS_ORDER.get(e.status, 9)),)
        return (0.0,)

    def describe(self) -> str:
        """The filters and order in force, for the explorer's repr ("" when none)."""
        bits = [f"{d.description}={dict((v, k) for k, v in d.options)[d.value]}"
                for d in (self.status, self.rating, self.score, self.cost) if d.value != ALL]
        if self.sort.value != "sweep":
            bits.append(f"sort={self.sort.value}")
        return ", ".join(bits)


def _cost(e: "Entry") -> float | None:
    value = present(e.cost_usd)
    return None if value is None else float(value)


def _choice(choices: Mapping[str, str], wanted: Any, name: str, default: str = ALL) -> str:
    """The dropdown value meant by `wanted` (a value such as ">=4" or 4, or a label); a clear error otherwise."""
    if wanted is None:
        return default
    text = str(wanted).replace(" ", "")
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        text = f">={wanted}"
    for label, value in choices.items():
        if text in (value, label.replace(" ", "")) or (text.startswith(">=") and value.startswith(">=")
                                                        and float(text[2:]) == float(value[2:])):
            return value
    raise ValueError(f"{name} must be one of {', '.join(repr(v) for v in choices.values())}, got {wanted!r}")


def _set_options(dropdown: Any, options: list[tuple[str, str]], wanted: str | None) -> None:
    """New options, keeping the current choice where it still exists (else `wanted`, else all)."""
    keep = wanted if wanted is not None else dropdown.value
    values = [v for _, v in options]
    if [tuple(o) for o in dropdown.options] != options:
        dropdown.options = options
    dropdown.value = keep if keep in values else ALL
