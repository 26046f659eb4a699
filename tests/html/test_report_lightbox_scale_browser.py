"""The lightbox of a large report, in headless Chromium: a step costs the same however many
thumbnails the page holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwenlab.bench.report import build_experiment
from qwenlab.html.report import export_html
from tests.html.test_report_browser import _open


@pytest.mark.slow
def test_a_step_does_not_read_every_thumbnail(chromium: str, tmp_path: Path) -> None:
    """Each arrow listed the section's thumbnails again, reading every one's `src`: its whole data
    URI. In the grid of a 1,920-image report that took 120 ms a step (a held arrow key lagged
    seconds behind). Now they are listed once when the lightbox opens: a step reads a few."""
    n = 240  # above 200 images: the grid is a table of thumbnails
    exp = build_experiment(tmp_path / "data", n)
    path = export_html(exp, tmp_path / "report.html")

    def run(page: Any) -> dict[str, Any]:
        page.evaluate("""() => {
          const d = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
          window.srcReads = 0;
          Object.defineProperty(HTMLImageElement.prototype, 'src', { configurable: true, set: d.set,
            get() { window.srcReads += 1; return d.get.call(this); } });
        }""")
        grid = page.locator("#grid img.thumb")
        alts = grid.evaluate_all("els => els.map(e => e.alt)")
        grid.first.click()
        cap = page.locator("#qwl-lightbox .cap")
        page.keyboard.press("ArrowRight")  # the first step lists the thumbnails
        before = page.evaluate("window.srcReads")
        seen = []
        for _ in range(20):
            page.keyboard.press("ArrowRight")
            seen.append(cap.inner_text())
        return {"alts": alts, "seen": seen, "reads": page.evaluate("window.srcReads") - before}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert len(r["alts"]) == n and r["seen"] == r["alts"][2:22]  # it still steps through the grid in order
    assert r["reads"] <= 3 * 20, r["reads"]  # a few a step, not the grid's 240
