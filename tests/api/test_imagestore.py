"""ImageStore: only real images of the expected format are saved, by content hash, inside its folder."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from qwenlab.api.client import RunwareClient
from qwenlab.api.imagestore import ImageStore, decode_inline, normalize_format
from qwenlab.core.request import Request
from qwenlab.errors import ImageError


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.mark.parametrize("fmt, expected, ext", [("JPEG", "JPG", "jpg"), ("PNG", "PNG", "png"), ("WEBP", "WEBP", "webp")])
def test_good_images_are_saved_by_hash_once(store, fmt, expected, ext):
    data = image_bytes(fmt)
    first = store.save(data, expected)
    again = store.save(data, expected)
    assert first.path == again.path == store.root / first.sha256[:2] / f"{first.sha256}.{ext}"
    assert first.path.read_bytes() == data
    assert (first.format, first.width, first.height, first.nbytes) == (fmt, 32, 24, len(data))
    assert files_under(store.root) == [first.path]  # stored once, no temp file left behind
    assert first.sha256 in store


def test_an_image_is_saved_when_its_folder_went_away_meanwhile(store):
    """The store makes its folders once and not before every image: a folder removed while a
    sweep runs (a cleanup, a user's rm) must be made again, not lose the paid-for image."""
    import shutil

    first = store.save(image_bytes(color=(1, 2, 3)), "JPG")
    shutil.rmtree(store.root)
    data = image_bytes(color=(200, 100, 0))
    second = store.save(data, "JPG")
    assert second.path.read_bytes() == data
    assert files_under(store.root) == [second.path]
    assert first.path != second.path


def test_wrong_format_is_refused(store):
    with pytest.raises(ImageError, match="PNG but outputFormat asked for JPEG"):
        store.save(image_bytes("PNG"), "JPG")
    assert files_under(store.root) == []


@pytest.mark.parametrize("data", [b"", b"<html>Not found</html>", b"\xff\xd8\xff" + b"\x00" * 100, image_bytes("JPEG")[:300]])
def test_non_image_or_truncated_bytes_are_refused(store, data):
    with pytest.raises(ImageError):
        store.save(data, "JPG")
    assert files_under(store.root) == []


def test_other_formats_are_refused_even_when_valid(store):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="GIF")
    with pytest.raises(ImageError):
        store.save(buf.getvalue())


def test_oversized_body_is_refused(tmp_path):
    store = ImageStore(tmp_path / "images", max_bytes=1000)
    data = image_bytes("PNG", size=(600, 600))
    assert len(data) > 1000
    with pytest.raises(ImageError, match="byte cap"):
        store.save(data, "PNG")
    with pytest.raises(ImageError, match="byte cap"):
        decode_inline(base64.b64encode(b"\x00" * 5000).decode(), max_bytes=1000)
    assert files_under(store.root) == []


@pytest.mark.parametrize("size", [(9000, 9000), (60000, 60000), (20000, 1)])
def test_decompression_bombs_are_refused_before_decoding(store, size):
    bomb = png_header_only(*size)
    assert len(bomb) < 200
    with pytest.raises(ImageError):
        store.save(bomb, "PNG")
    assert files_under(store.root) == []


def test_path_escaping_image_uuid_cannot_choose_where_a_file_goes(tmp_path):
    png = image_bytes("PNG")
    outside = tmp_path / "x.png"

    def handler(request: httpx.Request) -> httpx.Response:
        task = __import__("json").loads(request.content)[0]
        return httpx.Response(200, json={"data": [{
            "taskType": "imageInference", "taskUUID": task["taskUUID"], "imageUUID": "../../x.png",
            "imageBase64Data": base64.b64encode(png).decode(), "seed": 1}]})

    images = tmp_path / "data" / "images"
    with RunwareClient("sk-store-test-0001", transport=httpx.MockTransport(handler), images_dir=images) as client:
        result = client.generate(Request(prompt="A poster", outputFormat="PNG", outputType="base64Data"))
    img = result.images[0]
    assert img.image_uuid == "../../x.png"  # reported as given...
    assert img.path is not None and images.resolve() in img.path.resolve().parents  # ...but it named nothing
    assert not outside.exists()
    assert files_under(tmp_path) == [img.path]


def test_path_for_only_takes_hex_digests(store):
    with pytest.raises(ImageError):
        store.path_for("../../etc/passwd", "PNG")
    assert "../x" not in store


def test_inline_payloads_decode():
    data = image_bytes("PNG")
    b64 = base64.b64encode(data).decode()
    assert decode_inline(b64) == data
    assert decode_inline("data:image/png;base64," + b64) == data
    with pytest.raises(ImageError):
        decode_inline("data:image/png,notbase64")
    with pytest.raises(ImageError):
        decode_inline("!!!not base64!!!")


def test_output_formats_are_named_like_pillow():
    assert [normalize_format(f) for f in ("JPG", "jpeg", "PNG", "webp")] == ["JPEG", "JPEG", "PNG", "WEBP"]
    with pytest.raises(ImageError):
        normalize_format("TIFF")
