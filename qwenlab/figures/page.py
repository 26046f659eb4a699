"""One page of a comparison grid: where each image goes, how big the page must be to hold its
images and text, and drawing it. `qwenlab.figures.grid.build_grid` decides what the pages are.

Top to bottom: the title, the provenance line (red for synthetic results), the subtitle (the
page's values, what every image shares, the counts, the score scale), the column headers, the
rows (each image with its caption under it, in the space kept for it), the footnotes. Every
height is measured before anything is drawn, so no text ever lands on an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.values import same_value
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.thumbnails import Unreadable, thumbnails_of
from ..typography.badges import ScoreBadges
from .panels import ShownFigure, caption_height, caption_lines, draw_blank, draw_image
from .region import Region, crops_of
from .scale import SCALE_H, SCALE_TITLE_PT, draw_scale, frame_colour
from .text import BLANK_PT, LABEL_PT, NOTE_PT, SUBTITLE_PT, TITLE_PT, footnotes, heading, line_height, stamp_text, wrap_lines

__all__ = ["GridSpec", "render_page", "load_thumbnails"]

_MARGIN = 0.3        # inches around everything
_GAP_IMAGE = 0.06    # between the images of one cell
_GAP_CELL = 0.22     # between cells
# a page's images side by side, at most, across all its columns: a cell holding more wraps onto
# lines of its own (16 images of a comparison's cell in one line made a page 80 inches wide)
_MAX_ACROSS = 12
_ROW_LABEL_W = 1.8   # the row headers' column
_MAX_NOTE_LINES = 60  # footnotes beyond this are cut (the log has every prompt in full)
_ALERT_COLOUR = "#b00020"  # the provenance line of synthetic, mixed or unrecorded results
_ASPECTS = (0.25, 4.0)  # the narrowest and widest box an image (or a region of it) gets


def load_thumbnails(entries: list[Entry], size: int, workers: int | None = None) -> dict[str, Any]:
    """path -> pixels of its cached thumbnail (made in threads where missing). A file that is gone
    or unreadable maps to the reason, which its blank tile shows."""
    found = thumbnails_of((e.path for e in entries), size, "pixels", workers=workers)
    return {p: str(v) if isinstance(v, Unreadable) else v for p, v in found.items()}


@dataclass
class GridSpec:
    """What every page of one grid shares: its axes, its layout choices, the score marks asked for."""

    catalog: Catalog
    rows: str | None
    cols: str | None
    facet: str | None
    title: str
    cell_size: float
    dpi: float
    captions: bool
    region: Region | None
    thumb: int
    workers: int | None
    badges: ScoreBadges | None
    frame: bool    # a frame in the score's colour, the score in the caption
    sort: bool     # best score first within a cell
    reading: bool  # outline what the OCR read

    def pixels(self, entries: list[Entry]) -> dict[str, Any]:
        """path -> what is drawn of it: the region at full resolution, else the cached
        thumbnail; the reason where there is none (its blank says it)."""
        if self.region is not None:
            found = crops_of((e.path for e in entries), self.region, self.workers)
            return {p: str(v) if isinstance(v, Unreadable) else v for p, v in found.items()}
        return load_thumbnails(entries, self.thumb, self.workers)

    def header_axes(self, key: dict[str, Any]) -> set[str]:
        """The axes a page's title, headers and facet headings already name."""
        return {a for a in (self.rows, self.cols, self.facet, *key) if a}


# -- what goes where --------------------------------------------------------------------------------
@dataclass
class _PageCells:
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


def _place_entries(spec: GridSpec, entries: list[Entry], key: dict[str, Any]) -> _PageCells:
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
    return _PageCells(row_vals, col_vals, facet_vals, cells)


def _index(catalog: Catalog, axis: str, e: Entry) -> int:
    i = catalog.axes[axis].index(e.value(axis))
    return len(catalog.axes[axis].values) if i is None else i


def _pos(values: list[Any], value: Any) -> int:
    for i, v in enumerate(values):
        if same_value(v, value):
            return i
    return 0  # cannot happen: values come from the same entries


