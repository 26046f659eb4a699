"""Money as a person reads it is written by one rule everywhere: the `qwenlab costs` table and
headline, the notebook's tables (`readable`), `Costs`'s own HTML, the demo's line and the report.
It printed `$4.80` (demo), `$4.8000` (costs) and `4.800` (a frame in a notebook) for one spend."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK
from qwenlab.costs import Costs, readable
from qwenlab.html.page import fmt
from qwenlab.money import format_usd, format_usd_column, format_usd_estimates
from qwenlab.store.log import Log
from tests.support.labkit import run_sweep


def test_dollars_keep_every_part_of_a_cent_they_have_and_no_more() -> None:
    """Cents where cents say it all, up to a hundredth of a cent where they would not ($0.0075
    read "$0.008" and "$0.01"); a column lines its figures up with its most precise one's decimals."""
    assert [format_usd(v) for v in (4.8, 1.2, 0.075, 0.0075, 6.675, 0.0, 1234.5)] == [
        "$4.80", "$1.20", "$0.075", "$0.0075", "$6.675", "$0.00", "$1,234.50"]
    assert format_usd(-0.15) == "-$0.15" and format_usd(-0.000001) == "$0.00"  # no "-$0.00"
    assert format_usd_column([4.8, 0.075, None, float("nan")]) == ["$4.800", "$0.075", "", ""]
    assert format_usd_column([2.4, 2.4]) == ["$2.40", "$2.40"]
    assert fmt(0.075, "usd") == "$0.075" and fmt(4.8, "usd") == "$4.80"  # the report's tables


def test_the_cli_the_notebook_and_the_html_write_one_spend_alike(emulator, data_dir: Path) -> None:
    run_sweep(emulator, data_dir, name="posters", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False)
    out = CliRunner().invoke(cli, ["costs", "--by", "promptExtend"])
    assert out.exit_code == EXIT_OK, out.output
    assert out.output.startswith("Costs: $0.30 ($0.30 emulated"), out.output
    assert "4 images, $0.075 per image" in out.output
    rows = {line.split()[0]: line.split() for line in out.output.splitlines() if line.split()[:1] in (["on"], ["off"])}
    assert rows["on"][-3:] == ["$0.15", "$0.15", "$0.075"], rows  # cost_usd, emulated_usd, usd_per_image
    assert "$0.1500" not in out.output and "$0.3000" not in out.output

    costs = Costs(data_dir / "qwenlab.db")
    shown = readable(costs.by("promptExtend"))
    assert list(shown["cost_usd"]) == ["$0.15", "$0.15"] and list(shown["usd_per_image"]) == ["$0.075", "$0.075"]
    page = costs._repr_html_()
    assert "<td>$0.30</td>" in page and "<td>$0.075</td>" in page and "0.3000" not in page
    # the frame itself keeps numbers, for arithmetic
    assert costs.by("promptExtend")["cost_usd"].sum() == 0.3


def test_a_budget_not_set_reads_so_and_nothing_reads_nan_or_none(emulator, data_dir: Path) -> None:
    """Notebook 03's budget cell showed `None` for the budget and `NaN` for what was left and used
    of it, where a reader looks for a figure or for "no budget set"."""
    run_sweep(emulator, data_dir, name="free", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    capped = run_sweep(emulator, data_dir, name="capped", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    log = Log(data_dir / "qwenlab.db")
    log.update_experiment(capped.id, budget_usd=1.0)
    budget = Costs(log).budget()
    assert math.isnan(budget.loc["free", "remaining_usd"])  # the numbers stay numbers
    shown = readable(budget)
    assert shown.loc["free", "budget_usd"] == "no budget set"
    assert (shown.loc["free", "remaining_usd"], shown.loc["free", "used_pct"], shown.loc["free", "would_exceed"]) == ("", "", "")
    assert (shown.loc["capped", "budget_usd"], shown.loc["capped", "remaining_usd"]) == ("$1.00", "$0.85")
    assert shown.loc["capped", "used_pct"] == "15" and shown.loc["capped", "would_exceed"] is False
    text = shown.to_string() + shown.to_html()
    assert "NaN" not in text and "None" not in text and "nan" not in text
    # a log where no experiment has a budget: the column was all None (object), not NaN
    alone = readable(Costs(log, experiments="free").budget())
    assert list(alone["budget_usd"]) == ["no budget set"] and isinstance(alone, pd.DataFrame)


def test_an_experiment_shown_in_a_notebook_writes_its_cells_costs_in_dollars(emulator, data_dir: Path) -> None:
    """`exp` as a cell's last line (its thumbnail table) showed each cell's cost as 0.075, the one
    table of the quickstart notebook's first sweep that the one rule did not reach."""
    exp = run_sweep(emulator, data_dir, name="shown", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    page = exp._repr_html_()
    assert page.count("<td>$0.075</td>") == 2 and "<td>0.075</td>" not in page


def test_a_column_of_rates_or_percentages_shares_its_decimals() -> None:
    """Each written on its own, keep_rate read "0.431" above "0.4224" (notebook 03's kept-image
    table) and used_pct "60", "72", "94.7" (its budget table): a column's points did not line up."""
    frame = pd.DataFrame({"keep_rate": [0.431, 0.4224], "used_pct": [60.0, 72.0], "difference_pct": [0.0, 0.0],
                          "rate_lo": [0.5, float("nan")]})
    shown = readable(frame)
    assert list(shown["keep_rate"]) == ["0.4310", "0.4224"]
    assert list(readable(pd.DataFrame({"used_pct": [60.0, 72.0, 94.7, float("nan")]}))["used_pct"]) == ["60.0", "72.0", "94.7", ""]
    assert list(shown["used_pct"]) == ["60", "72"] and list(shown["difference_pct"]) == ["0", "0"]
    assert list(shown["rate_lo"]) == ["0.5", ""]


def test_a_price_worked_out_as_a_ratio_reads_to_three_digits_not_a_hundredth_of_a_cent() -> None:
    """Spend over a count of good images is an estimate, not a price anyone was charged: the money
    rule wrote it "$0.1714" and "$0.2000" (usd_per_kept_image in notebook 03), digits its interval
    makes meaningless. Three significant digits of the largest figure, never fewer than cents nor
    more than a hundredth of a cent (a cheap model's $0.0075 stays whole)."""
    assert format_usd_estimates([0.171428, 0.2]) == ["$0.171", "$0.200"]
    assert format_usd_estimates([0.0075, 0.00833]) == ["$0.0075", "$0.0083"]
    assert format_usd_estimates([1.3333, 0.5]) == ["$1.33", "$0.50"]
    assert format_usd_estimates([float("inf"), None, float("nan")]) == ["no bound", "", ""]
    kept = pd.DataFrame({"usd_per_image": [0.075, 0.075], "usd_per_kept_image": [0.171428, 0.2]})
    shown = readable(kept)
    assert list(shown["usd_per_kept_image"]) == ["$0.171", "$0.200"] and list(shown["usd_per_image"]) == ["$0.075", "$0.075"]
