"""The plan `qwenlab run FILE --dry-run` prints: a table a person reads before paying, so every
column says something (no None where a value belongs) and every axis is a column."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK


def plan_rows(path: Path) -> list[list[str]]:
    """The rows of the plan's table (header first), split on white space."""
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"], prog_name="qwenlab")
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["cell"])
    end = next(i for i, line in enumerate(lines) if line.startswith("request of cell"))
    return [line.split() for line in lines[start:end]]


def test_a_sampled_cell_has_no_seed_said_as_a_dash_not_none(tmp_path: Path) -> None:
    """2.0-pro declares no seed: each cell's seed is the one the API reports, unknown before the
    run. The table printed "None" in its seed column, where `qwenlab logs NAME` prints '-'."""
    path = tmp_path / "extend.toml"
    path.write_text('name = "extend"\nprompt = "A poster reading \'LUMIERE\'"\n[axes]\npromptExtend = [true, false]\n')
    header, *rows = plan_rows(path)
    assert len(rows) == 2
    seeds = [row[header.index("seed")] for row in rows]
    assert seeds == ["-", "-"]
    assert not any(word in ("None", "NaN", "nan", "<NA>") for row in rows for word in row)
