"""The lightbox of a large report, in headless Chromium: the arrow keys reach every image of the
requests, page after page, and a step costs the same however many thumbnails the page holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwenlab.bench.report import build_experiment
from qwenlab.html.report import export_html
from tests.html.test_report_browser import _open
from tests.support.browser import CHROMIUM_ARGS


@pytest.mark.slow
def test_the_arrow_keys_go_on_through_every_page_of_the_requests(chromium: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The requests come 100 to a page, and the arrows went round the thumbnails of the page shown:
    after the 100th came the 1st again, and the other 1,820 images of a 1,920-image report could
    not be stepped to. Now a step past a page's last image turns the pager to the next page."""
    from qwenlab.html import report

    monkeypatch.setattr(report, "PAGE_ROWS", 4)  # 10 requests: pages of 4, 4 and 2
    exp = build_experiment(tmp_path / "data", 10)
    path = export_html(exp, tmp_path / "report.html", grid=None)

    def run(page: Any) -> dict[str, Any]:
        every = page.locator("#requests img.thumb").evaluate_all("els => els.map(e => e.alt)")
        page.locator("#requests img.thumb").first.click()
        cap, pager = page.locator("#qwl-lightbox .cap"), page.locator(".pager span")
        seen = [(cap.inner_text(), pager.inner_text().strip())]
        for _ in range(len(every)):
            page.keyboard.press("ArrowRight")
            seen.append((cap.inner_text(), pager.inner_text().strip()))
        page.keyboard.press("ArrowLeft")
        back = (cap.inner_text(), pager.inner_text().strip())
        page.keyboard.press("Escape")
        # the lightbox closed on the last page: the focus on the image last shown, which the page shows
        focused = page.evaluate("() => [document.activeElement.alt, document.activeElement.offsetParent !== null]")
        return {"every": every, "seen": seen, "back": back, "focused": focused}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    every = r["every"]
    assert len(every) == 10 and len(set(every)) == 10
    # every image in the order listed, each with its page shown, then round to the first
    pages = ["page 1 of 3"] * 4 + ["page 2 of 3"] * 4 + ["page 3 of 3"] * 2 + ["page 1 of 3"]
    assert r["seen"] == list(zip(every + every[:1], pages))
    assert r["back"] == (every[-1], "page 3 of 3")
    assert r["focused"] == [every[-1], True]


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


@pytest.mark.slow
def test_the_grid_of_a_large_report_shows_before_the_script_runs(chromium: str, tmp_path: Path) -> None:
    """The grid's table (above 200 images) showed each image by reference to its thumbnail in the
    requests below, filled by the page's script, which runs once the whole file is read: seconds
    into a 2,000-image report the first screen was a wall of broken images and their alt texts,
    and for good where scripts do not run. Each thumbnail is now embedded where it first shows."""
    from playwright.sync_api import sync_playwright

    n = 240
    exp = build_experiment(tmp_path / "data", n)
    path = export_html(exp, tmp_path / "report.html", full_size=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            # no script: what the page shows as it loads, before its script at the end has run
            page = browser.new_page(viewport={"width": 1400, "height": 900}, java_script_enabled=False)
            page.goto(path.as_uri())
            grid = page.locator("#grid img.thumb").evaluate_all(
                "els => els.map(e => [e.complete && e.naturalWidth > 0, e.getAttribute('data-full')])")
            page.close()
            # with the script, the requests' rows show the same images, and the lightbox their originals
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(path.as_uri())
            listed = page.locator("#requests img.thumb").evaluate_all("els => els.map(e => e.naturalWidth > 0)")
            page.locator("#requests img.thumb").first.click()
            big = page.locator("#qwl-lightbox img").get_attribute("src")
        finally:
            browser.close()
    assert len(grid) == n and all(shown for shown, _ in grid)
    assert all(full and full.startswith("report_files/") for _, full in grid)
    assert len(listed) == n and all(listed)
    assert big and big.startswith("report_files/")
    html = path.read_text(encoding="utf-8")
    assert html.count("data:image/webp") == n  # still once each
