"""Where qwenlab keeps its files: the data folder, the log and the images."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["data_dir", "db_path", "images_dir", "write_atomic", "DB_NAME"]

DB_NAME = "qwenlab.db"


def data_dir(create: bool = True) -> Path:
    """The data folder: `$QWENLAB_DATA_DIR`, else `./data` under the current directory."""
    path = Path(os.environ.get("QWENLAB_DATA_DIR") or "data").expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    """The SQLite log: `<data>/qwenlab.db`."""
    return data_dir() / DB_NAME


def images_dir() -> Path:
    """Where images are saved by content hash: `<data>/images/`."""
    path = data_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


# mkstemp makes files only their owner can read; a saved image or report should get the usual
# permissions (0666 less the umask). The umask can only be read by setting it, so read it once here.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Write `data` to `target` so that a reader (or a crash) never sees half a file: write a
    temporary file beside it, then rename it into place. `durable=True` also fsyncs first, for
    files whose loss would lose work (images that were paid for)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
