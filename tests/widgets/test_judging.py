"""Judging you can read: the pair at full resolution, the strings to check beside it, a named
criterion stored with each judgement, keyboard shortcuts and undo, all on a real experiment run
against the emulator, the log read back with sqlite3. (The same in a real browser:
tests/widgets/test_judging_browser.py.)"""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from qwenlab import Experiment
from qwenlab.errors import JudgementError
from qwenlab.typography.reading import Reading, TextLine
from qwenlab.typography.scores import expected_for
from qwenlab.typography.store import ImageToScore, score_images
from qwenlab.widgets.judging import KEYS, Judging
from tests.support.labkit import run_sweep

PROMPT = "A skincare poster, headline 'LUMIERE' and the line “Glow, Refined.” under it"


@pytest.fixture
def exp(emulator, data_dir: Path) -> Experiment:
    return run_sweep(emulator, data_dir, name="readable", axes={"promptExtend": [True, False]}, repeats=3,
                     fail_one=False, prompt=PROMPT, size="768x512")


def stored(exp: Experiment) -> list[tuple]:
    with sqlite3.connect(exp.log.path) as db:
        return db.execute("SELECT image_a, image_b, winner, criterion FROM judgements ORDER BY id").fetchall()


def test_the_pair_is_sent_at_full_resolution_or_as_asked(exp: Experiment) -> None:
    j = exp.judge("promptExtend", seed=1)
    paths = dict(zip(exp.images["image_id"].astype(int), exp.images["path"]))
    left, right = j.current
    assert j.left.value == Path(paths[left]).read_bytes() and j.right.value == Path(paths[right]).read_bytes()
    assert Image.open(io.BytesIO(j.left.value)).size == (768, 512)  # nothing scaled down
    small = exp.judge("promptExtend", seed=1, max_px=300)
    assert small.left.format == "jpeg" and max(Image.open(io.BytesIO(small.left.value)).size) == 300
    # as wide as the notebook allows: the image fills its side; the sides wrap only where each
    # would be narrower than 560 px and than one above the other with both in view (40vh tall)
    assert j.left.layout.width == "100%" and j.left.layout.max_height == "min(75vh, calc(100vh - 330px))"
    assert j.sides[0].layout.flex == "1 1 min(560px, calc(40vh * 1.500))" and j.pair_box.layout.flex_flow == "row wrap"
    j.layout_toggle.value = "stacked"
    assert j.pair_box.layout.flex_flow == "column"
    j.layout_toggle.value = "side"
    assert j.pair_box.layout.flex_flow == "row nowrap" and j.sides[1].layout.flex == "1 1 0px"
    with pytest.raises(ValueError, match="layout must be one of"):
        exp.judge("promptExtend", layout="big")
    with pytest.raises(ValueError, match="max_px must be None"):
        exp.judge("promptExtend", max_px=10)


def test_the_strings_to_check_are_shown_and_nothing_tells_the_sides_apart(exp: Experiment) -> None:
    j = exp.judge("promptExtend", seed=2, criterion="text correct")
    text = j.expected_text.value
    assert "The prompt asks for:" in text and "LUMIERE</span>" in text and "Glow, Refined.</span>" in text
    assert text.index("LUMIERE") < text.index("Glow, Refined.")
    on_screen = " ".join([j.header.value, j.expected_text.value, j.status.value, j.last.value, j.results.value,
                          *(s.children[0].value for s in j.sides)])
    words = set(re.findall(r"[\w=]+", re.sub(r"<[^>]+>", " ", on_screen)))
    assert not words & {"on", "off", "True", "False"}, words & {"on", "off", "True", "False"}
    assert "criterion <b>text correct</b>: which image has the text right?" in j.header.value
    own = exp.judge("promptExtend", seed=2, expected=["LUMIÈRE & Co"])
    assert "LUMIÈRE &amp; Co</span>" in own.expected_text.value and "Glow" not in own.expected_text.value


