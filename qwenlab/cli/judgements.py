"""`qwenlab judgements`: the win rates of an experiment's blind judgements, per criterion."""

from __future__ import annotations

import json

import click

from ..analysis.judging import TIES, win_rates
from ..core.values import present
from ..errors import ExperimentNotFoundError, JudgementError
from ..store.experiment import open_experiment
from .exits import param_hints

__all__ = ["judgements_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENT", JudgementError: "--axis/--criterion"})
@click.command("judgements")
@click.argument("experiment")
@click.option("--axis", "axes", multiple=True, help="Axis judged (repeatable; default: every axis with judgements).")
@click.option("--criterion", default=None, help='Only this criterion ("overall", "text correct", ...); default: each apart.')
@click.option("--ties", type=click.Choice(TIES), default="half", show_default=True,
              help="A tie counts as half a win, or is left out.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per criterion and value.")
def judgements_command(experiment: str, axes: tuple[str, ...], criterion: str | None, ties: str, as_json: bool) -> None:
    """The win rates of EXPERIMENT's blind judgements (made with exp.judge in a notebook), per
    axis and criterion, each with its 95% Wilson interval."""
    exp = open_experiment(experiment)
    judged = list(dict.fromkeys(j["axis"] for j in exp.log.judgements(exp.id)))
    if (axes or judged) and not as_json and (where := exp.provenance.headline()):
        click.echo(where)  # judgements of synthetic images must not be quoted as Runware's
    for axis in axes or judged:
        frame = win_rates(exp, axis, criterion=criterion, ties=ties)
        if as_json:
            for row in frame.to_dict(orient="records"):
                click.echo(json.dumps({k: present(v) for k, v in row.items()}, default=str))
        else:
            click.echo("\n".join(frame.attrs["sentences"]))
    if not (axes or judged) and not as_json:
        click.echo(f"no judgements of {exp.name!r} yet; judge in a notebook: "
                   f"Lab().experiment({exp.name!r}).judge(\"{next(iter(exp.axes), 'AXIS')}\")")
