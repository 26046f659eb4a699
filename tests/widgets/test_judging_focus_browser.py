"""Judging's keys act only while the focus is in the judging widget, in a real browser. A notebook
holds a text box in one cell and judging in the next: keys typed into the text box, or pressed
with the focus on the notebook's page, judge nothing. Shift with an arrow never judges, in
judging or out of it: it is how a text selection grows, and how the full-size viewer pans
(its bar says so), so a judge who pressed it with the focus on the pair or a button, meaning to
pan, cast a verdict: there it pans the full-size view too, where that is open.

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    START_TIMEOUT_S,
    chromium_page,
    full_size_pair,
    judgement_rows,
    judging_pair,
    lab_notebook,
    until,
)
from tests.support.labkit import run_sweep

PROMPT = "A square poster: the brand 'LUMIERE' in large serif capitals"


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Three pairs of promptExtend on / off; a notebook whose first cell is a text box (another
    cell's input, where the user writes) and whose second opens judging on them."""
    run_sweep(emulator, data_dir, name="focus", axes={"promptExtend": [True, False]}, repeats=3, fail_one=False,
              prompt=PROMPT, size="1024x1024")
    notes = ("import ipywidgets as w\n"
             "notes = w.Textarea(placeholder='notes on this run')\n"
             "notes.add_class('other-cell')\n"
             "notes")
    return lab_notebook(tmp_path / "focus.ipynb", data_dir, "Lab().experiment('focus').judge('promptExtend', seed=5)",
                        before=(notes,))


JUDGING_KEYS = ("ArrowLeft", "ArrowRight", "1", "2", "t", "0", "s", "u", "Backspace", "f")
PAN = "els => els.map(e => (e.style.transform.match(/translate\\(([-\\d.e]+)px/) || [0, 'none'])[1])"
SHIFT_ARROWS = ("Shift+ArrowLeft", "Shift+ArrowRight", "Shift+ArrowUp", "Shift+ArrowDown")


@pytest.mark.slow
def test_keys_judge_only_with_the_focus_in_judging_and_shift_arrows_never(chromium: str, voila: str,
                                                                         data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "qwenlab.db"
    with chromium_page(chromium, voila, width=1400, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        widget, pair = judging_pair(page, START_TIMEOUT_S)
        header = widget.locator(".widget-html").first
        first_pair = header.inner_text()
        legend = page.locator(".qwl-keys")

        # typed into another cell's text box: text, never a verdict
        notes = page.locator(".other-cell textarea")
        notes.click()
        for key in (*JUDGING_KEYS, *SHIFT_ARROWS):
            page.keyboard.press(key)
        page.keyboard.type("left 1 2 t")
        assert notes.input_value().endswith("left 1 2 t")
        assert "keys on:" not in legend.inner_text()

        # the focus on the notebook's page itself (a click beside the widgets)
        page.mouse.click(1390, 5)
        assert page.evaluate("() => !document.querySelector('.qwenlab-judging').contains(document.activeElement)")
        for key in (*JUDGING_KEYS, *SHIFT_ARROWS):
            page.keyboard.press(key)
        page.wait_for_timeout(1500)  # a verdict would have reached SQLite by now
        assert judgement_rows(db) == [], "a key pressed outside judging was recorded as a verdict"
        assert header.inner_text() == first_pair, "a key pressed outside judging moved to another pair"
        assert widget.locator(".qwl-cmp").count() == 0, "f pressed outside judging opened the full-size view"

        # in judging, on the pair and on a button: Shift with an arrow judges nothing
        pair.first.click()
        until(lambda: "keys on:" in legend.inner_text(), 30, "a click on the pair to turn the keys on")
        for key in SHIFT_ARROWS:
            page.keyboard.press(key)
        widget.get_by_role("button", name="show results").focus()
        for key in SHIFT_ARROWS:
            page.keyboard.press(key)
        page.wait_for_timeout(1500)
        assert judgement_rows(db) == [], "Shift and an arrow in judging (outside its full-size view) was recorded as a verdict"
        assert header.inner_text() == first_pair

        # with the full-size view open they pan it, on the picture or on the pair above it
        viewer, images = full_size_pair(page, widget)
        stage = viewer.locator(".qwl-cmp-stage")
        stage.click()
        before = images.evaluate_all(PAN)
        page.keyboard.press("Shift+ArrowLeft")
        until(lambda: images.evaluate_all(PAN) != before, 10, "Shift+← on the picture to pan it")
        pair.first.click()
        moved = images.evaluate_all(PAN)
        page.keyboard.press("Shift+ArrowRight")
        until(lambda: images.evaluate_all(PAN) != moved, 10, "Shift+→ on the pair to pan the full-size view")
        page.wait_for_timeout(1500)
        assert judgement_rows(db) == []
        assert header.inner_text() == first_pair
        page.screenshot(path=str(tmp_path / "judging-focus.png"))  # to look at (kept in pytest's folder)

        # the plain keys still judge, with the focus in judging
        pair.first.click()
        page.keyboard.press("ArrowLeft")
        until(lambda: judgement_rows(db) == [("a",)], 30, "← in judging to judge")
    assert not watch.errors, watch.errors
    assert not watch.beyond_loopback(), watch.beyond_loopback()
