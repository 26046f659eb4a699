"""Benchmark: `python -m qwenlab.bench.sweep [--quick]`. Prints figures; asserts nothing.

Both clients run against one qwenlab emulator served from a process of its own (so neither
shares its interpreter with the server), in temporary folders:

1. qwenlab `Lab.run`: N cells at concurrency C with a fixed latency L per task, everything
   included (validation, the SQLite log before and after each task, the download, the image
   checks, saving by hash);
2. Runware's own Python SDK (`runware-sdk`, the `bench` extra) on the same tasks: REST transport,
   asyncio, sync delivery, each image downloaded and written to disk (`qwenlab.bench.sdk`);
3. the same SDK doing qwenlab's duties by hand (`qwenlab.bench.duties`): each task's log row
   marked 'sent' before its request, its image checked, hashed and fsynced, the row completed,
   with the calls the runner makes. What those promises cost any client: the fair baseline for
   qwenlab's own overhead;
4. the ideal ceil(N/C) x L where L > 0.

The runs at L = 0 measure the clients' CPU as much as their speed: on a small machine the emulator
shares the processors with the client, and every millisecond a client spends slows the server it
waits for. So they run twice: on shared CPUs (the issue's figure), and apart (`cpu_split`: the
emulator on half the CPUs, the clients on the others), where, as with Runware, no client's CPU
slows the server and the figure is what a user waits for.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..api.client import RunwareClient
from ..lab import Lab
from ..sweeps.sweep import Sweep
from .duties import LogDuties
from .sdk import bench_sdk, sdk_available
from .served import cpu_split, on_cpus, served_emulator

__all__ = ["main", "bench_lab", "sdk_tasks", "throughput_rows", "print_throughput"]

MODEL = "alibaba:qwen-image@2.0-pro"
PROMPT = "A premium poster for a skincare brand called 'LUMIERE', with the words 'Glow, Refined.'"
SIZE = "512x512"  # small images: the figures are about the client, not about JPEG encoding
QUALITIES = list(range(20, 100))  # outputQuality's range on the model page: 20 to 99


def _sweep(n: int) -> tuple[Sweep, int]:
    # n distinct cells: outputQuality 20..99 (80 values) times as few repeats as fit exactly
    repeats = next((r for r in range(1, n + 1) if n % r == 0 and n // r <= len(QUALITIES)), math.ceil(n / len(QUALITIES)))
    per = math.ceil(n / repeats)
    sweep = Sweep(prompt=PROMPT, seed_policy="sample", size=SIZE, promptExtend=False, axes={"outputQuality": QUALITIES[:per]}, repeats=repeats)
    return sweep, len(sweep.cells())


def sdk_tasks(n: int) -> list[dict[str, Any]]:
    """The same n tasks as `bench_lab` sends (the same outputQuality values, in the same order:
    a JPEG's size, so the emulator's work and the bytes fetched, follow it), as task dicts for the SDK."""
    w, h = (int(x) for x in SIZE.split("x"))
    sweep, _ = _sweep(n)
    return [{"model": MODEL, "positivePrompt": PROMPT, "width": w, "height": h, "outputQuality": c.request.get("outputQuality"),
             "providerSettings": {"alibaba": {"promptExtend": False}}, "includeCost": True} for c in sweep.cells()]


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_lab(url: str, n: int, concurrency: int) -> dict[str, Any]:
    """Run an n-cell sweep through Lab.run against the emulator at `url`; seconds, CPU seconds of
    this process, cells done."""
    sweep, cells = _sweep(n)
    with tempfile.TemporaryDirectory() as tmp:
        client = RunwareClient("bench-key", url, images_dir=Path(tmp) / "images")
        lab = Lab(tmp, client=client)
        cpu, start = _cpu_s(), time.perf_counter()
        exp = lab.run(sweep, name="bench", concurrency=concurrency, progress=False)
        elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu
        done = exp.counts()["done"]
        client.close()
        lab.close()
    return {"n": cells, "seconds": elapsed, "cpu": cpu, "done": done}


def _sdk(url: str, n: int, concurrency: int) -> dict[str, Any]:
    cpu = _cpu_s()
    seconds = bench_sdk(url, sdk_tasks(n), concurrency)
    return {"n": n, "seconds": seconds, "cpu": _cpu_s() - cpu, "done": n}


def _sdk_duties(url: str, n: int, concurrency: int) -> dict[str, Any]:
    tasks = sdk_tasks(n)
    with tempfile.TemporaryDirectory() as tmp:
        duties = LogDuties(Path(tmp), api_host=urlsplit(url).netloc)
        try:
            cpu, start = _cpu_s(), time.perf_counter()
            duties.add(tasks)  # counted: Lab.run logs its cells within its time too
            logging = time.perf_counter() - start
            seconds = logging + bench_sdk(url, tasks, concurrency, duties=duties)
            cpu = _cpu_s() - cpu
            done = duties.done()
        finally:
            duties.close()
    return {"n": n, "seconds": seconds, "cpu": cpu, "done": done}


def throughput_rows(runs: list[tuple[int, int, float]], *, rounds: int = 1, apart: bool = False) -> list[dict[str, Any]]:
    """For each (N, C, L): qwenlab and the SDK (when installed) on one emulator process with
    latency L, alternating, best of `rounds` each (the machine is shared: the best run is the
    one least disturbed). Each row also keeps every round's seconds by side (`rounds_<side>`).
    `apart`: the emulator on half the CPUs and every client on the others (`cpu_split`), the row's
    `cpus` saying which; no rows where the machine cannot be split."""
    split = cpu_split() if apart else None
    if apart and split is None:
        return []
    server, client = split if split else (None, None)
    rows = []
    for n, c, latency in runs:
        with served_emulator(latency, cpus=server) as url, (on_cpus(client) if client else contextlib.nullcontext()):
            bench_lab(url, 8, 1)  # warm up both sides (imports, connections, the emulator's fonts)
            if sdk_available():
                _sdk(url, 8, 1)
                _sdk_duties(url, 8, 1)
            best: dict[str, dict[str, Any]] = {}
            each: dict[str, list[float]] = {}  # every round's seconds, by side: the spread the best hides
            for _ in range(rounds):
                sides = {"qwenlab": lambda: bench_lab(url, n, c)}
                if sdk_available():
                    sides["sdk"] = lambda: _sdk(url, n, c)
                    sides["duties"] = lambda: _sdk_duties(url, n, c)
                for side, run in sides.items():
                    r = run()
                    each.setdefault(side, []).append(r["seconds"])
                    if side not in best or r["seconds"] < best[side]["seconds"]:
                        best[side] = r
        ideal = math.ceil(n / c) * latency
        rows.append({"n": n, "c": c, "latency": latency, "ideal": ideal, "cpus": split,
                     **{f"{k}_{side}": v for side, r in best.items() for k, v in r.items()},
                     **{f"rounds_{side}": seconds for side, seconds in each.items()}})
    return rows


def print_throughput(rows: list[dict[str, Any]]) -> None:
    """The table of `throughput_rows`, and each figure against its target."""
    head = (f"{'N':>4} {'C':>3} {'L (s)':>6} {'CPUs':>6} | {'qwenlab s':>9} {'ms/task':>8} {'cpu ms':>7} {'% ideal':>8} | "
            f"{'SDK s':>7} {'ms/task':>8} {'cpu ms':>7} {'% ideal':>8} | {'qwenlab vs SDK':>14} | "
            f"{'SDK+duties ms/task':>18} {'cpu ms':>7} | {'vs SDK+duties':>13}")
    print(head)
    print("-" * len(head))
    for r in rows:
        def side(s: str) -> str:
            if f"seconds_{s}" not in r:
                return f"{'-':>7} {'-':>8} {'-':>7} {'-':>8}" if s == "sdk" else ""
            secs, n = r[f"seconds_{s}"], r[f"n_{s}"]
            pct = f"{100 * r['ideal'] / secs:.1f}%" if r["ideal"] else "-"
            width = 9 if s == "qwenlab" else 7
            return f"{secs:>{width}.2f} {1000 * secs / n:>8.2f} {1000 * r[f'cpu_{s}'] / n:>7.2f} {pct:>8}"
        ratio = f"{r['seconds_sdk'] / r['seconds_qwenlab']:.2f}x" if "seconds_sdk" in r else "(no SDK)"
        if "seconds_duties" in r:
            n = r["n_duties"]
            duties = f"{1000 * r['seconds_duties'] / n:>18.2f} {1000 * r['cpu_duties'] / n:>7.2f} | " \
                     f"{r['seconds_duties'] / r['seconds_qwenlab']:>12.2f}x"
        else:
            duties = f"{'-':>18} {'-':>7} | {'-':>13}"
        print(f"{r['n']:>4} {r['c']:>3} {r['latency']:>6.2f} {_cpus(r):>6} | {side('qwenlab')} | {side('sdk')} | {ratio:>14} | {duties}")
    print()
    for r in rows:
        label = f"N={r['n']} C={r['c']} L={r['latency']:g}"
        if r.get("cpus"):
            server, client = (_cpu_list(cpus) for cpus in r["cpus"])
            label += f", the emulator on CPU {server} and the clients on CPU {client}"
        if r["ideal"]:
            print(f"  {label}: qwenlab at {100 * r['ideal'] / r['seconds_qwenlab']:.1f}% of the ideal "
                  f"ceil(N/C) x L = {r['ideal']:.1f} s (target >= 98%)")
        if "seconds_sdk" in r:
            target = ("the target is the shared run's; here no client's CPU slows the server, as with Runware" if r.get("cpus")
                      else f"target >= {'1.00' if not r['latency'] else '0.95'}x")
            print(f"  {label}: qwenlab at {r['seconds_sdk'] / r['seconds_qwenlab']:.2f}x runware-sdk's speed"
                  f"{_spread(r, 'sdk')} ({target})")
        if "seconds_duties" in r:
            print(f"  {label}: qwenlab at {r['seconds_duties'] / r['seconds_qwenlab']:.2f}x runware-sdk doing qwenlab's "
                  f"duties{_spread(r, 'duties')} (no target: what the log and the saved image cost)")
    bad = [(r, s) for r in rows for s in ("qwenlab", "duties") if f"done_{s}" in r and r[f"done_{s}"] != r[f"n_{s}"]]
    if bad:
        print(f"WARNING: {len(bad)} runs did not finish every task: {bad}")
    if not sdk_available():
        print("runware-sdk is not installed: pip install 'qwenlab[bench]' for the side-by-side run")


def _cpus(row: dict[str, Any]) -> str:
    """'shared', or the emulator's and the clients' CPUs of a row run apart: '0|1'."""
    if not row.get("cpus"):
        return "shared"
    return "|".join(_cpu_list(cpus) for cpus in row["cpus"])


def _cpu_list(cpus: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


def _spread(row: dict[str, Any], side: str) -> str:
    """', each round 0.91x to 0.99x': the ratio of each round's two runs, which ran back to back,
    so a reader sees how much of a best-of figure is this machine's noise ('' for one round)."""
    ours, theirs = row.get("rounds_qwenlab", []), row.get(f"rounds_{side}", [])
    if min(len(ours), len(theirs)) < 2:
        return ""
    ratios = [t / q for q, t in zip(ours, theirs)]
    return f", each round {min(ratios):.2f}x to {max(ratios):.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tasks (a few seconds in all)")
    parser.add_argument("-n", type=int, default=None, help="tasks per run (default 200, quick 48)")
    parser.add_argument("--rounds", type=int, default=None, help="runs of each side, best kept (default 3, quick 1)")
    args = parser.parse_args(argv)
    n = args.n or (48 if args.quick else 200)
    rounds = args.rounds or (1 if args.quick else 3)
    print(f"qwenlab sweep benchmark: the emulator in its own process on loopback; {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}; best of {rounds}", flush=True)
    rows = throughput_rows([(n, 8, 0.5), (n, 8, 0.0), (n, 1, 0.0)], rounds=rounds)
    rows += throughput_rows([(n, 8, 0.0), (n, 1, 0.0)], rounds=rounds, apart=True)
    print_throughput(rows)
    if cpu_split() is None:
        print("the runs apart (the emulator and the clients on CPUs of their own) need 2 CPUs and Linux: left out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
