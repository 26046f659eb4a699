"""A budget in USD that requests in flight cannot overshoot together."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from ..core.validation import BROKEN_TEXT, is_unicode_text
from ..core.values import plain
from ..errors import ValidationError
from ..problems import Problem
from ..store.organize import name_problem

__all__ = ["Budget", "run_setting_problems", "check_run_settings"]

_EPS = 1e-9  # float sums of prices: 5 x 0.075 must fit a budget of 0.375


class Budget:
    """USD spent and reserved under a limit (None: no limit). Thread-safe.

    `reserve(x)` succeeds only if spent + reserved + x stays within the limit, so requests in
    flight can never together overshoot it; `settle(x, actual)` swaps a reservation for the cost
    the API reported.
    """

    def __init__(self, limit: float | None, spent: float = 0.0) -> None:
        self.limit = limit
        self.spent = float(spent)
        self.reserved = 0.0
        # what a cell reserves, times its estimate: the most the API has charged above one (the
        # dispatch learns it from the costs reported), twice the estimate until a cost is known
        self.markup = 1.0
        self._lock = threading.Lock()

    def reserve(self, usd: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + usd > self.limit + _EPS:
                return False
            self.reserved += usd
            return True

    def hold(self, usd: float) -> None:
        """Reserve `usd` whatever the limit: what is already committed (cells in doubt, counted in
        the spend at their estimate until they settle), so that no new cell takes its room."""
        with self._lock:
            self.reserved += usd

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved)
            self.spent += actual

    @property
    def remaining(self) -> float | None:
        with self._lock:
            return None if self.limit is None else max(0.0, self.limit - self.spent - self.reserved)


def run_setting_problems(*, budget_usd: Any = None, concurrency: Any = 1, name: str | None = None,
                         notes: str | None = None, name_is_new: bool = True,
                         switches: Mapping[str, Any] | None = None) -> list[Problem]:
    """What is wrong with a run's budget, concurrency and name (empty when all are usable), checked
    before anything is logged or sent: a budget that is not a number would be stored with the
    experiment and break every later run of it. name_is_new=False: `name` is an experiment's in
    the log already, which a run resumes under the name it has (`name_problem(new=False)`).
    switches: the run's on/off settings by name (extend=, mix_backends=, ...), each True or False."""
    out = []
    for switch, value in (switches or {}).items():
        # resend_in_doubt="false" or os.environ.get(...) == "0" is a true string: it would resend
        # cells that may be paid for already, extend a changed sweep, or mix backends
        if not isinstance(plain(value), bool):
            out.append(Problem(switch, f"must be True or False, got {type(value).__name__} {value!r}"
                                       + (" (a non-empty string is true in Python, \"false\" and \"0\" too)"
                                          if isinstance(value, str) else ""), value))
    # a numpy number (np.int64(4), np.float32(1.5): what a frame or a range gives) is the number it holds
    budget_usd, concurrency = plain(budget_usd), plain(concurrency)
    if name is not None and (problem := name_problem(name, new=name_is_new)):
        out.append(Problem("name", problem, name))
    if notes is not None and not isinstance(notes, str):
        out.append(Problem("notes", f"must be text (or left out), got {type(notes).__name__}", notes))
    elif notes is not None and not is_unicode_text(notes):
        out.append(Problem("notes", BROKEN_TEXT, notes))
    if budget_usd is not None and (isinstance(budget_usd, bool) or not isinstance(budget_usd, (int, float))
                                   or not math.isfinite(budget_usd) or budget_usd < 0):
        # infinity too: it would be kept, and written into JSON as `Infinity`, which no parser reads
        out.append(Problem("budget_usd", f"must be a number of US dollars, 0 or more (leave it out for no limit), got {budget_usd!r}",
                           budget_usd))
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        out.append(Problem("concurrency", f"must be a whole number of at least 1 (requests in flight at once; Runware advises "
                                          f"2 to 4), got {concurrency!r}", concurrency))
    return out


def check_run_settings(*, budget_usd: Any = None, concurrency: Any = 1, name: str | None = None,
                       notes: str | None = None, name_is_new: bool = True,
                       switches: Mapping[str, Any] | None = None) -> None:
    """Raise ValidationError ("this run is invalid") listing `run_setting_problems`, if there are any."""
    problems = run_setting_problems(budget_usd=budget_usd, concurrency=concurrency, name=name, notes=notes,
                                    name_is_new=name_is_new, switches=switches)
    if problems:
        raise ValidationError(problems, context="this run")
