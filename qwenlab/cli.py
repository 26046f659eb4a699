"""The `qwenlab` command: thin click commands over the library.

Each command lives in its own section below and calls library code; no logic of its own.
"""

from __future__ import annotations

import click

from .core.values import format_value, present
from .version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qwenlab")
def cli() -> None:
    """Prompt experiments for Qwen-Image-2.0-Pro on Runware: sweeps, logs, grids, costs.

    Without RUNWARE_API_KEY every command talks to the offline emulator, whose images are synthetic.
    """


@cli.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the descriptions as JSON.")
def models_command(as_json: bool) -> None:
    """List the model descriptions qwenlab knows, with their prices."""
    import json as _json

    from .core.model import list_models

    models = list_models()
    if as_json:
        click.echo(_json.dumps([{"id": m.id, "name": m.name, "usd_per_image": m.price, "origin": m.origin,
                                 "parameters": {n: p.path for n, p in m.parameters.items()}} for m in models], indent=2))
        return
    for m in models:
        click.echo(f"{m.id:32} ${m.price:.3f}/image  {m.name}  ({m.origin})")


# -- emulator ----------------------------------------------------------------------------------
@cli.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to serve on (127.0.0.1, ::1, localhost).")
@click.option("--port", default=8787, show_default=True, type=int, help="Port (0: any free port).")
@click.option("--api-key", default=None, envvar="QWENLAB_EMULATOR_API_KEY", help="Accept only this key (default: any non-empty key).")
@click.option("--latency", default=None, help="Seconds per task: 0.5, uniform:0.2,0.8, normal:0.5,0.1 or exp:0.5.")
@click.option("--rate-429", type=float, default=None, help="Probability per POST of HTTP 429.")
@click.option("--retry-after", type=float, default=None, help="Retry-After seconds sent with 429.")
@click.option("--rate-5xx", type=float, default=None, help="Probability per POST of HTTP 500/502/503.")
@click.option("--drop-before", type=float, default=None, help="Probability of closing the connection before accepting.")
@click.option("--drop-after", type=float, default=None, help="Probability of closing the connection after accepting (charged).")
@click.option("--stall", type=float, default=None, help="Probability of accepting, then sending nothing for --stall-seconds.")
@click.option("--stall-seconds", type=float, default=None, help="How long a stall lasts.")
@click.option("--malformed", type=float, default=None, help="Probability of a 200 answer with broken JSON (charged).")
@click.option("--task-error", type=float, default=None, help="Probability per task (per image if async) of inferenceError.")
@click.option("--slow-download", type=float, default=None, help="Probability per image GET of a slow download.")
@click.option("--download-bytes-per-s", type=int, default=None, help="Speed of a slow download.")
@click.option("--expire-download", type=float, default=None, help="Probability per image GET of 410 (as if expired).")
@click.option("--seed", type=int, default=None, help="Seed of the fault dice, for reproducible runs.")
@click.option("--faults", "fault_spec", default="", help='All of the above as text, e.g. "latency=0.5 rate_429=0.1".')
@click.option("-v", "--verbose", is_flag=True, help="Print one line per request.")
def emulator_command(host: str, port: int, api_key: str | None, fault_spec: str, verbose: bool, **options: object) -> None:
    """Serve the offline emulator of Runware's API on loopback until Ctrl-C.

    Its images are synthetic (drawn locally, marked SYNTHETIC); nothing leaves this machine.
    """
    import logging

    from .emulator import Emulator, Faults
    from .emulator.loopback import is_loopback_host

    if not is_loopback_host(host):
        raise click.BadParameter(f"{host!r} is not a loopback address; the emulator only serves on 127.0.0.1, ::1 or localhost",
                                 param_hint="--host")
    try:
        faults = Faults.parse(fault_spec).replace(**{k: v for k, v in options.items() if v is not None})
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        emu = Emulator(host=host, port=port, api_key=api_key, faults=faults).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port") from None
    click.echo(f"qwenlab offline emulator of Runware's API: {emu.url}")
    click.echo("Images are SYNTHETIC (drawn locally, not by Qwen-Image); nothing leaves this machine; costs are emulated.")
    click.echo(f"Key: {'the one given with --api-key' if api_key else 'any non-empty key'}. Faults: {faults.summary()}. Ctrl-C stops.")
    click.echo(f"Use it: RUNWARE_BASE_URL={emu.url} (with any RUNWARE_API_KEY)")
    emu.serve_forever()
    click.echo(f"stopped; emulated charges: {len(emu.ledger)} images, ${emu.ledger.total():.3f}")


