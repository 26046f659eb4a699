"""Bundles: experiments round-trip between two logs with costs, provenance and images identical
(by hash); importing twice adds nothing; a name in use is refused with the fix; a damaged
bundle is refused before anything is written."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.core.values import format_usd
from qwenlab.costs import Costs
from qwenlab.errors import BundleError, ExperimentConflictError
from qwenlab.store.rows import utc_now
from qwenlab.store.run_lock import holding_run
from tests.support.labkit import PROMPT, SIZES, run_sweep

KEY = "sk-grid-test"
# every column that says what was paid and where it came from, compared task by task
MONEY = ["task_uuid", "cell_key", "status", "model", "width", "height", "number_results", "price_usd", "estimated_cost_usd",
         "cost_usd", "cost_source", "cost_reading", "backend", "api_host", "qwenlab_version", "sent_at", "completed_at",
         "history_json", "request_json", "prompt", "error_code", "seed"]
IMAGE = ["image_uuid", "task_uuid", "seed", "cost_usd", "cost_source", "sha256", "format", "width", "height", "bytes", "path"]


@pytest.fixture
def ana(emulator, data_dir: Path) -> Lab:
    run_sweep(emulator, data_dir, name="posters", repeats=2)      # 8 cells, one failed
    run_sweep(emulator, data_dir, name="noctis", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    exp = lab.experiment("posters")
    ids = [int(i) for i in exp.images["image_id"]]
    lab.log.rate(ids[0], 5, "keeper")
    lab.log.judge(exp.id, "promptExtend", ids[0], ids[1], "a")
    with lab.log.transaction() as db:
        db["text_scores"].insert({"image_id": ids[0], "experiment_id": exp.id, "engine": "rapidocr", "word_accuracy": 0.5})
    exp.tag("posters")  # tags travel too
    other = lab.experiment("noctis")
    # a blind judgement across the two (as lab.compare stores one: no experiment of its own)
    lab.log.judge(None, "experiment", ids[2], int(other.images["image_id"][0]), "b")  # type: ignore[arg-type]
    exp.note("shared with Ben")
    return lab


@pytest.fixture
def ben(tmp_path: Path) -> Lab:
    return Lab(tmp_path / "ben", client=lambda: pytest.fail("nothing here may connect"))


def _rows(lab: Lab, name: str, table: str, columns: list[str]) -> list[dict]:
    exp_id = lab.experiment(name).id
    return lab.log.rows(f"SELECT {', '.join(columns)} FROM {table} WHERE experiment_id = ? ORDER BY task_uuid, id", [exp_id])


def _file_hashes(lab: Lab, name: str) -> list[str]:
    return sorted(hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in lab.experiment(name).images["path"])


def test_a_bundle_round_trips_costs_provenance_and_images_exactly(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    info = ana.bundle(["posters", "noctis"], tmp_path / "share.zip")
    assert info.experiments == ["posters", "noctis"] and info.tasks == 10 and info.images == 9
    report = ben.import_bundle(info.path)
    assert report.imported == {"posters": "posters", "noctis": "noctis"} and report.files_written == 9
    for name in ("posters", "noctis"):
        assert _rows(ben, name, "tasks", MONEY) == _rows(ana, name, "tasks", MONEY)
        assert _rows(ben, name, "images", IMAGE) == _rows(ana, name, "images", IMAGE)
        assert _file_hashes(ben, name) == _file_hashes(ana, name)
        assert ben.experiment(name).cost == ana.experiment(name).cost
        assert ben.experiment(name).provenance.kind == "emulator"
    assert Costs(ben.log).totals() == Costs(ana.log).totals()
    assert Costs(ben.log).by("experiment")["cost_usd"].to_dict() == Costs(ana.log).by("experiment")["cost_usd"].to_dict()
    got = ben.experiment("posters")
    assert got.tags == ["posters"] and got.notes == "shared with Ben"
    assert [r["score"] for r in ben.log.ratings(got.id)] == [5]
    assert [r["winner"] for r in ben.log.judgements(got.id)] == ["a"]
    across = ben.log.rows("SELECT a.sha256 AS a, b.sha256 AS b, j.winner FROM judgements j JOIN images a ON a.id = j.image_a "
                          "JOIN images b ON b.id = j.image_b WHERE j.experiment_id IS NULL")
    assert across == ana.log.rows("SELECT a.sha256 AS a, b.sha256 AS b, j.winner FROM judgements j "
                                  "JOIN images a ON a.id = j.image_a JOIN images b ON b.id = j.image_b "
                                  "WHERE j.experiment_id IS NULL") and len(across) == 1
    # ratings and judgements point at Ben's own image ids, which hold the same files
    rated = ben.log.rows("SELECT i.sha256 FROM ratings r JOIN images i ON i.id = r.image_id")
    assert rated == ana.log.rows("SELECT i.sha256 FROM ratings r JOIN images i ON i.id = r.image_id")
    assert ben.log.rows("SELECT count(*) AS n FROM text_scores")[0]["n"] == 1
    assert json.loads(got.row["imported_from"])["bundle"] == "share.zip"
    assert len(ben.search("LUMIERE")) == len(ana.search("LUMIERE")) == 9  # the prompt index follows the tasks
    assert KEY.encode() not in info.path.read_bytes()
    assert ben.log.integrity_check() == "ok"


def test_a_bundle_of_one_cell_says_experiment_task_and_image_file_not_their_plurals(emulator, data_dir: Path, ben: Lab,
                                                                                  tmp_path: Path) -> None:
    run_sweep(emulator, data_dir, name="solo", axes={}, repeats=1, fail_one=False)  # one cell, one image
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    info = lab.bundle(["solo"], tmp_path / "solo.zip")
    assert str(info).startswith(f"wrote {info.path}: 1 experiment (solo), 1 task, 1 image file, "), str(info)
    report = str(ben.import_bundle(info.path))
    assert "  added 1 experiment, 1 task, 1 image; 1 image file written" in report, report
    again = str(ben.import_bundle(info.path))
    assert "'solo': nothing added (its 1 request is in this log already, as experiment 'solo', " in again, again


def test_costs_say_what_imported_experiments_spent_elsewhere_and_can_leave_it_out(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ben's costs hold Ana's spend once he imports her bundle: what those experiments cost is
    worth comparing, but it was not Ben's money. A note says how much, and imported=False (or
    `qwenlab costs --no-imported`) leaves them out, even once one is deleted."""
    from click.testing import CliRunner

    from qwenlab.cli import cli

    ana_spent = Costs(ana.log).by("experiment")["cost_usd"]
    ben.import_bundle(ana.bundle(["posters"], tmp_path / "share.zip").path)
    costs = Costs(ben.log)
    note = [n for n in costs.notes() if "spent in other logs" in n]
    assert len(note) == 1 and format_usd(ana_spent['posters']) in note[0] and "'posters'" in note[0]
    own = Costs(ben.log, imported=False)
    assert own.totals()["cost_usd"] == 0 and own.by("experiment").empty
    assert not any("spent in other logs" in n for n in own.notes())
    assert "without experiments imported from bundles" in own.headline()[0]
    result = CliRunner().invoke(cli, ["costs", "--no-imported"], env={"QWENLAB_DATA_DIR": str(ben.data_dir)})
    assert result.exit_code == 0 and "imported from bundles): $0.00" in result.output, result.output
    ben.experiment("posters").delete(confirm=True)  # its spend stays in the history, still not Ben's
    assert Costs(ben.log, imported=False).totals()["cost_usd"] == 0
    assert Costs(ben.log).totals()["cost_usd"] == pytest.approx(ana_spent["posters"])


