"""Comparison grids of an experiment's images (matplotlib): any axis as rows, any as columns.

    g = exp.grid(rows="promptExtend", cols="size")          # a Grid: shows itself in a notebook
    g.save("grid.png")                                     # one PNG per page; "grid.pdf": one PDF
    save_grid(exp, "grid.pdf", rows="promptExtend", cols="size", page="example")

The axes not used as rows or columns become separate pages (`page="auto"`, the default), or the
ones named by `page=`; the rest (and the repeats) sit side by side within a cell. `facet=` stacks
one more axis as blocks of rows on the same page, and `where=` keeps only some values.

Text scores (`qwenlab.typography`): `score="word_accuracy"` frames each image in its score's
colour and adds the score to its stamp, `sort_by_score=True` puts the best first within a cell,
and `show_reading=True` outlines what the OCR read. They come from the log: a grid never runs OCR.

Where the cells ran is said at the top: a grid of the offline emulator's results has
"SYNTHETIC (offline emulator)" in its title and a red line under it saying its images are drawn
locally and its costs emulated; a mixed experiment says MIXED and stamps each synthetic image
"SYNTHETIC"; a grid of Runware's results names the API host.

Every image is stamped with its own axis values and the seed the API reported, so a crop still
tells what it is; a cell that failed is a labelled blank with its error code and message, as in
AUTOMATIC1111's X/Y/Z plot. Fonts keep their size: long labels are wrapped or shortened
("prompt 2: A premium beauty…") with the full text in the page's footnotes, and the figure grows
to hold them. Images are drawn from cached thumbnails (`qwenlab.store.thumbnails`), so a second grid
of the same experiment decodes no original.

No pyplot: figures are plain `matplotlib.figure.Figure`s rendered by Agg, safe in any thread and
with no GUI backend; in a notebook a Grid displays its pages as PNGs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.values import same_value
from ..errors import UnknownAxisError
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.thumbnails import Unreadable, thumbnails_of
from ..typography.badges import ScoreBadges, score_badges
from ..typography.draw import score_colour
from .pages import Grid, GridPage
from .panels import ShownFigure, draw_blank, draw_image
from .text import (
    BLANK_PT,
    LABEL_PT,
    NOTE_PT,
    SUBTITLE_PT,
    TITLE_PT,
    footnotes,
    heading,
    line_height,
    stamp_text,
    wrap_lines,
)

if TYPE_CHECKING:
    from ..store.experiment import ExperimentRecord

__all__ = ["Grid", "GridPage", "build_grid", "save_grid", "UnknownAxisError"]

_MARGIN = 0.3        # inches around everything
_GAP_IMAGE = 0.06    # between the images of one cell
_GAP_CELL = 0.22     # between cells
_ROW_LABEL_W = 1.8   # the row headers' column
_MAX_NOTE_LINES = 60  # footnotes beyond this are cut (the log has every prompt in full)
_ALERT_COLOUR = "#b00020"  # the provenance line of synthetic, mixed or unrecorded results


def save_grid(experiment: "ExperimentRecord | Catalog", path: str | Path, rows: str | None = None, cols: str | None = None,
              **options: Any) -> list[Path]:
    """Build the grid (see `build_grid`) and write it to `path`; return the files written."""
    dpi = options.pop("save_dpi", None)
    return build_grid(experiment, rows, cols, **options).save(path, dpi=dpi)


def build_grid(experiment: "ExperimentRecord | Catalog", rows: str | None = None, cols: str | None = None, *,
               page: str | Sequence[str] | None = "auto", facet: str | None = None,
               where: Mapping[str, Any] | None = None, thumb: int = 256, cell_size: float = 2.2,
               title: str | None = None, dpi: float = 120, stamps: bool = True, workers: int | None = None,
               score: str | None = None, sort_by_score: bool = False, show_reading: bool = False) -> Grid:
    """Lay out an experiment's images as a grid; return its pages as a `Grid`.

    rows, cols: axis names (or "repeat"); both None picks the first two axes that vary.
    page: "auto" makes a page for each combination of the other varying axes; a name or list of
        names pages by those only (the others sit side by side in a cell); None: one page.
    facet: an axis whose values become blocks of rows on each page.
    where: keep only these values, {axis: value or label or list}: {"size": "1024x1536"}.
    thumb: thumbnail size in pixels (cached on disk); cell_size: inches per image; dpi: of the figures.
    score: a stored text score ("word_accuracy", "ned", "sentence_accuracy", "correct") to frame
        each image in its colour (red 0, amber 0.5, green 1, grey not scored) and print in its stamp.
    sort_by_score: best score first within each cell (by `score`, else word accuracy).
    show_reading: outline the lines the OCR read (green exact, orange misread, grey other).
    Scores are read from the log (run `exp.score_text()` first); no OCR runs here.
    """
    catalog = experiment if isinstance(experiment, Catalog) else Catalog.load(experiment)
    catalog = catalog.where(where)
    if rows is None and cols is None:
        named = [] if page == "auto" else _page_axes(catalog, page, None, None, facet)
        varying = [a for a in catalog.varying if a not in (REPEAT, facet, *named)]
        cols = varying[0] if varying else None
        rows = varying[1] if len(varying) > 1 else None
    pages_axes = _page_axes(catalog, page, rows, cols, facet)
    catalog.check_axes(rows, cols, facet, *pages_axes)
    used = [a for a in (rows, cols, facet, *pages_axes) if a is not None]
    if len(used) != len(set(used)):
        raise ValueError(f"an axis can be only one of rows, cols, facet and page; got rows={rows!r}, cols={cols!r}, "
                         f"facet={facet!r}, page={list(pages_axes)!r}")
    if not catalog.entries:
        raise ValueError(f"experiment {catalog.name!r} has no cells" + (f" matching {dict(where)!r}" if where else ""))
    arrays = load_thumbnails(catalog.entries, thumb, workers)
    badges = None
    if score is not None or sort_by_score or show_reading:

        badges = score_badges(catalog, score or "word_accuracy")
    marks = {"badges": badges, "frame": score is not None, "sort": sort_by_score, "reading": show_reading}
    pages = []
    for key, entries in _split(catalog, pages_axes):
        pages.append(_render_page(catalog, entries, key, rows, cols, facet, arrays, title=title or catalog.title or catalog.name,
                                  cell_size=cell_size, dpi=dpi, stamps=stamps, marks=marks))
    return Grid(pages, catalog.name)


# -- contents ---------------------------------------------------------------------------------------
def _page_axes(catalog: Catalog, page: Any, rows: str | None, cols: str | None, facet: str | None) -> list[str]:
    if page is None or page is False:
        return []
    if page == "auto":
        return [a for a in catalog.varying if a not in (rows, cols, facet, REPEAT)]
    return [page] if isinstance(page, str) else list(page)


def _split(catalog: Catalog, axes: list[str]) -> list[tuple[dict[str, Any], list[Entry]]]:
    """The entries of each page, in the order of the page axes' values."""
    if not axes:
        return [({}, list(catalog.entries))]
    out = []
    for combo in itertools.product(*(catalog.values(a) for a in axes)):
        key = dict(zip(axes, combo))
        entries = [e for e in catalog.entries if all(same_value(e.value(a), v) for a, v in key.items())]
        if entries:
            out.append((key, entries))
    return out


