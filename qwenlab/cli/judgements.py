"""`qwenlab judgements`: the win rates of an experiment's blind judgements, per criterion; of
several experiments, those of their comparison (the experiment an axis), as `lab.compare` finds them."""

from __future__ import annotations

from typing import Any

import click

from ..analysis.judging import TIES, check_criterion, win_rates
from ..core.values import present
from ..errors import ComparisonError, ExperimentNotFoundError, JudgementError
from ..store.comparison import EXPERIMENT, ComparisonRecord, open_comparison
from ..store.experiment import ExperimentRecord, open_experiment
from .common import echo_json
from .exits import param_hints

__all__ = ["judgements_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENT", ComparisonError: "EXPERIMENT", JudgementError: "--axis/--criterion"})
@click.command("judgements")
@click.argument("experiment", nargs=-1, required=True)
@click.option("--axis", "axes", multiple=True, help="Axis judged (repeatable; default: every axis with judgements).")
@click.option("--criterion", default=None, help='Only this criterion ("overall", "text correct", ...); default: each apart.')
@click.option("--ties", type=click.Choice(TIES), default="half", show_default=True,
              help="A tie counts as half a win, or is left out.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document: a list of one object per axis, criterion and value (the value as the "
                   "sweep gives it: true/false, not on/off; [] for no judgements).")
def judgements_command(experiment: tuple[str, ...], axes: tuple[str, ...], criterion: str | None, ties: str,
                       as_json: bool) -> None:
    """The win rates of EXPERIMENT's blind judgements (made with exp.judge in a notebook), per
    axis and criterion, each with its 95% Wilson interval.

    Several experiments: those of their comparison, the experiment an axis (judged with
    lab.compare(A, B).judge("experiment"): qwenlab judgements A B --axis experiment).
    """
    # judgements across runs belong to no one experiment: only their comparison finds them
    exp = open_experiment(experiment[0]) if len(experiment) == 1 else open_comparison(experiment)
    # bad input is refused before anything is printed: the error is the whole answer
    unknown = [a for a in axes if a not in exp.axes]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not an axis of {exp.name!r}; its axes: {', '.join(exp.axes) or 'none'}",
                                 param_hint="'--axis'")
    if criterion is not None:
        try:
            criterion = check_criterion(criterion)
        except JudgementError as exc:
            raise click.BadParameter(str(exc), param_hint="'--criterion'") from None
    judged = list(dict.fromkeys(j["axis"] for j in exp.log.judgements(exp.id)))
    if (axes or judged) and not as_json and (where := exp.provenance.headline()):
        click.echo(where)  # judgements of synthetic images must not be quoted as Runware's
    rows: list[dict[str, Any]] = []  # --json: one document, as every --json prints ([] when nothing is judged, not nothing)
    # --axis size --axis size printed its rates twice, and --json listed its rows twice (a sum counted them twice)
    for axis in dict.fromkeys(axes) or judged:
        frame = win_rates(exp, axis, criterion=criterion, ties=ties)
        if as_json:
            # each value as the sweep gives it (promptExtend true/false, as `costs --json` does), where
            # the sentences say its label (on/off): a script matches the rows against the sweep
            rows += [{k: present(value if k == "value" else v) for k, v in row.items()}
                     for row, value in zip(frame.to_dict(orient="records"), frame.attrs["values"])]
        else:
            click.echo("\n".join(frame.attrs["sentences"]))
    if as_json:
        echo_json(rows)
    if not (axes or judged) and not as_json:
        opened = (f"compare({', '.join(map(repr, exp.names))})" if isinstance(exp, ComparisonRecord)
                  else f"experiment({exp.name!r})")
        if not exp.axes:  # judge("AXIS") was suggested, which the notebook then refused: there is none
            click.echo(f"no judgements of {exp.name!r}: it has no axis to judge (one setting, no sweep axis); judging "
                       "compares two values of an axis, e.g. a sweep with axes={'promptExtend': [True, False]}")
            return
        click.echo(f"no judgements of {exp.name!r} yet; judge in a notebook: "
                   f"Lab().{opened}.judge(\"{_axis_to_judge(exp)}\")")


def _axis_to_judge(exp: ExperimentRecord) -> str:
    """The axis a first judging would most likely compare: promptExtend, else a parameter's axis
    (a pair differing in one setting), else any; the prompt axis last, its pairs are two posters."""
    axes = list(exp.axes)
    if isinstance(exp, ComparisonRecord):
        return EXPERIMENT  # what a comparison is opened for: the runs against each other
    kinds = {a: (exp.sweep.get("axes", {}).get(a) or {}).get("kind", "param") for a in axes}
    for wanted in (lambda a: a == "promptExtend", lambda a: kinds[a] in ("param", "size", "model"), lambda a: True):
        for axis in axes:
            if wanted(axis):
                return axis
    return "AXIS"
