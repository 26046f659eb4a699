"""The client against answers shaped as Runware documents them (tests/api/fixtures/, each naming
its source), through httpx.MockTransport: no network, no sleeping."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from qwenlab.api.client import RunwareClient
from qwenlab.core.request import Request
from qwenlab.errors import (
    APIError,
    BadRequestError,
    ConflictTaskUUIDError,
    RateLimitError,
    TaskFailedError,
    TransportError,
)

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "sk-fixtures-test-5e1d"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (120, 30, 200)).save(buf, format="JPEG")
    return buf.getvalue()


class Scripted:
    """Answers the client's POSTs with a fixture's steps (the last one repeats); any image URL
    answers a JPEG. Records every request."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        self.steps = list(fixture["steps"])
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.method == "GET":
            return httpx.Response(200, content=jpeg()) if request.url.scheme == "https" else httpx.Response(404)
        task_uuid = json.loads(request.content)[0]["taskUUID"]
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        body = json.loads(json.dumps(step["body"]).replace("{taskUUID}", task_uuid))
        return httpx.Response(step["status"], json=body, headers=step.get("headers"))

    @property
    def posts(self) -> list[str]:
        return [json.loads(c.content)[0]["taskType"] for c in self.calls if c.method == "POST"]


@pytest.fixture
def run(tmp_path: Path):
    sleeps: list[float] = []

    def run_fixture(name: str | dict[str, Any], **kw: Any) -> tuple[Any, Scripted, Request, list[float]]:
        fixture = load(name) if isinstance(name, str) else name
        server = Scripted(fixture)
        request = Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536", **fixture.get("request", {}))
        client = RunwareClient(KEY, transport=httpx.MockTransport(server), images_dir=tmp_path / "images",
                               sleep=sleeps.append, max_retries=kw.pop("max_retries", 2))
        try:
            outcome: Any = client.generate(request, **fixture.get("generate", {}))
        except Exception as exc:  # noqa: BLE001 - the error is what some tests look at
            outcome = exc
        finally:
            client.close()
        return outcome, server, request, sleeps

    return run_fixture


def test_every_fixture_names_its_source_and_is_listed_in_the_readme() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 12
    for name in names:
        fixture = load(name)
        assert fixture["_source"].strip() and fixture["steps"], name
        assert f"`{name}`" in readme, name


def test_the_seed_pages_response(run) -> None:
    result, server, request, _ = run("sync_success_seed_example.json")
    img = result.images[0]
    assert result.ok and img.seed == 1196265337 and img.cost == 0.075 and result.cost_reading == "per_image"
    assert img.image_uuid == "8071e34d-a7f5-4777-b8b6-9656df46513b" and img.path.is_file()
    assert server.posts == ["imageInference"]


def test_a_sync_item_with_only_an_image_url(run) -> None:
    result, server, _, _ = run("sync_success_no_image_uuid_no_status.json")
    assert result.ok and result.images[0].image_uuid is None and server.posts == ["imageInference"]


def test_an_empty_acknowledgement_then_progress_items_then_the_image(run) -> None:
    result, server, _, _ = run("async_ack_empty_then_progress_items.json")
    assert result.ok and [i.image_uuid for i in result.images] == ["i1"] and result.errors == []
    assert server.posts == ["imageInference"] + ["getResponse"] * 3


def test_a_placeholder_then_processing_items_with_progress(run) -> None:
    result, server, _, _ = run("async_placeholder_then_processing_status.json")
    assert result.ok and sorted(i.image_uuid for i in result.images) == ["a1", "a2"] and result.cost == 0.15
    assert server.posts == ["imageInference"] + ["getResponse"] * 3


def test_one_image_failed_inside_a_poll(run) -> None:
    result, _, _, _ = run("poll_item_error.json")
    failed = [i for i in result.images if i.error is not None]
    assert len(result.good_images) == 1 and len(failed) == 1 and not result.ok
    assert isinstance(failed[0].error, TaskFailedError) and failed[0].error.code == "inferenceError"


def test_an_error_with_type_min_max(run) -> None:
    exc, server, request, _ = run("error_invalid_width.json")
    assert isinstance(exc, BadRequestError) and exc.code == "invalidWidth" and exc.parameter == "width"
    assert exc.details["min"] == 256 and exc.details["max"] == 16383 and exc.details["type"] == "integer"
    assert exc.task_uuid == request.task_uuid and server.posts == ["imageInference"]