def test_keys_judge_skip_and_undo_and_the_log_follows(exp: Experiment) -> None:
    j = Judging(exp, "promptExtend", seed=5)
    assert j.keys.widget.shortcuts == {k if len(k) > 1 else k.lower(): v for k, v in KEYS.items()}
    legend = " ".join(" ".join(x) for x in j.keys.widget.legend)
    for shown in ("← or 1", "→ or 2", "t or 0", "s", "u or ⌫", "left is better", "undo"):
        assert shown in legend
    first = j.current
    j.keys.press("ArrowLeft")
    second = j.current
    j.keys.widget._handle_custom_msg({"action": "right"}, [])  # as the browser sends a key
    third = j.current
    j.keys.press("s")  # skipped: no row
    assert j.current != third
    assert stored(exp) == [(*first, "a", "overall"), (*second, "b", "overall")]

    j.keys.press("u")  # the last judgement goes; its pair comes back, even from past a skip
    assert stored(exp) == [(*first, "a", "overall")] and j.current == second and j.judged_now == 1
    assert "Undone" in j.status.value
    j.keys.press("Backspace")  # and again, further back
    assert stored(exp) == [] and j.current == first and j.undo_button.disabled
    assert j.undo() is None and "Nothing to undo" in j.status.value
    j.keys.press("2")
    j.keys.press("0")
    j.keys.press("T")  # case does not matter
    assert [r[2] for r in stored(exp)] == ["b", "tie", "tie"] and j.current is None
    j.keys.press("1")  # every pair judged: a key does nothing
    assert len(stored(exp)) == 3 and "every pair judged" in j.header.value and "of 3 judgements" in j.results.value
    j.undo_button.click()  # undo from the end brings the last pair back, and hides the tally again
    assert len(stored(exp)) == 2 and j.current is not None and j.results.value == "" and not j.left_button.disabled
    assert j.pair_box.layout.display == "flex" and j.left.value


class MisreadingEngine:
    """An OCR stand-in that reads every image as 'LUMIERE' and 'Glow, Refned.' (one word wrong)."""

    name, version = "misreading", "1"

    def read(self, image: str) -> Reading:
        with Image.open(image) as img:
            w, h = img.size
        box = ((0, 0), (w, 0), (w, h / 10), (0, h / 10))
        return Reading(self.name, (TextLine("LUMIERE", 0.9, box), TextLine("Glow, Refned.", 0.9, box)), self.version, 0.0, w, h)


class HalfMisreadingEngine(MisreadingEngine):
    """Reads the images in `right` as the prompt asked, the others with one word wrong."""

    def __init__(self, right: set[str]) -> None:
        self.right = right

    def read(self, image: str) -> Reading:
        reading = super().read(image)
        if image not in self.right:
            return reading
        return Reading(self.name, (reading.lines[0], TextLine("Glow, Refined.", 0.9, reading.lines[1].box)),
                       self.version, 0.0, reading.width, reading.height)


def test_the_judges_agreement_with_the_ocr_tells_ties_apart(exp: Experiment) -> None:
    """"preferred the image whose text read better 1 times (50%)" counted a tie as a disagreement,
    as if the judge had tossed a coin, where the judge never preferred the worse-reading image."""
    want = expected_for(exp)
    on = {str(p) for p, v in zip(exp.images["path"], exp.images["promptExtend"]) if v in (True, "on")}
    assert len(on) == 3
    items = [ImageToScore(int(i), exp.id, p, want[int(i)]) for i, p in zip(exp.images["image_id"], exp.images["path"])]
    assert score_images(exp.log, items, HalfMisreadingEngine(on), progress=False).scored == 6
    paths = dict(zip(exp.images["image_id"].astype(int), exp.images["path"].astype(str)))
    j = Judging(exp, "promptExtend", seed=3)
    for said in ("better", "tie", "worse"):  # each pair: one "on" image (reads right), one "off"
        left, _right = j.current
        left_better = paths[left] in on
        j.choose("tie" if said == "tie" else "left" if (said == "better") == left_better else "right")
    j.show_results()
    assert ("of 3 judged pairs whose word accuracy differs, the judge preferred the image whose text read better in 1 "
            "(50% of those decided), the other in 1, and called 1 a tie") in j.results.value


