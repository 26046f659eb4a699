"""How a cost group is named and ordered: the `by=` keys and the labels of their values.

`GroupKey` is one key of `Costs.by()`: the SQL it groups by and how it turns a group's raw values
into labels and their order. A key is a built-in ("experiment", "day", ...), a sweep axis by its
name, or spelled out where a name is both: "axis:year" is the axis, "period:year" the period,
"builtin:status" the built-in status (`axis_key`, `swept_axis`). `label_value` labels an axis value as the grids and `qwenlab logs`
show it, `setting_part` one axis of a setting, `experiment_label` an experiment by its name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from ..core.values import format_value, is_missing
from ..store.axes import AXIS_PREFIX, AxisInfo, names_axis
from ..store.organize import DELETED_PREFIX
from .view import ExperimentInView

__all__ = ["GroupKey", "label_value", "setting_part", "experiment_label", "plain_value", "AXIS_PREFIX", "PERIOD_PREFIX",
           "PERIODS", "BUILTIN_PREFIX", "SHADOWED", "PER_EXPERIMENT", "axis_key", "swept_axis"]

PERIODS = ("day", "week", "month", "year")  # the built-in periods, finer to coarser
# a key spelled out where a name is both: the period (the sweep axis: AXIS_PREFIX, store/axes.py)
PERIOD_PREFIX = "period:"
BUILTIN_PREFIX = "builtin:"  # a built-in key that is no period: "builtin:status"
# the built-ins that are no period and that an axis may share a name with: a bundle or request
# axis takes any name (an axis "size" or "model" is always a size or a model, which the built-in
# reads alike from every request)
SHADOWED = ("experiment", "status", "setting", "backend")
# the built-in experiment, however the axes are named: what qwenlab's own tables group by
PER_EXPERIMENT = BUILTIN_PREFIX + "experiment"


@dataclass
class GroupKey:
    """A `by=` key: the SQL expressions it groups by, and how to label and order a group."""

    levels: list[str]  # output index levels
    sql: list[str]  # expressions, in the GROUP BY
    label: Callable[[list[Any], dict[int, ExperimentInView]], list[tuple[Any, Any]]]  # raw values -> [(label, order)] per level
    where: str | None = None


def setting_part(axis: str, label: str) -> str:
    """One axis of a setting: "size=1024x1536", or a long value's label alone, which names its
    axis already ("negativePrompt 2: blurry text, misspelled…")."""
    return label if names_axis(label, axis) else f"{axis}={label}"


def label_value(exp: ExperimentInView | None, axis: str, raw: str | None, info: AxisInfo | None = None) -> tuple[str, int]:
    """An axis value's label (from raw JSON text from SQLite), as the grids and `qwenlab logs` show
    it, and its place in the axis. `info`: the axis to label it by (the axis of every experiment
    in view, `merged_axis`), instead of the experiment's own."""
    if raw is None:
        # a deleted experiment keeps its spend but not its cells' values: not "(not swept)"
        deleted = exp is not None and exp.name.startswith(DELETED_PREFIX)
        return ("(deleted: values not kept)" if deleted else "(not swept)"), 1 << 30
    value = json.loads(raw)
    info = info or (exp.axes.get(axis) if exp else None)
    place = info.index(value) if info is not None else None
    if info is None or place is None:
        return format_value(value), len(info.values) if info is not None else 0
    return info.label(value), place


def experiment_label(exp_id: Any, exps: dict[int, ExperimentInView]) -> tuple[Any, Any]:
    exp = exps.get(exp_id)
    return (exp.name if exp else f"#{exp_id}", exp_id if exp_id is not None else 1 << 62)


def plain_value(value: Any) -> Any:
    """numpy scalars and NaN from pandas back to plain Python (None for missing)."""
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def axis_key(axis: str) -> str:
    """The `by=` key of the sweep axis `axis`: its name, or "axis:NAME" where the name is also a
    built-in period ("year") or key ("status"), which `by()` refuses as ambiguous. (An axis named
    "size" or "model" is grouped by the built-in of that name, which reads the same values from
    every request.)"""
    return AXIS_PREFIX + axis if axis in PERIODS or axis in SHADOWED else axis


def swept_axis(level: str, builtin: tuple[str, ...]) -> str | None:
    """The sweep axis a level of a `by()` frame groups by ("axis:year" -> "year"), or None for
    a built-in key (`builtin`, or a "period:" or "builtin:" one)."""
    if level.startswith(AXIS_PREFIX):
        return level[len(AXIS_PREFIX):]
    return None if level in builtin or level.startswith((PERIOD_PREFIX, BUILTIN_PREFIX)) else level
