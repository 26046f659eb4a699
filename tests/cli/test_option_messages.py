"""Bad input on the command line is said as the command's option, with the fix: "Invalid value
for '--cols': ...", not the library's Python ("path (-o): ...", "got rows='size', cols='size',
facet=None, page=[...]"), and exits 2 with nothing written. Real sweeps against the loopback emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


@pytest.mark.parametrize("args, said", [
    (["grid", "before", "--rows", "size", "--cols", "size"],
     "Invalid value for '--cols': 'size' is already the rows axis; an axis can be only one of rows, cols, facet and "
     "page: give cols another axis (promptExtend) or leave it out"),
    (["grid", "before", "--rows", "size", "--page", "size"], "Invalid value for '--page': 'size' is already the rows axis"),
    (["export", "before", "--cols", "size", "--facet", "size", "-o", "OUT/r.html"],
     "Invalid value for '--facet': 'size' is already the cols axis"),
    (["compare", "before", "after", "--rows", "size", "--cols", "size", "-o", "OUT/c.png"],
     "Invalid value for '--cols': 'size' is already the rows axis"),
])
def test_an_axis_placed_twice_names_the_option_that_placed_it_again(before_after, tmp_path: Path, data_dir: Path,
                                                                     args: list[str], said: str) -> None:
    """`--rows size --cols size` was refused with "an axis can be only one of rows, cols, facet and
    page; got rows='size', cols='size', facet=None, page=[...]": Python's keywords, no option named
    and no other axis offered."""
    out = tmp_path / "out"
    out.mkdir()
    result = qwenlab(*[a.replace("OUT", str(out)) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert said in result.output, result.output
    assert "got rows=" not in result.output
    assert not list(out.iterdir()) and not (data_dir / "grids").exists()


@pytest.mark.parametrize("args, said", [
    (["grid", "before", "-o", "OUT/grid.txt"], "Invalid value for '--output': 'grid.txt' is not a format a grid is written in"),
    (["export", "before", "-o", "OUT/report.pdf"], "Invalid value for '--output': the report is one HTML file"),
    (["bundle", "before", "-o", "OUT/before.tar"], "Invalid value for '--output': a bundle is one zip file"),
    # compare writes a report too: its refusal offers .html beside a grid's formats
    (["compare", "before", "after", "-o", "OUT/cmp.txt"],
     "Invalid value for '--output': 'cmp.txt' is neither a grid (.png, .jpg, .jpeg, .webp, .pdf, .svg) nor the "
     "comparison's report (.html)"),
])
def test_an_output_of_the_wrong_kind_names_output(before_after, tmp_path: Path, data_dir: Path, args: list[str], said: str) -> None:
    """The library's "path (-o): ..." reached the terminal as it is, Python's parameter name
    first ("Error: path (-o): 'grid.txt' is not ..."); `compare -o cmp.txt` listed only a grid's
    formats, though compare writes its report to an .html file."""
    out = tmp_path / "out"
    out.mkdir()
    result = qwenlab(*[a.replace("OUT", str(out)) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert said in result.output, result.output
    assert "path (-o)" not in result.output and "out (-o)" not in result.output
    assert not list(out.iterdir())


@pytest.mark.parametrize("args, said", [
    (["--latency", "soon"], "Invalid value for '--latency': latency 'soon' is not understood; write 0.5"),
    (["--faults", "bogus=1"], "Invalid value for '--faults': fault spec item 'bogus=1' is not NAME=VALUE"),
    (["--faults", "rate_429=2"], "Invalid value for '--faults': Faults.rate_429 is a probability"),
])
def test_a_bad_emulator_fault_names_its_option(args: list[str], said: str) -> None:
    """`qwenlab emulator --latency soon` said "latency 'soon' is not understood" under the usage
    line, naming no option; so did a bad --faults item."""
    result = qwenlab("emulator", "--port", "0", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert said in result.output, result.output


def test_images_with_no_image_rated_high_enough_says_why_and_leaves_no_empty_folder(before_after, tmp_path: Path) -> None:
    """`qwenlab images NAME -o DIR --min-rating 4` on an experiment nobody rated (the README's
    example, right after `qwenlab demo`) printed "0 images written to DIR" and left DIR empty,
    saying neither why nor where ratings are made."""
    out = tmp_path / "picked"
    result = CliRunner().invoke(cli, ["images", "before", "-o", str(out), "--min-rating", "4"])
    assert result.exit_code == 0, result.output
    assert "no image of 'before' has a latest rating of 4 or more" in result.stderr, result.stderr
    assert ".explore()" in result.stderr and "--min-rating" in result.stderr
    assert not out.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    assert CliRunner().invoke(cli, ["images", "before", "-o", str(kept), "--min-rating", "4"]).exit_code == 0
    assert kept.is_dir()  # a folder that was there stays


@pytest.mark.parametrize("command", ["run", "grid", "compare", "export", "score", "verify", "images", "judgements", "emulator"])
def test_each_commands_help_shows_it_typed(command: str) -> None:
    """`qwenlab run --help` said neither what a sweep file holds nor how a run is typed; score,
    verify and the emulator showed no example either."""
    shown = qwenlab(command, "--help").output.split("Options:")[0].split("\n", 1)[1]  # beyond the Usage line
    assert f"qwenlab {command} " in " ".join(shown.split()), shown


def test_the_sweep_file_in_runs_help_is_one(tmp_path: Path, data_dir: Path) -> None:
    """The sweep file `qwenlab run --help` shows is valid as written: its plan prints, nothing sent."""
    shown = qwenlab("run", "--help").output
    block = shown.split("A sweep file")[1].split("\n\n")[0].splitlines()[1:]
    (tmp_path / "sweep.toml").write_text("\n".join(line.strip() for line in block) + "\n")
    result = qwenlab("run", str(tmp_path / "sweep.toml"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "8 cells to send" in result.output and not (data_dir / "qwenlab.db").exists()


@pytest.mark.parametrize("args", [
    ["grid", "before", "-o", "AFILE/g.png"], ["grid", "before", "-o", "AFILE/more/g.png"],
    ["export", "before", "-o", "AFILE/r.html"], ["compare", "before", "after", "-o", "AFILE/c.png"],
    ["compare", "before", "after", "-o", "AFILE/c.html"], ["images", "before", "-o", "AFILE/shared"],
    ["bundle", "before", "-o", "AFILE/b.zip"],
], ids=lambda args: " ".join(args).replace("AFILE", "afile"))
def test_an_output_path_through_a_file_says_it_is_a_file_not_a_folder(before_after, tmp_path: Path, args: list[str]) -> None:
    """`-o afile/g.png` drew the grid, then failed with "afile: File exists" (exit 1, as if the
    disk had failed), or "Not a directory", naming neither -o nor what was wrong with it."""
    afile = tmp_path / "afile"
    afile.write_text("notes\n")
    result = qwenlab(*[a.replace("AFILE", str(afile)) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Invalid value for '-o' / '--output'" in result.output, result.output
    assert f"'{afile}' is a file, not a folder" in result.output, result.output
    assert "File exists" not in result.output and "Not a directory" not in result.output
    assert afile.read_text() == "notes\n"


def _commands() -> list[str]:
    import click

    return cli.list_commands(click.Context(cli))


@pytest.mark.parametrize("command", _commands())
def test_each_commands_help_names_only_options_it_has(command: str) -> None:
    """`qwenlab export --help` said --thumb defaults to "256 px at the default --cell-size and
    --dpi", options export does not have (its thumbnails are 160 px), and `compare --help` told of
    "a region of each image" under --cell-size, which only `grid --region` cuts. An option named
    in a sentence about another command (`qwenlab logs --tag posters`) is that command's."""
    import re

    import click

    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=400).output
    own = {o for p in cli.get_command(click.Context(cli), command).params for o in (*p.opts, *p.secondary_opts)}
    elsewhere = " ".join(re.findall(r"`qwenlab \w+[^`]*`", shown))  # options of a command quoted beside it
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", shown)) - set(re.findall(r"--[a-z][a-z0-9-]*", elsewhere))
    assert named - own - {"--help"} == set(), shown
    if command != "grid":
        assert "region" not in shown, shown
