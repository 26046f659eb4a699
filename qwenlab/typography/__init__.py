"""Typography scores: does the text in each image say what the prompt asked for?

    from qwenlab.typography import score_experiment, by_axis, describe, cost_per_correct
    df = score_experiment(exp)              # OCR every image not read yet; one row per image
    describe(df, "promptExtend")            # 'promptExtend on: word accuracy 0.81 [0.74, 0.87] ...'
    cost_per_correct(df, by="promptExtend")
    reading_overlay(exp, image_id)          # what was read, drawn over the image

Modules: `qwenlab.core.expected_text` (what an image should read), `engines` (RapidOCR, Tesseract
behind one interface), `normalization` (a text's normalised words, which scoring compares),
`scoring` (word accuracy, NED, as AnyText and CVTG-2K define them), `store` (the log's text_readings
and text_scores tables, incremental), `scores` (per experiment), `analysis` (by axis, with
confidence intervals; cost per correct image), `draw` (overlays), `badges` (scores as the grid,
explorer, pairs, judging and export show them, read from the log: views never run OCR).
"""

from __future__ import annotations

from typing import Any

from ..core.expected_text import expected_strings, quoted_strings
from .engines import (
    OCREngine,
    RapidOCREngine,
    TesseractEngine,
    available_engines,
    get_engine,
)
from .normalization import normalize, words
from .reading import Reading, TextLine
from .scoring import StringScore, TextScore, ned, score_text

__all__ = [
    "expected_strings", "quoted_strings", "OCREngine", "RapidOCREngine", "TesseractEngine",
    "available_engines", "get_engine", "Reading", "TextLine", "StringScore", "TextScore", "ned", "normalize", "words",
    "score_text", "score_experiment", "text_scores", "score_images", "ImageToScore", "stored_reading", "stored_score",
    "by_axis", "describe", "cost_per_correct", "draw_reading", "reading_overlay", "score_colour", "score_badges",
    "ScoreBadge",
]

# The modules below import the log and pandas; loaded on first use so that the emulator (which
# imports `expected`) stays light.
_LAZY = {
    "score_experiment": "scores", "text_scores": "scores", "score_images": "store", "ImageToScore": "store",
    "stored_reading": "store", "stored_score": "store", "by_axis": "analysis", "describe": "analysis",
    "cost_per_correct": "analysis", "draw_reading": "draw", "reading_overlay": "draw", "score_colour": "draw",
    "score_badges": "badges", "ScoreBadge": "badges",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
