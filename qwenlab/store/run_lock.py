"""Whether a run of an experiment is alive: a lock its process holds while it sends.

A run marks its experiment 'running' while it sends and writes how it stopped ('done', 'budget',
'interrupted', ...) at the end. A process killed in between (a notebook's kernel restarted in
the middle of a sweep, `kill -9`, a power cut) never writes that last status, and the experiment
stayed 'running' for good: listed as running, refusing rename and delete, until its sweep was
run again. Now a run holds a shared lock (`flock`) on `<log>.runs/<experiment id>.lock` from
before it marks the experiment 'running' until after it writes how it stopped, and the
operating system lets go of the lock when the process ends, however it ends. An experiment
'running' whose lock no process holds was left so by a run that died: `settle_abandoned` marks
it 'interrupted', saying so, and its cells left in doubt are asked about by the next run as
always. Where `flock` is missing (Windows) a run writes a small file naming its machine and
process instead (`<log>.runs/<experiment id>.<pid>.<token>.run`), removed as it ends; a run whose
file names a process of this machine that no longer exists is dead, and is settled the same way
(one on another machine, or whose process cannot be asked about, cannot be told: left 'running').

    with holding_run(log.path, experiment_id):   # the runner, around 'running' .. its last status
        ...
    settle_abandoned(log)                        # readers, before they show statuses
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .rows import utc_now

try:
    import fcntl
except ImportError:  # Windows: no flock; a run is told alive by its process instead (`_marker`)
    fcntl = None  # type: ignore[assignment]

__all__ = ["holding_run", "run_alive", "live_runs", "settle_abandoned", "process_alive", "ABANDONED"]

# the runs of this process, by lock file and experiment: what it knows without asking the lock
_HERE: Counter[tuple[str, int]] = Counter()
_HERE_LOCK = threading.Lock()

ABANDONED = ("its run ended before it finished (its process was killed, or its kernel restarted, while it sent): "
             "run the sweep again to finish the rest; cells it left in doubt are asked about first, never bought twice")


def lock_file(log_path: Path, experiment_id: int) -> Path:
    """Where the lock of `experiment_id`'s runs lives: beside the log, one small file each."""
    return log_path.parent / f"{log_path.name}.runs" / f"{int(experiment_id)}.lock"


@contextmanager
def holding_run(log_path: Path | None, experiment_id: int) -> Iterator[None]:
    """Hold the experiment's run lock (shared: two runs of one experiment may run at once) while
    the block runs. A log in memory holds nothing; a platform without flock writes the run's
    marker (its machine and process) instead, removed when the block ends."""
    if log_path is None:
        yield
        return
    if fcntl is None:
        with _marker(log_path, experiment_id):
            yield
        return
    path = lock_file(log_path, experiment_id)
    try:
        path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # a folder it cannot write: the run goes on, as it did before the lock
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a reader tests the lock: a moment
        with _counted_here(path, experiment_id):
            yield
    finally:
        os.close(fd)  # and with it the lock


@contextmanager
def _counted_here(path: Path, experiment_id: int) -> Iterator[None]:
    """Count a run of this process holding the experiment's lock (or marker) while the block runs:
    `run_alive` answers for this process from the count, without asking the lock."""
    key = (str(path), int(experiment_id))
    with _HERE_LOCK:
        _HERE[key] += 1
    try:
        yield
    finally:
        with _HERE_LOCK:
            _HERE[key] -= 1


@contextmanager
def _marker(log_path: Path, experiment_id: int) -> Iterator[None]:
    """Where flock is missing: a file naming this machine and process beside the log, for as
    long as the run lasts (`_marked_alive` reads it). A folder it cannot write: the run goes on
    without it, as it did before."""
    path = lock_file(log_path, experiment_id)
    marker = path.parent / f"{int(experiment_id)}.{os.getpid()}.{uuid.uuid4().hex[:12]}.run"
    try:
        path.parent.mkdir(exist_ok=True)
        marker.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}), encoding="utf-8")
    except OSError:
        marker = None  # type: ignore[assignment]
    try:
        with _counted_here(path, experiment_id):
            yield
    finally:
        if marker is not None:
            try:
                marker.unlink()
            except OSError:  # left behind: its process is gone, which is how a reader will see it
                pass


