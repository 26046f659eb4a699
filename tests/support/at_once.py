"""Several threads doing one thing at the same instant: how two notebooks started together
open a new file. Every exception is collected, not raised: each is the finding."""

from __future__ import annotations

import threading
from typing import Callable


def at_once(action: Callable[[], object], threads: int = 8) -> list[str]:
    """Run `action` in `threads` threads released together by a barrier; the repr of every
    exception they raised (empty when none did)."""
    barrier = threading.Barrier(threads)
    failures: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            failures.append(repr(exc))

    started = [threading.Thread(target=one) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return failures
