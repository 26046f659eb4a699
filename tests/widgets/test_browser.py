"""The explorer in a real browser: Voilà serves a notebook that opens it on a small experiment
(run against the emulator first), headless Chromium (Debian's, driven by playwright-python
through `executable_path`; never `playwright install`) clicks a thumbnail and a rating, and the
rating must then be in SQLite. A screenshot is saved under the test's folder and copied to
data/screenshots/explorer.png for people to look at.

Skipped only when Chromium is missing and QWENLAB_REQUIRE_BROWSER is unset; CI sets it, so
there a missing browser fails the test. QWENLAB_CHROMIUM names another Chromium binary.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

CHROMIUM = os.environ.get("QWENLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"
START_TIMEOUT_S = 120  # Voilà starting and running the notebook's kernel, on a slow CI machine
CLICK_TIMEOUT_MS = 60_000


@pytest.fixture
def chromium() -> str:
    """The browser's path; skips (or, with QWENLAB_REQUIRE_BROWSER set, fails) before anything starts."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("QWENLAB_REQUIRE_BROWSER"):
        pytest.fail(f"QWENLAB_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}; "
                    "install it with `apt-get install chromium` (.ci/run does)")
    pytest.skip("no Chromium here (apt-get install chromium); set QWENLAB_REQUIRE_BROWSER=1 to make this a failure")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait for `check()` to return something truthy (bounded); fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def experiment_notebook(chromium: str, emulator: Any, data_dir: Path, tmp_path: Path) -> Path:
    """A small experiment in the test's data folder, and a notebook that opens the explorer on it."""
    from qwenlab import Lab, Sweep
    from qwenlab.api.client import RunwareClient

    client = RunwareClient("sk-browser-test", emulator.url, images_dir=data_dir / "images")
    try:
        sweep = Sweep(prompt="A poster for 'LUMIERE': 'Glow, Refined.'", size="512x768", repeats=2,
                      axes={"promptExtend": [True, False], "negativePrompt": [None, "blurry text"]})
        Lab(data_dir, client=client).run(sweep, name="browser", progress=False)
    finally:
        client.close()
    return write_notebook(tmp_path / "explorer.ipynb", data_dir,
                          "from qwenlab import Lab\n"
                          "explorer = Lab().experiment('browser').explore(judge='browser-test')\n"
                          "explorer")


def write_notebook(path: Path, data_dir: Path, code: str) -> Path:
    """A one-cell notebook for Voilà that points qwenlab at `data_dir`, then runs `code` (whose
    last line is the widget shown)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import os\nos.environ['QWENLAB_DATA_DIR'] = {str(data_dir)!r}\n{code}")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def voila(experiment_notebook: Path, tmp_path: Path) -> Iterator[str]:
    """Voilà serving the notebook on 127.0.0.1; yields its URL."""
    port = _free_port()
    log = (tmp_path / "voila.log").open("w+")
    # the user's own Jupyter configuration stays out of it
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(experiment_notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--VoilaConfiguration.show_tracebacks=True"],
        cwd=experiment_notebook.parent, stdout=log, stderr=subprocess.STDOUT, env=env)
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

        _until(ready, START_TIMEOUT_S, "Voilà to listen")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_a_rating_clicked_in_chromium_reaches_sqlite(chromium: str, voila: str, data_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    db = data_dir / "qwenlab.db"
    outside: list[str] = []
    shot = tmp_path / "explorer.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})

            def loopback_only(route: Any) -> None:  # nothing may leave this machine
                host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", route.request.url)
                if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", loopback_only)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(voila, timeout=START_TIMEOUT_S * 1000)
            tiles = page.locator(".qwl-tile")
            tiles.first.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
            assert tiles.count() == 8, f"expected 8 thumbnails, saw {tiles.count()}; page errors: {errors}"

            # a person clicks the picture itself (at its centre, whatever lies on top): the
            # invisible button laid over the tile takes the click
            picture = tiles.nth(2).locator("img")
            picture.scroll_into_view_if_needed(timeout=CLICK_TIMEOUT_MS)
            box = picture.bounding_box()
            assert box and box["width"] > 50, f"thumbnail not drawn: {box}"
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            detail = page.locator(".qwl-detail")
            detail.get_by_text("request sent").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
            assert "taskUUID" in detail.inner_text()

            page.get_by_role("button", name="4 ★").click(timeout=CLICK_TIMEOUT_MS)
            note = page.get_by_placeholder("a note (Enter saves)")
            note.fill("clean type, good crop")
            note.press("Enter")

            def rows() -> list[tuple]:
                with sqlite3.connect(db) as conn:
                    return conn.execute("SELECT image_id, score, note, judge FROM ratings ORDER BY id").fetchall()

            rated = _until(lambda: [r for r in rows() if r[2]], 30, "the rating and its note to reach SQLite")
            page.get_by_text("saved: ★4").wait_for(state="visible", timeout=CLICK_TIMEOUT_MS)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    image_id, score, note_text, judge = rated[-1]
    assert (score, note_text, judge) == (4, "clean type, good crop", "browser-test")
    assert rows()[0][:2] == (image_id, 4)  # the click on the score was written at once, before the note
    with sqlite3.connect(db) as conn:
        exp_of_image = conn.execute("SELECT e.name FROM images i JOIN experiments e ON e.id = i.experiment_id "
                                    "WHERE i.id = ?", [image_id]).fetchone()[0]
    assert exp_of_image == "browser"
    # Voilà's own page template links Font Awesome from a CDN: blocked above, and not needed
    ours = [u for u in outside if "fontawesome" not in u]
    assert not ours, f"the page tried to reach beyond loopback: {ours}"
    assert shot.stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / "explorer.png")
