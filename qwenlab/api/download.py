"""Getting an answer item's image: decoded from `imageBase64Data`/`imageDataURI`, or fetched from
its `imageURL` at once (it expires after `ttl`), streamed under a byte cap, retried on 5xx and
timeouts, never following a redirect to another host, never sending the API key; then checked
and saved by the ImageStore.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..errors import ImageError, redact
from .imagestore import MAX_IMAGE_BYTES, ImageInfo, ImageStore, decode_inline
from .results import GeneratedImage
from .retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["Downloader", "ImageFetcher"]

_MAX_REDIRECTS = 5


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class Downloader:
    """GETs image URLs over a shared httpx.Client (no Authorization header is ever added)."""

    def __init__(self, http: httpx.Client, policy: RetryPolicy, *, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self._http = http
        self._policy = policy
        self.max_bytes = max_bytes

    def fetch(self, url: str, cancel: threading.Event | None = None) -> bytes:
        """The bytes at `url`, or ImageError saying why not (expired, refused, too large, unreachable)."""
        scheme, host, _ = _origin(url)
        if scheme not in ("http", "https") or not host:
            raise ImageError(f"imageURL {redact(url)[:200]!r} is not an http(s) URL; refused")
        last: _Retryable | None = None
        for attempt in range(self._policy.max_retries + 1):
            if last is not None:
                self._policy.pause(self._policy.delay(attempt, last.retry_after), cancel)
            try:
                return self._get(url)
            except _Retryable as exc:
                last = exc
        raise ImageError(f"could not download {redact(url)[:200]} after {self._policy.max_retries + 1} attempts: {last}")

    def _get(self, url: str) -> bytes:
        first = _origin(url)
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                with self._http.stream("GET", url, follow_redirects=False) as resp:
                    if resp.is_redirect:
                        target = urljoin(url, resp.headers.get("location", ""))
                        if _origin(target) != first:
                            raise ImageError(
                                f"imageURL redirected to another host ({_origin(target)[1] or target!r}); refused"
                            )
                        url = target
                        continue
                    return self._body(resp, url)
            except httpx.TimeoutException as exc:
                raise _Retryable(f"timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__}: {redact(exc)})") from None
        raise ImageError(f"imageURL redirected more than {_MAX_REDIRECTS} times; refused")

    def _body(self, resp: httpx.Response, url: str) -> bytes:
        status = resp.status_code
        if status == 410:
            raise ImageError(f"imageURL has expired (HTTP 410): it was not fetched within its ttl; {redact(url)[:200]}")
        if is_retryable_status(status):
            raise _Retryable(f"HTTP {status}", parse_retry_after(resp.headers.get("retry-after")))
        if status != 200:
            raise ImageError(f"imageURL answered HTTP {status}; {redact(url)[:200]}")
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageError(f"image is {declared} bytes, over the {self.max_bytes} byte cap; refused")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > self.max_bytes:
                raise ImageError(f"image is over the {self.max_bytes} byte cap; download stopped and refused")
            chunks.append(chunk)
        return b"".join(chunks)


class _Retryable(Exception):
    """A failure worth another try (5xx, 408, 429, timeout, dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ImageFetcher:
    """Turns a finished answer item into a GeneratedImage with its bytes fetched, checked and saved."""

    def __init__(self, downloader: Downloader, store: ImageStore) -> None:
        self.downloader = downloader
        self.store = store

    def fetch(self, item: dict[str, Any], task_uuid: str, fmt: str, *, save: bool = True,
              cancel: threading.Event | None = None) -> GeneratedImage:
        """The image of `item`; a failure (expired, not an image, wrong format ...) lands in `.error`."""
        image = GeneratedImage.from_item(item, task_uuid)
        try:
            # inline payloads first: no network, nothing to expire
            if isinstance(item.get("imageBase64Data"), str):
                data = decode_inline(item["imageBase64Data"], max_bytes=self.store.max_bytes)
            elif isinstance(item.get("imageDataURI"), str):
                data = decode_inline(item["imageDataURI"], max_bytes=self.store.max_bytes)
            elif isinstance(item.get("imageURL"), str):
                data = self.downloader.fetch(item["imageURL"], cancel)
            else:
                raise ImageError("the answer names no imageURL, imageBase64Data or imageDataURI")
            info: ImageInfo
            if save:
                stored = self.store.save(data, fmt)
                image.path, info = stored.path, stored
            else:
                info = self.store.inspect(data, fmt)
                image.data = data
            image.sha256, image.format = info.sha256, info.format
            image.width, image.height, image.nbytes = info.width, info.height, info.nbytes
        except ImageError as exc:
            image.error = exc.for_task(task_uuid)
        return image
