"""Readings and scores in the log: stored with boxes and confidences, read once per engine,
recomputed without OCR when the expected text changes, failures retried."""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.store.log import Log
from qwenlab.store.migrations.runner import MIGRATIONS
from qwenlab.typography.reading import Reading, TextLine
from qwenlab.typography.scores import SCORE_COLUMNS, score_experiment, text_scores
from qwenlab.typography.store import (
    ImageToScore,
    score_images,
    stored_reading,
    stored_score,
)

BOX = ((10.0, 10.0), (200.0, 10.0), (200.0, 60.0), (10.0, 60.0))


class FakeEngine:
    """Reads 'LUMIERE' (or 'LUMIERF' in files it was told are misspelled); counts its reads."""

    version = "fake 1"

    def __init__(self, name: str = "fake", wrong: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:
        self.name, self.wrong, self.broken, self.reads = name, set(wrong), set(broken), []

    def read(self, image):
        self.reads.append(str(image))
        if str(image) in self.broken:
            raise OSError("cannot identify image file")
        text = "LUMIERF" if str(image) in self.wrong else "LUMIERE"
        return Reading(self.name, (TextLine(text, 0.93, BOX), TextLine("seed 3", 0.8, None)), self.version, 0.01, 256, 384)


@pytest.fixture
def exp(emulator, data_dir: Path):
    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    lab = Lab(data_dir, client=client)
    sweep = Sweep(prompt="A skincare poster for 'LUMIERE'", size="256x384", axes={"promptExtend": [True, False]}, repeats=2)
    yield lab.run(sweep, name="lumiere", progress=False)
    client.close()


def test_the_migration_is_appended_last_and_creates_both_tables():
    names = [m.__name__ for m in MIGRATIONS]
    assert names.index("m006_text_readings_and_scores") > names.index("m005_cost_indexes")  # appended, never inserted
    log = Log(":memory:")
    assert {"text_readings", "text_scores"} <= set(log.db.table_names())
    assert log.integrity_check() == "ok"


def test_scores_and_readings_are_stored_with_boxes_and_confidences(exp):
    paths = list(exp.images["path"])
    engine = FakeEngine(wrong={paths[1]})
    df = score_experiment(exp, engine, progress=False)
    assert len(df) == 4 and list(df.columns[-len(SCORE_COLUMNS):]) == SCORE_COLUMNS
    assert {"promptExtend", "repeat", "seed", "cost_usd", "path"} <= set(df.columns)
    assert df["correct"].tolist() == [True, False, True, True]
    bad = df.iloc[1]
    assert bad["missing"] == ["LUMIERE"] and bad["read_instead"] == {"LUMIERE": "LUMIERF"}
    assert bad["word_accuracy"] == 0.0 and bad["ned"] == pytest.approx(1 - 1 / 7)
    assert bad["expected"] == ["LUMIERE"] and "LUMIERF" in bad["read_text"]
    assert df["cost_usd"].notna().all()
    reading = stored_reading(exp.log, int(bad["image_id"]), "fake")
    assert reading.lines[0] == TextLine("LUMIERF", 0.93, BOX) and reading.lines[1].box is None
    assert reading.version == "fake 1" and (reading.width, reading.height) == (256, 384)
    assert stored_score(exp.log, int(bad["image_id"])).missing == ["LUMIERE"]


def test_images_already_read_are_not_read_again(exp):
    engine = FakeEngine()
    first = score_experiment(exp, engine, progress=False)
    assert len(engine.reads) == 4 and first.attrs["run"].read == 4
    again = score_experiment(exp, engine, progress=False)
    assert len(engine.reads) == 4 and again.attrs["run"].reused == 4 and again.attrs["run"].read == 0
    assert again.drop(columns=[]).equals(first)
    score_experiment(exp, engine, force=True, progress=False)
    assert len(engine.reads) == 8


class SettingsEngine(FakeEngine):
    """A FakeEngine with settings, as Tesseract has its lang: its version names them."""

    def __init__(self, lang: str) -> None:
        super().__init__("tesseract")
        self.settings = f"lang {lang}, psm 11, min_confidence 30"
        self.version = f"tesseract 5.3.4 ({self.settings})"


def test_an_engine_with_other_settings_reads_again_what_it_read_before(exp):
    """Tesseract's readings were keyed by its name alone: scored again with the packs a note
    advised (--lang eng+chi_sim after eng+jpn), every image was 'already read' and kept the
    reading, and the score, of the packs before."""
    jpn = SettingsEngine("eng+jpn")
    score_experiment(exp, jpn, progress=False)
    again = score_experiment(exp, SettingsEngine("eng+jpn"), progress=False)
    assert again.attrs["run"].reused == 4 and again.attrs["run"].read == 0      # the same settings: not read again
    chi = SettingsEngine("eng+chi_sim")
    df = score_experiment(exp, chi, progress=False)
    assert df.attrs["run"].read == 4 and len(chi.reads) == 4
    versions = {r["engine_version"] for r in exp.log.rows("SELECT engine_version FROM text_readings")}
    assert versions == {"tesseract 5.3.4 (lang eng+chi_sim, psm 11, min_confidence 30)"}
    assert score_experiment(exp, FakeEngine("tesseract"), progress=False).attrs["run"].read == 0  # no settings: reused


def test_rapidocr_with_a_detect_side_of_its_own_reads_again_and_says_so(exp, rapidocr):
    """A user who asks for fine print to be found at full size (README: `detect_side=(576, 2048)`)
    gets every image read that way, not the readings the default made; the default then keeps
    those readings (they found at least as much)."""
    from qwenlab.typography.engines import DETECT_SIDES, RapidOCREngine

    assert rapidocr.settings is None and "(" not in rapidocr.version
    assert RapidOCREngine(detect_side=list(DETECT_SIDES)).settings is None
    assert RapidOCREngine(detect_side=None).version.endswith("(detect_side rapidocr)")
    score_experiment(exp, rapidocr, progress=False)
    full = RapidOCREngine(workers=1, detect_side=(576, 2048))
    assert score_experiment(exp, full, progress=False).attrs["run"].read == 4
    versions = {r["engine_version"] for r in exp.log.rows("SELECT engine_version FROM text_readings")}
    assert len(versions) == 1 and versions.pop().endswith("(detect_side 576-2048)")
    assert score_experiment(exp, full, progress=False).attrs["run"].read == 0
    assert score_experiment(exp, rapidocr, progress=False).attrs["run"].read == 0


def test_tesseract_s_version_names_the_settings_its_readings_are_made_with(tesseract):
    from qwenlab.typography.engines import TesseractEngine

    engine = TesseractEngine(lang="eng", psm=6)
    assert engine.version.startswith("tesseract ") and engine.version.endswith("(lang eng, psm 6, min_confidence 30)")


def test_an_engine_named_in_another_case_is_found_and_a_typo_is_named(exp):
    """text_scores(engine="RapidOCR"), as get_engine takes it, returned an empty frame, as did a
    misspelled name: read as "nothing was scored"."""
    score_experiment(exp, FakeEngine("fake"), progress=False)
    assert len(text_scores(exp, "FAKE")) == 4
    with pytest.raises(ValueError, match=r"engine: no text scores by 'rapidocr' here; scored by 'fake'"):
        text_scores(exp, "rapidocr")


def test_another_engine_reads_beside_the_first(exp):
    score_experiment(exp, FakeEngine("fake"), progress=False)
    other = FakeEngine("other", wrong=set(exp.images["path"]))
    score_experiment(exp, other, progress=False)
    assert len(other.reads) == 4
    assert text_scores(exp, "fake")["correct"].all() and not text_scores(exp, "other")["correct"].any()
    n = exp.log.rows("SELECT count(*) AS n FROM text_readings")[0]["n"]
    assert n == 8


def test_changed_expected_text_is_rescored_from_the_stored_reading(exp):
    engine = FakeEngine()
    score_experiment(exp, engine, progress=False)
    df = score_experiment(exp, engine, expected=["LUMIERE", "Radiance Serum"], progress=False)
    assert len(engine.reads) == 4                                 # no OCR: the stored reading was scored again
    assert df.attrs["run"].scored == 4
    assert (df["word_accuracy"] == 1 / 3).all() and (df["missing"].map(tuple) == ("Radiance Serum",)).all()
    per_image = score_experiment(exp, engine, expected=lambda row: ["LUMIERE"] if row["promptExtend"] else [],
                                 progress=False)
    assert len(per_image) == 2 and per_image["promptExtend"].all()   # images with nothing expected: no score


def test_an_unreadable_image_is_recorded_and_retried(exp):
    paths = list(exp.images["path"])
    engine = FakeEngine(broken={paths[2]})
    with pytest.warns(UserWarning, match="1 image could not be read"):
        df = score_experiment(exp, engine, progress=False)
    run = df.attrs["run"]
    assert (run.read, run.failed, len(df)) == (3, 1, 3) and "cannot identify" in run.errors[0]
    row = exp.log.rows("SELECT error FROM text_readings WHERE error IS NOT NULL")
    assert len(row) == 1 and "OSError" in row[0]["error"]
    engine.broken.clear()
    df = score_experiment(exp, engine, progress=False)
    assert df.attrs["run"].read == 1 and len(df) == 4 and engine.reads.count(paths[2]) == 2


def test_a_deleted_file_is_said_gone_with_the_way_to_fetch_it_not_a_retry(exp, emulator, data_dir):
    """A file deleted before its first scoring said "FileNotFoundError: [Errno 2] No such file or
    directory" and "run again to retry", which read the same missing file again; a run of the
    experiment is what fetches it (free, while the server keeps it)."""
    path = Path(exp.images["path"][1])
    path.unlink()
    engine = FakeEngine()
    with pytest.warns(UserWarning, match="1 image could not be read") as said:
        df = score_experiment(exp, engine, progress=False)
    note = str(said[0].message)
    assert "does not exist: deleted, or the data folder was moved" in note and "Errno" not in note
    assert "run the experiment again to fetch it anew" in note and "retry" not in note
    assert len(df) == 3 and str(path) not in engine.reads
    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    Lab(data_dir, client=client).run(Sweep(prompt="A skincare poster for 'LUMIERE'", size="256x384",
                                           axes={"promptExtend": [True, False]}, repeats=2), name="lumiere", progress=False)
    client.close()
    assert path.exists() and len(score_experiment(exp, engine, progress=False)) == 4  # fetched, then read
    engine.broken.add(str(path))  # the engine's fault, not the file's: scoring again is the fix
    with pytest.warns(UserWarning, match="run again to retry. First: image .*: OSError: cannot identify"):
        score_experiment(exp, engine, progress=False, force=True)


def test_a_forced_read_that_fails_leaves_no_score_of_the_reading_before(exp):
    """force=True over a file damaged since: the reading became the error, but the old score
    stayed, so text_scores(), the badges and cost per correct image counted an image that could
    no longer be read as read right."""
    paths = list(exp.images["path"])
    engine = FakeEngine()
    assert len(score_experiment(exp, engine, progress=False)) == 4
    engine.broken.add(paths[1])
    with pytest.warns(UserWarning, match="could not be read"):
        df = score_experiment(exp, engine, progress=False, force=True)
    assert df.attrs["run"].failed == 1 and len(df) == 3 and len(text_scores(exp, engine.name)) == 3
    engine.broken.clear()
    assert len(score_experiment(exp, engine, progress=False)) == 4  # read again at the next pass


def test_a_file_damaged_in_place_is_not_scored_as_the_image_paid_for(exp):
    """A file whose bytes are no longer those logged (replaced in place by another image, here
    one of the same experiment, which decodes fine) was read and scored as if it were its image:
    its score, badge and cost per correct image spoke of another picture."""
    paths = list(exp.images["path"])
    original = Path(paths[1]).read_bytes()
    Path(paths[1]).write_bytes(Path(paths[2]).read_bytes())
    engine = FakeEngine()
    with pytest.warns(UserWarning, match="1 image could not be read"):
        df = score_experiment(exp, engine, progress=False)
    run = df.attrs["run"]
    assert paths[1] not in engine.reads and (run.read, run.failed) == (3, 1)
    assert "damaged, not the bytes logged" in run.errors[0] and "qwenlab verify --set-aside" in run.errors[0]
    assert len(df) == 3 and int(exp.images["image_id"][1]) not in set(df["image_id"])
    Path(paths[1]).write_bytes(original)  # fetched again (verify --set-aside, then a run): read at the next pass
    assert len(score_experiment(exp, engine, progress=False)) == 4 and engine.reads.count(paths[1]) == 1


def test_an_overlay_is_not_drawn_over_a_file_damaged_since_it_was_read(exp):
    from qwenlab.errors import ImageError
    from qwenlab.typography.draw import reading_overlay

    score_experiment(exp, FakeEngine(), progress=False)
    path, image_id = exp.images["path"][0], int(exp.images["image_id"][0])
    assert reading_overlay(exp, image_id).size == (256, 384)
    Path(path).write_bytes(Path(exp.images["path"][1]).read_bytes())
    with pytest.raises(ImageError, match="damaged, not the bytes logged"):
        reading_overlay(exp, image_id)   # its boxes drawn over another picture


def test_a_comparison_scored_with_an_engine_object_gives_that_engine_s_scores(exp, emulator, data_dir):
    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    Lab(data_dir, client=client).run(Sweep(prompt="A poster for 'NOCTIS'", size="256x384", repeats=2), name="noctis",
                                     progress=False)
    client.close()
    cmp = Lab(data_dir).compare("lumiere", "noctis")
    assert len(cmp.score_text(FakeEngine("fake"), progress=False)) == 6
    # another engine, over the LUMIERE posters only: fewer scores than fake has
    other = FakeEngine("other", wrong=set(exp.images["path"]))
    df = cmp.score_text(other, expected=lambda row: ["LUMIERE"] if "LUMIERE" in row["prompt"] else [], progress=False)
    assert set(df["engine"]) == {"other"} and len(df) == 4 and not df["correct"].any()


def test_score_images_works_on_any_log_rows(exp):
    img = exp.log.images(exp.id)[0]
    path = str(exp.data_dir / img["path"])
    run = score_images(exp.log, [ImageToScore(img["id"], exp.id, path, ["LUMIERE"]),
                                 ImageToScore(img["id"] + 1, exp.id, None, [])], FakeEngine(), progress=False)
    assert (run.read, run.skipped, run.scored) == (1, 1, 1)
    assert "1 read" in str(run)
    stored = exp.log.rows("SELECT strings_json, expected_json, correct FROM text_scores")
    assert json.loads(stored[0]["expected_json"]) == ["LUMIERE"] and stored[0]["correct"] == 1
    assert json.loads(stored[0]["strings_json"])[0]["word_hits"] == [True]


def test_experiment_score_text_and_the_lab_by_name(exp, monkeypatch, data_dir):
    engine = FakeEngine()
    df = exp.score_text(engine, progress=False)
    assert len(df) == 4 and df["correct"].all()
    assert len(text_scores("lumiere")) == 4      # by name, from the default data folder


class SlowParallelEngine(FakeEngine):
    """A FakeEngine that says it reads `workers` images at once, and records how many it did."""

    def __init__(self, workers: int, pause: float = 0.05) -> None:
        super().__init__(wrong=set())
        self.workers, self.now, self.most, self.pause = workers, 0, 0, pause
        import threading

        self._lock = threading.Lock()

    def read(self, image):
        import time

        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.pause)
        try:
            return super().read(image)
        finally:
            with self._lock:
                self.now -= 1


