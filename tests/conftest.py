"""Shared fixtures: every test gets its own data folder, so nothing touches ./data."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C works in the tests however the suite was started. A shell without job control
    starts a background job (`cmd &`, a CI step run that way) with SIGINT ignored; then
    `_thread.interrupt_main()` does nothing and every child process inherits the ignoring, so the
    tests of what Ctrl-C does would fail for a reason outside qwenlab."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh QWENLAB_DATA_DIR for each test; no real API key can leak in."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(path))
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.delenv("RUNWARE_BASE_URL", raising=False)
    return path


@pytest.fixture
def emulator():
    """A started offline emulator (any non-empty key accepted), stopped after the test."""
    from qwenlab.emulator import Emulator

    emu = Emulator().start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def seeded_model() -> str:
    """A test model shaped like Qwen-Image-2.0-Pro that also declares `seed` (integer, min 0), so
    seed pinning can be tested; registered for the test session. Returns its id."""
    import tomllib
    from importlib import resources

    from qwenlab.core.model import register_model

    text = resources.files("qwenlab.core.models").joinpath("alibaba-qwen-image-2.0-pro.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["id"] = data["name"] = "test:seeded@1"
    data["parameters"]["model"]["value"] = "test:seeded@1"
    data["parameters"]["seed"] = {"type": "integer", "min": 0, "max": 2**31 - 1, "affects_output": True}
    register_model(data)
    return "test:seeded@1"


@pytest.fixture(scope="session")
def rapidocr():
    """The RapidOCR engine (qwenlab[ocr]); the test is skipped where it is not installed, except
    under QWENLAB_REQUIRE_OCR=1 (CI), where its absence fails the test."""
    import importlib.util
    import os

    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        message = "rapidocr-onnxruntime is not installed (pip install -e '.[ocr]')"
        if os.environ.get("QWENLAB_REQUIRE_OCR"):
            pytest.fail(message)
        pytest.skip(message)
    from qwenlab.typography.engines import get_engine

    return get_engine("rapidocr")


def _tesseract_or_skip(*packs: str) -> None:
    """Skip the test where Tesseract (or one of its language `packs`) is missing, except under
    QWENLAB_REQUIRE_OCR=1 (CI, where .ci/run installs them), where that fails it."""
    import shutil
    import subprocess

    missing = "tesseract is not installed (apt-get install tesseract-ocr)"
    if shutil.which("tesseract") is not None:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
        have = {line.strip() for line in out.stdout.splitlines()[1:]}
        lacking = [p for p in packs if p not in have]
        if not lacking:
            return
        missing = (f"tesseract's {' and '.join(lacking)} language packs are not installed "
                   f"(apt-get install {' '.join('tesseract-ocr-' + p for p in lacking)})")
    if os.environ.get("QWENLAB_REQUIRE_OCR"):
        pytest.fail(f"QWENLAB_REQUIRE_OCR is set but {missing}")
    pytest.skip(missing)


@pytest.fixture
def tesseract() -> None:
    """Tesseract with its English pack (see `_tesseract_or_skip`)."""
    _tesseract_or_skip("eng")


@pytest.fixture
def tesseract_jpn_kor() -> None:
    """Tesseract with its Japanese and Korean packs (see `_tesseract_or_skip`)."""
    _tesseract_or_skip("eng", "jpn", "kor")


@pytest.fixture
def cjk_font() -> Path:
    """The CJK font the emulator draws Chinese, Japanese and Korean with; the test is skipped where
    the machine has none, except under QWENLAB_REQUIRE_CJK_FONT=1 (CI), where that fails it."""
    from qwenlab.emulator.typography import cjk_font_path

    cjk_font_path.cache_clear()   # looked up afresh: another test may have pointed QWENLAB_CJK_FONT elsewhere
    path = cjk_font_path()
    if path is not None:
        return path
    message = ("no CJK font here (apt-get install fonts-wqy-microhei, or QWENLAB_CJK_FONT=/path/to/font; "
               ".ci/run installs it)")
    if os.environ.get("QWENLAB_REQUIRE_CJK_FONT"):
        pytest.fail(f"QWENLAB_REQUIRE_CJK_FONT is set but there is {message}")
    pytest.skip(f"{message}; set QWENLAB_REQUIRE_CJK_FONT=1 to make this a failure")


@pytest.fixture
def chromium() -> str:
    """The browser's path; skips (or, with QWENLAB_REQUIRE_BROWSER set, fails) before anything starts."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("QWENLAB_REQUIRE_BROWSER"):
        pytest.fail(f"QWENLAB_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}; "
                    "install it with `apt-get install chromium` (.ci/run does)")
    pytest.skip("no Chromium here (apt-get install chromium); set QWENLAB_REQUIRE_BROWSER=1 to make this a failure")