# -- sweeps, the log and the demo (qwenlab/runner.py, log.py, demo.py) ---------------------------
@cli.command("run")
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
    from .errors import QwenlabError
    from .lab import Lab
    from .paths import db_path
    from .sweeps.sweepfile import load_sweep

    try:
        spec = load_sweep(sweep_file)
        name = name or spec.name
        if dry_run:
            df = Lab().plan(spec.sweep, name) if db_path().exists() else spec.sweep.plan()
            click.echo(_plan_text(df))
            return
        if concurrency is None:  # 0 is an error to report, not "unset"
            concurrency = spec.concurrency if spec.concurrency is not None else 4
        exp = Lab().run(spec.sweep, name, budget_usd=budget if budget is not None else spec.budget_usd,
                        concurrency=concurrency, progress=not no_progress, extend=extend, notes=spec.notes)
    except QwenlabError as exc:
        experiment = exc.experiment
        raise click.ClickException((f"{experiment.summary()}\n" if experiment is not None else "") + str(exc)) from None
    click.echo(exp.summary())


def _plan_text(df: object) -> str:
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    shown = df.drop(columns=[c for c in ("request_json", "key", "model") if c in df.columns])
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200,
                           "display.max_colwidth", 40):
        table = shown.to_string(index=False)
    first = f"\nrequest of cell 0:\n{df['request_json'].iloc[0]}" if len(df) else ""
    return table + first


@cli.command("logs")
@click.argument("experiment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("-n", "--limit", type=int, default=200, show_default=True, help="Tasks shown for an experiment.")
def logs_command(experiment: str | None, as_json: bool, limit: int) -> None:
    """List experiments, or the tasks of EXPERIMENT. `qwenlab logs path` prints the database path.

    The file is plain SQLite: `datasette data/qwenlab.db` browses it as it is.
    """
    import json as _json

    from .paths import db_path
    from .store.log import Log

    path = db_path()
    if experiment == "path":
        click.echo(str(path))
        return
    if not path.exists():
        if as_json:
            click.echo("[]")
            return
        raise click.ClickException(f"no log yet at {path}; run `qwenlab demo` or `qwenlab run sweep.toml` first")
    log = Log(path)
    if experiment is None:
        df = log.experiments_frame()
        if as_json:
            click.echo(df.to_json(orient="records", indent=2))
            return
        if df.empty:
            click.echo(f"no experiments yet in {path}")
            return
        cols = ["name", "status", "cells", "done", "failed", "pending", "sent", "images", "cost_usd", "budget_usd", "updated_at"]
        click.echo(df[cols].to_string(index=False))
        return
    row = log.experiment(experiment)
    if row is None:
        known = ", ".join(log.experiment_names()) or "none yet"
        raise click.ClickException(f"no experiment named {experiment!r}; known: {known}")
    tasks = log.tasks_frame(int(row["id"])).head(limit)
    if as_json:
        click.echo(_json.dumps({"experiment": row, "tasks": _json.loads(tasks.to_json(orient="records"))}, indent=2,
                               ensure_ascii=False))
        return
    from .lab import Experiment

    exp = Experiment(log, experiment, path.parent)
    click.echo(exp.summary())
    df = exp.df.head(limit)
    columns = ["task_id", "status", *exp.axes, "repeat", "seed", "cost_usd", "attempts", "latency_s", "error_code"]
    table = df[list(dict.fromkeys(columns))].copy()
    for a in exp.axes:
        table[a] = table[a].map(_short)
    click.echo(table.to_string(index=False))


def _short(value: object, limit: int = 28) -> str:
    text = format_value(value, limit=10**6)  # NaN: not sent, shown as "none"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cli.command("demo")
@click.option("--live", is_flag=True, help="Use the real API (RUNWARE_API_KEY; real money) instead of the offline emulator.")
@click.option("--yes", is_flag=True, help="With --live: do not ask before spending.")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Requests in flight at once.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def demo_command(live: bool, yes: bool, concurrency: int, no_progress: bool) -> None:
    """Sweep the model page's four examples (promptExtend x size x negative prompt x 2 repeats)
    against the offline emulator; write the log, the images and comparison grids under data/.

    Running it again sends nothing already done.
    """
    from .demo import demo_sweep, run_demo
    from .errors import QwenlabError
    from .paths import data_dir

    if live and not yes:
        cost = demo_sweep(data_dir() / "demo").estimated_cost
        click.confirm(f"--live sends up to 64 requests to Runware, about ${cost:.2f} of real money. Go on?", abort=True)
    try:
        result = run_demo(live=live, concurrency=concurrency, progress=not no_progress)
    except QwenlabError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.summary())


