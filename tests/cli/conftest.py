"""Fixtures shared by the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.labkit import SIZES, run_sweep


@pytest.fixture
def before_after(emulator, data_dir: Path) -> None:
    """Two experiments to compare: 'before' (promptExtend x size) and 'after' (size, another prompt)."""
    run_sweep(emulator, data_dir, name="before", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="after", axes={"size": SIZES}, repeats=1, fail_one=False,
              prompt="A premium poster for LUMIERE, 'Glow, Renewed.' headline")
