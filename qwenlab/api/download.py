"""Getting an answer item's image: decoded from `imageBase64Data`/`imageDataURI`, or fetched from
its `imageURL` at once (it expires after `ttl`), streamed under a byte cap, retried on 5xx and
timeouts, never sending the API key; then checked and saved by the ImageStore.

Redirects: Runware does not document whether image URLs redirect to a CDN, so up to
`MAX_REDIRECTS` hops are followed, but only to the same origin or over HTTPS to a public host:
never to plain HTTP elsewhere, never to a private, loopback or link-local address (unless the API
itself is on loopback: the emulator, a test server).

A paid image is never thrown away for its format: one that is not the `outputFormat` asked for
is kept (a JPEG, PNG or WEBP that passes every check) and the mismatch is recorded on it.

Nor for a URL that is not there yet: a CDN may answer 403 or 404 for an object it was handed a
moment ago, so a fresh imageURL answering 403/404 is asked again a few times over a few seconds
(`NOT_YET_WAITS`) before the image is given up; the error then names its imageURL and imageUUID,
so that it can still be fetched by hand while the URL lives.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import httpx

from ..core.values import count_of
from ..errors import ImageError, ImageStoreError, StoreUnwritableError
from ..secrets import redact
from .direct import Direct
from .imagestore import MAX_IMAGE_BYTES, ImageInfo, ImageStore, decode_inline, normalize_format
from .results import GeneratedImage
from .retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["Downloader", "ImageFetcher", "MAX_REDIRECTS", "NOT_YET_STATUSES", "NOT_YET_WAITS"]

MAX_REDIRECTS = 3

# A fresh imageURL that answers 403 or 404 may not have reached the CDN yet: asked again after each
# of these waits (seconds; 3 more attempts over 5 s), through the retry policy's pause (so an
# injected `sleep` replaces the waiting), before the paid image is given up.
NOT_YET_STATUSES = frozenset({403, 404})
NOT_YET_WAITS: tuple[float, ...] = (1.0, 1.5, 2.5)
# How much of an imageURL an error quotes: enough for a signed CDN URL, so it can be fetched by hand.
_URL_SHOWN = 2000

Resolver = Callable[[str], list[str]]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def resolve_host(host: str) -> list[str]:
    """The addresses `host` resolves to ([] when it does not resolve here)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})
    except (OSError, UnicodeError):
        return []


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast


