"""A budget in USD that requests in flight cannot overshoot together."""

from __future__ import annotations

import threading

__all__ = ["Budget"]

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
        self._lock = threading.Lock()

    def reserve(self, usd: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + usd > self.limit + _EPS:
                return False
            self.reserved += usd
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved)
            self.spent += actual

    @property
    def remaining(self) -> float | None:
        with self._lock:
            return None if self.limit is None else max(0.0, self.limit - self.spent - self.reserved)
