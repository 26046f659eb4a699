"""Tags, notes, rename, archive and delete (qwenlab.store.organize) on real experiments run against
the loopback emulator: what a user relies on is that nothing attached is lost by a rename, that
an archive hides without removing, and that a delete removes rows and files but never the money
that was spent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qwenlab import Lab
from qwenlab.costs import Costs
from qwenlab.errors import ConfirmationRequiredError, ExperimentBusyError, ExperimentConflictError, ExperimentNotFoundError
from qwenlab.html.images import webp_thumbnails
from qwenlab.store import run_lock
from qwenlab.store.run_lock import holding_run
from qwenlab.store.thumbnails import thumbnail, thumbnail_path
from tests.support.labkit import run_sweep


@pytest.fixture
def lab(emulator, data_dir: Path) -> Lab:
    run_sweep(emulator, data_dir, name="posters", repeats=1)   # 4 cells, one failed
    run_sweep(emulator, data_dir, name="other", repeats=1, fail_one=False)
    return Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))


def _attached(lab: Lab, exp_id: int) -> dict[str, int]:
    """Rows attached to an experiment, table by table."""
    def one(sql: str) -> int:
        return int(lab.log.rows(sql, [exp_id])[0]["n"])

    return {
        "tasks": one("SELECT count(*) AS n FROM tasks WHERE experiment_id = ?"),
        "images": one("SELECT count(*) AS n FROM images WHERE experiment_id = ?"),
        "ratings": one("SELECT count(*) AS n FROM ratings r JOIN images i ON i.id = r.image_id WHERE i.experiment_id = ?"),
        "judgements": one("SELECT count(*) AS n FROM judgements WHERE experiment_id = ?"),
        "text_scores": one("SELECT count(*) AS n FROM text_scores WHERE experiment_id = ?"),
        "tags": one("SELECT count(*) AS n FROM experiment_tags WHERE experiment_id = ?"),
    }


def _decorate(lab: Lab, name: str) -> int:
    """Rate, judge, score and tag an experiment's images, as a user would have over a week."""
    exp = lab.experiment(name)
    ids = [int(i) for i in exp.images["image_id"]]
    lab.log.rate(ids[0], 5, "the one")
    lab.log.rate(ids[1], 2)
    lab.log.judge(exp.id, "promptExtend", ids[0], ids[1], "a")
    with lab.log.transaction() as db:
        db["text_scores"].insert({"image_id": ids[0], "experiment_id": exp.id, "engine": "rapidocr", "word_accuracy": 1.0})
    exp.tag("posters", "lumiere")
    return exp.id


def test_tags_are_added_once_removed_and_listed(lab: Lab) -> None:
    exp = lab.experiment("posters")
    assert exp.tag("posters", " lumiere ", "posters") == ["posters", "lumiere"]
    assert exp.tag("posters") == ["posters", "lumiere"]
    assert lab.experiments(tag="posters")["name"].tolist() == ["posters"]
    assert lab.experiments(tag="nothing").empty
    assert lab.experiments().set_index("name").loc["posters", "tags"] == "posters,lumiere"
    assert exp.untag("posters") == ["lumiere"]
    assert lab.experiments(tag="posters").empty
    with pytest.raises(ValueError, match="tag"):
        exp.tag("  ")


def test_a_note_is_kept_and_shown(lab: Lab) -> None:
    exp = lab.experiment("posters").note("extend helps the headline")
    assert lab.experiment("posters").notes == "extend helps the headline"
    assert lab.experiments().set_index("name").loc["posters", "notes"] == "extend helps the headline"
    exp.note(None)
    assert lab.experiment("posters").notes is None


def test_a_rename_keeps_everything_attached(lab: Lab) -> None:
    exp_id = _decorate(lab, "posters")
    before = _attached(lab, exp_id)
    cost = lab.experiment("posters").cost
    exp = lab.experiment("posters").rename("posters-v2")
    assert exp.name == "posters-v2" and exp.id == exp_id
    assert _attached(lab, exp_id) == before and all(before.values())
    assert lab.experiment("posters-v2").cost == cost
    with pytest.raises(ExperimentNotFoundError):
        lab.experiment("posters")
    with pytest.raises(ExperimentConflictError, match="new_name.*'other' exists"):
        exp.rename("other")


def test_an_archived_experiment_leaves_the_listings_and_comes_back_whole(lab: Lab) -> None:
    exp_id = _decorate(lab, "posters")
    before = _attached(lab, exp_id)
    lab.experiment("posters").archive()
    assert lab.experiments()["name"].tolist() == ["other"]
    listed = lab.experiments(archived=True).set_index("name")
    assert listed.loc["posters", "archived_at"] and pd.isna(listed.loc["other", "archived_at"])  # when, or none
    assert lab.experiment("posters").archived  # still opens by name, all of it
    assert _attached(lab, exp_id) == before
    lab.experiment("posters").unarchive()
    assert lab.experiments()["name"].tolist() == ["posters", "other"]


