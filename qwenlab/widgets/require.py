"""The one way a widget asks for ipywidgets or anywidget: the module, or an error that says how to
install it."""

from __future__ import annotations

from typing import Any

from ..errors import WidgetsMissingError

__all__ = ["require_ipywidgets", "require_anywidget"]


def require_ipywidgets() -> Any:
    """The ipywidgets module, or WidgetsMissingError saying how to install it."""
    try:
        import ipywidgets
    except ImportError:
        raise WidgetsMissingError("this view needs ipywidgets: `pip install ipywidgets` in the notebook's environment, "
                                  "then restart the kernel") from None
    return ipywidgets


def require_anywidget(needed_by: str) -> tuple[Any, Any]:
    """The anywidget and traitlets modules, or WidgetsMissingError saying that `needed_by` ("the
    explorer", "keyboard shortcuts") needs anywidget, and how to install it."""
    try:
        import anywidget
        import traitlets
    except ImportError:
        raise WidgetsMissingError(f"{needed_by} {'need' if needed_by.endswith('s') else 'needs'} anywidget: "
                                  "`pip install anywidget` in the notebook's environment, then restart the kernel") from None
    return anywidget, traitlets
