""""1:1" in a real browser shows the file's own pixels, not a resampling of them. Voilà serves
`compare_files` on a PNG checkerboard of single pixels; headless Chromium clicks "1:1" and the
screenshot of the picture must hold the checkerboard itself, black and white. The image's corner
was placed half a pixel off the screen's grid whenever its pane's width was odd (the pane's
centre is at width / 2), and the browser smeared every pixel over two: the checkerboard came out
grey, and a poster's small text, read at 1:1 for that very reason, blurred. Both parities of the
window's width are tried, on a screen of one device pixel per CSS pixel and on a Retina one
(devicePixelRatio 2), where "1:1" showed one image pixel per CSS pixel, so 2 x 2 device pixels
smoothed: the checkerboard came out all grey. 1:1 is one image pixel per device pixel.

+ and - step through 1:1 and 2:1 exactly (they multiplied the zoom by 1.25, which from "fit"
never reached 1:1, nor 2:1 from 1:1), and at 2:1 every image pixel is a square of 2 x 2 device
pixels, not smoothed into its neighbours.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, serve_voila, until

GREY = "the share of the screenshot's pixels neither black nor white: resampled"


def _grey(shot: bytes) -> tuple[float, float]:
    """Of a screenshot of the checkerboard: the share of its pixels grey (neither black nor white)
    and the share black."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(shot)).convert("L")).astype(int)
    return float(((grey > 40) & (grey < 215)).mean()), float((grey <= 40).mean())


def _middle(page: Any, pane: Any, half: int = 100) -> bytes:
    """A screenshot of the middle of `pane`, 2 x `half` CSS pixels a side (in device pixels)."""
    box = pane.bounding_box()
    assert box is not None
    return page.screenshot(clip={"x": round(box["x"] + box["width"] / 2 - half),  # whole pixels: no resampling here
                                 "y": round(box["y"] + box["height"] / 2 - half), "width": 2 * half, "height": 2 * half})


def _loaded(viewer: Any) -> None:
    viewer.locator(".qwl-cmp-pane").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
    until(lambda: viewer.locator("img.qwl-cmp-img").evaluate_all(
        "els => els.length === 1 && els[0].complete && els[0].naturalWidth > 0 && els[0].dataset.full === '1'"), 30, "the image to load")


@pytest.fixture
def checker_notebook(chromium: str, data_dir: Path, tmp_path: Path) -> Path:
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:601, 0:801]
    Image.fromarray(((x + y) % 2 * 255).astype("uint8")).convert("RGB").save(tmp_path / "checker.png")
    return lab_notebook(tmp_path / "checker.ipynb", data_dir,
                        f"compare_files([{str(tmp_path / 'checker.png')!r}], height=400)",
                        imports="from qwenlab.widgets import compare_files")