def _order_key(catalog: Catalog, axes: list[str]):  # type: ignore[no-untyped-def]
    def key(e: Entry) -> tuple[Any, ...]:
        idx = []
        for a in axes:
            i = catalog.axes[a].index(e.value(a))
            idx.append(len(catalog.axes[a].values) if i is None else i)
        return (*idx, e.repeat, e.result)

    return key


def load_thumbnails(entries: list[Entry], size: int, workers: int | None = None) -> dict[str, Any]:
    """path -> pixels of its cached thumbnail (made in threads where missing). A file that is gone
    or unreadable maps to the reason, which its blank tile shows."""
    found = thumbnails_of((e.path for e in entries), size, "pixels", workers=workers)
    return {p: str(v) if isinstance(v, Unreadable) else v for p, v in found.items()}


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
        """The most entries in one cell: every cell of the page is that many images wide."""
        return max((len(g) for g in self.cells.values()), default=1)

    def in_column(self, ci: int) -> list[Entry]:
        """Every entry of column `ci`, across rows and facets."""
        return [e for (_, _, c), g in self.cells.items() if c == ci for e in g]


def _place_entries(catalog: Catalog, entries: list[Entry], key: dict[str, Any], rows: str | None, cols: str | None,
                   facet: str | None, badges: ScoreBadges | None, sort_by_score: bool) -> _PageCells:
    """Sort a page's entries into cells, each cell in the sweep's order of the remaining axes
    (or best score first)."""
    row_vals = catalog.values(rows, entries) if rows else [None]
    col_vals = catalog.values(cols, entries) if cols else [None]
    facet_vals = catalog.values(facet, entries) if facet else [None]
    inner = [a for a in catalog.axes if a not in (rows, cols, facet, *key) and a != REPEAT]
    order = _order_key(catalog, inner)
    cells: dict[tuple[int, int, int], list[Entry]] = {}
    for e in entries:
        fi = _pos(facet_vals, e.value(facet)) if facet else 0
        ri = _pos(row_vals, e.value(rows)) if rows else 0
        ci = _pos(col_vals, e.value(cols)) if cols else 0
        cells.setdefault((fi, ri, ci), []).append(e)
    for group in cells.values():
        group.sort(key=order)
        if badges is not None and sort_by_score:  # stable: equal scores keep the sweep's order
            group.sort(key=lambda e: badges.sort_key(e.image_id))
    return _PageCells(row_vals, col_vals, facet_vals, cells)


