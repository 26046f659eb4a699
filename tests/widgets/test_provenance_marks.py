"""Widgets mark emulator results: the explorer's header and the pair viewer's caption say the images
are synthetic (and the experiment mixed, where it is); a synthetic tile of a mixed experiment says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab.widgets.explorer import Explorer
from qwenlab.widgets.pairviewer import PairViewer
from tests.support.backends import relabel
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator, data_dir: Path):
    return run_sweep(emulator, data_dir, name="widgets", fail_one=False)


def test_the_explorer_header_says_synthetic(exp) -> None:
    ex = Explorer(exp)
    assert "SYNTHETIC" in ex.header.value and "offline emulator" in ex.header.value
    assert "costs emulated" in ex.header.value
    assert "SYNTHETIC" in repr(ex)


def test_the_explorer_marks_each_synthetic_tile_of_a_mixed_experiment(exp) -> None:
    relabel(exp, "runware", every=2)
    ex = Explorer(exp)
    assert "MIXED" in ex.header.value
    captions = [t.caption.value for t in ex.tiles]
    assert sum("synthetic" in c for c in captions) == 4 and len(captions) == 8


def test_a_runware_explorer_says_nothing_synthetic(exp) -> None:
    relabel(exp, "runware")
    ex = Explorer(exp)
    assert "SYNTHETIC" not in ex.header.value and "Runware" in ex.header.value


def test_the_pair_viewer_caption_says_synthetic(exp) -> None:
    viewer = PairViewer(exp, "promptExtend")
    assert "SYNTHETIC" in viewer.caption.value
    viewer.show(1)
    assert "SYNTHETIC" in viewer.caption.value
    relabel(exp, "runware")
    assert "SYNTHETIC" not in PairViewer(exp, "promptExtend").caption.value
