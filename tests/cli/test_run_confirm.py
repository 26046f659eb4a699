"""`qwenlab run` against the real API asks before it spends, as `qwenlab demo --live` does; the plan
(`--dry-run`) says where the requests would go and how the estimate compares with the budget.

"The real API" is decided by RUNWARE_API_KEY being set. Here the key is set and RUNWARE_BASE_URL
points at an emulator on loopback, whose ledger shows whether anything was paid."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner, Result

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from qwenlab.emulator import Emulator
from tests.support.backends import posts

# 2 cells at $0.075; a budget of $0.10 covers one
SWEEP = 'name = "ask"\nprompt = "A poster reading \'LUMIERE\'"\n[request]\nsize = "256x256"\n[axes]\npromptExtend = [true, false]\n'


def qwenlab(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab", input=input)


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "ask.toml"
    path.write_text(SWEEP)
    return path


@pytest.fixture
def runware(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A key is set and the server does not say it is the emulator: to qwenlab this is the real API
    (an unmarked emulator stands in for it)."""
    with Emulator(unmarked=True) as emu:
        monkeypatch.setenv("RUNWARE_API_KEY", "sk-confirm-test")
        monkeypatch.setenv("RUNWARE_BASE_URL", emu.url)
        yield emu


def test_a_live_run_shows_the_plan_and_its_cost_and_asks_first(runware: Emulator, sweep_file: Path, data_dir: Path) -> None:
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED, declined.output
    out = declined.output
    assert "promptExtend" in out and "request of cell 0" in out  # the plan
    assert f"sent to: Runware at {runware.url} (RUNWARE_API_KEY is set): real requests, real money" in out
    assert "Send 2 requests to Runware for experiment 'ask', about $0.15 of real money?" in out  # and what it costs
    assert "Aborted" in out
    assert posts(runware) == [] and len(runware.ledger) == 0  # at most a keyless GET: who are you?
    assert not (data_dir / "qwenlab.db").exists()  # nothing recorded either: no log where there was none

    accepted = qwenlab("run", str(sweep_file), "--no-progress", input="y\n")
    assert accepted.exit_code == EXIT_OK and "2/2 cells done" in accepted.output, accepted.output
    assert len(runware.ledger) == 2

    again = qwenlab("run", str(sweep_file), "--no-progress")  # nothing left to send: nothing to ask
    assert again.exit_code == EXIT_OK and "real money" not in again.output, again.output
    assert len(runware.ledger) == 2


def test_without_stdin_a_live_run_spends_nothing(runware: Emulator, sweep_file: Path) -> None:
    result = qwenlab("run", str(sweep_file), "--no-progress")  # no input: stdin is empty
    assert result.exit_code == EXIT_FAILED and "Aborted" in result.output, result.output
    assert posts(runware) == [] and len(runware.ledger) == 0  # at most a keyless GET: who are you?


def test_a_declined_run_leaves_an_existing_log_as_it_was(runware: Emulator, sweep_file: Path, data_dir: Path) -> None:
    assert qwenlab("run", str(sweep_file), "--no-progress", "--yes").exit_code == EXIT_OK
    sweep_file.write_text(SWEEP.replace('"ask"', '"ask-more"'))
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED and "Aborted" in declined.output, declined.output
    logged = qwenlab("logs", "--json").output
    assert (data_dir / "qwenlab.db").exists() and '"ask"' in logged and "ask-more" not in logged
    assert len(runware.ledger) == 2


def test_a_declined_run_in_a_new_folder_leaves_no_data_folder(runware: Emulator, sweep_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "not-yet" / "data"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(fresh))
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED and "Aborted" in declined.output, declined.output
    assert not fresh.exists() and posts(runware) == []


def test_yes_skips_the_question(runware: Emulator, sweep_file: Path) -> None:
    result = qwenlab("run", str(sweep_file), "--no-progress", "--yes")
    assert result.exit_code == EXIT_OK and "2/2 cells done" in result.output, result.output
    assert "real money" not in result.output and len(runware.ledger) == 2


def test_the_question_names_what_the_budget_lets_through(runware: Emulator, sweep_file: Path) -> None:
    result = qwenlab("run", str(sweep_file), "--no-progress", "--budget", "0.10", input="n\n")
    assert "covers 1 of the 2 cells" in result.output, result.output
    assert len(runware.ledger) == 0


