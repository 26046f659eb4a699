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

import concurrent.futures as cf
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.values import same_value
from ..errors import ImageError, UnknownAxisError
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.thumbnails import thumbnail
from ..typography.badges import score_badges
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
    arrays = _load_thumbnails(catalog.entries, thumb, workers)
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


def _load_thumbnails(entries: list[Entry], size: int, workers: int | None) -> dict[str, Any]:
    """path -> pixels of its cached thumbnail (made in threads where missing; Pillow decodes
    without the GIL). A file that is gone or unreadable maps to the error's message."""
    import numpy as np
    from PIL import Image

    def one(path: str) -> Any:
        try:
            with Image.open(thumbnail(path, size)) as img:
                return np.asarray(img.convert("RGB"))
        except (ImageError, OSError) as exc:
            return f"image unreadable: {exc}"

    paths = sorted({e.path for e in entries if e.path})
    if len(paths) <= 1:
        return {p: one(p) for p in paths}
    with cf.ThreadPoolExecutor(max_workers=workers or min(8, len(paths))) as pool:
        return dict(zip(paths, pool.map(one, paths)))


# -- drawing ----------------------------------------------------------------------------------------
def _render_page(catalog: Catalog, entries: list[Entry], key: dict[str, Any], rows: str | None, cols: str | None,
                 facet: str | None, arrays: dict[str, Any], *, title: str, cell_size: float, dpi: float,
                 stamps: bool, marks: dict[str, Any]) -> GridPage:
    S = cell_size
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
    badges = marks["badges"]
    for group in cells.values():
        group.sort(key=order)
        if badges is not None and marks["sort"]:  # stable: equal scores keep the sweep's order
            group.sort(key=lambda e: badges.sort_key(e.image_id))
    k = max((len(g) for g in cells.values()), default=1)
    stamped_axes = [a for a in catalog.axes if catalog.axes[a].varies and a != REPEAT]

    # -- sizes, in inches, top to bottom
    label_w = _ROW_LABEL_W if rows else 0.0
    # every row is S high; a column is as wide as its widest image at that height, so portraits
    # and landscapes (a size axis as columns) both fill their boxes
    slot_w = [S * _aspect([e for (_, _, c), g in cells.items() if c == ci for e in g], arrays) for ci in range(len(col_vals))]
    cell_ws = [k * w + (k - 1) * _GAP_IMAGE for w in slot_w]
    grid_w = sum(cell_ws) + (len(col_vals) - 1) * _GAP_CELL
    W = max(2 * _MARGIN + label_w + grid_w, 6.5)
    text_w = W - 2 * _MARGIN
    page_label = "; ".join(heading(catalog.axes[a], v) for a, v in key.items())
    title_lines = wrap_lines(title, text_w, TITLE_PT, max_lines=3)
    fixed = [catalog.axes[a].tag(catalog.values(a, entries)[0]) for a in catalog.axes
             if a != REPEAT and a not in key and len(catalog.values(a, entries)) == 1]
    n_img = sum(1 for e in entries if not e.failed)
    n_blank = len(entries) - n_img
    sub = ([page_label] if page_label else []) + ([f"same everywhere: {' · '.join(fixed)}"] if fixed else []) + [
        f"{n_img} images" + (f", {n_blank} cell{'s' if n_blank > 1 else ''} without an image" if n_blank else "")
        + " · each image stamped with its values and the seed the API reported"]
    if badges is not None and (marks["frame"] or not badges):
        sub.append(badges.legend())
    if badges and marks["reading"]:
        sub.append("outlines: the lines the OCR read; green an expected string read exactly, orange misread, grey other text")
    sub_lines = [ln for s in sub for ln in wrap_lines(s, text_w, SUBTITLE_PT)]
    col_heads = [wrap_lines(heading(catalog.axes[cols], v), cell_ws[i], LABEL_PT, max_lines=4) if cols else []
                 for i, v in enumerate(col_vals)]
    head_h = max((len(h) for h in col_heads), default=0) * line_height(LABEL_PT) + (0.12 if cols else 0)
    facet_h = line_height(LABEL_PT) + 0.16 if facet else 0.0
    notes = footnotes(catalog, entries)
    note_lines: list[str] = []
    for n in notes:
        note_lines.extend(wrap_lines(n, text_w, NOTE_PT))
    if len(note_lines) > _MAX_NOTE_LINES:
        note_lines = note_lines[: _MAX_NOTE_LINES - 1] + ["… (every prompt is in full in the log: exp.df.prompt)"]
    n_rows = len(row_vals)
    block_h = facet_h + n_rows * S + (n_rows - 1) * _GAP_CELL
    body_h = len(facet_vals) * block_h + (len(facet_vals) - 1) * _GAP_CELL * 2
    title_h = len(title_lines) * line_height(TITLE_PT)
    sub_h = len(sub_lines) * line_height(SUBTITLE_PT) + 0.15
    note_h = (len(note_lines) * line_height(NOTE_PT) + 0.2) if note_lines else 0.0
    H = 2 * _MARGIN + title_h + sub_h + head_h + body_h + note_h

    fig = ShownFigure(figsize=(W, H), dpi=dpi)
    fig.patch.set_facecolor("white")

    def fx(x: float) -> float:
        return x / W

    def fy(y_from_top: float) -> float:
        return 1 - y_from_top / H

    y = _MARGIN
    fig.text(fx(_MARGIN), fy(y), "\n".join(title_lines), fontsize=TITLE_PT, fontweight="bold", va="top", ha="left")
    y += title_h
    fig.text(fx(_MARGIN), fy(y), "\n".join(sub_lines), fontsize=SUBTITLE_PT, color="0.25", va="top", ha="left")
    y += sub_h
    x0 = _MARGIN + label_w
    col_x = [x0 + sum(cell_ws[:ci]) + ci * _GAP_CELL for ci in range(len(col_vals))]
    if cols:
        for ci, head in enumerate(col_heads):
            fig.text(fx(col_x[ci] + cell_ws[ci] / 2), fy(y + head_h - 0.08), "\n".join(head), fontsize=LABEL_PT,
                     fontweight="bold", ha="center", va="bottom")
        y += head_h
    images = blanks = 0
    for fi, fv in enumerate(facet_vals):
        if facet:
            fig.text(fx(_MARGIN), fy(y + 0.06), heading(catalog.axes[facet], fv), fontsize=LABEL_PT, fontweight="bold",
                     ha="left", va="top", color="#1f4e79")
            fig.add_artist(_rule(fx(_MARGIN), fx(W - _MARGIN), fy(y + facet_h - 0.06)))
            y += facet_h
        for ri, rv in enumerate(row_vals):
            if rows:
                max_lines = max(1, int(S / line_height(LABEL_PT)))
                head = wrap_lines(heading(catalog.axes[rows], rv), label_w - 0.15, LABEL_PT, max_lines=max_lines)
                fig.text(fx(_MARGIN + label_w - 0.12), fy(y + S / 2), "\n".join(head), fontsize=LABEL_PT,
                         fontweight="bold", ha="right", va="center")
            for ci in range(len(col_vals)):
                group = cells.get((fi, ri, ci), [])
                if not group:
                    fig.text(fx(col_x[ci] + cell_ws[ci] / 2), fy(y + S / 2), "(no cell)", fontsize=BLANK_PT, color="0.6",
                             ha="center", va="center")
                for j, e in enumerate(group):
                    rect = (fx(col_x[ci] + j * (slot_w[ci] + _GAP_IMAGE)), fy(y + S), slot_w[ci] / W, S / H)
                    stamp = stamp_text(e, catalog, stamped_axes) if stamps else ""
                    pixels = arrays.get(e.path) if e.path else None
                    if pixels is not None and not isinstance(pixels, str):
                        badge = badges.get(e.image_id) if badges is not None else None
                        if stamps and badge is not None and marks["frame"]:
                            stamp += " · " + badge.label.replace(" ", "\u00a0")
                        draw_image(fig, rect, pixels, stamp, slot_w[ci], S,
                                   frame=_frame(badge) if marks["frame"] else None,
                                   boxes=badges.boxes(e.image_id, pixels.shape[1], e.width) if marks["reading"] else ())
                        images += 1
                    else:
                        draw_blank(fig, rect, e, stamp, slot_w[ci], S, pixels)
                        blanks += 1
            y += S + (_GAP_CELL if ri < n_rows - 1 else 0)
        y += _GAP_CELL * 2 if fi < len(facet_vals) - 1 else 0
    if note_lines:
        y += 0.2
        fig.text(fx(_MARGIN), fy(y), "\n".join(note_lines), fontsize=NOTE_PT, color="0.2", va="top", ha="left")
    file_label = " ".join(catalog.axes[a].label(v) for a, v in key.items())
    return GridPage(fig, title, dict(key), page_label or title, file_label, images, blanks)


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
