"""An experiment left 'running' by a run whose process died is not listed as running for ever.

A kernel restarted in the middle of a sweep (or `kill -9`) never wrote how its run stopped: the
experiment stayed 'running', listed so, refusing rename and delete until its sweep ran again. A
run now holds a lock the operating system lets go of when the process ends, and readers settle
an experiment 'running' with no lock held as 'interrupted', saying why.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab import Lab
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.emulator import Emulator
from qwenlab.errors import LogWriteError
from qwenlab.store.log import Log
from qwenlab.store.run_lock import ABANDONED, holding_run, run_alive, settle_abandoned
from qwenlab.sweeps.sweep import Sweep
from tests.support.labkit import PROMPT, run_sweep

ROOT = Path(__file__).resolve().parents[2]


def test_the_lock_is_held_while_a_run_holds_it_and_let_go_after(tmp_path: Path) -> None:
    log_path = tmp_path / "qwenlab.db"
    assert run_alive(log_path, 1) is False  # no run ever made its file
    with holding_run(log_path, 1), holding_run(log_path, 1):  # two runs of one experiment at once
        assert run_alive(log_path, 1) is True
        assert run_alive(log_path, 2) is False
    assert run_alive(log_path, 1) is False
    assert run_alive(None, 1) is None  # a log in memory cannot tell


def test_a_run_of_this_process_is_alive_where_the_lock_cannot_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a network share Linux makes flock a POSIX lock, which never stops the process that
    holds it: this process's own runs are known without asking the lock."""
    import fcntl
    import types

    from qwenlab.store import run_lock

    per_process = types.SimpleNamespace(LOCK_SH=fcntl.LOCK_SH, LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB,
                                        LOCK_UN=fcntl.LOCK_UN, flock=lambda fd, op: None)
    monkeypatch.setattr(run_lock, "fcntl", per_process)
    log_path = tmp_path / "qwenlab.db"
    with holding_run(log_path, 3):
        assert run_alive(log_path, 3) is True
    assert run_alive(log_path, 3) is False


def test_a_log_left_running_by_a_dead_run_opens_interrupted(emulator: Emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="left", repeats=1, fail_one=False)
    with exp.log.transaction() as db:  # as a run killed in the middle leaves it (or an older qwenlab's)
        db.execute("UPDATE experiments SET status = 'running', stop_reason = NULL WHERE id = ?", [exp.id])
    with Log(data_dir / "qwenlab.db") as log:
        row = log.experiment("left")
        assert row["status"] == "interrupted" and row["stop_reason"] == ABANDONED
    listed = CliRunner().invoke(cli, ["logs"], prog_name="qwenlab")
    assert "running" not in listed.output and "interrupted" in listed.output
    renamed = CliRunner().invoke(cli, ["rename", "left", "right"], prog_name="qwenlab")
    assert renamed.exit_code == 0, renamed.output


def test_a_live_run_stays_running_and_a_finished_one_is_never_overwritten(emulator: Emulator, data_dir: Path) -> None:
    """A run in another thread (or process) of the same log holds its lock: readers leave it
    'running'. Once it has written how it stopped, nothing a reader does changes that."""
    emulator.faults = emulator.faults.replace(latency=0.3)
    client = RunwareClient("sk-live", emulator.url, images_dir=data_dir / "images", backoff_base=0.01)
    lab = Lab(data_dir, client=client)
    seen: list[str] = []
    thread = threading.Thread(target=lab.run, args=(Sweep(prompt=PROMPT, size="256x256", repeats=6),),
                              kwargs={"name": "live", "progress": False, "concurrency": 1})
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Log(data_dir / "qwenlab.db") as other:  # another connection, as another process
                row = other.experiment("live")
                if row is not None and row["status"] == "running":
                    seen.append(str(other.experiments_frame().set_index("name").loc["live", "status"]))
                    assert settle_abandoned(other) == []
                    seen.append(other.experiment("live")["status"])
                    break
            time.sleep(0.02)
    finally:
        thread.join(60)
        client.close()
    assert seen == ["running", "running"]
    with Log(data_dir / "qwenlab.db") as log:
        assert settle_abandoned(log) == [] and log.experiment("live")["status"] == "done"


