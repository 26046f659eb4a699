"""Frames as a terminal shows them: `qwenlab logs`, `search`, `costs` and a run's plan.

pandas is imported when a table is written, not with this module: `qwenlab --help` starts
without it (a third of a second)."""

from __future__ import annotations

import os
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["table_text", "terminal_width", "fit_column", "shown_width"]


def table_text(df: "pd.DataFrame", display: Mapping[str, Any] | None = None, **options: Any) -> str:
    """`df.to_string(**options)` under pandas' `display` options (e.g. {"max_colwidth": 40}), as a
    terminal shows it: a Chinese, Japanese or Korean character takes two columns there, and pandas
    counted one, so a name such as "新年海报 v2" pushed the rest of its row out of line."""
    import pandas as pd

    settings = [x for name, value in (display or {}).items() for x in (f"display.{name}", value)]
    with pd.option_context(*settings, "display.unicode.east_asian_width", True):
        return df.to_string(**options)


def terminal_width() -> int | None:
    """The columns of the terminal the command writes to: $COLUMNS where it is set to a number,
    else the terminal's own width; None when stdout is no terminal (a file, a pipe), where
    nothing needs to fit."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout
    try:
        if stream is None or not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):  # a stream with no file behind it (a notebook's, a test's)
        return None


def shown_width(text: str) -> int:
    """How many terminal columns `text` takes: two for a wide or full-width character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit_column(df: "pd.DataFrame", column: str, width: int | None, *, least: int = 20) -> "pd.DataFrame":
    """`df` with the texts of `column` cut (ending in "…") so that `table_text(df, index=False)`
    is no wider than `width` terminal columns, `column` keeping at least `least` of them (on a
    narrow terminal the other columns wrap: they are not cut). Unchanged when `width` is None
    or everything fits."""
    if width is None or df.empty:
        return df
    rest = max(map(shown_width, table_text(df.assign(**{column: ""}), index=False).splitlines()))
    room = max(width - (rest - shown_width(str(column))), least)
    texts = df[column].map(lambda v: v if not isinstance(v, str) else _cut(v, room))
    return df.assign(**{column: texts})


def _cut(text: str, room: int) -> str:
    """`text` in at most `room` terminal columns, its last one "…" where it was cut."""
    if shown_width(text) <= room:
        return text
    kept, used = [], 1  # the "…" takes one
    for ch in text:
        used += shown_width(ch)
        if used > room:
            break
        kept.append(ch)
    return "".join(kept) + "…"
