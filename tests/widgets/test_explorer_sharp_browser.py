"""The explorer's tiles in a real browser are never enlarged: each tile's picture has at least a
pixel for every device pixel it is drawn on. Thumbnails were 256 px: a portrait poster's 171 px
wide, drawn on a 150-CSS-px tile on a Retina screen (devicePixelRatio 2, 300 device pixels), was
enlarged 1.75 times, and its small text was soft, where a user scanning posters for a misspelled
headline reads the tiles. Tried on screens of 1, 2 and 3 device pixels per CSS pixel (a Retina
screen zoomed in to 150%: more than the tiles are first made for, so the browser must say so).

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep

# per tile picture: its own pixels across, and the device pixels it is drawn on across
_WIDTHS = """els => els.map(img => [img.naturalWidth, img.getBoundingClientRect().width * window.devicePixelRatio,
                                  img.complete])"""


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Portrait posters (1024x1536), promptExtend on and off, two repeats each, at the explorer's
    default tile width (150 CSS px)."""
    run_sweep(emulator, data_dir, name="posters", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False,
              size="1024x1536")
    return lab_notebook(tmp_path / "posters.ipynb", data_dir, "Lab().experiment('posters').explore(rows='', cols='promptExtend')")


@pytest.mark.slow
@pytest.mark.parametrize("ratio", [1, 2, 3])
def test_no_tile_picture_is_enlarged_on_the_screen(chromium: str, voila: str, tmp_path: Path, ratio: int) -> None:
    with chromium_page(chromium, voila, width=1200, height=900, timeout_ms=START_TIMEOUT_S * 1000,
                       scale=ratio) as (page, watch):
        tiles = page.locator(".qwl-tile img")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: tiles.count() == 4, 60, "four tiles")
        assert page.evaluate("window.devicePixelRatio") == ratio

        def sharp() -> bool:
            widths = tiles.evaluate_all(_WIDTHS)
            return all(done and natural >= drawn - 0.5 for natural, drawn, done in widths)

        def said() -> str:
            return ", ".join(f"{n} px drawn on {d:.0f}" for n, d, _ in tiles.evaluate_all(_WIDTHS))

        try:
            until(sharp, 30, "every tile's picture to have a pixel for each device pixel it is drawn on")
        except pytest.fail.Exception:
            pytest.fail(f"a tile's picture is enlarged at devicePixelRatio {ratio}: {said()}")
        widths = tiles.evaluate_all(_WIDTHS)
        assert all(d >= 150 * ratio - 1 for _, d, _ in widths), f"the tiles are narrower than thumb_px: {said()}"
        page.screenshot(path=str(tmp_path / f"explorer-tiles-dpr{ratio}.png"))  # to look at (in pytest's folder)
    assert not watch.errors, watch.errors
