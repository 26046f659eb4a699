"""The range syntax for numeric axes: `expand_range("60-90 (+15)")` -> [60, 75, 90].

Range syntax (after AUTOMATIC1111's X/Y/Z plot), for a numeric axis given as a string, values
separated by commas:  `1-5` -> 1,2,3,4,5;  `1-9 (+2)` -> 1,3,5,7,9;  `10-1 (-3)` -> 10,7,4,1;
`0-1 [5]` -> 0, 0.25, 0.5, 0.75, 1 (five evenly spaced values);  `3, 7-8` -> 3,7,8.
"""

from __future__ import annotations

import math
import re

__all__ = ["expand_range"]

_NUM = r"[+-]?\s*(?:\d+(?:\.\d*)?|\.\d+)"
_STEP = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*\(\s*([+-]\s*(?:\d+(?:\.\d*)?|\.\d+))\s*\)\s*$")
_COUNT = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*\[\s*(\d+)\s*\]\s*$")
_PLAIN = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*$")
_SINGLE = re.compile(rf"^\s*({_NUM})\s*$")
_MAX_VALUES = 10_000  # a typo such as 1-1000000 should fail, not allocate a million cells


def _num(text: str) -> int | float:
    text = text.replace(" ", "")
    return float(text) if any(c in text for c in ".eE") else int(text)


def expand_range(text: str, *, integer: bool | None = None) -> list[int | float]:
    """Expand range syntax into a list of numbers.

    `integer=True` (an integer parameter) gives ints: a number written with a fraction is refused
    (the value sent would not be the one written: `numberResults = "1.5"` would buy 2 images), and
    only the evenly spaced values of `[n]` between whole ends are rounded. `False` keeps floats;
    None infers: ints when every number written is an int (and `[n]` lands on whole numbers).
    Raises ValueError naming the part it cannot read and the accepted forms.
    """
    out: list[int | float] = []
    for part in str(text).split(","):
        if not part.strip():
            continue
        values = _expand_part(part, integer)
        out.extend(values)
        if len(out) > _MAX_VALUES:
            raise ValueError(f"range {text!r} expands to more than {_MAX_VALUES} values; narrow it")
    if not out:
        raise ValueError(f"range {text!r} is empty; write e.g. '1-5', '1-9 (+2)' or '0-1 [5]'")
    if integer:
        return [int(round(v)) for v in out]
    return out


def _whole(part: str, integer: bool | None, *numbers: int | float) -> None:
    """Refuse a number with a fraction written for an integer parameter: rounded, it would be sent
    as another value than the one written, without a word."""
    if integer and any(not float(n).is_integer() for n in numbers):
        bad = next(n for n in numbers if not float(n).is_integer())
        raise ValueError(f"range {part.strip()!r}: {bad:g} is not a whole number, and this parameter takes whole numbers "
                         f"only; write {math.floor(bad)} or {math.ceil(bad)} in its place")


def _expand_part(part: str, integer: bool | None) -> list[int | float]:
    if m := _STEP.match(part):
        start, end, step = _num(m.group(1)), _num(m.group(2)), _num(m.group(3))
        _whole(part, integer, start, end, step)
        if step == 0 or (end - start) * step < 0:
            raise ValueError(f"range {part.strip()!r}: the step {step:+g} never reaches {end:g} from {start:g}")
        n = int((end - start) / step + 1e-9) + 1
        if n > _MAX_VALUES:
            raise ValueError(f"range {part.strip()!r} expands to {n} values; narrow it")
        vals = [start + i * step for i in range(n)]
        return [round(v, 10) if isinstance(v, float) else v for v in vals]
    if m := _COUNT.match(part):
        start, end, count = _num(m.group(1)), _num(m.group(2)), int(m.group(3))
        _whole(part, integer, start, end)  # the values between are rounded: [n] asks for spacing, not values
        if count < 1 or count > _MAX_VALUES:
            raise ValueError(f"range {part.strip()!r}: the count in [n] must be 1 to {_MAX_VALUES}")
        if count == 1:
            return [start]
        vals = [start + (end - start) * i / (count - 1) for i in range(count)]
        whole = all(float(v).is_integer() for v in vals) and isinstance(start, int) and isinstance(end, int)
        if integer is None and whole:
            return [int(v) for v in vals]
        return [round(v, 10) for v in vals]
    if m := _PLAIN.match(part):
        start, end = _num(m.group(1)), _num(m.group(2))
        _whole(part, integer, start, end)
        if not (isinstance(start, int) and isinstance(end, int)):
            raise ValueError(f"range {part.strip()!r} has decimals; give a step '(+0.1)' or a count '[5]'")
        step = 1 if end >= start else -1
        if abs(end - start) + 1 > _MAX_VALUES:
            raise ValueError(f"range {part.strip()!r} expands to {abs(end - start) + 1} values; narrow it")
        return list(range(start, end + step, step))
    if m := _SINGLE.match(part):
        _whole(part, integer, _num(m.group(1)))
        return [_num(m.group(1))]
    raise ValueError(
        f"cannot read {part.strip()!r} as a number or a range; write '1-5', '1-9 (+2)', '10-1 (-3)' or '0-1 [5]', "
        "separated by commas")


# -- TOML sweeps ----------------------------------------------------------------------------------

