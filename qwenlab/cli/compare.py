"""`qwenlab compare A B ...`: experiments side by side, the experiment as an axis of one grid."""

from __future__ import annotations

import warnings
from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import ExperimentNotFoundError
from ..figures.pages import GRID_FORMATS
from ..figures.text import file_stem
from ..html.grid import GRID_IMAGE_LIMIT, GridOptionsUnusedWarning
from ..html.report import export_html
from ..paths import data_dir
from ..store.comparison import EXPERIMENT, open_comparison
from .common import layout, output_path
from .exits import param_hints
from .views import COMPARE_CELL_SIZE, COMPARE_DPI, COMPARE_THUMB, figure_options, lay_out_grid, layout_options, save_grid

__all__ = ["compare_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("compare")
@click.argument("experiments", nargs=-1, required=True)
@layout_options(thumb_help=COMPARE_THUMB)
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), callback=output_path,
              help="Grid file to write: .png (one file per page), .jpg or .webp (smaller), .pdf, .svg; or .html: the comparison's report, "
                   "one self-contained file to share (as `qwenlab export` writes). Default: data/grids/A-vs-B.png")
@click.option("--title", default=None, help="Title (default: 'A vs B').")
@figure_options(cell_size_help=COMPARE_CELL_SIZE, dpi_help=COMPARE_DPI)
def compare_command(experiments: tuple[str, ...], rows: str | None, cols: str | None, pages: tuple[str, ...],
                    facet: str | None, where: tuple[str, ...], thumb: int | None, output: str | None, title: str | None,
                    cell_size: float | None, dpi: float) -> None:
    """Compare experiments in one grid, the experiment as an axis: qwenlab compare A B --rows experiment --cols size -o cmp.png

    Prints what each experiment holds and costs, then writes the grid (rows: the experiment,
    unless --rows or --cols names it; columns, without --cols, the first other axis that varies, one every experiment swept first).
    An axis only some experiments have shows, for the others, what their requests sent, or "-".
    Nothing is sent or changed. With -o NAME.html, the comparison's report: its grid (drawn at
    --cell-size and --dpi), each run's costs, ratings, judgements and every request.
    """
    cmp = open_comparison(experiments)
    named = Path(output or "")
    if named.suffix and named.suffix.lower().lstrip(".") not in (*GRID_FORMATS, "html", "htm"):
        # grid_path's own message lists only a grid's formats: compare writes its report too
        raise click.BadParameter(f"{named.name!r} is neither a grid ({', '.join('.' + f for f in GRID_FORMATS)}) "
                                 "nor the comparison's report (.html); end it with one of those", param_hint="'--output'")
    page, filters = layout(pages, where)
    if rows is None and cols != EXPERIMENT and facet != EXPERIMENT and EXPERIMENT not in pages:
        # and, without --cols, the first other axis that varies in the columns: the grid's own
        # default for the experiment in rows (`default_axes`), as `cmp.grid(rows="experiment")` has it
        rows = EXPERIMENT
    if output and Path(output).suffix.lower() in (".html", ".htm"):
        # the report to send, as `qwenlab export` writes one experiment's: written (its layout
        # checked) before the summary, so that a refused command prints its error alone. Its grid
        # is drawn as the PNG's is, at --cell-size and --dpi (they were ignored here): a --dpi
        # not given keeps the report's own default (90, a page's worth on screen), not the PNG's 120
        given = click.get_current_context().get_parameter_source("dpi") is not ParameterSource.DEFAULT
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridOptionsUnusedWarning)
            report = export_html(cmp, output, rows=rows, cols=cols, page=page, facet=facet, where=filters or None,
                                 title=title, grid_cell_size=cell_size, **({"grid_dpi": dpi} if given else {}),
                                 **({"thumb": thumb} if thumb is not None else {}))
        click.echo(cmp.summary())
        for w in caught:
            if isinstance(w.message, GridOptionsUnusedWarning):  # said in the command's words: its options
                options = " and ".join(o for o, v in (("--cell-size", cell_size), ("--dpi", given)) if v)
                click.echo(f"note: {options} did nothing in {Path(output).name}: its grid of {w.message.cells} cells, "
                           f"more than the {GRID_IMAGE_LIMIT} a drawn grid holds, is a table of thumbnails, which has "
                           "no cell size nor dpi (--thumb sets their size; --where AXIS=VALUE keeps fewer, drawn)", err=True)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        click.echo(str(report))
        return
    target = output or str(data_dir(create=False) / "grids" / f"{file_stem('-vs-'.join(cmp.names))}.png")
    # every axis, value and -o checked before the summary: bad input prints its error alone
    grid = lay_out_grid(cmp, target, rows=rows, cols=cols, page=page, facet=facet, where=filters or None, thumb=thumb,
                        title=title, cell_size=cell_size, dpi=dpi)
    click.echo(cmp.summary())
    written = save_grid(grid, target)
    for path in written:
        click.echo(str(path))