def test_an_error_naming_a_list_of_parameters_and_allowed_values(run) -> None:
    exc, _, _, _ = run("error_parameter_list_allowed_values.json")
    assert isinstance(exc, BadRequestError) and exc.parameters == ["inputs.referenceImages", "negativePrompt"]
    assert "inputs.referenceImages, negativePrompt" in str(exc) and "allowed: JPG, PNG, WEBP" in str(exc)


def test_an_invalid_positive_prompt_is_not_retried(run) -> None:
    exc, server, _, _ = run("error_invalid_positive_prompt.json")
    assert isinstance(exc, BadRequestError) and exc.code == "invalidPositivePrompt" and exc.attempts == 1
    assert server.posts == ["imageInference"]


def test_conflict_on_a_first_attempt(run) -> None:
    exc, server, _, _ = run("error_conflict_task_uuid.json")
    assert isinstance(exc, ConflictTaskUUIDError) and server.posts == ["imageInference"]


def test_a_504_failed_task_timeout_then_the_image(run) -> None:
    result, server, _, _ = run("error_failed_task_timeout_504.json")
    assert result.ok and result.recovered and result.attempts == 1
    assert server.posts == ["imageInference", "getResponse"]


def test_an_unknown_task_is_not_recovered(tmp_path: Path) -> None:
    server = Scripted(load("error_task_failed_or_not_found.json"))
    with RunwareClient(KEY, transport=httpx.MockTransport(server), images_dir=tmp_path, sleep=lambda s: None) as client:
        assert client.recover(Request(prompt="A poster")) is None
    assert server.posts == ["getResponse"]


def test_a_429_without_retry_after_is_retried_with_backoff(run) -> None:
    exc, server, _, sleeps = run("rate_limited_429_without_retry_after.json", max_retries=3)
    assert isinstance(exc, RateLimitError) and exc.retry_after is None and exc.attempts == 4
    assert len(sleeps) == 3 and all(0 <= s <= 30 for s in sleeps)


def test_images_without_an_image_uuid_that_change_places_between_polls(run) -> None:
    """Runware/runware-typescript test/rest-polling.test.ts lines 167-205: getResponse items name
    no imageUUID, and the image done first is listed last in one poll and first in the next
    (src/client.ts lines 754-758 read them by status alone). Each image is fetched once, and none
    is taken for another: keyed by their place among the finished ones, the first image (paid
    for) was never fetched and the third fetched twice."""
    result, server, _, _ = run("async_unnamed_items_reordered.json")
    fetched = [str(c.url) for c in server.calls if c.method == "GET"]
    names = ["https://im.runware.test/a.jpg", "https://im.runware.test/b.jpg", "https://im.runware.test/c.jpg"]
    assert sorted(fetched) == names
    assert result.ok and sorted(i.url for i in result.images) == names
    assert server.posts == ["imageInference"] + ["getResponse"] * 2


def test_an_answer_that_is_a_bare_array_of_items(run) -> None:
    """Runware/runware-python runware/client.py lines 1120-1133 and Runware/runware-typescript
    src/client.ts lines 562-568 read a JSON array body as the result items. Refused as garbled, the
    paid task was sent again (same taskUUID) until the retries ran out, left in doubt."""
    result, server, _, _ = run("sync_success_bare_array.json")
    assert result.ok and result.images[0].seed == 1196265337 and result.cost == 0.075
    assert server.posts == ["imageInference"]


def test_an_error_answer_that_is_a_bare_array(run) -> None:
    """Runware/runware-python runware/errors.py lines 359-373: a list of errors is one of the shapes
    the API can return. Its code and parameter were lost (the error said only its raw text)."""
    exc, server, _, _ = run("error_bare_array.json")
    assert isinstance(exc, BadRequestError) and exc.code == "invalidPositivePrompt"
    assert exc.parameter == "positivePrompt" and str(exc).startswith("bad prompt")
    assert server.posts == ["imageInference"]


def test_a_conflict_given_as_a_bare_error_object_fetches_the_task(run) -> None:
    """Runware/runware-python runware/errors.py lines 359-364 and 387-388 (Runware/runware-typescript
    src/errors.ts lines 315-328): a body that is one error dict is the error. A conflictTaskUUID in
    that shape, to a task the runner may have sent before, read as a plain 400 "HTTP 400": the
    cell failed and a later run bought it anew under a new taskUUID, its first image paid and lost."""
    result, server, _, _ = run("error_conflict_bare_object_then_image.json")
    assert result.ok and result.recovered and result.images[0].image_uuid == "c1"
    assert server.posts == ["imageInference", "getResponse"]


