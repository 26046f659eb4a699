"""exp.export_images: files named by experiment, values and seed, whose settings are read back
with Pillow from inside each format the API returns (JPEG, PNG, WebP), whose pixels are the
original's, and in which the API key never appears."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from qwenlab import Lab
from qwenlab.errors import UnknownAxisError
from qwenlab.store.embedded_metadata import embed
from tests.support.labkit import run_sweep

KEY = "sk-grid-test"  # the key labkit's client sends; the emulator saw it on every request


@pytest.fixture
def exp(emulator, data_dir: Path):
    run_sweep(emulator, data_dir, name="formats", repeats=1, fail_one=False,
              axes={"outputFormat": ["JPG", "PNG", "WEBP"], "promptExtend": [True, False]})
    return Lab(data_dir, client=lambda: pytest.fail("nothing here may connect")).experiment("formats")


def _record(im: Image.Image, fmt: str) -> dict:
    """The JSON record as a reader finds it inside the file: PNG's iTXt chunk, else the XMP packet."""
    if fmt == "png":
        return json.loads(im.text["qwenlab"])
    xmp = im.info["xmp"].decode("utf-8")
    inner = xmp.split("<qwenlab:record>")[1].split("</qwenlab:record>")[0]
    import html

    return json.loads(html.unescape(inner))


def test_every_format_carries_its_settings_and_keeps_its_pixels(exp, tmp_path: Path) -> None:
    images = exp.images.set_index("image_id")
    ratings = {int(images.index[0]): 5}
    exp.log.rate(int(images.index[0]), 5, "keeper")
    written = exp.export_images(tmp_path / "out")
    assert len(written) == 6
    seen = set()
    for item in written:
        row = images.loc[item.image_id]
        fmt = item.path.suffix.lstrip(".")
        seen.add(fmt)
        assert item.path.name.startswith("formats_outputFormat-") and f"seed-{row['seed']}" in item.path.name
        with Image.open(item.path) as im, Image.open(row["path"]) as original:
            im.load()
            assert im.tobytes() == original.tobytes() and im.size == original.size  # the same pixels
            record = _record(im, fmt)
            exif = im.getexif()
            assert exif.get_ifd(0x8769)[0x9286].startswith(b"UNICODE\x00")  # A1111's UserComment, every format
            if fmt == "png":
                parameters = im.text["parameters"]
            elif fmt == "jpg":
                parameters = im.info["comment"].decode("utf-8")
            else:
                parameters = exif.get_ifd(0x8769)[0x9286][8:].decode("utf-16-be")
        assert parameters.startswith(row["prompt"]) and f"Seed: {row['seed']}" in parameters
        assert "SYNTHETIC" in parameters and "(emulated)" in parameters
        sidecar = json.loads(item.sidecar.read_text())
        for rec in (record, sidecar):
            assert rec["prompt"] == row["prompt"] and rec["seed"] == row["seed"]
            assert rec["cost_usd"] == pytest.approx(row["cost_usd"]) and rec["backend"] == "emulator" and rec["synthetic"]
            assert rec["request"]["outputFormat"] == rec["values"]["outputFormat"]
            assert rec["request"]["positivePrompt"] == row["prompt"]
            assert rec["rating"] == ratings.get(item.image_id)
        assert KEY not in item.path.read_bytes().decode("latin-1") and KEY not in item.sidecar.read_text()
    assert seen == {"jpg", "png", "webp"}


