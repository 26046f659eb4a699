"""Places on the wire: at most N tasks on the network at once across threads; a closed wire
sends nothing more; an error that would fail every task closes it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from qwenlab.api.client import RunwareClient
from qwenlab.api.wire import Wire, WireClosed
from qwenlab.core.request import Request
from qwenlab.errors import AuthenticationError


def test_at_most_places_holders_at_once_across_threads() -> None:
    wire, now, most, lock = Wire(2), [0], [0], threading.Lock()

    def hold() -> None:
        with wire.place():
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.03)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2


def test_a_closed_wire_refuses_its_next_holder_and_gives_the_place_back() -> None:
    wire = Wire(1)
    wire.close()
    with pytest.raises(WireClosed):
        with wire.place():
            pass
    assert wire._slots.acquire(blocking=False)  # the place was given back


def test_a_stop_on_error_closes_the_wire_and_others_do_not() -> None:
    wire = Wire(1, stop_on=(AuthenticationError,))
    wire.note_failures([None, ValueError("one task")])
    assert not wire.closed
    wire.note_failures([AuthenticationError("bad key")])
    assert wire.closed
    with pytest.raises(ValueError, match="places"):
        Wire(0)


def _request() -> Request:
    return Request(prompt="A skincare poster for 'LUMIERE'", size="256x256", promptExtend=False)


def test_generate_on_a_closed_wire_sends_nothing(emulator, tmp_path: Path) -> None:
    client = RunwareClient("sk-wire", emulator.url, images_dir=tmp_path / "images")
    wire = Wire(1)
    wire.close()
    with pytest.raises(WireClosed):
        client.generate(_request(), wire=wire)
    client.close()
    assert len(emulator.ledger) == 0 and not emulator.requests


def test_generate_on_a_wire_saves_the_checked_image(emulator, tmp_path: Path) -> None:
    client = RunwareClient("sk-wire", emulator.url, images_dir=tmp_path / "images")
    result = client.generate(_request(), wire=Wire(1))
    client.close()
    (image,) = result.images
    assert image.error is None and image.path is not None and image.path.read_bytes()[:2] == b"\xff\xd8"
    assert image.sha256 and image.width == 256
