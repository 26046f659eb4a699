"""An experiment's axes and how each value reads: one labelling for every view.

    infos = axis_infos_of(sweep, labels)      # from the log's experiments.sweep_json and axes_json
    infos["promptExtend"].label(True)         # "on"
    infos["negativePrompt"].label(long_text)  # "negativePrompt 2: blurry text, misspelled…"

Labels are made here once and read by every view (grids, pairs, the explorer, judging, the report,
the CLI, the cost tables), so they agree: promptExtend reads on/off; labels given as the keys of a
dict of values are used as given; otherwise distinct values get distinct labels, and long texts
that start alike show where they part ("prompt 2: …image: replace the wooden…") rather than their
common start. Nothing here reads the log: the catalog, an experiment's summary and the cost
queries each bring what they read.

The frames keep the values themselves (True, None, the full prompt), for filtering; `labelled(df)`
is a copy of one for reading, its axis columns as the views show them:

    labelled(exp.text_scores())[["promptExtend", "negativePrompt", "word_accuracy"]]   # on/off, "none"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..core.request import Request
from ..core.values import distinct_labels, excerpt, format_value, present, same_value
from ..errors import QwenlabError

__all__ = ["AxisInfo", "ValueIndex", "labelled", "AXIS_INFO", "AXIS_PREFIX", "CELL_COLUMNS", "IMAGE_COLUMNS", "OWN_COLUMNS",
           "axis_column", "REPEAT", "ABSENT", "axis_infos_of", "merged_axis", "names_axis", "joined_axis_specs",
           "value_from_task", "filled_cell"]

REPEAT = "repeat"
# a value longer than this is shown by a short name ("prompt 2: A premium…") with the full text
# in a footnote: a 600-character prompt as a column header would be unreadable
LONG_VALUE = 32
EXCERPT = 28
# the columns of `exp.df` (`ExperimentRecord.cells`) and `exp.images` beside the axes' (which go
# after the first): a sweep refuses an axis of one of these names (`qwenlab.sweeps.axis`), and one
# an older log keeps is the frame's column "axis:NAME" (`axis_column`), beside the frame's own
CELL_COLUMNS = ("cell", "repeat", "status", "seed", "seeds", "n_images", "cost_usd", "cost_source", "estimated_cost_usd",
                "backend", "error_code", "error_message", "latency_s", "attempts", "path", "model", "width", "height",
                "prompt", "negative_prompt", "prompt_extend", "seed_policy", "task_uuid", "task_id", "cell_key")
IMAGE_COLUMNS = ("image_id", "repeat", "seed", "cost_usd", "cost_source", "backend", "nsfw", "path", "width", "height",
                 "format", "bytes", "sha256", "image_uuid", "task_uuid", "task_id", "prompt")
OWN_COLUMNS = frozenset(CELL_COLUMNS) | frozenset(IMAGE_COLUMNS)
# an axis spelled out where its name is also one of qwenlab's own (a column, a cost key): "axis:status"
AXIS_PREFIX = "axis:"


def axis_column(axis: str, columns: Iterable[str]) -> str:
    """The column of `axis` in a frame whose own columns are `columns`: its name, or "axis:NAME"
    where the frame has a column of that name (`OWN_COLUMNS`: an older log's bundle axis "status")."""
    return AXIS_PREFIX + axis if axis in columns else axis
# the key of a frame's `attrs` under which qwenlab's frames (exp.df, exp.images, text scores,
# pairs) keep how their axis columns read, for `labelled` and the score summaries
AXIS_INFO = "axis_info"


def names_axis(label: str, axis: str | None) -> bool:
    """Whether a value's label names its axis already ("prompt 2: A premium…", "negativePrompt:
    blurry…"), so that a view does not put the axis before it a second time."""
    return bool(axis) and (str(label).startswith(f"{axis} ") or str(label).startswith(f"{axis}: "))


@dataclass(frozen=True)
class AxisInfo:
    """One axis of an experiment: its values in sweep order and how each is shown."""

    name: str
    kind: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]
    texts: tuple[str | None, ...] = ()  # the full text behind each value, where it is long
    given: bool = False  # labels the user gave (a dict's keys), shown as they are

    def __post_init__(self) -> None:
        # the short form of each long text, computed over the whole axis so distinct texts stay distinct
        texts = [t or "" for t in self.texts]
        object.__setattr__(self, "_shorts", tuple(distinct_labels(texts, EXCERPT, excerpt)) if texts else ())
        # each value's place, looked up instead of scanned for: views label every image by it
        # (a 2,000-image report asked it a hundred thousand times)
        object.__setattr__(self, "_places", ValueIndex(self.values))
        object.__setattr__(self, "_several_long", sum(1 for j in range(len(self.values)) if self._long(j)) > 1)

    def __deepcopy__(self, memo: dict[int, Any]) -> "AxisInfo":
        # immutable: pandas deep-copies a frame's attrs at every step (each row of iterrows), and
        # copying every axis's values and index there made a frame that carries them slow
        return self

    @property
    def varies(self) -> bool:
        return len(self.values) > 1

    def index(self, value: Any) -> int | None:
        """The place of `value` among the axis's values (as `same_value` compares), or None."""
        return self._places(value)  # type: ignore[attr-defined,no-any-return]

    def _long(self, i: int) -> bool:
        return bool(self.texts and i < len(self.texts) and self.texts[i]
                    and (len(self.texts[i] or "") > LONG_VALUE or len(self.labels[i]) > LONG_VALUE))

    def _name(self, i: int) -> str:
        """The short name of long value `i`: "prompt 2" where several values are long (the number
        tells them apart and finds the footnote), the axis's name alone where only this one is
        ("negativePrompt", not "negativePrompt 2" beside "none")."""
        return f"{self.name} {i + 1}" if self._several_long else self.name  # type: ignore[attr-defined]

    def label(self, value: Any) -> str:
        """The value as a header shows it: its label, or "prompt 2: A premium beauty…" when long."""
        i = self.index(value)
        if i is None:
            return format_value(value)
        if self._long(i):
            if self.kind in ("request", "bundle") or self.given:
                return excerpt(self.labels[i], LONG_VALUE)
            return f"{self._name(i)}: {self._shorts[i]}"
        return self.labels[i]

    def tag(self, value: Any) -> str:
        """The value as an image stamp shows it: `promptExtend=on`, or `prompt 2` when long."""
        i = self.index(value)
        if i is not None and self._long(i):
            if self.kind in ("request", "bundle") or self.given:
                return f"{self.name}={excerpt(self.labels[i], 24)}"
            return self._name(i) if self._name(i) != self.name else f"{self.name}={excerpt(self.texts[i] or '', 24)}"
        if self.name == REPEAT:
            return f"r{value}"
        return f"{self.name}={self.label(value)}"

    def note(self, value: Any) -> str | None:
        """The full text behind a shortened value (for a legend or footnote), else None."""
        i = self.index(value)
        if i is None or not self._long(i):
            return None
        if self.kind in ("request", "bundle") or self.given:
            return f"{self.name} = {self.labels[i]}: {self.texts[i]}"
        return f"{self._name(i)}: {self.texts[i]}"


