""""fit" in the compare viewer follows the zoom ladder's rule: where the fitted scale is a whole
number of device pixels from 2:1 up (a 400-px-tall image in a 400-CSS-px pane on a Retina screen,
devicePixelRatio 2: each image pixel 2 x 2 device pixels), each image pixel is a sharp square, as
at 2:1 reached with +; at devicePixelRatio 1 the same fit is 1:1, the file's own pixels. A
checkerboard of single pixels must come out black and white, not grey.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.browser import START_TIMEOUT_S, checkerboard, chromium_page, lab_notebook, serve_voila, until
from tests.widgets.test_compare_pixels_browser import _grey, _middle


@pytest.fixture
def voila(chromium: str, data_dir: Path, tmp_path: Path) -> Iterator[str]:

    checkerboard(501, 400).convert("RGB").save(tmp_path / "checker.png")  # as tall as the pane (height=400), narrower: fitted at one image pixel a CSS pixel
    notebook = lab_notebook(tmp_path / "checker.ipynb", data_dir,
                            f"compare_files([{str(tmp_path / 'checker.png')!r}], height=400)",
                            imports="from qwenlab.widgets import compare_files")
    with serve_voila(notebook, tmp_path) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_fit_at_whole_device_pixels_shows_sharp_pixels(chromium: str, voila: str, tmp_path: Path, scale: int) -> None:
    from PIL import Image

    with chromium_page(chromium, voila, width=1100, height=800, timeout_ms=START_TIMEOUT_S * 1000,
                       scale=scale) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        pane = viewer.locator(".qwl-cmp-pane").first
        viewer.locator(".qwl-cmp-pane").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: viewer.locator("img.qwl-cmp-img").evaluate_all(
            "els => els.length === 1 && els[0].complete && els[0].naturalWidth > 0 && els[0].dataset.full === '1'"),
            30, "the image to load")
        assert pane.evaluate("e => e.clientHeight") == 400
        until(lambda: viewer.locator(".qwl-cmp-readout").inner_text() == f"{scale}00%", 10, f"fitted at {scale}:1")
        shot = _middle(page, pane, half=50)
        Image.open(io.BytesIO(shot)).save(tmp_path / f"fit-x{scale}.png")  # to look at
        page.screenshot(path=str(tmp_path / f"fit-page-x{scale}.png"))
        smeared, black = _grey(shot)
        assert smeared < 0.01, f"fitted at {scale}:1, devicePixelRatio {scale}: {smeared:.0%} of the pixels grey"
        assert black == pytest.approx(0.5, abs=0.02)  # the checkerboard itself
    assert not watch.errors, watch.errors
