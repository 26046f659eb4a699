"""`qwenlab logs` and `qwenlab costs`: reading the log. Neither creates anything."""

from __future__ import annotations

import json
from typing import Any

import click

from ..core.terminal import fit_table, table_text, terminal_width
from ..core.values import format_usd_column, present
from ..costs.frames import Costs, date_bound
from ..costs.labels import PER_EXPERIMENT
from ..costs.summary import format_table
from ..errors import ExperimentNotFoundError, UnknownCostKeyError
from ..store.axes import CELL_COLUMNS, axis_column
from ..store.bundle_rows import origin_of
from ..store.catalog import axis_infos
from ..store.experiment import ExperimentRecord, open_experiment
from ..store.log import Log, status_word
from ..store.organize import Organizer
from ..store.provenance import EMULATOR_MEANS
from .common import echo_json, echo_text, existing_log, known_tag, log_or_empty, log_path
from .exits import param_hints

__all__ = ["logs_command", "costs_command"]

_LIST_COLUMNS = ["name", "status", "backend", "cells", "done", "failed", "pending", "in_doubt", "images", "cost_usd",
                 "budget_usd", "updated_at"]
# what the backend column's words mean, printed under a listing that has them
_BACKEND_LEGEND = {"emulator": EMULATOR_MEANS, "unknown": "unknown: logged before qwenlab recorded where each task ran"}
_MIXED_PARTS = {"emulator": "the emulator's cells (synthetic)", "runware": "Runware's cells", "unknown": "cells whose backend was not recorded"}


_IMPORTED_MEANS = ("imported: run in another log and imported from this bundle (`qwenlab logs NAME` says more): its "
                   "money was spent there (`qwenlab costs --no-imported` leaves it out)")


def _bundles(log: Log, df: Any) -> list[str]:
    """The bundle file each imported experiment of a listing came from ("" for one run here)."""
    origins = {int(r["id"]): origin_of(r) for r in log.rows("SELECT id, imported_from FROM experiments "
                                                            "WHERE imported_from IS NOT NULL")}
    return [str(origins[i].get("bundle") or "a bundle") if i in origins else "" for i in df["id"]]


def _imported_line(row: dict[str, Any]) -> str | None:
    """Where an imported experiment came from, in words (None for one run here)."""
    origin = origin_of(row)
    if not origin:
        return None
    when = [f"bundled {origin['bundle_created_at'][:10]}" if origin.get("bundle_created_at") else "",
            f"imported {origin['imported_at'][:10]}" if origin.get("imported_at") else "",
            f"named {origin['name']!r} there" if origin.get("name") and origin["name"] != row.get("name") else ""]
    said = ", ".join(w for w in when if w)
    return f"from {origin.get('bundle') or 'a bundle'}{f' ({said})' if said else ''}: run and paid for in another log"


def _legend(log: Log, df: Any) -> list[str]:
    """What the backend words of a listing mean: "mixed" says which backends each mixed
    experiment holds (Runware beside cells not recorded is no emulator's synthetic image)."""
    shown = set(df["backend"])
    mixes = list(dict.fromkeys(tuple(log.provenance(int(i)).kinds) for i in df.loc[df["backend"] == "mixed", "id"]))
    present = shown | {k for kinds in mixes for k in kinds}
    out = [_BACKEND_LEGEND["emulator"]] if "emulator" in present else []
    out += [f"mixed: {' and '.join(_MIXED_PARTS[k] for k in kinds)} in one experiment" for kinds in mixes]
    return out + ([_BACKEND_LEGEND["unknown"]] if "unknown" in present else [])


