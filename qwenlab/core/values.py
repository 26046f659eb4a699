"""Axis and table values as users see them: what counts as missing, equality as the log stores
values, and the short label of a value.

    is_missing(float("nan"))      # True: pandas turns an axis value None into NaN
    present(float("nan"))         # None
    same_value(True, 1)           # False: promptExtend on is not the number 1
    format_value(True)            # "on"

Every module that shows or compares a value calls these, so "none", NaN and on/off read the same
in grids, frames, the explorer, the report and the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_missing", "present", "same_value", "format_value"]


def is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT (what a frame puts where the log had nothing)."""
    if value is None:
        return True
    if isinstance(value, float):
        return bool(value != value)
    # numpy's NaN, pandas' NaT: unequal to themselves (checked without importing pandas)
    try:
        return bool(value != value)
    except TypeError:  # pandas' NA: its truth value is ambiguous by design
        return True
    except ValueError:  # an array: a value, not a missing one
        return False


def present(value: Any) -> Any:
    """The value, or None where it is missing (see `is_missing`)."""
    return None if is_missing(value) else value


def same_value(a: Any, b: Any) -> bool:
    """Axis values equal as the log stores them (True is not 1; NaN is None)."""
    a, b = present(a), present(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def format_value(value: Any, limit: int = 40) -> str:
    """A short, readable label for an axis value: "none", "on"/"off", or the text cut at `limit`."""
    value = present(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
