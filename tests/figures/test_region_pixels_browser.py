"""A grid of regions shows in a notebook at its own pixels: one image pixel per pixel of the screen,
in headless Chromium, on a screen of one device pixel per CSS pixel, on a Retina one
(devicePixelRatio 2) and on a phone's (3). It was laid out at its size in CSS pixels, so that on a
Retina screen every image pixel was drawn on 2 x 2 device pixels, enlarged and smoothed: the small
text it is made to read was not as sharp as in the file, unlike the report's lightbox and the
compare viewer at 1:1. A media query on the resolution now lays it out 1/ratio CSS pixels an image
pixel, with no script (a notebook's outputs may be untrusted, their scripts not run); where a
sanitizer drops the <style>, it stays at its CSS size, enlarged but readable."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from qwenlab.figures.grid import build_grid
from qwenlab.figures.pages import PIXEL_MULTIPLE, PIXEL_RATIOS, even_jpeg
from tests.html.test_report_browser import _open
from tests.support.labkit import run_sweep


@pytest.fixture
def regions(emulator: Any, data_dir: Path) -> Any:
    exp = run_sweep(emulator, data_dir, name="region-pixels", axes={"promptExtend": [True, False], "size": ["512x768", "768x512"]},
                   fail_one=False)
    return build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.3))


def _shown(html: str) -> np.ndarray:
    """The pixels of the JPEG a notebook output embeds, as PIL decodes them (RGB)."""
    data = base64.b64decode(re.search(r"data:image/jpeg;base64,([^']+)'", html).group(1))
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def test_a_page_shown_at_its_own_pixels_is_padded_to_whole_css_pixels_at_every_ratio(regions: Any) -> None:
    """At devicePixelRatio 2 an image 2,917 pixels wide is laid out 1,458.5 CSS pixels wide, and
    Chromium drew it on 2,918 device pixels, every pixel smoothed: the JPEG is padded with the
    page's background to a multiple of 2, 3 and 4 pixels a side."""
    figure = regions.pages[0].figure
    with Image.open(io.BytesIO(even_jpeg(figure, 4000, 85))) as shown:
        assert PIXEL_RATIOS == (2, 3, 4) and all(shown.width % r == 0 and shown.height % r == 0 for r in PIXEL_RATIOS)
        drawn = figure.get_figwidth() * figure.dpi, figure.get_figheight() * figure.dpi
        assert 0 <= shown.width - drawn[0] < PIXEL_MULTIPLE + 1 and 0 <= shown.height - drawn[1] < PIXEL_MULTIPLE + 1
        corner = np.asarray(shown.convert("L"))[-1, -1]
        assert corner > 245  # the padding is the page's white, not black


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_a_grid_of_regions_shows_one_image_pixel_per_screen_pixel(chromium: str, regions: Any, tmp_path: Path,
                                                                   scale: int) -> None:
    html = regions._repr_html_()
    expected = _shown(html)
    page_path = tmp_path / "grid.html"
    page_path.write_text(f"<!doctype html><html><body style='margin:0'>{html}</body></html>", encoding="utf-8")
    # what JupyterLab's sanitizer leaves of an untrusted output: no <style>, the inline styles kept
    bare_path = tmp_path / "untrusted.html"
    bare_path.write_text(re.sub(r"<style>.*?</style>", "", page_path.read_text(encoding="utf-8")), encoding="utf-8")
    measure = "e => ({natural: e.naturalWidth, width: e.getBoundingClientRect().width, dpr: window.devicePixelRatio})"

    def run(page: Any) -> dict[str, Any]:
        img = page.locator("img")
        page.wait_for_function("() => document.querySelector('img').naturalWidth > 0")
        seen = img.evaluate(measure)
        # a patch of the image, on whole CSS pixels, in the screen's own pixels
        box = img.bounding_box()
        clip = {"x": 40, "y": 40, "width": min(600, int(box["width"]) - 80), "height": min(500, int(box["height"]) - 80)}
        shot = page.screenshot(clip=clip, scale="device")
        Image.open(io.BytesIO(shot)).save(tmp_path / f"region-grid-x{scale}.png")
        page.screenshot(path=str(tmp_path / f"region-grid-page-x{scale}.png"))
        seen["screen"] = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        page.goto(bare_path.as_uri())
        page.wait_for_function("() => document.querySelector('img').naturalWidth > 0")
        seen["untrusted"] = img.evaluate(measure)
        return seen

    seen, _, errors = _open(chromium, page_path, run, scale=scale)
    assert not errors, errors
    assert seen["dpr"] == scale and seen["natural"] == expected.shape[1]
    assert seen["width"] * scale == seen["natural"], seen  # one image pixel per device pixel
    # and the screen shows the file's pixels, not smoothed ones: Chromium's and Pillow's decoding of
    # the JPEG agree to the level; a page 3,197 pixels wide laid out 1,598.5 CSS pixels wide at
    # devicePixelRatio 2 (not padded) was smoothed, 3.3 levels off on average
    screen = seen["screen"]
    patch = expected[40 * scale:40 * scale + screen.shape[0], 40 * scale:40 * scale + screen.shape[1]]
    assert patch.shape == screen.shape and patch.std() > 20  # the patch holds text and images, not blank page
    assert np.abs(screen - patch).mean() < 1, np.abs(screen - patch).mean()
    # a sanitizer's notebook (no <style>): at its CSS size, enlarged on a dense screen, never halved
    assert seen["untrusted"]["width"] == seen["natural"]
