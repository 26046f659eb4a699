"""Judging in a real browser: Voilà serves a notebook that opens `exp.judge(..., criterion="text
correct")` on a small experiment (run against the emulator first); headless Chromium clicks the
pair to give it the focus, then judges with the keyboard only (←, 2, u to undo, t), and the
judgements in SQLite must be exactly what those keys said; f opens the compare viewer on the pair,
labelled only "left" and "right". The images must be drawn large (at
least 840 px each on a wide page, where they fit side by side from 560 px each) and the prompt's strings shown beside them. A screenshot goes to
data/screenshots/judging.png for the README.

Voilà, Chromium and the loopback-only routing come from tests/widgets/test_browser.py (skipped
there when Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CLICK_TIMEOUT_MS,
    START_TIMEOUT_S,
    chromium_page,
    judgement_rows,
    lab_notebook,
    readme_screenshot,
    until,
)
from tests.support.labkit import run_sweep

PROMPT = "A square skincare poster: the brand 'LUMIERE' in large serif capitals, and “Glow, Refined.” below"


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Three pairs of promptExtend on / off, and a notebook that opens judging on them (read by
    the `voila` fixture, which serves it)."""
    run_sweep(emulator, data_dir, name="readable", axes={"promptExtend": [True, False]}, repeats=3, fail_one=False,
              prompt=PROMPT, size="1024x1024")
    return lab_notebook(tmp_path / "judging.ipynb", data_dir,
                        "Lab().experiment('readable').judge('promptExtend', criterion='text correct', seed=4)")


@pytest.mark.slow
def test_judging_with_the_keyboard_and_undo_reach_sqlite(chromium: str, voila: str, data_dir: Path,
                                                         tmp_path: Path) -> None:
    db = data_dir / "qwenlab.db"
    shot = tmp_path / "judging.png"
    with chromium_page(chromium, voila, width=1920, height=1150, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        errors = watch.errors
        widget = page.locator(".qwenlab-judging")
        widget.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        legend = page.locator(".qwl-keys")
        legend.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert "click the pair to use the keys" in legend.inner_text(), f"page errors: {errors}"
        for keys in ("← or 1", "→ or 2", "t or 0", "u or ⌫"):
            assert keys in legend.inner_text()
        text = widget.inner_text()
        assert "LUMIERE" in text and "Glow, Refined." in text and "text correct" in text
        assert "SYNTHETIC" in text  # the emulator's images, said in words
        assert not re.search(r"\b(on|off)\b", text.split("Blind judging")[1].split("Both share")[0]), "a side's value is on screen"

        images = widget.locator("img")
        until(lambda: images.count() == 2 and all((images.nth(i).bounding_box() or {}).get("width", 0) > 100
                                                   for i in range(2)), 60, "both images to be drawn")
        boxes = [images.nth(i).bounding_box() for i in range(2)]
        assert all(b and b["width"] >= 840 for b in boxes), f"images drawn too small: {boxes}"
        assert boxes[0]["y"] == pytest.approx(boxes[1]["y"], abs=2), "a wide page shows the pair side by side"

        # the focus goes to the widget when the pair is clicked; from then on, keys only
        page.mouse.click(boxes[0]["x"] + boxes[0]["width"] / 2, boxes[0]["y"] + boxes[0]["height"] / 2)
        page.get_by_text("keys on:").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        page.keyboard.press("ArrowLeft")
        until(lambda: len(judgement_rows(db, 'image_a, image_b, winner, criterion')) == 1, 30, "← to reach SQLite")
        page.keyboard.press("2")
        until(lambda: len(judgement_rows(db, 'image_a, image_b, winner, criterion')) == 2, 30, "2 to reach SQLite")
        undone = judgement_rows(db, 'image_a, image_b, winner, criterion')[1]
        page.keyboard.press("u")
        until(lambda: len(judgement_rows(db, 'image_a, image_b, winner, criterion')) == 1, 30, "u to remove the last judgement")
        page.get_by_text("Undone").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        page.keyboard.press("t")
        until(lambda: len(judgement_rows(db, 'image_a, image_b, winner, criterion')) == 2, 30, "t to reach SQLite")
        page.wait_for_timeout(500)  # let the next pair arrive before the picture is taken
        widget.screenshot(path=str(shot))

        page.keyboard.press("f")  # the pair in the compare viewer, blind: "left" and "right", nothing else
        viewer = widget.locator(".qwl-cmp")
        viewer.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        assert viewer.locator(".qwl-cmp-label").all_inner_texts() == ["left", "right"]
        assert not re.search(r"\b(on|off|promptExtend|seed)\b", viewer.inner_text())
        until(lambda: viewer.locator("img").count() == 2, 30, "the compare viewer's two images")
        page.wait_for_timeout(500)
        viewer.screenshot(path=str(tmp_path / "judging-compare.png"))  # to look at (kept in pytest's folder)
        page.keyboard.press("f")  # back to the pair

        # a laptop's window: the pair stays side by side (at 840 px a side it was stacked, the right
        # image below the fold while the keys held the page) and fits under the header
        page.set_viewport_size({"width": 1400, "height": 900})
        page.wait_for_timeout(500)
        pair = widget.locator("img")
        until(lambda: pair.count() >= 2, 30, "the pair again")
        small = [pair.nth(i).bounding_box() for i in range(2)]
        assert all(b and b["width"] >= 400 for b in small), small
        assert small[0]["y"] == pytest.approx(small[1]["y"], abs=2), f"stacked in a 1400 px window: {small}"
        page.evaluate("() => window.scrollTo(0, 0)")
        widget.locator("img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "judging-1400.png"))
        # "f" there: the viewer opens under the pair, below the fold, and is scrolled into view (the
        # key seemed to do nothing: 180 px of it showed at 1400x900, none at 900x700)
        page.keyboard.press("f")
        stage = widget.locator(".qwl-cmp-stage")
        stage.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        until(lambda: (lambda b: b is not None and b["y"] >= 0 and b["y"] + min(b["height"], 500) <= 900)(
            stage.bounding_box()), 10, "the compare viewer to be scrolled into view")
        page.screenshot(path=str(tmp_path / "judging-1400-f.png"))
        page.keyboard.press("f")

        # a small laptop's window: side by side still, both in view (stacked at 525 px each, the
        # right image was below the fold; side by side each is about 420 px)
        page.set_viewport_size({"width": 900, "height": 700})
        page.wait_for_timeout(500)
        widget.locator("img").first.scroll_into_view_if_needed()
        narrow = [pair.nth(i).bounding_box() for i in range(2)]
        assert all(b and b["width"] >= 380 for b in narrow), narrow
        assert narrow[0]["y"] == pytest.approx(narrow[1]["y"], abs=2), f"stacked in a 900 px window: {narrow}"
        page.screenshot(path=str(tmp_path / "judging-900.png"))

    first, second = judgement_rows(db, 'image_a, image_b, winner, criterion')
    assert first[2:] == ("a", "text correct")
    assert second == (undone[0], undone[1], "tie", "text correct")  # the undone pair came back, judged again
    assert not errors, errors
    assert not watch.beyond_loopback(), f"the page tried to reach beyond loopback: {watch.beyond_loopback()}"
    if target := readme_screenshot("judging.png"):
        _save_for_readme(shot, target)


def _save_for_readme(shot: Path, target: Path) -> None:
    """The screenshot, halved (1920 -> 960 px wide) and in 256 colours, so the README's copy stays small."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as img:
        small = img.convert("RGB").resize((img.width // 2, img.height // 2), Image.LANCZOS)
    small.quantize(256).save(target, optimize=True)
    assert target.stat().st_size < 300_000
