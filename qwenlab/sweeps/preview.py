"""What a run is about to send and spend, read before it writes or sends anything: the cells left
to send, their estimate, and how far the budget reaches.

    preview = lab.preview(sweep, "lumiere-extend", budget_usd=2.0)
    preview.to_send          # the plan's rows of the cells the run would send, in the order they go
    preview.budget_text()    # "16 cells to send, estimated $1.20; budget $2.00: the estimate fits ..."

`qwenlab run --dry-run` prints it; `qwenlab run` against the real API shows it and asks before
spending; `Runner.run(confirm=...)` hands it to a callback at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.shown import shown_as_text
from ..core.values import count_of, format_usd
from ..errors import another_key_note
from ..store.log import IN_DOUBT
from .budget import Budget

if TYPE_CHECKING:
    import pandas as pd

    from .sweep import Sweep

__all__ = ["Preview"]

# what the log holds of a cell (the plan's `logged` column), as the preview's first line says it
_LOGGED_WORDS = {"new": "new", "pending": "not sent yet", "failed": "failed (sent again)",
                 IN_DOUBT: "in doubt (asked about first)", "done": "done"}


@shown_as_text
@dataclass(frozen=True)
class Preview:
    """A run before it starts.

    plan: the sweep's plan (`Sweep.plan()`) with a `logged` column, what the log holds of each
    cell ("new", "pending", "in_doubt": sent with no answer logged, "failed", "done"); budget_usd: the limit the run will hold to
    (the experiment's own when none is given; None for no limit); spent_usd: what the experiment
    spent before, without the cells in doubt (they are in `to_send`, recovered first); other_key:
    how many of the cells in doubt were sent with another API key than the run's (the run asks the
    server about them, and leaves in doubt those it does not know).
    """

    name: str
    plan: "pd.DataFrame"
    budget_usd: float | None = None
    spent_usd: float = 0.0
    other_key: int = 0

    @classmethod
    def of(cls, sweep: "Sweep", name: str | None = None, budget_usd: float | None = None, *,
           quiet: bool = True) -> "Preview":
        """The preview of a sweep no log knows yet: every cell is new."""
        df = sweep.plan(quiet=quiet)
        df["logged"] = "new"
        return cls(name or sweep.default_name(), df, budget_usd)

    @property
    def to_send(self) -> "pd.DataFrame":
        """The plan's rows of the cells the run would send, in its order: cells in doubt (to be
        recovered, maybe paid for already) first, then the others by cell."""
        df = self.plan[self.plan["logged"] != "done"]
        order = (df["logged"] != IN_DOUBT).astype(int) * (len(self.plan) + 1) + df["cell"]
        return df.loc[order.sort_values(kind="stable").index]

    @property
    def estimated_usd(self) -> float:
        """USD for every cell to send, at today's prices."""
        return round(float(self.to_send["est_cost_usd"].sum()), 6)

    @property
    def affordable(self) -> int:
        """How many of the cells to send the budget lets through: the run sends cells in order
        and stops at the first whose estimate no longer fits (all of them without a budget)."""
        budget = Budget(self.budget_usd, self.spent_usd)
        count = 0
        for cost in self.to_send["est_cost_usd"]:
            if not budget.reserve(float(cost)):
                break
            count += 1
        return count

    @property
    def at_most_usd(self) -> float:
        """USD the run may spend now: the estimate of the cells the budget lets through."""
        return round(float(self.to_send["est_cost_usd"].iloc[: self.affordable].sum()), 6)

    def __str__(self) -> str:
        # `lab.preview(...)` ends a notebook cell: the dataclass's repr printed the plan's frame
        # inside "Preview(name=..., plan=   cell ...", cut by pandas, with the budget at its end
        counts = self.plan["logged"].value_counts()
        parts = [f"{int(counts[k])} {word}" for k, word in _LOGGED_WORDS.items() if counts.get(k, 0)]
        return (f"run of {self.name!r}: {count_of(len(self.plan), 'cell')} ({', '.join(parts) or 'none'})\n"
                f"{self.budget_text()}\n"
                "(.to_send: the cells to send, in the order they go; .plan: every cell and its request)")

    def budget_text(self) -> str:
        """One line: the cells to send, their estimate, and what the budget lets through (and a
        second when cells in doubt were sent with another API key)."""
        n = len(self.to_send)
        if n == 0:
            return "nothing to send: every cell is done"
        line = self._budget_line(n)
        if self.other_key:
            line += "\n" + another_key_note(self.other_key, asked=False)
        return line

    def _budget_line(self, n: int) -> str:
        cells = f"{n} cell{'s' if n != 1 else ''} to send, estimated {format_usd(self.estimated_usd)}"
        if self.budget_usd is None:
            return f"{cells}; no budget: all of it may be spent (set one with --budget or budget_usd)"
        spent = f" with {format_usd(self.spent_usd)} spent" if self.spent_usd else ""
        head = f"{cells}; budget {format_usd(self.budget_usd)}{spent}"
        k = self.affordable
        if k == n:
            spare = self.budget_usd - self.spent_usd - self.estimated_usd
            return f"{head}: the estimate fits ({format_usd(max(spare, 0.0))} to spare)"
        enough = f"about {format_usd(self.spent_usd + self.estimated_usd)} sends {'them all' if n > 1 else 'it'}"
        if self.spent_usd > self.budget_usd + 1e-9:
            # a sweep file's budget_usd given to an experiment that had none: it read "budget $0.10
            # with $0.15 spent: it covers 0 of the 4 cells", and then the summary "OVER"
            return (f"{cells}; budget {format_usd(self.budget_usd)}, below the {format_usd(self.spent_usd)} the experiment "
                    f"has cost already (a budget counts all it has cost, what it spent before the budget was set too): "
                    f"nothing is sent; a budget of {enough} (--budget, budget_usd)")
        if k == 0:
            # it read "it covers 0 of the 2 cells ($0.000)", and `qwenlab run` then asked "Send 0
            # requests ...?": say plainly that nothing goes, and which budget sends the first cell
            costs = self.to_send["est_cost_usd"]
            first = format_usd(self.spent_usd + float(costs.iloc[0]))
            return (f"{head}: it covers no cell, the cheapest costs about {format_usd(float(costs.min()))}: nothing is "
                    f"sent (a budget of about {first} sends the first cell"
                    + (f", {enough})" if n > 1 else ")"))
        return (f"{head}: it covers {k} of the {count_of(n, 'cell')} ({format_usd(self.at_most_usd)}); the run stops there "
                f"(a budget of {enough})")

    @property
    def covers_nothing(self) -> bool:
        """True when the run has cells to send and its budget lets none through, none of them a cell
        in doubt (those are asked about whatever the budget): the run sends nothing and pays nothing."""
        to_send = self.to_send
        return len(to_send) > 0 and self.affordable == 0 and not (to_send["logged"] == IN_DOUBT).any()