# -- what is said -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Captions:
    """What the caption under each image of a page says: only what the headers and the subtitle do not."""

    spec: GridSpec
    axes: list[str]  # the axes that vary within the page and no header names
    repeat: bool     # whether repeats differ within a cell

    @classmethod
    def of(cls, spec: GridSpec, entries: list[Entry], key: dict[str, Any]) -> "_Captions":
        headed = spec.header_axes(key)
        axes = [a for a in spec.catalog.axes if a != REPEAT and a not in headed
                and len(spec.catalog.values(a, entries)) > 1]
        return cls(spec, axes, REPEAT not in headed and len({e.repeat for e in entries}) > 1)

    def text(self, e: Entry) -> str:
        # which images of a mixed grid are synthetic is said even without captions
        synthetic = e.synthetic and self.spec.catalog.provenance.mixed
        if not self.spec.captions:
            return "SYNTHETIC" if synthetic else ""
        text = stamp_text(e, self.spec.catalog, self.axes, repeat=self.repeat)
        if synthetic:
            text = "SYNTHETIC · " + text
        badges = self.spec.badges
        badge = badges.get(e.image_id) if badges is not None and self.spec.frame else None
        if badge is not None and e.path:
            text += " · " + badge.label.replace(" ", "\u00a0")
        return text

    def says(self) -> str:
        """The subtitle's account of the captions."""
        if not self.spec.captions:
            return "no captions"
        named = [*self.axes, *(["the repeat"] if self.repeat else []), "the seed the API reported"]
        return "under each image: " + (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0])


def _subtitle(spec: GridSpec, entries: list[Entry], key: dict[str, Any], page_label: str, captions: _Captions) -> list[str]:
    """The lines under the title (unwrapped): the page's values, what every image shares, the
    counts, what the captions say, and the outlines' legend."""
    catalog = spec.catalog
    fixed = [catalog.axes[a].tag(catalog.values(a, entries)[0]) for a in catalog.axes
             if a != REPEAT and a not in key and len(catalog.values(a, entries)) == 1]
    n_img = sum(1 for e in entries if not e.failed)
    n_blank = len(entries) - n_img
    sub = ([page_label] if page_label else []) + ([f"same on every image: {' · '.join(fixed)}"] if fixed else [])
    if spec.region is not None:
        sub.append(f"region {spec.region} of each image (x0, y0, x1, y1 as fractions), cut from the original at full resolution")
    sub.append(f"{n_img} images" + (f", {n_blank} cell{'s' if n_blank > 1 else ''} without an image" if n_blank else "")
               + f" · {captions.says()}")
    badges = spec.badges
    if badges is not None and not badges:
        sub.append(badges.legend())  # says how to get scores
    if badges and spec.reading:
        sub.append("outlines: the lines the OCR read; green an expected string read exactly, orange misread, grey other text")
    return sub


def _scale_title(badges: ScoreBadges, entries: list[Entry]) -> str:
    """What the frames' colours mean, with the mean score of this page's images."""
    ids = [e.image_id for e in entries if e.image_id is not None]
    mean, n = badges.mean(ids), badges.scored(ids)
    return (f"frame colour: {badges.name} of the text read by OCR ({badges.engine})"
            + (f", mean {mean:.2f} over this page's {n} scored image{'s' if n != 1 else ''}" if mean is not None else "")
            + "; the score is in each caption")


def _note_lines(catalog: Catalog, entries: list[Entry], text_w: float) -> list[str]:
    """The footnotes (full texts of shortened labels), wrapped to `text_w` inches and cut at _MAX_NOTE_LINES."""
    note_lines: list[str] = []
    for n in footnotes(catalog, entries):
        note_lines.extend(wrap_lines(n, text_w, NOTE_PT))
    if len(note_lines) > _MAX_NOTE_LINES:
        note_lines = note_lines[: _MAX_NOTE_LINES - 1] + ["… (every prompt is in full in the log: exp.df.prompt)"]
    return note_lines


# -- measuring --------------------------------------------------------------------------------------
@dataclass
class _PageLayout:
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


