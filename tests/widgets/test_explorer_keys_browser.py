"""The explorer's keys across pages, in a real browser: a click on a picture turns the keys on,
and they must stay on when the page turns. The click leaves the focus on the tile's button; a
page turn redraws the tiles, the focused button went with them, the focus fell to the page, and
every later key scrolled the notebook instead of moving through the pictures.

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
    """Twelve images, at most four to a page: each value's six repeats, more than a page holds, on two pages (4 + 2)."""
    run_sweep(emulator, data_dir, name="paged", axes={"promptExtend": [True, False]}, repeats=6, fail_one=False,
              size="512x512")
    return lab_notebook(tmp_path / "paged.ipynb", data_dir, "Lab().experiment('paged').explore(page_size=4)")


@pytest.mark.slow
def test_the_keys_stay_on_when_the_page_turns(chromium: str, voila: str) -> None:
    with chromium_page(chromium, voila, width=1200, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        label = page.get_by_text("page 1 of 4")
        label.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        picture = tiles.nth(1).locator("img")
        box = picture.bounding_box()
        assert box, "thumbnail not drawn"
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        legend = page.locator(".qwl-keys")
        until(lambda: "keys on:" in legend.inner_text(), 30, "the keys to turn on after a click on a picture")
        page.keyboard.press("PageDown")
        page.get_by_text("page 2 of 4").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        page.wait_for_timeout(300)  # the tiles are redrawn
        page.keyboard.press("PageDown")  # the second turn is the one that scrolled the page instead
        page.get_by_text("page 3 of 4").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert "keys on:" in legend.inner_text()
    assert not watch.errors, watch.errors


def _keys_on(page: Any, tile: int) -> Any:
    """Click the picture of tile `tile` once the grid is drawn; wait for the keys to turn on; the legend."""
    tiles = page.locator(".qwl-tile")
    tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
    box = tiles.nth(tile).locator("img").bounding_box()
    assert box, "thumbnail not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    legend = page.locator(".qwl-keys")
    until(lambda: "keys on:" in legend.inner_text(), 30, "the keys to turn on after a click on a picture")
    return legend


@pytest.mark.slow
def test_a_digit_rates_the_image_shown_and_the_arrows_go_on_from_it(chromium: str, voila: str, data_dir: Path) -> None:
    """Rating 2,000 images took a click on a small star each: 1 to 5 rate the image shown, in the
    log at once, and the arrow keys step on to the next one to rate."""
    from qwenlab import Lab

    with chromium_page(chromium, voila, width=1200, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        legend = _keys_on(page, 0)
        assert "rate the image shown" in legend.inner_text()
        page.keyboard.press("4")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("2")
        exp = Lab(data_dir).experiment("paged")

        def scores() -> list[int]:
            return sorted(r["score"] for r in exp.log.rows("SELECT score FROM ratings"))

        until(lambda: scores() == [2, 4], 30, "the two ratings given by keys in the log")
        first, second = (r["image_id"] for r in exp.log.rows("SELECT image_id FROM ratings ORDER BY id"))
        assert first != second  # the arrow moved on: each image rated once
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_enter_in_the_note_gives_the_keys_back_for_the_rating(chromium: str, voila: str, data_dir: Path) -> None:
    """"a note (Enter saves)": the focus stayed in the note after Enter while the legend said
    "keys on:", so the 4 pressed next to rate the image was typed into the note (saved as
    "legible4" when the focus left) and no rating was given. Enter now saves the note and gives
    the keys back; while the note has the focus the legend says the keys are off."""
    from qwenlab import Lab

    with chromium_page(chromium, voila, width=1200, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        legend = _keys_on(page, 1)
        note = page.get_by_placeholder("a note (Enter saves)")
        note.click()
        until(lambda: "keys on:" not in legend.inner_text(), 30, "the legend to say the keys are off in the note")
        page.keyboard.type("清楚 legible")
        page.keyboard.press("Enter")
        until(lambda: "keys on:" in legend.inner_text(), 30, "Enter in the note to give the keys back")
        page.keyboard.press("4")
        exp = Lab(data_dir).experiment("paged")

        def rows() -> list[tuple]:
            return [(r["image_id"], r["score"], r["note"]) for r in exp.log.rows("SELECT * FROM ratings ORDER BY id")]

        until(lambda: any(score == 4 for _i, score, _n in rows()), 30, "the rating given by the key after the note")
        page.mouse.click(5, 5)  # the focus leaves the explorer: a note still being typed would be saved now
        page.wait_for_timeout(1000)
        assert note.input_value() == "清楚 legible"
        image = rows()[0][0]
        assert rows() == [(image, None, "清楚 legible"), (image, 4, "清楚 legible")]
    assert not watch.errors, watch.errors
