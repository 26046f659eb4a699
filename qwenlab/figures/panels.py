"""One panel of a figure: an image with its stamp, or a labelled blank where an image is missing.

Shared by grids and pairs. The stamp is drawn inside the image (white on a dark band at its
foot), so a crop of the image keeps it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Sequence

from matplotlib.figure import Figure

from ..store.catalog import Entry
from .text import BLANK_PT, STAMP_PT, line_height, wrap_lines

if TYPE_CHECKING:
    import numpy as np

__all__ = ["draw_image", "draw_blank", "FAILED_COLOR", "ShownFigure"]

FAILED_COLOR = "#c0392b"


class ShownFigure(Figure):
    """A matplotlib Figure that a notebook displays as a PNG, with no pyplot and no GUI backend
    (Jupyter shows a bare Figure only as text unless pyplot's inline backend was loaded)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", pil_kwargs={"compress_level": 3})
        return buf.getvalue()


def draw_image(fig: "Figure", rect: tuple[float, float, float, float], pixels: "np.ndarray", stamp: str, box_w: float,
               box_h: float, *, frame: Any = None, boxes: Sequence[tuple[Sequence[tuple[float, float]], Any]] = ()) -> None:
    """An image filling `rect` (figure fractions; `box_w` x `box_h` inches), aspect kept, stamped.

    frame: a colour for a thick border hugging the image (a text score's colour).
    boxes: (polygon in the image's pixel coordinates, colour) pairs, drawn as outlines (what OCR read)."""
    ax = fig.add_axes(rect)
    ax.imshow(pixels, interpolation="antialiased")
    ax.set_axis_off()
    if frame is not None or boxes:
        from matplotlib.patches import Polygon, Rectangle

        ax.set_autoscale_on(False)  # outlines must not move the image's limits
        for points, colour in boxes:
            ax.add_patch(Polygon(points, closed=True, fill=False, edgecolor=colour, linewidth=1.3))
        if frame is not None:
            h, w = pixels.shape[:2]
            ax.add_patch(Rectangle((-0.5, -0.5), w, h, fill=False, edgecolor=frame, linewidth=4, clip_on=False))
    if stamp:
        h, w = pixels.shape[:2]
        shown_w = min(box_w, box_h * w / h)  # the image keeps its aspect inside its box
        ax.text(0.5, 0.012, "\n".join(wrap_lines(stamp, shown_w - 0.08, STAMP_PT, max_lines=6)), transform=ax.transAxes,
                ha="center", va="bottom", fontsize=STAMP_PT, color="white", linespacing=1.15,
                bbox={"boxstyle": "square,pad=0.25", "facecolor": "black", "alpha": 0.62, "linewidth": 0})


def draw_blank(fig: "Figure", rect: tuple[float, float, float, float], entry: Entry | None, stamp: str, box_w: float,
               box_h: float, problem: str | None = None) -> None:
    """A grey panel saying why there is no image (the error code and message of a failed cell),
    framed red for a failure, dashed grey for a cell not run; the stamp at its foot."""
    ax = fig.add_axes(rect)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f4f4f4")
    failed = problem is not None or entry is None or entry.status == "failed"
    for spine in ax.spines.values():
        spine.set_edgecolor(FAILED_COLOR if failed else "0.6")
        spine.set_linewidth(1.4 if failed else 0.8)
        spine.set_linestyle("-" if failed else "--")
    text = problem or (entry.problem() if entry is not None else "no image")
    lines = wrap_lines(text, box_w - 0.2, BLANK_PT, max_lines=int(box_h * 0.55 / line_height(BLANK_PT)))
    ax.text(0.5, 0.62, "\n".join(lines), ha="center", va="center", fontsize=BLANK_PT, color=FAILED_COLOR if failed else "0.35",
            transform=ax.transAxes)
    if stamp:
        ax.text(0.5, 0.03, "\n".join(wrap_lines(stamp, box_w - 0.15, STAMP_PT, max_lines=5)), ha="center", va="bottom",
                fontsize=STAMP_PT, color="0.2", transform=ax.transAxes)
