"""PlainTransport (qwenlab/api/plain.py): the socket transport under every RunwareClient.

Real sockets on loopback: a small server that answers scripted bytes and counts connections.
"""

from __future__ import annotations

import gzip
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


@pytest.mark.parametrize("answer_bytes", [
    # chunked, with a chunk extension and a trailer
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\n{\"da\r\n7\r\nta\":[]}\r\n0\r\nX-T: 1\r\n\r\n",
    # an interim 100 Continue and a 103 Early Hints before the answer
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK,
    # a folded header line (obsolete, still read)
    b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 11\r\n\r\n{\"data\":[]}",
], ids=["chunked", "interim-answers", "folded-header"])
def test_answers_framed_every_way_http_allows_are_read_whole_and_the_connection_kept(answer_bytes: bytes) -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(answer_bytes)
        return True

    with raw_server(answer) as (url, connections), httpx.Client(transport=PlainTransport()) as http:
        for _ in range(3):
            assert http.post(url, content=b"[]").json() == {"data": []}
    assert len(connections) == 1


def test_an_answer_framed_by_the_connection_closing_is_read_to_the_end_and_not_reused() -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + b'{"data":[]}')
        conn.shutdown(socket.SHUT_WR)
        return False

    with raw_server(answer) as (url, connections), httpx.Client(transport=PlainTransport()) as http:
        for _ in range(2):
            assert http.post(url, content=b"[]").json() == {"data": []}
    assert len(connections) == 2


def test_a_gzipped_answer_is_decoded_and_connection_close_is_honoured() -> None:
    body = gzip.compress(b'{"data":[{"taskUUID":"x"}]}')

    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        return True  # the server would keep it: the header says otherwise, so the client closes it

    with raw_server(answer) as (url, connections), httpx.Client(transport=PlainTransport()) as http:
        for _ in range(2):
            assert http.post(url, content=b"[]").json() == {"data": [{"taskUUID": "x"}]}
    assert len(connections) == 2


@pytest.mark.parametrize("answer_bytes, words", [
    (b"", "disconnected without sending a response"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "hexadecimal"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "bytes of a chunk missing"),
], ids=["nothing", "not-http", "bad-header", "two-lengths", "bad-chunk-size", "chunk-cut"])
def test_what_is_not_a_whole_http_answer_raises_a_protocol_error_saying_why(answer_bytes: bytes, words: str) -> None:
    def answer(conn: socket.socket, n: int) -> bool:
        conn.sendall(answer_bytes)
        return False

    with raw_server(answer) as (url, _), httpx.Client(transport=PlainTransport()) as http:
        with pytest.raises(httpx.RemoteProtocolError, match=words):
            http.post(url, content=b"[]")


def test_a_request_goes_out_as_httpx_built_it() -> None:
    seen: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while not data.endswith(b"[1]"):
                data += conn.recv(65536)
            seen.append(data)
            conn.sendall(OK)

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1?x=1"
    with httpx.Client(transport=PlainTransport(), headers={"Authorization": "Bearer k"}) as http:
        assert http.post(url, content=b"[1]").status_code == 200
    listener.close()
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1?x=1 HTTP/1.1"
    assert {f"Host: 127.0.0.1:{port}".encode(), b"Content-Length: 3", b"Authorization: Bearer k"} <= set(lines)
    assert body == b"[1]"


@pytest.fixture
def tls_server(tmp_path):
    """A loopback HTTPS server with a self-signed certificate for 127.0.0.1 (made by openssl)."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    conn.sendall(OK)
            except (OSError, ssl.SSLError):
                continue  # the client refused the certificate

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/v1", cert
    listener.close()


def test_https_checks_the_certificate_and_speaks_through_tls(tls_server) -> None:
    import ssl

    url, cert = tls_server
    with httpx.Client(transport=PlainTransport()) as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(url)  # self-signed: refused by httpx's default (certifi) context, before anything is sent
    transport = PlainTransport()
    transport._ssl = ssl.create_default_context(cafile=str(cert))  # trust it: the exchange goes through TLS
    with httpx.Client(transport=transport) as http:
        assert http.get(url).json() == {"data": []}


def test_on_sent_is_called_once_the_request_is_written_before_the_answer_comes() -> None:
    from qwenlab.api.direct import Direct

    hook_called = threading.Event()
    seen_before_answering: list[bool] = []

    def answer(conn: socket.socket, n: int) -> bool:
        # the server has the whole request; it answers only once the client said it was sent
        seen_before_answering.append(hook_called.wait(2))
        conn.sendall(OK)
        return True

    calls: list[int] = []

    def on_sent() -> None:
        calls.append(1)
        hook_called.set()

    with raw_server(answer) as (url, _), httpx.Client(transport=PlainTransport()) as http:
        with Direct(http).stream("POST", url, content=b"[]", on_sent=on_sent) as resp:
            assert resp.read() == b'{"data":[]}'
    assert seen_before_answering == [True] and calls == [1]


def test_on_sent_with_a_transport_that_does_not_know_it_is_called_once_the_answer_came() -> None:
    from qwenlab.api.direct import Direct

    order: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        order.append("answered")
        return httpx.Response(200, json={"data": []})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        with Direct(http).stream("POST", "http://api.test/v1", content=b"[]", on_sent=lambda: order.append("sent")):
            pass
    assert order == ["answered", "sent"]
