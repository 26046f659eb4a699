"""The report's lightbox zooms as the compare viewer does, in headless Chromium: + and - step along
the same ladder (`qwenlab/html/zoom.js`, one text for both), through 1:1 and 2:1, and from 2:1 on each
image pixel is a sharp square of device pixels. The lightbox had 1:1 only: small text could not be
read larger than the file's own pixels, and never as the pixels they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.html.test_report_browser import _open
from tests.support.browser import checkerboard, lightbox_middle
from tests.support.labkit import run_sweep

RENDERING = "e => getComputedStyle(e).imageRendering"


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_plus_and_minus_zoom_the_lightbox_through_1_to_1_and_2_to_1(chromium: str, emulator: Any, data_dir: Path,
                                                                    tmp_path: Path, scale: int) -> None:

    exp = run_sweep(emulator, data_dir, name="zoom", axes={"size": ["1024x1536"]}, repeats=1, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)
    (original,) = sorted((path.parent / "report_files").iterdir())
    # a checkerboard of single pixels in place of the original, large enough to be fitted below
    # 1:1 at either pixel ratio (the ladder passes over 1:1 when fitted within x1.06 of it):
    # smoothed at 2:1 it turns grey
    checkerboard(2048, 3072).save(original, format="PNG")

    def grey(page: Any, name: str) -> float:
        return lightbox_middle(page, tmp_path / f"{name}-x{scale}.png")[0]

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        big, level = page.locator("#qwl-lightbox img"), page.locator("#qwl-lightbox .level")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        seen = [level.inner_text()]
        while seen[-1] != "200%" and len(seen) < 20:
            page.keyboard.press("+")
            seen.append(level.inner_text())
        page.wait_for_timeout(200)
        at2 = {"width": big.evaluate("e => e.getBoundingClientRect().width"), "rendering": big.evaluate(RENDERING),
               "grey": grey(page, "lightbox-2to1")}
        page.screenshot(path=str(tmp_path / f"lightbox-zoom-x{scale}.png"))
        down = []
        while (not down or down[-1] != "fit") and len(down) < 20:
            page.keyboard.press("-")
            down.append(level.inner_text())
            if down[-1] == "100%":
                page.wait_for_timeout(200)
                at1 = {"width": big.evaluate("e => e.getBoundingClientRect().width"),
                       "rendering": big.evaluate(RENDERING), "grey": grey(page, "lightbox-1to1")}
        return {"seen": seen, "down": down, "at2": at2, "at1": at1}

    r, _, errors = _open(chromium, path, run, scale=scale)
    assert not errors, errors
    # from fitted, up the ladder: 1:1 is a stop on the way to 2:1, x1.26 a step, as in the compare viewer
    assert r["seen"][0] == "fit" and r["seen"][-1] == "200%", r
    assert "100%" in r["seen"] and r["seen"].index("100%") == len(r["seen"]) - 4, r
    assert r["at2"]["width"] == pytest.approx(2 * 2048 / scale, abs=1), r  # 2 x 2 device pixels an image pixel
    assert r["at2"]["rendering"] == "pixelated" and r["at2"]["grey"] < 0.01, r  # sharp squares, not smoothed
    assert r["down"][:3] == ["159%", "126%", "100%"] and r["down"][-1] == "fit", r
    assert r["at1"]["width"] == pytest.approx(2048 / scale, abs=1), r  # 1:1: one image pixel per device pixel
    assert r["at1"]["rendering"] != "pixelated" and r["at1"]["grey"] < 0.01, r
