"""What the benchmarks share: a sweep run on an embedded emulator into a data folder, and the
process's peak memory."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from ..api.client import RunwareClient
from ..emulator import Emulator
from ..lab import Experiment, Lab
from ..sweeps.sweep import Sweep

__all__ = ["run_on_emulator", "peak_mb"]


def run_on_emulator(data_dir: str | Path, sweep: Sweep, name: str, *, concurrency: int = 8) -> Experiment:
    """Run `sweep` as experiment `name` in `data_dir` (log and images) against a fresh offline
    emulator, without a progress bar; return the experiment."""
    data_dir = Path(data_dir)
    with Emulator() as emu:
        client = RunwareClient("bench-key", emu.url, images_dir=data_dir / "images")
        try:
            return Lab(data_dir, client=client).run(sweep, name=name, concurrency=concurrency, progress=False)  # type: ignore[return-value]
        finally:
            client.close()


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss: KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
