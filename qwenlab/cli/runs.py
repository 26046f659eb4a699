"""`qwenlab run`: run a sweep file, or print its plan (--dry-run).

Against the real API (RUNWARE_API_KEY set) a run shows the cells it is about to send, where they
go and what they cost, and asks before spending anything (`--yes` skips the question, for
scripts; without an answer, as with no stdin, nothing is sent). Against the offline emulator
nothing is paid, so nothing is asked. A "no" on a machine with no log yet leaves none behind.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
from typing import Any, Callable
from urllib.parse import urlsplit

import click
import pandas as pd

from ..api.address import DEFAULT_BASE_URL
from ..api.connect import check_connection, connect
from ..core.terminal import table_text
from ..core.values import count_of, format_usd, format_usd_column
from ..errors import ExperimentConflictError, ExperimentRenamedError, ValidationError
from ..store.log import IN_DOUBT, Log
from ..store.organize import name_problem
from ..store.provenance import EMULATOR, RUNWARE
from ..sweeps.budget import check_run_settings
from ..sweeps.preview import Preview
from ..sweeps.runner import Runner
from ..sweeps.secret_scan import refuse_secrets_in
from ..sweeps.sweepfile import load_sweep
from .common import log_path, remove_new_log, run_setting
from .exits import exit_unless_done

__all__ = ["run_command", "plan_text", "destination"]


def _said_of_the_file(command: Callable[..., None]) -> Callable[..., None]:
    """Say a ValidationError of the sweep itself (its cells checked, a key pasted into its prompt)
    of the file it is in, as the problems found reading the file are: it read "sweep is invalid",
    naming no file, and a user running several sweep files could not tell which. A name the run
    refuses is said of where it came from: `--name`, or the file's `name` line."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ExperimentRenamedError as exc:
            raise _renamed_error(exc, kwargs["sweep_file"], kwargs["name"]) from None
        except ExperimentConflictError as exc:
            if not exc.command_line_message:
                raise
            # a changed sweep: the fix as this command takes it (--name, --extend), not lab.run's keywords
            said = ExperimentConflictError(exc.command_line_message)
            said.changes = exc.changes
            raise said from None
        except ValidationError as exc:
            if getattr(exc, "experiment", None) is not None:
                raise
            if exc.context == "sweep":
                raise ValidationError(exc.problems, context=kwargs["sweep_file"]) from None
            names = [p for p in exc.problems if p.parameter == "name"]
            if exc.context != "this run" or not names or len(names) != len(exc.problems):
                raise
            if kwargs["name"] is None:  # the file's `name = ...`: the file is what to edit
                raise ValidationError(exc.problems, context=kwargs["sweep_file"]) from None
            # the library's "this run is invalid ... name: ..." named neither the option nor the fix's form
            raise click.BadParameter(f"{names[0].message}; nothing was sent", param_hint="'--name'") from None

    return run


def _renamed_error(exc: ExperimentRenamedError, sweep_file: str, flag: str | None) -> click.BadParameter:
    """A run under an experiment's former name, said of where that name came from, with the fixes
    a command line has: `--name`, the file's `name` line, or the name derived from the sweep when
    neither is given. The library's message named `--name` whichever it was, and its Python forms."""
    old, new = exc.former_name, exc.current_name
    if flag is not None:
        subject, hint = repr(old), "'--name'"
        go_on = f"pass --name {shlex.quote(new)}"
    elif load_sweep(sweep_file).name is not None:
        subject, hint = repr(old), f"'name' in {sweep_file}"
        go_on = f"write name = {_toml_string(new)} in {sweep_file}, or pass --name {shlex.quote(new)}"
    else:
        subject, hint = f"{sweep_file} names no experiment, and the name derived from its sweep, {old!r},", "'SWEEP_FILE'"
        go_on = f"pass --name {shlex.quote(new)} (or write name = {_toml_string(new)} in {sweep_file})"
    return click.BadParameter(
        f"{subject} is what experiment {new!r} was called until it was renamed ({exc.renamed_at} UTC); a run "
        f"under the old name would start a new experiment and send, and pay for, every cell again; nothing was sent. "
        f"To go on with {new!r} (nothing done is sent again): {go_on}. To start a new experiment named {old!r} "
        "anyway: --reuse-name.", param_hint=hint)


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


