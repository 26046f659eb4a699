"""The emulator follows what is known of Runware's wire (../shared/runware-api.md, "What Runware's
own SDKs show"): its error codes, no Retry-After on 429 unless asked for, a 504 fault, a sync cap
answered 504 failedTaskTimeout while the task goes on, and webhook bodies that are the bare item.
This is what the emulator does, not evidence of what Runware does."""

from __future__ import annotations

import time
import uuid

import pytest

from qwenlab.emulator import Emulator, Faults
from tests.support.wire import http_client, task
from tests.support.wire import poll_until_done as poll


@pytest.fixture
def http():
    yield from http_client()


# -- error codes the SDKs name -------------------------------------------------------------------------
@pytest.mark.parametrize("params, code, parameter", [
    ({"seed": 42}, "unsupportedParameter", "seed"),  # a parameter other models take
    ({"positivePromt": "typo"}, "unknownParameter", "positivePromt"),  # a key no model takes
    ({"negativePrompt": "blurry", "inputs": {"referenceImages": ["https://example.com/a.jpg"]}},
     "incompatibleParameters", None),
    ({"positivePrompt": ""}, "invalidPositivePrompt", "positivePrompt"),
    ({"positivePrompt": None}, "missingPositivePrompt", "positivePrompt"),
], ids=["unsupported", "unknown", "incompatible", "invalid-prompt", "missing-prompt"])
def test_validation_errors_carry_runwares_codes(emulator, http, params, code, parameter):
    response = http.post(emulator.url, json=[task(**params)])
    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert item["code"] == code and item["parameter"] in item["message"]
    if parameter:
        assert item["parameter"] == parameter
    assert len(emulator.ledger) == 0


def test_a_value_outside_an_enum_names_its_type_and_allowed_values(emulator, http):
    (item,) = http.post(emulator.url, json=[task(outputFormat="GIF")]).json()["errors"]
    assert item["parameter"] == "outputFormat" and item["type"] == "string"
    assert item["allowedValues"] == ["JPG", "PNG", "WEBP"]


def test_conflict_and_unknown_task_codes(emulator, http):
    t = task()
    assert http.post(emulator.url, json=[t]).status_code == 200
    again = http.post(emulator.url, json=[t])
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "conflictTaskUUID"
    unknown = http.post(emulator.url, json=[{"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}])
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "taskFailedOrNotFound"


# -- 429 and 504 --------------------------------------------------------------------------------------------
def test_429_has_no_retry_after_unless_asked_for(http):
    with Emulator() as emu:
        emu.script(["429"])
        response = http.post(emu.url, json=[task()])
        assert response.status_code == 429 and "retry-after" not in response.headers and len(emu.ledger) == 0
    with Emulator(faults=Faults(retry_after=3)) as emu:
        emu.script(["429"])
        assert http.post(emu.url, json=[task()]).headers["Retry-After"] == "3"


def test_the_504_fault_answers_failed_task_timeout_while_the_task_goes_on(http):
    with Emulator(latency=0.3) as emu:
        t = task(numberResults=2)
        emu.script(["504"])
        started = time.monotonic()
        response = http.post(emu.url, json=[t])
        assert time.monotonic() - started < 0.3  # answered before the images were ready
        assert response.status_code == 504
        (item,) = response.json()["errors"]
        assert item["code"] == "failedTaskTimeout" and item["taskUUID"] == t["taskUUID"]
        items = poll(http, emu, t["taskUUID"])
        assert [i["status"] for i in items] == ["success", "success"]
        assert len(emu.ledger) == 2 and emu.ledger.charged_twice() == []


def test_a_sync_request_past_the_cap_is_answered_504_and_the_task_goes_on(http):
    with Emulator(latency=0.8, sync_cap=0.2) as emu:
        t = task()
        started = time.monotonic()
        response = http.post(emu.url, json=[t])
        held = time.monotonic() - started
        assert response.status_code == 504 and 0.2 <= held < 0.7
        assert response.json()["errors"][0]["code"] == "failedTaskTimeout"
        assert poll(http, emu, t["taskUUID"])[0]["status"] == "success"
        assert len(emu.ledger) == 1
        fast = task()
        emu.faults = emu.faults.replace(latency=0.0)
        assert http.post(emu.url, json=[fast]).status_code == 200  # under the cap: answered as usual


def test_async_requests_are_never_capped(http):
    with Emulator(latency=0.5, sync_cap=0.1) as emu:
        t = task(deliveryMethod="async")
        assert http.post(emu.url, json=[t]).status_code == 200
        assert poll(http, emu, t["taskUUID"])[0]["status"] == "success"


def test_faults_parse_the_new_settings():
    f = Faults.parse("sync_cap=5 rate_504=0.1 retry_after=none")
    assert (f.sync_cap, f.rate_504, f.retry_after) == (5.0, 0.1, None)
    assert Faults().sync_cap == 120.0 and Faults().retry_after is None
    with pytest.raises(ValueError, match="rate_504"):
        Faults(rate_504=2)
