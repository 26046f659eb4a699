"""The one progress bar of qwenlab: a widget in a notebook, text in a terminal (`tqdm.auto`).
A run shows the money spent so far in its postfix; text scoring counts images.

In a notebook the bar is displayed under a display id, and closing it updates that display: a
saved notebook then keeps the finished bar ("24/24 [00:02, $1.800 of $2.50]") as its text, where
tqdm alone leaves the text of the moment it was first drawn ("0%| 0/24").

A pass whose first items are slow gives `warmup=` (OCR: onnxruntime warms up on each reader's
first image, about three times as long as the next ones). Its time left is then `Eta`'s: the bar
says "estimating time left" until the readers are warm, then counts only the items after. tqdm's
own estimate extrapolated from the first image and said 42 s for a 16 s pass.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from tqdm.auto import tqdm

from .money import format_usd

__all__ = ["Progress", "Eta"]

# tqdm's own layout with the time left and the rate, which there is no estimate of yet, in words
_ESTIMATING = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, estimating time left{postfix}]"


class Eta:
    """The rate and time left of a pass whose first `warmup` items are slow, from the others.

    With `warmup` readers working in parallel, each slow on its first item (a model warming up),
    the first `warmup` completions say how long warming takes, not how long an item takes. There
    is no estimate (`rate()` is None) until as many items are done after them as they were, so
    that every reader has finished a warm item; then the rate is the items done since the
    warm-up over the time they took. `clock` gives seconds (`time.monotonic`; a test injects one)."""

    def __init__(self, total: int, *, warmup: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ValueError(f"warmup must be a whole number of items, 0 or more; got {warmup!r}")
        self.total = total
        self.warmup = warmup
        self.clock = clock
        self.n = 0
        # when the warm-up ended and how many were done then (0 and the start without one)
        self._warm: tuple[float, int] | None = (clock(), 0) if warmup == 0 else None
        self._last_at: float | None = None

    def done(self, n: int = 1) -> None:
        """`n` more items done, now."""
        now = self.clock()
        self.n += n
        self._last_at = now
        if self._warm is None and self.n >= self.warmup:
            self._warm = (now, self.n)

    def rate(self) -> float | None:
        """Items a second since the warm-up; None while too few are done to say."""
        if self._warm is None or self._last_at is None:
            return None
        warm_at, warm_n = self._warm
        after = self.n - warm_n
        if after < max(1, self.warmup) or self._last_at <= warm_at:
            return None
        return after / (self._last_at - warm_at)

    def remaining(self) -> float | None:
        """Seconds left at that rate, from the latest item done; None while estimating."""
        rate = self.rate()
        return None if rate is None else max(0, self.total - self.n) / rate


class _Bar(tqdm):  # tqdm.auto's class: the notebook widget or the terminal's
    """tqdm's bar, its rate and time left taken from an `Eta` when it has one."""

    _eta: Eta | None = None

    def __init__(self, *args: Any, eta: Eta | None = None, **kwargs: Any) -> None:
        self._eta = eta  # before tqdm's __init__, which draws the bar once
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self) -> dict[str, Any]:
        d = super().format_dict
        if self._eta is None or (d.get("total") and d.get("n", 0) >= d["total"]):
            return d  # finished: tqdm's overall rate and no time left are right
        rate = self._eta.rate()
        if rate is None:
            d["bar_format"] = _ESTIMATING
        else:
            d["rate"] = rate  # tqdm's time left is (total - n) / rate
        return d


class Progress:
    """A thin wrapper over `tqdm.auto.tqdm` that can show spend; no bar when `enabled` is False
    (its `write` lines are still said). `warmup`: the number of first items slower than the rest
    (parallel readers warming up), whose time the time left leaves out (see `Eta`); None: tqdm's
    own estimate. `clock`: the `Eta`'s clock, for tests."""

    def __init__(self, total: int, *, desc: str = "", unit: str = "cell", budget_usd: float | None = None,
                 enabled: bool = True, warmup: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_usd = budget_usd
        self.enabled = enabled
        self.eta = Eta(total, warmup=warmup, clock=clock) if warmup is not None else None
        self._bar: Any = None
        self._handle: Any = None  # the notebook display of the bar, updated when it closes
        if enabled and total > 0:
            notebook = any(c.__name__ == "tqdm_notebook" for c in tqdm.__mro__)  # tqdm.auto chose the widget
            # a terminal's bar redraws itself with carriage returns: into a file or a pipe (a log of
            # `make demo`), each redraw runs into the lines written beside it, so none is drawn there
            options: dict[str, Any] = {"display": False} if notebook else {"disable": None}
            self._bar = _Bar(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, eta=self.eta,
                             **options)
            if notebook and getattr(self._bar, "container", None) is not None:
                from IPython.display import display  # only reached inside IPython, where tqdm chose its widget

                self._handle = display(self._bar.container, display_id=True)
                self._bar.displayed = True

    def update(self, n: int = 1) -> None:
        """`n` more done (no spend to show)."""
        if self.eta is not None:
            self.eta.done(n)
        if self._bar is not None:
            self._bar.update(n)

    def advance(self, spent_usd: float, failed: int = 0) -> None:
        """One more cell finished; `spent_usd` is the experiment's spend so far."""
        if self.eta is not None:
            self.eta.done(1)
        if self._bar is None:
            return
        postfix = f"{format_usd(spent_usd)}" + (f" of {format_usd(self.budget_usd)}" if self.budget_usd is not None else "")
        if failed:
            postfix += f", {failed} failed"
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(1)

    def text(self) -> str:
        """The bar as it reads now (its terminal text; "" where none is drawn)."""
        if self._bar is None or self._bar.disable:
            return ""
        return self._bar.format_meter(**self._bar.format_dict)

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
