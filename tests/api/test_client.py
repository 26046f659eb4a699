"""RunwareClient against a scripted fake of Runware (httpx.MockTransport): no network, no sleeping."""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from collections import Counter, deque
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from PIL import Image

from qwenlab.api.client import GeneratedImage, RunwareClient, TaskResult
from qwenlab.api.connect import connect
from qwenlab.api.retry import PollSchedule, RetryPolicy, parse_retry_after
from qwenlab.core.request import Request
from qwenlab.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictTaskUUIDError,
    ImageError,
    InsufficientCreditsError,
    PermissionDeniedError,
    QwenlabError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotFoundError,
    TransportError,
    UnsupportedParameterError,
    ValidationError,
)
from tests.support.mock_clients import mock_clients

KEY = "sk-test-7f3a9c2e51d84b06"


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


Step = Callable[[httpx.Request, list[dict[str, Any]]], httpx.Response]


class FakeRunware:
    """A scripted stand-in for Runware: records every request; `script` answers the next POSTs
    in order, then the default behaviour answers like the real API (one item per image,
    getResponse from what was accepted, imageUpload, ping)."""

    def __init__(self, not_found_status: int = 404) -> None:
        self.not_found_status = not_found_status  # the HTTP status of getResponse's taskFailedOrNotFound
        self.calls: list[httpx.Request] = []
        self.script: deque[Step] = deque()
        self.accepted: Counter[str] = Counter()  # taskUUID -> times accepted (charged)
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.gets: Counter[str] = Counter()
        self.uploads = 0

    # -- the transport ---------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.method == "GET":
            self.gets[str(request.url)] += 1
            data = self.files.get(str(request.url))
            return httpx.Response(200, content=data) if data is not None else httpx.Response(404)
        tasks = json.loads(request.content)
        if self.script:
            return self.script.popleft()(request, tasks)
        return self.answer(tasks)

    @property
    def posts(self) -> list[list[dict[str, Any]]]:
        return [json.loads(c.content) for c in self.calls if c.method == "POST"]

    # -- Runware's default behaviour -------------------------------------------------------------------
    def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        uid = task["taskUUID"]
        self.accepted[uid] += 1
        fmt = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}[task.get("outputFormat", "JPG")]
        items = []
        for n in range(task.get("numberResults", 1)):
            image_uuid = str(uuid.uuid4())
            url = f"https://im.runware.test/image/{image_uuid}.{fmt.lower()}"
            self.files[url] = image_bytes(fmt, color=(n * 40 % 256, len(self.accepted) * 30 % 256, 90))
            item = {"taskType": "imageInference", "taskUUID": uid, "imageUUID": image_uuid, "imageURL": url, "seed": 1000 + n}
            if task.get("includeCost"):
                item["cost"] = 0.075
            items.append(item)
        self.results[uid] = items
        return items

    def answer(self, tasks: list[dict[str, Any]]) -> httpx.Response:
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for task in tasks:
            kind, uid = task.get("taskType"), task.get("taskUUID")
            if kind == "ping":
                data.append({"taskType": "ping", "pong": True})
            elif kind == "imageUpload":
                self.uploads += 1
                data.append({"taskType": "imageUpload", "taskUUID": uid, "imageUUID": str(uuid.uuid4())})
            elif kind == "getResponse":
                if uid in self.results:
                    data.extend({**i, "status": "success"} for i in self.results[uid])
                else:
                    errors.append({"code": "taskFailedOrNotFound", "message": "no such task", "taskUUID": uid})
            elif uid in self.accepted:
                errors.append({"code": "conflictTaskUUID", "message": "taskUUID already used", "taskUUID": uid, "parameter": "taskUUID"})
            else:
                data.extend(self.accept(task))
        status = 200 if data or not errors else (self.not_found_status if errors[0]["code"] == "taskFailedOrNotFound" else 400)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return httpx.Response(status, json=body)

    # -- scripted steps ----------------------------------------------------------------------------
    def then(self, *steps: Step) -> "FakeRunware":
        self.script.extend(steps)
        return self


