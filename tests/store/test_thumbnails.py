"""Thumbnails: made once per image and size, cached by content hash, written atomically."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from qwenlab.api.imagestore import ImageStore
from qwenlab.errors import ImageError
from qwenlab.store import thumbnails


def _jpeg(width: int = 1024, height: int = 1536, color: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def stored(data_dir: Path) -> Path:
    """A 1024x1536 JPEG stored the way the runner stores it: <data>/images/<aa>/<sha>.jpg."""
    return ImageStore(data_dir / "images").save(_jpeg()).path


def test_thumbnail_fits_the_box_keeps_aspect_and_lives_under_data_thumbs(stored: Path, data_dir: Path) -> None:
    thumb = thumbnails.thumbnail(stored, 256)
    assert thumb.parent.parent == data_dir / "thumbs" / "256"
    assert thumb.stem == stored.stem  # keyed by the image's content hash
    with Image.open(thumb) as img:
        assert img.format == "JPEG"
        assert img.size == (171, 256)


def test_second_call_reuses_the_file_without_decoding_the_original(stored: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = thumbnails.thumbnail(stored, 128)
    mtime = first.stat().st_mtime_ns

    def no_decoding(*args, **kwargs):  # the cached path must never open the original
        raise AssertionError("original image was decoded again")

    monkeypatch.setattr(thumbnails, "_render", no_decoding)
    before = thumbnails.stats()
    again = thumbnails.thumbnail(stored, 128)
    assert again == first
    assert again.stat().st_mtime_ns == mtime
    assert thumbnails.stats()["reused"] == before["reused"] + 1
    assert thumbnails.stats()["made"] == before["made"]


def test_each_size_is_its_own_thumbnail(stored: Path) -> None:
    small, big = thumbnails.thumbnail(stored, 64), thumbnails.thumbnail(stored, 512)
    assert small != big
    with Image.open(small) as a, Image.open(big) as b:
        assert max(a.size) == 64 and max(b.size) == 512


def test_an_image_not_named_by_hash_is_keyed_by_its_bytes(tmp_path: Path, data_dir: Path) -> None:
    data = _jpeg(300, 200)
    one, two = tmp_path / "one.jpg", tmp_path / "copy.jpg"
    one.write_bytes(data)
    two.write_bytes(data)
    assert thumbnails.thumbnail(one, 64) == thumbnails.thumbnail(two, 64)
    assert thumbnails.thumbnail(one, 64).stem == hashlib.sha256(data).hexdigest()
    assert (data_dir / "thumbs") in thumbnails.thumbnail(one, 64).parents


def test_png_with_alpha_becomes_a_jpeg_on_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(path)
    with Image.open(thumbnails.thumbnail(path, 32)) as img:
        assert img.mode == "RGB"
        assert img.getpixel((16, 16))[0] > 240 and img.getpixel((16, 16))[1] > 240  # white, not black


def test_bytes_and_data_uri_are_the_cached_jpeg(stored: Path) -> None:
    data = thumbnails.thumbnail_bytes(stored, 96)
    assert data[:3] == b"\xff\xd8\xff"
    uri = thumbnails.thumbnail_data_uri(stored, 96)
    assert uri.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == data


def test_explicit_cache_dir(stored: Path, tmp_path: Path) -> None:
    thumb = thumbnails.thumbnail(stored, 64, cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / "64") in thumb.parents


def test_missing_and_corrupt_images_raise_image_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        thumbnails.thumbnail(tmp_path / "gone.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ImageError, match="bad.jpg"):
        thumbnails.thumbnail(bad)
    assert not list(tmp_path.rglob(".tmp-*"))  # no half-written file left behind (the data dir is under tmp_path)


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        thumbnails.thumbnail_path("x.jpg", 0)


def test_many_threads_asking_at_once_make_it_once(stored: Path) -> None:
    thumbnails.reset_stats()
    results: list[Path] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(thumbnails.thumbnail(stored, 200))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert thumbnails.stats()["made"] == 1
    assert thumbnails.stats()["reused"] == 7
    assert not list(results[0].parent.glob(".tmp-*"))


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """Images, thumbnails and reports are written atomically through a temp file; they must still
    get the permissions of any file the user writes (0666 less the umask), not mkstemp's 0600."""
    import stat

    from qwenlab import paths

    for umask in (0o022, 0o027):  # the umask of the moment, not one read at import
        old = os.umask(umask)
        try:
            target = tmp_path / f"report-{umask:o}.html"
            paths.write_atomic(target, b"<p>hi</p>", durable=umask == 0o027)
        finally:
            os.umask(old)
        assert target.read_bytes() == b"<p>hi</p>"
        assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(".tmp-*"))


