"""Benchmark of the HTML export at scale: `python -m qwenlab.bench.report [--images 2000]`.

It writes a log through `qwenlab.store.log.Log` (the real schema) holding one experiment of
`--images` emulator images, 1024x1536 JPEGs from the emulator's synthetic generator (a few
distinct pictures, each file made unique by a JPEG comment so that every thumbnail is decoded
from its own file, as in a real log), then exports it with `qwenlab.html.report.export_html`:

- `cold`: the first export, every thumbnail made from its original;
- `warm`: the same export again, thumbnails from the cache on disk;
- `full-size`: the warm export with `full_size=True` (the originals linked beside the file).

It prints each one's time, file size and the process's peak memory beside the targets (under 15 s,
under 30 MB, under 1 GB), and a ratio against the cold export. The functions `build_experiment`
and `measure_export` are what `python -m qwenlab.bench --scale` calls.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.imagestore import ImageStore
from ..core.values import format_value
from ..emulator.synthetic import Scene, render_bytes
from ..html.report import export_html
from ..store.experiment import ExperimentRecord, open_experiment
from ..store.log import Log
from ..store.rows import utc_now
from .emulated import peak_mb

__all__ = ["build_experiment", "measure_export", "Measure", "TARGET_S", "TARGET_MB", "TARGET_MEMORY_MB", "main"]

TARGET_S = 15.0
TARGET_MB = 30.0
TARGET_MEMORY_MB = 1024.0
NAME = "bench-report"
MODEL = "alibaba:qwen-image@2.0-pro"
PROMPTS = {
    "serum (LUMIERE)": "A premium beauty poster for a skincare brand called 'LUMIERE', frosted serum bottle, headline 'Glow, Refined.'",
    "perfume (LUNE NOIRE)": "A luxury perfume billboard for 'LUNE NOIRE', black glass bottle on wet stone, headline 'Midnight Bloom'",
    "deco (AURELIS)": "An art deco perfume advertisement for 'AURELIS NOIR', gold geometric frame, caption 'EST. 1928'",
    "cream (VELA)": "A clean skincare flat lay for 'VELA' day cream, pastel tiles, headline 'Soft Light Daily'",
    "lipstick (ROUGE 7)": "A bold lipstick campaign for 'ROUGE 7', red satin, headline 'Say It In Red'",
}
SIZES = [(1024, 1536), (1536, 1024)]
DISTINCT = 20  # synthetic pictures rendered; every file still differs (a comment in its JPEG)


@dataclass
class Measure:
    """One export: seconds, CPU seconds (every thread), bytes of the HTML file, peak memory of the
    process (MB) so far. CPU seconds say what a busy machine does to the wall time."""

    label: str
    seconds: float
    cpu_s: float
    bytes: int
    peak_mb: float
    path: Path

    @property
    def mb(self) -> float:
        return self.bytes / 1e6

    def line(self, baseline: "Measure | None" = None) -> str:
        def ok(good: bool) -> str:
            return "ok" if good else "OVER"

        ratio = f", {self.seconds / baseline.seconds:.2f}x the cold time" if baseline and baseline is not self else ""
        return (f"{self.label:>10}: {self.seconds:6.2f} s (target < {TARGET_S:.0f} s: {ok(self.seconds < TARGET_S)}; "
                f"{self.cpu_s:.1f} CPU s), "
                f"{self.mb:6.2f} MB (target < {TARGET_MB:.0f} MB: {ok(self.mb < TARGET_MB)}), "
                f"peak memory {self.peak_mb:6.0f} MB (target < {TARGET_MEMORY_MB:.0f} MB: "
                f"{ok(self.peak_mb < TARGET_MEMORY_MB)}){ratio}")


def build_experiment(data_dir: str | Path, n_images: int = 2000, name: str = NAME) -> ExperimentRecord:
    """Write a log in `data_dir` with one done experiment of `n_images` emulator images
    (prompt x promptExtend x size x repeats) and return it."""
    data_dir = Path(data_dir)
    store = ImageStore(data_dir / "images")
    pictures = [render_bytes(Scene(prompt, w, h, seed=k, prompt_extend=bool(k % 2)), "JPG", 90)
                for k, (prompt, (w, h)) in enumerate((p, SIZES[k % 2]) for k, p in
                                                     zip(range(DISTINCT), list(PROMPTS.values()) * DISTINCT))]
    labels = list(PROMPTS)
    per_cell = len(labels) * 2 * len(SIZES)
    repeats = max(1, -(-n_images // per_cell))
    axes = {"example": {"kind": "prompt", "labels": labels, "values": list(PROMPTS.values())},
            "promptExtend": {"kind": "param", "labels": ["on", "off"], "values": [True, False]},
            "size": {"kind": "size", "labels": [f"{w}x{h}" for w, h in SIZES], "values": [f"{w}x{h}" for w, h in SIZES]}}
    sweep = {"model": MODEL, "axes": axes, "repeats": repeats, "seed_policy": "sample", "base": {"model": MODEL}}
    now = utc_now()
    with Log(data_dir / "qwenlab.db") as log:
        exp = log.ensure_experiment(name, model=MODEL, sweep_json=json.dumps(sweep), status="done", backend="emulator",
                                    api_host="127.0.0.1:8787",
                                    axes_json=json.dumps({a: s["labels"] for a, s in axes.items()}))
        tasks, files = [], []
        for i in range(n_images):
            label, extend, (w, h) = labels[i % 5], (i // 5) % 2 == 0, SIZES[(i // 10) % 2]
            prompt = PROMPTS[label]
            cell = {"example": prompt, "promptExtend": extend, "size": f"{w}x{h}", "repeat": i // per_cell}
            uuid = f"bench-{i:06d}"
            request = {"taskType": "imageInference", "taskUUID": uuid, "model": MODEL, "positivePrompt": prompt,
                       "width": w, "height": h, "includeCost": True,
                       "providerSettings": {"alibaba": {"promptExtend": extend}}}
            tasks.append({"task_uuid": uuid, "experiment_id": exp["id"], "cell_key": f"c{i}", "cell_json": json.dumps(cell),
                          "repeat": cell["repeat"], "model": MODEL, "prompt": prompt, "prompt_extend": int(extend),
                          "width": w, "height": h, "number_results": 1, "seed_policy": "sample",
                          "request_json": json.dumps(request), "estimated_cost_usd": 0.075, "price_usd": 0.075,
                          "cost_usd": 0.075, "cost_source": "api", "attempts": 1, "status": "done", "latency_s": 1.5,
                          "created_at": now, "sent_at": now, "completed_at": now, "backend": "emulator",
                          "api_host": "127.0.0.1:8787"})
            data = _unique(pictures[i % len(pictures)], i)
            digest = hashlib.sha256(data).hexdigest()
            path = store.path_for(digest, "JPG")  # the image store's layout
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append({"image_uuid": f"{uuid}-0", "task_uuid": uuid, "experiment_id": exp["id"], "seed": 1000 + i,
                          "cost_usd": 0.075, "cost_source": "api", "path": str(path.relative_to(data_dir)),
                          "sha256": digest, "format": "JPG", "width": w, "height": h, "bytes": len(data),
                          "created_at": now})
        log.add_tasks(tasks)
        ids = {r["task_uuid"]: r["id"] for r in log.rows("SELECT id, task_uuid FROM tasks WHERE experiment_id = ?", [exp["id"]])}
        for f in files:
            f["task_id"] = ids[f.pop("task_uuid")]
        log.db["images"].insert_all(files, batch_size=1000)
    return open_experiment(name, data_dir)


def measure_export(experiment: ExperimentRecord, path: str | Path, label: str = "export", **options: Any) -> Measure:
    """Export `experiment` to `path` with `options` (as `export_html`) and measure it."""
    start, cpu = time.perf_counter(), time.process_time()
    written = export_html(experiment, path, **options)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return Measure(label, seconds, cpu_s, written.stat().st_size, peak_mb(), written)


def _unique(jpeg: bytes, n: int) -> bytes:
    """The same picture with a JPEG comment (COM segment) after its start marker: other bytes, same pixels."""
    text = f"qwenlab bench image {n}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def run(n_images: int = 2000, keep: str | Path | None = None, out=print) -> list[Measure]:
    """Build the experiment, export it cold, warm and with full-size originals; print and return the figures."""
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="qwenlab-bench-report-"))
    try:
        start = time.perf_counter()
        exp = build_experiment(folder, n_images)
        out(f"built {n_images} images of {format_value(MODEL)} in {time.perf_counter() - start:.1f} s at {folder}")
        cold = measure_export(exp, folder / "report.html", "cold")
        warm = measure_export(exp, folder / "report.html", "warm")
        full = measure_export(exp, folder / "full" / "report.html", "full-size", full_size=True)
        measures = [cold, warm, full]
        for m in measures:
            out(m.line(cold))
        return measures
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="images in the experiment (default 2000)")
    parser.add_argument("--keep", help="build the log and reports in this folder and keep them")
    args = parser.parse_args(argv)
    measures = run(args.images, args.keep)
    return 0 if all(m.seconds < TARGET_S and m.mb < TARGET_MB and m.peak_mb < TARGET_MEMORY_MB for m in measures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
