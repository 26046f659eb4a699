"""Places on the wire: at most N tasks on the network at once across threads; a closed wire
sends nothing more; an error that would fail every task closes it."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from qwenlab.api.client import RunwareClient
from qwenlab.api.wire import Wire, WireClosed
from qwenlab.core.request import Request
from qwenlab.errors import AuthenticationError, TransportError


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
    assert wire.free == 1  # the place was given back


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


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_task_waiting_for_a_place_raises_wire_closed_at_once_when_the_wire_closes() -> None:
    wire, raised = Wire(1), threading.Event()

    def wait_for_a_place() -> None:
        try:
            with wire.place():
                pass
        except WireClosed:
            raised.set()

    with wire.place():  # the only place is held throughout
        waiter = _in_thread(wait_for_a_place)
        time.sleep(0.05)
        assert not raised.is_set()
        wire.close()
        assert raised.wait(2)  # not once the holder gives its place back: now
    waiter.join(2)
    assert wire.free == 1


def test_settle_waits_for_a_holder_to_send_and_no_longer() -> None:
    wire = Wire(2)
    start = time.monotonic()
    wire.settle(timeout=2)  # nobody on the wire: at once
    assert time.monotonic() - start < 0.5

    with wire.place() as place:
        settled = threading.Event()
        bookkeeping = _in_thread(lambda: (wire.settle(timeout=5), settled.set()))
        time.sleep(0.05)
        assert not settled.is_set()  # a holder has not sent its request yet
        place.sent()
        assert settled.wait(2)  # sent: the bookkeeping goes on, long before its timeout
        bookkeeping.join(2)
        place.sent()  # a second call (the GET after the POST) changes nothing
        start = time.monotonic()
        wire.settle(timeout=2)
        assert time.monotonic() - start < 0.5


def test_settle_waits_for_a_task_about_to_take_a_free_place_and_gives_up_at_its_timeout() -> None:
    wire = Wire(1)
    release, took = threading.Event(), threading.Event()

    def next_task() -> None:
        with wire.place() as place:
            took.set()
            release.wait(5)
            place.sent()

    with wire.place() as place:
        place.sent()
        follower = _in_thread(next_task)  # waits for the place, which is taken
        time.sleep(0.05)
        start = time.monotonic()
        wire.settle(timeout=2)  # no place is free: the waiting task cannot go, nothing to wait for
        assert time.monotonic() - start < 0.5
    assert took.wait(2)  # the place was handed on; its new holder has not sent yet
    start = time.monotonic()
    wire.settle(timeout=0.2)
    assert 0.15 < time.monotonic() - start < 2  # waited, but only as long as it was told
    release.set()
    follower.join(2)
    start = time.monotonic()
    wire.settle(timeout=2)  # the place was given back without anyone left to send
    assert time.monotonic() - start < 0.5


def test_a_place_given_back_unsent_and_a_closed_wire_hold_no_bookkeeping() -> None:
    wire = Wire(1)
    with wire.place():
        pass  # never sent (the task failed before its POST)
    start = time.monotonic()
    wire.settle(timeout=2)
    assert time.monotonic() - start < 0.5
    with wire.place():
        wire.close()
        start = time.monotonic()
        wire.settle(timeout=2)  # closed: nothing more goes out, nothing to wait for
        assert time.monotonic() - start < 0.5


def test_a_task_s_image_is_saved_after_the_next_task_s_post_has_left(emulator, tmp_path: Path, monkeypatch) -> None:
    """At one place on the wire, the next task's POST goes out before the last task's image is
    checked and written (that work then runs while the server draws)."""
    import qwenlab.api.wire as wire_module
    from qwenlab.api.imagestore import ImageStore

    monkeypatch.setattr(wire_module, "SETTLE_TIMEOUT_S", 10.0)  # the order, not the machine's speed, is under test
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    sent, save = wire_module.Place.sent, ImageStore.save

    def record(what: str) -> None:
        with lock:
            events.append((what, threading.current_thread().name))

    def recording_sent(self) -> None:
        if self._unsent:
            record("sent")
        sent(self)

    def recording_save(self, data, *args, **kwargs):
        record("save")
        return save(self, data, *args, **kwargs)

    monkeypatch.setattr(wire_module.Place, "sent", recording_sent)
    monkeypatch.setattr(ImageStore, "save", recording_save)
    client = RunwareClient("sk-wire", emulator.url, images_dir=tmp_path / "images")
    wire = Wire(1)
    first_on = threading.Event()
    original_place = wire.place

    @contextmanager
    def place():  # the first task takes its place, and goes on once the second waits for one
        with original_place() as held:
            if not first_on.is_set():
                first_on.set()
                deadline = time.monotonic() + 5
                while not wire._waiting and time.monotonic() < deadline:
                    time.sleep(0.001)
            yield held

    wire.place = place  # type: ignore[method-assign]
    first = threading.Thread(target=lambda: client.generate(_request(), wire=wire), name="first")
    first.start()
    first_on.wait(5)
    second = threading.Thread(target=lambda: client.generate(_request(), wire=wire), name="second")
    second.start()
    first.join(10)
    second.join(10)
    client.close()
    # The second task's POST leaves before the first's image is written. Which of the two saves
    # runs first after that is the scheduler's choice: the second's answer can come back and be
    # written while the first thread is still waking on a loaded machine.
    assert sorted(events) == [("save", "first"), ("save", "second"), ("sent", "first"), ("sent", "second")]
    assert events[:2] == [("sent", "first"), ("sent", "second")]


def _failing_client(tmp_path: Path, wire: Wire, answer, *, backoff_base: float) -> tuple[RunwareClient, list[int]]:
    """A client whose every POST is `answer(request)`; the wire is closed during the first (as the
    run's outage watch or Ctrl-C closes it while a task is on the wire)."""
    posts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(1)
        wire.close()
        return answer(request)

    client = RunwareClient("sk-wire", "http://runware.test/v1", images_dir=tmp_path / "images", max_retries=5,
                           backoff_base=backoff_base, transport=httpx.MockTransport(handler))
    return client, posts


def test_a_task_on_the_wire_makes_no_more_retries_once_it_closes(tmp_path: Path) -> None:
    # a server that never answers 2xx: before, a task already on the wire spent all its retries
    # (minutes with Runware's backoff) after the run had stopped; now it ends after the attempt
    # under way, in doubt, since a 5xx may come from a gateway after the API took the task
    wire = Wire(1)
    client, posts = _failing_client(tmp_path, wire, lambda r: httpx.Response(503, json={"errors": []}), backoff_base=0.01)
    with pytest.raises(TransportError) as info:
        client.generate(_request(), wire=wire)
    client.close()
    assert len(posts) == 1 and info.value.attempts == 1
    assert info.value.sent is True  # in doubt: the next run asks the server before sending it again


def test_a_task_that_never_reached_the_server_stops_retrying_unsent(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    wire = Wire(1)
    client, posts = _failing_client(tmp_path, wire, refuse, backoff_base=0.01)
    with pytest.raises(TransportError) as info:
        client.generate(_request(), wire=wire)
    client.close()
    assert len(posts) == 1 and info.value.attempts == 1 and info.value.sent is False


def test_closing_the_wire_ends_a_retry_s_backoff(tmp_path: Path) -> None:
    # the first attempt fails; the backoff before the next (up to 30 s here) ends when the wire
    # closes, and nothing more is sent
    wire, posts, done = Wire(1), [], threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(1)
        return httpx.Response(503, json={"errors": []})

    client = RunwareClient("sk-wire", "http://runware.test/v1", images_dir=tmp_path / "images", max_retries=1,
                           backoff_base=30.0, backoff_max=30.0, transport=httpx.MockTransport(handler))
    client.policy.rng.seed(0)  # a backoff of 25 s with this seed, not one near zero
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client.generate(_request(), wire=wire)
        except TransportError as exc:
            errors.append(exc)
        done.set()

    _in_thread(send)
    while not posts:
        time.sleep(0.01)
    time.sleep(0.1)
    assert not done.is_set()  # backing off
    wire.close()
    assert done.wait(5)
    client.close()
    assert len(posts) == 1 and errors and errors[0].sent is True


def test_a_backoff_ends_on_either_event_it_waits_for() -> None:
    """RetryPolicy.pause: `until` ends a wait early and quietly (the caller decides), `cancel`
    raises Cancelled; given both, whichever is set first ends it."""
    from qwenlab.api.retry import Cancelled, RetryPolicy

    policy = RetryPolicy()
    for cancel_first in (False, True):
        cancel, until = threading.Event(), threading.Event()
        threading.Timer(0.05, (cancel if cancel_first else until).set).start()
        start = time.monotonic()
        if cancel_first:
            with pytest.raises(Cancelled):
                policy.pause(30.0, cancel, until=until)
        else:
            policy.pause(30.0, cancel, until=until)
        assert time.monotonic() - start < 5
    until = threading.Event()
    threading.Timer(0.05, until.set).start()
    start = time.monotonic()
    policy.pause(30.0, until=until)
    assert time.monotonic() - start < 5
