"""What experiments cost: pandas frames (`Costs`), the SQL behind them, and plots of them."""

from .frames import BUILTIN_KEYS, PRICE_TOLERANCE_USD, Costs, format_table

__all__ = ["Costs", "BUILTIN_KEYS", "PRICE_TOLERANCE_USD", "format_table"]
