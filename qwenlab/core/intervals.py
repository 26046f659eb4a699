"""Confidence intervals, shared by the blind-judging win rates and the typography scores.

    wilson_interval(8, 10)          # a proportion: Wilson's score interval
    bootstrap_mean([0.5, 1.0, ...]) # a mean of per-image shares: a percentile bootstrap
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

__all__ = ["wilson_interval", "bootstrap_mean"]


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion successes/n (successes may be fractional, as
    with ties counted as halves). (nan, nan) when n is 0."""
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


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
