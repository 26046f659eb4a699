"""The API key never shows in a traceback that prints variables: IPython's `%xmode Verbose`
(every frame's arguments and the variables of its line) and Python's own capture of locals (what
pytest --showlocals and loggers of locals print). The key comes from RUNWARE_API_KEY, as a user's
would, so no frame of the test's own holds it."""

from __future__ import annotations

import itertools
import socket
import sys
import traceback
from base64 import b64encode
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

import httpx
import pytest

from qwenlab import Lab, Sweep
from qwenlab import __file__ as qwenlab_init
from qwenlab.api import plain
from qwenlab.api.client import RunwareClient
from qwenlab.api.connect import check_connection, connect
from qwenlab.core.request import Request
from qwenlab.secrets import Secret, as_secret

KEY_BODY = "rw-live-7Hq2Zx9Lm4Pk8Vt3"


def _verbose(exc_info: Any) -> str:
    from IPython.core.ultratb import VerboseTB

    try:
        formatter = VerboseTB(theme_name="nocolor")  # IPython 9
    except TypeError:
        formatter = VerboseTB(color_scheme="NoColor")
    return formatter.text(*exc_info)


def _raised(call: Callable[[], Any], catch: type[BaseException] = Exception) -> tuple[type, str, str]:
    """The exception `call` raises, as `_formatted` gives it."""
    try:
        call()
    except catch:
        return _formatted(*sys.exc_info())  # type: ignore[arg-type]
    pytest.fail("nothing was raised")


