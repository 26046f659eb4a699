"""The emulator's task book: every accepted taskUUID and the state of each of its images.

It answers two questions: "was this taskUUID seen before?" (then `conflictTaskUUID`, never a
second charge) and "what does getResponse say about it now?" (one item per image, cumulative).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Slot", "TaskRecord", "TaskBook"]


@dataclass
class Slot:
    """One image of a task. `ready_at` is on the monotonic clock."""

    index: int
    started: float
    ready_at: float
    status: str = "processing"  # processing | success | error
    item: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def view(self, task_type: str, task_uuid: str, now: float) -> dict[str, Any]:
        """This image as a getResponse item at time `now`."""
        if self.status == "success" and self.item is not None and now >= self.ready_at:
            return {**self.item, "status": "success"}
        if self.status == "error" and now >= self.ready_at:
            return {"taskType": task_type, "taskUUID": task_uuid, "status": "error", "error": dict(self.error or {})}
        span = max(self.ready_at - self.started, 1e-9)
        progress = int(max(0.0, min(99.0, 100.0 * (now - self.started) / span)))
        return {"taskType": task_type, "taskUUID": task_uuid, "status": "processing", "progress": progress}


@dataclass
class TaskRecord:
    task_uuid: str
    task_type: str
    delivery: str  # sync | async | upload
    slots: list[Slot] = field(default_factory=list)


class TaskBook:
    """Thread-safe registry of accepted tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claimed: set[str] = set()
        self._records: dict[str, TaskRecord] = {}

    def claim(self, task_uuid: str) -> bool:
        """Reserve a taskUUID; False if it was claimed before (the caller answers conflictTaskUUID)."""
        with self._lock:
            if task_uuid in self._claimed:
                return False
            self._claimed.add(task_uuid)
            return True

    def add(self, record: TaskRecord) -> TaskRecord:
        with self._lock:
            self._records[record.task_uuid] = record
        return record

    def update(self, slot: Slot, **changes: Any) -> None:
        """Change a slot's fields atomically (so a poll never sees half an update)."""
        with self._lock:
            for key, value in changes.items():
                setattr(slot, key, value)

    def poll(self, task_uuid: str) -> list[dict[str, Any]] | None:
        """getResponse items for a task (None when unknown)."""
        now = time.monotonic()
        with self._lock:
            record = self._records.get(task_uuid)
            if record is None:
                return None
            return [s.view(record.task_type, record.task_uuid, now) for s in record.slots]

    def __contains__(self, task_uuid: object) -> bool:
        with self._lock:
            return task_uuid in self._claimed
