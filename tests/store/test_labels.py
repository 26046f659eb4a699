"""One labelling, everywhere: the labels given as a dict's keys, on/off for promptExtend, and
distinct labels for prompts that differ near the end, read the same in the grid, the pairs, the
report, `qwenlab logs` and the text-score summaries (real sweeps against the loopback emulator)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlab.analysis.pairs import pairs
from qwenlab.cli import cli
from qwenlab.errors import UnknownAxisError
from qwenlab.figures.grid import build_grid
from qwenlab.html.report import report_html
from qwenlab.store.axes import labelled
from qwenlab.store.catalog import Catalog, Entry, axis_infos
from qwenlab.store.comparison import open_comparison
from qwenlab.typography.analysis import describe
from tests.support.labkit import run_sweep, texts

EDITS = {
    "label": "Edit the image: print the brand 'LUMIERE' and below it 'Radiance Serum' on the blank label of the bottle",
    "marble": "Edit the image: replace the wooden table with polished white marble and the wall with a soft gradient",
    "night": "Edit the image: turn the scene into a moody night shot lit by a single warm spotlight from the left",
}
HEADLINES = ["A premium skincare poster, frosted bottle on marble, soft orchids, with the headline 'LUMIERE'",
             "A premium skincare poster, frosted bottle on marble, soft orchids, with the headline 'LUMIÈRE'"]


def _drawn(grid: Any) -> str:
    """Every text of the grid's first page, its wrapped lines joined."""
    return " ".join(" ".join(t.split()) for t in texts(grid.figures[0]))


def _logs(name: str) -> str:
    out = CliRunner().invoke(cli, ["logs", name])
    assert out.exit_code == 0, out.output
    return out.output


def test_labels_given_as_a_dict_are_used_everywhere(emulator: Any, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="edits", axes={"prompt": EDITS, "promptExtend": [True, False]}, repeats=1,
                    fail_one=False)
    info = Catalog.load(exp).axes["prompt"]
    assert [info.label(v) for v in EDITS.values()] == ["label", "marble", "night"]

    drawn = _drawn(build_grid(exp, rows="prompt", cols="promptExtend"))
    for name in EDITS:
        assert f"prompt: {name}" in drawn  # the row headings: the user's names, not "prompt 1: Edit the image…" three times
    assert "promptExtend: on" in drawn and "promptExtend: off" in drawn
    assert "prompt = marble: " + EDITS["marble"] in drawn  # the footnote gives the full text behind the name

    html = report_html(exp, grid="table", rows="prompt", cols="promptExtend")
    for name in EDITS:
        assert f"prompt: {name}" in html and f"<td>{name}</td>" in html  # grid headings and the requests' column
    logs = _logs("edits")
    assert all(name in logs for name in EDITS) and " on " in logs and " off " in logs and "True" not in logs

    df = pairs(exp, "promptExtend")
    assert set(df["a"]) == {"on"} and set(df["b"]) == {"off"}

    scores = exp.images.assign(word_accuracy=1.0)  # a text-score frame as text_scores gives it (no OCR here)
    scores.attrs["axis_info"] = axis_infos(exp)
    line = describe(scores, "prompt")
    assert line.index("label:") < line.index("marble:") < line.index("night:")
    assert describe(scores, "promptExtend").startswith("promptExtend on:")


