"""Comparing experiments: `lab.compare("a", "b")` is one read-only view in which the experiment is
an axis, and the views of one experiment (grid, pairs, judging, text scores, costs) work on it
unchanged. Real sweeps against the loopback emulator, a real SQLite log."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from PIL import Image

from qwenlab import ComparisonError, ExperimentNotFoundError, Lab
from qwenlab.analysis.judging import record_judgement, win_rates
from qwenlab.store.catalog import Catalog
from qwenlab.store.comparison import ABSENT, EXPERIMENT
from qwenlab.typography.badges import score_badges
from qwenlab.typography.reading import Reading, TextLine
from qwenlab.widgets.judging import Judging
from tests.support.labkit import PROMPT, SIZES, run_sweep, texts


@pytest.fixture
def lab(emulator, data_dir: Path) -> Lab:
    """'before': promptExtend x size (4 cells); 'after': the same sizes with a new prompt and no
    promptExtend axis (2 cells); 'square': one prompt axis of two requests-worth of text at the
    model's default size (2 cells)."""
    run_sweep(emulator, data_dir, name="before", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="after", axes={"size": SIZES}, repeats=1, fail_one=False,
              prompt="A premium poster for LUMIERE, 'Glow, Renewed.' headline")
    run_sweep(emulator, data_dir, name="square", axes={"prompt": ["A red 'SALE' sign", "A blue 'OPEN' sign"]},
              repeats=1, fail_one=False)
    return Lab(data_dir, client=lambda: pytest.fail("a comparison sends nothing"))


