"""The budget a run stopped at its budget names, to copy into `qwenlab run --budget`: a number the
option takes, and enough to send the rest."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK
from qwenlab.money import usd_option
from qwenlab.sweeps.budget import Budget
from qwenlab.sweeps.dispatch import Job, _budget_stop


def test_the_budget_hint_over_a_thousand_dollars_is_a_number_run_budget_takes(tmp_path: Path, data_dir: Path) -> None:
    # "--budget 1,000.11": format_usd's thousands comma, which --budget refused as not a valid float
    queue = [Job(cell=SimpleNamespace(estimated_cost=0.075), row=None, recover=False) for _ in range(2)]  # type: ignore[arg-type]
    said = _budget_stop(Budget(1000.0, spent=999.96), 999.96, 0.075, "", queue, 1.0)
    typed = re.search(r"--budget (\S+) for qwenlab run", said)
    assert typed and typed.group(1) == "1000.11", said
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nprompt = "A poster reading \'HELLO\'"\n')
    plan = CliRunner().invoke(cli, ["run", str(path), "--dry-run", "--budget", typed.group(1)])
    assert plan.exit_code == EXIT_OK, plan.output


def test_the_budget_to_copy_is_rounded_up_to_what_sends_the_rest() -> None:
    # $2.00494 needed: "2.0049" would stop the run again a fraction of a cent short
    assert usd_option(2.00494, up=True) == "2.005" and usd_option(2.00494) == "2.0049"
    assert usd_option(1234.5) == "1234.50" and usd_option(0.075, up=True) == "0.075"
    assert usd_option(0.15 + 0.075 * 2, up=True) == "0.30"  # float noise is no step up
