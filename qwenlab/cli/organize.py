"""`qwenlab tag`, `untag`, `note`, `rename`, `archive`, `unarchive`, `delete`: keeping experiments in order."""

from __future__ import annotations

import click

from ..core.values import count_of, format_usd
from ..errors import ExperimentConflictError, ExperimentNotFoundError
from ..store.experiment import ExperimentRecord, open_experiment
from ..store.organize import Organizer
from .common import echo_text
from .exits import param_hints

__all__ = ["tag_command", "untag_command", "note_command", "rename_command", "archive_command", "unarchive_command",
           "delete_command"]

_HINTS = {ExperimentNotFoundError: "EXPERIMENT"}


def _open(name: str) -> tuple[ExperimentRecord, Organizer]:
    exp = open_experiment(name)
    return exp, Organizer(exp.log, exp.data_dir)


@param_hints({**_HINTS, ValueError: "TAGS"})
@click.command("tag")
@click.argument("experiment")
@click.argument("tags", nargs=-1, required=True)
def tag_command(experiment: str, tags: tuple[str, ...]) -> None:
    """Add TAGS to EXPERIMENT: qwenlab tag NAME posters lumiere.

    List the tagged ones with `qwenlab logs --tag posters`, search them with `qwenlab search --tag posters`.
    """
    exp, org = _open(experiment)
    echo_text(f"{exp.name}: {', '.join(org.tag(exp.id, *tags))}")


@param_hints({**_HINTS, ValueError: "TAGS"})
@click.command("untag")
@click.argument("experiment")
@click.argument("tags", nargs=-1, required=True)
def untag_command(experiment: str, tags: tuple[str, ...]) -> None:
    """Remove TAGS from EXPERIMENT."""
    exp, org = _open(experiment)
    had = org.tags(exp.id)
    left = org.untag(exp.id, *tags)
    # a typo ('poster' for 'posters') removed nothing and printed the tags as if it had
    missing = [t.strip() for t in tags if t.strip() not in had]
    if missing:
        echo_text(f"{exp.name} has no tag {', '.join(map(repr, missing))}: nothing removed for "
                  f"{'it' if len(missing) == 1 else 'them'}", err=True)
    echo_text(f"{exp.name}: {', '.join(left) or '(no tags)'}")  # an older log's tag may hold the key


@param_hints(_HINTS)
@click.command("note")
@click.argument("experiment")
@click.argument("text", required=False)
@click.option("--clear", is_flag=True, help="Remove the note.")
def note_command(experiment: str, text: str | None, clear: bool) -> None:
    """Set EXPERIMENT's note (shown by `qwenlab logs EXPERIMENT [--json]`); without TEXT, print it."""
    if clear and text is not None:  # which was meant? neither is done
        raise click.UsageError("give TEXT to set the note, or --clear to remove it, not both")
    exp, org = _open(experiment)
    if clear:
        org.note(exp.id, None)
        click.echo(f"{exp.name}: note removed")
    elif text is not None:
        if not text.strip():  # `qwenlab note NAME ""` stored an empty note, which listings show as one
            raise click.BadParameter("is empty; give the note's text, or --clear to remove the note", param_hint="'TEXT'")
        org.note(exp.id, text)
        click.echo(f"{exp.name}: note set ({len(text)} characters; `qwenlab note {exp.name}` prints it)")
    else:
        echo_text(exp.row.get("notes") or "(no note)")


@param_hints({**_HINTS, ExperimentConflictError: "NEW_NAME", ValueError: "NEW_NAME"})
@click.command("rename")
@click.argument("experiment")
@click.argument("new_name")
def rename_command(experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT to NEW_NAME; its tasks, images, ratings, judgements and scores stay attached."""
    exp, org = _open(experiment)
    org.rename(exp.id, new_name)
    if new_name.strip() == exp.name:  # said as it is: "renamed 'a' to 'a'" changed nothing
        click.echo(f"{exp.name!r} is named so already: nothing to do")
        return
    click.echo(f"renamed {experiment!r} to {new_name.strip()!r}")


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("archive")
@click.argument("experiments", nargs=-1, required=True)
def archive_command(experiments: tuple[str, ...]) -> None:
    """Archive EXPERIMENTS: out of `qwenlab logs` (`qwenlab logs --all` shows them), nothing removed."""
    _set_archived(experiments, True)


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("unarchive")
@click.argument("experiments", nargs=-1, required=True)
def unarchive_command(experiments: tuple[str, ...]) -> None:
    """Bring archived EXPERIMENTS back into the listings."""
    _set_archived(experiments, False)


def _set_archived(names: tuple[str, ...], archived: bool) -> None:
    opened = [_open(name) for name in names]  # every name checked before any is changed
    for name, (exp, org) in zip(names, opened):
        if bool(exp.row.get("archived_at")) == archived:  # said as it is: "unarchived" once answered one never archived
            click.echo(f"{name!r} is archived already" if archived else f"{name!r} is not archived: nothing to do")
            continue
        org.archive(exp.id, archived=archived)
        click.echo(f"archived {name!r} (`qwenlab unarchive {name}` brings it back)" if archived else f"unarchived {name!r}")


@param_hints(_HINTS)
@click.command("delete")
@click.argument("experiment")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (for scripts).")
@click.option("--force", is_flag=True, help="Delete an experiment left 'running' by a run whose process died.")
def delete_command(experiment: str, yes: bool, force: bool) -> None:
    """Delete EXPERIMENT: its rows and the image files no other experiment uses, after asking.

    What it spent stays in `qwenlab costs`, as "(deleted) NAME", so cost totals do not change.
    Ratings, judgements, text scores, tags and cached thumbnails of its images go with it.
    Without --yes it asks; with no answer (no stdin) nothing is deleted.
    """
    exp, org = _open(experiment)
    if not yes:
        counts = exp.counts()
        question = (f"Delete {experiment!r}: {count_of(counts['cells'], 'cell')}, {count_of(counts['images'], 'image')} "
                    "and their ratings and "
                    f"scores? Its spend ({format_usd(exp.cost)}) stays in the cost history.")
        click.confirm(question, default=False, abort=True)  # no (or no stdin): click.Abort, exit 1, nothing deleted
    click.echo(str(org.delete(exp.id, confirm=True, force=force)))
