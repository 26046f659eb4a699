"""Webhook POSTs and uploadEndpoint PUTs of finished images, from a background thread.

Only loopback targets are contacted; any other host is skipped and the skip is recorded. Every
attempt is recorded in `Deliveries.records` (errors are swallowed there, never raised).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..secrets import redact
from .loopback import http_call, is_loopback_url

__all__ = ["Delivery", "Deliveries"]


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt: kind ("webhook" | "upload"), target, HTTP status or None, a note."""

    kind: str
    url: str
    task_uuid: str
    image_uuid: str | None
    status: int | None
    note: str
    at: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliveries:
    """A queue of deliveries worked off by one daemon thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str, str, str | None, bytes, dict[str, str]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._records: list[Delivery] = []
        self._thread: threading.Thread | None = None

    def webhook(self, url: str, item: dict[str, Any]) -> None:
        """POST the bare item to url: no `data` wrapper, as Runware's integration guide shows
        (receivers should still accept both)."""
        body = json.dumps(item).encode()
        self._put("webhook", url, item.get("taskUUID", ""), item.get("imageUUID"), body, {"Content-Type": "application/json"})

    def upload(self, url: str, task_uuid: str, image_uuid: str, data: bytes, mime: str) -> None:
        """PUT the raw image bytes to url."""
        self._put("upload", url, task_uuid, image_uuid, data, {"Content-Type": mime})

    def _put(self, kind: str, url: str, task_uuid: str, image_uuid: str | None, body: bytes, headers: dict[str, str]) -> None:
        if not is_loopback_url(url):
            # Not even a DNS lookup: the emulator must never reach beyond this machine.
            self._record(Delivery(kind, url, task_uuid, image_uuid, None,
                                  "skipped: the emulator only delivers to loopback addresses", time.time()))
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="qwenlab-emulator-delivery", daemon=True)
                self._thread.start()
        self._queue.put((kind, url, task_uuid, image_uuid, body, headers))

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                kind, url, task_uuid, image_uuid, body, headers = job
                method = "POST" if kind == "webhook" else "PUT"
                try:
                    status, _ = http_call(method, url, body, headers, timeout=10.0)
                    note = "delivered" if 200 <= status < 300 else f"answered HTTP {status}"
                except Exception as exc:  # a receiver's failure must never reach the emulator
                    status, note = None, redact(f"failed: {type(exc).__name__}: {exc}")
                self._record(Delivery(kind, url, task_uuid, image_uuid, status, note, time.time()))
            finally:
                self._queue.task_done()

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._records.append(delivery)

    @property
    def records(self) -> list[Delivery]:
        """Every delivery attempted or skipped so far."""
        with self._lock:
            return list(self._records)

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery has been attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