class Downloader:
    """GETs image URLs over a shared httpx.Client (no Authorization header is ever added).

    allow_private: follow redirects to private and loopback addresses (only when the API itself
    is on loopback). resolve: host -> addresses, to check where a redirect's host points (tests
    pass their own)."""

    def __init__(self, http: httpx.Client, policy: RetryPolicy, *, max_bytes: int = MAX_IMAGE_BYTES,
                 allow_private: bool = False, resolve: Resolver = resolve_host,
                 not_yet_waits: tuple[float, ...] = NOT_YET_WAITS) -> None:
        self._direct = Direct(http)
        self._policy = policy
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.resolve = resolve
        # the waits before asking a URL that answered 403/404 again (one more attempt after each)
        self.not_yet_waits = tuple(not_yet_waits)

    def fetch(self, url: str, cancel: threading.Event | None = None) -> bytes:
        """The bytes at `url`, or ImageError saying why not (expired, refused, too large, unreachable).

        408, 429, 5xx, timeouts and dropped connections are retried as the policy says (backoff,
        Retry-After); a 403 or 404 is asked again after each of `not_yet_waits` (a CDN may not
        have the object yet), each kind of retry counted on its own, so the total stays bounded."""
        scheme, host, _ = _origin(url)
        if scheme not in ("http", "https") or not host:
            raise ImageError(f"imageURL {redact(url)[:200]!r} is not an http(s) URL; refused")
        last: _Retryable | None = None
        retries = not_yet = 0  # retries spent on transient failures, and on 403/404 answers
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._get(url)
            except _NotYet as exc:
                if not_yet >= len(self.not_yet_waits):
                    waited = sum(self.not_yet_waits)
                    raise _transient(ImageError(
                        f"imageURL still answered HTTP {exc.status} after {count_of(attempts, 'attempt')} over about {waited:g} s "
                        f"(it may not have reached the CDN yet, or it is refused); the image may still be fetched "
                        f"by hand while its URL lives: {redact(url)[:_URL_SHOWN]}"
                    )) from None
                self._policy.pause(self.not_yet_waits[not_yet], cancel)
                not_yet += 1
            except _Retryable as exc:
                last = exc
                if retries >= self._policy.max_retries:
                    raise _transient(ImageError(
                        f"could not download {redact(url)[:_URL_SHOWN]} after {count_of(attempts, 'attempt')}: {last}")) from None
                retries += 1
                self._policy.pause(self._policy.delay(retries, last.retry_after), cancel)

    def _get(self, url: str) -> bytes:
        first = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                # no headers of the API's (the key above all): only the client's User-Agent goes along
                with self._direct.stream("GET", url) as resp:  # never follows a redirect: checked below
                    if resp.is_redirect:
                        target = urljoin(url, resp.headers.get("location", ""))
                        self._check_redirect(first, target)
                        url = target
                        continue
                    return self._body(resp, url)
            except httpx.TimeoutException as exc:
                raise _Retryable(f"timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__}: {redact(exc)})") from None
        raise ImageError(f"imageURL redirected more than {MAX_REDIRECTS} times; refused")

    def _check_redirect(self, first: tuple[str, str, int | None], target: str) -> None:
        """Raise ImageError unless a redirect to `target` may be followed (see the module's doc)."""
        scheme, host, _ = _origin(target)
        if (scheme, host, _origin(target)[2]) == first:
            return  # the same origin as the URL the API gave
        shown = host or redact(target)[:120]
        if scheme != "https":
            raise ImageError(f"imageURL redirected to another host over plain {scheme or 'an unknown scheme'} "
                             f"({shown!r}); refused: only HTTPS redirects to another host are followed")
        if not host:
            raise ImageError(f"imageURL redirected to {redact(target)[:120]!r}, which names no host; refused")
        if self.allow_private:
            return
        named_local = host == "localhost" or host.endswith(".localhost")
        addresses = [host] if _is_ip(host) else self.resolve(host)
        # a host that does not resolve here cannot be checked; connecting to it fails the same way
        if named_local or any(_is_private(a) for a in addresses):
            raise ImageError(f"imageURL redirected to another host at a private or loopback address ({shown!r}); refused")

    def _body(self, resp: httpx.Response, url: str) -> bytes:
        status = resp.status_code
        if status == 410:
            raise ImageError(f"imageURL has expired (HTTP 410): it was not fetched within its ttl; {redact(url)[:200]}")
        if is_retryable_status(status):
            raise _Retryable(f"HTTP {status}", parse_retry_after(resp.headers.get("retry-after")))
        if status in NOT_YET_STATUSES:
            raise _NotYet(status)
        if status != 200:
            raise ImageError(f"imageURL answered HTTP {status}; {redact(url)[:200]}")
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageError(f"image is {declared} bytes, over the {self.max_bytes} byte cap; refused")
        if declared and declared.isdigit() and resp.headers.get("content-encoding", "identity") == "identity":
            return resp.read()  # its length is known and under the cap: one read, no chunks to join
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > self.max_bytes:
                raise ImageError(f"image is over the {self.max_bytes} byte cap; download stopped and refused")
            chunks.append(chunk)
        return b"".join(chunks)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
        return True
    except ValueError:
        return False


