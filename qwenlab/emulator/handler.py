"""The emulator's HTTP request handler: one POST, GET or other verb on a loopback socket.

It owns what concerns the connection: reading the body, latency, and the faults that act on the
socket (429/5xx before anything is accepted, dropping the connection before or after acceptance,
stalling, a broken body, slow or expired downloads). Everything else is protocol.py.

The server hands each Handler a `HandlerContext` (the protocol, the shared state and the request
log) when it is constructed; the handler never reaches back into the Emulator.
"""

from __future__ import annotations

import html
import json
import logging
import re
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from ..core.values import count_of, format_usd
from ..secrets import redact
from .protocol import Protocol, parse_body, redact_body, timeout_answer
from .records import RequestLog, RequestRecord
from .state import EmulatorState
from .synthetic import MARK, NSFW_TRIGGER
from .wire import error_item

__all__ = ["HandlerContext", "Handler"]

log = logging.getLogger("qwenlab.emulator")
_IMAGE_PATH = re.compile(r"^/images/([0-9a-f-]{36})\.([a-z]+)$", re.IGNORECASE)
_MAX_BODY = 64 * 1024 * 1024


class _BadFraming(Exception):
    """A request whose body's length cannot be read."""


@dataclass(frozen=True)
class HandlerContext:
    """What a Handler serves from: the protocol, the state behind it, and the request log."""

    protocol: Protocol
    state: EmulatorState
    requests: RequestLog
    # the header by which a client knows it talks to the emulator (`RunwareClient.backend`); None
    # when the emulator stands in for Runware (`Emulator(unmarked=True)`)
    marker: str | None = "X-Qwenlab-Emulator: synthetic"


