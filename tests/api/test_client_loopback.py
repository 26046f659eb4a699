"""RunwareClient over real HTTP against the offline emulator on loopback: every feature end to end,
every fault the emulator can inject, and never a task paid twice or a paid image left behind."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx
import pytest
from PIL import Image

import qwenlab.api.connect as connect_module
from qwenlab.api.client import RunwareClient, TaskResult
from qwenlab.api.connect import connect
from qwenlab.core.request import Request
from qwenlab.emulator import Emulator, Faults
from qwenlab.errors import (
    AuthenticationError,
    QwenlabError,
    TaskFailedError,
    TransportError,
    ValidationError,
)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(emulator: Emulator, tmp_path: Path, sleeps: list[float]) -> Callable[..., RunwareClient]:
    made: list[RunwareClient] = []

    def sleep(seconds: float) -> None:  # record each wait, and really wait (the server runs in real time)
        sleeps.append(seconds)
        time.sleep(seconds)

    def make(**kw: Any) -> RunwareClient:
        kw.setdefault("images_dir", tmp_path / "images")
        kw.setdefault("backoff_base", 0.01)
        kw.setdefault("backoff_max", 0.5)
        kw.setdefault("poll_initial", 0.02)
        kw.setdefault("poll_max", 0.1)
        kw.setdefault("poll_timeout", 20.0)
        kw.setdefault("timeout", 10.0)
        kw.setdefault("sleep", sleep)
        c = RunwareClient("sk-loopback-test-key", kw.pop("base_url", emulator.url), **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def req(prompt: str = "A poster that reads 'LUMIERE'", **kw: Any) -> Request:
    kw.setdefault("size", "256x256")
    return Request(prompt=prompt, **kw)


def assert_paid_once_and_kept(emu: Emulator, results: Iterable[Any]) -> None:
    """Nothing was charged twice, and every charged image is on disk."""
    assert emu.ledger.charged_twice() == []
    assert emu.internal_errors == []
    kept = {img.image_uuid: img for r in results if isinstance(r, TaskResult) for img in r.images}
    for charge in emu.ledger.charges:
        img = kept.get(charge.image_uuid)
        assert img is not None, f"charged image {charge.image_uuid} of task {charge.task_uuid} was not returned"
        assert img.path is not None and img.path.is_file() and img.error is None


def posts(emu: Emulator, task_type: str | None = None) -> list[Any]:
    out = [r.body for r in emu.requests if r.method == "POST"]
    return [b for b in out if task_type is None or (isinstance(b, list) and b and b[0].get("taskType") == task_type)]


# -- the happy paths ---------------------------------------------------------------------------------
def test_generate_end_to_end(emulator, make_client):
    r = req(numberResults=2, outputFormat="PNG", promptExtend=False)
    result = make_client().generate(r)
    assert result.ok and result.attempts == 1 and not result.recovered and result.http_status == 200
    assert len(result.images) == 2 and len({img.seed for img in result.images}) == 2
    for img in result.images:
        assert img.format == "PNG" and (img.width, img.height) == (256, 256) and img.path.suffix == ".png"
        assert img.cost == 0.075 and img.nsfw is False and img.url.startswith("http://127.0.0.1")
        with Image.open(img.path) as im:
            assert im.size == (256, 256)
    assert result.cost == pytest.approx(emulator.ledger.total()) == pytest.approx(0.15)
    assert_paid_once_and_kept(emulator, [result])


@pytest.mark.parametrize("output_type", ["base64Data", "dataURI"])
def test_inline_outputs(emulator, make_client, output_type):
    result = make_client().generate(req(outputType=output_type, outputFormat="WEBP"))
    assert result.ok and result.images[0].format == "WEBP" and result.images[0].url is None
    assert_paid_once_and_kept(emulator, [result])


def test_invalid_request_never_reaches_the_server(emulator, make_client):
    with pytest.raises(ValidationError) as info:
        make_client().generate(req(negativePrompt="x" * 501))
    assert "negativePrompt" in info.value.parameters
    assert emulator.requests == []


def test_wrong_key_is_not_retried(tmp_path):
    with Emulator(api_key="the-right-key-000") as emu:
        with RunwareClient("the-wrong-key-111", emu.url, images_dir=tmp_path, sleep=lambda s: None) as c:
            with pytest.raises(AuthenticationError) as info:
                c.generate(req())
            assert info.value.attempts == 1 and info.value.code == "invalidApiKey"
            assert "the-wrong-key-111" not in str(info.value)
        assert len(emu.requests) == 1


# -- every fault ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault, recovered",
    [("429", False), ("500", False), ("502", False), ("503", False), ("drop_before", False),
     ("drop_after", True), ("malformed", True)],
)
def test_each_fault_is_survived_without_paying_twice(emulator, make_client, fault, recovered):
    emulator.script([fault])
    r = req(numberResults=2)
    result = make_client().generate(r)
    assert result.ok and result.attempts == 2 and result.recovered is recovered
    inference = posts(emulator, "imageInference")
    assert len(inference) == 2 and {b[0]["taskUUID"] for b in inference} == {r.task_uuid}
    assert len(emulator.ledger) == 2
    assert_paid_once_and_kept(emulator, [result])


def test_retry_after_is_honoured(emulator, make_client, sleeps):
    emulator.faults = Faults(retry_after=0.2)
    emulator.script(["429"])
    result = make_client(backoff_base=0.0).generate(req())
    assert result.ok and sleeps[0] == pytest.approx(0.2)


def test_stalled_answer_times_out_and_is_recovered(emulator, make_client):
    emulator.faults = Faults(stall_seconds=3.0)
    emulator.script(["stall"])
    r = req()
    result = make_client(timeout=0.3).generate(r)
    # polled for with getResponse, never sent again (it may be a long task still running)
    assert result.ok and result.recovered and result.attempts == 1
    sent = [rec.body[0]["taskType"] for rec in emulator.requests if rec.method == "POST"]
    assert sent[0] == "imageInference" and set(sent[1:]) == {"getResponse"}
    assert_paid_once_and_kept(emulator, [result])


def test_retries_exhausted_on_a_dead_server_report_not_sent(tmp_path):
    emu = Emulator().start()
    url = emu.url
    emu.stop()  # nothing listens on the port now
    with RunwareClient("sk-any-key-1234", url, images_dir=tmp_path, max_retries=2, sleep=lambda s: None) as c:
        with pytest.raises(TransportError) as info:
            c.generate(req())
    assert info.value.sent is False and info.value.attempts == 3


def test_task_error_is_reported_and_not_charged(emulator, make_client):
    emulator.script(["task_error"])
    r = req()
    result = make_client().generate(r)
    assert not result.ok and result.good_images == []
    assert any(isinstance(e, TaskFailedError) and e.code == "inferenceError" for e in result.errors)
    assert len(emulator.ledger) == 0 and emulator.ledger.charged_twice() == []


def test_random_faults_under_concurrency(emulator, make_client):
    emulator.faults = Faults(rate_429=0.15, retry_after=0.02, rate_5xx=0.1, drop_before=0.1, drop_after=0.1,
                             malformed=0.1, seed=11)
    rs = [req(f"poster number {i}", numberResults=1 + i % 2) for i in range(12)]
    out = make_client(max_retries=20).generate_many(rs, concurrency=4)  # 55% of POSTs fault: 20 retries make 21 faults in a row (p~4e-6) the only way to fail
    assert all(isinstance(o, TaskResult) and o.ok for o in out), [o for o in out if not isinstance(o, TaskResult)]
    assert [o.task_uuid for o in out] == [r.task_uuid for r in rs]
    assert len(emulator.ledger) == sum(r.number_results for r in rs)
    assert any(o.recovered for o in out) and any(o.attempts > 1 for o in out)
    assert_paid_once_and_kept(emulator, out)


# -- downloads -------------------------------------------------------------------------------------------
def test_slow_download_still_arrives(emulator, make_client):
    emulator.faults = Faults(slow_download=1.0, download_bytes_per_s=400_000)
    result = make_client().generate(req())
    assert result.ok
    assert any(r.fault == "slow_download" for r in emulator.requests if r.method == "GET")
    assert_paid_once_and_kept(emulator, [result])


def test_expired_download_is_reported_on_the_image(emulator, make_client):
    emulator.faults = Faults(expire_download=1.0)
    result = make_client().generate(req())
    img = result.images[0]
    assert not result.ok and img.path is None and img.url and "expired" in str(img.error)
    assert result.errors == [img.error] and img.cost == 0.075  # charged, and the record says so


def test_images_are_fetched_before_their_ttl_runs_out(tmp_path):
    now = [1_000_000.0]
    with Emulator(clock=lambda: now[0]) as emu:
        with RunwareClient("sk-any-key-1234", emu.url, images_dir=tmp_path) as c:
            result = c.generate(req(ttl=60))
            now[0] += 61  # the URL has expired by now, but the image was fetched with the answer
            assert result.ok and result.images[0].path.is_file()
            assert httpx.get(result.images[0].url, trust_env=False).status_code == 410


# -- async delivery --------------------------------------------------------------------------------------
def test_async_task_is_polled_to_completion(emulator, make_client, sleeps):
    emulator.faults = Faults(latency=0.5)
    r = req(deliveryMethod="async", numberResults=3)
    result = make_client().generate(r)
    assert result.ok and len(result.good_images) == 3
    polls = posts(emulator, "getResponse")
    assert len(polls) >= 2 and all(p[0]["taskUUID"] == r.task_uuid for p in polls)
    assert sleeps[:3] == pytest.approx([0.02, 0.01, 0.015])  # the SDKs' schedule: initial, half, x1.5
    assert_paid_once_and_kept(emulator, [result])


def test_async_per_image_errors(emulator, make_client):
    emulator.faults = Faults(latency=0.1, task_error=0.5, seed=5)
    result = make_client().generate(req(deliveryMethod="async", numberResults=6))
    failed = [img for img in result.images if img.error is not None]
    assert len(result.images) == 6 and 0 < len(failed) < 6
    assert len(result.good_images) == len(emulator.ledger) == 6 - len(failed)
    assert result.errors == [img.error for img in failed]
    assert_paid_once_and_kept(emulator, [result])


def test_poll_timeout_then_recover(emulator, make_client):
    emulator.faults = Faults(latency=0.8)
    r = req(deliveryMethod="async")
    with pytest.raises(TransportError, match="recover") as info:
        make_client(poll_timeout=0.1).generate(r)
    assert info.value.sent is True
    result = make_client().recover(r)
    assert result is not None and result.ok and result.recovered
    assert make_client().recover(req()) is None
    assert_paid_once_and_kept(emulator, [result])


def test_async_batch_is_polled_in_one_post_per_round(emulator, make_client):
    emulator.faults = Faults(latency=0.2)
    rs = [req(f"poster {i}", deliveryMethod="async") for i in range(3)]
    out = make_client().send_batch(rs)
    assert all(isinstance(o, TaskResult) and o.ok for o in out)
    # every task still processing goes in the round's one POST; a task done is not asked again (a
    # round may follow a task finished a round before the others, on a loaded machine)
    rounds = [{t["taskUUID"] for t in p} for p in posts(emulator, "getResponse")]
    assert rounds and rounds[0] == {r.task_uuid for r in rs}
    assert all(later <= earlier for earlier, later in zip(rounds, rounds[1:])), rounds
    assert_paid_once_and_kept(emulator, out)


# -- batches -------------------------------------------------------------------------------------------------
def test_batch_with_a_task_the_server_refuses(emulator, make_client):
    unknown_ref = "0b7c2a44-5f2e-4a57-9a43-3c4d8d2f1e10"  # a valid UUID no upload ever returned
    rs = [req("first poster"), req("edit this", referenceImages=[unknown_ref]), req("third poster", numberResults=2)]
    out = make_client().send_batch(rs)
    assert len(posts(emulator, "imageInference")) == 1
    assert isinstance(out[0], TaskResult) and out[0].ok and isinstance(out[2], TaskResult) and len(out[2].good_images) == 2
    assert isinstance(out[1], QwenlabError) and out[1].task_uuid == rs[1].task_uuid and out[1].parameter
    assert_paid_once_and_kept(emulator, out)


def test_batch_dropped_after_acceptance_is_recovered_whole(emulator, make_client):
    emulator.script(["drop_after"])
    rs = [req(f"poster {i}") for i in range(3)]
    out = make_client().send_batch(rs)
    assert all(isinstance(o, TaskResult) and o.ok and o.recovered for o in out)
    assert len(posts(emulator, "getResponse")) == 1 and len(posts(emulator, "getResponse")[0]) == 3
    assert_paid_once_and_kept(emulator, out)


# -- uploads, ping, getResponse -------------------------------------------------------------------------
def test_reference_images_are_uploaded_once_and_used(emulator, make_client, tmp_path):
    path = tmp_path / "ref.png"
    Image.new("RGB", (64, 64), (30, 160, 90)).save(path)
    client = make_client()
    image_uuid = client.upload_image(path)
    assert client.upload_image(path.read_bytes()) == image_uuid
    result = client.generate(req("Edit the billboard", referenceImages=[str(path), Image.new("RGB", (32, 32), "red")]))
    assert result.ok and result.request.get("referenceImages")[0] == image_uuid
    assert len(posts(emulator, "imageUpload")) == 2
    assert_paid_once_and_kept(emulator, [result])


def test_upload_dropped_after_acceptance_is_sent_again_under_a_new_uuid(emulator, make_client):
    emulator.script(["drop_after"])
    image_uuid = make_client().upload_image(Image.new("RGB", (16, 16), "blue"))
    uploads = posts(emulator, "imageUpload")
    assert len(uploads) == 3  # dropped, conflictTaskUUID, then a fresh taskUUID (uploads are free)
    assert uploads[0][0]["taskUUID"] == uploads[1][0]["taskUUID"] != uploads[2][0]["taskUUID"]
    result = make_client().generate(req("Edit this", referenceImages=[image_uuid]))
    assert result.ok


def test_ping_and_get_response(emulator, make_client):
    client = make_client()
    assert client.ping() is True
    a, b = req("first"), req("second", numberResults=2)
    client.send_batch([a, b])
    items = client.get_response([a.task_uuid, b.task_uuid])
    assert sorted(i["taskUUID"] for i in items) == sorted([a.task_uuid, b.task_uuid, b.task_uuid])
    assert all(i["status"] == "success" for i in items)


def test_connect_falls_back_to_the_emulator_and_says_so_once(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(connect_module, "_notice_shown", False)
    with connect(images_dir=tmp_path) as first, connect(images_dir=tmp_path) as second:
        assert first.is_emulator and second.is_emulator and first.base_url.startswith("http://127.0.0.1:")
        assert first.generate(req()).ok
    err = capsys.readouterr().err
    assert err.count("qwenlab: RUNWARE_API_KEY is not set, so requests go to the offline emulator at") == 1
    assert "Its images are synthetic: they show the request, not what Qwen-Image would draw." in err