@pytest.fixture
def voila(checker_notebook: Path, tmp_path: Path) -> Iterator[str]:
    with serve_voila(checker_notebook, tmp_path) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_one_to_one_shows_the_files_own_pixels_whatever_the_panes_width(chromium: str, voila: str,
                                                                        tmp_path: Path, scale: int) -> None:
    from PIL import Image

    with chromium_page(chromium, voila, width=1100, height=800, timeout_ms=START_TIMEOUT_S * 1000,
                       scale=scale) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        pane = viewer.locator(".qwl-cmp-pane").first
        _loaded(viewer)
        viewer.locator(".qwl-cmp-actual").click()
        until(lambda: viewer.locator(".qwl-cmp-readout").inner_text() == "100%", 10, "1:1")
        widths = set()
        for width in (1100, 1101):  # an even and an odd pane width, whichever comes of which
            page.set_viewport_size({"width": width, "height": 800})
            page.wait_for_timeout(500)  # the pane resized, the image placed again (still 1:1)
            widths.add(pane.evaluate("e => e.clientWidth") % 2)
            assert viewer.locator(".qwl-cmp-readout").inner_text() == "100%"
            # the middle of the pane: the middle of the image, 1:1 (801 x 601 px, larger than this
            # at either scale: 400 CSS px tall at devicePixelRatio 1, 300 at 2)
            shot = _middle(page, pane)
            Image.open(io.BytesIO(shot)).save(tmp_path / f"checker-{width}-x{scale}.png")  # to look at
            smeared, black = _grey(shot)
            assert smeared < 0.01, f"at a window {width} px wide, {smeared:.0%} of the 1:1 pixels are grey: resampled"
            assert black == pytest.approx(0.5, abs=0.02)  # the checkerboard itself
        assert widths == {0, 1}, "both parities of the pane's width should have been tried"
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_plus_and_minus_step_through_one_to_one_and_two_to_one(chromium: str, voila: str, tmp_path: Path) -> None:
    """From below 1:1, + lands on 100% exactly (not 98% then 122%), on to 200%, where each image pixel
    is 2 x 2 device pixels, unsmoothed; - comes back to 100% and its own pixels. On a Retina
    screen, where a ladder in CSS pixels would be off by the pixel ratio."""
    import numpy as np
    from PIL import Image

    with chromium_page(chromium, voila, width=1100, height=800, timeout_ms=START_TIMEOUT_S * 1000,
                       scale=2) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        pane = viewer.locator(".qwl-cmp-pane").first
        _loaded(viewer)
        readout = viewer.locator(".qwl-cmp-readout")
        pane.click()  # the keys to the viewer
        for _ in range(2):  # fitted, 601 px in 400 CSS px, is 133% of the device's pixels: below 1:1 first
            page.keyboard.press("-")
        seen = [readout.inner_text()]
        for _ in range(12):
            page.keyboard.press("+")
            page.wait_for_timeout(60)
            seen.append(readout.inner_text())
            if seen[-1] == "200%":
                break
        assert "100%" in seen and seen[-1] == "200%", seen
        shot = _middle(page, pane, half=50)
        Image.open(io.BytesIO(shot)).save(tmp_path / "checker-2to1-x2.png")  # to look at
        smeared, black = _grey(shot)
        assert smeared < 0.01, f"at 2:1, {smeared:.0%} of the pixels are grey: smoothed"
        px = np.asarray(Image.open(io.BytesIO(shot)).convert("L")) > 127
        # squares of 2 x 2 device pixels: the rows (and the columns) go in pairs of twins
        for lines, side in ((px, "tall"), (px.T, "wide")):
            twins = [bool((lines[i] == lines[i + 1]).all()) for i in range(len(lines) - 1)]
            assert all(twins[0::2]) or all(twins[1::2]), f"the image pixels are not two device pixels {side}"
        for _ in range(3):
            page.keyboard.press("-")
        until(lambda: readout.inner_text() == "100%", 10, "- three times from 200% to 100%")
        smeared, black = _grey(_middle(page, pane))
        assert smeared < 0.01 and black == pytest.approx(0.5, abs=0.02), (smeared, black)
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_panning_at_full_size_keeps_the_picture_in_view(chromium: str, voila: str, tmp_path: Path) -> None:
    """At 1:1, a dozen presses of Shift and an arrow (or a long drag) took the picture out of the
    pane, leaving it blank, and as many presses back to find it again: now the pane's centre
    stays on the picture, its edge at most there, so the picture's corner is always in view."""
    from PIL import Image

    with chromium_page(chromium, voila, width=1100, height=800, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        pane = viewer.locator(".qwl-cmp-pane").first
        _loaded(viewer)
        viewer.locator(".qwl-cmp-actual").click()
        until(lambda: viewer.locator(".qwl-cmp-readout").inner_text() == "100%", 10, "1:1")
        pane.click()  # the keys to the viewer
        for key in ("Shift+ArrowDown", "Shift+ArrowRight") * 20:  # 20 x 15% of the pane, each way: the picture up and left
            page.keyboard.press(key)
        box = pane.bounding_box()
        assert box is not None
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.move(*centre)
        page.mouse.down()
        page.mouse.move(centre[0] - 400, centre[1] - 300, steps=5)  # and dragged on past it
        page.mouse.up()
        page.wait_for_timeout(200)
        # up and left of the pane's centre: the picture's bottom-right corner, its own pixels
        shot = page.screenshot(clip={"x": round(centre[0]) - 42, "y": round(centre[1]) - 42, "width": 40, "height": 40})
        Image.open(io.BytesIO(shot)).save(tmp_path / "panned-corner.png")  # to look at
        smeared, black = _grey(shot)
        assert black == pytest.approx(0.5, abs=0.05) and smeared < 0.01, \
            f"the pane's centre is off the picture ({black:.0%} dark): panned out of view"
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_the_wheel_stops_on_one_to_one_and_the_readout_says_100_only_there(chromium: str, voila: str,
                                                                          tmp_path: Path) -> None:
    """A notch of the wheel multiplied the zoom by 1.22: from "fit" it went 81%, 99%, 121%, never
    1:1, and at 99.6% (a trackpad's small turn from 1:1) the readout said "100%" over a resampled
    picture. The wheel now stops on 1:1 and 2:1 as it passes them, and the readout says 100% only
    at 1:1 itself."""
    from PIL import Image

    with chromium_page(chromium, voila, width=1100, height=800, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        pane = viewer.locator(".qwl-cmp-pane").first
        _loaded(viewer)
        readout = viewer.locator(".qwl-cmp-readout")
        pane.click()  # the wheel zooms once the picture is clicked (the pointer stays over it)
        seen = [readout.inner_text()]
        for _ in range(8):
            page.mouse.wheel(0, -100)  # a notch of a mouse's wheel, towards you: zoom in
            page.wait_for_timeout(80)
            seen.append(readout.inner_text())
            if seen[-1] == "100%":
                shot = _middle(page, pane)
                Image.open(io.BytesIO(shot)).save(tmp_path / "wheel-1to1.png")  # to look at
                smeared, black = _grey(shot)
                assert smeared < 0.01 and black == pytest.approx(0.5, abs=0.02), (smeared, black)
        assert "100%" in seen, seen
        for _ in range(6):
            page.mouse.wheel(0, -100)
            page.wait_for_timeout(80)
            seen.append(readout.inner_text())
        assert "200%" in seen, seen

        viewer.locator(".qwl-cmp-actual").click()
        until(lambda: readout.inner_text() == "100%", 10, "1:1")
        pane.click()
        page.mouse.wheel(0, 2)  # a trackpad's smallest turn: just under 1:1
        until(lambda: readout.inner_text() != "100%", 10, "the readout to leave 100%")
        assert readout.inner_text() in ("99.6%", "99.5%", "99.7%"), readout.inner_text()
    assert not watch.errors, watch.errors
