"""An httpx transport over plain sockets: HTTP/1.1 with keep-alive, written for this client.

    http = httpx.Client(transport=PlainTransport())

Why: a sweep task makes two exchanges (its POST, its image's GET), and on a machine whose cores are
busy the client's CPU is the sweep's speed. httpcore with h11 spent about three times the CPU of
the standard library's `http.client` on each exchange, and `http.client` (which parses headers
with the `email` package) about two and a half times what reading the same bytes off the socket
here costs: a POST and its image's GET to the emulator took 300-400 us of CPU through
`http.client`, 133 us on a bare socket.

What it speaks: HTTP/1.1 requests as httpx built them (its headers, Host and Content-Length
included), and answers framed by Content-Length, by `Transfer-Encoding: chunked`, or by the
server closing the connection; interim 1xx answers are skipped. Everything above the transport
is httpx's as before: responses (compressed bodies are decoded by httpx.Response), and the
exceptions the client sorts by (a connection problem raises httpx.ConnectError / ConnectTimeout
before anything is sent, ReadTimeout when no answer comes in time, RemoteProtocolError /
ReadError / WriteError when the connection fails on the way or the answer is not HTTP). Proxies
from the environment get httpx's own transports (the client mounts them); TLS uses httpx's
default context (certifi) with the host name checked.

Connections are kept per origin while idle (at most `max_idle` each) and reused only when the
server has not closed them meanwhile; a response that says `Connection: close`, is framed by the
connection's end, or is not read to its end, closes its connection.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from .direct import ON_SENT

__all__ = ["PlainTransport"]

_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024  # a status or header line longer than this is no answer of an API
_MAX_HEADERS = 100  # as http.client


class _Protocol(Exception):
    """The bytes read are not an HTTP/1.1 answer (or the connection ended inside one)."""


class _Connection:
    """A socket to one origin and the bytes read from it but not yet used."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(_CHUNK)
        if not data:
            raise _Protocol("the server closed the connection")
        self.buf += data

    def readline(self) -> bytes:
        """One line, its CRLF included."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self.buf[:end + 1])
                del self.buf[:end + 1]
                return line
            if len(self.buf) > _MAX_LINE:
                raise _Protocol(f"a line of the answer is longer than {_MAX_LINE} bytes")
            start = len(self.buf)
            self._fill()

    def read_some(self, most: int) -> bytes:
        """Up to `most` bytes (at least one), b"" once the server has closed the connection."""
        if self.buf:
            out = bytes(self.buf[:most])
            del self.buf[:most]
            return out
        return self.sock.recv(min(most, _CHUNK))

    def close(self) -> None:
        self.sock.close()


class PlainTransport(httpx.BaseTransport):
    """HTTP/1.1 on sockets, connections kept alive per origin (see the module's doc)."""

    def __init__(self, *, max_idle: int = 32) -> None:
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None  # httpx's default TLS context, made on the first https request

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
        with _raising(conn, request, httpx.WriteTimeout, httpx.WriteError):
            conn.sock.settimeout(timeouts.get("write"))
            # the request's head (its Authorization header: the API key) made where it is sent and
            # held by no variable of this frame, which lives until the answer comes: a traceback
            # that prints variables (a Ctrl-C while a sync task is generated, under --showlocals or
            # %xmode Verbose) printed the key in the header bytes
            conn.sock.sendall(_head(request) + request.read())
        on_sent = request.extensions.get(ON_SENT)
        if on_sent is not None:
            on_sent()
        with _raising(conn, request, httpx.ReadTimeout, httpx.RemoteProtocolError):
            conn.sock.settimeout(timeouts.get("read"))
            version, status, reason, headers = _read_head(conn)
            length, chunked, will_close = _framing(request.method, version, status, headers)
        return httpx.Response(
            status, headers=headers, stream=_Body(self, origin, conn, request, length, chunked, will_close),
            extensions={"http_version": version, "reason_phrase": reason}, request=request,
        )

    def _connection(self, origin: tuple[str, str, int], timeout: float | None, request: httpx.Request) -> _Connection:
        """An idle connection to `origin` the server has not closed, else a new one."""
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                conn = idle.pop()
                if _alive(conn):
                    return conn
                conn.close()
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._ssl is None:
                    self._ssl = httpx.create_ssl_context()
                sock = self._ssl.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:  # ssl.SSLError is an OSError: a certificate refused is a connect error
            sock.close()
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return _Connection(sock)

    def _release(self, origin: tuple[str, str, int], conn: _Connection) -> None:
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


def _head(request: httpx.Request) -> bytes:
    """The request line and headers of `request`, as sent."""
    return b"".join([f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1\r\n".encode("ascii"),
                     *[b"%s: %s\r\n" % item for item in request.headers.raw], b"\r\n"])


def _read_head(conn: _Connection) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    """The final answer's status line and headers (interim 1xx answers skipped)."""
    while True:
        try:
            line = conn.readline()
        except _Protocol:
            raise _Protocol("Server disconnected without sending a response.") from None
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise _Protocol(f"the answer does not start with an HTTP/1.x status line: {line[:80]!r}")
        status = int(parts[1])
        reason = parts[2].strip() if len(parts) > 2 else b""
        headers: list[tuple[bytes, bytes]] = []
        while True:
            line = conn.readline()
            if line in (b"\r\n", b"\n"):
                break
            if line[:1] in (b" ", b"\t") and headers:  # an obsolete folded line continues the last header
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip())
                continue
            name, sep, value = line.partition(b":")
            if not sep or not name.strip():
                raise _Protocol(f"the answer has a malformed header line: {line[:80]!r}")
            if len(headers) >= _MAX_HEADERS:
                raise _Protocol(f"the answer has more than {_MAX_HEADERS} headers")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue, 103 Early Hints): the final one follows
        return parts[0], status, reason, headers