# Errors need no handling here: a ValidationError (of the file, or of --budget/--concurrency)
# names every parameter at fault and exits 2; an error that stops a run carries the experiment,
# whose summary is printed before it (exit 1). See qwenlab/cli/exits.py.
@click.command("run")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", default=None, callback=lambda _ctx, _param, value: _not_blank(value),
              help="Experiment name (default: the file's `name`, else one derived from the sweep).")
@click.option("--budget", type=float, default=None, callback=run_setting("budget_usd"),
              help="Most the experiment may cost in all, in USD.")
@click.option("--concurrency", type=int, default=None, callback=run_setting("concurrency"),
              help="Requests in flight at once (default: the file's, else 4).")
@click.option("--dry-run", is_flag=True,
              help="Print the plan (cells, requests, cost), where it would be sent, and the estimate against the budget; "
                   "send nothing.")
@click.option("--extend", is_flag=True, help="Allow a changed sweep under an existing name (adds its new cells).")
@click.option("--mix-backends", is_flag=True,
              help="Resume an experiment whose done cells ran on the other backend (emulator or Runware): keep them "
                   "and send the rest here; the experiment is then shown as MIXED.")
@click.option("--resend-in-doubt", is_flag=True,
              help="Send anew, under a new taskUUID, each cell in doubt that the server no longer knows (it may "
                   "have been paid for already: it may be paid twice). Without it such a cell is only asked about.")
@click.option("--reuse-name", is_flag=True,
              help="Start a new experiment under a name another experiment had before it was renamed (refused "
                   "without it: the run would send every cell again; --name NEW_NAME goes on with that one).")