def test_costs_json_gives_what_imported_experiments_spent_as_a_number(ana: Lab, ben: Lab, emulator, tmp_path: Path) -> None:
    """`qwenlab costs --json` said what the imported experiments spent in other logs only in the
    words of a note ("$0.1500 of this was spent in other logs: ..."), which a script would have
    to parse; its totals give it as `imported_usd`, beside `cost_usd` and the other sums."""
    from click.testing import CliRunner

    from qwenlab.cli import cli

    def totals(*options: str) -> dict:
        result = CliRunner().invoke(cli, ["costs", "--json", *options], env={"QWENLAB_DATA_DIR": str(ben.data_dir)})
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["totals"]

    spent = Costs(ana.log).by("experiment")["cost_usd"]["posters"]
    mine = run_sweep(emulator, ben.data_dir, name="bens-own", repeats=1, fail_one=False, axes={"promptExtend": [True]}).cost
    ben.import_bundle(ana.bundle(["posters"], tmp_path / "share.zip").path)
    both = totals()
    assert both["imported_usd"] == pytest.approx(spent) and both["cost_usd"] == pytest.approx(spent + mine)
    assert Costs(ben.log).imported_spend() == {"posters": pytest.approx(spent)}
    assert totals("-e", "bens-own")["imported_usd"] == 0  # the view's part, as cost_usd is
    own = totals("--no-imported")
    assert own["imported_usd"] == 0 and own["cost_usd"] == pytest.approx(mine)
    assert isinstance(own["imported_usd"], float)  # 0.0, a sum as the others are


