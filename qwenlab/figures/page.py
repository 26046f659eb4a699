"""Drawing one page of a comparison grid. `qwenlab.figures.grid.build_grid` decides what the pages
are, all from one `GridSpec` (`qwenlab.figures.grid_spec`); a page's layout (where each image goes,
how big the page must be to hold its images and text) is measured first (`qwenlab.figures.page_layout`),
with what the page says around its images (`qwenlab.figures.page_text`).

Top to bottom: the title, the provenance line (red for synthetic results), the subtitle (the
page's values, what every image shares, the counts, the score scale), the column headers, the
rows (each image with its caption under it, in the space kept for it), the footnotes. Every
height is measured before anything is drawn, so no text ever lands on an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.cjk_font import cjk_fallback
from ..core.glyphs import drawable
from ..store.catalog import Entry
from ..typography.badges import ScoreBadges
from .grid_spec import GridSpec
from .page_layout import GAP_CELL, GAP_IMAGE, MARGIN, PageCells, PageLayout, measure_page, place_entries
from .page_text import Captions, subtitle_lines
from .panels import ShownFigure, draw_blank, draw_image
from .region import Region
from .scale import draw_scale, frame_colour
from .text import BLANK_PT, LABEL_PT, NOTE_PT, SUBTITLE_PT, TITLE_PT, heading, line_height, wrap_lines

__all__ = ["render_page"]

_ALERT_COLOUR = "#b00020"  # the provenance line of synthetic, mixed or unrecorded results


def render_page(spec: GridSpec, entries: list[Entry], key: dict[str, Any], page_label: str,
                arrays: dict[str, Any]) -> tuple[ShownFigure, int, int]:
    """Draw one page of a grid: the entries whose page axes have the values in `key`, from
    `arrays` (path -> pixels, or why there are none); return the figure, the images and the blanks drawn."""
    catalog = spec.catalog
    place = place_entries(spec, entries, key)
    captions = Captions.of(spec, entries, key)
    prov = catalog.provenance
    where, mark = prov.headline(), prov.mark()
    loud = bool(mark)  # synthetic, mixed or not recorded: said in the title and in red; Runware's host in grey
    subtitle = subtitle_lines(spec, entries, key, page_label, captions, arrays)
    layout = measure_page(spec, entries, place, arrays, captions, title=f"{spec.title} · {mark}" if mark else spec.title,
                          subtitle=subtitle if loud or not where else [where, *subtitle], alert=where if loud else None)
    fig = ShownFigure(figsize=(layout.width, layout.height), dpi=spec.dpi)
    fig.patch.set_facecolor("white")
    y = _draw_headings(fig, layout)
    y, images, blanks = _draw_body(fig, layout, place, _Tiles(spec, captions, arrays), y)
    _draw_footnotes(fig, layout, y)
    cjk_fallback(fig)  # a prompt, name or value in Chinese, Japanese or Korean: drawn, not boxes
    return fig, images, blanks


def _draw_headings(fig: ShownFigure, layout: PageLayout) -> float:
    """The title, the subtitle, the score scale and the column headers; return where the body
    starts (inches from the top)."""
    fx, fy = layout.fx, layout.fy
    y = MARGIN
    fig.text(fx(MARGIN), fy(y), "\n".join(layout.title_lines), fontsize=TITLE_PT, fontweight="bold", va="top", ha="left")
    y += layout.title_h
    top = y
    if layout.alert_lines:
        fig.text(fx(MARGIN), fy(y), "\n".join(layout.alert_lines), fontsize=SUBTITLE_PT, color=_ALERT_COLOUR,
                 fontweight="bold", va="top", ha="left")
        y += len(layout.alert_lines) * line_height(SUBTITLE_PT)
    fig.text(fx(MARGIN), fy(y), "\n".join(layout.sub_lines), fontsize=SUBTITLE_PT, color="0.25", va="top", ha="left")
    y += len(layout.sub_lines) * line_height(SUBTITLE_PT)
    if layout.scale_title:
        draw_scale(fig, MARGIN, y + 0.04, layout.width - 2 * MARGIN, layout.scale_title)
    y = top + layout.sub_h
    if layout.col_heads:
        for ci, head in enumerate(layout.col_heads):
            fig.text(fx(layout.col_x[ci] + layout.cell_ws[ci] / 2), fy(y + layout.head_h - 0.08), "\n".join(head),
                     fontsize=LABEL_PT, fontweight="bold", ha="center", va="bottom")
        y += layout.head_h
    return y


@dataclass(frozen=True)
class _Tiles:
    """How every image of a page is drawn: the grid's choices, the captions, the pixels."""

    spec: GridSpec
    captions: Captions
    arrays: dict[str, Any]  # path -> pixels, or why there are none


def _draw_body(fig: ShownFigure, layout: PageLayout, place: PageCells, tiles: _Tiles, y: float) -> tuple[float, int, int]:
    """Every facet block, row and cell from `y` down; return the y below them, the images drawn and the blanks."""
    spec = tiles.spec
    axes = spec.catalog.axes
    images = blanks = 0
    for fi, fv in enumerate(place.facet_vals):
        if spec.facet:
            y = _draw_facet_heading(fig, layout, heading(axes[spec.facet], fv), y)
        for ri, rv in enumerate(place.row_vals):
            if spec.rows:
                _draw_row_header(fig, layout, heading(axes[spec.rows], rv), y, layout.row_h(fi, ri))
            for ci in range(len(place.col_vals)):
                drawn, failed = _draw_cell(fig, layout, tiles, place.cells.get((fi, ri, ci), []), ci, y)
                images += drawn
                blanks += failed
            y += layout.row_h(fi, ri) + (GAP_CELL if ri < len(place.row_vals) - 1 else 0)
        y += GAP_CELL * 2 if fi < len(place.facet_vals) - 1 else 0
    return y, images, blanks


