"""OCR engines behind one interface: RapidOCR (from the `ocr` extra), Tesseract where installed."""

from __future__ import annotations

import importlib.util
import shutil
import sys

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
    assert [line.text for line in lines] == ["LUNE NOIRE", "EST. 1928"]
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


def test_on_python_3_13_the_missing_engine_message_does_not_send_to_the_ocr_extra(monkeypatch):
    """The `ocr` extra installs RapidOCR on Python < 3.13 only: on 3.13, "pip install 'qwenlab[ocr]'"
    installed nothing, and the same error came back. The message says so and names Tesseract."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(engines, "_shared", {})
    monkeypatch.setattr(sys, "version_info", (3, 13, 1, "final", 0))
    with pytest.raises(OCRUnavailableError) as auto:
        get_engine("auto")
    assert "is made for Python < 3.13 and this is 3.13" in str(auto.value) and "apt-get install tesseract-ocr" in str(auto.value)
    assert "adds nothing here" in str(auto.value)
    with pytest.raises(OCRUnavailableError, match="is made for Python < 3.13 and this is 3.13"):
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
        assert [line.text.replace(" ", "") for line in reading.lines] == ["GRANDOPENING", "FreshBakery1928"]
    assert reading.engine == "rapidocr" and "rapidocr-onnxruntime" in reading.version
    assert all(0.5 < line.confidence <= 1 and line.bounds is not None for line in reading.lines)
    left, top, right, bottom = reading.lines[0].bounds
    assert 20 < left < 60 and 20 < top < 60 and right > 300   # where the first line was drawn
    assert get_engine("auto") is rapidocr                        # preferred when installed


def test_rapidocr_reads_lines_narrower_than_its_recognition_box(rapidocr):
    # lines are recognised at their own width, down to a 2:1 box (REC_MIN_WIDTH), not padded to
    # RapidOCR's 320 px: a lone digit, a single letter and a two-letter word must still read
    img = Image.new("RGB", (640, 480), (245, 240, 230))
    draw = ImageDraw.Draw(img)
    for xy, text, px in (((60, 40), "7", 72), ((300, 60), "OK", 40), ((60, 250), "SALE 50%", 48), ((400, 380), "A", 30)):
        draw.text(xy, text, font=ImageFont.load_default(size=px), fill=(20, 20, 20))
    assert [line.text.replace(" ", "") for line in rapidocr.read(img).lines] == ["7", "OK", "SALE50%", "A"]


def test_rapidocr_detects_a_large_image_smaller_and_gives_boxes_on_the_full_image(rapidocr):
    img = Image.new("RGB", (2048, 2048), (245, 240, 230))
    draw = ImageDraw.Draw(img)
    draw.text((1200, 160), "LUNE NOIRE", font=ImageFont.load_default(size=112), fill=(20, 20, 20))
    draw.text((240, 1800), "EST. 1928", font=ImageFont.load_default(size=64), fill=(20, 20, 20))
    seen = []
    ocr = rapidocr._take()  # one of its recognisers: record what its detector is given
    infer = ocr.text_det.infer
    ocr.text_det.infer = lambda x: seen.append(x.shape) or infer(x)
    try:
        reading = rapidocr.read(img)
    finally:
        ocr.text_det.infer = infer
        rapidocr._free.put(ocr)
    if seen:  # the engine may have used another of its recognisers
        assert seen == [(1, 3, 1024, 1024)]  # the short side brought down to detect_side's largest
    assert [line.text.replace(" ", "") for line in reading.lines] == ["LUNENOIRE", "EST.1928"]
    (l1, t1, r1, _), (l2, t2, _, b2) = (line.bounds for line in reading.lines)
    assert 1180 < l1 < 1220 and 140 < t1 < 190 and r1 > 1760     # where each line was drawn, in the
    assert 220 < l2 < 260 and 1780 < t2 < 1820 and b2 < 1900     # image's own pixels


def test_the_detector_sees_small_images_enlarged_big_ones_shrunk_and_the_rest_at_their_own_size(rapidocr):
    """Fine print is lost when the detector sees it under about 11 px tall, and enlarging past
    that buys nothing: so an image is shrunk only past 1024 px and enlarged only under 576."""
    import numpy as np

    detect = engines._DetectionInput(*engines._detect_sides(engines.DETECT_SIDES))
    shapes = {(w, h): detect(np.zeros((h, w, 3), np.uint8)).shape[2:]
              for w, h in [(512, 512), (640, 480), (800, 600), (1024, 1024), (1536, 1024), (2048, 2048), (2048, 1536)]}
    assert shapes == {(512, 512): (576, 576), (640, 480): (576, 768), (800, 600): (608, 800),
                      (1024, 1024): (1024, 1024), (1536, 1024): (1024, 1536), (2048, 2048): (1024, 1024),
                      (2048, 1536): (1024, 1376)}
    image = np.random.default_rng(1).integers(0, 256, (1024, 1536, 3), np.uint8)
    assert np.abs(detect(image)[0] - (image.transpose(2, 0, 1) / 127.5 - 1)).max() < 1e-5  # its own pixels


def test_the_detector_input_is_rapidocrs_own_where_rapidocr_would_scale(rapidocr):
    import numpy as np
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    img = np.asarray(poster(["GRAND OPENING"]).resize((640, 480)))[:, :, ::-1].copy()
    ours = engines._DetectionInput(736)(img)
    theirs = DetPreProcess(736, "min")(img)
    assert ours.shape == theirs.shape == (1, 3, 736, 992) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert engines._DetectionInput(736)(np.zeros((1024, 1536, 3), np.uint8)).shape == (1, 3, 736, 1088)


def test_the_recognisers_keep_onnxruntimes_memory_arena_on_and_rapidocr_is_left_as_it_was(rapidocr):
    """RapidOCR turns the arena off (every inference allocating its buffers); qwenlab's engine
    turns it on for its own sessions only: a RapidOCR made otherwise, even while one of ours is
    being made in another thread, keeps RapidOCR's setting."""
    import threading

    from rapidocr_onnxruntime import RapidOCR

    with_arena = engines.RapidOCREngine(workers=1)._take()
    without = engines.RapidOCREngine(workers=1, memory_arena=False)._take()
    made: list = []
    thread = threading.Thread(target=lambda: made.append(engines.RapidOCREngine(workers=1)._take()))
    thread.start()
    plain = RapidOCR()  # while the other thread makes one of ours
    thread.join()
    for ocr in (with_arena, made[0]):
        assert all(s.get_session_options().enable_cpu_mem_arena for s in engines._sessions(ocr))
    for ocr in (without, plain):
        assert not any(s.get_session_options().enable_cpu_mem_arena for s in engines._sessions(ocr))


