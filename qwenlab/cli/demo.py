"""`qwenlab demo`: the offline demo, one command (its own module: it brings the grids)."""

from __future__ import annotations

import os
import shlex
import tempfile

import click

from ..core.values import format_usd
from ..demo import demo_sweep, run_demo
from ..errors import ExperimentRenamedError
from .common import command_name, run_setting
from .exits import exit_unless_done

__all__ = ["demo_command"]


@click.command("demo")
@click.option("--live", is_flag=True, help="Use the real API (RUNWARE_API_KEY; real money) instead of the offline emulator.")
@click.option("--yes", is_flag=True, help="With --live: do not ask before spending.")
@click.option("--concurrency", type=int, default=4, show_default=True, callback=run_setting("concurrency"),
              help="Requests in flight at once.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def demo_command(live: bool, yes: bool, concurrency: int, no_progress: bool) -> None:
    """Sweep the model page's four examples (promptExtend x size x negative prompt x 2 repeats)
    against the offline emulator; write the log, the images and comparison grids in the data folder.

    Running it again sends nothing already done.
    """
    if live and not os.environ.get("RUNWARE_API_KEY", "").strip():
        # without a key the client falls back to the emulator: asking about real money, then
        # drawing synthetic images, would say one thing and do another
        raise click.BadParameter("--live sends to Runware and needs RUNWARE_API_KEY: set it to your key "
                                 "(your Runware API key), or leave --live out for the offline demo",
                                 param_hint="'--live'")
    if live and not yes:
        # priced in a scratch folder: the sweep draws its reference image where it is given, and
        # a "no" must leave nothing in the data folder
        with tempfile.TemporaryDirectory() as scratch:
            cost = demo_sweep(scratch).estimated_cost
        click.confirm(f"--live sends up to 64 requests to Runware, about {format_usd(cost)} of real money. Go on?", abort=True)
    try:
        result = run_demo(live=live, concurrency=concurrency, progress=not no_progress)
    except ExperimentRenamedError as exc:
        # the library's fix ("--name NEW", "--reuse-name") names options this command does not have
        raise click.UsageError(
            f"the demo runs as experiment {exc.former_name!r}, the name experiment {exc.current_name!r} had until it "
            f"was renamed ({exc.renamed_at} UTC); nothing was sent. To go on with it (nothing done is sent again): "
            f"qwenlab rename {shlex.quote(exc.current_name)} {shlex.quote(exc.former_name)}, then qwenlab demo. For a new demo beside "
            "it, run qwenlab demo with QWENLAB_DATA_DIR set to another folder.") from None
    click.echo(result.summary(command_name()))
    exit_unless_done(result.experiment.counts())
