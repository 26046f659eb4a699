"""One panel of a figure: an image with its caption under it, or a labelled blank where an image
is missing.

Shared by grids and pairs. A caption never covers pixels: it is drawn below the image, in the
space the page keeps for it (`caption_height`), so a poster's footer text stays visible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from matplotlib.figure import Figure

from ..store.catalog import Entry
from .pages import DISPLAY_QUALITY, DISPLAY_WIDTH, page_bytes
from .text import BLANK_PT, CAPTION_PT, line_height, wrap_lines

if TYPE_CHECKING:
    import numpy as np

__all__ = ["draw_image", "draw_blank", "caption_lines", "caption_height", "FAILED_COLOR", "ShownFigure", "CAPTION_GAP"]

FAILED_COLOR = "#c0392b"
CAPTION_GAP = 0.04   # inches between an image and its caption
_MAX_CAPTION_LINES = 6


class ShownFigure(Figure):
    """A matplotlib Figure that a notebook displays as a JPEG at display size, with no pyplot and
    no GUI backend (Jupyter shows a bare Figure only as text unless pyplot's inline backend was
    loaded, and a full-size PNG would make the notebook heavy)."""

    def _repr_jpeg_(self) -> bytes:
        return page_bytes(self, "jpeg", min(self.dpi, DISPLAY_WIDTH / self.get_figwidth()), quality=DISPLAY_QUALITY)


def caption_lines(caption: str, box_w: float) -> list[str]:
    """A caption wrapped to the width of its image's box (inches)."""
    return wrap_lines(caption, box_w - 0.04, CAPTION_PT, max_lines=_MAX_CAPTION_LINES) if caption else []


def caption_height(lines: int) -> float:
    """Inches a caption of `lines` lines takes under its image (0 for none)."""
    return CAPTION_GAP + lines * line_height(CAPTION_PT) + 0.04 if lines else 0.0


def _caption(ax: Any, caption: str, box_w: float, box_h: float, colour: str = "0.15") -> None:
    """The caption under the axes `ax` (`box_w` x `box_h` inches), outside its pixels."""
    lines = caption_lines(caption, box_w)
    if lines:
        ax.text(0.5, -CAPTION_GAP / box_h, "\n".join(lines), transform=ax.transAxes, ha="center", va="top",
                fontsize=CAPTION_PT, color=colour, linespacing=1.15, clip_on=False)


def draw_image(fig: "Figure", rect: tuple[float, float, float, float], pixels: "np.ndarray", caption: str, box_w: float,
               box_h: float, *, frame: Any = None, boxes: Sequence[tuple[Sequence[tuple[float, float]], Any]] = ()) -> None:
    """An image filling `rect` (figure fractions; `box_w` x `box_h` inches), aspect kept, its
    caption under it.

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
    _caption(ax, caption, box_w, box_h)


def draw_blank(fig: "Figure", rect: tuple[float, float, float, float], entry: Entry | None, caption: str, box_w: float,
               box_h: float, problem: str | None = None) -> None:
    """A grey panel saying why there is no image (the error code and message of a failed cell),
    framed red for a failure, dashed grey for a cell not run; its caption under it."""
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
    lines = wrap_lines(text, box_w - 0.2, BLANK_PT, max_lines=max(1, int(box_h * 0.8 / line_height(BLANK_PT))))
    ax.text(0.5, 0.5, "\n".join(lines), ha="center", va="center", fontsize=BLANK_PT, color=FAILED_COLOR if failed else "0.35",
            transform=ax.transAxes)
    _caption(ax, caption, box_w, box_h, "0.3")
