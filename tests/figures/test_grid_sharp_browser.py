"""A grid shown in a notebook is sharp on a Retina screen: its image has at least devicePixelRatio
times its CSS width in pixels, in headless Chromium at ratios 1 and 2, in a notebook narrower than
the page and in one wider. It was a JPEG at most 1,400 pixels wide, laid out as wide, so that at
devicePixelRatio 2 the browser enlarged it 2x and its captions and headings went soft. It is now
drawn twice as dense, as WebP (in about the bytes of the JPEG), and laid out half its pixels wide
by nothing but the <img>'s width and inline style, which JupyterLab's sanitizer keeps: an
untrusted notebook shows the same."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from qwenlab.figures.grid import build_grid
from qwenlab.figures.pages import DISPLAY_RATIO
from tests.html.test_report_browser import _open
from tests.support.labkit import run_sweep


@pytest.fixture
def grid(emulator: Any, data_dir: Path) -> Any:
    exp = run_sweep(emulator, data_dir, name="grid-sharp", axes={"promptExtend": [True, False], "size": ["512x768", "768x512"]},
                    fail_one=False)
    return build_grid(exp, rows="promptExtend", cols="size", page=None)


def _shown(html: str) -> np.ndarray:
    """The pixels of the image a notebook output embeds, as Pillow decodes them (RGB)."""
    data = base64.b64decode(re.search(r"data:image/(?:webp|jpeg);base64,([^']+)'", html).group(1))
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB")).astype(int)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
def test_a_grid_shown_in_a_notebook_has_a_pixel_for_every_device_pixel(chromium: str, grid: Any, tmp_path: Path,
                                                                       scale: int) -> None:
    html = grid._repr_html_()
    expected = _shown(html)
    measure = "e => ({natural: e.naturalWidth, width: e.getBoundingClientRect().width, dpr: window.devicePixelRatio})"
    pages = {}
    for name, width in (("narrow", 900), ("wide", 3000)):  # a notebook narrower than the page, and one wider
        pages[name] = tmp_path / f"{name}.html"
        pages[name].write_text(f"<!doctype html><html><body style='margin:0'><div style='width:{width}px'>{html}</div>"
                               "</body></html>", encoding="utf-8")

    def run(page: Any) -> dict[str, Any]:
        seen = {}
        for name, path in pages.items():
            page.goto(path.as_uri())
            page.wait_for_function("() => document.querySelector('img').naturalWidth > 0")
            img = page.locator("img")
            seen[name] = img.evaluate(measure)
            if name == "wide":  # a patch at the page's own size, in the screen's own pixels
                shot = page.screenshot(clip={"x": 0, "y": 0, "width": 700, "height": 400}, scale="device")
                Image.open(io.BytesIO(shot)).save(tmp_path / f"grid-x{scale}.png")
                seen["screen"] = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        return seen

    seen, _, errors = _open(chromium, pages["narrow"], run, scale=scale)
    assert not errors, errors
    assert seen["narrow"]["dpr"] == scale and seen["narrow"]["natural"] == expected.shape[1]
    assert abs(seen["narrow"]["width"] - 900) < 0.5  # fitted to the notebook, as the JPEG was
    for name in ("narrow", "wide"):
        assert seen[name]["natural"] >= scale * seen[name]["width"], (name, seen[name])
    # where the notebook is wide enough, laid out 1/DISPLAY_RATIO of its pixels: at ratio 2 one image
    # pixel per device pixel, the screen showing the file's pixels, not smoothed ones
    assert seen["wide"]["width"] * DISPLAY_RATIO == seen["wide"]["natural"]
    if scale == DISPLAY_RATIO:
        screen = seen["screen"]
        patch = expected[:screen.shape[0], :screen.shape[1]]
        assert patch.shape == screen.shape and patch.std() > 20  # text and images, not blank page
        assert np.abs(screen - patch).mean() < 2, np.abs(screen - patch).mean()
