"""Thumbnails of logged images: made once, cached on disk, shared by grids, pairs, the explorer,
judging and exports.

    from qwenlab.store.thumbnails import thumbnail, thumbnail_of, thumbnails_of
    thumbnail("data/images/ab/ab12...ef.jpg")          # -> data/thumbs/256/ab/ab12...ef.jpg
    thumbnail_of(path, 128, "data_uri")                 # "data:image/jpeg;base64,..." for HTML
    thumbnails_of(paths, 256, "pixels")                 # {path: RGB array}, made in threads

`thumbnail_of` / `thumbnails_of` are what every view calls: they give the thumbnail as the view
needs it ("jpeg" bytes for a widget, "data_uri" for HTML, "pixels" for matplotlib), and an
`Unreadable` (falsy, with the reason) instead of raising for an image that is gone or broken, so
one bad file leaves a labelled blank rather than breaking the view.

A thumbnail is a JPEG that fits in a `size` x `size` box (aspect kept). It is keyed by the
image's content hash (an image's file name already is its SHA-256; any other file is hashed)
and the size, so it is shared by every experiment holding the same image; it stands for its
image only while the original is there and not written since (`is_fresh`, a stat of each file).
It lives in `<data>/thumbs/<size>/<hash[:2]>/<hash>.jpg`, where `<data>` is the data folder the
image sits in (`<data>/images/..`), else `qwenlab.paths.data_dir()`.

Safe from many threads and processes: each file is written to a temporary name in its folder and
renamed into place, so a reader never sees half a thumbnail; within one process, two threads
asking for the same thumbnail wait for one decode instead of doing two.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal

from ..errors import ImageError
from ..paths import data_dir, remove_if_empty, write_atomic

if TYPE_CHECKING:  # Pillow is imported where an image is read: `qwenlab logs` reads none (50 ms and more)
    from PIL import Image

__all__ = [
    "gone",
    "fitted",
    "on_white",
    "thumbnail",
    "thumbnail_bytes",
    "thumbnail_data_uri",
    "thumbnail_of",
    "thumbnails_of",
    "Unreadable",
    "thumbnail_path",
    "forget_thumbnails",
    "thumbs_dir_for",
    "content_hash",
    "read_checked",
    "is_fresh",
    "stats",
    "reset_stats",
    "DEFAULT_SIZE",
]

DEFAULT_SIZE = 256
JPEG_QUALITY = 85
_SHA256 = re.compile(r"[0-9a-f]{64}")

# counts of work done in this process: `made` decodes of an original, `reused` cache hits.
# Tests and benchmarks read these to tell a cached build from a fresh one without timing.
_stats = {"made": 0, "reused": 0}
_stats_lock = threading.Lock()
_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def stats() -> dict[str, int]:
    """How many thumbnails this process made (decoded an original) and reused from disk."""
    with _stats_lock:
        return dict(_stats)


def reset_stats() -> None:
    """Set the `stats()` counters back to zero."""
    with _stats_lock:
        for key in _stats:
            _stats[key] = 0


def _count(key: str) -> None:
    with _stats_lock:
        _stats[key] += 1


def content_hash(image_path: str | Path) -> str:
    """The image's SHA-256: its file name when that is one (images are stored by hash), else
    the hash of its bytes."""
    path = Path(image_path)
    if _SHA256.fullmatch(path.stem):
        return path.stem
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise gone(path) from None
    return digest.hexdigest()


def gone(path: str | Path) -> ImageError:
    """The error of an image file that is not there, said as every view says it."""
    return ImageError(f"image file {str(path)!r} does not exist: deleted, or the data folder was moved")


def thumbs_dir_for(image_path: str | Path) -> Path:
    """The thumbnail folder for an image: `<data>/thumbs` of the data folder it is stored in."""
    path = Path(image_path)
    # <data>/images/<aa>/<sha>.<ext>
    if len(path.parents) >= 3 and path.parent.parent.name == "images":
        return path.parent.parent.parent / "thumbs"

    return data_dir() / "thumbs"


def thumbnail_path(image_path: str | Path, size: int = DEFAULT_SIZE, *, cache_dir: str | Path | None = None) -> Path:
    """Where the thumbnail of this image at this size is (or will be) cached."""
    size = _check_size(size)
    digest = content_hash(image_path)
    root = Path(cache_dir) if cache_dir is not None else thumbs_dir_for(image_path)
    return root / str(size) / digest[:2] / f"{digest}.jpg"


def forget_thumbnails(image_path: str | Path) -> int:
    """Remove the cached thumbnails of this image at every size and format (the JPEGs of the
    views, the WebPs of the reports), and the folders that leaves empty (its file is being
    deleted); returns how many were removed. Safe when there are none."""
    digest = content_hash(image_path)
    removed = 0
    for cached in thumbs_dir_for(image_path).glob(f"*/{digest[:2]}/{digest}.*"):
        try:
            cached.unlink(missing_ok=True)
        except OSError:
            # held open by another program (Windows) or in a read-only folder: a cache file, found
            # only by the same bytes' hash, so it is left rather than stopping a delete midway
            continue
        remove_if_empty(cached.parent)
        removed += 1
    return removed


def thumbnail(image_path: str | Path, size: int = DEFAULT_SIZE, *, cache_dir: str | Path | None = None) -> Path:
    """The path of a JPEG thumbnail of `image_path` fitting in `size` x `size`, made on first use.

    Raises ImageError when the image is missing or cannot be decoded."""
    target = thumbnail_path(image_path, size, cache_dir=cache_dir)
    if is_fresh(target, image_path):
        _count("reused")
        return target
    with _lock_for(str(target)):
        if is_fresh(target, image_path):  # another thread made it while we waited
            _count("reused")
            return target
        data = _render(Path(image_path), _check_size(size))
        write_atomic(target, data)
        _count("made")
    return target


def thumbnail_bytes(image_path: str | Path, size: int = DEFAULT_SIZE, *, cache_dir: str | Path | None = None) -> bytes:
    """The JPEG bytes of the cached thumbnail (see `thumbnail`)."""
    return thumbnail(image_path, size, cache_dir=cache_dir).read_bytes()


def thumbnail_data_uri(image_path: str | Path, size: int = DEFAULT_SIZE, *, cache_dir: str | Path | None = None) -> str:
    """The cached thumbnail as a `data:image/jpeg;base64,...` URI, to embed in HTML."""
    data = thumbnail_bytes(image_path, size, cache_dir=cache_dir)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


Kind = Literal["jpeg", "data_uri", "pixels"]


@dataclass(frozen=True)
class Unreadable:
    """No thumbnail: the image is missing, gone from disk or not an image. Falsy; says why."""

    reason: str

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.reason

    @classmethod
    def of(cls, exc: BaseException, path: str | Path) -> "Unreadable":
        """The reason `exc` gives for the image at `path`, naming the file alone: the reason is
        drawn into a grid's tile and a report's picture, which are shared, and the full path
        showed the user's folders ('/Users/ana/clients/...') to whoever opened them."""
        text, name = str(exc), Path(path).name
        for full in sorted({str(path), os.path.abspath(path), str(Path(path).resolve())}, key=len, reverse=True):
            text = text.replace(full, name)  # inside repr quotes too: the name is what is left between them
        return cls(f"image unreadable: {text}")


