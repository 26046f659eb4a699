"""A portrait beside a landscape in the compare viewer, in a real browser: Voilà serves a notebook
with `compare_files([portrait, landscape])`; headless Chromium drags, zooms with the keys and the
wheel, and reads which spot of each image is at its pane's centre. Each image fits its own pane,
the portrait drawn narrower than the landscape: panned by the same screen pixels, the two showed
different spots (the headline of one beside the middle of the other). The pan moves each image by
the same fraction of its own size, so the same spot of both stays at the centre, at either
devicePixelRatio.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.browser import CLICK_TIMEOUT_MS, START_TIMEOUT_S, chromium_page, lab_notebook, serve_voila, until

SHAPES = {"portrait.png": (640, 960), "landscape.png": (1200, 800)}


def _poster(size: tuple[int, int], path: Path) -> None:
    """A grid of tenths, each cell labelled with its column and row, so a screenshot shows the spot."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    img = Image.new("RGB", size, "#f4efe6")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(12, w // 40))
    for k in range(10):
        for j in range(10):
            draw.rectangle([k * w // 10, j * h // 10, (k + 1) * w // 10, (j + 1) * h // 10], outline="#8aa", width=2)
            draw.text(((k + 0.5) * w / 10, (j + 0.5) * h / 10), f"{k}{j}", fill="#234", font=font, anchor="mm")
    img.save(path)


@pytest.fixture
def shapes_notebook(chromium: str, data_dir: Path, tmp_path: Path) -> Path:
    paths = []
    for name, size in SHAPES.items():
        _poster(size, tmp_path / name)
        paths.append(str(tmp_path / name))
    return lab_notebook(tmp_path / "shapes.ipynb", data_dir, f"compare_files({paths!r}, height=480)",
                        imports="from qwenlab.widgets import compare_files")


@pytest.fixture
def voila(shapes_notebook: Path, tmp_path: Path) -> Iterator[str]:
    with serve_voila(shapes_notebook, tmp_path) as url:
        yield url


# per image: the spot at its pane's centre, as fractions of the image's width and height
SPOTS = ("els => els.map(e => { const p = e.closest('.qwl-cmp-pane').getBoundingClientRect(); "
         "const r = e.getBoundingClientRect(); "
         "return [(p.left + p.width / 2 - r.left) / r.width, (p.top + p.height / 2 - r.top) / r.height]; })")


def _same_spot(viewer: Any) -> list[list[float]]:
    spots = viewer.locator("img.qwl-cmp-img").evaluate_all(SPOTS)
    return spots if all(abs(a - b) < 0.004 for a, b in zip(spots[0], spots[1])) else []


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_a_portrait_and_a_landscape_are_zoomed_and_panned_to_the_same_spot(chromium: str, voila: str, tmp_path: Path,
                                                                          scale: int) -> None:
    with chromium_page(chromium, voila, width=1280, height=900, timeout_ms=START_TIMEOUT_S * 1000,
                       scale=scale) as (page, watch):
        viewer = page.locator(".qwl-cmp").first
        viewer.locator(".qwl-cmp-pane").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        imgs = viewer.locator("img.qwl-cmp-img")
        until(lambda: imgs.evaluate_all("els => els.length === 2 && els.every(e => e.complete && e.naturalWidth > 0 && e.dataset.full === '1')"),
              30, "both images to load")
        panes = viewer.locator(".qwl-cmp-pane")
        for n, (x_by, y_by) in enumerate([(90, 70), (60, 50)]):  # a drag in the landscape's pane, then the portrait's
            box = panes.nth(1 - n).bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + x_by, cy + y_by, steps=4)
            page.mouse.up()
            page.keyboard.press("+")  # the stage has the focus once the picture is pressed
            page.keyboard.press("+")
            spots = until(lambda: _same_spot(viewer), 10, f"the same spot of both after drag {n + 1}: "
                          f"{imgs.evaluate_all(SPOTS)}")
            assert abs(spots[0][0] - 0.5) > 0.03 and abs(spots[0][1] - 0.5) > 0.03, f"the drag moved nothing: {spots}"
        # the wheel at a corner of the portrait's pane keeps the portrait's point under the cursor
        box = panes.nth(0).bounding_box()
        at = (box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.3)
        under = ("(els, at) => { const r = els[0].getBoundingClientRect(); "
                 "return [(at[0] - r.left) / r.width, (at[1] - r.top) / r.height]; }")
        before = imgs.evaluate_all(under, at)
        page.mouse.move(*at)
        page.mouse.wheel(0, -200)
        until(lambda: abs(imgs.evaluate_all(under, at)[0] - before[0]) < 0.004 and _same_spot(viewer)
              and imgs.evaluate_all("els => els[0].getBoundingClientRect().width") > 0, 10,
              "the wheel to zoom at the cursor, the same spot of both at the centre")
        page.wait_for_timeout(200)
        assert _same_spot(viewer), imgs.evaluate_all(SPOTS)
        after = imgs.evaluate_all(under, at)
        assert abs(after[0] - before[0]) < 0.004 and abs(after[1] - before[1]) < 0.004, (before, after)
        viewer.screenshot(path=str(tmp_path / f"shapes-dpr{scale}.png"))
        # and in swipe mode, both in one frame: the same spot too
        viewer.get_by_role("button", name="swipe").click(timeout=CLICK_TIMEOUT_MS)
        until(lambda: imgs.evaluate_all("els => els.length === 2 && els.every(e => e.complete && e.naturalWidth > 0 && e.dataset.full === '1')"),
              30, "both layers to load")
        until(lambda: _same_spot(viewer), 10, f"the same spot of both layers: {imgs.evaluate_all(SPOTS)}")
        assert not watch.errors and not watch.beyond_loopback(), (watch.errors, watch.outside)
