"""`qwenlab logs ... --json`: every form of the command answers in JSON when asked, and the list
of experiments and one experiment's view say the same things the same way (tags as a list, the
table's status words)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


def test_logs_path_json_prints_the_path_as_json(data_dir: Path) -> None:
    """--json was accepted by `logs path` and ignored: a script parsing its answer got a bare path."""
    plain = qwenlab("logs", "path")
    assert plain.exit_code == EXIT_OK and plain.output.strip() == str(data_dir / "qwenlab.db")
    answer = qwenlab("logs", "path", "--json")
    assert answer.exit_code == EXIT_OK, answer.output
    assert json.loads(answer.output) == {"path": str(data_dir / "qwenlab.db")}
