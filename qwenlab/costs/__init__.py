"""What experiments cost: pandas frames (`Costs`), the SQL behind them, and plots of them."""

from .frames import Costs
from .prices import PRICE_TOLERANCE_USD
from .query import BUILTIN_KEYS
from .summary import format_table, readable

__all__ = ["Costs", "BUILTIN_KEYS", "PRICE_TOLERANCE_USD", "format_table", "readable"]
