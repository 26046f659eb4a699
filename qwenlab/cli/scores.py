"""`qwenlab score`: OCR typography scores of an experiment's images."""

from __future__ import annotations

import warnings
from typing import Any

import click

from ..core.values import count_of, present
from ..errors import ExperimentNotFoundError, ImageError
from ..store.experiment import open_experiment
from ..typography.analysis import axis_lines, by_axis, describe, interval_kind
from ..typography.engines import TesseractEngine, apt_package, missing_packs
from ..typography.scores import score_experiment
from .common import echo_json
from .exits import param_hints

__all__ = ["score_command"]


# An engine name that is none of them raises ValueError; OCRUnavailableError (not installed) is a
# failure (exit 1) whose message says how to install it.
@param_hints({ExperimentNotFoundError: "EXPERIMENT", ValueError: "--engine"})
@click.command("score")
@click.argument("experiment")
@click.option("--engine", default="auto", show_default=True, help="OCR engine: auto, rapidocr or tesseract.")
@click.option("--lang", default=None, help="Tesseract's language packs, e.g. eng+jpn+kor (implies --engine tesseract; "
              "each installed: apt-get install tesseract-ocr-jpn).")
@click.option("--by", "axes", multiple=True, help="Axis to break the scores down by (repeatable; default: every axis).")
@click.option("--force", is_flag=True, help="Read every image again, even those this engine has read.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document instead of a summary: a list of one object per image scored ([] for none).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def score_command(experiment: str, engine: str, lang: str | None, axes: tuple[str, ...], force: bool, as_json: bool,
                  no_progress: bool) -> None:
    """Read the text in every image of EXPERIMENT (OCR) and score it against the prompt's quoted
    strings: word accuracy, NED, and which strings were misspelled. Images already read are not
    read again. Scores go to the log (tables text_readings, text_scores). An image whose text is
    in a script the engine does not read (RapidOCR: Japanese kana, Korean hangul) is not scored;
    Tesseract reads them with its packs: --engine tesseract --lang eng+jpn+kor.

    \b
    Examples:
      qwenlab score demo --by promptExtend
      qwenlab score demo --json > scores.json    # a JSON list, one object per image
    """
    if lang is not None and engine.lower() not in ("auto", "tesseract"):
        raise click.BadParameter(f"--lang is Tesseract's; drop it, or use --engine tesseract (not {engine!r})",
                                 param_hint="'--lang'")
    if lang is not None:
        lang = _checked_lang(lang)
    exp = open_experiment(experiment)
    unknown = [a for a in axes if a not in exp.axes]
    if unknown:  # before the OCR: a typo must not cost minutes of reading first
        raise click.BadParameter(f"no axis {unknown[0]!r}; axes: {', '.join(exp.axes) or 'none'}", param_hint="'--by'")
    reader: Any = TesseractEngine(lang=lang) if lang is not None else engine
    with warnings.catch_warnings():  # the images that could not be read, or not scored, are said below
        warnings.filterwarnings("ignore", message=r".*could not be read, so")
        warnings.filterwarnings("ignore", message=r".*which \S+ does not read")
        df = score_experiment(exp, reader, force=force, progress=not no_progress and not as_json)
    run = df.attrs.get("run")
    unscored = run.unreadable_note() if run is not None else None
    if as_json:
        if unscored:
            click.echo(unscored, err=True)  # the JSON document alone on stdout
        # one document, as every --json prints: it was one object per line, which `json.load` and
        # `jq` (without --slurp) refuse, and nothing at all when no image was scored
        cols = ["image_id", *exp.axes, "repeat", "seed", "path", *df.columns[df.columns.get_loc("engine"):]]
        rows = df[[c for c in dict.fromkeys(cols) if c in df.columns]].to_dict(orient="records")
        echo_json([{k: present(v) for k, v in row.items()} for row in rows])
        _fail_unread(run)
        return
    if run is not None:
        click.echo(str(run))
    if unscored:
        click.echo(unscored)
    if where := exp.provenance.headline():
        click.echo(where)  # scores of synthetic images must not be quoted as Runware's
    if df.empty:
        if run is not None and not run.images:  # not the prompt's fault: there is nothing to read yet
            click.echo(f"no scores: {exp.name} has no images yet ({_not_done(exp)}); run it, then score it")
        elif run is None or not (run.failed or run.unreadable):
            click.echo("no scores: no image of this experiment has quoted text in its prompt")
        _fail_unread(run)
        return
    click.echo(describe(df, None, intervals=False) + "; " + describe(df, None, "ned", intervals=False).removeprefix("all: ")
               + "; " + describe(df, None, "correct", intervals=False).removeprefix("all: ")
               + f" ({interval_kind(by_axis(df, None))}; for correct, Wilson's)")
    for axis in axes or [a for a in exp.axes if df[a].nunique(dropna=False) > 1]:
        if axis not in df.columns:
            raise click.BadParameter(f"no axis {axis!r}; axes: {', '.join(exp.axes) or 'none'}", param_hint="'--by'")
        click.echo("\n".join(axis_lines(df, axis)))
    wrong = df[df["correct"] == False]  # noqa: E712 - a pandas mask
    for r in wrong.head(10).itertuples():
        click.echo(f"  image {r.image_id}: {r.summary}")
    if len(wrong) > 10:
        click.echo(f"  ... {count_of(len(wrong) - 10, 'more image')} with text not read as expected (--json lists all)")
    _fail_unread(run)


def _not_done(exp: Any) -> str:
    """Its cells not done, in words: "1 cell pending, 2 failed"."""
    c = exp.counts()
    parts = [f"{c[k]} {label}" for k, label in (("pending", "not sent"), ("failed", "failed"), ("in_doubt", "in doubt"))
             if c.get(k)]
    return (count_of(c["cells"], "cell") + ": " + ", ".join(parts)) if parts else count_of(c["cells"], "cell")


def _checked_lang(lang: str) -> str:
    """--lang as Tesseract takes it ("eng+jpn"), refused as bad input naming --lang and the packs
    installed here when it is blank or names a pack Tesseract lacks. The engine's own refusal
    said "lang='xxx'", the library's word, and exited 1 as if the OCR had failed; a blank --lang
    was taken for no pack at all and every image left unscored, "in a script it does not read".
    Without tesseract at all, the engine's message (how to install it, exit 1) says it."""
    packs = [p.strip() for p in lang.split("+") if p.strip()]
    missing, have = missing_packs(packs)
    # osd is Tesseract's orientation detection, not a language to read text in
    shown = ", ".join(sorted(have - {"osd"})) or "none"
    if not packs:
        raise click.BadParameter(f"{lang!r} names no language pack; give one or more joined with +, e.g. eng or eng+jpn "
                                 f"(installed here: {shown})", param_hint="'--lang'")
    if have and missing:
        install = " ".join(apt_package(p) for p in missing if "/" not in p)
        raise click.BadParameter(
            f"tesseract has no {', '.join(map(repr, missing))} language pack; give the packs installed here: {shown} "
            "(several joined with +, e.g. eng+jpn)" + (f", or install it: apt-get install {install}" if install else ""),
            param_hint="'--lang'")
    return "+".join(packs)


def _fail_unread(run: Any) -> None:
    """Exit 1, saying which, when some images could not be read (a file missing or damaged):
    their scores are not in what was printed."""
    if run is not None and run.failed:
        raise ImageError(run.failure_note())