def thumbnail_of(image_path: str | Path | None, size: int = DEFAULT_SIZE, kind: Kind = "jpeg") -> Any:
    """The thumbnail as a view needs it: "jpeg" (bytes), "data_uri" (str) or "pixels" (an RGB
    numpy array); an `Unreadable` where there is no image or it cannot be read."""
    if not image_path:
        return Unreadable("no image")
    try:
        if kind == "pixels":
            import numpy as np
            from PIL import Image

            with Image.open(thumbnail(image_path, size)) as img:
                return np.asarray(img.convert("RGB"))
        if kind == "data_uri":
            return thumbnail_data_uri(image_path, size)
        return thumbnail_bytes(image_path, size)
    except (ImageError, OSError) as exc:
        return Unreadable.of(exc, image_path)


def thumbnails_of(paths: Iterable[str | None], size: int = DEFAULT_SIZE, kind: Kind = "jpeg", *,
                  workers: int | None = None) -> dict[str, Any]:
    """path -> `thumbnail_of(path, size, kind)` for every distinct path, made in threads where
    missing (Pillow decodes without the GIL)."""
    unique = sorted({str(p) for p in paths if p})
    if len(unique) <= 1:
        return {p: thumbnail_of(p, size, kind) for p in unique}
    with cf.ThreadPoolExecutor(max_workers=workers or min(8, len(unique))) as pool:
        return dict(zip(unique, pool.map(lambda p: thumbnail_of(p, size, kind), unique)))


