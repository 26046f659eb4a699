"""Hostile or broken answers, served over real HTTP from a tiny loopback server of the test's own:
names crafted to escape data/images/, redirects to another host, bodies far larger than any
image (declared, or streamed without end), bytes that are not an image, a decompression bomb, and
answers missing what they must hold. Each is refused with a clear error; afterwards nothing exists
outside the data folder, nothing under images/ but whole images named by their hash, and memory
stayed bounded (tracemalloc's peak).

tests/api/test_imagestore.py checks the ImageStore itself (formats, truncation, header-only bombs, an
imageUUID of "../../x.png" in a MockTransport answer); here the same threats come over the wire,
through the client and through `Lab.run` into the log.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import tracemalloc
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from PIL import Image

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient, TaskResult
from qwenlab.api.exchange import MAX_ANSWER_BYTES, Exchange
from qwenlab.api.imagestore import MAX_IMAGE_BYTES
from qwenlab.api.retry import RetryPolicy
from qwenlab.core.request import Request
from qwenlab.errors import (
    APIError,
    ImageError,
    QwenlabError,
    TransportError,
)
from tests.support.labkit import LoopbackServer

KEY = "sk-hostile-test-key"
IMAGE_UUID = "8071e34d-a7f5-4777-b8b6-9656df46513b"


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buf, format="JPEG")
    return buf.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A real PNG bomb: 1-bit, all zero, `width x height` pixels (400 MP by default) in ~50 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# -- a tiny hostile server ---------------------------------------------------------------------------
Reply = tuple[int, dict[str, str], "bytes | Iterator[bytes]"]


@dataclass
class Hostile:
    """A loopback HTTP server: `post(tasks)` answers POSTs, `get(path)` answers GETs; a reply body
    that is an iterator is sent chunked until it ends or the client hangs up."""

    host: str = "127.0.0.1"
    post: Callable[[list[dict[str, Any]]], Reply] = lambda tasks: (500, {}, b"{}")
    get: Callable[[str], Reply] = lambda path: (404, {}, b"")
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    sent_bytes: int = 0

    def __enter__(self) -> "Hostile":
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, reply: Reply) -> None:
                status, headers, body = reply
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if isinstance(body, bytes):
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    hostile.sent_bytes += len(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for piece in body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        hostile.sent_bytes += len(piece)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client hung up: what it should do with an endless body
                    self.close_connection = True

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hostile.seen.append(("POST", self.path, dict(self.headers)))
                self._reply(hostile.post(json.loads(body)))

            def do_GET(self) -> None:  # noqa: N802
                hostile.seen.append(("GET", self.path, dict(self.headers)))
                self._reply(hostile.get(self.path))

        self.loop = LoopbackServer(Handler, self.host).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.__exit__(*exc)

    @property
    def origin(self) -> str:
        return self.loop.origin

    @property
    def url(self) -> str:
        return self.loop.url


def answer(tasks: list[dict[str, Any]], **item: Any) -> Reply:
    """A 200 answer with one image item per inference task, `item` overriding its fields (None drops one)."""
    data = []
    for t in tasks:
        fields = {"taskType": "imageInference", "taskUUID": t["taskUUID"], "imageUUID": IMAGE_UUID, "seed": 1, "cost": 0.075}
        fields.update(item)
        data.append({k: v for k, v in fields.items() if v is not None})
    return 200, {"Content-Type": "application/json"}, json.dumps({"data": data}).encode()


def endless(piece: bytes = b"\xff" * 65536, limit: int = 400 * 1024 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < limit:  # a safety stop for the test itself; the client must hang up long before
        yield piece
        sent += len(piece)


# -- fixtures and checks ---------------------------------------------------------------------------
@pytest.fixture
def client_for(data_dir: Path):
    made: list[RunwareClient] = []

    def make(server: Hostile, **kw: Any) -> RunwareClient:
        kw.setdefault("max_retries", 1)
        kw.setdefault("backoff_base", 0.0)
        kw.setdefault("poll_initial", 0.01)
        kw.setdefault("poll_timeout", 2.0)
        kw.setdefault("timeout", 10.0)
        client = RunwareClient(KEY, server.url, images_dir=data_dir / "images", **kw)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


def assert_contained(data_dir: Path, *, images: int = 0) -> None:
    """Nothing outside the data folder; under images/ only `images` whole files named by their hash."""
    outside = [p for p in data_dir.parent.rglob("*") if p.is_file() and not p.is_relative_to(data_dir)]
    assert outside == [], f"files written outside the data folder: {outside}"
    files = [p for p in (data_dir / "images").rglob("*") if p.is_file()] if (data_dir / "images").exists() else []
    assert len(files) == images, files
    for p in files:
        assert p.stem == hashlib.sha256(p.read_bytes()).hexdigest()
    for p in data_dir.rglob("*"):  # no name taken from an answer
        assert "escaped" not in p.name and "passwd" not in p.name


def req(**kw: Any) -> Request:
    kw.setdefault("size", "256x256")
    return Request(prompt="A poster that reads 'LUMIERE'", **kw)


# -- names that try to escape ------------------------------------------------------------------------
ESCAPES = ["../../../escaped.jpg", "..\\..\\..\\escaped.jpg", "/tmp/escaped.jpg", "images/../../escaped.jpg",
           "%2e%2e%2f%2e%2e%2fescaped.jpg", "escaped\x00.jpg", "C:\\escaped.jpg", "~/escaped.jpg"]


@pytest.mark.parametrize("name", ESCAPES)
def test_a_crafted_image_uuid_or_url_path_chooses_no_file(client_for, data_dir: Path, name: str) -> None:
    image = jpeg()
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageUUID=name, imageURL=f"{server.origin}/images/../../{name.replace(chr(0), '')}")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg"}, image)
        result = client_for(server).generate(req())
    img = result.images[0]
    assert result.ok and img.image_uuid == name  # reported as given ...
    assert img.path == data_dir / "images" / img.sha256[:2] / f"{img.sha256}.jpg"  # ... but it named nothing
    assert_contained(data_dir, images=1)


def test_crafted_names_through_a_sweep_stay_text_in_the_log(data_dir: Path) -> None:
    image = jpeg()
    names = iter(ESCAPES * 2)
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageUUID=next(names), imageURL=f"{server.origin}/images/../../../x.jpg")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg"}, image)
        with RunwareClient(KEY, server.url, images_dir=data_dir / "images") as client:
            exp = Lab(data_dir, client=client).run(Sweep(prompt="A poster for LUMIERE", size="256x256",
                                                         axes={"outputQuality": "20-27"}), name="escape", concurrency=1,
                                                   progress=False)
    rows = exp.log.images(exp.id)
    assert exp.counts()["done"] == 8 and sorted(r["image_uuid"] for r in rows) == sorted(ESCAPES)
    assert {r["path"] for r in rows} == {f"images/{hashlib.sha256(image).hexdigest()[:2]}/{hashlib.sha256(image).hexdigest()}.jpg"}
    assert_contained(data_dir, images=1)


def test_a_task_uuid_crafted_in_the_answer_is_not_taken_for_ours(client_for, data_dir: Path) -> None:
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, taskUUID="../../escaped", imageBase64Data=base64.b64encode(jpeg()).decode())
        with pytest.raises(TransportError, match="no answer named it") as info:
            client_for(server).generate(req(outputType="base64Data"))
    # not ours, and not thrown away as if nothing was taken: in doubt, for a run to ask about again
    assert info.value.sent is True
    assert_contained(data_dir)


# -- redirects -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["other-host", "same-port-other-name"])
def test_a_download_redirected_to_another_host_is_refused(client_for, data_dir: Path, target: str) -> None:
    with Hostile(host="127.0.0.2") as other, Hostile() as server:
        other.get = lambda path: (200, {"Content-Type": "image/jpeg"}, jpeg())
        where = f"{other.origin}/steal.jpg" if target == "other-host" else f"http://localhost:{server.loop.server.server_address[1]}/x.jpg"
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.jpg")
        server.get = lambda path: (302, {"Location": where, "Content-Length": "0"}, b"")
        result = client_for(server).generate(req())
        assert other.seen == []  # never contacted
        assert [m for m, _, _ in server.seen] == ["POST", "GET"]  # refused at once, not retried
    img = result.images[0]
    assert not result.ok and isinstance(img.error, ImageError) and "redirected to another host" in str(img.error)
    assert img.cost == 0.075 and result.errors == [img.error]  # the paid image's loss is on record
    assert_contained(data_dir)


def test_a_same_origin_redirect_is_followed_and_no_key_goes_to_image_urls(client_for, data_dir: Path) -> None:
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/old/{IMAGE_UUID}.jpg")
        server.get = lambda path: ((302, {"Location": "/new.jpg", "Content-Length": "0"}, b"") if path.startswith("/old")
                                   else (200, {"Content-Type": "image/jpeg"}, jpeg()))
        assert client_for(server).generate(req()).ok
        gets = [h for m, _, h in server.seen if m == "GET"]
    assert len(gets) == 2 and not any(k.lower() == "authorization" for h in gets for k in h)
    assert all(KEY not in json.dumps(h) for h in gets)
    assert_contained(data_dir, images=1)


def test_an_api_answer_that_redirects_is_not_followed(client_for, data_dir: Path) -> None:
    with Hostile(host="127.0.0.2") as other, Hostile() as server:
        server.post = lambda tasks: (307, {"Location": other.url, "Content-Length": "0"}, b"")
        with pytest.raises(APIError, match="never redirected") as info:
            client_for(server).generate(req())
        assert other.seen == [] and len(server.seen) == 1
    assert KEY not in str(info.value)
    assert_contained(data_dir)


# -- bodies far larger than any image --------------------------------------------------------------------
def test_a_download_declaring_a_huge_length_is_refused_unread(client_for, data_dir: Path) -> None:
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.jpg")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg", "Content-Length": str(10 * MAX_IMAGE_BYTES)}, b"\xff\xd8")
        result = client_for(server).generate(req())
    assert "over the" in str(result.images[0].error) and "byte cap" in str(result.images[0].error)
    assert_contained(data_dir)


def test_an_endless_download_is_cut_at_the_cap_without_exhausting_memory(client_for, data_dir: Path) -> None:
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.jpg")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg"}, endless())
        client = client_for(server)
        tracemalloc.start()
        try:
            result = client.generate(req())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "byte cap; download stopped and refused" in str(result.images[0].error)
    assert server.sent_bytes < MAX_IMAGE_BYTES + 16 * 1024 * 1024  # it hung up at the cap, not at the end
    assert peak < 2 * MAX_IMAGE_BYTES, f"peak {peak / 1e6:.0f} MB"
    print(f"\nFIGURES endless download: cut after {server.sent_bytes / 1e6:.1f} MB sent, peak memory {peak / 1e6:.0f} MB")
    assert_contained(data_dir)


def test_an_endless_api_answer_is_cut_at_the_cap(data_dir: Path) -> None:
    assert MAX_ANSWER_BYTES <= 256 * 1024 * 1024  # the client's own cap: bounded
    with Hostile() as server:
        server.post = lambda tasks: (200, {"Content-Type": "application/json"}, endless(b'{"data": [' + b" " * 65526))
        with httpx.Client(trust_env=False) as http:
            exchange = Exchange(http, server.url, KEY, RetryPolicy(max_retries=3, backoff_base=0.0), max_bytes=4_000_000)
            tracemalloc.start()
            try:
                with pytest.raises(TransportError, match="longer than 4000000 bytes; refused unread") as info:
                    exchange.post([{"taskType": "ping", "ping": True}])
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        assert len(server.seen) == 1  # refused, not asked again
    assert info.value.sent is True and info.value.attempts == 1
    assert server.sent_bytes < 4_000_000 + 16 * 1024 * 1024 and peak < 40_000_000


def test_an_inline_image_larger_than_any_image_is_refused_before_decoding(client_for, data_dir: Path) -> None:
    huge = "A" * (MAX_IMAGE_BYTES * 4 // 3 + 1024)
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageBase64Data=huge)
        result = client_for(server).generate(req(outputType="base64Data"))
    assert "inline image is larger than the" in str(result.images[0].error)
    assert_contained(data_dir)


# -- bytes that are not an image, and a bomb -------------------------------------------------------------
def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="GIF")
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("body, message", [
    (b"<html><body>Not found</body></html>", "not a JPEG, PNG or WEBP image"),
    (b"", "empty"),
    (jpeg()[:200], "corrupt or truncated"),
    (_gif(), "not a JPEG, PNG or WEBP image"),
    (b"\x7fELF" + b"\x00" * 4000, "not a JPEG, PNG or WEBP image"),
], ids=["html", "empty", "truncated", "gif", "executable"])
def test_bytes_that_are_not_the_image_asked_for_are_refused(client_for, data_dir: Path, body: bytes, message: str) -> None:
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.jpg")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg"}, body)
        result = client_for(server).generate(req())
    assert isinstance(result.images[0].error, ImageError) and message in str(result.images[0].error)
    assert_contained(data_dir)


def test_a_png_when_jpg_was_asked_for_is_kept_because_it_was_paid_for(client_for, data_dir: Path) -> None:
    """Another format than outputFormat asked is not a reason to throw a paid image away: it is
    checked like any image, kept under its own extension, and the mismatch is recorded."""
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.jpg")
        server.get = lambda path: (200, {"Content-Type": "image/jpeg"}, _png())
        result = client_for(server).generate(req())
    img = result.images[0]
    assert result.ok and img.format == "PNG" and img.format_requested == "JPEG" and img.format_mismatch
    assert img.path.suffix == ".png" and img.path.read_bytes() == _png()
    assert_contained(data_dir, images=1)


@pytest.mark.parametrize("via", ["url", "base64"])
def test_a_decompression_bomb_is_refused_without_decoding_it(client_for, data_dir: Path, via: str) -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000  # 400 megapixels in a small file
    with Hostile() as server:
        if via == "url":
            server.post = lambda tasks: answer(tasks, imageURL=f"{server.origin}/images/{IMAGE_UUID}.png")
        else:
            server.post = lambda tasks: answer(tasks, imageBase64Data=base64.b64encode(bomb).decode())
        server.get = lambda path: (200, {"Content-Type": "image/png"}, bomb)
        client = client_for(server)
        tracemalloc.start()
        try:
            result = client.generate(req(outputFormat="PNG", outputType="URL" if via == "url" else "base64Data"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "decompression bomb" in str(result.images[0].error)
    assert peak < 20_000_000, f"peak {peak / 1e6:.0f} MB"  # decoded it would take 50 MB (1 bit) to 400 MB
    assert_contained(data_dir)


# -- answers missing what they must hold ------------------------------------------------------------------
B64 = base64.b64encode(jpeg()).decode()
MISSING: dict[str, tuple[Callable[[list[dict[str, Any]]], Reply], type[QwenlabError], str]] = {
    "no image at all": (lambda t: answer(t), ImageError, "names no imageURL, imageBase64Data or imageDataURI"),
    "success, no image": (lambda t: answer(t, status="success"), ImageError, "names no imageURL, imageBase64Data or imageDataURI"),
    "imageURL not a string": (lambda t: answer(t, imageURL=12345), ImageError, "names no imageURL"),
    "imageURL not http": (lambda t: answer(t, imageURL="file:///etc/passwd"), ImageError, "is not an http(s) URL; refused"),
    "base64 not base64": (lambda t: answer(t, imageBase64Data="%%% not base64 %%%"), ImageError, "not valid base64"),
    "data not a list": (lambda t: (200, {}, json.dumps({"data": t[0]["taskUUID"]}).encode()), TransportError,
                        "not shaped like a Runware answer"),
    # `data` one object (Runware's Image Upload page shows it so) is one item: this one names the
    # task and holds nothing, so it was taken, and getResponse not knowing it leaves it in doubt
    "data one object, no result": (lambda t: (200, {}, json.dumps({"data": {"taskUUID": t[0]["taskUUID"]}}).encode()),
                                   TransportError, "getResponse does not know it"),
    "data null": (lambda t: (200, {}, b'{"data": null}'), TransportError, "not shaped like a Runware answer"),
    "errors not a list": (lambda t: (200, {}, b'{"errors": "boom"}'), TransportError, "not shaped like a Runware answer"),
    # a list of items is read as them, as Runware's SDKs read it (tests/api/test_fixtures.py); not a list of anything
    "body a list of non-objects": (lambda t: (200, {}, b'["x", 5]'), TransportError, "not shaped like a Runware answer"),
    "empty object": (lambda t: (200, {}, b"{}"), TransportError, "not shaped like a Runware answer"),
    "not JSON": (lambda t: (200, {}, b"<html>gateway</html>"), TransportError, "not valid JSON"),
    # a 2xx that holds nothing for the task: it may have been taken, so it is asked about, and left
    # in doubt when getResponse does not know it (never failed, which would buy it again)
    "items not objects": (lambda t: (200, {}, b'{"data": ["x", 5, null]}'), TransportError, "held no result for it"),
    "empty data": (lambda t: (200, {}, b'{"data": []}'), TransportError, "held no result for it"),
    "error items not objects": (lambda t: (400, {}, b'{"errors": ["bad", 5]}'), APIError, "HTTP 400"),
}


@pytest.mark.parametrize("case", list(MISSING))
def test_an_answer_missing_what_it_must_hold_is_refused_clearly(client_for, data_dir: Path, case: str) -> None:
    post, error, message = MISSING[case]
    with Hostile() as server:
        server.post = lambda tasks: post(tasks) if tasks[0]["taskType"] == "imageInference" else NOT_FOUND
        outcome: TaskResult | QwenlabError
        try:
            outcome = client_for(server).generate(req())
        except QwenlabError as exc:
            outcome = exc
    found = outcome if isinstance(outcome, QwenlabError) else (outcome.errors or [None])[0]
    assert isinstance(found, error) and message in str(found), repr(found)
    if isinstance(outcome, TransportError):
        assert outcome.sent is True  # a 200 of garbage may mean accepted: the runner keeps the cell in doubt
    assert KEY not in str(found)
    assert_contained(data_dir)


NOT_FOUND: Reply = (404, {}, json.dumps({"errors": [{"code": "taskFailedOrNotFound", "message": "unknown"}]}).encode())


def test_an_image_without_its_task_uuid_in_an_answer_to_one_task_is_that_tasks(client_for, data_dir: Path) -> None:
    """An answer to one task's request whose item names no taskUUID: the image was thrown away
    and the cell failed at $0, so the next run bought it again (an audit's ledger: twice the log's
    spend). The item can only be that task's, and its image is kept."""
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, taskUUID=None, imageBase64Data=B64)
        result = client_for(server).generate(req(outputType="base64Data"))
    assert result.ok and result.images[0].path.is_file() and result.cost == pytest.approx(0.075)
    assert_contained(data_dir, images=1)


