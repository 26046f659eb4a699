"""The emulator's ledger: every image it charged for, so tests can prove nothing is paid twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

from ..core.values import count_of, format_usd

__all__ = ["Charge", "Ledger"]


@dataclass(frozen=True)
class Charge:
    """One charged image: its task, its image, the price in USD and when (epoch seconds)."""

    task_uuid: str
    image_uuid: str
    usd: float
    at: float


class Ledger:
    """A thread-safe list of charges.

    The emulator opens a task once when it accepts it (`open`), then charges each image that
    succeeds. `charged_twice()` names any task that was accepted twice, charged for the same
    image twice, or charged for more images than it asked for; it must always be empty.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: list[Charge] = []
        self._opened: Counter[str] = Counter()
        self._expected: dict[str, int] = {}

    def open(self, task_uuid: str, number_results: int) -> None:
        """Record that a task was accepted, with how many images it may be charged for."""
        with self._lock:
            self._opened[task_uuid] += 1
            self._expected[task_uuid] = number_results

    def charge(self, task_uuid: str, image_uuid: str, usd: float) -> Charge:
        """Charge one image."""
        charge = Charge(task_uuid, image_uuid, float(usd), time.time())
        with self._lock:
            self._charges.append(charge)
        return charge

    @property
    def charges(self) -> list[Charge]:
        """A copy of every charge, oldest first."""
        with self._lock:
            return list(self._charges)

    def total(self) -> float:
        """USD charged in all."""
        with self._lock:
            return round(sum(c.usd for c in self._charges), 6)

    def by_task(self) -> dict[str, list[Charge]]:
        """Charges grouped by taskUUID, in the order tasks were first charged."""
        out: dict[str, list[Charge]] = {}
        for c in self.charges:
            out.setdefault(c.task_uuid, []).append(c)
        return out

    def tasks(self) -> list[str]:
        """Every taskUUID charged at least once."""
        return list(self.by_task())

    def charged_twice(self) -> list[str]:
        """Tasks paid for more than once (accepted twice, an image charged twice, or more
        images charged than numberResults). The emulator's promise is that this is empty."""
        with self._lock:
            opened = dict(self._opened)
            expected = dict(self._expected)
            charges = list(self._charges)
        bad = {t for t, n in opened.items() if n > 1}
        per_image = Counter((c.task_uuid, c.image_uuid) for c in charges)
        bad.update(t for (t, _), n in per_image.items() if n > 1)
        per_task = Counter(c.task_uuid for c in charges)
        bad.update(t for t, n in per_task.items() if n > expected.get(t, n))
        return sorted(bad)

    def __len__(self) -> int:
        with self._lock:
            return len(self._charges)

    def __repr__(self) -> str:
        return f"Ledger({count_of(len(self), 'charge')}, {format_usd(self.total())})"