@param_hints({ExperimentNotFoundError: "EXPERIMENT"})
@click.command("logs")
@click.argument("experiment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Tasks shown for an experiment.")
@click.option("--tag", default=None, help="Only experiments with this tag (`qwenlab tag NAME TAG`).")
@click.option("--all", "show_all", is_flag=True, help="Archived experiments too (`qwenlab archive NAME`).")
def logs_command(experiment: str | None, as_json: bool, limit: int, tag: str | None, show_all: bool) -> None:
    """List experiments, or the tasks of EXPERIMENT. `qwenlab logs path` prints the database path
    (with --json: {"path": ...}).

    Archived experiments are left out unless --all is given; --tag TAG lists those with that tag.

    The backend column says where each experiment ran: emulator (qwenlab's offline emulator:
    synthetic images, emulated costs), runware, mixed, or unknown (logged before it was recorded).

    A long name or axis label is cut to what the terminal's width leaves it (whole in a file or a
    pipe, and in --json).

    The file is plain SQLite: `datasette data/qwenlab.db` browses it as it is.
    """
    if experiment == "path":
        path = str(log_path())
        if as_json:
            echo_json({"path": path})
        else:
            click.echo(path)
        return
    if experiment is not None:
        show_experiment(open_experiment(experiment), as_json=as_json, limit=limit)
        return
    if as_json and not log_path().exists():
        known_tag(Log(":memory:"), tag)  # refused as with a log: no experiment has it
        click.echo("[]")  # no log: no experiments, for a script that reads the list
        return
    path = existing_log()
    known_tag(Log(path), tag)
    df = Log(path).experiments_frame(tag=tag, archived=show_all)
    if as_json:
        rows = json.loads(df.to_json(orient="records"))
        for row in rows:  # a list, as `qwenlab logs NAME --json` gives it (tags hold no comma: clean_tags)
            row["tags"] = [t for t in (row["tags"] or "").split(",") if t]
        echo_json(rows)
    elif df.empty:
        hidden = 0 if show_all else len(Log(path).experiments_frame(tag=tag, archived=True))
        found = f"no experiments with tag {tag!r}" if tag else "no experiments"
        click.echo(f"{found} in {path}" + (f" but {hidden} archived (--all shows them)" if hidden else ""))
    else:
        # tags, the day archived and the bundle imported from only when there are any: a listing
        # stays narrow without them
        df["archived"] = [str(at)[:10] if isinstance(at, str) else "" for at in df["archived_at"]]
        df["imported"] = _bundles(Log(path), df)
        extra = [c for c in ("tags", "archived", "imported") if df[c].any()]
        df["backend"] = df["backend"].fillna("").replace("", "-")  # nothing sent yet: no backend, said
        # no budget set: '-', not pandas' NaN (or None when no experiment has one)
        df["budget_usd"] = format_usd_column(df["budget_usd"], missing="-")
        df["cost_usd"] = format_usd_column(df["cost_usd"])  # dollars as every view writes them
        table = df[[*_LIST_COLUMNS[:2], *extra, *_LIST_COLUMNS[2:]]]
        # a long name (or tags, a bundle's path) takes what the terminal's width leaves; whole in a file or a pipe
        table = fit_table(table, ["name", "tags", "imported"], terminal_width(), index=False)
        echo_text(table_text(table, index=False))  # tags: the user's text
        click.echo("\n".join(_legend(Log(path), df) + ([_IMPORTED_MEANS] if df["imported"].any() else [])))


