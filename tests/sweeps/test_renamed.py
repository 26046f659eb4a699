"""A run under a name an experiment had before it was renamed: a notebook cell or sweep file
still carrying the old name found no experiment of that name and started a new one, sending and
paying for every cell again. It is refused, naming the new name; `reuse_name=True` starts the new
experiment anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator
from qwenlab.errors import ExperimentRenamedError

SWEEP = Sweep(prompt="A premium beauty poster for a skincare brand called 'LUMIERE'", size="256x256",
              axes={"promptExtend": [True, False]})


@pytest.fixture
def lab(emulator: Emulator, data_dir: Path):
    with RunwareClient("sk-renamed-test", emulator.url, images_dir=data_dir / "images") as client:
        yield Lab(data_dir, client=client)


def test_a_run_under_the_old_name_is_refused_and_sends_nothing(lab: Lab, emulator: Emulator) -> None:
    lab.run(SWEEP, name="posters", progress=False).rename("posters-v2")
    sent = len(emulator.ledger)
    with pytest.raises(ExperimentRenamedError) as refused:
        lab.run(SWEEP, name="posters", progress=False)
    message = str(refused.value)
    assert message.startswith("name: 'posters' is what experiment 'posters-v2' was called")
    assert "name='posters-v2'" in message and "--name posters-v2" in message and "reuse_name=True" in message
    with pytest.raises(ExperimentRenamedError):  # a dry run refuses what the run would
        lab.check(SWEEP, "posters")
    assert len(emulator.ledger) == sent and lab.log.experiment_names() == ["posters-v2"]
    # the fix it names goes on with the experiment: nothing done is sent again
    assert lab.run(SWEEP, name="posters-v2", progress=False).counts()["done"] == 2 and len(emulator.ledger) == sent


def test_reuse_name_starts_a_new_experiment_under_the_old_name(lab: Lab, emulator: Emulator) -> None:
    first = lab.run(SWEEP, name="posters", progress=False).rename("posters-v1")
    again = lab.run(SWEEP, name="posters", progress=False, reuse_name=True)
    assert again.id != first.id and again.counts()["done"] == 2 and len(emulator.ledger) == 4
    assert lab.run(SWEEP, name="posters", progress=False).id == again.id  # now it exists: resumed, no question


def test_a_derived_name_is_guarded_too_and_the_last_rename_is_named(lab: Lab) -> None:
    exp = lab.run(SWEEP, progress=False)  # no name: one derived from the sweep, which a rerun derives again
    derived = exp.name
    exp.rename("first").rename("second")
    with pytest.raises(ExperimentRenamedError, match=f"{derived!r} is what experiment 'second'"):
        lab.run(SWEEP, progress=False)
    with pytest.raises(ExperimentRenamedError, match="'first' is what experiment 'second'"):
        lab.run(SWEEP, name="first", progress=False)


def test_a_deleted_experiment_gives_its_former_names_back(lab: Lab) -> None:
    lab.run(SWEEP, name="posters", progress=False).rename("posters-v2")
    lab.experiment("posters-v2").delete(confirm=True)
    assert lab.run(SWEEP, name="posters", progress=False).counts()["done"] == 2


def test_spaces_around_a_name_neither_make_another_experiment_nor_hide_one(lab: Lab, emulator: Emulator) -> None:
    # "posters " and "posters" were two experiments that listed alike; a rename stores names
    # without the spaces, and `qwenlab tag " posters "` then found nothing
    exp = lab.run(SWEEP, name="posters ", progress=False)
    assert exp.name == "posters" and lab.log.experiment_names() == ["posters"]
    sent = len(emulator.ledger)
    assert lab.run(SWEEP, name=" posters", progress=False).id == exp.id and len(emulator.ledger) == sent
    assert lab.experiment("  posters  ").name == "posters"


def test_an_older_logs_experiment_named_with_spaces_is_resumed_under_that_very_name(lab: Lab, emulator: Emulator) -> None:
    lab.run(SWEEP, name="posters", progress=False)
    with lab.log.transaction() as db:  # as an older qwenlab stored a run's name
        db.execute("UPDATE experiments SET name = ' posters '")
    sent = len(emulator.ledger)
    again = lab.run(SWEEP, name=" posters ", progress=False)
    assert again.name == " posters " and again.counts()["done"] == 2 and len(emulator.ledger) == sent
    assert lab.log.experiment_names() == [" posters "]
