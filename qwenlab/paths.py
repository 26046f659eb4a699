"""Where qwenlab keeps its files: the data folder, the log and the images.

One log, wherever you start. The data folder is, first that applies:

1. `$QWENLAB_DATA_DIR`;
2. the `data/` folder of the project you are in: the nearest folder, from the current directory
   up, holding a `.qwenlab` file (a marker: create it to make any folder a project) or a
   `pyproject.toml` that names qwenlab (the project itself, or one of its dependencies); failing
   that, the nearest folder holding a `data/qwenlab.db` already. So `notebooks/` and the project's
   root share a log, and a stray `notebooks/data/` never takes the project's place;
3. outside any project, the user's data folder: `$XDG_DATA_HOME/qwenlab` or
   `~/.local/share/qwenlab` on Linux, `~/Library/Application Support/qwenlab` on macOS,
   `%LOCALAPPDATA%\\qwenlab` on Windows (a few lines here rather than a dependency on platformdirs).

It is always an absolute path. Only writers create it (`data_dir()`); readers ask with
`data_dir(create=False)` and leave no folder behind.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "db_path", "images_dir", "project_root", "user_data_dir", "write_atomic", "remove_if_empty",
           "reserved_on_windows", "DB_NAME", "MARKER"]

DB_NAME = "qwenlab.db"
MARKER = ".qwenlab"  # an empty file that makes its folder a qwenlab project


def data_dir(create: bool = True) -> Path:
    """The data folder (see the module's docstring: `$QWENLAB_DATA_DIR`, else the project's
    `data/`, else the user's data folder), absolute; created unless `create=False`."""
    chosen = os.environ.get("QWENLAB_DATA_DIR")
    if chosen:
        path = Path(os.path.abspath(os.path.expanduser(chosen)))
    else:
        root = project_root()
        path = root / "data" if root is not None else _existing_log_folder() or user_data_dir()
    named = "QWENLAB_DATA_DIR" if chosen else "the data folder"
    if create:
        make_data_dir(path, named)
    elif path.is_file():
        raise _not_a_folder(named, path)
    return path


def make_data_dir(path: Path, named: str) -> None:
    """Make the data folder `path` (and its parents) unless it exists; `named`: what chose it
    (an environment variable, an argument), for the error when a file stands there instead."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise _not_a_folder(named, path) from None


def _not_a_folder(named: str, path: Path) -> NotADirectoryError:
    return NotADirectoryError(f"{named} {str(path)!r} is a file, not a folder: point it at a folder (made if it is missing)")


def project_root(start: str | Path | None = None) -> Path | None:
    """The nearest folder from `start` (default: the current directory) up that holds a `.qwenlab`
    marker or a `pyproject.toml` naming qwenlab; None outside any such project."""
    for folder in _upwards(start):
        if (folder / MARKER).exists() or _names_qwenlab(folder / "pyproject.toml"):
            return folder
    return None


def user_data_dir() -> Path:
    """The platform's folder for this user's application data, `qwenlab` in it."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(Path.home() / ".local" / "share")  # the XDG spec ignores a relative one
    return Path(base) / "qwenlab"


# the names Windows keeps for devices: a file "con.html" or "nul.png" cannot be made there (or is
# the device itself), whatever its extension and in any case
_WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                              *(f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3")})


def reserved_on_windows(name: str) -> bool:
    """Whether Windows keeps the file name `name` for a device: its part before the first dot,
    trailing spaces dropped, is CON, PRN, AUX, NUL, COM1-9 or LPT1-9 ("aux.html", "Nul.tar.gz")."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES


def _upwards(start: str | Path | None) -> list[Path]:
    here = Path(os.path.abspath(start if start is not None else os.getcwd()))
    return [here, *here.parents]


def _existing_log_folder() -> Path | None:
    """The nearest `data/` folder from here up that already holds a log (no project around it)."""
    for folder in _upwards(None):
        if (folder / "data" / DB_NAME).is_file():
            return folder / "data"
    return None


def _names_qwenlab(pyproject: Path) -> bool:
    """Does this pyproject.toml name qwenlab, as the project or among its requirements?"""
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    project: Any = data.get("project") if isinstance(data.get("project"), dict) else {}
    names = [project.get("name"), *_list(project.get("dependencies"))]
    for group in (project.get("optional-dependencies"), data.get("dependency-groups")):
        if isinstance(group, dict):
            names += [req for reqs in group.values() for req in _list(reqs)]
    return any(_requirement_name(n) == "qwenlab" for n in names if isinstance(n, str))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _requirement_name(requirement: str) -> str:
    """The normalised name of a requirement (PEP 503): "QwenLab[ocr]>=0.1" -> "qwenlab"."""
    name = re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def db_path() -> Path:
    """The SQLite log: `<data>/qwenlab.db`."""
    return data_dir() / DB_NAME


def images_dir() -> Path:
    """Where images are saved by content hash: `<data>/images/`."""
    path = data_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


_TEMP_NAMES = itertools.count()
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temp(folder: Path, suffix: str) -> tuple[int, str]:
    """A new file in `folder` for `write_atomic`, opened for writing: its descriptor and path.

    Named from the process, the thread and a counter, and created with O_EXCL, so two writers
    never share one (a name left by a crashed process is skipped). It gets the usual permissions
    (0666 less the umask) from open itself: `tempfile.mkstemp` made files only their owner could
    read, which then took an fchmod, and drew its random names at about a tenth of an image
    save's CPU."""
    for _ in range(100):
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{threading.get_ident()}-{next(_TEMP_NAMES)}{suffix}")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def write_atomic(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Write `data` to `target` so that a reader (or a crash) never sees half a file: write a
    temporary file beside it, then rename it into place. `durable=True` also fsyncs first, for
    files whose loss would lose work (images that were paid for). An error names `target`, not
    the temporary file, which the user never asked for."""
    try:
        for attempt in range(3):
            try:
                fd, tmp = _create_temp(target.parent, target.suffix)
                break
            except FileNotFoundError:
                # The folder is made when it is missing, not checked for each time: in a sweep, a
                # mkdir of a folder that exists took 0.13 ms of CPU per call, twice per image. Made
                # again if a delete emptied and removed it in between (`remove_if_empty`).
                if attempt == 2:
                    raise
                target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _about(exc, target) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        _replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        # a write, fsync or rename failing (a full disk, a read-only remount) names no file or the
        # temporary one: say it of the target
        if isinstance(exc, OSError) and exc.filename in (tmp, None):
            raise _about(exc, target) from None
        raise


# waits (seconds) before each new try of a rename refused on Windows: about a second in all
_REPLACE_WAITS = (0.01, 0.03, 0.06, 0.1, 0.2, 0.3, 0.3)


def _replace(tmp: str, target: Path) -> None:
    """os.replace, tried again for a moment on Windows: there a file cannot be replaced while
    any program holds it open without sharing its deletion, as Python's own open() does (another
    thread hashing the same image, a thumbnail being read, an antivirus or the search indexer
    scanning a file just written), and the rename fails with PermissionError until it lets go."""
    for wait in _REPLACE_WAITS if sys.platform == "win32" else ():
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            time.sleep(wait)
    os.replace(tmp, target)


def remove_if_empty(folder: Path) -> bool:
    """Remove `folder` if nothing is in it (the two-letter folder of a deleted image or thumbnail);
    True when it was removed. A writer that finds it gone makes it again (`write_atomic`)."""
    try:
        folder.rmdir()
    except OSError:  # not empty (ENOTEMPTY), gone already, or not ours to remove
        return False
    return True


def _about(exc: OSError, target: Path) -> OSError:
    """`exc` again, about `target`: "data/report.html: Permission denied", not ".tmp-12356-....html"."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(target))
