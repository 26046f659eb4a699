"""Arrow keys for a view, through anywidget: a hidden widget placed inside the view's box (which
carries the `qwenlab-keys` class) that forwards ArrowLeft/Right/Up/Down, PageUp/Down, Home and End
pressed while focus is anywhere in that box (text fields excepted) to a Python callback.

    keys = KeyListener(lambda key: ...)
    box = ipywidgets.VBox([keys.widget, ...]); box.add_class(KEYS_CLASS)
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

__all__ = ["KeyListener", "KEYS_CLASS"]

KEYS_CLASS = "qwenlab-keys"
_HERE = Path(__file__).resolve().parent


@functools.cache
def _widget_class() -> type:
    import anywidget

    class KeysWidget(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = _HERE / "keys.js"

    return KeysWidget


class KeyListener:
    """Calls `on_key(key)` (the DOM key name, e.g. "ArrowRight") for each key pressed in the view."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.widget = _widget_class()()
        self.widget.on_msg(lambda _w, content, _buffers: self._receive(on_key, content))

    @staticmethod
    def _receive(on_key: Callable[[str], None], content: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("key"), str):
            on_key(content["key"])
