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


def test_an_editor_completes_the_views_of_what_the_lab_returns() -> None:
    """Before a cell has run, IPython's completer (jedi) and an editor know `exp` from the code
    alone: `lab.run(...)` and `lab.experiment(...)` are typed to return an Experiment, so `exp.`
    offers grid, explore, judge and score_text. Typed as the store's record, they offered none."""
    import jedi

    source = ("from qwenlab import Lab, Sweep\nlab = Lab()\n"
              "exp = lab.run(Sweep(prompt='A poster'), name='a')\nexp.\nold = lab.experiment('a')\nold.\n")
    script = jedi.Script(source, path=Path("notebook.py"), environment=jedi.InterpreterEnvironment())
    for line in (4, 6):
        offered = {c.name for c in script.complete(line, 4)}
        assert {"grid", "explore", "judge", "score_text", "df", "summary"} <= offered, sorted(offered)


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


def test_a_data_folder_under_the_home_folder_is_the_home_folder_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lab("~/ads") made a folder named "~" in the notebook's folder, and its log there, where
    QWENLAB_DATA_DIR="~/ads" (and the shell) mean the home folder's: the next `qwenlab logs`
    found none of it. `~` is the home folder in both now."""
    home, here = tmp_path / "home", tmp_path / "notebooks"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    lab = Lab("~/ads", client=lambda: pytest.fail("nothing here may connect"))
    assert lab.data_dir == home / "ads" and (home / "ads" / "qwenlab.db").is_file()
    assert not (here / "~").exists()


def test_a_run_into_an_archived_experiment_goes_on_and_says_once_it_is_archived(
        exp: Experiment, emulator: Emulator, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Archiving locks nothing, so the run goes on; but nothing said the experiment was archived,
    and the run's images then seemed lost: `lab.experiments()` and `qwenlab logs` leave it out."""
    Lab(data_dir).experiment("facade").archive()
    capsys.readouterr()
    again = run_sweep(emulator, data_dir, name="facade", fail_one=False)  # resumed: said before anything is sent
    said = capsys.readouterr().err
    assert said.count("is archived") == 1, said
    assert "experiment 'facade' is archived (since " in said and "the run goes on" in said
    assert "lab.experiment('facade').unarchive() or `qwenlab unarchive facade` brings it back" in said
    assert again.counts()["done"] == 8 and again.archived  # run, and archived still: the user decides


def test_a_sweep_says_its_notes_once_planned_then_run(emulator: Emulator, data_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Planned in one cell and run in the next (notebook 01), a sweep printed its notes twice, the
    run's on Jupyter's pink stderr: the seed policy's note three times in that notebook. A sweep
    says each note once, in its plan or at its first run; another sweep says its own again."""
    from qwenlab import RunwareClient, Sweep

    client = RunwareClient("sk-notes-test", emulator.url, images_dir=data_dir / "images")
    lab = Lab(data_dir, client=client)
    note = "seed_policy 'auto' -> 'sample'"
    planned = Sweep(prompt="A poster reading 'ONCE'", size="512x512")
    planned.plan()
    assert note in capsys.readouterr().out
    lab.run(planned, name="planned", progress=False)
    lab.run(planned, name="planned-again", progress=False)
    assert note not in capsys.readouterr().err
    lab.run(Sweep(prompt="A poster reading 'TWICE'", size="512x512"), name="unplanned", progress=False)
    assert capsys.readouterr().err.count(note) == 1
    client.close()
