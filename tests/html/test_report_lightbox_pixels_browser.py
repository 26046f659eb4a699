"""The report's lightbox at 1:1 shows the file's own pixels, in headless Chromium, on a screen of one
device pixel per CSS pixel and on a Retina one (devicePixelRatio 2), for originals of odd width and
height (checkerboards of single pixels), one smaller than the window at 1:1 and one larger. On the
Retina screen the lightbox laid a 701-px image out 350.5 CSS pixels wide: the browser drew it on
whole CSS pixels, 702 device pixels, and the checkerboard came out grey (small text, opened at 1:1
to be read, blurred). It is now laid out at its device size and scaled by 1/dpr, as the compare
viewer draws its images, and placed on whole device pixels with the compare viewer's own rounding
(`pixelShift` of qwenlab/html/zoom.js)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwenlab.html.viewer import SCRIPT
from qwenlab.html.zoom import ZOOM_JS
from tests.html.test_report_browser import _open
from tests.support.browser import checkerboard, lightbox_middle
from tests.support.labkit import run_sweep

# odd widths and heights: one smaller than the window at 1:1 (centred, whole), one larger (in its
# scrolling frame, centred on its middle)
SIZES = [(701, 501), (2047, 1535)]


def test_the_lightbox_places_its_image_with_the_zoom_code_it_shares() -> None:
    assert ZOOM_JS.count("function pixelShift(") == 1 and SCRIPT.count("function pixelShift(") == 1
    assert "pixelShift(" in SCRIPT.replace(ZOOM_JS, "")  # called by the lightbox itself


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_one_to_one_in_the_lightbox_shows_an_odd_sized_images_own_pixels(chromium: str, emulator: Any, data_dir: Path,
                                                                        tmp_path: Path, scale: int) -> None:

    exp = run_sweep(emulator, data_dir, name="pixels", axes={"size": ["1024x1536", "1536x1024"]}, repeats=1,
                    fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)
    originals = sorted((path.parent / "report_files").iterdir())
    assert len(originals) == len(SIZES)
    for original, (w, h) in zip(originals, SIZES):
        checkerboard(w, h).save(original, format="PNG")

    def middle(page: Any, name: str) -> tuple[float, float]:
        return lightbox_middle(page, tmp_path / f"{name}-x{scale}.png")

    def run(page: Any) -> list[dict[str, Any]]:
        big, level = page.locator("#qwl-lightbox img"), page.locator("#qwl-lightbox .level")
        page.locator("#requests img.thumb").first.click()
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        big.click()  # 1:1, kept for the next image (the arrow keys)
        seen = []
        for k in range(len(SIZES)):
            if k:
                page.keyboard.press("ArrowRight")
                page.wait_for_function("w => { const e = document.querySelector('#qwl-lightbox img'); "
                                       "return e.complete && e.naturalWidth > 0 && e.naturalWidth !== w; }",
                                       arg=seen[-1]["size"][0])
            page.wait_for_timeout(300)
            size = big.evaluate("e => [e.naturalWidth, e.naturalHeight]")
            grey, black = middle(page, f"lightbox-1to1-{size[0]}")
            page.screenshot(path=str(tmp_path / f"lightbox-1to1-{size[0]}-page-x{scale}.png"))
            seen.append({"size": size, "level": level.inner_text(), "grey": grey, "black": black,
                         "width": big.evaluate("e => e.getBoundingClientRect().width")})
        return seen

    seen, _, errors = _open(chromium, path, run, scale=scale)
    assert not errors, errors
    assert sorted(tuple(s["size"]) for s in seen) == sorted(SIZES), seen
    for s in seen:
        assert s["level"] == "100%" and s["width"] == pytest.approx(s["size"][0] / scale, abs=0.01), s
        assert s["grey"] < 0.01, f"{s['size']} at 1:1, devicePixelRatio {scale}: {s['grey']:.0%} of the pixels grey"
        assert s["black"] == pytest.approx(0.5, abs=0.03), s  # the checkerboard itself
