"""The JPEG check that replaced a decode (qwenlab.api.jpeg): it refuses at least what the decode
refused, and passes every kind of JPEG an encoder writes."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw

from qwenlab.api.imagestore import ImageStore
from qwenlab.api.jpeg import jpeg_problem, jpeg_walk
from qwenlab.errors import ImageError


def poster(**save: object) -> bytes:
    im = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(im)
    for i in range(0, 320, 12):
        draw.line((0, i, 320, 239 - i), fill=(i % 255, 90, 200), width=3)
    draw.text((20, 20), "LUMIERE  Glow, Refined.", fill="black")
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def decodes(data: bytes) -> bool:
    """What qwenlab checked before: a 1/8-scale decode."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft(img.mode, (40, 30))
            img.load()
        return True
    except (OSError, SyntaxError, ValueError):
        return False


@pytest.mark.parametrize("save", [{}, {"quality": 20}, {"quality": 99, "subsampling": 0}, {"progressive": True},
                                  {"optimize": True}, {"restart_marker_blocks": 2}],
                         ids=["default", "q20", "q99-444", "progressive", "optimized", "restart-markers"])
def test_whole_jpegs_pass_and_every_cut_is_refused(save: dict[str, object]) -> None:
    data = poster(**save)
    assert jpeg_problem(data) is None
    assert jpeg_problem(data + b"\x00 trailing bytes") is None  # after EOI, as decoders allow
    for cut in range(len(data) - 1):
        assert jpeg_problem(data[:cut]) is not None, f"a JPEG cut to {cut} of {len(data)} bytes passed"


def test_it_refuses_every_garbled_file_the_decode_refused() -> None:
    data = poster()
    rng = random.Random(13)
    sos = data.index(b"\xff\xda")
    refused_by_decode = 0
    for _ in range(200):
        garbled = bytearray(data)
        n = rng.choice([1, 10, 100, 1000])
        start = rng.randrange(sos + 20, len(data) - 50)
        for k in range(start, min(start + n, len(data) - 2)):
            garbled[k] = rng.randrange(256)
        if not decodes(bytes(garbled)):
            refused_by_decode += 1
            assert jpeg_problem(bytes(garbled)) is not None
    assert refused_by_decode > 0  # the sample holds files the decode refused


@pytest.mark.parametrize("data, words", [
    (b"", "SOI"), (b"\x89PNG\r\n\x1a\n....", "SOI"),
    (b"\xff\xd8\xff\xd9", "before any image data"),
    (b"\xff\xd8\xff\x02\x00\x04ab\xff\xd9", "garbled"),
    (b"\xff\xd8\xff\x00\x00\x04ab\xff\xd9", "garbled"),
    (b"\xff\xd8\xff\xe0\x00\x40JFIF", "runs past the end"),
])
def test_problems_say_what_is_wrong(data: bytes, words: str) -> None:
    assert words in (jpeg_problem(data) or "")


def test_the_store_refuses_a_cut_jpeg_with_the_reason(tmp_path) -> None:
    data = poster()
    with pytest.raises(ImageError, match="corrupt or truncated: it is cut short"):
        ImageStore(tmp_path).save(data[: len(data) // 2], "JPG")
    assert not any(tmp_path.rglob("*.jpg"))


@pytest.mark.parametrize("mode, size, save", [
    ("RGB", (1, 1), {}), ("RGB", (513, 257), {"progressive": True}), ("L", (64, 1000), {}),
    ("CMYK", (300, 200), {}), ("RGB", (2048, 16), {"exif": b"Exif\x00\x00" + b"\x00" * 40, "quality": 30}),
], ids=["1x1", "progressive", "grey", "cmyk", "exif"])
def test_the_walk_reads_the_size_pillow_reads(tmp_path, mode: str, size: tuple[int, int], save: dict[str, object]) -> None:
    """The store checks a JPEG without Pillow: the size it logs is the frame header's, as Pillow
    reads it, for every kind of JPEG an encoder writes."""
    buf = io.BytesIO()
    Image.new(mode, size, "white" if mode != "CMYK" else (0, 0, 0, 0)).save(buf, "JPEG", **save)
    data = buf.getvalue()
    assert jpeg_walk(data) == (None, *size)
    info = ImageStore(tmp_path).save(data, "JPG")
    with Image.open(io.BytesIO(data)) as img:
        assert (info.format, info.width, info.height) == ("JPEG", *img.size)


def test_a_jpeg_whose_header_claims_a_huge_size_is_refused(tmp_path) -> None:
    """A decompression bomb is refused from the frame header's size, as Pillow's limit did."""
    data = bytearray(poster())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = (16000).to_bytes(2, "big") * 2  # lines, then samples per line
    assert jpeg_walk(bytes(data)) == (None, 16000, 16000)
    store = ImageStore(tmp_path)
    with pytest.raises(ImageError, match="pixel limit"):
        store.save(bytes(data), "JPG")
    data[sof + 5:sof + 9] = (0).to_bytes(2, "big") + (320).to_bytes(2, "big")  # no lines (DNL), refused too
    with pytest.raises(ImageError, match="not sane"):
        store.save(bytes(data), "JPG")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_jpeg_is_refused_as_another_format_before_its_bytes_are_read(tmp_path) -> None:
    data = poster()
    with pytest.raises(ImageError, match="is JPEG but outputFormat asked for PNG"):
        ImageStore(tmp_path).save(data[:100], "PNG")  # cut, but the format is what is wrong first
    short = data.replace(b"\xff\xc0\x00\x11", b"\xff\xc0\x00\x05", 1)
    assert "too short to give a size" in (jpeg_problem(short) or "")