def test_min_rating_and_where_choose_the_images(exp, tmp_path: Path) -> None:
    ids = [int(i) for i in exp.images["image_id"]]
    exp.log.rate(ids[0], 5)
    exp.log.rate(ids[1], 4)
    exp.log.rate(ids[2], 2)
    assert sorted(w.image_id for w in exp.export_images(tmp_path / "a", min_rating=4)) == ids[:2]
    kept = exp.export_images(tmp_path / "b", where={"outputFormat": "PNG", "promptExtend": "on"})
    assert len(kept) == 1 and kept[0].path.name.startswith("formats_outputFormat-PNG_promptExtend-on_seed-")
    with pytest.warns(UserWarning, match=r"no image of 'formats' has a latest rating of 5 or more \(2 images, 0 rated\)"):
        assert exp.export_images(tmp_path / "c", min_rating=5, where={"outputFormat": "WEBP"}) == []
    with pytest.raises(UnknownAxisError, match="size"):
        exp.export_images(tmp_path / "d", where={"size": "512x768"})


def test_without_sidecars_no_sidecar_is_named(exp, tmp_path: Path) -> None:
    """export_images(..., sidecar=False) wrote no .json, yet each result's `sidecar` named one
    beside the image: a script reading it (item.sidecar.read_text()) met a file that is not there.
    It is None now; with sidecars, each names the file written."""
    bare = exp.export_images(tmp_path / "bare", sidecar=False)
    assert len(bare) == 6 and all(item.sidecar is None for item in bare)
    assert not list((tmp_path / "bare").glob("*.json"))
    dressed = exp.export_images(tmp_path / "dressed")
    assert all(item.sidecar is not None and item.sidecar.is_file() for item in dressed)


def test_a_min_rating_that_keeps_no_image_says_why_and_makes_no_folder(exp, tmp_path: Path) -> None:
    """The README's `cmp.export_images("data/picked-runs", min_rating=4)`, run before any image was
    rated, returned [] and left an empty folder, with nothing said: the export had not failed, and
    there was nothing to keep until images are rated. It says so now, and where to rate them."""
    ids = [int(i) for i in exp.images["image_id"]]
    exp.log.rate(ids[0], 3)
    with pytest.warns(UserWarning, match=r"no image of 'formats' has a latest rating of 4 or more \(6 images, 1 rated\)"
                                         r", so none was written to .*: rate them in the explorer \(exp\.explore\(\)\)"):
        assert exp.export_images(tmp_path / "picked", min_rating=4) == []
    assert not (tmp_path / "picked").exists()


def test_a_missing_or_damaged_file_is_left_out_and_named_the_rest_written(exp, tmp_path: Path, data_dir: Path) -> None:
    """One image file deleted from the store stopped the whole export ("was the data folder
    moved?"), and a damaged one was copied out under metadata that vouched for it. Both are left
    out now, named with how to get them back, and every other image is written."""
    from click.testing import CliRunner

    from qwenlab.cli import cli

    paths = [data_dir / p for p in exp.images["path"]]
    paths[0].unlink()
    damaged = bytearray(paths[1].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    paths[1].write_bytes(bytes(damaged))
    paths[2].unlink()
    paths[2].mkdir()  # a folder where the file should be: unreadable, as one without permission is
    with pytest.warns(UserWarning, match="3 image files were not written, 1 missing and 1 damaged .* and 1 unreadable") as w:
        written = exp.export_images(tmp_path / "out")
    assert len(written) == len(paths) - 3 and {x.original for x in written} == set(paths[3:])
    # in the experiment's order of cells, which the images' order (of their ids: as their tasks finished) need not be
    assert sorted((why, f) for _, f, why in written.skipped) == [("damaged", paths[1]), ("missing", paths[0]), ("unreadable", paths[2])]
    assert "Run the experiment again" in str(w[0].message) and "import it again" in str(w[0].message)
    result = CliRunner(env={"QWENLAB_DATA_DIR": str(data_dir)}).invoke(cli, ["images", "formats", "-o", str(tmp_path / "cli")])
    assert result.exit_code == 1 and "1 missing and 1 damaged" in result.output and "UserWarning" not in result.output
    assert len(list((tmp_path / "cli").glob("*.json"))) == len(paths) - 3


def test_simple_webp_gets_the_extended_header_it_needs(tmp_path: Path) -> None:
    """A lossy WebP of the simple layout (no VP8X chunk) must become a valid extended file."""
    import io

    im = Image.new("RGB", (37, 21), (200, 30, 90))
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=80)
    data = buf.getvalue()
    assert data[12:16] == b"VP8 "
    out = embed(data, "webp", parameters="p\nSeed: 1", record={"seed": 1}, description="p")
    with Image.open(io.BytesIO(out)) as back, Image.open(io.BytesIO(data)) as original:
        assert back.size == (37, 21) and back.tobytes() == original.tobytes()
        assert b"<qwenlab:record>" in back.info["xmp"]


