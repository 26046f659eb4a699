"""An upgrade of the log under way in another process, told apart from a writer left open.

The upgrade of a large log holds its write lock for a minute or more (`runner.migrate`, in one
transaction). A second process opening the log meanwhile (a notebook's `Lab()`, `qwenlab logs`)
waited SQLite's 30 s, then failed with "database is locked" and advice to close a writer left
open, though nothing was stuck. Now the process that upgrades writes a small file beside the log
naming its machine, process and start (`<log>.upgrading`) while it holds the lock, and removes it
as it ends; another process finding the lock held and that file naming a live process says so
and waits for it (`begin_upgrade`), then opens the log as upgraded.

    with upgrading(path, pending):    # the upgrading process, while it holds the write lock
        ...
    begin_upgrade(conn, path)         # BEGIN IMMEDIATE, waiting out another process's upgrade
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..run_lock import process_alive

__all__ = ["Upgrader", "begin_upgrade", "marker_path", "under_way", "upgrading"]


def marker_path(log_path: Path) -> Path:
    """The file that says an upgrade of `log_path` is under way: beside it, `<name>.upgrading`."""
    return log_path.parent / f"{log_path.name}.upgrading"


@dataclass(frozen=True)
class Upgrader:
    """The process upgrading a log, as its marker names it."""

    host: str
    pid: int
    started: str  # ISO 8601, UTC
    steps: str

    def waiting_text(self) -> str:
        """What a process that waits for this upgrade says, once."""
        try:
            since = dt.datetime.fromisoformat(self.started).astimezone().strftime("%H:%M:%S")
        except ValueError:
            since = self.started
        who = (f"another connection of this process (pid {self.pid})" if self.pid == os.getpid() and self.host == socket.gethostname()
               else f"another process (pid {self.pid}{'' if self.host == socket.gethostname() else f' on {self.host}'})")
        return (f"qwenlab: {who} has been upgrading this log to a newer schema ({self.steps}) since {since}; waiting for it "
                "to finish, then the log opens as upgraded (an upgrade takes up to about a minute per million tasks). "
                "Nothing needs doing. To stop waiting, interrupt this one (Ctrl-C, or the kernel's stop button) and open "
                "the log again later: nothing is changed by it, and interrupting the upgrade leaves the log as it was")


def under_way(log_path: Path | None) -> Upgrader | None:
    """The process upgrading the log now, when its marker names one that may be alive (one on
    another machine cannot be asked about: taken for alive); None when no marker is there, or it
    names a process of this machine that has ended (killed mid-upgrade: SQLite rolled it back)."""
    if log_path is None:
        return None
    try:
        said = json.loads(marker_path(log_path).read_text(encoding="utf-8"))
        upgrader = Upgrader(str(said["host"]), int(said["pid"]), str(said["started"]), str(said["steps"]))
    except (OSError, ValueError, KeyError, TypeError):  # none, or being written or removed as it was read
        return None
    if upgrader.host == socket.gethostname() and process_alive(upgrader.pid) is False:
        return None
    return upgrader


@contextmanager
def upgrading(log_path: Path | None, pending: list[str]) -> Iterator[None]:
    """The marker of this process's upgrade of the log, for as long as the block runs (inside
    the write transaction). A folder it cannot write: the upgrade goes on without it."""
    if log_path is None or not pending:
        yield
        return
    marker = marker_path(log_path)
    steps = pending[0] if len(pending) == 1 else f"{pending[0]} to {pending[-1]}"
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    try:
        marker.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": started,
                                      "steps": steps}), encoding="utf-8")
    except OSError:
        marker = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if marker is not None:
            try:
                marker.unlink()
            except OSError:  # left behind: its process ends, which is how a reader will see it
                pass


def begin_upgrade(conn: sqlite3.Connection, log_path: Path | None) -> None:
    """`BEGIN IMMEDIATE` for an upgrade. While another process upgrades the log (its marker names
    a live process), say so once on stderr and keep waiting for it, however long it takes; a lock
    held past SQLite's busy timeout by anything else raises SQLite's error, as before."""
    told = False
    while True:
        upgrader = under_way(log_path)
        if upgrader is not None and not told:
            print(upgrader.waiting_text(), file=sys.stderr, flush=True)
            told = True
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if not ("locked" in text or "busy" in text) or under_way(log_path) is None:
                raise
