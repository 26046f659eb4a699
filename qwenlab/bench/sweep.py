"""Benchmark: `python -m qwenlab.bench.sweep [--quick]`. Prints figures; asserts nothing.

Everything runs against qwenlab's emulator on loopback, in a temporary data folder:

1. throughput: N tasks at concurrency C with a fixed latency L per task, through `Lab.run`
   (validation, logging, downloading and saving every image), against the ideal ceil(N/C) x L;
2. overhead at L=0: tasks per second through `Lab.run`, everything included;
3. baseline, in the same run: the sequential loop a notebook user would write with plain httpx
   (post the task, download the image, write the file), at the same latencies.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ..api.client import RunwareClient
from ..emulator import Emulator
from ..lab import Lab
from ..sweeps.sweep import Sweep

__all__ = ["main", "bench_lab", "bench_baseline"]

MODEL = "alibaba:qwen-image@2.0-pro"
PROMPT = "A premium poster for a skincare brand called 'LUMIERE', with the words 'Glow, Refined.'"
SIZE = "512x512"  # small images: the figures are about the client, not about JPEG encoding


def _sweep(n: int) -> Any:

    # n distinct cells: outputQuality 20..99 (80 values) times as few repeats as fit exactly
    qualities = list(range(20, 100))
    repeats = next((r for r in range(1, n + 1) if n % r == 0 and n // r <= len(qualities)), math.ceil(n / len(qualities)))
    per = math.ceil(n / repeats)
    sweep = Sweep(prompt=PROMPT, size=SIZE, promptExtend=False, axes={"outputQuality": qualities[:per]}, repeats=repeats)
    return sweep, len(sweep.cells())


def bench_lab(n: int, concurrency: int, latency: float) -> dict[str, Any]:
    """Run an n-cell sweep through Lab.run against an emulator with `latency`; figures."""

    sweep, cells = _sweep(n)
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=latency) as emu:
        client = RunwareClient("bench-key", emu.url, images_dir=Path(tmp) / "images")
        lab = Lab(tmp, client=client)
        start = time.perf_counter()
        exp = lab.run(sweep, name="bench", concurrency=concurrency, progress=False)
        elapsed = time.perf_counter() - start
        counts = exp.counts()
        client.close()
        lab.close()
        charged_twice = emu.ledger.charged_twice()
    ideal = math.ceil(cells / concurrency) * latency
    return {"what": "qwenlab Lab.run", "n": cells, "c": concurrency, "latency": latency, "seconds": elapsed,
            "tasks_per_s": cells / elapsed, "ideal": ideal, "done": counts["done"], "charged_twice": len(charged_twice)}


def bench_baseline(n: int, latency: float) -> dict[str, Any]:
    """The plain loop: POST one task, GET its image, write the file; sequential."""
    import httpx

    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=latency) as emu:
        out = Path(tmp)
        start = time.perf_counter()
        with httpx.Client(timeout=60) as http:
            for i in range(n):
                task = {"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": MODEL,
                        "positivePrompt": PROMPT, "width": 512, "height": 512, "outputQuality": 20 + i % 80,
                        "providerSettings": {"alibaba": {"promptExtend": False}}, "includeCost": True}
                r = http.post(emu.url, json=[task], headers={"Authorization": "Bearer bench-key"})
                r.raise_for_status()
                item = r.json()["data"][0]
                img = http.get(item["imageURL"])
                (out / f"{i}.jpg").write_bytes(img.content)
        elapsed = time.perf_counter() - start
    return {"what": "plain httpx loop", "n": n, "c": 1, "latency": latency, "seconds": elapsed,
            "tasks_per_s": n / elapsed, "ideal": n * latency, "done": n, "charged_twice": 0}


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'what':<18} {'N':>4} {'C':>3} {'L (s)':>6} {'seconds':>8} {'tasks/s':>8} {'ms/task':>8} {'ideal s':>8} {'% ideal':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        pct = f"{100 * r['ideal'] / r['seconds']:.0f}%" if r["ideal"] > 0 else "-"
        ideal = f"{r['ideal']:.1f}" if r["ideal"] > 0 else "-"
        lines.append(f"{r['what']:<18} {r['n']:>4} {r['c']:>3} {r['latency']:>6.2f} {r['seconds']:>8.2f} "
                     f"{r['tasks_per_s']:>8.1f} {1000 * r['seconds'] / r['n']:>8.1f} {ideal:>8} {pct:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tasks (a few seconds in all)")
    parser.add_argument("-n", type=int, default=None, help="tasks for the throughput run (default 200, quick 48)")
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args(argv)
    n = args.n or (48 if args.quick else 200)
    n0 = 48 if args.quick else 200
    nb = 6 if args.quick else 16
    print(f"qwenlab benchmark (emulator on loopback; {os.cpu_count()} CPUs; Python {sys.version.split()[0]})", flush=True)
    rows = []
    rows.append(bench_lab(n, args.concurrency, args.latency))
    print(f"  throughput done: {rows[-1]['seconds']:.1f} s", flush=True)
    rows.append(bench_baseline(nb, args.latency))
    rows.append(bench_lab(n0, args.concurrency, 0.0))
    rows.append(bench_lab(n0, 1, 0.0))
    rows.append(bench_baseline(n0, 0.0))
    print()
    print(_table(rows))
    thr, base_l, lab0, lab1, base0 = rows
    print()
    print(f"throughput at L={args.latency}: {100 * thr['ideal'] / thr['seconds']:.0f}% of ideal "
          f"(ceil({thr['n']}/{thr['c']}) x {args.latency} s = {thr['ideal']:.1f} s; target >= 90%)")
    print(f"speed-up over the plain sequential loop at L={args.latency}: {thr['tasks_per_s'] / base_l['tasks_per_s']:.1f}x")
    print(f"overhead at L=0: {1000 / lab1['tasks_per_s']:.1f} ms per task sequentially through Lab.run "
          f"(validation, SQLite log, download, checks, save) vs {1000 / base0['tasks_per_s']:.1f} ms for the plain loop "
          f"({lab1['tasks_per_s'] / base0['tasks_per_s']:.2f}x its speed); {lab0['tasks_per_s']:.0f} tasks/s at C={lab0['c']}")
    bad = [r for r in rows if r["done"] != r["n"] or r["charged_twice"]]
    if bad:
        print(f"WARNING: {len(bad)} runs did not finish cleanly: {bad}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
