"""Comparison grids of an experiment's images (matplotlib): any axis as rows, any as columns.

    g = exp.grid(rows="promptExtend", cols="size")          # a Grid: returns at once, draws nothing yet
    g                                                      # a notebook shows its first page, light (JPEG)
    g.save("grid.png")                                     # every page, drawn in parallel; "grid.pdf": one PDF
    exp.grid(rows="promptExtend", cols="size", region=(0, 0, 1, 0.3))   # the top 30% of each image, full resolution
    save_grid(exp, "grid.pdf", rows="promptExtend", cols="size", page="example")

The axes not used as rows or columns become separate pages (`page="auto"`, the default), or the
ones named by `page=`; the rest (and the repeats) sit side by side within a cell. `facet=` stacks
one more axis as blocks of rows on the same page, and `where=` keeps only some values.

Nothing covers an image. What is true of the whole page (the values every image shares, where
it ran) is said once in the subtitle; the headers say the row's and column's values; the caption
under each image says only the rest: the values that differ within its cell, the repeat, and the
seed the API reported (`captions=False`: no captions). A cell that failed is a labelled blank
with its error code and message, as in AUTOMATIC1111's X/Y/Z plot. Fonts keep their size: long
labels are wrapped or shortened ("prompt 2: A premium beauty…") with the full text in the page's
footnotes, and the figure grows to hold them.

`region=(x0, y0, x1, y1)` (fractions of the image) cuts the same region out of every original
file at full resolution, so the headlines of 32 posters can be compared on one page.

Text scores (`qwenlab.typography`): `score="word_accuracy"` frames each image in its score's
colour on a graded scale drawn on the page (`qwenlab.figures.scale`: 0.88 is not 1.00) and adds
the score to its caption, `sort_by_score=True` puts the best first within a cell, and
`show_reading=True` outlines what the OCR read. They come from the log: a grid never runs OCR.

Where the cells ran is said at the top: a grid of the offline emulator's results has
"SYNTHETIC (offline emulator)" in its title and a red line under it saying its images are drawn
locally and its costs emulated; a mixed experiment says MIXED and each synthetic image's caption
starts with "SYNTHETIC"; a grid of Runware's results names the API host.

Pages are drawn lazily (`qwenlab.figures.pages`): a grid of 2,000 images returns at once and
draws a page when it is shown or saved. Images are drawn from cached thumbnails
(`qwenlab.store.thumbnails`), so a second grid of the same experiment decodes no original.
No pyplot: figures are plain `matplotlib.figure.Figure`s rendered by Agg, safe in any thread and
with no GUI backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.values import same_value
from ..errors import UnknownAxisError
from ..store.axes import ValueIndex
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.comparison import ABSENT, EXPERIMENT
from ..store.thumbnails import thumbnails_of
from ..typography.badges import score_badges
from .grid_spec import GridSpec, load_thumbnails
from .page import render_page
from .pages import Grid, GridPage
from .region import Region, check_region
from .text import heading, page_slug

if TYPE_CHECKING:
    from ..store.experiment import ExperimentRecord

__all__ = ["Grid", "GridPage", "build_grid", "save_grid", "default_axes", "load_thumbnails", "thumb_for", "THUMB_SIZES",
           "UnknownAxisError"]


def save_grid(experiment: "ExperimentRecord | Catalog", path: str | Path, rows: str | None = None, cols: str | None = None,
              **options: Any) -> list[Path]:
    """Build the grid (see `build_grid`) and write it to `path`; return the files written.
    `save_dpi=` sets the files' resolution, `save_workers=` the processes drawing pages."""
    dpi = options.pop("save_dpi", None)
    workers = options.pop("save_workers", None)
    return build_grid(experiment, rows, cols, **options).save(path, dpi=dpi, workers=workers)


