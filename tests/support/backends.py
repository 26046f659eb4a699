"""Two backends for provenance tests: qwenlab's emulator as it is, and "Runware": a second emulator
reached through a transport that removes the emulator's marker header (`X-Qwenlab-Emulator`)
from every answer, so the client sees a server that answers like Runware and says nothing of
being an emulator, even on loopback and with any key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from qwenlab.api.client import RunwareClient

MARKER = "x-qwenlab-emulator"
FAST = {"backoff_base": 0.01, "poll_initial": 0.02, "poll_max": 0.1}


class WithoutEmulatorMarker(httpx.BaseTransport):
    """Real HTTP to a loopback emulator, with the emulator's marker header taken out of each answer."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._inner.handle_request(request)
        if MARKER in response.headers:
            del response.headers[MARKER]
        return response

    def close(self) -> None:
        self._inner.close()


def emulator_client(emu: Any, data_dir: Path, key: str = "sk-emulated-run") -> RunwareClient:
    """A client of the emulator `emu`, with a key that says nothing of it (found out by the marker)."""
    return RunwareClient(key, emu.url, images_dir=data_dir / "images", **FAST)


def runware_client(emu: Any, data_dir: Path, key: str = "sk-live-0123456789abcdef") -> RunwareClient:
    """A client that takes `emu` for Runware: a real-looking key and no emulator marker in any answer."""
    return RunwareClient(key, emu.url, images_dir=data_dir / "images", transport=WithoutEmulatorMarker(), **FAST)


def posts(emu: Any) -> list[Any]:
    """The POSTs `emu` received (a GET carries no task and costs nothing)."""
    return [r for r in emu.requests if r.method == "POST"]


def relabel(exp: Any, backend: str | None, *, every: int = 1) -> None:
    """Say in the log that every `every`-th task of `exp` (all by default) ran on `backend`
    (None: not recorded, as a log written before provenance was); the experiment row follows."""
    ids = [t["id"] for t in exp.log.tasks(exp.id)][::every]
    with exp.log.transaction() as db:
        for task_id in ids:
            db.execute("UPDATE tasks SET backend = ?, api_host = ? WHERE id = ?",
                       [backend, None if backend is None else ("api.runware.ai" if backend == "runware" else "127.0.0.1:8787"),
                        task_id])
        kinds = {r[0] for r in db.execute("SELECT DISTINCT backend FROM tasks WHERE experiment_id = ?", [exp.id])}
        db.execute("UPDATE experiments SET backend = ? WHERE id = ?", [kinds.pop() if len(kinds) == 1 else "mixed", exp.id])