def test_a_delete_asks_for_confirmation_first(lab: Lab) -> None:
    exp_id = _decorate(lab, "posters")
    before = _attached(lab, exp_id)
    with pytest.raises(ConfirmationRequiredError, match=r"confirm.*delete\(confirm=True\)"):
        lab.experiment("posters").delete()
    with pytest.raises(ConfirmationRequiredError):
        lab.experiment("posters").delete(confirm="yes")  # type: ignore[arg-type]  # only True confirms
    assert _attached(lab, exp_id) == before


def test_a_delete_removes_rows_files_and_thumbnails_but_keeps_the_spend(lab: Lab, data_dir: Path) -> None:
    exp_id = _decorate(lab, "posters")
    costs_before = Costs(lab.log).totals()
    by_day_before = Costs(lab.log).by("day")["cost_usd"].tolist()
    exp = lab.experiment("posters")
    spent, paths = exp.cost, [Path(p) for p in exp.images["path"]]
    thumbs = [thumbnail(p, 128) for p in paths]
    webps = [thumbnail_path(p, 160).with_suffix(".webp") for p in paths]
    assert webp_thumbnails(paths, 160).keys() == {str(p) for p in paths}  # a report's thumbnails
    assert all(t.exists() for t in thumbs + webps)
    kept = {p.parent for p in lab.experiment("other").images["path"].map(Path)}

    done = exp.delete(confirm=True)

    assert done.images == 3 and done.files_removed == 3 and done.kept_as == "(deleted) posters"
    assert done.spent_usd == pytest.approx(spent)
    # nothing of its images is left on disk: files, thumbnails of both kinds, emptied folders
    assert not any(p.exists() for p in paths) and not any(t.exists() for t in thumbs + webps)
    assert not [d for d in (data_dir / "images").iterdir() if not any(d.iterdir())]
    assert not [d for d in (data_dir / "thumbs").rglob("*") if d.is_dir() and not any(d.iterdir())
                and d.parent != data_dir / "thumbs"]
    assert all(folder.is_dir() for folder in kept)  # the other experiment's folders stay
    attached = _attached(lab, exp_id)
    assert attached.pop("tasks") == 4  # the spend ledger: stripped rows, the money kept
    assert attached == {"images": 0, "ratings": 0, "judgements": 0, "text_scores": 0, "tags": 0}
    stripped = lab.log.rows("SELECT prompt, request_json, cell_json FROM tasks WHERE experiment_id = ?", [exp_id])
    assert all(v is None for row in stripped for v in row.values())
    assert lab.search("LUMIERE", experiment="(deleted) posters").empty
    # cost history unchanged: totals, per day, and the deleted experiment by name
    totals = Costs(lab.log).totals()
    assert {k: v for k, v in totals.items() if k != "images"} == {k: v for k, v in costs_before.items() if k != "images"}
    assert Costs(lab.log).by("day")["cost_usd"].tolist() == by_day_before
    # a cost per image over the images still here: the deleted spend made each look dearer
    other = lab.experiment("other")
    for key in ("day", "model", ["day", "status"]):
        per = Costs(lab.log).by(key)["usd_per_image"].dropna()
        assert len(per) and list(per) == pytest.approx([other.cost / len(other.images)] * len(per)), key
    assert Costs(lab.log).by("experiment").loc["(deleted) posters", "cost_usd"] == pytest.approx(spent)
    # by an axis it swept, its spend reads as what it is, not as an experiment that never swept it
    by_axis = Costs(lab.log).by(["experiment", "promptExtend"])["cost_usd"]
    assert by_axis.loc[("(deleted) posters", "(deleted: values not kept)")] == pytest.approx(spent)
    # and by setting: it swept axes, whose values are gone, not a sweep of "(no axes)"
    by_setting = Costs(lab.log).by("setting")["cost_usd"]
    assert by_setting.loc[("(deleted) posters", "(deleted: values not kept)")] == pytest.approx(spent)
    # gone from every listing and from opening by name; the name is free again
    assert lab.experiments()["name"].tolist() == ["other"]
    assert "posters" not in lab.log.experiment_names()
    with pytest.raises(ExperimentNotFoundError):
        lab.experiment("posters")
    with pytest.raises(ExperimentNotFoundError, match="no longer in"):
        exp.summary()  # the object still in a notebook variable says so, too
    assert lab.log.integrity_check() == "ok"


def test_a_delete_of_one_image_says_image_and_file_not_images_and_files(lab: Lab, emulator, data_dir: Path) -> None:
    run_sweep(emulator, data_dir, name="solo", axes={}, repeats=1, fail_one=False)  # one cell, one image
    with pytest.raises(ConfirmationRequiredError, match="removes its 1 image, their ratings"):
        lab.experiment("solo").delete()
    done = lab.experiment("solo").delete(confirm=True)
    assert (done.images, done.files_removed) == (1, 1)
    assert str(done).startswith("deleted 'solo': 1 image, 1 file removed; its spend"), str(done)


