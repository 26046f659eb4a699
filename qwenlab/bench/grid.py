"""Benchmark: `python -m qwenlab.bench.grid [--runs N] [--pdf]`. Prints figures; asserts nothing.

A 64-image grid of 1024x1536 images (8 prompts as rows x promptExtend on/off as columns x 4
repeats side by side), made by a sweep against qwenlab's emulator on loopback in a temporary
data folder, then built and saved as a PNG:

1. first build: no thumbnail cached, so every original is decoded (JPEG draft mode) and its
   thumbnail written to <data>/thumbs; the thumbnail cache is emptied before each run;
2. cached build: the same grid again; thumbnails come from disk, no original is decoded;
3. for scale: the thumbnail step done the naive way (each original decoded in full, in turn).

Each is timed as a whole (thumbnails + layout + PNG) and in two parts: getting the thumbnails'
pixels, and laying out and saving the figure. The original files are in the OS page cache in
both cases, so the difference is decoding and resizing, not disk reads.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ..api.client import RunwareClient
from ..emulator import Emulator
from ..figures.grid import build_grid, load_thumbnails
from ..lab import Lab
from ..store import thumbnails
from ..store.catalog import Catalog
from ..sweeps.sweep import Sweep

__all__ = ["main", "bench_grid"]

SIZE = "1024x1536"
PROMPTS = [f"A premium beauty poster for the fictional brand LUMIERE, variant {i}: serum bottle on marble" for i in range(1, 9)]


def _experiment(folder: Path) -> Any:

    sweep = Sweep(prompt=PROMPTS[0], size=SIZE, axes={"prompt": PROMPTS, "promptExtend": [True, False]}, repeats=4)
    with Emulator() as emu:
        client = RunwareClient("bench-key", emu.url, images_dir=folder / "images")
        try:
            exp = Lab(folder, client=client).run(sweep, name="bench-grid", concurrency=8, progress=False)
        finally:
            client.close()
    return exp


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _full_decode(path: str) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((256, 256))
        return np.asarray(img)


def bench_grid(runs: int = 3, pdf: bool = False) -> dict[str, Any]:
    """Build the 64-image grid `runs` times cold and `runs` times cached; the figures."""

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup_s, exp = _timed(lambda: _experiment(folder))
        catalog = Catalog.load(exp)
        n_images = sum(1 for e in catalog.entries if not e.failed)
        thumbs = folder / "thumbs"
        out = folder / ("grid.pdf" if pdf else "grid.png")

        def build() -> Any:
            return build_grid(catalog, rows="prompt", cols="promptExtend").save(out)

        figures: dict[str, list[float]] = {"first": [], "cached": [], "first_thumbs": [], "cached_thumbs": [],
                                           "full_decode": []}
        paths = [e.path for e in catalog.entries if e.path]
        for _ in range(runs):  # the thumbnail step without cache or JPEG draft mode (the naive way)
            figures["full_decode"].append(_timed(lambda: [_full_decode(p) for p in paths])[0])
        made: dict[str, int] = {}
        for _ in range(runs):
            shutil.rmtree(thumbs, ignore_errors=True)
            thumbnails.reset_stats()
            figures["first_thumbs"].append(_timed(lambda: load_thumbnails(catalog.entries, 256, None))[0])
            shutil.rmtree(thumbs, ignore_errors=True)
            thumbnails.reset_stats()
            figures["first"].append(_timed(build)[0])
            made["first"] = thumbnails.stats()["made"]
        for _ in range(runs):
            thumbnails.reset_stats()
            figures["cached_thumbs"].append(_timed(lambda: load_thumbnails(catalog.entries, 256, None))[0])
            thumbnails.reset_stats()
            figures["cached"].append(_timed(build)[0])
            made["cached"] = thumbnails.stats()["made"]
        return {"images": n_images, "image_size": SIZE, "setup_s": setup_s, "runs": runs, "output": out.suffix,
                "bytes": out.stat().st_size, "made": made, **{k: statistics.median(v) for k, v in figures.items()},
                "all": figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.grid", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind (the median is printed)")
    parser.add_argument("--pdf", action="store_true", help="save as PDF instead of PNG")
    args = parser.parse_args(argv)
    r = bench_grid(args.runs, args.pdf)
    print(f"qwenlab grid benchmark: {r['images']} images of {r['image_size']}, one page, saved as {r['output']} "
          f"({r['bytes'] / 1e6:.1f} MB); median of {r['runs']} builds each (sweep setup: {r['setup_s']:.1f} s)")
    print(f"  first build  (no thumbnails cached): {r['first']:6.2f} s   thumbnails made: {r['made']['first']}")
    print(f"  cached build (thumbnails on disk):   {r['cached']:6.2f} s   thumbnails made: {r['made']['cached']}")
    print(f"  ratio first / cached:                {r['first'] / r['cached']:6.2f} x")
    print(f"  thumbnail step alone: first {r['first_thumbs']:.2f} s, cached {r['cached_thumbs']:.2f} s "
          f"({r['first_thumbs'] / max(r['cached_thumbs'], 1e-9):.1f} x); the rest is matplotlib layout and encoding")
    print(f"  for scale: decoding every original in full, one by one, no cache: {r['full_decode']:.2f} s")


if __name__ == "__main__":
    main()
