"""Images on disk, by content hash: checked (a JPEG by its markers, a PNG or WEBP with Pillow),
saved once, never named by the server.

    store = ImageStore()                       # qwenlab.paths.images_dir() by default
    saved = store.save(jpeg_bytes, expected_format="JPEG")
    saved.path                                 # <images>/ab/ab12...ef.jpg

Every image is refused unless it is a real JPEG, PNG or WEBP of the expected format, within the
byte cap and pixel limits (a decompression-bomb guard), and whole (a PNG or WEBP decodes
completely; a JPEG's markers run from SOI to EOI, `qwenlab.api.jpeg`). The file name
comes only from the SHA-256 of the bytes, so nothing in a response (an imageUUID such as
"../../x") can choose where a file goes. Files are written to a temporary name in the target
folder and renamed into place, so a crash never leaves half an image under a real name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import ImageError, ImageStoreError
from ..paths import images_dir, write_atomic
from .jpeg import jpeg_walk

__all__ = [
    "ImageStore",
    "ImageInfo",
    "StoredImage",
    "normalize_format",
    "decode_inline",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
]

MAX_IMAGE_BYTES = 50 * 1024 * 1024
# Qwen-Image makes at most 2048 x 2048 (4.2 MP); 16x that is still generous for any model
# while refusing the classic zip-bomb PNGs that decode to gigabytes.
MAX_IMAGE_PIXELS = 64 * 1024 * 1024
MAX_IMAGE_SIDE = 16384

_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_PILLOW_FORMATS = ["PNG", "WEBP"]  # a JPEG is checked without Pillow (qwenlab.api.jpeg)
_ALIASES = {"JPG": "JPEG", "JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,", re.IGNORECASE)


def normalize_format(fmt: str | None) -> str | None:
    """Runware's outputFormat (`JPG`, `PNG`, `WEBP`, any case) as Pillow's name (`JPEG`, ...)."""
    if fmt is None:
        return None
    name = _ALIASES.get(str(fmt).strip().upper())
    if name is None:
        raise ImageError(f"image format {fmt!r} is not supported; use one of JPG, PNG, WEBP")
    return name


def decode_inline(payload: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """Bytes of an `imageBase64Data` string or an `imageDataURI` (`data:image/png;base64,...`)."""
    if not isinstance(payload, str):
        raise ImageError(f"inline image must be a string, got {type(payload).__name__}")
    match = _DATA_URI.match(payload)
    body = payload[match.end():] if match else payload
    if payload.startswith("data:") and not match:
        raise ImageError("data URI is not base64-encoded (expected 'data:image/...;base64,...')")
    # 4 base64 characters carry 3 bytes: refuse before decoding anything oversized
    if len(body) * 3 // 4 > max_bytes + 3:
        raise ImageError(f"inline image is larger than the {max_bytes} byte cap; refused")
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"inline image is not valid base64 ({exc})") from None


@dataclass(frozen=True)
class ImageInfo:
    """What Pillow found in a set of bytes that passed every check."""

    sha256: str
    format: str  # "JPEG" | "PNG" | "WEBP"
    width: int
    height: int
    nbytes: int

    @property
    def extension(self) -> str:
        return _FORMATS[self.format]


@dataclass(frozen=True)
class StoredImage(ImageInfo):
    """An image saved under the store's folder."""

    path: Path = Path()


def _file(root: Path, sha256: str, extension: str) -> Path:
    """The store's layout: `<root>/<sha256[:2]>/<sha256>.<ext>`."""
    return root / sha256[:2] / f"{sha256}.{extension}"