def test_an_image_without_its_image_uuid_is_kept_because_it_was_paid_for(client_for, data_dir: Path) -> None:
    """The one field whose absence is tolerated: the bytes are whole and paid for, and the file is
    named by its hash anyway, so losing it would only cost the user money."""
    with Hostile() as server:
        server.post = lambda tasks: answer(tasks, imageUUID=None, imageBase64Data=B64)
        result = client_for(server).generate(req(outputType="base64Data"))
    assert result.ok and result.images[0].image_uuid is None and result.images[0].path.is_file()
    assert_contained(data_dir, images=1)


def test_broken_answers_through_a_sweep_are_logged_and_leave_nothing_behind(data_dir: Path) -> None:
    cases = ["no image at all", "imageURL not http", "data not a list", "not JSON", "empty data", "items not objects"]
    plan = iter(cases)
    per_uuid: dict[str, str] = {}

    def post(tasks: list[dict[str, Any]]) -> Reply:
        if tasks[0]["taskType"] != "imageInference":
            return 404, {}, json.dumps({"errors": [{"code": "taskFailedOrNotFound", "message": "unknown"}]}).encode()
        uuid = tasks[0]["taskUUID"]
        if uuid not in per_uuid:  # a retry of a task meets the same broken answer
            per_uuid[uuid] = next(plan)
        return MISSING[per_uuid[uuid]][0](tasks)

    with Hostile() as server:
        server.post = post
        with RunwareClient(KEY, server.url, images_dir=data_dir / "images", max_retries=1, backoff_base=0.0,
                           poll_initial=0.01, poll_timeout=1.0) as client:
            lab = Lab(data_dir, client=client)
            exp = lab.run(Sweep(prompt="A poster for LUMIERE", size="256x256", axes={"outputQuality": "20-25"}),
                          name="broken", concurrency=1, progress=False)
    rows = {t["task_uuid"]: t for t in lab.log.tasks(exp.id)}
    assert len(rows) == 6 and set(per_uuid) == set(rows)
    for uuid, case in per_uuid.items():
        row, (_, _, message) = rows[uuid], MISSING[case]
        assert message in row["error_message"], (case, row["error_message"])
        # a 200 of garbage, or of nothing for the task, may have been accepted: kept in doubt
        # ('sent') for the next run to recover
        in_doubt = ("data not a list", "not JSON", "empty data", "items not objects")
        assert row["status"] == ("sent" if case in in_doubt else "failed"), (case, row["status"])
    assert lab.log.images(exp.id) == [] and lab.log.integrity_check() == "ok"
    assert_contained(data_dir)