def test_importing_twice_adds_nothing(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    path = ana.bundle("posters", tmp_path / "p.zip").path
    ben.import_bundle(path)
    assert ben.log.rows("SELECT count(*) AS n FROM judgements")[0]["n"] == 1  # not the one into noctis, left out
    before = {t: ben.log.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in ("experiments", "tasks", "images", "ratings")}
    again = ben.import_bundle(path)
    assert again.imported == {} and "in this log already" in again.skipped["posters"] and again.files_written == 0
    assert {t: ben.log.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in before} == before
    # a file lost since the first import is written again by the next one, and only that one
    lost = Path(ben.experiment("posters").images["path"][0])
    lost.unlink()
    assert ben.import_bundle(path).files_written == 1 and lost.is_file()
    # into the log it came from: nothing either, even under another name
    assert ana.import_bundle(path, as_name="posters-2").imported == {}


def test_an_import_asks_for_each_tables_columns_once_not_once_a_row(ana: Lab, ben: Lab, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row copied asked SQLite for its table's columns (8,482 times for a 2,000-image import)."""
    import qwenlab.store.bundle_rows as bundle  # where rows are copied

    path = ana.bundle("posters", tmp_path / "p.zip").path
    asked: list[str] = []
    real = bundle.columns
    monkeypatch.setattr(bundle, "columns", lambda db, table: asked.append(table) or real(db, table))
    ben.import_bundle(path)
    assert ben.experiment("posters").counts()["images"] > 1
    assert len(asked) == len(set(asked)), asked


def test_an_experiment_archived_by_its_sender_arrives_listed(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Archived where it was run, an experiment was imported archived: the import said it was
    added, and `qwenlab logs` did not list it (only --all did). Archiving is the sender's tidying."""
    ana.experiment("noctis").archive()
    path = ana.bundle(["posters", "noctis"], tmp_path / "both.zip").path
    ben.import_bundle(path)
    assert sorted(ben.experiments()["name"]) == ["noctis", "posters"]
    ben.experiment("noctis").archive()  # archived here: a later bundle of it keeps it so
    ben.import_bundle(ana.bundle(["noctis"], tmp_path / "again.zip").path)
    assert sorted(ben.experiments()["name"]) == ["posters"]


def test_a_copy_deleted_here_comes_back_when_its_bundle_is_imported_again(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Deleted by mistake, the bundle still at hand: the same tasks once could never come back
    (they stay as '(deleted) posters' for the cost history). The copy is replaced, its spend
    counted once."""
    path = ana.bundle("posters", tmp_path / "p.zip").path
    ben.import_bundle(path)
    spent = Costs(ben.log).totals()
    ben.experiment("posters").delete(confirm=True)
    again = ben.import_bundle(path)
    assert again.imported == {"posters": "posters"} and again.updated == {"posters": "posters"}, again
    assert again.files_written == len(_file_hashes(ana, "posters")), again
    assert ben.log.experiment_names() == ["posters"] and _file_hashes(ben, "posters") == _file_hashes(ana, "posters")
    assert _rows(ben, "posters", "tasks", MONEY) == _rows(ana, "posters", "tasks", MONEY)
    assert Costs(ben.log).totals() == spent  # once, not beside the deleted one's


def test_the_delete_of_an_imported_copy_says_its_spend_was_made_elsewhere(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Deleting a colleague's experiment imported here said "its spend ($0.52) stays in the cost
    history", as if this log's money had bought it. It says where that spend was made, what
    leaves it out, and that the bundle brings the experiment back; a delete of one's own does not."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "p.zip").path)
    said = str(ben.experiment("posters").delete(confirm=True))
    assert ("stays in the cost history as '(deleted) posters', marked imported (spent in the log p.zip came from: "
            "`qwenlab costs --no-imported`, Costs(imported=False), leaves it out; importing p.zip again brings the "
            "experiment back)") in said, said
    assert Costs(ben.log, imported=False).totals()["cost_usd"] == 0
    own = str(ana.experiment("noctis").delete(confirm=True))
    assert own.endswith("stays in the cost history as '(deleted) noctis'"), own

def test_a_later_bundle_of_an_imported_experiment_updates_the_copy_and_keeps_what_was_added_here(
        ana: Lab, ben: Lab, emulator, tmp_path: Path) -> None:
    """Ana shares 'posters' with a cell failed, then finishes it and shares it again: the second
    bundle once added nothing ("its requests are in this log already"), and Ben's copy stayed
    unfinished for good. It now replaces the copy; Ben's own rating, tag and note stay, and
    what both bundles hold (Ana's rating, judgement, score, tag) is there once."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "v1.zip").path)
    copy = ben.experiment("posters")
    assert copy.counts()["failed"] == 1
    mine = int(copy.images["image_id"].iloc[-1])
    ben.log.rate(mine, 2, "text blurred", judge="ben")
    copy.tag("from-ana")
    copy.note("Ben: check the headline")
    retried = run_sweep(emulator, ana.data_dir, name="posters", repeats=2, fail_one=False)  # the failed cell, again
    assert retried.counts()["done"] == 8
    v2 = ana.bundle("posters", tmp_path / "v2.zip").path
    report = ben.import_bundle(v2)
    assert report.updated == {"posters": "posters"} and "updated" in str(report), report
    copy = ben.experiment("posters")
    assert copy.counts()["done"] == 8 and _file_hashes(ben, "posters") == _file_hashes(ana, "posters")
    assert _rows(ben, "posters", "tasks", MONEY) == _rows(ana, "posters", "tasks", MONEY)
    ratings = ben.log.rows("SELECT score, note, judge FROM ratings ORDER BY score")
    assert [(r["score"], r["judge"]) for r in ratings] == [(2, "ben"), (5, ratings[1]["judge"])], ratings  # each once
    assert ben.log.rows("SELECT count(*) AS n FROM judgements")[0]["n"] == 1  # the cross-experiment one needs noctis
    assert ben.log.rows("SELECT count(*) AS n FROM text_scores")[0]["n"] == 1
    assert sorted(copy.tags) == ["from-ana", "posters"]
    assert "shared with Ben" in copy.notes and "Ben: check the headline" in copy.notes
    assert Costs(ben.log).totals() == Costs(ana.log).filter(experiments=["posters"]).totals()
    again = ben.import_bundle(v2)  # the same bundle again: nothing to update
    assert again.imported == {} and "in this log already" in again.skipped["posters"]


def test_ratings_made_on_a_copy_come_back_to_the_original(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ana sends 'posters' to Ben; he rates, tags and notes it and sends it back: her import once
    said "nothing added", and his feedback was lost. It is merged, each row once."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "to-ben.zip").path)
    copy = ben.experiment("posters")
    ben.log.rate(int(copy.images["image_id"].iloc[-1]), 2, "text blurred", judge="ben")
    copy.tag("reviewed")
    copy.note("Ben: the headline is misspelled in two of them")
    with ben.log.transaction() as db:  # a score both have, redone on his side (UNIQUE image + engine: it once crashed)
        db.execute("UPDATE text_scores SET word_accuracy = 0.9, scored_at = ?", [utc_now()])
    back = ben.bundle("posters", tmp_path / "to-ana.zip").path
    before = Costs(ana.log).totals()
    report = ana.import_bundle(back)
    assert report.merged == {"posters": "posters"} and report.rows.get("ratings") == 1, report
    exp = ana.experiment("posters")
    ratings = ana.log.rows("SELECT r.score, r.judge, i.image_uuid FROM ratings r JOIN images i ON i.id = r.image_id "
                           "WHERE i.experiment_id = ? ORDER BY r.score", [exp.id])
    assert [(r["score"], r["judge"]) for r in ratings][0] == (2, "ben") and len(ratings) == 2, ratings
    assert ratings[0]["image_uuid"] == copy.images["image_uuid"].iloc[-1]  # on the same image, by its UUID
    assert sorted(exp.tags) == ["posters", "reviewed"]
    assert "shared with Ben" in exp.notes and "misspelled" in exp.notes
    assert Costs(ana.log).totals() == before  # no task, no spend, added
    again = ana.import_bundle(back)
    assert again.merged == {} and "in this log already" in again.skipped["posters"], again


def _latest_scores(lab: Lab, name: str) -> tuple[dict[str, int], list[dict]]:
    """An experiment's images' latest scores by imageUUID (as costs, search and exports read them),
    and what `cost_scores` counts of them, by score."""
    exp = lab.experiment(name)
    uuids = dict(zip(exp.images["image_id"].astype(int), exp.images["image_uuid"]))
    latest = {uuids[i]: r["score"] for i, r in lab.log.latest_ratings(exp.id).items()}
    counted = lab.log.rows("SELECT score, sum(images) AS n FROM cost_scores WHERE experiment_id = ? GROUP BY score "
                           "HAVING sum(images) != 0 ORDER BY score", [exp.id])
    return latest, counted


def test_a_rating_made_after_one_sent_home_stays_the_latest_in_both_logs(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ben rates an image 2; Ana, later, rates it 5 in her log. His bundle sent home put his
    rating after hers (the latest is the last inserted): her log said 2, his, once her bundle came
    back, 5. The latest is the one made last, in both logs, and costs count it."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "to-ben.zip").path)
    copy = ben.experiment("posters").images.iloc[-1]
    ben.log.rate(int(copy["image_id"]), 2, "ben, first")
    mine = ana.experiment("posters").images
    ana.log.rate(int(mine[mine["image_uuid"] == copy["image_uuid"]]["image_id"].iloc[0]), 5, "ana, after")
    ana.import_bundle(ben.bundle("posters", tmp_path / "to-ana.zip").path)
    ben.import_bundle(ana.bundle("posters", tmp_path / "back.zip").path)
    for lab in (ana, ben):
        latest, counted = _latest_scores(lab, "posters")
        assert latest[copy["image_uuid"]] == 5, lab.log.rows("SELECT * FROM ratings")
        assert counted == [{"score": 5, "n": 2}], counted  # the image rated 5 before, and this one
    assert _latest_scores(ana, "posters") == _latest_scores(ben, "posters")
    assert len(ana.log.ratings(ana.experiment("posters").id)) == 3  # each rating once


def test_a_rating_made_here_and_put_back_on_an_updated_copy_does_not_outrank_a_later_one(
        ana: Lab, ben: Lab, emulator, tmp_path: Path) -> None:
    """Ben rates an image of his copy 2; Ana rates it 5 later, finishes the failed cell and shares
    it again. The update put Ben's rating back after the bundle's: his copy said 2, hers 5."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "v1.zip").path)
    copy = ben.experiment("posters").images.iloc[-1]
    ben.log.rate(int(copy["image_id"]), 2, "ben, first")
    mine = ana.experiment("posters").images
    ana.log.rate(int(mine[mine["image_uuid"] == copy["image_uuid"]]["image_id"].iloc[0]), 5, "ana, after")
    run_sweep(emulator, ana.data_dir, name="posters", repeats=2, fail_one=False)  # the failed cell, again
    assert ben.import_bundle(ana.bundle("posters", tmp_path / "v2.zip").path).updated == {"posters": "posters"}
    latest, counted = _latest_scores(ben, "posters")
    assert latest[copy["image_uuid"]] == 5 and counted == [{"score": 5, "n": 2}], (latest, counted)
    assert len(ben.log.ratings(ben.experiment("posters").id)) == 3  # Ana's two and Ben's, each once


def _judged_across(lab: Lab) -> set[tuple[str, str, str]]:
    """The log's judgements across experiments, by their images' UUIDs and the winner."""
    return {(r["a"], r["b"], r["winner"]) for r in lab.log.rows(
        "SELECT ia.image_uuid AS a, ib.image_uuid AS b, j.winner FROM judgements j JOIN images ia ON ia.id = j.image_a "
        "JOIN images ib ON ib.id = j.image_b WHERE j.experiment_id IS NULL AND j.axis = 'experiment'")}


def test_judgements_across_two_experiments_sent_back_come_home(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ana sends both runs; Ben judges them against each other (cmp.judge("experiment")) and sends
    both back. Each experiment was merged on its own, a judgement across them pointed at the other
    one's image, and Ben's judgements were lost under "nothing added"."""
    ben.import_bundle(ana.bundle(["posters", "noctis"], tmp_path / "to-ben.zip").path)
    a, b = ben.experiment("posters").images.iloc[3], ben.experiment("noctis").images.iloc[1]
    ben.log.judge(None, "experiment", int(a["image_id"]), int(b["image_id"]), "a", criterion="text correct")
    theirs = _judged_across(ben)
    report = ana.import_bundle(ben.bundle(["posters", "noctis"], tmp_path / "to-ana.zip").path)
    assert report.rows.get("judgements") == 1 and "posters" in report.merged, report
    assert _judged_across(ana) == theirs and len(theirs) == 2
    assert ana.import_bundle(tmp_path / "to-ana.zip").rows.get("judgements") is None  # once
    assert ana.log.rows("PRAGMA foreign_key_check") == []


def test_judgements_across_an_experiment_here_and_a_new_one_are_imported(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ben has 'posters' from an earlier bundle; a bundle of both runs, with judgements across them,
    brings 'noctis': they pointed at one experiment merged and one copied, and were dropped."""
    ben.import_bundle(ana.bundle(["posters"], tmp_path / "posters.zip").path)
    report = ben.import_bundle(ana.bundle(["posters", "noctis"], tmp_path / "both.zip").path)
    assert report.imported == {"noctis": "noctis"} and report.rows.get("judgements") == 1, report
    assert _judged_across(ben) == _judged_across(ana) and len(_judged_across(ana)) == 1
    assert ben.log.rows("PRAGMA foreign_key_check") == []


def test_judgements_across_a_new_experiment_and_a_copy_left_as_it_is_are_imported(ana: Lab, ben: Lab,
                                                                                    tmp_path: Path) -> None:
    """The bundle of both arrives after a later one of 'posters' alone: 'posters' is left as it is
    (its copy is as recent), 'noctis' is new, and the judgement across them is kept with it."""
    both = ana.bundle(["posters", "noctis"], tmp_path / "both.zip").path
    ben.import_bundle(ana.bundle(["posters"], tmp_path / "posters.zip").path)
    report = ben.import_bundle(both)
    assert "as recent or more" in report.skipped["posters"] and report.rows.get("judgements") == 1, report
    assert _judged_across(ben) == _judged_across(ana) and len(_judged_across(ana)) == 1


def test_notes_sent_back_and_forth_say_each_paragraph_once(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Ben's note replaces the one his copy came with; sent home it is merged into Ana's, and hers
    comes back to him. Each trip added the whole other note after one's own, so a line both had
    was repeated, and the notes grew at every trip."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "to-ben.zip").path)
    ben.experiment("posters").note("Ben: the on side wins")
    for trip in range(3):
        ana.import_bundle(ben.bundle("posters", tmp_path / f"home-{trip}.zip").path)
        ben.import_bundle(ana.bundle("posters", tmp_path / f"back-{trip}.zip").path)
    for lab in (ana, ben):
        paragraphs = lab.experiment("posters").notes.split("\n\n")
        assert sorted(paragraphs) == ["Ben: the on side wins", "shared with Ben"], paragraphs


def test_an_image_changed_since_it_was_logged_is_refused_when_bundling(ana: Lab, tmp_path: Path) -> None:
    """Edited in place (metadata stripped before sending, say): the bundle shipped it, and the
    colleague's import failed as "damaged". Refused where it can be mended, naming the file."""
    path = Path(ana.experiment("noctis").images["path"].iloc[0])
    path.write_bytes(path.read_bytes()[:-2] + b"\x00\xd9")
    with pytest.raises(BundleError, match="changed since it was logged") as info:
        ana.bundle("noctis", tmp_path / "n.zip")
    assert path.name in str(info.value) and not (tmp_path / "n.zip").exists()
    assert "`qwenlab verify --set-aside`" in str(info.value)  # it said "delete the experiment's copy of it"
    assert not list(tmp_path.glob(".n.zip*")), "no half-written bundle left beside it"


def test_a_missing_image_file_is_refused_when_bundling_with_how_to_get_it_back(ana: Lab, tmp_path: Path) -> None:
    """A file lost since its run (deleted by hand, a sync tool): the error asked "was the data
    folder moved?" and nothing more; verify knows how each file comes back."""
    path = Path(ana.experiment("noctis").images["path"].iloc[0])
    path.unlink()
    with pytest.raises(BundleError, match="is missing; cannot bundle it") as info:
        ana.bundle("noctis", tmp_path / "n.zip")
    assert path.name in str(info.value) and "`qwenlab verify` (lab.verify()) lists every image file" in str(info.value)
    assert not (tmp_path / "n.zip").exists()


def test_an_update_keeps_what_was_made_here_and_drops_what_its_sender_removed(ana: Lab, ben: Lab, emulator,
                                                                                tmp_path: Path) -> None:
    """Rows that came with the earlier bundle are the sender's: one she removed since (a tag, an
    undone judgement) does not come back; a tag both added is there once (it is a UNIQUE key, and
    the import once failed on it); her note is not repeated at each update."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "v1.zip").path)
    copy = ben.experiment("posters")
    copy.tag("to-check")
    copy.note("shared with Ben\n\nBen: the headline")  # the note it came with, and a line of his own
    original = ana.experiment("posters")
    original.untag("posters")
    original.tag("to-check")
    original.note("final: all sizes fine")
    with ana.log.transaction() as db:
        db.execute("DELETE FROM judgements WHERE experiment_id = ?", [original.id])
    run_sweep(emulator, ana.data_dir, name="posters", repeats=2, fail_one=False)
    for version in ("v2", "v3"):  # two updates: the note must not grow at each
        report = ben.import_bundle(ana.bundle("posters", tmp_path / f"{version}.zip").path)
        assert report.updated == {"posters": "posters"}, report
        with ana.log.transaction() as db:  # a later state again (a cost the API corrected, say)
            db.execute("UPDATE tasks SET cost_usd = cost_usd + 0.001 WHERE id = (SELECT max(id) FROM tasks "
                       "WHERE experiment_id = ?)", [original.id])
    copy = ben.experiment("posters")
    assert sorted(copy.tags) == ["to-check"], copy.tags  # hers gone, the shared one once
    assert copy.notes == "final: all sizes fine\n\nBen: the headline", copy.notes
    assert ben.log.rows("SELECT count(*) AS n FROM judgements WHERE experiment_id = ?", [copy.id])[0]["n"] == 0


def test_what_was_made_on_a_copy_outlives_every_update_and_goes_home(ana: Lab, ben: Lab, emulator,
                                                                     tmp_path: Path) -> None:
    """Ben rates and tags his copy; Ana updates it twice. At the first update his rows were put
    back with their own times, earlier than that import's, and the second took them for the
    sender's and dropped them; sent home, they were not merged either. The copy now remembers
    which rows were made here."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "v1.zip").path)
    copy = ben.experiment("posters")
    ben.log.rate(int(copy.images["image_id"].iloc[-1]), 2, "text blurred", judge="ben")
    copy.tag("bens-tag")
    original = ana.experiment("posters")
    run_sweep(emulator, ana.data_dir, name="posters", repeats=2, fail_one=False)  # v2: the failed cell done
    for version in ("v2", "v3"):
        report = ben.import_bundle(ana.bundle("posters", tmp_path / f"{version}.zip").path)
        assert report.updated == {"posters": "posters"} and report.dropped == 0, report
        with ana.log.transaction() as db:  # v3: a later state again (a cost the API corrected, say)
            db.execute("UPDATE tasks SET cost_usd = cost_usd + 0.001 WHERE id = (SELECT max(id) FROM tasks "
                       "WHERE experiment_id = ?)", [original.id])
        copy = ben.experiment("posters")
        assert "bens-tag" in copy.tags, (version, copy.tags)
        assert ben.log.rows("SELECT count(*) AS n FROM ratings WHERE judge = 'ben'")[0]["n"] == 1, version
    report = ana.import_bundle(ben.bundle("posters", tmp_path / "home.zip").path)
    assert report.merged == {"posters": "posters"}, report
    assert "bens-tag" in ana.experiment("posters").tags
    assert ana.log.rows("SELECT count(*) AS n FROM ratings WHERE judge = 'ben'")[0]["n"] == 1


def test_a_judgement_across_two_copies_replaced_together_keeps_its_two_images(ana: Lab, ben: Lab, emulator,
                                                                               tmp_path: Path) -> None:
    ben.import_bundle(ana.bundle(["noctis"], tmp_path / "n1.zip").path)
    ben.import_bundle(ana.bundle(["posters"], tmp_path / "p1.zip").path)
    a, b = ben.experiment("posters").images.iloc[0], ben.experiment("noctis").images.iloc[0]
    ben.log.judge(None, "experiment", int(a["image_id"]), int(b["image_id"]), "b")
    run_sweep(emulator, ana.data_dir, name="posters", repeats=2, fail_one=False)
    ben.import_bundle(ana.bundle(["posters", "noctis"], tmp_path / "both.zip").path)
    judged = ben.log.rows("SELECT ia.image_uuid AS a, ib.image_uuid AS b FROM judgements j JOIN images ia ON ia.id = j.image_a "
                          "JOIN images ib ON ib.id = j.image_b WHERE j.experiment_id IS NULL AND j.axis = 'experiment' "
                          "AND j.winner = 'b' AND j.created_at > ?", [a.get("created_at") or ""])
    assert {(j["a"], j["b"]) for j in judged} >= {(a["image_uuid"], b["image_uuid"])}, judged
    assert ben.log.rows("PRAGMA foreign_key_check") == []


def test_an_earlier_state_never_replaces_a_later_copy(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """A bundle of an earlier state (found later in the mail, or made after a restore): a cell done
    here is not done in it. It once replaced the copy, and the rating made on that cell was lost."""
    new = ana.bundle("noctis", tmp_path / "new.zip").path
    with ana.log.transaction() as db:  # the state Ana's log had before: its last cell in doubt
        last = db.execute("SELECT max(id) FROM tasks WHERE experiment_id = ?", [ana.experiment("noctis").id]).fetchone()[0]
        db.execute("DELETE FROM ratings WHERE image_id IN (SELECT id FROM images WHERE task_id = ?)", [last])
        db.execute("DELETE FROM images WHERE task_id = ?", [last])
        db.execute("UPDATE tasks SET status = 'sent', cost_usd = NULL, completed_at = NULL WHERE id = ?", [last])
    old = ana.bundle("noctis", tmp_path / "old.zip").path
    ben.import_bundle(new)
    copy = ben.experiment("noctis")
    ben.log.rate(int(copy.images["image_id"].max()), 5, "best one", judge="ben")
    report = ben.import_bundle(old)
    assert report.imported == {} and "earlier state" in report.skipped["noctis"], report
    assert ben.experiment("noctis").counts()["done"] == 2 and len(ben.log.ratings(copy.id)) == 1


def test_an_image_row_without_its_hash_is_refused_and_overwrites_nothing(ana: Lab, ben: Lab, emulator,
                                                                         tmp_path: Path) -> None:
    """Its sha256 NULL, its path naming a file of the receiver's (a name learnt from a bundle he
    sent): every check was skipped and his file was written over."""
    run_sweep(emulator, ben.data_dir, name="bens-own", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    victim = Path(ben.experiment("bens-own").images["path"].iloc[0])
    before = victim.read_bytes()
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    unpacked = tmp_path / "un"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(unpacked)
    rel = f"images/{victim.parent.name}/{victim.name}"
    with sqlite3.connect(unpacked / "qwenlab.db") as db:
        db.execute("UPDATE images SET path = ?, sha256 = NULL WHERE id = (SELECT min(id) FROM images)", [rel])
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            dst.writestr(item.filename, (unpacked / "qwenlab.db").read_bytes() if item.filename == "qwenlab.db" else src.read(item))
        dst.writestr(rel, b"GARBAGE" * 100)
    with pytest.raises(BundleError, match="without its SHA-256"):
        ben.import_bundle(evil)
    assert victim.read_bytes() == before and ben.log.experiment_names() == ["bens-own"]


def test_a_name_in_use_is_refused_with_the_fix(ana: Lab, ben: Lab, emulator, tmp_path: Path) -> None:
    path = ana.bundle("posters", tmp_path / "p.zip").path
    run_sweep(emulator, ben.data_dir, name="posters", repeats=1, fail_one=False)  # Ben's own, other work
    before = ben.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"]
    with pytest.raises(ExperimentConflictError, match=r"posters.*--as posters-2"):
        ben.import_bundle(path)
    assert ben.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"] == before
    # as_name taken too: the error names as_name (not "name:", a parameter import_bundle has not) and a free name
    with pytest.raises(ExperimentConflictError, match=r"^as_name: this log has an experiment named 'posters' already.*"
                                                      r"as_name='posters-2'"):
        ben.import_bundle(path, as_name="posters")
    assert ben.import_bundle(path, as_name="posters-from-ana").imported == {"posters": "posters-from-ana"}
    assert ben.experiment("posters-from-ana").cost == ana.experiment("posters").cost
    with pytest.raises(ValueError, match="as_name.*2 experiments"):
        ben.import_bundle(ana.bundle(["posters", "noctis"], tmp_path / "two.zip").path, as_name="x")


def test_a_damaged_bundle_is_refused_before_anything_is_written(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("images/"):
                data = data[:-10] + b"0123456789"  # one image's bytes changed
            dst.writestr(item, data)
    with pytest.raises(BundleError, match="SHA-256"):
        ben.import_bundle(bad)
    assert ben.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"] == 0
    assert not list((ben.data_dir / "images").rglob("*.*"))
    not_a_bundle = tmp_path / "x.zip"
    not_a_bundle.write_text("hello")
    with pytest.raises(BundleError, match="not a qwenlab bundle"):
        ben.import_bundle(not_a_bundle)


def _flipped(good: Path, out: Path, member: str) -> Path:
    """`good` with one byte of `member`'s stored data flipped: the zip opens, the member's CRC fails."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        name = next(n for n in zf.namelist() if n.startswith(member))
        info = zf.getinfo(name)
    data[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def test_a_bundle_with_a_damaged_file_or_log_is_named_as_the_damage(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """One flipped byte in an image gave a Python traceback (zipfile.BadZipFile); a damaged log
    inside the bundle was reported as this log's ("move that file away"). Both are the bundle's,
    said so, before anything is written."""
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    for member, said in (("images/", "cannot be read (BadZipFile"), ("qwenlab.db", "the bundle is damaged")):
        bad = _flipped(good, tmp_path / f"bad-{member.strip('/').replace('.', '-')}.zip", member)
        with pytest.raises(BundleError, match="the bundle is damaged") as info:
            ben.import_bundle(bad)
        assert said in str(info.value) and str(ben.log.path) not in str(info.value)
        assert ben.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"] == 0 and ben.log.integrity_check() == "ok"
    half = tmp_path / "half-db.zip"  # the log inside cut short: a zip member whose content is no sound database
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(half, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[: len(data) // 2] if item.filename == "qwenlab.db" else data)
    with pytest.raises(BundleError, match=r"half-db.zip: its qwenlab.db"):
        ben.import_bundle(half)
    assert not list((ben.data_dir / "images").rglob("*.*"))


@pytest.mark.parametrize("path", ["x/../qwenlab.db", "images/../../outside.jpg", "/etc/cron.d/evil", "images/ab/cd.jpg"])
def test_a_bundle_naming_a_file_outside_the_image_store_is_refused_and_writes_nothing(
        ana: Lab, ben: Lab, tmp_path: Path, path: str) -> None:
    """A bundle comes from someone else: one whose image row named `x/../qwenlab.db` (its zip
    holding `images/../qwenlab.db`, hashed to match) once had that file written over the
    receiver's log, and the import said it went well."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "p.zip").path)  # the receiver's own work, kept
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    payload = b"not a database any more\n" * 10
    sha = hashlib.sha256(payload).hexdigest()
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(unpacked)
    with sqlite3.connect(unpacked / "qwenlab.db") as db:
        db.execute("UPDATE images SET path = ?, sha256 = ? WHERE id = (SELECT min(id) FROM images)", [path, sha])
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            dst.writestr(item.filename, (unpacked / "qwenlab.db").read_bytes() if item.filename == "qwenlab.db" else src.read(item))
        dst.writestr("images/../qwenlab.db", payload)
        dst.writestr(path.lstrip("/"), payload)
    files = sorted((ben.data_dir / "images").rglob("*.*"))
    with pytest.raises(BundleError, match="not a place in an image store"):
        ben.import_bundle(evil)
    assert (ben.data_dir / "qwenlab.db").read_bytes()[:16] == b"SQLite format 3\x00"
    assert ben.log.integrity_check() == "ok" and ben.log.experiment_names() == ["posters"]
    assert sorted((ben.data_dir / "images").rglob("*.*")) == files and not (tmp_path / "outside.jpg").exists()


def test_an_imported_experiment_with_cells_left_is_not_run_here(ana: Lab, ben: Lab, emulator, tmp_path: Path) -> None:
    """Its cells not done carry the sender's taskUUIDs (a server that saw them answers with the
    sender's results, booked as paid here) and what a run spent here would count as spent in
    another log: the run is refused before anything is sent, naming the fix; a finished one
    reruns to nothing."""
    ben.import_bundle(ana.bundle(["posters", "noctis"], tmp_path / "both.zip").path)  # posters: one cell failed
    paid = len(emulator.ledger)
    client = RunwareClient("sk-grid-test", emulator.url, images_dir=ben.data_dir / "images")
    here = Lab(ben.data_dir, client=client)
    try:
        with pytest.raises(ExperimentConflictError, match="imported from both.zip") as info:
            here.run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False], "size": SIZES}, repeats=2),
                     name="posters", progress=False)
        assert "1 of its cells is not done" in str(info.value) and "--name NEW" in str(info.value)
        finished = here.run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False]}, repeats=1), name="noctis",
                            progress=False)
        assert finished.counts()["done"] == 2
        # a finished copy extended with new cells: they would be paid here and booked as spent in the
        # other log (the run sent 16 cells and `costs --no-imported` said $0); a budget too small to
        # send any left the copy changed (its budget, pending rows) and stuck
        before = ben.log.tasks(ben.experiment("noctis").id)
        for budget in (10.0, 0.01):
            with pytest.raises(ExperimentConflictError, match="2 cells of this sweep are not in it") as info:
                here.run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False]}, repeats=2), name="noctis",
                         extend=True, budget_usd=budget, progress=False)
            assert "nothing of it is sent from here" in str(info.value) and "--name NEW" in str(info.value)
        # a sweep smaller than the copy, with one new cell: "cells left" came out at 0, and it was sent
        with pytest.raises(ExperimentConflictError, match="a cell of this sweep is not in it"):
            here.run(Sweep(prompt=PROMPT + " Now in gold.", axes={"promptExtend": [True]}), name="noctis", extend=True,
                     progress=False)
        assert ben.log.tasks(ben.experiment("noctis").id) == before
        assert ben.experiment("noctis").budget_usd is None
    finally:
        client.close()
    assert len(emulator.ledger) == paid  # nothing sent, nothing paid
    assert here.experiment("posters").counts()["failed"] == 1  # as imported


