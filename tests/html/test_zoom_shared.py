"""The zoom ladder of the report's lightbox and of the compare viewer is one text
(`qwenlab/html/zoom.js`), put in both, not two copies that drift apart."""

from __future__ import annotations

from pathlib import Path

from qwenlab.html.viewer import SCRIPT, script_hash
from qwenlab.html.zoom import ZOOM_JS
from qwenlab.widgets import compare

SHARED = ("function ladderStep(", "function percent(", "function wholePixels(", "function rendering(", "function dpr(",
          "function pixelShift(")


def test_the_lightbox_and_the_compare_viewer_run_the_same_zoom_code() -> None:
    esm = compare._widget_class.__wrapped__()._esm  # a class of its own: the cached one is left as it was
    for name in SHARED:
        assert ZOOM_JS.count(name) == 1, name
        assert SCRIPT.count(name) == 1 and esm.count(name) == 1, f"{name} defined apart from zoom.js"
    assert ZOOM_JS in SCRIPT and esm.startswith(ZOOM_JS)
    # compare.js itself defines none of them: it runs after zoom.js
    own = (Path(compare.__file__).parent / "compare.js").read_text(encoding="utf-8")
    assert not any(name in own for name in SHARED)
    assert script_hash().startswith("'sha256-")  # the report's CSP allows the script with the ladder in it