# -- costs (qwenlab/costs.py) ------------------------------------------------------------------
@cli.command("costs")
@click.option("--by", "by", default="experiment", show_default=True,
              help="experiment, model, size, day, week, month, status, setting, or a sweep axis (promptExtend); "
                   "several with commas: experiment,day.")
@click.option("--since", default=None, help="Only requests from this date on: 2026-03-01, 2026-03-01T12:00, or 7d (the last 7 days).")
@click.option("--until", default=None, help="Only requests before this date.")
@click.option("-e", "--experiment", "experiments", multiple=True, help="Only this experiment (repeat for several).")
@click.option("--kept", "min_score", type=float, default=None,
              help="Show the cost per kept image instead: images whose latest rating is at least this score.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the totals, the rows and the notes.")
def costs_command(by: str, since: str | None, until: str | None, experiments: tuple[str, ...], min_score: float | None,
                  as_json: bool) -> None:
    """What the experiments cost, from the log, grouped --by experiment, day, axis value, ...

    Costs are Runware's own numbers (qwenlab asks includeCost); where none came back, the price
    recorded when the request was sent is used and counted as an estimate. Notes under the table
    say when the API charged another price than the model description's, and what failed
    requests were charged.
    """
    import json as _json

    from .costs.frames import Costs, format_table
    from .errors import ExperimentNotFoundError, UnknownCostKeyError
    from .paths import db_path
    from .store.log import Log

    path = db_path()
    if not path.exists():
        if as_json:
            click.echo(_json.dumps({"log": str(path), "totals": None, "rows": [], "notes": ["no log yet"]}))
            return
        raise click.ClickException(f"no log yet at {path}; run `qwenlab demo` or `qwenlab run sweep.toml` first")
    keys = [k.strip() for k in by.split(",") if k.strip()] or ["experiment"]
    try:
        costs = Costs(Log(path), since=since, until=until, experiments=list(experiments) or None)
        df = costs.per_kept_image(min_score=min_score, by=keys) if min_score is not None else costs.by(keys)
        totals, notes = costs.totals(), costs.notes()
    except UnknownCostKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None
    except ExperimentNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="--experiment") from None
    except ValueError as exc:  # a date that is not one
        raise click.UsageError(str(exc)) from None
    if as_json:
        rows = [{k: present(v) for k, v in r.items()}
                for r in df.reset_index().to_dict(orient="records")]
        click.echo(_json.dumps({"log": str(path), "by": keys, "since": costs.since, "until": costs.until,
                                "min_score": min_score, "totals": totals, "rows": rows, "notes": notes}, indent=2, default=str))
        return
    if min_score is None:  # the columns that matter in a terminal; --json has them all
        df = df[["tasks", "done", "failed", "in_doubt", "pending", "images", "cost_usd", "api_usd", "estimate_usd",
                 "failed_usd", "usd_per_image"]]
        df = df.drop(columns=[c for c in ("in_doubt", "pending", "estimate_usd", "failed_usd") if not df[c].any()])
    click.echo("\n".join(costs.headline(totals)))
    click.echo("")
    click.echo(format_table(df) if len(df) else "(nothing in view)")
    for note in notes:
        click.echo(f"note: {note}")


