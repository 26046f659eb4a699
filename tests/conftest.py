"""Shared fixtures: every test gets its own data folder, so nothing touches ./data."""

from __future__ import annotations

from pathlib import Path

import pytest


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