def status(code: int, err: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Step:
    def step(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        item = {"message": f"HTTP {code}", **(err or {})}
        item.setdefault("taskUUID", tasks[0].get("taskUUID"))
        return httpx.Response(code, json={"errors": [item]}, headers=headers)

    return step


def accept_then(exc: type[Exception]) -> Step:
    """The server accepts (and charges) the task, then the connection fails without an answer."""

    def step(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        fake = request.extensions["fake"]
        for t in tasks:
            fake.accept(t)
        raise exc("connection lost", request=request)

    return step


def fail(exc: type[Exception]) -> Step:
    def step(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        raise exc("failed", request=request)

    return step


def respond(body: Any, code: int = 200) -> Step:
    def step(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        payload = body(tasks) if callable(body) else body
        if isinstance(payload, (bytes, str)):
            return httpx.Response(code, content=payload)
        return httpx.Response(code, json=payload)

    return step


@pytest.fixture
def fake() -> FakeRunware:
    return FakeRunware()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(fake: FakeRunware, sleeps: list[float], tmp_path: Path) -> Callable[..., RunwareClient]:
    def handler(request: httpx.Request) -> httpx.Response:
        request.extensions["fake"] = fake
        return fake(request)

    with mock_clients(KEY, tmp_path, sleeps) as make:
        yield lambda **kw: make(handler, **kw)


def req(**kw: Any) -> Request:
    kw.setdefault("prompt", "A poster that reads 'LUMIERE'")
    return Request(**kw)


# -- the wire ---------------------------------------------------------------------------------------
def test_sends_bearer_key_and_tasks_as_a_json_array(fake, make_client):
    r = req(size="1024x1536", promptExtend=False)
    result = make_client().generate(r)
    post = fake.calls[0]
    assert post.method == "POST" and str(post.url) == "https://api.runware.ai/v1"
    assert post.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(post.content)
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["taskUUID"] == r.task_uuid and body[0]["includeCost"] is True
    assert body[0]["providerSettings"] == {"alibaba": {"promptExtend": False}}
    assert result.ok and result.cost == 0.075 and result.http_status == 200


def test_include_cost_leaves_an_explicit_setting_alone(fake, make_client):
    make_client().generate(req(includeCost=False))
    make_client().generate(req(), include_cost=False)
    assert fake.posts[0][0]["includeCost"] is False
    assert "includeCost" not in fake.posts[1][0]


def test_image_downloads_never_carry_the_api_key(fake, make_client):
    make_client().generate(req())
    gets = [c for c in fake.calls if c.method == "GET"]
    assert len(gets) == 1 and "authorization" not in gets[0].headers


def test_invalid_request_is_refused_before_a_byte_is_sent(fake, make_client):
    with pytest.raises(ValidationError) as info:
        make_client().generate(req(negativePrompt="x" * 501))
    assert "negativePrompt" in info.value.parameters
    assert fake.calls == []


def test_missing_key_says_how_to_set_it(monkeypatch):
    with pytest.raises(AuthenticationError, match="RUNWARE_API_KEY.*connect"):
        RunwareClient()
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-from-env-123456")
    monkeypatch.setenv("RUNWARE_BASE_URL", "http://127.0.0.1:9/v1")
    client = RunwareClient()
    assert client.base_url == "http://127.0.0.1:9/v1" and client.is_emulator
    client.close()


# -- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "code, err, cls, retried",
    [
        (400, {"code": "invalidPositivePrompt", "parameter": "positivePrompt"}, BadRequestError, False),
        (400, {"code": "unsupportedParameter", "parameter": "seed"}, UnsupportedParameterError, False),
        (401, {"code": "invalidApiKey"}, AuthenticationError, False),
        # the account's codes under another 4xx: the sweep stops at the first, not every cell refused alike
        (400, {"code": "invalidApiKey"}, AuthenticationError, False),
        (403, {"code": "insufficientCredits"}, InsufficientCreditsError, False),
        (402, {"code": "insufficientCredits"}, InsufficientCreditsError, False),
        (403, {"code": "forbidden"}, PermissionDeniedError, False),
        (404, {"code": "taskFailedOrNotFound"}, TaskNotFoundError, False),
        (429, {"code": "queueFull"}, RateLimitError, True),
        (500, {"code": "inferenceError"}, ServerError, True),
        (502, {}, ServerError, True),
        (503, {"code": "invalidApiKey"}, ServerError, True),  # the status decides the family, not the code
        (504, {"code": "timeoutProvider"}, ServerError, True),
    ],
)
def test_errors_are_classified_by_status_then_code_and_retried_only_when_retryable(fake, make_client, code, err, cls, retried):
    fake.then(*[status(code, err)] * 10)
    r = req()
    with pytest.raises(TransportError if code >= 500 else cls) as info:
        make_client(max_retries=3).generate(r)
    exc = info.value
    assert exc.task_uuid == r.task_uuid
    assert exc.attempts == (4 if retried else 1) == len(fake.calls)
    if code >= 500:
        # a 5xx may come from a gateway after the API took the task: in doubt, the answer's error as the cause
        assert exc.sent is True and "client.recover(request)" in str(exc)
        exc = exc.__cause__
    assert type(exc) is cls
    assert exc.status == code and exc.code == err.get("code") and exc.parameter == err.get("parameter")


def test_a_400_without_json_is_still_a_bad_request(fake, make_client):
    fake.then(respond(b"<html>bad</html>", 400))
    with pytest.raises(BadRequestError):
        make_client().generate(req())


def test_retries_reuse_the_same_task_uuid_and_count_attempts(fake, make_client, sleeps):
    fake.then(status(500), status(429), fail(httpx.ConnectError))
    r = req()
    result = make_client().generate(r)
    assert result.ok and result.attempts == 4 and not result.recovered
    assert [p[0]["taskUUID"] for p in fake.posts] == [r.task_uuid] * 4
    assert len(sleeps) == 3
    assert fake.accepted[r.task_uuid] == 1


def test_retry_after_is_honoured_and_capped(fake, make_client, sleeps):
    fake.then(status(429, headers={"Retry-After": "7"}), status(429, headers={"Retry-After": "120"}))
    make_client(backoff_base=0.0, backoff_max=30.0).generate(req())
    assert sleeps == [7.0, 30.0]


def test_backoff_is_exponential_with_full_jitter_under_the_cap():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # jitter covers the range
    assert policy.delay(1, retry_after=3.0) >= 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and parse_retry_after("x") is None


def test_transport_errors_exhausted_say_whether_the_request_may_have_been_sent(fake, make_client):
    fake.then(*[fail(httpx.ConnectError)] * 3)
    with pytest.raises(TransportError) as info:
        make_client(max_retries=2).generate(req())
    assert info.value.sent is False and info.value.attempts == 3

    fake.then(fail(httpx.RemoteProtocolError), *[fail(httpx.ConnectError)] * 2)
    with pytest.raises(TransportError) as info:
        make_client(max_retries=2).generate(req())
    assert info.value.sent is True

    # an uncertain attempt followed by 503s: still "may have been sent", so nobody resends it anew
    fake.then(fail(httpx.RemoteProtocolError), *[status(503)] * 2)
    with pytest.raises(TransportError, match="recover") as info:
        make_client(max_retries=2).generate(req())
    assert info.value.sent is True and isinstance(info.value.__cause__, ServerError)


# -- no double payment -----------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteTimeout])
def test_uncertain_failure_then_conflict_recovers_with_get_response(fake, make_client, failure):
    fake.then(accept_then(failure))
    r = req(numberResults=2)
    result = make_client().generate(r)
    assert fake.accepted[r.task_uuid] == 1  # paid once
    assert result.recovered and result.ok and result.attempts == 2
    assert len(result.images) == 2 and all(img.path and img.path.exists() for img in result.images)
    kinds = [[t["taskType"] for t in p] for p in fake.posts]
    assert kinds == [["imageInference"], ["imageInference"], ["getResponse"]]


def test_malformed_answer_is_uncertain_and_recovered(fake, make_client):
    def garbled(request, tasks):
        fake.accept(tasks[0])
        return httpx.Response(200, content=b'{"data": [{"taskType": "imageInf')

    fake.then(garbled)
    r = req()
    result = make_client().generate(r)
    assert result.recovered and result.ok and fake.accepted[r.task_uuid] == 1


def test_conflict_for_a_task_the_server_forgot_explains_renew(fake, make_client):
    fake.then(status(400, {"code": "conflictTaskUUID"}))
    with pytest.raises(ConflictTaskUUIDError, match="renew"):
        make_client().generate(req())


def test_recover_after_a_crash(fake, make_client):
    r = req(numberResults=3)
    fake.accept(r.to_task())
    client = make_client()
    result = client.recover(r)
    assert result is not None and result.recovered and len(result.good_images) == 3 and result.attempts == 0
    assert client.recover(req()) is None  # never seen: safe to send


# -- async delivery ---------------------------------------------------------------------------------
def _item(task_uuid: str, fake: FakeRunware, n: int, **extra: Any) -> dict[str, Any]:
    url = f"https://im.runware.test/a/{task_uuid}/{n}.jpg"
    fake.files[url] = image_bytes(color=(n * 50, 0, 0))
    return {"taskType": "imageInference", "taskUUID": task_uuid, "imageUUID": f"{task_uuid[:8]}-img-{n}",
            "imageURL": url, "seed": 10 + n, "cost": 0.075, "status": "success", **extra}


def test_async_polls_cumulative_answers_with_partial_results_and_per_image_errors(fake, make_client, sleeps):
    r = req(deliveryMethod="async", numberResults=3)
    u = r.task_uuid
    proc = {"taskType": "imageInference", "taskUUID": u, "status": "processing", "progress": 40}
    err = {"taskType": "imageInference", "taskUUID": u, "status": "error",
           "error": {"code": "inferenceError", "message": "the provider failed on this image"}}
    fake.then(
        respond({"data": [{"taskType": "imageInference", "taskUUID": u, "status": "processing"}]}),
        respond({"data": [proc]}),
        respond(lambda t: {"data": [_item(u, fake, 0), proc, proc]}),
        respond(lambda t: {"data": [_item(u, fake, 0), _item(u, fake, 1), proc]}),
        respond(lambda t: {"data": [_item(u, fake, 0), _item(u, fake, 1), err]}),
    )
    result = make_client(poll_initial=1.0, poll_max=3.0).generate(r)
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference"] + ["getResponse"] * 4
    assert all(p[0]["taskUUID"] == u for p in fake.posts)
    assert sleeps == [1.0, 0.5, 0.75, 1.125]  # poll backoff: initial, half, growing x1.5 (capped at 3)
    assert len(result.images) == 3 and len(result.good_images) == 2
    failed = [img for img in result.images if img.error is not None]
    assert len(failed) == 1 and isinstance(failed[0].error, TaskFailedError) and failed[0].error.code == "inferenceError"
    assert result.errors == [failed[0].error] and not result.ok
    assert result.cost == 0.15
    assert all(n == 1 for n in fake.gets.values())  # a finished image seen again is not fetched again


def test_poll_timeout_bounds_the_wait_and_keeps_partial_results(fake, make_client, sleeps):
    r = req(deliveryMethod="async", numberResults=2)
    u = r.task_uuid
    proc = {"taskType": "imageInference", "taskUUID": u, "status": "processing"}
    fake.then(respond({"data": [proc]}), *[respond(lambda t: {"data": [_item(u, fake, 0), proc]})] * 50)
    result = make_client(poll_initial=1.0, poll_max=4.0, poll_timeout=20.0).generate(r)
    assert sleeps == pytest.approx([1.0, 0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 4.0, 4.0, 0.609375])
    assert len(result.good_images) == 1 and [e.code for e in result.errors] == ["pollTimeout"]


def test_poll_timeout_with_nothing_finished_raises_a_sent_transport_error(fake, make_client):
    r = req(deliveryMethod="async")
    proc = {"taskType": "imageInference", "taskUUID": r.task_uuid, "status": "processing"}
    fake.then(*[respond({"data": [proc]})] * 50)
    with pytest.raises(TransportError, match="recover") as info:
        make_client(poll_initial=1.0, poll_max=1.0, poll_timeout=5.0).generate(r)
    assert info.value.sent is True and info.value.task_uuid == r.task_uuid


def test_poll_survives_a_transient_failure(fake, make_client):
    r = req(deliveryMethod="async")
    u = r.task_uuid
    fake.then(respond({"data": []}), status(503), *[status(503)] * 5, respond(lambda t: {"data": [_item(u, fake, 0)]}))
    result = make_client(max_retries=1).generate(r)
    assert result.ok


def test_poll_schedule_is_runwares_sdks_and_grows_to_its_maximum():
    """runware-api.md: the SDKs poll at 1 s, then 0.5 s, then x1.5 up to 10 s, for 20 minutes in
    all, and retry after 1 s x 2^n with jitter, capped at 30 s; the client follows them."""
    schedule = PollSchedule()
    delays = schedule.delays()
    got = [next(delays) for _ in range(12)]
    assert got[:4] == pytest.approx([1.0, 0.5, 0.75, 1.125]) and got[-2:] == [10.0, 10.0]
    assert all(b >= a for a, b in zip(got[1:], got[2:]))
    assert schedule.timeout == 1200.0
    policy = RetryPolicy()
    assert (policy.backoff_base, policy.backoff_max) == (1.0, 30.0)
    client = RunwareClient("k", "http://127.0.0.1:9/v1")
    assert (client.polls.initial, client.polls.maximum, client.polls.timeout) == (1.0, 10.0, 1200.0)
    assert client.policy.backoff_base == 1.0
    client.close()


# -- answers ------------------------------------------------------------------------------------------
def test_unknown_fields_are_kept_and_never_fatal(fake, make_client):
    def answer(tasks):
        items = fake.accept(tasks[0])
        items[0].update({"NSFWContent": False, "newField": {"nested": [1, 2]}, "status": "success"})
        return {"data": items, "meta": {"region": "eu"}, "surprise": 1}

    fake.then(respond(answer))
    result = make_client().generate(req())
    img = result.images[0]
    assert img.raw["newField"] == {"nested": [1, 2]} and img.nsfw is False and img.seed == 1000


def test_items_are_matched_to_tasks_by_task_uuid(fake, make_client):
    a, b = req(numberResults=3), req(prompt="Another poster", numberResults=1)

    def shuffled(tasks):
        items = fake.accept(tasks[0]) + fake.accept(tasks[1])
        return {"data": [items[3], items[0], items[2], items[1]]}

    fake.then(respond(shuffled))
    ra, rb = make_client().send_batch([a, b])
    assert len(fake.posts) == 1 and len(fake.posts[0]) == 2
    assert [i.task_uuid for i in ra.images] == [a.task_uuid] * 3 and sorted(i.seed for i in ra.images) == [1000, 1001, 1002]
    assert [i.task_uuid for i in rb.images] == [b.task_uuid]


def test_batch_with_per_task_errors_and_an_invalid_request(fake, make_client):
    good, refused, invalid = req(), req(prompt="refused prompt"), req(negativePrompt="x")

    def partly(tasks):
        assert [t["taskUUID"] for t in tasks] == [good.task_uuid, refused.task_uuid]  # the invalid one is not sent
        return {"data": fake.accept(tasks[0]),
                "errors": [{"code": "invalidPositivePrompt", "message": "refused", "parameter": "positivePrompt",
                            "taskUUID": refused.task_uuid}]}

    fake.then(respond(partly))
    out = make_client().send_batch([good, refused, invalid])
    assert isinstance(out[0], TaskResult) and out[0].ok
    assert isinstance(out[1], APIError) and out[1].task_uuid == refused.task_uuid and out[1].parameter == "positivePrompt"
    assert isinstance(out[2], ValidationError) and out[2].attempts == 0


def test_batch_retry_after_an_uncertain_failure_recovers_every_task(fake, make_client):
    rs = [req(prompt=f"poster number {i}") for i in range(3)]
    fake.then(accept_then(httpx.RemoteProtocolError))
    out = make_client().send_batch(rs)
    assert all(isinstance(o, TaskResult) and o.ok and o.recovered for o in out)
    assert all(fake.accepted[r.task_uuid] == 1 for r in rs)
    # the recovery polls every task in one getResponse POST
    assert [len(p) for p in fake.posts] == [3, 3, 3] and fake.posts[2][0]["taskType"] == "getResponse"


def test_inline_outputs_are_decoded_checked_and_saved(fake, make_client):
    png, webp = image_bytes("PNG"), image_bytes("WEBP", color=(1, 2, 3))

    def inline(tasks):
        t = tasks[0]
        fake.accepted[t["taskUUID"]] += 1
        if t["outputType"] == "base64Data":
            return {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"], "imageUUID": "i1",
                              "imageBase64Data": base64.b64encode(png).decode()}]}
        return {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"], "imageUUID": "i2",
                          "imageDataURI": "data:image/webp;base64," + base64.b64encode(webp).decode()}]}

    fake.then(respond(inline), respond(inline))
    client = make_client()
    a = client.generate(req(outputType="base64Data", outputFormat="PNG"))
    b = client.generate(req(outputType="dataURI", outputFormat="WEBP"))
    assert a.images[0].format == "PNG" and a.images[0].path.read_bytes() == png and a.images[0].path.suffix == ".png"
    assert b.images[0].format == "WEBP" and b.images[0].path.read_bytes() == webp
    assert "imageBase64Data" not in a.images[0].raw and "imageDataURI" not in b.images[0].raw