# -- typography scores (qwenlab/typography/) -----------------------------------------------------
@cli.command("score")
@click.argument("experiment")
@click.option("--engine", default="auto", show_default=True, help="OCR engine: auto, rapidocr or tesseract.")
@click.option("--by", "axes", multiple=True, help="Axis to break the scores down by (repeatable; default: every axis).")
@click.option("--force", is_flag=True, help="Read every image again, even those this engine has read.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per image instead of a summary.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def score_command(experiment: str, engine: str, axes: tuple[str, ...], force: bool, as_json: bool, no_progress: bool) -> None:
    """Read the text in every image of EXPERIMENT (OCR) and score it against the prompt's quoted
    strings: word accuracy, NED, and which strings were misspelled. Images already read are not
    read again. Scores go to the log (tables text_readings, text_scores)."""
    import json as _json

    from .errors import ExperimentNotFoundError, QwenlabError
    from .lab import Lab
    from .typography.analysis import cost_per_correct, describe
    from .typography.scores import score_experiment

    try:
        exp = Lab().experiment(experiment)
        df = score_experiment(exp, engine, force=force, progress=not no_progress and not as_json)
    except ExperimentNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="EXPERIMENT") from None
    except QwenlabError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--engine") from None
    if as_json:
        cols = ["image_id", *exp.axes, "repeat", "seed", "path", *df.columns[df.columns.get_loc("engine"):]]
        for row in df[[c for c in dict.fromkeys(cols) if c in df.columns]].to_dict(orient="records"):
            click.echo(_json.dumps({k: present(v) for k, v in row.items()}, default=str))
        return
    run = df.attrs.get("run")
    if run is not None:
        click.echo(str(run))
    if df.empty:
        click.echo("no scores: no image of this experiment has quoted text in its prompt")
        return
    click.echo(describe(df, None) + "; " + describe(df, None, "ned").removeprefix("all: ") + "; "
               + describe(df, None, "correct").removeprefix("all: "))
    for axis in axes or [a for a in exp.axes if df[a].nunique(dropna=False) > 1]:
        if axis not in df.columns:
            raise click.BadParameter(f"no axis {axis!r}; axes: {', '.join(exp.axes) or 'none'}", param_hint="--by")
        click.echo(describe(df, axis))
        click.echo(describe(df, axis, "correct"))
        for r in cost_per_correct(df, by=axis).itertuples():
            click.echo(f"  {axis} {r.value}: ${r.cost_per_correct:.3f} per correctly rendered image "
                       f"[{r.lo:.3f}, {r.hi:.3f}] ({r.correct}/{r.images} correct)")
    wrong = df[df["correct"] == False]  # noqa: E712 - a pandas mask
    for r in wrong.head(10).itertuples():
        click.echo(f"  image {r.image_id}: {r.summary}")
    if len(wrong) > 10:
        click.echo(f"  ... {len(wrong) - 10} more images with text not read as expected (--json lists all)")