def show_experiment(exp: ExperimentRecord, *, as_json: bool, limit: int) -> None:
    """Print one experiment: its row and first `limit` tasks as JSON, or its summary and a table."""
    if as_json:
        # one moment of the log: a run writing meanwhile (a kernel beside the shell) could finish a
        # task between the reads, which then listed it in doubt with the image of its finish
        with exp.log.snapshot():
            row, tags = exp.row, Organizer(exp.log, exp.data_dir).tags(exp.id)
            tasks = json.loads(exp.log.tasks_frame(exp.id, limit=limit).to_json(orient="records"))
            # each task's images (their paths and the seeds the API reported: a task's own `seed` is
            # the one sent, none when the API drew it), and how many tasks there are where -n cut the list
            images: dict[int, list[dict[str, Any]]] = {}
            for img in exp.log.images(exp.id, task_ids=[int(t["id"]) for t in tasks]):
                images.setdefault(int(img["task_id"]), []).append(
                    {k: img.get(k) for k in ("id", "image_uuid", "path", "seed", "cost_usd", "width", "height", "sha256")})
            total = sum(exp.log.task_counts(exp.id).values())
        for t in tasks:
            t["images"] = images.get(int(t["id"]), [])
            t["status"] = status_word(t["status"])
        echo_json({"experiment": row, "tags": tags, "tasks_total": total, "tasks": tasks})
        return
    click.echo(exp.summary())  # says SYNTHETIC / MIXED / not recorded under its first line
    tags = Organizer(exp.log, exp.data_dir).tags(exp.id)
    for label, text in (("tags", ", ".join(tags)), ("note", exp.row.get("notes")),
                        ("archived", exp.row.get("archived_at")), ("imported", _imported_line(exp.row))):
        if text:
            echo_text(f"  {label}: {text}")
    mixed = exp.provenance.mixed
    cells = exp.cells(limit)
    # an axis an older log keeps under one of the frame's own names (a bundle axis "status") is its
    # column "axis:status" there, as the cost keys spell it, beside the task's status
    named = {a: axis_column(a, CELL_COLUMNS) for a in exp.axes}
    columns = ["task_id", "status", *(["backend"] if mixed else []), *named.values(), "repeat", "seed", "cost_usd",
               "attempts", "latency_s", "error_code"]
    table = cells[list(dict.fromkeys(columns))].copy()
    if mixed:
        table["backend"] = table["backend"].fillna("unknown")
    infos = axis_infos(exp)  # each value as the grid and the report label it: on/off, a dict's keys, distinct texts
    for axis, column in named.items():
        table[column] = table[column].map(infos[axis].label)
    # a seed is an integer: a column with cells not sent yet (no seed) would print 1091228623.0
    table["seed"] = table["seed"].astype("Int64")
    # what a task does not have (no error; a failed one's seed and cost): '-', not None, <NA> or NaN
    # latency as before, 4 decimals (NaN != NaN: a task never answered has none)
    table["latency_s"] = table["latency_s"].map(lambda s: f"{s:.4f}" if s is not None and s == s else None)
    table["cost_usd"] = format_usd_column(table["cost_usd"], missing="-")  # dollars as every view writes them
    for column in ("seed", "latency_s", "error_code"):
        table[column] = table[column].astype(object).where(table[column].notna(), "-")
    # the axes' labels (a long one, a CJK one two columns a character) take what the terminal's
    # width leaves; whole in a file or a pipe
    table = fit_table(table, list(named.values()), terminal_width(), index=False)
    click.echo(table_text(table, index=False) if len(table) else "(no tasks logged yet)")


