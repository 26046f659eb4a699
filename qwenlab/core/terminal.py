"""Frames as a terminal shows them: `qwenlab logs`, `search`, `costs` and a run's plan.

pandas is imported when a table is written, not with this module: `qwenlab --help` starts
without it (a third of a second)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["table_text"]


def table_text(df: "pd.DataFrame", display: Mapping[str, Any] | None = None, **options: Any) -> str:
    """`df.to_string(**options)` under pandas' `display` options (e.g. {"max_colwidth": 40}), as a
    terminal shows it: a Chinese, Japanese or Korean character takes two columns there, and pandas
    counted one, so a name such as "新年海报 v2" pushed the rest of its row out of line."""
    import pandas as pd

    settings = [x for name, value in (display or {}).items() for x in (f"display.{name}", value)]
    with pd.option_context(*settings, "display.unicode.east_asian_width", True):
        return df.to_string(**options)