def build_grid(experiment: "ExperimentRecord | Catalog", rows: str | None = None, cols: str | None = None, *,
               page: str | Sequence[str] | None = "auto", facet: str | None = None,
               where: Mapping[str, Any] | None = None, region: Sequence[float] | Region | str | None = None,
               captions: bool = True, thumb: int | None = None, cell_size: float | None = None, title: str | None = None,
               dpi: float = 120, workers: int | None = None, score: str | None = None, sort_by_score: bool = False,
               show_reading: bool = False) -> Grid:
    """Lay out an experiment's images as a grid; return its pages as a `Grid` (drawn when shown or saved).

    rows, cols: axis names (or "repeat"); both None picks the first two axes that vary; in a
        comparison, "experiment" in one and None in the other puts the first other axis that
        varies in the other (as `qwenlab compare` does).
    page: "auto" makes a page for each combination of the other varying axes, and cuts a page of
        more than 64 images into pages of whole repeats ("repeats 0 to 7"), so that headings stay
        near their images; a name or list of names pages by those only (the others sit side by
        side in a cell); None (or "none"): one page.
    facet: an axis whose values become blocks of rows on each page.
    where: keep only these values, {axis: value or label or list}: {"size": "1024x1536"}.
    region: (x0, y0, x1, y1) in fractions of the image (0..1): show only that region of every
        image, cut from the original file at full resolution: (0, 0, 1, 0.3) is the top 30%.
    captions: a caption under each image with what the headers do not say (the values that
        differ within its cell, the repeat, the seed the API reported); False: none.
    thumb: thumbnail size in pixels (cached on disk); default: the smallest of 256, 384, 512, 768,
        1024, 1536 and 2048 that covers an image as drawn, so a bigger cell is sharper, not enlarged.
    cell_size: inches per image's height; dpi: of the figures. Default 2.2, or with a region as
        high as the tallest region's own pixels at `dpi` (from 1.2 up to 4 in), so its small text is
        drawn 1:1, not shrunk; a page drawing regions smaller than that says so and how to fix it.
    workers: threads reading thumbnails or regions.
    score: a stored text score ("word_accuracy", "ned", "sentence_accuracy", "correct") to frame
        each image in its colour (graded, the scale drawn on the page) and print in its caption.
    sort_by_score: best score first within each cell (by `score`, else word accuracy).
    show_reading: outline the lines the OCR read (green exact, orange misread, grey other).
    Scores are read from the log (run `exp.score_text()` first); no OCR runs here.
    """
    crop = check_region(region)  # bad input is refused before anything is read
    if not isinstance(dpi, (int, float)) or isinstance(dpi, bool) or dpi <= 0:
        raise ValueError(f"dpi={dpi!r}: give the pages' resolution in dots per inch, e.g. dpi=120")
    if cell_size is not None and (not isinstance(cell_size, (int, float)) or isinstance(cell_size, bool) or cell_size <= 0):
        raise ValueError(f"cell_size={cell_size!r}: give the height of an image in inches, e.g. cell_size=2.2")
    if thumb is not None and (not isinstance(thumb, int) or isinstance(thumb, bool) or thumb < 16):
        raise ValueError(f"thumb={thumb!r}: give a thumbnail size in pixels (at least 16), or None to match the cells")
    catalog = experiment if isinstance(experiment, Catalog) else Catalog.load(experiment)
    catalog = catalog.where(where)
    if cell_size is None:
        cell_size = region_cell_size(catalog.entries, crop, dpi) if crop else 2.2
    if thumb is None:
        thumb = thumb_for(catalog.entries, float(cell_size), dpi)
    rows, cols = default_axes(catalog, rows, cols, page=page, facet=facet)
    pages_axes = _page_axes(catalog, page, rows, cols, facet)
    for parameter, names in (("rows", [rows]), ("cols", [cols]), ("facet", [facet]), ("page", pages_axes)):
        catalog.check_axes(*names, parameter=parameter)  # the message names which one: `--rows` on a command line
    _check_each_axis_once(catalog, [("rows", rows), ("cols", cols), ("facet", facet), *(("page", a) for a in pages_axes)])
    if not catalog.entries:
        raise ValueError(f"experiment {catalog.name!r} has no cells" + (f" matching {dict(where)!r}" if where else ""))
    badges = None
    if score is not None or sort_by_score or show_reading:
        badges = score_badges(catalog, score or "word_accuracy")
    spec = GridSpec(catalog, rows, cols, facet, title=title or catalog.title or catalog.name, cell_size=float(cell_size),
                     dpi=dpi, captions=captions, region=crop, thumb=thumb, workers=workers, badges=badges,
                     frame=score is not None, sort=sort_by_score, reading=show_reading)
    pages = []
    for key, page_entries in _split(catalog, pages_axes):
        labels = [heading(catalog.axes[a], v) for a, v in key.items()]
        slugs = [catalog.axes[a].label(v) for a, v in key.items()]
        blocks = _repeat_blocks(catalog, page_entries) if page == "auto" else [(None, page_entries)]
        for repeats, entries in blocks:
            page_label = "; ".join(labels + ([_repeats_heading(repeats)] if repeats else []))
            file_label = page_slug(slugs + ([f"r{repeats[0]}" + (f"-{repeats[-1]}" if len(repeats) > 1 else "")]
                                            if repeats else []))
            pages.append(GridPage(_PageDrawing(spec, entries, key, page_label), spec.title, dict(key),
                                  page_label or spec.title, file_label, actual_size=crop is not None))
    return Grid(pages, catalog.name, prepare=None if crop else _warm(spec), processes=not show_reading)