def _subtitle(catalog: Catalog, entries: list[Entry], key: dict[str, Any], page_label: str,
              marks: dict[str, Any]) -> list[str]:
    """The lines under the title (unwrapped): the page's values, what every image shares, the
    counts, and the score legends asked for."""
    fixed = [catalog.axes[a].tag(catalog.values(a, entries)[0]) for a in catalog.axes
             if a != REPEAT and a not in key and len(catalog.values(a, entries)) == 1]
    n_img = sum(1 for e in entries if not e.failed)
    n_blank = len(entries) - n_img
    sub = ([page_label] if page_label else []) + ([f"same everywhere: {' · '.join(fixed)}"] if fixed else []) + [
        f"{n_img} images" + (f", {n_blank} cell{'s' if n_blank > 1 else ''} without an image" if n_blank else "")
        + " · each image stamped with its values and the seed the API reported"]
    badges = marks["badges"]
    if badges is not None and (marks["frame"] or not badges):
        sub.append(badges.legend())
    if badges and marks["reading"]:
        sub.append("outlines: the lines the OCR read; green an expected string read exactly, orange misread, grey other text")
    return sub


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
    cell_size: float      # the height of every row of images
    label_w: float        # the row headers' column (0 without rows)
    slot_w: list[float]   # per column: one image's width
    cell_ws: list[float]  # per column: a cell's width (its images side by side)
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

    def fx(self, x: float) -> float:
        """Inches from the left edge as a figure fraction."""
        return x / self.width

    def fy(self, y_from_top: float) -> float:
        """Inches from the top edge as a figure fraction (matplotlib's y grows upwards)."""
        return 1 - y_from_top / self.height


