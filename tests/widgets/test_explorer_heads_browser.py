"""The explorer's headings in a real browser: on a page of tiles taller than its scroll box, the
column headings must stay at the top of what is in view while the rows scroll under them (they
once scrolled away with the first row, and at row 6 nobody knew which column was which value),
stay above the tiles' invisible click-catching buttons, and leave the tiles clickable; the row
headings likewise stay at the left when the grid scrolls sideways.

Which element scrolls is found in the page, not assumed: the nearest of the heading's ancestors
that scrolls (the grid's own box since the fix; Voilà's main panel before, where no heading could
stick, the ipywidgets boxes and the output area around the grid all setting overflow).

Voilà, Chromium and the loopback-only routing come from tests/support/browser.py (skipped when
Chromium is missing, unless QWENLAB_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, until
from tests.support.labkit import run_sweep

WIDTH, HEIGHT = 640, 700  # narrower than the grid and far shorter: it scrolls both ways


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """promptExtend on / off, eight repeats each: eight rows of two columns, one tile a cell."""
    run_sweep(emulator, data_dir, name="tall", axes={"promptExtend": [True, False]}, repeats=8, fail_one=False,
              size="512x512")
    return lab_notebook(tmp_path / "tall.ipynb", data_dir,
                        "Lab().experiment('tall').explore(rows='repeat', cols='promptExtend', thumb_px=300)")


# the heading's nearest ancestor that scrolls in `axis`, and the part of it in the window
SCROLLER = """([text, axis]) => {
  const head = [...document.querySelectorAll('.qwl-head')].find(e => e.textContent === text);
  for (let e = head.parentElement; e; e = e.parentElement) {
    const s = getComputedStyle(e), y = axis === 'y';
    const ov = y ? s.overflowY : s.overflowX;
    if ((ov === 'auto' || ov === 'scroll') && (y ? e.scrollHeight > e.clientHeight + 1 : e.scrollWidth > e.clientWidth + 1)) {
      e.setAttribute('data-qwl-test-scroller-' + axis, '1');
      const r = e.getBoundingClientRect();
      return {top: Math.max(r.top, 0), bottom: Math.min(r.top + e.clientHeight, innerHeight),
              left: Math.max(r.left, 0), right: Math.min(r.left + e.clientWidth, innerWidth),
              cls: e.className};
    }
  }
  return null;
}"""

# whether the element drawn at the middle of `text`'s heading is that heading (nothing over it)
ON_TOP = """(text) => {
  const head = [...document.querySelectorAll('.qwl-head')].find(e => e.textContent === text);
  const r = head.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return head.contains(hit) || hit === head ? 'heading' : (hit ? hit.outerHTML.slice(0, 120) : 'nothing');
}"""


@pytest.mark.slow
def test_headings_stay_in_view_over_the_scrolled_tiles(chromium: str, voila: str, tmp_path: Path) -> None:
    with chromium_page(chromium, voila, width=WIDTH, height=HEIGHT, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: tiles.count() == 16, 60, "sixteen tiles")
        off, row = "promptExtend: off", "repeat: 7"
        page.get_by_text(off, exact=True).wait_for(state="visible", timeout=30_000)

        # down: to the end of what scrolls, the first rows far out of view
        view = page.evaluate(SCROLLER, [off, "y"])
        assert view, "nothing scrolls: the page of tiles should be taller than the window"
        page.evaluate("() => { const e = document.querySelector('[data-qwl-test-scroller-y]'); e.scrollTop = e.scrollHeight; }")
        page.wait_for_timeout(300)
        view = page.evaluate(SCROLLER, [off, "y"])
        first = tiles.nth(0).bounding_box()
        assert first and first["y"] + first["height"] < view["top"], f"the first row is still in view: {first}, {view}"
        head = page.get_by_text(off, exact=True).bounding_box()
        assert head, "no column heading"
        assert view["top"] - 1 <= head["y"] and head["y"] + head["height"] <= view["bottom"] + 1, \
            f"the column heading scrolled out of view ({view['cls']}): {head}, visible {view}"
        assert page.evaluate(ON_TOP, off) == "heading", "a tile is drawn over the column heading"

        # sideways: the row headings stay at the left
        side = page.evaluate(SCROLLER, [row, "x"])
        assert side, "nothing scrolls sideways: the grid should be wider than the window"
        page.evaluate("() => { const e = document.querySelector('[data-qwl-test-scroller-x]'); e.scrollLeft = e.scrollWidth; }")
        page.wait_for_timeout(300)
        side = page.evaluate(SCROLLER, [row, "x"])
        rowhead = page.get_by_text(row, exact=True).bounding_box()
        assert rowhead and side["left"] - 1 <= rowhead["x"] < side["right"], \
            f"the row heading scrolled out of view: {rowhead}, visible {side}"
        assert page.evaluate(ON_TOP, row) == "heading", "a tile is drawn over the row heading"
        assert page.evaluate(ON_TOP, off) == "heading", "the column heading is hidden once scrolled sideways"
        page.screenshot(path=str(tmp_path / "explorer-scrolled.png"))  # to look at (kept in pytest's folder)

        # a click on a tile in view, below the headings, still selects it
        def in_view(i: int) -> bool:
            b = tiles.nth(i).locator("img").bounding_box()
            return bool(b) and head["y"] + head["height"] < b["y"] + b["height"] / 2 < view["bottom"] \
                and side["left"] < b["x"] + b["width"] / 2 < side["right"]

        shown = [i for i in range(16) if in_view(i)]
        assert shown and shown[0] >= 4, f"tiles in view: {shown} (the first rows should be scrolled away)"
        tile = tiles.nth(shown[-1])
        box = tile.locator("img").bounding_box()
        assert box
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        until(lambda: "qwl-selected" in (tile.get_attribute("class") or ""), 30, "the clicked tile to be selected")
        assert page.locator(".qwl-tile.qwl-selected").count() == 1
    assert not watch.errors, watch.errors


@pytest.mark.slow
def test_keys_bring_the_selected_tile_into_the_grids_box(chromium: str, voila: str, tmp_path: Path) -> None:
    """End and Home select the last and the first tile: each is scrolled into view inside the
    grid's box, below the column headings and right of the row headings, down and sideways (the
    window is narrower than the two columns)."""
    with chromium_page(chromium, voila, width=WIDTH, height=HEIGHT, timeout_ms=START_TIMEOUT_S * 1000) as (page, watch):
        tiles = page.locator(".qwl-tile")
        tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
        until(lambda: tiles.count() == 16, 60, "sixteen tiles")
        off = "promptExtend: off"
        page.get_by_text(off, exact=True).wait_for(state="visible", timeout=30_000)
        assert page.evaluate(SCROLLER, [off, "y"]), "the page of tiles should be taller than its box"
        tiles.nth(0).locator(".qwl-hit").click()  # the invisible button over the tile takes the click
        until(lambda: page.locator(".qwl-tile.qwl-selected").count() == 1, 30, "the first tile selected")
        page.locator(".qwl-keys-live").wait_for(timeout=10_000)

        # inside the box (the page itself may have scrolled it off the window to show the viewer)
        inside = """() => {
          const box = document.querySelector('[data-qwl-test-scroller-y]'), b = box.getBoundingClientRect();
          const tile = document.querySelector('.qwl-tile.qwl-selected').getBoundingClientRect();
          const heads = [...box.querySelectorAll('.qwl-head')].filter(h => h.textContent.startsWith('promptExtend'));
          const top = Math.max(...heads.map(h => h.getBoundingClientRect().bottom));
          const sides = [...box.querySelectorAll('.qwl-head')].filter(h => h.textContent.startsWith('repeat'));
          const left = Math.max(...sides.map(h => h.getBoundingClientRect().right));
          return tile.top >= top - 1 && tile.bottom <= b.top + box.clientHeight + 1
            && tile.left >= left - 1 && tile.right <= b.left + box.clientWidth + 1;
        }"""

        def shown_whole() -> bool:
            return bool(page.evaluate(inside))

        selected = "() => [...document.querySelectorAll('.qwl-tile')].findIndex(t => t.classList.contains('qwl-selected'))"
        assert page.evaluate(selected) == 0
        before = page.evaluate("() => document.querySelector('[data-qwl-test-scroller-y]').scrollTop")
        page.keyboard.press("End")
        until(lambda: page.evaluate(selected) >= 14, 30, "End to select a tile of the last row")
        until(shown_whole, 30, "the last tile, selected by End, in view below the headings")
        after = page.evaluate("() => document.querySelector('[data-qwl-test-scroller-y]').scrollTop")
        assert after > before, (before, after)
        page.keyboard.press("Home")
        until(lambda: page.evaluate("() => document.querySelector('[data-qwl-test-scroller-y]').scrollTop") < after,
              30, "the box to scroll back up for Home")
        until(shown_whole, 30, "the first tile, selected by Home, in view below the headings")
    assert not watch.errors, watch.errors