def test_save_false_keeps_bytes_in_memory(fake, make_client, tmp_path):
    result = make_client().generate(req(), save=False)
    img = result.images[0]
    assert img.path is None and img.data and img.open().size == (64, 48)
    assert not (tmp_path / "images").exists() or not any((tmp_path / "images").rglob("*.jpg"))


# -- downloads --------------------------------------------------------------------------------------------
def _url_answer(fake: FakeRunware, url: str) -> Step:
    return respond(lambda t: {"data": [{"taskType": "imageInference", "taskUUID": t[0]["taskUUID"], "imageUUID": "x", "imageURL": url}]})


def test_download_retries_5xx_and_reports_an_expired_url(fake, make_client):
    statuses = deque([503, 200])
    good = image_bytes()

    def handler(request):
        if request.method == "GET":
            if "expired" in str(request.url):
                return httpx.Response(410)
            code = statuses.popleft()
            return httpx.Response(code, content=good if code == 200 else b"busy")
        return fake(request)

    client = RunwareClient(KEY, transport=httpx.MockTransport(handler), sleep=lambda s: None)
    fake.then(_url_answer(fake, "https://im.runware.test/ok.jpg"), _url_answer(fake, "https://im.runware.test/expired.jpg"))
    assert client.generate(req()).images[0].path.read_bytes() == good
    result = client.generate(req())
    assert not result.ok and isinstance(result.images[0].error, ImageError) and "expired" in str(result.errors[0])
    client.close()


