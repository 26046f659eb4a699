"""The state behind the wire, shared by the protocol, inference and the HTTP handler.

One `EmulatorState` per emulator: its ledger, images, task book, fault dice and deliveries, plus
what the server learns when it starts (origin, port) and the stop signal every wait listens to.
It is plain state with no behaviour of its own beyond recording internal errors, so the layers
above receive it as an argument instead of importing each other to reach it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from .delivery import Deliveries
from .faults import FaultDice
from .images import ImageStore
from .ledger import Ledger
from .tasks import TaskBook

if TYPE_CHECKING:
    from .memory import TaskMemory

__all__ = ["EmulatorState"]


class EmulatorState:
    """Ledger, images, tasks, fault dice and deliveries of one emulator, and its stop signal,
    and the `TaskMemory` it keeps its finished tasks in across processes, if any.

    `origin` ("http://127.0.0.1:PORT") and `port` are set by the server once it has bound its
    socket; image URLs and references to the emulator's own images depend on them.
    """

    def __init__(self, *, dice: FaultDice, clock: Callable[[], float], default_ttl: int,
                 memory: "TaskMemory | None" = None) -> None:
        self.dice = dice
        self.ledger = Ledger()
        self.memory = memory  # finished tasks kept in a file, across processes (memory.py)
        self.store = ImageStore(clock, recall=memory.image if memory is not None else None)
        self.book = TaskBook()
        self.deliveries = Deliveries()
        self.default_ttl = default_ttl
        self.stopping = threading.Event()
        self.origin = "http://127.0.0.1"  # set by the server once it knows its port
        self.port: int | None = None
        self._errors_lock = threading.Lock()
        self._internal_errors: list[str] = []

    def note_internal_error(self, exc: BaseException) -> None:
        """Keep an exception raised inside the emulator (a bug) for tests to see."""
        with self._errors_lock:
            self._internal_errors.append(f"{type(exc).__name__}: {exc}")

    @property
    def internal_errors(self) -> list[str]:
        """A copy of every internal error noted so far, oldest first."""
        with self._errors_lock:
            return list(self._internal_errors)
