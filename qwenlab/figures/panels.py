"""One panel of a figure: an image with its caption under it, or a labelled blank where an image
is missing.

Shared by grids and pairs. A caption never covers pixels: it is drawn below the image, in the
space the page keeps for it (`caption_height`), so a poster's footer text stays visible.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import BboxImage
from matplotlib.transforms import Affine2D
from PIL import Image

from ..store.catalog import Entry
from .pages import DISPLAY_QUALITY, DISPLAY_WIDTH, page_bytes
from .text import BLANK_PT, CAPTION_PT, line_height, wrap_lines

__all__ = ["draw_image", "draw_blank", "drawn_tiles", "caption_lines", "caption_height", "FAILED_COLOR", "ShownFigure",
           "CAPTION_GAP"]

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


def _caption(fig: Any, caption: str, x_mid: float, y_foot: float, box_w: float, gid: str | None,
             colour: str = "0.15") -> None:
    """The caption centred at `x_mid` under the box whose foot is at `y_foot` (figure fractions),
    outside its pixels."""
    lines = caption_lines(caption, box_w)
    if lines:
        fig.text(x_mid, y_foot - CAPTION_GAP / fig.get_figheight(), "\n".join(lines), ha="center", va="top",
                 fontsize=CAPTION_PT, color=colour, linespacing=1.15, gid=gid)


_ENLARGE_LIMIT = 3  # from this upsampling on, matplotlib's "antialiased" draws pixels as squares


class TileImage(BboxImage):
    """A `BboxImage` that, on a raster canvas, resizes its pixels with Pillow's Lanczos filter
    to the exact pixels it covers. matplotlib's own resampling took about 2.5 ms an image, a
    third of the drawing of a 64-image page (`python -m qwenlab.bench --scale`), against about
    0.7 ms; and Lanczos keeps a shrunk poster's small text sharper than its Hanning filter.
    Enlarging less than 3x is Pillow's too: a page saved at its dpi draws its 256-px thumbnails
    264 px wide, and a notebook's grid drawn for a Retina screen enlarges them 1.2x, and that took
    matplotlib 0.75 and 0.85 s of CPU a 64-image page against 0.54 and 0.58 s (medians of 5
    alternating rounds, throwaway `/tmp/s24/r/t10.py`). From 3x matplotlib draws the pixels as
    squares ("antialiased" turns to "nearest"), as it still does here; a vector file (PDF, SVG)
    and any pixels that are not 8-bit RGB(A) are left to it too."""

    def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False) -> Any:
        pixels = self._A
        if unsampled or renderer.option_scale_image() or pixels is None or pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
            return super().make_image(renderer, magnification, unsampled)
        canvas_w, canvas_h = renderer.get_canvas_width_height()
        x0, y0, x1, y1 = self.get_window_extent(renderer).extents * magnification
        # the pixel borders matplotlib rounds to (`_ImageBase._make_image`), so that a tile
        # lands where it did, to the pixel
        left, bottom = math.floor(x0 + 0.5), math.ceil(y0 - 0.5 - 1e-8)
        right, top = math.floor(x1 + 0.5 + 1e-8), math.ceil(y1 - 0.5)
        width, height = right - left, top - bottom
        inside = left >= 0 and bottom >= 0 and right <= canvas_w * magnification and top <= canvas_h * magnification
        if (not inside or width <= 0 or height <= 0 or width >= _ENLARGE_LIMIT * pixels.shape[1]
                or height >= _ENLARGE_LIMIT * pixels.shape[0]):
            return super().make_image(renderer, magnification, unsampled)
        shrunk = Image.fromarray(pixels)
        if shrunk.size != (width, height):
            shrunk = shrunk.resize((width, height), Image.Resampling.LANCZOS)
        # the renderer takes RGBA rows bottom first, and writes into them
        out = np.ascontiguousarray(np.asarray(shrunk.convert("RGBA"))[::-1])
        return out, left / magnification, bottom / magnification, Affine2D()


def draw_image(fig: "Figure", rect: tuple[float, float, float, float], pixels: "np.ndarray", caption: str, box_w: float,
               box_h: float, *, frame: Any = None, boxes: Sequence[tuple[Sequence[tuple[float, float]], Any]] = (),
               gid: str | None = None) -> None:
    """An image in `rect` (figure fractions; `box_w` x `box_h` inches), aspect kept and centred,
    its caption under the box.

    frame: a colour for a thick border hugging the image (a text score's colour).
    boxes: (polygon in the image's pixel coordinates, colour) pairs, drawn as outlines (what OCR read).
    gid: set on every artist of the tile (image, frame, outlines, caption), to find them again.

    The image is a `BboxImage` placed on the figure, not an Axes: an Axes costs ~6 ms to make,
    which is most of the time of a page of 64 images."""
    from matplotlib.patches import Polygon, Rectangle
    from matplotlib.transforms import Affine2D, Bbox, TransformedBbox

    W, H = fig.get_figwidth(), fig.get_figheight()
    h, w = pixels.shape[:2]
    shown_w = min(box_w, box_h * w / h)  # inches: the image keeps its aspect inside its box
    shown_h = shown_w * h / w
    x0 = rect[0] + (box_w - shown_w) / 2 / W
    y0 = rect[1] + (box_h - shown_h) / 2 / H
    image = TileImage(TransformedBbox(Bbox.from_bounds(x0, y0, shown_w / W, shown_h / H), fig.transFigure),
                      interpolation="antialiased", gid=gid)
    image.set_data(pixels)
    fig.add_artist(image)
    if boxes:  # the image's pixel coordinates (y down) onto the figure
        to_fig = Affine2D().scale(shown_w / W / w, -shown_h / H / h).translate(x0, y0 + shown_h / H) + fig.transFigure
        clip = Rectangle((x0, y0), shown_w / W, shown_h / H, transform=fig.transFigure)
        for points, colour in boxes:
            outline = Polygon(points, closed=True, fill=False, edgecolor=colour, linewidth=1.3, transform=to_fig, gid=gid)
            outline.set_clip_path(clip)  # a region shows part of the image: outlines stop at its edge
            fig.add_artist(outline)
    if frame is not None:
        fig.add_artist(Rectangle((x0, y0), shown_w / W, shown_h / H, fill=False, edgecolor=frame, linewidth=4,
                                 transform=fig.transFigure, gid=gid))
    _caption(fig, caption, rect[0] + box_w / 2 / W, rect[1], box_w, gid)


def draw_blank(fig: "Figure", rect: tuple[float, float, float, float], entry: Entry | None, caption: str, box_w: float,
               box_h: float, problem: str | None = None, gid: str | None = None, aspect: float | None = None) -> None:
    """A grey panel saying why there is no image (the error code and message of a failed cell),
    framed red for a failure, dashed grey for a cell not run; its caption under it. `aspect`
    (width / height of what the image would show): the panel takes that shape, centred in its
    box as an image is, where it filled the box (a portrait poster's blank as wide as a landscape one)."""
    from matplotlib.patches import Rectangle

    failed = problem is not None or entry is None or entry.status == "failed"
    shown_w, shown_h = box_w, box_h
    if aspect and aspect > 0:
        shown_w = min(box_w, box_h * aspect)
        shown_h = shown_w / aspect
    W, H = fig.get_figwidth(), fig.get_figheight()
    x0 = rect[0] + (box_w - shown_w) / 2 / W
    y0 = rect[1] + (box_h - shown_h) / 2 / H
    fig.add_artist(Rectangle((x0, y0), shown_w / W, shown_h / H, transform=fig.transFigure, facecolor="#f4f4f4",
                             edgecolor=FAILED_COLOR if failed else "0.6", linewidth=1.4 if failed else 0.8,
                             linestyle="-" if failed else "--", gid=gid))
    text = problem or (entry.problem() if entry is not None else "no image")
    lines = wrap_lines(text, max(shown_w - 0.2, 0.5), BLANK_PT, max_lines=max(1, int(shown_h * 0.8 / line_height(BLANK_PT))))
    fig.text(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2, "\n".join(lines), ha="center", va="center", fontsize=BLANK_PT,
             color=FAILED_COLOR if failed else "0.35", gid=gid)
    _caption(fig, caption, rect[0] + rect[2] / 2, rect[1], box_w, gid, "0.3")


def drawn_tiles(fig: "Figure") -> list[dict[str, Any]]:
    """What a figure's image tiles hold, one dict per image drawn: its gid ("image 12"), the
    `image` artist, its `caption` (text), `frames` and `outlines` (colours, RGB 0..1)."""
    from matplotlib.image import BboxImage
    from matplotlib.patches import Polygon, Rectangle

    parts: dict[str, list[Any]] = {}
    for artist in [*fig.artists, *fig.texts]:
        if artist.get_gid():
            parts.setdefault(artist.get_gid(), []).append(artist)
    out = []
    for gid, artists in parts.items():
        images = [a for a in artists if isinstance(a, BboxImage)]
        if not images:
            continue

        def colours(kind: type) -> list[tuple[float, ...]]:
            return [tuple(round(c, 3) for c in a.get_edgecolor()[:3]) for a in artists
                    if isinstance(a, kind) and (kind is Polygon) != isinstance(a, Rectangle)]

        texts = [a.get_text() for a in artists if hasattr(a, "get_text")]
        out.append({"gid": gid, "image": images[0], "caption": texts[0] if texts else "",
                    "frames": colours(Rectangle), "outlines": colours(Polygon)})
    return out