def test_costs_by_an_axis_still_answer_once_an_experiment_without_it_is_deleted(lab: Lab, emulator,
                                                                               data_dir: Path) -> None:
    """Deleting an experiment that swept no axis broke `costs --by promptExtend` for the log: the
    part kept for the deleted spend asked the deleted experiments for an axis none of them had."""
    run_sweep(emulator, data_dir, name="plain", axes={}, repeats=1, fail_one=False)
    before = Costs(lab.log).by("promptExtend")
    lab.experiment("plain").delete(confirm=True)
    after = Costs(lab.log).by("promptExtend")
    assert after["cost_usd"].tolist() == before["cost_usd"].tolist() and after["usd_per_image"].notna().all()


def test_files_another_experiment_uses_are_kept(lab: Lab) -> None:
    # images are stored once by hash, so two experiments can hold the same file: a copy of the images
    with lab.log.transaction() as db:
        src = lab.experiment("posters")
        db.execute("INSERT INTO experiments (name, status) VALUES ('copy', 'done')")
        copy_id = db.execute("SELECT id FROM experiments WHERE name = 'copy'").fetchone()[0]
        for n, img in enumerate(lab.log.images(src.id)):
            db.execute("INSERT INTO images (image_uuid, task_id, experiment_id, path, sha256) VALUES (?, ?, ?, ?, ?)",
                       [f"copy-{n}", img["task_id"], copy_id, img["path"], img["sha256"]])
    paths = [Path(p) for p in lab.experiment("posters").images["path"]]
    done = lab.experiment("posters").delete(confirm=True)
    assert done.files_removed == 0 and done.files_kept == 3
    assert all(p.exists() for p in paths)


def test_a_running_experiment_is_neither_deleted_nor_renamed(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = lab.experiment("posters")
    with holding_run(lab.log.path, exp.id):  # as a live run does, in this process or another
        lab.log.update_experiment(exp.id, status="running")
        with pytest.raises(ExperimentBusyError, match="running.*force=True"):
            exp.delete(confirm=True)
        with pytest.raises(ExperimentBusyError, match="running"):
            exp.rename("elsewhere")
        assert exp.counts()["images"] == 3
    # where qwenlab cannot tell whether the run's process died (no flock, and the run's marker
    # names another machine's process), 'running' stays: force=True deletes it all the same
    monkeypatch.setattr(run_lock, "fcntl", None)
    marker = run_lock.lock_file(lab.log.path, exp.id).parent / f"{exp.id}.4242.0123456789ab.run"
    marker.write_text('{"host": "another-machine", "pid": 4242}', encoding="utf-8")
    with pytest.raises(ExperimentBusyError, match="running"):
        exp.rename("elsewhere")
    assert exp.delete(confirm=True, force=True).images == 3


def test_a_name_deleted_twice_keeps_both_spends(lab: Lab, emulator, data_dir: Path) -> None:
    first = lab.experiment("other").cost
    lab.experiment("other").delete(confirm=True)
    run_sweep(emulator, data_dir, name="other", repeats=1, fail_one=False)
    second = lab.experiment("other").cost
    assert lab.experiment("other").delete(confirm=True).kept_as == "(deleted) other [2]"
    by = Costs(lab.log).by("experiment")["cost_usd"]
    assert by["(deleted) other"] == pytest.approx(first) and by["(deleted) other [2]"] == pytest.approx(second)


def test_a_file_that_cannot_be_removed_is_said_and_the_delete_still_completes(
        lab: Lab, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are deleted (committed) before the files: a file another program holds open
    (Windows refuses to remove it) or a read-only folder raised midway, after the rows were gone,
    leaving the rest of the files and no word of which. Each one now is said, and the rest go."""
    _decorate(lab, "posters")
    exp = lab.experiment("posters")
    paths = sorted(Path(p).resolve() for p in exp.images["path"])
    held = paths[0]
    _held_open(held, monkeypatch)
    done = exp.delete(confirm=True)
    assert done.files_removed == len(paths) - 1 and done.files_left == [str(held)]
    assert held.exists() and not any(p.exists() for p in paths[1:])
    assert f"1 file could not be removed (in use or read-only), remove it by hand: {held}" in str(done)
    assert lab.experiments()["name"].tolist() == ["other"]  # the delete itself is whole


def test_a_thumbnail_that_cannot_be_removed_does_not_stop_a_delete(lab: Lab, data_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached thumbnail held open (Windows) raised out of the delete after its rows were gone,
    leaving the image files behind unsaid. A thumbnail is a cache: it is left, and the delete ends."""
    exp = lab.experiment("posters")
    paths = [Path(p) for p in exp.images["path"]]
    held = thumbnail(paths[0], 128).resolve()
    _held_open(held, monkeypatch)
    done = exp.delete(confirm=True)
    assert done.files_removed == len(paths) and not any(p.exists() for p in paths) and done.files_left == []
    assert held.exists()  # the cache file stays, harmless


def _held_open(held: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`held` cannot be removed, as Windows refuses a file another program holds open."""
    unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.resolve() == held:
            raise PermissionError(13, "The process cannot access the file because it is being used", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
