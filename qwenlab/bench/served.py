"""The emulator in a process of its own, for benchmarks that compare two clients fairly.

Run in the benchmark's own process, the emulator's threads would compete with the client under
test for the interpreter lock, and an asyncio client (one thread) would be favoured over a
threaded one. In its own process both sides pay the same: `with served_emulator(latency=0.5) as url:`.

On a small machine the two processes still share the processors, so a client's CPU slows the
server it waits for, which Runware's servers never feel. `cpu_split()` and `on_cpus()` keep them
apart (Linux): `served_emulator(cpus=server)` runs the emulator on some CPUs, and the client runs
inside `with on_cpus(client):` on the others.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Collection, Iterator

__all__ = ["served_emulator", "cpu_split", "on_cpus"]

_MARK = "qwenlab offline emulator of Runware's API: "


@contextmanager
def served_emulator(latency: float = 0.0, *, cpus: Collection[int] | None = None) -> Iterator[str]:
    """Start `qwenlab emulator` (any free loopback port, `latency` seconds per task) in a child
    process; yield its URL; stop it on exit. `cpus`: the only CPUs it may run on (Linux)."""
    cmd = [sys.executable, "-m", "qwenlab.cli", "emulator", "--port", "0", "--latency", repr(float(latency))]
    # a child starts on the CPUs of the thread that starts it, and every thread it makes inherits
    # them (no preexec_fn: it is not safe in a process with threads)
    with on_cpus(cpus) if cpus else contextlib.nullcontext():
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


def cpu_split() -> tuple[frozenset[int], frozenset[int]] | None:
    """The CPUs this process may use, in two halves (server, client), the first half at least one;
    None where there are fewer than two or the platform cannot pin a process (not Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2:
        return None
    half = len(mine) // 2
    return frozenset(mine[:half]), frozenset(mine[half:])


@contextmanager
def on_cpus(cpus: Collection[int]) -> Iterator[None]:
    """Run the calling thread, and the threads and processes it starts meanwhile, on `cpus` only
    (Linux); the thread's own CPUs come back on exit (what it started keeps `cpus`)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
