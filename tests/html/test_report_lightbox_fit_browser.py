"""The report's lightbox fits an image smaller than the window at its own CSS size: on a Retina
screen (devicePixelRatio 2) that is 2:1, each image pixel 2 x 2 device pixels, the scale from which
the zoom ladder promises sharp squares (`rendering` of qwenlab/html/zoom.js). Fitted, it was drawn
smoothed all the same (the rule held only once zoomed): a checkerboard of single pixels came out
grey until + was pressed. At devicePixelRatio 1 the same image is fitted at 1:1, its own pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.html.test_report_browser import _open
from tests.support.browser import checkerboard, lightbox_middle
from tests.support.labkit import run_sweep


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_an_image_fitted_at_whole_device_pixels_shows_them_sharp(chromium: str, emulator: Any, data_dir: Path,
                                                                 tmp_path: Path, scale: int) -> None:

    exp = run_sweep(emulator, data_dir, name="fit", axes={"size": ["1024x1536"]}, repeats=1, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)
    (original,) = (path.parent / "report_files").iterdir()
    checkerboard(401, 301).save(original, format="PNG")  # far smaller than the window: fitted at its CSS size, 2:1 on a Retina screen

    def run(page: Any) -> dict[str, Any]:
        big = page.locator("#qwl-lightbox img")
        page.locator("#requests img.thumb").first.click()
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth === 401")
        page.wait_for_timeout(300)
        grey, black = lightbox_middle(page, tmp_path / f"fitted-x{scale}.png")
        page.screenshot(path=str(tmp_path / f"fitted-page-x{scale}.png"))
        return {"grey": grey, "black": black, "level": page.locator("#qwl-lightbox .level").inner_text(),
                "width": big.evaluate("e => e.getBoundingClientRect().width")}

    seen, _, errors = _open(chromium, path, run, scale=scale)
    assert not errors, errors
    assert seen["level"] == "fit" and seen["width"] == pytest.approx(401, abs=0.01), seen  # fitted, at its CSS size
    assert seen["grey"] < 0.01, f"fitted at {scale}:1, devicePixelRatio {scale}: {seen['grey']:.0%} of the pixels grey"
    assert seen["black"] == pytest.approx(0.5, abs=0.03), seen  # the checkerboard itself
