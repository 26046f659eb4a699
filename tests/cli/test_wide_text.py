"""Terminal tables with Chinese, Japanese or Korean text in them (an experiment named
"新年海报 v2", as the README's own example is): each such character takes two columns of a
terminal, and the columns of `qwenlab logs`, `costs` and `search` stay aligned."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK
from tests.support.labkit import SIZES, run_sweep

WIDE_NAME = "新年海报 v2"


def shown_width(text: str) -> int:
    """How many terminal columns `text` takes: two for a wide (W) or full-width (F) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_starts(output: str, word: str, names: list[str]) -> set[int]:
    """The terminal column at which `word` (a value of the column after the name) starts on the
    line of each experiment in `names`."""
    starts = set()
    for name in names:
        line = next(line for line in output.splitlines() if name in line and word in line.split(name, 1)[1])
        starts.add(shown_width(line[: line.index(word, line.index(name) + len(name))]))
    return starts


def test_tables_stay_aligned_beside_wide_characters(emulator, data_dir: Path) -> None:
    for name in ("small", WIDE_NAME):
        run_sweep(emulator, data_dir, name=name, axes={"size": SIZES}, repeats=1, fail_one=False)
    names = ["small", WIDE_NAME]
    for args, word in ((["logs"], "done"), (["costs"], "$"), (["search", "LUMIERE"], "size=")):
        result = CliRunner().invoke(cli, args, prog_name="qwenlab")
        assert result.exit_code == EXIT_OK, result.output
        assert len(column_starts(result.stdout, word, names)) == 1, (args, result.stdout)


def test_the_plan_stays_aligned_beside_a_chinese_prompt(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "cn.toml"
    path.write_text('name = "cn"\n[axes]\nprompt = ["新年海报，标题\'新年快乐\'", "A poster reading \'HAPPY NEW YEAR\'"]\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"], prog_name="qwenlab")
    assert result.exit_code == EXIT_OK, result.output
    rows = [line for line in result.stdout.splitlines() if "new" in line.split()[-1:]]
    assert len(rows) == 2 and len({shown_width(line[: line.rindex(" 0 ")]) for line in rows}) == 1, result.stdout