def _measure(catalog: Catalog, entries: list[Entry], place: _PageCells, rows: str | None, cols: str | None,
             facet: str | None, arrays: dict[str, Any], *, title: str, subtitle: list[str], cell_size: float,
             alert: str | None = None) -> _PageLayout:
    """Size a page to hold its images and its text at fixed font sizes, top to bottom."""
    S = cell_size
    k = place.per_cell
    label_w = _ROW_LABEL_W if rows else 0.0
    # every row is S high; a column is as wide as its widest image at that height, so portraits
    # and landscapes (a size axis as columns) both fill their boxes
    slot_w = [S * _aspect(place.in_column(ci), arrays) for ci in range(len(place.col_vals))]
    cell_ws = [k * w + (k - 1) * _GAP_IMAGE for w in slot_w]
    grid_w = sum(cell_ws) + (len(place.col_vals) - 1) * _GAP_CELL
    W = max(2 * _MARGIN + label_w + grid_w, 6.5)
    text_w = W - 2 * _MARGIN
    title_lines = wrap_lines(title, text_w, TITLE_PT, max_lines=3)
    sub_lines = [ln for s in subtitle for ln in wrap_lines(s, text_w, SUBTITLE_PT)]
    alert_lines = wrap_lines(alert, text_w, SUBTITLE_PT) if alert else []
    col_heads = [wrap_lines(heading(catalog.axes[cols], v), cell_ws[i], LABEL_PT, max_lines=4)
                 for i, v in enumerate(place.col_vals)] if cols else []
    head_h = max((len(h) for h in col_heads), default=0) * line_height(LABEL_PT) + (0.12 if cols else 0)
    facet_h = line_height(LABEL_PT) + 0.16 if facet else 0.0
    note_lines = _note_lines(catalog, entries, text_w)
    n_rows, n_facets = len(place.row_vals), len(place.facet_vals)
    block_h = facet_h + n_rows * S + (n_rows - 1) * _GAP_CELL
    body_h = n_facets * block_h + (n_facets - 1) * _GAP_CELL * 2
    title_h = len(title_lines) * line_height(TITLE_PT)
    sub_h = (len(alert_lines) + len(sub_lines)) * line_height(SUBTITLE_PT) + 0.15
    note_h = (len(note_lines) * line_height(NOTE_PT) + 0.2) if note_lines else 0.0
    H = 2 * _MARGIN + title_h + sub_h + head_h + body_h + note_h
    x0 = _MARGIN + label_w
    col_x = [x0 + sum(cell_ws[:ci]) + ci * _GAP_CELL for ci in range(len(place.col_vals))]
    return _PageLayout(W, H, S, label_w, slot_w, cell_ws, col_x, title_lines, sub_lines, col_heads, note_lines,
                       title_h, sub_h, head_h, facet_h, alert_lines)


# -- drawing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TileStyle:
    """How every image of a grid is drawn: its pixels, its stamp, and the score marks asked for."""

    catalog: Catalog
    arrays: dict[str, Any]    # path -> thumbnail pixels, or why there are none
    stamped_axes: list[str]   # the axes each stamp names
    stamps: bool
    badges: ScoreBadges | None
    frame: bool               # a frame in the score's colour, the score in the stamp
    reading: bool             # outline what the OCR read


def _render_page(catalog: Catalog, entries: list[Entry], key: dict[str, Any], rows: str | None, cols: str | None,
                 facet: str | None, arrays: dict[str, Any], *, title: str, cell_size: float, dpi: float,
                 stamps: bool, marks: dict[str, Any]) -> GridPage:
    """One page of a grid: the entries whose page axes have the values in `key`."""
    place = _place_entries(catalog, entries, key, rows, cols, facet, marks["badges"], marks["sort"])
    page_label = "; ".join(heading(catalog.axes[a], v) for a, v in key.items())
    prov = catalog.provenance
    where, mark = prov.headline(), prov.mark()
    loud = bool(mark)  # synthetic, mixed or not recorded: said in the title and in red; Runware's host in grey
    subtitle = _subtitle(catalog, entries, key, page_label, marks)
    layout = _measure(catalog, entries, place, rows, cols, facet, arrays, title=f"{title} · {mark}" if mark else title,
                      cell_size=cell_size, subtitle=subtitle if loud or not where else [where, *subtitle],
                      alert=where if loud else None)
    style = _TileStyle(catalog, arrays, [a for a in catalog.axes if catalog.axes[a].varies and a != REPEAT], stamps,
                       marks["badges"], marks["frame"], marks["reading"])
    fig = ShownFigure(figsize=(layout.width, layout.height), dpi=dpi)
    fig.patch.set_facecolor("white")
    y = _draw_headings(fig, layout)
    y, images, blanks = _draw_body(fig, layout, place, style, rows, facet, y)
    _draw_footnotes(fig, layout, y)
    file_label = " ".join(catalog.axes[a].label(v) for a, v in key.items())
    return GridPage(fig, title, dict(key), page_label or title, file_label, images, blanks)