def labelled(frame: Any) -> Any:
    """A copy of `frame` for reading: each axis column's values as their labels, as the grids, the
    report, `qwenlab logs` and the cost tables show them (promptExtend "on"/"off", a missing
    negative prompt "none", a long prompt "prompt 2: A premium…"). The frame itself keeps the
    values, for filtering (`df[df["promptExtend"] == True]`).

    frame: one of qwenlab's (`exp.df`, `exp.images`, `exp.text_scores()`, `exp.pairs(...)`, a
    comparison's too), or part of one (pandas keeps what it says of its axes in `attrs` when
    columns or rows are picked). Raises ValueError for a frame that does not say its axes."""
    infos = getattr(frame, "attrs", {}).get(AXIS_INFO)
    if infos is None:
        raise ValueError(f"frame: this frame does not say its axes (no attrs[{AXIS_INFO!r}]); give one of qwenlab's "
                         "frames (exp.df, exp.images, exp.text_scores(), exp.pairs(...)) or columns or rows of one")
    out = frame.copy()
    for name, info in infos.items():
        column = AXIS_PREFIX + name if AXIS_PREFIX + name in out.columns else name  # `axis_column`'s
        if column in out.columns:
            out[column] = [info.label(v) for v in out[column]]
    return out


class ValueIndex:
    """Where a value is among `values`: the place of the first `same_value` calls equal to it, or
    None; looked up in a table, and compared one by one only with values that have no hash."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = tuple(values)
        self._table: dict[tuple[Any, ...], int] = {}
        self._unhashable = False
        for i, v in enumerate(self.values):
            key = _key(v)
            if key is None:
                self._unhashable = True
            else:
                self._table.setdefault(key, i)

    def __call__(self, value: Any) -> int | None:
        key = _key(value)
        if key is not None:
            found = self._table.get(key)
            if found is not None or not self._unhashable:
                return found
        for i, v in enumerate(self.values):  # a dict or list value (a bundle axis): compared one by one
            if same_value(v, value):
                return i
        return None


def _key(value: Any) -> tuple[Any, ...] | None:
    """A dictionary key that two values share exactly when `same_value` calls them equal (True is
    not 1, NaN is None, 1 is 1.0); None for a value that has no hash (a dict, a list)."""
    value = present(value)
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        return ("bool", value)
    try:
        hash(value)
    except TypeError:
        return None
    return ("value", value)


def axis_infos_of(sweep: Mapping[str, Any], labels: Mapping[str, list[str]],
                  tasks: Sequence[Mapping[str, Any]] = ()) -> dict[str, AxisInfo]:
    """Each axis of an experiment and how its values read, from its logged sweep (`sweep_json`,
    decoded) and labels (`axes_json`); `tasks` (rows with `repeat`) count the repeats where the
    sweep does not say."""
    out: dict[str, AxisInfo] = {}
    specs = sweep.get("axes", {}) or {}
    for name in labels or specs:
        spec = specs.get(name, {})
        kind = spec.get("kind", "param")
        names = list(spec.get("labels") or labels.get(name) or [])
        raw = list(spec.get("values") or [])
        if kind in ("request", "bundle"):
            # cells hold the label; the sweep keeps the whole request, whose prompt is the full text
            values = tuple(names)
            texts = tuple(_request_text(v) if kind == "request" else None for v in raw) or tuple(None for _ in names)
        else:
            values = tuple(raw) if raw else tuple(names)
            texts = tuple(v if isinstance(v, str) else None for v in values)
        if len(names) < len(values):
            names += [format_value(v) for v in values[len(names):]]
        given = False
        if kind not in ("request", "bundle"):
            # labels made by qwenlab (format_value, or distinct_labels since) are remade, so a log
            # written before labels were kept distinct reads the same as a new one; a dict's keys stay
            made = [format_value(v) for v in values]
            given = bool(names) and names not in (made, distinct_labels(values))
            if not given:
                names = distinct_labels(values)
        out[name] = AxisInfo(name, kind, values, tuple(names), texts, given)
    repeats = int(sweep.get("repeats") or 0) or (max((int(t.get("repeat") or 0) for t in tasks), default=0) + 1)
    out[REPEAT] = AxisInfo(REPEAT, "repeat", tuple(range(repeats)), tuple(str(r) for r in range(repeats)))
    return out


def _request_text(task: Any) -> str | None:
    if isinstance(task, Mapping):
        prompt = task.get("positivePrompt")
        return str(prompt) if prompt else None
    return None


def merged_axis(infos: Sequence[AxisInfo]) -> AxisInfo:
    """One axis of several experiments as one: every value once, in the order the experiments
    (in the order given) first have it, labelled over all of them, so that two distinct values
    never read the same (two negative prompts that start alike, one in each experiment, each read
    "negativePrompt: blurry text, misspelled…" in their own experiment). Labels the user gave are
    kept as given; the first experiment's kind is the axis's."""
    if len(infos) == 1:
        return infos[0]
    values: list[Any] = []
    labels: list[str] = []
    texts: list[str | None] = []
    for info in infos:
        for i, value in enumerate(info.values):
            if not any(same_value(value, v) for v in values):
                values.append(value)
                labels.append(info.labels[i])
                texts.append(info.texts[i] if i < len(info.texts) else None)
    first = infos[0]
    given = any(info.given for info in infos)
    if first.kind not in ("request", "bundle") and not given:
        labels = distinct_labels(values)
    return AxisInfo(first.name, first.kind, tuple(values), tuple(labels), tuple(texts), given)


# the value of an axis a cell does not have, where its request cannot say (a comparison's member
# without the axis, a cell of an experiment logged before the axis was added to it)
ABSENT = "-"


def joined_axis_specs(sweeps: Iterable[tuple[Mapping[str, Any], Mapping[str, list[str]]]],
                      out: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The axis specs ({"kind", "values", "labels"}) of several logged sweeps as one, each sweep
    given as its `sweep_json` decoded and its `axes_json`: every axis in the order first seen,
    its values and labels joined (a value once, the first kind kept). Added to `out` when given.
    What a comparison's axes are, and an extended experiment's (its new sweep's, then its old's)."""
    out = {} if out is None else out
    for sweep, axes in sweeps:
        specs = sweep.get("axes", {}) or {}
        for axis, labels in axes.items():
            spec = specs.get(axis, {})
            values = list(spec.get("values") or labels)
            labels = list(spec.get("labels") or labels)
            merged = out.setdefault(axis, {"kind": spec.get("kind", "param"), "values": [], "labels": []})
            for value, label in zip(values, labels):
                if not any(same_value(value, v) for v in merged["values"]):
                    merged["values"].append(value)
                    merged["labels"].append(label)
    return out


