"""Benchmark: `python -m qwenlab.bench.share [--cells N]`. Prints figures; asserts nothing.

An experiment of N cells (default 64, JPEG 1024x1536, a sweep against qwenlab's emulator on
loopback in a temporary data folder), then what sharing it costs, each against the plain way of
moving the same bytes, timed in the same process (median of 3):

1. `exp.export_images` (readable names, metadata spliced into each file, a JSON sidecar) against
   `shutil.copyfile` of the same image files;
2. `lab.bundle` (a log of the experiment, rows copied, and the images zipped) against zipping
   the same image files with `zipfile`;
3. `lab.import_bundle` into a fresh log (files checked against their SHA-256, rows remapped)
   against extracting the same zip;
4. `lab.search("LUMIERE")` over the log (FTS index), per query.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

from ..lab import Lab
from ..sweeps.sweep import Sweep
from .emulated import run_on_emulator

__all__ = ["main", "bench_share"]

PROMPT = "A premium beauty poster for LUMIERE serum, headline 'Glow, Refined.', variant {}"


def _median(fn: Callable[[int], Any], runs: int = 3) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_share(cells: int = 64) -> dict[str, float]:
    """Run the benchmark in a temporary folder; return the seconds of each step and baseline."""
    with tempfile.TemporaryDirectory(prefix="qwenlab-bench-share-") as tmp:
        root = Path(tmp)
        prompts = [PROMPT.format(i) for i in range(max(1, cells // 2))]
        sweep = Sweep(prompt=prompts[0], seed_policy="sample", size="1024x1536", axes={"prompt": prompts, "promptExtend": [True, False]})
        exp = run_on_emulator(root / "data", sweep, "bench-share")
        lab = Lab(root / "data", client=lambda: None)  # bundle and search need no API
        files = [Path(p) for p in exp.images["path"]]
        out: dict[str, float] = {"images": len(files), "mb": sum(f.stat().st_size for f in files) / 1e6}

        def copy(i: int) -> None:
            target = root / f"copy{i}"
            target.mkdir()
            for f in files:
                shutil.copyfile(f, target / f.name)

        def plain_zip(i: int) -> None:
            with zipfile.ZipFile(root / f"plain{i}.zip", "w") as zf:
                for f in files:
                    zf.write(f, f"images/{f.parent.name}/{f.name}", compress_type=zipfile.ZIP_STORED)

        out["copy_s"] = _median(copy)
        out["export_s"] = _median(lambda i: exp.export_images(root / f"export{i}"))
        out["zip_s"] = _median(plain_zip)
        out["bundle_s"] = _median(lambda i: lab.bundle("bench-share", root / f"bundle{i}.zip"))
        out["unzip_s"] = _median(lambda i: zipfile.ZipFile(root / "plain0.zip").extractall(root / f"unzipped{i}"))
        out["import_s"] = _median(lambda i: Lab(root / f"other{i}", client=lambda: None).import_bundle(root / "bundle0.zip"))
        out["search_s"] = _median(lambda i: lab.search("LUMIERE"), runs=20)
        lab.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.share", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=64, help="cells (images) of the experiment (default 64)")
    args = parser.parse_args(argv)
    r = bench_share(args.cells)
    print(f"{int(r['images'])} images, {r['mb']:.1f} MB; median of 3 (search: of 20)")
    rows = [("export_images (names, metadata, sidecar)", r["export_s"], "file copy", r["copy_s"]),
            ("bundle (log + images in a zip)", r["bundle_s"], "zip of the images", r["zip_s"]),
            ("import_bundle into a fresh log", r["import_s"], "unzip", r["unzip_s"])]
    print(f"{'what':42} {'s':>7} {'baseline':>20} {'s':>7} {'ratio':>6}")
    for what, s, base, b in rows:
        print(f"{what:42} {s:7.3f} {base:>20} {b:7.3f} {s / b:5.1f}x")
    print(f"search('LUMIERE') over {int(r['images'])} images: {r['search_s'] * 1000:.1f} ms a query")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
