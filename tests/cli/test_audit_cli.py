"""Bad input found by an audit of the command line: each refused with exit 2, naming the option
or setting and the fix, before anything is sent or written (no traceback, no silent fallback)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


@pytest.mark.parametrize("since", ["99999999d", "99999999999999w", "999999999999h"])
def test_a_relative_date_too_far_back_is_bad_input_not_a_traceback(since: str) -> None:
    # `costs --since 99999999d` raised OverflowError ("date value out of range"): a traceback, exit 1
    for args in (["costs", "--since", since], ["costs", "--json", "--until", since]):
        result = qwenlab(*args)
        assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), repr(result.exception)
        option = args[-2]
        assert f"Invalid value for '{option}'" in result.output and "too far back" in result.output, result.output
