"""Judging a portrait pair in a laptop's window, in a real browser: the two posters, the buttons
and the keys' legend under them all fit in the window. At 900x700 each 1024x1536 poster was drawn
525 px tall (75% of the window) under a header and the prompt's strings, 68 px of it (its last
line of text and the SYNTHETIC strip) and the buttons below the fold, where the page did not
scroll. Voilà and headless Chromium as in test_judging_browser.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep

PROMPT = ("A tall skincare poster: the brand 'LUMIERE' in large serif capitals, “Glow, Refined.” below, and "
          "'Clinical hydration for every skin' in small type at the bottom")


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    run_sweep(emulator, data_dir, name="tall", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False,
              prompt=PROMPT, size="1024x1536")
    return lab_notebook(tmp_path / "tall.ipynb", data_dir, "Lab().experiment('tall').judge('promptExtend', seed=3)")


@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(900, 700), (1280, 800)])
def test_a_portrait_pair_and_its_buttons_fit_a_laptop_window(chromium: str, voila: str, width: int, height: int,
                                                             tmp_path: Path) -> None:
    with chromium_page(chromium, voila, width=width, height=height, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        widget = page.locator(".qwenlab-judging")
        widget.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        images = widget.locator("img")
        until(lambda: images.count() == 2 and all((images.nth(i).bounding_box() or {}).get("height", 0) > 100
                                                   for i in range(2)), 60, "both images to be drawn")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        boxes = [images.nth(i).bounding_box() for i in range(2)]
        button = widget.get_by_role("button", name="right is better ▶").bounding_box()
        legend = page.locator(".qwl-keys").bounding_box()
        page.screenshot(path=str(tmp_path / f"judging-portrait-{width}x{height}.png"))
        assert boxes[0]["y"] == pytest.approx(boxes[1]["y"], abs=2), f"side by side: {boxes}"
        assert all(b["y"] + b["height"] <= height for b in boxes), f"a poster runs off the window: {boxes}"
        assert button and button["y"] + button["height"] <= height, f"the buttons are below the fold: {button}"
        assert legend and legend["y"] < height, f"the keys' legend is below the fold: {legend}"
        assert all(b["height"] >= 0.45 * height for b in boxes), f"drawn too small to read: {boxes}"
        # the emulator's images say so in words, as every other view does: a verdict on them is no evidence
        assert "SYNTHETIC" in widget.locator(".qwenlab-provenance").inner_text()
        assert not watch.errors, watch.errors
