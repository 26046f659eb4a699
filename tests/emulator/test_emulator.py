"""The offline emulator over real HTTP on loopback: the wire contract, delivery, faults, ledger."""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image, ImageStat

from qwenlab.cli import cli
from qwenlab.emulator import Emulator, Faults, start_embedded
from qwenlab.emulator.loopback import is_loopback_host
from tests.support.seed_examples import (
    example_request_texts,
    example_requests,
    example_responses,
)
from tests.support.wire import http_client, poll_until_done, task


# -- helpers ---------------------------------------------------------------------------------------
@pytest.fixture
def http():
    yield from http_client()


@pytest.fixture
def no_outbound(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail (and record) any name lookup of a non-loopback host made in this process."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guard(host, *args, **kwargs):
        if not is_loopback_host(str(host)):
            attempts.append(str(host))
            raise OSError(f"test forbids connecting to {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guard)
    return attempts


def post(http: httpx.Client, emu: Emulator, *tasks: dict, **kw) -> httpx.Response:
    return http.post(emu.url, json=list(tasks), **kw)


def image_of(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def is_uuid4(text: str) -> bool:
    return uuid.UUID(text).version == 4


# -- the seed page's examples ----------------------------------------------------------------------
@pytest.mark.parametrize("index", range(4))
def test_seed_example_posted_as_written_gets_the_seed_response_shape(emulator, http, no_outbound, index):
    text = example_request_texts()[index]
    response = http.post(emulator.url, content=("[" + text + "]").encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["X-Qwenlab-Emulator"] == "synthetic"
    (item,) = response.json()["data"]
    expected = example_responses()[index]
    assert set(expected) - {"cost"} <= set(item)
    assert "cost" not in item  # the examples do not set includeCost
    request = example_requests()[index]
    assert item["taskUUID"] == request["taskUUID"] and item["taskType"] == "imageInference"
    assert is_uuid4(item["imageUUID"]) and isinstance(item["seed"], int) and item["NSFWContent"] is False
    img = image_of(http.get(item["imageURL"]).content)
    assert img.format == "JPEG" and img.size == (request["width"], request["height"])
    assert no_outbound == []  # the first example's https://assets.runware.ai reference was not fetched


@pytest.mark.parametrize("index", range(4))
def test_seed_example_with_include_cost_reports_the_models_price(emulator, http, index):
    request = dict(example_requests()[index], includeCost=True)
    (item,) = post(http, emulator, request).json()["data"]
    assert item["cost"] == 0.075
    assert emulator.ledger.total() == 0.075


@pytest.fixture(scope="module")
def cli_emulator():
    """`qwenlab emulator` itself, as a user starts it, on a free loopback port."""
    proc = subprocess.Popen([sys.executable, "-m", "qwenlab.cli", "emulator", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("include_cost", [False, True])
def test_curl_posts_each_seed_example_to_qwenlab_emulator(cli_emulator, index: int, include_cost: bool):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    task = example_requests()[index]
    task["taskUUID"] = str(uuid.uuid4())  # the module's server is shared; each taskUUID is used once
    if include_cost:
        task["includeCost"] = True
    out = subprocess.run([curl, "-s", "--noproxy", "*", "-H", "Authorization: Bearer curl-key", "-H", "Content-Type: application/json",
                          "--data-binary", "@-", cli_emulator], input=json.dumps([task]).encode(), capture_output=True,
                         timeout=30, check=True)
    (item,) = json.loads(out.stdout)["data"]
    expected = example_responses()[index]
    # the seed's response shape: the same fields (cost only when asked for), the same kinds of values
    assert set(expected) - {"cost"} <= set(item)
    assert item["taskUUID"] == task["taskUUID"] and item["taskType"] == "imageInference"
    assert uuid.UUID(item["imageUUID"]).version == 4 and isinstance(item["seed"], int)
    assert item["imageURL"].startswith(cli_emulator.removesuffix("/v1") + "/images/")
    if include_cost:
        assert item["cost"] == expected["cost"] == 0.075
    else:
        assert "cost" not in item


# -- validation --------------------------------------------------------------------------------------
def test_negative_prompt_of_501_characters_is_rejected_and_not_charged(emulator, http):
    response = post(http, emulator, task(negativePrompt="x" * 501))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["parameter"] == "negativePrompt"
    assert {"code", "message", "parameter", "taskType", "taskUUID", "documentation"} <= set(error)
    assert len(emulator.ledger) == 0


def test_seed_on_2_0_pro_is_an_unsupported_parameter(emulator, http):
    response = post(http, emulator, task(seed=42))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "unsupportedParameter" and error["parameter"] == "seed"


def test_a_dotted_key_is_not_taken_for_the_nested_parameter(emulator, http):
    """The page says provider settings "must be nested inside the providerSettings.alibaba
    object": a top-level key named "providerSettings.alibaba.promptExtend" is a key Runware's
    schema does not declare, so it is refused, not drawn as promptExtend off."""
    response = post(http, emulator, task(**{"providerSettings.alibaba.promptExtend": False}))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["parameter"] == "providerSettings.alibaba.promptExtend"
    assert error["code"] in ("unsupportedParameter", "unknownParameter") and "nest it" in error["message"]
    assert len(emulator.ledger) == 0


def test_unknown_task_type_is_an_error_item(emulator, http):
    response = post(http, emulator, {"taskType": "videoInference", "taskUUID": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "taskType"


def test_body_that_is_not_a_json_array_is_a_400_with_a_json_body(emulator, http):
    for content in (b"{not json", b'{"taskType": "ping"}', b"[]"):
        response = http.post(emulator.url, content=content)
        assert response.status_code == 400 and response.json()["errors"]


@pytest.mark.parametrize("content", [
    b"[" * 100_000 + b"]" * 100_000,                            # nested past the parser's depth
    b'[{"taskType": "ping", "ping": true, "n": ' + b"9" * 5000 + b"}]",  # past Python's int-digits limit
    b'[{"taskType": "ping", "ping": true, "n": NaN}]',        # not JSON, though Python's json reads it
    b'[{"taskType": "ping", "ping": true, "n": -Infinity}]',
])
def test_a_body_that_is_not_strict_json_is_a_400_never_an_emulator_failure(emulator, http, content):
    # runware-api.md "Transport": the body is a JSON array; "Responses": bad request -> 400, bodies JSON
    response = http.post(emulator.url, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidJson"
    assert emulator.internal_errors == []


def _raw_exchange(emu: Emulator, head: bytes) -> bytes:
    with socket.create_connection((emu.host, emu.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("framing", [b"Content-Length: abc", b"Content-Length: -5",
                                     b"Transfer-Encoding: chunked\r\n\r\nzz"])
def test_a_body_whose_length_cannot_be_read_is_a_json_400(emulator, framing):
    head = b"POST /v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n" + framing + b"\r\n\r\n[]\r\n0\r\n\r\n"
    answer = _raw_exchange(emulator, head)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 400"), answer[:200]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["errors"][0]["code"] == "invalidRequestBody"
    assert emulator.internal_errors == []


# -- auth ------------------------------------------------------------------------------------------------
def test_missing_key_is_401_invalid_api_key(emulator):
    response = httpx.post(emulator.url, json=[{"taskType": "ping", "ping": True}], trust_env=False)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalidApiKey"
    assert response.headers["X-Qwenlab-Emulator"] == "synthetic"


def test_explicit_key_accepts_only_that_key_and_never_echoes_keys(caplog):
    caplog.set_level(logging.DEBUG, logger="qwenlab.emulator")
    secret, wrong = "sk-emulator-right-1234", "sk-emulator-wrong-5678"
    with Emulator(api_key=secret) as emu, httpx.Client(trust_env=False) as client:
        bad = client.post(emu.url, json=[task()], headers={"Authorization": f"Bearer {wrong}"})
        good = client.post(emu.url, json=[task()], headers={"Authorization": f"Bearer {secret}"})
        via_task = client.post(emu.url, json=[{"taskType": "authentication", "apiKey": secret}, task()])
        bad_task = client.post(emu.url, json=[{"taskType": "authentication", "apiKey": wrong}, {"taskType": "ping", "ping": True}])
        records = repr(emu.requests)
    assert bad.status_code == 401 and bad_task.status_code == 401
    assert good.status_code == 200 and via_task.status_code == 200 and len(via_task.json()["data"]) == 1
    for text in (bad.text, bad_task.text, records, caplog.text):
        assert secret not in text and wrong not in text
    assert all("authorization" not in {k.lower() for k in r.headers} for r in emu.requests)
    assert emu.requests[2].body[0]["apiKey"] == "***"


def test_any_non_empty_key_passes_when_none_is_configured(emulator):
    response = httpx.post(emulator.url, json=[{"taskType": "ping", "ping": True}], headers={"Authorization": "Bearer x"}, trust_env=False)
    assert response.json() == {"data": [{"taskType": "ping", "pong": True}]}


# -- the answer ----------------------------------------------------------------------------------------------
def test_reused_task_uuid_gets_conflict_and_is_never_charged_twice(emulator, http):
    t = task()
    assert post(http, emulator, t).status_code == 200
    again = post(http, emulator, t)
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "conflictTaskUUID"
    assert len(emulator.ledger) == 1 and emulator.ledger.charged_twice() == []


def test_number_results_gives_one_item_per_image_each_charged(emulator, http):
    t = task(numberResults=3, includeCost=True)
    items = post(http, emulator, t).json()["data"]
    assert len(items) == 3
    assert {i["taskUUID"] for i in items} == {t["taskUUID"]}
    assert len({i["imageUUID"] for i in items}) == 3 and len({i["seed"] for i in items}) == 3
    assert [c.image_uuid for c in emulator.ledger.by_task()[t["taskUUID"]]] == [i["imageUUID"] for i in items]
    assert emulator.ledger.total() == pytest.approx(0.225)


@pytest.mark.parametrize("output_type,field", [("URL", "imageURL"), ("base64Data", "imageBase64Data"), ("dataURI", "imageDataURI")])
def test_output_types(emulator, http, output_type, field):
    (item,) = post(http, emulator, task(outputType=output_type)).json()["data"]
    assert {"imageURL", "imageBase64Data", "imageDataURI"} & set(item) == {field}
    if output_type == "URL":
        data = http.get(item[field]).content
    elif output_type == "base64Data":
        data = base64.b64decode(item[field])
    else:
        assert item[field].startswith("data:image/jpeg;base64,")
        data = base64.b64decode(item[field].split(",", 1)[1])
    assert image_of(data).size == (256, 384)


@pytest.mark.parametrize("fmt,pil", [("JPG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP")])
def test_output_formats_decode_to_the_right_format_and_size(emulator, http, fmt, pil):
    (item,) = post(http, emulator, task(outputFormat=fmt, width=320, height=256)).json()["data"]
    response = http.get(item["imageURL"])
    assert item["imageURL"].endswith("." + {"JPG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt])
    img = image_of(response.content)
    assert img.format == pil and img.size == (320, 256)
    assert response.headers["content-type"] == Image.MIME[pil]


@pytest.mark.parametrize("fmt", ["JPG", "PNG", "WEBP"])
def test_every_image_file_says_synthetic_in_its_metadata_too(emulator, http, fmt):
    # the visible mark is a strip along the bottom edge, which a crop takes off; a file copied out
    # of data/images must still say it was not made by Qwen-Image
    (item,) = post(http, emulator, task(outputFormat=fmt, outputType="base64Data")).json()["data"]
    img = image_of(base64.b64decode(item["imageBase64Data"]))
    exif = img.getexif()
    assert "SYNTHETIC" in exif[0x010E] and "Qwen-Image" in exif[0x010E]  # ImageDescription
    assert "qwenlab emulator" in exif[0x0131]                            # Software
    if fmt == "JPG":
        assert b"SYNTHETIC" in img.info["comment"]
    if fmt == "PNG":
        assert "SYNTHETIC" in img.text["Description"]


def test_output_quality_changes_the_jpeg(emulator, http):
    sizes = {}
    for quality in (20, 99):
        (item,) = post(http, emulator, task(outputType="base64Data", outputQuality=quality)).json()["data"]
        sizes[quality] = len(base64.b64decode(item["imageBase64Data"]))
    assert sizes[20] < sizes[99] / 2


def test_size_defaults_to_the_models_default(emulator, http):
    (item,) = post(http, emulator, task(width=None, height=None)).json()["data"]
    assert image_of(http.get(item["imageURL"]).content).size == (1024, 1024)


def test_image_url_expires_after_ttl(http):
    now = [1_000_000.0]
    with Emulator(clock=lambda: now[0]) as emu:
        (item,) = post(http, emu, task(ttl=60)).json()["data"]
        (default_item,) = post(http, emu, task()).json()["data"]
        assert http.get(item["imageURL"]).status_code == 200
        now[0] += 61
        gone = http.get(item["imageURL"])
        assert gone.status_code == 410 and gone.json()["errors"]
        assert http.get(default_item["imageURL"]).status_code == 200  # default ttl is longer than 60 s
        now[0] += 3600
        assert http.get(default_item["imageURL"]).status_code == 410


def test_nsfw_trigger_word_flags_only_with_safety_on(emulator, http):
    prompt = "A poster [nsfw-test] of a bottle"
    (flagged,) = post(http, emulator, task(positivePrompt=prompt, safety={"checkContent": True})).json()["data"]
    (fast,) = post(http, emulator, task(positivePrompt=prompt, safety={"mode": "fast"})).json()["data"]
    (plain,) = post(http, emulator, task(positivePrompt=prompt)).json()["data"]
    assert flagged["NSFWContent"] is True and fast["NSFWContent"] is True and plain["NSFWContent"] is False


def test_batch_with_a_bad_task_answers_200_with_data_and_errors(emulator, http):
    good1, bad, good2 = task(), task(negativePrompt="x" * 501), task()
    response = post(http, emulator, good1, bad, good2)
    assert response.status_code == 200
    body = response.json()
    assert [i["taskUUID"] for i in body["data"]] == [good1["taskUUID"], good2["taskUUID"]]
    assert [e["taskUUID"] for e in body["errors"]] == [bad["taskUUID"]]
    assert sorted(emulator.ledger.tasks()) == sorted([good1["taskUUID"], good2["taskUUID"]])
    all_bad = post(http, emulator, task(seed=1), task(negativePrompt="x" * 501))
    assert all_bad.status_code == 400 and len(all_bad.json()["errors"]) == 2


def test_ping(emulator, http):
    assert post(http, emulator, {"taskType": "ping", "ping": True}).json() == {"data": [{"taskType": "ping", "pong": True}]}


def test_index_page_says_offline_and_synthetic(emulator, http):
    response = http.get(f"http://127.0.0.1:{emulator.port}/")
    assert response.status_code == 200 and response.headers["X-Qwenlab-Emulator"] == "synthetic"
    assert "offline emulator" in response.text and "synthetic" in response.text


def test_the_index_page_and_the_ledger_count_one_image_as_one(emulator, http):
    """A count of 1 reads "1 image", not "1 images"."""
    post(http, emulator, dict(example_requests()[1], includeCost=True))
    page = http.get(f"http://127.0.0.1:{emulator.port}/").text
    assert "Charged so far: 1 image, $0.075 (emulated)." in page
    assert repr(emulator.ledger) == "Ledger(1 charge, $0.075)"


def test_unknown_paths_are_json_404_with_the_marker_header(emulator, http):
    for response in (http.get(f"http://127.0.0.1:{emulator.port}/images/{uuid.uuid4()}.jpg"),
                     http.post(f"http://127.0.0.1:{emulator.port}/v2", json=[])):
        assert response.status_code == 404 and response.json()["errors"]
        assert response.headers["X-Qwenlab-Emulator"] == "synthetic"


# -- async and getResponse --------------------------------------------------------------------------------------
def test_async_task_is_acknowledged_then_polled_to_success_cumulatively(http):
    with Emulator(latency=1.0) as emu:
        t = task(deliveryMethod="async", numberResults=2, includeCost=True)
        ack = post(http, emu, t)
        assert ack.json() == {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"], "status": "processing"}]}
        first = post(http, emu, {"taskType": "getResponse", "taskUUID": t["taskUUID"]}).json()["data"]
        assert [i["status"] for i in first] == ["processing", "processing"]
        assert all(0 <= i["progress"] <= 100 for i in first)
        done = poll_until_done(http, emu, t["taskUUID"])
        assert [i["status"] for i in done] == ["success", "success"]
        assert all(i["cost"] == 0.075 and "imageURL" in i for i in done)
        again = post(http, emu, {"taskType": "getResponse", "taskUUID": t["taskUUID"]}).json()["data"]
        assert [i["imageUUID"] for i in again] == [i["imageUUID"] for i in done]
        assert len(emu.ledger) == 2


def test_async_images_can_fail_one_by_one_and_only_successes_are_charged(http):
    with Emulator(faults=Faults(task_error=0.5, seed=4)) as emu:
        t = task(deliveryMethod="async", numberResults=6)
        post(http, emu, t)
        items = poll_until_done(http, emu, t["taskUUID"])
    statuses = [i["status"] for i in items]
    assert "success" in statuses and "error" in statuses
    assert all(i["error"]["code"] == "inferenceError" for i in items if i["status"] == "error")
    assert len(emu.ledger) == statuses.count("success")


def test_get_response_of_unknown_task_is_404(emulator, http):
    response = post(http, emulator, {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "taskFailedOrNotFound"


@pytest.mark.parametrize("sent", [{}, {"taskUUID": None}, {"taskUUID": ""}, {"taskUUID": 42}])
def test_get_response_without_a_task_uuid_is_a_400_naming_it(emulator, http, sent):
    # no taskUUID is the request's fault, a validation error as every other: a 404 read as a task
    # the server had lost
    response = post(http, emulator, {"taskType": "getResponse", **sent})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["code"] == ("invalidParameter" if sent.get("taskUUID") == 42 else "missingParameter")
    assert error["parameter"] == "taskUUID" and error["taskType"] == "getResponse" and "taskUUID" in error["message"]
    assert set(error) == {"code", "message", "parameter", "taskType", "documentation"}  # the shape of the others


def test_sync_results_lost_to_a_drop_are_recovered_with_get_response(emulator, http):
    t = task()
    emulator.script(["drop_after"])
    with pytest.raises(httpx.RemoteProtocolError):
        post(http, emulator, t)
    assert emulator.ledger.tasks() == [t["taskUUID"]]
    assert post(http, emulator, t).json()["errors"][0]["code"] == "conflictTaskUUID"
    (item,) = post(http, emulator, {"taskType": "getResponse", "taskUUID": t["taskUUID"]}).json()["data"]
    assert item["status"] == "success" and http.get(item["imageURL"]).status_code == 200
    assert len(emulator.ledger) == 1 and emulator.ledger.charged_twice() == []


# -- uploads and references -----------------------------------------------------------------------------------------
def _png_data_uri(colour, size=(64, 64)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _mean_rgb(data: bytes) -> tuple[float, float, float]:
    return tuple(ImageStat.Stat(image_of(data).convert("RGB")).mean)


def test_uploaded_image_is_capped_and_usable_as_a_reference(emulator, http):
    up = {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": _png_data_uri((255, 0, 0), (3000, 1000))}
    (uploaded,) = post(http, emulator, up).json()["data"]
    assert uploaded["taskType"] == "imageUpload" and uploaded["taskUUID"] == up["taskUUID"] and is_uuid4(uploaded["imageUUID"])
    # The store's contract: at most 2048 px on the long side (read directly; it has no URL).
    assert max(emulator.images.pixels(uploaded["imageUUID"]).size) == 2048
    prompt = "Make it a poster that reads 'ROUGE'"
    (edited,) = post(http, emulator, task(positivePrompt=prompt, inputs={"referenceImages": [uploaded["imageUUID"]]},
                                          outputType="base64Data")).json()["data"]
    (plain,) = post(http, emulator, task(positivePrompt=prompt, outputType="base64Data")).json()["data"]
    r_edit, g_edit, _ = _mean_rgb(base64.b64decode(edited["imageBase64Data"]))
    r_plain, g_plain, _ = _mean_rgb(base64.b64decode(plain["imageBase64Data"]))
    assert r_edit - g_edit > (r_plain - g_plain) + 40
    assert len(emulator.ledger) == 2  # the upload itself is free


@pytest.mark.parametrize("task_uuid", ["not-a-uuid", str(uuid.uuid1()), None])
def test_an_upload_needs_a_uuid_v4_task_uuid_as_every_task(emulator, http, task_uuid):
    """Every task carries a client-made UUIDv4 taskUUID (shared/runware-api.md, Transport); an
    upload under "not-a-uuid" was stored and answered as if Runware took it."""
    up = {"taskType": "imageUpload", "taskUUID": task_uuid, "image": _png_data_uri((0, 255, 0))}
    response = post(http, emulator, {k: v for k, v in up.items() if v is not None})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["parameter"] == "taskUUID" and error["taskType"] == "imageUpload" and "UUID v4" in error["message"]
    assert emulator.images.pixels(str(task_uuid)) is None and len(emulator.ledger) == 0


def test_reference_by_data_uri_and_by_loopback_url(emulator, http):
    data_uri = _png_data_uri((0, 0, 255))
    (by_uri,) = post(http, emulator, task(inputs={"referenceImages": [data_uri]}, outputType="base64Data")).json()["data"]
    (served,) = post(http, emulator, task()).json()["data"]
    (by_url,) = post(http, emulator, task(referenceImages=[served["imageURL"]])).json()["data"]
    _, _, b = _mean_rgb(base64.b64decode(by_uri["imageBase64Data"]))
    r, g, _ = _mean_rgb(base64.b64decode(by_uri["imageBase64Data"]))
    assert b > max(r, g)
    assert http.get(by_url["imageURL"]).status_code == 200


def test_unknown_reference_uuid_is_a_400_and_not_charged(emulator, http):
    response = post(http, emulator, task(inputs={"referenceImages": [str(uuid.uuid4())]}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "inputs.referenceImages"
    assert len(emulator.ledger) == 0


# -- webhooks and upload endpoints --------------------------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    def _take(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.got.append((self.command, self.path, self.headers.get("Content-Type"), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = _take

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.got = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_posts_each_image_and_upload_endpoint_gets_the_bytes(emulator, http, receiver):
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    t = task(numberResults=2, webhookURL=f"{base}/hook", uploadEndpoint=f"{base}/put/file.jpg")
    items = post(http, emulator, t).json()["data"]
    assert emulator.wait_deliveries(10)
    hooks = [json.loads(b) for m, p, _, b in receiver.got if m == "POST"]
    puts = [(p, ct, b) for m, p, ct, b in receiver.got if m == "PUT"]
    # the body is the bare item (Runware's integration guide): no "data" wrapper
    assert sorted(h["imageUUID"] for h in hooks) == sorted(i["imageUUID"] for i in items)
    assert all("data" not in h and h["taskUUID"] == t["taskUUID"] for h in hooks)
    assert len(puts) == 2 and all(p == "/put/file.jpg" and ct == "image/jpeg" for p, ct, _ in puts)
    assert {image_of(b).size for _, _, b in puts} == {(256, 384)}
    assert all(d.delivered for d in emulator.deliveries)


def test_non_loopback_webhook_is_skipped_not_contacted(emulator, http, no_outbound):
    t = task(webhookURL="https://hooks.example.com/x", uploadEndpoint="https://bucket.example.com/up.jpg")
    response = post(http, emulator, t)
    assert response.status_code == 200
    assert emulator.wait_deliveries(10)
    notes = {(d.kind, d.status, d.note.split(":")[0]) for d in emulator.deliveries}
    assert notes == {("webhook", None, "skipped"), ("upload", None, "skipped")}
    assert no_outbound == []


def test_async_webhook_arrives_without_polling(receiver, http):
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    with Emulator(latency=0.2) as emu:
        t = task(deliveryMethod="async", webhookURL=f"{base}/hook")
        post(http, emu, t)
        deadline = time.monotonic() + 10
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.02)
    item = json.loads(receiver.got[0][3])
    assert item["taskUUID"] == t["taskUUID"] and "imageURL" in item


# -- faults ---------------------------------------------------------------------------------------------------------
def test_429_carries_retry_after_and_charges_nothing(http):
    with Emulator(faults=Faults(retry_after=7)) as emu:
        emu.script(["429"])
        response = post(http, emu, task())
        assert response.status_code == 429 and response.headers["Retry-After"] == "7"
        assert response.json()["errors"] and len(emu.ledger) == 0


def test_5xx_is_500_502_or_503_with_json(emulator, http):
    emulator.script(["5xx", "502"])
    first, second = post(http, emulator, task()), post(http, emulator, task())
    assert first.status_code in (500, 502, 503) and second.status_code == 502
    assert first.json()["errors"] and len(emulator.ledger) == 0


def test_drop_before_charges_nothing_and_the_same_task_can_be_resent(emulator, http):
    t = task()
    emulator.script(["drop_before"])
    with pytest.raises(httpx.RemoteProtocolError):
        post(http, emulator, t)
    assert len(emulator.ledger) == 0
    assert post(http, emulator, t).status_code == 200
    assert len(emulator.ledger) == 1


def test_stall_accepts_and_charges_then_sends_nothing(http):
    with Emulator(faults=Faults(stall_seconds=30)) as emu:
        t = task()
        emu.script(["stall"])
        with pytest.raises(httpx.ReadTimeout):
            post(http, emu, t, timeout=httpx.Timeout(10, read=0.5))
        assert emu.ledger.tasks() == [t["taskUUID"]]


def test_malformed_answer_is_broken_json_but_charged(emulator, http):
    emulator.script(["malformed"])
    response = post(http, emulator, task())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert len(emulator.ledger) == 1


def test_scripted_task_error_fails_the_task_uncharged(emulator, http):
    emulator.script(["task_error"])
    response = post(http, emulator, task())
    assert response.status_code == 500 and response.json()["errors"][0]["code"] == "inferenceError"
    assert len(emulator.ledger) == 0


def test_slow_download_trickles_the_bytes(http):
    with Emulator(faults=Faults(slow_download=1.0, download_bytes_per_s=200_000)) as emu:
        (item,) = post(http, emu, task()).json()["data"]
        with pytest.raises(httpx.ReadTimeout):  # the gaps between chunks exceed a short read timeout
            http.get(item["imageURL"], timeout=httpx.Timeout(10, read=0.02))
        full = http.get(item["imageURL"])
        assert image_of(full.content).size == (256, 384)
        assert emu.requests[-1].fault == "slow_download"


def test_expire_download_answers_410(http):
    with Emulator(faults=Faults(expire_download=1.0)) as emu:
        (item,) = post(http, emu, task()).json()["data"]
        assert http.get(item["imageURL"]).status_code == 410


def test_rates_are_reproducible_with_a_seed(http):
    def statuses() -> list[int]:
        with Emulator(faults=Faults(rate_429=0.5, seed=11)) as emu:
            return [post(http, emu, {"taskType": "ping", "ping": True}).status_code for _ in range(20)]

    first = statuses()
    assert first == statuses() and {200, 429} <= set(first)


def test_script_runs_in_order_then_falls_back_to_faults(emulator, http):
    emulator.script(["429", "ok", "503"])
    codes = [post(http, emulator, {"taskType": "ping", "ping": True}).status_code for _ in range(4)]
    assert codes == [429, 200, 503, 200]
    emulator.faults = Faults(rate_429=1.0)
    assert post(http, emulator, {"taskType": "ping", "ping": True}).status_code == 429
    with pytest.raises(ValueError, match="unknown scripted fault"):
        emulator.script(["explode"])


def test_faults_parse_and_validation():
    f = Faults.parse("latency=uniform:0.2,0.8; rate_429=0.1 drop-after=0.05 seed=3 retry-after=2")
    assert (f.latency, f.rate_429, f.drop_after, f.seed, f.retry_after) == ("uniform:0.2,0.8", 0.1, 0.05, 3, 2.0)
    assert Faults.parse(f.summary()) == f
    for bad in ("rate_429=2", "latency=gamma:1", "nonsense=1", "stall"):
        with pytest.raises(ValueError):
            Faults.parse(bad)


# -- ledger, concurrency, lifecycle -------------------------------------------------------------------------------------
def test_concurrent_posts_are_each_charged_once(http):
    with Emulator(latency=0.2) as emu:
        tasks = [task() for _ in range(16)]
        codes: list[int] = []
        threads = [threading.Thread(target=lambda t=t: codes.append(post(http, emu, t).status_code)) for t in tasks]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert codes == [200] * 16
        assert sorted(emu.ledger.tasks()) == sorted(t["taskUUID"] for t in tasks)
        assert emu.ledger.total() == pytest.approx(16 * 0.075) and emu.ledger.charged_twice() == []
        assert emu.internal_errors == []


def test_requests_are_recorded_without_the_authorization_header(emulator, http):
    t = task()
    post(http, emulator, t)
    record = emulator.requests[-1]
    assert (record.method, record.path, record.status) == ("POST", "/v1", 200)
    assert record.body == [t]
    assert "authorization" not in {k.lower() for k in record.headers}


def test_start_embedded_is_a_reused_singleton():
    first = start_embedded()
    assert start_embedded() is first and first.running
    assert first.url.startswith("http://127.0.0.1:")


def test_non_loopback_host_is_refused():
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")
    result = CliRunner().invoke(cli, ["emulator", "--host", "192.168.1.10"])
    assert result.exit_code != 0 and "loopback" in result.output


def test_cli_with_api_key_does_not_say_any_key_will_do():
    """`qwenlab emulator --api-key K` answered 401 to any other key, yet its last line told the
    user to set RUNWARE_BASE_URL "with any RUNWARE_API_KEY". It now says which key, without
    printing it."""
    key = "sk-emulator-only-4b1f"
    proc = subprocess.Popen([sys.executable, "-m", "qwenlab.cli", "emulator", "--port", "0", "--api-key", key],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    use = next(line for line in lines if line.startswith("Use it:"))
    assert "any RUNWARE_API_KEY" not in use and "--api-key" in use, use
    assert key not in "".join(lines) + out


def test_cli_serves_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "qwenlab.cli", "emulator", "--port", "0", "--rate-429", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "http://127.0.0.1:" in first
        url = first.split()[-1]
        assert "SYNTHETIC" in proc.stdout.readline()
        response = httpx.post(url, json=[{"taskType": "ping", "ping": True}], headers={"Authorization": "Bearer k"}, trust_env=False)
        assert response.json()["data"][0]["pong"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stopped" in out


def test_the_cli_line_on_stopping_counts_one_image_as_one(monkeypatch: pytest.MonkeyPatch):
    """`qwenlab emulator`'s last line, after one image was charged: "1 image", not "1 images"."""
    def one_image_then_ctrl_c(self: Emulator) -> None:
        self.ledger.charge("task-1", "image-1", 0.075)
        self.stop()

    monkeypatch.setattr(Emulator, "serve_forever", one_image_then_ctrl_c)
    result = CliRunner().invoke(cli, ["emulator", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "stopped; emulated charges: 1 image, $0.075"


@pytest.mark.parametrize("os_name, reuse", [("posix", 1), ("nt", 0)])
def test_the_emulators_port_is_shared_with_no_other_server_on_windows(monkeypatch: pytest.MonkeyPatch, os_name: str,
                                                                      reuse: int) -> None:
    """SO_REUSEADDR lets a restart take a port in TIME_WAIT on Linux and macOS; on Windows it lets
    a second server bind a port another one listens on, and two `qwenlab emulator` on 8787 both
    started. It is set everywhere but Windows."""
    import os

    from qwenlab.emulator.server import _Server

    monkeypatch.setattr(os, "name", os_name)  # only while the server binds: pathlib reads it too
    server = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    monkeypatch.undo()
    try:
        assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == reuse
    finally:
        server.server_close()
