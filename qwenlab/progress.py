"""The one progress bar of qwenlab: a widget in a notebook, text in a terminal (`tqdm.auto`).
A run shows the money spent so far in its postfix; text scoring counts images."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

__all__ = ["Progress"]


class Progress:
    """A thin wrapper over `tqdm.auto.tqdm` that can show spend; silent when `enabled` is False."""

    def __init__(self, total: int, *, desc: str = "", unit: str = "cell", budget_usd: float | None = None,
                 enabled: bool = True) -> None:
        self.budget_usd = budget_usd
        self.enabled = enabled
        self._bar: Any = None
        if enabled and total > 0:
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        """`n` more done (no spend to show)."""
        if self._bar is not None:
            self._bar.update(n)

    def advance(self, spent_usd: float, failed: int = 0) -> None:
        """One more cell finished; `spent_usd` is the experiment's spend so far."""
        if self._bar is None:
            return
        postfix = f"${spent_usd:.3f}" + (f" of ${self.budget_usd:.2f}" if self.budget_usd is not None else "")
        if failed:
            postfix += f", {failed} failed"
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(1)

    def write(self, text: str) -> None:
        """A line above the bar (or on stderr without one); nothing when disabled."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        elif self.enabled:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
