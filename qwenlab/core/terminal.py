"""Frames as a terminal shows them: `qwenlab logs`, `search`, `costs` and a run's plan.

pandas is imported when a table is written, not with this module: `qwenlab --help` starts
without it (a third of a second)."""

from __future__ import annotations

import os
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["table_text", "terminal_width", "fit_table", "shown_width"]


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


def fit_table(df: "pd.DataFrame", free: Sequence[str], width: int | None, *, least: int = 20,
              display: Mapping[str, Any] | None = None, **options: Any) -> "pd.DataFrame":
    """`df` with its free text cut (ending in "…") so that `table_text(df, display, **options)` is
    no wider than `width` terminal columns: the widest of the columns or index levels named in
    `free` (a prompt, a name, an axis's labels) gets the columns the others leave, keeping at least
    `least`; where that is not enough, the next widest is cut too. Numbers, dates and the other
    columns are never cut (on a narrow terminal they wrap). Unchanged when `width` is None (a file,
    a pipe: `terminal_width()`) or everything fits. `qwenlab logs`, `costs` and `search` share it."""
    if width is None or df.empty:
        return df
    named = [n for n in dict.fromkeys(free) if n in df.columns or n in df.index.names]
    for name in sorted(named, key=lambda n: _widest(df, n), reverse=True):  # stable: ties keep `free`'s order
        if _table_width(df, display, options) <= width:
            break
        df = _fit_one(df, name, width, least, display, options)
    return df


def _values(df: "pd.DataFrame", name: str) -> list[Any]:
    return list(df[name]) if name in df.columns else list(df.index.get_level_values(name))


def _widest(df: "pd.DataFrame", name: str) -> int:
    return max((shown_width(v) for v in _values(df, name) if isinstance(v, str)), default=0)


def _table_width(df: "pd.DataFrame", display: Mapping[str, Any] | None, options: Mapping[str, Any]) -> int:
    return max(map(shown_width, table_text(df, display, **options).splitlines()), default=0)


def _mapped(df: "pd.DataFrame", name: str, change: Any) -> "pd.DataFrame":
    """`df` with `change` applied to each text of column or index level `name`."""
    def one(v: Any) -> Any:
        return change(v) if isinstance(v, str) else v

    if name in df.columns:
        return df.assign(**{name: df[name].map(one)})
    return df.rename(index=one, level=name)


def _fit_one(df: "pd.DataFrame", name: str, width: int, least: int, display: Mapping[str, Any] | None,
             options: Mapping[str, Any]) -> "pd.DataFrame":
    """`df` with the texts of `name` cut to what the rest of the table leaves of `width`."""
    # the table with the texts blank is as wide as the rest plus the header's own name there
    rest = _table_width(_mapped(df, name, lambda _: ""), display, options) - shown_width(str(name))
    room = max(width - rest, least)
    fitted = _mapped(df, name, _shortener(_values(df, name), room))
    # pandas' own spacing (an index's name on a line of its own) can leave a column or two over:
    # give them up too, down to `least`
    for _ in range(3):
        over = _table_width(fitted, display, options) - width
        if over <= 0 or room <= least:
            break
        room = max(room - over, least)
        fitted = _mapped(df, name, _shortener(_values(df, name), room))
    return fitted


def _shortener(values: list[Any], room: int) -> Any:
    """A function cutting each text of `values` to `room` columns: at its end, or, for texts whose
    ends alone would read alike ("spring-campaign-…" for "spring-campaign-1" and "-2"), in the
    middle, so that their ends show ("spring-ca…ign-1"): two experiments must not look like one
    (pandas even leaves a repeated index label blank)."""
    texts = {v for v in values if isinstance(v, str)}
    cut = {v: _cut(v, room) for v in texts}
    seen: dict[str, int] = {}
    for short in cut.values():
        seen[short] = seen.get(short, 0) + 1
    for v in texts:
        if seen[cut[v]] > 1:
            cut[v] = _cut_middle(v, room)
    return lambda v: cut.get(v, v)


def _cut_middle(text: str, room: int) -> str:
    """`text` in at most `room` terminal columns: its start and its end, "…" between."""
    if shown_width(text) <= room:
        return text
    tail: list[str] = []
    used = 1 + (room - 1) // 2  # the "…" and the start's share
    for ch in reversed(text):
        if used + shown_width(ch) > room:
            break
        used += shown_width(ch)
        tail.append(ch)
    end = "".join(reversed(tail))
    return _cut(text[: len(text) - len(end)], room - shown_width(end)) + end


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
