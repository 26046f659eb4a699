"""`qwenlab grid` and `qwenlab export`: an experiment's images as a comparison grid or an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from ..errors import ExperimentNotFoundError
from ..figures.grid import build_grid
from ..figures.pages import Grid, grid_path
from ..figures.region import parse_region
from ..figures.text import file_stem
from ..html.report import export_html
from ..paths import data_dir
from ..store.experiment import open_experiment
from ..typography.badges import score_badges
from .common import layout, output_path
from .exits import param_hints

__all__ = ["grid_command", "export_command", "layout_options", "figure_options", "layout", "write_grid", "lay_out_grid",
           "save_grid", "COMPARE_CELL_SIZE", "COMPARE_DPI"]

F = TypeVar("F", bound=Callable[..., Any])


# what --thumb defaults to, said per command: each names only options that command has
GRID_THUMB = ("Thumbnail size in pixels (cached on disk). Default: as large as the grid draws its images "
              "(256 px at the default --cell-size and --dpi).")
COMPARE_THUMB = GRID_THUMB[:-1] + "; with -o NAME.html, 160 px, as the report shows them."
REPORT_THUMB = "Thumbnail size in pixels (cached on disk). Default: 160 px, as the report shows them."
# --cell-size, with a sentence on --region for `grid`, the one command that has it
CELL_SIZE = "Height of each image, in inches (default 2.2)."
REGION_CELL_SIZE = CELL_SIZE[:-2] + "; for a region of each image, its own pixels at --dpi, 1.2 to 4)."
DPI = "Resolution of the pages."
# `compare -o NAME.html` draws the report's grid with them too, at the report's own default dpi
# (drawn up to 200 images: above, the report's grid is a table of thumbnails, which has neither)
COMPARE_CELL_SIZE = CELL_SIZE[:-2] + "; with -o NAME.html, of the report's drawn grid, up to 200 images)."
COMPARE_DPI = "Resolution of the pages [default: 120; with -o NAME.html, of the report's drawn grid (up to 200 images): 90]."


def layout_options(fn: F | None = None, *, thumb_help: str = GRID_THUMB) -> Any:
    """The options that lay out a grid, shared by `grid`, `compare` and `export`
    (`@layout_options`, or `@layout_options(thumb_help=...)` for what --thumb defaults to there)."""
    options = [
        click.option("--rows", default=None, help="Axis as rows (or 'repeat'). Without --rows/--cols: the first two axes that vary."),
        click.option("--cols", default=None, help="Axis as columns (or 'repeat')."),
        click.option("--page", "pages", multiple=True,
                     help="Axis whose values make separate pages (repeatable). Default: every other axis that varies; "
                          "'none': one page, the other axes side by side in each cell."),
        click.option("--facet", default=None, help="Axis whose values become blocks of rows on each page."),
        click.option("--where", "where", multiple=True, metavar="AXIS=VALUE",
                     help="Keep only this value of an axis (repeatable; a label works: --where promptExtend=on)."),
        click.option("--thumb", type=click.IntRange(min=16), default=None, help=thumb_help),
    ]

    def decorate(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate if fn is None else decorate(fn)


def figure_options(fn: F | None = None, *, cell_size_help: str = CELL_SIZE, dpi_help: str = DPI) -> Any:
    """The size and resolution of a grid's figures, shared by `grid` and `compare`
    (`@figure_options(cell_size_help=REGION_CELL_SIZE)` where --region is an option too)."""
    def decorate(fn: F) -> F:
        # positive, checked by click so that the message names the option (the library's says cell_size=)
        fn = click.option("--dpi", type=click.FloatRange(min=0, min_open=True), default=120,
                          show_default=dpi_help == DPI, help=dpi_help)(fn)
        return click.option("--cell-size", type=click.FloatRange(min=0, min_open=True), default=None,
                            help=cell_size_help)(fn)

    return decorate if fn is None else decorate(fn)


def write_grid(experiment: Any, target: str, *, workers: int | None = None, **options: Any) -> list[Path]:
    """Lay out the grid and write its pages to `target` (`lay_out_grid`, then `save_grid`)."""
    return save_grid(lay_out_grid(experiment, target, **options), target, workers=workers)


def lay_out_grid(experiment: Any, target: str, **options: Any) -> Grid:
    """The grid of `experiment`, laid out (nothing drawn yet), and `target` checked as a file a
    grid is written to: every axis, value and the format of -o refused here, before a command
    prints or writes anything."""
    grid = build_grid(experiment, **options)
    grid_path(target)
    return grid


def save_grid(grid: Grid, target: str, *, workers: int | None = None) -> list[Path]:
    """Write the grid's pages to `target`, saying first how many there are when that is more
    than a few: a layout that pages by every other axis can make a hundred pages and minutes of
    drawing, which --page or --where would have cut."""
    if len(grid.pages) > MANY_PAGES:
        click.echo(f"writing {len(grid.pages)} pages, one for each combination of the axes not in the rows or "
                   "columns; --page AXIS (or --page none) or --where AXIS=VALUE make fewer", err=True)
    return grid.save(target, workers=workers)


MANY_PAGES = 8  # pages past which a grid command says how many it is about to write


# An unknown axis (UnknownAxisError) or impossible layout (ValueError) names the option in its
# own message ("rows='nope': its axes are: ..."), so only the experiment needs a hint.
@param_hints({ExperimentNotFoundError: "EXPERIMENT"})
@click.command("grid")
@click.argument("experiment")
@layout_options
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), callback=output_path,
              help="File to write: .png (one file per page), .jpg or .webp (smaller), .pdf (one page per page), .svg. "
                   "Default: data/grids/NAME.png")
@click.option("--title", default=None, help="Title (default: the experiment's name).")
@click.option("--region", default=None, metavar="X0,Y0,X1,Y1",
              help="Show only this region of every image, in fractions 0..1, cut from the original at full resolution: "
                   "0,0,1,0.3 is the top 30% (the headline).")
@click.option("--captions/--no-captions", default=True, show_default=True,
              help="A caption under each image: what the headers do not say, and the seed the API reported.")
@figure_options(cell_size_help=REGION_CELL_SIZE)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes drawing pages at once (default: one per core).")
@click.option("--score", type=click.Choice(["word_accuracy", "ned", "sentence_accuracy", "correct"]), default=None,
              help="Frame each image in the colour of its stored text score and print the score in its caption "
                   "(scores from `qwenlab score NAME`; no OCR runs here).")
@click.option("--sort-by-score", is_flag=True, help="Best text score first within each cell.")
@click.option("--show-reading", is_flag=True, help="Outline the text the OCR read (green exact, orange misread).")
def grid_command(experiment: str, rows: str | None, cols: str | None, pages: tuple[str, ...], facet: str | None,
                 where: tuple[str, ...], thumb: int | None, output: str | None, title: str | None, region: str | None,
                 captions: bool, cell_size: float | None, dpi: float, workers: int | None, score: str | None,
                 sort_by_score: bool, show_reading: bool) -> None:
    """Write a comparison grid of EXPERIMENT's images: qwenlab grid NAME --rows promptExtend --cols size -o grid.png

    Under each image, a caption with what the headers do not say and the seed the API reported;
    a failed cell is a labelled blank with its error. With --region, only that part of every
    image, at full resolution. With --score, each image is framed in its text score's colour.
    """
    try:
        crop = parse_region(region) if region is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--region'") from None
    exp = open_experiment(experiment)
    page, filters = layout(pages, where)
    target = output or str(data_dir() / "grids" / f"{file_stem(experiment)}.png")
    written = write_grid(exp, target, rows=rows, cols=cols, page=page, facet=facet, where=filters or None, thumb=thumb,
                         title=title, region=crop, captions=captions, cell_size=cell_size, dpi=dpi, score=score,
                         sort_by_score=sort_by_score, show_reading=show_reading, workers=workers)
    if (score or sort_by_score or show_reading) and not score_badges(exp):
        click.echo(f"note: no text scores stored for {experiment!r}; run `qwenlab score {experiment}` first", err=True)
    for path in written:
        click.echo(str(path))


@param_hints({ExperimentNotFoundError: "EXPERIMENT"})
@click.command("export")
@click.argument("experiment")
@layout_options(thumb_help=REPORT_THUMB)
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), callback=output_path,
              help="HTML file to write. Default: data/reports/NAME.html")
@click.option("--grid", "grid_mode", type=click.Choice(["image", "table", "none"]), default="image", show_default=True,
              help="The grid as embedded images, as an HTML table of thumbnails, or none.")
@click.option("--title", default=None, help="Title (default: the experiment's name).")
@click.option("--full-size", is_flag=True, default=False,
              help="Also put the original images in a folder beside the file (report_files/ for -o report.html), linked from it: "
                   "click a thumbnail to see the original.")
def export_command(experiment: str, rows: str | None, cols: str | None, pages: tuple[str, ...], facet: str | None,
                   where: tuple[str, ...], thumb: int | None, output: str | None, grid_mode: str, title: str | None,
                   full_size: bool) -> None:
    """Write EXPERIMENT as one self-contained HTML file: qwenlab export NAME -o report.html

    The grid, every request (prompt, parameters, seed, cost, latency, error), the costs and the
    ratings, with images embedded as WebP thumbnails (click one to see it large); it loads
    nothing from anywhere. With --full-size the originals go in a folder beside the file.
    """
    exp = open_experiment(experiment)
    page, filters = layout(pages, where)
    # the report's thumbnails are as small as they are shown (160 px) unless --thumb says otherwise
    path = export_html(exp, output, rows=rows, cols=cols, page=page, facet=facet, where=filters or None,  # type: ignore[arg-type]
                       grid=None if grid_mode == "none" else grid_mode, title=title, full_size=full_size,
                       **({"thumb": thumb} if thumb is not None else {}))
    click.echo(str(path))
