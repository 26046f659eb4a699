"""RunwareClients over httpx.MockTransport for the API tests: each made with the test's images
folder and recorded sleeps (no real waiting), and all closed when the test ends."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from qwenlab.api.client import RunwareClient


@contextlib.contextmanager
def mock_clients(key: str, tmp_path: Path, sleeps: list[float]) -> Iterator[Callable[..., RunwareClient]]:
    """`make(handler, **kw)`: a client whose requests `handler` answers; closed on exit."""
    made: list[RunwareClient] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> RunwareClient:
        kw.setdefault("images_dir", tmp_path / "images")
        kw.setdefault("sleep", sleeps.append)
        client = RunwareClient(key, transport=httpx.MockTransport(handler), **kw)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            client.close()
