"""The API's address and key as given: checked before anything is sent, shown without credentials.

`check_base_url` and `check_api_key` refuse what no request could succeed with (an address that
is not http(s), a key no HTTP header can carry), naming the variable to fix and never repeating
the key or a password in the address; `shown_url` and `authority` give an address without them;
`is_loopback` tells an address on this machine (where the offline emulator runs).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from ..emulator.loopback import is_loopback_host
from ..errors import AuthenticationError

__all__ = ["DEFAULT_BASE_URL", "check_base_url", "check_api_key", "shown_url", "authority", "is_loopback",
           "without_credentials"]

DEFAULT_BASE_URL = "https://api.runware.ai/v1"


def check_base_url(url: str) -> None:
    """Refuse an API address no request could go to (not http(s)://host..., a port that is no
    port, a URL httpx cannot read): every request would fail the same way, or raise httpx's own
    error from the first one. ValueError (bad input) naming RUNWARE_BASE_URL; credentials in the
    URL are not repeated, and text with no scheme is not shown at all (a key pasted into the
    wrong variable)."""
    problem = _address_problem(url)
    if problem is not None:
        raise ValueError(f"RUNWARE_BASE_URL (or base_url=): {problem}; give one like {DEFAULT_BASE_URL}, "
                         "or unset it to use Runware's")


def _address_problem(url: str) -> str | None:
    """What is wrong with `url` as the API's address, in words without its credentials; None if nothing."""
    try:
        scheme, host = _scheme_and_host(url)  # not the parts: a frame holding them showed the netloc's credentials
    except ValueError:  # urlsplit: an IPv6 host's '[' without its ']'
        return "what it holds is not an address it can read (an IPv6 host's '[' without its ']'?)"
    if scheme not in ("http", "https") or not host:
        return (f"{shown_url(url)!r} is not an http(s) address" if scheme and "://" in url
                else "what it holds is not an address (not shown: it may be a key set in the wrong variable)")
    bad_port = _port_problem(url)
    if bad_port is not None:
        # shown_url leaves a port it cannot read out: said as the host and the port's trouble
        return f"the port of {scheme}://{host} is not a number from 1 to 65535 ({bad_port})"
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:  # its messages name a character or a component, never the credentials
        return f"{shown_url(url)!r} is not a URL httpx can send to ({exc})"
    return None


def _port_problem(url: str) -> str | None:
    try:
        port = urlsplit(url).port
    except ValueError as exc:  # "Port could not be cast to integer value as 'abc'", "Port out of range 0-65535"
        return str(exc)
    return "port 0" if port == 0 else None


def _scheme_and_host(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname


def shown_url(url: str) -> str:
    """`url` without the user name and password it may carry."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{authority(url)}{parts.path}"


def without_credentials(url: str) -> str:
    """`url` without the user name and password it may carry (https://user:pw@host/v1 ->
    https://host/v1), its query kept: the address requests go to. The API takes its key in the
    Authorization header, so credentials written into the address were never sent on a POST
    (`Direct` passes no URL credentials on); held in the URL, they showed wherever the URL did:
    `repr(httpx.Request)` in a traceback's frames, httpx's log of each request, `client.base_url`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return str(url)  # a plain str: given a Secret, the address is no secret once without them
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def authority(url: str) -> str:
    """The host of `url` (and its port where one is given), without credentials: "api.runware.ai",
    "127.0.0.1:8787", "[::1]:8787"."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a port number: left out, as the credentials are
        port = None
    return f"{host}:{port}" if port else host


def is_loopback(url: str) -> bool:
    """Whether `url`'s host is this machine (localhost, 127.0.0.0/8, ::1): the emulator's own test."""
    return is_loopback_host(urlsplit(url).hostname)


def check_api_key(key: str) -> None:
    """Refuse a key no HTTP header can carry (not printable ASCII, or holding a space or a line
    break: a key pasted with an accent or a stray newline), before anything is logged or sent.
    The message never shows the key."""
    if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
        raise AuthenticationError(
            "the Runware API key (RUNWARE_API_KEY, or api_key=...) holds a character an API key cannot have "
            "(a letter outside ASCII, a space or a line break): copy the key again from Runware and set it anew")
