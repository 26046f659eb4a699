"""The exit codes of the `qwenlab` command, decided in one place.

    0  success
    1  the operation failed: an API or network error, a run that stopped on an error or ended
       with cells failed, a file that
       could not be read or written, no log to read yet
    2  bad input: the command line or an input file is wrong, and nothing was sent or spent

Commands raise the library's own exceptions (or click's usage errors); the group turns each
exception into a click error with its code here, so one class always gets one code, whichever
command raised it. A command names the parameter an error is about with `@param_hints`.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Callable, Mapping

import click

from ..errors import (
    ExperimentConflictError,
    ExperimentNotFoundError,
    JudgementError,
    ModelDescriptionError,
    ModelNotFoundError,
    NoLogError,
    QwenlabError,
    UnknownAxisError,
    UnknownCostKeyError,
    ValidationError,
)
from ..store.log_file import damaged_log_advice, log_advice
from .common import log_path

__all__ = ["EXIT_OK", "EXIT_FAILED", "EXIT_BAD_INPUT", "BAD_INPUT", "FAILED", "HANDLED", "HELP", "exit_code",
           "exit_unless_done", "to_click_error", "param_hints"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2  # click's own code for usage errors, so ours agree with its

# Bad input: nothing was sent or spent; fixing the command line or the file fixes it. A plain
# ValueError is the library's way of refusing a value it was given (a date, an engine name, a
# fault spec), so it counts as bad input too.
BAD_INPUT: tuple[type[BaseException], ...] = (
    ValidationError, ExperimentNotFoundError, ExperimentConflictError, UnknownAxisError, UnknownCostKeyError,
    ModelNotFoundError, ModelDescriptionError, JudgementError, ValueError)
# The operation failed: every other qwenlab error (API, network, images, OCR missing), I/O, and a
# log SQLite cannot use (not a database, or held by another process past the busy timeout).
FAILED: tuple[type[BaseException], ...] = (QwenlabError, OSError, sqlite3.Error)
HANDLED = BAD_INPUT + FAILED

# The group's help text ends with this (and the README's CLI section says the same).
HELP = """\b
Exit codes:
  0  success
  1  the operation failed: an API or network error, a run that stopped on an
     error or ended with cells failed, in doubt or not sent (its budget reached), a
     file that could not be read or written, no log yet
  2  bad input: the command line or an input file is wrong; nothing was sent
     or spent"""

_HINTS = "qwenlab_param_hints"  # attribute of a click.Command set by @param_hints


def exit_code(exc: BaseException) -> int:
    """The exit code for `exc`: 2 for bad input, 1 for everything else that went wrong.

    An error carrying `.experiment` stopped a run that had started sending, so it is a failure
    whatever its class."""
    if getattr(exc, "experiment", None) is not None:
        return EXIT_FAILED
    if isinstance(exc, click.ClickException):
        return exc.exit_code
    if isinstance(exc, NoLogError):  # an ExperimentNotFoundError, but no name would have done
        return EXIT_FAILED
    return EXIT_BAD_INPUT if isinstance(exc, BAD_INPUT) else EXIT_FAILED


def exit_unless_done(counts: Mapping[str, int]) -> None:
    """After a run's summary (`run`, `demo`): exit 1 when any cell is failed, in doubt or not
    sent, so that a script chaining on the run knows it is not all there."""
    if counts["failed"] or counts["pending"] or counts["in_doubt"]:
        click.get_current_context().exit(EXIT_FAILED)


def to_click_error(exc: BaseException, command: click.Command | None = None,
                   ctx: click.Context | None = None) -> click.ClickException:
    """`exc` as the click error that prints it and exits with `exit_code(exc)`.

    command: the command that raised it (its `@param_hints` name the parameter in the message);
    ctx: a context of that command, so that bad input shows its usage line as click does."""
    message = _message(exc)
    experiment = getattr(exc, "experiment", None)
    if experiment is not None:  # what the run left behind comes first: it is what the user has now
        summary = experiment.summary()
        # its "stopped:" line may say it already (a TransportError's reason, without what the run does next)
        said = message in summary or str(getattr(exc, "reason", None) or message) in summary
        message = summary if said else f"{summary}\n{message}"
    if exit_code(exc) != EXIT_BAD_INPUT:
        return click.ClickException(message)
    hint = _hint(exc, command) or _hint_in(message, command)
    if hint is None:
        return click.UsageError(message, ctx=ctx)
    # "by='colour': ..." and "new_name: ..." are the library's Python; after "Invalid value for
    # '--by':" the rest is enough
    python = next((p.name for p in (command.params if command else []) if hint in (*p.opts, p.human_readable_name)),
                  None) or hint.lstrip("-").replace("-", "_").lower()
    said = re.match(r"\w+ \(-{1,2}[\w-]+\): ", message)  # "path (-o): ", the library's name and the option's
    for prefix in ((said.group(0),) if said else ()) + (f"{python}=", f"{python}: ", f"{_PYTHON_NAMES.get(python, python)}: "):
        if message.startswith(prefix):
            message = message[len(prefix):]
            break
    return click.BadParameter(message, ctx=ctx, param_hint=f"'{hint}'")


# the library's names for what a command's options call otherwise (a message starts "budget_usd: ...")
_PYTHON_NAMES = {"budget": "budget_usd", "pages": "page", "tags": "tag"}


def _hint_in(message: str, command: click.Command | None) -> str | None:
    """The option or argument of `command` that a library message names first ("limit: give a
    positive number" is about `-n/--limit`; "path (-o): ..." about `-o/--output`), so that it
    reads as the command's, not as Python."""
    found = re.match(r"(\w+)(?: \((-{1,2}[\w-]+)\))?(?:=[^:]*)?: ", message)
    if found is None or command is None:
        return None
    word, option = found.groups()
    for param in command.params:
        if option is not None and option in param.opts:  # "path (-o): ..." names the command's option itself
            return max(param.opts, key=len)
    for param in command.params:
        if param.name in (word, next((k for k, v in _PYTHON_NAMES.items() if v == word), None)):
            if isinstance(param, click.Option):
                return max(param.opts, key=len)
            return param.human_readable_name
    return None


def param_hints(hints: Mapping[type[BaseException], str]) -> Callable[[click.Command], click.Command]:
    """Name the parameter an exception class is about, for the messages of one command:

        @param_hints({UnknownCostKeyError: "--by", ExperimentNotFoundError: "--experiment"})
        @click.command("costs")
        ...

    The most specific class in an exception's MRO wins. Only the message changes; the exit code
    is the class's, as for every command."""

    def decorate(command: click.Command) -> click.Command:
        setattr(command, _HINTS, dict(hints))
        return command

    return decorate


def _hint(exc: BaseException, command: click.Command | None) -> str | None:
    hints: Mapping[type[BaseException], str] = getattr(command, _HINTS, {})
    return next((hints[cls] for cls in type(exc).__mro__ if cls in hints), None)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"  # not "[Errno 13] Permission denied: '...'"
    if isinstance(exc, sqlite3.Error):
        return _log_message(exc)
    return str(exc)


def _log_message(exc: sqlite3.Error) -> str:
    """What went wrong with the log, said for a user: which file, and what to do."""
    path, text = log_path(), str(exc)
    if "malformed" in text:  # a qwenlab log with a damaged page: every other row is still in it
        return (f"the log {path} cannot be read ({text}): {damaged_log_advice(path.name)}; "
                "`qwenlab verify` says which pages are damaged")
    if "not a database" in text:
        return (f"the log {path} cannot be read: {text}. Is it a qwenlab log? Point QWENLAB_DATA_DIR at the "
                "folder holding yours, or move that file away to start a new log")
    if "locked" in text or "busy" in text:
        return f"the log {path} is busy ({text}): {log_advice(exc)}; then try again"
    return f"the log {path}: {text}; {log_advice(exc)}"