def test_download_refuses_redirects_to_another_host_and_oversized_bodies(fake, make_client):
    def handler(request):
        if request.method == "GET":
            path = request.url.path
            if path == "/elsewhere.jpg":
                return httpx.Response(302, headers={"Location": "http://evil.test/x.jpg"})  # plain HTTP
            if path == "/moved.jpg":
                return httpx.Response(301, headers={"Location": "/real.jpg"})
            if path == "/real.jpg":
                return httpx.Response(200, content=image_bytes())
            if path == "/huge.jpg":
                return httpx.Response(200, content=iter([b"\xff" * 4096] * 64))  # streamed, no length
            raise AssertionError(f"unexpected GET {request.url}")
        return fake(request)

    client = RunwareClient(KEY, transport=httpx.MockTransport(handler), sleep=lambda s: None)
    client.store.max_bytes = client._downloader.max_bytes = 100_000
    for name, ok, text in [("elsewhere", False, "another host"), ("moved", True, ""), ("huge", False, "byte cap")]:
        fake.then(_url_answer(fake, f"https://im.runware.test/{name}.jpg"))
        result = client.generate(req())
        assert result.ok is ok
        if not ok:
            assert text in str(result.images[0].error)
    client.close()


# -- uploads ------------------------------------------------------------------------------------------
def test_each_distinct_image_is_uploaded_once(fake, make_client, tmp_path):
    png = image_bytes("PNG", color=(9, 9, 9))
    path = tmp_path / "ref.png"
    path.write_bytes(png)
    client = make_client()
    first = client.upload_image(path)
    assert client.upload_image(str(path)) == first == client.upload_image(png)
    other = client.upload_image(Image.new("RGB", (8, 8), (1, 2, 3)))
    assert client.upload_image(Image.new("RGB", (8, 8), (1, 2, 3))) == other != first
    assert fake.uploads == 2  # the file's bytes once, the PIL image (sent as PNG) once
    task = fake.posts[0][0]
    assert task["taskType"] == "imageUpload" and task["image"].startswith("data:image/png;base64,")
    assert base64.b64decode(task["image"].split(",", 1)[1]) == png


