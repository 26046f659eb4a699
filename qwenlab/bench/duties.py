"""qwenlab's duties per task, done by hand around another client (the sweep benchmark's third side):
what `Lab.run` promises and Runware's SDK does not do, with the same calls the runner makes.

    duties = LogDuties(folder)
    duties.add(tasks)                          # every task logged 'pending', as a sweep does first
    duties.before(i)                           # before task i's request leaves: its row marked 'sent'
    duties.after(i, item, image_bytes)         # its image checked, hashed, fsynced; the row 'done'

The SDK run with these duties (`bench_sdk(..., duties=...)`) shows what the promises cost any
client: it is the fair baseline for qwenlab's own overhead, beside the bare SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..api.imagestore import ImageStore
from ..core.request import new_task_uuid
from ..store.log import Log
from ..version import __version__

__all__ = ["LogDuties"]


class LogDuties:
    """A log and an image store under `folder`; `add` logs the tasks, and `task_uuids` are then
    the taskUUIDs the other client must send (each row's own)."""

    def __init__(self, folder: Path, *, api_host: str = "127.0.0.1") -> None:
        self.log = Log(folder / "qwenlab.db")
        self.store = ImageStore(folder / "images")
        self._root = folder.resolve()  # image paths are logged relative to it, as Lab logs them to its folder
        self._api_host = api_host
        self.experiment_id = int(self.log.ensure_experiment("bench-sdk")["id"])
        self.task_uuids: list[str] = []
        self._requests: list[str] = []
        self._ids: list[int] = []

    def add(self, tasks: list[dict[str, Any]]) -> None:
        """Log one 'pending' row per task dict (an imageInference task without taskUUID), in order
        (once per LogDuties: its folder is the run's own)."""
        self.task_uuids = [new_task_uuid() for _ in tasks]
        self._requests = [json.dumps({**t, "taskType": "imageInference", "taskUUID": u}) for t, u in zip(tasks, self.task_uuids)]
        self.log.add_tasks([{
            "task_uuid": u, "experiment_id": self.experiment_id, "cell_key": f"sdk-{i}", "repeat": 0, "request_json": r,
            "model": t.get("model"), "prompt": t.get("positivePrompt"), "width": t.get("width"), "height": t.get("height"),
        } for i, (t, u, r) in enumerate(zip(tasks, self.task_uuids, self._requests))])
        logged = self.log.tasks_by_cell(self.experiment_id, [f"sdk-{i}" for i in range(len(tasks))])
        self._ids = [int(logged[f"sdk-{i}"]["id"]) for i in range(len(tasks))]

    def before(self, i: int) -> None:
        """Task i's row marked 'sent', with its request, before the request leaves (`Log.mark_sent`)."""
        self.log.mark_sent(self._ids[i], self._requests[i], backend="emulator", api_host=self._api_host,
                           qwenlab_version=__version__)

    def after(self, i: int, item: dict[str, Any], data: bytes) -> None:
        """Task i's image checked, hashed and written durably (`ImageStore.save`), then its row
        completed with the image's (`Log.complete_task`)."""
        saved = self.store.save(data, "JPEG")
        cost = item.get("cost")
        source = "api" if cost is not None else "estimate"
        self.log.complete_task(self._ids[i], {"status": "done", "attempts": 1, "http_status": 200, "cost_usd": cost,
                                              "cost_source": source}, [{
            "image_uuid": item.get("imageUUID"), "task_uuid": self.task_uuids[i], "experiment_id": self.experiment_id,
            "seed": item.get("seed"), "cost_usd": cost, "cost_source": source,
            "path": saved.path.relative_to(self._root).as_posix(), "sha256": saved.sha256, "format": saved.format, "width": saved.width,
            "height": saved.height, "bytes": saved.nbytes, "url": item.get("imageURL"), "raw_json": json.dumps(item),
        }])

    def done(self) -> int:
        """How many tasks are logged 'done'."""
        return int(self.log.rows("SELECT count(*) AS n FROM tasks WHERE experiment_id = ? AND status = 'done'",
                                 [self.experiment_id])[0]["n"])

    def close(self) -> None:
        self.log.close()
