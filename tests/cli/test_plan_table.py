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


def test_a_model_axis_is_a_column_of_the_plan(tmp_path: Path) -> None:
    """The table left out its `model` column, meant for the model every cell shares (cell 0's
    request names it): a model axis went with it, and cells 0 and 1 read alike, told apart only
    by their cost."""
    path = tmp_path / "models.toml"
    path.write_text('name = "models"\nprompt = "A poster reading \'LUMIERE\'"\n'
                    '[axes]\nmodel = ["alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"]\n')
    header, *rows = plan_rows(path)
    assert "model" in header
    assert [row[header.index("model")] for row in rows] == ["alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"]


def test_one_model_stays_out_of_the_table(tmp_path: Path) -> None:
    """Without a model axis the model is the same in every row: cell 0's request says it once."""
    path = tmp_path / "one.toml"
    path.write_text('name = "one"\nprompt = "A poster reading \'LUMIERE\'"\n[axes]\nsize = ["1024x1536", "1536x1024"]\n')
    header, *_ = plan_rows(path)
    assert "model" not in header


def test_the_estimate_column_is_written_in_dollars(tmp_path: Path) -> None:
    """The headline above the table said "estimated $0.11" and the column "0.075" and "0.035",
    bare numbers where every other view writes dollars by one rule."""
    path = tmp_path / "models.toml"
    path.write_text('name = "models"\nprompt = "A poster reading \'LUMIERE\'"\n'
                    '[axes]\nmodel = ["alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"]\n')
    header, *rows = plan_rows(path)
    assert [row[header.index("est_cost_usd")] for row in rows] == ["$0.075", "$0.035"]
