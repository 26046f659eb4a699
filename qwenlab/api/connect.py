"""Connecting: a client of the real API when there is a key, else of the offline emulator.

    from qwenlab.api.connect import connect
    client = connect()                 # RUNWARE_API_KEY set: the real API; else the offline emulator

`connect` starts the embedded emulator (once per process) when no key is given nor set, and says
so once on stderr; `connect_backend` tells which it would be without connecting, and
`check_connection` what it would refuse, before anything is logged or sent.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from ..emulator import start_embedded
from ..errors import AuthenticationError
from ..secrets import as_secret
from .address import DEFAULT_BASE_URL, check_api_key, check_base_url, is_loopback, shown_url
from .client import EMULATOR_KEY, RunwareClient

__all__ = ["connect", "connect_backend", "check_connection"]

_notice_lock = threading.Lock()
_notice_shown = False


def check_connection(api_key: str | None = None, base_url: str | None = None) -> None:
    """What `connect(api_key, base_url)` would refuse, or every request would: checked before
    anything is logged or sent. With a key: a key no header can carry, an address that is not
    http(s). Without one: an address that is not on loopback (only the emulator answers without
    a key). The message never shows the key, nor a password in the address."""
    api_key = key = as_secret(api_key or os.getenv("RUNWARE_API_KEY"))
    # a Secret (repr '***'), as the key is: the address may hold a user name and password
    base_url = url = as_secret(base_url or os.getenv("RUNWARE_BASE_URL"))
    if key:
        check_api_key(key)
        check_base_url(url or DEFAULT_BASE_URL)
        return
    if url:
        check_base_url(url)
        if not is_loopback(url):
            raise AuthenticationError(_no_key_for(url))


def _no_key_for(url: str) -> str:
    return (f"no Runware API key for {shown_url(url)} (RUNWARE_BASE_URL): set RUNWARE_API_KEY (or pass api_key=...), "
            "or unset RUNWARE_BASE_URL to use the offline emulator")


def connect(api_key: str | None = None, base_url: str | None = None, **kw: Any) -> RunwareClient:
    """A client of the real API when a key is given or `RUNWARE_API_KEY` is set; otherwise of the
    offline emulator (started on loopback, once per process), saying so once on stderr. A client
    logs nothing: `Lab` runs requests through one and logs each before and after it is sent."""
    api_key = key = as_secret(api_key or os.getenv("RUNWARE_API_KEY"))
    if key:
        return RunwareClient(key, as_secret(base_url), **kw)
    base_url = url = as_secret(base_url or os.getenv("RUNWARE_BASE_URL"))  # repr '***': it may hold credentials
    if url and not is_loopback(url):
        raise AuthenticationError(_no_key_for(url))
    if not url:

        emu = start_embedded()
        url = emu.url
        key = getattr(emu, "api_key", None) or EMULATOR_KEY
        kw.setdefault("backend", "emulator")
    else:
        key = EMULATOR_KEY
    _announce(shown_url(url))  # a notebook saves its stderr: no credentials written into the address
    kw.setdefault("is_emulator", True)
    return RunwareClient(key, url, **kw)


def connect_backend(api_key: str | None = None) -> str | None:
    """What `connect(api_key)` would talk to, found without connecting: "emulator" when no key is
    given nor set (connect() then uses the offline emulator and nothing else), None when there is
    a key (then the server says what it is: `RunwareClient.backend`)."""
    api_key = as_secret(api_key or os.getenv("RUNWARE_API_KEY"))
    return None if api_key else "emulator"


def _announce(url: str) -> None:
    global _notice_shown
    with _notice_lock:
        if _notice_shown:
            return
        _notice_shown = True
    print(
        f"qwenlab: RUNWARE_API_KEY is not set, so requests go to the offline emulator at {url}. "
        "Its images are synthetic: they show the request, not what Qwen-Image would draw.",
        file=sys.stderr,
        flush=True,
    )
