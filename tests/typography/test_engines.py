"""OCR engines behind one interface: RapidOCR (from the `ocr` extra), Tesseract where installed."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from PIL import Image, ImageDraw, ImageFont

from qwenlab.errors import OCRUnavailableError, QwenlabError
from qwenlab.typography import engines
from qwenlab.typography.engines import OCREngine, get_engine, parse_tsv
from qwenlab.typography.reading import Reading, TextLine

TSV = "\n".join([
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
    "1\t1\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t",
    "4\t1\t1\t1\t1\t0\t100\t50\t300\t40\t-1\t",
    "5\t1\t1\t1\t1\t1\t100\t50\t120\t40\t96.5\tLUNE",
    "5\t1\t1\t1\t1\t2\t240\t52\t160\t38\t91.0\tNOIRE",
    "5\t1\t2\t1\t1\t1\t10\t400\t30\t10\t12.0\t~",       # noise below min_confidence
    "5\t1\t3\t1\t1\t1\t50\t300\t200\t30\t88.0\tEST.",
    "5\t1\t3\t1\t1\t2\t260\t300\t100\t30\t90.0\t1928",
])


def poster(text_lines: list[str]) -> Image.Image:
    img = Image.new("RGB", (640, 320), (245, 240, 230))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=44)
    for i, line in enumerate(text_lines):
        draw.text((40, 40 + 90 * i), line, font=font, fill=(20, 20, 20))
    return img


def test_tesseract_tsv_becomes_lines_with_boxes_and_confidences():
    lines = parse_tsv(TSV, min_confidence=30)
    assert [l.text for l in lines] == ["LUNE NOIRE", "EST. 1928"]
    lune = lines[0]
    assert lune.confidence == pytest.approx((96.5 + 91.0) / 200)
    assert lune.bounds == (100, 50, 400, 90)


def test_reading_lines_round_trip_through_json():
    reading = Reading("x", (TextLine("LUNE", 0.91234, ((1, 2), (3, 2), (3, 4), (1, 4))), TextLine("no box", 0.5)))
    back = Reading.lines_from_json(reading.lines_json())
    assert back[0].text == "LUNE" and back[0].confidence == pytest.approx(0.9123) and back[0].bounds == (1, 2, 3, 4)
    assert back[1].box is None and reading.text == "LUNE\nno box"


def test_unknown_engine_names_are_refused():
    with pytest.raises(ValueError, match="rapidocr, tesseract"):
        get_engine("paddle")


def test_a_missing_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(engines, "_shared", {})
    with pytest.raises(OCRUnavailableError, match=r"qwenlab\[ocr\]") as info:
        get_engine("auto")
    assert isinstance(info.value, QwenlabError)
    with pytest.raises(OCRUnavailableError, match="tesseract-ocr"):
        engines.TesseractEngine()
    with pytest.raises(OCRUnavailableError, match=r"pip install 'qwenlab\[ocr\]'"):
        engines.RapidOCREngine()


def test_an_engine_object_is_used_as_it_is():
    class Fixed:
        name, version = "fixed", "1"

        def read(self, image):
            return Reading("fixed", (TextLine("hello"),))

    engine = Fixed()
    assert get_engine(engine) is engine and isinstance(engine, OCREngine)


def test_rapidocr_reads_a_plain_poster(rapidocr, tmp_path):
    path = tmp_path / "p.png"
    poster(["GRAND OPENING", "Fresh Bakery 1928"]).save(path)
    for source in (path, path.read_bytes(), Image.open(path)):
        reading = rapidocr.read(source)
        assert [l.text.replace(" ", "") for l in reading.lines] == ["GRANDOPENING", "FreshBakery1928"]
    assert reading.engine == "rapidocr" and "rapidocr-onnxruntime" in reading.version
    assert all(0.5 < l.confidence <= 1 and l.bounds is not None for l in reading.lines)
    left, top, right, bottom = reading.lines[0].bounds
    assert 20 < left < 60 and 20 < top < 60 and right > 300   # where the first line was drawn
    assert get_engine("auto") is rapidocr                        # preferred when installed


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed (apt-get install tesseract-ocr)")
def test_tesseract_reads_a_plain_poster():
    reading = get_engine("tesseract").read(poster(["GRAND OPENING", "Fresh Bakery 1928"]))
    assert [l.text for l in reading.lines] == ["GRAND OPENING", "Fresh Bakery 1928"]
    assert reading.engine == "tesseract" and reading.version.startswith("tesseract")
