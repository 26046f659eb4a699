"""Confidence intervals, shared by the blind-judging win rates and the typography scores.

    wilson_interval(8, 10)          # a proportion: Wilson's score interval
    bootstrap_mean([0.5, 1.0, ...]) # a mean: a percentile bootstrap
    share_mean_interval([1.0, 0.5, ...])  # a mean of per-image shares: the bootstrap, at least Wilson's when small
    bounds_percent(0.4974, 0.9182)  # ("49%", "92%"): whole percents, rounded outward
"""

from __future__ import annotations

import math
from numbers import Real
from statistics import NormalDist
from typing import Any

__all__ = ["check_confidence", "wilson_interval", "bootstrap_mean", "share_mean_interval", "percent", "bounds_percent", "SMALL_SAMPLE"]

# below this many values (or when they are all alike) a bootstrap cannot see the spread a sample may hide
SMALL_SAMPLE = 10


def check_confidence(confidence: Any) -> float:
    """The confidence level as a float; ValueError with the fix unless it is a fraction strictly
    between 0 and 1 (95, a percent, says to pass 0.95)."""
    ok = isinstance(confidence, Real) and not isinstance(confidence, bool) and 0 < confidence < 1  # NaN fails too
    if not ok:
        hint = ""
        if isinstance(confidence, Real) and not isinstance(confidence, bool) and 1 < confidence < 100:
            hint = f"; confidence={confidence!r} is a percent: pass {float(confidence) / 100:g}"
        raise ValueError("confidence must be a fraction between 0 and 1 (exclusive), e.g. 0.95 for a 95% interval, "
                         f"got {confidence!r}{hint}")
    return float(confidence)


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion successes/n (successes may be fractional, as
    with ties counted as halves). (nan, nan) when n is 0."""
    # judged before n: a bad level with nothing counted yet would otherwise pass unnoticed
    confidence = check_confidence(confidence)
    if n <= 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes the bound is exactly 0 or 1 (centre and half-width are equal there), but
    # computed it came out as 2.8e-17 for 0 of 10 and 0.9999999999999999 for 13 of 13: a value never
    # beaten would not reach 1, a value never winning would seem to exclude 0 (`ci_low > 0`).
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_mean(values: Any, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (resampling the values); (nan, nan) when empty."""
    import numpy as np

    x = np.asarray([v for v in values if v is not None and v == v], dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def share_mean_interval(values: Any, level: float = 0.95, n_boot: int = 2000,
                        seed: int = 0) -> tuple[float, float, str]:
    """Interval of the mean of shares that each lie in [0, 1] (a word accuracy per image): the
    percentile bootstrap, widened to at least Wilson's interval of the mean where the sample is
    too small to show its spread (fewer than SMALL_SAMPLE values) or shows none (all alike).
    Returns (lo, hi, method): "bootstrap", or "bootstrap+wilson" where it was widened.

    Why: six images that all read right gave [1.00, 1.00], as certain as a thousand would; a
    share's variance is at most that of a yes or no with the same mean, so Wilson's interval of
    the mean bounds what the few values seen may hide (six of six: [0.61, 1.00])."""
    x = [float(v) for v in values if v is not None and v == v]
    lo, hi = bootstrap_mean(x, level, n_boot, seed)
    if not x:
        return lo, hi, "bootstrap"
    if len(x) >= SMALL_SAMPLE and max(x) != min(x):
        return lo, hi, "bootstrap"
    w_lo, w_hi = wilson_interval(sum(x), len(x), level)
    return min(lo, w_lo), max(hi, w_hi), "bootstrap+wilson"


def percent(level: float) -> str:
    """A confidence level as a percentage that says it: 0.95 -> "95%", 0.995 -> "99.5%" (not "100%")."""
    return f"{float(level) * 100:.6g}%"


def bounds_percent(low: float, high: float) -> tuple[str, str]:
    """An interval's bounds as whole percents rounded outward (the low one down, the high one up),
    so that the interval printed holds the one computed: 10 wins of 13 is [0.4974, 0.9182], which
    rounded to the nearest read "[50%, 92%]", as if 50% (no preference) were at most its edge,
    where it lies inside; outward it reads "[49%, 92%]". A bound printed as 50% may hold 50%."""
    # the slack absorbs float noise: a bound of 0.3 computed as 0.30000000000000004 stays 30%, not 31%
    lo = math.floor(low * 100 + 1e-6) if low == low else math.nan
    hi = math.ceil(high * 100 - 1e-6) if high == high else math.nan
    return tuple("nan%" if x != x else f"{int(x)}%" for x in (lo, hi))  # type: ignore[return-value]
