"""Dollars as qwenlab writes them, everywhere a figure is shown to a person: the bar, the
summaries, the costs tables and headlines, the notebooks' tables, the reports. A foundation (it
imports nothing of qwenlab), so that the progress bar and the layers above it share one rule.

The rule: a dollar sign, cents ("$4.80"), and more decimals only where cents would round money
away, up to a hundredth of a cent ("$0.075", "$0.0075", "$6.675"). A column of figures is written
with the decimals its most precise figure needs, so that its points line up. What is stored, and
what `--json` prints, stays a plain number.

A figure worked out as a ratio or an average of money (what a correctly rendered image or a kept
image cost: the spend divided by a count) is not a price anyone was charged: it is an estimate,
whose own interval spans cents. The money rule wrote it to a hundredth of a cent ("$0.1333 [$0.0835,
$0.1485]", digits that mean nothing, beside a "$0.10"); `format_usd_estimate` writes it to three
significant digits, cents plus one digit where such figures sit ("$0.133", "$0.100"), and never
fewer than cents nor more than a hundredth of a cent, so a cheap model's $0.0075 still reads whole;
figures shown together (a column, an estimate and its interval) take the decimals of the largest.
A frame says which of its columns are dollars by name (`*_usd`, `usd_*`) or in
`df.attrs[USD_COLUMNS]` ({column: "price" or "estimate"}), for columns named otherwise.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["fewest_decimals", "format_usd", "format_usd_column", "format_usd_estimate", "format_usd_estimates", "usd_decimals",
           "usd_estimate_decimals", "usd_option", "USD_DECIMALS", "USD_COLUMNS", "ESTIMATE_DIGITS"]

USD_DECIMALS = 4  # a hundredth of a cent: a per-image price such as $0.0075 is shown whole
ESTIMATE_DIGITS = 3  # a ratio of money: its interval is cents wide, a fourth digit would be noise
USD_COLUMNS = "usd_columns"  # a frame's attrs key: {column: "price" | "estimate"}, dollars not named *_usd


def fewest_decimals(value: float, least: int, most: int) -> int:
    """The fewest decimals, from `least` to `most`, that show `value` as it is to `most` of them:
    what a column of figures takes from its most precise one, so that its points line up."""
    exact = round(abs(value), most)
    return next((d for d in range(least, most) if round(exact, d) == exact), most)


def usd_decimals(amount: float) -> int:
    """The decimals `amount` needs: 2 (cents) to `USD_DECIMALS`, the fewest that show it as it is
    to a hundredth of a cent."""
    return fewest_decimals(amount, 2, USD_DECIMALS)


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


def usd_estimate_decimals(amount: float) -> int:
    """The decimals that write `amount`, a ratio or an average of money, to `ESTIMATE_DIGITS`
    significant digits: 3 from ten cents to a dollar ("$0.133"), 4 below ("$0.0874"), 2 from a
    dollar up ("$1.33"), never more than `USD_DECIMALS`."""
    size = abs(amount)
    if not size or not math.isfinite(size):
        return 2
    return min(max(ESTIMATE_DIGITS - 1 - math.floor(math.log10(size)), 2), USD_DECIMALS)


def format_usd_estimate(amount: float, decimals: int | None = None) -> str:
    """A ratio or an average of money as a person reads it: "$0.133" (not "$0.1333"), "$0.100"
    (its third digit kept, as its neighbours'), "$0.0874"; `decimals`: that many."""
    return format_usd(amount, usd_estimate_decimals(amount) if decimals is None else decimals)


def format_usd_estimates(amounts: Iterable[Any], missing: str = "", infinite: str = "no bound", *,
                         among: Iterable[Any] = ()) -> list[str]:
    """Ratios of money shown together (a table's column; an estimate and its interval in a line:
    "$0.133 [$0.098, $0.226]") with one number of decimals, those of the largest of them: to three
    significant digits of it, so that no figure shows digits the largest has no use for (the
    most precise one's, as a column of prices takes, wrote "$0.1091" beside "$0.0874").
    `missing` for a None or NaN, `infinite` for an infinity (a cost per correct image where none
    was correct; the upper bound where the share of correct images may be 0). `among`: more figures
    shown with these, whose largest counts too (a table's estimate, lo and hi columns, which read
    "$0.114", "$0.0942", "$0.155" each on its own, as one line writes them: "$0.094")."""
    values = list(amounts)
    finite = [abs(float(v)) for v in [*values, *among] if v is not None and v == v and math.isfinite(float(v))]
    places = usd_estimate_decimals(max(finite, default=0.0)) if finite else 2

    def shown(v: Any) -> str:
        if v is None or v != v:
            return missing
        return format_usd(float(v), places) if math.isfinite(float(v)) else infinite

    return [shown(v) for v in values]