def test_trim_asks_every_session_to_give_its_arena_back_and_the_engine_reads_on(rapidocr):
    """After a pass, score_images trims the engine: each idle recogniser's sessions run once on
    zeros with onnxruntime's arena shrinkage on (what frees the memory), and read as before."""
    engine = engines.RapidOCREngine(workers=1)
    before = engine.read(poster(["GRAND OPENING"]))
    ocr = engine._take()
    engine._free.put(ocr)
    asked = []
    for session in engines._sessions(ocr):
        run = session.run

        def recorded(outputs, feed, options=None, _run=run):
            asked.append(options.get_run_config_entry("memory.enable_memory_arena_shrinkage") if options else None)
            return _run(outputs, feed, options)

        session.run = recorded
    engine.trim()
    assert len(asked) >= 2 and set(asked) == {"cpu:0"}  # the detector and the recogniser at least, each run through
    assert [line.text for line in engine.read(poster(["GRAND OPENING"])).lines] == [line.text for line in before.lines]


@pytest.mark.parametrize("side", [0, 16, 736.5, True, "736", (1024, 576), (576,), (576, 16), (576, 1024, 2048)])
def test_a_bad_detect_side_is_refused_before_any_model_loads(side):
    with pytest.raises(ValueError, match="detect_side must be a whole number of pixels >= 32"):
        engines.RapidOCREngine(detect_side=side)


def test_tesseract_reads_a_plain_poster(tesseract):
    reading = get_engine("tesseract").read(poster(["GRAND OPENING", "Fresh Bakery 1928"]))
    assert [line.text for line in reading.lines] == ["GRAND OPENING", "Fresh Bakery 1928"]
    assert reading.engine == "tesseract" and reading.version.startswith("tesseract")


