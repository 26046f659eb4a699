"""When to try again, and how long to wait: the client's backoff and polling policy in one place.

`RetryPolicy` decides how long to sleep before retry number *n* (exponential backoff with full
jitter, honouring `Retry-After`, capped at `backoff_max`) and performs the sleep, so tests can
inject a `sleep` that records durations instead of waiting. `PollSchedule` is the growing wait
between `getResponse` polls of an async task.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

__all__ = ["RetryPolicy", "PollSchedule", "Cancelled", "parse_retry_after", "RETRYABLE_STATUSES"]

# 408 request timeout, 429 queue full, every 5xx: the same request may succeed later.
# Never 400/401/402/403: resending an unchanged wrong request cannot help.
RETRYABLE_STATUSES = frozenset({408, 429})


def is_retryable_status(status: int) -> bool:
    """True for 408, 429 and every 5xx."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


class Cancelled(Exception):
    """Raised inside a worker thread when its caller stopped waiting (KeyboardInterrupt)."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/garbled."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter.

    Before retry `n` (1 for the first retry) the wait is uniform in
    `[0, min(backoff_max, backoff_base * 2**(n-1))]`; a server's `Retry-After` is a floor for it;
    nothing is ever longer than `backoff_max`. `sleep`, when given, replaces real waiting (tests
    pass `sleeps.append`).
    """

    max_retries: int = 5
    backoff_base: float = 1.0  # Runware's SDKs: 1 s x 2^n with jitter, capped at 30 s (runware-api.md)
    backoff_max: float = 30.0
    sleep: Callable[[float], None] | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(0, retry - 1)))
        wait = self.rng.uniform(0.0, ceiling) if ceiling > 0 else 0.0
        if retry_after is not None:
            wait = max(wait, retry_after)
        return max(0.0, min(wait, self.backoff_max))

    def pause(self, seconds: float, cancel: threading.Event | None = None, *, until: threading.Event | None = None) -> None:
        """Wait `seconds` (or call the injected sleep); raise Cancelled if `cancel` is set meanwhile.
        Return early, without raising, once `until` is set (the caller then decides what to do)."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if until is not None and until.is_set():
            return
        if self.sleep is not None:
            self.sleep(seconds)
        elif seconds > 0:
            events = [e for e in (cancel, until) if e is not None]
            if not events:
                time.sleep(seconds)
            elif len(events) == 1:
                events[0].wait(seconds)
            else:  # both: wait in short slices for either
                deadline = time.monotonic() + seconds
                while not any(e.is_set() for e in events) and (left := deadline - time.monotonic()) > 0:
                    cancel.wait(min(left, 0.05))  # type: ignore[union-attr]
        if cancel is not None and cancel.is_set():
            raise Cancelled()


@dataclass
class PollSchedule:
    """Waits between getResponse polls, as Runware's SDKs poll: `initial`, then half of it, then
    growing by `factor`, capped at `maximum`; `timeout` bounds the total (the SDKs: 1 s, 0.5 s,
    x1.5 up to 10 s, 20 minutes in all)."""

    initial: float = 1.0
    maximum: float = 10.0
    timeout: float = 1200.0
    factor: float = 1.5

    def delays(self) -> Iterator[float]:
        """The wait before each poll, forever: 1, 0.5, 0.75, 1.125, ..., 10, 10, ... for the defaults."""
        first = max(0.0, self.initial)
        yield min(first, self.maximum)
        wait = first / 2
        while True:
            yield min(wait, self.maximum)
            wait = min(self.maximum, wait * self.factor) if wait > 0 else 0.0