def test_an_engine_with_workers_reads_that_many_images_at_once_and_every_one_is_stored(exp):
    engine = SlowParallelEngine(workers=3)
    df = score_experiment(exp, engine, progress=False)
    assert engine.most == 3  # four images, three readers: three at once
    assert df.attrs["run"].read == 4 and df["correct"].tolist() == [True, True, True, True]
    assert sorted(engine.reads) == sorted(exp.images["path"])
    assert score_experiment(exp, engine, progress=False).attrs["run"].read == 0  # all stored: none read again


def test_a_first_pass_shows_how_long_is_left(exp, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar is drawn
    # 0.8 s an image: the first estimate (at 2/4, the first image being the warm-up) is 1.6 s
    # left, clear of the whole second that 0.5 s an image came to and that a busy machine's
    # timing put on either side of "00:01"
    engine = SlowParallelEngine(workers=1, pause=0.8)
    score_experiment(exp, engine)  # progress on, as in a notebook or terminal
    err = capsys.readouterr().err
    # while images are still being read the bar says how many, how fast and how long is left
    # ("2/4 [00:01<00:01, 1.25image/s]"), not only the time so far
    etas = re.findall(r"reading text: .*? [123]/4 \[\d\d:\d\d<(\d\d:\d\d), +[\d.]+(?:s/)?image", err)
    assert etas and etas[0] != "00:00", err
    assert "4/4" in err and "<?" not in err.split("1/4")[1]


def test_a_pass_s_time_left_leaves_out_the_engine_warming_up(exp, monkeypatch):
    """RapidOCR's first image took three times the next ones (onnxruntime warming up) and the bar
    extrapolated from it: 42 s shown for a 16 s pass. Now it says it is estimating until a warm
    image is read, then goes by the warm ones. The clock is the engine's: no test waits."""
    from qwenlab import progress
    from qwenlab.typography import store

    turn = threading.Semaphore(1)  # an image is read once the bar has counted the one before

    class WarmingEngine(FakeEngine):
        clock = 0.0

        def read(self, image):
            turn.acquire()
            self.clock += 30.0 if not self.reads else 2.0  # a slow first image, then 2 s each
            return super().read(image)

    engine, shown = WarmingEngine(), []

    class Watched(progress.Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, clock=lambda: engine.clock, **kwargs)

        def update(self, n=1):
            super().update(n)
            shown.append(self.text())
            turn.release()

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar is drawn
    monkeypatch.setattr(store, "Progress", Watched)
    score_experiment(exp, engine)  # four images, one reader
    assert "1/4" in shown[0] and "estimating time left" in shown[0] and "<" not in shown[0]
    assert "2/4" in shown[1] and "<00:04," in shown[1]  # two left at 2 s each, not three at 30 s
    assert "3/4" in shown[2] and "<00:02," in shown[2]


def test_wrong_arguments_to_score_text_are_named_before_any_image_is_read(exp, monkeypatch):
    """`exp.score_text(engine="tesseract", lang="eng+jpn")`, as `qwenlab score --lang` reads, was
    "unexpected keyword argument 'lang'"; engine=None "'NoneType' object has no attribute
    'name'"; expected=3 "'int' object is not iterable"."""
    from qwenlab.typography import scores

    engine = FakeEngine()
    with pytest.raises(TypeError, match=r"engine must be 'auto', 'rapidocr', 'tesseract' or an OCR engine object.*NoneType"):
        exp.score_text(engine=None, progress=False)
    with pytest.raises(TypeError, match=r"expected must be a string, a list of strings, a function .*got int: 3"):
        exp.score_text(engine, expected=3, progress=False)
    with pytest.raises(ValueError, match=r"lang is Tesseract's: drop it, or use engine='tesseract'"):
        exp.score_text("rapidocr", lang="eng+jpn", progress=False)
    assert engine.reads == []

    class Tesseract(FakeEngine):  # Tesseract with the packs asked for, without the program
        def __init__(self, *, lang):
            super().__init__("tesseract")
            self.lang = lang

    monkeypatch.setattr(scores, "TesseractEngine", Tesseract)
    df = exp.score_text(lang="eng+jpn", progress=False)
    assert set(df["engine"]) == {"tesseract"} and len(df) == 4 and df.attrs["run"].engine_lang == "eng+jpn"


def test_scoring_trims_the_engine_once_its_images_are_read(exp):
    """An engine that keeps memory between reads (RapidOCR's arena) is asked to give it back when
    a pass that read images is over, not when nothing was read."""

    class Trimmed(FakeEngine):
        trims = 0

        def trim(self):
            self.trims += 1

    engine = Trimmed()
    img = exp.log.images(exp.id)[0]
    items = [ImageToScore(img["id"], exp.id, str(exp.data_dir / img["path"]), ["LUMIERE"])]
    score_images(exp.log, items, engine, progress=False)
    assert (len(engine.reads), engine.trims) == (1, 1)
    score_images(exp.log, items, engine, progress=False)  # read already: nothing to read, nothing to trim
    assert (len(engine.reads), engine.trims) == (1, 1)


def test_the_score_command_says_what_could_not_be_read_and_what_no_image_got_right(exp, monkeypatch, data_dir):
    """`qwenlab score` over missing files printed "2 failed", then "no image of this experiment
    has quoted text in its prompt", and exited 0 (and --json printed nothing, exit 0); with no
    image correct it printed "$inf per correctly rendered image"."""
    from click.testing import CliRunner

    import qwenlab.typography.store as store
    from qwenlab.cli import cli

    paths = list(exp.images["path"])
    engine = FakeEngine(wrong=set(paths), broken={paths[0]})
    monkeypatch.setattr(store, "get_engine", lambda name: engine)
    runner = CliRunner(env={"QWENLAB_DATA_DIR": str(data_dir)})
    out = runner.invoke(cli, ["score", "lumiere", "--no-progress", "--by", "promptExtend"])
    assert out.exit_code == 1 and "1 image could not be read, so it has no score" in out.output, out.output
    assert "no image rendered correctly (0/" in out.output and "$inf" not in out.output
    rows = runner.invoke(cli, ["score", "lumiere", "--json"])
    assert rows.exit_code == 1 and len(json.loads(rows.stdout)) == 3, rows.output
    engine.broken.update(paths)
    out = runner.invoke(cli, ["score", "lumiere", "--no-progress", "--force"])
    assert out.exit_code == 1 and "4 images could not be read" in out.output
    assert "has quoted text" not in out.output, "the images have quoted text: they could not be read"
    with pytest.warns(UserWarning, match="4 images could not be read"):
        score_experiment(exp, engine, progress=False)


def test_the_score_command_over_an_experiment_with_no_image_yet_says_so(emulator, data_dir):
    """A sweep whose budget let nothing through has no image: `qwenlab score` said "no image of
    this experiment has quoted text in its prompt", of a prompt with 'LUMIERE' quoted."""
    from click.testing import CliRunner

    from qwenlab.cli import cli

    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    exp = Lab(data_dir, client=client).run(Sweep(prompt="A poster for 'LUMIERE'", size="256x384"), name="unsent",
                                           budget_usd=0.001, progress=False)  # the budget stops it before the first cell
    assert exp.counts()["pending"] == 1
    client.close()
    out = CliRunner(env={"QWENLAB_DATA_DIR": str(data_dir)}).invoke(cli, ["score", "unsent", "--no-progress"])
    assert out.exit_code == 0, out.output
    assert "no scores: unsent has no images yet (1 cell: 1 not sent); run it, then score it" in out.output
    assert "quoted text" not in out.output


class JapaneseAndKoreanEngine(FakeEngine):
    """A FakeEngine that reads what Tesseract reads with lang="eng+jpn+kor", as the note advises."""

    def __init__(self) -> None:
        from qwenlab.typography.engines import tesseract_scripts

        super().__init__("tesseract")
        self.scripts, self.lang = tesseract_scripts("eng+jpn+kor"), "eng+jpn+kor"


def test_chinese_text_is_not_scored_by_tesseract_s_japanese_and_korean_packs(emulator, data_dir):
    """Scored as the note for kana and hangul advises (Tesseract, eng+jpn+kor), a Chinese poster
    was read by the Japanese pack, which has no 乐 or 时: its headline scored 0 whatever the model
    drew, and that engine's column (the one with the most scores) is what the views show."""
    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    sweep = Sweep(prompt="A poster", size="256x384",
                  axes={"prompt": ["A poster for 'LUMIERE'", "A poster for 「春の大売り出し」", "A poster for '여름 세일'",
                                   "海报上写着“新年快乐”"]})
    exp = Lab(data_dir, client=client).run(sweep, name="asia", progress=False)
    client.close()
    chinese = int(exp.images.loc[exp.images["prompt"].str.contains("新年"), "image_id"].iloc[0])
    engine = JapaneseAndKoreanEngine()
    with pytest.warns(UserWarning, match=r"1 image asks for text in Chinese characters \(han\), which tesseract does not "
                                         r"read: .*\(apt-get install tesseract-ocr-chi-sim\) and score with "
                                         r"engine=TesseractEngine\(lang='eng\+jpn\+kor\+chi_sim'\)"):
        df = score_experiment(exp, engine, progress=False)
    run = df.attrs["run"]
    assert (run.read, run.unreadable, run.unread_scripts) == (3, 1, {"han"})
    assert chinese not in set(df["image_id"]) and len(df) == 3   # the Japanese poster's kanji are read by jpn


class LatinAndHanEngine(FakeEngine):
    """A FakeEngine that says it reads only Latin letters and Chinese characters, as RapidOCR does."""

    scripts = frozenset({"latin", "han"})


def test_an_image_whose_text_the_engine_cannot_read_gets_no_score_and_the_way_to_score_it(emulator, data_dir, monkeypatch):
    """RapidOCR reads no kana: a Japanese headline scored 0 whatever the model drew, blaming the
    model for the OCR. Such an image is left unscored, counted, and the note names Tesseract's packs."""
    from click.testing import CliRunner

    import qwenlab.typography.store as store
    from qwenlab.cli import cli

    client = RunwareClient("sk-typography", emulator.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    lab = Lab(data_dir, client=client)
    sweep = Sweep(prompt="A poster", size="256x384",
                  axes={"prompt": ["A poster for 'LUMIERE'", "A poster for 「サマーセール」", "A poster for '新年快乐'"]})
    exp = lab.run(sweep, name="scripts", progress=False)
    japanese = int(exp.images.loc[exp.images["prompt"].str.contains("セール"), "image_id"].iloc[0])

    anything = FakeEngine()  # says nothing of its scripts: taken to read every one, as before
    assert set(score_experiment(exp, anything, progress=False)["image_id"]) == set(exp.images["image_id"])

    engine = LatinAndHanEngine()
    with pytest.warns(UserWarning, match=r"1 image asks for text in Japanese kana, which fake does not read: it has no "
                                         r"score .*\(apt-get install tesseract-ocr-jpn\) and score with "
                                         r"engine=TesseractEngine\(lang='eng\+jpn'\)"):
        df = score_experiment(exp, engine, force=True, progress=False)
    run = df.attrs["run"]
    assert (run.read, run.unreadable, run.unread_scripts) == (2, 1, {"kana"})
    assert "1 not scored (in a script it does not read)" in str(run)
    assert japanese not in set(df["image_id"]) and len(df) == 2   # its old score, the OCR's 0, is gone too
    path = str(exp.images.loc[exp.images["image_id"] == japanese, "path"].iloc[0])
    assert len(engine.reads) == 2 and path not in engine.reads  # its file was never read
    assert stored_score(exp.log, japanese, "fake") is None

    monkeypatch.setattr(store, "get_engine", lambda name: LatinAndHanEngine())
    runner = CliRunner(env={"QWENLAB_DATA_DIR": str(data_dir)})
    out = runner.invoke(cli, ["score", "scripts", "--no-progress"])
    assert out.exit_code == 0 and "1 image asks for text in Japanese kana" in out.output, out.output
    assert "--engine tesseract --lang eng+jpn" in out.output and "has quoted text" not in out.output
    rows = runner.invoke(cli, ["score", "scripts", "--json"])
    assert rows.exit_code == 0 and isinstance(json.loads(rows.stdout), list), rows.stdout
    bad = runner.invoke(cli, ["score", "scripts", "--engine", "rapidocr", "--lang", "eng+jpn"])
    assert bad.exit_code == 2 and "--lang is Tesseract's" in bad.output
    client.close()
