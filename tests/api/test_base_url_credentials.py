"""Credentials written into RUNWARE_BASE_URL (https://user:password@host/v1) are never sent (the
API key goes in the Authorization header) and never shown: in no request's repr, traceback frame,
attribute, message or notice. The address comes from RUNWARE_BASE_URL, as a user's would, so no
frame of the test's own holds it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from qwenlab.api import plain
from qwenlab.api.client import RunwareClient
from qwenlab.api.connect import check_connection, connect
from qwenlab.core.request import Request
from tests.api.test_key_in_tracebacks import KEY_BODY, _Exploding, _interrupt, _raised

URL_USER, URL_PASSWORD = "gateway-user-5d1f2a7c", "gw-pass-8e3b9c4d1a6f"

# every client here is made with them: the warning that they are not sent is tested once, below
pytestmark = pytest.mark.filterwarnings("ignore:the user name and password in the API address")


@pytest.mark.parametrize("where", ["Ctrl-C while the answer is awaited", "Ctrl-C while the request is sent",
                                   "a transport that raises", "Ctrl-C while the server is asked what it is"])
def test_no_traceback_of_a_request_shows_credentials_written_into_the_base_url(
        where: str, emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """RUNWARE_BASE_URL=http://user:password@host/v1: the client handed that address to httpx, and
    `repr(httpx.Request)` (every frame from the client down to the socket holds the request) shows
    a URL's user name and password whole, as `client.base_url` did in a notebook cell. Neither is
    ever sent (the key goes in the Authorization header), so the client keeps the address without
    them: no request, frame, attribute or message holds them."""
    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url.replace("://", f"://{URL_USER}:{URL_PASSWORD}@", 1))
    client, texts = _stopped_request(where, monkeypatch, tmp_path, lambda c: [
        repr(c), str(c.base_url), repr(c.base_url), repr(vars(c)), c.api_host])
    for text in texts:
        assert URL_USER not in text and URL_PASSWORD not in text, text
    assert client.api_host == emulator.url.split("//")[1].split("/")[0]


def _stopped_request(where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                     shown: Callable[[RunwareClient], list[str]]) -> tuple[RunwareClient, list[str]]:
    """A client of RUNWARE_BASE_URL whose request stops `where` (a Ctrl-C while it is sent or its
    answer awaited, a transport that raises, a Ctrl-C while the server is asked what it is): the
    client, and every text a user could see of it: `shown(client)`, then the traceback printed
    verbosely and with each frame's locals."""
    transport: httpx.BaseTransport | None = None
    if where == "a transport that raises":
        transport = _Exploding()
    elif where == "Ctrl-C while the request is sent":
        monkeypatch.setattr(socket.socket, "sendall", _interrupt)
    else:
        monkeypatch.setattr(plain, "_read_head", _interrupt)
    client = RunwareClient(images_dir=tmp_path, transport=transport, max_retries=0)
    with client:
        texts = shown(client)
        if where == "Ctrl-C while the server is asked what it is":
            call: Callable[[], Any] = lambda: client.backend  # noqa: E731 - a GET of the base URL
        else:
            call = lambda: client.generate(Request(prompt="a poster", width=256, height=256), save=False)  # noqa: E731
        kind, verbose, with_locals = _raised(call, catch=BaseException)
    assert kind is (RuntimeError if transport is not None else KeyboardInterrupt)
    assert "handle_request" in with_locals  # the frames down to the transport are there
    return client, [*texts, verbose, with_locals]


