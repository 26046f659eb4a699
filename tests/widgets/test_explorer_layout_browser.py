"""The explorer's grid in a real browser: with six images in each of two columns, both columns
must be in view side by side, each cell's tiles wrapping inside it (a cell as wide as all its
tiles in a row once pushed the second column out of view, so on and off were never seen together).

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """promptExtend on / off, six repeats each, and a notebook opening the explorer by promptExtend only."""
    run_sweep(emulator, data_dir, name="wide", axes={"promptExtend": [True, False]}, repeats=6, fail_one=False,
              size="512x512")
    return lab_notebook(tmp_path / "wide.ipynb", data_dir, "Lab().experiment('wide').explore(rows='', cols='promptExtend', thumb_px=320)")


@pytest.mark.slow
def test_both_columns_are_in_view_and_tiles_wrap_in_their_cells(chromium: str, voila: str, tmp_path: Path) -> None:
    width = 1200
    with chromium_page(chromium, voila, width=width, height=1000, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: tiles.count() == 12, 60, "twelve tiles")
        off = page.get_by_text("promptExtend: off", exact=True)
        box = off.bounding_box()
        assert box and box["x"] + box["width"] <= width, f"the second column's heading is out of view: {box}"
        boxes = [tiles.nth(i).bounding_box() for i in range(12)]
        assert all(b and b["x"] + b["width"] <= width for b in boxes), "a tile is out of view"
        assert len({round(b["y"]) for b in boxes}) > 1, "six tiles of a cell should wrap onto more than one line"
        page.screenshot(path=str(tmp_path / "explorer-wide.png"))  # to look at (kept in pytest's folder)
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_a_clicked_tile_brings_the_viewer_into_view(chromium: str, voila: str, tmp_path: Path) -> None:
    """The viewer opens above the grid: a click far down the page must not leave it off screen."""
    height = 450  # the last tiles are below the fold: the page scrolls to reach them
    with chromium_page(chromium, voila, width=1200, height=height, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: tiles.count() == 12, 60, "twelve tiles")
        last = tiles.nth(11)
        last.scroll_into_view_if_needed()
        last.click()
        stage = page.locator(".qwl-cmp-stage")
        stage.wait_for(state="visible", timeout=30_000)
        page.wait_for_timeout(800)  # the image loads and any scrolling ends
        page.screenshot(path=str(tmp_path / "explorer-clicked.png"))
        box = stage.bounding_box()
        assert box is not None
        assert box["y"] < height and box["y"] + box["height"] > 0, f"the viewer is off screen: {box}"
        assert box["y"] >= -1 or box["y"] + box["height"] >= height, f"the viewer's top is cut off: {box}"
    assert not watch.errors, watch.errors
