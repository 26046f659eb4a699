"""Benchmark of text scoring: `python -m qwenlab.bench.typography [--quick] [--engine NAME]`.
Prints figures; asserts nothing.

1. an experiment against qwenlab's emulator on loopback (a temporary data folder): images scored
   per second by `score_experiment`, first pass (OCR) and cached (nothing read again), and how
   often the score's verdict per string matches what the emulator drew (its misspellings are
   known, see `qwenlab.emulator.misspelling`); for RapidOCR, where its time goes (detection,
   recognition: CPU per image, `stage_times`), now and as it was;
2. specimens (`qwenlab.typography.specimens`): images of known text in several fonts, sizes and
   colours on busy backgrounds, a third of the strings misspelled: agreement of the score with
   the truth per string, word and image, and images read per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..lab import Lab
from ..sweeps.sweep import Sweep
from ..typography.engines import OCREngine, RapidOCREngine, get_engine, load_image
from ..typography.scores import score_experiment
from ..typography.specimens import Agreement, agreement, emulated_truth, specimens

__all__ = ["main", "bench_experiment", "bench_specimens", "before_engine", "stage_times"]

PROMPT = ("A luxury fragrance poster for a brand named 'LUNE NOIRE', beneath it in smaller text "
          "'Midnight Bloom Eau de Parfum', and a small seal reading 'EST. 1928'")


def bench_experiment(n_images: int, size: str, engine: "str | OCREngine", before: "OCREngine | None" = None,
                     rounds: int = 1) -> dict[str, float]:
    """Run an emulated sweep of `n_images` images and score it: first passes (OCR) with `engine`
    (and with `before`, the engine as it was, alternating, best of `rounds` each), then a cached
    pass; the figures."""

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QWENLAB_DATA_DIR"] = tmp
        lab = Lab(Path(tmp))
        try:
            repeats = max(1, n_images // 4)
            sweep = Sweep(prompt=PROMPT, seed_policy="sample", size=size, axes={"promptExtend": [True, False],
                                                          "negativePrompt": [None, "misspelled words, distorted text"]},
                          repeats=repeats)
            exp = lab.run(sweep, name="bench-typography", progress=False)
            images = len(exp.images)
            first = before_s = float("inf")
            df = None
            for _ in range(rounds):
                if before is not None:
                    t0 = time.perf_counter()
                    score_experiment(exp, before, progress=False, force=True)
                    before_s = min(before_s, time.perf_counter() - t0)
                t0 = time.perf_counter()
                df = score_experiment(exp, engine, progress=False, force=True)
                first = min(first, time.perf_counter() - t0)
            stages = {label: stage_times(eng, list(exp.images["path"])[:8])
                      for label, eng in (("now", engine), ("before", before)) if isinstance(eng, RapidOCREngine)}
            t0 = time.perf_counter()
            again = score_experiment(exp, engine, progress=False)
            cached = time.perf_counter() - t0
            truth = emulated_truth(exp)
            agree = total = misspelled = 0
            for row in df.itertuples():
                drawn = dict(truth[int(row.image_id)])
                for expected in row.expected:
                    total += 1
                    right = drawn.get(expected) == expected
                    misspelled += not right
                    agree += (expected not in row.missing) == right
            return {"stages": stages, "images": images, "first_s": first, "before_s": before_s, "cached_s": cached,
                    "read_again": again.attrs["run"].read, "strings": total, "agree": agree, "misspelled": misspelled,
                    "word_accuracy": float(df["word_accuracy"].mean())}
        finally:
            lab.close()


def stage_times(engine: RapidOCREngine, images: list[Any]) -> dict[str, float]:
    """Where RapidOCR spends its time: CPU milliseconds per image (the process's clock, all its
    threads: other work on the machine does not count, onnxruntime's own threads do) in detection
    (input, network, boxes), recognition (the crops' input and network) and in all, for one of
    `engine`'s recognisers reading `images` one after another."""
    ocr = engine._take()
    spent = {"detection": 0.0, "recognition": 0.0, "all": 0.0}
    try:
        detect, recognise = ocr.auto_text_det, ocr.text_rec

        def timed(stage: str, step: Any) -> Any:
            def run(*args: Any, **kwargs: Any) -> Any:
                t0 = time.process_time()
                try:
                    return step(*args, **kwargs)
                finally:
                    spent[stage] += time.process_time() - t0
            return run

        ocr.auto_text_det, ocr.text_rec = timed("detection", detect), timed("recognition", recognise)
        arrays = [np.asarray(load_image(image))[:, :, ::-1].copy() for image in images]  # BGR, as RapidOCR reads
        ocr(arrays[0])  # a first call warms onnxruntime up
        spent.update(dict.fromkeys(spent, 0.0))
        for array in arrays:
            t0 = time.process_time()
            ocr(array)
            spent["all"] += time.process_time() - t0
    finally:
        ocr.auto_text_det, ocr.text_rec = detect, recognise
        engine._free.put(ocr)
    return {stage: 1000 * seconds / len(images) for stage, seconds in spent.items()}


def bench_specimens(n: int, engine: "str | OCREngine") -> Agreement:

    return agreement(engine, specimens(n))


def before_engine(engine: "OCREngine") -> "OCREngine | None":
    """The engine as qwenlab ran it before issue 13, for the same-run comparison: RapidOCR with
    its own defaults (one recogniser on every core, the angle classifier on, the detector's
    scaling, lines recognised six at a time and padded to 320 px, onnxruntime's memory arena off);
    None for others."""
    if isinstance(engine, RapidOCREngine):
        return RapidOCREngine(workers=1, use_cls=True, detect_side=None, rec_batch_num=6, memory_arena=False,
                              rec_img_shape=[3, 48, 320])
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.bench.typography", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer, smaller images (for CI).")
    parser.add_argument("--engine", default="auto", help="auto, rapidocr or tesseract.")
    args = parser.parse_args(argv)

    engine = get_engine(args.engine)
    before = before_engine(engine)
    n, size, n_spec = (8, "512x512", 12) if args.quick else (24, "1024x1024", 48)
    rounds = 1 if args.quick else 2
    print(f"engine: {engine!r}; {os.cpu_count()} CPUs; before: {before!r}", flush=True)
    f = bench_experiment(n, size, engine, before, rounds=rounds)
    print(f"emulated experiment, {f['images']} images of {size} (best of {rounds}):")
    print(f"  first pass (OCR + score + store): {f['first_s']:.2f} s = {f['images'] / f['first_s']:.2f} images/s")
    if before is not None:
        print(f"  the same images as before (RapidOCR's defaults): {f['before_s']:.2f} s = "
              f"{f['images'] / f['before_s']:.2f} images/s; now {f['before_s'] / f['first_s']:.2f}x faster (issue 13's 2x "
              "is read on the scale experiment's 512 px images, `python -m qwenlab.bench --scale`; images of "
              "1024 px are detected at full size since 2026-12-07, for their fine print)")
    for label, ms in f["stages"].items():
        print(f"  where the time goes ({label}, CPU ms per image, one recogniser): detection {ms['detection']:.0f}, "
              f"recognition {ms['recognition']:.0f}, all {ms['all']:.0f}")
    print(f"  cached pass (nothing read again, {f['read_again']} read): {f['cached_s'] * 1000:.1f} ms = "
          f"{f['images'] / f['cached_s']:.0f} images/s")
    print(f"  score agrees with what the emulator drew on {f['agree']}/{f['strings']} strings "
          f"({f['misspelled']} misspelled by the emulator); mean word accuracy {f['word_accuracy']:.3f}")
    report = bench_specimens(n_spec, engine)
    print(f"specimens (fonts x sizes x colours on busy backgrounds, 640x480): {report}")
    if before is not None:
        print(f"  before: {bench_specimens(n_spec, before)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