def test_an_experiment_another_run_still_sends_is_neither_renamed_nor_deleted(emulator: Emulator, data_dir: Path) -> None:
    """Two runs of one experiment at once (two notebooks, a notebook and `qwenlab run`): the first
    to finish wrote its status, 'done', while the other still sent, and `qwenlab rename` and
    `delete` went through under the live run (which then failed at its end: no experiment of its
    name; or wrote its cells into a deleted experiment). The live run's lock says it runs."""
    exp = run_sweep(emulator, data_dir, name="shared", repeats=1, fail_one=False)
    assert exp.status == "done"
    holder = subprocess.Popen(  # the other run, in another process: it holds the run lock until told
        [sys.executable, "-c", "import sys; from pathlib import Path; from qwenlab.store.run_lock import holding_run\n"
         f"with holding_run(Path({str(data_dir / 'qwenlab.db')!r}), {exp.id}):\n"
         "    print('holding', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        renamed = CliRunner().invoke(cli, ["rename", "shared", "other"], prog_name="qwenlab")
        deleted = CliRunner().invoke(cli, ["delete", "shared", "--yes"], prog_name="qwenlab")
        for refused in (renamed, deleted):
            assert refused.exit_code != 0 and "is running" in refused.output, refused.output
        with Log(data_dir / "qwenlab.db") as log:
            assert log.experiment_names() == ["shared"] and log.image_count(exp.id) == 4
            # and it is listed as running, though the first run to finish wrote 'done'
            assert log.rows("SELECT status FROM experiments")[0]["status"] == "done"
            assert log.experiments_frame()["status"].tolist() == ["running"]
        assert Lab(data_dir).experiment("shared").status == "running"
        listed = CliRunner().invoke(cli, ["logs", "--json"], prog_name="qwenlab")
        assert [r["status"] for r in json.loads(listed.output)] == ["running"], listed.output
    finally:
        holder.communicate("", timeout=30)
    assert Lab(data_dir).experiment("shared").status == "done"  # its last run ended: as it wrote
    assert CliRunner().invoke(cli, ["rename", "shared", "other"], prog_name="qwenlab").exit_code == 0  # its run ended


def test_a_run_whose_last_status_write_fails_is_not_left_running(emulator: Emulator, data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The log refused the run's last write (a full disk): the experiment stayed 'running' while
    no run was alive. The run has let go of its lock, so the next reader settles it."""
    client = RunwareClient("sk-full", emulator.url, images_dir=data_dir / "images", backoff_base=0.01)
    lab = Lab(data_dir, client=client)
    real = Log.update_experiment

    def refuse_the_last(self: Log, experiment_id: int, **fields: object) -> None:
        if fields.get("status") not in (None, "running"):
            raise sqlite3.OperationalError("database or disk is full")
        real(self, experiment_id, **fields)

    monkeypatch.setattr(Log, "update_experiment", refuse_the_last)
    with client, pytest.raises(LogWriteError):
        lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=2), name="full", progress=False)
    monkeypatch.setattr(Log, "update_experiment", real)
    assert lab.log.experiment("full")["status"] == "running"  # as the run left it
    exp = lab.experiment("full")
    assert exp.status == "interrupted" and exp.stop_reason == ABANDONED
    assert exp.counts()["done"] == 2  # what it logged stays


@pytest.mark.slow
def test_a_run_killed_in_the_middle_is_said_interrupted_and_finished_by_the_next(data_dir: Path, tmp_path: Path) -> None:
    """`qwenlab run` killed with SIGKILL while it sends (as a restarted kernel is): its
    experiment is listed as interrupted, can be renamed, and the next run finishes it without
    paying twice for any cell."""
    sweep = tmp_path / "slow.toml"
    sweep.write_text(f'name = "slow"\nprompt = "{PROMPT}"\nrepeats = 12\nconcurrency = 2\n[request]\nsize = "256x256"\n')
    with Emulator(latency=0.4) as emu:
        env = {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_BASE_URL": emu.url}
        run = [sys.executable, "-m", "qwenlab.cli", "run", str(sweep), "--no-progress"]
        proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(emu.ledger) < 3:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            said, _ = proc.communicate(timeout=30)
        assert len(emu.ledger) >= 3, f"the run never got going: {said}"
        with sqlite3.connect(data_dir / "qwenlab.db") as raw:  # what the dead run left, unsettled
            assert raw.execute("SELECT status FROM experiments WHERE name = 'slow'").fetchone()[0] == "running"
        listed = subprocess.run([sys.executable, "-m", "qwenlab.cli", "logs"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        assert listed.returncode == 0 and "interrupted" in listed.stdout and "running" not in listed.stdout, listed.stdout
        again = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "12/12 cells done" in again.stdout
        charged = [c.task_uuid for c in emu.ledger.charges]
        assert len(charged) == len(set(charged)) == 12  # every cell paid once


def test_a_run_that_starts_while_a_rename_or_delete_is_checked_never_slips_between(
        emulator: Emulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The busy check of a rename or delete came before its write transaction, and a run checked
    its experiment well before it took its lock: a run that started between the two went on
    under the rename, or sent its cells into the deleted experiment. The lock is now checked
    again inside the rename's or delete's transaction, and a run marks its experiment 'running'
    only if it was not deleted meanwhile."""
    from qwenlab.errors import ExperimentBusyError, ExperimentNotFoundError
    from qwenlab.store.organize import Organizer
    from qwenlab.sweeps.runner import Runner

    exp = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    # 1. the run takes its lock just after the check before the transaction
    monkeypatch.setattr(Organizer, "_refuse_running", lambda self, row, what: None)
    org = Organizer(exp.log, data_dir)
    with holding_run(exp.log.path, exp.id):
        with pytest.raises(ExperimentBusyError, match="is running"):
            org.delete(exp.id, confirm=True)
        with pytest.raises(ExperimentBusyError, match="is running"):
            org.rename(exp.id, "other")
    assert exp.log.experiment_names() == ["posters"] and exp.log.image_count(exp.id) == 4
    monkeypatch.undo()

    # 2. the experiment is deleted (another process) after the run's checks, before its lock
    record_backend = Runner._record_backend

    def deleted_meanwhile(self: Runner, exp_id: int) -> object:
        with Log(data_dir / "qwenlab.db") as other:
            Organizer(other, data_dir).delete(exp_id, confirm=True)
        return record_backend(self, exp_id)

    monkeypatch.setattr(Runner, "_record_backend", deleted_meanwhile)
    charged = len(emulator.ledger)
    client = RunwareClient("sk-grid-test", emulator.url, images_dir=data_dir / "images")
    started = time.time()
    with client, pytest.raises(ExperimentNotFoundError, match="was deleted as this run started"):
        Lab(data_dir, client=client).run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False]}, size="256x256",
                                               repeats=3), name="posters", extend=True, progress=False)
    assert len(emulator.ledger) == charged  # nothing sent into the deleted experiment
    assert not [r for r in emulator.requests if r.method == "POST" and r.time > started]
    with Log(data_dir / "qwenlab.db") as log:
        assert log.experiment_names() == [] and log.rows("SELECT status FROM experiments")[0]["status"] != "running"