def test_a_frame_keeps_the_values_and_labelled_shows_them_as_every_view_does(emulator: Any, data_dir: Path) -> None:
    """A notebook showed promptExtend True/False and a missing negative prompt NaN in the tables
    it printed (exp.df, the text scores, a comparison's cells) beside on/off and "none" in the
    plan, the grid, the cost tables and `qwenlab logs`. The frames keep the values, for filtering;
    `labelled()` is the copy for reading, through the labels the views use."""
    exp = run_sweep(emulator, data_dir, name="extend", axes={"promptExtend": [True, False], "negativePrompt": [None, "blurry text"]},
                    repeats=1, fail_one=False)
    scores = exp.images.assign(word_accuracy=1.0)  # a text-score frame as text_scores gives it (no OCR here)
    scores.attrs["axis_info"] = axis_infos(exp)
    for frame in (exp.df, exp.images, scores, pairs(exp, "negativePrompt")):
        assert set(frame["promptExtend"]) == {True, False}  # the values, for df[df["promptExtend"] == True]
        shown = labelled(frame[["promptExtend", "repeat"]])  # part of a frame: pandas keeps what it says of its axes
        assert set(shown["promptExtend"]) == {"on", "off"} and set(frame["promptExtend"]) == {True, False}  # a copy
    assert sorted(labelled(exp.df)["negativePrompt"]) == ["blurry text", "blurry text", "none", "none"]
    assert set(labelled(pairs(exp, "promptExtend"))["negativePrompt"]) == {"none", "blurry text"}

    logs = _logs("extend")  # the same words as the command's table
    assert " on " in logs and " off " in logs and " none " in logs and "True" not in logs and "NaN" not in logs

    run_sweep(emulator, data_dir, name="extend-2", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    both = open_comparison(["extend", "extend-2"], data_dir).df
    assert set(labelled(both)["promptExtend"]) == {"on", "off"} and set(labelled(both)["experiment"]) == {"extend", "extend-2"}

    with pytest.raises(ValueError, match="frame: this frame does not say its axes"):
        labelled(pd.DataFrame({"promptExtend": [True, False]}))  # a frame made by hand


def test_prompts_that_differ_near_the_end_read_differently_everywhere(emulator: Any, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="accents", axes={"prompt": HEADLINES}, repeats=1, fail_one=False)
    info = Catalog.load(exp).axes["prompt"]
    first, second = (info.label(v) for v in HEADLINES)
    assert first != second and "LUMIERE'" in first and "LUMIÈRE'" in second

    drawn = _drawn(build_grid(exp, cols="prompt"))
    assert "LUMIERE'" in drawn and "LUMIÈRE'" in drawn
    html = report_html(exp, grid=None)
    assert escape(first) in html and escape(second) in html
    logs = _logs("accents")
    assert first in logs and second in logs


def test_a_long_value_reads_the_same_in_costs_logs_and_the_report(emulator: Any, data_dir: Path) -> None:
    """A long negative prompt beside "none": the grid names it ("negativePrompt: blurry text,
    misspelled…"; numbered only beside other long values); the cost table, the summary's axes
    line and the report's overview once cut it another way ("blurry text, misspelled words, warped l…")."""
    long = "blurry text, misspelled words, warped label, extra fingers, low resolution"
    exp = run_sweep(emulator, data_dir, name="negatives", axes={"negativePrompt": [None, long]}, repeats=1, fail_one=False)
    info = Catalog.load(exp).axes["negativePrompt"]
    label = info.label(long)
    assert label.startswith("negativePrompt: blurry") and label in _drawn(build_grid(exp, cols="negativePrompt"))

    costs = CliRunner().invoke(cli, ["costs", "--by", "negativePrompt"]).output
    assert label in costs and "none" in costs
    setting = CliRunner().invoke(cli, ["costs", "--by", "setting"]).output
    assert f"{label} " in setting and "negativePrompt=negativePrompt" not in setting and "negativePrompt=none" in setting
    logs = _logs("negatives")
    # a value holding commas: the values are told apart by " | ", where a comma could not tell them
    assert f"axes: negativePrompt = none | {label}" in logs and logs.count(label) == 2  # the summary and the task row
    assert escape(f"negativePrompt: none | {label}") in report_html(exp, grid=None)
    scores = exp.images.assign(word_accuracy=1.0)  # a text-score frame as text_scores gives it (no OCR here)
    scores.attrs["axis_info"] = axis_infos(exp)
    line = describe(scores, "negativePrompt")
    assert f"{label}: word accuracy" in line and "negativePrompt negativePrompt" not in line


def test_each_negative_prompt_of_a_page_names_the_example_it_goes_with(emulator: Any, data_dir: Path) -> None:
    """The demo's shape: each example has its own negative prompt, and a second axis leaves it out
    in half the cells. On a page holding several examples (the README's region grid) the footnote
    said "negative prompt 1 of 4 on this page", which tells no reader whose it is."""
    from qwenlab import Request

    examples = {label: Request.from_task({"taskType": "imageInference", "taskUUID": "6750b3cf-7a7c-4739-b336-48a75901069" + k,
                                          "model": "alibaba:qwen-image@2.0-pro", "positivePrompt": f"A poster reading '{label.upper()}'",
                                          "negativePrompt": f"blurry text, {label} misspelled"})
                for k, label in (("1", "lune"), ("2", "noir"))}
    exp = run_sweep(emulator, data_dir, name="negatives-by-example", repeats=1, fail_one=False,
                    axes={"example": examples, "negative": {"with": {}, "without": {"negativePrompt": None}}})
    drawn = _drawn(build_grid(exp, rows="example", cols="negative"))
    assert "on this page" not in drawn
    assert "negative prompt (where sent), example: lune: blurry text, lune misspelled" in drawn
    assert "negative prompt (where sent), example: noir: blurry text, noir misspelled" in drawn


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-3, 3), st.just(float("nan")), st.text(max_size=3),
                    st.dictionaries(st.text(max_size=2), st.integers(0, 2), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALUES, max_size=8), _VALUES)
def test_a_value_is_found_where_same_value_finds_it(values: list, probe: object) -> None:
    """AxisInfo.index looks values up in a table (views ask it for every image); it must find
    exactly what comparing one by one with same_value does: True is not 1, NaN is None, 1 is 1.0."""
    from qwenlab.core.values import same_value
    from qwenlab.store.axes import AxisInfo

    info = AxisInfo("x", "param", tuple(values), tuple(str(v) for v in values))
    want = next((i for i, v in enumerate(values) if same_value(v, probe)), None)
    assert info.index(probe) == want
    for v in values:
        assert info.index(v) == next(j for j, w in enumerate(values) if same_value(w, v))


def test_where_keeps_the_entries_of_the_values_asked_for_by_value_or_label() -> None:
    """`where` matches each distinct value once for all its entries; True and 1, and 1 and 1.0
    (which read apart), are still told apart, and a list value is still matched."""
    from qwenlab.store.axes import AxisInfo

    values = (True, 1, 1.0, ["a"], None)
    info = AxisInfo("x", "param", values, ("on", "1", "1.0", "['a']", "none"))
    entries = [Entry(task_id=i, cell={"x": v}, repeat=r, status="done") for i, v in enumerate(values) for r in (1, 2)]
    catalog = Catalog("e", {"x": info}, entries)

    def kept(wanted: object) -> list[object]:
        return [e.cell["x"] for e in catalog.where({"x": wanted}).entries]

    assert kept(True) == [True, True] and kept("on") == [True, True]
    assert kept([["a"]]) == [["a"], ["a"]] and kept("none") == [None, None]  # a list of one list value
    assert [type(v) for v in kept("1.0")] == [float, float]  # as typed, only the value that reads 1.0
    assert kept([True, None]) == [True, True, None, None]
    with pytest.raises(UnknownAxisError, match="'maybe' is not a value of axis 'x'"):
        catalog.where({"x": "maybe"})
