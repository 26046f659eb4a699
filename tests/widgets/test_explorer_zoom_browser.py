"""The explorer's viewer at 1:1, in a real browser: "1:1" stays on while the arrow keys step to
images of other sizes. It once kept the zoom factor instead, so that after 1:1 on a 512x768
poster the next, 768x512, was shown at another scale while the button still read 1:1, and the
fine print looked larger or smaller than it prints.

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CLICK_TIMEOUT_MS, START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep

SCALE = "els => els.map(e => Number((e.style.transform.match(/scale\\(([\\d.e-]+)\\)/) || [0, 0])[1]))"


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Portrait and landscape posters, one after the other."""
    run_sweep(emulator, data_dir, name="sizes", repeats=1, fail_one=False)  # 512x768 and 768x512, extend on/off
    return lab_notebook(tmp_path / "sizes.ipynb", data_dir, "Lab().experiment('sizes').explore()")


@pytest.mark.slow
def test_one_to_one_stays_on_for_the_next_image_of_another_size(chromium: str, voila: str, tmp_path: Path) -> None:
    with chromium_page(chromium, voila, width=1400, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        box = tiles.first.locator("img").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        viewer = page.locator(".qwl-cmp").first
        viewer.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        img = viewer.locator("img.qwl-cmp-img")
        until(lambda: img.evaluate_all("els => els.length === 1 && els[0].complete && els[0].naturalWidth > 0 && els[0].dataset.full === '1'"), 30,
              "the first image")
        viewer.get_by_role("button", name="1:1", exact=True).click(timeout=CLICK_TIMEOUT_MS)
        until(lambda: abs(img.evaluate_all(SCALE)[0] - 1) < 1e-6, 10, "1:1")
        sizes = set()
        for _ in range(3):
            before = img.evaluate_all("els => els[0].src")
            page.keyboard.press("ArrowRight")
            until(lambda: img.evaluate_all("els => els[0].src") != before
                  and img.evaluate_all("els => els[0].complete && els[0].naturalWidth > 0 && els[0].dataset.full === '1'"), 30, "the next image")
            sizes.add(tuple(img.evaluate_all("els => [els[0].naturalWidth, els[0].naturalHeight]")))
            until(lambda: abs(img.evaluate_all(SCALE)[0] - 1) < 1e-6, 10, "the next image at 1:1 too")
            assert re.fullmatch(r"100%", viewer.locator(".qwl-cmp-readout").inner_text())
            assert "qwl-on" in (viewer.get_by_role("button", name="1:1", exact=True).get_attribute("class") or "")
        assert len(sizes) == 2, f"the steps met one size only: {sizes}"
        viewer.screenshot(path=str(tmp_path / "explore-1to1.png"))
        # zoomed by hand, 1:1 is off: the next image keeps that zoom instead
        page.keyboard.press("-")
        until(lambda: img.evaluate_all(SCALE)[0] < 0.9, 10, "- to zoom out")
        assert "qwl-on" not in (viewer.get_by_role("button", name="1:1", exact=True).get_attribute("class") or "")
    assert not watch.errors, watch.errors
