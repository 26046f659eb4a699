"""Blind judging of two experiments in a real browser: Voilà serves a notebook that opens
`lab.compare("before", "after").judge("experiment")`, headless Chromium clicks "left is better",
and the judgement must then be in SQLite as a judgement across experiments (no experiment id,
axis "experiment", one image of each run). A screenshot goes to data/screenshots/compare-judging.jpg.

Shares the Voilà and Chromium set-up of tests/widgets/test_browser.py (skipped only when
Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CHROMIUM_ARGS,
    CLICK_TIMEOUT_MS,
    START_TIMEOUT_S,
    lab_notebook,
    readme_screenshot,
    until,
)
from tests.support.labkit import SIZES, run_sweep


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Two small runs of one poster, and a notebook that judges them blind against each other."""
    run_sweep(emulator, data_dir, name="before", axes={"size": SIZES}, repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="after", axes={"size": SIZES}, repeats=1, fail_one=False,
              prompt="A premium poster for LUMIERE, 'Glow, Renewed.' headline in a gold serif")
    return lab_notebook(tmp_path / "compare.ipynb", data_dir, "Lab().compare('before', 'after').judge('experiment', seed=3)")


@pytest.mark.slow
def test_a_judgement_across_experiments_clicked_in_chromium_reaches_sqlite(chromium: str, voila: str,  # noqa: F811
                                                                           data_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    db = data_dir / "qwenlab.db"
    shot = tmp_path / "compare-judging.jpg"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", lambda route: route.continue_() if re.match(r"^(data:|blob:|https?://(127\.0\.0\.1|localhost)[:/])",
                                                                            route.request.url) else route.abort())
            page.goto(voila, timeout=START_TIMEOUT_S * 1000)
            left = page.get_by_role("button", name="◀ left is better")
            left.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
            page.locator(".qwenlab-judging img").first.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
            # the widget alone, as JPEG: a README image under 300 KB
            page.locator(".qwenlab-judging").screenshot(path=str(shot), type="jpeg", quality=80)
            left.click(timeout=CLICK_TIMEOUT_MS)

            def rows() -> list[tuple]:
                with sqlite3.connect(db) as conn:
                    return conn.execute(
                        "SELECT j.experiment_id, j.axis, j.winner, ea.name, eb.name FROM judgements j "
                        "JOIN images a ON a.id = j.image_a JOIN experiments ea ON ea.id = a.experiment_id "
                        "JOIN images b ON b.id = j.image_b JOIN experiments eb ON eb.id = b.experiment_id").fetchall()

            judged = until(rows, 30, "the judgement to reach SQLite")
        finally:
            browser.close()

    experiment_id, axis, winner, side_a, side_b = judged[0]
    assert (experiment_id, axis, winner) == (None, "experiment", "a")
    assert {side_a, side_b} == {"before", "after"}  # one image of each run
    assert shot.stat().st_size > 10_000
    if target := readme_screenshot("compare-judging.jpg"):
        shutil.copy(shot, target)
