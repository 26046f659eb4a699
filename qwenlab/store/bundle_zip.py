"""A bundle's file: a zip of a manifest, a qwenlab log and the images, each checked as it is read.

What `qwenlab.store.bundle` writes and imports: `manifest.json` (format, version, the experiments,
every image's SHA-256), `qwenlab.db`, and `images/<aa>/<sha256>.<ext>`. A bundle comes from someone
else, so every member's place, bytes and log are checked before anything of it is written here.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import zipfile
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

from ..core.values import count_of
from ..errors import BundleError, NotABundleError, NotALogError
from ..secrets import redact
from ..version import __version__
from .log import Log
from .migrations.runner import MIGRATIONS_TABLE, unknown_migrations

__all__ = ["FORMAT", "FORMAT_VERSION", "DB_NAME", "MANIFEST_NAME", "WHAT_A_BUNDLE_IS", "image_arcname", "file_of", "sha256_of",
           "not_a_bundle", "check_bundle", "read_member", "extract_member", "source_log", "open_zip", "read_manifest"]

FORMAT = "qwenlab-bundle"
FORMAT_VERSION = 1
DB_NAME = "qwenlab.db"
MANIFEST_NAME = "manifest.json"
# the image store's names (`qwenlab.api.imagestore`): <sha256[:2]>/<sha256>.<ext>
_STORE_FOLDER = re.compile(r"[0-9a-f]{2}")
_STORE_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,5}")
# what a member may inflate to: a bundle comes from someone else, and a 3 MB zip whose log
# inflated to 2 GB of zeros was read whole into memory (4 GB), then written out, and imported. A
# member larger than MAX_PLAIN_BYTES may inflate MAX_RATIO times its stored bytes at most (a
# bundle's log deflates some 10-20 times; zeros, a thousand); an image or the manifest is never
# larger than these, a real one by far
MAX_PLAIN_BYTES = 64 * 2**20
MAX_RATIO = 200
MAX_MEMBER_BYTES = {MANIFEST_NAME: 256 * 2**20, "images/": 1024 * 2**20}


def image_arcname(path: str) -> str:
    """An image's place in a bundle and in a data folder: `images/<aa>/<sha>.<ext>`. Anything
    else (a '..', a name that is no content hash) raises BundleError: a bundle comes from someone
    else, and a row naming `x/../qwenlab.db` once had its file written over the receiver's log."""
    p = Path(str(path).replace("\\", "/"))
    folder, name = p.parent.name, p.name
    if not (_STORE_FOLDER.fullmatch(folder) and _STORE_NAME.fullmatch(name) and name.startswith(folder)):
        raise BundleError(f"image path {redact(str(path))!r} is not a place in an image store (images/<aa>/<sha256>.<ext>): "
                          "the bundle is damaged or was made to write elsewhere; nothing was imported")
    return "/".join(("images", folder, name))


