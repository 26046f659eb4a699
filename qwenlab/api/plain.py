"""An httpx transport over the standard library's `http.client`: HTTP/1.1 with keep-alive.

    http = httpx.Client(transport=PlainTransport())

Why: a sweep task makes two exchanges (its POST, its image's GET), and httpcore with h11 spend
about three times the CPU of `http.client` on each (a ping to the emulator: 240 us against 83).
On a machine whose cores are busy that CPU is the sweep's speed. Everything above the transport
is httpx's as before: requests, responses, the exceptions (a connection problem raises
httpx.ConnectError / ConnectTimeout before anything is sent, ReadTimeout when no answer comes in
time, RemoteProtocolError / ReadError / WriteError when the connection fails on the way), proxies
from the environment (httpx mounts its own transports for them), TLS with httpx's default
context (certifi), and decoding of compressed bodies.

Connections are kept per origin while idle (at most `max_idle` each) and reused only when the
server has not closed them meanwhile; a response that says `Connection: close`, or is not read
to its end, closes its connection.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from contextlib import contextmanager
from collections.abc import Iterator

import httpx

__all__ = ["PlainTransport"]

_CHUNK = 64 * 1024


class PlainTransport(httpx.BaseTransport):
    """HTTP/1.1 through `http.client`, connections kept alive per origin (see the module's doc)."""

    def __init__(self, *, max_idle: int = 32) -> None:
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._ssl = None  # httpx's default TLS context, made on the first https request

    def __repr__(self) -> str:
        return "PlainTransport()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        conn = self._connection(origin, timeouts.get("connect"), request)
        conn.sock.settimeout(timeouts.get("read"))
        body = request.read()
        with _raising(conn, request, httpx.WriteTimeout, httpx.WriteError):
            conn.putrequest(request.method, url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                conn.putheader(name, value)
            conn.endheaders(body or None)
        with _raising(conn, request, httpx.ReadTimeout, httpx.RemoteProtocolError):
            resp = conn.getresponse()
        return httpx.Response(
            resp.status, headers=resp.getheaders(), stream=_Body(self, origin, conn, resp, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": resp.reason.encode("latin-1", "replace")},
            request=request,
        )

    def _connection(self, origin: tuple[str, str, int], timeout: float | None,
                    request: httpx.Request) -> http.client.HTTPConnection:
        """An idle connection to `origin` the server has not closed, else a new one."""
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                conn = idle.pop()
                if _alive(conn):
                    return conn
                conn.close()
        scheme, host, port = origin
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        with _raising(conn, request, httpx.ConnectTimeout, httpx.ConnectError):
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _release(self, origin: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


@contextmanager
def _raising(conn: http.client.HTTPConnection, request: httpx.Request, timeout: type[httpx.TimeoutException],
             failure: type[httpx.TransportError]) -> Iterator[None]:
    """What `http.client` or the socket raise in the block as httpx's `timeout` or `failure` (the
    exceptions the client sorts into "never sent", "maybe sent", "no answer in time"), the
    connection closed."""
    try:
        yield
    except TimeoutError as exc:
        conn.close()
        raise timeout(str(exc) or "timed out", request=request) from None
    except (http.client.HTTPException, OSError) as exc:
        conn.close()
        raise failure(f"{type(exc).__name__}: {exc}", request=request) from None


def _alive(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection is still open: readable while idle means the server closed it
    (or sent what nobody asked for); either way it is not reused."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class _Body(httpx.SyncByteStream):
    """A response's body read from its connection; the connection goes back to the pool once the
    body is read to its end (unless the server closes it)."""

    def __init__(self, transport: PlainTransport, origin: tuple[str, str, int], conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse, request: httpx.Request) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: http.client.HTTPConnection | None = conn
        self._resp = resp
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        resp = self._resp
        while True:
            try:
                chunk = resp.read1(_CHUNK) if not resp.isclosed() else b""
            except TimeoutError as exc:
                self._drop()
                raise httpx.ReadTimeout(str(exc) or "read timed out", request=self._request) from None
            except (http.client.HTTPException, OSError) as exc:
                self._drop()
                raise httpx.RemoteProtocolError(
                    f"peer closed connection without sending complete message body ({type(exc).__name__})",
                    request=self._request) from None
            if not chunk:
                if resp.length:  # http.client ends a cut Content-Length body quietly: it is not whole
                    self._drop()
                    raise httpx.RemoteProtocolError(
                        f"peer closed connection without sending complete message body ({resp.length} bytes missing)",
                        request=self._request)
                return
            yield chunk

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        resp = self._resp
        whole = resp.isclosed() or resp.length == 0
        if whole and not resp.will_close:  # read to its end, and the server keeps the connection
            resp.close()  # http.client sends nothing more on a connection until its response is closed
            self._transport._release(self._origin, conn)
        else:
            resp.close()
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._resp.close()
        if conn is not None:
            conn.close()