def test_thumbnail_of_gives_each_view_its_form_and_a_reason_instead_of_raising(stored: Path, data_dir: Path) -> None:
    """Grids want pixels, widgets JPEG bytes, HTML a data URI; a broken or missing image must give
    a falsy Unreadable that says why, so one bad file leaves a labelled blank, not a broken view."""
    pixels = thumbnails.thumbnail_of(stored, 64, "pixels")
    assert pixels.shape == (64, 43, 3)
    assert thumbnails.thumbnail_of(stored, 64, "jpeg")[:2] == b"\xff\xd8"
    assert thumbnails.thumbnail_of(stored, 64, "data_uri").startswith("data:image/jpeg;base64,")

    broken = data_dir / "images" / "broken.png"
    broken.write_bytes(b"not an image")
    for missing in (broken, data_dir / "images" / "gone.png", None):
        got = thumbnails.thumbnail_of(missing, 64, "pixels")
        assert isinstance(got, thumbnails.Unreadable) and not got and str(got)

    many = thumbnails.thumbnails_of([str(stored), str(stored), str(broken), None], 64, "jpeg")
    assert set(many) == {str(stored), str(broken)}  # one entry per distinct path, None skipped
    assert many[str(stored)][:2] == b"\xff\xd8" and not many[str(broken)]


def test_an_image_damaged_after_its_thumbnails_were_made_is_checked_again(stored: Path) -> None:
    """Thumbnails made while the file was whole stood for it after it was damaged: the grid drew
    it as fine (a new size or a region said "damaged"). A file written after its thumbnail is
    checked again, and a whole file rewritten (a refetch) gets its thumbnail remade once."""
    import os

    from qwenlab.html.images import webp_thumbnails

    assert thumbnails.thumbnail_of(stored, 64, "jpeg")[:2] == b"\xff\xd8"
    assert webp_thumbnails([str(stored)], 64)
    for cached in (stored.parent.parent.parent / "thumbs").rglob(f"{stored.stem}.*"):
        past = cached.stat().st_mtime_ns - 10**10
        os.utime(cached, ns=(past, past))  # made well before the damage, whatever the clock's grain
    good = stored.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    got = thumbnails.thumbnail_of(stored, 64, "jpeg")
    assert isinstance(got, thumbnails.Unreadable) and "damaged" in str(got)
    assert webp_thumbnails([str(stored)], 64) == {}
    stored.write_bytes(good)  # fetched again, whole
    thumbnails.reset_stats()
    assert thumbnails.thumbnail_of(stored, 64, "jpeg")[:2] == b"\xff\xd8"
    assert thumbnails.thumbnail_of(stored, 64, "jpeg")[:2] == b"\xff\xd8"
    assert thumbnails.stats() == {"made": 1, "reused": 1}  # remade once, then reused


def test_a_damaged_image_that_still_decodes_is_not_drawn_as_the_one_paid_for(stored: Path) -> None:
    """A stored image is named by its bytes' SHA-256: a file whose bytes changed since (a bit
    flipped on disk, a copy cut short and padded) may still decode, to another picture. Its tile
    says it is damaged and how to get the image back; the report leaves it out, as a missing one."""
    from qwenlab.html.images import webp_thumbnails

    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the entropy-coded scan: Pillow decodes it, wrongly
    stored.write_bytes(bytes(data))
    with Image.open(stored) as img:
        img.load()  # still an image to Pillow
    got = thumbnails.thumbnail_of(stored, 64, "pixels")
    assert isinstance(got, thumbnails.Unreadable)
    assert "damaged" in str(got) and "getResponse" in str(got) and stored.name in str(got)
    assert not list((stored.parent.parent.parent / "thumbs").rglob("*.jpg"))  # nothing cached of it
    assert webp_thumbnails([str(stored)], 64) == {}
    # nor at full size: a region of it, the compare and detail views
    from qwenlab.figures.region import check_region, crop_of
    from qwenlab.widgets.compare import CompareImage

    crop = crop_of(str(stored), check_region((0, 0, 1, 0.3)))
    assert isinstance(crop, thumbnails.Unreadable) and "damaged" in str(crop)
    # the reason is drawn into tiles and reports that are shared: the file, not the user's folders
    gone = stored.parent / ("0" * 64 + ".jpg")
    for reason in (got, crop, thumbnails.thumbnail_of(gone, 64, "pixels"), crop_of(str(gone), check_region((0, 0, 1, 1)))):
        assert str(stored.parent) not in str(reason) and os.sep not in str(reason), reason
    assert "image unreadable" in str(thumbnails.thumbnail_of(gone, 64, "pixels")) and gone.name in str(crop_of(str(gone), check_region((0, 0, 1, 1))))
    with pytest.raises(ImageError, match="damaged"):
        CompareImage(str(stored)).read()