def test_a_run_whose_experiment_is_renamed_as_it_starts_sends_nothing_under_the_old_name(
        emulator: Emulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename from another process between a run's checks and its lock went through (nothing
    held the lock yet), and the run then sent its cells into the renamed experiment and looked
    it up by its old name at its end. It now refuses before sending, naming the new name."""
    from qwenlab.errors import ExperimentNotFoundError
    from qwenlab.store.organize import Organizer
    from qwenlab.sweeps.runner import Runner

    exp_id = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False).id
    record_backend = Runner._record_backend

    def renamed_meanwhile(self: Runner, exp_id: int) -> object:
        with Log(data_dir / "qwenlab.db") as other:
            Organizer(other, data_dir).rename(exp_id, "posters-v1")
        return record_backend(self, exp_id)

    monkeypatch.setattr(Runner, "_record_backend", renamed_meanwhile)
    charged = len(emulator.ledger)
    client = RunwareClient("sk-grid-test", emulator.url, images_dir=data_dir / "images")
    with client, pytest.raises(ExperimentNotFoundError, match=r"'posters' was renamed to 'posters-v1' as this run "
                                                               r"started .*nothing was sent.*under its new name"):
        Lab(data_dir, client=client).run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False]}, size="256x256",
                                               repeats=3), name="posters", extend=True, progress=False)
    assert len(emulator.ledger) == charged
    with Log(data_dir / "qwenlab.db") as log:
        row = log.experiment("posters-v1")
        assert row is not None and row["id"] == exp_id and row["status"] == "done"
        assert log.image_count(exp_id) == 4 and log.experiment("posters") is None


# a `qwenlab run` where the platform has no fcntl (as on Windows): blocked before qwenlab imports it
NO_FCNTL_RUN = "import sys, runpy; sys.modules['fcntl'] = None; sys.argv[0] = 'qwenlab'; runpy.run_module('qwenlab.cli', run_name='__main__')"


def test_where_flock_is_missing_a_killed_run_is_told_from_a_live_one(data_dir: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no flock: a run's experiment stayed 'running' for good once its process was
    killed (a kernel restarted mid-sweep), refusing rename and delete until its sweep ran again.
    A run there writes a marker naming its process: while that process lives the experiment is
    running (rename refused); once it is killed, the log says 'interrupted', rename works, and
    the next run finishes it without paying twice."""
    import qwenlab.store.run_lock as run_lock
    from qwenlab.errors import ExperimentBusyError

    monkeypatch.setattr(run_lock, "fcntl", None)
    sweep = tmp_path / "slow.toml"
    sweep.write_text(f'name = "slow"\nprompt = "{PROMPT}"\nrepeats = 8\nconcurrency = 2\n[request]\nsize = "256x256"\n')
    with Emulator(latency=0.3) as emu:
        env = {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_BASE_URL": emu.url}
        run = [sys.executable, "-c", NO_FCNTL_RUN, "run", str(sweep), "--no-progress"]
        proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(emu.ledger) < 2:
                time.sleep(0.05)
            with Log(data_dir / "qwenlab.db") as log:  # alive: running, and not to be renamed
                exp_id = int(log.experiment("slow")["id"])
                assert log.experiment("slow")["status"] == "running" and run_alive(log.path, exp_id) is True
                assert run_lock.live_runs(log.path) == {exp_id}
            with pytest.raises(ExperimentBusyError):
                Lab(data_dir).experiment("slow").rename("fast")
        finally:
            proc.send_signal(signal.SIGKILL)
            said, _ = proc.communicate(timeout=30)
        assert len(emu.ledger) >= 2, f"the run never got going: {said}"
        assert list((data_dir / "qwenlab.db.runs").glob("*.run")), "the killed run left its marker"
        with Log(data_dir / "qwenlab.db") as log:
            row = log.experiment("slow")
            assert row["status"] == "interrupted" and row["stop_reason"] == ABANDONED, row["status"]
        assert not list((data_dir / "qwenlab.db.runs").glob("*.run"))  # a dead run's marker is cleared
        lab = Lab(data_dir)
        lab.experiment("slow").rename("fast")
        again = subprocess.run([sys.executable, "-c", NO_FCNTL_RUN, "run", str(sweep), "--name", "fast", "--no-progress"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        charged = [c.task_uuid for c in emu.ledger.charges]
        assert len(charged) == len(set(charged)) == 8  # every cell paid once
        assert not list((data_dir / "qwenlab.db.runs").glob("*.run"))  # a run that ends removes its marker


def test_where_flock_is_missing_a_run_on_another_machine_cannot_be_told(emulator: Emulator, data_dir: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A marker written on another machine (a log on a shared folder) names a process this one
    cannot ask about: its experiment stays 'running', rename says why, delete --force removes it."""
    import qwenlab.store.run_lock as run_lock
    from qwenlab.errors import ExperimentBusyError

    monkeypatch.setattr(run_lock, "fcntl", None)
    exp = run_sweep(emulator, data_dir, name="left", repeats=1, fail_one=False)
    assert exp.log.experiment("left")["status"] == "done"
    assert not list((data_dir / "qwenlab.db.runs").glob("*.run"))
    (data_dir / "qwenlab.db.runs" / f"{exp.id}.4242.0123456789ab.run").write_text(
        json.dumps({"host": "another-machine", "pid": 4242}), encoding="utf-8")
    with exp.log.transaction() as db:
        db.execute("UPDATE experiments SET status = 'running', stop_reason = NULL WHERE id = ?", [exp.id])
    with Log(data_dir / "qwenlab.db") as log:
        assert log.experiment("left")["status"] == "running" and settle_abandoned(log) == []
        assert run_alive(log.path, exp.id) is None and run_lock.live_runs(log.path) == set()
    with pytest.raises(ExperimentBusyError, match="another machine"):
        exp.rename("right")
    exp.delete(confirm=True, force=True)
