"""The zoom ladder both full-size views share: `zoom.js`, the text the report's lightbox script
(`qwenlab.html.viewer`) and the notebook's compare viewer (`qwenlab.widgets.compare`) each put
before their own. One text, so that + and -, the 1:1 and 2:1 stops, the image put on whole device
pixels there and the sharp pixels from 2:1 on are the same in both, and a change to one is a
change to both.

    ZOOM_JS      # plain function declarations: dpr, ladderStep, percent, wholePixels, pixelShift, rendering
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ZOOM_JS"]

ZOOM_JS = (Path(__file__).resolve().parent / "zoom.js").read_text(encoding="utf-8")
