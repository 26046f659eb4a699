"""`qwenlab compare A B --rows experiment --cols size -o out.png`: the grid of two experiments, what
each holds and costs, and the exit codes of bad input. Real sweeps against the loopback emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_OK
from qwenlab.html.grid import GRID_IMAGE_LIMIT
from tests.support.labkit import SIZES, run_sweep


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


def test_compare_writes_the_grid_with_the_experiment_as_rows(before_after, tmp_path: Path) -> None:
    out = tmp_path / "cmp.png"
    result = qwenlab("compare", "before", "after", "--rows", "experiment", "--cols", "size", "--where", "promptExtend=on",
                     "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    assert "Comparison of 2 experiments: before vs after" in result.output
    assert "Experiment 'before'" in result.output and "Experiment 'after'" in result.output
    assert str(out) in result.output
    with Image.open(out) as img:
        assert img.size[0] > 300 and img.size[1] > 300


def test_compare_pages_the_other_axes_and_defaults_to_experiment_rows(before_after, data_dir: Path) -> None:
    result = qwenlab("compare", "before", "after", "--cols", "size")
    assert result.exit_code == EXIT_OK, result.output
    written = [Path(line) for line in result.output.splitlines() if line.endswith(".png")]
    # promptExtend varies, but 'after' has only the model's default (on): paged by it, the page of
    # "off" would hold 'before' alone, so it stays inside the cells and one page holds both
    assert len(written) == 1 and all(p.is_file() and p.parent == data_dir / "grids" for p in written)
    paged = qwenlab("compare", "before", "after", "--cols", "size", "--page", "promptExtend")
    assert len([line for line in paged.output.splitlines() if line.endswith(".png")]) == 2  # named, it pages


@pytest.mark.parametrize("args, words", [
    (["before"], "two or more"),
    (["before", "nope"], "no experiment named 'nope'"),
    (["before", "after", "--rows", "colour"], "'colour' is not an axis"),
])
def test_bad_input_exits_2_and_says_why(before_after, args: list[str], words: str) -> None:
    result = qwenlab("compare", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert words in result.output


@pytest.mark.parametrize("args, words", [
    (["--rows", "colour"], "'colour' is not an axis"),
    (["--facet", "nope"], "'nope' is not an axis"),
    (["--page", "nope"], "'nope' is not an axis"),
    (["--where", "nope=1"], "'nope' is not an axis"),
    (["--where", "size=9x9"], "'9x9' is not a value of axis 'size'"),
    (["--rows", "size", "--cols", "size"], "an axis can be only one of rows, cols, facet and page"),
    (["-o", "cmp.gif"], "'cmp.gif' is neither a grid"),
])
def test_bad_layout_or_output_is_refused_before_the_summary_is_printed(before_after, tmp_path: Path, data_dir: Path,
                                                                       args: list[str], words: str) -> None:
    """`qwenlab compare` printed what each experiment holds and costs, then failed (exit 2) on an
    axis, a value or an -o it had not checked yet: the error came under a summary that read as
    a success. Every option is checked first; a refused command prints its error alone."""
    result = qwenlab("compare", "before", "after", *[str(tmp_path / a) if a.endswith(".gif") else a for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert words in result.output
    assert "Comparison of" not in result.output and "Experiment 'before'" not in result.output, result.output
    assert not (data_dir / "grids").exists() and not list(tmp_path.glob("cmp*"))


def test_compare_writes_the_comparisons_report_to_an_html_file(before_after, tmp_path: Path) -> None:
    """A comparison's report could be written only from Python (`lab.compare(a, b).export(...)`);
    `qwenlab compare a b -o cmp.html` was refused as "not a format a grid is written in"."""
    out = tmp_path / "cmp.html"
    result = qwenlab("compare", "before", "after", "--cols", "size", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    assert "Comparison of 2 experiments: before vs after" in result.output and str(out) in result.output
    html = out.read_text(encoding="utf-8")
    assert "<h1>before vs after</h1>" in html and "Content-Security-Policy" in html
    assert "<th>experiment</th>" in html.split('id="requests"')[1]  # each request says which run it is of
    refused = qwenlab("compare", "before", "after", "--rows", "colour", "-o", str(tmp_path / "bad.html"))
    assert refused.exit_code == EXIT_BAD_INPUT and "'colour' is not an axis" in refused.output
    assert "Comparison of" not in refused.output and not (tmp_path / "bad.html").exists()


def _grid_height(html_path: Path) -> int:
    """The height in pixels of the report's drawn grid (its first page, an embedded JPEG)."""
    import base64
    import io
    import re

    uri = re.search(r'<img class="grid" src="data:image/jpeg;base64,([^"]+)"', html_path.read_text(encoding="utf-8"))
    assert uri, "no drawn grid in the report"
    with Image.open(io.BytesIO(base64.b64decode(uri.group(1)))) as img:
        return img.size[1]


