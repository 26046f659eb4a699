"""What several commands share: where the log is, without creating anything, and how the commands
they suggest are typed."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import click

from ..errors import NoLogError
from ..paths import DB_NAME, data_dir
from ..secrets import redact
from ..store.log import Log
from ..store.organize import unknown_tag
from ..sweeps.budget import run_setting_problems

__all__ = ["log_path", "existing_log", "log_or_empty", "run_setting", "remove_new_log", "layout", "command_name", "echo_json", "echo_text",
           "output_path", "known_tag"]

NO_LOG_HINT = "run `qwenlab demo` or `qwenlab run sweep.toml` first"


def command_name(argv0: str | None = None) -> str:
    """How to type this `qwenlab` again, for the commands a command's output suggests.

    `make demo` runs `.venv/bin/qwenlab demo` without activating the virtualenv, so a suggested
    `qwenlab logs demo` answered "command not found": the script is named as it was run, relative
    to the current folder where it lies below it, unless the `qwenlab` found on PATH is that very
    script; `python -m qwenlab.cli` is named with its interpreter the same way."""
    script = Path(sys.argv[0] if argv0 is None else argv0)
    if script.name == "__main__.py" and "qwenlab" in script.parent.parts:  # python -m qwenlab.cli (or qwenlab)
        module = "qwenlab.cli" if script.parent.name == "cli" else "qwenlab"
        return f"{_typed(Path(sys.executable), 'python')} -m {module}"
    if script.stem != "qwenlab":  # called from elsewhere (a test runner, a script of one's own)
        return "qwenlab"
    return _typed(script, "qwenlab")


def _typed(program: Path, name: str) -> str:
    """`name` where PATH finds this very program; otherwise its path, relative where it lies
    below the current folder (with ./ where that leaves a bare name, which PATH would look up)."""
    found = shutil.which(name)
    absolute = Path(os.path.abspath(program))
    # compared as paths, links not followed: a virtualenv's python links to the system's, which
    # PATH may find as `python` and which has no qwenlab
    if found and os.path.normcase(os.path.abspath(found)) == os.path.normcase(str(absolute)):
        return name
    try:
        typed = str(absolute.relative_to(Path.cwd()))
        typed = typed if os.sep in typed else os.path.join(".", typed)
    except ValueError:
        typed = str(absolute)
    if os.name == "nt":  # cmd and PowerShell quote with double quotes, and a backslash is no escape there
        return f'"{typed}"' if " " in typed else typed
    return shlex.quote(typed)


def echo_json(document: Any) -> None:
    """Print `document` (a list or an object) as one JSON document, as every `--json` does: a
    script reads it whole with `json.load` or `jq`, and an empty answer is `[]`, not nothing.
    Values JSON has no word for (a timestamp, a path) are written as text. The API key is
    scrubbed from it, as from `echo_text`'s."""
    # scrubbed as written: a key is plain ASCII, so it stands in the JSON text as it does in the
    # value, and *** in its place keeps the document valid
    click.echo(redact(json.dumps(document, indent=2, ensure_ascii=False, default=str)))


def echo_text(text: Any, *, err: bool = False) -> None:
    """Print what a user wrote into the log (a note, a tag, a prompt, a listing of them) with the
    API key scrubbed out: a log written before qwenlab refused a key pasted into a note, a tag or
    a prompt kept it, and `qwenlab logs NAME`, `note`, `untag` and `search` printed it whole
    (reports and bundles refuse or scrub it)."""
    click.echo(redact(text), err=err)


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


def log_or_empty(as_json: bool, experiments: tuple[str, ...] = ()) -> tuple[Path, Log, bool]:
    """The log's path, the log to read, and whether there is no log yet. With no log, `--json`
    answers for a script as an empty log would: an empty in-memory log is read, so every option is
    checked as it is with a log (a bad --by or --raw query answered [] and exit 0 with no log, and
    exit 2 with one). A named experiment with no log is "no log yet" (exit 1), as everywhere; and
    without --json no log is said as one (FileNotFoundError, exit 1)."""
    path = log_path()
    if path.exists():
        return path, Log(path), False
    if experiments:
        raise NoLogError(f"no experiment named {', '.join(map(repr, experiments))}: no log yet at {path}; {NO_LOG_HINT}")
    if not as_json:
        existing_log()
    return path, Log(":memory:"), True


def known_tag(log: Log, tag: str | None) -> None:
    """Refuse a --tag no experiment has (a typo, 'poster' for 'posters'), naming the tags there are:
    bad input (exit 2), as an unknown experiment is, in every command that filters by tag (`logs`,
    `costs`, `search`); `logs` and `search` said "no experiments"/"no images found" with exit 0,
    where `costs` refused it, so a script could not tell a typo from an empty answer."""
    if why := unknown_tag(log, tag):
        raise click.BadParameter(f"{why}; `qwenlab logs --all` lists the experiments and their tags", param_hint="'--tag'")


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


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback for -o/--output: a file (or folder) to write whose path goes through a
    file where a folder must be is refused as bad input naming the option, before anything is
    read or written. `-o afile/g.png` failed after the grid was drawn with "afile: File exists"
    (making the folder) or "Not a directory", as if the disk had failed."""
    if value is None:
        return value
    for folder in Path(value).parents:
        if folder.is_dir():
            break
        if folder.exists():  # the nearest thing that is there, and no folder
            raise click.BadParameter(f"{str(folder)!r} is a file, not a folder, so {value!r} cannot be written in it; "
                                     "give a path whose folders are folders, or are not there yet (they are made)",
                                     ctx=ctx, param=param)
    return value


def remove_new_log(log: Path, new_folder: bool) -> None:
    """Remove the log a command opened where there was none and then refused to use (a declined
    run, a bundle refused), and its folder if the command made it and left it empty: a "no"
    leaves no trace."""
    for path in (log, log.with_name(log.name + "-wal"), log.with_name(log.name + "-shm")):
        path.unlink(missing_ok=True)
    if new_folder:
        with contextlib.suppress(OSError):  # not empty: something else lives there, keep it
            for folder in (log.parent / "images", log.parent):
                if folder.is_dir():
                    folder.rmdir()


def layout(pages: tuple[str, ...], where: tuple[str, ...]) -> tuple[Any, dict[str, list[str]]]:
    """--page and --where as the library takes them: page= ("auto", None or axes) and where=.
    Here, not beside the grid command: `qwenlab images` takes --where too, and must not import
    matplotlib for it (a second of start-up)."""
    page: Any = "auto"
    if pages:
        page = None if [p.lower() for p in pages] == ["none"] else list(pages)
    filters: dict[str, list[str]] = {}
    for item in where:
        axis, sep, value = item.partition("=")
        if not sep or not axis.strip():
            raise click.BadParameter(f"{item!r} is not AXIS=VALUE (e.g. promptExtend=on)", param_hint="'--where'")
        filters.setdefault(axis.strip(), []).append(value.strip())
    return page, filters
