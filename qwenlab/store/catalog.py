"""An experiment's images and cells as plain records, keyed by axis values: what grids, pairs and
exports lay out.

    cat = Catalog.load(exp)                       # read once from the log
    cat.axes["promptExtend"].label(True)          # "on"
    cat.axes["prompt"].label(EDITS["marble"])     # "marble": the label given in Sweep(axes={"prompt": {...}})
    cat.where({"size": "1024x1536"}).entries      # one Entry per image (or per cell without one)

An `Entry` is one slot of a grid: one image of a task, or a task that made no image (failed,
not run, in doubt), with the values of every axis, the repeat, the seed the API reported for
that image, the cost, latency and error. Axis values are those of the log's `tasks.cell_json`:
the value itself for a parameter axis, the label for a request or bundle axis.

Each axis's values read as `qwenlab.store.axes` labels them, the one labelling every view shares.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..core.values import present, same_value
from ..errors import UnknownAxisError
from .axes import REPEAT, AxisInfo, axis_infos_of, filled_cell
from .log import status_word
from .provenance import EMULATOR, Provenance

if TYPE_CHECKING:
    from .experiment import ExperimentRecord

__all__ = ["Catalog", "AxisInfo", "Entry", "REPEAT", "aspect_of", "axis_infos", "axis_infos_of"]

def aspect_of(width: Any, height: Any) -> float | None:
    """Width / height from a logged size (an entry's, a pair's `width` and `height`), None where
    there is none."""
    try:
        w, h = float(width), float(height)
    except (TypeError, ValueError):
        return None
    return w / h if w > 0 and h > 0 else None


@dataclass(frozen=True)
class Entry:
    """One image of an experiment, or one cell that has no image (failed, not run, in doubt)."""

    task_id: int
    cell: Mapping[str, Any]            # axis name -> value, as in tasks.cell_json
    repeat: int
    status: str                        # the task's: done | failed | pending | sent
    image_id: int | None = None
    path: str | None = None            # absolute path of the image file
    result: int = 0                    # index of the image within its task (numberResults > 1)
    seed: int | None = None            # the seed the API reported for this image
    requested_seed: int | None = None  # the seed sent, where seeds are pinned
    seed_policy: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    task: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    image: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # its images row, where it has one
    live: bool = field(default=False, repr=False, compare=False)  # its run still sending when read (`Catalog.live`)

    def value(self, axis: str) -> Any:
        return self.repeat if axis == REPEAT else self.cell.get(axis)

    @property
    def synthetic(self) -> bool:
        """Its task ran on qwenlab's offline emulator: the image is synthetic, the cost emulated."""
        return self.task.get("backend") == EMULATOR

    @property
    def failed(self) -> bool:
        return self.image_id is None

    @property
    def aspect(self) -> float | None:
        """Width / height of its image: the size its file was logged at, else the size its request
        asked for (a failed cell's); None where neither is known (an edit sent no size). The shape
        a blank standing for a missing image takes, in grids, views and the report."""
        image = self.image or {}
        return aspect_of(image.get("width"), image.get("height")) or aspect_of(self.width, self.height)

    @property
    def shown_seed(self) -> int | None:
        """The seed to print: the one the API reported, else the one sent."""
        return self.seed if self.seed is not None else self.requested_seed

    @property
    def status_said(self) -> str:
        """Its status as views say it (`status_word`): a task sent is "in_doubt", or "running"
        while its run is still sending (`live`)."""
        return status_word(self.status, self.live)

    @property
    def error_detail(self) -> str | None:
        """Its error message without the code the message's tail repeats ("... (inferenceError)"):
        views show the code beside it."""
        return _without_code(self.error_message, self.error_code)

    def problem(self) -> str:
        """Why there is no image: "FAILED: inferenceError\\n<message>" (the code said once), "NOT RUN", ..."""
        if self.status == "failed":
            head = f"FAILED: {self.error_code}" if self.error_code else "FAILED"
            message = self.error_detail
            return f"{head}\n{message}" if message else head
        if self.status == "sent" and self.live:
            return "RUNNING: sent, waiting for its answer\n(its run is still sending)"
        if self.status == "sent":
            return "IN DOUBT: sent, no answer logged\n(run the sweep again to recover it)"
        if self.status == "pending":
            return "NOT RUN"
        return "no image" if self.status == "done" else self.status.upper()


