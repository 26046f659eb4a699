"""Dollars as qwenlab writes them, everywhere a figure is shown: the bar, the summaries, the
costs. A foundation (it imports nothing of qwenlab), so that the progress bar and the layers
above it share one rule."""

from __future__ import annotations

__all__ = ["format_usd"]


def format_usd(amount: float) -> str:
    """Dollars as a person reads them: "$1.20", "$4.80", but "$0.075" and "$6.675" where cents
    would round a tenth of a cent away (an image costs $0.075: "$0.07" undersold it)."""
    cents = round(amount, 2) == round(amount, 3)
    return f"${amount:,.2f}" if cents else f"${amount:,.3f}"
