"""What the client does with answers that stand between a paid task and its images, shaped as
Runware documents them (an audit against its docs and SDKs found each one losing an image or
recording a task taken by the server as failed, and free, for the next run to send anew):

- a conflictTaskUUID after a resend proves the server took the task: if getResponse then does not
  know it, it is in doubt (TransportError, sent=True), never a failure to send again;
- a getResponse answer holding a task's error beside images already made keeps those images;
- a task with a webhookURL is async on Runware's side: an answer without its images is polled for;
- the client's read timeout outlasts Runware's sync cap, so the server's own 504 is read.

Scripted with httpx.MockTransport (the fake Runware of test_client.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qwenlab.errors import TransportError
from tests.api.test_client import accept_then, fake, make_client, req, respond, sleeps, status  # noqa: F401

NOT_FOUND = {"code": "taskFailedOrNotFound", "message": "Task not found or failed."}


def test_a_task_the_server_took_but_get_response_does_not_know_is_left_in_doubt(fake, make_client):  # noqa: F811
    # our read timeout, getResponse does not know the task, so it is sent again (same taskUUID):
    # conflictTaskUUID says the first POST was taken; getResponse still does not know it
    fake.then(accept_then(httpx.ReadTimeout), status(404, NOT_FOUND), lambda request, tasks: fake.answer(tasks),
              status(404, NOT_FOUND))
    r = req()
    with pytest.raises(TransportError, match="taken by the server") as info:
        make_client().generate(r)
    assert info.value.sent is True  # the runner keeps the cell 'sent' and asks again later
    assert "renew" in str(info.value) and fake.accepted[r.task_uuid] == 1
    kinds = [p[0]["taskType"] for p in fake.posts]
    assert kinds == ["imageInference", "getResponse", "imageInference", "getResponse"]


def test_an_error_beside_finished_images_keeps_the_images(fake, make_client):  # noqa: F811
    r = req(numberResults=2, deliveryMethod="async")
    made: list[dict[str, Any]] = []

    def acknowledge(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        made.extend(fake.accept(tasks[0]))  # charged for both; the second image will fail
        return httpx.Response(200, json={"data": [{"taskType": "imageInference", "taskUUID": r.task_uuid}]})

    fake.then(acknowledge, respond(lambda tasks: {
        "data": [{**made[0], "status": "success"}],
        "errors": [{"code": "inferenceError", "message": "the second image failed", "taskUUID": r.task_uuid}]}))
    result = make_client().generate(r)
    assert [i.image_uuid for i in result.good_images] == [made[0]["imageUUID"]]
    assert result.good_images[0].path and fake.gets[made[0]["imageURL"]] == 1
    assert any("the second image failed" in str(e) for e in result.errors)
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "getResponse"]  # ended: not polled on


def test_an_error_beside_images_still_waits_for_those_processing(fake, make_client):  # noqa: F811
    r = req(numberResults=3, deliveryMethod="async")
    made: list[dict[str, Any]] = []

    def acknowledge(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        made.extend(fake.accept(tasks[0]))
        return httpx.Response(200, json={"data": [{"taskType": "imageInference", "taskUUID": r.task_uuid}]})

    error = {"code": "inferenceError", "message": "one image failed", "taskUUID": r.task_uuid}
    fake.then(acknowledge,
              respond(lambda tasks: {"data": [{**made[0], "status": "success"},
                                              {"taskUUID": r.task_uuid, "imageUUID": made[1]["imageUUID"], "status": "processing"}],
                                     "errors": [error]}),
              respond(lambda tasks: {"data": [{**made[0], "status": "success"}, {**made[1], "status": "success"}],
                                     "errors": [error]}))
    result = make_client().generate(r)
    assert sorted(i.image_uuid for i in result.good_images) == sorted(m["imageUUID"] for m in made[:2])
    assert sum("one image failed" in str(e) for e in result.errors) == 1  # said once, not once per poll


def test_a_task_with_a_webhook_is_polled_for(fake, make_client):  # noqa: F811
    r = req(webhookURL="https://hooks.example.test/qwenlab")

    def queued(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        fake.accept(tasks[0])  # working on it; the result goes to the webhook (and getResponse)
        return httpx.Response(200, json={"data": []})

    fake.then(queued)
    result = make_client().generate(r)
    assert result.ok and len(result.good_images) == 1 and fake.accepted[r.task_uuid] == 1
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference", "getResponse"]


def test_the_read_timeout_outlasts_runwares_sync_cap(make_client):  # noqa: F811
    # a 504 failedTaskTimeout has been seen at about 122 s: a shorter read timeout never reads it,
    # and cannot tell a task the server took from one it never saw
    assert make_client().timeout > 125


def test_a_5xx_that_carries_a_result_is_read_not_retried(fake, make_client):  # noqa: F811
    """A 500 holding the task's finished image beside an error for its second one: the image is
    paid for, and a retry would only be told conflictTaskUUID while its URL was thrown away."""
    r = req(numberResults=2)
    made: list[dict[str, Any]] = []

    def partly(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        made.extend(fake.accept(tasks[0]))
        return httpx.Response(500, json={"data": [made[0]], "errors": [
            {"code": "timeoutProvider", "message": "the provider timed out", "taskUUID": r.task_uuid}]})

    fake.then(partly, status(404, NOT_FOUND), status(404, NOT_FOUND))  # getResponse does not know sync tasks
    result = make_client().generate(r)
    assert [i.image_uuid for i in result.good_images] == [made[0]["imageUUID"]]
    assert any("timed out" in str(e) for e in result.errors)
    assert [p[0]["taskType"] for p in fake.posts] == ["imageInference"] and fake.accepted[r.task_uuid] == 1


def test_a_task_without_a_result_in_a_5xx_batch_answer_is_asked_about(fake, make_client):  # noqa: F811
    first, second = req(), req(prompt="A poster that reads 'NOIR'")

    def half(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        done = fake.accept(tasks[0])
        fake.accept(tasks[1])  # taken too, its answer lost behind the 500
        return httpx.Response(500, json={"data": done, "errors": [
            {"code": "inferenceError", "message": "upstream trouble", "taskUUID": second.task_uuid}]})

    fake.then(half)
    results = make_client().send_batch([first, second])
    assert all(res.ok for res in results), results
    assert fake.accepted[first.task_uuid] == fake.accepted[second.task_uuid] == 1  # each paid once
    kinds = [[t["taskType"] for t in p] for p in fake.posts]
    assert kinds == [["imageInference", "imageInference"], ["getResponse"]]


def test_a_5xx_that_only_acknowledges_a_task_is_retried_not_failed(fake, make_client):  # noqa: F811
    """A 500 holding an async acknowledgement (no image) beside an error, after the API took the
    task: retried like any 5xx (conflictTaskUUID: taken), then polled for; never failed, which
    would have the next run send it anew and pay twice."""
    r = req(deliveryMethod="async")

    def took_then_500(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        fake.accept(tasks[0])
        return httpx.Response(500, json={"data": [{"taskType": "imageInference", "taskUUID": r.task_uuid}],
                                         "errors": [{"code": "serverError", "message": "busy", "taskUUID": r.task_uuid}]})

    fake.then(took_then_500)
    result = make_client().generate(r)
    assert result.ok and fake.accepted[r.task_uuid] == 1


def test_a_poll_answered_5xx_with_progress_asks_again(fake, make_client):  # noqa: F811
    r = req(deliveryMethod="async")

    def acknowledge(request: httpx.Request, tasks: list[dict[str, Any]]) -> httpx.Response:
        fake.accept(tasks[0])
        return httpx.Response(200, json={"data": [{"taskType": "imageInference", "taskUUID": r.task_uuid}]})

    fake.then(acknowledge, respond({"data": [{"taskUUID": r.task_uuid, "status": "processing"}],
                                    "errors": [{"message": "busy", "taskUUID": r.task_uuid}]}, code=503))
    result = make_client().generate(r)  # the next poll (the fake's own answer) has the image
    assert result.ok and fake.accepted[r.task_uuid] == 1
    assert [p[0]["taskType"] for p in fake.posts].count("getResponse") >= 2
