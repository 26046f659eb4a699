"""The explorer in a real browser: Voilà serves a notebook that opens it on a small experiment
(run against the emulator first), headless Chromium (Debian's, driven by playwright-python
through `executable_path`; never `playwright install`) clicks a thumbnail and a rating, and the
rating must then be in SQLite. A screenshot is saved under the test's folder and copied to
data/screenshots/explorer.png for people to look at.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset; CI sets it, so
there a missing browser fails the test. QWENLAB_CHROMIUM names another Chromium binary.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CLICK_TIMEOUT_MS,
    START_TIMEOUT_S,
    chromium_page,
    lab_notebook,
    readme_screenshot,
    until,
)


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """A small experiment in the test's data folder, and a notebook that opens the explorer on it."""
    from qwenlab import Lab, Sweep
    from qwenlab.api.client import RunwareClient

    client = RunwareClient("sk-browser-test", emulator.url, images_dir=data_dir / "images")
    try:
        sweep = Sweep(prompt="A poster for 'LUMIERE': 'Glow, Refined.'", size="512x768", repeats=2,
                      axes={"promptExtend": [True, False], "negativePrompt": [None, "blurry text"]})
        Lab(data_dir, client=client).run(sweep, name="browser", progress=False)
    finally:
        client.close()
    return lab_notebook(tmp_path / "explorer.ipynb", data_dir, "Lab().experiment('browser').explore(judge='browser-test')")


@pytest.mark.slow
def test_a_rating_clicked_in_chromium_reaches_sqlite(chromium: str, voila: str, data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "qwenlab.db"
    shot = tmp_path / "explorer.png"
    with chromium_page(chromium, voila, width=1440, height=1100, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        errors = watch.errors
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        assert tiles.count() == 8, f"expected 8 thumbnails, saw {tiles.count()}; page errors: {errors}"
        legend = page.locator(".qwl-keys")
        legend.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert "click a picture to use the keys" in legend.inner_text()  # the explorer has no pair to click

        # a person clicks the picture itself (at its centre, whatever lies on top): the
        # invisible button laid over the tile takes the click
        picture = tiles.nth(2).locator("img")
        picture.scroll_into_view_if_needed(timeout=CLICK_TIMEOUT_MS)
        box = picture.bounding_box()
        assert box and box["width"] > 50, f"thumbnail not drawn: {box}"
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        detail = page.locator(".qwl-detail")
        detail.get_by_text("request sent").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert "taskUUID" in detail.inner_text()

        page.get_by_role("button", name="4 ★").click(timeout=CLICK_TIMEOUT_MS)
        note = page.get_by_placeholder("a note (Enter saves)")
        note.fill("clean type, good crop")
        note.press("Enter")

        def rows() -> list[tuple]:
            with sqlite3.connect(db) as conn:
                return conn.execute("SELECT image_id, score, note, judge FROM ratings ORDER BY id").fetchall()

        rated = until(lambda: [r for r in rows() if r[2]], 30, "the rating and its note to reach SQLite")
        page.get_by_text("saved: ★4").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        page.screenshot(path=str(shot), full_page=True)

    image_id, score, note_text, judge = rated[-1]
    assert (score, note_text, judge) == (4, "clean type, good crop", "browser-test")
    assert rows()[0][:2] == (image_id, 4)  # the click on the score was written at once, before the note
    with sqlite3.connect(db) as conn:
        exp_of_image = conn.execute("SELECT e.name FROM images i JOIN experiments e ON e.id = i.experiment_id "
                                    "WHERE i.id = ?", [image_id]).fetchone()[0]
    assert exp_of_image == "browser"
    assert not watch.beyond_loopback(), f"the page tried to reach beyond loopback: {watch.beyond_loopback()}"
    assert shot.stat().st_size > 10_000
    if target := readme_screenshot("explorer.png"):
        shutil.copy(shot, target)
