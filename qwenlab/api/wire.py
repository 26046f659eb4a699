"""Places on the wire: how many tasks a sweep has on the network at once.

    wire = Wire(4, stop_on=(AuthenticationError,))
    client.generate(request, wire=wire)     # from several threads

A task holds a place from just before its POST until its last image is downloaded; its images are
checked and written after it gives the place back, so threads that check, write and log never
keep the next task off the network. `close()` stops sending: a task whose turn comes after it
(or that is waiting for a place) raises `WireClosed` at once, unsent, and a task on the wire makes
no more retries of its POST (`closing`; it ends in doubt if an attempt may have been taken). A task failing with one of
the `stop_on` errors closes the wire before it gives its place back, so no other task goes out
after an error that would fail them all.

The bookkeeping also yields the processor to the wire: `settle()`, called before an image is
checked and written, waits (a few milliseconds at most) while a task that has its place, or is
about to get one, has not yet sent its request (`Place.sent()`). In a sweep at concurrency 1 the
next task's POST otherwise waited for the interpreter while the last task's image was hashed and
written, and the server sat idle meanwhile; now that work runs while the server draws.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import QwenlabError

__all__ = ["Place", "Wire", "WireClosed"]

# The longest `settle` waits: a request that takes longer to leave (a large body, a slow proxy)
# must not hold the bookkeeping, and so the sweep's memory and threads, for long.
SETTLE_TIMEOUT_S = 0.005


class WireClosed(Exception):
    """The wire was closed before this task's turn came: it was not sent."""


class Place:
    """A task's place on the wire (what `Wire.place()` yields); `sent()` once its request is out."""

    __slots__ = ("_wire", "_unsent")

    def __init__(self, wire: "Wire") -> None:
        self._wire = wire
        self._unsent = True

    def sent(self) -> None:
        """This task's request has left (its bytes are written): bookkeeping may use the processor.
        Called again (a retry, a GET after the POST), it does nothing."""
        if self._unsent:
            self._unsent = False
            self._wire._note_sent()


class Wire:
    """At most `places` tasks on the network at once, across threads; see the module's doc."""

    def __init__(self, places: int, *, stop_on: tuple[type[QwenlabError], ...] = ()) -> None:
        if places < 1:
            raise ValueError(f"places must be at least 1, got {places}")
        self.places = places
        self.stop_on = stop_on
        lock = threading.Lock()
        self._turn = threading.Condition(lock)  # tasks waiting for a place
        self._calm = threading.Condition(lock)  # bookkeeping waiting in `settle`
        self._free = places  # places not held
        self._waiting = 0  # tasks waiting for a place
        self._unsent = 0  # tasks holding a place whose request has not left yet
        self._closed = False
        self._closing = threading.Event()  # set with _closed, for what waits outside the lock (a retry's backoff)

    def __repr__(self) -> str:
        return f"Wire({self.places}{', closed' if self.closed else ''})"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def closing(self) -> threading.Event:
        """Set once the wire is closed: a task's retries wait on it, and end when it is set."""
        return self._closing

    @property
    def free(self) -> int:
        """Places not held right now."""
        return self._free

    def close(self) -> None:
        """Send nothing more: tasks waiting for a place raise WireClosed at once."""
        with self._turn:
            self._closed = True
            self._closing.set()
            self._turn.notify_all()
            self._calm.notify_all()

    @contextmanager
    def place(self) -> Iterator[Place]:
        """Hold a place for the block; WireClosed (the place given back) once the wire is closed.
        Call `.sent()` on what it yields once the task's request has left."""
        with self._turn:
            self._waiting += 1
            try:
                while not self._free and not self._closed:
                    self._turn.wait()
            finally:
                self._waiting -= 1
            if self._closed:
                raise WireClosed("the wire was closed (the run stopped) before this task was sent")
            self._free -= 1
            self._unsent += 1
        place = Place(self)
        try:
            yield place
        finally:
            with self._turn:
                self._free += 1
                if place._unsent:
                    place._unsent = False
                    self._unsent -= 1
                if self._waiting:
                    self._turn.notify()
                elif self._quiet():
                    self._calm.notify_all()

    def settle(self, timeout: float | None = None) -> None:
        """Wait (at most `timeout` seconds, default SETTLE_TIMEOUT_S) until no task with a place,
        or about to get one, is still to send its request; bookkeeping calls this before its
        CPU-heavy steps."""
        with self._calm:
            self._calm.wait_for(self._quiet, SETTLE_TIMEOUT_S if timeout is None else timeout)

    def _quiet(self) -> bool:
        return self._closed or not (self._unsent or (self._waiting and self._free))

    def _note_sent(self) -> None:
        with self._calm:
            self._unsent -= 1
            if self._quiet():
                self._calm.notify_all()

    def note_failures(self, errors: list[BaseException | None]) -> None:
        """Close the wire if any of `errors` is one of the `stop_on` errors (called with the place held)."""
        if self.stop_on and any(isinstance(e, self.stop_on) for e in errors):
            self.close()
