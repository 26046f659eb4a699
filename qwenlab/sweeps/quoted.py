"""A number or true/false written in quotes where a parameter takes one, said with the line to write.

    outputQuality = "80"                  # [request]: write outputQuality = 80 (no quotes)
    outputQuality = ["60", "90"]          # [axes]: write outputQuality = [60, 90] (no quotes)
    axes={"promptExtend": ["true"]}       # Python: write "promptExtend": [True] (no quotes)

One rule wherever a sweep takes values (a sweep file's [request] and [axes], a `Sweep`'s axes):
quoted, a number is text, and refused with the line to write. The range syntax of an axis
(`"60-90 (+15)"`, several numbers in one string: `qwenlab.sweeps.ranges`) is no quoted number: it
stays quoted. An axis took `["60", "90"]` as the numbers 60 and 90 while `[request]` refused
`"80"`, and `["true", "false"]` was refused once per cell as "must be true or false".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..problems import Problem
from .ranges import expand_range

__all__ = ["value_kind", "unquoted", "quoted_problem", "quoted_axis_problem"]


def value_kind(name: str, desc: Any) -> str | None:
    """"integer", "number" or "boolean" for a parameter that takes one (by name or wire path, in
    the model description `desc`; `seed`, which a sweep sends itself, a whole number where the
    model takes one: where it takes none, the seed is refused as such); None otherwise."""
    if name == "seed":
        return "integer" if desc is None or desc.accepts_seed else None
    spec = desc.spec(name) if desc is not None else None
    return spec.type if spec is not None and spec.type in ("integer", "number", "boolean") else None


def unquoted(value: Any, kind: str | None) -> list[Any] | None:
    """What a string stands for where a `kind` value goes: [True] for "true", the numbers a number
    or a range reads as ("80" -> [80], "60-90 (+15)" -> [60, 75, 90]); None for anything else (no
    string, or text that reads as neither: the request's own rules say what the parameter takes)."""
    if not isinstance(value, str) or kind is None:
        return None
    if kind == "boolean":
        word = value.strip().lower()
        return [word == "true"] if word in ("true", "false") else None
    try:
        return expand_range(value, integer=kind == "integer")
    except ValueError:
        return None


def _literal(value: Any, python: bool) -> str:
    if isinstance(value, bool):
        return str(value) if python else str(value).lower()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # double quotes: TOML's and Python's
    return str(value)


def quoted_problem(key: str, value: Any, kind: str | None) -> Problem | None:
    """The problem of one value of a sweep file's [request] written in quotes: a number or
    true/false (with the line to write), or a range, which only an axis takes."""
    values = unquoted(value, kind)
    if values is None:
        return None
    if kind == "boolean":
        return Problem(key, f"is a true/false parameter, and {value!r} is text: write {key} = {_literal(values[0], False)} "
                            "(no quotes)", value)
    if len(values) == 1:
        return Problem(key, f"is a number, and {value!r} is text: write {key} = {values[0]} (no quotes)", value)
    return Problem(key, f"{value!r} is a range, giving {len(values)} values, which only an axis takes: move this line "
                        f"under [axes] (each cell sends one of its values), or give one number here: {key} = {values[0]}", value)


def quoted_axis_problem(key: str, spec: Any, kind: str | None, *, python: bool) -> Problem | None:
    """The problem of an axis whose values hold a number or true/false in quotes, with the axis
    as it should be written: `key = [60, 90]` in a sweep file, `"key": [60, 90]` in Python
    (`python`). `spec` is the axis as given: a list, a dict of {label: value}, or one value."""
    if kind is None:
        return None
    labelled = isinstance(spec, Mapping)
    many = labelled or (not isinstance(spec, (str, bytes)) and hasattr(spec, "__iter__"))
    items = list(spec.items()) if labelled else [(None, v) for v in (spec if many else [spec])]
    quoted: list[str] = []
    fixed: list[tuple[Any, str]] = []
    for label, value in items:
        values = unquoted(value, kind)
        if values is not None and (kind == "boolean" or len(values) == 1):  # several: range syntax, an axis's own
            quoted.append(value)
            fixed.append((label, _literal(values[0], python)))
        else:
            fixed.append((label, _literal(value, python)))
    if not quoted:
        return None
    if labelled:
        sep = ": " if python else " = "
        shown = "{" + ", ".join(f"{json.dumps(str(label), ensure_ascii=False)}{sep}{text}" for label, text in fixed) + "}"
    else:
        shown = "[" + ", ".join(text for _, text in fixed) + "]"
    line = f"{json.dumps(key)}: {shown}" if python else f"{key} = {shown}"
    what = "a true/false parameter" if kind == "boolean" else "a number"
    texts = ", ".join(repr(q) for q in quoted[:3]) + (f" and {len(quoted) - 3} more" if len(quoted) > 3 else "")
    ranges = "" if kind == "boolean" else "; range syntax such as \"60-90 (+15)\" stays in quotes"
    return Problem(key, f"is {what}, and {texts} {'is' if len(quoted) == 1 else 'are'} text: write {line} "
                        f"(no quotes{ranges})", quoted[0])
