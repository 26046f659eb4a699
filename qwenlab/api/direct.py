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

__all__ = ["Direct", "ON_SENT"]

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
               headers: httpx.Headers | None = None, on_sent: Callable[[], None] | None = None) -> Iterator[httpx.Response]:
        """Send one request (`headers`: from `headers()`, else the client's defaults); yield its
        response with the body unread (closed on exit). Raises httpx's exceptions, as
        `httpx.Client.stream` does. `on_sent`: called once the request has left (see ON_SENT)."""
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        extensions: dict[str, object] = {"timeout": self._timeout}
        if on_sent is not None:
            on_sent = extensions[ON_SENT] = _once(on_sent)
        request = httpx.Request(method, url, content=content, headers=headers if headers is not None else self._headers,
                                extensions=extensions)
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


def _once(call: Callable[[], None]) -> Callable[[], None]:
    """`call`, to be called at most once however often the result is."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            call()

    return once
