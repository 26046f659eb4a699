"""What changed between the sweep an experiment was run with and a new sweep under its name.

    changes = sweep_changes(json.loads(row["sweep_json"]), sweep.to_dict())
    changes.lines()     # ["axes added: outputQuality (60, 61)", "size: values removed 1024x1024", ...]
    changes.only_adds   # True: every cell logged is still in the new sweep's layout

Both sides are the sweep as given (`Sweep.to_dict()`, the log's `experiments.sweep_json`):
axes with their values and labels, the base request, and the settings that lay out the cells
(model, mode, repeats, seed policy). `conflict_message` turns the difference into the message of
the ExperimentConflictError a run under a taken name raises, with the fix.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.values import count_of, format_value
from ..errors import ExperimentConflictError
from .cell import match_logged

if TYPE_CHECKING:
    from .sweep import Sweep

__all__ = ["SweepChanges", "sweep_changes", "conflict_message", "changed_sweep_error"]

# settings of a sweep besides its axes and base request that change which cells it has
SETTINGS = ("model", "mode", "repeats", "seed_policy", "seed", "force_seed")
_SHOWN = 40  # characters of a value shown (a 600-character prompt would drown the message)


@dataclass(frozen=True)
class SweepChanges:
    """The difference between an old and a new sweep: axes added and removed, each kept axis's
    values added and removed (by label), and base-request parameters and settings old -> new."""

    axes_added: dict[str, list[str]] = field(default_factory=dict)    # axis -> its labels
    axes_removed: dict[str, list[str]] = field(default_factory=dict)
    values_added: dict[str, list[str]] = field(default_factory=dict)  # axis -> labels
    values_removed: dict[str, list[str]] = field(default_factory=dict)
    values_reordered: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # same values, new order or count
    base: list[tuple[str, Any, Any]] = field(default_factory=list)    # (wire path, old, new)
    settings: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def only_adds(self) -> bool:
        """Nothing removed or changed: the new sweep is the old one with axes or values added."""
        return not (self.axes_removed or self.values_removed or self.values_reordered or self.base or self.settings)

    def __bool__(self) -> bool:
        return bool(self.axes_added or self.values_added or not self.only_adds)

    def lines(self) -> list[str]:
        """One line per kind of change, as the conflict message lists them."""
        out = []
        if self.axes_added:
            out.append("axes added: " + "; ".join(f"{a} ({_labels(v)})" for a, v in self.axes_added.items()))
        if self.axes_removed:
            out.append("axes removed: " + "; ".join(f"{a} ({_labels(v)})" for a, v in self.axes_removed.items()))
        for axis in dict.fromkeys([*self.values_added, *self.values_removed]):
            parts = [f"values added {_labels(self.values_added[axis])}" if axis in self.values_added else "",
                     f"values removed {_labels(self.values_removed[axis])}" if axis in self.values_removed else ""]
            out.append(f"axis {axis}: " + "; ".join(p for p in parts if p))
        out.extend(f"axis {a}: values {_labels(old)} -> {_labels(new)}" for a, (old, new) in self.values_reordered.items())
        if self.base:
            out.append("base request: " + "; ".join(f"{k} {_old_new(a, b)}" for k, a, b in self.base))
        out.extend(f"{k}: {_old_new(a, b)}" for k, a, b in self.settings)
        return out


def sweep_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> SweepChanges:
    """What `new` changes in `old` (both as `Sweep.to_dict()` gives them)."""
    old, new = _plain(old), _plain(new)
    old_axes, new_axes = old.get("axes") or {}, new.get("axes") or {}
    changes = SweepChanges(
        axes_added={a: _axis_labels(s) for a, s in new_axes.items() if a not in old_axes},
        axes_removed={a: _axis_labels(s) for a, s in old_axes.items() if a not in new_axes})
    for axis in (a for a in new_axes if a in old_axes):
        before, after = _axis_values(old_axes[axis]), _axis_values(new_axes[axis])
        added = [label for key, label in after.items() if key not in before]
        removed = [label for key, label in before.items() if key not in after]
        if added:
            changes.values_added[axis] = added
        if removed:
            changes.values_removed[axis] = removed
        if not added and not removed and _value_list(old_axes[axis]) != _value_list(new_axes[axis]):
            changes.values_reordered[axis] = (_axis_labels(old_axes[axis], every=True), _axis_labels(new_axes[axis], every=True))
    old_base, new_base = _flat(old.get("base") or {}), _flat(new.get("base") or {})
    changes.base.extend((k, old_base.get(k), new_base.get(k)) for k in dict.fromkeys([*old_base, *new_base])
                        if old_base.get(k) != new_base.get(k) and k != "model")  # the model is a setting
    changes.settings.extend((k, old.get(k), new.get(k)) for k in SETTINGS if old.get(k) != new.get(k))
    return changes


def conflict_message(name: str, changes: SweepChanges, *, new_cells: int, cells: int, logged: int,
                     free_name: str, command_line: bool = False) -> str:
    """The message of the ExperimentConflictError for a changed sweep run under `name`: what changed,
    how many of its `cells` the experiment lacks (`new_cells`; `logged` rows it holds), and the fix,
    in Python's words (`name='x-2'`, `extend=True`), or with `command_line` in `qwenlab run`'s
    (`--name x-2`, `--extend`): each reader is told what they can type."""
    lines = [f"experiment {name!r} was run with a different sweep; what changed (old -> new):"]
    lines += [f"  - {line}" for line in changes.lines()] or [
        "  - nothing in its axes, base request or settings: the cells' identities differ (a different qwenlab "
        "version or model description computes them otherwise)"]
    lines.append(f"{new_cells} of the new sweep's {count_of(cells, 'cell')} {'is' if new_cells == 1 else 'are'} not in the "
                 f"experiment (it holds {logged}).")
    extending = "--extend" if command_line else "extend=True"
    renamed = f"--name {shlex.quote(free_name)}" if command_line else f"name={free_name!r}"
    if not new_cells:
        # nothing of it is missing (the experiment was extended past this sweep since): running it
        # under a new name would buy every cell again, so that is not offered
        see = f"qwenlab logs {shlex.quote(name)}" if command_line else f"lab.experiment({name!r})"
        lines.append(f"Nothing to send: every cell of this sweep is in {name!r} already. See them with {see}; "
                     f"{extending} would make this sweep the experiment's, and send nothing.")
        return "\n".join(lines)
    extend = f"pass {extending} to add the {count_of(new_cells, 'cell')} it lacks to {name!r}"
    if changes.only_adds:
        lines.append(f"Fix: {extend} (the {logged} it holds are kept, not paid again); "
                     f"or run it under a new name, e.g. {renamed}.")
    else:
        lines.append(f"Fix: run it under a new name, e.g. {renamed}, to keep the two apart; "
                     f"or {extend}, next to the {logged} it holds (kept, not paid again).")
    return "\n".join(lines)


def changed_sweep_error(experiment: Mapping[str, Any], sweep: "Sweep", rows: list[Mapping[str, Any]],
                        taken: Sequence[str]) -> ExperimentConflictError:
    """The error for `sweep` run under the name of `experiment` (its log row; `rows` its tasks),
    whose sweep differs; `taken`: the log's experiment names, so the suggested name is free."""
    name = str(experiment["name"])
    changes = sweep_changes(json.loads(experiment.get("sweep_json") or "{}"), sweep.to_dict())
    cells = sweep.cells()
    free = next(f"{name}-{i}" for i in range(2, len(taken) + 3) if f"{name}-{i}" not in set(taken))
    said = {"new_cells": len(cells) - len(match_logged(cells, rows)), "cells": len(cells), "logged": len(rows),
            "free_name": free}
    error = ExperimentConflictError(conflict_message(name, changes, **said))
    error.changes = tuple(changes.lines())
    error.command_line_message = conflict_message(name, changes, **said, command_line=True)
    return error


