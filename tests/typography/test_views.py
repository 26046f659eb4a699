"""Text scores in the views: the grid, the explorer, pairs, blind judging and the HTML export show
the scores stored in the log (colours, order, captions, OCR boxes), show nothing extra when there
are none, and never run OCR themselves.

Scores are written through the store API with a fake engine whose readings we choose; one slow
test reads a small emulated sweep with the real RapidOCR engine end to end."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from qwenlab.analysis.judging import judgements as _judgements
from qwenlab.analysis.pairs import pairs
from qwenlab.cli import cli
from qwenlab.figures.grid import build_grid
from qwenlab.figures.pairs import show_pairs
from qwenlab.figures.panels import drawn_tiles
from qwenlab.figures.scale import frame_colour
from qwenlab.html.report import report_html
from qwenlab.typography import engines, scores, store
from qwenlab.typography.badges import score_badges
from qwenlab.typography.draw import COLOURS, SCORE_STOPS, score_colour
from qwenlab.typography.reading import Reading, TextLine
from qwenlab.typography.scores import expected_for
from qwenlab.typography.store import ImageToScore, score_images
from qwenlab.widgets.explorer import Explorer
from qwenlab.widgets.judging import Judging
from qwenlab.widgets.pairviewer import pair_viewer
from tests.support.labkit import run_sweep, texts

# what the fake engine reads, by image order: exact (1.0), misread (0.5), not found (0.0)
READS = ["Glow, Refined.", "Glow, Refned.", "nothing here"]
WORD_ACCURACY = {"Glow, Refined.": 1.0, "Glow, Refned.": 0.5, "nothing here": 0.0}


class FakeEngine:
    """Reads the text it is told for each file, in one box near the top of the image."""

    name, version = "fake", "fake 1"

    def __init__(self, texts_by_path: dict[str, str]) -> None:
        self.texts = texts_by_path

    def read(self, image: str) -> Reading:
        with Image.open(image) as img:
            w, h = img.size
        box = ((w * 0.1, h * 0.1), (w * 0.9, h * 0.1), (w * 0.9, h * 0.2), (w * 0.1, h * 0.2))
        return Reading(self.name, (TextLine(self.texts[str(image)], 0.9, box),), self.version, 0.0, w, h)


def store_scores(exp) -> dict[int, float]:
    """Score every image of `exp` with the fake engine (through the store API); image_id -> word accuracy."""
    images = exp.images
    read = {str(p): READS[i % 3] for i, p in enumerate(images["path"])}
    want = expected_for(exp)
    items = [ImageToScore(int(i), exp.id, p, want[int(i)]) for i, p in zip(images["image_id"], images["path"])]
    run = score_images(exp.log, items, FakeEngine(read), progress=False)
    assert run.scored == len(items) == 7
    return {int(i): WORD_ACCURACY[read[str(p)]] for i, p in zip(images["image_id"], images["path"])}


@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x 2 repeats (one cell failed: 7 images), prompt quoting 'Glow, Refined.'."""
    return run_sweep(emulator, data_dir, name="scored")


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to run a real OCR engine fails the test (the tests' own FakeEngine still scores)."""
    def refuse(*_a, **_k):
        raise AssertionError("a view ran OCR")

    def fake_only(engine="auto"):
        if isinstance(engine, FakeEngine):
            return engine
        refuse()

    for module in (engines, store):
        monkeypatch.setattr(module, "get_engine", fake_only)
    for module in (store, scores):  # `store_scores` above holds its own reference to the real function
        monkeypatch.setattr(module, "score_images", refuse)
    monkeypatch.setattr(engines.RapidOCREngine, "read", refuse)
    monkeypatch.setattr(engines.TesseractEngine, "read", refuse)


def rgb01(value: float | None) -> tuple[float, ...]:
    """The frame colour figures give a score (graded, so that 0.88 is not 1.00)."""
    return tuple(round(c, 3) for c in frame_colour(value))


def image_panels(grid, exp) -> list[dict]:
    """Per image drawn on the grid: its id (from the seed in its stamp), x position, stamp, frames and boxes."""
    by_seed = {int(s): int(i) for s, i in zip(exp.images["seed"], exp.images["image_id"])}
    out = []
    for fig in grid:
        for tile in drawn_tiles(fig):
            stamp = " ".join(tile["caption"].replace("\u00a0", " ").split())
            seed = int(stamp.split("seed ")[1].split(" ")[0])
            shape = tile["image"].get_array().shape
            box = tile["image"].bbox
            out.append({"image_id": by_seed[seed], "x": box.x0, "y": box.y0, "stamp": stamp, "tall": shape[0] > shape[1],
                        "frames": tile["frames"], "boxes": tile["outlines"]})
    return out


# -- the badges ------------------------------------------------------------------------------------
def test_badges_are_the_stored_scores_and_empty_without_any(exp, no_ocr) -> None:
    assert not score_badges(exp) and "run exp.score_text()" in score_badges(exp).legend()
    truth = store_scores(exp)
    badges = score_badges(exp)
    assert {i: b.value for i, b in badges.items()} == truth and badges.engine == "fake"
    labels = {b.value: (b.label, b.detail) for b in badges.values()}
    assert labels[1.0] == ("word acc 1.00", "all text read as asked")
    assert labels[0.5] == ("word acc 0.50", "'Glow, Refined.' read as 'Glow, Refned.'")
    assert labels[0.0] == ("word acc 0.00", "'Glow, Refined.' not found")
    assert {b.hex for b in badges.values() if b.value == 1.0} == {"#%02x%02x%02x" % SCORE_STOPS[-1][1]}
    correct = score_badges(exp, "correct")
    assert {b.label for b in correct.values()} == {"text right", "text wrong"}
    with pytest.raises(ValueError, match="word_accuracy"):
        score_badges(exp, "accuracy")


# -- the grid --------------------------------------------------------------------------------------
def test_grid_frames_stamps_sorts_and_outlines_by_stored_score(exp, no_ocr) -> None:
    truth = store_scores(exp)
    grid = build_grid(exp, "promptExtend", "size", score="word_accuracy", sort_by_score=True, show_reading=True)
    panels = image_panels(grid, exp)
    assert len(panels) == 7
    for p in panels:
        value = truth[p["image_id"]]
        assert f"word acc {value:.2f}" in p["stamp"]
        assert p["frames"] == [rgb01(value)]
        status = {1.0: "exact", 0.5: "misread", 0.0: "other"}[value]  # a string not found leaves its line grey
        assert p["boxes"] == [tuple(round(c / 255, 3) for c in COLOURS[status])]
    cells: dict[float, list[dict]] = {}
    for p in panels:
        cells.setdefault(round(p["y"], 3), []).append(p)  # one row per promptExtend value
    ordered = 0
    for row in cells.values():  # within each cell (a size), left to right: best score first
        sizes: dict[str, list[float]] = {}
        for p in sorted(row, key=lambda p: p["x"]):
            sizes.setdefault("portrait" if p["tall"] else "landscape", []).append(truth[p["image_id"]])
        assert all(vals == sorted(vals, reverse=True) for vals in sizes.values())
        ordered += sum(len(set(vals)) > 1 for vals in sizes.values())
    assert ordered  # some cell had two different scores to order
    drawn = " ".join(t for fig in grid for t in texts(fig))
    assert "frame colour: word accuracy of the text read by OCR (fake)" in drawn
    assert "outlines: the lines the OCR read" in drawn
    paged = build_grid(exp, "size", None, page="promptExtend", score="word_accuracy")
    assert len(list(paged)) == 2
    for fig in paged:  # the mean is the page's own images', not the whole experiment's
        shown = [truth[p["image_id"]] for p in image_panels([fig], exp)]
        page = " ".join(" ".join(t.split()) for t in texts(fig))
        assert f"mean {sum(shown) / len(shown):.2f} over this page's {len(shown)} scored images" in page


def test_grid_without_captions_does_not_say_the_score_is_in_each_caption(exp, no_ocr) -> None:
    """`captions=False` (`--no-captions`) with `score=`: the scale's title said "the score is in
    each caption" over a page the subtitle said had "no captions"; the frames still carry the score."""
    truth = store_scores(exp)
    grid = build_grid(exp, "promptExtend", "size", score="word_accuracy", captions=False)
    drawn = " ".join(" ".join(t.split()) for fig in grid for t in texts(fig))
    assert "frame colour: word accuracy of the text read by OCR (fake)" in drawn and "no captions" in drawn
    assert "caption" not in drawn.replace("no captions", ""), drawn
    assert "the score is in each caption" in " ".join(
        t for fig in build_grid(exp, "promptExtend", "size", score="word_accuracy") for t in texts(fig))
    assert len(truth) == 7


def test_grid_without_scores_asked_or_stored_shows_nothing_extra(exp, no_ocr) -> None:
    plain = image_panels(build_grid(exp, "promptExtend", "size"), exp)
    assert all(not p["frames"] and not p["boxes"] and "word acc" not in p["stamp"] for p in plain)
    unscored = build_grid(exp, "promptExtend", "size", score="word_accuracy")
    assert all(p["frames"] == [rgb01(None)] for p in image_panels(unscored, exp))  # grey: not scored
    assert any("no text scores stored for this experiment" in t for fig in unscored for t in texts(fig))
    store_scores(exp)
    assert all(not p["frames"] for p in image_panels(build_grid(exp, "promptExtend", "size"), exp))


def test_grid_command_with_score_and_reading(exp, no_ocr, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "g.png"
    before = runner.invoke(cli, ["grid", "scored", "--score", "word_accuracy", "-o", str(out)])
    assert before.exit_code == 0 and "no text scores stored" in before.stderr
    store_scores(exp)
    result = runner.invoke(cli, ["grid", "scored", "--rows", "promptExtend", "--cols", "size", "--score", "word_accuracy",
                                 "--show-reading", "--sort-by-score", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "no text scores" not in result.stderr and Path(result.stdout.strip()).is_file()
    bad = runner.invoke(cli, ["grid", "scored", "--score", "accuracy"])
    assert bad.exit_code != 0 and "word_accuracy" in bad.output


# -- the explorer ----------------------------------------------------------------------------------
def test_explorer_colours_sorts_and_details_by_stored_score(exp, no_ocr) -> None:
    plain = Explorer(exp, rows="promptExtend", cols="size")
    assert plain.score_controls.layout.display == "none"  # nothing scored: nothing extra
    plain.select(int(exp.images["image_id"].iloc[0]))
    assert plain.score_box.layout.display == "none"
    truth = store_scores(exp)
    ex = Explorer(exp, rows="promptExtend", cols="size")
    assert ex.score_controls.layout.display == "flex" and "7 text-scored (fake)" in ex.header.value
    assert all(not t.image.layout.border for t in ex.tiles) and "word acc" not in "".join(t.caption.value for t in ex.tiles)
    ex.colour_toggle.value = True
    badges = score_badges(exp)
    for tile in ex.tiles:
        if tile.entry.image_id is None:
            assert not tile.image.layout.border
            continue
        badge = badges[tile.entry.image_id]
        assert tile.image.layout.border == f"4px solid {badge.hex}" and badge.label in tile.caption.value
    ex.sort_toggle.value = True
    cells: dict[tuple, list[float]] = {}
    for e in ex.items:
        if e.image_id is not None:
            cells.setdefault((e.value("promptExtend"), e.value("size")), []).append(truth[e.image_id])
    assert all(v == sorted(v, reverse=True) for v in cells.values()) and any(len(set(v)) > 1 for v in cells.values())

    misread = next(i for i, v in truth.items() if v == 0.5)
    ex.select(misread)
    assert ex.score_box.layout.display == "flex"
    assert "word accuracy 0.50" in ex.score_info.value
    assert "&#x27;Glow, Refined.&#x27; → &#x27;Glow, Refned.&#x27;" in ex.score_info.value
    plain_picture = ex.big.value
    ex.reading_button.value = True
    assert ex.big.value[:2] == b"\xff\xd8" and ex.big.value != plain_picture  # the overlay, drawn from the log
    ex.select(next(i for i, v in truth.items() if v == 1.0))
    assert ex.reading_button.value is False and "word accuracy 1.00" in ex.score_info.value


# -- pairs -----------------------------------------------------------------------------------------
def test_pairs_carry_scores_into_columns_figure_and_viewer(exp, no_ocr) -> None:
    unscored = pairs(exp, "promptExtend")
    assert unscored["score_a"].isna().all() and unscored.attrs["score"] is None
    truth = store_scores(exp)
    df = pairs(exp, "promptExtend")
    assert df.attrs["score"] == "word_accuracy" and len(df) == 3
    for r in df.itertuples():
        assert (r.score_a, r.score_b) == (truth[r.image_a], truth[r.image_b])
        assert r.read_a == score_badges(exp)[r.image_a].detail
    fig = show_pairs(df)
    drawn = [" ".join(t.split()) for t in texts(fig)]
    for r in df.itertuples():
        assert any("promptExtend=on" in t and f"word acc {r.score_a:.2f}" in t for t in drawn)
    frames = [f for tile in drawn_tiles(fig) for f in tile["frames"]]
    assert sorted(frames) == sorted(rgb01(v) for r in df.itertuples() for v in (r.score_a, r.score_b))
    assert any("frame colour: word accuracy" in t for t in drawn)

    viewer = pair_viewer(df)
    first = df.iloc[0]
    assert f"word acc {first.score_a:.2f}</b>: {html.escape(first.read_a)}" in viewer.caption.value
    viewer.flip()
    assert f"word acc {first.score_b:.2f}" in viewer.caption.value
    viewer.fade_slider.value = 0.5
    assert "→" in viewer.caption.value
    assert "word acc" not in pair_viewer(unscored).caption.value


# -- blind judging ---------------------------------------------------------------------------------
def _widget_text(judging: Judging) -> str:
    return " ".join(str(getattr(c, "value", "")) for c in (judging.header, judging.last, judging.results))


def test_judging_hides_scores_until_the_pair_is_judged(exp, no_ocr) -> None:
    truth = store_scores(exp)
    j = Judging(exp, "promptExtend", seed=3)
    assert "word acc" not in _widget_text(j) and "text score" not in _widget_text(j)  # blind
    left, right = j.current
    j.choose("left")
    after = j.last.value
    assert f"left: <b style='color:{score_badges(exp)[left].hex}'>word acc {truth[left]:.2f}" in after
    assert f"word acc {truth[right]:.2f}" in after and "Judged (left is better)" in after
    assert "word acc" not in j.header.value  # the next pair's scores stay hidden
    while j.current is not None:
        j.choose("tie")
    results = j.results.value
    assert "text scores" in results and "promptExtend on: word accuracy" in results
    judged = _judgements(exp, "promptExtend")
    differ = sum(truth[int(r["image_a"])] != truth[int(r["image_b"])] for r in judged)
    assert (f"of {differ} judged pairs whose word accuracy differs" in results) == bool(differ)


def test_judging_without_scores_shows_no_score_lines(exp, no_ocr) -> None:
    j = Judging(exp, "promptExtend", seed=1)
    j.choose("right")
    j.show_results()
    assert j.last.value == "" and "text scores" not in j.results.value


# -- the HTML export -------------------------------------------------------------------------------
def test_export_rows_show_scores_only_when_stored(exp, no_ocr) -> None:
    before = report_html(exp, grid=None)
    assert "text score" not in before.lower()
    truth = store_scores(exp)
    after = report_html(exp, grid=None)
    assert "<th>text score</th>" in after and "promptExtend on: word accuracy" in after
    # a section of its own, linked from the top, before the requests (it sat inside them)
    assert 'href="#text-scores"' in after and after.index('id="text-scores"') < after.index('id="requests"')
    # the report says what `qwenlab score` says of each axis: images read right and their cost too
    # (it showed word accuracy alone, which moved where the share read right did not)
    from qwenlab.typography.analysis import axis_lines
    from qwenlab.typography.scores import text_scores

    for line in axis_lines(text_scores(exp, "fake"), "promptExtend"):
        assert html.escape(line.strip()) in after, line
    assert "correctly rendered image" in after or "no image rendered correctly" in after
    assert after.count("word acc ") >= len(truth)
    assert "&#x27;Glow, Refined.&#x27; read as &#x27;Glow, Refned.&#x27;" in after
    assert f"border-left:6px solid {'#%02x%02x%02x' % score_colour(0.0)}" in after


# -- end to end, real OCR ----------------------------------------------------------------------------
@pytest.mark.slow
def test_real_ocr_scores_reach_the_grid_explorer_and_pairs(emulator, data_dir: Path, rapidocr, monkeypatch) -> None:
    exp = run_sweep(emulator, data_dir, name="ocr-views", axes={"promptExtend": [True, False]}, fail_one=False,
                    prompt="A skincare poster with the headline 'LUMIERE' in large letters")
    df = exp.score_text(rapidocr, progress=False)
    assert len(df) == 4 and df.attrs["run"].read == 4
    monkeypatch.setattr(type(rapidocr), "read", lambda *_a, **_k: pytest.fail("a view ran OCR"))
    truth = dict(zip(df["image_id"].astype(int), df["word_accuracy"]))
    grid = build_grid(exp, "promptExtend", "repeat", score="word_accuracy", show_reading=True)
    for p in image_panels(grid, exp):
        assert f"word acc {truth[p['image_id']]:.2f}" in p["stamp"] and p["frames"] == [rgb01(truth[p["image_id"]])]
        assert p["boxes"]  # the OCR found text in every emulated poster
    ex = Explorer(exp)
    ex.select(int(df["image_id"].iloc[0]))
    ex.reading_button.value = True
    assert ex.big.value[:2] == b"\xff\xd8" and "word accuracy" in ex.score_info.value
    pr = pairs(exp, "promptExtend")
    assert pr["score_a"].notna().all() and pr["score_b"].notna().all()


def test_the_grid_scale_and_legend_say_0_99_for_a_mean_short_of_perfect() -> None:
    """Seven images read right and one misread (NED 0.976): the grid's scale said "mean 1.00
    over this page's 8 scored images" above a frame saying NED 0.98."""
    from qwenlab.figures.page_text import scale_title_text
    from qwenlab.store.catalog import Entry
    from qwenlab.typography.badges import ScoreBadge, ScoreBadges

    values = [1.0] * 7 + [0.976]
    badges = ScoreBadges({i: ScoreBadge(i, "ned", v, v, v, v == 1.0) for i, v in enumerate(values)}, "ned", "fake", None)
    entries = [Entry(task_id=i, cell={}, repeat=0, status="done", image_id=i) for i in range(8)]
    assert "mean 0.99 over this page's 8 scored images" in scale_title_text(badges, entries, captions=True)
    assert "mean 0.99 over 8 images" in badges.legend()
