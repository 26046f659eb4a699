"""The compare viewer over two files of different pixel sizes, in a real browser: Voilà serves a
notebook with `compare_files([1024 px, 2048 px])`; headless Chromium clicks "1:1" and reads what
each image is shown at. Each image fits its own pane, so the two are at different scales: "1:1"
must show the larger one pixel for pixel (none below its own resolution), and the readout must
give both scales, not the first image's alone.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.browser import CLICK_TIMEOUT_MS, START_TIMEOUT_S, chromium_page, lab_notebook, serve_voila, until

SIZES = {"small.jpg": 1024, "big.jpg": 2048}  # in pane order: the larger second, where "1:1" used to miss it


def _poster(side: int, path: Path) -> None:
    """The same drawing at `side` px square (a grid with numbered cells), its size written in a corner."""
    from PIL import Image, ImageDraw, ImageFont

    big = Image.new("RGB", (2048, 2048), "#f4efe6")
    draw = ImageDraw.Draw(big)
    font = ImageFont.load_default(size=40)
    for k in range(0, 2048, 128):
        draw.line([(k, 0), (k, 2047)], fill="#8aa", width=3)
        draw.line([(0, k), (2047, k)], fill="#8aa", width=3)
    for row in range(16):
        for col in range(16):
            draw.text((col * 128 + 20, row * 128 + 40), f"{row}{col:x}", fill="#234", font=font)
    img = big.resize((side, side), Image.Resampling.LANCZOS) if side != 2048 else big
    ImageDraw.Draw(img).text((side // 2, side // 2), f"{side} px", fill="#c21", anchor="mm",
                             font=ImageFont.load_default(size=side // 16))
    img.save(path, quality=90)


@pytest.fixture
def sizes_notebook(chromium: str, data_dir: Path, tmp_path: Path) -> Path:
    paths = []
    for name, side in SIZES.items():
        _poster(side, tmp_path / name)
        paths.append(str(tmp_path / name))
    return lab_notebook(tmp_path / "sizes.ipynb", data_dir, f"compare_files({paths!r}, height=480)",
                        imports="from qwenlab.widgets import compare_files")


@pytest.fixture
def voila(sizes_notebook: Path, tmp_path: Path) -> Iterator[str]:
    with serve_voila(sizes_notebook, tmp_path) as url:
        yield url


# what each image is shown at: its width on screen over its own, and the scale in its transform
SHOWN = "els => els.map(e => [e.getBoundingClientRect().width / e.naturalWidth, e.style.transform])"


def _shown(viewer: Any) -> list[tuple[float, float]]:
    found = viewer.locator("img.qwl-cmp-img").evaluate_all(SHOWN)
    return [(ratio, float(re.search(r"scale\(([\d.e-]+)\)", t).group(1))) for ratio, t in found]  # type: ignore[union-attr]


@pytest.mark.slow
def test_one_to_one_shows_the_larger_image_pixel_for_pixel(chromium: str, voila: str, tmp_path: Path) -> None:
    with chromium_page(chromium, voila, width=1280, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        viewer.locator(".qwl-cmp-pane").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: viewer.locator("img.qwl-cmp-img").evaluate_all(
            "els => els.length === 2 && els.every(e => e.complete && e.naturalWidth > 0 && e.dataset.full === '1')"), 30, "both images to load")
        assert viewer.locator("img.qwl-cmp-img").evaluate_all("els => els.map(e => e.naturalWidth)") == [1024, 2048]
        readout = viewer.locator(".qwl-cmp-readout")
        # fitted, each to its pane: the small one is shown twice as large as the big one, and both are said
        fit = until(lambda: re.fullmatch(r"(\d+)% · (\d+)%", readout.inner_text()), 10, "the readout to give both scales")
        assert abs(int(fit.group(1)) - 2 * int(fit.group(2))) <= 1, fit.group(0)
        viewer.screenshot(path=str(tmp_path / "sizes-fit.png"))

        for mode in ("side by side", "swipe"):
            viewer.get_by_role("button", name=mode).click(timeout=CLICK_TIMEOUT_MS)
            if mode == "swipe":
                viewer.locator(".qwl-cmp-layer-b img").wait_for(state="attached", timeout=CLICK_TIMEOUT_MS)
                until(lambda: viewer.locator("img.qwl-cmp-img").evaluate_all(
                    "els => els.every(e => e.complete && e.naturalWidth > 0 && e.dataset.full === '1')"), 30, "both layers to load")
            viewer.get_by_role("button", name="fit").click(timeout=CLICK_TIMEOUT_MS)
            viewer.get_by_role("button", name="1:1", exact=True).click(timeout=CLICK_TIMEOUT_MS)
            until(lambda: abs(_shown(viewer)[1][1] - 1) < 1e-6, 10, f"1:1 ({mode}) to show big.jpg pixel for pixel")
            (small_ratio, small_scale), (big_ratio, _) = _shown(viewer)
            assert abs(big_ratio - 1) < 1e-3, f"big.jpg is drawn {big_ratio:.3f} screen px per image px"
            assert abs(small_scale - 2) < 1e-6 and abs(small_ratio - 2) < 2e-3, "small.jpg must be enlarged alike"
            until(lambda: readout.inner_text() == "200% · 100%", 10, f"the readout ({mode}) to give both scales")
            title = readout.get_attribute("title") or ""
            assert "small.jpg: 200%" in title and "big.jpg: 100%" in title, title
            viewer.screenshot(path=str(tmp_path / f"sizes-1to1-{mode.split()[0]}.png"))
        assert not watch.errors and not watch.beyond_loopback(), (watch.errors, watch.outside)


# the view as the page holds it: the transforms' translate (the pan) and scale of each image
VIEW = ("els => els.map(e => { const m = e.style.transform.match(/translate\\(([-\\d.e]+)px, ([-\\d.e]+)px\\) "
        "scale\\(([\\d.e-]+)\\)/); return m ? m.slice(1).map(Number) : null; })")


@pytest.mark.slow
def test_one_to_one_each_keeps_the_spot_and_the_keys_zoom_and_pan(chromium: str, voila: str, tmp_path: Path) -> None:
    """"1:1 each" shows both images at their own pixels; "1:1" keeps the spot at the centre
    (it once reset the pan to the image's middle); + zooms and Shift+arrow pans from the
    keyboard once the picture has been clicked."""
    with chromium_page(chromium, voila, width=1280, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        viewer.locator(".qwl-cmp-pane").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: viewer.locator("img.qwl-cmp-img").evaluate_all(
            "els => els.length === 2 && els.every(e => e.complete && e.naturalWidth > 0 && e.dataset.full === '1')"), 30, "both images to load")
        imgs = viewer.locator("img.qwl-cmp-img")
        each = viewer.get_by_role("button", name="1:1 each")
        each.click(timeout=CLICK_TIMEOUT_MS)
        until(lambda: all(abs(ratio - 1) < 2e-3 for ratio, _ in _shown(viewer)), 10, "both images at their own pixels")
        until(lambda: viewer.locator(".qwl-cmp-readout").inner_text() == "100%", 10, "one scale for both")
        assert "qwl-on" in (each.get_attribute("class") or "")

        # a spot off the centre, then 1:1: the pan is scaled with the zoom, not reset to the middle
        viewer.get_by_role("button", name="fit").click(timeout=CLICK_TIMEOUT_MS)
        pane = viewer.locator(".qwl-cmp-pane").last
        box = pane.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 40, steps=4)
        page.mouse.up()
        before = imgs.evaluate_all(VIEW)[1]
        viewer.get_by_role("button", name="1:1", exact=True).click(timeout=CLICK_TIMEOUT_MS)
        until(lambda: abs(imgs.evaluate_all(VIEW)[1][2] - 1) < 1e-6, 10, "big.jpg at 1:1")
        after = imgs.evaluate_all(VIEW)[1]
        grown = 1 / before[2]  # the zoom's ratio: big.jpg from its fitted scale to 1
        centre = (box["width"] / 2, box["height"] / 2)
        for k in (0, 1):  # the pan (translate less the pane's centre) grew with the zoom
            assert abs((after[k] - centre[k]) - (before[k] - centre[k]) * grown) < 2, (before, after)
        assert abs(after[0] - centre[0]) > 60, "the spot kept, not the image's middle"

        # keys, once the picture has the focus
        zoomed = imgs.evaluate_all(VIEW)[1][2]
        page.keyboard.press("+")
        until(lambda: imgs.evaluate_all(VIEW)[1][2] > zoomed * 1.2, 10, "+ to zoom in")
        assert "qwl-on" not in (viewer.get_by_role("button", name="1:1", exact=True).get_attribute("class") or "")
        x = imgs.evaluate_all(VIEW)[1][0]
        page.keyboard.press("Shift+ArrowRight")
        until(lambda: imgs.evaluate_all(VIEW)[1][0] < x - 20, 10, "Shift+ArrowRight to pan")
        viewer.screenshot(path=str(tmp_path / "sizes-keys.png"))
        assert not watch.errors and not watch.beyond_loopback(), (watch.errors, watch.outside)
