"""Requests handed straight to an httpx.Client's transport: the same connection pool, proxies,
timeouts and response hooks, without the Client's per-request layers.

    direct = Direct(http)                      # http: the client's httpx.Client
    with direct.stream("POST", url, content=body, headers=headers) as response:
        for chunk in response.iter_bytes(): ...

Why: a sweep makes two exchanges per task (the POST, the image's GET), and httpx.Client spends
as much CPU around each one (merging URLs, headers and cookies, auth and redirect machinery,
cookie extraction) as its transport spends sending it: a third of a task's client CPU went to
httpx. Nothing those layers do is used here: the API authenticates with a header, redirects are
never followed by the Client (the downloader checks each hop itself), and Runware sets no cookies
(none are kept, so none can go along to an image host either).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import httpx

__all__ = ["Direct", "ON_SENT", "quiet_url"]

# A request extension: called with no arguments once the request's bytes are written, before the
# answer is awaited (PlainTransport calls it; with another transport `stream` calls it once the
# answer has come, which is later but never wrong). See qwenlab.api.wire.Wire.settle.
ON_SENT = "qwenlab.on_sent"


class Direct:
    """Sends requests through `http`'s transports (the one it would pick for each URL, proxies
    from the environment included), with its default headers and timeout, calling its `response`
    event hooks."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        # an httpx.Headers is copied as it is by each Request; a list would be normalized again
        self._headers = httpx.Headers(http.headers)
        self._timeout = http.timeout.as_dict()
        # (headers given, their raw items, netloc) -> those headers with Host put first, as
        # httpx.Request would put it: see `_request`
        self._with_host: tuple[httpx.Headers, _Unshown, bytes, httpx.Headers] | None = None

    def __repr__(self) -> str:
        return f"Direct({self._http!r})"

    def headers(self, extra: dict[str, str]) -> httpx.Headers:
        """The client's default headers with `extra` in place of any of the same name: build
        them once, pass them to `stream` for every request."""
        merged = httpx.Headers(self._http.headers)
        merged.update(extra)
        return merged

    @contextmanager
    def stream(self, method: str, url: str | httpx.URL, *, content: bytes | None = None,
               headers: httpx.Headers | None = None, on_sent: Callable[[], None] | None = None,
               timeout: httpx.Timeout | None = None) -> Iterator[httpx.Response]:
        """Send one request (`headers`: from `headers()`, else the client's defaults); yield its
        response with the body unread (closed on exit). Raises httpx's exceptions, as
        `httpx.Client.stream` does. `on_sent`: called once the request has left (see ON_SENT);
        `timeout`: in place of the client's. The request and its URL show neither a query nor
        credentials in their repr (`quiet_url`)."""
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        extensions: dict[str, object] = {"timeout": self._timeout if timeout is None else timeout.as_dict()}
        if on_sent is not None:
            on_sent = extensions[ON_SENT] = _once(on_sent)
        request = self._request(method, url, content, headers if headers is not None else self._headers, extensions)
        transport = self._http._transport_for_url(request.url)  # the Client's own choice (mounts, proxies)
        response = transport.handle_request(request)
        if on_sent is not None:
            on_sent()  # for a transport that does not know the extension: the answer has come, so it left
        try:
            response.request = request
            for hook in self._http.event_hooks["response"]:
                hook(response)
            yield response
        finally:
            response.close()

    def _request(self, method: str, url: str | httpx.URL, content: bytes | None, headers: httpx.Headers,
                 extensions: dict[str, object]) -> httpx.Request:
        """`httpx.Request(method, url, content=content, headers=headers, extensions=extensions)`,
        built for less: the hot path of a sweep (a POST and a GET per task). Given `content=`, httpx
        adds Host (first) and Content-Length (last) and then normalizes every header again, a
        quarter of what the client spent in httpx per task. Here the headers with Host first are
        kept from the last request to the same host (while `headers` hold the same items), the
        Content-Length is appended, and the body passed as the stream httpx would have made of it:
        the same request, header for header, its body read. Anything else (another method, an
        empty POST, headers that set Host, Content-Length or Transfer-Encoding) goes to httpx.Request."""
        url = quiet_url(url)
        if not ((method == "GET" and content is None) or (method == "POST" and type(content) is bytes and content)):
            return _quietly(_QuietRequest(method, url, content=content, headers=headers, extensions=extensions), url)
        # the headers' raw items (the Authorization header's bytes: the API key) held by no
        # variable and cached unshown: a traceback that prints variables shows this frame's
        cached = self._with_host
        if cached is not None and cached[0] is headers and cached[2] == url.netloc and cached[1] == headers.raw:
            with_host = cached[3]
        else:
            if "Host" in headers or "Content-Length" in headers or "Transfer-Encoding" in headers or not url.host:
                return _quietly(_QuietRequest(method, url, content=content, headers=headers, extensions=extensions), url)
            with_host = httpx.Headers([(b"Host", url.netloc), *headers.raw])
            self._with_host = (headers, _Unshown(headers.raw), url.netloc, with_host)
        sent = httpx.Headers(with_host)
        if content is not None:
            sent["Content-Length"] = str(len(content))
        request = _QuietRequest(method, url, headers=sent, stream=httpx.ByteStream(content or b""), extensions=extensions)
        request.read()  # as httpx.Request reads a body given as content=
        return _quietly(request, url)


class _QuietURL(httpx.URL):
    """An httpx.URL whose repr shows neither its query nor credentials (`quiet_url`)."""

    def __repr__(self) -> str:
        return f"URL({_shown(self)!r})"


class _QuietRequest(httpx.Request):
    """An httpx.Request whose repr shows neither its URL's query nor credentials (`quiet_url`)."""

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {_shown(self.url)!r})>"


def quiet_url(url: str | httpx.URL) -> httpx.URL:
    """`url` as an httpx.URL that is the same address, sent the same, whose repr shows no query
    ("?***") and no credentials. The API's address may carry a token in its query
    (RUNWARE_BASE_URL=https://gateway/v1?token=...), and a signed image URL its signature: httpx's
    reprs of a URL and a Request show them whole, and every frame from the client down to the
    socket (a Ctrl-C while an answer is awaited, a traceback that prints variables) holds both."""
    return url if isinstance(url, _QuietURL) else _QuietURL(url)


def _quietly(request: httpx.Request, url: httpx.URL) -> httpx.Request:
    """`request` holding `url` (quiet), where httpx.Request made a plain httpx.URL of it."""
    request.url = url
    return request


def _shown(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{host}{port}{url.path}{'?***' if url.query else ''}"


class _Unshown(list):  # type: ignore[type-arg]
    """A list whose repr shows how many items it holds, not them (headers' raw bytes)."""

    def __repr__(self) -> str:
        return f"<{len(self)} header items>"


def _once(call: Callable[[], None]) -> Callable[[], None]:
    """`call`, to be called at most once however often the result is."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            call()

    return once
