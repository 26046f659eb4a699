"""Benchmark: `python -m qwenlab.bench.explorer [--images N] [--size WxH] [--runs R]`. Prints figures;
asserts nothing.

Builds an experiment of N images (default 2,000: 25 outputQuality values x promptExtend on/off x
40 repeats) by a sweep against qwenlab's emulator on loopback, in a temporary data folder, then
times what a notebook user waits for (targets from issue 13):

1. open, cold: `exp.explore()` with no thumbnail cached, as in a kernel (inside an asyncio loop:
   the page is shown at once and the thumbnails arrive from a thread; "thumbnails in" is the time
   until the last is there) and without a loop (a script: it waits for them). Target: under 1 s;
2. open, warm: the same again, thumbnails cached on disk (target: under 1 s);
3. page turn: `explorer.go(page)` to the next page (made ahead), to one seen before, and to one
   never shown, in a kernel and without a loop (target: under 0.3 s);
4. select: a click on a tile, the compare viewer showing the image at full resolution.

`--data DIR` keeps the experiment there and reuses it on the next run (building 2,000 images of
1024x1536 takes about a minute on 2 free cores).

Each figure is the best of `--runs` (default 3) in this process. The widgets are made without a
browser (there is no front end), so this is the kernel's share of the wait.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import ExperimentNotFoundError
from ..lab import Lab
from ..sweeps.sweep import Sweep
from .emulated import run_on_emulator

__all__ = ["main", "build_experiment", "bench_explorer"]

PROMPT = "A premium beauty poster for the fictional brand LUMIERE with the headline 'Glow, Refined.'"
OPEN_TARGET_S = 1.0
PAGE_TARGET_S = 0.3


def build_experiment(folder: Path, n_images: int = 2000, size: str = "1024x1536") -> Any:
    """An experiment of about `n_images` emulator images in `folder` (the Lab's data folder)."""
    qualities = list(range(20, 45))
    repeats = max(1, round(n_images / (2 * len(qualities))))
    sweep = Sweep(prompt=PROMPT, seed_policy="sample", size=size, axes={"outputQuality": qualities, "promptExtend": [True, False]},
                  repeats=repeats)
    return run_on_emulator(folder, sweep, "bench-explorer")


def _best(fn: Callable[[], Any], runs: int, before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(runs):  # fn: opens an explorer (returned) or turns a page (returns None)
        if before:
            before()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        if out is not None:  # an explorer: its pages made ahead must not slow the next figure
            out.grid.wait_ahead()
            out.close()
    return min(times)


def bench_explorer(folder: Path, n_images: int, size: str, runs: int) -> list[tuple[str, float, float | None]]:
    """(what, seconds, target) for each figure. An experiment already in `folder` is used as it is."""
    start = time.perf_counter()
    try:
        exp = Lab(folder).experiment("bench-explorer")
    except ExperimentNotFoundError:
        exp = build_experiment(folder, n_images, size)
        print(f"built {len(exp.images)} images of {size} in {time.perf_counter() - start:.1f} s (emulator, loopback)",
              file=sys.stderr)
    thumbs = folder / "thumbs"

    def drop_thumbs() -> None:
        shutil.rmtree(thumbs, ignore_errors=True)

    rows: list[tuple[str, float, float | None]] = []
    rows.append(("open, no thumbnail cached, no loop (waits)", _best(exp.explore, runs, drop_thumbs), None))
    shown, filled = _in_a_loop(lambda ex: None, runs, exp, drop_thumbs)
    rows.append(("open, no thumbnail cached, in a kernel", shown, OPEN_TARGET_S))
    rows.append(("  ... until its thumbnails are in", filled, None))
    rows.append(("open, thumbnails cached", _best(exp.explore, runs), OPEN_TARGET_S))
    ex = exp.explore()
    # pages never shown (nor made ahead: two pages ahead and one behind are), taken in turn
    fresh = iter(range(12, ex.pages, 4))
    rows.append(("page turn to the next page (made ahead)", _best(lambda: ex.go(ex.page + 1), runs,
                                                                            ex.grid.wait_ahead), PAGE_TARGET_S))
    rows.append(("page turn to a page seen before", _best(lambda: ex.go(0), runs, ex.grid.wait_ahead),
                 PAGE_TARGET_S))
    rows.append(("page turn to a new page, no loop (waits)", _best(lambda: ex.go(next(fresh)), runs,
                                                                             ex.grid.wait_ahead), None))
    shown, filled = _in_a_loop(lambda ex: ex.go(next(fresh)), runs, ex)
    rows.append(("page turn to a new page, in a kernel", shown, PAGE_TARGET_S))
    rows.append(("  ... until its thumbnails are in", filled, None))
    entries = iter([e for e in ex.page_items if e.image_id is not None][1:])  # the first makes the viewer
    ex.select(ex.page_items[0])
    rows.append(("select another tile (full-resolution viewer)", _best(lambda: ex.select(next(entries)), runs), None))
    ex.close()
    return rows


def _in_a_loop(turn: Callable[[Any], Any], runs: int, target: Any, before: Callable[[], Any] | None = None
               ) -> tuple[float, float]:
    """Best times with a running asyncio loop, as in a kernel: until the call returns (the page is
    shown), and until its thumbnails are in. `target` is an explorer to turn, or an experiment to open."""

    async def once() -> tuple[float, float]:
        if before:
            before()
        start = time.perf_counter()
        ex = target.explore() if hasattr(target, "explore") else target
        turn(ex)
        shown = time.perf_counter() - start
        if ex.grid.filling is not None:
            await ex.grid.filling
        filled = time.perf_counter() - start
        ex.grid.wait_ahead()
        if ex is not target:
            ex.close()
        return shown, filled

    times = [asyncio.run(once()) for _ in range(runs)]
    return min(t[0] for t in times), min(t[1] for t in times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.explorer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="images in the experiment (default 2000)")
    parser.add_argument("--size", default="1024x1536", help="image size (default 1024x1536)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the best is printed (default 3)")
    parser.add_argument("--data", type=Path, help="a data folder to build the experiment in and keep (reused when "
                                                  "it holds one already); default: a temporary folder")
    args = parser.parse_args(argv)
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        rows = bench_explorer(args.data, args.images, args.size, args.runs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = bench_explorer(Path(tmp), args.images, args.size, args.runs)
    width = max(len(r[0]) for r in rows)
    # the machine may be shared: its load says how far the figures are from an idle machine's
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"explorer over {args.images} images (best of {args.runs}; load average {load:.1f} on {os.cpu_count()} cores)")
    for what, seconds, target in rows:
        verdict = "" if target is None else f"target < {target:.1f} s: {'ok' if seconds < target else 'MISSED'}"
        print(f"  {what:<{width}}  {seconds:8.4f} s   {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
