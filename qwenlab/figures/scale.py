"""The colour scale of text scores on figures: a frame's colour tells 0.88 from 1.00.

Typography scores cluster near the top (most posters read almost right), so a plain red-to-green
ramp paints 0.88 and 1.00 the same green. This scale spends its colours where the scores are:
dark red 0, orange 0.5, yellow 0.75, light green 0.9, dark green 1.0 (and grey where an image has
no score). The score itself is also printed in the image's caption, and the page draws the scale
as a labelled bar, so nobody has to guess a number from a hue.
"""

from __future__ import annotations

from typing import Any

from ..core.values import is_missing

__all__ = ["STOPS", "NOT_SCORED", "frame_colour", "draw_scale", "SCALE_H"]

# (score, RGB 0..1): ColorBrewer RdYlGn's ends and middle, placed where scores fall
STOPS: tuple[tuple[float, tuple[float, float, float]], ...] = (
    (0.0, (0.647, 0.0, 0.149)),
    (0.5, (0.957, 0.427, 0.263)),
    (0.75, (0.996, 0.878, 0.545)),
    (0.9, (0.651, 0.851, 0.416)),
    (1.0, (0.102, 0.471, 0.216)),
)
NOT_SCORED = (0.667, 0.667, 0.667)
SCALE_H = 0.42  # inches the drawn scale takes: the bar and its tick labels


def frame_colour(value: Any) -> tuple[float, float, float]:
    """The colour of a score in [0, 1], as matplotlib takes it (grey for no score)."""
    if is_missing(value):
        return NOT_SCORED
    v = min(1.0, max(0.0, float(value)))
    for (lo, c0), (hi, c1) in zip(STOPS, STOPS[1:]):
        if v <= hi:
            t = (v - lo) / (hi - lo)
            return tuple(round(a + (b - a) * t, 4) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return STOPS[-1][1]


def draw_scale(fig: Any, x: float, y: float, width: float, title: str) -> None:
    """The scale as a bar `width` inches wide whose top-left corner is at (`x`, `y`) inches
    from the page's top-left corner, ticked at its stops, with `title` on its left."""
    from matplotlib.patches import Rectangle

    W, H = fig.get_figwidth(), fig.get_figheight()
    bar_h, steps = 0.12, 60
    fig.text(x / W, 1 - (y + bar_h / 2) / H, title, fontsize=8, va="center", ha="left", color="0.25")
    x0 = x + min(width * 0.45, 0.075 * len(title) + 0.2)
    span = width - (x0 - x) - 0.9
    for i in range(steps):
        v = i / (steps - 1)
        fig.add_artist(Rectangle(((x0 + span * i / steps) / W, 1 - (y + bar_h) / H), span / steps / W + 1e-4, bar_h / H,
                                 transform=fig.transFigure, facecolor=frame_colour(v), edgecolor="none"))
    for v, _ in STOPS:
        fig.text((x0 + span * v) / W, 1 - (y + bar_h + 0.03) / H, f"{v:.2f}".rstrip("0").rstrip(".") if v < 1 else "1.00",
                 fontsize=7, ha="center", va="top", color="0.25")
    fig.add_artist(Rectangle(((x0 + span + 0.15) / W, 1 - (y + bar_h) / H), 0.12 / W, bar_h / H, transform=fig.transFigure,
                             facecolor=NOT_SCORED, edgecolor="none"))
    fig.text((x0 + span + 0.32) / W, 1 - (y + bar_h / 2) / H, "not scored", fontsize=7, va="center", ha="left", color="0.25")
