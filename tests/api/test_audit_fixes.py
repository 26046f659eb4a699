"""Fixes from an audit of the client against Runware's real API (httpx.MockTransport, no sleeping):

D. a not-found code (`taskFailedOrNotFound`, `taskNotFound`, `taskExpired`) means "no such task"
   whatever HTTP status carries it, as Runware's SDKs read it (runware-python errors.py
   `_NOT_FOUND_CODES`/`derive_code`, runware-typescript errors.ts `NOT_FOUND_CODES`/`deriveCode`),
   so a 400 form reaches the branches that handle a task the server does not know;
F. a fresh imageURL answering 403/404 (a CDN that has not got the object yet) is asked again a few
   times before the paid image is given up, and the error then names its URL and imageUUID;
G. a POST answered 5xx on every attempt may have been taken (a gateway's 5xx after the API took
   the task): it is left in doubt (TransportError, sent=True), and a sweep asks the server about
   it with getResponse at the next run instead of sending it anew under a new taskUUID.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.api.error_answers import api_error_from
from qwenlab.core.request import Request
from qwenlab.errors import (
    AuthenticationError,
    BadRequestError,
    ImageError,
    RateLimitError,
    ServerError,
    TaskNotFoundError,
    TransportError,
)
from tests.api.test_client import FakeRunware, image_bytes
from tests.support.mock_clients import mock_clients

KEY = "sk-audit-test-5c1e93a7d2"
PROMPT = "A poster that reads 'LUMIERE'"
NOT_FOUND = "taskFailedOrNotFound"

# what the fake answers a POST with instead of its default: (tasks) -> response
Step = Callable[[list[dict[str, Any]]], httpx.Response]


class Fake(FakeRunware):
    """test_client.py's fake Runware, as these tests drive it: `script` holds steps that take the
    POST's tasks alone; getResponse of an unknown task answers `taskFailedOrNotFound` with HTTP
    `not_found_status`; each image GET is answered first by what `get_script[url]` holds; and
    `charged` counts what each taskUUID was charged."""

    def __init__(self, not_found_status: int = 404) -> None:
        super().__init__(not_found_status=not_found_status)
        self.get_script: dict[str, deque[int]] = {}

    @property
    def charged(self) -> Counter[str]:
        return self.accepted

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and self.get_script.get(str(request.url)):
            self.calls.append(request)
            self.gets[str(request.url)] += 1
            return httpx.Response(self.get_script[str(request.url)].popleft(), content=b"not here")
        if request.method == "POST" and self.script:
            self.calls.append(request)
            return self.script.popleft()(json.loads(request.content))  # type: ignore[call-arg,arg-type]
        return super().__call__(request)

    def kinds(self) -> list[str]:
        return [t[0]["taskType"] for t in self.posts]


def error_answer(status: int, code: str | None = None, *, take: "Fake | None" = None) -> Step:
    """A step answering HTTP `status` with one error item; `take`: the API took (and charged) the
    task first, and what answered was a gateway in front of it."""

    def step(tasks: list[dict[str, Any]]) -> httpx.Response:
        if take is not None and tasks[0]["taskUUID"] not in take.results:
            take.accept(tasks[0])
        item = {"message": f"HTTP {status}", "taskUUID": tasks[0].get("taskUUID")}
        if code:
            item["code"] = code
        return httpx.Response(status, json={"errors": [item]})

    return step


def read_timeout(tasks: list[dict[str, Any]]) -> httpx.Response:
    raise httpx.ReadTimeout("no answer in time")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float], tmp_path: Path):
    """`make_client(fake, **kw)`: a client that `fake` answers."""
    with mock_clients(KEY, tmp_path, sleeps) as make:
        yield make


def req(**kw: Any) -> Request:
    kw.setdefault("prompt", PROMPT)
    return Request(**kw)


# -- D. not found, whatever the status -----------------------------------------------------------------
@pytest.mark.parametrize("code", [NOT_FOUND, "taskNotFound", "taskExpired"])
@pytest.mark.parametrize("status", [400, 404, None])
def test_a_not_found_code_is_task_not_found_whatever_the_status(code: str, status: int | None) -> None:
    err = api_error_from(status, {"code": code, "message": "no such task", "taskUUID": "t-1"})
    assert type(err) is TaskNotFoundError and err.status == status and err.code == code and err.task_uuid == "t-1"


def test_a_get_response_answer_of_400_task_failed_or_not_found_is_task_not_found() -> None:
    """The audit's case: Runware's getResponse answering HTTP 400 with taskFailedOrNotFound."""
    err = api_error_from(400, {"code": NOT_FOUND, "message": "Task failed or not found", "taskType": "getResponse"})
    assert isinstance(err, TaskNotFoundError) and not isinstance(err, BadRequestError)


@pytest.mark.parametrize("status, cls", [(429, RateLimitError), (500, ServerError), (503, ServerError)])
def test_a_not_found_code_keeps_the_retryable_family_of_its_status(status: int, cls: type) -> None:
    assert type(api_error_from(status, {"code": NOT_FOUND})) is cls


@pytest.mark.parametrize("code", ["unknownModel", "modelNotFound", "taskCancelled", "invalidPositivePrompt"])
def test_other_codes_at_400_stay_bad_requests(code: str) -> None:
    # the SDKs' other not-found codes say nothing about whether a task was taken
    assert type(api_error_from(400, {"code": code})) is BadRequestError
    assert type(api_error_from(401, {"code": "invalidApiKey"})) is AuthenticationError


@pytest.mark.parametrize("not_found_status", [404, 400])
def test_recover_reads_an_unknown_task_as_never_seen_in_the_400_form_as_in_the_404_form(make_client, not_found_status):
    fake = Fake(not_found_status)
    r = req()
    assert make_client(fake).recover(r) is None  # never seen: safe to send
    assert fake.kinds() == ["getResponse"] and fake.charged[r.task_uuid] == 0


@pytest.mark.parametrize("code", ["taskNotFound", "taskExpired"])
def test_recover_reads_the_other_not_found_codes_as_never_seen(make_client, code):
    fake = Fake(400)
    fake.script.append(error_answer(400, code))
    assert make_client(fake).recover(req()) is None  # not left in doubt for a code it did not match


@pytest.mark.parametrize("not_found_status", [404, 400])
def test_a_timed_out_task_unknown_to_get_response_in_the_400_form_is_sent_again_under_its_uuid(make_client, not_found_status):
    """A sync POST that timed out on our side may never have reached the server: when getResponse
    does not know it, it is sent again under the same taskUUID (which cannot pay twice). Before
    the fix, the 400 form was a BadRequestError and the task failed (and a sweep then sent it
    anew under a new taskUUID)."""
    fake = Fake(not_found_status)
    fake.script.append(read_timeout)  # the first POST: no answer in time, never taken
    r = req()
    result = make_client(fake, timeout=5.0).generate(r)
    assert result.ok and len(result.good_images) == 1
    assert fake.kinds() == ["imageInference", "getResponse", "imageInference"]
    assert {t[0]["taskUUID"] for t in fake.posts} == {r.task_uuid} and fake.charged[r.task_uuid] == 1


@pytest.mark.parametrize("not_found_status", [404, 400])
def test_a_task_taken_before_but_unknown_to_get_response_in_the_400_form_stays_in_doubt(make_client, not_found_status):
    """conflictTaskUUID for a task sent before (a crashed run): the server took it. A getResponse
    that does not know it leaves it in doubt (sent=True), never failed, which would have the
    next run send it anew, and perhaps pay twice."""
    fake = Fake(not_found_status)
    fake.script.extend([error_answer(400, "conflictTaskUUID"), error_answer(not_found_status, NOT_FOUND)])
    with pytest.raises(TransportError) as info:
        make_client(fake).generate(req(), sent_before=True)
    assert info.value.sent is True
    assert fake.kinds() == ["imageInference", "getResponse"]


# -- F. a fresh imageURL that is not there yet -----------------------------------------------------------------
def url_answer(url: str, image_uuid: str = "5b3c2f0e-8a1d-4c6b-9e2f-1a2b3c4d5e6f") -> Step:
    def step(tasks: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"taskType": "imageInference", "taskUUID": tasks[0]["taskUUID"],
                                                   "imageUUID": image_uuid, "imageURL": url, "cost": 0.075}]})

    return step


@pytest.mark.parametrize("missing", [404, 403])
def test_an_image_url_that_answers_404_or_403_at_first_is_asked_again_and_kept(make_client, sleeps, missing):
    fake = Fake()
    url = "https://im.runware.test/image/fresh.jpg"
    fake.files[url] = image_bytes()
    fake.get_script[url] = deque([missing, missing])  # the CDN has not got it yet, twice
    fake.script.append(url_answer(url))
    result = make_client(fake).generate(req())
    assert result.ok and result.errors == []
    img = result.images[0]
    assert img.path is not None and img.path.read_bytes() == fake.files[url]
    assert fake.gets[url] == 3
    assert sleeps == [1.0, 1.5]  # waited (through the policy's injected sleep) before each new attempt


@pytest.mark.parametrize("missing", [404, 403])
def test_an_image_url_that_never_answers_is_given_up_after_a_bounded_number_of_attempts(make_client, sleeps, missing):
    fake = Fake()
    image_uuid = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    url = f"https://im.runware.test/image/{image_uuid}.jpg?sig=abc123"
    fake.get_script[url] = deque([missing] * 10)  # the object never reaches the CDN
    fake.script.append(url_answer(url, image_uuid))
    result = make_client(fake, max_retries=5).generate(req())
    assert not result.ok
    err = result.images[0].error
    assert isinstance(err, ImageError) and result.errors == [err]
    assert fake.gets[url] == 4  # 3 more attempts, whatever max_retries says
    assert len(sleeps) == 3 and sum(sleeps) == pytest.approx(5.0)  # over about 5 s
    message = str(err)
    assert url in message and image_uuid in message and f"HTTP {missing}" in message  # to fetch it by hand
    assert err.task_uuid == result.task_uuid


def test_an_expired_image_url_is_still_not_retried(make_client, sleeps):
    fake = Fake()
    url = "https://im.runware.test/image/old.jpg"
    fake.get_script[url] = deque([410] * 5)
    fake.script.append(url_answer(url))
    result = make_client(fake).generate(req())
    assert not result.ok and "expired" in str(result.errors[0]) and fake.gets[url] == 1 and sleeps == []


def test_the_waits_for_an_image_url_not_there_yet_can_be_set(tmp_path):
    from qwenlab.api.download import Downloader
    from qwenlab.api.retry import RetryPolicy

    waited: list[float] = []
    fake = Fake()
    url = "https://im.runware.test/image/x.jpg"
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        downloader = Downloader(http, RetryPolicy(sleep=waited.append), not_yet_waits=(0.25,))
        with pytest.raises(ImageError, match="HTTP 404 after 2 attempts"):
            downloader.fetch(url)
    assert waited == [0.25] and fake.gets[url] == 2


# -- G. a 5xx on every attempt is in doubt ---------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_post_answered_5xx_on_every_attempt_is_in_doubt(make_client, status):
    fake = Fake()
    fake.script.extend([error_answer(status)] * 3)
    r = req()
    with pytest.raises(TransportError) as info:
        make_client(fake, max_retries=2).generate(r)
    exc = info.value
    assert exc.sent is True and exc.attempts == 3 and exc.task_uuid == r.task_uuid
    assert isinstance(exc.__cause__, ServerError) and exc.__cause__.status == status
    assert "client.recover(request)" in str(exc)


def test_a_5xx_then_refusals_is_still_in_doubt(make_client):
    fake = Fake()
    fake.script.extend([error_answer(502), error_answer(429), error_answer(429)])
    with pytest.raises(TransportError) as info:
        make_client(fake, max_retries=2).generate(req())
    assert info.value.sent is True and isinstance(info.value.__cause__, RateLimitError)


@pytest.mark.parametrize("status, cls", [(400, BadRequestError), (401, AuthenticationError), (429, RateLimitError)])
def test_refusals_are_not_in_doubt(make_client, status, cls):
    fake = Fake()
    fake.script.extend([error_answer(status, "invalidApiKey" if status == 401 else None)] * 3)
    with pytest.raises(cls) as info:
        make_client(fake, max_retries=2).generate(req())
    assert not isinstance(info.value, TransportError)


def lab_for(fake: Fake, data_dir: Path, **kw: Any) -> tuple[Lab, RunwareClient]:
    kw.setdefault("max_retries", 2)
    client = RunwareClient(KEY, transport=httpx.MockTransport(fake), images_dir=data_dir / "images",
                           sleep=lambda s: None, **kw)
    return Lab(data_dir, client=client), client


@pytest.mark.parametrize("taken", [True, False], ids=["taken-behind-a-gateway", "never-taken"])
def test_a_cell_answered_502_on_every_attempt_is_left_in_doubt_and_recovered_next_run(data_dir: Path, taken: bool) -> None:
    fake = Fake()
    # every attempt: a gateway's 502; with `taken`, the API behind it took (and charged) the task
    fake.script.extend([error_answer(502, take=fake if taken else None)] * 3)
    sweep = Sweep(prompt=PROMPT, size="256x256")
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(sweep, name="gateway", progress=False)
        [row] = lab.log.tasks(exp.id)
        assert row["status"] == "sent" and exp.counts()["in_doubt"] == 1 and exp.counts()["failed"] == 0
        assert fake.kinds() == ["imageInference"] * 3
        uid = row["task_uuid"]

        exp = lab.run(sweep, name="gateway", progress=False)  # the gateway is well again
        [row] = lab.log.tasks(exp.id)
    # asked the server first, under the same taskUUID; never sent under a new one; paid once
    assert fake.kinds()[3] == "getResponse" and fake.posts[3][0]["taskUUID"] == uid
    assert {t[0]["taskUUID"] for t in fake.posts} == {uid}
    assert row["status"] == "done" and row["task_uuid"] == uid and fake.charged == Counter({uid: 1})
    assert exp.counts()["done"] == 1 and len(exp.images) == 1
    later = fake.kinds()[3:]
    assert later == (["getResponse"] if taken else ["getResponse", "imageInference"])


def test_a_cell_refused_with_400_is_failed_and_sent_anew(data_dir: Path) -> None:
    fake = Fake()
    fake.script.append(error_answer(400, "invalidPositivePrompt"))
    sweep = Sweep(prompt=PROMPT, size="256x256")
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(sweep, name="refused", progress=False)
        [row] = lab.log.tasks(exp.id)
        assert row["status"] == "failed" and row["error_code"] == "invalidPositivePrompt"
        assert fake.kinds() == ["imageInference"]  # never retried
        old = row["task_uuid"]
        exp = lab.run(sweep, name="refused", progress=False)
        [row] = lab.log.tasks(exp.id)
    assert row["status"] == "done" and row["task_uuid"] != old and fake.kinds() == ["imageInference"] * 2


def test_the_reason_of_a_transport_error_is_redacted_as_its_message() -> None:
    """A run replaces the client's advice with its own from `.reason`: a key in the message (a
    server echoing it) must not come back through it."""
    from qwenlab.secrets import register_secret

    register_secret("sk-reason-0123456789")
    exc = TransportError("the server said: Bearer sk-reason-0123456789 is wrong", advice="call client.recover(request)",
                         sent=True)
    assert "sk-reason-0123456789" not in exc.reason and "sk-reason-0123456789" not in str(exc)
    assert str(exc).endswith("call client.recover(request)") and exc.reason in str(exc)