# -- grids and shared reports (qwenlab/grid.py, export.py) -----------------------------------------
def _layout_options(fn):  # type: ignore[no-untyped-def]
    """The options that lay out a grid, shared by `grid` and `export`."""
    options = [
        click.option("--rows", default=None, help="Axis as rows (or 'repeat'). Without --rows/--cols: the first two axes that vary."),
        click.option("--cols", default=None, help="Axis as columns (or 'repeat')."),
        click.option("--page", "pages", multiple=True,
                     help="Axis whose values make separate pages (repeatable). Default: every other axis that varies; "
                          "'none': one page, the other axes side by side in each cell."),
        click.option("--facet", default=None, help="Axis whose values become blocks of rows on each page."),
        click.option("--where", "where", multiple=True, metavar="AXIS=VALUE",
                     help="Keep only this value of an axis (repeatable; a label works: --where promptExtend=on)."),
        click.option("--thumb", type=int, default=256, show_default=True, help="Thumbnail size in pixels (cached on disk)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _layout(pages: tuple[str, ...], where: tuple[str, ...]) -> tuple[object, dict[str, list[str]]]:
    page: object = "auto"
    if pages:
        page = None if [p.lower() for p in pages] == ["none"] else list(pages)
    filters: dict[str, list[str]] = {}
    for item in where:
        axis, sep, value = item.partition("=")
        if not sep or not axis.strip():
            raise click.BadParameter(f"{item!r} is not AXIS=VALUE (e.g. promptExtend=on)", param_hint="--where")
        filters.setdefault(axis.strip(), []).append(value.strip())
    return page, filters


def _open_experiment(name: str) -> object:
    from .paths import data_dir, db_path
    from .store.log import Log

    path = db_path()
    if not path.exists():
        raise click.ClickException(f"no log yet at {path}; run `qwenlab demo` or `qwenlab run sweep.toml` first")
    log = Log(path)
    if log.experiment(name) is None:
        known = ", ".join(log.experiment_names()) or "none yet"
        raise click.ClickException(f"no experiment named {name!r} in {path}; known: {known}")
    from .lab import Experiment

    return Experiment(log, name, data_dir())


@cli.command("grid")
@click.argument("experiment")
@_layout_options
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="File to write: .png (one file per page), .pdf (one page per page), .svg. Default: data/grids/NAME.png")
@click.option("--title", default=None, help="Title (default: the experiment's name).")
@click.option("--cell-size", type=float, default=2.2, show_default=True, help="Height of each image, in inches.")
@click.option("--dpi", type=float, default=120, show_default=True, help="Resolution of PNG output.")
@click.option("--score", type=click.Choice(["word_accuracy", "ned", "sentence_accuracy", "correct"]), default=None,
              help="Frame each image in the colour of its stored text score and print the score in its stamp "
                   "(scores from `qwenlab score NAME`; no OCR runs here).")
@click.option("--sort-by-score", is_flag=True, help="Best text score first within each cell.")
@click.option("--show-reading", is_flag=True, help="Outline the text the OCR read (green exact, orange misread).")
def grid_command(experiment: str, rows: str | None, cols: str | None, pages: tuple[str, ...], facet: str | None,
                 where: tuple[str, ...], thumb: int, output: str | None, title: str | None, cell_size: float, dpi: float,
                 score: str | None, sort_by_score: bool, show_reading: bool) -> None:
    """Write a comparison grid of EXPERIMENT's images: qwenlab grid NAME --rows promptExtend --cols size -o grid.png

    Each image is stamped with its values and the seed the API reported; a failed cell is a
    labelled blank with its error. With --score, each image is framed in its text score's colour.
    """
    from .errors import QwenlabError
    from .figures.grid import save_grid
    from .figures.text import slug
    from .paths import data_dir

    exp = _open_experiment(experiment)
    page, filters = _layout(pages, where)
    target = output or str(data_dir() / "grids" / f"{slug(experiment)}.png")
    try:
        written = save_grid(exp, target, rows=rows, cols=cols, page=page, facet=facet, where=filters or None, thumb=thumb,
                            title=title, cell_size=cell_size, dpi=dpi, score=score, sort_by_score=sort_by_score,
                            show_reading=show_reading)  # type: ignore[arg-type]
    except (QwenlabError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if score or sort_by_score or show_reading:
        from .typography.badges import score_badges

        if not score_badges(exp):
            click.echo(f"note: no text scores stored for {experiment!r}; run `qwenlab score {experiment}` first", err=True)
    for path in written:
        click.echo(str(path))


@cli.command("export")
@click.argument("experiment")
@_layout_options
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="HTML file to write. Default: data/reports/NAME.html")
@click.option("--grid", "grid_mode", type=click.Choice(["image", "table", "none"]), default="image", show_default=True,
              help="The grid as embedded images, as an HTML table of thumbnails, or none.")
@click.option("--title", default=None, help="Title (default: the experiment's name).")
def export_command(experiment: str, rows: str | None, cols: str | None, pages: tuple[str, ...], facet: str | None,
                   where: tuple[str, ...], thumb: int, output: str | None, grid_mode: str, title: str | None) -> None:
    """Write EXPERIMENT as one self-contained HTML file: qwenlab export NAME -o report.html

    The grid, every request (prompt, parameters, seed, cost, latency, error), the costs and the
    ratings, with images embedded as thumbnails; it loads nothing from anywhere.
    """
    from .errors import QwenlabError
    from .html.report import export_html

    exp = _open_experiment(experiment)
    page, filters = _layout(pages, where)
    try:
        path = export_html(exp, output, rows=rows, cols=cols, page=page, facet=facet, where=filters or None,  # type: ignore[arg-type]
                           grid=None if grid_mode == "none" else grid_mode, thumb=thumb, title=title)
    except (QwenlabError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(str(path))


def main() -> None:
    """Entry point of the console script."""
    cli()


if __name__ == "__main__":
    main()
