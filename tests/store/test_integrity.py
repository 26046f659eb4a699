"""`lab.verify()` / `qwenlab verify`: every image file the bytes logged, and the log sound.

A run looks only at each file's size, so a file damaged in place (same size, other bytes) stayed
in the store until a view drew it. The check reads every file; setting the damaged ones aside
lets the next run fetch them again, free, as it does a deleted file.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab import Lab
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from qwenlab.emulator import Emulator
from qwenlab.errors import ExperimentNotFoundError
from qwenlab.store.integrity import ImageProblem, StoreReport, set_aside
from qwenlab.sweeps.sweep import Sweep
from tests.support.labkit import PROMPT, SIZES

SWEEP = Sweep(prompt=PROMPT, axes={"promptExtend": [True, False], "size": SIZES}, repeats=1)


def run(emulator: Emulator, data_dir: Path, name: str = "small") -> Lab:
    client = RunwareClient("sk-check", emulator.url, images_dir=data_dir / "images", backoff_base=0.01)
    lab = Lab(data_dir, client=client)
    lab.run(SWEEP, name=name, progress=False)
    return lab


def files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "images").rglob("*.jpg"))


def qwenlab(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab", catch_exceptions=False)


def spoil(data_dir: Path) -> dict[str, Path]:
    """One file of each kind of trouble: damaged in place (same size), cut short, deleted."""
    damaged, cut, gone = files(data_dir)[:3]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    cut.write_bytes(cut.read_bytes()[:1000])
    gone.unlink()
    return {"damaged": damaged, "cut short": cut, "missing": gone}


def test_a_sound_store_is_said_so(emulator: Emulator, data_dir: Path) -> None:
    report = run(emulator, data_dir).verify()
    assert report.ok and report.images == 4 and report.experiments == 1 and report.problems == []
    assert str(report) == "the log is sound; all 4 images of 1 experiment are the bytes logged"
    from IPython.lib.pretty import pretty

    assert pretty(report) == str(report)  # what a notebook cell ending in lab.verify() shows
    assert report.frame().empty


def test_each_kind_of_trouble_is_found_set_aside_and_fetched_again(emulator: Emulator, data_dir: Path) -> None:
    lab = run(emulator, data_dir)
    originals = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files(data_dir)}
    spoilt = spoil(data_dir)
    damaged_bytes = spoilt["damaged"].read_bytes()

    report = lab.verify()
    assert not report.ok
    assert {p.problem: p.path for p in report.problems} == spoilt
    assert set(report.frame()["problem"]) == {"not the bytes logged", "not the size logged", "missing"}

    # a run finds the deleted and the cut-short file, not the one damaged in place: that is the
    # verification's to find
    lab.run(SWEEP, name="small", progress=False)
    assert [p.problem for p in lab.verify().problems] == ["damaged"]

    report = lab.verify(set_aside=True)
    assert len(report.moved) == 1 and report.set_aside_dir is not None
    (source, kept), = report.moved
    assert source == spoilt["damaged"] and not source.exists()
    assert kept.read_bytes() == damaged_bytes  # what was left of a paid image is kept, not deleted
    assert kept.is_relative_to(data_dir / "set-aside")

    lab.run(SWEEP, name="small", progress=False)
    assert lab.verify().ok
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files(data_dir)} == originals


def test_only_the_named_experiments_are_read(emulator: Emulator, data_dir: Path) -> None:
    lab = run(emulator, data_dir, "one")
    run(emulator, data_dir, "two")
    first_of_two = lab.log.rows("SELECT path FROM images WHERE experiment_id = "
                                "(SELECT id FROM experiments WHERE name = 'two') ORDER BY id")[0]["path"]
    (data_dir / first_of_two).unlink()
    assert lab.verify("one").ok and lab.verify("one").images == 4
    two = lab.verify("two")
    assert [(p.experiment, p.problem) for p in two.problems] == [("two", "missing")]
    with pytest.raises(ExperimentNotFoundError, match="no experiment named 'three'.*known: one, two"):
        lab.verify("one", "three")


def test_a_file_two_experiments_share_is_set_aside_once(tmp_path: Path) -> None:
    shared = tmp_path / "images" / "ab" / "ab.jpg"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"not the bytes")
    report = StoreReport("ok", 2, 2, [ImageProblem("one", 1, 1, shared, "damaged"),
                                      ImageProblem("two", 2, 2, shared, "damaged")])
    set_aside(report, tmp_path)
    assert len(report.moved) == 1 and report.moved[0][1].read_bytes() == b"not the bytes"


def test_a_damaged_log_is_said_damaged(emulator: Emulator, data_dir: Path, tmp_path: Path) -> None:
    lab = run(emulator, data_dir)
    copy = tmp_path / "copy"
    lab.log.rows("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copytree(data_dir, copy)
    from qwenlab.store.log import Log

    with Log(copy / "qwenlab.db") as log:
        page = log.rows("SELECT rootpage FROM sqlite_master WHERE name = 'idx_tasks_status'")[0]["rootpage"]
        size = log.rows("PRAGMA page_size")[0]["page_size"]
    data = bytearray((copy / "qwenlab.db").read_bytes())
    data[(page - 1) * size] = 0  # no b-tree page is of type 0
    (copy / "qwenlab.db").write_bytes(bytes(data))
    report = Lab(copy, client=lambda: None).verify()
    assert not report.ok and report.log_verdict.startswith(f"Page {page}:")
    assert str(report).startswith(f"the log is damaged: Page {page}:")


def test_the_demo_s_missing_images_are_fetched_by_its_own_command(emulator: Emulator, data_dir: Path) -> None:
    """The demo has no sweep file: "run the sweeps of demo again (`qwenlab run FILE`)" sent a
    user looking for one; `qwenlab demo` is what runs its sweep again."""
    from qwenlab.demo import DEMO_NAME

    lab = run(emulator, data_dir, name=DEMO_NAME)
    run(emulator, data_dir, name="small")
    for name in (DEMO_NAME, "small"):  # one image of each gone
        (data_dir / lab.experiment(name).images["path"].iloc[0]).unlink()
    said = qwenlab("verify")
    assert said.exit_code == EXIT_FAILED
    lines = said.output.splitlines()
    demo_lines = [ln for ln in lines if "qwenlab demo" in ln]
    assert demo_lines and demo_lines[0].startswith("Run `qwenlab demo` again for the demo's 1 image"), said.output
    assert "Run the sweeps of small (1) again" in said.output and f"{DEMO_NAME} (1)" not in said.output, said.output


def test_the_command_says_what_is_wrong_and_what_to_do(emulator: Emulator, data_dir: Path) -> None:
    run(emulator, data_dir)
    fine = qwenlab("verify")
    assert fine.exit_code == EXIT_OK, fine.output
    assert fine.output == "the log is sound; all 4 images of 1 experiment are the bytes logged\n"

    spoilt = spoil(data_dir)
    found = qwenlab("verify", "small")
    assert found.exit_code == EXIT_FAILED
    assert "the log is sound; 3 of 4 images of 1 experiment are not as logged:" in found.output
    assert any(line.startswith("  small  image ") and line.endswith(f"not the bytes logged  {spoilt['damaged']}")
               for line in found.output.splitlines()), found.output
    assert "(1,000 bytes," in found.output
    assert "Set the damaged files aside with `qwenlab verify --set-aside` (they are kept), then run their sweeps again." in found.output
    assert spoilt["damaged"].exists()  # nothing moved without --set-aside

    moved = qwenlab("verify", "--set-aside")
    assert moved.exit_code == EXIT_FAILED
    assert "set aside 2 files in " in moved.output and "(kept)" in moved.output
    assert "Run the sweeps of small (3) again" in moved.output and "nothing is bought again" in moved.output
    assert not spoilt["damaged"].exists() and not spoilt["cut short"].exists()

    unknown = qwenlab("verify", "nosuch")
    assert unknown.exit_code == EXIT_BAD_INPUT
    assert "Invalid value for 'EXPERIMENTS': no experiment named 'nosuch'" in unknown.output


def test_the_command_without_a_log_says_how_to_make_one(data_dir: Path) -> None:
    result = qwenlab("verify")
    assert result.exit_code == EXIT_FAILED and "no log yet" in result.output and "qwenlab demo" in result.output
    assert not (data_dir / "qwenlab.db").exists()


def test_a_damaged_page_of_the_log_is_said_damaged_with_how_to_recover(emulator: Emulator, data_dir: Path) -> None:
    """"database disk image is malformed" read as "Is it a qwenlab log? ... move that file away to
    start a new log": advice that loses every row the damage left. The log is kept and recovered."""
    lab = run(emulator, data_dir)
    lab.log.rows("PRAGMA wal_checkpoint(TRUNCATE)")
    page = lab.log.rows("SELECT rootpage FROM sqlite_master WHERE name = 'experiments'")[0]["rootpage"]
    size = lab.log.rows("PRAGMA page_size")[0]["page_size"]
    lab.log.close()
    log = data_dir / "qwenlab.db"
    data = bytearray(log.read_bytes())
    data[(page - 1) * size] = 0  # no b-tree page is of type 0
    log.write_bytes(bytes(data))
    listed = qwenlab("logs")
    assert listed.exit_code == EXIT_FAILED
    assert "is damaged, not lost" in listed.output and ".recover | sqlite3 recovered.db" in listed.output
    assert "start a new log" not in listed.output and "`qwenlab verify` says which pages" in listed.output
    verified = qwenlab("verify")
    assert verified.exit_code == EXIT_FAILED
    assert verified.output.startswith("the log is damaged: ") and ".recover" in verified.output
    assert log.read_bytes() == bytes(data)  # nothing wrote over what is left