def test_cell_size_and_dpi_draw_the_html_reports_grid(before_after, tmp_path: Path) -> None:
    """`qwenlab compare A B -o cmp.html --cell-size 4.4 --dpi 180` wrote the report's grid at the
    report's 2.2 in and 90 dpi whatever was asked: the options were taken and ignored. They draw
    the report's grid, as they draw the PNG's; an unasked --dpi keeps the report's own 90."""
    args = ["compare", "before", "after", "--cols", "size", "--where", "promptExtend=on"]
    heights = {}
    for name, extra in {"plain": [], "cells": ["--cell-size", "4.4"], "dpi": ["--dpi", "180"]}.items():
        result = qwenlab(*args, *extra, "-o", str(tmp_path / f"{name}.html"))
        assert result.exit_code == EXIT_OK, result.output
        heights[name] = _grid_height(tmp_path / f"{name}.html")
    # twice the dots per inch: twice the pixels (from the report's 90, not the PNG's 120); twice
    # the inches: the images twice as high (the title and headers keep theirs)
    assert heights["dpi"] > 1.8 * heights["plain"], heights
    assert heights["cells"] > 1.4 * heights["plain"], heights
    assert "of the report's drawn grid" in qwenlab("compare", "--help").output


def test_cell_size_and_dpi_for_a_report_too_large_to_draw_say_they_do_nothing(before_after, data_dir: Path,
                                                                              tmp_path: Path) -> None:
    """Above 200 images the report's grid is a table of thumbnails, where --cell-size and --dpi
    did nothing, silently. The command says so on stderr, naming the options it was given; the
    report is written all the same."""
    from qwenlab.bench.report import build_experiment

    build_experiment(data_dir, GRID_IMAGE_LIMIT + 10, name="big")
    args = ["compare", "big", "before", "-o"]
    result = qwenlab(*args, str(tmp_path / "big.html"), "--cell-size", "4", "--dpi", "150")
    assert result.exit_code == EXIT_OK, result.output
    assert "note: --cell-size and --dpi did nothing in big.html: its grid of" in result.stderr, result.stderr
    assert f"more than the {GRID_IMAGE_LIMIT} a drawn grid holds, is a table of thumbnails" in result.stderr
    assert 'class="gridtable"' in (tmp_path / "big.html").read_text(encoding="utf-8")
    only_dpi = qwenlab(*args, str(tmp_path / "dpi.html"), "--dpi", "150")
    assert "note: --dpi did nothing" in only_dpi.stderr, only_dpi.stderr
    plain = qwenlab(*args, str(tmp_path / "plain.html"))  # nothing asked, nothing to say
    assert plain.exit_code == EXIT_OK and "did nothing" not in plain.stderr, plain.stderr
    drawn = qwenlab("compare", "before", "after", "-o", str(tmp_path / "drawn.html"), "--cell-size", "4")
    assert drawn.exit_code == EXIT_OK and "did nothing" not in drawn.stderr, drawn.stderr


