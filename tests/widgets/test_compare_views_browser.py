"""One compare viewer shown in two outputs of one page, in a real browser: Voilà serves a notebook
that displays the same `compare_files` viewer twice (two views of one widget model). Its saved
state holds previews; the originals come from the kernel in a custom message, which every view of
the model receives. Each view asked for them, so the kernel sent them once per view, and every
view was handed every answer: two views downloaded the originals twice. The page's views of one
viewer ask once for the images they show and all take that one answer.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset (see test_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.browser import START_TIMEOUT_S, chromium_page, lab_notebook, serve_voila, until

SIDE = 1200  # above the 768-px preview: the state holds a preview, the original comes by message


@pytest.fixture
def twice_notebook(chromium: str, data_dir: Path, tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw

    paths = []
    for name, colour in (("a.png", "#c21"), ("b.png", "#12c")):
        img = Image.new("RGB", (SIDE, SIDE * 3 // 4), "#f4efe6")
        ImageDraw.Draw(img).rectangle([100, 100, 500, 400], fill=colour)
        img.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    # the viewer displayed, then shown as the cell's value: two outputs, one widget model
    return lab_notebook(tmp_path / "twice.ipynb", data_dir, f"(lambda v: (display(v), v)[1])(compare_files({paths!r}, height=300))",
                        imports="from IPython.display import display\nfrom qwenlab.widgets import compare_files")


@pytest.fixture
def voila(twice_notebook: Path, tmp_path: Path) -> Iterator[str]:
    with serve_voila(twice_notebook, tmp_path) as url:
        yield url


@pytest.mark.slow
def test_two_views_of_one_viewer_get_the_originals_once(chromium: str, voila: str, tmp_path: Path) -> None:
    asked: list[int] = []
    answers: list[int] = []

    def frames(ws: Any) -> None:
        # the kernel's websocket: the views' requests out, the answers (with their buffers) in
        def sent(payload: Any) -> None:
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            if '"want"' in text and '"full"' in text:
                asked.append(len(text))

        def received(payload: Any) -> None:
            data = payload.encode("utf-8") if isinstance(payload, str) else payload
            if b'"full"' in data and b'"index"' in data:
                answers.append(len(data))

        ws.on("framesent", sent)
        ws.on("framereceived", received)

    with chromium_page(chromium, voila, width=1000, height=1100, timeout_ms=START_TIMEOUT_S * 1000,
                       before=lambda page: page.on("websocket", frames)) as (page, watch):
        viewers = page.locator(".qwl-cmp")
        until(lambda: viewers.count() == 2, START_TIMEOUT_S, "the two views of the viewer")
        images = page.locator("img.qwl-cmp-img")
        # both views show the originals (not the previews the state holds)
        until(lambda: images.evaluate_all(
            "els => els.length === 4 && els.every(e => e.dataset.full === '1' && e.naturalWidth === %d)" % SIDE),
            30, "both views to show the originals")
        page.wait_for_timeout(1500)  # any later answer would have come by now
        page.screenshot(path=str(tmp_path / "two-views.png"))  # to look at
        notes = [t.strip() for t in page.locator(".qwl-cmp-preview").all_inner_texts()]
    assert not watch.errors, watch.errors
    assert len(asked) == 1, f"the page asked for the originals {len(asked)} times, for two views of one viewer"
    assert len(answers) == 1, f"the originals came {len(answers)} times"
    originals = sum((tmp_path / name).stat().st_size for name in ("a.png", "b.png"))
    assert answers[0] >= originals  # that one answer carries both originals (the files' bytes)
    assert notes == ["", ""], notes  # neither view says it shows previews
