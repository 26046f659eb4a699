"""Where qwenlab keeps its files: the data folder, the log and the images."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "db_path", "images_dir"]


def data_dir(create: bool = True) -> Path:
    """The data folder: `$QWENLAB_DATA_DIR`, else `./data` under the current directory."""
    path = Path(os.environ.get("QWENLAB_DATA_DIR") or "data").expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    """The SQLite log: `<data>/qwenlab.db`."""
    return data_dir() / "qwenlab.db"


def images_dir() -> Path:
    """Where images are saved by content hash: `<data>/images/`."""
    path = data_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path
