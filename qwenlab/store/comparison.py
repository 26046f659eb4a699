"""Several experiments read as one, with the experiment as an axis: what `lab.compare(...)` gives.

    cmp = lab.compare("lumiere-extend", "lumiere-v2")
    cmp.axes                                   # {"experiment": [...], "promptExtend": [...], "size": [...]}
    cmp.df, cmp.images                         # the members' rows, with an "experiment" column
    Catalog.load(cmp)                          # every view that takes an experiment takes a comparison

A `ComparisonRecord` quacks like an `ExperimentRecord`: its `log` is a `ComparisonLog`, which
answers the per-experiment queries the views make (`tasks`, `images`, `ratings`, `judgements`,
`spent`, ...) for the comparison's own id with the members' rows, and every other query as the
log does. Each task's `cell_json` gains the axis `experiment` (the member's name), and an axis
that only some members have is filled for the others from what their requests sent (`size`
from width x height, a parameter from the request, the prompt, the model) or, where the
request cannot say (a request, bundle or search/replace axis), with `ABSENT` ("-").

The comparison is read-only: nothing runs or extends it. Two things are written through it,
both about images that exist anyway: ratings (of one image) and blind judgements. A judgement
of two images of one member is stored as that experiment's (it is one: the pair differs in the
judged axis only); a judgement across members (axis "experiment") is stored with
`experiment_id` NULL and axis "experiment". Image ids say which experiment each side came
from, so any later comparison of those experiments finds it again (and does not ask twice).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..core.values import count_of, format_value, label_list, same_value
from ..errors import ComparisonError, ExperimentNotFoundError
from .axes import ABSENT, joined_axis_specs, value_from_task
from .experiment import ExperimentRecord, open_experiment
from .log import Log
from .provenance import Provenance
from .ratings import DEFAULT_CRITERION, JUDGEMENT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ComparisonRecord", "ComparisonLog", "open_comparison", "EXPERIMENT", "ABSENT", "COMPARISON_ID"]

EXPERIMENT = "experiment"  # the axis that names the member experiment
COMPARISON_ID = -1         # the comparison's id in its own log (no experiment row has a negative id)
# statuses from "still going" to "finished": the comparison shows its least finished member's
_STATUS_ORDER = ("running", "interrupted", "failed", "budget", "planned", "done")


class ComparisonLog:
    """The log as a comparison sees it: the comparison's id stands for all its members; any
    other id, and every other query, is the log's own."""

    def __init__(self, log: Log, members: list[ExperimentRecord], axes: dict[str, dict[str, Any]]) -> None:
        self.log = log
        self.members = members
        self.axes = axes  # the comparison's axis specs (kind first), to fill an axis a member lacks
        self.ids = [m.id for m in members]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.log, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            # A Log method this class does not answer for the comparison would read id -1 as an
            # empty experiment: say so instead of returning nothing.
            if COMPARISON_ID in args[:1] or kwargs.get("experiment_id") == COMPARISON_ID:
                raise ComparisonError(f"{name}() is not available on a comparison of experiments; "
                                      "call it on one member (lab.experiment(NAME)) instead")
            return attr(*args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"ComparisonLog({self.log!r}, experiments={[m.name for m in self.members]!r})"

    def scope(self, experiment_id: int | None) -> list[int]:
        """The experiment ids an id stands for: the members for the comparison's own."""
        return list(self.ids) if experiment_id == COMPARISON_ID else self.log.scope(experiment_id)

    def tasks(self, experiment_id: int, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The members' tasks (in member order; the first `limit` when given), each cell with its
        `experiment` and every axis."""
        if experiment_id != COMPARISON_ID:
            return self.log.tasks(experiment_id, limit=limit)
        out: list[dict[str, Any]] = []
        for member in self.members:
            for t in self.log.tasks(member.id):
                cell = json.loads(t.get("cell_json") or "{}")
                filled = {EXPERIMENT: member.name}
                for axis, spec in self.axes.items():
                    if axis != EXPERIMENT:
                        filled[axis] = cell[axis] if axis in cell else value_from_task(spec.get("kind", "param"), axis, t)
                filled.update({k: v for k, v in cell.items() if k not in filled})  # repeat, as the cell has it
                out.append({**t, "cell_json": json.dumps(filled, ensure_ascii=False), EXPERIMENT: member.name})
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def task_counts(self, experiment_id: int) -> dict[str, int]:
        if experiment_id != COMPARISON_ID:
            return self.log.task_counts(experiment_id)
        counts: dict[str, int] = {}
        for i in self.ids:
            for status, n in self.log.task_counts(i).items():
                counts[status] = counts.get(status, 0) + n
        return counts

    def image_count(self, experiment_id: int) -> int:
        if experiment_id != COMPARISON_ID:
            return self.log.image_count(experiment_id)
        return sum(self.log.image_count(i) for i in self.ids)

    def images(self, experiment_id: int, *, task_ids: list[int] | None = None) -> list[dict[str, Any]]:
        if experiment_id != COMPARISON_ID:
            return self.log.images(experiment_id, task_ids=task_ids)
        return [row for i in self.ids for row in self.log.images(i, task_ids=task_ids)]

    def ratings(self, experiment_id: int) -> list[dict[str, Any]]:
        return self._each(experiment_id, self.log.ratings)

    def latest_ratings(self, experiment_id: int) -> dict[int, dict[str, Any]]:
        if experiment_id != COMPARISON_ID:
            return self.log.latest_ratings(experiment_id)
        return {k: v for i in self.ids for k, v in self.log.latest_ratings(i).items()}  # image ids are the log's own

    def spent(self, experiment_id: int) -> float:
        if experiment_id != COMPARISON_ID:
            return self.log.spent(experiment_id)
        return sum(self.log.spent(i) for i in self.ids)

    def provenance(self, experiment_id: int) -> Provenance:
        if experiment_id != COMPARISON_ID:
            return self.log.provenance(experiment_id)
        return Provenance.of_tasks(self.tasks(experiment_id))

    def tasks_frame(self, experiment_id: int | None = None, *, limit: int | None = None) -> "pd.DataFrame":
        if experiment_id != COMPARISON_ID:
            return self.log.tasks_frame(experiment_id, limit=limit)
        frame = self._frame(experiment_id, self.log.tasks_frame)
        return frame if limit is None else frame.head(limit)

    def images_frame(self, experiment_id: int | None = None) -> "pd.DataFrame":
        return self._frame(experiment_id, self.log.images_frame)

    def judge(self, experiment_id: int, axis: str, image_a: int, image_b: int, winner: str,
              criterion: str = DEFAULT_CRITERION) -> int:
        """Record a judgement: as the experiment's when both images are of one member, else
        (axis "experiment") with no experiment, the images saying where each came from."""
        if experiment_id != COMPARISON_ID:
            return self.log.judge(experiment_id, axis, image_a, image_b, winner, criterion)
        marks = ", ".join("?" for _ in self.ids)
        owners = {r["experiment_id"] for r in self.log.rows(
            f"SELECT experiment_id FROM images WHERE id IN (?, ?) AND experiment_id IN ({marks})",
            [image_a, image_b, *self.ids])}
        owner = owners.pop() if len(owners) == 1 else None
        return self.log.judge(owner, axis, image_a, image_b, winner, criterion)  # type: ignore[arg-type]

    def judgements(self, experiment_id: int, axis: str | None = None, criterion: str | None = None) -> list[dict[str, Any]]:
        """The judgements between images of the members (of one axis and criterion, or all),
        oldest first: the members' own and those made across them."""
        if experiment_id != COMPARISON_ID:
            return self.log.judgements(experiment_id, axis, criterion)
        marks = ", ".join("?" for _ in self.ids)
        sql = (f"SELECT {JUDGEMENT_COLUMNS} FROM judgements j JOIN images a ON a.id = j.image_a "
               "JOIN images b ON b.id = j.image_b "
               f"WHERE a.experiment_id IN ({marks}) AND b.experiment_id IN ({marks}) "
               f"AND (j.experiment_id IS NULL OR j.experiment_id IN ({marks}))")
        params: list[Any] = [*self.ids, *self.ids, *self.ids]
        if axis is not None:
            sql += " AND j.axis = ?"
            params.append(axis)
        if criterion is not None:
            sql += f" AND coalesce(j.criterion, '{DEFAULT_CRITERION}') = ?"
            params.append(criterion)
        return self.log.rows(sql + " ORDER BY j.id", params)

    def _each(self, experiment_id: int, query: Any) -> list[dict[str, Any]]:
        if experiment_id != COMPARISON_ID:
            return query(experiment_id)
        return [row for i in self.ids for row in query(i)]

    def _frame(self, experiment_id: int | None, query: Any) -> "pd.DataFrame":
        if experiment_id != COMPARISON_ID:
            return query(experiment_id)
        import pandas as pd

        return pd.concat([query(i) for i in self.ids], ignore_index=True)


class ComparisonRecord(ExperimentRecord):
    """Experiments of one log read as one, `experiment` their first axis (see the module
    docstring). Everything an `ExperimentRecord` offers (`.df`, `.images`, `.cost`, `.counts()`,
    `.summary()`, `.provenance`) covers every member; `.experiments` are the members.

    Raises ExperimentNotFoundError for a name the log does not know, and ComparisonError for
    fewer than two distinct experiments or one with an axis named "experiment"."""

    def __init__(self, log: Log, names: Iterable[str], data_dir: str | Path) -> None:
        given = list(names)
        names = list(dict.fromkeys(given))
        if len(names) < 2:
            known = ", ".join(log.experiment_names()) or "none yet"
            got = f"{names[0]!r} {len(given)} times" if len(given) > 1 else repr(given)  # not "got ['a']" for ('a', 'a')
            raise ComparisonError(f"compare takes two or more different experiment names, got {got}; "
                                  f"e.g. lab.compare('a', 'b') (`qwenlab compare a b`); known: {known}")
        members = [ExperimentRecord(log, n, data_dir) for n in names]
        for m in members:
            if EXPERIMENT in m.axes:
                raise ComparisonError(
                    f"experiment {m.name!r} has an axis named {EXPERIMENT!r}, the axis a comparison adds; "
                    "compare it with .where()/filters inside the experiment instead")
        self.experiments = members
        self._specs = _merged_axes(members)
        self._filled = False  # the values filled in for members without an axis are in _specs
        self.name = " vs ".join(names)
        self.data_dir = Path(data_dir)
        self.log = ComparisonLog(log, members, self._specs)  # type: ignore[assignment]

    @property
    def names(self) -> list[str]:
        """The compared experiments' names, in the order given."""
        return [m.name for m in self.experiments]

    def members_named(self, experiments: Any, param: str = "experiments") -> list[str]:
        """Some of the compared experiments, by name: one name, or a list (a pandas column) of
        them; None gives every one. Anything else is refused naming `param`, the value and the
        compared experiments: TypeError for what is not names, ExperimentNotFoundError for a name
        the log does not know, ComparisonError for one of the log's not compared here, or none."""
        if experiments is None:
            return self.names
        choices = ", ".join(map(repr, self.names))
        given = [experiments] if isinstance(experiments, str) else experiments
        if isinstance(given, (bytes, dict)) or not isinstance(given, Iterable):  # a dict would give its keys
            raise TypeError(f"{param}: one name or a list of names of the compared experiments ({choices}), "
                            f"not {type(experiments).__name__} {experiments!r}")
        names = list(given)
        if wrong := [n for n in names if not isinstance(n, str)]:
            raise TypeError(f"{param}: experiment names are text, not {type(wrong[0]).__name__} {wrong[0]!r}; "
                            f"the compared experiments are {choices}")
        if not names:  # read as "no filter", it would be every experiment's spend
            raise ComparisonError(f"{param}: no experiment named (an empty list); give one or more of {choices}, "
                                  "or leave it out for all of them")
        known = set(self.log.log.experiment_names())
        if unknown := [n for n in names if n not in known]:
            raise ExperimentNotFoundError(f"{param}: no experiment named {', '.join(map(repr, unknown))} in the log; "
                                          f"the compared experiments are {choices}")
        if outside := [n for n in names if n not in self.names]:
            raise ComparisonError(f"{param}: {', '.join(map(repr, outside))} {'is' if len(outside) == 1 else 'are'} not "
                                  f"in this comparison ({self.name}); choose among {choices}, or compare "
                                  f"{'it' if len(outside) == 1 else 'them'} too")
        return list(dict.fromkeys(names))

    @property
    def sending(self) -> frozenset[int]:
        """The members whose run is still sending (`ExperimentRecord.sending`): a finished member's
        task left sent is in doubt, whatever another member's run does."""
        return frozenset(m.id for m in self.experiments if m.status == "running")

    @property
    def row(self) -> dict[str, Any]:
        """An experiments row standing for the comparison: its name, the least advanced status of its
        experiments, its axes; no budget (each experiment keeps its own)."""
        statuses = [m.status for m in self.experiments]
        status = min(statuses, key=lambda s: _STATUS_ORDER.index(s) if s in _STATUS_ORDER else 0)
        return {"id": COMPARISON_ID, "name": self.name, "status": status, "stop_reason": None, "budget_usd": None,
                "axes_json": json.dumps(self.axes), "sweep_json": json.dumps(self.sweep)}

    @property
    def axes(self) -> dict[str, list[str]]:
        """`experiment` (the members' names), then every member's axes, each with the labels of
        all its values: the members' own, then those filled in for the members without it (what
        their requests sent, as the grid shows them)."""
        return {name: list(spec["labels"]) for name, spec in self._complete_specs().items()}

    @property
    def sweep(self) -> dict[str, Any]:
        """The axes as one sweep would give them, the most repeats of any member, and each
        member's own sweep under `experiments`."""
        return {"axes": self._complete_specs(), "repeats": max(int(m.sweep.get("repeats") or 1) for m in self.experiments),
                "experiments": {m.name: m.sweep for m in self.experiments}}

    def _complete_specs(self) -> dict[str, dict[str, Any]]:
        """The axis specs with the values filled in for members that lack an axis (read from
        their tasks once, and only when some member lacks one)."""
        if not self._filled:
            self._filled = True
            lacking = {m.id for m in self.experiments if any(a not in m.axes for a in self._specs if a != EXPERIMENT)}
            if lacking:
                for task in self.log.tasks(COMPARISON_ID):
                    if task["experiment_id"] not in lacking:
                        continue
                    cell = json.loads(task["cell_json"])
                    for axis, spec in self._specs.items():
                        value = cell.get(axis, ABSENT)
                        if axis != EXPERIMENT and not any(same_value(value, v) for v in spec["values"]):
                            spec["values"].append(value)
                            spec["labels"].append(format_value(value))
        return self._specs

    def summary(self) -> str:
        """A line for the comparison (axes, images, spend) and each member's summary under it."""
        c = self.counts()
        prov = self.provenance
        lines = [f"Comparison of {len(self.experiments)} experiments: {self.name}",
                 *([f"  {prov.headline()}"] if prov.headline() else []),
                 f"  {c['done']}/{count_of(c['cells'], 'cell')} done, {count_of(c['images'], 'image')}, {prov.spend(self.cost)}",
                 # the labels the catalog gives (grids, the report's axes row), not the filled-in
                 # values' own cut to 40 characters: long ones that differ late read alike there
                 "  axes: " + "; ".join(f"{name} = {label_list(info.label(v) for v in info.values)}"
                                        for name, info in self._axis_infos().items()),
                 *(f"  {_member_line(m)}" for m in self.experiments)]
        return "\n".join(lines)


def _member_line(member: ExperimentRecord) -> str:
    """A member's first summary line, with its images and what it cost."""
    images = member.counts()["images"]
    return f"{member.summary().splitlines()[0]}, {count_of(images, 'image')}, {member.provenance.spend(member.cost)}"


def open_comparison(names: Iterable[str], data_dir: str | Path | None = None) -> ComparisonRecord:
    """The experiments `names` of the log in `data_dir` (default: `qwenlab.paths.data_dir()`) as one
    comparison, read without creating anything (a missing log raises ExperimentNotFoundError
    saying how to make one, as `open_experiment` does)."""
    names = list(names)
    if not names:
        raise ComparisonError("compare takes two or more experiment names, got none")
    first = open_experiment(names[0], data_dir)
    return ComparisonRecord(first.log, names, first.data_dir)


def _merged_axes(members: list[ExperimentRecord]) -> dict[str, dict[str, Any]]:
    """The comparison's axis specs: `experiment` first, then each member's axes in the order
    they first appear, their values and labels joined (the first member's kind wins)."""
    names = [m.name for m in members]
    out: dict[str, dict[str, Any]] = {EXPERIMENT: {"kind": EXPERIMENT, "values": names, "labels": names}}
    return joined_axis_specs(((m.sweep, m.axes) for m in members), out)

