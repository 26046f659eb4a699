"""The `qwenlab` command: its exit codes (0 success, 1 the operation failed, 2 bad input; one
class of error, one code, whichever command raised it), reading commands that create nothing,
and a `--help` that imports none of the commands.

Every test has its own data folder (QWENLAB_DATA_DIR, tests/conftest.py) and runs the real
commands through click's CliRunner, or in a fresh process where the process itself matters."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from qwenlab.cli import COMMANDS, cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, exit_code
from qwenlab.emulator import Emulator
from qwenlab.errors import (
    AuthenticationError,
    BundleError,
    ExperimentConflictError,
    ExperimentNotFoundError,
    ImageError,
    NotABundleError,
    QwenlabError,
    TransportError,
    UnknownAxisError,
    UnknownCostKeyError,
    ValidationError,
)
from qwenlab.problems import Problem
from qwenlab.store.log import Log
from tests.support.labkit import run_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = 'name = "small"\nprompt = "A poster reading \'LUMIERE\'"\n[request]\nsize = "256x256"\n[axes]\npromptExtend = [true, false]\n'


def qwenlab(*args: str) -> Result:
    """`qwenlab ARGS` in this process (the environment is the test's)."""
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


def fresh_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder that does not exist (yet): the reading commands must not create it."""
    folder = tmp_path / "nothing-here" / "data"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def small(emulator: Emulator, data_dir: Path) -> str:
    """A log holding one finished experiment, "small" (promptExtend x size, 4 cells)."""
    run_sweep(emulator, data_dir, name="small", repeats=1, fail_one=False)
    return "small"


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


# -- 0: help and success --------------------------------------------------------------------------
def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = qwenlab("--help")
    assert result.exit_code == EXIT_OK, result.output
    listed = result.output.split("Commands:")[1]
    for name in COMMANDS:
        assert f"  {name} " in listed, name
    assert "Exit codes:" in result.output and "2  bad input" in result.output


def test_each_command_shows_its_own_help() -> None:
    for name in COMMANDS:
        result = qwenlab(name, "--help")
        assert result.exit_code == EXIT_OK and f"qwenlab {name}" in result.output, result.output


def test_the_listed_short_helps_are_the_commands_own() -> None:
    """The group lists commands without importing them, from COMMANDS; they must not drift."""
    for name, lazy in COMMANDS.items():
        assert cli.load(name).get_short_help_str(10**4) == lazy.short_help, name


def run_and_list_loaded(args: list[str], modules: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """`qwenlab ARGS` in a fresh interpreter, which must exit 0; its output ends with "LOADED [...]",
    the `modules` it imported."""
    code = ("import sys; from qwenlab.cli import cli\n"
            f"try: cli.main({args!r})\n"
            "except SystemExit as exit: assert exit.code == 0, exit.code\n"
            f"print('LOADED', [m for m in {modules!r} if m in sys.modules])\n")
    done = fresh_process("-c", code)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("args", [["--help"], ["emulator", "--help"]])
def test_help_and_the_emulator_import_no_command_and_no_heavy_library(args: list[str]) -> None:
    done = run_and_list_loaded(args, ("pandas", "matplotlib", "ipywidgets", "qwenlab.lab", "qwenlab.cli.runs",
                                      "qwenlab.cli.logs", "qwenlab.cli.views", "qwenlab.cli.scores", "qwenlab.cli.demo"))
    assert "LOADED []" in done.stdout, done.stdout[-500:]


@pytest.mark.parametrize("command", ["logs", "costs"])
def test_reading_the_log_imports_no_client_emulator_or_pillow(small: str, command: str) -> None:
    # `python -m qwenlab logs` imported the package's client (httpx, the emulator) and Pillow (the
    # thumbnails), none of which a listing uses: a fifth of its start
    done = run_and_list_loaded([command], ("httpx", "PIL", "qwenlab.api.client", "qwenlab.api.exchange",
                                           "qwenlab.emulator", "qwenlab.sweeps.sweep", "qwenlab.lab", "matplotlib"))
    assert small in done.stdout and "LOADED []" in done.stdout, done.stdout[-500:]


@pytest.mark.parametrize("module", ["qwenlab.cli", "qwenlab"])
def test_python_dash_m_runs_the_command(module: str) -> None:
    # `python -m qwenlab` is what a notebook's `!` line or a venv not activated reaches for
    done = fresh_process("-m", module, "--version")
    assert done.returncode == EXIT_OK and "qwenlab, version" in done.stdout, done.stderr


def test_a_run_under_a_renamed_experiments_old_name_is_refused_with_its_new_name(
        emulator: Emulator, sweep_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the sweep file still names the experiment as it was: a run would have paid for every cell again
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    assert qwenlab("run", str(sweep_file), "--no-progress").exit_code == EXIT_OK
    assert qwenlab("rename", "small", "small v2").exit_code == EXIT_OK
    sent = len(emulator.ledger)
    for args in ((), ("--dry-run",)):
        refused = qwenlab("run", str(sweep_file), "--no-progress", *args)
        assert refused.exit_code == EXIT_BAD_INPUT, refused.output
        assert "'small' is what experiment 'small v2' was called" in refused.output
        assert "--name 'small v2'" in refused.output and "--reuse-name" in refused.output
    assert len(emulator.ledger) == sent
    assert qwenlab("run", str(sweep_file), "--no-progress", "--name", "small v2").exit_code == EXIT_OK
    assert len(emulator.ledger) == sent
    assert qwenlab("run", str(sweep_file), "--no-progress", "--reuse-name").exit_code == EXIT_OK
    assert len(emulator.ledger) == 2 * sent


def test_a_refused_former_name_is_said_of_where_the_name_came_from(
        emulator: Emulator, sweep_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the file's `name` line was refused as "Invalid value for '--name'" with no --name given, and
    # `qwenlab demo` was told to pass --name and --reuse-name, which it does not have
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    assert qwenlab("run", str(sweep_file), "--no-progress").exit_code == EXIT_OK
    assert qwenlab("rename", "small", "small v2").exit_code == EXIT_OK
    from_file = qwenlab("run", str(sweep_file), "--no-progress")
    assert from_file.exit_code == EXIT_BAD_INPUT, from_file.output
    assert f"Invalid value for 'name' in {sweep_file}:" in from_file.output and "'--name'" not in from_file.output
    assert f'write name = "small v2" in {sweep_file}, or pass --name \'small v2\'' in from_file.output
    flag = qwenlab("run", str(sweep_file), "--no-progress", "--name", "small")
    assert "Invalid value for '--name': 'small' is what experiment 'small v2'" in flag.output, flag.output
    assert "lab.run" not in flag.output and "reuse_name=True" not in flag.output  # the notebook's forms
    unnamed = tmp_path / "unnamed.toml"
    unnamed.write_text(SMALL.replace('name = "small"\n', ""))
    assert qwenlab("run", str(unnamed), "--no-progress").exit_code == EXIT_OK
    derived = next(e["name"] for e in json.loads(qwenlab("logs", "--json").output) if e["name"].startswith("sweep-"))
    assert qwenlab("rename", derived, "mine").exit_code == EXIT_OK
    from_sweep = qwenlab("run", str(unnamed), "--no-progress")
    assert (f"Invalid value for 'SWEEP_FILE': {unnamed} names no experiment, and the name derived from its sweep, "
            f"{derived!r}, is what experiment 'mine'") in from_sweep.output, from_sweep.output
    run_sweep(emulator, Path(os.environ["QWENLAB_DATA_DIR"]), name="demo", repeats=1, fail_one=False)
    assert qwenlab("rename", "demo", "demo-kept").exit_code == EXIT_OK
    demo = qwenlab("demo", "--no-progress")
    assert demo.exit_code == EXIT_BAD_INPUT, demo.output
    assert "qwenlab rename demo-kept demo, then qwenlab demo" in demo.output
    assert "--name" not in demo.output and "--reuse-name" not in demo.output


def test_a_run_against_the_emulator_succeeds_and_a_rerun_sends_nothing(emulator: Emulator, sweep_file: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    first = qwenlab("run", str(sweep_file), "--no-progress", "--yes")  # a key is set: --yes, or it asks
    assert first.exit_code == EXIT_OK and "2/2 cells done" in first.output, first.output
    sent = len(emulator.ledger)
    again = qwenlab("run", str(sweep_file), "--no-progress")
    assert again.exit_code == EXIT_OK and len(emulator.ledger) == sent == 2
    assert qwenlab("logs", "small").exit_code == EXIT_OK
    header, row = qwenlab("logs").output.splitlines()[:2]
    counts = dict(zip(header.split(), row.split()))
    assert counts["done"] == "2" and counts["in_doubt"] == "0" and "sent" not in counts  # not "sent 0" for two sent


def test_no_progress_hides_the_bar_not_the_runs_warnings(tmp_path: Path) -> None:
    """`--no-progress` dropped the warnings a run writes beside its bar: a size Runware may
    refuse said nothing, where the same run with its bar said "unconfirmed"."""
    path = tmp_path / "big.toml"
    path.write_text('name = "big"\nprompt = "A poster reading \'LUMIERE\'"\n[request]\nsize = "2048x2048"\n')
    done = qwenlab("run", str(path), "--no-progress")
    assert done.exit_code == EXIT_OK, done.output
    assert "unconfirmed" in done.output and "Runware may refuse it" in done.output, done.output


def test_a_rerun_keeps_the_budget_set_with_budget_over_the_files(emulator: Emulator, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The file says $1.00; the first run was given --budget 0.075 and stopped there. Run again
    without --budget, the file's $1.00 silently replaced the user's $0.075 and the run went on."""
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    path = tmp_path / "budgeted.toml"
    path.write_text(SMALL.replace('name = "small"\n', 'name = "small"\nbudget_usd = 1.0\n'))
    first = qwenlab("run", str(path), "--no-progress", "--yes", "--budget", "0.075")
    assert first.exit_code == EXIT_FAILED and "1/2 cells done" in first.output, first.output
    listed = qwenlab("logs", "small").output  # a cell not sent has no seed: the others' stay integers
    assert re.search(r"\bdone\b.* \d{4,} ", listed) and not re.search(r"\d{4,}\.0\b", listed), listed
    # as JSON: each task's images with the seed the API reported and where the file is (a task's
    # `seed` is the one sent: none here), and how many tasks there are where -n cuts the list
    data = json.loads(qwenlab("logs", "small", "--json", "-n", "1").output)
    assert data["tasks_total"] == 2 and len(data["tasks"]) == 1 and data["tags"] == []
    (image,) = data["tasks"][0]["images"]
    reported = re.search(r"\bdone\b.* (\d{4,}) ", listed).group(1)
    assert str(image["seed"]) == reported and image["path"].startswith("images/") and data["tasks"][0]["seed"] is None
    plan = qwenlab("run", str(path), "--dry-run")
    assert "kept from the last run of 'small'" in plan.output and "--budget 1" in plan.output, plan.output
    again = qwenlab("run", str(path), "--no-progress", "--yes")
    assert again.exit_code == EXIT_FAILED and "1/2 cells done" in again.output, again.output
    assert len(emulator.ledger) == 1
    raised = qwenlab("run", str(path), "--no-progress", "--yes", "--budget", "1")
    assert raised.exit_code == EXIT_OK and "2/2 cells done" in raised.output, raised.output


def test_a_dry_runs_table_says_no_seed_as_the_logs_do_not_as_none(sweep_file: Path, data_dir: Path) -> None:
    """A sampled cell has no seed to send: the plan's table read "None" under "seed" on every row,
    Python's word in a terminal table where `qwenlab logs NAME` says "-"."""
    plan = qwenlab("run", str(sweep_file), "--dry-run")
    assert plan.exit_code == EXIT_OK, plan.output
    table = plan.output.split("request of cell 0")[0]
    header = next(line for line in table.splitlines() if line.split()[:1] == ["cell"])
    rows = [line.split() for line in table.splitlines() if re.match(r"\s*\d+\s+(on|off)\b", line)]
    assert len(rows) == 2 and "None" not in table and "NaN" not in table, table
    column = header.split().index("seed")
    assert [row[column] for row in rows] == ["-", "-"], table


def test_a_file_without_a_budget_says_where_the_budget_it_runs_under_comes_from(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with no budget_usd, run after a run given --budget 0: its plan read "budget $0.00:
    it covers no cell", with nothing to say where that budget came from."""
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    path = tmp_path / "unbudgeted.toml"
    path.write_text(SMALL)
    assert qwenlab("run", str(path), "--no-progress", "--yes", "--budget", "0").exit_code == EXIT_FAILED
    plan = qwenlab("run", str(path), "--dry-run")
    assert plan.exit_code == EXIT_OK and "budget $0.00: it covers no cell" in plan.output, plan.output
    assert "budget: $0.00, kept from the last run of 'small' (pass --budget to set another)" in plan.stderr, plan.output
    assert len(emulator.ledger) == 0


def test_a_files_budget_below_what_the_experiment_cost_before_says_so_and_what_sends_the_rest(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with no budget ($0.15 spent), then extended by a file whose budget_usd is $0.10: a
    budget counts all the experiment has cost, so nothing is sent; but the plan read "it covers 0
    of the 2 cells", the stop "$0.000 of $0.10 is left" and the summary "OVER by $0.050 (qwenlab
    costs says why)", as if the run had overspent. Each now says the budget is below what was
    spent before, and which budget sends the rest."""
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    path = tmp_path / "unbudgeted.toml"
    path.write_text(SMALL)
    assert qwenlab("run", str(path), "--no-progress", "--yes").exit_code == EXIT_OK
    path.write_text(SMALL.replace('name = "small"\n', 'name = "small"\nbudget_usd = 0.1\n')
                    .replace("[axes]\n", '[axes]\noutputQuality = [60, 90]\n'))
    below = "budget $0.10, below the $0.15 the experiment has cost already"
    plan = qwenlab("run", str(path), "--extend", "--dry-run")
    assert plan.exit_code == EXIT_OK and below in plan.output, plan.output
    assert "nothing is sent; a budget of about $0.45 sends them all" in plan.output, plan.output
    result = qwenlab("run", str(path), "--extend", "--no-progress", "--yes")
    assert result.exit_code == EXIT_FAILED and "4 not sent" in result.output, result.output
    assert "budget: $0.10 is below the $0.15 the experiment had cost before this run" in result.output, result.output
    assert "to about $0.45 (--budget 0.45 for qwenlab run" in result.output and "spent before the budget was set" in result.output
    assert "qwenlab costs says why" not in result.output
    assert len(emulator.ledger) == 2  # the budget held: nothing more was sent
    done = qwenlab("run", str(path), "--extend", "--no-progress", "--yes", "--budget", "0.45")
    assert done.exit_code == EXIT_OK and "6/6 cells done" in done.output, done.output  # the budget it named sends them


@pytest.mark.slow
def test_ctrl_c_prints_what_the_run_left_before_aborting(data_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C mid-run printed only click's "Aborted!": not what was spent, done or in doubt."""
    from tests.support.interrupt import ctrl_c_when_sent, join_run_threads

    path = tmp_path / "slow.toml"
    path.write_text(SMALL.replace("[request]\n", "repeats = 4\n[request]\n"))  # 8 cells
    with Emulator(latency=0.5) as emu:
        monkeypatch.setenv("RUNWARE_BASE_URL", emu.url)
        monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
        ctrl_c_when_sent(data_dir / "qwenlab.db", 2)
        result = qwenlab("run", str(path), "--no-progress", "--yes", "--concurrency", "2")
        join_run_threads()  # the requests in flight finish and are logged
    assert result.exit_code == EXIT_FAILED, result.output
    assert "Experiment 'small' (interrupted" in result.output and "cells done" in result.output, result.output
    assert "Aborted!" in result.output
    # the requests sent are said to be in flight, finishing: the summary alone read as money spent on nothing
    # (2 on the wire at concurrency 2, and up to 2 more marked sent while they wait for a place)
    assert re.search(r"  [1-4] requests? in flight or about to leave \(counted above at their estimate\): those sent "
                     r"finish and are logged", result.output), result.output


@pytest.mark.slow
def test_a_second_ctrl_c_stops_waiting_in_one_line_not_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    """The summary after Ctrl-C says "Ctrl-C again stops waiting"; that second Ctrl-C, landing as
    Python waits at exit for the requests in flight, printed "Exception ignored in: <module
    'threading'>" and a traceback of threading.py, as if qwenlab had crashed."""
    import signal
    import threading
    import time

    from tests.support.interrupt import statuses

    path = tmp_path / "slow.toml"
    path.write_text(SMALL.replace("[request]\n", "repeats = 4\n[request]\n"))  # 8 cells
    with Emulator(latency=10) as emu:
        proc = subprocess.Popen([sys.executable, "-m", "qwenlab", "run", str(path), "--no-progress", "--concurrency", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                env={**os.environ, "RUNWARE_BASE_URL": emu.url})
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
        reader.start()
        try:
            while statuses(data_dir / "qwenlab.db").get("sent", 0) < 2 and proc.poll() is None:
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            while not any("Aborted!" in line for line in lines) and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(0.5)  # into Python's wait at exit for the requests in flight (10 s each)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            reader.join(timeout=10)
        output = "".join(lines)
        assert proc.returncode == EXIT_FAILED, output
        assert "Ctrl-C again stops waiting" in output and "Traceback" not in output and "Exception ignored" not in output
        assert "qwenlab: stopped waiting; the requests still in flight are left in doubt, and the next run asks the " \
               "server about them (nothing is bought twice)" in output, output


# -- reading creates nothing ------------------------------------------------------------------------
def test_reading_commands_without_a_log_create_no_folder(absent: Path, sweep_file: Path) -> None:
    logs = qwenlab("logs")
    assert logs.exit_code == EXIT_FAILED and "no log yet" in logs.output and "qwenlab demo" in logs.output
    costs = qwenlab("costs")
    assert costs.exit_code == EXIT_FAILED and "no log yet" in costs.output
    assert json.loads(qwenlab("logs", "--json").output) == []
    empty = qwenlab("costs", "--json")  # for a script: an empty log's answer, in the same shape
    assert empty.exit_code == EXIT_OK and set(json.loads(empty.output)) == {
        "log", "by", "since", "until", "min_score", "totals", "rows", "notes"}
    assert json.loads(empty.output)["totals"]["cost_usd"] == 0 and json.loads(empty.output)["rows"] == []
    found = qwenlab("search", "LUMIERE", "--json")  # it exited 1 with no document, where the others answer
    assert found.exit_code == EXIT_OK and json.loads(found.stdout) == [], found.output
    assert "no log yet" in found.stderr
    assert qwenlab("search", "LUMIERE").exit_code == EXIT_FAILED  # for a person, no log is still said as one
    assert qwenlab("logs", "path").output.strip() == str(absent / "qwenlab.db")
    plan = qwenlab("run", str(sweep_file), "--dry-run")
    assert plan.exit_code == EXIT_OK and "request of cell 0" in plan.output, plan.output
    # a named experiment without a log is "no log yet" too (exit 1, as the help says), not a bad name
    for args in (["logs", "small"], ["logs", "small", "--json"], ["grid", "small"], ["export", "small"],
                 ["score", "small"], ["images", "small", "-o", str(absent.parent / "out")], ["compare", "small", "b"]):
        result = qwenlab(*args)
        assert result.exit_code == EXIT_FAILED and "no log yet" in result.output, (args, result.output)
    assert not absent.exists() and not absent.parent.exists()


def test_json_answers_without_a_log_check_their_options_as_with_one(absent: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With no log yet, `costs --json` and `search --json` answered [] and zero totals, exit 0,
    whatever else they were given: a bad --by, swapped dates, an FTS5 query that cannot parse.
    A script learned of its typo only once a log existed. Each is now refused as with an empty log."""
    bad = [["costs", "--json", "--by", "nope"], ["costs", "--json", "--by", "experiment,nope"],
           ["costs", "--json", "--since", "2026-02-01", "--until", "2026-01-01"],
           ["costs", "--json", "--tag", "nope"], ["logs", "--json", "--tag", "nope"], ["search", "--json", "--tag", "nope"],
           ["search", "--raw", "(", "--json"], ["search", "--raw", "AND", "--json"]]
    without = {tuple(args): qwenlab(*args) for args in bad}
    assert not absent.exists()
    empty = tmp_path / "empty"  # the same options against a log with nothing in it
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(empty))
    Log(empty / "qwenlab.db").close()
    for args in bad:
        result, logged = without[tuple(args)], qwenlab(*args)
        assert logged.exit_code == EXIT_BAD_INPUT, (args, logged.output)
        assert result.exit_code == EXIT_BAD_INPUT and result.output == logged.output, (args, result.output)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(absent))
    for command in ("costs", "search"):  # a name with no log is "no log yet", as `logs NAME --json` says it
        named = qwenlab(command, "--json", "-e", "nope")
        assert named.exit_code == EXIT_FAILED and "no experiment named 'nope': no log yet" in named.output, named.output
    answered = qwenlab("costs", "--json", "--by", "model", "--since", "2026-01-01")  # good options: the empty answer
    assert answered.exit_code == EXIT_OK and json.loads(answered.output)["rows"] == [], answered.output
    assert json.loads(answered.output)["notes"] == ["no log yet"]
    assert not absent.exists() and not absent.parent.exists()


def test_dry_run_says_which_sizes_runware_may_refuse(absent: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text('prompt = "A poster reading \'LUMIERE\'"\n[axes]\nsize = ["1024x1024", "2048x2048"]\n')
    plan = qwenlab("run", str(path), "--dry-run")
    assert plan.exit_code == EXIT_OK, plan.output
    assert "size 2048x2048 (4,194,304 px, above 2,097,152) is unconfirmed" in plan.output
    assert "Runware may refuse it, which costs nothing" in plan.output and "1024x1024 (" not in plan.output


def test_a_damaged_or_busy_log_is_a_failure_said_in_a_line_not_a_traceback(small: str, data_dir: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import qwenlab.store.log_file as log_file

    monkeypatch.setattr(log_file, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(data_dir / "qwenlab.db")
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, past the busy timeout
    try:
        busy = qwenlab("tag", small, "posters")
    finally:
        holder.rollback()
        holder.close()
    assert busy.exit_code == EXIT_FAILED and "is busy" in busy.output and "try again" in busy.output, busy.output
    assert isinstance(busy.exception, SystemExit)  # a clean exit, not an escaped sqlite3 error
    # a full disk fails even a read (SQLite writes its -wal and -shm beside the log): said with the fix
    from qwenlab.cli.exits import _message

    for reason, fix in {"disk I/O error": "not full", "database or disk is full": "free space on the disk",
                        "unable to open database file": "writable", "attempt to write a readonly database": "writable"}.items():
        said = _message(sqlite3.OperationalError(reason))
        assert said.startswith(f"the log {data_dir / 'qwenlab.db'}: {reason}; ") and fix in said, said

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "qwenlab.db").write_text("not a database")
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(junk))
    for args in (["logs"], ["costs"], ["run", str(data_dir / "nothing.toml"), "--dry-run"]):
        if args[0] == "run":
            (data_dir / "nothing.toml").write_text(SMALL)
        result = qwenlab(*args)
        assert result.exit_code == EXIT_FAILED, (args, result.output)
        assert f"the log {junk / 'qwenlab.db'} cannot be read" in result.output and "QWENLAB_DATA_DIR" in result.output
        assert "Traceback" not in result.output

    # another program's SQLite file where the log should be: `qwenlab logs` added some 45 tables to
    # it (or failed half-way on an `experiments` of its own); now nothing in it changes
    import sqlite3

    for own in ("mydata", "experiments"):
        other = tmp_path / f"other-{own}"
        other.mkdir()
        with sqlite3.connect(other / "qwenlab.db") as db:
            db.execute(f"CREATE TABLE {own} (id INTEGER PRIMARY KEY, value TEXT)")
            db.execute(f"INSERT INTO {own} (value) VALUES ('theirs')")
        before = (other / "qwenlab.db").read_bytes()
        monkeypatch.setenv("QWENLAB_DATA_DIR", str(other))
        for args in (["logs"], ["costs"], ["tag", "x", "y"]):
            result = qwenlab(*args)
            assert result.exit_code == EXIT_FAILED, (args, result.output)
            assert f"{other / 'qwenlab.db'} is not a qwenlab log" in result.output and f"({own})" in result.output
            assert "nothing was changed in it" in result.output and "Traceback" not in result.output
        assert (other / "qwenlab.db").read_bytes() == before and not (other / "qwenlab.db-wal").exists()


# -- 2: bad input, nothing sent -----------------------------------------------------------------------
def test_an_unknown_experiment_is_bad_input_naming_the_known_ones(small: str) -> None:
    for command in ("grid", "export", "logs", "score"):
        result = qwenlab(command, "NO-SUCH-NAME")
        assert result.exit_code == EXIT_BAD_INPUT, (command, result.output)
        assert "'EXPERIMENT'" in result.output and "NO-SUCH-NAME" in result.output and "known: small" in result.output
    costs = qwenlab("costs", "-e", "NO-SUCH-NAME")
    assert costs.exit_code == EXIT_BAD_INPUT and "'--experiment'" in costs.output and "known: small" in costs.output


def test_a_sweep_file_with_an_invalid_value_is_bad_input_and_sends_nothing(emulator: Emulator, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('size = "256x256"', 'size = "9000x10"'))
    result = qwenlab("run", str(bad), "--no-progress")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "size (sent as width): 9000 px" in result.output and "nothing was sent" in result.output and "Usage: qwenlab run" in result.output
    missing = qwenlab("run", str(tmp_path / "nope.toml"))  # click's own usage error: the same code
    assert missing.exit_code == EXIT_BAD_INPUT and "does not exist" in missing.output
    assert json.loads(qwenlab("logs", "--json").output) == []  # no experiment was recorded
    good = tmp_path / "good.toml"
    good.write_text(SMALL)
    options = qwenlab("run", str(good), "--concurrency", "0")
    # named as the option the user typed, by the library's rule, before anything is written
    assert options.exit_code == EXIT_BAD_INPUT and "Invalid value for '--concurrency': must be a whole number" in options.output, \
        options.output
    assert emulator.requests == [] and len(emulator.ledger) == 0


def test_a_sweep_changed_under_an_existing_name_is_bad_input(emulator: Emulator, sweep_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    assert qwenlab("run", str(sweep_file), "--no-progress", "--yes").exit_code == EXIT_OK
    sent = len(emulator.requests)
    again = qwenlab("run", str(sweep_file), "--no-progress", "--yes")  # the same sweep: says nothing went
    assert again.exit_code == EXIT_OK and "nothing to send: every cell of the sweep was done already" in again.output
    assert len(emulator.ledger) == 2  # nothing paid again (a GET may ask what the server is: no task, no cost)
    sent = len(emulator.requests)
    sweep_file.write_text(SMALL.replace("[true, false]", "[true]"))
    result = qwenlab("run", str(sweep_file), "--no-progress")
    assert result.exit_code == EXIT_BAD_INPUT and "--extend" in result.output, result.output
    assert len(emulator.requests) == sent


def test_a_run_stopped_at_its_budget_exits_1_after_its_summary(emulator: Emulator, sweep_file: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A script chaining on `qwenlab run` must know the sweep is not all there."""
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    result = qwenlab("run", str(sweep_file), "--no-progress", "--yes", "--budget", "0.075")
    assert result.exit_code == EXIT_FAILED, result.output
    assert "stopped at its budget" in result.output and "1 not sent" in result.output
    # and the budget that sends the rest: "raise budget_usd and run again" named no amount
    assert "Raise the budget to about $0.15 (--budget 0.15 for qwenlab run, budget_usd= in Python) and run again to " \
           "send it" in result.output, result.output
    assert len(emulator.ledger) == 1


def test_a_budget_stop_names_the_budget_option_that_sends_the_rest_not_the_files_line(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file's budget_usd stopped the run, whose summary said "Raise budget_usd (--budget) to
    about $0.15": raised in the file, it was kept out by the budget the experiment has, and the
    next run stopped again. The summary names the --budget that sends the rest."""
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    path = tmp_path / "budgeted.toml"
    path.write_text(SMALL.replace('name = "small"\n', 'name = "small"\nbudget_usd = 0.075\n'))
    first = qwenlab("run", str(path), "--no-progress", "--yes")
    assert first.exit_code == EXIT_FAILED and "--budget 0.15 for qwenlab run" in first.output, first.output
    assert "Raise budget_usd" not in first.output
    path.write_text(SMALL.replace('name = "small"\n', 'name = "small"\nbudget_usd = 0.15\n'))
    kept = qwenlab("run", str(path), "--no-progress", "--yes")  # the file's raise is kept out, and said
    assert kept.exit_code == EXIT_FAILED and "pass --budget 0.15 to use it" in kept.output, kept.output
    done = qwenlab("run", str(path), "--no-progress", "--yes", "--budget", "0.15")  # what the summary named
    assert done.exit_code == EXIT_OK and "2/2 cells done" in done.output, done.output
    assert len(emulator.ledger) == 2


def test_bad_values_of_options_are_bad_input_naming_the_option(small: str, emulator: Emulator) -> None:
    cases = {
        ("costs", "--by", "colour"): "'--by'",
        ("costs", "--since", "soon"): "'--since': 'soon' is not a date",
        ("costs", "--since", "2026-01-01", "--until", "2025-12-01"): "are they swapped?",
        ("grid", small, "--rows", "nope"): "its axes are",
        ("grid", small, "--where", "promptExtend"): "'--where'",
        ("grid", small, "--region", "1,2"): "'--region': '1,2' has 2 numbers, not 4 (x0, y0, x1, y1): give four fractions "
                                           "of the image from 0 to 1, x0 < x1 and y0 < y1, e.g. 0,0,1,0.3",
        ("grid", small, "--cell-size", "-1"): "'--cell-size'",
        ("score", small, "--engine", "bogus"): "'--engine'",
        ("emulator", "--host", "192.168.1.10"): "loopback",
        ("emulator", "--rate-429", "2"): "'--rate-429'",
        ("emulator", "--faults", "rate_429=2"): "rate_429 is a probability",
        ("emulator", "--port", "70000"): "'--port'",
        ("search", "LUMIERE", "-e", "nosuch"): "'--experiment'",
        ("export", small, "-o", "report.pdf"): "one HTML file",
        ("grid", small, "-o", "grid.txt"): "'--output': 'grid.txt' is not a format",
        ("logs", small, "-n", "0"): "'-n' / '--limit'",
        ("score", small, "--by", "nosuch"): "'--by'",
        ("logs", "--limit", "many"): "'--limit'",
        # a library message that starts with its own name for the option: said as the option
        ("search", "LUMIERE", "-n", "0"): "Invalid value for '-n' / '--limit': 0 is not in the range x>=1",
        ("rename", small, "  "): "Invalid value for 'NEW_NAME': is blank",
        # ratings are 1 to 5, as the help says: 9 kept nothing and said nothing
        ("costs", "--kept", "9"): "'--kept'",
        ("search", "--min-rating", "0"): "'--min-rating'",
        ("note", small, "a note", "--clear"): "not both",
    }
    for args, named in cases.items():
        result = qwenlab(*args)
        assert result.exit_code == EXIT_BAD_INPUT and named in result.output, (args, result.output)


def test_an_emulator_memory_that_is_no_database_is_bad_input(tmp_path: Path) -> None:
    """`qwenlab emulator --memory FILE` keeps finished tasks in FILE: a file that is no SQLite
    database (a typo naming the log's notes, say) is refused naming the option, and left as it was."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 200)
    result = qwenlab("emulator", "--port", "0", "--memory", str(notes))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "'--memory'" in result.output and "cannot be the emulator's memory" in result.output
    assert notes.read_text() == "my notes, not a database\n" * 200


# -- 1: the operation failed ---------------------------------------------------------------------------
def test_a_run_whose_key_is_refused_fails_and_prints_the_experiment_first(sweep_file: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(api_key="sk-the-right-key") as emu:
        monkeypatch.setenv("RUNWARE_BASE_URL", emu.url)
        monkeypatch.setenv("RUNWARE_API_KEY", "sk-a-wrong-key")
        result = qwenlab("run", str(sweep_file), "--name", "refused", "--no-progress", "--yes")
    assert result.exit_code == EXIT_FAILED, result.output
    # the run's warnings (a seed policy, a size Runware may refuse), then the experiment, in the error
    notes, error = result.output.split("Error: ", 1)
    assert all("seed_policy" in line or "unconfirmed" in line for line in notes.splitlines()), notes
    assert error.startswith("Experiment 'refused' (failed)"), result.output
    assert "AuthenticationError" in result.output and "HTTP 401" in result.output
    assert result.output.count("HTTP 401") == 1  # in the summary's "stopped:" line, not again under it
    assert "sk-a-wrong-key" not in result.output


def test_io_failures_fail(small: str, tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    grid = qwenlab("grid", small, "-o", str(tmp_path / "a-file" / "grid.png"))
    # a path through a file is the command line's fault, said before anything is drawn: bad input
    # (tests/cli/test_option_messages.py); a port another server holds is the machine's: a failure
    assert grid.exit_code == EXIT_BAD_INPUT and "a-file' is a file" in grid.output and "Traceback" not in grid.output, \
        grid.output
    busy = qwenlab("emulator", "--port", str(emulator.port))  # the fixture's emulator holds that port
    assert busy.exit_code == EXIT_FAILED and "try another --port" in busy.output, busy.output


def test_the_readme_documents_the_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in ((EXIT_OK, "success"), (EXIT_FAILED, "the operation failed"), (EXIT_BAD_INPUT, "bad input")):
        assert f"| {code} | {meaning}" in readme and f"{code}  {meaning}" in qwenlab("--help").output


# -- one class, one code ----------------------------------------------------------------------------
@pytest.mark.parametrize("error, code", [
    (ValidationError([Problem("width", "must be 256 to 2048")]), EXIT_BAD_INPUT),
    (ExperimentNotFoundError("no experiment named 'x'; known: a"), EXIT_BAD_INPUT),
    (ExperimentConflictError("run it under a new name or with --extend"), EXIT_BAD_INPUT),
    (UnknownAxisError("'x' is not an axis"), EXIT_BAD_INPUT),
    (UnknownCostKeyError("by='x'"), EXIT_BAD_INPUT),
    (ValueError("since='soon' is not a date"), EXIT_BAD_INPUT),
    (click.UsageError("no such option"), EXIT_BAD_INPUT),
    (AuthenticationError("the key is wrong", status=401), EXIT_FAILED),
    (TransportError("connection refused"), EXIT_FAILED),
    (ImageError("not an image"), EXIT_FAILED),
    (NotABundleError("notes.txt is not a qwenlab bundle"), EXIT_BAD_INPUT),
    (BundleError("share.zip: images/ab/x.jpg cannot be read; the bundle is damaged"), EXIT_FAILED),
    (QwenlabError("tesseract failed"), EXIT_FAILED),
    (PermissionError(13, "Permission denied", "/x.png"), EXIT_FAILED),
])
def test_each_class_of_error_has_one_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code


def test_an_error_that_stopped_a_run_is_a_failure_whatever_its_class() -> None:
    error = ValidationError([Problem("width", "must be 256 to 2048")])
    error.experiment = object()  # set by Lab.run on the error that stopped a sweep
    assert exit_code(error) == EXIT_FAILED


def test_run_passes_mix_backends_and_only_when_asked(sweep_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal to resume another backend's cells names `--mix-backends` as the CLI's fix; the
    flag must reach the runner (and be off by default, so nothing is mixed unasked)."""
    from qwenlab.sweeps import runner

    seen: list[bool] = []

    def fake_run(self, sweep, name, **options):  # stands in for the real run: only the option matters here
        seen.append(options["mix_backends"])
        raise click.Abort()

    monkeypatch.setattr(runner.Runner, "run", fake_run)
    qwenlab("run", str(sweep_file), "--no-progress")
    qwenlab("run", str(sweep_file), "--no-progress", "--mix-backends")
    assert seen == [False, True]


@pytest.mark.parametrize("command", [["images", "small", "-o", "{tmp}/out"], ["bundle", "small", "-o", "{tmp}/s.zip"],
                                     ["logs", "small"], ["tag", "small", "posters"]])
def test_commands_that_draw_nothing_do_not_import_matplotlib(small: str, data_dir: Path, tmp_path: Path,
                                                             command: list[str]) -> None:
    """`qwenlab images`, `bundle` and `import` imported the grid command's module for one helper,
    and with it matplotlib: a second of start-up for commands that draw nothing. Run whole, in a
    process of their own, they leave it unimported."""
    args = [a.format(tmp=tmp_path) for a in command]
    code = ("import atexit, sys; atexit.register(lambda: print('matplotlib' in sys.modules)); "
            f"from qwenlab.cli import cli; cli({args!r}, prog_name='qwenlab')")
    out = fresh_process("-c", code, env={"QWENLAB_DATA_DIR": str(data_dir)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout


@pytest.mark.slow
def test_an_image_deleted_between_two_processes_comes_back(sweep_file: Path, data_dir: Path) -> None:
    """`qwenlab run` twice, an image file deleted between: each process has its own embedded
    emulator, and the first one's forgot its task with its process, so the image was lost for
    good where Runware would have given it back. The emulator keeps its tasks in the data folder
    now: the second run fetches the same bytes again (free), and nothing is sent."""
    env = {"QWENLAB_DATA_DIR": str(data_dir)}
    run = ["-m", "qwenlab.cli", "run", str(sweep_file), "--no-progress"]
    assert fresh_process(*run, env=env).returncode == 0
    lost = next(iter(sorted((data_dir / "images").rglob("*.jpg"))))
    original = lost.read_bytes()
    lost.unlink()
    again = fresh_process(*run, env=env)
    assert again.returncode == 0, again.stderr
    assert "asked the server (free) for the lost images of 1 done cell: fetched" in again.stdout
    assert lost.read_bytes() == original
    later = qwenlab("logs", "small")
    assert "lost a paid image" not in later.output and "in doubt" not in later.output, later.output


@pytest.mark.slow
def test_an_image_the_server_forgot_is_said_lost_for_good(sweep_file: Path, data_dir: Path) -> None:
    """The same, with the emulator's memory gone between the runs (as a task past its ttl): the
    second run asked the server for the lost image and said nothing of its answer, exiting 0 over
    "2 images". It says the image is lost for good, and why, and the summary keeps saying so."""
    env = {"QWENLAB_DATA_DIR": str(data_dir)}
    run = ["-m", "qwenlab.cli", "run", str(sweep_file), "--no-progress"]
    assert fresh_process(*run, env=env).returncode == 0
    next(iter(sorted((data_dir / "images").rglob("*.jpg")))).unlink()
    for part in data_dir.glob("emulator.db*"):
        part.unlink()
    again = fresh_process(*run, env=env)
    assert again.returncode == 0, again.stderr
    assert "1 cell lost a paid image for good: an image file is gone from the store; getResponse no longer knows the task" in again.stdout
    assert "the offline emulator keeps a task for its images' ttl, an hour unless the request set one, in emulator.db" in again.stdout
    assert "asked the server (free) for the lost images of 1 done cell: 1 could not be fetched again" in again.stdout
    later = qwenlab("logs", "small")
    assert "lost a paid image for good" in later.output, later.output


def test_a_grid_of_many_pages_says_how_many_before_drawing_them(emulator: Emulator, data_dir: Path, tmp_path: Path) -> None:
    """A layout paging by every other axis made 160 pages of a 2,000-image comparison (minutes of
    drawing) without a word until the last one was written."""
    run_sweep(emulator, data_dir, name="many", repeats=1, fail_one=False, size="256x256",
              axes={"outputQuality": [20 + 7 * i for i in range(10)], "promptExtend": [True, False]})
    many = qwenlab("grid", "many", "--rows", "promptExtend", "--cols", "repeat", "-o", str(tmp_path / "g.jpg"))
    assert many.exit_code == EXIT_OK, many.output
    assert "writing 10 pages, one for each combination of the axes not in the rows or columns" in many.output
    assert len(list(tmp_path.glob("g-*.jpg"))) == 10
    one = qwenlab("grid", "many", "--rows", "promptExtend", "--cols", "outputQuality", "-o", str(tmp_path / "one.jpg"))
    assert one.exit_code == EXIT_OK and "writing" not in one.output


def test_output_a_windows_code_page_cannot_encode_is_escaped_not_refused(tmp_path: Path) -> None:
    """On Windows, output sent to a file or a pipe is encoded in the locale's code page: `qwenlab
    logs > list.txt` of an experiment named in Chinese failed, exit 2, "'charmap' codec can't
    encode". Such characters are written as JSON's escapes (cp1252 forced here, as on Windows)."""
    name = "海报-v1 😀 é"
    with Log(tmp_path / "qwenlab.db") as log:
        log.ensure_experiment(name)
    env = {**os.environ, "QWENLAB_DATA_DIR": str(tmp_path), "PYTHONIOENCODING": "cp1252"}
    table, listed = (subprocess.run([sys.executable, "-m", "qwenlab.cli", "logs", *extra], capture_output=True, timeout=120,
                                    cwd=ROOT, env=env, check=False) for extra in ([], ["--json"]))
    assert table.returncode == listed.returncode == EXIT_OK, (table.stderr, listed.stderr)
    assert "\\u6d77\\u62a5-v1 \\ud83d\\ude00 é" in table.stdout.decode("cp1252")  # é is cp1252's own
    assert json.loads(listed.stdout.decode("cp1252"))[0]["name"] == name


def test_a_warning_under_the_command_is_one_plain_line(tmp_path: Path) -> None:
    """A warning the command does not put in its own words printed Python's form: the file and
    line it pointed at, click's core.py under the command, and that line of click's source."""
    Log(tmp_path / "qwenlab.db").close()
    with sqlite3.connect(tmp_path / "qwenlab.db") as conn:  # a log a newer qwenlab wrote: opening it warns
        conn.execute("INSERT INTO _qwenlab_migrations (name, applied_at) VALUES ('m099_from_the_future', '2027-01-01')")
    env = {**os.environ, "QWENLAB_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "qwenlab.cli", "logs"], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env=env, check=False)
    assert out.returncode == EXIT_OK, out.stderr
    said = [line for line in out.stderr.splitlines() if "newer qwenlab" in line]
    assert said and said[0].startswith("qwenlab: warning: this log was written by a newer qwenlab"), out.stderr
    assert ".py:" not in out.stderr and "UserWarning" not in out.stderr, out.stderr


def test_images_without_sidecars_says_it_removed_the_earlier_exports(small: str, tmp_path: Path) -> None:
    """`qwenlab images NAME -o DIR --no-sidecar` over an export with sidecars left each old .json
    beside the file rewritten, disagreeing with it; they are removed, and the command says so."""
    out = tmp_path / "out"
    assert qwenlab("images", small, "-o", str(out)).exit_code == 0
    assert len(list(out.glob("*.json"))) == 4
    bare = qwenlab("images", small, "-o", str(out), "--no-sidecar")
    assert bare.exit_code == 0, bare.output
    assert not list(out.glob("*.json")) and len(list(out.glob("*.jpg"))) == 4
    assert "4 stale .json sidecars of an earlier export removed" in bare.stderr, bare.stderr