@pytest.mark.parametrize("prompt", ["宣传海报：护肤品牌 'LUMIÈRE' 的标题", "A poster\x07 with a bell\x0c and a form feed"],
                         ids=["non-ascii", "control-characters"])
def test_a_prompt_of_any_characters_is_read_back_whole(prompt: str) -> None:
    """A Chinese or accented prompt was written into Exif's ImageDescription (ASCII by the
    standard) as '?' marks; a prompt holding a control character made an XMP packet that is not
    XML. The prompt is read back whole from XMP and UserComment, and no field holds '?' for it."""
    import io
    import xml.etree.ElementTree as ET

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, "JPEG")
    out = embed(buf.getvalue(), "jpg", parameters=f"{prompt}\nSeed: 1", record={"prompt": prompt}, description=prompt)
    with Image.open(io.BytesIO(out)) as im:
        xmp = im.info["xmp"].decode("utf-8")
        exif = im.getexif()
    root = ET.fromstring(xmp.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])  # parses: valid XML
    said = "".join(root.itertext())
    assert json.loads(_record_from(xmp))["prompt"] == prompt  # the record keeps it exactly (JSON escapes)
    if prompt.isprintable():
        assert prompt in said
        assert 0x010E not in exif  # left out, not written as '?'
    else:
        assert "A poster\ufffd with a bell" in said
    assert "?" not in str(exif.get(0x010E, ""))
    comment = exif.get_ifd(0x8769)[0x9286]
    assert comment[8:].decode("utf-16-be").startswith(prompt)


def _record_from(xmp: str) -> str:
    import html

    return html.unescape(xmp.split("<qwenlab:record>")[1].split("</qwenlab:record>")[0])


def test_the_image_rows_are_read_with_the_catalog_not_once_an_image(exp, tmp_path: Path, monkeypatch) -> None:
    """Each image's record asked the log for its row: 1,920 queries for a 2,000-image export."""
    asked = []
    real = type(exp.log).rows
    monkeypatch.setattr(type(exp.log), "rows", lambda self, sql, params=(): asked.append(sql) or real(self, sql, params))
    written = exp.export_images(tmp_path / "out")
    assert len(written) == 6 and not [q for q in asked if "FROM images WHERE id = ?" in q]
    assert all(json.loads(w.sidecar.read_text())["image_uuid"] for w in written)


def test_a_long_experiment_name_leaves_room_for_the_settings_and_seed(exp, tmp_path: Path) -> None:
    """A 300-character experiment name took all of a file name's 180 characters: the files were
    `xxx….jpg`, `xxx…_2.jpg`, with no axis value nor seed. The name is shortened instead, with a
    hash of it, so two long names do not share files."""
    long = "x" * 300
    exp.rename(long)
    written = exp.export_images(tmp_path / "out")
    names = [item.path.stem for item in written]
    assert all("_outputFormat-" in n and "_seed-" in n and len(n) <= 180 for n in names), names
    assert len(set(names)) == len(names) and all(n.startswith("x" * 53 + "-") for n in names)


def test_exported_file_names_are_ones_windows_can_make(exp, tmp_path: Path) -> None:
    """An experiment named "con.v2" wrote `con.v2_outputFormat-…_seed-1.jpg`: to Windows, whose
    device names hold whatever follows the first dot, that is CON, the console."""
    from tests.support.windows_names import windows_name_problem

    exp.rename("con.v2")
    written = exp.export_images(tmp_path / "out")
    names = [f.name for item in written for f in (item.path, item.sidecar)]
    assert names and all(windows_name_problem(n) is None for n in names), names
    assert len({n.lower() for n in names}) == len(names)  # nor two that fold to one on macOS and Windows


