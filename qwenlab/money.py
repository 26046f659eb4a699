"""Dollars as qwenlab writes them, everywhere a figure is shown to a person: the bar, the
summaries, the costs tables and headlines, the notebooks' tables, the reports. A foundation (it
imports nothing of qwenlab), so that the progress bar and the layers above it share one rule.

The rule: a dollar sign, cents ("$4.80"), and more decimals only where cents would round money
away, up to a hundredth of a cent ("$0.075", "$0.0075", "$6.675"). A column of figures is written
with the decimals its most precise figure needs, so that its points line up. What is stored, and
what `--json` prints, stays a plain number.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["format_usd", "format_usd_column", "usd_decimals", "usd_option", "USD_DECIMALS"]

USD_DECIMALS = 4  # a hundredth of a cent: a per-image price such as $0.0075 is shown whole


def usd_decimals(amount: float) -> int:
    """The decimals `amount` needs: 2 (cents) to `USD_DECIMALS`, the fewest that show it as it is
    to a hundredth of a cent."""
    exact = round(abs(amount), USD_DECIMALS)
    for decimals in range(2, USD_DECIMALS):
        if round(exact, decimals) == exact:
            return decimals
    return USD_DECIMALS


def format_usd(amount: float, decimals: int | None = None) -> str:
    """Dollars as a person reads them: "$1.20", "$4.80", but "$0.075", "$0.0075" and "$6.675"
    where cents would round part of a cent away (an image costs $0.075: "$0.07" undersold it);
    "-$0.15" below zero. `decimals`: that many, for figures shown together (`format_usd_column`)."""
    places = usd_decimals(amount) if decimals is None else decimals
    text = f"${abs(amount):,.{places}f}"
    return f"-{text}" if amount < 0 and text.strip("$0.,") else text


def usd_option(amount: float, *, up: bool = False) -> str:
    """Dollars as a command's option takes them (`--budget 1234.50`): a plain number, no dollar
    sign and no thousands comma (format_usd's "1,234.50" was refused as "not a valid float"), to
    a hundredth of a cent; `up`: rounded up there, for an amount that must be enough."""
    scaled = round(amount * 10**USD_DECIMALS, 6)  # 2.005 is 20050.000000000004 in floats: not a step more
    value = (math.ceil(scaled) if up else round(scaled)) / 10**USD_DECIMALS
    return f"{value:.{usd_decimals(value)}f}"


def format_usd_column(amounts: Iterable[Any], missing: str = "") -> list[str]:
    """A column of dollars, each with the decimals the most precise of them needs ("$4.80" and
    "$0.075" read "$4.800" and "$0.075" in one column); `missing` for a None or NaN."""
    values = list(amounts)
    present = [float(v) for v in values if v is not None and v == v]
    places = max((usd_decimals(v) for v in present), default=2)
    return [missing if v is None or v != v else format_usd(float(v), places) for v in values]
