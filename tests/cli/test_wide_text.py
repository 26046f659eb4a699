"""Terminal tables with Chinese, Japanese or Korean text in them (an experiment named
"新年海报 v2", as the README's own example is): each such character takes two columns of a
terminal, and the columns of `qwenlab logs`, `costs` and `search` stay aligned."""

from __future__ import annotations

import json
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


LONG_PROMPT = ("A premium skincare poster for LUMIERE, headline 'Glow, Refined.' in thin gold serif letters above a "
               "frosted glass bottle on travertine, soft morning light, 新年快乐 on a red ribbon")


def test_search_gives_the_prompt_the_columns_the_terminal_has(emulator, data_dir: Path) -> None:
    # the prompt was cut at 40 characters on any terminal, however wide
    run_sweep(emulator, data_dir, name="long", axes={"size": SIZES}, repeats=1, fail_one=False, prompt=LONG_PROMPT)

    def search(columns: int) -> list[str]:
        result = CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, ["search", "LUMIERE"], prog_name="qwenlab")
        assert result.exit_code == EXIT_OK, result.output
        return result.stdout.splitlines()

    wide = search(1000)
    assert all(LONG_PROMPT in line for line in wide[1:]), wide
    full = max(map(shown_width, wide))
    narrow = search(full - 50)  # 50 columns short: the prompt gives them up, and nothing else does
    assert max(map(shown_width, narrow)) == full - 50, narrow
    assert all("…" in line and "Glow, Refined.' in thin gold serif" in line for line in narrow[1:]), narrow
    assert [line.split()[-1] for line in narrow[1:]] == [line.split()[-1] for line in wide[1:]]  # the paths whole
    rows = CliRunner(env={"COLUMNS": "60"}).invoke(cli, ["search", "LUMIERE", "--json"], prog_name="qwenlab")
    assert {row["prompt"] for row in json.loads(rows.stdout)} == {LONG_PROMPT}  # --json: every prompt whole


LONG_NAME = "a-rather-long-experiment-name-for-the-spring-skincare-campaign-lumiere-2026"
# an axis's labels: a long one (cut to 32 characters as every view shows it) and a Chinese one,
# two columns a character
LABELS = {"soft morning light on frosted glass and travertine": "A poster for LUMIERE in soft morning light",
          "新年海报红色背景金色标题新年快乐": "新年海报，红色背景，金色标题'新年快乐'"}


def table_lines(output: str, header: str) -> list[str]:
    """The lines of the table whose header line holds `header`: up to a blank line, a legend or a note."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if header in line.split())
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip() or lines[i].startswith(("note:", "emulator:"))),
               len(lines))
    return lines[start:end]


def test_logs_and_costs_give_names_and_labels_the_columns_the_terminal_has(emulator, data_dir: Path) -> None:
    # a long experiment name or axis label made every row wider than any terminal, however wide
    run_sweep(emulator, data_dir, name=LONG_NAME, axes={"prompt": LABELS}, repeats=1, fail_one=False)
    for args, header, long in ((["logs"], "name", [LONG_NAME]), (["logs", LONG_NAME], "task_id", ["新年海报红色背景金色标题新年快乐"]),
                               (["costs", "--by", "experiment,prompt"], "usd_per_image", [LONG_NAME, "新年海报红色背景金色标题新年快乐"])):
        def table(env: dict[str, str]) -> list[str]:
            result = CliRunner(env=env).invoke(cli, args, prog_name="qwenlab")
            assert result.exit_code == EXIT_OK, result.output
            return table_lines(result.stdout, header)

        whole = table({})  # no terminal (CliRunner's stdout, as a pipe or a file): nothing is cut
        assert all(any(text in line for line in whole) for text in long), (args, whole)
        full = max(map(shown_width, whole))
        narrow = table({"COLUMNS": str(full - 10)})  # 10 columns short: the widest free text gives them up
        assert max(map(shown_width, narrow)) <= full - 10, (args, narrow)
        # the name or label is cut, the numbers, dates and other columns are whole
        assert len(narrow) == len(whole) and [line.split()[-4:] for line in narrow] == [line.split()[-4:] for line in whole]
        assert table({"COLUMNS": str(full)}) == whole  # it fits: nothing cut
    # --json: every name whole
    rows = CliRunner(env={"COLUMNS": "60"}).invoke(cli, ["logs", "--json"], prog_name="qwenlab")
    assert [row["name"] for row in json.loads(rows.stdout)] == [LONG_NAME]


def test_names_cut_alike_are_cut_in_the_middle_so_two_experiments_never_read_as_one(emulator, data_dir: Path) -> None:
    # cut at their ends, two names that differ only there read alike, and pandas leaves the
    # second of two equal index labels blank: one experiment's rows looked like the other's
    names = [LONG_NAME[:-1] + "1", LONG_NAME[:-1] + "2"]
    for name in names:
        run_sweep(emulator, data_dir, name=name, axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    args = ["costs", "--by", "experiment,promptExtend"]
    whole = table_lines(CliRunner().invoke(cli, args, prog_name="qwenlab").stdout, "usd_per_image")
    width = max(map(shown_width, whole)) - 30
    result = CliRunner(env={"COLUMNS": str(width)}).invoke(cli, args, prog_name="qwenlab")
    narrow = table_lines(result.stdout, "usd_per_image")
    assert max(map(shown_width, narrow)) <= width, narrow
    shown = [line.split()[0] for line in narrow if line.split()[0].startswith(LONG_NAME[:4])]
    assert len(shown) == 2 and shown[0] != shown[1] and all("…" in s for s in shown), narrow
    assert [s[-4:] for s in shown] == ["2021", "2022"]  # their ends, where they differ, show


def test_search_cuts_long_axis_values_too_and_keeps_the_path_whole(emulator, data_dir: Path) -> None:
    # only the prompt was cut, to 20 columns at least: a sweep's values (a long negative prompt)
    # and the path kept every line some 200 columns wide on a terminal of 100
    negatives = ["blurry, low quality, distorted letters, extra fingers, watermark, jpeg artifacts, oversaturated",
                 "misspelled words, distorted text, warped typography, duplicated letters, cropped headline"]
    run_sweep(emulator, data_dir, name="long", axes={"negativePrompt": negatives}, repeats=1, fail_one=False,
              prompt=LONG_PROMPT)

    def search(columns: int) -> list[str]:
        result = CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, ["search", "LUMIERE"], prog_name="qwenlab")
        assert result.exit_code == EXIT_OK, result.output
        return result.stdout.splitlines()

    wide = search(1000)
    assert all("negativePrompt=" in line for line in wide[1:]), wide
    paths = [line.split()[-1] for line in wide[1:]]
    width = max(map(shown_width, wide)) - shown_width(LONG_PROMPT) + 20 - 30  # the prompt at its least, 30 more to give
    narrow = search(width)
    assert max(map(shown_width, narrow)) <= width, narrow
    assert [line.split()[-1] for line in narrow[1:]] == paths  # copyable
    assert all("negativePrompt=" in line and line.count("…") == 2 for line in narrow[1:]), narrow  # both cut
