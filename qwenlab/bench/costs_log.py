"""The cost benchmark's log: a log of many tasks written with the totals they truly add up to.

`build_log` writes, through `qwenlab.store.log.Log` (the real schema), experiments of tasks drawn
at random: API costs, an API price that differs from the description's, two dated prices,
estimates, failed tasks charged and not, failed tasks whose lost images count at their estimate,
tasks in doubt, unsent cells, retried cells, ratings;
its `Truth` is computed as it goes, independently of qwenlab.costs.frames, for
`qwenlab.bench.costs` to check `Costs` against. `cached_log` builds it once and keeps it, with
its truth, under `<data>/bench/` (`BUILD_VERSION` retires the logs of an older build).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.values import format_value
from ..paths import DB_NAME, data_dir
from ..store.log import Log

__all__ = ["build_log", "cached_log", "Truth"]

# bumped whenever build_log writes another log: cached logs of an older build are not reused
BUILD_VERSION = 3  # 3: failed tasks whose lost images are counted at their estimate (cost_source 'estimate')

PRO, BASE = "alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"
# the prices recorded at send time: before and after a (fictional) price change on 2026-09-01
PRICES = {PRO: (0.075, 0.060), BASE: (0.035, 0.030)}
CHANGE = "2026-09-01"
API_SURCHARGE = 0.005  # what the API charged above the recorded price on some tasks
SIZES = [(1024, 1536), (1536, 1024), (1024, 1024)]
PROMPT = ("A premium beauty advertising poster for a fictional skincare brand called LUMIERE. Centered frosted glass "
          "serum bottle with a silver dropper on a reflective marble pedestal, surrounded by soft white orchids, dew "
          "drops, and a subtle halo of light. Clean luxury studio lighting, creamy ivory and champagne color palette. ")


@dataclass
class Truth:
    """Totals computed while the log is written, independently of qwenlab.costs.frames."""

    tasks: int = 0  # requests, earlier failed attempts included
    images: int = 0
    api_usd: float = 0.0
    estimate_usd: float = 0.0
    in_doubt_usd: float = 0.0
    failed_usd: float = 0.0
    failed_estimate_usd: float = 0.0  # of failed_usd (and of estimate_usd): images made and lost, no cost reported
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
                elif r < 0.965:  # failed, not charged
                    row.update(status="failed", error_code="inferenceError", error_message="emulated failure", http_status=400)
                elif r < 0.97:  # failed: images made (so paid) and none downloaded, no cost reported: at the estimate
                    cost = row["estimated_cost_usd"]
                    row.update(status="failed", error_code="ImageDownloadError", error_message="image lost", cost_usd=cost,
                               cost_source="estimate")
                    truth.estimate_usd += cost
                    truth.failed_usd += cost
                    truth.failed_estimate_usd += cost
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
                    source = ("estimate" if rng.random() < 0.2 else "api") if charged else None  # an image lost, or charged
                    row["history_json"] = json.dumps([{"task_uuid": f"old-{e}-{i}", "status": "failed", "error_code": "inferenceError",
                                                       "cost_usd": charged, "cost_source": source, "sent_at": when,
                                                       "completed_at": when}])
                    truth.tasks += 1
                    if charged:
                        if source == "estimate":
                            truth.estimate_usd += charged
                            truth.failed_estimate_usd += charged
                        else:
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