def test_concurrent_uploads_of_one_image_share_one_upload(fake, make_client):
    client = make_client()
    png = image_bytes("PNG")
    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(client.upload_image(png))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 1 and fake.uploads == 1


def test_generate_uploads_local_reference_images_and_sends_their_uuids(fake, make_client, tmp_path):
    path = tmp_path / "ref.jpg"
    path.write_bytes(image_bytes())
    r = Request(prompt="Edit the billboard", referenceImages=[str(path), Image.new("RGB", (8, 8))])
    result = make_client().generate(r)
    sent = fake.posts[-1][0]
    assert sent["taskType"] == "imageInference" and fake.uploads == 2
    refs = sent["inputs"]["referenceImages"]
    assert len(refs) == 2 and all(len(x) == 36 for x in refs)
    assert result.request.get("referenceImages") == refs and result.task_uuid == r.task_uuid


def test_prepare_validates_the_rest_before_uploading(fake, make_client, tmp_path):
    path = tmp_path / "ref.jpg"
    path.write_bytes(image_bytes())
    with pytest.raises(ValidationError) as info:
        make_client().prepare(Request(prompt="x", referenceImages=[str(path)]))  # prompt too short
    assert info.value.parameters == ["positivePrompt"] and fake.calls == []


# -- secrets ------------------------------------------------------------------------------------------
def test_the_key_never_shows(fake, make_client):
    client = make_client()
    assert KEY not in repr(client) and KEY not in str(vars(client))
    fake.then(status(401, {"code": "invalidApiKey", "message": f"key {KEY} is not valid"}))
    with pytest.raises(AuthenticationError) as info:
        client.generate(req())
    assert KEY not in str(info.value) and KEY not in repr(info.value)

    def echo(tasks):
        items = fake.accept(tasks[0])
        items[0]["debug"] = f"Authorization: Bearer {KEY}"
        return {"data": items}

    fake.then(respond(echo))
    result = client.generate(req())
    assert KEY not in repr(result) and KEY not in json.dumps(result.images[0].raw)


# -- other tasks -------------------------------------------------------------------------------------
def test_ping_and_get_response_in_one_post(fake, make_client):
    client = make_client()
    assert client.ping() is True
    a, b = req(numberResults=2), req()
    fake.accept(a.to_task())
    fake.accept(b.to_task())
    items = client.get_response([a.task_uuid, b.task_uuid])
    assert len(fake.posts[-1]) == 2 and Counter(i["taskUUID"] for i in items) == {a.task_uuid: 2, b.task_uuid: 1}
    with pytest.raises(TaskNotFoundError):
        client.get_response(str(uuid.uuid4()))
    fake.then(fail(httpx.ConnectError))
    assert client.ping() is False


# -- concurrency ------------------------------------------------------------------------------------
def test_generate_many_keeps_order_and_isolates_failures(fake, make_client):
    rs = [req(prompt=f"poster number {i}") for i in range(6)]
    rs[2] = req(negativePrompt="x" * 600)
    seen: list[int] = []
    out = make_client().generate_many(rs, concurrency=3, on_result=lambda i, o: seen.append(i))
    assert [type(o) for o in out] == [TaskResult, TaskResult, ValidationError, TaskResult, TaskResult, TaskResult]
    assert [o.task_uuid for o in out] == [r.task_uuid for r in rs]
    assert sorted(seen) == list(range(6))


def test_generate_many_refuses_one_task_uuid_twice_before_sending_it(fake, make_client):
    """The model page (L44): a taskUUID "Must be unique per task". `[request] * 3` for three images
    sent three POSTs at once, two of them refused conflictTaskUUID after they had gone."""
    r, other = req(), req(prompt="another poster")
    seen: list[int] = []
    out = make_client().generate_many([r, other, r, r], concurrency=4, on_result=lambda i, o: seen.append(i))
    assert [type(o) for o in out] == [TaskResult, TaskResult, ValidationError, ValidationError]
    assert out[2].problems[0].parameter == "taskUUID" and "renew()" in str(out[2]) and "numberResults" in str(out[2])
    assert out[2].task_uuid == r.task_uuid and out[2].attempts == 0
    assert sorted(t["taskUUID"] for post in fake.posts for t in post) == sorted([r.task_uuid, other.task_uuid])
    assert sorted(seen) == [0, 1, 2, 3]


def test_generate_many_stops_waiting_when_interrupted(fake):
    # Every POST after the first gets 429 with a long Retry-After; the caller is interrupted
    # at the first result and must not sit out the waits of the other workers.
    def handler(request):
        if request.method == "GET" or fake.posts == []:
            return fake(request)
        fake.calls.append(request)
        return httpx.Response(429, json={"errors": [{"code": "queueFull"}]}, headers={"Retry-After": "60"})

    client = RunwareClient(KEY, transport=httpx.MockTransport(handler), backoff_max=60.0)

    def interrupt(i, outcome):
        raise KeyboardInterrupt

    before = set(threading.enumerate())  # workers of other tests' clients are not this test's business
    with pytest.raises(KeyboardInterrupt):
        client.generate_many([req(prompt=f"poster {i}") for i in range(4)], concurrency=4, on_result=interrupt)
    for t in set(threading.enumerate()) - before:
        if t.name.startswith("qwenlab-client"):
            t.join(timeout=10)
            assert not t.is_alive(), "a worker kept waiting after the interrupt"
    client.close()


# -- connect ----------------------------------------------------------------------------------------
def test_connect_uses_the_real_api_when_a_key_is_set(monkeypatch):
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-real-0123456789")
    client = connect()
    assert client.base_url == "https://api.runware.ai/v1" and client.is_emulator is False
    client.close()


def test_connect_without_a_key_refuses_a_remote_base_url():
    with pytest.raises(AuthenticationError, match="RUNWARE_API_KEY"):
        connect(base_url="https://api.runware.ai/v1")