@dataclass
class Catalog:
    """An experiment's axes (in sweep order, `repeat` last) and its entries (in cell order)."""

    name: str
    axes: dict[str, AxisInfo]
    entries: list[Entry]
    experiment_id: int | None = None
    title: str | None = None
    log: Any = field(default=None, repr=False, compare=False)  # the experiment's Log (its text scores, for views)
    provenance: Provenance = field(default_factory=Provenance)  # where the experiment's cells ran (all of them)
    # its run (a comparison's: a member's) was still sending when the log was read
    # (`ExperimentRecord.sending`, its status 'running' as the run lock says): a task sent is then
    # awaiting its answer ("running", `Entry.live`), not in doubt
    live: bool = False

    @classmethod
    def load(cls, experiment: "ExperimentRecord") -> "Catalog":
        """Read the experiment's tasks and images from the log, once."""
        log, exp_id = experiment.log, experiment.id
        # the experiments whose run is still sending, read before the tasks: a run ending between
        # leaves its cells "running" until the next read, never a live one's "in doubt"
        sending = experiment.sending
        tasks = log.tasks(exp_id)
        images = log.images(exp_id)
        by_task: dict[int, list[dict[str, Any]]] = {}
        for img in images:
            by_task.setdefault(img["task_id"], []).append(img)
        axes = axis_infos_of(experiment.sweep, experiment.axes, tasks)
        kinds = {a: info.kind for a, info in axes.items()}
        entries: list[Entry] = []
        root = str(experiment.data_dir)
        for t in tasks:
            cell = filled_cell(t, kinds)
            in_cell = cell.pop(REPEAT, 0)
            repeat = int(t["repeat"] if t.get("repeat") is not None else in_cell or 0)
            common = dict(
                task_id=t["id"], cell=cell, repeat=repeat, status=t["status"],
                requested_seed=t.get("seed") if t.get("seed_policy") == "pin" else None,
                seed_policy=t.get("seed_policy"), error_code=t.get("error_code"), error_message=t.get("error_message"),
                prompt=t.get("prompt"), negative_prompt=t.get("negative_prompt"), width=t.get("width"),
                height=t.get("height"), latency_s=t.get("latency_s"), task=t, live=t.get("experiment_id") in sending)
            imgs = by_task.get(t["id"], [])
            if not imgs:
                entries.append(Entry(cost_usd=t.get("cost_usd"), **common))
            # each image's entry made whole at once: `replace` of a base entry cost a tenth of
            # the load of a 2,000-image experiment, and so of every grid built from it
            for k, img in enumerate(imgs):
                path = img.get("path")
                if path and not os.path.isabs(path):  # os.path: two Paths an image were a tenth of the load
                    path = os.path.join(root, path)
                entries.append(Entry(image_id=img["id"], path=path, result=k, seed=img.get("seed"), image=img,
                                     cost_usd=img.get("cost_usd") if img.get("cost_usd") is not None else t.get("cost_usd"),
                                     **common))
        return cls(experiment.name, axes, entries, exp_id, experiment.name, log, Provenance.of_tasks(tasks),
                   bool(sending))

    # -- queries ------------------------------------------------------------------------------
    def check_axes(self, *names: str | None, parameter: str | None = None, repeat: bool = True) -> None:
        """Raise UnknownAxisError for any name that is not an axis (or `repeat`); `parameter`, the
        argument that gave the names ("rows", "where"), starts the message, so that a command
        names the option it came from (`--rows`), not only the axis. repeat=False: the caller
        takes sweep axes only (pairs compare two values of one), so the message offers no `repeat`."""
        for name in names:
            if name is not None and not isinstance(name, str):
                # a list for rows= met the dict below as "unhashable type: 'list'", naming nothing
                said = parameter or "axis"
                example = next((a for a in self.axes if a != REPEAT), REPEAT if repeat and REPEAT in self.axes else "size")
                raise UnknownAxisError(f"{said}={name!r}: give one axis name as a string, e.g. {said}={example!r}; "
                                       f"{self._axes_said(repeat)}")
            if name is not None and name not in self.axes:
                said = f"{parameter}: " if parameter else ""
                raise UnknownAxisError(f"{said}{name!r} is not an axis of experiment {self.name!r}; {self._axes_said(repeat)}")

    def _axes_said(self, repeat: bool) -> str:
        """The sweep's axes as an error lists them, `repeat` apart and only where the caller takes it:
        "its axes are: repeat" read as an axis of an experiment whose sweep varies nothing."""
        axes = [a for a in self.axes if a != REPEAT]
        repeats = repeat and REPEAT in self.axes
        if not axes:
            return "it has no axis (one setting, no sweep axis" + (f"; {REPEAT!r} names its repeats)" if repeats else ")")
        return f"its axes are: {', '.join(axes)}" + (f" (and {REPEAT!r} for its repeats)" if repeats else "")

    @property
    def varying(self) -> list[str]:
        """Axes with more than one value among the entries (`repeat` included when there are repeats)."""
        return [a for a in self.axes if len(self.values(a)) > 1]

    def values(self, axis: str, entries: Iterable[Entry] | None = None) -> list[Any]:
        """The values of `axis` present among `entries` (default: all), in sweep order."""
        present = _distinct(e.value(axis) for e in (self.entries if entries is None else entries))
        info = self.axes[axis]
        out = [v for v in info.values if any(same_value(v, p) for p in present)]
        for p in present:  # a value the sweep description does not list (an extended sweep)
            if not any(same_value(p, o) for o in out):
                out.append(p)
        return out

    def where(self, filters: Mapping[str, Any] | None) -> "Catalog":
        """Only the entries whose axes match: {axis: value, label, or a list of them}."""
        if not filters:
            return self
        if not isinstance(filters, Mapping):
            # "size=512x768", as the command line writes it, was read letter by letter: "'s' is not an axis"
            raise UnknownAxisError(f"where={filters!r}: give a dict of axis and value (or list of values), "
                                   "e.g. where={'size': '1024x1536'} (on the command line: --where size=1024x1536)")
        self.check_axes(*filters, parameter="where")
        kept = self.entries
        for axis, wanted in filters.items():
            options = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
            present = self.values(axis)  # once: each call reads every entry
            for w in options:
                try:
                    self._resolve(axis, w, present)  # a value the axis never had is a typo, not an empty selection
                except UnknownAxisError as exc:
                    raise UnknownAxisError(f"where: {exc}") from None
            info = self.axes[axis]
            # an entry is kept by its value alone: each distinct value is matched once, not once
            # for each of 2,000 entries (by type too, so 1 and 1.0, which read apart, stay apart)
            verdicts: dict[tuple[type, Any], bool] = {}

            def keep(value: Any) -> bool:
                try:
                    return verdicts[(type(value), value)]
                except KeyError:
                    verdict = verdicts[(type(value), value)] = any(_matches(info, value, w) for w in options)
                    return verdict
                except TypeError:  # a list or dict value (a bundle axis): matched each time
                    return any(_matches(info, value, w) for w in options)

            kept = [e for e in kept if keep(e.value(axis))]
        return replace(self, entries=kept)

    def resolve(self, axis: str, wanted: Any) -> Any:
        """The value of `axis` meant by `wanted` (a value, or its label as typed: "on", "with")."""
        self.check_axes(axis)
        return self._resolve(axis, wanted, self.values(axis))

    def _resolve(self, axis: str, wanted: Any, present: list[Any]) -> Any:
        info = self.axes[axis]
        for v in [*info.values, *present]:
            if _matches(info, v, wanted):
                return v
        raise UnknownAxisError(f"{wanted!r} is not a value of axis {axis!r}; its values: {', '.join(info.labels)}")

    def select(self, axis: str, value: Any, entries: Sequence[Entry]) -> list[Entry]:
        return [e for e in entries if same_value(e.value(axis), value)]