REGION_CELL = (1.2, 4.0)  # inches: the least and the most a region's default height may be


def region_cell_size(entries: Sequence[Entry], region: Region, dpi: float) -> float:
    """The default height of a grid of regions: the tallest region's own pixels at `dpi` (sizes
    from the log), within REGION_CELL. At a fixed 1.2 in the top 30% of a 1024x1536 poster (461
    px) was drawn 144 px high, at 31%: its 30-px subheads became 9-px smudges on the very view
    made to read them."""
    tallest = max((e.height * (region.y1 - region.y0) for e in entries if e.height), default=0.0)
    low, high = REGION_CELL
    return round(min(high, max(low, tallest / dpi)), 2)


THUMB_SIZES = (256, 384, 512, 768, 1024, 1536, 2048)  # few sizes, so grids of other sizes share the cache


def thumb_for(entries: Sequence[Entry], cell_size: float, dpi: float) -> int:
    """The thumbnail size for cells `cell_size` inches high at `dpi`: the smallest of THUMB_SIZES
    whose long side covers the widest image as drawn (a tenth of enlargement allowed, so the
    default 2.2 in at 120 dpi keeps 256). A landscape image is drawn as high as a portrait one,
    so its long side is wider than the cell is high: 256 px thumbnails of 1536x1024 images were
    enlarged 1.5x, and a 6 in cell blew them up into blocks."""
    aspect = max((e.width / e.height for e in entries if e.width and e.height), default=1.0)
    need = cell_size * dpi * max(1.0, aspect) / 1.1
    return next((size for size in THUMB_SIZES if size >= need), THUMB_SIZES[-1])


@dataclass
class _PageDrawing:
    """Draws one page when called: the entries whose page axes have the values in `key`."""

    spec: GridSpec
    entries: list[Entry]
    key: dict[str, Any]
    label: str

    def __call__(self) -> tuple[Any, int, int]:
        return render_page(self.spec, self.entries, self.key, self.label, self.spec.pixels(self.entries))


def _warm(spec: GridSpec) -> Any:
    def warm(pages: list[GridPage]) -> None:
        """Make the thumbnails of `pages` missing from the disk cache, here and in threads, so the
        processes drawing the pages only read them (and none is made twice)."""
        paths = [e.path for p in pages for e in p._render.entries]  # type: ignore[attr-defined]
        thumbnails_of(paths, spec.thumb, "jpeg", workers=spec.workers)

    return warm


# -- contents ---------------------------------------------------------------------------------------
def _check_each_axis_once(catalog: Catalog, placed: list[tuple[str, str | None]]) -> None:
    """ValueError for an axis placed twice, starting with the parameter that placed it again
    ("cols: 'size' is already the rows axis; ..."), so that a command names its option (`--cols`)
    and the message says what else that option could take."""
    seen: dict[str, str] = {}
    for parameter, axis in placed:
        if axis is None:
            continue
        if axis in seen:
            where = "given twice" if seen[axis] == parameter else f"already the {seen[axis]} axis"
            others = [a for a in catalog.varying if a not in seen and a != axis]
            fix = f"give {parameter} another axis ({', '.join(others)}) or leave it out" if others else f"leave {parameter} out"
            raise ValueError(f"{parameter}: {axis!r} is {where}; an axis can be only one of rows, cols, facet and page: {fix}")
        seen[axis] = parameter


def default_axes(catalog: Catalog, rows: str | None, cols: str | None, *, page: Any = "auto",
                 facet: str | None = None) -> tuple[str | None, str | None]:
    """The rows and columns of a grid given none or part of them: with neither, the first two axes
    that vary (columns first); in a comparison with the experiment as the rows (or columns) and
    nothing in the other, the first other axis that varies there, one that every member swept
    with the same values before one they do not share. Axes given to `page` (other than
    "auto") or `facet`, and the repeats, are never picked. The drawn grid, the report's table and
    `qwenlab compare` all lay out by it: `cmp.grid(rows="experiment")` left the columns empty,
    every other axis making pages of one column, where the command's default filled them."""
    if rows is not None and cols is not None:
        return rows, cols
    given = rows if rows is not None else cols
    if given is not None and (given != EXPERIMENT or EXPERIMENT not in catalog.axes):
        return rows, cols  # one axis asked for: the rest pages, as asked
    named = [] if page == "auto" else _page_axes(catalog, page, None, None, facet)
    varying = [a for a in catalog.varying if a not in (REPEAT, facet, given, *named)]
    if given is not None:
        # an axis every member sweeps first: one that only some have put the others' runs all
        # under "-", half the cells of each page "(no cell)"
        shared = [a for a in varying if not _partial(catalog, a)]
        other = (shared or varying or [None])[0]
        return (rows, other) if rows is not None else (other, cols)
    return (varying[1] if len(varying) > 1 else None), (varying[0] if varying else None)