def test_two_inline_images_alike_without_an_image_uuid_are_two_images(tmp_path: Path) -> None:
    """Items without an imageUUID are named by their payload (above), and inline bytes may come out
    alike for two results (a blank image, say): each is still a slot of its own, paid for and
    counted, not one image and a "missing" one. Item shape: Runware/runware-python
    tests/test_sync_delivery.py (taskUUID and the image only), with imageBase64Data (the model
    page's outputType base64Data)."""
    import base64

    item = {"taskUUID": "{taskUUID}", "imageBase64Data": base64.b64encode(jpeg()).decode("ascii"), "cost": 0.075}
    server = Scripted({"steps": [{"status": 200, "body": {"data": [item, item]}}]})
    request = Request(prompt="A poster", size="1024x1536", numberResults=2, outputType="base64Data")
    with RunwareClient(KEY, transport=httpx.MockTransport(server), images_dir=tmp_path, sleep=lambda s: None) as client:
        result = client.generate(request)
    assert result.ok and len(result.good_images) == 2 and result.cost == 0.15


def test_an_answer_that_is_one_result_item_on_its_own(run) -> None:
    """The model page shows each example's Response as one bare item, and Runware/runware-typescript
    src/client.ts lines 562-569 (toResultsArray) reads a lone object as the one result. Refused as
    garbled, the paid image's URL was dropped: the task was sent again, told conflictTaskUUID,
    then polled with getResponse (answering the same shape) until poll_timeout, left in doubt."""
    result, server, _, _ = run("sync_success_bare_item.json")
    assert result.ok and result.images[0].image_uuid == "e0784859-029b-4cc1-91e8-d8e1d57fd34e"
    assert result.images[0].seed == 1702113700 and result.cost == 0.075 and result.images[0].path.is_file()
    assert server.posts == ["imageInference"]


def test_an_acknowledgement_and_a_poll_answer_each_one_bare_object(run) -> None:
    """deliveryMethod async, acknowledged with one bare object naming the task, then a getResponse
    answer that is the page's example item, bare: the acknowledgement is "processing" (polled for,
    not sent again) and the image is kept."""
    result, server, _, _ = run("async_bare_placeholder_then_bare_item.json")
    assert result.ok and result.images[0].image_uuid == "0aa1b545-ac21-4397-a249-ee6149ab66c1"
    assert server.posts == ["imageInference", "getResponse"]


@pytest.mark.parametrize("acknowledgement", ["placeholder", "empty"])
def test_a_task_the_server_acknowledged_then_does_not_know_is_in_doubt(run, acknowledgement: str) -> None:
    """A 2xx answer took the task (a placeholder still processing, or async's empty {"data": []}),
    then getResponse answers taskFailedOrNotFound, one code for "failed" and "not known". It was a
    TaskNotFoundError: the runner failed the cell and the next run bought it anew under a new
    taskUUID, the first perhaps paid. Now in doubt (sent, answered), as a conflictTaskUUID then
    not-found already was: asked about again, never bought again on that alone."""
    fixture = load("processing_then_task_failed_or_not_found.json")
    if acknowledgement == "empty":
        fixture["steps"][0]["body"] = {"data": []}
        fixture["request"] = {"deliveryMethod": "async"}
    exc, server, request, _ = run(fixture)
    assert isinstance(exc, TransportError) and exc.sent is True and exc.answered is True, repr(exc)
    assert exc.task_uuid == request.task_uuid and "may have been paid for" in str(exc)
    assert server.posts == ["imageInference", "getResponse"]


def test_an_upload_answered_with_data_as_one_object(tmp_path: Path) -> None:
    """Runware's Image Upload page shows its Response as {"data": {taskType, taskUUID, imageUUID}}:
    `data` one object, not an array. Refused as garbled, the upload was sent again and again and
    failed, and every cell with a local reference image failed with it (nothing paid, nothing made)."""
    server = Scripted(load("upload_data_as_one_object.json"))
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(buf, format="PNG")
    with RunwareClient(KEY, transport=httpx.MockTransport(server), images_dir=tmp_path, sleep=lambda s: None) as client:
        assert client.upload_image(buf.getvalue()) == "989ba605-1449-4e1e-b462-cd83ec9c1a67"
    assert server.posts == ["imageUpload"]


def test_an_image_answered_with_data_as_one_object(run) -> None:
    """The same shape for an inference answer: its image is kept, not dropped as garbled."""
    item = load("sync_success_seed_example.json")["steps"][0]["body"]["data"][0]
    result, server, _, _ = run({"steps": [{"status": 200, "body": {"data": item}}]})
    assert result.ok and result.images[0].image_uuid == item["imageUUID"] and result.cost == 0.075
    assert server.posts == ["imageInference"]