def test_dataclasses_have_the_promised_fields():
    img = GeneratedImage(image_uuid="u", task_uuid="t")
    for name in ("seed", "cost", "nsfw", "path", "sha256", "format", "width", "height", "nbytes", "url", "raw", "error"):
        assert hasattr(img, name)
    result = TaskResult(request=req(), task_uuid="t", images=[img])
    assert result.cost is None and not result.ok


# -- a changed request is a new task ------------------------------------------------------------------
def test_a_replaced_request_is_sent_as_a_new_task_not_answered_with_the_first_ones_images(fake, make_client):
    client = make_client()
    first = req()
    a = client.generate(first)
    b = client.generate(first.replace(prompt="A different poster that reads 'NOIR'"))
    assert b.task_uuid != a.task_uuid and not b.recovered
    assert fake.posts[1][0]["positivePrompt"] == "A different poster that reads 'NOIR'"
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "imageInference"]  # no getResponse of the first
    assert {i.sha256 for i in a.images}.isdisjoint({i.sha256 for i in b.images})


# -- conflictTaskUUID: whose task is it? -------------------------------------------------------------
def test_conflict_on_a_first_attempt_is_an_error_not_another_tasks_images(fake, make_client):
    """Another task owns the UUID (here: an earlier, different request sent under it): its images
    are not this request's, so they are never fetched as if they were (Runware's SDK raises too)."""
    theirs = req(prompt="Someone else's poster")
    fake.accept(theirs.to_task())
    mine = Request.from_task({**req(prompt="My poster").to_task(), "taskUUID": theirs.task_uuid})
    with pytest.raises(ConflictTaskUUIDError, match="another task owns") as info:
        make_client().generate(mine)
    assert info.value.attempts == 1 and info.value.task_uuid == theirs.task_uuid and "renew" in str(info.value)
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference"]  # no getResponse: nothing fetched
    assert not [c for c in fake.calls if c.method == "GET"]


def test_a_task_that_may_have_been_sent_before_fetches_its_results_on_conflict(fake, make_client):
    r = req(numberResults=2)
    fake.accept(r.to_task())  # sent by a run that crashed before it logged the answer
    result = make_client().generate(r, sent_before=True)
    assert result.ok and result.recovered and len(result.good_images) == 2
    assert fake.accepted[r.task_uuid] == 1
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "getResponse"]


@pytest.mark.parametrize("first, recovered", [("502", True), ("500", True), ("429", False)])
def test_conflict_after_a_retry_means_accepted_only_if_the_first_attempt_may_have_been(fake, make_client, first, recovered):
    def answer_then_fail(request, tasks):
        if first != "429":
            fake.accept(tasks[0])  # a gateway's 5xx after the API took the task
        return httpx.Response(int(first), json={"errors": [{"code": "x", "message": "busy", "taskUUID": tasks[0]["taskUUID"]}]})

    r = req()
    if not recovered:  # a 429 refused the task; someone else took the UUID meanwhile
        fake.accept(req(prompt="someone else").to_task() | {"taskUUID": r.task_uuid})
    fake.then(answer_then_fail)
    if recovered:
        result = make_client().generate(r)
        assert result.recovered and result.ok and fake.accepted[r.task_uuid] == 1 and result.attempts == 2
    else:
        with pytest.raises(ConflictTaskUUIDError, match="another task owns"):
            make_client().generate(r)


def test_a_batch_says_sent_before_for_every_task(fake, make_client):
    rs = [req(prompt=f"poster {i}") for i in range(2)]
    fake.accept(rs[0].to_task())
    out = make_client().send_batch(rs, sent_before=True)
    assert all(isinstance(o, TaskResult) and o.ok for o in out) and out[0].recovered and not out[1].recovered
    assert all(fake.accepted[r.task_uuid] == 1 for r in rs)


# -- "not yet" in getResponse answers ------------------------------------------------------------------
def test_progress_items_without_status_or_image_mean_not_yet(fake, make_client, sleeps):
    """Runware's Python SDK tests poll through items holding taskUUID, imageUUID and progress but no
    status and no image yet: not an image that finished without its bytes."""
    r = req(deliveryMethod="async", numberResults=2)
    u = r.task_uuid
    done = [_item(u, fake, 0), _item(u, fake, 1)]
    bare = [{"taskUUID": u, "imageUUID": d["imageUUID"], "progress": p} for d, p in zip(done, (30, 60))]
    said = [{**b, "taskType": "imageInference", "status": "processing"} for b in bare]
    fake.then(
        respond({"data": []}),  # an async acknowledgement may be empty
        respond({"data": bare}),
        respond({"data": [said[0], {k: v for k, v in bare[1].items() if k != "progress"}]}),
        respond({"data": [done[0], said[1]]}),
        respond({"data": [{k: v for k, v in done[0].items() if k != "status"}, done[1]]}),
    )
    result = make_client(poll_initial=1.0, poll_max=1.0).generate(r)
    assert result.ok and len(result.good_images) == 2 and result.errors == []
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference"] + ["getResponse"] * 4
    assert sorted(i.image_uuid for i in result.images) == sorted(d["imageUUID"] for d in done)


# -- past the sync cap ------------------------------------------------------------------------------
def test_a_read_timeout_is_polled_for_not_sent_again(fake, make_client):
    """Past our read timeout (150 s, beyond Runware's ~120 s sync cap) a long task may still be running,
    so its results are fetched with getResponse; re-sending it would only be told conflictTaskUUID."""
    fake.then(accept_then(httpx.ReadTimeout))
    r = req(numberResults=2)
    result = make_client().generate(r)
    assert result.ok and result.recovered and result.attempts == 1 and len(result.good_images) == 2
    assert [[t["taskType"] for t in p] for p in fake.posts] == [["imageInference"], ["getResponse"]]
    assert fake.accepted[r.task_uuid] == 1


def test_a_read_timeout_the_server_never_saw_is_sent_again_once(fake, make_client):
    fake.then(fail(httpx.ReadTimeout))  # the request never got through; getResponse does not know it
    r = req()
    result = make_client().generate(r)
    assert result.ok and not result.recovered and result.attempts == 2 and fake.accepted[r.task_uuid] == 1
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "getResponse", "imageInference"]