def test_a_confounded_judgement_of_an_old_log_is_left_out_of_the_agreement_with_the_ocr(emulator, data_dir: Path) -> None:
    """A judgement an old record_judgement took between images at two qualities is left out of
    the win rates; the judge's agreement with the OCR, beside them, counted it still."""
    exp = run_sweep(emulator, data_dir, name="two-qualities", axes={"promptExtend": [True, False], "outputQuality": [60, 61]},
                    repeats=1, fail_one=False, prompt=PROMPT, size="768x512")
    want = expected_for(exp)
    on = {str(p) for p, v in zip(exp.images["path"], exp.images["promptExtend"]) if v in (True, "on")}
    items = [ImageToScore(int(i), exp.id, p, want[int(i)]) for i, p in zip(exp.images["image_id"], exp.images["path"])]
    assert score_images(exp.log, items, HalfMisreadingEngine(on), progress=False).scored == 4
    paths = dict(zip(exp.images["image_id"].astype(int), exp.images["path"].astype(str)))
    j = Judging(exp, "promptExtend", seed=3)
    while j.current is not None:  # the judge prefers the "on" image, whose text reads better, in both pairs
        j.choose("left" if paths[j.current[0]] in on else "right")
    images = exp.images
    on60, off61 = (int(images[(images.promptExtend == pe) & (images.outputQuality == q)]["image_id"].iloc[0])
                   for pe, q in ((True, 60), (False, 61)))
    with sqlite3.connect(exp.log.path) as db:  # as a version before the refusal wrote it: the worse-reading image preferred
        db.execute("INSERT INTO judgements (experiment_id, axis, image_a, image_b, winner, criterion, created_at) "
                   "VALUES (?, 'promptExtend', ?, ?, 'b', 'overall', '2026-12-01T00:00:00Z')", (exp.id, on60, off61))
    j.show_results()
    assert "of 2 judgements" in j.results.value and "1 judgement left out" in j.results.value
    assert ("of 2 judged pairs whose word accuracy differs, the judge preferred the image whose text read better in 2 "
            "(100% of those decided), the other in 0") in j.results.value