def _draw_facet_heading(fig: ShownFigure, layout: PageLayout, text: str, y: float) -> float:
    """A facet value's heading over a rule across the page; return the y below it."""
    from matplotlib.lines import Line2D

    fx, fy = layout.fx, layout.fy
    fig.text(fx(MARGIN), fy(y + 0.06), drawable(text), fontsize=LABEL_PT, fontweight="bold", ha="left", va="top", color="#1f4e79")
    rule_y = fy(y + layout.facet_h - 0.06)
    fig.add_artist(Line2D([fx(MARGIN), fx(layout.width - MARGIN)], [rule_y, rule_y], color="#1f4e79", linewidth=0.8))
    return y + layout.facet_h


def _draw_row_header(fig: ShownFigure, layout: PageLayout, text: str, y: float, row_h: float) -> None:
    """A row's header, right-aligned against its images (the middle of its lines of images)
    and wrapped to fit the row's height."""
    max_lines = max(1, int(row_h / line_height(LABEL_PT)))
    head = wrap_lines(text, layout.label_w - 0.15, LABEL_PT, max_lines=max_lines)
    middle = y + (row_h - layout.caption_h) / 2
    fig.text(layout.fx(MARGIN + layout.label_w - 0.12), layout.fy(middle), "\n".join(head), fontsize=LABEL_PT,
             fontweight="bold", ha="right", va="center")


def _draw_cell(fig: ShownFigure, layout: PageLayout, tiles: _Tiles, group: list[Entry], ci: int, y: float) -> tuple[int, int]:
    """One cell (column `ci` of the row at `y`): its entries side by side, or "(no cell)" where
    there are none; return the images and the blanks drawn."""
    S, slot_w = layout.cell_size, layout.slot_w[ci]
    if not group:
        fig.text(layout.fx(layout.col_x[ci] + layout.cell_ws[ci] / 2), layout.fy(y + S / 2), "(no cell)",
                 fontsize=BLANK_PT, color="0.6", ha="center", va="center")
    images = 0
    for j, e in enumerate(group):
        line, at = divmod(j, layout.per_line)
        top = y + line * (layout.line_h + GAP_IMAGE)
        rect = (layout.fx(layout.col_x[ci] + at * (slot_w + GAP_IMAGE)), layout.fy(top + S), slot_w / layout.width,
                S / layout.height)
        images += _draw_tile(fig, tiles, e, rect, slot_w, S)
    return images, len(group) - images


def _draw_tile(fig: ShownFigure, tiles: _Tiles, e: Entry, rect: tuple[float, float, float, float], box_w: float,
               box_h: float) -> bool:
    """One entry in `rect`: its image (framed and outlined as asked), or a labelled blank where
    it has none, with its caption under it; return whether an image was drawn."""
    spec, caption = tiles.spec, tiles.captions.text(e)
    pixels = tiles.arrays.get(e.path) if e.path else None
    if pixels is None or isinstance(pixels, str):  # failed, not run, or its file unreadable
        draw_blank(fig, rect, e, caption, box_w, box_h, pixels, gid=f"task {e.task_id}", aspect=_aspect(e, spec.region))
        return False
    badges = spec.badges
    badge = badges.get(e.image_id) if badges is not None else None
    boxes: Any = ()
    if spec.reading and badges is not None:
        boxes = _boxes(badges, e, pixels, spec.region)
    draw_image(fig, rect, pixels, caption, box_w, box_h, frame=frame_colour(badge.value if badge else None) if spec.frame else None,
               boxes=boxes, gid=f"image {e.image_id}")
    return True


def _aspect(e: Entry, region: Region | None) -> float | None:
    """Width / height of what `e`'s tile shows (its image, or the region cut from it), from the
    size logged; None where none is."""
    if not (e.width and e.height):
        return None
    return e.width / e.height if region is None else region.aspect(e.width, e.height)


def _boxes(badges: ScoreBadges, e: Entry, pixels: Any, region: Region | None) -> list[Any]:
    """The OCR's outlines in the coordinates of what is shown: the thumbnail, or the region cut
    at full resolution (moved to its corner)."""
    if region is None:
        return badges.boxes(e.image_id, pixels.shape[1], e.width)
    if not (e.width and e.height):
        return []
    left, top, _, _ = region.box(e.width, e.height)
    return [([(x - left, y - top) for x, y in points], colour) for points, colour in badges.boxes(e.image_id, e.width, e.width)]


def _draw_footnotes(fig: ShownFigure, layout: PageLayout, y: float) -> None:
    """The full texts of shortened labels, under the body ending at `y`."""
    if layout.note_lines:
        y += 0.2
        fig.text(layout.fx(MARGIN), layout.fy(y), "\n".join(layout.note_lines), fontsize=NOTE_PT, color="0.2",
                 va="top", ha="left")
