"""Judging's full-size view zoomed in, in a real browser: a judge zoomed in to read small text
who presses an arrow to look around pans the picture and casts no verdict. The plain arrows
recorded a verdict while zoomed in (only Shift and an arrow panned), so a look to the left was
a vote for the left image. Zoomed in, 1, 2 and 0 judge, and the legend and the viewer's bar say
so; fitted again, the arrows judge again. And "show results", with the view open, shows the win
rates where they can be seen.

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CLICK_TIMEOUT_MS,
    START_TIMEOUT_S,
    chromium_page,
    full_size_pair,
    judgement_rows,
    judging_pair,
    lab_notebook,
    until,
)
from tests.support.labkit import run_sweep

PROMPT = "A square poster: the brand 'LUMIERE' in large serif capitals, and small print 'Glow, Refined.' below"
PAN = "els => els.map(e => (e.style.transform.match(/translate\\(([-\\d.e]+)px/) || [0, 'none'])[1])"


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """Three pairs of promptExtend on / off; judging opened on them."""
    run_sweep(emulator, data_dir, name="zoomed", axes={"promptExtend": [True, False]}, repeats=3, fail_one=False,
              prompt=PROMPT, size="1024x1024")
    return lab_notebook(tmp_path / "zoomed.ipynb", data_dir, "Lab().experiment('zoomed').judge('promptExtend', seed=3)")


@pytest.mark.slow
def test_arrows_pan_the_zoomed_full_size_view_and_judge_nothing(chromium: str, voila: str, data_dir: Path,
                                                                tmp_path: Path) -> None:
    db = data_dir / "qwenlab.db"
    with chromium_page(chromium, voila, width=1400, height=900, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        widget, pair = judging_pair(page, START_TIMEOUT_S)
        pair.first.click()
        page.get_by_text("keys on:").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        viewer, images = full_size_pair(page, widget)
        hint = viewer.locator(".qwl-cmp-hint").inner_text()
        assert "zoomed in: arrows pan, 1 2 0 judge" in hint, hint
        bar = viewer.locator(".qwl-cmp-bar")
        assert bar.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), "the bar's hint runs past the viewer's edge"

        # zoomed in on the picture, the arrows look around it
        stage = viewer.locator(".qwl-cmp-stage")
        stage.click()
        for _ in range(4):
            page.keyboard.press("+")
        until(lambda: "qwl-cmp-zoomed" in (stage.get_attribute("class") or ""), 10, "+ to zoom in")
        legend = page.locator(".qwl-keys")
        until(lambda: "pan, while zoomed in" in legend.inner_text(), 10, "the legend to say the arrows pan")
        before = images.evaluate_all(PAN)
        for key in ("ArrowLeft", "ArrowLeft", "ArrowUp", "ArrowRight"):
            page.keyboard.press(key)
        until(lambda: images.evaluate_all(PAN) != before, 10, "the arrows to pan")
        page.wait_for_timeout(1500)  # a verdict would have reached SQLite by now
        assert judgement_rows(db) == [], "an arrow pressed to look around the zoomed picture was recorded as a verdict"
        viewer.screenshot(path=str(tmp_path / "judging-zoomed.png"))

        # the focus elsewhere in judging (the pair above): an arrow still pans, and says why
        pair.first.click()
        moved = images.evaluate_all(PAN)
        page.keyboard.press("ArrowRight")
        until(lambda: images.evaluate_all(PAN) != moved, 10, "→ pressed on the pair to pan the zoomed view")
        widget.get_by_text("the arrows pan the picture and judge nothing").wait_for(state="visible",
                                                                                      timeout=CLICK_TIMEOUT_MS)
        page.wait_for_timeout(1000)
        assert judgement_rows(db) == []

        # zoomed in, 1 judges (the left image); the next pair stays zoomed, so the arrows still pan
        stage.click()
        page.keyboard.press("1")
        until(lambda: judgement_rows(db) == [("a",)], 30, "1 to judge while zoomed in")

        # fitted again (double-click), the arrows judge
        viewer.locator(".qwl-cmp-pane").first.dblclick()
        until(lambda: "qwl-cmp-zoomed" not in (stage.get_attribute("class") or ""), 10, "a double-click to fit")
        until(lambda: "pan, while zoomed in" not in legend.inner_text(), 10, "the legend to say the arrows judge")
        page.keyboard.press("ArrowRight")
        until(lambda: len(judgement_rows(db)) == 2, 30, "→ to judge once fitted")
        assert judgement_rows(db)[1] == ("b",)

        # "show results" with the full-size view open: the win rates come into sight under the
        # buttons (under the view, they were drawn a window's height below, out of sight)
        widget.get_by_role("button", name="show results").click()
        rates = widget.get_by_text("win rates (overall)")
        rates.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
        top = rates.evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= top < 900 - 40, f"the win rates were drawn out of sight, {top:.0f} px down a 900 px window"
    assert not watch.errors, watch.errors
    assert not watch.beyond_loopback(), watch.beyond_loopback()