def _measure(spec: GridSpec, entries: list[Entry], place: _PageCells, arrays: dict[str, Any], captions: _Captions, *,
             title: str, subtitle: list[str], alert: str | None) -> _PageLayout:
    """Size a page to hold its images and its text at fixed font sizes, top to bottom."""
    S = spec.cell_size
    k = place.per_line()
    row_lines = place.row_lines(k)
    label_w = _ROW_LABEL_W if spec.rows else 0.0
    # every row is S high; a column is as wide as its widest image at that height, so portraits
    # and landscapes (a size axis as columns) both fill their boxes
    slot_w = [S * _aspect(place.in_column(ci), arrays) for ci in range(len(place.col_vals))]
    cell_ws = [k * w + (k - 1) * _GAP_IMAGE for w in slot_w]
    grid_w = sum(cell_ws) + (len(place.col_vals) - 1) * _GAP_CELL
    W = max(2 * _MARGIN + label_w + grid_w, 6.5)
    text_w = W - 2 * _MARGIN
    caption_n = max((len(caption_lines(captions.text(e), slot_w[ci])) for (_, _, ci), g in place.cells.items() for e in g),
                    default=0)
    title_lines = wrap_lines(title, text_w, TITLE_PT, max_lines=3)
    sub_lines = [ln for s in subtitle for ln in wrap_lines(s, text_w, SUBTITLE_PT)]
    alert_lines = wrap_lines(alert, text_w, SUBTITLE_PT) if alert else []
    cols = spec.cols
    col_heads = [wrap_lines(heading(spec.catalog.axes[cols], v), cell_ws[i], LABEL_PT, max_lines=4)
                 for i, v in enumerate(place.col_vals)] if cols else []
    head_h = max((len(h) for h in col_heads), default=0) * line_height(LABEL_PT) + (0.12 if cols else 0)
    facet_h = line_height(LABEL_PT) + 0.16 if spec.facet else 0.0
    note_lines = _note_lines(spec.catalog, entries, text_w)
    caption_h = caption_height(caption_n)
    n_rows, n_facets = len(place.row_vals), len(place.facet_vals)
    body_h = sum(facet_h + sum(_row_h(row_lines[(fi, ri)], S + caption_h) for ri in range(n_rows)) + (n_rows - 1) * _GAP_CELL
                 for fi in range(n_facets)) + (n_facets - 1) * _GAP_CELL * 2
    title_h = len(title_lines) * line_height(TITLE_PT)
    scale_title = (wrap_lines(_scale_title(spec.badges, entries), text_w, SCALE_TITLE_PT, max_lines=3)
                   if spec.badges and spec.frame else None)
    scale_h = SCALE_H + (len(scale_title) - 1) * line_height(SCALE_TITLE_PT) if scale_title else 0.0
    sub_h = (len(alert_lines) + len(sub_lines)) * line_height(SUBTITLE_PT) + scale_h + 0.15
    note_h = (len(note_lines) * line_height(NOTE_PT) + 0.2) if note_lines else 0.0
    H = 2 * _MARGIN + title_h + sub_h + head_h + body_h + note_h
    x0 = _MARGIN + label_w
    col_x = [x0 + sum(cell_ws[:ci]) + ci * _GAP_CELL for ci in range(len(place.col_vals))]
    return _PageLayout(W, H, S, caption_h, label_w, slot_w, cell_ws, col_x, title_lines, sub_lines, col_heads, note_lines,
                       title_h, sub_h, head_h, facet_h, alert_lines, scale_title, k, row_lines)


def _row_h(lines: int, line_h: float) -> float:
    """A row of `lines` lines of images, each `line_h` high with its captions."""
    return lines * line_h + (lines - 1) * _GAP_IMAGE


def _aspect(entries: list[Entry], arrays: dict[str, Any]) -> float:
    """Width over height of the widest image among `entries` (from its pixels, else the size
    the task asked for), kept within _ASPECTS."""
    best = 0.0
    for e in entries:
        pixels = arrays.get(e.path) if e.path else None
        if pixels is not None and not isinstance(pixels, str):
            best = max(best, pixels.shape[1] / pixels.shape[0])
        elif e.width and e.height:
            best = max(best, e.width / e.height)
    return min(_ASPECTS[1], max(_ASPECTS[0], best or 1.0))


# -- drawing ----------------------------------------------------------------------------------------
def render_page(spec: GridSpec, entries: list[Entry], key: dict[str, Any], page_label: str,
                arrays: dict[str, Any]) -> tuple[ShownFigure, int, int]:
    """Draw one page of a grid: the entries whose page axes have the values in `key`, from
    `arrays` (path -> pixels, or why there are none); return the figure, the images and the blanks drawn."""
    catalog = spec.catalog
    place = _place_entries(spec, entries, key)
    captions = _Captions.of(spec, entries, key)
    prov = catalog.provenance
    where, mark = prov.headline(), prov.mark()
    loud = bool(mark)  # synthetic, mixed or not recorded: said in the title and in red; Runware's host in grey
    subtitle = _subtitle(spec, entries, key, page_label, captions)
    layout = _measure(spec, entries, place, arrays, captions, title=f"{spec.title} · {mark}" if mark else spec.title,
                      subtitle=subtitle if loud or not where else [where, *subtitle], alert=where if loud else None)
    fig = ShownFigure(figsize=(layout.width, layout.height), dpi=spec.dpi)
    fig.patch.set_facecolor("white")
    y = _draw_headings(fig, layout)
    y, images, blanks = _draw_body(fig, layout, place, _Tiles(spec, captions, arrays), y)
    _draw_footnotes(fig, layout, y)
    return fig, images, blanks


def _draw_headings(fig: ShownFigure, layout: _PageLayout) -> float:
    """The title, the subtitle, the score scale and the column headers; return where the body
    starts (inches from the top)."""
    fx, fy = layout.fx, layout.fy
    y = _MARGIN
    fig.text(fx(_MARGIN), fy(y), "\n".join(layout.title_lines), fontsize=TITLE_PT, fontweight="bold", va="top", ha="left")
    y += layout.title_h
    top = y
    if layout.alert_lines:
        fig.text(fx(_MARGIN), fy(y), "\n".join(layout.alert_lines), fontsize=SUBTITLE_PT, color=_ALERT_COLOUR,
                 fontweight="bold", va="top", ha="left")
        y += len(layout.alert_lines) * line_height(SUBTITLE_PT)
    fig.text(fx(_MARGIN), fy(y), "\n".join(layout.sub_lines), fontsize=SUBTITLE_PT, color="0.25", va="top", ha="left")
    y += len(layout.sub_lines) * line_height(SUBTITLE_PT)
    if layout.scale_title:
        draw_scale(fig, _MARGIN, y + 0.04, layout.width - 2 * _MARGIN, layout.scale_title)
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
    captions: _Captions
    arrays: dict[str, Any]  # path -> pixels, or why there are none