def _date_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--since / --until checked as the option they are (click names it), before the log is read."""
    try:
        date_bound(value, "")
    except ValueError as exc:  # not a date, or one too far back: the library says which ("': ..." without a name)
        raise click.BadParameter(str(exc).removeprefix(": ")) from None
    return value


@param_hints({UnknownCostKeyError: "--by", ExperimentNotFoundError: "--experiment"})
@click.command("costs")
@click.option("--by", "by", default=None, show_default="experiment",
              help="experiment, model, size, day, week, month, year, status, setting, backend, or a sweep axis (promptExtend); "
                   "several with commas: experiment,day. An axis named as a period: axis:year, and the period: period:year; "
                   "as a built-in key: axis:status, and the built-in: builtin:status.")
@click.option("--since", default=None, callback=_date_option,
              help="Only requests from this date on: 2026-03-01, 2026-03-01T12:00, a month 2026-03 or a year 2026 "
                   "(from its first day), 7d (today and the 7 days before, UTC), 2w or 12h.")
@click.option("--until", default=None, callback=_date_option,
              help="Only requests before this date or time (--until 2026-03-05: up to March 4); a month 2026-03 "
                   "or a year 2026 is taken whole (--since 2026-03 --until 2026-03: March).")
@click.option("-e", "--experiment", "experiments", multiple=True, help="Only this experiment (repeat for several).")
@click.option("--tag", default=None, help="Only the experiments with this tag (`qwenlab tag NAME TAG`), archived ones included.")
@click.option("--kept", "min_score", type=click.FloatRange(1, 5), default=None,
              help="Show the cost per kept image instead: images whose latest rating is at least this score (1-5).")
@click.option("--imported/--no-imported", default=True, show_default=True,
              help="Count the experiments imported from bundles, whose money was spent in another log.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the totals (imported_usd: the part spent in other logs, "
                                                             "by experiments imported from bundles), the rows and the notes.")
def costs_command(by: str | None, since: str | None, until: str | None, experiments: tuple[str, ...], tag: str | None,
                  min_score: float | None, imported: bool, as_json: bool) -> None:
    """What the experiments cost, from the log, grouped --by experiment, day, axis value, ...

    Costs are Runware's own numbers (qwenlab asks includeCost); where none came back, the price
    recorded when the request was sent is used and counted as an estimate. What qwenlab's offline
    emulator reported is emulated money (nothing paid), shown apart as emulated_usd; --by backend
    separates emulator, runware and unknown (logged before it was recorded). Notes under the table
    say when the API charged another price than the model description's, and what failed
    requests were charged. A long name or axis label is cut to what the terminal's width leaves
    it (whole in a file or a pipe, and in --json).
    """
    # no key typed: the built-in experiment, never refused as ambiguous where an axis is named
    # "experiment" (a default the user did not type); typed, "experiment" is asked of them
    typed = [k.strip() for k in (by or "").split(",") if k.strip()]
    keys = typed or [PER_EXPERIMENT]
    # no log yet: --json answers as an empty log would (zero totals, no rows, exit 0), its options
    # checked as they are with a log
    path, log, no_log = log_or_empty(as_json, experiments)
    names = list(experiments) or None
    if tag is not None:
        known_tag(log, tag)
        tagged = log.experiments_frame(tag=tag, archived=True)["name"].tolist()
        names = [n for n in names if n in tagged] if names else tagged
        if not names:  # -e and --tag that share no experiment: the sum of nothing would read as "$0 spent"
            raise click.BadParameter(f"none of {', '.join(map(repr, experiments))} has the tag {tag!r} (tagged: "
                                     f"{', '.join(tagged)})", param_hint="'--tag'")
    # --until not after --since raises ValueError saying so: exit 2 like every bad value
    costs = Costs(log, since=since, until=until, experiments=names, imported=imported)
    df = costs.per_kept_image(min_score=min_score, by=keys) if min_score is not None else costs.by(keys)
    per_experiment = df if keys in ([PER_EXPERIMENT], ["experiment"]) and min_score is None else None  # the headline needs no second query
    totals = costs.totals()
    notes = costs.notes(totals)
    if left_out := costs.uncovered(df, totals):
        notes.insert(0, left_out)
    if min_score is not None and (coverage := df.attrs.get("coverage_note")):
        notes.insert(0, coverage)
    if no_log:
        notes.insert(0, "no log yet")
    if as_json:
        # an axis's values as values (promptExtend true/false), where the table shows their labels
        rows = [{k: present(v) for k, v in r.items()} for r in costs.with_values(df).to_dict(orient="records")]
        # the part of cost_usd spent in other logs, as a number: the notes say it only in words
        totals = {**totals, "imported_usd": round(float(sum(costs.imported_spend().values())), 6)}
        echo_json({"log": str(path), "by": typed or ["experiment"], "since": costs.since, "until": costs.until,
                   "min_score": min_score, "totals": totals, "rows": rows, "notes": notes})
        return
    if min_score is None:  # the columns that matter in a terminal; --json has them all
        df = df[["tasks", "done", "failed", "in_doubt", "pending", "images", "cost_usd", "api_usd", "emulated_usd",
                 "estimate_usd", "failed_usd", "usd_per_image"]]
        quiet = ["in_doubt", "pending", "emulated_usd", "estimate_usd", "failed_usd"]
        if totals["emulated_usd"]:  # only emulated money: no column of zeros "reported by the API"
            quiet.append("api_usd")
        df = df.drop(columns=[c for c in quiet if not df[c].any()])
    click.echo("\n".join(costs.headline(totals, per_experiment)))
    click.echo("")
    # the row labels (experiments' names, an axis's labels) take what the terminal's width leaves
    click.echo(format_table(df, width=terminal_width()) if len(df) else "(nothing in view)")
    for note in notes:
        click.echo(f"note: {note}")
