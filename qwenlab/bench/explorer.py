"""Benchmark: `python -m qwenlab.bench.explorer [--images N] [--size WxH] [--runs R]`. Prints figures;
asserts nothing.

Builds an experiment of N images (default 2,000: 25 outputQuality values x promptExtend on/off x
40 repeats) by a sweep against qwenlab's emulator on loopback, in a temporary data folder, then
times what a notebook user waits for (targets from issue 13):

1. open, cold: `exp.explore()` with no thumbnail cached (the first page's thumbnails are made);
2. open, warm: the same again, thumbnails cached on disk (target: under 1 s);
3. page turn: `explorer.go(page)` to pages not seen yet, cold and warm (target: under 0.3 s).
   Run as in a kernel (inside an asyncio loop): the page is shown at once, and the thumbnails not
   cached yet arrive from a thread; "thumbnails in" is the time until the last one is there;
4. select: a click on a tile, the compare viewer showing the image at full resolution.

Each figure is the best of `--runs` (default 3) in this process. The widgets are made without a
browser (there is no front end), so this is the kernel's share of the wait.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ..api.client import RunwareClient
from ..emulator import Emulator
from ..lab import Lab
from ..sweeps.sweep import Sweep

__all__ = ["main", "build_experiment", "bench_explorer"]

PROMPT = "A premium beauty poster for the fictional brand LUMIERE with the headline 'Glow, Refined.'"
OPEN_TARGET_S = 1.0
PAGE_TARGET_S = 0.3


def build_experiment(folder: Path, n_images: int = 2000, size: str = "1024x1536") -> Any:
    """An experiment of about `n_images` emulator images in `folder` (the Lab's data folder)."""
    qualities = list(range(20, 45))
    repeats = max(1, round(n_images / (2 * len(qualities))))
    sweep = Sweep(prompt=PROMPT, size=size, axes={"outputQuality": qualities, "promptExtend": [True, False]},
                  repeats=repeats)
    with Emulator() as emu:
        client = RunwareClient("bench-key", emu.url, images_dir=folder / "images")
        try:
            return Lab(folder, client=client).run(sweep, name="bench-explorer", concurrency=8, progress=False)
        finally:
            client.close()


def _best(fn: Callable[[], Any], runs: int, before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        close = getattr(out, "close", None)
        if close:
            close()
    return min(times)


def bench_explorer(folder: Path, n_images: int, size: str, runs: int) -> list[tuple[str, float, float | None]]:
    """(what, seconds, target) for each figure."""
    start = time.perf_counter()
    exp = build_experiment(folder, n_images, size)
    print(f"built {len(exp.images)} images of {size} in {time.perf_counter() - start:.1f} s (emulator, loopback)",
          file=sys.stderr)
    thumbs = folder / "thumbs"

    def drop_thumbs() -> None:
        shutil.rmtree(thumbs, ignore_errors=True)

    rows: list[tuple[str, float, float | None]] = []
    rows.append(("open, no thumbnail cached", _best(exp.explore, runs, drop_thumbs), OPEN_TARGET_S))
    rows.append(("open, thumbnails cached", _best(exp.explore, runs), OPEN_TARGET_S))
    ex = exp.explore()
    page = iter(range(1, ex.pages))
    rows.append(("page turn to the next page (made ahead)", _best(lambda: ex.go(next(page)), runs), PAGE_TARGET_S))
    rows.append(("page turn to a page seen before", _best(lambda: ex.go(1), runs), PAGE_TARGET_S))
    rows.append(("page turn, 10 pages on, no loop (waits)", _best(lambda: ex.go(ex.page + 10), runs), None))
    shown, filled = asyncio.run(_turns_in_a_loop(ex, runs))
    rows.append(("page turn, 10 pages on, in a kernel", shown, PAGE_TARGET_S))
    rows.append(("  ... until its thumbnails are in", filled, None))
    entries = [e for e in ex.items if e.image_id is not None]
    rows.append(("select a tile (full-resolution viewer)", _best(lambda: ex.select(entries[ex.page * ex.page_size]),
                                                                 runs), None))
    ex.close()
    return rows


async def _turns_in_a_loop(ex: Any, runs: int) -> tuple[float, float]:
    """Best times of a cold page turn with a running loop (as in a kernel): shown, and filled."""
    shown, filled = [], []
    for _ in range(runs):
        start = time.perf_counter()
        ex.go(ex.page + 10)
        shown.append(time.perf_counter() - start)
        if ex.grid.filling is not None:
            await ex.grid.filling
        filled.append(time.perf_counter() - start)
    return min(shown), min(filled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.explorer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="images in the experiment (default 2000)")
    parser.add_argument("--size", default="1024x1536", help="image size (default 1024x1536)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the best is printed (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_explorer(Path(tmp), args.images, args.size, args.runs)
    width = max(len(r[0]) for r in rows)
    print(f"explorer over {args.images} images (best of {args.runs})")
    for what, seconds, target in rows:
        verdict = "" if target is None else f"target < {target:.1f} s: {'ok' if seconds < target else 'MISSED'}"
        print(f"  {what:<{width}}  {seconds:7.3f} s   {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
