"""The typography benchmark's stage profile measures RapidOCR as it reads, and leaves the engine
as it found it."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from qwenlab.bench.typography import before_engine, stage_times


def test_stage_times_split_a_reading_into_detection_and_recognition(rapidocr, tmp_path):
    img = Image.new("RGB", (1024, 1024), (240, 235, 225))
    ImageDraw.Draw(img).text((100, 100), "GRAND OPENING", font=ImageFont.load_default(size=60), fill=(20, 20, 20))
    path = tmp_path / "poster.png"
    img.save(path)
    ms = stage_times(rapidocr, [path, path])
    assert ms["detection"] > 0 and ms["recognition"] > 0
    assert ms["detection"] + ms["recognition"] <= ms["all"] * 1.01   # the stages are parts of the whole
    reading = rapidocr.read(path)  # the recogniser was given back: the engine still reads
    assert [line.text.replace(" ", "") for line in reading.lines] == ["GRANDOPENING"]
    before = before_engine(rapidocr)
    assert (before.workers, before.detect_side, before.options["use_cls"], before.options["rec_batch_num"]) == \
        (1, None, True, 6)   # RapidOCR's own defaults, for the same-run comparison