class ImageStore:
    """A folder of images named by content hash: `<root>/<sha256[:2]>/<sha256>.<ext>`."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int = MAX_IMAGE_PIXELS,
        max_side: int = MAX_IMAGE_SIDE,
    ) -> None:
        self._root = Path(root) if root is not None else None
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_side = max_side

    @property
    def root(self) -> Path:
        """The folder (created on first use; `qwenlab.paths.images_dir()` unless given)."""
        if self._root is None:

            return images_dir()
        if not self.__dict__.get("_made"):  # once: write_atomic makes the folder again if it goes
            self._root.mkdir(parents=True, exist_ok=True)
            self._made = True
        return self._root

    @property
    def configured_root(self) -> Path | None:
        """The folder given to the constructor, or None for `images_dir()`; unlike `root`, creates nothing."""
        return self._root

    def __repr__(self) -> str:
        return f"ImageStore({str(self._root)!r})" if self._root else "ImageStore(qwenlab.paths.images_dir())"

    # -- checking -------------------------------------------------------------------------------
    def inspect(self, data: bytes, expected_format: str | None = None) -> ImageInfo:
        """Check that `data` is a whole, sane image of `expected_format` (JPG/JPEG, PNG, WEBP).

        Raises ImageError naming what is wrong: empty, over the byte cap, not an image, another
        format, too many pixels (decompression bomb), or truncated/corrupt.
        """
        expected = normalize_format(expected_format)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ImageError(f"image data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if not data:
            raise ImageError("image is empty (0 bytes)")
        if len(data) > self.max_bytes:
            raise ImageError(f"image has {len(data)} bytes, over the {self.max_bytes} byte cap; refused")
        if data[:3] == b"\xff\xd8\xff":
            # A JPEG is checked without Pillow: its markers are walked from SOI to EOI
            # (qwenlab.api.jpeg), which refuses every cut file, as a decode did, at a twentieth of
            # the CPU of even a 1/8-scale decode, and its first frame header gives the size (opening
            # it with Pillow cost as much again as the walk)
            if expected is not None and expected != "JPEG":
                self._check_header("JPEG", 1, 1, expected)  # the format is refused first, as for any image
            walk = jpeg_walk(data)
            if walk.problem:
                raise ImageError(f"image is corrupt or truncated: {walk.problem}")
            self._check_header("JPEG", walk.width, walk.height, expected)
            return ImageInfo(hashlib.sha256(data).hexdigest(), "JPEG", walk.width, walk.height, len(data))
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                # Pillow knows a JPEG by FF D8 FF, which the walk above took: here only PNG and WEBP
                with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as img:
                    fmt, (width, height) = img.format, img.size
                    self._check_header(fmt, width, height, expected)
                    img.verify()  # PNG: every chunk's CRC
                # verify() does not decode pixels and leaves the image unusable: decode anew to
                # catch truncation
                with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                    img.load()
            except ImageError:
                raise
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageError(f"image refused as a decompression bomb: {exc}") from None
            except UnidentifiedImageError:
                # "the bytes", not "the response's": a reference image to upload is checked here too
                raise ImageError(f"the bytes are not a JPEG, PNG or WEBP image (they start with {data[:12]!r})") from None
            except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
                raise ImageError(f"image is corrupt or truncated ({type(exc).__name__}: {exc})") from None
        return ImageInfo(hashlib.sha256(data).hexdigest(), str(fmt), int(width), int(height), len(data))

    def _check_header(self, fmt: str | None, width: int, height: int, expected: str | None) -> None:
        if fmt not in _FORMATS:
            raise ImageError(f"image format {fmt!r} is not JPEG, PNG or WEBP")
        if expected is not None and fmt != expected:
            raise ImageError(f"image is {fmt} but outputFormat asked for {expected}; refused")
        if width < 1 or height < 1 or width > self.max_side or height > self.max_side:
            raise ImageError(f"image size {width}x{height} is not sane (each side 1 to {self.max_side} px); refused")
        if width * height > self.max_pixels:
            raise ImageError(
                f"image size {width}x{height} ({width * height} pixels) is over the {self.max_pixels} pixel limit; "
                "refused as a possible decompression bomb"
            )

    # -- saving -------------------------------------------------------------------------------
    def path_for(self, sha256: str, fmt: str) -> Path:
        """Where an image with this hash and format lives (whether or not it exists yet)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise ImageError(f"not a SHA-256 hex digest: {sha256!r}")
        fmt_name = normalize_format(fmt)
        assert fmt_name is not None
        return _file(self.root, sha256, _FORMATS[fmt_name])

    def save(self, data: bytes, expected_format: str | None = None) -> StoredImage:
        """Check `data` (see `inspect`) and store it by content hash. Identical bytes are written once.
        The path returned is under the store's folder resolved (symbolic links followed)."""
        info = self.inspect(data, expected_format)
        # The name is the hex digest made here, so the file lies in a folder of the resolved root:
        # nothing to resolve per image (Path.resolve took an lstat per component).
        path = _file(self._resolved_root(self.root), info.sha256, info.extension)
        if not _holds(path, info):
            write_atomic(path, bytes(data), durable=True)  # a paid-for image must survive a crash
        return StoredImage(info.sha256, info.format, info.width, info.height, info.nbytes, path=path)

    def check_writable(self) -> None:
        """Raise ImageStoreError unless a file can be written in the store's folder (made if
        missing): asked before a sweep sends anything, so that no paid image finds it read-only."""
        root = self._root if self._root is not None else images_dir()
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".qwenlab-write-check-", dir=root)
            try:
                os.write(fd, b"qwenlab")
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise ImageStoreError(
                f"the image folder {root} cannot be written ({exc.strerror or exc}); nothing was sent. Make it "
                "writable, free space on its disk, or set QWENLAB_DATA_DIR to a folder that can be written") from None

    def _resolved_root(self, root: Path) -> Path:
        """`root` resolved, once per root (each save asks: the folder's path does not change)."""
        cached = self.__dict__.get("_resolved")
        if cached is None or cached[0] != root:
            cached = self._resolved = (root, root.resolve())
        return cached[1]

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return False
        return any(_file(self.root, sha256, ext).exists() for ext in _FORMATS.values())


def _holds(path: Path, info: ImageInfo) -> bool:
    """Whether the file at `path` already holds the image `info` describes. Its size is asked
    first; a file of the right size is hashed too (a store holds an image twice only when the
    server sent the same bytes again, or a lost one is fetched anew), so that a damaged file of
    the same size is written over instead of kept."""
    try:
        if os.stat(path).st_size != info.nbytes:
            return False
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest() == info.sha256
    except FileNotFoundError:
        return False