@pytest.mark.parametrize("status", [200, 400])
def test_a_pre_stream_error_envelope_is_that_tasks_refusal(run, status: int) -> None:
    """Runware/runware-python runware/errors.py lines 360-364 and 382-386 read a body
    `{"error": {code, message}, "taskUUID", "taskType"}` (its "pre-stream HTTP errors") as that
    task's error, the taskUUID taken from beside it, and runware/client.py line 1123
    (`_extract_items`) raises it from a 2xx answer too; Runware/runware-typescript src/errors.ts
    lines 320-326 read it so. Under a 2xx it was taken for a garbled answer: sent again and again,
    then left in doubt (to be asked about at every run) for a request the server had refused. Now
    it is the refusal it is: one POST, not polled, the task's own APIError, not in doubt."""
    fixture = load("error_pre_stream_envelope_2xx.json")
    fixture["steps"][0]["status"] = status
    exc, server, request, _ = run(fixture)
    assert isinstance(exc, APIError) and not isinstance(exc, TransportError), repr(exc)
    assert exc.code == "invalidPositivePrompt" and "Invalid value for positivePrompt" in str(exc)
    assert exc.task_uuid == request.task_uuid
    assert server.posts == ["imageInference"]


@pytest.mark.parametrize("status", [200, 400])
def test_a_pre_stream_error_in_a_batch_is_the_task_it_names(tmp_path: Path, status: int) -> None:
    """The envelope's taskUUID says whose error it is: in a batch of two, the task it names is
    refused with it. Under a 2xx the other, named by nothing in the answer, is asked about (never
    failed, which would buy it again), as a 2xx answer that holds nothing for a task is; under a
    400 the POST was refused, and the other task with it. The taskUUID beside the error was
    dropped: under a 2xx both tasks were in doubt, under a 400 both had the one task's error."""
    requests = [Request(prompt="A poster that reads 'ONE'", size="1024x1536"),
                Request(prompt="A poster that reads 'TWO'", size="1024x1536")]
    refused, other = requests[1].task_uuid, requests[0].task_uuid
    item = load("sync_success_seed_example.json")["steps"][0]["body"]["data"][0]
    posts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, content=jpeg())
        task = json.loads(request.content)[0]
        posts.append(task["taskType"])
        if task["taskType"] == "getResponse":
            return httpx.Response(200, json={"data": [{**item, "taskUUID": task["taskUUID"]}]})
        return httpx.Response(status, json={"error": {"code": "invalidPositivePrompt", "message": "no"},
                                         "taskUUID": refused, "taskType": "imageInference"})

    with RunwareClient(KEY, transport=httpx.MockTransport(handler), images_dir=tmp_path, sleep=lambda s: None) as client:
        first, second = client.send_batch(requests)
    assert isinstance(second, APIError) and not isinstance(second, TransportError) and second.task_uuid == refused
    assert second.code == "invalidPositivePrompt"
    if status == 200:
        assert not isinstance(first, Exception) and first.ok and first.task_uuid == other
        assert posts == ["imageInference", "getResponse"]
    else:  # a 400 refuses the POST: the other task is refused with it, but not with this one's error
        assert isinstance(first, APIError) and not isinstance(first, TransportError) and first.code is None
        assert posts == ["imageInference"]


def test_a_run_refused_with_a_pre_stream_error_fails_its_cell_unpaid(tmp_path: Path) -> None:
    """Through a run: the cell refused with the envelope under a 2xx is failed, at no cost, and
    asked about by no later run; it stayed in doubt (sent, no answer logged) before."""
    from qwenlab import Lab, Sweep

    body = load("error_pre_stream_envelope_2xx.json")["steps"][0]["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404)
        task = json.loads(request.content)[0]
        return httpx.Response(200, json=json.loads(json.dumps(body).replace("{taskUUID}", task["taskUUID"])))

    with RunwareClient(KEY, transport=httpx.MockTransport(handler), images_dir=tmp_path / "images", sleep=lambda s: None,
                       max_retries=1, poll_timeout=0.5, poll_initial=0.01) as client:
        exp = Lab(tmp_path, client=client).run(Sweep(prompt="A poster", size="1024x1536"), name="refused", progress=False)
    assert exp.counts()["failed"] == 1 and exp.counts()["in_doubt"] == 0 and exp.cost == 0
    assert exp.df["error_code"].tolist() == ["invalidPositivePrompt"]
