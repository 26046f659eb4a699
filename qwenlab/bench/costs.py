"""Benchmark of the cost summaries and `qwenlab logs` over a 1,000,000-task log: `python -m qwenlab.bench.costs`.

It writes a log (`qwenlab.bench.costs_log`, through `qwenlab.store.log.Log`: the real schema) with
tasks whose true totals it computes as it goes (API costs, an API price that differs from the
description's, two dated prices, estimates, failed tasks charged and not, tasks in doubt, unsent
cells, retried cells, ratings), checks that `Costs` finds those totals, then times every summary:

- `qwenlab`: `Costs` on the log as qwenlab keeps it (with the cost indexes);
- `no index`: the same `Costs` code on a copy of the file without the cost indexes and the cost
  rollups (m013), so every summary sums the task rows themselves;
- `pandas`: what a notebook would do without qwenlab: read the tables whole into pandas and
  group there (for the summaries that have such an obvious equivalent).

Each figure is the best of `--repeat` runs (default 3), in the same process; `qwenlab logs` (the
listing, and one experiment's tasks) is timed as a command in a process of its own, imports
included. `cold` times one call after the OS was told to let the log's cached pages go (as on the
first call of a new session): with qwenlab's prefetch (`qwenlab.store.prefetch`), and without it
(`no prefetch`), where the summary reads rows from the tasks. Target: every summary and `logs` under 2 s on 1,000,000 tasks. The log is built once
(about a minute per million tasks) and kept under `<data>/bench/` with its truth for the next runs
(`--no-cache` builds it afresh). Options: --tasks N, --repeat R, --keep DIR (build into DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ..costs.frames import Costs
from ..costs.plots import cumulative_spend
from ..store import prefetch
from ..store.log import Log
from ..store.rows import utc_now
from .costs_log import Truth, build_log, cached_log

__all__ = ["build_log", "cached_log", "time_logs_command", "drop_cached", "time_cold", "Truth", "main", "SUMMARIES",
           "LOGS_COMMANDS"]

COST_INDEXES = ("idx_tasks_costs", "idx_tasks_history", "idx_tasks_price_times")
ROLLUP_TABLES = ("cost_rollups", "cost_settings", "cost_image_prices", "cost_scores")  # m013, m015: without them Costs sums the tasks


# Runs `qwenlab logs` and reports the command's own peak memory: VmHWM of its own address space,
# read as it exits (a child's ru_maxrss also counts the parent's pages it was forked with).
_LOGS_WITH_PEAK = ("import atexit, runpy, sys\n"
                   "def peak():\n"
                   "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
                   "    sys.stderr.write('qwenlab-peak-kb ' + (hwm[0].split()[1] if hwm else '0') + '\\n')\n"
                   "atexit.register(peak)\n"
                   "sys.argv = ['qwenlab', 'logs', *sys.argv[1:]]\n"
                   "runpy.run_module('qwenlab.cli', run_name='__main__')\n")


def time_logs_command(path: Path, *args: str, repeat: int = 3) -> tuple[float, int]:
    """Best wall seconds of `qwenlab logs ARGS` on the log at `path`, run as the command is, in a
    process of its own (imports included), and the peak memory of that process in MB."""
    env = {**os.environ, "QWENLAB_DATA_DIR": str(path.parent)}
    best, peak = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _LOGS_WITH_PEAK, *args], env=env, check=True, capture_output=True,
                              text=True)
        best = min(best, time.perf_counter() - started)
        kb = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("qwenlab-peak-kb ")]
        peak = max(peak, (kb[0] if kb else 0) // 1024)
    return best, peak


# -- the baseline a notebook would write: everything into pandas --------------------------------
def _naive_tasks(path: Path) -> Any:
    import pandas as pd

    with sqlite3.connect(path) as conn:
        tasks = pd.read_sql_query("SELECT * FROM tasks", conn)
        images = pd.read_sql_query("SELECT * FROM images", conn)
        exps = pd.read_sql_query("SELECT * FROM experiments", conn)
    tasks = tasks.merge(exps[["id", "name"]].rename(columns={"id": "experiment_id", "name": "experiment"}), on="experiment_id")
    counts = images.groupby("task_id").size().rename("images")
    tasks = tasks.join(counts, on="id")
    tasks["images"] = tasks["images"].fillna(0)
    done_or_sent = tasks["status"].isin(["done", "sent"])
    tasks["cost"] = tasks["cost_usd"].fillna(tasks["estimated_cost_usd"].where(done_or_sent, 0.0))
    return tasks


def _naive_by(path: Path, key: str) -> Any:
    tasks = _naive_tasks(path)
    if key == "day":
        tasks["day"] = tasks["completed_at"].fillna(tasks["sent_at"]).fillna(tasks["created_at"]).str[:10]
    elif key not in tasks.columns:
        tasks[key] = [json.loads(c).get(key) for c in tasks["cell_json"]]
    return tasks.groupby(key)[["cost", "images"]].sum()


def _naive_kept(path: Path, min_score: int) -> Any:
    import pandas as pd

    tasks = _naive_tasks(path)
    with sqlite3.connect(path) as conn:
        images = pd.read_sql_query("SELECT id, task_id FROM images", conn)
        ratings = pd.read_sql_query("SELECT * FROM ratings WHERE score IS NOT NULL", conn)
    latest = ratings.sort_values("id").groupby("image_id").tail(1)
    kept = latest[latest["score"] >= min_score].merge(images, left_on="image_id", right_on="id").merge(
        tasks[["id", "experiment"]], left_on="task_id", right_on="id")
    out = tasks.groupby("experiment")["cost"].sum().to_frame().join(kept.groupby("experiment").size().rename("kept"))
    out["usd_per_kept_image"] = out["cost"] / out["kept"]
    return out


# -- the summaries timed, and the pandas equivalents where there is an obvious one ------------------
MIN_SCORE = 4
# `qwenlab logs` as timed: the listing of experiments, and one experiment's first 200 tasks
LOGS_COMMANDS: list[tuple[str, tuple[str, ...]]] = [("qwenlab logs", ()), ("qwenlab logs bench-07", ("bench-07",))]
SUMMARIES: list[tuple[str, Callable[[Costs], Any]]] = [
    ('by("experiment")', lambda c: c.by("experiment")),
    ('by("model")', lambda c: c.by("model")),
    ('by("size")', lambda c: c.by("size")),
    ('by("day")', lambda c: c.by("day")),
    ('by("week")', lambda c: c.by("week")),
    ('by("promptExtend")', lambda c: c.by("promptExtend")),
    ('by("setting")', lambda c: c.by("setting")),
    ('by(["experiment", "day"])', lambda c: c.by(["experiment", "day"])),
    ("estimate_vs_actual()", lambda c: c.estimate_vs_actual()),
    ("budget()", lambda c: c.budget()),
    (f"per_kept_image(min_score={MIN_SCORE})", lambda c: c.per_kept_image(min_score=MIN_SCORE)),
    # by an axis: the rated images per setting (m015's cost_scores; without them, each rated image's cell)
    (f'per_kept_image(min_score={MIN_SCORE}, by="promptExtend")',
     lambda c: c.per_kept_image(min_score=MIN_SCORE, by="promptExtend")),
    # a window with a bound inside a day: the rated images of the rest of that day from its tasks
    (f'filter(since="2026-10-01T12:00").per_kept_image(min_score={MIN_SCORE}, by="promptExtend")',
     lambda c: c.filter(since="2026-10-01T12:00").per_kept_image(min_score=MIN_SCORE, by="promptExtend")),
    ("price_changes()", lambda c: c.price_changes()),
    ("failed()", lambda c: c.failed()),
    ("timeline()", lambda c: c.timeline()),
    ("totals()", lambda c: c.totals()),
    ("summary()", lambda c: c.summary()),
    ('filter(since="2026-10-01").by("day")', lambda c: c.filter(since="2026-10-01").by("day")),
    # a window of whole days (`qwenlab costs --since 7d`): every summary of it from the rollups
    ('filter(since="7d").summary()', lambda c: c.filter(since="7d").summary()),
    # a bound inside a day: the whole days from the rollups, the rest of that day from its tasks
    ('filter(since="2026-10-01T12:00").summary()', lambda c: c.filter(since="2026-10-01T12:00").summary()),
]
NAIVE: dict[str, Callable[[Path], Any]] = {
    'by("experiment")': lambda path: _naive_tasks(path).groupby("experiment")[["cost", "images"]].sum(),
    'by("model")': lambda path: _naive_by(path, "model"),
    'by("day")': lambda path: _naive_by(path, "day"),
    'by("promptExtend")': lambda path: _naive_by(path, "promptExtend"),
    f"per_kept_image(min_score={MIN_SCORE})": lambda path: _naive_kept(path, MIN_SCORE),
}


# -- timing ----------------------------------------------------------------------------------------
def drop_cached(path: Path) -> bool:
    """Tell the OS to let go of its cached pages of the SQLite file at `path` (and its WAL), so
    that the next read comes from the disk, as the first one of a new session does. No privilege
    needed. False where the OS has no posix_fadvise (then nothing was dropped)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for file in (path, Path(f"{path}-wal")):
        try:
            fd = os.open(file, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)  # dirty pages cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def time_cold(fn: Callable[[], Any], path: Path, *, prefetching: bool = True) -> float:
    """Seconds of one call of `fn` right after the log's pages were dropped from the OS's cache,
    with qwenlab's prefetch or (`prefetching=False`) without; NaN where pages cannot be dropped."""
    if not drop_cached(path):
        return float("nan")
    saved = prefetch.PREFETCH_MIN_BYTES
    prefetch.PREFETCH_MIN_BYTES = saved if prefetching else float("inf")
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        prefetch.PREFETCH_MIN_BYTES = saved


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _check(costs: Costs, truth: Truth, min_score: int) -> list[str]:
    t = costs.totals()
    problems = []
    for name in ("tasks", "images", "api_usd", "estimate_usd", "in_doubt_usd", "failed_usd", "failed_estimate_usd", "cost_usd"):
        want = getattr(truth, name)
        if abs(t[name] - want) > 1e-6 * max(1.0, abs(want)):
            problems.append(f"{name}: qwenlab {t[name]:.6f}, truth {want:.6f}")
    by = costs.by("experiment")["cost_usd"]
    for name, want in truth.by_experiment.items():
        if abs(by[name] - want) > 1e-6 * max(1.0, want):
            problems.append(f"experiment {name}: qwenlab {by[name]:.6f}, truth {want:.6f}")
    kept = int(costs.per_kept_image(min_score=min_score)["kept"].sum())
    if kept != truth.kept:
        problems.append(f"kept images: qwenlab {kept}, truth {truth.kept}")
    differing = int(costs.price_changes()["differing_images"].sum())
    if differing != truth.differing_images:
        problems.append(f"images at another price: qwenlab {differing}, truth {truth.differing_images}")
    return problems