@pytest.mark.parametrize("then", [fail(httpx.ConnectError), status(429, {"code": "tooManyRequests"})],
                         ids=["refused-connection", "429"])
def test_a_timed_out_task_sent_again_stays_in_doubt_when_the_resend_fails(fake, make_client, then):
    """A sync POST timed out (it may have been taken), getResponse did not know it, and the resend
    under its taskUUID could not connect (or met 429s): the failure said sent=False, so a sweep
    logged the cell failed and sent it anew under a new taskUUID, paying twice if the first POST
    had been taken. The earlier POST still may have been: the error is in doubt."""
    fake.then(fail(httpx.ReadTimeout), lambda request, tasks: fake.answer(tasks), *[then] * 10)
    with pytest.raises(TransportError) as info:
        make_client().generate(req())
    assert info.value.sent is True and "an earlier POST of this task got no answer" in str(info.value)


def test_a_taskuuid_sent_in_capitals_and_echoed_in_lower_case_is_the_same_task(fake, make_client):
    """A taskUUID in capitals is a valid UUID v4 and is sent as given; Runware may echo it in lower
    case. The answer was matched letter for letter, so the paid image read as 'no result'."""
    def lower(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        answer = fake.answer(tasks)
        body = json.loads(answer.content)
        for item in body.get("data", []):
            item["taskUUID"] = item["taskUUID"].lower()
        return httpx.Response(answer.status_code, json=body)

    fake.then(lower)
    r = req(taskUUID="0C0CFD63-6F2E-4C1B-9A8E-3B7D2E5F1A90")
    result = make_client().generate(r)
    assert result.ok and len(result.good_images) == 1 and fake.accepted[r.task_uuid] == 1


def test_a_resend_refused_after_a_timeout_stays_in_doubt(fake, make_client):
    """The first POST timed out (it may have been taken), getResponse did not know it, and the
    resend was answered 402: the task was failed plainly, and a sweep sent it anew and paid
    twice. The earlier POST may have been taken: in doubt."""
    fake.then(fail(httpx.ReadTimeout), lambda request, tasks: fake.answer(tasks),
              status(402, {"code": "insufficientCredits", "message": "no credits left"}))
    with pytest.raises(TransportError) as info:
        make_client().generate(req())
    assert info.value.sent is True and "insufficientCredits" in str(info.value.__cause__ or info.value), info.value


def test_a_recovery_stops_retrying_once_asked_to(fake, make_client):
    """A sweep's wire closed (a refused key elsewhere, Ctrl-C) while a cell in doubt was asked
    about: its getResponse went on through every 429 and Retry-After, delaying the stop."""
    stop = threading.Event()

    def busy(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        stop.set()  # the run stops while this answer is on its way
        return httpx.Response(429, json={"errors": [{"code": "tooManyRequests", "message": "slow down"}]})

    fake.then(*[busy] * 6)
    with pytest.raises(QwenlabError):
        make_client().recover(req(), stop=stop)
    assert len(fake.posts) == 1, [p[0]["taskType"] for p in fake.posts]


def test_a_504_failed_task_timeout_is_polled_for_not_retried(fake, make_client, sleeps):
    def held_too_long(request, tasks):
        fake.accept(tasks[0])  # taken, and still running when the server stops holding the request
        return httpx.Response(504, json={"errors": [{"code": "failedTaskTimeout", "message": "Task timed out.",
                                                     "taskUUID": tasks[0]["taskUUID"], "taskType": "imageInference"}]})

    fake.then(held_too_long)
    r = req()
    result = make_client().generate(r)
    assert result.ok and result.recovered and result.attempts == 1 and result.http_status == 504
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "getResponse"]
    assert fake.accepted[r.task_uuid] == 1


def test_a_504_for_a_task_get_response_never_knows_is_left_in_doubt(fake, make_client):
    fake.then(status(504, {"code": "failedTaskTimeout"}))
    with pytest.raises(TransportError, match="recover") as info:
        make_client().generate(req())
    assert info.value.sent is True  # the runner keeps the cell 'sent' and recovers it later: never paid twice


def test_a_plain_504_is_retried_like_any_5xx(fake, make_client):
    fake.then(status(504, {"code": "timeoutProvider"}))
    result = make_client().generate(req())
    assert result.ok and result.attempts == 2 and not result.recovered


# -- a paid image is never thrown away ------------------------------------------------------------------
def test_an_image_in_another_format_than_asked_is_kept_and_the_mismatch_recorded(fake, make_client):
    png = image_bytes("PNG")

    def answer(tasks):
        fake.accepted[tasks[0]["taskUUID"]] += 1
        url = "https://im.runware.test/png-instead.png"
        fake.files[url] = png
        return {"data": [{"taskType": "imageInference", "taskUUID": tasks[0]["taskUUID"], "imageUUID": "i1",
                          "imageURL": url, "cost": 0.075}]}

    fake.then(respond(answer))
    result = make_client().generate(req(outputFormat="JPG"))
    img = result.images[0]
    assert result.ok and img.ok and img.path.read_bytes() == png and img.path.suffix == ".png"
    assert (img.format, img.format_requested, img.format_mismatch) == ("PNG", "JPEG", True)
    assert not make_client().generate(req()).images[0].format_mismatch


CDN = "https://cdn.imagedelivery.test"


def _cdn_client(fake, hops: dict[str, str], resolve: dict[str, list[str]], **kw: Any) -> tuple[RunwareClient, list[httpx.Request]]:
    """A client whose image URL (https://im.runware.test/start.jpg) redirects along `hops`."""
    gets: list[httpx.Request] = []

    def handler(request):
        if request.method != "GET":
            return fake(request)
        gets.append(request)
        url = str(request.url)
        if url in hops:
            return httpx.Response(302, headers={"Location": hops[url]})
        return httpx.Response(200, content=image_bytes())

    client = RunwareClient(KEY, transport=httpx.MockTransport(handler), sleep=lambda s: None, **kw)
    client._downloader.resolve = lambda host: resolve.get(host, [])
    fake.then(_url_answer(fake, "https://im.runware.test/start.jpg"))
    return client, gets


def test_an_image_url_redirected_to_an_https_cdn_is_followed_without_the_key(fake):
    hops = {"https://im.runware.test/start.jpg": f"{CDN}/a/1.jpg", f"{CDN}/a/1.jpg": f"{CDN}/b/1.jpg",
            f"{CDN}/b/1.jpg": "https://edge.imagedelivery.test/1.jpg"}
    client, gets = _cdn_client(fake, hops, {"cdn.imagedelivery.test": ["104.18.2.3"], "edge.imagedelivery.test": ["2606:4700::1"]})
    with client:
        result = client.generate(req())
    assert result.ok and len(gets) == 4  # three hops, the most followed
    assert all("authorization" not in g.headers for g in gets) and all(KEY not in str(g.headers) for g in gets)


@pytest.mark.parametrize("target, why", [
    ("http://cdn.imagedelivery.test/1.jpg", "plain http"),
    ("https://10.0.0.7/1.jpg", "private or loopback"),
    ("https://169.254.169.254/latest/meta-data", "private or loopback"),
    ("https://[::1]/1.jpg", "private or loopback"),
    ("https://localhost/1.jpg", "private or loopback"),
    ("https://internal.imagedelivery.test/1.jpg", "private or loopback"),  # a name for a private address
], ids=["http", "10/8", "metadata", "ipv6-loopback", "localhost", "resolves-private"])
def test_redirects_to_plain_http_or_private_addresses_are_refused(fake, target, why):
    client, gets = _cdn_client(fake, {"https://im.runware.test/start.jpg": target},
                               {"internal.imagedelivery.test": ["192.168.1.20"], "cdn.imagedelivery.test": ["104.18.2.3"]})
    with client:
        result = client.generate(req())
    img = result.images[0]
    assert not result.ok and isinstance(img.error, ImageError) and why in str(img.error)
    assert img.image_uuid == "x" and result.errors == [img.error]  # the paid image's loss is on record
    assert len(gets) == 1  # the target is never contacted


def test_more_than_three_redirects_are_refused(fake):
    hops = {f"{CDN}/{i}.jpg": f"{CDN}/{i + 1}.jpg" for i in range(5)}
    hops["https://im.runware.test/start.jpg"] = f"{CDN}/0.jpg"
    client, gets = _cdn_client(fake, hops, {"cdn.imagedelivery.test": ["104.18.2.3"]})
    with client:
        result = client.generate(req())
    assert not result.ok and "more than 3 times" in str(result.images[0].error) and len(gets) == 4


def test_an_api_on_loopback_may_redirect_images_to_loopback(fake):
    client, gets = _cdn_client(fake, {"https://im.runware.test/start.jpg": "https://127.0.0.2/1.jpg"}, {},
                               base_url="http://127.0.0.1:9/v1")
    with client:
        assert client.generate(req()).ok and str(gets[-1].url) == "https://127.0.0.2/1.jpg"


# -- whose cost is it? ------------------------------------------------------------------------------------
def _costed(fake: FakeRunware, per_item: Callable[[int], float]) -> Step:
    def answer(tasks):
        items = fake.accept({k: v for k, v in tasks[0].items() if k != "includeCost"})
        for item in items:
            item["cost"] = per_item(len(items))
        return {"data": items}

    return respond(answer)


@pytest.mark.parametrize("per_item, reading, total, each", [
    (lambda n: 0.075, "per_image", 0.3, 0.075),          # each item its own image's cost
    (lambda n: 0.075 * n, "per_task", 0.3, 0.075),       # every item the whole task's cost: counted once
    (lambda n: 0.5, "unchecked", 2.0, 0.5),              # matches neither: summed as reported
], ids=["per-image", "per-task", "unchecked"])
def test_costs_are_read_against_the_models_price(fake, make_client, per_item, reading, total, each):
    fake.then(_costed(fake, per_item))
    result = make_client().generate(req(numberResults=4))
    assert result.cost_reading == reading and result.cost == pytest.approx(total)
    assert [img.cost for img in result.images] == pytest.approx([each] * 4)
    assert all(img.raw["cost"] == pytest.approx(per_item(4)) for img in result.images)  # as reported


@pytest.mark.parametrize("reported, read", [("0.1125", 0.1125), (" 0.075 ", 0.075), ("n/a", None), ("nan", None),
                                             (True, None), (None, None), ([0.075], None)])
def test_a_cost_written_as_text_is_read_as_the_number(fake, make_client, reported, read):
    """An answer whose cost was the text "0.1125" (a raised price, written as a decimal string)
    was read as no cost: the cell counted at its estimate, 0.075, and a run paid past its budget
    while the log showed the estimate. A number in text is the number; anything else is no cost."""
    fake.then(_costed(fake, lambda n: reported))
    result = make_client().generate(req())
    assert result.cost == (pytest.approx(read) if read is not None else None)
    assert result.images[0].raw["cost"] == reported  # kept as it came


def test_one_image_and_no_cost_readings(fake, make_client):
    fake.then(_costed(fake, lambda n: 0.075))
    assert make_client().generate(req()).cost_reading == "per_image"
    result = make_client().generate(req(), include_cost=False)
    assert result.cost is None and result.cost_reading == "unchecked"


def test_a_whole_task_cost_for_the_images_that_came_is_counted_once(fake, make_client):
    """4 asked, 3 arrived, each item saying 0.225 (3 x the price): the task cost 0.225, not 0.675."""
    def three_of_four(tasks):
        items = fake.accept({**tasks[0], "numberResults": 3})
        for item in items:
            item["cost"] = 0.225
        return {"data": items}

    fake.then(respond(three_of_four))
    result = make_client().generate(req(numberResults=4))
    assert result.cost_reading == "per_task" and result.cost == pytest.approx(0.225)
    assert [e.code for e in result.errors] == ["missingResults"]


def test_reading_costs_twice_reads_the_same():
    from qwenlab.api.results import read_costs

    images = [GeneratedImage.from_item({"imageUUID": f"i{n}", "cost": 0.3}, "t") for n in range(4)]
    assert read_costs(images, 4, 0.075) == "per_task" == read_costs(images, 4, 0.075)
    assert [i.cost for i in images] == pytest.approx([0.075] * 4) and images[0].raw["cost"] == 0.3