def test_with_no_pair_to_judge_it_says_so_and_why_not_that_every_pair_is_judged(emulator, data_dir: Path) -> None:
    """An experiment whose "off" cell failed has no pair: judging it said "every pair judged (0
    now, 0 before; 0 pairs)", as if the work were done, and a click "every pair is judged"."""
    exp = run_sweep(emulator, data_dir, name="half", axes={"promptExtend": [True, False]}, repeats=1, prompt=PROMPT)
    assert exp.counts()["failed"] == 1
    j = exp.judge("promptExtend")
    said = ("no pair to judge: 1 image of promptExtend=on or promptExtend=off has no counterpart with the other value "
            "and the same other settings")
    assert said in j.header.value and "every pair" not in j.header.value
    assert "0 pairs, no pair to judge, 0 judged now" in repr(j)
    with pytest.raises(JudgementError, match="no pair to judge: 1 image .* running the experiment again retries failed cells"):
        j.choose("left")
    emulator.script(["task_error"] * 8)  # every cell failed (a POST retried takes one more): no image at all, and what to do
    none = run_sweep(emulator, data_dir, name="none", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    emulator.script([])
    assert none.counts()["images"] == 0, none.counts()
    assert ("no pair to judge: the experiment has no image of promptExtend=on or promptExtend=off (a failed cell has none: "
            "running the experiment again retries failed cells)") in none.judge("promptExtend").header.value


def test_pairs_skipped_are_said_when_the_session_ends_not_every_pair_judged(exp: Experiment) -> None:
    """Two pairs judged and one skipped read "every pair judged": the skipped one, not judged,
    is offered by the next session."""
    j = exp.judge("promptExtend", seed=1)
    j.choose("left")
    j.skip()
    j.choose("tie")
    assert j.current is None and "every pair judged" not in j.header.value
    assert "every pair seen, 1 pair skipped (2 now, 0 before; 3 pairs)" in j.header.value
    assert "every pair seen, 1 pair skipped, 2 judged now" in repr(j)
    with pytest.raises(JudgementError, match="every pair seen, 1 pair skipped"):
        j.choose("left")
    assert len(exp.judge("promptExtend").queue) == 1


def test_undo_in_a_session_opened_again_says_how_to_remove_an_earlier_judgement(exp: Experiment) -> None:
    """Judging opened again (after a restart) met "u" with "Nothing to undo: this session has
    recorded no judgement", a dead end for the judge whose last click was wrong."""
    from qwenlab.analysis.judging import undo_judgement

    first = Judging(exp, "promptExtend", seed=1)
    first.choose("left")
    last = first.choose("right")
    again = Judging(exp, "promptExtend", seed=1)
    assert again.undo() is None and len(stored(exp)) == 2  # nothing of an earlier session is removed by the key
    assert "Nothing to undo: this session has recorded no judgement." in again.status.value
    assert (f"The last one made before this session (id {last}) is removed with qwenlab.analysis.judging.undo_judgement(exp, {last})"
            in again.status.value) and "rejudge=True" in again.status.value
    undo_judgement(exp, last)  # as it says
    assert len(stored(exp)) == 1
    fresh = Judging(exp, "promptExtend", criterion="text correct")  # nothing judged on this criterion: nothing more said
    fresh.undo()
    assert fresh.status.value == "<small>Nothing to undo: this session has recorded no judgement.</small>"


def test_rejudge_must_be_a_bool_checked_before_any_widget_is_built(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    """rejudge="no" is a true string: judging showed every pair judged before again, silently."""
    import ipywidgets
    import numpy as np

    built: list[str] = []
    monkeypatch.setattr(ipywidgets.Widget, "open", lambda self: built.append(type(self).__name__))
    with pytest.raises(ValueError, match=r"rejudge must be True or False, got str 'no' \(a non-empty string is true in Python"):
        exp.judge("promptExtend", rejudge="no")
    with pytest.raises(ValueError, match="rejudge must be True or False, got NoneType None"):
        Judging(exp, "promptExtend", rejudge=None)  # type: ignore[arg-type]
    assert built == []
    monkeypatch.undo()
    exp.judge("promptExtend", seed=1).choose("left")
    assert len(exp.judge("promptExtend", rejudge=np.bool_(True)).queue) == 3  # numpy's bool, as a frame gives it
    assert len(exp.judge("promptExtend", rejudge=np.bool_(False)).queue) == 2


def test_undo_of_a_judgement_removed_by_hand_meanwhile_says_so_and_steps_back(exp: Experiment) -> None:
    """A judgement of this session removed with undo_judgement meanwhile made "u" raise inside the
    key handler (the notebook's log got a traceback, the widget said nothing)."""
    from qwenlab.analysis.judging import undo_judgement

    j = Judging(exp, "promptExtend", seed=1)
    first, first_id = j.current, j.choose("left")
    j.choose("right")
    third = j.current
    last = j.choose("tie")
    undo_judgement(exp, last)  # by hand, from another cell
    j.keys.press("u")  # no traceback: it says so, and the pair comes back to judge
    assert j.status.value == ("<small>The judgement of pair 3 is gone from the log already (removed meanwhile): judge it "
                              "again; u again undoes the one before.</small>")
    assert j.current == third and j.judged_now == 2 and len(stored(exp)) == 2
    assert j.undo() is not None and len(stored(exp)) == 1  # the one before, removed as asked
    undo_judgement(exp, first_id)
    assert j.undo() is None and j.current == first and j.judged_now == 0 and j.undo_button.disabled
    assert "pair 1 is gone from the log already" in j.status.value
    assert "nothing of this session is left to undo." in j.status.value
    assert stored(exp) == []


class OtherEngine(MisreadingEngine):
    """Another OCR engine: its scores are not comparable with the first one's."""

    name, version = "other", "other 1"


def test_the_results_name_the_engine_once_before_the_images_only_another_engine_scored(exp: Experiment) -> None:
    """"text scores (OCR by misreading, stored in the log)" was followed by "text scores by
    misreading: 2 images scored by other only are left out": the engine named twice in a row."""
    want = expected_for(exp)
    items = [ImageToScore(int(i), exp.id, p, want[int(i)]) for i, p in zip(exp.images["image_id"], exp.images["path"])]
    score_images(exp.log, items[:4], MisreadingEngine(), progress=False)
    score_images(exp.log, items[4:], OtherEngine(), progress=False)
    j = Judging(exp, "promptExtend", seed=3)
    j.show_results()
    assert ("<b>text scores</b> (OCR by misreading, stored in the log)<br><small>2 images scored by other only are left "
            "out; to score every image with one engine, score them with misreading too: exp.score_text(&#x27;misreading&#x27;)"
            in j.results.value), j.results.value
    assert "text scores by misreading" not in j.results.value


def test_undo_hides_again_the_scores_of_the_pair_that_comes_back(exp: Experiment) -> None:
    want = expected_for(exp)
    items = [ImageToScore(int(i), exp.id, p, want[int(i)]) for i, p in zip(exp.images["image_id"], exp.images["path"])]
    assert score_images(exp.log, items, MisreadingEngine(), progress=False).scored == 6
    j = Judging(exp, "promptExtend", seed=3)
    assert "word acc" not in j.last.value
    j.choose("left")
    assert "Judged (left is better). Text scores of that pair" in j.last.value and "word acc" in j.last.value
    j.undo()  # the judged pair is on screen again: its scores must not be
    assert j.last.value == "" and "word acc" not in j.header.value + j.expected_text.value


def test_the_criterion_is_stored_and_each_criterion_has_its_own_pairs_and_results(exp: Experiment) -> None:
    overall = exp.judge("promptExtend", seed=1)
    while overall.current is not None:
        overall.choose("left")
    text = exp.judge("promptExtend", seed=1, criterion="text correct")
    assert len(text.queue) == 3 and text.judged_before == 0  # judged overall, not yet for its text
    text.choose("right")
    assert stored(exp)[-1][2:] == ("b", "text correct")
    again = exp.judge("promptExtend", criterion="text correct")
    assert again.judged_before == 1 and len(again.queue) == 2
    frame = again.results_frame()
    assert frame["criterion"].unique().tolist() == ["text correct"] and frame["judgements"].tolist() == [1, 1]
    again.show_results()
    assert "win rates (text correct)" in again.results.value and "text correct: promptExtend=" in again.results.value
    assert "criterion='text correct'" in repr(again)
    with pytest.raises(JudgementError, match="criterion must be a short name"):
        exp.judge("promptExtend", criterion="")


def test_compare_at_full_size_follows_the_pair_and_stays_blind(exp: Experiment) -> None:
    paths = dict(zip(exp.images["image_id"].astype(int), exp.images["path"]))
    j = exp.judge("promptExtend", seed=1)
    assert j.viewer is None and j.compare_box.children == ()  # nothing made before it is asked for
    j.keys.press("f")
    assert j.compare_button.value and j.compare_box.children == (j.viewer.widget,)
    left, right = j.current
    assert j.viewer.labels == ["left", "right"] and j.viewer.widget.caption == ""  # no value, no seed, no id
    assert list(j.viewer.widget.images) == [Path(paths[left]).read_bytes(), Path(paths[right]).read_bytes()]
    j.choose("tie")  # the viewer follows the pair
    left, right = j.current
    assert list(j.viewer.widget.images) == [Path(paths[left]).read_bytes(), Path(paths[right]).read_bytes()]
    j.compare_button.value = False
    assert j.compare_box.children == ()
    j.keys.press("F")
    while j.current is not None:
        j.choose("left")
    assert j.compare_box.children == () and j.compare_button.disabled  # every pair judged: nothing to compare


def test_a_click_records_its_judgement_without_reading_the_experiment_again(exp: Experiment,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each click read every task and image again to check its two ids: 120 ms a click at 2,000
    images. The values read when judging opened serve every click."""
    from qwenlab.store.catalog import Catalog

    judging = Judging(exp, "promptExtend", seed=1)
    loads = []
    real = Catalog.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Catalog, "load", classmethod(lambda cls, e: loads.append(e) or real(cls, e)))
    left, right = judging.current
    judging.choose("left")
    [row] = exp.log.judgements(exp.id, "promptExtend")
    assert loads == [] and (row["image_a"], row["image_b"], row["winner"]) == (left, right, "a")


def test_while_the_full_size_view_is_zoomed_in_the_arrows_pan_it_and_judge_nothing(exp: Experiment) -> None:
    """The arrows pressed on the pair (the focus in judging, not in the viewer) recorded a verdict
    while the full-size view below was zoomed in: a look around the picture was a vote. Zoomed
    in, they pan it (a message to the browser), 1 and 2 judge, and the legend says so."""
    j = exp.judge("promptExtend", seed=1)
    j.keys.press("f")
    sent: list[dict] = []
    j.viewer.widget.send = lambda content, buffers=None: sent.append(content)  # what reaches the browser
    assert "pan" not in str(j.keys.widget.legend) and j.viewer.widget.arrows == "pan-zoomed"
    j.viewer.widget.zoom = 3.0  # as the browser sends it once zoomed in
    assert j.zoomed_in and ["← → ↑ ↓", "pan, while zoomed in"] in j.keys.widget.legend
    assert "(1)" in j.side_labels[0].value and "←" not in j.side_labels[0].value
    shown = j.current
    j.keys.press("ArrowLeft")
    j.keys.press("ArrowRight")
    assert stored(exp) == [] and j.current == shown
    assert sent == [{"pan": [1, 0]}, {"pan": [-1, 0]}] and "judge nothing" in j.status.value
    j.keys.press("1")
    assert stored(exp)[-1][:3] == (*shown, "a")
    j.viewer.reset()  # fitted again (a double-click): the arrows judge
    assert not j.zoomed_in and list(j.keys.widget.legend[0]) == ["← or 1", "left is better"]
    shown = j.current
    j.keys.press("ArrowRight")
    assert stored(exp)[-1][:3] == (*shown, "b")
    j.viewer.widget.zoom = 3.0
    j.compare_button.value = False  # the view closed: nothing to pan, the arrows judge
    shown = j.current
    j.keys.press("ArrowLeft")
    assert stored(exp)[-1][:3] == (*shown, "a") and len(stored(exp)) == 3


def test_shift_with_an_arrow_pans_the_full_size_view_and_never_judges(exp: Experiment) -> None:
    """Shift and an arrow, pressed on the pair or a button (the focus in judging but not in the
    viewer), was a verdict (the browser sent it as ←), where on the picture it pans. It is a key
    of its own now: with the full-size view open it pans it, otherwise it does nothing."""
    j = exp.judge("promptExtend", seed=1)
    shown = j.current
    for key in ("Shift+ArrowLeft", "Shift+ArrowRight", "Shift+ArrowUp", "Shift+ArrowDown"):
        j.keys.press(key)
    assert stored(exp) == [] and j.current == shown
    j.keys.press("f")
    sent: list[dict] = []
    j.viewer.widget.send = lambda content, buffers=None: sent.append(content)
    j.keys.press("Shift+ArrowLeft")
    j.keys.press("Shift+ArrowDown")
    assert sent == [{"pan": [1, 0]}, {"pan": [0, -1]}] and stored(exp) == [] and j.current == shown
