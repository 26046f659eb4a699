"""The compare viewer and the explorer's keyboard in a real browser: Voilà serves a notebook that
opens `exp.compare_images(pair, mode="swipe")` and `exp.explore()` on a small emulator experiment;
headless Chromium (Debian's, through playwright's `executable_path`) drags the swipe handle, zooms
one image with the wheel (Ctrl held, or after a press on the picture) and reads the others'
transforms, double-clicks to reset, checks that a wheel over the viewer otherwise scrolls the
page, clicks a tile and presses the arrow keys. The viewer's screenshot is saved to data/screenshots/compare-viewer.png
for the README (this test is what makes it).

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CHROMIUM_ARGS,
    CLICK_TIMEOUT_MS,
    START_TIMEOUT_S,
    readme_screenshot,
    serve_voila,
    until,
)

PROMPT = "A premium beauty poster for LUMIERE serum with the headline 'Glow, Refined.'"


@pytest.fixture
def compare_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Two posters that differ in promptExtend, and a notebook: the viewer on the pair, then the explorer."""
    import nbformat

    from qwenlab import Lab, Sweep
    from qwenlab.api.client import RunwareClient

    client = RunwareClient("sk-compare-browser", emulator.url, images_dir=data_dir / "images")
    try:
        sweep = Sweep(prompt=PROMPT, size="1024x1536", repeats=2, axes={"promptExtend": [True, False]})
        Lab(data_dir, client=client).run(sweep, name="look", progress=False)
    finally:
        client.close()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\n"
            f"os.environ['QWENLAB_DATA_DIR'] = {str(data_dir)!r}\n"
            "from qwenlab import Lab\n"
            "exp = Lab().experiment('look')\n"
            "viewer = exp.compare_images(exp.pairs('promptExtend').iloc[0], mode='swipe', height=560)\n"
            "viewer"),
        nbformat.v4.new_code_cell("explorer = exp.explore(judge='browser-test', height=420)\nexplorer"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "compare.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def voila(compare_notebook: Path, tmp_path: Path) -> Any:
    with serve_voila(compare_notebook, tmp_path) as url:
        yield url


TRANSFORMS = "els => els.map(e => e.style.transform)"


def _transforms(scope: Any) -> list[str]:
    return scope.locator("img.qwl-cmp-img").evaluate_all(TRANSFORMS)


def _scale(transform: str) -> float:
    return float(re.search(r"scale\(([\d.e-]+)\)", transform).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_compare_viewer_and_explorer_keys_in_chromium(chromium: str, voila: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(voila, timeout=START_TIMEOUT_S * 1000)
            # the whole page first (the explorer below adds height, a scrollbar, a narrower page)
            page.locator(".qwenlab-explorer .qwl-tile").first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
            viewer = page.locator(".qwl-cmp").first
            pane = viewer.locator(".qwl-cmp-pane").first
            nudge = viewer.locator(".qwl-cmp-nudge.qwl-cmp-shown")  # "Ctrl + wheel to zoom, or click the picture first"
            pane.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
            until(lambda: all("scale" in t for t in _transforms(viewer)), 30, "both images to load")
            labels = viewer.locator(".qwl-cmp-label").all_inner_texts()
            assert len(labels) == 2 and "promptExtend on" in labels[0] and "promptExtend off" in labels[1], labels
            assert all("seed" in label for label in labels) and "size" not in " ".join(labels)  # only what differs
            assert "SYNTHETIC" in viewer.locator(".qwl-cmp-caption").inner_text()
            # the labels lie over the posters' headlines: under the pointer they fade out of the way
            label = viewer.locator(".qwl-cmp-label").first
            opacity = lambda: float(label.evaluate("e => getComputedStyle(e).opacity"))  # noqa: E731
            assert opacity() > 0.9
            pane.hover()
            until(lambda: opacity() < 0.2, 5, "the label to fade under the pointer")
            page.mouse.move(1, 1)
            until(lambda: opacity() > 0.9, 5, "the label to come back")

            # swipe: drag the handle from the middle to a quarter; the split follows the pointer
            handle = viewer.locator(".qwl-cmp-handle")
            box = pane.bounding_box()
            hbox = handle.bounding_box()
            assert box and hbox and abs(hbox["x"] + hbox["width"] / 2 - (box["x"] + box["width"] / 2)) < 3
            page.mouse.move(hbox["x"] + hbox["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            moved = handle.bounding_box()
            assert moved and abs(moved["x"] + moved["width"] / 2 - (box["x"] + box["width"] * 0.25)) < 4
            clip = viewer.locator(".qwl-cmp-layer-b").evaluate("e => e.style.clipPath")
            clip_scale = _transforms(viewer)[0]
            assert re.match(r"inset\(0(px)? 0(px)? 0(px)? 2[45](\.\d+)?%\)", clip), clip

            # zoom on the headline (the drag of the handle engaged the wheel) and take the README's
            # screenshot: swipe half-way, text readable, no "how to zoom" note over it
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.12)
            for _ in range(4):
                page.mouse.wheel(0, -120)
            until(lambda: _scale(_transforms(viewer)[0]) > 1.5 * _scale(clip_scale), 10, "the engaged wheel to zoom")
            page.mouse.move(moved["x"] + moved["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            page.wait_for_timeout(300)
            assert nudge.count() == 0
            shot = tmp_path / "compare-viewer.png"
            viewer.screenshot(path=str(shot))

            # side by side: a wheel over one image zooms both alike (Ctrl held: the pointer left the
            # stage for the button, so the wheel is not engaged); a drag pans both; a double-click resets
            viewer.get_by_role("button", name="side by side").click(timeout=CLICK_TIMEOUT_MS)
            panes = viewer.locator(".qwl-cmp-pane")
            until(lambda: panes.count() == 2 and all("scale" in t for t in _transforms(viewer)), 30, "two panes")
            viewer.get_by_role("button", name="fit").click(timeout=CLICK_TIMEOUT_MS)  # the zoom from the swipe stays until then
            until(lambda: _scale(_transforms(viewer)[0]) < 0.5, 10, "fit to show the whole image")
            first = _transforms(viewer)
            assert first[0] == first[1]
            left = panes.nth(0).bounding_box()
            assert left is not None
            page.mouse.move(left["x"] + left["width"] * 0.3, left["y"] + left["height"] * 0.2)
            page.keyboard.down("Control")
            page.mouse.wheel(0, -240)
            page.keyboard.up("Control")
            until(lambda: _scale(_transforms(viewer)[0]) > _scale(first[0]) * 1.3, 10, "Ctrl + wheel to zoom")
            zoomed = _transforms(viewer)
            assert zoomed[0] == zoomed[1], "the other image did not follow the zoom"
            # zoomed in to read, every pane's label fades, not only the one under the pointer: the
            # other panes' labels lay over the very headlines being compared
            page.mouse.move(1, 1)
            opacities = lambda: [float(o) for o in viewer.locator(".qwl-cmp-label").evaluate_all(  # noqa: E731
                "els => els.map(e => getComputedStyle(e).opacity)")]
            until(lambda: max(opacities()) < 0.2, 5, "every label to fade while zoomed in")
            assert nudge.count() == 0
            right = panes.nth(1).bounding_box()
            assert right is not None
            page.mouse.move(right["x"] + right["width"] / 2, right["y"] + right["height"] / 2)
            page.mouse.down()
            page.mouse.move(right["x"] + right["width"] / 2 + 60, right["y"] + right["height"] / 2 + 40, steps=5)
            page.mouse.up()
            panned = _transforms(viewer)
            assert panned[0] == panned[1] != zoomed[0], "a drag in one pane must pan both"
            # the drag engaged the wheel, over the other pane too: no Ctrl needed now
            page.mouse.move(left["x"] + left["width"] * 0.3, left["y"] + left["height"] * 0.2)
            page.mouse.wheel(0, -240)
            until(lambda: _scale(_transforms(viewer)[0]) > _scale(panned[0]) * 1.3, 10, "the engaged wheel to zoom")
            assert _transforms(viewer)[0] == _transforms(viewer)[1] and nudge.count() == 0
            page.mouse.dblclick(left["x"] + left["width"] / 2, left["y"] + left["height"] / 2)

            def fitted() -> bool:  # both whole again: the fit scale, centred in the pane
                now = _transforms(viewer)
                w, h = panes.nth(0).evaluate("e => [e.clientWidth, e.clientHeight]")
                centre = re.match(r"translate\(([\d.]+)px, ([\d.]+)px\)", now[0])
                return (now[0] == now[1] and abs(_scale(now[0]) - _scale(first[0])) < 1e-3 and centre is not None
                        and abs(float(centre.group(1)) - w / 2) < 1 and abs(float(centre.group(2)) - h / 2) < 1)

            until(fitted, 10, "a double-click to fit both images again")

            # the pointer leaves the stage and comes back: the wheel scrolls the page past the viewer
            # (no scroll-jacking), the zoom stays, and a note on the pane says how to zoom
            bar = viewer.locator(".qwl-cmp-bar").bounding_box()
            assert bar is not None
            page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
            page.mouse.move(left["x"] + left["width"] / 2, left["y"] + left["height"] / 2)
            still = _transforms(viewer)
            top = lambda: viewer.evaluate("e => e.getBoundingClientRect().top")  # noqa: E731
            before = top()
            page.mouse.wheel(0, 300)
            until(lambda: top() < before - 100, 10, "an unengaged wheel over the viewer to scroll the page")
            assert _transforms(viewer) == still, "an unengaged wheel must not zoom"
            until(lambda: nudge.count() == 1, 5, "the note saying how to zoom")
            until(lambda: nudge.count() == 0, 5, "the note to go away")

            # the explorer: a click on a tile opens the viewer; the arrow keys move the selection
            explorer = page.locator(".qwenlab-explorer")
            tiles = explorer.locator(".qwl-tile")
            tiles.first.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
            picture = tiles.nth(1).locator("img")
            picture.scroll_into_view_if_needed(timeout=CLICK_TIMEOUT_MS)
            pbox = picture.bounding_box()
            assert pbox
            page.mouse.click(pbox["x"] + pbox["width"] / 2, pbox["y"] + pbox["height"] / 2)
            detail_viewer = explorer.locator(".qwl-cmp")
            detail_viewer.locator("img.qwl-cmp-img").wait_for(state="attached", timeout=CLICK_TIMEOUT_MS)
            until(lambda: "scale" in (_transforms(detail_viewer) or [""])[0], 30, "the explorer's viewer to show the image")
            detail_box = detail_viewer.locator(".qwl-cmp-pane").bounding_box()
            assert detail_box and detail_box["width"] > 900, f"the viewer is not as wide as the notebook: {detail_box}"

            def selected() -> int:
                return int(tiles.evaluate_all("ts => ts.findIndex(t => t.classList.contains('qwl-selected'))"))

            until(lambda: selected() == 1, 10, "the clicked tile to be selected")
            shown = detail_viewer.locator(".qwl-cmp-label").inner_text()
            page.keyboard.press("ArrowRight")
            until(lambda: selected() == 2, 10, "ArrowRight to select the next tile")
            until(lambda: detail_viewer.locator(".qwl-cmp-label").inner_text() != shown, 10, "the viewer to follow")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            until(lambda: selected() == 0, 10, "ArrowLeft twice to select the first tile")
            assert not errors, errors
        finally:
            browser.close()

    from PIL import Image

    with Image.open(shot) as im:  # a palette PNG keeps the README light
        assert im.width > 900
        buf = io.BytesIO()
        im.convert("RGB").quantize(colors=192, dither=Image.Dither.NONE).save(buf, format="PNG", optimize=True)
    if target := readme_screenshot("compare-viewer.png"):
        target.write_bytes(buf.getvalue())