class _Retryable(Exception):
    """A failure worth another try (5xx, 408, 429, timeout, dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _NotYet(Exception):
    """A 403 or 404 for an image URL: maybe not on the CDN yet, worth a few more tries."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class ImageFetcher:
    """Turns a finished answer item into a GeneratedImage with its bytes fetched, checked and saved."""

    def __init__(self, downloader: Downloader, store: ImageStore) -> None:
        self.downloader = downloader
        self.store = store

    def fetch(self, item: dict[str, Any], task_uuid: str, fmt: str, *, save: bool = True,
              cancel: threading.Event | None = None) -> GeneratedImage:
        """The image of `item`; a failure (expired, not an image, too large ...) lands in `.error`.

        An image in another format than `fmt` (outputFormat) is paid for all the same: it is kept,
        with `format_requested` set to what was asked (see `GeneratedImage.format_mismatch`)."""
        image, data = self.download(item, task_uuid, fmt, cancel)
        if data is not None:
            self.keep(image, data, save=save)
        return image

    def download(self, item: dict[str, Any], task_uuid: str, fmt: str,
                 cancel: threading.Event | None = None) -> tuple[GeneratedImage, bytes | None]:
        """The network half of `fetch`: the image of `item` and its bytes, unchecked (None, with
        `.error` set, when they could not be had). `keep` checks and saves them.

        Split so that a client can give its place on the wire to the next task while the bytes are
        checked and written (an imageURL expires: the bytes are taken at once, checked after)."""
        image = GeneratedImage.from_item(item, task_uuid)
        try:
            image.format_requested = normalize_format(fmt)
        except ImageError:  # a format the store does not know: kept as asked, compared as text
            image.format_requested = str(fmt).upper()
        try:
            # inline payloads first: no network, nothing to expire
            if isinstance(item.get("imageBase64Data"), str):
                return image, decode_inline(item["imageBase64Data"], max_bytes=self.store.max_bytes)
            if isinstance(item.get("imageDataURI"), str):
                return image, decode_inline(item["imageDataURI"], max_bytes=self.store.max_bytes)
            if isinstance(item.get("imageURL"), str):
                try:
                    return image, self.downloader.fetch(item["imageURL"], cancel)
                except ImageError as exc:
                    if not image.image_uuid:
                        raise
                    # the paid image's name goes with its URL: enough to fetch it by hand while the URL lives
                    named = ImageError(f"image {image.image_uuid}: {exc}")
                    raise (_transient(named) if getattr(exc, "transient", False) else named) from None
            raise ImageError("the answer names no imageURL, imageBase64Data or imageDataURI")
        except ImageError as exc:
            image.error = exc.for_task(image.task_uuid)
            return image, None

    def keep(self, image: GeneratedImage, data: bytes, *, save: bool = True) -> None:
        """The local half of `fetch`: check `data` (any JPEG, PNG or WEBP that passes every check:
        the format is compared after) and save it by hash (`save=False`: keep it in `.data`),
        filling in `image`; a failed check lands in `image.error`."""
        try:
            info: ImageInfo
            if save:
                stored = self.store.save(data)
                image.path, info = stored.path, stored
            else:
                info = self.store.inspect(data)
                image.data = data
            image.sha256, image.format = info.sha256, info.format
            image.width, image.height, image.nbytes = info.width, info.height, info.nbytes
        except ImageError as exc:
            image.error = exc.for_task(image.task_uuid)
        except OSError as exc:  # the disk, not the image: full, read-only, not ours
            image.error = store_error(exc, image).for_task(image.task_uuid)


# the errors of a disk that refuses every write, not just this file's: full, over quota, read-only
_DISK_WIDE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def store_error(exc: OSError, image: GeneratedImage) -> ImageStoreError:
    """What a failed write of `image` says: where, why, and what to do (it was paid for)."""
    where = f"{exc.filename}: " if exc.filename else ""
    kind = StoreUnwritableError if exc.errno in _DISK_WIDE else ImageStoreError
    return kind(
        f"image {image.image_uuid or '(no imageUUID)'} could not be saved: {where}{exc.strerror or exc}. "
        "Free space on that disk or make the folder writable; the image was paid for: run the sweep again, "
        "which asks for it with getResponse (free) and does not buy it again, or call client.recover(request)")


def _transient(error: ImageError) -> ImageError:
    """`error` marked `.transient`: the host failed to serve the image for now (5xx, 429, no
    answer, 403/404 through every wait), not the image itself: asked for again later, the paid
    image may still come, so it is not bought again on this failure alone."""
    error.transient = True  # type: ignore[attr-defined]
    return error