def test_a_budget_that_covers_no_cell_says_so_and_asks_nothing(runware: Emulator, sweep_file: Path) -> None:
    """A budget below the cheapest cell: it asked "Send 0 requests to Runware ..., about $0.000 of
    real money?", a question with nothing to agree to. It now says the budget covers no cell, what
    the cheapest costs and which budget sends the first cell or all of them, and asks nothing."""
    result = qwenlab("run", str(sweep_file), "--no-progress", "--budget", "0.01")  # no input: a question would abort
    out = result.output
    assert "Send 0" not in out and "Aborted" not in out and "real money?" not in out, out
    assert ("budget $0.01: it covers no cell, the cheapest costs about $0.075: nothing is sent (a budget of about "
            "$0.075 sends the first cell, about $0.15 sends them all)") in out, out
    assert "not asked: the budget covers no cell, so nothing is sent and nothing is paid" in out
    assert result.exit_code == EXIT_FAILED and "(stopped at its budget): 0/2 cells done, 2 not sent" in out, out
    assert posts(runware) == [] and len(runware.ledger) == 0


def test_a_key_with_the_emulator_behind_it_asks_about_the_emulator(emulator: Emulator, sweep_file: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A key set and RUNWARE_BASE_URL at a `qwenlab emulator`: the server says what it is (its
    header), and the question says so rather than "real money"; it is still asked, as --yes says."""
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-confirm-test")
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED, declined.output
    assert f"sent to: the emulator at {emulator.url} (it says so" in declined.output
    assert "Send 2 requests to the emulator for experiment 'ask' (emulated costs, nothing paid)?" in declined.output
    assert "real money" not in declined.output and "Runware at" not in declined.output
    assert posts(emulator) == []


def test_cells_in_doubt_are_counted_as_the_most_the_run_can_spend(runware: Emulator, sweep_file: Path,
                                                                   data_dir: Path) -> None:
    """A cell in doubt is asked about first (free) and sent again only when the server does not
    have it: the question's figure is a ceiling, and says which part may not be spent."""
    assert qwenlab("run", str(sweep_file), "--no-progress", "--yes").exit_code == EXIT_OK
    with sqlite3.connect(data_dir / "qwenlab.db") as db:  # as a crash after the POST leaves it
        db.execute("UPDATE tasks SET status = 'sent', cost_usd = NULL WHERE id = (SELECT min(id) FROM tasks)")
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert ("Send 1 request to Runware for experiment 'ask', about $0.075 of real money, at most: 1 of them in "
            "doubt, asked about first and sent only if the server does not have them?") in declined.output, declined.output
    assert len(runware.ledger) == 2
    accepted = qwenlab("run", str(sweep_file), "--no-progress", input="y\n")
    assert accepted.exit_code == EXIT_OK and "2/2 cells done" in accepted.output, accepted.output
    assert len(runware.ledger) == 2  # the server had it: nothing bought again


def test_the_emulator_is_not_asked_about(emulator: Emulator, sweep_file: Path) -> None:
    result = qwenlab("run", str(sweep_file), "--no-progress")  # no key: the embedded emulator, no money
    assert result.exit_code == EXIT_OK and "2/2 cells done" in result.output, result.output


def test_bad_input_is_refused_before_the_question(runware: Emulator, sweep_file: Path) -> None:
    result = qwenlab("run", str(sweep_file), "--budget", "-1")
    assert result.exit_code == 2 and "'--budget'" in result.output and "real money" not in result.output
    assert qwenlab("run", str(sweep_file), "--no-progress", "--yes").exit_code == EXIT_OK
    sweep_file.write_text(SWEEP.replace("[true, false]", "[true]"))
    changed = qwenlab("run", str(sweep_file), "--no-progress")  # a changed sweep without --extend
    assert changed.exit_code == 2 and "--extend" in changed.output and "real money" not in changed.output


def test_dry_run_says_where_the_requests_would_go_and_compares_with_the_budget(
        emulator: Emulator, sweep_file: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offline = qwenlab("run", str(sweep_file), "--dry-run", "--budget", "1")
    assert offline.exit_code == EXIT_OK, offline.output
    assert "offline emulator" in offline.output and "RUNWARE_API_KEY is not set" in offline.output
    assert "budget $1.00" in offline.output and "fits" in offline.output

    monkeypatch.setenv("RUNWARE_API_KEY", "sk-dry-run-test")
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    # a key, and a server that says it is the emulator: the plan says so, not "real money"
    marked = qwenlab("run", str(sweep_file), "--dry-run", "--budget", "0.10")
    assert marked.exit_code == EXIT_OK, marked.output
    assert f"sent to: the emulator at {emulator.url} (it says so" in marked.output
    assert "real money" not in marked.output and "Runware at" not in marked.output
    with Emulator(unmarked=True) as runware:  # a server that says nothing of being the emulator
        url = runware.url
        monkeypatch.setenv("RUNWARE_BASE_URL", url)
        live = qwenlab("run", str(sweep_file), "--dry-run", "--budget", "0.10")
        assert posts(runware) == []  # asked who it is with a GET, which carries no key and costs nothing
        assert all("Authorization" not in r.headers for r in runware.requests)
    assert live.exit_code == EXIT_OK, live.output
    assert f"sent to: Runware at {url} (RUNWARE_API_KEY is set): real requests, real money" in live.output
    assert "covers 1 of the 2 cells" in live.output
    assert "sk-dry-run-test" not in live.output
    # nothing answers there (the emulator above has stopped): taken for Runware, and said why
    down = qwenlab("run", str(sweep_file), "--dry-run", "--budget", "0.10")
    assert down.exit_code == EXIT_OK, down.output
    assert "no server answered, so it is taken for Runware" in down.output and "real money" in down.output
    no_budget = qwenlab("run", str(sweep_file), "--dry-run")
    assert "no budget" in no_budget.output
    assert posts(emulator) == [] and not (data_dir / "qwenlab.db").exists()


def test_a_declined_live_demo_sends_nothing_and_writes_nothing(runware: Emulator, data_dir: Path) -> None:
    declined = qwenlab("demo", "--live", "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED and "Aborted" in declined.output, declined.output
    assert "64 requests to Runware" in declined.output and "$4.80 of real money" in declined.output
    assert runware.requests == [] and list(data_dir.iterdir()) == []


def test_a_live_demo_without_a_key_is_refused_before_it_asks(emulator: Emulator, data_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key the client falls back to the emulator: asking about real money and then
    drawing synthetic images would say one thing and do another."""
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    refused = qwenlab("demo", "--live", "--no-progress", input="y\n")
    assert refused.exit_code == EXIT_BAD_INPUT and "needs RUNWARE_API_KEY" in refused.output, refused.output
    assert "real money" not in refused.output and emulator.requests == [] and list(data_dir.iterdir()) == []
    zero = qwenlab("demo", "--concurrency", "0", "--no-progress")
    assert zero.exit_code == EXIT_BAD_INPUT and "'--concurrency'" in zero.output
    assert emulator.requests == [] and list(data_dir.iterdir()) == []


def test_a_dry_run_refuses_what_the_run_would_refuse(runware: Emulator, sweep_file: Path, data_dir: Path) -> None:
    for options, named in ((["--budget", "-1"], "'--budget': must be"), (["--concurrency", "0"], "'--concurrency': must be"),
                           (["--name", "  "], "'--name': is blank"), (["--name", "path"], "kept for `qwenlab logs path`")):
        dry = qwenlab("run", str(sweep_file), "--dry-run", *options)
        assert dry.exit_code == EXIT_BAD_INPUT and named in dry.output, (options, dry.output)
    assert qwenlab("run", str(sweep_file), "--yes", "--no-progress").exit_code == EXIT_OK
    sweep_file.write_text(SWEEP.replace("[true, false]", "[true]"))  # changed under the same name
    dry = qwenlab("run", str(sweep_file), "--dry-run")
    assert dry.exit_code == EXIT_BAD_INPUT and "--extend" in dry.output, dry.output
    assert qwenlab("run", str(sweep_file), "--dry-run", "--extend").exit_code == EXIT_OK
    sent = len(runware.requests)
    for options in (["--budget", "-1"], ["--concurrency", "0"]):  # with a log as without one
        assert qwenlab("run", str(sweep_file), "--dry-run", "--extend", *options).exit_code == EXIT_BAD_INPUT
    assert len(runware.requests) == sent


def test_a_key_no_header_can_carry_is_refused_before_anything_is_logged(emulator: Emulator, sweep_file: Path,
                                                                        data_dir: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    for key in ("sk-confirm-testé", "sk-confirm test", "sk-confirm-test\n"):
        monkeypatch.setenv("RUNWARE_API_KEY", key)
        result = qwenlab("run", str(sweep_file), "--yes", "--no-progress")
        assert result.exit_code == EXIT_FAILED and "holds a character an API key cannot have" in result.output
        assert "RUNWARE_API_KEY" in result.output and "sk-confirm" not in result.output  # never the key itself
    assert emulator.requests == [] and not (data_dir / "qwenlab.db").exists()  # no log was made


def test_an_experiment_with_no_task_yet_lists_and_shows_plainly(data_dir: Path) -> None:
    from qwenlab.store.log import Log

    Log(data_dir / "qwenlab.db").ensure_experiment("empty")
    listing = qwenlab("logs").output
    header, row = listing.splitlines()[:2]
    counts = dict(zip(header.split(), row.split()))
    assert [counts[c] for c in ("cells", "done", "failed", "pending", "in_doubt", "images")] == ["0"] * 6
    shown = qwenlab("logs", "empty").output
    assert "(no tasks logged yet)" in shown and "Empty DataFrame" not in shown


def test_an_address_that_is_not_http_is_refused_before_anything_is_logged(emulator: Emulator, sweep_file: Path,
                                                                          data_dir: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-confirm-test")
    monkeypatch.setenv("RUNWARE_BASE_URL", "ftp://user:hunter2@127.0.0.1/v1")
    result = qwenlab("run", str(sweep_file), "--yes", "--no-progress")
    assert result.exit_code == EXIT_BAD_INPUT and "RUNWARE_BASE_URL" in result.output and "http(s)" in result.output
    assert "hunter2" not in result.output and not (data_dir / "qwenlab.db").exists()  # no log was made


@pytest.mark.parametrize("url, shown", [
    ("https://user:PASSWORD99@api.example.com/v1", "no Runware API key for https://api.example.com/v1"),
    ("rw_SECRETKEY123456", "not an address (not shown"),  # a key set in the wrong variable
])
def test_an_api_address_without_a_key_is_refused_before_the_log_is_made(url: str, shown: str, sweep_file: Path,
                                                                         data_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and a remote address: the dry run approved it ("sent to: the emulator at
    https://api.example.com"), and the run made an experiment of failed cells whose messages
    held the address's password."""
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("RUNWARE_BASE_URL", url)
    for args in (["--dry-run"], ["--yes", "--no-progress"]):
        result = qwenlab("run", str(sweep_file), *args)
        assert result.exit_code != EXIT_OK and shown in result.output, result.output
        assert "PASSWORD99" not in result.output and "SECRETKEY" not in result.output
    assert not (data_dir / "qwenlab.db").exists()  # nothing was logged: there is no log


def test_a_run_that_ends_with_cells_failed_exits_1_after_its_summary(runware: Emulator, sweep_file: Path) -> None:
    runware.script(["ok", "task_error"])  # the second cell meets an inferenceError
    result = qwenlab("run", str(sweep_file), "--yes", "--no-progress")
    assert result.exit_code == EXIT_FAILED and "1/2 cells done, 1 failed" in result.output, result.output
    again = qwenlab("run", str(sweep_file), "--yes", "--no-progress")  # the failed cell is retried: all done
    assert again.exit_code == EXIT_OK and "2/2 cells done" in again.output, again.output


def test_the_plans_notes_come_before_the_question(runware: Emulator, sweep_file: Path, data_dir: Path) -> None:
    """What the plan says of a sweep (a size Runware may refuse, a prompt no cell sends) was printed
    by --dry-run, but a live run printed it only once the money was agreed to, as it began."""
    sweep_file.write_text(SWEEP + 'prompt = ["A poster for \'NOIR\'", "A flyer for \'NOIR\'"]\n')
    declined = qwenlab("run", str(sweep_file), "--no-progress", input="n\n")
    assert declined.exit_code == EXIT_FAILED and posts(runware) == [], declined.output
    question = declined.output.index("Send 4 requests to Runware")
    for note in ("size 256x256 (65,536 px, below 262,144) is unconfirmed", "the prompt given beside the 'prompt' axis"):
        assert -1 < declined.output.find(note) < question, declined.output
