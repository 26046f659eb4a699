"""How qwenlab's widgets show in a notebook: the widget's own view, and as text (a saved
notebook, a console, nbconvert to text) a line saying what it holds instead of an object's address."""

from __future__ import annotations

from typing import Any

__all__ = ["with_text"]


def with_text(bundle: Any, text: str) -> Any:
    """`bundle` (a widget's `_repr_mimebundle_`: a dict, or ipywidgets' and anywidget's (data,
    metadata) pair) with `text` as its text/plain."""
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    if isinstance(data, dict):
        data["text/plain"] = text
    return bundle
