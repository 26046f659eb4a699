"""Text scores by axis value, with confidence intervals, and the cost of a correctly rendered image.

    by_axis(exp, "promptExtend")                   # a frame: value, n, mean, lo, hi
    describe(exp, "promptExtend")
    # 'promptExtend on: word accuracy 0.81 [0.74, 0.87] (n=32); off: word accuracy 0.64 [0.55, 0.72] (n=32) (95% ...)'
    cost_per_correct(exp, by="promptExtend")       # USD per image whose every string reads exactly

Intervals: for `correct` (a yes/no per image) the Wilson score interval; for the other metrics
(word_accuracy, ned, sentence_accuracy: a share per image) a percentile bootstrap over images,
images being the unit that varies (words of one image are not independent draws), with a fixed
seed so the figures are reproducible, widened to at least Wilson's interval of the mean below 10
images or when every image scored alike (`share_mean_interval`: six images that all read right
are not [1.00, 1.00]). `describe` says which. Cost per correct image: the mean cost of an image divided
by the share of images that are correct, its interval that of the share (Wilson) carried through;
shown as an estimate, to three significant digits (`qwenlab.money.format_usd_estimates`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

from ..core.intervals import SMALL_SAMPLE, bootstrap_mean, percent, share_mean_interval, wilson_interval
from ..core.values import format_usd_estimates, format_value
from ..errors import UnknownAxisError
from ..money import USD_COLUMNS
from ..store.axes import AXIS_INFO, names_axis
from .scores import text_scores
from .scoring import score_figure

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["by_axis", "describe", "axis_lines", "interval_kind", "cost_per_correct", "wilson_interval", "bootstrap_mean", "METRICS"]

METRICS = {"word_accuracy": "word accuracy", "ned": "NED", "sentence_accuracy": "sentence accuracy", "correct": "correct"}


def _frame(scores: "pd.DataFrame | ExperimentRecord | str") -> "pd.DataFrame":
    import pandas as pd

    if isinstance(scores, pd.DataFrame):
        return scores

    return text_scores(scores)


def _label(value: Any, info: Any = None) -> str:
    if info is not None:  # the experiment's own labelling (store.catalog), as grids and the report show it
        return str(info.label(value))
    if isinstance(value, Mapping) and value.get("label"):
        return str(value["label"])
    return format_value(value)  # NaN (pandas' None) reads "none"


def _groups(df: "pd.DataFrame", axis: str | None, parameter: str = "axis") -> list[tuple[str, "pd.DataFrame"]]:
    if axis is None:
        return [("all", df)]
    if axis not in df.columns:
        # the experiment's axes where the frame knows them (a text_scores frame does), not its
        # thirty columns (sha256, task_uuid, ...); a frame made by hand names its columns
        axes = list(df.attrs.get("axes") or {}) or list(map(str, df.columns))
        raise UnknownAxisError(f"{parameter}={axis!r}: no axis {axis!r} in the scores; "
                               f"give one of: {', '.join(axes)} (or None for all images)")
    info = (df.attrs.get(AXIS_INFO) or {}).get(axis)
    labels = [_label(v, info) for v in df[axis]]
    # the sweep's order of values where known (on before off, as swept), else first appearance
    swept = [info.label(v) for v in info.values] if info is not None else [
        str(v) for v in (df.attrs.get("axes") or {}).get(axis, [])]
    order = [v for v in swept if v in labels] + [v for v in dict.fromkeys(labels) if v not in swept]
    keyed = df.assign(_value=labels)
    return [(lab, keyed[keyed["_value"] == lab]) for lab in order]


def by_axis(scores: "pd.DataFrame | ExperimentRecord | str", axis: str | None = None, metric: str = "word_accuracy", *,
            level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> "pd.DataFrame":
    """One row per value of `axis` (one row "all" when None): n images, the metric's mean and its
    confidence interval [lo, hi]. `scores`: a `text_scores` frame, an Experiment or a name."""
    import pandas as pd

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    df = _frame(scores)
    rows = []
    for label, part in _groups(df, axis):
        vals = [v for v in part[metric] if v is not None and v == v]
        if metric == "correct":
            k = sum(bool(v) for v in vals)
            lo, hi = wilson_interval(k, len(vals), level)
            method = "wilson"
        else:
            lo, hi, method = share_mean_interval(vals, level, n_boot, seed)
        mean = float(sum(float(v) for v in vals) / len(vals)) if vals else math.nan
        rows.append({"axis": axis or "all", "value": label, "metric": metric, "n": len(vals), "mean": mean,
                     "lo": lo, "hi": hi, "level": level, "method": method})
    return pd.DataFrame(rows, columns=["axis", "value", "metric", "n", "mean", "lo", "hi", "level", "method"])


def describe(scores: "pd.DataFrame | ExperimentRecord | str", axis: str | None = None, metric: str = "word_accuracy", *,
             level: float = 0.95, n_boot: int = 2000, seed: int = 0, intervals: bool = True) -> str:
    """One line: "promptExtend on: word accuracy 0.81 [0.74, 0.87] (n=32); off: word accuracy 0.64
    [0.55, 0.72] (n=32) (95% intervals: bootstrap over images)". intervals=False leaves out what
    the intervals are."""
    table = by_axis(scores, axis, metric, level=level, n_boot=n_boot, seed=seed)
    if table.empty:
        return f"{axis or 'all'}: no scores"
    # the bounds are written as the mean is (never 1.00 short of 1): rounded plainly, a low bound
    # of 0.9986 read "1.00" beside a mean of 0.9995 written "0.99", the figure outside its interval
    parts = [f"{r.value}: {METRICS[metric]} {score_figure(r.mean)} [{score_figure(r.lo)}, {score_figure(r.hi)}] (n={r.n})"
             for r in table.itertuples()]
    # a long value's label names its axis already ("negativePrompt 2: blurry text…"): not twice
    head = f"{axis} " if axis and not names_axis(table["value"].iloc[0], axis) else ""
    return head + "; ".join(parts) + (f" ({interval_kind(table)})" if intervals else "")


def interval_kind(table: "pd.DataFrame") -> str:
    """What the intervals of a `by_axis` table are, in words."""
    level = percent(table["level"].iloc[0])
    methods = set(table["method"])
    if methods == {"wilson"}:
        return f"{level} Wilson intervals"
    kind = f"{level} intervals: bootstrap over images"
    if "bootstrap+wilson" in methods:
        kind += f", at least Wilson's where fewer than {SMALL_SAMPLE} images or all alike"
    return kind


def cost_per_correct(scores: "pd.DataFrame | ExperimentRecord | str", by: str | None = None, *, level: float = 0.95) -> "pd.DataFrame":
    """USD per correctly rendered image (every expected string read exactly), per value of `by`:
    images, correct, rate [rate_lo, rate_hi] (Wilson), cost_usd (all images), cost_per_image,
    cost_per_correct [lo, hi] (inf where no image is correct)."""
    import pandas as pd

    df = _frame(scores)
    rows = []
    for label, part in _groups(df, by, "by"):
        part = part[[c is not None and c == c for c in part["correct"]]]
        n = len(part)
        k = int(sum(bool(c) for c in part["correct"]))
        costs = [float(c) for c in part["cost_usd"] if c is not None and c == c]
        total = float(sum(costs))
        per_image = total / len(costs) if costs else math.nan
        rate_lo, rate_hi = wilson_interval(k, n, level)
        rate = k / n if n else math.nan

        def per(r: float) -> float:
            if not n:
                return math.nan
            return per_image / r if r and r == r else math.inf

        rows.append({"axis": by or "all", "value": label, "images": n, "correct": k, "rate": rate, "rate_lo": rate_lo,
                     "rate_hi": rate_hi, "cost_usd": round(total, 6), "cost_per_image": per_image,
                     "cost_per_correct": per(rate), "lo": per(rate_hi), "hi": per(rate_lo)})
    out = pd.DataFrame(rows, columns=["axis", "value", "images", "correct", "rate", "rate_lo", "rate_hi", "cost_usd",
                                      "cost_per_image", "cost_per_correct", "lo", "hi"])
    # dollars not named *_usd, for readable(): the mean price as a price, the ratios as estimates
    out.attrs[USD_COLUMNS] = {"cost_per_image": "price", "cost_per_correct": "estimate", "lo": "estimate", "hi": "estimate"}
    return out


def axis_lines(scores: "pd.DataFrame | ExperimentRecord | str", axis: str) -> list[str]:
    """What the scores say of one axis, as `qwenlab score` and the HTML report both show it: word
    accuracy and the share of images read right per value, each with its interval, then what a
    correctly rendered image cost per value ("no image rendered correctly" where none was)."""
    df = _frame(scores)
    lines = [describe(df, axis), describe(df, axis, "correct")]
    for r in cost_per_correct(df, by=axis).itertuples():
        value = r.value if names_axis(r.value, axis) else f"{axis} {r.value}"  # not "axis axis 2: …"
        if not r.correct:  # not "$inf per correctly rendered image"
            lines.append(f"  {value}: no image rendered correctly (0/{r.images}), so no cost per correct image")
            continue
        # an estimate and its interval to one number of decimals, three digits of the largest
        # ("$0.1333 [$0.0835, $0.1485]" showed hundredths of a cent of a ratio spanning cents)
        per, lo, hi = format_usd_estimates([r.cost_per_correct, r.lo, r.hi])
        lines.append(f"  {value}: {per} per correctly rendered image [{lo}, {hi}] "
                     f"({r.correct}/{r.images} correct)")
    return lines