@pytest.mark.parametrize("where", ["client", "connect", "check_connection", "connect without a key"])
def test_no_traceback_of_a_refused_base_url_shows_its_credentials(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An address refused before anything is sent (not http(s); remote, with no key): the frames
    that read RUNWARE_BASE_URL held it whole, user name and password, as a plain str."""
    scheme = "https" if where == "connect without a key" else "ftp"
    monkeypatch.setenv("RUNWARE_BASE_URL", f"{scheme}://{URL_USER}:{URL_PASSWORD}@api.example.com/v1")
    if where == "connect without a key":
        monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    else:
        monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    calls = {"client": lambda: RunwareClient(), "connect": lambda: connect(), "check_connection": lambda: check_connection(),
             "connect without a key": lambda: connect()}
    kind, verbose, with_locals = _raised(calls[where])
    assert issubclass(kind, (ValueError, Exception))
    for text in (verbose, with_locals):
        assert "api.example.com" in text or "***" in text
        assert URL_USER not in text and URL_PASSWORD not in text, text


def test_the_emulator_notice_names_the_address_without_its_credentials(emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without a key, `connect()` says on stderr (a notebook's output, saved with it) where the
    emulator is: it printed RUNWARE_BASE_URL whole, user name and password."""
    import qwenlab.api.connect as connecting

    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url.replace("://", f"://{URL_USER}:{URL_PASSWORD}@", 1))
    monkeypatch.setattr(connecting, "_notice_shown", False)
    with connect() as client:
        assert client.ping()
    notice = capsys.readouterr().err
    assert emulator.url in notice and URL_USER not in notice and URL_PASSWORD not in notice, notice


def test_a_run_logs_and_shows_the_address_without_its_credentials(emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A run through such an address: every log record (httpx's "HTTP Request: GET <url>" among
    them, at INFO), every row and file of the log and what the experiment shows name the host
    alone."""
    import logging

    from qwenlab import Lab, Sweep

    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url.replace("://", f"://{URL_USER}:{URL_PASSWORD}@", 1))
    caplog.set_level(logging.DEBUG)
    lab = Lab(tmp_path)
    with pytest.warns(UserWarning, match=r"the user name and password in the API address \(http://127\.0\.0\.1:\d+/v1\) "
                                         r"are not sent: .*take them out of RUNWARE_BASE_URL") as said:
        exp = lab.run(Sweep(prompt="A poster", size="256x256"), name="through-a-gateway", progress=False)
    assert exp.counts()["done"] == 1 and emulator.requests
    shown = [r.getMessage() for r in caplog.records] + [repr(lab.client), repr(exp), exp.summary(), repr(vars(lab.client))]
    shown += [str(w.message) for w in said]  # said, not silent: a gateway wanting them answers 401, and why is unseen
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for text in (*shown, files.decode("latin-1")):
        assert URL_USER not in text and URL_PASSWORD not in text


URL_TOKEN = "gw-token-3c9d0e7f2b5a81"


@pytest.mark.parametrize("where", ["Ctrl-C while the answer is awaited", "Ctrl-C while the request is sent",
                                   "a transport that raises", "Ctrl-C while the server is asked what it is"])
def test_no_traceback_of_a_request_shows_a_token_in_the_base_url_s_query(
        where: str, emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """RUNWARE_BASE_URL=https://gateway/v1?token=...: a query is part of the address and is sent,
    but `repr(httpx.Request)` and `repr(httpx.URL)`, printed by the frames from the client down to
    the socket, showed it whole, and httpx logged it with each GET."""
    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    monkeypatch.setenv("RUNWARE_BASE_URL", f"{emulator.url}?token={URL_TOKEN}")
    _, texts = _stopped_request(where, monkeypatch, tmp_path, lambda c: [repr(c), repr(c._exchange)])
    for text in texts:
        assert URL_TOKEN not in text, text


def test_a_token_in_the_base_url_s_query_is_sent_and_logged_by_no_one(emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The query goes to the server with every POST (it is the address), and into no log record."""
    import logging

    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    monkeypatch.setenv("RUNWARE_BASE_URL", f"{emulator.url}?token={URL_TOKEN}")
    caplog.set_level(logging.DEBUG)
    with RunwareClient(images_dir=tmp_path, max_retries=0) as client:
        assert client.backend == "emulator"  # the backend question: a GET httpx logged, query and all
        assert client.generate(Request(prompt="a poster", width=256, height=256), save=False).ok
    assert [r.method for r in emulator.requests] == ["GET", "POST", "GET"]  # the question, the task, its image
    assert all(r.path.endswith(f"?token={URL_TOKEN}") for r in emulator.requests[:2])
    for record in caplog.records:
        assert URL_TOKEN not in record.getMessage()