def _formatted(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> tuple[type, str, str]:
    """The exception's type, its traceback from qwenlab's first frame on (the test's own code is
    no user's) as IPython's %xmode Verbose prints it, and as Python prints it with every frame's
    locals."""
    qwenlab = str(Path(qwenlab_init).parent)
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(qwenlab):
        tb = tb.tb_next
    assert tb is not None, "raised outside qwenlab"
    last = tb  # and up to the test's own frames that stand in for the socket or a transport
    while last.tb_next is not None and last.tb_next.tb_frame.f_code.co_filename != __file__:
        last = last.tb_next
    last.tb_next = None
    with_locals = "".join(traceback.TracebackException(kind, exc, tb, capture_locals=True).format())
    return kind, _verbose((kind, exc, tb)), with_locals


@pytest.mark.parametrize("where", ["client", "connect", "check_connection", "lab.run: a bad address",
                                   "lab.run: the key in a prompt"])
def test_no_traceback_shows_the_key(where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a stray line break (a .env file's) makes the key unusable, and qwenlab says so without it
    key = KEY_BODY + ("\n" if where in ("client", "connect", "check_connection") else "")
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    calls = {
        "client": lambda: RunwareClient(base_url="http://127.0.0.1:9"),
        "connect": lambda: connect(base_url="http://127.0.0.1:9"),
        "check_connection": lambda: check_connection(),
        "lab.run: a bad address": lambda: Lab(tmp_path, base_url="ftp://127.0.0.1:9").run(
            Sweep(prompt="a poster", axes={"promptExtend": [True, False]}), name="bad-address", progress=False),
        "lab.run: the key in a prompt": lambda: Lab(tmp_path).run(
            Sweep(prompt=f"a poster, token {KEY_BODY}", axes={"promptExtend": [True, False]}), name="leaky", progress=False),
    }
    kind, verbose, with_locals = _raised(calls[where])
    assert issubclass(kind, Exception)
    assert "***" in verbose + with_locals  # a frame held the key, and showed it as ***
    for text in (verbose, with_locals):
        assert KEY_BODY not in text and KEY_BODY[:8] not in text


class _Exploding(httpx.BaseTransport):
    """A transport that fails as no connection problem does (a proxy's or a user's transport)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("the transport broke")


def _interrupt(*args: Any) -> Any:
    raise KeyboardInterrupt  # Ctrl-C, where the request is blocked on the socket


@pytest.mark.parametrize("where", ["Ctrl-C while the request is built", "Ctrl-C while the answer is awaited",
                                   "Ctrl-C while the request is sent", "a transport that raises"])
def test_no_traceback_of_a_request_shows_the_key(where: str, emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    # every frame from the client down to the socket, while a request is on the wire: the
    # transport held the request's head, Authorization header and all, as a variable until the
    # answer came (a sync task is awaited for seconds to minutes, when a Ctrl-C is likely)
    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    transport: httpx.BaseTransport | None = None
    if where == "a transport that raises":
        transport = _Exploding()
    elif where == "Ctrl-C while the request is built":
        monkeypatch.setattr(httpx, "ByteStream", _interrupt)  # the body's stream, made after the headers
    elif where == "Ctrl-C while the answer is awaited":
        monkeypatch.setattr(plain, "_read_head", _interrupt)
    else:
        monkeypatch.setattr(socket.socket, "sendall", _interrupt)
    client = RunwareClient(base_url=emulator.url, images_dir=tmp_path, transport=transport, max_retries=0,
                           backend="emulator")
    with client:
        kind, verbose, with_locals = _raised(lambda: client.generate(Request(prompt="a poster", width=256, height=256),
                                                                     save=False), catch=BaseException)
    assert kind is (RuntimeError if transport is not None else KeyboardInterrupt)
    for text in (verbose, with_locals):
        assert ("_request" if "built" in where else "handle_request") in text  # the frames down to it are there
        assert KEY_BODY not in text and KEY_BODY[:8] not in text and b64encode(KEY_BODY.encode()).decode()[:12] not in text


def test_a_ctrl_c_anywhere_in_scrubbing_shows_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # `redact` and its kin scrub every message, answer item and report text, so a Ctrl-C lands in
    # them often; the key's forms they hold (their globals, their loop variables, the start of the
    # key they look for) showed under --showlocals and %xmode Verbose, for a text without any key
    import qwenlab.secrets as secrets

    monkeypatch.setenv("RUNWARE_API_KEY", KEY_BODY)
    text = "Task failed: Bearer token expired (rw-live) for https://api.runware.ai/v1"  # no key in it

    def scrub() -> None:
        secrets.redact(text), secrets.redact_json({"message": text, "items": [text]}), secrets.holds_secret(text)
        secrets.secret_places({"positivePrompt": text}), secrets.refuse_secret("note", text)

    mine = secrets.__file__
    landed = 0
    for n in itertools.count(1):
        # RUNWARE_API_KEY read, registered and its forms sorted again, each time
        for name, fresh in (("_ENV_KEY", [None]), ("_ORDERED", [0]), ("_KEYS", set()), ("_SECRETS", set())):
            monkeypatch.setattr(secrets, name, fresh)
        events = 0

        def interrupt_at_n(frame: Any, event: str, arg: Any) -> Any:
            nonlocal events
            # not in as_secret: the moment a key arrives, its argument is the key as it came
            if event == "line" and frame.f_code.co_filename == mine and frame.f_code.co_name != "as_secret":
                events += 1
                if events == n:
                    raise KeyboardInterrupt
            return interrupt_at_n

        sys.settrace(interrupt_at_n)
        try:
            scrub()
        except KeyboardInterrupt:
            sys.settrace(None)
            kind, verbose, with_locals = _formatted(*sys.exc_info())  # type: ignore[arg-type]
        else:
            break
        finally:
            sys.settrace(None)
        landed += 1
        for shown in (verbose, with_locals):
            assert KEY_BODY not in shown and KEY_BODY[:8] not in shown and KEY_BODY.lower() not in shown, (n, shown)
            assert b64encode(KEY_BODY.encode()).decode()[:12] not in shown, (n, shown)
    assert landed > 50  # every line of theirs that ran was tried


def test_a_secret_is_the_key_but_for_its_repr() -> None:
    s = as_secret(KEY_BODY)
    assert isinstance(s, Secret) and as_secret(s) is s and as_secret(None) is None
    assert s == KEY_BODY and f"Bearer {s}" == f"Bearer {KEY_BODY}" and str(s) == KEY_BODY and type(str(s)) is str
    assert repr(s) == "'***'" and KEY_BODY not in repr({"api_key": s}) and s.isascii()