def test_each_engine_says_which_scripts_it_reads_and_which_packs_add_the_rest():
    assert engines.RapidOCREngine.scripts == {"latin", "han"}
    assert engines.tesseract_scripts("eng") == {"latin"}
    assert engines.tesseract_scripts("eng+jpn") == {"latin", "kana"}      # kanji in Japanese text, not Chinese text
    assert engines.tesseract_scripts("kor+script/Cyrillic") == {"hangul", "latin", "cyrillic"}
    assert engines.tesseract_scripts("eng+chi_sim") == {"latin", "han"}
    assert engines.tesseract_scripts("fra+deu") == {"latin"}
    # what to add to a lang for scripts it lacks: Chinese text needs chi_sim, jpn does not read it
    assert engines.packs_for({"kana", "han"}) == "eng+chi_sim+jpn"
    assert engines.packs_for({"hangul"}, "eng+jpn") == "eng+jpn+kor"
    assert engines.packs_for({"han"}, "fra") == "fra+chi_sim"
    assert engines.packs_for({"han"}, "eng+jpn+kor") == "eng+jpn+kor+chi_sim"
    # what an image's text needs: Chinese characters beside kana are kanji, beside hangul hanja
    assert engines.needed_scripts("新年快乐 SALE") == {"han", "latin"}
    assert engines.needed_scripts("春の大売り出し") == engines.needed_scripts("大特価 サマーセール") == {"kana"}
    assert engines.needed_scripts("大韓 여름 세일") == {"hangul"}


def test_rapidocr_reads_chinese_but_not_japanese_kana_nor_korean_hangul(rapidocr, cjk_font):
    """Why RapidOCR's scripts are what they say: its shipped recogniser reads nothing of kana or
    hangul, so a Japanese or Korean headline would score 0 whatever the model drew."""
    font = ImageFont.truetype(str(cjk_font), 72)

    def read(text: str) -> str:
        img = Image.new("RGB", (900, 200), "white")
        ImageDraw.Draw(img).text((30, 50), text, fill="black", font=font)
        return "".join(line.text for line in rapidocr.read(img).lines).replace(" ", "")

    assert read("新年快乐") == "新年快乐"
    assert read("サマーセール") == "" and read("여름세일") == ""


def test_tesseract_refuses_a_language_pack_it_does_not_have_before_reading_anything(tesseract):
    with pytest.raises(OCRUnavailableError, match=r"no 'xqz' language pack .*apt-get install tesseract-ocr-xqz"):
        engines.TesseractEngine(lang="eng+xqz")
    assert engines.TesseractEngine().scripts == {"latin"}


def test_tesseract_s_japanese_and_korean_packs_do_not_read_chinese_text(tesseract_jpn_kor, cjk_font):
    """Why they do not say "han": jpn reads the kanji of Japanese text, not simplified Chinese (乐,
    时 and 优 are not in its alphabet), so a Chinese headline scored 0 whatever the model drew."""
    font = ImageFont.truetype(str(cjk_font), 72)
    engine = engines.TesseractEngine(lang="eng+jpn+kor")
    assert "han" not in engine.scripts

    def read(text: str) -> str:
        img = Image.new("RGB", (900, 200), "white")
        ImageDraw.Draw(img).text((30, 50), text, fill="black", font=font)
        return "".join(line.text for line in engine.read(img).lines).replace(" ", "")

    assert read("春の大売り出し") == "春の大売り出し"      # kanji in Japanese text: read
    assert read("新年快乐") != "新年快乐" and read("限时优惠") != "限时优惠"


def test_tesseract_with_its_packs_reads_the_japanese_and_korean_that_rapidocr_cannot(tesseract_jpn_kor, cjk_font):
    """The advice the unscored images get (score with TesseractEngine(lang='eng+jpn+kor')) works."""
    font = ImageFont.truetype(str(cjk_font), 72)
    engine = engines.TesseractEngine(lang="eng+jpn+kor")
    assert {"kana", "hangul"} <= engine.scripts
    for text in ("サマーセール", "여름 세일"):
        img = Image.new("RGB", (900, 200), "white")
        ImageDraw.Draw(img).text((30, 50), text, fill="black", font=font)
        read = "".join(line.text for line in engine.read(img).lines).replace(" ", "")
        assert read == text.replace(" ", ""), (text, read)
