"""The browser's device pixel ratio, told to the kernel: how many screen pixels a CSS pixel is.

    ratio = PixelRatio()
    ratio.on_change(lambda r: ...)    # 2.0 on a Retina screen, 2.5 at 125% zoom on it, 1.0 on most monitors
    box = ipywidgets.VBox([ratio.widget, ...])

A small hidden anywidget: in the browser it reads `window.devicePixelRatio` and sends it, and sends
it again when it changes (the browser's zoom, the window moved to another screen). The kernel makes
pictures for a size on the page (the explorer's tiles, `qwenlab.widgets.tiles`) with as many
pixels as the screen will draw them on; a picture of one pixel per CSS pixel, drawn on a screen of
two, was enlarged, and the small text of a poster was soft.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from .require import require_anywidget

__all__ = ["PixelRatio"]

_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  let query = null;
  const report = () => {
    const ratio = window.devicePixelRatio || 1;
    if (model.get("ratio") !== ratio) {
      model.set("ratio", ratio);
      model.save_changes();
    }
    // a media query of this very ratio changes when the ratio does (zoom, another screen)
    if (query) query.removeEventListener("change", report);
    query = window.matchMedia(`(resolution: ${ratio}dppx)`);
    query.addEventListener("change", report);
  };
  report();
  return () => { if (query) query.removeEventListener("change", report); };
}
export default { render };
"""


@functools.cache
def _widget_class() -> type:
    """The anywidget class, made on first use (anywidget is imported only by widgets that need it)."""
    anywidget, traitlets = require_anywidget("the explorer")

    class PixelRatioWidget(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = _ESM
        ratio = traitlets.Float(0.0).tag(sync=True)  # 0: not told yet (no browser has shown it)

    return PixelRatioWidget


class PixelRatio:
    """The device pixel ratio of the browser showing `widget` (see the module docstring)."""

    def __init__(self) -> None:
        w = _widget_class()
        self.widget = w()
        self.widget.layout.display = "none"
        self._handlers: list[Callable[[float], Any]] = []
        self.widget.observe(self._changed, names="ratio")

    @property
    def ratio(self) -> float | None:
        """The ratio the browser told; None until one has shown the widget."""
        return float(self.widget.ratio) if self.widget.ratio > 0 else None

    def on_change(self, handler: Callable[[float], Any]) -> None:
        """Call `handler(ratio)` whenever the browser tells a new ratio."""
        self._handlers.append(handler)

    def _changed(self, change: dict[str, Any]) -> None:
        if change["new"] and change["new"] > 0:
            for handler in self._handlers:
                handler(float(change["new"]))

    def close(self) -> None:
        self.widget.close()
