"""What an emulator remembers across processes: its finished tasks and their images, in a file.

Runware keeps a task's results for a while after it was made, so a client that lost an image (a
deleted file, a download cut short, a crash before it was saved) asks `getResponse` and fetches
it again for free, from any process. An emulator that kept its tasks only in memory forgot them
when its process ended: each `qwenlab` command and each notebook kernel starts an embedded
emulator of its own, so a lost image was lost for good there, where Runware would have given it
back. With a `TaskMemory`, an emulator writes each image it makes (and each upload) to a SQLite
file and answers for it from there once its own process has forgotten it:

- `getResponse` of a task an earlier process made answers its images (at this server's URLs);
- the same `taskUUID` sent again is a `conflictTaskUUID`, never a second charge;
- an uploaded imageUUID still works as a reference.

A generated image is kept until its URL's ttl passes (an hour unless the task set `ttl`); an
upload for a week. Expired rows are dropped when the file is opened, and every 500 images kept.
Failed tasks are not kept: getResponse does not know them, as it does not know a task that
failed on Runware's side.
The file is the emulator's alone, never the log's: qwenlab's log and images do not depend on it.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ..wal import switch_to_wal
from .images import StoredImage

__all__ = ["TaskMemory", "UPLOAD_KEPT_S", "MEMORY_NAME"]

MEMORY_NAME = "emulator.db"  # the embedded emulator's file, in the data folder beside the log
UPLOAD_KEPT_S = 7 * 24 * 3600
PRUNE_EVERY = 500  # images kept between two sweeps of the expired ones

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_uuid TEXT PRIMARY KEY,
    task_type TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    image_uuid TEXT PRIMARY KEY,
    task_uuid TEXT NOT NULL,
    position INTEGER NOT NULL,
    item TEXT NOT NULL,      -- the answer item, its imageURL as a path ('/images/<uuid>.<ext>')
    mime TEXT NOT NULL,
    ext TEXT NOT NULL,
    data BLOB NOT NULL,      -- a generated image's bytes, or an upload's pixels as PNG
    upload INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS images_by_task ON images (task_uuid, position);
"""


class TaskMemory:
    """Finished tasks and their images in a SQLite file, shared by the emulators that open it.

    `clock` gives epoch seconds (the image store's clock, so tests that move time move expiry).
    Thread-safe; several processes may open one file (SQLite's locking, a 5 s busy timeout).
    """

    def __init__(self, path: str | Path, clock: Callable[[], float]) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._kept = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False, isolation_level=None)
        try:
            # an emulator's memory is a convenience, not a ledger: a crash may lose its last rows
            switch_to_wal(lambda: self._db.execute("PRAGMA journal_mode=WAL"), 5.0)  # see qwenlab/wal.py
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.executescript(_SCHEMA)
            self.forget_expired()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(f"{self.path} cannot be the emulator's memory ({exc}): give the path of a new file, "
                             "or of one an emulator made") from None

    def __repr__(self) -> str:
        return f"TaskMemory({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def forget_expired(self) -> None:
        """Drop the tasks and images whose time has passed."""
        now = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM images WHERE expires_at < ?", (now,))
            self._db.execute("DELETE FROM tasks WHERE expires_at < ?", (now,))
            self._db.execute("COMMIT")

    def claim(self, task_uuid: str, task_type: str, expires_at: float) -> bool:
        """Record a taskUUID as taken; False if this file knew it already (a conflict)."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO tasks (task_uuid, task_type, expires_at) VALUES (?, ?, ?)",
                                      (task_uuid, task_type, expires_at))
            return cursor.rowcount == 1

    def keep_image(self, position: int, item: dict[str, Any], image: StoredImage, expires_at: float) -> None:
        """Keep a generated image of a task, with its answer item, until `expires_at` (its ttl)."""
        kept = dict(item)
        if "imageURL" in kept:
            kept["imageURL"] = f"/images/{image.uuid}.{image.ext}"
        self._keep(image.uuid, str(image.task_uuid), position, kept, image.mime, image.ext, image.data, False, expires_at)

    def keep_upload(self, item: dict[str, Any], image: StoredImage) -> None:
        """Keep an uploaded image's pixels (as PNG), for references to its imageUUID, a week."""
        if image.pixels is None:
            return
        buffer = io.BytesIO()
        image.pixels.save(buffer, "PNG")
        self._keep(image.uuid, str(image.task_uuid), 0, dict(item), "image/png", "png", buffer.getvalue(), True,
                   self._clock() + UPLOAD_KEPT_S)

    def _keep(self, image_uuid: str, task_uuid: str, position: int, item: dict[str, Any], mime: str, ext: str,
              data: bytes, upload: bool, expires_at: float) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (image_uuid, task_uuid, position, json.dumps(item), mime, ext, data, int(upload), expires_at))
            # the task lasts as long as its longest-lived image
            self._db.execute("UPDATE tasks SET expires_at = max(expires_at, ?) WHERE task_uuid = ?", (expires_at, task_uuid))
            self._db.execute("COMMIT")
            self._kept += 1
            due = self._kept % PRUNE_EVERY == 0
        if due:  # a kernel that runs for days drops what has expired as it goes, not only at start
            self.forget_expired()

    def items(self, task_uuid: str, origin: str) -> list[dict[str, Any]] | None:
        """getResponse items of a task this file knows (its images' URLs at `origin`), or None
        when it does not know the task. A task it knows with no image kept (it failed, or its
        process ended before one was made) is unknown too, as a failed task is to Runware."""
        with self._lock:
            rows = self._db.execute("SELECT item FROM images WHERE task_uuid = ? ORDER BY position", (task_uuid,)).fetchall()
        if not rows:
            return None
        items = []
        for (text,) in rows:
            item = json.loads(text)
            if isinstance(item.get("imageURL"), str) and item["imageURL"].startswith("/"):
                item["imageURL"] = origin + item["imageURL"]
            item["status"] = "success"
            items.append(item)
        return items

    def image(self, image_uuid: str) -> StoredImage | None:
        """An image this file keeps, as the image store holds it, or None."""
        with self._lock:
            row = self._db.execute("SELECT task_uuid, mime, ext, data, upload, expires_at FROM images WHERE image_uuid = ?",
                                   (image_uuid,)).fetchone()
        if row is None:
            return None
        task_uuid, mime, ext, data, upload, expires_at = row
        if upload:
            with Image.open(io.BytesIO(data)) as im:
                return StoredImage(image_uuid, pixels=im.convert("RGB"), task_uuid=task_uuid)
        return StoredImage(image_uuid, bytes(data), mime, ext, expires_at, task_uuid=task_uuid)
