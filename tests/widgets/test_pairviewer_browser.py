"""The pair viewer in a real browser: Voilà serves a notebook that opens `exp.pair_viewer(...)` on
portrait images (512x768, run against the emulator first); headless Chromium must draw each image
at its own shape (a VBox stretched the picture to a square once), and Next must move the slider
and the caption together, both counting from 1.

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CLICK_TIMEOUT_MS, START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Two pairs of promptExtend on / off in portrait, and a notebook showing their pair viewer."""
    run_sweep(emulator, data_dir, name="tall", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False,
              size="512x768")
    return lab_notebook(tmp_path / "pairs.ipynb", data_dir, "Lab().experiment('tall').pair_viewer('promptExtend')")


@pytest.mark.slow
def test_pairs_keep_their_shape_and_count_from_one(chromium: str, voila: str, tmp_path: Path) -> None:
    with chromium_page(chromium, voila, width=1400, height=1100, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        widget = page.locator(".qwenlab-pairs")
        widget.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        picture = widget.locator("img").first
        box = until(lambda: (b := picture.bounding_box()) and b["width"] > 50 and b, 60, "the first image to be drawn")
        assert box["height"] == pytest.approx(512, abs=2), f"drawn at {box}: the viewer's size is 512 px"
        assert box["width"] / box["height"] == pytest.approx(512 / 768, rel=0.02), f"a 512x768 image drawn at {box}"
        readout = widget.locator(".widget-readout").first
        assert readout.inner_text().strip() == "1" and "pair 1 of 2" in widget.inner_text()

        page.get_by_role("button", name="Next ▶").click(timeout=CLICK_TIMEOUT_MS)
        widget.get_by_text("pair 2 of 2").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert readout.inner_text().strip() == "2"
        page.wait_for_timeout(300)
        widget.screenshot(path=str(tmp_path / "pairs.png"))  # to look at (kept in pytest's folder)
    assert not watch.errors, watch.errors
    assert not watch.beyond_loopback(), watch.beyond_loopback()
