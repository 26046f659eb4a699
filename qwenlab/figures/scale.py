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
SCALE_H = 0.55  # inches the drawn scale takes: its title, the bar and its tick labels


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
    """The scale drawn `width` inches wide from (`x`, `y`) inches (the page's top-left corner is
    0, 0): `title` on a line of its own, then the bar ticked at its stops, and a grey "not scored"
    swatch; SCALE_H inches high."""
    from matplotlib.patches import Rectangle

    W, H = fig.get_figwidth(), fig.get_figheight()
    fig.text(x / W, 1 - y / H, title, fontsize=8, va="top", ha="left", color="0.25")
    top, bar_h, steps = y + 0.2, 0.12, 60
    span = min(width, 6.0) - 1.0
    for i in range(steps):
        fig.add_artist(Rectangle(((x + span * i / steps) / W, 1 - (top + bar_h) / H), span / steps / W + 1e-4, bar_h / H,
                                 transform=fig.transFigure, facecolor=frame_colour(i / (steps - 1)), edgecolor="none"))
    for v, _ in STOPS:
        fig.text((x + span * v) / W, 1 - (top + bar_h + 0.03) / H, "1.00" if v == 1 else f"{v:g}",
                 fontsize=7, ha="center", va="top", color="0.25")
    fig.add_artist(Rectangle(((x + span + 0.25) / W, 1 - (top + bar_h) / H), 0.12 / W, bar_h / H, transform=fig.transFigure,
                             facecolor=NOT_SCORED, edgecolor="none"))
    fig.text((x + span + 0.42) / W, 1 - (top + bar_h / 2) / H, "not scored", fontsize=7, va="center", ha="left", color="0.25")
