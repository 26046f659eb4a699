"""The text scores of an experiment: read every image once, score it, and give one row per image.

    from qwenlab.typography import score_experiment, text_scores
    df = score_experiment("lumiere-extend")        # or an Experiment; reads what is not read yet
    df = text_scores(exp)                           # the stored scores only, no OCR
    df[["promptExtend", "word_accuracy", "ned", "correct", "missing", "read_instead"]]

What each image should read: `expected=` a list (every image), a callable (given the image's
row of `exp.images` as a dict, returning a list), else the quoted strings of the image's prompt.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Union

from ..caller import warn
from ..core.expected_text import expected_strings
from ..store.axes import AXIS_INFO
from ..store.catalog import axis_infos
from ..store.experiment import open_experiment
from .engines import TesseractEngine
from .left_out import left_out
from .scoring import StringScore, TextScore
from .store import ImageToScore, score_images, score_rows, scored_engines

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord
    from .engines import OCREngine

__all__ = ["score_experiment", "text_scores", "scores_frame", "expected_for", "SCORE_COLUMNS", "Expected"]

Expected = Union[None, str, Iterable[str], Callable[[dict[str, Any]], Iterable[str]]]

SCORE_COLUMNS = ["engine", "word_accuracy", "ned", "sentence_accuracy", "correct", "words", "words_read", "expected",
                 "missing", "read_instead", "read_text", "summary"]


def _experiment(exp_or_name: "ExperimentRecord | str") -> "ExperimentRecord":
    """An experiment, or the one of that name in the default log (`qwenlab.paths.data_dir()`)."""
    return open_experiment(exp_or_name) if isinstance(exp_or_name, str) else exp_or_name


def expected_for(exp: "ExperimentRecord", expected: Expected = None) -> dict[int, list[str]]:
    """Image id -> the strings that image should show (see the module docstring)."""
    images = exp.images
    out: dict[int, list[str]] = {}
    for row in images.to_dict("records"):
        if callable(expected):
            given = expected(row)
            out[int(row["image_id"])] = expected_strings(None, [] if given is None else given)
        else:
            out[int(row["image_id"])] = expected_strings(row.get("prompt"), expected)
    return out


def score_experiment(exp_or_name: "ExperimentRecord | str", engine: "str | OCREngine" = "auto", *, expected: Expected = None,
                     force: bool = False, progress: bool = True, lang: str | None = None) -> "pd.DataFrame":
    """Read the text in every image of an experiment not yet read by `engine`, score it against
    what it should show, store both in the log, and return `text_scores(exp, engine)`.

    engine: "auto" (RapidOCR if installed, else Tesseract), "rapidocr", "tesseract" or an engine
    object (`TesseractEngine(lang="eng+jpn+kor")`). lang: Tesseract's packs, as `qwenlab score
    --lang` takes them (`lang="eng+jpn+kor"` is `engine=TesseractEngine(lang="eng+jpn+kor")`).
    force: read every image again. The frame's
    `attrs["run"]` says what was done. An image whose text is in a script the engine does not read
    (RapidOCR: Japanese kana, Korean hangul) is not scored, and a warning says how to score it.
    """
    engine = _with_lang(engine, lang)
    _check_expected(expected)  # before the OCR: a wrong argument must not cost minutes of reading first
    exp = _experiment(exp_or_name)
    want = expected_for(exp, expected)
    paths = dict(zip(exp.images["image_id"].astype(int), exp.images["path"]))
    items = [ImageToScore(i, exp.id, paths.get(i), want[i]) for i in want]
    run = score_images(exp.log, items, engine, force=force, progress=progress, desc=f"{exp.name}: reading text")
    for note in (run.failure_note(), run.unreadable_note()):  # their scores are missing from the frame: said
        if note:                                                # whether or not a bar was shown
            warn(f"{exp.name}: {note}")
    df = scores_frame(exp, run.engine)
    df.attrs["run"] = run
    return df


def _with_lang(engine: "str | OCREngine", lang: str | None) -> "str | OCREngine":
    """The engine `lang` asks for: Tesseract with those packs (as `qwenlab score --lang`)."""
    if lang is None:
        return engine
    if not isinstance(lang, str) or not lang.strip():
        raise ValueError(f"lang must be Tesseract's packs joined by '+', e.g. 'eng+jpn+kor'; got {lang!r}")
    if not (isinstance(engine, str) and engine.lower() in ("auto", "tesseract")):
        raise ValueError(f"lang is Tesseract's: drop it, or use engine='tesseract' (not {engine!r})")
    return TesseractEngine(lang=lang)


def _check_expected(expected: Expected) -> None:
    """TypeError naming `expected` where it is none of what it may be."""
    if expected is None or isinstance(expected, str) or callable(expected):
        return
    if isinstance(expected, Iterable) and not isinstance(expected, (bytes, Mapping)):
        return  # its entries are checked as they are read: each a string
    raise TypeError(f"expected must be a string, a list of strings, a function of an image's row returning one, "
                    f"or None (the prompt's quoted strings); got {type(expected).__name__}: {expected!r}")


def text_scores(exp_or_name: "ExperimentRecord | str", engine: str | None = None) -> "pd.DataFrame":
    """One row per scored image: its axis values, repeat, seed, file, cost, and its scores
    (`SCORE_COLUMNS`: word_accuracy, ned, sentence_accuracy, correct, missing, read_instead,
    read_text, summary ...). No OCR: only what the log holds (`engine`: the most used when None).
    Images with nothing expected, or not scored yet, are left out; so are images only other
    engines scored (`attrs["left_out"]` says how many, and a warning does where `engine` was not
    chosen: a comparison of experiments scored with different engines). ValueError for an engine
    that scored none of them while others did (a misspelled name); the name's case does not matter."""
    exp = _experiment(exp_or_name)
    df = scores_frame(exp, engine)
    if df.empty and engine is not None and (names := scored_engines(exp.log, exp.id)):
        # a misspelled engine gave an empty frame, read as "nothing was scored"
        raise ValueError(f"engine: no text scores by {engine!r} here; scored by {', '.join(map(repr, names))} "
                         "(leave engine out for the most used one)")
    if engine is None and df.attrs.get("left_out"):  # the most used engine's, chosen for the caller: say what it left out
        warn(f"{exp.name}: {df.attrs['left_out']}")
    return df


def scores_frame(exp: "ExperimentRecord", engine: str | None) -> "pd.DataFrame":
    """`text_scores` of an experiment, empty for an engine that scored none of its images (the
    engine of a pass that found nothing to score in it)."""
    import pandas as pd

    rows = score_rows(exp.log, exp.id, engine)
    images = exp.images
    base_cols = [c for c in images.columns if c not in ("prompt",)]
    if not rows:
        empty = pd.DataFrame(columns=[*base_cols, "prompt", *SCORE_COLUMNS])
        empty.attrs.update({"axes": exp.axes, AXIS_INFO: axis_infos(exp)})  # `labelled()` takes it as it takes a full one
        return empty
    costs = _image_costs(exp)
    scores = pd.DataFrame([_score_fields(r) for r in rows])
    df = images.merge(scores, on="image_id", how="inner")
    df["cost_usd"] = [c if c == c and c is not None else costs.get(int(i)) for c, i in zip(df["cost_usd"], df["image_id"])]
    out = df[[*base_cols, "prompt", *SCORE_COLUMNS]].reset_index(drop=True)
    out.attrs["axes"] = exp.axes  # value labels in the sweep's order, for by_axis/describe
    out.attrs[AXIS_INFO] = axis_infos(exp)  # how each value reads, as in grids and the report
    out.attrs["left_out"] = left_out(exp.log, exp.id, rows[0]["engine"])  # images only other engines scored
    return out


def _score_fields(r: dict[str, Any]) -> dict[str, Any]:

    strings = tuple(StringScore.from_dict(d) for d in json.loads(r["strings_json"] or "[]"))
    return {
        "image_id": int(r["image_id"]), "engine": r["engine"], "word_accuracy": r["word_accuracy"], "ned": r["ned"],
        "sentence_accuracy": r["sentence_accuracy"], "correct": None if r["correct"] is None else bool(r["correct"]),
        "words": r["words"], "words_read": r["words_read"], "expected": json.loads(r["expected_json"] or "[]"),
        "missing": json.loads(r["missing_json"] or "[]"), "read_instead": json.loads(r["read_instead_json"] or "{}"),
        "read_text": r.get("read_text") or "", "summary": TextScore(strings).summary(),
    }


def _image_costs(exp: "ExperimentRecord") -> dict[int, float]:
    """Each image's cost where the API reported none for it: its task's cost (or estimate)
    shared among the task's images."""
    tasks = {t["id"]: t for t in exp.log.tasks(exp.id)}
    per_task: dict[int, list[int]] = {}
    for img in exp.log.images(exp.id):
        per_task.setdefault(img["task_id"], []).append(img["id"])
    out: dict[int, float] = {}
    for task_id, image_ids in per_task.items():
        t = tasks.get(task_id, {})
        total = t.get("cost_usd")
        if total is None:
            est = t.get("estimated_cost_usd")
            total = est * len(image_ids) / max(1, t.get("number_results") or 1) if est is not None else math.nan
        for i in image_ids:
            out[i] = total / len(image_ids)
    return out
