"""Times handed over by SQLite packed into one text, parsed as a whole.

The sqlite3 module builds a Python object for each value it hands over, and on a log of a million
requests that is most of a cost summary's time. A query can instead hand over one text per group
of requests: `group_concat(time, ',')`. qwenlab writes every time in one format (`utc_now`:
`2026-03-01T12:00:00.123+00:00`, 29 ASCII characters, always UTC), so a packed text of n such times
is n records of 30 bytes, which numpy parses in C.

`parse_packed` checks that every record is exactly that shape before it parses: the separators sit
every 30 bytes and nowhere else (so no time is longer, shorter, missing or holds a comma), each
has digits and punctuation where the format has them and ends in `+00:00`, and numpy reads the
rest as a date and time (no 13th month). Anything else (a time another program wrote,
a NULL that group_concat left out) gives None, and the caller reads the times one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["parse_packed", "EXAMPLE", "TIME_WIDTH", "SEPARATOR"]

EXAMPLE = "2026-03-01T12:00:00.123+00:00"  # a time as utc_now writes it
# each byte of a time: a digit where the template has 9, else the template's own character
_TEMPLATE = b"9999-99-99T99:99:99.999+00:00"
TIME_WIDTH = len(_TEMPLATE)
SEPARATOR = ","
_LOCAL_WIDTH = _TEMPLATE.index(b"+")  # the time without its offset, as numpy parses it


def parse_packed(text: str, count: int, unit: str) -> "np.ndarray | None":
    """`count` times of qwenlab's format joined by SEPARATOR, as naive UTC `datetime64[unit]`
    values in their order; None when the text is not exactly that (see the module's docstring)."""
    import numpy as np

    if count <= 0:
        return None
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(data) != count * (TIME_WIDTH + 1) - 1:
        return None
    records = np.empty(count * (TIME_WIDTH + 1), dtype=np.uint8)
    records[:-1] = np.frombuffer(data, dtype=np.uint8)
    records[-1] = ord(SEPARATOR)
    records = records.reshape(count, TIME_WIDTH + 1)
    if not (records[:, TIME_WIDTH] == ord(SEPARATOR)).all():
        return None
    template = np.frombuffer(_TEMPLATE, dtype=np.uint8)
    digit = template == ord("9")
    shape = records[:, :TIME_WIDTH]
    if not (shape[:, ~digit] == template[~digit]).all() or not ((shape[:, digit] - ord("0")) < 10).all():
        return None  # (uint8: a byte below "0" wraps around above 9)
    local = np.ascontiguousarray(records[:, :_LOCAL_WIDTH]).view(f"S{_LOCAL_WIDTH}").ravel()
    try:
        return local.astype(f"datetime64[{unit}]")
    except ValueError:  # not a time numpy can read
        return None