@click.option("--yes", is_flag=True, help="With RUNWARE_API_KEY set: do not ask before spending.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@_said_of_the_file
def run_command(sweep_file: str, name: str | None, budget: float | None, concurrency: int | None, dry_run: bool,
                extend: bool, mix_backends: bool, resend_in_doubt: bool, reuse_name: bool, yes: bool,
                no_progress: bool) -> None:
    """Run the sweep in SWEEP_FILE (TOML); rerunning under the same name sends only what is not done.

    \b
    A sweep file (data/sweeps/lumiere-extend.toml is another):
      name = "lumiere-size"
      prompt = "A poster for 'LUMIERE', headline 'Glow, Refined.'"
      repeats = 2
      budget_usd = 1.0
      [request]
      negativePrompt = "blurry text"
      [axes]
      promptExtend = [true, false]
      size = ["1024x1536", "1536x1024"]

    \b
    Examples:
      qwenlab run sweep.toml --dry-run   # the plan and its cost; nothing sent
      qwenlab run sweep.toml             # run it; again: only what is not done
    """
    spec = load_sweep(sweep_file)
    name = spec.name if name is None else name
    budget_usd = _budget(budget, spec.budget_usd, name or spec.sweep.default_name())
    if concurrency is None:  # 0 is an error to report, not "unset"
        concurrency = spec.concurrency if spec.concurrency is not None else 4
    if dry_run:  # reads the log when there is one; creates nothing
        # what the run would refuse, the dry run refuses too: the same checks, the same errors
        if log_path().exists():
            runner = Runner()
            name = runner.check(spec.sweep, name, budget_usd=budget_usd, concurrency=concurrency, extend=extend,
                                mix_backends=mix_backends, reuse_name=reuse_name)
            runner.say_if_archived(name, planned=True)  # as the run will: the experiment stays out of `qwenlab logs`
            preview = runner.preview(spec.sweep, name, budget_usd=budget_usd, quiet=False)
        else:
            check_run_settings(budget_usd=budget_usd, concurrency=concurrency, name=name)
            refuse_secrets_in(spec.sweep, name, spec.notes)
            check_connection()
            runner = None
            preview = Preview.of(spec.sweep, name, budget_usd, quiet=False)
        click.echo(plan_text(preview.plan))
        click.echo(f"\nsent to: {destination(_server_says(runner))}\n{preview.budget_text()}")
        return
    log = log_path()
    new_folder, new_log = not log.parent.exists(), not log.exists()
    # The plain Runner, not the notebook facade: a run needs no views (matplotlib, widgets).
    runner = Runner()
    # real money: ask first, after every check the run makes and before it writes or sends anything
    confirm = (lambda preview: _ask(preview, _server_says(runner))) if os.environ.get("RUNWARE_API_KEY") and not yes else None
    try:
        exp = runner.run(spec.sweep, name, budget_usd=budget_usd, concurrency=concurrency, progress=not no_progress,
                         extend=extend, notes=spec.notes, confirm=confirm, mix_backends=mix_backends,
                         resend_in_doubt=resend_in_doubt, reuse_name=reuse_name)
    except BaseException as exc:  # refused before anything was written (or not confirmed): leave no empty log behind
        if new_log and not runner.log.experiment_names():
            runner.close()
            remove_new_log(log, new_folder)
        elif isinstance(exc, KeyboardInterrupt):
            # Ctrl-C: say what the run left (spent, done, in doubt) before click's "Aborted!"
            with contextlib.suppress(Exception):
                stopped = runner.experiment(name or spec.sweep.default_name())
                click.echo("\n" + stopped.summary())
                if flying := stopped.counts()["in_doubt"]:
                    # said at once, their images and costs come after: the summary alone read as
                    # money spent on nothing ("0 images, $0.450")
                    click.echo(f"  {count_of(flying, 'request')} in flight or about to leave (counted above at their "
                               "estimate): those sent finish and are logged before qwenlab exits, the others go back to "
                               "not sent; Ctrl-C again stops waiting, and the next run asks the server about them, "
                               "nothing bought twice")
        raise
    click.echo(exp.summary())
    if runner.last_to_send == 0:
        asked, lost = runner.last_refetched, runner.last_lost
        asked = (f"; asked the server (free) for the lost images of {count_of(asked, 'done cell')}: "
                 + (f"{lost} could not be fetched again (lost for good, said above)" if lost else "fetched")
                 if asked else "")
        click.echo(f"  nothing to send: every cell of the sweep was done already (nothing sent, nothing paid){asked}")
    exit_unless_done(exp.counts())


def _not_blank(name: str | None) -> str | None:
    """--name as given, refused when blank: `--name ""` (an unset shell variable) once ran the sweep
    under the file's name or a derived one instead, without a word. The run checks the rest of
    the name (a new name's slash, ...) by the library's rule; an old experiment's keeps working."""
    if name is not None and not name.strip():
        raise click.BadParameter(name_problem(name) or "is blank")
    return name


def _budget(flag: float | None, in_file: float | None, name: str) -> float | None:
    """The budget to run under: --budget when given; else, for an experiment that has one, the one
    it has (None keeps it, as `Lab.run(budget_usd=None)` does), said when the sweep file names
    another; else the file's. A file's budget once silently replaced the one a user set with
    --budget at the last run, raised or lowered, whenever the file was run again."""
    if flag is not None:
        return flag
    kept = None
    if log_path().exists():
        with Log(log_path()) as log:
            row = log.experiment(name)
        kept = row["budget_usd"] if row else None
    if kept is None:
        return in_file
    if in_file is not None and abs(in_file - kept) > 1e-9:
        click.echo(f"budget: {format_usd(kept)}, kept from the last run of {name!r}; the sweep file says "
                   f"{format_usd(in_file)} (pass --budget {in_file:g} to use it)", err=True)
    elif in_file is None:
        # a file with no budget_usd read "budget $0.00: it covers no cell" with nothing to say where
        # that budget came from (an earlier run of the experiment, maybe under another file)
        click.echo(f"budget: {format_usd(kept)}, kept from the last run of {name!r} (pass --budget to set another)",
                   err=True)
    return None


def _ask(preview: Preview, backend: str | None) -> None:
    """Show what is about to be sent and paid, and ask; click.Abort (exit 1, nothing sent) on no,
    and on no answer at all (no stdin). `backend` is what the server said it is (None: it did not
    answer, and then it is taken for Runware: the question errs on the side of money)."""
    if preview.covers_nothing:
        # nothing will be sent, so there is nothing to agree to: it asked "Send 0 requests ...?"
        click.echo(f"sent to: {destination(backend)}\n{preview.budget_text()}")
        click.echo("not asked: the budget covers no cell, so nothing is sent and nothing is paid; "
                   "raise it with --budget (or budget_usd) to send them")
        return
    click.echo(plan_text(preview.to_send))
    # what the plan says of the sweep (a size Runware may refuse, reference images it may ignore, a
    # prompt no cell sends), before the money: they came only after the answer, as the run began
    for note in preview.plan.attrs.get("notes", []):
        click.echo(f"  {note}")
    click.echo(f"\nsent to: {destination(backend)}\n{preview.budget_text()}")
    n, usd = preview.affordable, preview.at_most_usd
    doubt = int((preview.to_send["logged"].iloc[:n] == IN_DOUBT).sum())
    # a cell in doubt is asked about first (free) and sent again, under its own taskUUID, only
    # when the server does not have it: the figure is the most the run can spend
    asked = (f", at most: {doubt} of them in doubt, asked about first and sent only if the server does not "
             "have them" if doubt else "")
    if backend == EMULATOR:
        click.confirm(f"Send {n} request{'s' if n != 1 else ''} to the emulator for experiment {preview.name!r} "
                      f"(emulated costs, nothing paid{asked})?", abort=True)
        return
    click.confirm(f"Send {n} request{'s' if n != 1 else ''} to Runware for experiment {preview.name!r}, "
                  f"about {format_usd(usd)} of real money{asked}?", abort=True)


def _server_says(runner: Runner | None) -> str | None:
    """With RUNWARE_API_KEY set, what the server at RUNWARE_BASE_URL says it is ("emulator" when it
    sends the emulator's header, else "runware"), asked with a GET that carries no key and costs
    nothing; None without a key, or when no server answers."""
    if not os.environ.get("RUNWARE_API_KEY"):
        return None
    if runner is not None:
        return getattr(runner.client, "known_backend", None)
    with connect() as client:
        return client.known_backend


def destination(backend: str | None = None) -> str:
    """Where a run would send its requests now: Runware (RUNWARE_API_KEY set) or the emulator.
    `backend` is what the server said it is, when it was asked (`_server_says`): a key with
    RUNWARE_BASE_URL at a running `qwenlab emulator` goes to the emulator, and says so."""
    url = os.environ.get("RUNWARE_BASE_URL")
    if os.environ.get("RUNWARE_API_KEY"):
        if backend == EMULATOR:
            return (f"the emulator at {_shown(url or DEFAULT_BASE_URL)} (it says so; RUNWARE_API_KEY is set): "
                    "synthetic images, emulated costs, no money moves")
        unsure = "" if backend == RUNWARE else "; no server answered, so it is taken for Runware"
        return f"Runware at {_shown(url or DEFAULT_BASE_URL)} (RUNWARE_API_KEY is set{unsure}): real requests, real money"
    where = f"the emulator at {_shown(url)}" if url else "the offline emulator, started on loopback"
    return f"{where} (RUNWARE_API_KEY is not set): synthetic images, emulated costs, no money moves"


def _shown(url: str) -> str:
    """A URL without any credentials written into it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


_ROWS_SHOWN = 60  # a plan longer than this shows its first and last rows


def plan_text(df: pd.DataFrame) -> str:
    """The plan as a terminal table (without the long columns; a long plan its first and last
    rows), then cell 0's request as JSON."""
    # one model for every cell: cell 0's request names it; several (a model axis, or a bundle axis
    # that sets it) make a column, which the model axis's own column is (it was dropped with it)
    one_model = "model" in df.columns and df["model"].nunique() <= 1
    shown = df.drop(columns=[c for c in ("request_json", "key") if c in df.columns] + (["model"] if one_model else []))
    if "seed" in shown.columns:
        # a sampled cell's seed is the one the API will report: none yet, said '-' as `qwenlab logs
        # NAME` says it (it printed None; with pinned cells beside it, NaN and 1091228623.0)
        seeds = shown["seed"].astype("Int64")
        shown["seed"] = seeds.astype(object).where(seeds.notna(), "-")
    if "est_cost_usd" in shown.columns:  # dollars as `qwenlab costs` and the headline above write them ("0.075" read bare)
        shown["est_cost_usd"] = format_usd_column(shown["est_cost_usd"], missing="-")
    shown = shown.fillna("-")  # nothing else said as None or NaN either (a negative prompt not sent)
    # display.max_rows does not cut to_string: a 10,000-cell dry run printed 10,000 rows, and the
    # question before a paid run came after all of them
    table = table_text(shown, {"max_columns": 50, "width": 200, "max_colwidth": 40}, index=False,
                       max_rows=_ROWS_SHOWN, min_rows=_ROWS_SHOWN)
    if len(df) > _ROWS_SHOWN:
        table += (f"\n({len(df) - _ROWS_SHOWN:,} of the {len(df):,} rows not shown: the first and last "
                  f"{_ROWS_SHOWN // 2} are; in Python, load_sweep(FILE).sweep.plan() from qwenlab.sweeps.sweepfile lists them all)")
    first = f"\nrequest of cell {df['cell'].iloc[0]}:\n{df['request_json'].iloc[0]}" if len(df) else ""
    return table + first