def _draw_headings(fig: ShownFigure, layout: _PageLayout) -> float:
    """The title, the subtitle and the column headers; return where the body starts (inches from the top)."""
    fx, fy = layout.fx, layout.fy
    y = _MARGIN
    fig.text(fx(_MARGIN), fy(y), "\n".join(layout.title_lines), fontsize=TITLE_PT, fontweight="bold", va="top", ha="left")
    y += layout.title_h
    if layout.alert_lines:
        fig.text(fx(_MARGIN), fy(y), "\n".join(layout.alert_lines), fontsize=SUBTITLE_PT, color=_ALERT_COLOUR,
                 fontweight="bold", va="top", ha="left")
        y += len(layout.alert_lines) * line_height(SUBTITLE_PT)
    fig.text(fx(_MARGIN), fy(y), "\n".join(layout.sub_lines), fontsize=SUBTITLE_PT, color="0.25", va="top", ha="left")
    y += layout.sub_h - len(layout.alert_lines) * line_height(SUBTITLE_PT)
    if layout.col_heads:
        for ci, head in enumerate(layout.col_heads):
            fig.text(fx(layout.col_x[ci] + layout.cell_ws[ci] / 2), fy(y + layout.head_h - 0.08), "\n".join(head),
                     fontsize=LABEL_PT, fontweight="bold", ha="center", va="bottom")
        y += layout.head_h
    return y


def _draw_body(fig: ShownFigure, layout: _PageLayout, place: _PageCells, style: _TileStyle, rows: str | None,
               facet: str | None, y: float) -> tuple[float, int, int]:
    """Every facet block, row and cell from `y` down; return the y below them, the images drawn and the blanks."""
    S = layout.cell_size
    axes = style.catalog.axes
    images = blanks = 0
    for fi, fv in enumerate(place.facet_vals):
        if facet:
            y = _draw_facet_heading(fig, layout, heading(axes[facet], fv), y)
        for ri, rv in enumerate(place.row_vals):
            if rows:
                _draw_row_header(fig, layout, heading(axes[rows], rv), y)
            for ci in range(len(place.col_vals)):
                drawn, failed = _draw_cell(fig, layout, style, place.cells.get((fi, ri, ci), []), ci, y)
                images += drawn
                blanks += failed
            y += S + (_GAP_CELL if ri < len(place.row_vals) - 1 else 0)
        y += _GAP_CELL * 2 if fi < len(place.facet_vals) - 1 else 0
    return y, images, blanks


def _draw_facet_heading(fig: ShownFigure, layout: _PageLayout, text: str, y: float) -> float:
    """A facet value's heading over a rule across the page; return the y below it."""
    fx, fy = layout.fx, layout.fy
    fig.text(fx(_MARGIN), fy(y + 0.06), text, fontsize=LABEL_PT, fontweight="bold", ha="left", va="top", color="#1f4e79")
    fig.add_artist(_rule(fx(_MARGIN), fx(layout.width - _MARGIN), fy(y + layout.facet_h - 0.06)))
    return y + layout.facet_h


