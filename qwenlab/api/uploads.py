"""Reference images sent once: `imageUpload` of a file, bytes or PIL image, cached by SHA-256.

Runware stores an uploaded image and returns an imageUUID usable in `inputs.referenceImages`, so
a reference image used by every cell of a sweep travels once, not in every request.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import hashlib
import io
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from ..core.request import new_task_uuid
from ..core.validation import is_image_ref
from ..errors import ImageError, QwenlabError
from .error_answers import api_error_from
from .exchange import Exchange
from .imagestore import ImageStore, decode_inline

__all__ = ["Uploader", "is_local_image", "upload_bytes"]

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class Uploader:
    """Uploads images through an Exchange; each distinct image (by bytes) once per Uploader."""

    def __init__(self, exchange: Exchange, store: ImageStore) -> None:
        self._exchange = exchange
        self._store = store
        self._done: dict[str, cf.Future[str]] = {}
        self._lock = threading.Lock()

    def upload(self, image: Any) -> str:
        """The imageUUID of `image` (a path, bytes or PIL image), uploading it if not done before."""
        data, mime = upload_bytes(image, self._store)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            fut = self._done.get(digest)
            owner = fut is None
            if fut is None:
                fut = self._done[digest] = cf.Future()
        if not owner:
            return fut.result()  # another thread is uploading the same image: share its answer
        try:
            image_uuid = self._send(data, mime)
        except BaseException as exc:
            with self._lock:
                self._done.pop(digest, None)  # a failed upload is not cached
            fut.set_exception(exc)
            raise
        fut.set_result(image_uuid)
        return image_uuid

    def _send(self, data: bytes, mime: str) -> str:
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        for _ in range(2):
            task = {"taskType": "imageUpload", "taskUUID": new_task_uuid(), "image": uri}
            answer = self._exchange.post([task])
            items, errs = answer.for_task(task["taskUUID"], only_task=True)
            for item in items:
                if item.get("imageUUID"):
                    return str(item["imageUUID"])
            if any(e.get("code") == "conflictTaskUUID" for e in errs):
                continue  # an earlier attempt was stored; uploads cost nothing, so a fresh one is simplest
            if errs:
                raise api_error_from(None if answer.ok_status else answer.status, errs[0], errors=errs)
            if not answer.ok_status:
                raise answer.error()
            raise QwenlabError("imageUpload answered without an imageUUID; try again")
        raise QwenlabError("imageUpload kept answering conflictTaskUUID; try again")


def is_local_image(ref: Any) -> bool:
    """A reference image that must be uploaded first: bytes, a PIL image, or an existing local file."""
    if isinstance(ref, (bytes, bytearray, os.PathLike)):
        return True
    if type(ref).__module__.startswith("PIL.") and hasattr(ref, "save"):
        return True
    if isinstance(ref, str) and not is_image_ref(ref):
        try:
            return os.path.isfile(ref)
        except (OSError, ValueError):
            return False
    return False


def upload_bytes(image: Any, store: ImageStore) -> tuple[bytes, str]:
    """The bytes to upload and their MIME type: JPEG/PNG/WEBP as they are, a PIL image or any
    other format as PNG. Checked within the store's byte and pixel limits."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return _png(image), "image/png"
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        text = os.fspath(image)
        if isinstance(text, str) and text.startswith("data:"):
            data = decode_inline(text, max_bytes=store.max_bytes)
        else:
            path = Path(os.fsdecode(text)).expanduser()
            if not path.is_file():
                raise ImageError(f"reference image {str(path)!r} is not a file; give a file path, bytes or a PIL image")
            if path.stat().st_size > store.max_bytes:
                raise ImageError(f"reference image {str(path)!r} is over the {store.max_bytes} byte cap")
            data = path.read_bytes()
    else:
        raise ImageError(f"cannot upload a {type(image).__name__}; give a file path, bytes or a PIL image")
    try:
        info = store.inspect(data)
        return data, _MIME[info.format]
    except ImageError as first:
        # another format (GIF, BMP, TIFF ...): decode it within the same limits and send PNG
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(io.BytesIO(data)) as img:
                    if img.width * img.height > store.max_pixels:
                        raise first
                    img.load()
                    return _png(img), "image/png"
            except ImageError:
                raise
            except Exception:
                raise first from None


def _png(img: Any) -> bytes:
    if img.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