class Handler(BaseHTTPRequestHandler):
    """Serves one connection (keep-alive) from a HandlerContext.

    The server builds handlers with `functools.partial(Handler, context=...)`.
    """

    protocol_version = "HTTP/1.1"
    server_version = "qwenlab-emulator"
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: Any, *, context: HandlerContext) -> None:
        # Set before the base __init__, which serves the whole connection before returning.
        self.context = context
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug(redact(format % args))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The stdlib answers protocol errors with HTML; Runware's bodies are always JSON.
        self.close_connection = True
        self._json(code, {"errors": [error_item("badRequest", message or self.responses.get(code, ("error",))[0])]})

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        head = [f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
                *self._marker(), f"Date: {self.date_time_string()}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            head.append("Connection: close")
        # One write: headers and body together, so no Nagle/delayed-ACK pause between them.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        log.info("%s %s -> %s", getattr(self, "command", ""), urlsplit(getattr(self, "path", "")).path, status)

    def _marker(self) -> list[str]:
        return [self.context.marker] if self.context.marker else []

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes | None:
        """The request body; None when it is over _MAX_BODY. `_BadFraming` when its length
        cannot be read (a Content-Length or chunk size that is not a number): the client's
        error, answered 400 like Runware's gateway would, never an emulator failure (500)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024).split(b";")[0].strip()
                try:
                    size = int(line or b"0", 16)
                except ValueError:
                    raise _BadFraming(f"chunk size {line[:20]!r} is not a hexadecimal number") from None
                if size < 0:
                    raise _BadFraming(f"chunk size {line[:20]!r} is negative")
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:  # before reading it: a chunk may claim any size
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():  # not int(): it takes "-5", "+5" and "1_000", which no HTTP peer sends
            raise _BadFraming(f"Content-Length {raw[:20]!r} is not a number of bytes")
        length = int(raw)
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _wait_until(self, when: float) -> None:
        # Stop-aware sleep, no lock held: concurrent requests overlap their latencies.
        self.context.state.stopping.wait(max(0.0, when - time.monotonic()))

    # -- verbs ----------------------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # an emulator bug: answer 500 and keep it for tests to see
            self.context.state.note_internal_error(exc)
            log.error("emulator error: %s", redact(traceback.format_exc()))
            try:
                self._json(500, {"errors": [error_item("internalError", f"emulator failure: {type(exc).__name__}")]})
            except OSError:
                pass

    def _post(self) -> None:
        ctx = self.context
        try:
            body = self._read_body()
        except _BadFraming as exc:
            self.close_connection = True  # what follows on this connection cannot be framed either
            ctx.requests.add(RequestRecord("POST", self.path, None, {}, time.time(), 400))
            return self._json(400, {"errors": [error_item("invalidRequestBody", f"the request cannot be read: {exc}")]})
        t0 = time.monotonic()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "proxy-authorization")}
        try:
            parsed = redact_body(parse_body(body)) if body else None
        except ValueError:
            parsed = None
        path = urlsplit(self.path).path.rstrip("/")
        record = ctx.requests.add(RequestRecord("POST", self.path, parsed, headers, time.time()))
        if body is None:
            self.close_connection = True
            record.status = 413
            return self._json(413, {"errors": [error_item("payloadTooLarge", f"the body exceeds {_MAX_BODY} bytes")]})
        if path != "/v1":
            record.status = 404
            return self._json(404, {"errors": [error_item("notFound", f"no endpoint {path!r}; POST tasks to /v1")]})
        fault = record.fault = ctx.state.dice.next_post()
        faults = ctx.state.dice.faults
        if fault == "429":
            record.status = 429
            if faults.retry_after is None:  # Runware's SDKs read no Retry-After and its docs name none
                return self._json(429, {"errors": [error_item("tooManyRequests", "the queue is full (emulated); retry with backoff")]})
            retry = f"{faults.retry_after:g}"
            return self._json(429, {"errors": [error_item("tooManyRequests", f"the queue is full (emulated); retry after {retry} s")]},
                              headers={"Retry-After": retry})
        if fault in ("500", "502", "503"):
            record.status = int(fault)
            return self._json(int(fault), {"errors": [error_item("serverError", f"upstream trouble (emulated HTTP {fault}); retry with backoff")]})
        if fault == "drop_before":
            return self._drop()
        answer = ctx.protocol.answer(body, self.headers.get("Authorization"), fault=fault, t0=t0)
        cap = faults.sync_cap
        if fault == "504" or (cap > 0 and answer.ready_at - t0 > cap):
            # the tasks were taken and go on; the request is not held past the cap (or a gateway gives up)
            self._wait_until(t0 if fault == "504" else t0 + cap)
            self._deliver_later(answer)
            timeout = timeout_answer(body)
            record.status = timeout.status
            return self._json(timeout.status, timeout.payload)
        self._wait_until(answer.ready_at)
        for deliver in answer.on_ready:
            deliver()
        if fault == "drop_after":
            return self._drop()
        if fault == "stall":
            self._wait_until(time.monotonic() + faults.stall_seconds)
            return self._drop()
        if fault == "malformed":
            record.status = 200
            text = answer.body()
            return self._send(200, text[: max(1, len(text) // 2)] + b'{"trunc')
        record.status = answer.status
        self._json(answer.status, answer.payload, headers=answer.headers)

    def _deliver_later(self, answer: Any) -> None:
        """Run an answer's deliveries (webhooks, uploads) when its images are ready, in the background."""
        if not answer.on_ready:
            return
        stopping = self.context.state.stopping

        def deliver() -> None:
            if not stopping.wait(max(0.0, answer.ready_at - time.monotonic())):
                for job in answer.on_ready:
                    job()

        threading.Thread(target=deliver, name="qwenlab-emulator-deliver-later", daemon=True).start()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _get(self) -> None:
        ctx = self.context
        path = urlsplit(self.path).path
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "proxy-authorization")}
        record = ctx.requests.add(RequestRecord("GET", self.path, None, headers, time.time()))
        if path in ("/", "/index.html"):
            record.status = 200
            return self._send(200, _index_page(ctx.state).encode("utf-8"), "text/html; charset=utf-8")
        match = _IMAGE_PATH.match(path)
        store, dice = ctx.state.store, ctx.state.dice
        item = store.get(match.group(1)) if match else None
        if item is None or not item.data or (match and match.group(2).lower() != item.ext):
            record.status = 404
            return self._json(404, {"errors": [error_item("notFound", f"no image at {path}")]})
        if store.expired(item) or dice.chance("expire_download"):
            record.status = 410
            return self._json(410, {"errors": [error_item("imageExpired", "this image URL's ttl has passed; the image is gone")]})
        record.status = 200
        if dice.chance("slow_download"):
            record.fault = "slow_download"
            return self._trickle(item.data, item.mime, dice.faults.download_bytes_per_s)
        self._send(200, item.data, item.mime, {"Cache-Control": "private, max-age=60"})

    def _trickle(self, data: bytes, mime: str, rate: int) -> None:
        head = [f"{self.protocol_version} 200 OK", f"Content-Type: {mime}", f"Content-Length: {len(data)}",
                *self._marker()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        step = max(1, rate // 10)
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            if self.context.state.stopping.wait(0.1):
                self.close_connection = True
                return

    def do_PUT(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def do_HEAD(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def do_DELETE(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        try:
            self._read_body()
        except _BadFraming:
            self.close_connection = True
        self.context.requests.add(RequestRecord(self.command, self.path, None, {}, time.time(), 405))
        self._json(405, {"errors": [error_item("methodNotAllowed", "POST tasks to /v1; GET /images/<uuid>.<ext> for images")]},
                   headers={"Allow": "GET, POST"})


def _index_page(state: EmulatorState) -> str:
    # The base URL is the origin the server set on the state when it started.
    url, faults, ledger = f"{state.origin}/v1", state.dice.faults, state.ledger
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>qwenlab offline emulator</title></head>
<body style="font-family: sans-serif; max-width: 46em; margin: 2em auto">
<h1>qwenlab: offline emulator of Runware's API</h1>
<p><strong>This is not Runware.</strong> It is an offline emulator running on this machine. Every image it
returns is <strong>synthetic</strong>: drawn locally, marked "{html.escape(MARK)}", not made by Qwen-Image.
Nothing is sent anywhere and nothing is paid; the costs it reports are what Runware would charge.</p>
<p>Base URL: <code>{html.escape(url)}</code> &mdash; POST a JSON array of tasks (imageInference,
getResponse, imageUpload, ping) with <code>Authorization: Bearer &lt;any key&gt;</code>.</p>
<p>Faults: <code>{html.escape(faults.summary())}</code>. Safety test: with <code>safety.checkContent</code>
on, a prompt containing <code>{NSFW_TRIGGER}</code> is flagged <code>NSFWContent: true</code>.</p>
<p>Charged so far: {count_of(len(ledger), 'image')}, {format_usd(ledger.total())} (emulated).</p>
</body></html>"""