# -- internals --------------------------------------------------------------------------------------
def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 4096:
        raise ValueError(f"thumbnail size must be an integer from 8 to 4096 pixels, got {size!r}")
    return size


def is_fresh(cached: Path, original: str | Path) -> bool:
    """Whether a cached thumbnail (of any size or format) stands for its original: it is there,
    and the original was not written after it. A file damaged or replaced in place since its
    thumbnail was made is checked again (`read_checked`) when next drawn, instead of hiding behind
    a thumbnail of the bytes it held before. An original gone (deleted, or its data folder moved
    or unplugged) is not fresh either: the view then finds it missing and draws it so, where its
    old thumbnail showed a picture the user no longer has. A stat of each file, never a read."""
    try:
        made = cached.stat()
    except OSError:
        return False
    if made.st_size == 0:
        return False
    try:
        return Path(original).stat().st_mtime_ns <= made.st_mtime_ns
    except OSError:
        return False


def _lock_for(key: str) -> threading.Lock:
    with _key_locks_guard:
        lock = _key_locks.get(key)
        if lock is None:
            lock = _key_locks[key] = threading.Lock()
        return lock


def fitted(img: Image.Image, size: int) -> Image.Image:
    """`img` fitting in `size` x `size` (aspect kept), upright by its EXIF orientation, shrunk
    with Lanczos and laid on white (`on_white`): what a thumbnail or a preview is encoded from."""
    # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: a 1024x1536 image becomes a 256-px
    # thumbnail without ever holding the full-size pixels
    from PIL import Image, ImageOps

    img.draft("RGB", (size, size))
    img = ImageOps.exif_transpose(img)
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    return on_white(img)


def on_white(img: Image.Image) -> Image.Image:
    """`img` as RGB, any transparency laid over white (as a page shows it), for JPEG or WebP."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img if img.mode == "RGB" else img.convert("RGB")


def read_checked(path: Path) -> bytes:
    """The bytes of a stored image, checked against its name where that is their SHA-256 (the
    store names each image so): ImageError for a damaged file, which a view would otherwise draw
    as if it were the image that was paid for."""
    data = path.read_bytes()
    if _SHA256.fullmatch(path.stem) and hashlib.sha256(data).hexdigest() != path.stem:
        # the gist first: a grid's tile shows the start of the reason
        raise ImageError("damaged, not the bytes logged: set it aside (`qwenlab verify --set-aside` finds every such "
                         "file) and run the experiment again to fetch it (free, "
                         f"with getResponse, while the server keeps it): {str(path)!r}")
    return data


def _render(path: Path, size: int) -> bytes:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(read_checked(path))) as img:
            img = fitted(img, size)
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            return buf.getvalue()
    except FileNotFoundError:
        raise gone(path) from None
    except ImageError:  # damaged (read_checked): said as it is
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{str(path)!r} is not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"cannot make a thumbnail of {str(path)!r}: {type(exc).__name__}: {exc}") from None