def test_the_experiment_is_the_first_axis_and_every_row_says_which(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    assert list(cmp.axes) == [EXPERIMENT, "promptExtend", "size"]
    assert cmp.axes[EXPERIMENT] == ["before", "after"]
    df = cmp.df
    assert list(df[EXPERIMENT]) == ["before"] * 4 + ["after"] * 2
    assert cmp.counts()["images"] == len(cmp.images) == 6
    assert set(cmp.images[EXPERIMENT]) == {"before", "after"}
    # the cost is the members' together, by the one rule every summary uses
    assert cmp.cost == pytest.approx(lab.experiment("before").cost + lab.experiment("after").cost)
    assert "before vs after" in repr(cmp) and "Experiment 'after'" in repr(cmp)


def test_an_axis_one_experiment_lacks_reads_what_its_requests_sent(lab: Lab) -> None:
    df = lab.compare("after", "square").df.set_index(EXPERIMENT)
    # 'square' has no size axis: its cells read the size they were sent with (the model's default)
    square = lab.experiment("square").df
    sent = {f"{w}x{h}" for w, h in zip(square["width"], square["height"])}
    assert set(df.loc["square", "size"]) == sent
    # 'after' has no prompt axis: its cells read the prompt they sent
    assert set(df.loc["after", "prompt"]) == {"A premium poster for LUMIERE, 'Glow, Renewed.' headline"}
    # promptExtend, absent from 'after', reads the model's default (what Runware applies when it is not sent)
    both = lab.compare("before", "after").df.set_index(EXPERIMENT)
    assert set(both.loc["after", "promptExtend"]) == {True}


def test_the_axes_and_summary_list_the_values_filled_in_for_a_member_without_the_axis(lab: Lab) -> None:
    """'square' sent the model's default size, which the grid shows as a column of its own: the
    comparison's axes (and its summary, and --where) must know that value too."""
    cmp = lab.compare("after", "square")
    square = lab.experiment("square").df
    default = {f"{w}x{h}" for w, h in zip(square["width"], square["height"])}
    assert default and not default & set(SIZES)
    assert cmp.axes["size"] == [*SIZES, *sorted(default)]
    assert cmp.axes["prompt"][-1] == "A premium poster for LUMIERE, 'Glow, Re…"  # the prompt 'after' sent, cut as labels are
    line = next(x for x in cmp.summary().splitlines() if x.strip().startswith("axes:"))
    assert f"size = {', '.join([*SIZES, *sorted(default)])}" in line
    assert tuple(Catalog.load(cmp).axes["size"].values) == (*SIZES, *sorted(default))


def test_the_summary_names_filled_in_values_as_the_grid_and_the_report_do(emulator, data_dir: Path, lab: Lab) -> None:
    """demo against lumiere-extend: the demo's negative prompts come with its examples (a bundle
    axis), so the comparison fills them in on its negativePrompt axis. The summary (`qwenlab
    compare`, the report's header) cut each to its first 40 characters, two of them alike
    ("blurry text, misspelled words, extra…"), where the grid and the report's axes row number
    them apart ("negativePrompt 3: …"). Labels agree everywhere."""
    common = "blurry text, misspelled words, extra letters, warped label, low contrast, "
    run_sweep(emulator, data_dir, name="bundled-negatives", repeats=1, fail_one=False,
              axes={"look": {"soft": {"negativePrompt": common + "harsh shadows"},
                             "hard": {"negativePrompt": common + "cartoon style"}}})
    run_sweep(emulator, data_dir, name="negatives", repeats=1, fail_one=False,
              axes={"negativePrompt": [None, "blurry text"]})
    cmp = lab.compare("bundled-negatives", "negatives")
    catalog = Catalog.load(cmp)
    line = next(x for x in cmp.summary().splitlines() if x.strip().startswith("axes:"))
    said = dict(part.split(" = ", 1) for part in line.strip().removeprefix("axes: ").split("; "))
    info = catalog.axes["negativePrompt"]
    labels = [info.label(v) for v in info.values]
    assert len(set(labels)) == len(labels) == 4, labels
    assert said["negativePrompt"] == " | ".join(labels), (said["negativePrompt"], labels)


def test_an_axis_the_requests_cannot_answer_reads_a_dash(emulator, data_dir: Path, lab: Lab) -> None:
    run_sweep(emulator, data_dir, name="bundled", repeats=1, fail_one=False,
              axes={"look": {"plain": {"promptExtend": False}, "extended": {"promptExtend": True}}})
    df = lab.compare("before", "bundled").df.set_index(EXPERIMENT)
    assert set(df.loc["before", "look"]) == {ABSENT}
    assert set(df.loc["bundled", "look"]) == {"plain", "extended"}


def test_an_axis_only_one_run_has_stays_in_the_cells_so_every_page_holds_both(emulator, data_dir: Path,
                                                                             lab: Lab) -> None:
    run_sweep(emulator, data_dir, name="bundled", repeats=1, fail_one=False,
              axes={"look": {"plain": {"promptExtend": False}, "extended": {"promptExtend": True}}})
    grid = lab.compare("before", "bundled").grid(rows="experiment", cols="size")
    # paged by "look" too, 'before' (which reads "-" there) and 'bundled' never met on a page
    assert [p.values for p in grid.pages] == [{"promptExtend": True}, {"promptExtend": False}]
    for page in grid.pages:
        drawn = " ".join(" ".join(t.split()) for t in texts(page.figure))
        assert "experiment: before" in drawn and "experiment: bundled" in drawn


def test_an_axis_whose_values_the_runs_do_not_share_stays_in_the_cells(emulator, data_dir: Path, lab: Lab) -> None:
    """Both runs sweep negativePrompt, but only "none" is in both: paging by it gave each run's own
    negative prompts pages with that run alone (demo against lumiere-extend: 10 of 12 pages)."""
    for name, negative in (("neg-a", "blurry text"), ("neg-b", "warped label")):
        run_sweep(emulator, data_dir, name=name, repeats=1, fail_one=False,
                  axes={"promptExtend": [True, False], "size": SIZES, "negativePrompt": [None, negative]})
    grid = lab.compare("neg-a", "neg-b").grid(rows="experiment", cols="size")
    assert [p.values for p in grid.pages] == [{"promptExtend": True}, {"promptExtend": False}]
    for page in grid.pages:
        drawn = " ".join(" ".join(t.split()) for t in texts(page.figure))
        assert "experiment: neg-a" in drawn and "experiment: neg-b" in drawn
    # named, it still pages
    assert len(lab.compare("neg-a", "neg-b").grid(rows="experiment", cols="size", page="negativePrompt").pages) == 3
    # one experiment alone pages by every axis, as before
    assert len(lab.experiment("neg-a").grid(rows="promptExtend", cols="size").pages) == 2


def test_grid_with_the_experiment_as_rows(lab: Lab, tmp_path: Path) -> None:
    cmp = lab.compare("before", "after")
    grid = cmp.grid(rows="experiment", cols="size", where={"promptExtend": "on"})
    drawn = texts(grid.figures[0])
    assert any("experiment: before" in t for t in drawn) and any("experiment: after" in t for t in drawn)
    assert any("before vs after" in t for t in drawn)  # the title names what is compared
    # the prompts differ between the runs and no axis of the grid says so: the footnote gives each
    # with its experiment, or the edit being compared would show nowhere on the page
    notes = " ".join(" ".join(t.split()) for t in drawn)
    assert f"prompt, experiment: before: {PROMPT}" in notes
    assert "prompt, experiment: after: A premium poster for LUMIERE, 'Glow, Renewed.' headline" in notes
    written = cmp.grid(rows="experiment", cols="size", where={"promptExtend": "on"}, path=tmp_path / "cmp.png")
    with Image.open(written[0]) as img:
        assert img.size[0] > 300 and img.size[1] > 300


def test_pairs_along_the_experiment_match_the_same_cell_of_each(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    df = cmp.pairs("experiment")
    assert (df.attrs["a"], df.attrs["b"]) == ("before", "after")
    assert len(df) == 2  # the two sizes with promptExtend on (after's default); 'off' has no partner
    tasks = {t["id"]: t for t in lab.log.rows("SELECT * FROM tasks")}
    names = {e["id"]: e["name"] for e in lab.log.rows("SELECT id, name FROM experiments")}
    for r in df.itertuples():
        a, b = tasks[r.task_a], tasks[r.task_b]
        assert (names[a["experiment_id"]], names[b["experiment_id"]]) == ("before", "after")
        assert (a["width"], a["height"]) == (b["width"], b["height"])
    assert set(df["size"]) == set(SIZES)


def test_judgements_across_experiments_are_kept_for_any_later_comparison(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    first = cmp.pairs("experiment").iloc[0]
    record_judgement(cmp, "experiment", int(first.image_a), int(first.image_b), "b")
    row = lab.log.rows("SELECT * FROM judgements")[0]
    # no single experiment owns it; its two images say which experiments it compares
    assert row["experiment_id"] is None and row["axis"] == "experiment"
    again = lab.compare("after", "before")  # another comparison of the same two finds it
    rates = win_rates(again, "experiment").set_index("value")
    assert rates.loc["after", "wins"] == 1 and rates.loc["before", "losses"] == 1
    assert lab.experiment("before").log.judgements(lab.experiment("before").id) == []
    assert win_rates(lab.compare("before", "square"), "experiment")["judgements"].sum() == 0


def test_a_judgement_inside_one_experiment_is_that_experiments(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    pair = cmp.pairs("promptExtend").iloc[0]
    record_judgement(cmp, "promptExtend", int(pair.image_a), int(pair.image_b), "a")
    before = lab.experiment("before")
    assert [j["axis"] for j in before.log.judgements(before.id)] == ["promptExtend"]
    assert win_rates(before, "promptExtend").set_index("value").loc["on", "wins"] == 1


def test_blind_judging_widget_on_a_comparison(lab: Lab) -> None:
    judging = lab.compare("before", "after").judge("experiment", seed=1)
    assert judging.total_pairs == 2
    judging.choose("a")
    stored = lab.log.rows("SELECT * FROM judgements")
    assert len(stored) == 1 and stored[0]["experiment_id"] is None
    assert isinstance(judging, Judging) and "before vs after" in repr(judging)


def test_costs_by_experiment(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    by = cmp.costs().by("experiment")
    assert list(by.index) == ["before", "after"]
    assert list(by["tasks"]) == [4, 2]


def test_costs_of_some_of_the_compared_experiments_and_bad_choices_named(lab: Lab) -> None:
    """cmp.costs(experiments=...) narrows to some of the compared runs. It raised "Costs() got
    multiple values for keyword argument 'experiments'", naming neither the value nor the runs to
    choose from; a bad value now names the parameter, the value and the compared experiments."""
    import pandas as pd

    cmp = lab.compare("before", "after")
    assert list(cmp.costs(experiments="after").by("experiment").index) == ["after"]
    assert list(cmp.costs(experiments=pd.Series(["after", "before"])).by("experiment")["tasks"]) == [4, 2]
    assert cmp.costs(experiments=None, since="2000").experiments == ["before", "after"]
    choices = "the compared experiments are 'before', 'after'"
    with pytest.raises(ExperimentNotFoundError, match=f"experiments: no experiment named 'nope' in the log; {choices}"):
        cmp.costs(experiments=["before", "nope"])
    with pytest.raises(ComparisonError, match=r"experiments: 'square' is not in this comparison \(before vs after\); "
                                              "choose among 'before', 'after', or compare it too"):
        cmp.costs(experiments="square")
    with pytest.raises(TypeError, match=f"experiments: experiment names are text, not int 3; {choices}"):
        cmp.costs(experiments=[3])
    with pytest.raises(TypeError, match=r"experiments: one name or a list of names of the compared experiments "
                                        r"\('before', 'after'\), not int 2"):
        cmp.costs(experiments=2)
    with pytest.raises(ComparisonError, match="experiments: no experiment named .*give one or more of 'before', 'after'"):
        cmp.costs(experiments=[])


class _Reads:
    """An OCR engine that reads the headline each image was asked for."""

    name, version = "fake", "fake 1"

    def read(self, image: str) -> Reading:
        with Image.open(image) as img:
            w, h = img.size
        return Reading(self.name, (TextLine("Glow, Refined.", 0.9, ((0, 0), (w, 0), (w, 9), (0, 9))),), self.version, 0.0, w, h)


def test_text_scores_of_a_comparison_are_each_experiments(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    df = cmp.score_text(_Reads(), progress=False)
    assert len(df) == 6 and set(df[EXPERIMENT]) == {"before", "after"}
    by = df.groupby(EXPERIMENT)["word_accuracy"].mean()
    assert by["before"] == 1.0 and by["after"] < 1.0  # 'after' asked for "Glow, Renewed."
    # stored as each experiment's own: the experiment alone sees its scores
    assert len(lab.experiment("before").text_scores()) == 4
    assert cmp.text_scores().equals(df)


class _OtherReads(_Reads):
    """Another OCR engine: its scores are not comparable with the first one's."""

    name, version = "other", "other 1"


def test_a_comparison_scored_by_two_engines_says_which_scores_it_shows(lab: Lab, tmp_path: Path) -> None:
    """'before' scored by one engine, 'after' by another: the comparison showed the most used
    engine's scores only, 'after' left out of every mean without a word. Each view now says
    which engine's scores it shows, how many images are left out and how to score them."""
    lab.experiment("before").score_text(_Reads(), progress=False)
    lab.experiment("after").score_text(_OtherReads(), progress=False)
    cmp = lab.compare("before", "after")
    said = ("text scores by fake: 2 images of 'after' scored by other only are left out; to score every image with "
            "one engine, score them with fake too: cmp.score_text('fake') (qwenlab score after --engine fake)")
    with pytest.warns(UserWarning, match="2 images of 'after' scored by other only are left out") as caught:
        df = cmp.text_scores()
    assert set(df[EXPERIMENT]) == {"before"} and str(df.attrs["left_out"]) == said
    assert said in str(caught[0].message)
    assert score_badges(cmp).left_out.images == 2
    drawn = " ".join(" ".join(t.split()) for t in texts(cmp.grid(rows="experiment", cols="size", score="word_accuracy")[0]))
    assert said in drawn
    header = html.unescape(cmp.explore().header.value)  # the engine named once: "(fake)", then what it left out
    assert f"text-scored (fake)<br><small>{said.removeprefix('text scores by fake: ')}</small>" in header, header
    assert "text scores by fake" not in header
    cmp.export(tmp_path / "compare.html")
    assert "OCR by fake: " in (report := html.unescape((tmp_path / "compare.html").read_text()))
    assert said.removeprefix("text scores by fake: ") in report
    assert cmp.pairs("experiment").attrs["score_left_out"].images == 2
    # an engine chosen is that engine's scores, without a warning; scored by one engine, nothing is left out
    assert set(cmp.text_scores("other")[EXPERIMENT]) == {"after"}
    cmp.score_text(_Reads(), progress=False)
    assert score_badges(cmp).left_out is None and cmp.text_scores().attrs["left_out"] is None
    assert set(cmp.text_scores()[EXPERIMENT]) == {"before", "after"}


def test_every_view_reads_the_comparison_through_the_catalog(lab: Lab) -> None:
    catalog = Catalog.load(lab.compare("before", "after"))
    assert catalog.axes[EXPERIMENT].labels == ("before", "after")
    assert len(catalog.where({"experiment": "after"}).entries) == 2


def test_bad_comparisons_name_the_fix(lab: Lab) -> None:
    with pytest.raises(ComparisonError, match="two or more"):
        lab.compare("before")
    with pytest.raises(ComparisonError, match="two or more different experiment names, got 'before' 2 times"):
        lab.compare("before", "before")  # it said "got ['before']", as if one name had been given
    with pytest.raises(ExperimentNotFoundError, match="known: before, after, square"):
        lab.compare("before", "nope")


def test_a_comparison_is_read_only(lab: Lab) -> None:
    cmp = lab.compare("before", "after")
    for name in ("run", "extend", "resume"):
        assert not hasattr(cmp, name)
    lab.experiment("before").tag("posters")
    assert cmp.tags == ["posters"]  # its experiments' tags, read
    for change in (lambda: cmp.tag("x"), lambda: cmp.rename("y"), lambda: cmp.note("z"), lambda: cmp.archive(),
                   lambda: cmp.delete(confirm=True)):
        with pytest.raises(ComparisonError, match=r"read-only: \w+\(\) one of its experiments instead, e.g. lab.experiment\('before'\)"):
            change()
    assert lab.log.experiment_names() == ["before", "after", "square"]  # nothing made, renamed or deleted
    assert lab.experiment("before").tags == ["posters"] and lab.experiment("after").tags == []


def test_the_images_of_a_comparison_export_with_the_experiment_in_their_names(lab: Lab, tmp_path: Path) -> None:
    cmp = lab.compare("before", "after")
    written = cmp.export_images(tmp_path / "kept", where={"promptExtend": "on"})
    assert len(written) == 4
    names = sorted(p.path.name for p in written)
    assert sum("experiment-before" in n for n in names) == 2 and sum("experiment-after" in n for n in names) == 2
    # each image's record names the experiment it is from, not the comparison
    records = [json.loads(p.sidecar.read_text(encoding="utf-8")) for p in written]
    assert sorted(r["experiment"] for r in records) == ["after", "after", "before", "before"]
    assert all(r["values"]["experiment"] == r["experiment"] for r in records)


def test_the_explorer_and_the_html_report_take_a_comparison(lab: Lab, tmp_path: Path) -> None:
    from qwenlab.html.report import export_html

    cmp = lab.compare("before", "after")
    explorer = cmp.explore()
    assert "before vs after" in repr(explorer) and len(explorer.items) == 6
    explorer.select(explorer.items[-1])
    explorer.rate(5, "the new prompt's headline")
    rated = lab.log.rows("SELECT i.experiment_id FROM ratings r JOIN images i ON i.id = r.image_id")
    assert len(rated) == 1 and len(cmp.log.ratings(cmp.id)) == 1  # a rating is the image's, wherever it was made
    text = export_html(cmp, tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "before vs after" in text and "by experiment" in text  # costs of both runs, by run
    # each run's own budget and base request: the report said "budget: none" and showed {}
    assert "budget</td><td>before: none; after: none" in text.replace("<td class=\"num\">", "<td>")
    assert "before: the sweep&#x27;s base request" in text and "after: the sweep&#x27;s base request" in text
    assert "Glow, Renewed." in text and "<pre>{}</pre>" not in text


def test_a_cell_sent_reads_running_only_in_the_member_whose_run_still_sends(lab: Lab) -> None:
    """A task sent with no answer logged is waiting for it while its run still sends ("running"),
    and in doubt once its run ended: in a comparison, per member, not by the comparison's status
    (the least finished member's), which read every member's as its own."""
    import sqlite3

    from qwenlab.store.run_lock import holding_run

    before, after = lab.experiment("before"), lab.experiment("after")
    with sqlite3.connect(lab.log.path) as db:  # one cell of each on the wire (or left so)
        for exp in (before, after):
            db.execute("UPDATE tasks SET status = 'sent' WHERE id = (SELECT min(id) FROM tasks WHERE experiment_id = ?)",
                       [exp.id])
    with holding_run(lab.log.path, before.id):  # 'before' is running; 'after' ended
        lab.log.update_experiment(before.id, status="running")
        cat = Catalog.load(lab.compare("before", "after"))
        lab.log.update_experiment(before.id, status="done")
    sent = {e.value(EXPERIMENT): e for e in cat.entries if e.status == "sent"}
    assert cat.live and sent["before"].status_said == "running" and sent["after"].status_said == "in_doubt"
    assert sent["before"].problem().startswith("RUNNING") and sent["after"].problem().startswith("IN DOUBT")
    assert not Catalog.load(lab.compare("before", "after")).live