def _plain(sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The sweep as the log keeps it (a JSON round trip: tuples become lists, paths strings)."""
    return json.loads(json.dumps(sweep, default=str))


def _axis_labels(spec: Mapping[str, Any], *, every: bool = False) -> list[str]:
    """An axis's labels (`every`: repeated values too, in the order given)."""
    if every:
        values = _axis_values(spec)
        return [values[key] for key in _value_list(spec)]
    return list(_axis_values(spec).values())


def _value_list(spec: Mapping[str, Any]) -> list[str]:
    return [json.dumps(v, sort_keys=True) for v in spec.get("values") or []]


def _axis_values(spec: Mapping[str, Any]) -> dict[str, str]:
    """An axis's values as {identity: label}; the identity is the value as JSON (a request's
    whole task), so a value relabelled is the same value."""
    values = list(spec.get("values") or [])
    labels = list(spec.get("labels") or [])
    labels += [format_value(v) for v in values[len(labels):]]
    return {json.dumps(v, sort_keys=True): label for v, label in zip(values, labels)}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested request as {"providerSettings.alibaba.promptExtend": True, ...}."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _labels(labels: list[str]) -> str:
    return ", ".join(format_value(label, _SHOWN) for label in labels)


def _old_new(old: Any, new: Any) -> str:
    """`old -> new`, two long texts shown from a little before where they differ (two prompts
    that share their first 40 characters would otherwise read the same)."""
    start = 0
    if isinstance(old, str) and isinstance(new, str):
        same = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
        if same > _SHOWN - 12:
            start = old.rfind(" ", 0, same - 12) + 1  # from the start of a word some way before
    return f"{_shown(old, start)} -> {_shown(new, start)}"


def _shown(value: Any, start: int = 0) -> str:
    if value is None:
        return "(not set)"
    if not isinstance(value, str):
        return format_value(value, _SHOWN)
    return repr(("…" if start else "") + format_value(value[start:], _SHOWN))
