"""The `qwenlab` command: a click group of thin commands over the library.

Each group of commands has its module (runs, demo, logs, views, compare, scores, judgements, emulator,
models, organize, search, share, datasette),
imported only when one of its commands runs or shows its help (`lazy.LazyGroup`), so that
`qwenlab --help` and `qwenlab emulator` start without pandas, matplotlib or ipywidgets.
Exit codes are decided in one place, `QwenlabGroup.invoke` with `exits.py`.
"""

from __future__ import annotations

import codecs
import contextlib
import sys
import warnings
from typing import Any

import click

from ..version import __version__
from .exits import HANDLED, HELP, to_click_error
from .lazy import LazyCommand, LazyGroup

__all__ = ["cli", "main", "COMMANDS"]

# name -> where the command lives, and its line in `qwenlab --help` (its docstring's first sentence)
COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand("qwenlab.cli.runs:run_command",
                       "Run the sweep in SWEEP_FILE (TOML); rerunning under the same name sends only what is not done."),
    "demo": LazyCommand("qwenlab.cli.demo:demo_command",
                        "Sweep the model page's four examples (promptExtend x size x negative prompt x 2 repeats) "
                        "against the offline emulator; write the log, the images and comparison grids in the data folder."),
    "logs": LazyCommand("qwenlab.cli.logs:logs_command", "List experiments, or the tasks of EXPERIMENT."),
    "costs": LazyCommand("qwenlab.cli.logs:costs_command",
                         "What the experiments cost, from the log, grouped --by experiment, day, axis value, ..."),
    "grid": LazyCommand("qwenlab.cli.views:grid_command",
                        "Write a comparison grid of EXPERIMENT's images: "
                        "qwenlab grid NAME --rows promptExtend --cols size -o grid.png"),
    "compare": LazyCommand("qwenlab.cli.compare:compare_command",
                           "Compare experiments in one grid, the experiment as an axis: "
                           "qwenlab compare A B --rows experiment --cols size -o cmp.png"),
    "export": LazyCommand("qwenlab.cli.views:export_command",
                          "Write EXPERIMENT as one self-contained HTML file: qwenlab export NAME -o report.html"),
    "score": LazyCommand("qwenlab.cli.scores:score_command",
                         "Read the text in every image of EXPERIMENT (OCR) and score it against the prompt's quoted "
                         "strings: word accuracy, NED, and which strings were misspelled."),
    "judgements": LazyCommand("qwenlab.cli.judgements:judgements_command",
                              "The win rates of EXPERIMENT's blind judgements (made with exp.judge in a notebook), per "
                              "axis and criterion, each with its 95% Wilson interval."),
    "emulator": LazyCommand("qwenlab.cli.emulator:emulator_command",
                            "Serve the offline emulator of Runware's API on loopback until Ctrl-C."),
    "models": LazyCommand("qwenlab.cli.models:models_command",
                          "List the model descriptions qwenlab knows, with their prices."),
    "tag": LazyCommand("qwenlab.cli.organize:tag_command", "Add TAGS to EXPERIMENT: qwenlab tag NAME posters lumiere."),
    "untag": LazyCommand("qwenlab.cli.organize:untag_command", "Remove TAGS from EXPERIMENT."),
    "note": LazyCommand("qwenlab.cli.organize:note_command",
                        "Set EXPERIMENT's note (shown by `qwenlab logs EXPERIMENT [--json]`); without TEXT, print it."),
    "rename": LazyCommand("qwenlab.cli.organize:rename_command",
                          "Rename EXPERIMENT to NEW_NAME; its tasks, images, ratings, judgements and scores stay attached."),
    "archive": LazyCommand("qwenlab.cli.organize:archive_command",
                           "Archive EXPERIMENTS: out of `qwenlab logs` (`qwenlab logs --all` shows them), nothing removed."),
    "unarchive": LazyCommand("qwenlab.cli.organize:unarchive_command", "Bring archived EXPERIMENTS back into the listings."),
    "delete": LazyCommand("qwenlab.cli.organize:delete_command",
                          "Delete EXPERIMENT: its rows and the image files no other experiment uses, after asking."),
    "search": LazyCommand("qwenlab.cli.search:search_command",
                          "Find images whose prompt has every word of TEXT, in every experiment: qwenlab search LUMIERE."),
    "images": LazyCommand("qwenlab.cli.share:images_command",
                          "Copy EXPERIMENT's images into a folder, each carrying its settings: qwenlab images NAME -o DIR."),
    "bundle": LazyCommand("qwenlab.cli.share:bundle_command",
                          "Pack EXPERIMENTS (rows and images) into one file to share: qwenlab bundle NAME -o FILE."),
    "import": LazyCommand("qwenlab.cli.share:import_command",
                          "Merge the experiments of a BUNDLE file into this log; importing it twice adds nothing."),
    "verify": LazyCommand("qwenlab.cli.verify:verify_command",
                         "Verify that every image file of EXPERIMENTS (all by default) is the bytes logged, and the log sound."),
    "datasette": LazyCommand("qwenlab.cli.datasette:datasette_command",
                             "Browse the log in Datasette on 127.0.0.1, with image thumbnails, canned queries and facets."),
}


