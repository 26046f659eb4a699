"""The emulator as a real HTTP server on loopback (stdlib ThreadingHTTPServer, daemon threads).

`Emulator` starts and stops the server and exposes what tests and users read (url, ledger,
faults, script, requests, deliveries, images). It builds the pieces bottom-up and hands them
down: an `EmulatorState` (state.py), the `Protocol` over it (protocol.py), and a `HandlerContext`
for every connection's `Handler` (handler.py). Nothing below imports this module.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sqlite3
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Callable

from ..errors import QwenlabError
from ..paths import data_dir
from ..secrets import register_secret
from .delivery import Delivery
from .faults import FaultDice, Faults
from .handler import Handler, HandlerContext
from .images import ImageStore
from .ledger import Ledger
from .loopback import is_loopback_host
from .memory import MEMORY_NAME, TaskMemory
from .protocol import Protocol
from .records import RequestLog, RequestRecord
from .state import EmulatorState

__all__ = ["Emulator", "RequestRecord", "start_embedded"]

log = logging.getLogger("qwenlab.emulator")


class Emulator:
    """An offline stand-in for Runware's API on a loopback port; its images are synthetic.

        with Emulator(faults=Faults(rate_429=0.1, seed=1)) as emu:
            httpx.post(emu.url, json=[...], headers={"Authorization": "Bearer any-key"})

    api_key None accepts any non-empty key; a string accepts only that key. `latency`, if given,
    overrides `faults.latency`, and `sync_cap` (seconds a sync request is held before HTTP 504
    `failedTaskTimeout` while its tasks go on; Runware's is about 120) `faults.sync_cap`. `clock` (epoch seconds) decides when image URLs expire, so tests
    can move time forward; `default_ttl` is the URL lifetime when a task gives no `ttl`.
    `unmarked=True` leaves out the `X-Qwenlab-Emulator` header by which clients know it, so that
    with a key it stands in for Runware (the paid path's tests); its images still say SYNTHETIC.
    `memory`, a file's path (or a `TaskMemory` opened on one), keeps its finished tasks and
    images there for their ttl, so that getResponse from a later process (another emulator
    opening the same file) still knows them, as Runware does (memory.py); without it, they go
    with the process.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 faults: Faults | None = None, latency: float | str | None = 0.0, *, sync_cap: float | None = None,
                 clock: Callable[[], float] = time.time, default_ttl: int = 3600, unmarked: bool = False,
                 memory: str | os.PathLike[str] | TaskMemory | None = None) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"host {host!r} is not a loopback address; the emulator serves only on 127.0.0.1, ::1 or localhost")
        register_secret(api_key)  # scrubbed from any text qwenlab's errors or logs carry
        faults = faults if faults is not None else Faults()
        if latency:
            faults = faults.replace(latency=latency)
        if sync_cap is not None:
            faults = faults.replace(sync_cap=sync_cap)
        self.host, self._requested_port = host, int(port)
        self.clock = clock
        self._dice = FaultDice(faults)
        # The clock is read through self so that tests can replace `emulator.clock` later.
        read_clock = lambda: self.clock()  # noqa: E731 - one clock for the store and the memory
        self._memory = (memory if isinstance(memory, TaskMemory) or memory is None
                        else TaskMemory(memory, read_clock))
        self._state = EmulatorState(dice=self._dice, clock=read_clock, default_ttl=default_ttl, memory=self._memory)
        self._protocol = Protocol(self._state, api_key=api_key)
        self._requests = RequestLog()
        self._unmarked = unmarked
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        """Start serving in a background daemon thread; returns self."""
        if self._server is not None:
            return self
        server_cls = _Server6 if ":" in self.host else _Server
        context = HandlerContext(protocol=self._protocol, state=self._state, requests=self._requests,
                                 **({"marker": None} if self._unmarked else {}))
        self._server = server_cls((self.host, self._requested_port), functools.partial(Handler, context=context))
        self._state.port = self.port
        self._state.origin = f"http://{self._netloc()}"
        self._state.stopping.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"qwenlab-emulator-{self.port}", daemon=True)
        self._thread.start()
        log.info("emulator serving at %s (synthetic images)", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; waits stop at once (stalled answers are cut short)."""
        server, self._server = self._server, None
        self._state.stopping.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        self._state.deliveries.close()

    def serve_forever(self) -> None:
        """Start (if needed) and block until Ctrl-C or `stop()`."""
        self.start()
        try:
            while self._server is not None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- what others read -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL a client posts to: http://127.0.0.1:PORT/v1."""
        return f"http://{self._netloc()}/v1"

    def _netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def ledger(self) -> Ledger:
        """Every image charged so far (emulated charges)."""
        return self._state.ledger

    @property
    def images(self) -> ImageStore:
        """The images the emulator holds: generated ones (served at their URLs) and uploads."""
        return self._state.store

    @property
    def faults(self) -> Faults:
        return self._dice.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._dice.faults = faults

    def script(self, words: list[str]) -> None:
        """The next POSTs meet these faults, in order ("ok" for none), then `faults` again.

        Words: 429, 5xx, 500, 502, 503, drop_before, drop_after, stall, malformed, task_error, ok.
        """
        self._dice.script(words)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far (a copy), oldest first."""
        return self._requests.records

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook/upload delivery attempted or skipped."""
        return self._state.deliveries.records

    def wait_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until queued deliveries have been attempted; False on timeout."""
        return self._state.deliveries.wait(timeout)

    @property
    def internal_errors(self) -> list[str]:
        """Exceptions inside the emulator (a bug if not empty)."""
        return self._state.internal_errors

    @property
    def api_key(self) -> str | None:
        return self._protocol.api_key

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Emulator({self.url!r}, {state}, faults={self.faults.summary()!r}, {self.ledger!r})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of concurrent clients must not hit a full listen backlog

    @property  # type: ignore[override]
    def allow_reuse_address(self) -> bool:  # read by server_bind
        # A restart may bind the port its predecessor's connections still hold (TIME_WAIT). Not
        # on Windows, where SO_REUSEADDR lets a second server bind a port another one listens on
        # (the stdlib's socket.create_server leaves it off there too): two `qwenlab emulator`
        # on 8787 both started, and requests went to either, instead of "try another --port".
        return os.name != "nt"

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that goes away mid-answer (killed, timed out, Ctrl-C) is normal here, not a
        # server fault: keep it out of stderr, where it would bury a notebook cell's output.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


_EMBEDDED: Emulator | None = None
_EMBEDDED_LOCK = threading.Lock()


def start_embedded() -> Emulator:
    """The process-wide emulator on 127.0.0.1 (random port, daemon thread): started once, reused.

    It keeps its finished tasks in `emulator.db` in the data folder (where the log is, when it
    starts), so that a later process (the next `qwenlab` command, a new kernel) can still fetch
    an image it made with getResponse, as from Runware. A data folder it cannot write leaves it
    without that memory, and says so."""
    global _EMBEDDED
    with _EMBEDDED_LOCK:
        if _EMBEDDED is None or not _EMBEDDED.running:
            _EMBEDDED = Emulator(host="127.0.0.1", port=0, memory=_embedded_memory()).start()
        return _EMBEDDED


def _embedded_memory() -> TaskMemory | None:
    try:
        return TaskMemory(data_dir() / MEMORY_NAME, time.time)
    except (OSError, ValueError, sqlite3.Error, QwenlabError) as exc:
        print(f"qwenlab: the offline emulator cannot keep its tasks in the data folder ({exc}); "
              "it keeps them only while this process runs", file=sys.stderr)
        return None
