"""Voila serving the module's `experiment_notebook` (each browser test module defines its own);
the `chromium` fixture is in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.browser import serve_voila


@pytest.fixture
def voila(experiment_notebook: Path, tmp_path: Path) -> Iterator[str]:
    """Voilà serving the explorer's notebook on 127.0.0.1; yields its URL."""
    with serve_voila(experiment_notebook, tmp_path) as url:
        yield url