def test_an_experiment_bundled_while_running_arrives_interrupted(ana: Lab, ben: Lab, tmp_path: Path) -> None:
    """Bundled mid-run (or from a log whose run was killed): no run of it goes on in the receiving
    log, where 'running' had rename refuse ("wait for the run") and delete need --force."""
    with holding_run(ana.log.path, ana.experiment("noctis").id):  # a run alive in ana's log
        with ana.log.transaction() as db:
            db.execute("UPDATE experiments SET status = 'running' WHERE name = 'noctis'")
        path = ana.bundle("noctis", tmp_path / "n.zip").path
    ben.import_bundle(path)
    exp = ben.experiment("noctis")
    assert exp.status == "interrupted" and "had not finished where it was run" in exp.stop_reason
    ben.experiment("noctis").rename("noctis-from-ana")
    assert ben.log.experiment_names() == ["noctis-from-ana"]


def test_a_bundle_of_cells_retried_since_it_was_shared_updates_the_copy_counting_each_attempt_once(ana: Lab, ben: Lab, emulator,
                                                                                    tmp_path: Path) -> None:
    """Every cell of Ana's experiment failed, and was retried under a new taskUUID (the failed one
    kept in its history). Her new bundle then shared no current taskUUID with Ben's copy, so it
    was taken for other work, and the advised --as imported a second copy: whatever the failed
    attempts were charged counted twice in Ben's costs. It then was refused; it now updates the
    copy."""
    emulator.script(["task_error"] * 4)  # each cell meets it twice: its first try and its retry
    failed = run_sweep(emulator, ana.data_dir, name="lone", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    assert failed.counts()["failed"] == 2
    ben.import_bundle(ana.bundle("lone", tmp_path / "first.zip").path)
    retried = run_sweep(emulator, ana.data_dir, name="lone", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    assert retried.counts()["done"] == 2 and all(t["history_json"] for t in retried.log.tasks(retried.id))
    second = ben.import_bundle(ana.bundle("lone", tmp_path / "second.zip").path)
    assert second.updated == {"lone": "lone"}, second  # the copy follows Ana's, not a second one beside it
    assert _rows(ben, "lone", "tasks", MONEY) == _rows(ana, "lone", "tasks", MONEY)
    assert Costs(ben.log).totals() == Costs(ana.log).filter(experiments=["lone"]).totals()  # each attempt once

def test_a_bundle_whose_log_points_at_nothing_is_refused_before_a_file_is_written(ana: Lab, ben: Lab,
                                                                                  tmp_path: Path) -> None:
    """A bundle's log with a task of no experiment in it (crafted, or half-copied) failed the copy
    with a KeyError after the image files were written; it is refused first, naming the damage."""
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    db = tmp_path / "qwenlab.db"
    with zipfile.ZipFile(good) as zf:
        db.write_bytes(zf.read("qwenlab.db"))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tasks SET experiment_id = 999 WHERE id = (SELECT min(id) FROM tasks)")
    bad = tmp_path / "dangling.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, db.read_bytes() if item.filename == "qwenlab.db" else src.read(item))
    with pytest.raises(BundleError, match="1 row points at nothing"):
        ben.import_bundle(bad)
    assert not list((ben.data_dir / "images").rglob("*.*")) and ben.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"] == 0


def test_a_bundle_of_a_running_experiment_is_one_moment_of_its_log(emulator, data_dir: Path, tmp_path: Path) -> None:
    """A bundle made while the experiment runs in another process (`qwenlab bundle` beside a
    kernel): its tasks were read, then its images, each in a moment of its own, and a cell the
    run finished in between came in the bundle as 'sent' (in doubt, its cost an estimate) with
    the image of its finish. Now every row is read in one snapshot of the log."""
    from qwenlab.store.log import Log

    run_sweep(emulator, data_dir, name="live", repeats=1, fail_one=False)
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    exp = lab.experiment("live")
    last = max(int(t["id"]) for t in lab.log.tasks(exp.id))
    image = lab.log.rows("SELECT * FROM images WHERE task_id = ?", [last])[0]
    with lab.log.transaction() as db:  # the last cell is on the wire: 'sent', no image yet
        db.execute("DELETE FROM images WHERE task_id = ?", [last])
        db.execute("UPDATE tasks SET status = 'sent', cost_usd = NULL WHERE id = ?", [last])
    real = lab.log.rows

    def the_run_finishes_it_meanwhile(sql: str, params: object = ()) -> list[dict]:
        out = real(sql, params)
        if sql.startswith("SELECT * FROM tasks WHERE experiment_id IN"):
            with Log(data_dir / "qwenlab.db") as run:  # the run, in another process
                run.complete_task(last, {"status": "done", "cost_usd": 0.075}, [
                    {k: v for k, v in image.items() if k not in ("id", "task_id", "created_at")}])
        return out

    lab.log.rows = the_run_finishes_it_meanwhile  # type: ignore[method-assign]
    path = lab.bundle("live", tmp_path / "live.zip").path
    with zipfile.ZipFile(path) as zf:
        (tmp_path / "b.db").write_bytes(zf.read("qwenlab.db"))
    packed = sqlite3.connect(tmp_path / "b.db")
    odd = packed.execute("SELECT t.status, count(i.id) FROM tasks t JOIN images i ON i.task_id = t.id "
                         "WHERE t.status != 'done' GROUP BY 1").fetchall()
    sent = packed.execute("SELECT count(*) FROM tasks WHERE status = 'sent'").fetchone()[0]
    packed.close()
    assert odd == [], f"images of tasks not done in the bundle: {odd}"
    assert sent == 1  # the moment it was bundled: that cell on the wire, no image of it yet


@pytest.mark.parametrize("member", ["qwenlab.db", "images/", "manifest.json"])
def test_a_member_that_inflates_far_beyond_its_size_is_refused_before_it_is_read(
        ana: Lab, ben: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: str) -> None:
    """A 3 MB bundle whose log inflated to 2 GB of zeros was read whole into memory (4 GB), written
    out and imported; a larger one would have exhausted the machine. A member that declares such
    a size is refused, naming it, before a byte of it is inflated, and nothing is written."""
    from qwenlab.store import bundle_zip
    monkeypatch.setattr(bundle_zip, "MAX_PLAIN_BYTES", 2**20)  # the same rule, at a size a test can write
    monkeypatch.setitem(bundle_zip.MAX_MEMBER_BYTES, "images/", 2**20)
    monkeypatch.setitem(bundle_zip.MAX_MEMBER_BYTES, "manifest.json", 2**20)
    ben.import_bundle(ana.bundle("posters", tmp_path / "p.zip").path)  # the receiver's own work, kept
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        target = next(n for n in src.namelist() if n.startswith(member))
        for name in src.namelist():
            data = src.read(name)
            if name == target:  # its own bytes, then zeros: 8 MB that deflate to a few KB
                data += (b" " if name == "manifest.json" else b"\0") * (8 * 2**20)
            dst.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    files = sorted((ben.data_dir / "images").rglob("*.*"))
    read = []
    real_read = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, name, pwd=None: read.append(name) or real_read(self, name, pwd))
    with pytest.raises(BundleError, match=f"{target}.* is refused: .*nothing was imported"):
        ben.import_bundle(bomb)
    assert target not in read
    assert ben.log.experiment_names() == ["posters"] and ben.log.integrity_check() == "ok"
    assert sorted((ben.data_dir / "images").rglob("*.*")) == files


@pytest.mark.parametrize("version", ["abc", [1], 1.5, True])
def test_a_manifest_whose_format_version_is_no_whole_number_is_named_as_not_a_bundle(
        ana: Lab, ben: Lab, tmp_path: Path, version: object) -> None:
    """format_version "abc" was refused with "invalid literal for int() with base 10: 'abc'",
    naming neither the bundle nor its manifest; a list raised a TypeError."""
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(odd, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "manifest.json":
                data = json.dumps({**json.loads(data), "format_version": version}).encode()
            dst.writestr(name, data)
    with pytest.raises(BundleError, match=r"odd.zip is not a qwenlab bundle \(its manifest.json gives format_version"):
        ben.import_bundle(odd)
    assert ben.log.experiment_names() == []


def test_a_bundle_of_rows_that_hold_the_api_key_is_refused_naming_where(ana: Lab, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A log written before keys were refused in prompts (or edited by hand) kept the key in a
    prompt: the bundle, made to be handed on, carried it to whoever opened it."""
    key = "rw-live-Ex9Pq2Lm7Zt4Kv8W"
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    exp = ana.experiment("posters")
    with ana.log.transaction() as db:
        task_uuid = db.execute("SELECT task_uuid FROM tasks WHERE experiment_id = ? ORDER BY id LIMIT 1", [exp.id]).fetchone()[0]
        db.execute("UPDATE tasks SET prompt = ? WHERE task_uuid = ?", [f"a poster, token {key}", task_uuid])
    out = tmp_path / "posters.zip"
    with pytest.raises(BundleError) as info:
        ana.bundle("posters", out)
    message = str(info.value)
    assert f"hold the API key (tasks.prompt of task {task_uuid}" in message and "revoke the key" in message
    assert key not in message and not out.exists() and not list(tmp_path.glob(".*partial"))
    assert ana.bundle("noctis", tmp_path / "noctis.zip").tasks == 2  # the other experiment's rows hold none


def _newer(good: Path, out: Path, tmp_path: Path, what: str) -> Path:
    """`good` as a newer qwenlab would write it: a newer bundle format, or a log with a migration
    (a column and a table holding data) this qwenlab does not know."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "manifest.json" and what == "format":
                data = json.dumps({**json.loads(data), "format_version": 2}).encode()
            if name == "qwenlab.db" and what == "schema":
                db_file = tmp_path / "newer.db"
                db_file.write_bytes(data)
                with sqlite3.connect(db_file) as conn:
                    conn.execute("INSERT INTO _qwenlab_migrations (name, applied_at) VALUES ('m099_from_the_future', ?)",
                                 [utc_now()])
                    conn.execute("ALTER TABLE tasks ADD COLUMN future TEXT")
                    conn.execute("UPDATE tasks SET future = 'kept by the newer qwenlab'")
                    conn.execute("CREATE TABLE futures (id INTEGER PRIMARY KEY, experiment_id INTEGER REFERENCES experiments(id))")
                    conn.execute("INSERT INTO futures (experiment_id) SELECT id FROM experiments")
                conn.close()
                data = db_file.read_bytes()
            dst.writestr(name, data)
    return out


@pytest.mark.parametrize("what", ["format", "schema"])
def test_a_bundle_from_a_newer_qwenlab_is_refused_before_anything_is_written(ana: Lab, ben: Lab, tmp_path: Path,
                                                                             what: str) -> None:
    """A bundle whose log a newer qwenlab wrote (a migration this one does not know) was imported,
    its rows copied into this log's columns: what the newer one added (a column, a table) was
    dropped without a word, under a warning that told the user to update before changing the
    bundle's log. Refused like a newer format, before a row or file is written, with the fix."""
    ben.import_bundle(ana.bundle("posters", tmp_path / "p.zip").path)  # the receiver's own work, kept
    newer = _newer(ana.bundle("noctis", tmp_path / "n.zip").path, tmp_path / "newer.zip", tmp_path, what)
    files = sorted((ben.data_dir / "images").rglob("*.*"))
    with pytest.raises(BundleError, match=r"newer.zip was written by a newer qwenlab.*nothing was imported\. Update this "
                                          r"qwenlab \(the checkout or package it runs from\) and import it again"):
        ben.import_bundle(newer)
    assert ben.log.experiment_names() == ["posters"] and ben.log.integrity_check() == "ok"
    assert sorted((ben.data_dir / "images").rglob("*.*")) == files


def test_a_bundle_missing_an_image_says_nothing_was_imported_and_to_ask_for_it_again(ana: Lab, ben: Lab,
                                                                                      tmp_path: Path) -> None:
    """An image of the bundle's log absent from its zip was refused with "the bundle is damaged"
    and no more: neither whether anything had been imported nor what to do. Both are said, and
    nothing is written."""
    good = ana.bundle("noctis", tmp_path / "n.zip").path
    holed = tmp_path / "holed.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(holed, "w") as dst:
        gone = next(n for n in src.namelist() if n.startswith("images/"))
        for name in src.namelist():
            if name != gone:
                dst.writestr(name, src.read(name))
    with pytest.raises(BundleError) as info:
        ben.import_bundle(holed)
    message = str(info.value)
    assert message.startswith(f"{holed}: {gone} is listed in the bundle's log but not in the zip"), message
    assert "nothing was imported: ask for the bundle again" in message
    assert ben.log.experiment_names() == [] and not list((ben.data_dir / "images").rglob("*.*"))


def test_a_key_in_a_note_or_tag_refuses_the_bundle_with_the_fix_that_takes_it_out(ana: Lab, tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A note or tag an older log kept with the key in it refused the bundle with one fix: "Delete
    that experiment (or its tasks) from the log", losing its images and ratings for a line of
    text. The refusal names the note's and the tag's own fixes, and following them, the bundle is
    written, without the key."""
    key = "rw-live-Ex9Pq2Lm7Zt4Kv8W"
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    exp = ana.experiment("posters")
    with ana.log.transaction() as db:  # as an older qwenlab kept them
        db.execute("UPDATE experiments SET notes = ? WHERE id = ?", [f"key {key}", exp.id])
        db.execute("INSERT INTO experiment_tags (experiment_id, tag) VALUES (?, ?)", [exp.id, key])
    out = tmp_path / "posters.zip"
    with pytest.raises(BundleError) as info:
        ana.bundle("posters", out)
    message = str(info.value)
    assert "hold the API key (experiments.notes, and 1 more place)" in message, message
    assert "`qwenlab note posters --clear`" in message and "`qwenlab untag posters TAG`" in message, message
    assert "delete the experiment" not in message and key not in message and not out.exists()
    exp.note(None)
    exp.untag(key)
    ana.bundle("posters", out)
    with zipfile.ZipFile(out) as zf:
        assert all(key.encode() not in zf.read(name) for name in zf.namelist())
