"""Fixtures of the browser tests: Chromium's path, and Voila serving the module's
`experiment_notebook` (each browser test module defines its own)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.browser import CHROMIUM, serve_voila


@pytest.fixture
def chromium() -> str:
    """The browser's path; skips (or, with QWENLAB_REQUIRE_BROWSER set, fails) before anything starts."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("QWENLAB_REQUIRE_BROWSER"):
        pytest.fail(f"QWENLAB_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}; "
                    "install it with `apt-get install chromium` (.ci/run does)")
    pytest.skip("no Chromium here (apt-get install chromium); set QWENLAB_REQUIRE_BROWSER=1 to make this a failure")


@pytest.fixture
def voila(experiment_notebook: Path, tmp_path: Path) -> Iterator[str]:
    """Voilà serving the explorer's notebook on 127.0.0.1; yields its URL."""
    with serve_voila(experiment_notebook, tmp_path) as url:
        yield url