def _drawn(fig: Any) -> int:
    """The figure drawn and encoded as PNG, as a notebook displays it; its bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.tell()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.costs", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--no-cache", action="store_true", help="build the log again even if one is kept")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baselines", action="store_true",
                        help="time the no-index and pandas baselines too (done by default up to 100,000 tasks)")
    parser.add_argument("--keep", type=Path, default=None, help="build the log in this folder (instead of <data>/bench/)")
    args = parser.parse_args(argv)
    min_score = MIN_SCORE
    path, truth, built = cached_log(args.tasks, args.keep, min_score=min_score, rebuild=args.no_cache)
    how = f"built in {built:.1f} s" if built else "built before, reused (--no-cache builds it again)"
    print(f"{truth.tasks:,} requests, {truth.images:,} images, {how}: {path} "
          f"({path.stat().st_size / 1e6:.0f} MB), true spend ${truth.cost_usd:,.4f}")
    folder = Path(tempfile.mkdtemp(prefix="qwenlab-bench-costs-"))
    bare = folder / "bench-noindex.db"
    if args.baselines or args.tasks <= 100_000:
        with sqlite3.connect(path) as src, sqlite3.connect(bare) as dst:
            src.backup(dst)
            for name in COST_INDEXES:
                dst.execute(f"DROP INDEX IF EXISTS [{name}]")
            for name in ROLLUP_TABLES:
                dst.execute(f"DROP TABLE IF EXISTS [{name}]")
            dst.execute("ANALYZE")
    costs, plain = Costs(Log(path)), Costs(Log(bare))
    problems = _check(costs, truth, min_score)
    print("totals check: " + ("every total matches the truth" if not problems else "MISMATCH\n  " + "\n  ".join(problems)))

    width = max(40, *(len(name) for name, _ in SUMMARIES))
    print(f"\n{'summary':{width}} {'qwenlab':>9} {'no index':>9} {'ratio':>6} {'pandas':>9} {'ratio':>6} {'cold':>9} "
          f"{'no prefetch':>12} {'ratio':>6}")
    slow = []
    # the baselines (no index; pandas on whole tables, which holds every row in memory) by default
    # up to 100,000 tasks: on a million they take minutes and gigabytes and show nothing new
    baselines = args.baselines or args.tasks <= 100_000
    for name, fn in SUMMARIES:
        naive = (lambda: NAIVE[name](path)) if name in NAIVE else None
        ours = _best(lambda: fn(costs), args.repeat)
        bare_t = _best(lambda: fn(plain), args.repeat) if baselines else float("nan")
        naive_t = _best(naive, max(1, args.repeat - 1)) if naive and baselines else None
        cold_without = time_cold(lambda: fn(costs), path, prefetching=False)
        cold = time_cold(lambda: fn(costs), path)
        slow += [name] if max(ours, cold) >= 2.0 else []
        bare_text = f"{bare_t:8.3f}s {bare_t / ours:5.1f}x" if baselines else f"{'-':>9} {'-':>6}"
        print(f"{name:{width}} {ours:8.3f}s {bare_text} "
              + (f"{naive_t:8.3f}s {naive_t / ours:5.1f}x" if naive_t else f"{'-':>9} {'-':>6}")
              + f" {cold:8.3f}s {cold_without:11.3f}s {cold_without / cold:5.1f}x")
    for what, cmd in LOGS_COMMANDS:
        cold = time_logs_command(path, *cmd, repeat=1)[0] if drop_cached(path) else float("nan")
        seconds, peak = time_logs_command(path, *cmd, repeat=args.repeat)
        slow += [what] if max(seconds, cold) >= 2.0 else []
        print(f"{what:{width}} {seconds:8.3f}s   (the command, in its own process; peak memory {peak} MB; cold {cold:.3f}s)")
    # the spend over time as a figure (no target: a plot, not a summary), drawn and encoded as a
    # notebook shows it; its lines went to matplotlib as lists of Timestamps, 28 s a million
    drawn = _best(lambda: _drawn(cumulative_spend(costs)), 1)
    print(f"{'plot: cumulative_spend (drawn as PNG)':{width}} {drawn:8.3f}s   (no target)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\n{len(SUMMARIES) + 2 - len(slow)} of {len(SUMMARIES) + 2} figures under 2 s on {args.tasks:,} tasks"
          + (f"; over: {', '.join(slow)}" if slow else "") + f"; peak memory of this process {peak_mb} MB"
          + f"  (python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {utc_now()[:10]})")
    costs.log.close()
    plain.log.close()
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