def _framing(method: str, version: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool, bool]:
    """(body length or None, chunked, whether the connection closes after this answer)."""
    length: int | None = None
    chunked = False
    connection = b""
    for name, value in headers:
        key = name.lower()
        if key == b"transfer-encoding":
            chunked = chunked or b"chunked" in value.lower()
        elif key == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise _Protocol(f"the answer's Content-Length is not one number: {value[:40]!r}")
            length = int(value)
        elif key == b"connection":
            connection = value.lower()
    will_close = b"close" in connection or (version == b"HTTP/1.0" and b"keep-alive" not in connection)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return 0, False, will_close
    if chunked:
        return None, True, will_close
    if length is None:
        return None, False, True  # the body ends where the connection does
    return length, False, will_close


@contextmanager
def _raising(conn: _Connection, request: httpx.Request, timeout: type[httpx.TimeoutException],
             failure: type[httpx.TransportError]) -> Iterator[None]:
    """What the socket raises in the block (or an answer that is not HTTP) as httpx's `timeout`
    or `failure` (the exceptions the client sorts into "never sent", "maybe sent", "no answer in
    time"), the connection closed."""
    try:
        yield
    except TimeoutError as exc:
        conn.close()
        raise timeout(str(exc) or "timed out", request=request) from None
    except (_Protocol, OSError) as exc:
        conn.close()
        raise failure(str(exc) if isinstance(exc, _Protocol) else f"{type(exc).__name__}: {exc}", request=request) from None


def _alive(conn: _Connection) -> bool:
    """Whether an idle connection is still open: readable while idle means the server closed it
    (or sent what nobody asked for); either way it is not reused."""
    if conn.buf:
        return False
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class _Body(httpx.SyncByteStream):
    """A response's body read from its connection; the connection goes back to the pool once the
    body is read to its end (unless the answer closes it)."""

    def __init__(self, transport: PlainTransport, origin: tuple[str, str, int], conn: _Connection,
                 request: httpx.Request, length: int | None, chunked: bool, will_close: bool) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: _Connection | None = conn
        self._request = request
        self._left = length  # bytes still to read of a Content-Length body
        self._chunked = chunked
        self._will_close = will_close
        self._whole = length == 0

    def __iter__(self) -> Iterator[bytes]:
        conn = self._conn
        if conn is None or self._whole:
            return
        try:
            if self._chunked:
                yield from self._chunks(conn)
            elif self._left is None:
                yield from self._to_close(conn)
            else:
                yield from self._sized(conn)
        except TimeoutError as exc:
            self._drop()
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=self._request) from None
        except (_Protocol, OSError) as exc:
            self._drop()
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body ({exc})", request=self._request) from None

    def _sized(self, conn: _Connection) -> Iterator[bytes]:
        assert self._left is not None
        while self._left:
            chunk = conn.read_some(min(self._left, _CHUNK))
            if not chunk:
                raise _Protocol(f"{self._left} bytes missing")
            self._left -= len(chunk)
            yield chunk
        self._whole = True

    def _chunks(self, conn: _Connection) -> Iterator[bytes]:
        while True:
            line = conn.readline()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _Protocol(f"a chunk size is not hexadecimal: {line[:40]!r}") from None
            if size == 0:
                while conn.readline() not in (b"\r\n", b"\n"):
                    pass  # trailers: nothing here reads them
                self._whole = True
                return
            while size:
                chunk = conn.read_some(min(size, _CHUNK))
                if not chunk:
                    raise _Protocol(f"{size} bytes of a chunk missing")
                size -= len(chunk)
                yield chunk
            if conn.readline() not in (b"\r\n", b"\n"):
                raise _Protocol("a chunk does not end with CRLF")

    def _to_close(self, conn: _Connection) -> Iterator[bytes]:
        while True:
            chunk = conn.read_some(_CHUNK)
            if not chunk:
                self._whole = True
                return
            yield chunk

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._whole and not self._will_close:  # read to its end, and the server keeps the connection
            self._transport._release(self._origin, conn)
        else:
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