def test_compare_without_layout_options_puts_the_first_other_axis_in_columns(emulator, data_dir: Path) -> None:
    """`qwenlab compare A B` put each run in a row and nothing in columns: every other axis made
    pages, so two runs of promptExtend x size gave four files of two images, one above the other.
    The first axis that varies besides the experiment is the columns, as --rows's help says."""
    for name, prompt in (("one", "A poster reading 'ONE'"), ("two", "A poster reading 'TWO'")):
        run_sweep(emulator, data_dir, name=name, repeats=1, fail_one=False, prompt=prompt)
    result = qwenlab("compare", "one", "two")
    assert result.exit_code == EXIT_OK, result.output
    written = [Path(line).name for line in result.output.splitlines() if line.endswith(".png")]
    assert len(written) == len(SIZES), written  # a page per size, promptExtend on and off side by side
    assert all(any(size in name for name in written) for size in SIZES) and not any("-on-" in n for n in written)
    named = qwenlab("compare", "one", "two", "--page", "size", "--where", "promptExtend=on")  # --where's one value: no column
    assert named.exit_code == EXIT_OK, named.output


def test_the_python_grid_of_a_comparison_fills_the_other_axis_as_the_command_does(emulator, data_dir: Path) -> None:
    """`cmp.grid(rows="experiment")` left the columns empty (every other axis made pages of one
    column) where `qwenlab compare A B` put the first other axis that varies there: one rule now
    lays out both, and the report's table of thumbnails."""
    from qwenlab import Lab
    from qwenlab.html.report import report_html

    for name, prompt in (("one", "A poster reading 'ONE'"), ("two", "A poster reading 'TWO'")):
        run_sweep(emulator, data_dir, name=name, repeats=1, fail_one=False, prompt=prompt)
    cmp = Lab(data_dir, client=lambda: None).compare("one", "two")
    command = qwenlab("compare", "one", "two")
    assert command.exit_code == EXIT_OK, command.output
    pages = [line for line in command.output.splitlines() if line.endswith(".png")]
    for grid in (cmp.grid(rows="experiment"), cmp.grid(cols="experiment")):
        # a page per size, as the command wrote, promptExtend on and off in the other direction
        assert len(grid.pages) == len(pages) == len(SIZES) and all(set(p.values) == {"size"} for p in grid.pages)
        drawn = [" ".join(t.get_text().split()) for t in grid[0].texts]
        assert "promptExtend: on" in drawn and "promptExtend: off" in drawn
    table = report_html(cmp, grid="table", rows="experiment")
    assert "promptExtend: on" in table and "promptExtend: off" in table  # the table's column heads
    only = cmp.grid(rows="experiment", page="promptExtend")  # an axis paged is not also the columns
    assert all(set(p.values) == {"promptExtend"} for p in only.pages)
    assert any(t.get_text() == "size: 512x768" for t in only[0].texts)


def test_a_comparison_s_columns_default_to_an_axis_every_member_swept(emulator, data_dir: Path) -> None:
    """`qwenlab compare demo lumiere-extend` put `example` in the columns, an axis only the demo
    has: every run of the other sat under "example: -" and half of each page read "(no cell)"."""
    from qwenlab import Lab

    run_sweep(emulator, data_dir, name="one", axes={"size": SIZES, "promptExtend": [True, False]}, repeats=1,
              fail_one=False)
    run_sweep(emulator, data_dir, name="two", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    cmp = Lab(data_dir, client=lambda: None).compare("one", "two")
    grid = cmp.grid(rows="experiment")
    drawn = [" ".join(t.get_text().split()) for t in grid[0].texts]
    assert "promptExtend: on" in drawn and "promptExtend: off" in drawn, drawn
    assert not any(text.startswith("size:") and "-" in text for text in drawn), drawn
    command = qwenlab("compare", "one", "two")
    assert command.exit_code == EXIT_OK, command.output
