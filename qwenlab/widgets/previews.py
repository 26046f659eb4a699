"""The small copy of an image that a widget keeps in its saved state, the original coming only live.

    data, mime = preview(original_bytes)   # a WebP fitting PREVIEW_PX, or None if already that small

A notebook saved with its widget state (JupyterLab's "Save Widget State Automatically", VS Code,
Colab) holds every synced trait of every widget, binary buffers included, base64 in its
metadata. The compare viewer's images were its files as stored: several MB a view with real
posters, kept in the notebook for each viewer ever shown. The state holds this preview instead
(about 40 KB); the original is sent while the kernel runs, in a message no state keeps.
"""

from __future__ import annotations

import io

from PIL import Image

from ..errors import ImageError
from ..store.thumbnails import fitted

__all__ = ["preview", "PREVIEW_PX"]

PREVIEW_PX = 768  # as the report's embedded previews: a whole poster readable on a notebook's page
_QUALITY = 80


def preview(data: bytes) -> tuple[bytes, str] | None:
    """A WebP of `data` fitting PREVIEW_PX x PREVIEW_PX (aspect kept), and its MIME type; None
    when the image is no larger than that (it is its own preview). ImageError if it cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if max(img.size) <= PREVIEW_PX:
                return None
            buf = io.BytesIO()
            fitted(img, PREVIEW_PX).save(buf, "WEBP", quality=_QUALITY, method=0)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot make a preview of the image: {exc}") from None
    return buf.getvalue(), "image/webp"