def _draw_body(fig: ShownFigure, layout: _PageLayout, place: _PageCells, tiles: _Tiles, y: float) -> tuple[float, int, int]:
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
            y += layout.row_h(fi, ri) + (_GAP_CELL if ri < len(place.row_vals) - 1 else 0)
        y += _GAP_CELL * 2 if fi < len(place.facet_vals) - 1 else 0
    return y, images, blanks


def _draw_facet_heading(fig: ShownFigure, layout: _PageLayout, text: str, y: float) -> float:
    """A facet value's heading over a rule across the page; return the y below it."""
    from matplotlib.lines import Line2D

    fx, fy = layout.fx, layout.fy
    fig.text(fx(_MARGIN), fy(y + 0.06), text, fontsize=LABEL_PT, fontweight="bold", ha="left", va="top", color="#1f4e79")
    rule_y = fy(y + layout.facet_h - 0.06)
    fig.add_artist(Line2D([fx(_MARGIN), fx(layout.width - _MARGIN)], [rule_y, rule_y], color="#1f4e79", linewidth=0.8))
    return y + layout.facet_h


def _draw_row_header(fig: ShownFigure, layout: _PageLayout, text: str, y: float, row_h: float) -> None:
    """A row's header, right-aligned against its images (the middle of its lines of images)
    and wrapped to fit the row's height."""
    max_lines = max(1, int(row_h / line_height(LABEL_PT)))
    head = wrap_lines(text, layout.label_w - 0.15, LABEL_PT, max_lines=max_lines)
    middle = y + (row_h - layout.caption_h) / 2
    fig.text(layout.fx(_MARGIN + layout.label_w - 0.12), layout.fy(middle), "\n".join(head), fontsize=LABEL_PT,
             fontweight="bold", ha="right", va="center")


def _draw_cell(fig: ShownFigure, layout: _PageLayout, tiles: _Tiles, group: list[Entry], ci: int, y: float) -> tuple[int, int]:
    """One cell (column `ci` of the row at `y`): its entries side by side, or "(no cell)" where
    there are none; return the images and the blanks drawn."""
    S, slot_w = layout.cell_size, layout.slot_w[ci]
    if not group:
        fig.text(layout.fx(layout.col_x[ci] + layout.cell_ws[ci] / 2), layout.fy(y + S / 2), "(no cell)",
                 fontsize=BLANK_PT, color="0.6", ha="center", va="center")
    images = 0
    for j, e in enumerate(group):
        line, at = divmod(j, layout.per_line)
        top = y + line * (layout.line_h + _GAP_IMAGE)
        rect = (layout.fx(layout.col_x[ci] + at * (slot_w + _GAP_IMAGE)), layout.fy(top + S), slot_w / layout.width,
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
        draw_blank(fig, rect, e, caption, box_w, box_h, pixels, gid=f"task {e.task_id}")
        return False
    badges = spec.badges
    badge = badges.get(e.image_id) if badges is not None else None
    boxes: Any = ()
    if spec.reading and badges is not None:
        boxes = _boxes(badges, e, pixels, spec.region)
    draw_image(fig, rect, pixels, caption, box_w, box_h, frame=frame_colour(badge.value if badge else None) if spec.frame else None,
               boxes=boxes, gid=f"image {e.image_id}")
    return True


def _boxes(badges: ScoreBadges, e: Entry, pixels: Any, region: Region | None) -> list[Any]:
    """The OCR's outlines in the coordinates of what is shown: the thumbnail, or the region cut
    at full resolution (moved to its corner)."""
    if region is None:
        return badges.boxes(e.image_id, pixels.shape[1], e.width)
    if not (e.width and e.height):
        return []
    left, top, _, _ = region.box(e.width, e.height)
    return [([(x - left, y - top) for x, y in points], colour) for points, colour in badges.boxes(e.image_id, e.width, e.width)]


def _draw_footnotes(fig: ShownFigure, layout: _PageLayout, y: float) -> None:
    """The full texts of shortened labels, under the body ending at `y`."""
    if layout.note_lines:
        y += 0.2
        fig.text(layout.fx(_MARGIN), layout.fy(y), "\n".join(layout.note_lines), fontsize=NOTE_PT, color="0.2",
                 va="top", ha="left")