def test_an_imported_experiments_lost_image_comes_back_with_its_bundle(emulator: Emulator, data_dir: Path,
                                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run does not fetch an imported experiment's images (its tasks were sent from another
    log): the advice is to import its bundle again, which brings back what is missing."""
    ana = run(emulator, data_dir, "shared")
    bundle = ana.bundle("shared", tmp_path / "shared.zip").path
    ben_dir = tmp_path / "ben"
    ben = Lab(ben_dir, client=lambda: None)
    ben.import_bundle(bundle)
    lost = ben_dir / ben.log.rows("SELECT path FROM images ORDER BY id")[0]["path"]
    original = lost.read_bytes()
    lost.unlink()
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(ben_dir))
    said = qwenlab("verify")
    assert said.exit_code == EXIT_FAILED
    assert "Import the bundles of shared (1) again (`qwenlab import FILE`)" in said.output
    assert "Run the sweeps of" not in said.output
    ben.import_bundle(bundle)
    assert lost.read_bytes() == original and ben.verify().ok


def test_the_set_aside_folder_is_a_name_windows_can_make(tmp_path: Path) -> None:
    """`set-aside/<time>/`: an ISO time ("12:30:00") holds colons, which Windows refuses."""
    import datetime as dt

    from tests.support.windows_names import windows_name_problem

    damaged = tmp_path / "images" / "ab" / "ab.jpg"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not the bytes")
    report = set_aside(StoreReport("ok", 1, 1, [ImageProblem("one", 1, 1, damaged, "damaged")]), tmp_path,
                       now=dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.timezone.utc))
    assert report.set_aside_dir is not None
    parts = report.moved[0][1].relative_to(tmp_path).parts
    assert all(windows_name_problem(p) is None for p in parts), parts


def test_an_image_a_run_asked_for_in_vain_is_said_lost_for_good_not_promised_back(emulator: Emulator,
                                                                                  data_dir: Path) -> None:
    """A run asks the server for a missing image once; where the server no longer has the task,
    the cell is marked lost for good and later runs do not ask again. `qwenlab verify` still
    said "run the sweeps of small again: the images are fetched again, free", sending the user
    to runs that fetch nothing."""
    lab = run(emulator, data_dir)
    gone = data_dir / lab.experiment("small").images["path"].iloc[0]
    gone.unlink()
    with Emulator() as forgetful:  # another server, which never had the task: getResponse does not know it
        again = run(forgetful, data_dir)
    assert again.last_lost == 1 and not gone.exists()
    said = qwenlab("verify", "small")
    assert said.exit_code == EXIT_FAILED
    assert "lost for good: a run asked the server for it again, in vain" in said.output
    assert "1 image is lost for good" in said.output and "no run brings them back" in said.output
    assert "Run the sweeps of small" not in said.output, said.output
