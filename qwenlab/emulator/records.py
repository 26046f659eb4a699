"""What the emulator remembers of each request it received, for tests and the CLI to read."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]

# A long-running CLI server must not grow without end: beyond MAX_KEPT, the oldest DROP go.
MAX_KEPT = 20000
DROP = 5000


@dataclass
class RequestRecord:
    """One request the emulator received. The Authorization header and any apiKey are left out."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    time: float
    status: int | None = None  # None: no answer was sent (a drop or a stall)
    fault: str = "ok"
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLog:
    """A thread-safe, bounded list of RequestRecord; handlers fill in a record's status later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> RequestRecord:
        """Append a record and return it (the handler sets its status and fault as it answers)."""
        with self._lock:
            self._records.append(record)
            if len(self._records) > MAX_KEPT:
                del self._records[:DROP]
        return record

    @property
    def records(self) -> list[RequestRecord]:
        """Every request kept so far (a copy), oldest first."""
        with self._lock:
            return list(self._records)
