"""Blind judging: the Wilson interval against published values, win rates from judgements
recorded in the log, and the widget driven by its buttons (the log read back with sqlite3)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from qwenlab import Experiment, Lab, Sweep
from qwenlab.analysis.judging import (
    CRITERIA,
    confounded,
    judgements,
    record_judgement,
    summary,
    undo_judgement,
    wilson_interval,
    win_rates,
)
from qwenlab.analysis.pairs import pairs
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator
from qwenlab.errors import JudgementError
from qwenlab.widgets.judging import Judging


@pytest.fixture
def lab(emulator: Emulator, data_dir: Path) -> Iterator[Lab]:
    client = RunwareClient("sk-judging-test", emulator.url, images_dir=data_dir / "images", backoff_base=0.01)
    yield Lab(data_dir, client=client)
    client.close()


def run(lab: Lab, repeats: int = 2) -> Experiment:
    sweep = Sweep(prompt="A poster for 'LUMIERE'", size="256x384", repeats=repeats,
                  axes={"promptExtend": [True, False], "outputQuality": [60, 61, 62]})
    return lab.run(sweep, name="judged", progress=False)


def judgements_in_db(exp: Experiment) -> list[tuple]:
    with sqlite3.connect(exp.log.path) as db:
        return db.execute("SELECT experiment_id, axis, image_a, image_b, winner FROM judgements ORDER BY id").fetchall()


def on_off(exp: Experiment) -> list[tuple[int, int]]:
    """(image with promptExtend on, image with it off) of each pair."""
    df = pairs(exp, "promptExtend")
    assert df.attrs["a"] == "on"
    return [(int(a), int(b)) for a, b in zip(df["image_a"], df["image_b"])]


# -- the interval -----------------------------------------------------------------------------------
@pytest.mark.parametrize("successes, n, low, high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    # by hand: z = 1.95996, p = 0.8, centre (p + z²/2n)/(1 + z²/n) = 0.71674, half-width 0.22657
    (8, 10, 0.4902, 0.9433),
])
def test_wilson_interval_matches_published_values(successes: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=6e-5) and hi == pytest.approx(high, abs=6e-5)


def test_wilson_interval_edges() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.69 < lo < 0.73  # never beyond 1, unlike p ± z·se
    assert wilson_interval(8, 10, 0.99)[0] < wilson_interval(8, 10, 0.95)[0]  # wider when surer
    lo, hi = wilson_interval(3.5, 6)  # ties as halves: fractional successes are fine
    assert lo < 3.5 / 6 < hi
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, 1.5)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_is_exactly_0_or_1_at_no_wins_and_every_win(confidence: float) -> None:
    """0 of n: the lower bound is 0, n of n: the upper bound is 1, exactly (computed, 0 of 10 gave
    2.8e-17, a value never winning seeming to exclude 0, and 13 of 13 gave 0.9999999999999999)."""
    for n in range(1, 201):
        assert wilson_interval(0, n, confidence)[0] == 0.0, n
        assert wilson_interval(n, n, confidence)[1] == 1.0, n
        assert 0 < wilson_interval(0, n, confidence)[1] < 1 and 0 < wilson_interval(n, n, confidence)[0] < 1


# -- win rates from the log -------------------------------------------------------------------------
def test_win_rates_count_each_side_and_ties_as_said(lab: Lab) -> None:
    exp = run(lab)
    ps = on_off(exp)
    assert len(ps) == 6
    # "on" wins 3 (twice shown left, once right), "off" wins 1, 2 ties
    record_judgement(exp, "promptExtend", ps[0][0], ps[0][1], "a")
    record_judgement(exp, "promptExtend", ps[1][0], ps[1][1], "a")
    record_judgement(exp, "promptExtend", ps[2][1], ps[2][0], "b")
    record_judgement(exp, "promptExtend", ps[3][1], ps[3][0], "a")
    record_judgement(exp, "promptExtend", ps[4][0], ps[4][1], "tie")
    record_judgement(exp, "promptExtend", ps[5][1], ps[5][0], "tie")
    assert len(judgements_in_db(exp)) == 6

    half = win_rates(exp, "promptExtend").set_index("value")
    assert half.loc["on", ["judgements", "wins", "losses", "ties"]].tolist() == [6, 3, 1, 2]
    assert half.loc["off", ["judgements", "wins", "losses", "ties"]].tolist() == [6, 1, 3, 2]
    assert half.loc["on", "win_rate"] == pytest.approx(4 / 6) and half.loc["off", "win_rate"] == pytest.approx(2 / 6)
    # by hand: p = 4/6, n = 6 -> centre 0.60163, half-width 0.30162
    assert half.loc["on", "ci_low"] == pytest.approx(0.3000, abs=1e-4)
    assert half.loc["on", "ci_high"] == pytest.approx(0.9032, abs=1e-4)
    assert half.attrs["ties"] == "half"

    excl = win_rates(exp, "promptExtend", ties="exclude").set_index("value")
    assert excl.loc["on", "judgements"] == 4 and excl.loc["on", "win_rate"] == pytest.approx(0.75)
    assert (excl.loc["on", "ci_low"], excl.loc["on", "ci_high"]) == pytest.approx(wilson_interval(3, 4))

    text = summary(exp, "promptExtend")
    # [0.29999, 0.90323] printed outward: the interval printed holds the one computed
    assert text.splitlines()[0].startswith("overall: promptExtend=on wins 67% [29%, 91%] of 6 judgements (ties counted as half")
    assert "overall: promptExtend=off wins 33%" in text
    assert "ties excluded" in summary(exp, "promptExtend", ties="exclude")


def test_an_interval_holding_50_percent_never_prints_as_starting_at_it(lab: Lab, tmp_path: Path) -> None:
    """10 wins of 13: Wilson's interval is [0.4974, 0.9182], which holds 50% (no preference).
    Rounded to the nearest it printed "[50%, 92%]", read as a preference just made out; its bounds
    are rounded outward now, in the sentence and in the report's table."""
    exp = run(lab, repeats=5)
    ps = on_off(exp)
    assert len(ps) == 15
    for i, (on, off) in enumerate(ps[:13]):
        record_judgement(exp, "promptExtend", on, off, "a" if i < 10 else "b")
    rates = win_rates(exp, "promptExtend").set_index("value")
    assert rates.loc["on", "ci_low"] == pytest.approx(0.4974, abs=1e-4) and rates.loc["on", "ci_high"] == pytest.approx(0.9182, abs=1e-4)
    lines = summary(exp, "promptExtend").splitlines()
    assert lines[0].startswith("overall: promptExtend=on wins 77% [49%, 92%] of 13 judgements"), lines[0]
    assert lines[1].startswith("overall: promptExtend=off wins 23% [8%, 51%] of 13 judgements"), lines[1]  # [0.0818, 0.5026]
    report = exp.export(tmp_path / "report.html").read_text(encoding="utf-8").split("<h3>blind judgements</h3>")[1]
    assert "<td>49% to 92%</td>" in report and "<td>8% to 51%</td>" in report and "rounded outward" in report


