"""Bad input found by an audit of the command line: each refused with exit 2, naming the option
or setting and the fix, before anything is sent or written (no traceback, no silent fallback)."""

from __future__ import annotations

from pathlib import Path

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


SWEEP = 'prompt = "A poster reading \'LUMIERE\'"\n[request]\nsize = "256x256"\n'


@pytest.mark.parametrize("name", ["", "   "])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_blank_name_is_refused_not_replaced_by_the_default(tmp_path: Path, data_dir: Path, name: str,
                                                             dry_run: bool) -> None:
    # `run sweep.toml --name ""` ran (and logged) the sweep under its derived name 'sweep-...'
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    result = qwenlab("run", str(sweep), "--name", name, "--no-progress", *(["--dry-run"] if dry_run else []))
    assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), result.output
    assert "Invalid value for '--name'" in result.output and "is blank" in result.output, result.output
    assert not (data_dir / "qwenlab.db").exists()


def run_file(tmp_path: Path, text: str | bytes) -> Result:
    sweep = tmp_path / "s.toml"
    sweep.write_bytes(text if isinstance(text, bytes) else text.encode())
    return qwenlab("run", str(sweep), "--no-progress")


@pytest.mark.parametrize("key", ["prompt", "negativePrompt"])
def test_a_setting_given_at_the_top_and_under_request_that_differ_is_refused(tmp_path: Path, data_dir: Path,
                                                                              key: str) -> None:
    # prompt = "A" at the top and prompt = "B" under [request]: "B" was dropped without a word
    text = f'prompt = "A poster reading HELLO"\n{key} = "top"\n[request]\n{key} = "under request"\n'
    result = run_file(tmp_path, text.replace('prompt = "A poster reading HELLO"\nprompt', "prompt"))
    assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), result.output
    assert f"{key}: given twice" in result.output and "keep one" in result.output, result.output
    assert "nothing was sent" in result.output and not (data_dir / "qwenlab.db").exists()


def test_the_same_setting_at_the_top_and_under_request_is_accepted(tmp_path: Path) -> None:
    result = run_file(tmp_path, 'prompt = "A poster"\n[request]\nprompt = "A poster"\nsize = "256x256"\n')
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ['"false"', "0", '"no"'])
def test_force_seed_must_be_true_or_false(tmp_path: Path, data_dir: Path, value: str) -> None:
    # force_seed = "false" is a non-empty string, so it forced the seed ("force_seed=True sends seed ...")
    result = run_file(tmp_path, f'prompt = "A poster"\nforce_seed = {value}\n')
    assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), result.output
    assert "force_seed: must be true or false" in result.output, result.output
    assert not (data_dir / "qwenlab.db").exists()


def test_a_sweep_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Notepad's "UTF-8 with BOM": refused with "toml: Invalid statement (at line 1, column 1)", no fix named
    result = run_file(tmp_path, b'\xef\xbb\xbfprompt = "A poster"\n[request]\nsize = "256x256"\n')
    assert result.exit_code == 0 and "1/1 cell done" in result.output, result.output



@pytest.fixture
def two(emulator, data_dir: Path) -> list[str]:
    from tests.support.labkit import run_sweep

    run_sweep(emulator, data_dir, name="small", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="other", repeats=1, fail_one=False, prompt="A poster reading 'OTHER'")
    return ["small", "other"]


@pytest.mark.parametrize("command", ["grid", "export", "compare"])
@pytest.mark.parametrize("option", ["--rows", "--cols", "--facet", "--page", "--where"])
def test_an_unknown_axis_is_named_by_the_option_that_gave_it(two: list[str], command: str, option: str) -> None:
    # "'colour' is not an axis of experiment 'small'" said which axis, not which of the five options gave it
    names = two if command == "compare" else two[:1]
    result = qwenlab(command, *names, option, "colour=red" if option == "--where" else "colour")
    assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), result.output
    assert f"Invalid value for '{option}': 'colour' is not an axis" in result.output, result.output


def test_an_until_before_since_names_the_option(two: list[str]) -> None:
    # "until (2020-01-01) is not after since (...)": a bare usage error, where other bad values name the option
    result = qwenlab("costs", "--since", "7d", "--until", "2020-01-01")
    assert result.exit_code == EXIT_BAD_INPUT and isinstance(result.exception, SystemExit), result.output
    assert "Invalid value for '--until': 2020-01-01 is not after since" in result.output, result.output


def test_every_parameter_an_error_is_said_of_is_one_the_command_has() -> None:
    """`qwenlab unarchive a nope` said "Invalid value for 'EXPERIMENT'" under a usage line that
    reads EXPERIMENTS..., and `qwenlab tag NAME a,b` named 'TAG' where the usage says TAGS...: an
    error names the parameter as the command's usage and --help spell it."""
    from qwenlab.cli import COMMANDS
    from qwenlab.cli.exits import _HINTS

    for name in COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        spelled = {s for p in command.params for s in (*p.opts, p.human_readable_name)}
        for cls, hint in getattr(command, _HINTS, {}).items():
            for part in hint.split("/"):  # "--axis/--criterion": about either
                assert part in spelled, f"qwenlab {name}: {cls.__name__} is said of {part!r}, not one of {sorted(spelled)}"


@pytest.mark.parametrize("args, said", [
    (["unarchive", "lumiere", "nope"], "Invalid value for 'EXPERIMENTS': no experiment named 'nope'"),
    (["archive", "nope"], "Invalid value for 'EXPERIMENTS': no experiment named 'nope'"),
    (["tag", "lumiere", "a,b"], "Invalid value for 'TAGS': 'a,b' holds a comma"),
    (["untag", "lumiere", " "], "Invalid value for 'TAGS': "),
    (["note", "lumiere", ""], "Invalid value for 'TEXT': is empty"),
    (["costs", "--tag", "nope"], "Invalid value for '--tag': no experiment has the tag 'nope'"),
])
def test_an_error_names_its_parameter_as_the_usage_line_does(emulator, data_dir: Path, args: list[str], said: str) -> None:
    from tests.support.labkit import run_sweep

    run_sweep(emulator, data_dir, name="lumiere", axes={"size": ["512x768"]}, repeats=1, fail_one=False)
    result = qwenlab(*args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert said in result.output, result.output
