"""The report in real headless Chromium (Debian's, through playwright's `executable_path`): a click
on a thumbnail opens it large in the lightbox, the originals show there with `full_size=True`,
the requests come a page at a time, and the page asks for nothing outside itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwenlab.html.report import export_html
from tests.support.browser import CHROMIUM_ARGS, checkerboard, lightbox_middle
from tests.support.labkit import run_sweep


def _open(chromium: str, path: Path, run: Any, scale: float = 1) -> Any:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, device_scale_factor=scale)
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(path.as_uri())
            result = run(page)
        finally:
            browser.close()
    return result, requests, errors


@pytest.mark.slow
def test_a_click_on_a_thumbnail_opens_it_large(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="lightbox")
    path = export_html(exp, tmp_path / "report.html", grid="table")

    def run(page: Any) -> dict[str, Any]:
        box = page.locator("#qwl-lightbox")
        assert box.is_hidden()
        # the grid table's images are references to the ones embedded in the requests: filled by the script
        grid_imgs = page.locator("#grid img.thumb")
        assert grid_imgs.count() == 7
        assert all(s.startswith("data:image/webp") for s in grid_imgs.evaluate_all("els => els.map(e => e.src)"))
        first = page.locator("#requests img.thumb").first
        alt = first.get_attribute("alt")
        first.click()
        assert box.is_visible()
        big = box.locator("img")
        shown = big.evaluate("e => ({src: e.src, w: e.getBoundingClientRect().width, natural: e.naturalWidth})")
        caption = box.locator(".cap").inner_text()
        note = box.locator(".note").is_visible()
        page.screenshot(path=str(tmp_path / "lightbox.png"))
        page.keyboard.press("ArrowRight")
        stepped = box.locator(".cap").inner_text()
        page.keyboard.press("Escape")
        return {"shown": shown, "caption": caption, "alt": alt, "note": note, "stepped": stepped,
                "closed": box.is_hidden(), "first_src": first.get_attribute("src")}

    r, requests, errors = _open(chromium, path, run)
    assert not errors, errors
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert r["shown"]["src"] == r["first_src"] and r["caption"] == r["alt"] and "seed" in r["caption"]
    assert r["shown"]["w"] > 2 * 160  # shown large, not at thumbnail size
    assert r["shown"]["natural"] >= 500  # a small report embeds real previews (512x768 here), not 160-px thumbnails
    assert r["note"]  # says the originals are not in the file, and how to get them
    assert r["stepped"] != r["caption"] and r["closed"]


@pytest.mark.slow
def test_the_arrow_keys_step_round_the_section_the_image_came_from(chromium: str, emulator: Any, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    """The grid table and the requests table show the same images: stepping on from the grid's
    last thumbnail went through every one of them again in the requests (4,000 stops for 2,000
    images). Now the arrows go round the thumbnails of the section the image was opened from."""
    exp = run_sweep(emulator, data_dir, name="round", fail_one=False)
    # the grid by size, then promptExtend: an order other than the requests' (promptExtend first)
    path = export_html(exp, tmp_path / "report.html", grid="table", rows="size", cols="promptExtend")

    def run(page: Any) -> dict[str, Any]:
        grid = page.locator("#grid img.thumb")
        alts = grid.evaluate_all("els => els.map(e => e.alt)")
        listed = page.locator("#requests img.thumb").evaluate_all("els => els.map(e => e.alt)")
        grid.first.click()
        cap = page.locator("#qwl-lightbox .cap")
        seen = [cap.inner_text()]
        for _ in range(2 * len(alts)):
            page.keyboard.press("ArrowRight")
            seen.append(cap.inner_text())
        page.keyboard.press("ArrowLeft")
        return {"alts": alts, "listed": listed, "seen": seen, "back": cap.inner_text()}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    n = len(r["alts"])
    assert n == 8 and r["listed"] != r["alts"]  # else the test could not tell the sections apart
    # the grid's thumbnails in its order, twice round, never the requests table's
    assert r["seen"] == r["alts"] + r["alts"] + r["alts"][:1]
    assert r["back"] == r["alts"][-1]


@pytest.mark.slow
def test_in_the_table_grid_a_missing_or_failed_image_takes_its_thumbnails_place(chromium: str, emulator: Any,
                                                                               data_dir: Path, tmp_path: Path) -> None:
    """The table grid (more than 200 images, or grid="table") put a line of red text where an
    image was missing or its cell failed: shorter than a portrait poster's thumbnail, so every
    repeat under it stood higher than its neighbours in the row. The text is in a box of the
    thumbnail's size and shape now, as the drawn grid's blank is."""
    exp = run_sweep(emulator, data_dir, name="blanks")  # 512x768 and 768x512, one cell failed
    gone = exp.images.iloc[0]
    Path(gone["path"]).unlink()
    path = export_html(exp, tmp_path / "report.html", grid="table", rows="promptExtend", cols="size")

    def run(page: Any) -> list[dict[str, Any]]:
        page.screenshot(path=str(tmp_path / "table-blanks.png"), full_page=True)
        # each picture of the table (thumbnail or blank): its column, its kind and its size on screen
        return page.locator("#grid table.gridtable td").evaluate_all("""tds => tds.flatMap(td =>
            Array.from(td.querySelectorAll('img.thumb, .blank')).map(e => {
              const r = e.getBoundingClientRect();
              return {col: td.cellIndex, blank: e.classList.contains('blank'), text: e.textContent, w: r.width, h: r.height};
            }))""")

    shown, _, errors = _open(chromium, path, run)
    assert not errors, errors
    blanks = [b for b in shown if b["blank"]]
    assert len(blanks) == 2 and any("unreadable" in b["text"] for b in blanks) and any("FAILED" in b["text"] for b in blanks)
    for b in blanks:
        thumbs = [t for t in shown if t["col"] == b["col"] and not t["blank"]]  # the same size: the same shape
        assert thumbs, b
        for t in thumbs:
            assert (b["w"], b["h"]) == (pytest.approx(t["w"], abs=1), pytest.approx(t["h"], abs=1)), (b, t)


@pytest.mark.slow
def test_a_click_on_a_drawn_grid_shows_it_at_its_actual_size(chromium: str, emulator: Any, data_dir: Path,
                                                             tmp_path: Path) -> None:
    """A wide grid page is shrunk to the page's width, its small text with it: a click shows it at
    its own pixels (scrolling sideways in its frame), another fits it back."""
    exp = run_sweep(emulator, data_dir, name="wide", axes={"promptExtend": [True, False], "size": ["768x512", "1024x512"]},
                    repeats=3, fail_one=False)
    path = export_html(exp, tmp_path / "report.html", rows="promptExtend", cols="size", page=None)

    def run(page: Any) -> dict[str, Any]:
        grid = page.locator("img.grid").first
        grid.scroll_into_view_if_needed()
        measure = "e => ({w: e.getBoundingClientRect().width, natural: e.naturalWidth})"
        before = grid.evaluate(measure)
        grid.click()
        actual = grid.evaluate(measure)
        grid.click()
        return {"before": before, "actual": actual, "after": grid.evaluate(measure),
                "page": page.evaluate("document.documentElement.scrollWidth")}

    r, requests, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r["before"]["natural"] > r["before"]["w"] + 100, f"the page is not wider than shown: {r}"
    assert r["actual"]["w"] == pytest.approx(r["actual"]["natural"], abs=2), r  # its own pixels
    assert r["after"]["w"] == pytest.approx(r["before"]["w"], abs=2) and r["page"] <= 1400, r  # fitted back; no page scroll


@pytest.mark.slow
def test_full_size_shows_the_original_from_the_folder_beside(chromium: str, emulator: Any, data_dir: Path,
                                                            tmp_path: Path) -> None:
    from PIL import Image

    exp = run_sweep(emulator, data_dir, name="originals")
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)
    folder = tmp_path / "out" / "report_files"
    originals = sorted(folder.iterdir())
    assert len(originals) == 7 and {p.read_bytes() for p in originals} == {Path(p).read_bytes() for p in exp.images.path}

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        box = page.locator("#qwl-lightbox")
        big = box.locator("img")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').complete")
        return {"src": big.get_attribute("src"), "natural": big.evaluate("e => [e.naturalWidth, e.naturalHeight]"),
                "link": box.locator("a.orig").get_attribute("href"), "link_shown": box.locator("a.orig").is_visible()}

    r, requests, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r["src"].startswith("report_files/") and r["link"] == r["src"] and r["link_shown"]
    with Image.open(path.parent / r["src"]) as original:
        assert tuple(r["natural"]) == original.size  # the original itself, at full size, from the folder beside
    assert all(u.startswith(("file:", "data:")) for u in requests)


@pytest.mark.slow
def test_the_lightbox_shows_an_original_1_to_1_and_keeps_the_keys(chromium: str, emulator: Any, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    """A click on the large image shows it at its own pixels, the point clicked kept under the
    pointer; the keys that would scroll the page behind scroll the image; Tab stays in the box.
    Sent without its folder, the report shows the embedded preview instead, and says so."""
    exp = run_sweep(emulator, data_dir, name="actual", axes={"size": ["1536x1024"]}, repeats=2, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        box = page.locator("#qwl-lightbox")
        big = box.locator("img")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        measure = "e => ({w: e.getBoundingClientRect().width, natural: e.naturalWidth})"
        fitted = big.evaluate(measure)
        r = big.bounding_box()
        big.click(position={"x": r["width"] * 0.25, "y": r["height"] * 0.25})
        actual = big.evaluate(measure)
        frame = box.locator(".frame")
        at = frame.evaluate("f => [f.scrollLeft, f.scrollTop]")
        page_y = page.evaluate("window.scrollY")
        assert page.evaluate("document.documentElement.scrollHeight > innerHeight + 200")  # a page that could scroll
        page.screenshot(path=str(tmp_path / "lightbox-1to1.png"))
        page.keyboard.press("PageDown")
        page.keyboard.press("Space")
        after_keys = {"page_y": page.evaluate("window.scrollY"), "frame_top": frame.evaluate("f => f.scrollTop")}
        focus = []
        for _ in range(4):
            page.keyboard.press("Tab")
            focus.append(page.evaluate("document.activeElement.closest('#qwl-lightbox') !== null"))
        big.click()
        return {"fitted": fitted, "actual": actual, "at": at, "page_y": page_y, "after_keys": after_keys,
                "focus": focus, "refitted": big.evaluate(measure)}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r["fitted"]["natural"] == 1536 and r["fitted"]["w"] < 1400  # fitted in a 1400-px window
    assert r["actual"]["w"] == pytest.approx(1536, abs=1), r  # 1:1
    assert r["at"][0] > 0 and r["at"][1] > 0, r  # the point clicked (a quarter in) kept under the pointer, not the corner
    assert r["after_keys"]["page_y"] == r["page_y"] and r["after_keys"]["frame_top"] > r["at"][1], r
    assert all(r["focus"]), r
    assert r["refitted"]["w"] == pytest.approx(r["fitted"]["w"], abs=1)

    # sent as one file, without report_files/: the preview embedded in it, and a word on why
    moved = tmp_path / "inbox" / "report.html"
    moved.parent.mkdir()
    moved.write_bytes(path.read_bytes())

    def alone(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        box = page.locator("#qwl-lightbox")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        return {"src": box.locator("img").get_attribute("src") or "", "missing": box.locator(".missing").is_visible(),
                "link": box.locator("a.orig").is_visible()}

    r, _, errors = _open(chromium, moved, alone)
    assert r["src"].startswith("data:image/webp") and r["missing"] and not r["link"], r
    assert all("report_files" in e or "ERR_FILE_NOT_FOUND" in e for e in errors), errors  # the original, not found


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_the_lightbox_at_1_to_1_shows_the_originals_own_pixels_on_a_retina_screen(
        chromium: str, emulator: Any, data_dir: Path, tmp_path: Path, scale: int) -> None:
    """At devicePixelRatio 2, 1:1 drew each pixel of the original on 2 x 2 device pixels, smoothed:
    a checkerboard of single pixels came out all grey, a poster's small text soft. 1:1 is one image
    pixel per device pixel (half a CSS pixel there), and the next image (→) comes the same way."""

    from PIL import Image

    exp = run_sweep(emulator, data_dir, name="retina", axes={"size": ["1024x1536"]}, repeats=2, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)
    originals = sorted((path.parent / "report_files").iterdir())
    assert len(originals) == 2
    for original in originals:  # a checkerboard of single pixels in place of each original (the browser sniffs it)
        with Image.open(original) as im:
            w, h = im.size
        checkerboard(w, h).save(original, format="PNG")

    def grey(page: Any) -> float:
        return lightbox_middle(page, tmp_path / f"lightbox-x{scale}.png")[0]

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        big = page.locator("#qwl-lightbox img")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        r = big.bounding_box()
        big.click(position={"x": r["width"] * 0.5, "y": r["height"] * 0.5})  # 1:1
        page.wait_for_timeout(200)
        first = {"width": big.evaluate("e => e.getBoundingClientRect().width"), "grey": grey(page)}
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').complete")
        page.wait_for_timeout(200)
        return {"first": first, "next": {"width": big.evaluate("e => e.getBoundingClientRect().width"), "grey": grey(page)},
                "closed": page.keyboard.press("Escape") or big.evaluate("e => e.style.width")}

    r, _, errors = _open(chromium, path, run, scale=scale)
    assert not errors, errors
    for shown in (r["first"], r["next"]):
        assert shown["width"] == pytest.approx(1024 / scale, abs=1), r  # one image pixel per device pixel
        assert shown["grey"] < 0.01, f"{shown['grey']:.0%} of the 1:1 pixels are grey: resampled"
    assert r["closed"] == "", r  # closed: the next image opens fitted


@pytest.mark.slow
def test_requests_come_a_page_at_a_time(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from qwenlab.html import report

    exp = run_sweep(emulator, data_dir, name="paged")
    monkeypatch.setattr(report, "PAGE_ROWS", 3)  # 8 requests: pages of 3, 3 and 2
    path = export_html(exp, tmp_path / "report.html", grid=None)

    def run(page: Any) -> list[Any]:
        def rows() -> int:
            return page.locator("#requests tbody.page:not([hidden]) tr").count()

        def label() -> str:
            return page.locator(".pager span").inner_text().strip()

        seen = [(label(), rows())]
        nxt = page.locator(".pager button", has_text="next")
        nxt.click()
        seen.append((label(), rows()))
        nxt.click()
        seen.append((label(), rows(), nxt.is_disabled()))
        return seen

    seen, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert seen == [("page 1 of 3", 3), ("page 2 of 3", 3), ("page 3 of 3", 2, True)]


@pytest.mark.slow
def test_at_1_to_1_the_arrow_keys_keep_the_spot_read(chromium: str, emulator: Any, data_dir: Path,
                                                     tmp_path: Path) -> None:
    """Reading the headline of one poster at 1:1, → brought the next one scrolled to its middle:
    the headline to compare was out of view, and had to be found again in every image."""
    exp = run_sweep(emulator, data_dir, name="spot", axes={"size": ["1024x1536"]}, repeats=3, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        big = page.locator("#qwl-lightbox img")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        r = big.bounding_box()
        big.click(position={"x": r["width"] * 0.5, "y": r["height"] * 0.08})  # the headline, 1:1
        frame = page.locator("#qwl-lightbox .frame")
        at = frame.evaluate("f => [f.scrollLeft, f.scrollTop]")
        caption = page.locator("#qwl-lightbox .cap").inner_text()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.querySelector('#qwl-lightbox .cap').innerText !== {caption!r}")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').complete")
        page.wait_for_timeout(200)
        return {"at": at, "next": frame.evaluate("f => [f.scrollLeft, f.scrollTop]"),
                "actual": big.evaluate("e => e.getBoundingClientRect().width")}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r["actual"] == pytest.approx(1024, abs=1), r  # still 1:1
    assert r["next"][0] == pytest.approx(r["at"][0], abs=2) and r["next"][1] == pytest.approx(r["at"][1], abs=2), r


@pytest.mark.slow
def test_at_1_to_1_shift_and_the_arrows_pan_a_wide_poster_sideways(chromium: str, emulator: Any, data_dir: Path,
                                                                    tmp_path: Path) -> None:
    """A 1536-px poster at 1:1 in a 1000-px window: its right edge could be reached with the
    pointer only. Shift+→ stepped to the next image (as the compare viewer's Shift+arrows pan, a
    user reaching for them lost the image read); now Shift and an arrow pan it, on both axes."""
    exp = run_sweep(emulator, data_dir, name="wide", axes={"size": ["1536x1024"]}, repeats=2, fail_one=False)
    path = exp.export(tmp_path / "out" / "report.html", full_size=True, grid=None)

    def run(page: Any) -> dict[str, Any]:
        page.set_viewport_size({"width": 1000, "height": 700})
        page.locator("#requests img.thumb").first.click()
        big = page.locator("#qwl-lightbox img")
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        r = big.bounding_box()
        big.click(position={"x": r["width"] * 0.1, "y": r["height"] * 0.1})  # 1:1, at the top left
        frame = page.locator("#qwl-lightbox .frame")
        caption = page.locator("#qwl-lightbox .cap").inner_text()
        at = frame.evaluate("f => [f.scrollLeft, f.scrollTop]")
        for key in ("Shift+ArrowRight",) * 3 + ("Shift+ArrowDown",):
            page.keyboard.press(key)
        moved = frame.evaluate("f => [f.scrollLeft, f.scrollTop]")
        after = page.locator("#qwl-lightbox .cap").inner_text()  # 3 steps of 2 images would show the other
        page.keyboard.press("Shift+ArrowLeft")
        return {"at": at, "moved": moved, "back": frame.evaluate("f => f.scrollLeft"), "caption": (caption, after),
                "actual": big.evaluate("e => e.getBoundingClientRect().width")}

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r["caption"][0] == r["caption"][1], "Shift and an arrow stepped to another image"
    assert r["actual"] == pytest.approx(1536, abs=1), r  # still 1:1
    assert r["moved"][0] == r["at"][0] + 240 and r["moved"][1] == r["at"][1] + 80, r
    assert r["back"] == r["moved"][0] - 80, r


@pytest.mark.slow
def test_printed_every_request_and_grid_row_is_on_paper(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Printed (or saved as PDF), the report kept its screen's scroll boxes and pages: the grid
    table and the requests were cut at the box's height, and only the first page of requests
    was there at all."""
    from qwenlab.html import report

    exp = run_sweep(emulator, data_dir, name="printed", repeats=3)
    monkeypatch.setattr(report, "PAGE_ROWS", 5)  # 12 requests: pages of 5, 5 and 2
    path = export_html(exp, tmp_path / "report.html", grid="table")

    def run(page: Any) -> dict[str, Any]:
        page.set_viewport_size({"width": 1000, "height": 400})  # boxes of 85vh: shorter than their rows
        page.emulate_media(media="print")
        return page.evaluate("""() => ({
          rows: Array.from(document.querySelectorAll('#requests tbody tr')).filter(r => r.offsetParent !== null).length,
          clipped: Array.from(document.querySelectorAll('table.paged, table.gridtable'))
                     .filter(t => t.scrollHeight > t.clientHeight + 1).length,
          pager: Array.from(document.querySelectorAll('.pager')).filter(p => p.offsetParent !== null).length})""")

    r, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert r == {"rows": 12, "clipped": 0, "pager": 0}


@pytest.mark.slow
def test_on_a_phone_the_page_keeps_the_screens_width(chromium: str, emulator: Any, data_dir: Path,
                                                     tmp_path: Path) -> None:
    """On a phone the costs, ratings and judgements tables ran past the screen's edge: the whole
    page scrolled sideways (768 px on a 390-px screen). Each table scrolls in its own box now."""
    exp = run_sweep(emulator, data_dir, name="phone")
    exp.log.rate(int(exp.images.image_id.iloc[0]), 4, note="a long note that a judge wrote about the headline's kerning")
    path = export_html(exp, tmp_path / "report.html")

    def run(page: Any) -> int:
        page.set_viewport_size({"width": 390, "height": 844})
        return page.evaluate("document.documentElement.scrollWidth")

    width, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert width <= 390
