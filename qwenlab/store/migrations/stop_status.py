"""Migration m019: the budget stops the first versions recorded as interruptions.

Until a run's budget stop had a status of its own ('budget'), the runner recorded it as
'interrupted', the word for Ctrl-C and for a run whose process died, so `qwenlab logs`, the
summaries and every view showed such an experiment as interrupted. Its stop reason told it apart
all along: a budget stop's starts with "budget:", which no interruption's ever did (theirs start
"interrupted (Ctrl-C)", "stopped:" or say the run ended before its status was written). Those
rows are given the status they would have today; the reason is kept as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["m019_budget_stops"]


def m019_budget_stops(db: sqlite_utils.Database) -> None:
    # `LIKE` ignores case and `_` is a wildcard there: substr compares the exact prefix
    db.execute("UPDATE experiments SET status = 'budget' "
               "WHERE status = 'interrupted' AND substr(stop_reason, 1, 7) = 'budget:'")