def _without_code(message: str | None, code: str | None) -> str | None:
    """`message` without the error code its own tail repeats: an API error's message ends with
    "(inferenceError)" or "(HTTP 400, invalidSize, parameter width)", and a failed cell's blank
    already says "FAILED: inferenceError" above it, so the code read twice."""
    if not message or not code:
        return message
    body, sep, tail = message.rstrip().rpartition(" (")
    if not sep or not tail.endswith(")"):
        return message
    parts = tail[:-1].split(", ")
    if code not in parts:
        return message
    rest = [p for p in parts if p != code]
    return f"{body} ({', '.join(rest)})" if rest else body


def _matches(info: AxisInfo, value: Any, wanted: Any) -> bool:
    if same_value(value, wanted):
        return True
    # a label typed on a command line ("on", "1024x1536", "with") or a value as text ("True", "42")
    if isinstance(wanted, str):
        i = info.index(value)
        shown = {str(value).lower(), info.label(value).lower()}
        if i is not None:
            shown.add(info.labels[i].lower())
        return wanted.strip().lower() in shown
    return False


def axis_infos(experiment: "ExperimentRecord") -> dict[str, AxisInfo]:
    """The experiment's axes and how each value reads, without reading its tasks: for a table that
    shows cell values (`qwenlab logs`, text scores) as grids and the report show them."""
    return axis_infos_of(experiment.sweep, experiment.axes)


def _distinct(values: Iterable[Any]) -> list[Any]:
    """`values` without repeats, in first-seen order, equal as `same_value` has them: 2,000 entries
    hold a few dozen distinct values, and comparing each entry with each value was quadratic."""
    seen: dict[Any, Any] = {}
    for v in values:
        v = present(v)
        key: Any = ("bool", v) if isinstance(v, bool) else ("none",) if v is None else None
        if key is None:
            try:
                key = ("value", v, hash(v))
            except TypeError:  # a dict or list value (a bundle axis): its repr stands for it
                key = ("repr", repr(v))
        seen.setdefault(key, v)
    return list(seen.values())