def file_of(data_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else data_dir / p


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# what a bundle is, said wherever a file is refused for not being one
WHAT_A_BUNDLE_IS = (f"a qwenlab bundle is the .zip `qwenlab bundle NAME -o FILE.zip` writes ({MANIFEST_NAME}, "
                    f"{DB_NAME} and the images); give such a file")


def not_a_bundle(path: str | Path, why: str) -> NotABundleError:
    return NotABundleError(f"{path} is not a qwenlab bundle ({why}): {WHAT_A_BUNDLE_IS}")


def check_bundle(path: str | Path) -> dict[str, Any]:
    """The manifest of the bundle at `path`; NotABundleError (a BundleError) for a file that is
    not one (what `import_bundle` says first), for a caller to check before it makes a log to
    import into. Damage inside (a file's CRC, its log) is found by the import, before it writes a row."""
    with open_zip(Path(path)) as zf:
        manifest = read_manifest(zf)
        if DB_NAME not in zf.namelist():
            raise not_a_bundle(path, f"it holds no {DB_NAME}")
        return manifest


def read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A file of the bundle; BundleError naming it when it cannot be read whole (a CRC that does
    not match, bytes cut short) or would inflate beyond what such a file can be (`_check_size`);
    KeyError when the zip does not hold it."""
    _check_size(zf, zf.getinfo(name))
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _unreadable(zf, name, exc) from None


def extract_member(zf: zipfile.ZipFile, name: str, target: Path) -> None:
    """Write a file of the bundle to `target` without holding it in memory (the log, which may be
    large); the checks and errors of `read_member`."""
    _check_size(zf, zf.getinfo(name))
    try:
        with zf.open(name) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 2**20)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise _unreadable(zf, name, exc) from None


def _unreadable(zf: zipfile.ZipFile, name: str, exc: BaseException) -> BundleError:
    return BundleError(f"{zf.filename}: {name} cannot be read ({type(exc).__name__}: {exc}); the bundle is damaged, "
                       "nothing was imported: ask for it again")


def _check_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """BundleError, before a byte of it is inflated, for a member that says it inflates to more
    than such a file can be: an image or manifest over its limit, or anything over MAX_PLAIN_BYTES
    that would grow more than MAX_RATIO times (a zip bomb). zipfile never inflates a member
    beyond the size it declares, so the declared size is the most it can cost."""
    size, stored = info.file_size, max(info.compress_size, 1)
    limit = next((n for prefix, n in MAX_MEMBER_BYTES.items() if info.filename.startswith(prefix)), None)
    if limit is not None and size > limit:
        why = f"it would inflate to {size / 2**20:,.0f} MB, more than any such file ({limit / 2**20:,.0f} MB)"
    elif size > MAX_PLAIN_BYTES and size > MAX_RATIO * stored:
        why = (f"its {stored / 2**20:,.1f} MB would inflate to {size / 2**20:,.0f} MB, {size // stored:,} times as much: "
               "no bundle's file deflates so far (a zip bomb)")
    else:
        return
    raise BundleError(f"{zf.filename}: {info.filename} is refused: {why}; the bundle is damaged or made to exhaust "
                      "memory or disk, nothing was imported")


def source_log(bundle: Path, db_file: Path) -> Log:
    """The bundle's log, opened (and migrated) where it was extracted; BundleError naming the
    bundle when it is not a sound qwenlab log (its error once read as if this log were broken), or
    when a newer qwenlab wrote it."""
    _refuse_newer_log(bundle, db_file)
    try:
        source = Log(db_file, settle_runs=False)
    except (sqlite3.DatabaseError, NotALogError) as exc:
        raise BundleError(f"{bundle}: its {DB_NAME} is not a sound qwenlab log ({exc}); the bundle is damaged, nothing was "
                          "imported: ask for it again") from None
    try:
        verdict = source.integrity_check()
        # a row pointing at nothing (a task of no experiment in it, a rating of no image) would
        # fail the copy half-way, after the image files were written
        dangling = source.rows("PRAGMA foreign_key_check")
    except sqlite3.DatabaseError as exc:
        verdict, dangling = str(exc), []
    if verdict == "ok" and dangling:
        first = dangling[0]
        verdict = (f"{count_of(len(dangling), 'row')} {'points' if len(dangling) == 1 else 'point'} at nothing, "
                   f"the first in {first.get('table')} (rowid {first.get('rowid')})")
    if verdict != "ok":
        source.close()
        raise BundleError(f"{bundle}: its {DB_NAME} is damaged ({verdict[:200]}); nothing was imported: ask for it again")
    return source


def _refuse_newer_log(bundle: Path, db_file: Path) -> None:
    """BundleError when the bundle's log records migrations this qwenlab does not know. Its rows
    are copied column by column into this log's tables: a column or table the newer qwenlab
    added was dropped without a word (a warning said "update this qwenlab before ... changing
    it" of the bundle's log, while the import went on to change this one)."""
    try:
        with closing(sqlite3.connect(f"{db_file.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            done = {row[0] for row in conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}]")}
    except sqlite3.DatabaseError:
        return  # no migrations table, or no database at all: `source_log` names the damage
    unknown = unknown_migrations(done)
    if unknown:
        raise BundleError(f"{bundle} was written by a newer qwenlab: its log holds changes qwenlab {__version__} does "
                          f"not know ({', '.join(unknown)}), which an import would drop; nothing was imported. Update "
                          "this qwenlab (the checkout or package it runs from) and import it again")


# how every zip file begins: its first member's local header (a bundle's is qwenlab.db's)
_ZIP_START = b"PK\x03\x04"


def open_zip(path: Path) -> zipfile.ZipFile:
    """The bundle at `path` opened as a zip; NotABundleError for a file that is no zip at all,
    BundleError for a zip cut short (a download or copy that did not finish)."""
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except zipfile.BadZipFile:
        if _starts_as_zip(path):
            # a zip's index is its last bytes: a bundle whose download stopped short was told
            # "not a zip file ... give such a file" (exit 2), as if the wrong file had been given
            raise BundleError(f"{path} begins as a zip file but its end is missing: it was cut short (a download or "
                              "copy that did not finish, or a disk that filled); nothing was imported: ask for the "
                              "bundle again, or copy it again") from None
        raise not_a_bundle(path, "not a zip file") from None
    except OSError as exc:
        raise BundleError(f"{path} cannot be read as a bundle ({exc.strerror or exc})") from None


def _starts_as_zip(path: Path) -> bool:
    """Whether the file begins as a zip does (its first member's header)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(_ZIP_START)) == _ZIP_START
    except OSError:
        return False


def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(read_member(zf, MANIFEST_NAME))
    except (KeyError, ValueError):
        raise not_a_bundle(zf.filename or "the file", f"it has no readable {MANIFEST_NAME}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise not_a_bundle(zf.filename or "the file", f"its {MANIFEST_NAME} says format {found!r}, not {FORMAT!r}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, (int, type(None))):
        # a text or a list here gave "invalid literal for int() with base 10: 'abc'" and no word of the bundle
        raise not_a_bundle(zf.filename or "the file", f"its {MANIFEST_NAME} gives format_version {redact(repr(version))[:80]}, "
                                                     "not a whole number")
    if (version or 0) > FORMAT_VERSION:
        raise BundleError(f"{zf.filename} was written by a newer qwenlab ({redact(str(manifest.get('qwenlab')))[:40]}, bundle "
                          f"format {version}; this is qwenlab {__version__}, format {FORMAT_VERSION}); nothing was "
                          "imported. Update this qwenlab (the checkout or package it runs from) and import it again")
    return manifest
