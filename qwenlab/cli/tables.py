"""Tables as a terminal shows them: the listings of `qwenlab logs` and `qwenlab search`.

Apart from `common`, which every command (and `qwenlab --help`, through `exits`) imports:
pandas, imported here, costs a third of a second to start."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["table_text"]


def table_text(df: pd.DataFrame, **options: Any) -> str:
    """`df.to_string(**options)` as a terminal shows it: a Chinese, Japanese or Korean character
    takes two columns there, and pandas counted one, so a name such as "新年海报 v2" pushed the
    rest of its row out of line."""
    with pd.option_context("display.unicode.east_asian_width", True):
        return df.to_string(**options)