def test_no_judgements_yet_says_so(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    frame = win_rates(exp, "promptExtend")
    assert frame["judgements"].tolist() == [0, 0] and frame["win_rate"].isna().all()
    assert summary(exp, "promptExtend") == ("overall: promptExtend=on: no judgements yet\n"
                                            "overall: promptExtend=off: no judgements yet")


@pytest.mark.parametrize("confidence", [95, 1, 0, -0.5, True, "0.95", math.nan])
def test_a_bad_confidence_is_refused_with_the_fix_before_the_judgements_are_read(lab: Lab, confidence: object) -> None:
    """summary(confidence=95) (a percent for a fraction) with nothing judged yet answered "no
    judgements yet", as if 95 were fine: the interval is computed only for a value judged, so the
    argument was never looked at. It is refused with the fix before the log is read."""
    exp = run(lab, repeats=1)
    for call in (summary, win_rates):
        with pytest.raises(ValueError, match=r"confidence must be a fraction between 0 and 1.*e\.g\. 0\.95"):
            call(exp, "promptExtend", confidence=confidence)
    with pytest.raises(ValueError, match="confidence=95 is a percent: pass 0.95"):
        summary(exp, "promptExtend", confidence=95)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(0, 0, 95)  # no judgement either: the level is still judged first


def test_a_pair_judged_again_counts_once_by_its_latest_judgement(lab: Lab) -> None:
    """Judging again (rejudge=True) adds rows to the log; counted too, one comparison weighed
    twice and the interval narrowed as if twice the pairs had been seen."""
    exp = run(lab, repeats=1)
    ps = on_off(exp)
    assert len(ps) == 3
    for on, off in ps:
        record_judgement(exp, "promptExtend", on, off, "a")  # "on" wins every pair
    record_judgement(exp, "promptExtend", ps[0][1], ps[0][0], "a")  # judged again, sides swapped: now "off" wins it
    record_judgement(exp, "promptExtend", ps[1][0], ps[1][1], "tie")
    assert len(judgements_in_db(exp)) == 5

    rates = win_rates(exp, "promptExtend").set_index("value")
    assert rates.loc["on", ["judgements", "wins", "losses", "ties"]].tolist() == [3, 1, 1, 1]
    assert (rates.loc["on", "ci_low"], rates.loc["on", "ci_high"]) == pytest.approx(wilson_interval(1.5, 3))
    assert rates.attrs["judged_again"] == {"overall": 2}
    text = summary(exp, "promptExtend")
    assert "of 3 judgements" in text and "2 earlier judgements of pairs judged again not counted" in text
    j = Judging(exp, "promptExtend", rejudge=True)
    assert len(j.queue) == 3 and j.judged_before == 3  # every pair shown again; all three judged before


def test_ties_only_said_as_such_and_levels_shown_as_given(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    ps = on_off(exp)
    record_judgement(exp, "promptExtend", ps[0][0], ps[0][1], "tie")
    record_judgement(exp, "promptExtend", ps[1][0], ps[1][1], "tie")
    excl = summary(exp, "promptExtend", ties="exclude")
    assert excl.splitlines()[0] == "overall: promptExtend=on: 2 ties only, which ties='exclude' leaves out of the rate"
    record_judgement(exp, "promptExtend", ps[2][0], ps[2][1], "a")
    one = summary(exp, "promptExtend", ties="exclude", confidence=0.995)
    assert "of 1 judgement (" in one and "99.5% Wilson interval" in one  # not "1 judgements", not "100%"


def test_record_judgement_refuses_what_is_not_a_comparison(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    (on, off), (on2, _) = on_off(exp)[:2]
    with pytest.raises(JudgementError, match="winner must be 'a'"):
        record_judgement(exp, "promptExtend", on, off, "left")
    with pytest.raises(JudgementError, match="same promptExtend"):
        record_judgement(exp, "promptExtend", on, on2, "a")
    with pytest.raises(JudgementError, match="image_b=99999 is not an image of experiment 'judged'"):
        record_judgement(exp, "promptExtend", on, 99999, "a")
    with pytest.raises(JudgementError, match="'seed' is not an axis of experiment 'judged'; its axes: promptExtend"):
        record_judgement(exp, "seed", on, off, "a")
    assert judgements_in_db(exp) == []


@pytest.mark.parametrize("bad", ["x", None, 1.5, True])
def test_an_image_or_judgement_id_that_is_no_whole_number_is_refused_naming_it(lab: Lab, bad: object) -> None:
    """record_judgement(exp, axis, 1.5, 2, "a") took 1.5 for image 1 (int() truncates), and "x"
    or None failed in int() with its own message, naming no parameter; undo_judgement as well."""
    exp = run(lab, repeats=1)
    on, off = on_off(exp)[0]
    with pytest.raises(JudgementError, match=r"image_a: give an image's id, a whole number from exp\.images\['image_id'\]"):
        record_judgement(exp, "promptExtend", bad, off, "a")  # type: ignore[arg-type]
    with pytest.raises(JudgementError, match=r"image_b: give an image's id"):
        record_judgement(exp, "promptExtend", on, bad, "a")  # type: ignore[arg-type]
    assert judgements_in_db(exp) == []
    record_judgement(exp, "promptExtend", exp.images["image_id"].astype("int64")[exp.images["image_id"] == on].iloc[0], off, "a")
    with pytest.raises(JudgementError, match=r"judgement_id: give a judgement's id, a whole number"):
        undo_judgement(exp, bad)  # type: ignore[arg-type]
    assert len(judgements_in_db(exp)) == 1  # a numpy integer is an id; nothing undone


def test_an_axis_given_as_a_list_or_of_an_experiment_without_axes_is_refused_with_the_fix(lab: Lab) -> None:
    """exp.judge(["promptExtend"]) failed with "unhashable type: 'list'", naming nothing; an
    experiment of one setting answered "'promptExtend' is not an axis ...; its axes: " and nothing."""
    exp = run(lab, repeats=1)
    for call in (exp.judge, lambda axis: summary(exp, axis), lambda axis: win_rates(exp, axis)):
        with pytest.raises(JudgementError, match=r"axis=\['promptExtend'\]: give one axis name as a string, e\.g\. "
                                                 r"axis='promptExtend'"):
            call(["promptExtend"])
    one = lab.run(Sweep(prompt="A poster for 'LUMIERE'", size="256x384"), name="one", progress=False)
    with pytest.raises(JudgementError, match=r"'promptExtend' is not an axis of experiment 'one', which has none \(one "
                                             r"setting, no sweep axis\).*axes=\{'promptExtend': \[True, False\]\}"):
        one.judge("promptExtend")


def test_record_judgement_refuses_two_images_that_differ_in_another_setting_too(lab: Lab) -> None:
    """By hand, record_judgement took promptExtend on at quality 60 against off at quality 61: a
    verdict along promptExtend confounded with the quality, counted in its win rate though the
    judging widget never offers such a pair. It is refused, naming what else differs."""
    exp = run(lab, repeats=1)
    images = exp.images
    on60, off61 = (int(images[(images.promptExtend == pe) & (images.outputQuality == q)]["image_id"].iloc[0])
                   for pe, q in ((True, 60), (False, 61)))
    with pytest.raises(JudgementError, match=r"images \d+ and \d+ differ in outputQuality \(60 against 61\) as well as in "
                                             r"promptExtend.*qwenlab\.analysis\.pairs\.pairs\(exp, 'promptExtend'\)"):
        record_judgement(exp, "promptExtend", on60, off61, "a")
    assert judgements_in_db(exp) == []
    on, off = on_off(exp)[0]  # a pair that differs in promptExtend alone is taken, as before
    record_judgement(exp, "promptExtend", on, off, "a")
    assert len(judgements_in_db(exp)) == 1


def insert_as_of_old(exp: Experiment, image_a: int, image_b: int, winner: str, criterion: str = "overall") -> None:
    """A judgement written as record_judgement wrote it before it refused confounded pairs."""
    with sqlite3.connect(exp.log.path) as db:
        db.execute("INSERT INTO judgements (experiment_id, axis, image_a, image_b, winner, criterion, created_at) "
                   "VALUES (?, 'promptExtend', ?, ?, ?, ?, '2026-12-01T00:00:00Z')", (exp.id, image_a, image_b, winner, criterion))


def test_a_confounded_judgement_of_an_old_log_is_left_out_of_the_win_rates_and_said(lab: Lab, tmp_path: Path) -> None:
    """Before record_judgement refused them, a judgement by hand could set promptExtend on at
    quality 60 against off at quality 61, and an old log still counted it in promptExtend's win
    rate, confounded with the quality. It is left out of every count now; the rows, the sentences
    and the report say how many and why, and `confounded` lists them with what else differs."""
    exp = run(lab, repeats=1)
    on, off = on_off(exp)[0]
    record_judgement(exp, "promptExtend", on, off, "a")  # a clean pair: "on" wins
    images = exp.images
    on60, off61 = (int(images[(images.promptExtend == pe) & (images.outputQuality == q)]["image_id"].iloc[0])
                   for pe, q in ((True, 60), (False, 61)))
    insert_as_of_old(exp, on60, off61, "b")  # "off" wins, at another quality
    insert_as_of_old(exp, off61, on60, "tie", "text correct")  # a criterion judged on confounded pairs only

    rates = win_rates(exp, "promptExtend").set_index(["criterion", "value"])
    cols = ["judgements", "wins", "losses", "ties", "left_out"]
    assert rates.loc[("overall", "on"), cols].tolist() == [1, 1, 0, 0, 1]
    assert rates.loc[("overall", "off"), cols].tolist() == [1, 0, 1, 0, 1]
    assert (rates.loc[("overall", "on"), "ci_low"], rates.loc[("overall", "on"), "ci_high"]) == pytest.approx(wilson_interval(1, 1))
    assert rates.loc[("text correct", "on"), cols].tolist() == [0, 0, 0, 0, 1]

    left = confounded(exp, "promptExtend")
    assert [(j["image_a"], j["image_b"], j["winner"], j["criterion"], j["differs"]) for j in left] == [
        (on60, off61, "b", "overall", "outputQuality (60 against 61)"),
        (off61, on60, "tie", "text correct", "outputQuality (61 against 60)")]
    assert [j["id"] for j in confounded(exp, "promptExtend", "text correct")] == [left[1]["id"]]
    assert [j["id"] for j in rates.attrs["confounded"]] == [j["id"] for j in left]

    lines = summary(exp, "promptExtend").splitlines()
    said = "1 judgement left out, its images differ in another setting too (see qwenlab.analysis.judging.confounded(exp, 'promptExtend'))"
    assert lines[0].startswith("overall: promptExtend=on wins 100% [") and "of 1 judgement (" in lines[0] and said in lines[0]
    assert lines[2] == f"text correct: promptExtend=on: no judgements counted; {said}"
    report = exp.export(tmp_path / "report.html").read_text(encoding="utf-8").split("<h3>blind judgements</h3>")[1]
    assert "2 judgements left out: their two images differ in another setting too" in report


def test_with_pinned_seeds_two_images_of_different_seeds_are_refused(lab: Lab, seeded_model: str) -> None:
    """Pinned seeds pair on the seed: on with seed 500 against off with seed 501 compares two
    starting noises as well as promptExtend."""
    sweep = Sweep(prompt="A poster for 'LUMIERE'", model=seeded_model, size="256x384", repeats=2, seed_policy="pin", seed=500,
                  axes={"promptExtend": [True, False]})
    exp = lab.run(sweep, name="pinned", progress=False)
    images = exp.images
    on500 = int(images[images.promptExtend & (images.repeat == 0)]["image_id"].iloc[0])
    off501 = int(images[~images.promptExtend.astype(bool) & (images.repeat == 1)]["image_id"].iloc[0])
    with pytest.raises(JudgementError, match=r"differ in the seed \(500 against 501\) as well as in promptExtend"):
        record_judgement(exp, "promptExtend", on500, off501, "a")
    assert judgements_in_db(exp) == []


# -- criteria and undo -------------------------------------------------------------------------------
def test_win_rates_are_counted_per_criterion(lab: Lab) -> None:
    exp = run(lab)
    ps = on_off(exp)
    assert CRITERIA == ("overall", "text correct")
    for on, off in ps[:4]:  # overall, "on" wins 4 of 4
        record_judgement(exp, "promptExtend", on, off, "a")
    for on, off in ps[:3]:  # but its text is worse: "off" wins 2 of 3, one tie
        record_judgement(exp, "promptExtend", off, on, "a", criterion="text correct")
    record_judgement(exp, "promptExtend", ps[3][0], ps[3][1], "tie", criterion="text correct")
    record_judgement(exp, "promptExtend", ps[4][1], ps[4][0], "b", criterion=" my own ")  # stripped
    with sqlite3.connect(exp.log.path) as db:
        stored = [r[0] for r in db.execute("SELECT criterion FROM judgements ORDER BY id")]
    assert stored == ["overall"] * 4 + ["text correct"] * 4 + ["my own"]

    every = win_rates(exp, "promptExtend")  # each criterion counted apart, the named ones first
    assert every["criterion"].tolist() == ["overall"] * 2 + ["text correct"] * 2 + ["my own"] * 2
    rows = every.set_index(["criterion", "value"])
    assert rows.loc[("overall", "on"), ["judgements", "wins", "losses", "ties"]].tolist() == [4, 4, 0, 0]
    assert rows.loc[("text correct", "off"), ["judgements", "wins", "losses", "ties"]].tolist() == [4, 3, 0, 1]
    assert rows.loc[("text correct", "off"), "win_rate"] == pytest.approx(3.5 / 4)
    assert (rows.loc[("text correct", "off"), "ci_low"], rows.loc[("text correct", "off"), "ci_high"]) \
        == pytest.approx(wilson_interval(3.5, 4))
    assert rows.loc[("my own", "on"), "wins"] == 1

    text = win_rates(exp, "promptExtend", criterion="text correct")
    assert text["criterion"].unique().tolist() == ["text correct"] and text["judgements"].tolist() == [4, 4]
    assert win_rates(exp, "promptExtend", criterion="composition")["judgements"].tolist() == [0, 0]
    lines = summary(exp, "promptExtend", criterion="text correct").splitlines()
    assert lines[1].startswith("text correct: promptExtend=off wins 88% [") and "of 4 judgements" in lines[1]


def test_judgements_without_a_criterion_count_as_overall(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    (on, off), (on2, off2) = on_off(exp)[:2]
    with sqlite3.connect(exp.log.path) as db:  # as a log written before criteria existed holds them
        db.executemany("INSERT INTO judgements (experiment_id, axis, image_a, image_b, winner, created_at) "
                       "VALUES (?, 'promptExtend', ?, ?, ?, '2026-01-01')", [(exp.id, on, off, "a"), (exp.id, off2, on2, "tie")])
    record_judgement(exp, "promptExtend", on, off, "b", criterion="text correct")
    frame = win_rates(exp, "promptExtend")
    assert frame["criterion"].tolist() == ["overall", "overall", "text correct", "text correct"]
    overall = win_rates(exp, "promptExtend", criterion="overall").set_index("value")
    assert overall.loc["on", ["judgements", "wins", "ties"]].tolist() == [2, 1, 1]


def test_undo_removes_the_judgement_and_the_rates_follow(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    (on, off), (on2, off2) = on_off(exp)[:2]
    keep = record_judgement(exp, "promptExtend", on, off, "a")
    gone = record_judgement(exp, "promptExtend", off2, on2, "a")
    assert win_rates(exp, "promptExtend").set_index("value").loc["off", "wins"] == 1
    removed = undo_judgement(exp, gone)
    assert (removed["id"], removed["image_a"], removed["winner"], removed["criterion"]) == (gone, off2, "a", "overall")
    assert [r[2:] for r in judgements_in_db(exp)] == [(on, off, "a")]
    assert win_rates(exp, "promptExtend").set_index("value").loc["off", "wins"] == 0
    with pytest.raises(JudgementError, match=f"judgement_id={gone} is not a judgement of experiment 'judged'"):
        undo_judgement(exp, gone)
    assert keep in {int(j[0]) for j in sqlite3.connect(exp.log.path).execute("SELECT id FROM judgements")}


@pytest.mark.parametrize("bad", ["", "   ", "x" * 61, "two\nlines", None, 3])
def test_a_criterion_must_be_a_short_name(lab: Lab, bad: object) -> None:
    exp = run(lab, repeats=1)
    on, off = on_off(exp)[0]
    with pytest.raises(JudgementError, match="criterion must be a short name on one line .'overall' or 'text correct'"):
        record_judgement(exp, "promptExtend", on, off, "a", criterion=bad)  # type: ignore[arg-type]
    if bad is not None:  # for win_rates, None means every criterion
        with pytest.raises(JudgementError, match="criterion must be"):
            win_rates(exp, "promptExtend", criterion=bad)  # type: ignore[arg-type]
    assert judgements_in_db(exp) == []


# -- the widget --------------------------------------------------------------------------------------
def test_the_widget_shows_every_pair_blind_in_random_order_and_sides(lab: Lab) -> None:
    exp = run(lab, repeats=4)
    ps = on_off(exp)
    assert len(ps) == 12
    j = exp.judge("promptExtend", seed=3)
    assert isinstance(j, Judging) and j.total_pairs == 12 and j.judged_before == 0
    shown = [(left, right) for left, right, _ in j.queue]
    assert {frozenset(p) for p in shown} == {frozenset(p) for p in ps}
    on_left = sum(1 for left, _ in shown if left in {a for a, _ in ps})
    assert 0 < on_left < 12  # sides drawn at random, not "on" always left
    assert [frozenset(p) for p in shown] != [frozenset(p) for p in ps]  # shuffled, not in the pairs' own order
    # labels hidden: nothing on screen names the value of either side
    import re

    visible = " ".join([j.header.value, j.left_button.description, j.right_button.description, j.tie_button.description])
    words = set(re.findall(r"[\w=]+", visible))
    assert not words & {"on", "off", "promptExtend=on", "promptExtend=off", "True", "False"}
    assert j.left.value[:2] == b"\xff\xd8" and j.right.value[:2] == b"\xff\xd8"
    assert j.results.value == ""  # no running tally while judging
    assert "12 pairs, pair 1 of 12" in repr(j)


def test_buttons_record_judgements_at_once_and_a_reopened_widget_goes_on(lab: Lab) -> None:
    exp = run(lab)
    j = Judging(exp, "promptExtend", seed=7)
    first = j.current
    j.left_button.click()
    assert judgements_in_db(exp) == [(exp.id, "promptExtend", first[0], first[1], "a")]
    second = j.current
    j.right_button.click()
    third = j.current
    j.tie_button.click()
    j.skip_button.click()  # no row for a skipped pair
    assert judgements_in_db(exp)[1:] == [(exp.id, "promptExtend", *second, "b"), (exp.id, "promptExtend", *third, "tie")]
    assert j.judged_now == 3 and j.position == 4

    again = Judging(exp, "promptExtend", seed=7)
    assert again.judged_before == 3 and len(again.queue) == 3
    assert not {frozenset(p) for p in (first, second, third)} & {frozenset((a, b)) for a, b, _ in again.queue}
    while again.current is not None:
        again.left_button.click()
    assert len(judgements_in_db(exp)) == 6
    assert again.left_button.disabled and "every pair judged" in again.header.value
    assert "promptExtend=on wins" in again.results.value and "of 6 judgements" in again.results.value
    with pytest.raises(JudgementError, match=r"every pair judged \(3 now, 3 before; 6 pairs\); see .results_frame"):
        again.choose("left")
    assert Judging(exp, "promptExtend", rejudge=True).queue.__len__() == 6


# -- on a comparison of experiments (lab.compare) ------------------------------------------------------
def test_a_comparison_keeps_the_criterion_and_undoes_judgements_across_experiments(lab: Lab) -> None:
    for name, prompt in (("low", "A poster for 'LUMIERE'"), ("high", "A gold poster for 'LUMIERE'")):
        lab.run(Sweep(prompt=prompt, size="256x384", axes={"outputQuality": [60, 61, 62]}), name=name, progress=False)
    cmp = lab.compare("low", "high")
    j = cmp.judge("experiment", seed=2, criterion="text correct")
    assert j.total_pairs == 3
    j.keys.press("ArrowRight")
    j.keys.press("1")
    with sqlite3.connect(lab.log.path) as db:
        rows = db.execute("SELECT experiment_id, axis, winner, criterion FROM judgements ORDER BY id").fetchall()
    assert rows == [(None, "experiment", "b", "text correct"), (None, "experiment", "a", "text correct")]
    j.keys.press("u")  # a judgement no experiment owns is undone all the same
    assert [r["winner"] for r in judgements(cmp, "experiment")] == ["b"]
    rates = win_rates(lab.compare("high", "low"), "experiment")
    assert rates["criterion"].unique().tolist() == ["text correct"] and rates["judgements"].tolist() == [1, 1]
    assert win_rates(cmp, "experiment", criterion="overall")["judgements"].sum() == 0