def _page_axes(catalog: Catalog, page: Any, rows: str | None, cols: str | None, facet: str | None) -> list[str]:
    if page is None or page is False:
        return []
    if isinstance(page, str) and page.lower() == "none" and page not in catalog.axes:
        return []  # as the command line's --page none says it: "'none' is not an axis" helped no one
    if page == "auto":
        # an axis some compared experiments lack (they read "-"), or whose values they do not all
        # share (each run its own negative prompts), would put runs on pages of their own, so that
        # few pages held two: it stays inside the cells instead
        return [a for a in catalog.varying if a not in (rows, cols, facet, REPEAT) and not _partial(catalog, a)]
    return [page] if isinstance(page, str) else list(page)


def _partial(catalog: Catalog, axis: str) -> bool:
    """Whether, in a comparison, some value of `axis` is missing from some member: a member
    without the axis (its value is ABSENT), or one that swept other values of it."""
    if EXPERIMENT not in catalog.axes:
        return False
    values = catalog.values(axis)
    if any(same_value(v, ABSENT) for v in values):
        return True
    held: dict[Any, list[Any]] = {}
    for e in catalog.entries:
        have = held.setdefault(e.value(EXPERIMENT), [])
        value = e.value(axis)
        if not any(same_value(value, h) for h in have):
            have.append(value)
    return any(not any(same_value(v, h) for h in have) for have in held.values() for v in values)


# A page="auto" page holding more images than this is cut into pages of whole repeats: 2,000
# images swept over two axes were one page of 9,918 x 12,092 px whose column headings sat
# thousands of pixels above most of its images, and which took as long to draw as 30 pages.
PAGE_IMAGES = 64


def _repeat_blocks(catalog: Catalog, entries: list[Entry]) -> list[tuple[list[Any] | None, list[Entry]]]:
    """A page's entries as pages of consecutive repeats, each holding at most PAGE_IMAGES images
    where one repeat of every cell fits (else a repeat a page); [(None, entries)] when the page
    fits as it is. Each block comes with its repeats."""
    if len(entries) <= PAGE_IMAGES:
        return [(None, entries)]
    repeats = catalog.values(REPEAT, entries)
    if len(repeats) < 2:
        return [(None, entries)]
    per_repeat = -(-len(entries) // len(repeats))  # images a repeat, rounded up
    size = max(1, PAGE_IMAGES // per_repeat)
    if size >= len(repeats):
        return [(None, entries)]
    index = ValueIndex(repeats)
    by_block: dict[int, list[Entry]] = {}
    for e in entries:
        at = index(e.value(REPEAT))
        by_block.setdefault(0 if at is None else at // size, []).append(e)
    return [(repeats[b * size:(b + 1) * size], by_block[b]) for b in sorted(by_block)]


def _repeats_heading(repeats: list[Any]) -> str:
    """"repeat 3", or "repeats 0 to 7": the part of a page's label that says which repeats it holds."""
    return f"repeat {repeats[0]}" if len(repeats) == 1 else f"repeats {repeats[0]} to {repeats[-1]}"


def _split(catalog: Catalog, axes: list[str]) -> list[tuple[dict[str, Any], list[Entry]]]:
    """The entries of each page, in the order of the page axes' values."""
    if not axes:
        return [({}, list(catalog.entries))]
    # each entry's page found by looking its values up, in one pass over the entries: testing
    # every entry against every page took a tenth of a second for 32 pages of 2,048 images, each
    # time a grid was built
    indexes = [ValueIndex(catalog.values(a)) for a in axes]
    pages: dict[tuple[int, ...], list[Entry]] = {}
    for e in catalog.entries:
        where = tuple(index(e.value(a)) for a, index in zip(axes, indexes))
        if None not in where:
            pages.setdefault(where, []).append(e)  # type: ignore[arg-type]
    return [(dict(zip(axes, (index.values[i] for index, i in zip(indexes, where)))), pages[where]) for where in sorted(pages)]