def _marked_alive(log_path: Path, experiment_id: int) -> bool | None:
    """Where flock is missing: whether a run's marker names a live process. True when one does,
    False when every marker names a process of this machine that has ended (or there is none),
    None when it cannot be told (a run on another machine, a process that cannot be asked about)."""
    folder = lock_file(log_path, experiment_id).parent
    try:
        markers = list(folder.glob(f"{int(experiment_id)}.*.run"))
    except OSError:
        return None
    verdicts = []
    for marker in markers:
        try:
            said = json.loads(marker.read_text(encoding="utf-8"))
            host, pid = said["host"], int(said["pid"])
        except FileNotFoundError:  # its run ended as it was read
            continue
        except (OSError, ValueError, KeyError, TypeError):
            verdicts.append(None)
            continue
        alive = process_alive(pid) if host == socket.gethostname() else None
        if alive is False:
            try:  # its run died without removing it: it says nothing any more
                marker.unlink()
            except OSError:
                pass
        verdicts.append(alive)
    if True in verdicts:
        return True
    return None if None in verdicts else False


def process_alive(pid: int) -> bool | None:
    """Whether process `pid` of this machine is running; None when it cannot be told. A process
    that exists but is not this user's is alive; a pid reused since is taken for alive (the run
    then stays 'running', as it did before: never a live run taken for a dead one)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0 asks, sends nothing (on Windows os.kill would end the process)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


def _windows_process_alive(pid: int) -> bool | None:
    """`process_alive` on Windows: OpenProcess and its exit code (STILL_ACTIVE while it runs)."""
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.restype = ctypes.c_void_p  # a HANDLE: pointer-sized, not an int
        kernel32.GetExitCodeProcess.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong)]
        kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            # ERROR_INVALID_PARAMETER: no process has that id; anything else (access denied): it exists
            return False if ctypes.get_last_error() == 87 else True  # type: ignore[attr-defined]
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return None
            return code.value == 259  # STILL_ACTIVE (a process that exited with 259 is taken for alive)
        finally:
            kernel32.CloseHandle(handle)
    except Exception:  # no ctypes, another platform's stand-in: cannot tell
        return None


def run_alive(log_path: Path | None, experiment_id: int) -> bool | None:
    """True when a live process holds the experiment's run lock, False when none does (or no
    run ever made the file), None when it cannot be told (a log in memory, a file it cannot
    open; without flock, a run on another machine)."""
    if log_path is None:
        return None
    path = lock_file(log_path, experiment_id)
    with _HERE_LOCK:
        if _HERE[(str(path), int(experiment_id))]:
            # a run in this very process: known without asking the lock, which on a network
            # share (flock over NFS is a POSIX lock, one per process) would let this process in
            return True
    if fcntl is None:
        return _marked_alive(log_path, experiment_id)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def live_runs(log_path: Path | None) -> set[int]:
    """The experiments of the log at `log_path` that a live run holds the lock of (their row may
    say 'done': of two runs of one experiment, the first to finish writes its status while the
    other still sends). Empty where it cannot be told (a log in memory)."""
    if log_path is None:
        return set()
    try:
        names = os.listdir(lock_file(log_path, 0).parent)
    except OSError:  # no run ever took a lock beside this log
        return set()
    if fcntl is None:  # the runs' markers: <id>.<pid>.<token>.run
        ids = {int(n.split(".")[0]) for n in names if n.endswith(".run") and n.split(".")[0].isdigit()}
    else:
        ids = {int(n[:-5]) for n in names if n.endswith(".lock") and n[:-5].isdigit()}
    return {i for i in ids if run_alive(log_path, i) is True}


def settle_abandoned(log: Any) -> list[str]:
    """Mark 'interrupted' each experiment of `log` (a `Log`) left 'running' by a run whose
    process has ended; the names of those it marked. Checked inside a write transaction, so a
    run that writes its last status meanwhile is never overwritten (a run lets go of its lock
    only after that write). A log that cannot be written is left as it is."""
    if log.path is None:
        return []
    try:
        running = log.rows("SELECT id FROM experiments WHERE status = 'running'")
    except sqlite3.DatabaseError:  # a damaged log: said by whatever reads it next (`qwenlab verify`)
        return []
    if not running or all(run_alive(log.path, r["id"]) is not False for r in running):
        return []
    settled = []
    try:
        with log.transaction() as db:
            for row in db.execute("SELECT id, name FROM experiments WHERE status = 'running'").fetchall():
                if run_alive(log.path, row[0]) is False:
                    db.execute("UPDATE experiments SET status = 'interrupted', stop_reason = ?, updated_at = ? WHERE id = ?",
                               [ABANDONED, utc_now(), row[0]])
                    settled.append(str(row[1]))
    except sqlite3.DatabaseError:  # read-only, busy past the timeout, damaged: shown as it is
        return []
    return settled