def value_from_task(kind: str, axis: str, task: Mapping[str, Any]) -> Any:
    """The value of an axis a task's cell does not have, from what its request sent (`ABSENT`
    where the request cannot say)."""
    if kind == "size":
        return f"{task['width']}x{task['height']}" if task.get("width") and task.get("height") else ABSENT
    if kind == "prompt":
        return task.get("prompt")
    if kind == "model":
        return task.get("model")
    if kind == "param":
        if axis == "negativePrompt":
            return task.get("negative_prompt")  # none sent reads "none", as on a negativePrompt axis
        try:  # by name, short name or wire path; the model's default where the request left it out
            return Request.from_json(task.get("request_json") or "{}").get(axis, ABSENT)
        except (QwenlabError, ValueError, TypeError):  # a request logged by a model qwenlab no longer knows
            return ABSENT
    return ABSENT  # a request, bundle or search/replace axis: the request alone cannot say which value


def filled_cell(task: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """A task's cell (its `cell_json` decoded) with each axis of `kinds` (name -> kind) it lacks
    filled in from what its request sent (`value_from_task`): a cell run before the axis was added
    to its experiment (an extended sweep) reads as what it was, in every view."""
    cell = json.loads(task.get("cell_json") or "{}")
    for axis, kind in kinds.items():
        if axis not in cell and axis != REPEAT:
            cell[axis] = value_from_task(kind, axis, task)
    return cell
