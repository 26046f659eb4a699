"""The notebook facade: `Lab` runs and opens experiments as `Experiment`, the log's record plus
its views; each view method gives what the view's own module gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from qwenlab import Experiment, ExperimentNotFoundError, Lab
from qwenlab.analysis.pairs import pairs
from qwenlab.emulator import Emulator
from qwenlab.store.experiment import ExperimentRecord, open_experiment
from qwenlab.widgets.explorer import Explorer
from qwenlab.widgets.judging import Judging
from qwenlab.widgets.pairviewer import PairViewer
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator: Emulator, data_dir: Path) -> Experiment:
    return run_sweep(emulator, data_dir, name="facade", fail_one=False)


def test_lab_returns_the_facade_and_the_store_returns_the_record(exp: Experiment, data_dir: Path) -> None:
    assert type(exp) is Experiment and isinstance(exp, ExperimentRecord)
    assert type(Lab(data_dir).experiment("facade")) is Experiment
    record = open_experiment("facade", data_dir)
    assert type(record) is ExperimentRecord and record.summary() == exp.summary()


def test_an_unknown_name_names_the_known_ones(exp: Experiment, data_dir: Path) -> None:
    with pytest.raises(ExperimentNotFoundError, match="known: facade"):
        Lab(data_dir).experiment("nope")
    with pytest.raises(ExperimentNotFoundError, match="no log yet"):
        open_experiment("facade", data_dir / "elsewhere")
    assert not (data_dir / "elsewhere").exists()  # reading creates nothing


def test_each_view_method_opens_its_view(exp: Experiment, tmp_path: Path) -> None:
    assert exp.pairs("promptExtend").equals(pairs(exp, "promptExtend"))
    assert isinstance(exp.show_pairs("promptExtend", limit=2), Figure)
    assert isinstance(exp.pair_viewer("promptExtend"), PairViewer)
    assert isinstance(exp.explore(), Explorer)
    assert isinstance(exp.judge("promptExtend", seed=1), Judging)
    written = exp.grid(rows="promptExtend", cols="size", path=tmp_path / "g.png")
    assert written and all(p.is_file() for p in written)
    assert exp.text_scores().empty  # nothing scored yet; reading stored scores runs no OCR
