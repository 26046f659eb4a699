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
from ..typography.draw import SCORE_STOPS, score_colour
from .text import line_height

__all__ = ["STOPS", "NOT_SCORED", "frame_colour", "draw_scale", "SCALE_H", "SCALE_TITLE_PT"]

# the typography layer's scale (also the explorer's and the report's), as matplotlib takes colours
STOPS: tuple[tuple[float, tuple[float, float, float]], ...] = tuple(
    (v, tuple(round(c / 255, 4) for c in rgb)) for v, rgb in SCORE_STOPS)  # type: ignore[misc]
NOT_SCORED = tuple(round(c / 255, 4) for c in score_colour(None))
SCALE_H = 0.55  # inches the drawn scale takes: a line of title, the bar and its tick labels
SCALE_TITLE_PT = 8  # the title's font size: a page wraps a long title to its width at this size


def frame_colour(value: Any) -> tuple[float, float, float]:
    """The colour of a score in [0, 1], as matplotlib takes it (grey for no score)."""
    return tuple(round(c / 255, 4) for c in score_colour(None if is_missing(value) else value))  # type: ignore[return-value]


def draw_scale(fig: Any, x: float, y: float, width: float, title: str | list[str]) -> None:
    """The scale drawn `width` inches wide from (`x`, `y`) inches (the page's top-left corner is
    0, 0): `title` on lines of its own (a list: already wrapped), then the bar ticked at its
    stops, and a grey "not scored" swatch; SCALE_H inches high for a title of one line."""
    from matplotlib.patches import Rectangle

    W, H = fig.get_figwidth(), fig.get_figheight()
    lines = [title] if isinstance(title, str) else title
    fig.text(x / W, 1 - y / H, "\n".join(lines), fontsize=SCALE_TITLE_PT, va="top", ha="left", color="0.25")
    top, bar_h, steps = y + 0.2 + (len(lines) - 1) * line_height(SCALE_TITLE_PT), 0.12, 60
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
