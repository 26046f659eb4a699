"""The one progress bar of qwenlab: a widget in a notebook, text in a terminal (`tqdm.auto`).
A run shows the money spent so far in its postfix; text scoring counts images.

In a notebook the bar is displayed under a display id, and closing it updates that display: a
saved notebook then keeps the finished bar ("24/24 [00:02, $1.800 of $2.50]") as its text, where
tqdm alone leaves the text of the moment it was first drawn ("0%| 0/24").
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

from .money import format_usd

__all__ = ["Progress"]


class Progress:
    """A thin wrapper over `tqdm.auto.tqdm` that can show spend; no bar when `enabled` is False
    (its `write` lines are still said)."""

    def __init__(self, total: int, *, desc: str = "", unit: str = "cell", budget_usd: float | None = None,
                 enabled: bool = True) -> None:
        self.budget_usd = budget_usd
        self.enabled = enabled
        self._bar: Any = None
        self._handle: Any = None  # the notebook display of the bar, updated when it closes
        if enabled and total > 0:
            notebook = any(c.__name__ == "tqdm_notebook" for c in tqdm.__mro__)  # tqdm.auto chose the widget
            # a terminal's bar redraws itself with carriage returns: into a file or a pipe (a log of
            # `make demo`), each redraw runs into the lines written beside it, so none is drawn there
            options: dict[str, Any] = {"display": False} if notebook else {"disable": None}
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **options)
            if notebook and getattr(self._bar, "container", None) is not None:
                from IPython.display import display  # only reached inside IPython, where tqdm chose its widget

                self._handle = display(self._bar.container, display_id=True)
                self._bar.displayed = True

    def update(self, n: int = 1) -> None:
        """`n` more done (no spend to show)."""
        if self._bar is not None:
            self._bar.update(n)

    def advance(self, spent_usd: float, failed: int = 0) -> None:
        """One more cell finished; `spent_usd` is the experiment's spend so far."""
        if self._bar is None:
            return
        postfix = f"${spent_usd:.3f}" + (f" of {format_usd(self.budget_usd)}" if self.budget_usd is not None else "")
        if failed:
            postfix += f", {failed} failed"
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(1)

    def write(self, text: str) -> None:
        """A line above the bar, or on stderr without one: a run's warnings (a size Runware may
        refuse, a key it may ignore) are said with the bar off too (`--no-progress` hid them)."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        """Finish the bar; in a notebook its saved text becomes the final count, not the first."""
        if self._bar is None:
            return
        bar, self._bar = self._bar, None
        bar.refresh()  # the last update may have been skipped by tqdm's rate limit
        bar.close()
        if self._handle is not None:
            self._handle.update(bar.container)
            self._handle = None
