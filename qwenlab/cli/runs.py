"""`qwenlab run`: run a sweep file, or print its plan (--dry-run)."""

from __future__ import annotations

import click
import pandas as pd

from ..sweeps.runner import Runner
from ..sweeps.sweepfile import load_sweep
from .common import log_path

__all__ = ["run_command"]


# Errors need no handling here: a ValidationError (of the file, or of --budget/--concurrency)
# names every parameter at fault and exits 2; an error that stops a run carries the experiment,
# whose summary is printed before it (exit 1). See qwenlab/cli/exits.py.
@click.command("run")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", default=None, help="Experiment name (default: the file's `name`, else one derived from the sweep).")
@click.option("--budget", type=float, default=None, help="Most the experiment may cost in all, in USD.")
@click.option("--concurrency", type=int, default=None, help="Requests in flight at once (default: the file's, else 4).")
@click.option("--dry-run", is_flag=True, help="Print the plan (cells, requests, cost) and send nothing.")
@click.option("--extend", is_flag=True, help="Allow a changed sweep under an existing name (adds its new cells).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def run_command(sweep_file: str, name: str | None, budget: float | None, concurrency: int | None, dry_run: bool,
                extend: bool, no_progress: bool) -> None:
    """Run the sweep in SWEEP_FILE (TOML); rerunning under the same name sends only what is not done."""
    spec = load_sweep(sweep_file)
    name = name or spec.name
    if dry_run:  # reads the log when there is one; creates nothing
        df = Runner().plan(spec.sweep, name) if log_path().exists() else spec.sweep.plan()
        click.echo(plan_text(df))
        return
    if concurrency is None:  # 0 is an error to report, not "unset"
        concurrency = spec.concurrency if spec.concurrency is not None else 4
    # The plain Runner, not the notebook facade: a run needs no views (matplotlib, widgets).
    exp = Runner().run(spec.sweep, name, budget_usd=budget if budget is not None else spec.budget_usd,
                       concurrency=concurrency, progress=not no_progress, extend=extend, notes=spec.notes)
    click.echo(exp.summary())


def plan_text(df: pd.DataFrame) -> str:
    """The plan as a terminal table (without the long columns), then cell 0's request as JSON."""
    shown = df.drop(columns=[c for c in ("request_json", "key", "model") if c in df.columns])
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200,
                           "display.max_colwidth", 40):
        table = shown.to_string(index=False)
    first = f"\nrequest of cell 0:\n{df['request_json'].iloc[0]}" if len(df) else ""
    return table + first