class QwenlabGroup(LazyGroup):
    """The group: lazy commands, and the one place where an error becomes an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HANDLED as exc:
            if isinstance(exc, BrokenPipeError):  # the reader went away (`| head`): click exits quietly
                raise
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else None
            # a fresh context of the command, for the usage line click shows with bad input
            usage = click.Context(command, info_name=name, parent=ctx) if command is not None else ctx
            raise to_click_error(exc, command, usage) from exc


@click.group(cls=QwenlabGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]},
             help=f"""Prompt experiments for Qwen-Image-2.0-Pro on Runware: sweeps, logs, grids, costs.

Without RUNWARE_API_KEY every command talks to the offline emulator, whose images are synthetic.

{HELP}""")
@click.version_option(__version__, prog_name="qwenlab")
def cli() -> None:
    pass


def main() -> None:
    """Entry point of the console script (`qwenlab = "qwenlab.cli:main"`)."""
    _escape_what_stdout_cannot_encode()
    warnings.showwarning = _plain_warning
    sys.unraisablehook = _second_ctrl_c(sys.unraisablehook)
    cli()


def _second_ctrl_c(previous: Any) -> Any:
    """An unraisable-exception hook that says a Ctrl-C at exit in one line. A run stopped by Ctrl-C
    waits, as Python exits, for its requests in flight ("Ctrl-C again stops waiting"); a second
    Ctrl-C there printed Python's "Exception ignored in: <module 'threading'>" and a traceback of
    threading.py, as if qwenlab had crashed. Any other unraisable exception is shown as before."""

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)
            return
        with contextlib.suppress(Exception):  # a closed stderr: nothing to say it on
            sys.stderr.write("qwenlab: stopped waiting; the requests still in flight are left in doubt, and the next "
                             "run asks the server about them (nothing is bought twice)\n")

    return hook


def _plain_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                   file: Any = None, line: str | None = None) -> None:
    """A warning a command does not put in its own words, printed as one line, "qwenlab: warning:
    ...", to stderr. Python's own form names the file and line the warning points at, and shows
    that line: a notebook's cell or a script's, but under the command there is none of the user's
    (`qwenlab logs` of a log a newer qwenlab wrote printed a line of click's core.py)."""
    stream = file if file is not None else sys.stderr
    if stream is None:  # pythonw: nowhere to write
        return
    try:
        stream.write(f"qwenlab: warning: {message}\n")
    except OSError:  # a closed or broken stderr, as warnings.showwarning itself allows
        pass


def _escape_what_stdout_cannot_encode() -> None:
    """Write a character stdout's encoding lacks as a \\uXXXX escape instead of failing. On
    Windows, output sent to a file or a pipe is encoded in the locale's code page (cp1252, ...):
    `qwenlab logs > list.txt` with a prompt in Chinese failed with "'charmap' codec can't encode"
    (exit 2, as if the input were bad). The escape is JSON's own, so `--json` output stays JSON.
    A UTF-8 stdout (Linux, macOS, a Windows console) is left as it is."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None)
    if stream is None or not encoding or not hasattr(stream, "reconfigure"):
        return
    try:
        if codecs.lookup(encoding).name == "utf-8":
            return
    except LookupError:
        return
    stream.reconfigure(errors=_ESCAPE)


def _json_escape(error: UnicodeError) -> tuple[str, int]:
    """The characters `error` could not encode, each as JSON writes it: \\u6d77, and a character
    past U+FFFF as its UTF-16 pair (\\ud83d\\ude00)."""
    if not isinstance(error, UnicodeEncodeError):  # registered for stdout's encoding only
        raise error
    out = []
    for char in error.object[error.start:error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), error.end


_ESCAPE = "qwenlab-json-escape"
codecs.register_error(_ESCAPE, _json_escape)
