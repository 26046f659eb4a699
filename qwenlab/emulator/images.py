"""The emulator's image store: generated files served at /images/<uuid>.<ext> until their ttl
passes, and uploaded images kept as pixels for use as references.

Memory is bounded: beyond `max_bytes` the oldest entries are forgotten (then 404, unless the
emulator keeps a `TaskMemory`, which gives them back).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from PIL import Image

__all__ = ["StoredImage", "ImageStore", "MAX_UPLOAD_SIDE"]

MAX_UPLOAD_SIDE = 2048  # Runware caps stored images at 2048 px on the long side


@dataclass
class StoredImage:
    """One image the emulator holds: encoded bytes (generated) and/or pixels (uploaded)."""

    uuid: str
    data: bytes = b""
    mime: str = "image/jpeg"
    ext: str = "jpg"
    expires_at: float | None = None  # by the store's clock; None: never
    pixels: Image.Image | None = None
    task_uuid: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) + (self.pixels.width * self.pixels.height * 3 if self.pixels is not None else 0)


class ImageStore:
    """Thread-safe store of StoredImage by imageUUID."""

    def __init__(self, clock: Callable[[], float], max_bytes: int = 768 * 1024 * 1024,
                 recall: Callable[[str], StoredImage | None] | None = None) -> None:
        self._clock = clock
        self._recall = recall  # an image this store never held, from the emulator's memory
        self._lock = threading.Lock()
        self._items: OrderedDict[str, StoredImage] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def put(self, item: StoredImage) -> StoredImage:
        with self._lock:
            old = self._items.pop(item.uuid, None)
            if old is not None:
                self._bytes -= old.size
            self._items[item.uuid] = item
            self._bytes += item.size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.size
        return item

    def get(self, uuid: str) -> StoredImage | None:
        """The image, expired or not (see `expired`); None if unknown or forgotten. One this
        store never held (an earlier process's) comes from the emulator's memory, if it has one."""
        with self._lock:
            item = self._items.get(uuid)
        if item is None and self._recall is not None:
            item = self._recall(uuid)
            if item is not None:
                self.put(item)
        return item

    def expired(self, item: StoredImage) -> bool:
        return item.expires_at is not None and self._clock() >= item.expires_at

    def now(self) -> float:
        return self._clock()

    def pixels(self, uuid: str) -> Image.Image | None:
        """The image's pixels (decoding its bytes if need be), or None if unknown."""
        item = self.get(uuid)
        if item is None:
            return None
        if item.pixels is None and item.data:
            with Image.open(io.BytesIO(item.data)) as im:
                item.pixels = capped(im.convert("RGB"))
        return item.pixels

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def capped(image: Image.Image, side: int = MAX_UPLOAD_SIDE) -> Image.Image:
    """The image downscaled so its long side is at most `side` px (unchanged if smaller)."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
