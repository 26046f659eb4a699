"""`qwenlab verify`: is every image file the bytes that were logged, and is the log sound?"""

from __future__ import annotations

import click

from ..core.values import count_of
from ..errors import ExperimentNotFoundError
from ..paths import data_dir
from ..store.integrity import check_store, problems_by_experiment, set_aside
from ..store.log import Log
from ..store.log_file import damaged_log_advice
from .common import existing_log
from .exits import EXIT_FAILED, param_hints

# qwenlab.demo.DEMO_NAME, not imported from there: it brings the emulator and the lab's views
DEMO_NAME = "demo"

__all__ = ["verify_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("verify")
@click.argument("experiments", nargs=-1)
@click.option("--set-aside", "move", is_flag=True,
              help="Move damaged and cut-short files to set-aside/ in the data folder, so that the next run fetches them again.")
def verify_command(experiments: tuple[str, ...], move: bool) -> None:
    """Verify that every image file of EXPERIMENTS (all by default) is the bytes logged, and the log sound.

    A run checks only that each file is there at its logged size; this reads every file and
    compares its SHA-256 with the log's (a second or so for 2,000 images). Exit 0 when all is
    as logged, 1 when something is not. With --set-aside the damaged files go to
    set-aside/<time>/ in the data folder (kept, not deleted): run their sweeps again and the
    missing images are fetched again, free, while the server keeps the task.

    \b
    Examples:
      qwenlab verify                    # every experiment
      qwenlab verify demo --set-aside   # then `qwenlab run` its sweep again
    """
    folder, path = data_dir(create=False), existing_log()
    with Log(path) as log:
        report = check_store(log, folder, experiments)
    if move:
        set_aside(report, folder)
    click.echo(str(report))
    if report.moved:
        click.echo(f"set aside {count_of(len(report.moved), 'file')} in {report.set_aside_dir} (kept)")
    fetchable, imported = problems_by_experiment(report), problems_by_experiment(report, imported=True)
    damaged_left = [p for p in report.problems if p.problem in ("damaged", "cut short") and not p.lost] if not move else []
    lost = [p for p in report.problems if p.lost]
    if lost:
        # a run has asked the server for these again and been refused: promising them back at the
        # next run (as for any missing file) sent the user to runs that ask for nothing
        click.echo(f"{count_of(len(lost), 'image')} {'is' if len(lost) == 1 else 'are'} lost for good: a run already asked "
                   "the server for them again and it no longer gives them; no run brings them back "
                   "(`qwenlab logs NAME` shows why for each cell).")
    if damaged_left:
        bundled = " (import the bundle again for an experiment that came in one)" if any(p.imported for p in damaged_left) else ""
        click.echo(f"Set the damaged files aside with `qwenlab verify --set-aside` (they are kept), then run their sweeps "
                   f"again{bundled}.")
    demo = fetchable.pop(DEMO_NAME, None) if not damaged_left else None
    if demo:  # the demo has no sweep file: its command runs its sweep
        click.echo(f"Run `qwenlab demo` again for the demo's {count_of(demo, 'image')}: fetched again, free, while the "
                   "server keeps the task; nothing is bought again.")
    if fetchable and not damaged_left:
        names = ", ".join(f"{name} ({n})" for name, n in fetchable.items())
        click.echo(f"Run the sweeps of {names} again (`qwenlab run FILE`, or `lab.run(sweep, name=...)`): the images "
                   "missing from the store are fetched again, free, while the server keeps the task; nothing is bought again.")
    if imported and not damaged_left:
        names = ", ".join(f"{name} ({n})" for name, n in imported.items())
        click.echo(f"Import the bundles of {names} again (`qwenlab import FILE`): an imported experiment's images come "
                   "with its bundle; importing it again adds only what is missing.")
    if report.log_verdict != "ok":
        click.echo(f"The log {path}: {damaged_log_advice(path.name)}.", err=True)
    if not report.ok:
        click.get_current_context().exit(EXIT_FAILED)
