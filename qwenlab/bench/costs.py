"""Benchmark of the cost summaries and `qwenlab logs` over a 1,000,000-task log: `python -m qwenlab.bench.costs`.

It writes a log through `qwenlab.store.log.Log` (the real schema) with tasks whose true totals it
computes as it goes (API costs, an API price that differs from the description's, two dated
prices, estimates, failed tasks charged and not, tasks in doubt, unsent cells, retried cells,
ratings), checks that `Costs` finds those totals, then times every summary:

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
import dataclasses
import datetime as dt
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.values import format_value
from ..costs.frames import Costs
from ..paths import DB_NAME, data_dir
from ..store import prefetch
from ..store.log import Log
from ..store.rows import utc_now

__all__ = ["build_log", "cached_log", "time_logs_command", "drop_cached", "time_cold", "Truth", "main", "SUMMARIES",
           "LOGS_COMMANDS"]

# bumped whenever build_log writes another log: cached logs of an older build are not reused
BUILD_VERSION = 2

PRO, BASE = "alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"
# the prices recorded at send time: before and after a (fictional) price change on 2026-09-01
PRICES = {PRO: (0.075, 0.060), BASE: (0.035, 0.030)}
CHANGE = "2026-09-01"
API_SURCHARGE = 0.005  # what the API charged above the recorded price on some tasks
SIZES = [(1024, 1536), (1536, 1024), (1024, 1024)]
PROMPT = ("A premium beauty advertising poster for a fictional skincare brand called LUMIERE. Centered frosted glass "
          "serum bottle with a silver dropper on a reflective marble pedestal, surrounded by soft white orchids, dew "
          "drops, and a subtle halo of light. Clean luxury studio lighting, creamy ivory and champagne color palette. ")
COST_INDEXES = ("idx_tasks_costs", "idx_tasks_history", "idx_tasks_price_times")
ROLLUP_TABLES = ("cost_rollups", "cost_settings", "cost_image_prices", "cost_scores")  # m013, m015: without them Costs sums the tasks


@dataclass
class Truth:
    """Totals computed while the log is written, independently of qwenlab.costs.frames."""

    tasks: int = 0  # requests, earlier failed attempts included
    images: int = 0
    api_usd: float = 0.0
    estimate_usd: float = 0.0
    in_doubt_usd: float = 0.0
    failed_usd: float = 0.0
    differing_images: int = 0
    kept: int = 0
    by_experiment: dict[str, float] = field(default_factory=dict)

    @property
    def cost_usd(self) -> float:
        return self.api_usd + self.estimate_usd + self.in_doubt_usd


def build_log(path: Path, n_tasks: int = 100_000, n_experiments: int = 20, seed: int = 7, min_score: int = 4) -> Truth:
    """Write a log of `n_tasks` tasks at `path` and return its true totals."""
    rng = random.Random(seed)
    truth = Truth()
    start = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    per_exp = n_tasks // n_experiments
    with Log(path) as log:
        for e in range(n_experiments):
            model = PRO if e % 4 else BASE
            name = f"bench-{e:02d}"
            axes = {"promptExtend": [True, False], "size": [f"{w}x{h}" for w, h in SIZES], "negativePrompt": [None, "blurry text"]}
            sweep = {"model": model, "axes": {a: {"kind": "param", "labels": [_label(v) for v in vals], "values": vals}
                                             for a, vals in axes.items()}}
            exp = log.ensure_experiment(name, model=model, sweep_json=json.dumps(sweep), budget_usd=per_exp * 0.1,
                                        axes_json=json.dumps({a: [_label(v) for v in vals] for a, vals in axes.items()}))
            rows, images, exp_cost = [], [], 0.0
            for i in range(per_exp):
                at = start + dt.timedelta(seconds=(e * per_exp + i) * 100 + rng.randint(0, 50))
                when = at.isoformat(timespec="milliseconds")
                price = PRICES[model][0 if when < CHANGE else 1]
                n = 2 if rng.random() < 0.1 else 1
                w, h = SIZES[(i // 2) % 3]
                cell = {"promptExtend": i % 2 == 0, "size": f"{w}x{h}", "negativePrompt": None if (i // 6) % 2 else "blurry text",
                        "repeat": i // 12}
                row: dict[str, Any] = {
                    "task_uuid": f"{e:04d}-{i:08d}", "experiment_id": exp["id"], "cell_key": f"c{i}", "cell_json": json.dumps(cell),
                    "repeat": cell["repeat"], "model": model, "prompt": PROMPT + str(i), "prompt_extend": int(cell["promptExtend"]),
                    "negative_prompt": cell["negativePrompt"], "width": w, "height": h, "number_results": n, "seed_policy": "sample",
                    "request_json": json.dumps({"taskType": "imageInference", "taskUUID": f"{e:04d}-{i:08d}", "model": model,
                                                "positivePrompt": PROMPT + str(i), "width": w, "height": h, "includeCost": True}),
                    "estimated_cost_usd": round(price * n, 6), "price_usd": price, "attempts": 1,
                    "created_at": when, "sent_at": when, "completed_at": when, "latency_s": 1.0,
                }
                r = rng.random()
                cost = 0.0
                if r < 0.90:  # done, the API's cost; 2% of those at another price than the description's
                    per_image = price + API_SURCHARGE if rng.random() < 0.02 else price
                    truth.differing_images += n if per_image != price else 0
                    row.update(status="done", cost_usd=round(per_image * n, 6), cost_source="api")
                    cost = round(per_image * n, 6)
                    truth.api_usd += cost
                    images += _images(rng, truth, exp["id"], row["task_uuid"], n, per_image, when, min_score)
                elif r < 0.93:  # done, no cost reported: the estimate
                    row.update(status="done", cost_usd=None, cost_source="estimate")
                    cost = row["estimated_cost_usd"]
                    truth.estimate_usd += cost
                    images += _images(rng, truth, exp["id"], row["task_uuid"], n, None, when, min_score)
                elif r < 0.97:  # failed, not charged
                    row.update(status="failed", error_code="inferenceError", error_message="emulated failure", http_status=400)
                elif r < 0.98:  # failed, and charged all the same
                    row.update(status="failed", error_code="inferenceError", error_message="charged failure", cost_usd=price,
                               cost_source="api")
                    cost = price
                    truth.api_usd += cost
                    truth.failed_usd += cost
                elif r < 0.99:  # sent, never answered: in doubt
                    row.update(status="sent", completed_at=None)
                    cost = row["estimated_cost_usd"]
                    truth.in_doubt_usd += cost
                else:  # not sent yet
                    row.update(status="pending", sent_at=None, completed_at=None, attempts=0)
                if rng.random() < 0.005 and row["status"] != "pending":  # a retried cell: one earlier failed attempt
                    charged = price if rng.random() < 0.5 else None
                    row["history_json"] = json.dumps([{"task_uuid": f"old-{e}-{i}", "status": "failed", "error_code": "inferenceError",
                                                       "cost_usd": charged, "sent_at": when, "completed_at": when}])
                    truth.tasks += 1
                    if charged:
                        truth.api_usd += charged
                        truth.failed_usd += charged
                        cost += charged
                truth.tasks += 1
                exp_cost += cost
                rows.append(row)
            log.add_tasks(rows)  # one executemany
            ids = {r["task_uuid"]: r["id"] for r in log.rows("SELECT id, task_uuid FROM tasks WHERE experiment_id = ?", [exp["id"]])}
            ratings = []
            with log.transaction() as db:
                for img in images:
                    img["task_id"] = ids[img["task_uuid"]]
                    ratings.append(img.pop("_score"))
                if images:
                    db.conn.executemany(f"INSERT INTO images ({', '.join(images[0])}) VALUES ({', '.join('?' * len(images[0]))})",
                                        [list(img.values()) for img in images])
                image_ids = {r[1]: r[0] for r in db.conn.execute("SELECT id, image_uuid FROM images WHERE experiment_id = ?",
                                                                  [exp["id"]])}
                db.conn.executemany("INSERT INTO ratings (image_id, score, created_at) VALUES (?, ?, ?)",
                                    [(image_ids[img["image_uuid"]], score, img["created_at"])
                                     for img, score in zip(images, ratings) if score is not None])
            truth.by_experiment[name] = exp_cost
        log.db.conn.execute("ANALYZE")
    return truth


def cached_log(n_tasks: int, folder: Path | None = None, *, min_score: int = 4, rebuild: bool = False) -> tuple[Path, Truth, float]:
    """The benchmark's log of `n_tasks` tasks and its truth, built once and kept in `folder`
    (default `<data>/bench/`); the seconds the build took now (0 when it was reused)."""
    # a data folder of its own (qwenlab.db in it), so that `qwenlab logs` can be pointed at it
    home = (folder if folder is not None else data_dir() / "bench") / f"costs-{n_tasks}-v{BUILD_VERSION}"
    home.mkdir(parents=True, exist_ok=True)
    path, truth_path = home / DB_NAME, home / "truth.json"
    if not rebuild and path.exists() and truth_path.exists():
        return path, Truth(**json.loads(truth_path.read_text())), 0.0
    for old in home.iterdir():
        old.unlink()
    started = time.perf_counter()
    truth = build_log(path, n_tasks, min_score=min_score)
    truth_path.write_text(json.dumps(dataclasses.asdict(truth)))
    return path, truth, time.perf_counter() - started


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


def _images(rng: random.Random, truth: Truth, exp_id: int, task_uuid: str, n: int, per_image: float | None, when: str,
            min_score: int) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        score = rng.randint(1, 5) if rng.random() < 0.3 else None
        truth.images += 1
        truth.kept += int(score is not None and score >= min_score)
        out.append({"image_uuid": f"{task_uuid}-{k}", "task_uuid": task_uuid, "experiment_id": exp_id, "seed": rng.randint(0, 2**31),
                    "cost_usd": per_image, "cost_source": "api" if per_image is not None else "estimate", "path": f"images/{task_uuid}-{k}.jpg",
                    "sha256": "0" * 64, "format": "JPG", "width": 1024, "height": 1024, "bytes": 200_000, "created_at": when,
                    "_score": score})
    return out


def _label(value: Any) -> str:

    return format_value(value)


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
    for name in ("tasks", "images", "api_usd", "estimate_usd", "in_doubt_usd", "failed_usd", "cost_usd"):
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
    summaries = SUMMARIES
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\n{len(summaries) + 2 - len(slow)} of {len(summaries) + 2} figures under 2 s on {args.tasks:,} tasks"
          + (f"; over: {', '.join(slow)}" if slow else "") + f"; peak memory of this process {peak_mb} MB"
          + f"  (python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {utc_now()[:10]})")
    costs.log.close()
    plain.log.close()
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
