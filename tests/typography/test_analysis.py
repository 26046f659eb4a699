"""Scores by axis value with confidence intervals, and the cost of a correctly rendered image."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qwenlab.core.intervals import share_mean_interval
from qwenlab.costs import readable
from qwenlab.errors import UnknownAxisError
from qwenlab.typography.analysis import (
    axis_lines,
    bootstrap_mean,
    by_axis,
    cost_per_correct,
    describe,
)
from qwenlab.typography.analysis import wilson_interval as wilson


def frame() -> pd.DataFrame:
    # promptExtend on: 8 images, 6 correct; off: 8 images, 2 correct; every image costs $0.075
    rows = []
    for extend, accs in ((True, [1, 1, 1, 1, 1, 1, 0.5, 0.5]), (False, [1, 1, 0.5, 0.5, 0.5, 0, 0, 0.5])):
        for acc in accs:
            rows.append({"promptExtend": extend, "size": "1024x1024", "word_accuracy": acc, "ned": acc,
                         "sentence_accuracy": acc, "correct": acc == 1, "cost_usd": 0.075})
    return pd.DataFrame(rows)


def test_wilson_interval_matches_the_textbook():
    lo, hi = wilson(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)   # Wilson, z = 1.96
    assert wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12) and wilson(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in wilson(0, 0))
    assert wilson(8, 10, 0.99)[0] < lo                # wider at 99%


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    values = [1, 1, 0.5, 0.5, 0.5, 0, 0, 0.5]
    lo, hi = bootstrap_mean(values)
    assert (lo, hi) == bootstrap_mean(values)                 # fixed seed
    assert lo < sum(values) / len(values) < hi and 0 <= lo and hi <= 1
    assert bootstrap_mean([0.7]) == (0.7, 0.7) and bootstrap_mean([1, 1, 1]) == (1.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_mean([]))


def test_by_axis_gives_one_row_per_value_in_order():
    table = by_axis(frame(), "promptExtend")
    assert table["value"].tolist() == ["on", "off"] and table["n"].tolist() == [8, 8]
    assert table["mean"].tolist() == pytest.approx([0.875, 0.5])
    assert (table["lo"] <= table["mean"]).all() and (table["mean"] <= table["hi"]).all()
    # 8 images a value: too few for the bootstrap alone, so at least Wilson's interval of the mean
    assert set(table["method"]) == {"bootstrap+wilson"}
    assert table["lo"].iloc[0] <= wilson(0.875 * 8, 8)[0] and table["hi"].iloc[1] >= wilson(4, 8)[1]
    correct = by_axis(frame(), "promptExtend", "correct")
    assert correct["mean"].tolist() == [0.75, 0.25] and set(correct["method"]) == {"wilson"}
    assert correct["lo"].iloc[0] == pytest.approx(wilson(6, 8)[0])
    assert by_axis(frame())["value"].tolist() == ["all"]


def test_describe_reads_like_the_issue_asks():
    text = describe(frame(), "promptExtend")
    assert text.startswith("promptExtend on: word accuracy 0.88 [") and "; off: word accuracy 0.50 [" in text
    assert "(n=8)" in text
    assert text.endswith("(95% intervals: bootstrap over images, at least Wilson's where fewer than 10 images or all alike)")
    assert describe(frame(), "promptExtend", "correct").endswith("(95% Wilson intervals)")
    assert "intervals" not in describe(frame(), "promptExtend", intervals=False)


def test_a_small_or_uniform_sample_of_shares_is_not_called_certain():
    """Six images that all read right gave word accuracy 1.00 [1.00, 1.00]: a bootstrap sees no
    spread where the sample shows none. A share's variance is at most a yes/no's, so Wilson's
    interval of the mean bounds what few values may hide."""
    lo, hi, method = share_mean_interval([1.0] * 6)
    assert (lo, hi) == pytest.approx(wilson(6, 6)) and round(lo, 2) == 0.61 and method == "bootstrap+wilson"
    assert share_mean_interval([0.7])[:2] == pytest.approx(wilson(0.7, 1))
    uniform = share_mean_interval([1.0] * 40)  # many, but all alike: still not [1, 1]
    assert uniform[0] == pytest.approx(wilson(40, 40)[0]) and uniform[0] < 1
    varied = [1, 0.5, 0.75, 1, 0.25] * 8  # 40 images that vary: the bootstrap's own
    assert share_mean_interval(varied) == (*bootstrap_mean(varied), "bootstrap")
    assert all(math.isnan(v) for v in share_mean_interval([])[:2])


def test_unknown_axis_or_metric_is_refused():
    with pytest.raises(UnknownAxisError, match="axis='seedz': no axis 'seedz' in the scores; give one of: promptExtend, size"):
        by_axis(frame(), "seedz")
    with pytest.raises(UnknownAxisError, match="by='seedz'"):
        cost_per_correct(frame(), by="seedz")
    scored = frame()
    scored.attrs["axes"] = {"promptExtend": [True, False]}  # as text_scores gives it: the axes, not every column
    with pytest.raises(UnknownAxisError, match=r"give one of: promptExtend \(or None"):
        describe(scored, "size ")
    with pytest.raises(ValueError, match="metric must be one of"):
        by_axis(frame(), "promptExtend", "accuracy")


def test_cost_per_correctly_rendered_image():
    table = cost_per_correct(frame(), by="promptExtend").set_index("value")
    on, off = table.loc["on"], table.loc["off"]
    assert (on["images"], on["correct"], on["cost_usd"]) == (8, 6, 0.6)
    assert on["cost_per_correct"] == pytest.approx(0.075 / 0.75) and off["cost_per_correct"] == pytest.approx(0.075 / 0.25)
    assert on["lo"] == pytest.approx(0.075 / wilson(6, 8)[1]) and on["hi"] == pytest.approx(0.075 / wilson(6, 8)[0])
    none = frame().assign(correct=False)
    assert math.isinf(cost_per_correct(none)["cost_per_correct"].iloc[0])


def test_a_cost_per_correct_image_reads_as_dollars_to_three_digits():
    """Its columns are not named *_usd, so readable() left them bare numbers (0.1, 0.3, 0.0869...),
    and `qwenlab score` wrote the ratio to a hundredth of a cent beside cents: "$0.1333 per
    correctly rendered image [$0.0835, $0.1485]" next to "$0.10". An estimate and its interval
    now share three digits of the largest; the mean price stays a price."""
    shown = readable(cost_per_correct(frame(), by="promptExtend")).set_index("value")
    assert list(shown["cost_per_image"]) == ["$0.075", "$0.075"] and list(shown["cost_usd"]) == ["$0.60", "$0.60"]
    # 0.0808 and 0.1270, 0.1833 and 1.0493: with their estimates, three digits of the largest, $1.05
    assert list(shown["lo"]) == ["$0.08", "$0.13"] and list(shown["hi"]) == ["$0.18", "$1.05"]
    assert list(shown["cost_per_correct"]) == ["$0.10", "$0.30"]
    assert list(shown["rate"]) == ["0.75", "0.25"]
    none = readable(cost_per_correct(frame().assign(correct=False)))
    assert none[["cost_per_correct", "hi"]].iloc[0].tolist() == ["no bound", "no bound"]
    # 9 of 16 correct at $0.075 (the demo's art deco perfume): $0.1333 [$0.0975, $0.2260] it was
    nine = frame().assign(correct=[True] * 9 + [False] * 7)
    assert axis_lines(nine.assign(promptExtend=True), "promptExtend")[-1] == (
        "  promptExtend on: $0.133 per correctly rendered image [$0.098, $0.226] (9/16 correct)")


def test_score_colours_run_from_red_to_green_and_tell_088_from_100():
    from qwenlab.figures.scale import frame_colour
    from qwenlab.typography import score_colour
    from qwenlab.typography.draw import COLOURS, SCORE_STOPS

    assert score_colour(0.0) == SCORE_STOPS[0][1] and score_colour(1.0) == SCORE_STOPS[-1][1]
    assert score_colour(None) == score_colour(float("nan")) == COLOURS["other"]
    assert score_colour(0.9)[1] > score_colour(0.2)[1]
    far = sum(abs(a - b) for a, b in zip(score_colour(0.88), score_colour(1.0)))
    assert far > 150  # on a plain red-green ramp these two greens were nearly one colour
    # the figures' frames and the widgets' badges are one scale
    assert frame_colour(0.88) == tuple(round(c / 255, 4) for c in score_colour(0.88))


def test_a_mean_short_of_perfect_never_reads_1_00():
    """Eight images, one with a letter wrong: the mean NED (0.997) read "NED 1.00" at the top of
    `qwenlab score`, in the report and on the grid's colour scale, beside "correct 0.88"."""
    df = pd.DataFrame([{"ned": v, "word_accuracy": v, "correct": v == 1, "cost_usd": 0.075}
                       for v in [1, 1, 1, 1, 1, 1, 1, 0.976]])
    assert describe(df, None, "ned").startswith("all: NED 0.99 [")
    assert describe(df.assign(ned=1.0), None, "ned").startswith("all: NED 1.00 [")


def test_a_mean_is_printed_inside_its_own_interval():
    """Twelve images, one NED 0.994 and the rest 1: the mean (0.9995) read "NED 0.99 [1.00, 1.00]"
    in notebook 02, the figure outside its own interval, whose low end (0.9986) was rounded up to
    1.00 as the mean is never rounded up. The bounds are written as the mean is."""
    import re

    df = pd.DataFrame([{"ned": v, "word_accuracy": v, "correct": v == 1, "cost_usd": 0.075}
                       for v in [0.9944] + [1.0] * 11])
    line = describe(df, None, "ned")
    mean, lo, hi = map(float, re.search(r"NED (\S+) \[(\S+), (\S+)\]", line).groups())
    assert lo <= mean <= hi, line
    assert line.startswith("all: NED 0.99 [0.99, 1.00]"), line
