"""A Chromium page for the browser tests that can reach nothing beyond this machine.

    path = lab_notebook(tmp_path / "explorer.ipynb", data_dir, "Lab().experiment('browser').explore()")
    with chromium_page(chromium, voila_url, width=1440, height=1100, timeout_ms=120_000) as (page, watch):
        ...
    assert not watch.errors and not watch.beyond_loopback()
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from PIL import Image

__all__ = ["PageWatch", "chromium_page", "lightbox_middle", "loopback_page", "lab_notebook", "serve_voila", "until", "free_port",
           "CHROMIUM", "CHROMIUM_ARGS", "SCREENSHOTS", "readme_screenshot", "START_TIMEOUT_S", "CLICK_TIMEOUT_MS"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

CHROMIUM = os.environ.get("QWENLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"
START_TIMEOUT_S = 120  # Voilà starting and running the notebook's kernel, on a slow CI machine
CLICK_TIMEOUT_MS = 60_000


def readme_screenshot(name: str) -> Path | None:
    """Where a browser test writes the README's copy of its screenshot (data/screenshots/NAME), or
    None: only with QWENLAB_SCREENSHOTS=1 set, so that running the tests leaves the committed
    pictures alone (`QWENLAB_SCREENSHOTS=1 make test` remakes them all)."""
    if os.environ.get("QWENLAB_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


def lab_notebook(path: Path, data_dir: Path, expression: str, imports: str = "from qwenlab import Lab",
                 before: tuple[str, ...] = ()) -> Path:
    """Write a notebook that points qwenlab at `data_dir`, runs `imports` and shows `expression`
    (e.g. "Lab().experiment('x').explore()"), for Voilà to serve; `before`: code cells above it
    (another cell's widgets)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [*(nbformat.v4.new_code_cell(code) for code in before), nbformat.v4.new_code_cell(
        "import os\n"
        f"os.environ['QWENLAB_DATA_DIR'] = {str(data_dir)!r}\n"
        f"{imports}\n"
        f"view = {expression}\n"
        "view")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@dataclass
class PageWatch:
    """What a page did that a test checks after: script errors, and requests blocked for leaving loopback."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def beyond_loopback(self) -> list[str]:
        """The blocked requests but Voilà's own template's link to Font Awesome (on a CDN, not needed)."""
        return [u for u in self.outside if "fontawesome" not in u]


def loopback_page(browser: Any, url: str, *, width: int, height: int, timeout_ms: float,
                  scale: float = 1, before: Callable[[Any], None] | None = None) -> tuple[Any, PageWatch]:
    """A new page of `browser` (playwright) opened at `url`, every request beyond 127.0.0.1 aborted
    and recorded, every script error recorded; `scale`: its devicePixelRatio (2: a Retina screen,
    its screenshots 2 device pixels per CSS pixel); `before(page)`: called before it opens (to
    watch what it does from the start, e.g. its websockets)."""
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
    watch = PageWatch()

    def loopback_only(route: Any) -> None:  # nothing may leave this machine
        host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", route.request.url)
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            watch.outside.append(route.request.url)
            route.abort()

    page.route("**/*", loopback_only)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    if before is not None:
        before(page)
    page.goto(url, timeout=timeout_ms)
    return page, watch


@contextmanager
def chromium_page(chromium: str, url: str, *, width: int, height: int, timeout_ms: float,
                  scale: float = 1, before: Callable[[Any], None] | None = None) -> Iterator[tuple[Any, PageWatch]]:
    """Headless Chromium (the binary at `chromium`, driven by playwright; never `playwright install`)
    with one `loopback_page` at `url` (`scale`: its devicePixelRatio; `before`: as there); the
    browser is closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield loopback_page(browser, url, width=width, height=height, timeout_ms=timeout_ms, scale=scale,
                                before=before)
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait for `check()` to return something truthy (bounded); fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def serve_voila(notebook: Path, tmp_path: Path) -> Iterator[str]:
    """Voilà serving `notebook` on 127.0.0.1 while inside; yields its URL."""
    port = free_port()
    log = (tmp_path / "voila.log").open("w+")
    # the user's own Jupyter configuration stays out of it
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--VoilaConfiguration.show_tracebacks=True"],
        cwd=notebook.parent, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"voila exited with {proc.returncode}:\n{log.read()[-4000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        until(ready, START_TIMEOUT_S, "Voilà to listen")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def judgement_rows(db: Path, columns: str = "winner") -> list[tuple]:
    """The judgements a browser test made, oldest first: `columns` of each row of the log at `db`."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT {columns} FROM judgements ORDER BY id").fetchall()


def judging_pair(page: Any, timeout_s: float) -> tuple[Any, Any]:
    """Judging's widget on `page` and its two images, once both are drawn."""
    widget = page.locator(".qwenlab-judging")
    widget.wait_for(state="visible", timeout=timeout_s * 1000)
    pair = widget.locator("img")
    until(lambda: pair.count() == 2 and (pair.first.bounding_box() or {}).get("width", 0) > 100, 60, "the pair")
    return widget, pair


def full_size_pair(page: Any, widget: Any) -> tuple[Any, Any]:
    """Judging's full-size view opened with "f" (the keys on): the view and its two images, once
    both are loaded."""
    page.keyboard.press("f")
    viewer = widget.locator(".qwl-cmp")
    viewer.wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
    images = viewer.locator("img.qwl-cmp-img")
    until(lambda: images.evaluate_all("els => els.length === 2 && els.every(e => e.complete && e.naturalWidth > 0)"),
          30, "the full-size pair")
    return viewer, images


def checkerboard(width: int, height: int) -> Image.Image:
    """A checkerboard of single black and white pixels (mode L): shown at exact pixels it stays
    black and white; resampled or smoothed anywhere, it turns grey."""
    y, x = np.mgrid[0:height, 0:width]
    return Image.fromarray(((x + y) % 2 * 255).astype("uint8"))


def lightbox_middle(page: Any, save_to: Path) -> tuple[float, float]:
    """Of a screenshot of the middle of what the report's lightbox shows (200 CSS px a side, or
    the image's own size when smaller), taken on whole CSS pixels: the share of its pixels grey
    and the share black. A checkerboard of single pixels shown at exact pixels is black and white
    only; smoothed, it turns grey. The screenshot is saved to `save_to`, to look at."""
    img = page.locator("#qwl-lightbox img").bounding_box()
    frame = page.locator("#qwl-lightbox .frame").bounding_box()
    left, top = max(img["x"], frame["x"]), max(img["y"], frame["y"])
    right = min(img["x"] + img["width"], frame["x"] + frame["width"])
    bottom = min(img["y"] + img["height"], frame["y"] + frame["height"])
    half = min(100, int((right - left) / 2) - 2, int((bottom - top) / 2) - 2)
    cx, cy = round((left + right) / 2), round((top + bottom) / 2)  # whole CSS pixels: no resampling here
    shot = page.screenshot(clip={"x": cx - half, "y": cy - half, "width": 2 * half, "height": 2 * half})
    Image.open(io.BytesIO(shot)).save(save_to)
    px = np.asarray(Image.open(io.BytesIO(shot)).convert("L")).astype(int)
    return float(((px > 40) & (px < 215)).mean()), float((px <= 40).mean())
