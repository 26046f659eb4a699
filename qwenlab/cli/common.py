"""What several commands share: where the log is, without creating anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..paths import DB_NAME, data_dir
from ..sweeps.budget import run_setting_problems

__all__ = ["log_path", "existing_log", "run_setting"]

NO_LOG_HINT = "run `qwenlab demo` or `qwenlab run sweep.toml` first"


def log_path() -> Path:
    """The log's path. Unlike `qwenlab.paths.db_path()` it does not create the data folder:
    a command that only reads must leave no folder behind."""
    return data_dir(create=False) / DB_NAME


def existing_log() -> Path:
    """The log's path; FileNotFoundError (exit 1: nothing to read yet) when there is none.

    Commands that open one experiment by name use `qwenlab.store.experiment.open_experiment`,
    which says the same for a missing log; this is for the commands that read the whole log."""
    path = log_path()
    if not path.exists():
        raise FileNotFoundError(f"no log yet at {path}; {NO_LOG_HINT}")
    return path


def run_setting(setting: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that checks an option by the library's rule for the run setting it sets
    (`budget_usd`, `concurrency`: `run_setting_problems`), so that the error names the option
    ("Invalid value for '--concurrency'"), not the library's parameter, before anything is written."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            for problem in run_setting_problems(**{setting: value}):
                raise click.BadParameter(problem.message, ctx=ctx, param=param)
        return value

    return check
