"""PlainTransport (qwenlab/api/plain.py): the http.client transport under every RunwareClient.

Real sockets on loopback: a small server that answers scripted bytes and counts connections.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import httpx
import pytest

from qwenlab.api.client import RunwareClient
from qwenlab.api.plain import PlainTransport

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"data\":[]}"


@contextmanager
def raw_server(answer: Callable[[socket.socket, int], bool]) -> Iterator[tuple[str, list[int]]]:
    """A loopback server: for each request on each connection, `answer(conn, n)` writes the
    answer (n counts requests across connections) and says whether to keep the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    connections: list[int] = []
    served = [0]
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            buf = b""
            while not stop.is_set():
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                served[0] += 1
                if not answer(conn, served[0]):
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(1)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", connections
    finally:
        stop.set()
        listener.close()


def test_one_connection_is_kept_alive_for_many_exchanges() -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(OK)
        return True

    with raw_server(answer) as (url, connections), httpx.Client(transport=PlainTransport()) as http:
        for _ in range(20):
            assert http.post(url, content=b"[]").json() == {"data": []}
    assert len(connections) == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(OK)
        return False  # closes after each answer, without saying so

    with raw_server(answer) as (url, connections), httpx.Client(transport=PlainTransport()) as http:
        for _ in range(5):
            assert http.post(url, content=b"[]").status_code == 200
            # give the close time to arrive, as between two tasks of a sweep
            threading.Event().wait(0.05)
    assert len(connections) == 5


def test_a_body_cut_short_raises_instead_of_returning_part_of_it() -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
        return False

    with raw_server(answer) as (url, _), httpx.Client(transport=PlainTransport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(url)


def test_no_answer_in_time_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        threading.Event().wait(1.0)
        return False

    with raw_server(answer) as (url, _), httpx.Client(transport=PlainTransport(), timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post(url, content=b"[]")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{port.getsockname()[1]}/"
    port.close()
    with httpx.Client(transport=PlainTransport()) as http, pytest.raises(httpx.ConnectError):
        http.get(closed)


def test_a_sweep_client_sends_every_exchange_on_one_connection(tmp_path) -> None:
    """A RunwareClient's POSTs and image GETs to the emulator share one kept-alive connection."""
    from qwenlab.core.request import Request
    from qwenlab.emulator import Emulator

    with Emulator() as emu, RunwareClient("k", emu.url, images_dir=tmp_path) as client:
        transport = client._http._transport
        assert isinstance(transport, PlainTransport)
        seen = []
        for quality in (40, 50, 60):
            result = client.generate(Request(prompt="A poster that reads 'LUMIERE'", size="512x512",
                                             outputQuality=quality))
            assert result.images[0].path.exists()
            idle = [c for conns in transport._idle.values() for c in conns]
            assert len(idle) == 1
            seen.append(idle[0].sock)
        assert seen[0] is seen[1] is seen[2]  # the same socket for every POST and GET
