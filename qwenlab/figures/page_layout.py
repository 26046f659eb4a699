"""A page's layout, computed before anything is drawn: which entries go in which cell (`PageCells`,
`place_entries`), and the page's geometry in inches with the wrapped text it holds, sized to hold
its images and its text at fixed font sizes (`PageLayout`, `measure_page`). Every height is
measured first, so no text ever lands on an image. `qwenlab.figures.page` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.values import same_value
from ..store.catalog import REPEAT, Catalog, Entry
from .grid_spec import ASPECTS, GridSpec
from .page_text import Captions, footnote_lines, scale_title_text
from .panels import caption_height, caption_lines
from .scale import SCALE_H, SCALE_TITLE_PT
from .text import LABEL_PT, NOTE_PT, SUBTITLE_PT, TITLE_PT, heading, line_height, wrap_lines

__all__ = ["PageCells", "PageLayout", "place_entries", "measure_page", "MARGIN", "GAP_IMAGE", "GAP_CELL"]

MARGIN = 0.3         # inches around everything
GAP_IMAGE = 0.06     # between the images of one cell
GAP_CELL = 0.22      # between cells
# a page's images side by side, at most, across all its columns: a cell holding more wraps onto
# lines of its own (16 images of a comparison's cell in one line made a page 80 inches wide)
_MAX_ACROSS = 12
_ROW_LABEL_W = 1.8   # the row headers' column


# -- what goes where --------------------------------------------------------------------------------
@dataclass
class PageCells:
    """One page's entries by place: the values along each direction, and each cell's entries."""

    row_vals: list[Any]
    col_vals: list[Any]
    facet_vals: list[Any]
    cells: dict[tuple[int, int, int], list[Entry]]  # (facet, row, column) index -> its entries, left to right

    @property
    def per_cell(self) -> int:
        """The most entries in one cell."""
        return max((len(g) for g in self.cells.values()), default=1)

    def per_line(self) -> int:
        """How many images one line of a cell holds: every cell of the page is that wide, and
        wraps onto more lines when it holds more (the fullest cell's lines evenly filled)."""
        k = self.per_cell
        cap = max(2, _MAX_ACROSS // max(1, len(self.col_vals)))
        lines = -(-k // cap)
        return -(-k // lines)

    def row_lines(self, per_line: int) -> dict[tuple[int, int], int]:
        """(facet, row) index -> the lines of images its fullest cell takes (at least 1)."""
        out = {(fi, ri): 1 for fi in range(len(self.facet_vals)) for ri in range(len(self.row_vals))}
        for (fi, ri, _), group in self.cells.items():
            out[(fi, ri)] = max(out[(fi, ri)], -(-len(group) // per_line))
        return out

    def in_column(self, ci: int) -> list[Entry]:
        """Every entry of column `ci`, across rows and facets."""
        return [e for (_, _, c), g in self.cells.items() if c == ci for e in g]


def place_entries(spec: GridSpec, entries: list[Entry], key: dict[str, Any]) -> PageCells:
    """Sort a page's entries into cells, each cell in the sweep's order of the remaining axes
    (or best score first)."""
    catalog, rows, cols, facet = spec.catalog, spec.rows, spec.cols, spec.facet
    row_vals = catalog.values(rows, entries) if rows else [None]
    col_vals = catalog.values(cols, entries) if cols else [None]
    facet_vals = catalog.values(facet, entries) if facet else [None]
    inner = [a for a in catalog.axes if a not in spec.header_axes(key) and a != REPEAT]
    cells: dict[tuple[int, int, int], list[Entry]] = {}
    for e in entries:
        fi = _pos(facet_vals, e.value(facet)) if facet else 0
        ri = _pos(row_vals, e.value(rows)) if rows else 0
        ci = _pos(col_vals, e.value(cols)) if cols else 0
        cells.setdefault((fi, ri, ci), []).append(e)
    for group in cells.values():
        group.sort(key=lambda e: (*(_index(catalog, a, e) for a in inner), e.repeat, e.result))
        badges = spec.badges
        if badges is not None and spec.sort:  # stable: equal scores keep the sweep's order
            group.sort(key=lambda e: badges.sort_key(e.image_id))
    return PageCells(row_vals, col_vals, facet_vals, cells)


def _index(catalog: Catalog, axis: str, e: Entry) -> int:
    i = catalog.axes[axis].index(e.value(axis))
    return len(catalog.axes[axis].values) if i is None else i


def _pos(values: list[Any], value: Any) -> int:
    for i, v in enumerate(values):
        if same_value(v, value):
            return i
    return 0  # cannot happen: values come from the same entries


# -- measuring --------------------------------------------------------------------------------------
@dataclass
class PageLayout:
    """One page's geometry, in inches from the top-left corner, and the wrapped text it holds."""

    width: float
    height: float
    cell_size: float      # the height of every image
    caption_h: float      # the height kept under every row of images for their captions
    label_w: float        # the row headers' column (0 without rows)
    slot_w: list[float]   # per column: one image's width
    cell_ws: list[float]  # per column: a cell's width (one line of its images side by side)
    col_x: list[float]    # per column: its left edge
    title_lines: list[str]
    sub_lines: list[str]
    col_heads: list[list[str]]  # per column: its wrapped header (none without columns)
    note_lines: list[str]
    title_h: float
    sub_h: float
    head_h: float
    facet_h: float
    alert_lines: list[str] = field(default_factory=list)  # the provenance warning, first under the title
    scale_title: list[str] | None = None                   # the score scale's title (wrapped), when frames are drawn

    per_line: int = 1                                      # images on one line of a cell
    row_lines: dict[tuple[int, int], int] = field(default_factory=dict)  # (facet, row) -> its lines of images

    @property
    def line_h(self) -> float:
        """One line of a cell: its images and their captions."""
        return self.cell_size + self.caption_h

    def row_h(self, fi: int = 0, ri: int = 0) -> float:
        """Row `ri` of facet `fi`: its lines of images and their captions."""
        return _row_h(self.row_lines.get((fi, ri), 1), self.line_h)

    def fx(self, x: float) -> float:
        """Inches from the left edge as a figure fraction."""
        return x / self.width

    def fy(self, y_from_top: float) -> float:
        """Inches from the top edge as a figure fraction (matplotlib's y grows upwards)."""
        return 1 - y_from_top / self.height


def measure_page(spec: GridSpec, entries: list[Entry], place: PageCells, arrays: dict[str, Any], captions: Captions, *,
                 title: str, subtitle: list[str], alert: str | None) -> PageLayout:
    """Size a page to hold its images and its text at fixed font sizes, top to bottom."""
    S = spec.cell_size
    k = place.per_line()
    row_lines = place.row_lines(k)
    label_w = _ROW_LABEL_W if spec.rows else 0.0
    # every row is S high; a column is as wide as its widest image at that height, so portraits
    # and landscapes (a size axis as columns) both fill their boxes
    slot_w = [S * _aspect(place.in_column(ci), arrays) for ci in range(len(place.col_vals))]
    cell_ws = [k * w + (k - 1) * GAP_IMAGE for w in slot_w]
    grid_w = sum(cell_ws) + (len(place.col_vals) - 1) * GAP_CELL
    W = max(2 * MARGIN + label_w + grid_w, 6.5)
    text_w = W - 2 * MARGIN
    caption_n = max((len(caption_lines(captions.text(e), slot_w[ci])) for (_, _, ci), g in place.cells.items() for e in g),
                    default=0)
    title_lines = wrap_lines(title, text_w, TITLE_PT, max_lines=3, bold=True)
    sub_lines = [ln for s in subtitle for ln in wrap_lines(s, text_w, SUBTITLE_PT)]
    alert_lines = wrap_lines(alert, text_w, SUBTITLE_PT, bold=True) if alert else []
    cols = spec.cols
    col_heads = [wrap_lines(heading(spec.catalog.axes[cols], v), cell_ws[i], LABEL_PT, max_lines=4)
                 for i, v in enumerate(place.col_vals)] if cols else []
    head_h = max((len(h) for h in col_heads), default=0) * line_height(LABEL_PT) + (0.12 if cols else 0)
    facet_h = line_height(LABEL_PT) + 0.16 if spec.facet else 0.0
    note_lines = footnote_lines(spec.catalog, entries, text_w)
    caption_h = caption_height(caption_n)
    n_rows, n_facets = len(place.row_vals), len(place.facet_vals)
    body_h = sum(facet_h + sum(_row_h(row_lines[(fi, ri)], S + caption_h) for ri in range(n_rows)) + (n_rows - 1) * GAP_CELL
                 for fi in range(n_facets)) + (n_facets - 1) * GAP_CELL * 2
    title_h = len(title_lines) * line_height(TITLE_PT)
    scale_title = (wrap_lines(scale_title_text(spec.badges, entries, captions=spec.captions), text_w, SCALE_TITLE_PT, max_lines=3)
                   if spec.badges and spec.frame else None)
    scale_h = SCALE_H + (len(scale_title) - 1) * line_height(SCALE_TITLE_PT) if scale_title else 0.0
    sub_h = (len(alert_lines) + len(sub_lines)) * line_height(SUBTITLE_PT) + scale_h + 0.15
    note_h = (len(note_lines) * line_height(NOTE_PT) + 0.2) if note_lines else 0.0
    H = 2 * MARGIN + title_h + sub_h + head_h + body_h + note_h
    x0 = MARGIN + label_w
    col_x = [x0 + sum(cell_ws[:ci]) + ci * GAP_CELL for ci in range(len(place.col_vals))]
    return PageLayout(W, H, S, caption_h, label_w, slot_w, cell_ws, col_x, title_lines, sub_lines, col_heads, note_lines,
                      title_h, sub_h, head_h, facet_h, alert_lines, scale_title, k, row_lines)


def _row_h(lines: int, line_h: float) -> float:
    """A row of `lines` lines of images, each `line_h` high with its captions."""
    return lines * line_h + (lines - 1) * GAP_IMAGE


def _aspect(entries: list[Entry], arrays: dict[str, Any]) -> float:
    """Width over height of the widest image among `entries` (from its pixels, else the size
    the task asked for), kept within ASPECTS."""
    best = 0.0
    for e in entries:
        pixels = arrays.get(e.path) if e.path else None
        if pixels is not None and not isinstance(pixels, str):
            best = max(best, pixels.shape[1] / pixels.shape[0])
        elif e.width and e.height:
            best = max(best, e.width / e.height)
    return min(ASPECTS[1], max(ASPECTS[0], best or 1.0))
