"""The emulator in a process of its own, for benchmarks that compare two clients fairly.

Run in the benchmark's own process, the emulator's threads would compete with the client under
test for the interpreter lock, and an asyncio client (one thread) would be favoured over a
threaded one. In its own process both sides pay the same: `with served_emulator(latency=0.5) as url:`.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["served_emulator"]

_MARK = "qwenlab offline emulator of Runware's API: "


@contextmanager
def served_emulator(latency: float = 0.0) -> Iterator[str]:
    """Start `qwenlab emulator` (any free loopback port, `latency` seconds per task) in a child
    process; yield its URL; stop it on exit."""
    cmd = [sys.executable, "-m", "qwenlab.cli", "emulator", "--port", "0", "--latency", repr(float(latency))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            if line.startswith(_MARK):
                url = line[len(_MARK):].strip()
                break
        if url is None:
            raise RuntimeError(f"the emulator process ended without serving (exit code {proc.wait()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
