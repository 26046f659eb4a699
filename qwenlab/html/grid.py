"""A report's grid: the comparison grid drawn by matplotlib and embedded as JPEGs, a page each,
or an HTML table of the thumbnails, which `grid="table"` asks for and more than GRID_IMAGE_LIMIT
images get (a grid that large is too large to draw, and to look at).

The table costs no bytes of its own: each image's thumbnail is embedded once in the page
(`page.Thumbnails`), here, where the browser reaches it first, and the requests' rows below show
it by reference (`img_ref`); the lightbox opens it large.
`qwenlab.html.report.report_html` puts the grid under the report's "Grid" heading.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Collection

from ..core.values import count_of
from ..figures.grid import build_grid, default_axes
from ..figures.text import NBSP, heading, stamp_text
from ..store.axes import ValueIndex
from ..store.catalog import REPEAT, Catalog, Entry
from .page import THUMB_MAX_PX, THUMB_PRINT_PX, Thumbnails, details, esc, hover, img, img_ref, table

__all__ = ["grid_section", "caption", "legend", "is_table", "GridOptionsUnusedWarning", "GRID_MODES", "GRID_IMAGE_LIMIT",
           "UNREADABLE"]

GRID_MODES = ("image", "table", None)
# in place of an image whose file is gone or damaged (`qwenlab verify` says which; a run fetches it again)
UNREADABLE = "image unreadable: its file is missing or damaged"
# above this many images a grid drawn by matplotlib is too large to draw (and to look at): the
# report shows the HTML table of thumbnails instead, which costs no bytes (it reuses the thumbnails)
GRID_IMAGE_LIMIT = 200


class GridOptionsUnusedWarning(UserWarning):
    """The drawn grid's size or resolution was asked for, and the grid is the table of thumbnails,
    which has neither (`cells`: how many the grid shows, images and blanks)."""

    def __init__(self, message: str, cells: int) -> None:
        super().__init__(message)
        self.cells = cells


def is_table(catalog: Catalog, mode: str | None) -> bool:
    """Whether the grid is the HTML table of thumbnails: asked for, or more than GRID_IMAGE_LIMIT
    cells to draw."""
    return bool(catalog.entries) and (mode == "table" or len(catalog.entries) > GRID_IMAGE_LIMIT)


def grid_section(catalog: Catalog, mode: str, rows: str | None, cols: str | None, page: Any, facet: str | None,
                 thumb: int, dpi: float, embedded: Collection[int] = (), thumbs: Thumbnails | None = None, *,
                 cell_size: float | None = None) -> str:
    """The grid's HTML (`dpi`, `cell_size`: the drawn grid's, as `build_grid`'s). `embedded`: the ids of the images whose thumbnails the page holds (any
    other is a file gone or damaged, said in its place); `thumbs`: where the table takes them
    from (embedded at their first use; without it, by reference to the requests' rows)."""
    if not catalog.entries:
        return "<p class=\"muted\">No cells.</p>"
    if is_table(catalog, mode):
        images = sum(e.image_id is not None for e in catalog.entries)  # a failed cell is a blank, not an image
        blanks = len(catalog.entries) - images
        count = f"{count_of(images, 'image')}" + (f" and {count_of(blanks, 'cell')} without one" if blanks else "")
        note = ("" if mode == "table" else f"<p class=\"muted\">{esc(count)}: too many for one drawn "
                "grid, so here as a table of the thumbnails (click one to see it large).</p>")
        return note + _grid_table(catalog, rows, cols, set(embedded), thumb, thumbs)
    # thumbnails as large as the grid draws its images (build_grid's default), or larger if asked
    grid = build_grid(catalog, rows, cols, page=page, facet=facet, thumb=thumb if thumb > 256 else None, dpi=dpi,
                      cell_size=cell_size)
    out = []
    for p in grid.pages:
        buf = io.BytesIO()
        p.figure.savefig(buf, format="jpeg", dpi=dpi, pil_kwargs={"quality": 85})
        uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        out.append(f"<figure class=\"gridpage\">{img(uri, p.label or p.title, cls='grid')}"
                   f"<figcaption class=\"muted\">{esc(p.label)} <span class=\"hint\">(click the grid for its actual "
                   f"size)</span></figcaption></figure>")
    return "".join(out)


def _grid_table(catalog: Catalog, rows: str | None, cols: str | None, embedded: set[int], thumb: int = 160,
                thumbs: Thumbnails | None = None) -> str:
    rows, cols = default_axes(catalog, rows, cols, page=None)  # as the drawn grid lays out (its pages: none here)
    catalog.check_axes(rows, parameter="rows")
    catalog.check_axes(cols, parameter="cols")
    row_vals = catalog.values(rows) if rows else [None]
    col_vals = catalog.values(cols) if cols else [None]
    stamped = [a for a in catalog.axes if catalog.axes[a].varies and a != REPEAT]
    shown = [a for a in stamped if a not in (rows, cols)]  # under each image: what its row and column do not say
    # each entry to its cell at once (looked up, as same_value compares), not every entry tried
    # against every cell: a 3,840-image comparison's 80 cells went through all of them each
    row_of, col_of = ValueIndex(row_vals), ValueIndex(col_vals)
    cells_of: dict[tuple[int | None, int | None], list[Entry]] = {}
    for e in catalog.entries:
        cells_of.setdefault((row_of(e.value(rows)) if rows else 0, col_of(e.value(cols)) if cols else 0), []).append(e)
    body = []
    for i, rv in enumerate(row_vals):
        # a shortened value's full text on hover, as the legend says it (`legend`)
        cells = [hover(esc(heading(catalog.axes[rows], rv)), catalog.axes[rows].note(rv)) if rows else ""]
        for j in range(len(col_vals)):
            cells.append("".join(_figure(e, catalog, stamped, shown, embedded, thumb, thumbs)
                                 for e in cells_of.get((i, j), [])))
        body.append(cells)
    heads = ["", *(heading(catalog.axes[cols], v) if cols else "" for v in col_vals)]
    titles = [None, *(catalog.axes[cols].note(v) if cols else None for v in col_vals)]
    return table(heads, body, cls="gridtable", titles=titles)


def legend(catalog: Catalog) -> str:
    """Each value shown short in the report (the grid's headings, the captions, the tables), in
    full, as the drawn grid's footnotes say it ("prompt 2: A premium beauty poster …"); "" when
    none is. Each line is keyed by the value's short name in a caption (`AxisInfo.tag`), for the
    lightbox, which shows the full text of what its image's caption names short."""
    lines = [f"<div class=\"legend\" data-key=\"{esc(info.tag(v).replace(NBSP, ' '))}\">{esc(note)}</div>"
             for name, info in catalog.axes.items() if name != REPEAT for v in info.values if (note := info.note(v))]
    if not lines:
        return ""
    return details(f"values in full ({count_of(len(lines), 'value')} shown short in the grid, captions and tables)",
                   "".join(lines))


def caption(e: Entry, catalog: Catalog, stamped: list[str]) -> str:
    """An image's caption (its alt text, which the lightbox shows): its values, repeat and seed,
    and, in a report whose cells ran on both the emulator and Runware, SYNTHETIC on the emulator's."""
    mark = " · SYNTHETIC (emulator)" if catalog.provenance.mixed and e.synthetic else ""
    return stamp_text(e, catalog, stamped) + mark


def _figure(e: Entry, catalog: Catalog, stamped: list[str], shown: list[str], embedded: set[int], thumb: int,
            thumbs: Thumbnails | None = None) -> str:
    stamp = caption(e, catalog, stamped)  # whole in the lightbox's caption, which has no headings beside it
    if e.image_id is not None and e.image_id in embedded:
        # the thumbnail embedded once: here, or in its request's row
        pic = thumbs.img(e.image_id, str(e.path), stamp) if thumbs is not None else img_ref(e.image_id, stamp)
    elif e.image_id is not None:  # its file gone or damaged: a reference to nothing showed a broken picture
        pic = _blank(UNREADABLE, e, thumb)
    else:
        pic = _blank(e.problem(), e, thumb)
    under = stamp_text(e, catalog, shown)
    return f"<div style=\"display:inline-block;margin:2px\">{pic}<div class=\"stamp\">{esc(under)}</div></div>"


def _blank(text: str, e: Entry, thumb: int) -> str:
    """What stands in a cell for an image not there: `text` in a box of the thumbnail's size and
    shape (the image's logged size), as the drawn grid's blank. A line of text was shorter than
    a poster's thumbnail, and every repeat under it stood higher than its neighbours in the row."""
    aspect = min(8.0, max(1 / 8, e.aspect or 1.0))

    def box(side: int) -> str:  # the thumbnail's size in a `side` px square: the page's, on screen and on paper
        side = min(thumb, side)
        return f"{round(side * min(1.0, aspect))}px", f"{round(side * min(1.0, 1 / aspect))}px"

    (w, h), (pw, ph) = box(THUMB_MAX_PX), box(THUMB_PRINT_PX)
    return f"<div class=\"failed blank\" style=\"--w:{w};--h:{h};--pw:{pw};--ph:{ph}\">{esc(text)}</div>"