def test_a_chinese_experiment_name_is_kept_in_its_file_names_within_255_bytes(exp, tmp_path: Path) -> None:
    """Names were cut to ASCII: "新年海报" left nothing, and the files were `x_outputFormat-…`.
    Letters of any script are kept; a name's length is counted in bytes, as file systems count
    it (a Chinese character takes three), so a long one still fits."""
    exp.rename("新年海报 v2")
    names = [item.path.name for item in exp.export_images(tmp_path / "cjk")]
    assert names and all(n.startswith("新年海报-v2_outputFormat-") for n in names), names
    exp.rename("海" * 300)
    names = [f.name for item in exp.export_images(tmp_path / "long") for f in (item.path, item.sidecar)]
    assert all("_seed-" in n and len(n.encode("utf-8")) <= 190 for n in names), names
    assert len(set(names)) == len(names)


def test_a_key_an_older_log_kept_is_in_no_exported_file(exp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a log written before keys were refused in prompts (or by hand) holds the key in a prompt and
    # its request: the sidecar was scrubbed of it, the image's own metadata (what a viewer or an
    # upload site shows) was not
    key = "rw-live-Ex9Pq2Lm7Zt4Kv8W"
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    with exp.log.transaction() as db:
        for task_id, request_json in db.execute("SELECT id, request_json FROM tasks").fetchall():
            request = json.loads(request_json)
            request["positivePrompt"] = f"a poster, token {key}"
            db.execute("UPDATE tasks SET prompt = ?, request_json = ? WHERE id = ?",
                       [request["positivePrompt"], json.dumps(request), task_id])
    written = exp.export_images(tmp_path / "out")
    assert len(written) == 6
    for item in written:
        with Image.open(item.path) as im:
            record = _record(im, item.path.suffix.lstrip("."))
        assert record["prompt"] == "a poster, token ***" and record["request"]["positivePrompt"] == "a poster, token ***"
        for text in (item.path.read_bytes().decode("latin-1"), item.sidecar.read_text()):
            assert key not in text and key[:8] not in text
        # UTF-16 (Exif's UserComment) too
        assert key.encode("utf-16-be") not in item.path.read_bytes()


def test_an_export_without_sidecars_removes_the_sidecars_an_earlier_export_left_beside_its_files(exp, tmp_path: Path) -> None:
    """Exporting without sidecars into a folder an export with sidecars had written left each old
    .json beside the file rewritten: an image rated since said 5 inside and none in the sidecar
    beside it. Those sidecars are removed and named; the sidecars of files not rewritten, and a
    file of the user's bearing a sidecar's name, are left as they were."""
    folder = tmp_path / "picked"
    first = exp.export_images(folder)
    jpgs = [item for item in first if item.path.suffix == ".jpg"]
    assert len(jpgs) == 2 and all(item.sidecar is not None for item in first)
    exp.log.rate(jpgs[0].image_id, 5)
    mine = jpgs[1].sidecar
    mine.write_text('{"my": "notes"}')
    again = exp.export_images(folder, where={"outputFormat": "JPG"}, sidecar=False)
    assert [item.path for item in again] == [item.path for item in jpgs]
    assert not jpgs[0].sidecar.exists() and again.removed == [jpgs[0].sidecar]
    with Image.open(jpgs[0].path) as im:
        assert _record(im, "jpg")["rating"] == 5
    assert mine.read_text() == '{"my": "notes"}'  # not an export's: not the export's to remove
    assert all(item.sidecar.is_file() for item in first if item not in jpgs)
    assert "1 stale .json sidecar of an earlier export removed" in str(again), str(again)
