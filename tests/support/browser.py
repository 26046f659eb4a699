"""A Chromium page for the browser tests that can reach nothing beyond this machine.

    path = lab_notebook(tmp_path / "explorer.ipynb", data_dir, "Lab().experiment('browser').explore()")
    with chromium_page(chromium, voila_url, width=1440, height=1100, timeout_ms=120_000) as (page, watch):
        ...
    assert not watch.errors and not watch.beyond_loopback()
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

__all__ = ["PageWatch", "chromium_page", "loopback_page", "lab_notebook", "CHROMIUM_ARGS"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def lab_notebook(path: Path, data_dir: Path, expression: str) -> Path:
    """Write a one-cell notebook that points qwenlab at `data_dir`, imports `Lab` and shows
    `expression` (e.g. "Lab().experiment('x').explore()"), for Voilà to serve."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\n"
        f"os.environ['QWENLAB_DATA_DIR'] = {str(data_dir)!r}\n"
        "from qwenlab import Lab\n"
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


def loopback_page(browser: Any, url: str, *, width: int, height: int, timeout_ms: float) -> tuple[Any, PageWatch]:
    """A new page of `browser` (playwright) opened at `url`, every request beyond 127.0.0.1 aborted
    and recorded, every script error recorded."""
    page = browser.new_page(viewport={"width": width, "height": height})
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
    page.goto(url, timeout=timeout_ms)
    return page, watch


@contextmanager
def chromium_page(chromium: str, url: str, *, width: int, height: int, timeout_ms: float) -> Iterator[tuple[Any, PageWatch]]:
    """Headless Chromium (the binary at `chromium`, driven by playwright; never `playwright install`)
    with one `loopback_page` at `url`; the browser is closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield loopback_page(browser, url, width=width, height=height, timeout_ms=timeout_ms)
        finally:
            browser.close()
