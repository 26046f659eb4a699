"""`qwenlab compare A B ...`: experiments side by side, the experiment as an axis of one grid."""

from __future__ import annotations

import click

from ..errors import ExperimentNotFoundError
from ..figures.text import file_stem
from ..paths import data_dir
from ..store.comparison import EXPERIMENT, open_comparison
from .common import layout
from .exits import param_hints
from .views import figure_options, lay_out_grid, layout_options, save_grid

__all__ = ["compare_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("compare")
@click.argument("experiments", nargs=-1, required=True)
@layout_options
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Grid file to write: .png (one file per page), .pdf, .svg. Default: data/grids/A-vs-B.png")
@click.option("--title", default=None, help="Title (default: 'A vs B').")
@figure_options
def compare_command(experiments: tuple[str, ...], rows: str | None, cols: str | None, pages: tuple[str, ...],
                    facet: str | None, where: tuple[str, ...], thumb: int | None, output: str | None, title: str | None,
                    cell_size: float, dpi: float) -> None:
    """Compare experiments in one grid, the experiment as an axis: qwenlab compare A B --rows experiment --cols size -o cmp.png

    Prints what each experiment holds and costs, then writes the grid (rows: the experiment,
    unless --rows or --cols names it). An axis only some experiments have shows, for the others,
    what their requests sent, or "-". Nothing is sent or changed.
    """
    cmp = open_comparison(experiments)
    if rows is None and cols != EXPERIMENT and facet != EXPERIMENT and EXPERIMENT not in pages:
        rows = EXPERIMENT
    page, filters = layout(pages, where)
    target = output or str(data_dir(create=False) / "grids" / f"{file_stem('-vs-'.join(cmp.names))}.png")
    # every axis, value and -o checked before the summary: bad input prints its error alone
    grid = lay_out_grid(cmp, target, rows=rows, cols=cols, page=page, facet=facet, where=filters or None, thumb=thumb,
                        title=title, cell_size=cell_size, dpi=dpi)
    click.echo(cmp.summary())
    written = save_grid(grid, target)
    for path in written:
        click.echo(str(path))
