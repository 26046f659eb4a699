"""Turning an image reference (imageUUID, data URI, base64, URL) into pixels.

Loopback URLs are fetched (the emulator's own /images/ URLs straight from its store); any other
URL is never fetched: a deterministic placeholder drawn from the URL stands in for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import threading
from collections import OrderedDict
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from .images import ImageStore, capped
from .loopback import http_call, is_loopback_url
from .synthetic import Reference, placeholder

__all__ = ["UnusableReference", "resolve_reference"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(.*)$", re.IGNORECASE | re.DOTALL)
_OWN_IMAGE = re.compile(r"^/images/([0-9a-f-]{36})\.[a-z]+$", re.IGNORECASE)

# Decoding the same base64 reference for every cell of a sweep would be wasted work.
_DECODED: OrderedDict[str, Reference] = OrderedDict()
_DECODED_LOCK = threading.Lock()


class UnusableReference(ValueError):
    """A reference that cannot be turned into an image; the message says why and what to do."""


def resolve_reference(ref: str, store: ImageStore, own_port: int | None = None) -> Reference:
    """The image behind a reference string, as a `Reference` (RGB, long side <= 2048 px)."""
    if not isinstance(ref, str) or not ref:
        raise UnusableReference("is empty; give an imageUUID, a data URI, base64 data or a URL")
    if _UUID.match(ref):
        pixels = store.pixels(ref)
        if pixels is None:
            raise UnusableReference(f"imageUUID {ref} is unknown to this emulator; upload the image first (imageUpload)")
        return Reference(f"uuid:{ref}", pixels)
    if ref[:8].lower().startswith(("http://", "https://")):  # a scheme is case-insensitive (RFC 3986), as the client reads it
        return _from_url(ref, store, own_port)
    match = _DATA_URI.match(ref)
    payload = match.group(1) if match else ref
    key = "data:" + hashlib.sha256(payload.encode("ascii", "replace")).hexdigest()
    with _DECODED_LOCK:
        if key in _DECODED:
            _DECODED.move_to_end(key)
            return _DECODED[key]
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise UnusableReference("is not valid base64 image data (nor a UUID or URL)") from None
    reference = Reference(key, decode(raw))
    with _DECODED_LOCK:
        _DECODED[key] = reference
        while len(_DECODED) > 32:
            _DECODED.popitem(last=False)
    return reference


def decode(raw: bytes) -> Image.Image:
    """Image bytes -> RGB pixels capped at 2048 px; UnusableReference if they are not an image."""
    try:
        with Image.open(io.BytesIO(raw)) as im:
            return capped(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnusableReference(f"is not a readable image ({type(exc).__name__})") from None


def _from_url(url: str, store: ImageStore, own_port: int | None) -> Reference:
    if not is_loopback_url(url):
        return Reference(f"url:{url}", placeholder(url))
    parts = urlsplit(url)
    own = _OWN_IMAGE.match(parts.path)
    if own and parts.port == own_port:
        item = store.get(own.group(1))
        if item is None or store.expired(item):
            raise UnusableReference(f"{url} has expired or is unknown; upload the image (imageUpload) and use its imageUUID")
        return Reference(f"uuid:{item.uuid}", store.pixels(item.uuid))
    try:
        status, body = http_call("GET", url, timeout=10.0)
    except OSError as exc:
        raise UnusableReference(f"{url} could not be fetched ({type(exc).__name__})") from None
    if status != 200:
        raise UnusableReference(f"{url} answered HTTP {status}")
    return Reference("url:" + hashlib.sha256(body).hexdigest(), decode(body))
