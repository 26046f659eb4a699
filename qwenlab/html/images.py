"""The images of a report: WebP thumbnails at the size the page shows them, embedded once each,
and (with `full_size`) the originals in a folder beside the report.

    thumbs = webp_thumbnails(paths, 160)      # {path: "data:image/webp;base64,..."}, cached on disk
    links = originals_beside(paths, report)  # {path: "report_files/<sha256>.jpg"}

A WebP thumbnail is made from the original and cached in the shared thumbnail cache
(`store/thumbnails.py`'s folders) as `<hash>.webp`, so a second export decodes no original at all. WebP at the
shown size is about half the bytes of the JPEG: a 2,000-image report stays one file that opens.

The originals are linked, not embedded: 2,000 originals are about 700 MB, which no browser
opens as one HTML file; the folder `<report stem>_files/` travels with the report (zip both).
They are copies (not hard links, which an edit of the sent folder would have carried back into
the log's originals).
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import contextlib
import io
import os
import re
import shutil
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

from PIL import Image, ImageOps

from ..errors import ImageError
from ..paths import write_atomic
from ..store.thumbnails import content_hash, is_fresh, on_white, read_checked, thumbnail_path

_ORIGINAL_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,5}")  # an original beside a report: <sha256>.<ext>

__all__ = ["webp_thumbnails", "originals_beside", "files_dir", "WEBP_QUALITY"]

WEBP_QUALITY = 72  # thumbnails: small; the originals are one click away with --full-size


def webp_thumbnails(paths: Iterable[str | None], size: int, *, workers: int | None = None) -> dict[str, str]:
    """path -> a `data:image/webp` URI of its thumbnail fitting `size` x `size`, made in threads;
    an image that is gone or unreadable is left out (the page shows why instead)."""
    unique = sorted({str(p) for p in paths if p})
    if not unique:
        return {}
    with cf.ThreadPoolExecutor(max_workers=workers or min(4, (os.cpu_count() or 2) * 2, len(unique))) as pool:
        found = dict(zip(unique, pool.map(lambda p: _webp_uri(p, size), unique)))
    return {p: u for p, u in found.items() if u}


def _webp_uri(path: str, size: int) -> str | None:
    try:
        cached = thumbnail_path(path, size).with_suffix(".webp")
        if is_fresh(cached, path):
            data = cached.read_bytes()
        else:
            data = _render_webp(Path(path), size)
            write_atomic(cached, data)
    except (OSError, ImageError):  # gone, unreadable, not an image, or damaged (`read_checked`)
        return None
    return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")


def _render_webp(path: Path, size: int) -> bytes:
    """Straight from the original, not through the JPEG thumbnail: a JPEG decodes at 1/4 or 1/8
    scale (`draft`), and skipping the JPEG round trip halves the time of a first export."""
    with Image.open(io.BytesIO(read_checked(path))) as img:  # a damaged file is left out, as a missing one
        # ask the decoder for the fitted size, not the box: a 1024x1536 JPEG fitted in 160 px is
        # 107x160, which the 1/8 scale (128x192) covers; asking (160, 160) would decode at 1/4
        scale = size / max(img.size)
        img.draft("RGB", (max(1, round(img.width * scale)), max(1, round(img.height * scale))))
        img = ImageOps.exif_transpose(img)
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        # method 0: the fastest encoder; at thumbnail size it costs a few hundred bytes an image
        on_white(img).save(buf, "WEBP", quality=WEBP_QUALITY, method=0)
    return buf.getvalue()


def files_dir(report: str | Path) -> Path:
    """The folder beside a report that holds its originals: `report.html` -> `report_files/`,
    `report.htm` -> `report.htm_files/` (its own: both reports' folders were `report_files/`, and
    exporting one removed the other's originals)."""
    report = Path(report)
    return report.with_name(f"{report.stem if report.suffix == '.html' else report.name}_files")


def originals_beside(paths: Iterable[str | None], report: str | Path) -> dict[str, str]:
    """Put each original in `files_dir(report)` (a copy) and return path -> the
    relative link the report uses; a missing original is left out."""
    folder = files_dir(report)
    out: dict[str, str] = {}
    for p in sorted({str(p) for p in paths if p}):
        source = Path(p)
        if not source.is_file():
            continue
        name = f"{content_hash(source)}{source.suffix.lower()}"
        target = folder / name
        if target.exists() and os.path.samefile(source, target):
            target.unlink()  # a hard link an older export made: an edit of it would reach the log's own
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            # a copy, not a hard link: a file of this folder edited in place (its metadata stripped
            # before sending) changed the log's own original, and the next bundle shipped it
            shutil.copyfile(source, target)
        # a link, not a path: a report named "posters #2" must not have its links end at "#"
        out[p] = quote(f"{folder.name}/{name}")
    drop_stale_originals(report, {Path(link).name for link in out.values()})
    return out


def drop_stale_originals(report: str | Path, keep: frozenset[str] | set[str] = frozenset()) -> None:
    """Remove from the folder beside `report` the originals an earlier export put there that this
    one does not link (only files named as this module names them: `<hash>.<ext>`): the folder is
    sent with the report, and held another project's images after an export to the same path."""
    folder = files_dir(report)
    if not folder.is_dir():
        return
    for file in folder.iterdir():
        if file.name not in keep and _ORIGINAL_NAME.fullmatch(file.name) and file.is_file():
            file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: something else lives there, keep it
        if not keep:
            folder.rmdir()
