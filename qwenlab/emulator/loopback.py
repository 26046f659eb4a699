"""The emulator's only way out of its own process: loopback addresses, and nothing else.

Webhooks, upload endpoints and reference-image URLs are honoured only when they point at this
machine (127.0.0.0/8, ::1, localhost). Anything else is never connected to.
"""

from __future__ import annotations

import http.client
import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback_host", "is_loopback_url", "http_call"]


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (brackets allowed)."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is a loopback address."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname)
    except ValueError:
        return False


def http_call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> tuple[int, bytes]:
    """One plain HTTP request to a loopback URL, no proxies; returns (status, body).

    Raises ValueError for a non-loopback URL (the caller should have checked) and OSError /
    http.client.HTTPException when the other side fails.
    """
    if not is_loopback_url(url):
        raise ValueError(f"refusing to connect to {url!r}: the emulator only talks to loopback addresses")
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
