"""The one way a widget asks for ipywidgets: the module, or an error that says how to install it."""

from __future__ import annotations

from typing import Any

from ..errors import WidgetsMissingError

__all__ = ["require_ipywidgets"]


def require_ipywidgets() -> Any:
    """The ipywidgets module, or WidgetsMissingError saying how to install it."""
    try:
        import ipywidgets
    except ImportError:
        raise WidgetsMissingError("this view needs ipywidgets: `pip install ipywidgets` in the notebook's environment, "
                                  "then restart the kernel") from None
    return ipywidgets