def _draw_row_header(fig: ShownFigure, layout: _PageLayout, text: str, y: float) -> None:
    """A row's header, right-aligned against its images and wrapped to fit the row's height."""
    S = layout.cell_size
    max_lines = max(1, int(S / line_height(LABEL_PT)))
    head = wrap_lines(text, layout.label_w - 0.15, LABEL_PT, max_lines=max_lines)
    fig.text(layout.fx(_MARGIN + layout.label_w - 0.12), layout.fy(y + S / 2), "\n".join(head), fontsize=LABEL_PT,
             fontweight="bold", ha="right", va="center")


def _draw_cell(fig: ShownFigure, layout: _PageLayout, style: _TileStyle, group: list[Entry], ci: int,
               y: float) -> tuple[int, int]:
    """One cell (column `ci` of the row at `y`): its entries side by side, or "(no cell)" where
    there are none; return the images and the blanks drawn."""
    S, slot_w = layout.cell_size, layout.slot_w[ci]
    if not group:
        fig.text(layout.fx(layout.col_x[ci] + layout.cell_ws[ci] / 2), layout.fy(y + S / 2), "(no cell)",
                 fontsize=BLANK_PT, color="0.6", ha="center", va="center")
    images = 0
    for j, e in enumerate(group):
        rect = (layout.fx(layout.col_x[ci] + j * (slot_w + _GAP_IMAGE)), layout.fy(y + S), slot_w / layout.width,
                S / layout.height)
        images += _draw_tile(fig, style, e, rect, slot_w, S)
    return images, len(group) - images


def _draw_tile(fig: ShownFigure, style: _TileStyle, e: Entry, rect: tuple[float, float, float, float], box_w: float,
               box_h: float) -> bool:
    """One entry in `rect`: its stamped image (framed and outlined as asked), or a labelled blank
    where it has none; return whether an image was drawn."""
    stamp = stamp_text(e, style.catalog, style.stamped_axes) if style.stamps else ""
    if stamp and e.synthetic and style.catalog.provenance.mixed:  # which images of a mixed grid are synthetic
        stamp = "SYNTHETIC · " + stamp
    pixels = style.arrays.get(e.path) if e.path else None
    if pixels is None or isinstance(pixels, str):  # failed, not run, or its file unreadable
        draw_blank(fig, rect, e, stamp, box_w, box_h, pixels)
        return False
    badges = style.badges
    badge = badges.get(e.image_id) if badges is not None else None
    if style.stamps and badge is not None and style.frame:
        stamp += " · " + badge.label.replace(" ", "\u00a0")
    draw_image(fig, rect, pixels, stamp, box_w, box_h, frame=_frame(badge) if style.frame else None,
               boxes=badges.boxes(e.image_id, pixels.shape[1], e.width) if style.reading else ())  # type: ignore[union-attr]
    return True


def _draw_footnotes(fig: ShownFigure, layout: _PageLayout, y: float) -> None:
    """The full texts of shortened labels, under the body ending at `y`."""
    if layout.note_lines:
        y += 0.2
        fig.text(layout.fx(_MARGIN), layout.fy(y), "\n".join(layout.note_lines), fontsize=NOTE_PT, color="0.2",
                 va="top", ha="left")


def _pos(values: list[Any], value: Any) -> int:
    for i, v in enumerate(values):
        if same_value(v, value):
            return i
    return 0  # cannot happen: values come from the same entries


def _aspect(entries: list[Entry], arrays: dict[str, Any]) -> float:
    """Width over height of the widest image among `entries` (from its thumbnail, else the size
    the task asked for), kept between 1/2 and 2."""
    best = 0.0
    for e in entries:
        pixels = arrays.get(e.path) if e.path else None
        if pixels is not None and not isinstance(pixels, str):
            best = max(best, pixels.shape[1] / pixels.shape[0])
        elif e.width and e.height:
            best = max(best, e.width / e.height)
    return min(2.0, max(0.5, best or 1.0))


def _frame(badge: Any) -> tuple[float, float, float]:

    return tuple(c / 255 for c in (badge.rgb if badge is not None else score_colour(None)))  # type: ignore[return-value]


def _rule(x0: float, x1: float, y: float) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], color="#1f4e79", linewidth=0.8)
