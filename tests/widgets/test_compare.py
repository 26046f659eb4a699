"""The compare viewer from Python, and the explorer's new parts (keys, pins, filters, sorts,
api_extra), on real emulator experiments and a real SQLite log. The browser side is in
test_compare_browser.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from qwenlab import Experiment, ImageError
from qwenlab.widgets import CompareViewer, compare_files
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator: Any, data_dir: Path) -> Experiment:
    """promptExtend on/off x 2 sizes x 2 repeats; one cell failed."""
    return run_sweep(emulator, data_dir, name="compare")


def _originals_sent(viewer: CompareViewer) -> list[bytes]:
    """What the browser gets when its view asks for the originals (as compare.js does), every
    image, the previewed ones from that message and the others from the state."""
    sent: list[tuple[Any, list[bytes]]] = []
    viewer.widget.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))  # type: ignore[method-assign]
    viewer._on_msg(viewer.widget, {"want": "full", "generation": viewer.widget.generation}, [])
    images = list(viewer.widget.images)
    if sent:
        (content, buffers), = sent
        assert content["full"] == viewer.widget.generation and len(content["mimes"]) == len(buffers)
        for i, data in zip(content["index"], buffers):
            images[i] = data
    return images


def _ids(exp: Experiment, **cell: Any) -> list[int]:
    df = exp.images
    for k, v in cell.items():
        df = df[df[k] == v]
    return [int(i) for i in df["image_id"]]


def test_a_pair_row_is_labelled_with_only_what_differs(exp: Experiment) -> None:
    pair = exp.pairs("promptExtend").iloc[0]
    viewer = exp.compare_images(pair)
    assert isinstance(viewer, CompareViewer)
    on, off = viewer.labels
    assert on.startswith("promptExtend on · seed ") and off.startswith("promptExtend off · seed ")
    assert "size" not in on + off and "experiment" not in on + off  # the same for both: not a label
    assert "size " in viewer.widget.caption and "SYNTHETIC" in viewer.widget.caption
    # the files' own bytes, not a re-encode or a thumbnail, sent live (`full` below); the state a
    # notebook saves holds previews of them
    assert _originals_sent(viewer) == [Path(pair["path_a"]).read_bytes(), Path(pair["path_b"]).read_bytes()]
    assert viewer.value == Path(pair["path_a"]).read_bytes()


def test_ids_task_uuids_and_lists_mix(exp: Experiment) -> None:
    ids = _ids(exp)
    with sqlite3.connect(exp.log.path) as db:
        uuid = db.execute("SELECT task_uuid FROM images WHERE id = ?", [ids[2]]).fetchone()[0]
    viewer = exp.compare_images([ids[0], str(ids[1]), uuid])
    assert [img.id for img in viewer.images] == ids[:3]
    assert len(viewer.labels) == 3 and len(set(viewer.labels)) == 3


def test_four_sizes_label_the_size(exp: Experiment) -> None:
    ids = [_ids(exp, promptExtend=True, size=s)[0] for s in ("512x768", "768x512")]
    labels = exp.compare_images(ids).labels
    assert "size 512x768" in labels[0] and "size 768x512" in labels[1]


@pytest.mark.parametrize("bad, words", [([], "1 to 4 images, got 0"), ("no-such-task", "no image of task"),
                                        ([1, 2, 3, 4, 5], "got 5"), ([1, 9999], "no image with id 9999"),
                                        ([1, 2.5j], "neither an image id")])
def test_bad_images_name_the_parameter(exp: Experiment, bad: Any, words: str) -> None:
    with pytest.raises(ImageError, match="images") as err:
        exp.compare_images(bad)
    assert words in str(err.value)


def test_the_view_is_shared_state_python_can_reset(exp: Experiment) -> None:
    viewer = exp.compare_images(_ids(exp)[:2], mode="swipe")
    assert viewer.mode == "swipe" and viewer.split == 0.5
    viewer.widget.zoom, viewer.widget.pan_x = 3.0, 40.0  # as the browser sends them after a wheel and a drag
    assert viewer.zoom == 3.0 and viewer.pan == (40.0, 0.0)
    viewer.reset()
    assert (viewer.zoom, viewer.pan) == (1.0, (0.0, 0.0))
    assert "swipe" in repr(viewer) and "promptExtend" in repr(viewer)
    with pytest.raises(ValueError, match="mode"):
        viewer.mode = "overlay"


def test_compare_files_labels_by_name(exp: Experiment, tmp_path: Path) -> None:
    paths = [p for p in exp.images["path"]][:2]
    viewer = compare_files(paths)
    assert viewer.labels == [Path(p).name for p in paths]
    assert compare_files(paths, ["before", "after"]).labels == ["before", "after"]
    assert viewer.value == Path(paths[0]).read_bytes()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageError, match="not a JPEG"):
        compare_files([paths[0], tmp_path / "notes.txt"])
    with pytest.raises(ImageError, match="cannot read"):
        compare_files([tmp_path / "gone.jpg"])


def test_every_viewer_reads_as_what_it_holds_where_no_widget_is_drawn(exp: Experiment) -> None:
    """In a saved notebook or a console the compare viewers read as an object's address
    (anywidget gives its view as a (data, metadata) pair, which went unchanged)."""
    paths = [p for p in exp.images["path"]][:2]
    viewers = [compare_files(paths, ["A", "B"], mode="swipe"), exp.compare_images(_ids(exp)[:2]),
               exp.pair_viewer("promptExtend"), exp.explore(), exp.judge("promptExtend")]
    for viewer in viewers:
        bundle = viewer._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert data["text/plain"] == repr(viewer) and " object at 0x" not in repr(viewer), repr(viewer)
        assert "application/vnd.jupyter.widget-view+json" in data
    assert repr(viewers[0]) == "CompareViewer(A | B; swipe, zoom 1.00)"


# -- the explorer ------------------------------------------------------------------------------------
def test_a_click_shows_the_full_image_and_arrow_keys_walk_the_tiles(exp: Experiment) -> None:
    ex = exp.explore()
    ex.tiles[0].hit.click()
    first = ex.selected
    assert first is not None and ex.viewer is not None
    assert ex.viewer.value == Path(first.path).read_bytes()  # full resolution, not the old 360-px JPEG
    ex.on_key("ArrowRight")
    assert ex.selected is ex.items[1] and ex.viewer.images[0].id == ex.items[1].image_id
    ex.on_key("ArrowLeft")
    ex.on_key("ArrowLeft")  # stops at the first
    assert ex.selected is ex.items[0]
    ex.on_key("End")
    assert ex.selected is ex.items[-1]


def test_arrow_keys_turn_the_page(exp: Experiment) -> None:
    ex = exp.explore(page_size=2)  # a cell of 2 repeats to a page
    ex.select(ex.items[1])
    ex.on_key("ArrowRight")
    assert ex.page == 1 and ex.selected is ex.items[2] and any(t.entry is ex.items[2] for t in ex.tiles)
    ex.on_key("PageDown")
    assert ex.page == 2


def test_pins_put_images_side_by_side(exp: Experiment) -> None:
    ex = exp.explore()
    images = [e for e in ex.items if e.image_id is not None]
    ex.select(images[0])
    assert ex.unpin_button.disabled  # nothing pinned: "unpin all" looked live and did nothing
    ex.pin()
    assert not ex.unpin_button.disabled
    ex.select(images[1])
    assert [i.id for i in ex.viewer.images] == [images[0].image_id, images[1].image_id]
    assert ex.pin_label.value == f"1 pinned: image #{images[0].image_id}"  # as the detail names it, not "images 32"
    # the caption says what they share (it was empty); where they came from is the header's to say
    assert "same: " in ex.viewer.widget.caption and "SYNTHETIC" not in ex.viewer.widget.caption
    viewer = ex.compare(images[2].image_id, images[3].image_id, images[1].image_id)
    assert [i.id for i in viewer.images] == [e.image_id for e in (images[2], images[3], images[1])]
    ex.unpin()
    assert [i.id for i in ex.viewer.images] == [images[1].image_id]
    assert ex.unpin_button.disabled


def test_filters_by_status_rating_and_cost_and_sorts(exp: Experiment) -> None:
    ex = exp.explore(status="failed")
    assert [e.status for e in ex.items] == ["failed"]
    assert "status=failed" in repr(ex)
    ex.facets.status.value = "*"
    images = [e for e in ex.items if e.image_id is not None]
    ex.select(images[3])
    ex.rate(score=5)
    ex.select(images[5])
    ex.rate(score=2)
    ex.facets.rating.value = ">=4"
    assert [e.image_id for e in ex.items] == [images[3].image_id]
    ex.facets.rating.value = "rated"
    assert {e.image_id for e in ex.items} == {images[3].image_id, images[5].image_id}
    ex.facets.rating.value = "*"
    ex.rows.value = ex.cols.value = ""
    ex.facets.sort.value = "rating"
    assert [e.image_id for e in ex.items[:2]] == [images[3].image_id, images[5].image_id]
    ex.facets.sort.value = "-cost"
    costs = [e.cost_usd for e in ex.items if e.cost_usd is not None]
    assert costs == sorted(costs, reverse=True) and ex.items[-1].cost_usd is None  # the failed cell: no cost, last
    cheapest = min(costs)
    ex.facets.cost.value = str(round(cheapest, 6))
    assert ex.items and all(e.cost_usd is not None and e.cost_usd <= cheapest + 1e-9 for e in ex.items)


def test_opening_filters_are_checked(exp: Experiment) -> None:
    with pytest.raises(ValueError, match="status must be one of failed, in_doubt, pending, done"):
        exp.explore(status="exploded")
    # cells sent with no answer logged are "in_doubt" here as in every count (the log says 'sent')
    doubt = exp.explore(status="in_doubt")
    assert doubt.items == [] and ("in_doubt", "sent") in doubt.facets.status.options
    assert exp.explore(status="sent").facets.status.value == "sent"
    with pytest.raises(ValueError, match="rating must be one of"):
        exp.explore(rating="great")
    with pytest.raises(ValueError, match="max_cost"):
        exp.explore(max_cost=0.0001)
    assert exp.explore(rating=4).facets.rating.value == ">=4"


def test_api_extra_is_shown_when_the_column_holds_fields(exp: Experiment) -> None:
    ex = exp.explore()
    image = next(e for e in ex.items if e.image_id is not None)
    ex.select(image)
    assert "more from the API" not in ex.info.value  # the emulator sent nothing unmodelled: nothing shown
    with sqlite3.connect(exp.log.path) as db:  # as if Runware had sent two fields qwenlab does not model
        db.execute("UPDATE images SET api_extra = ? WHERE id = ?",
                   [json.dumps({"safetyScore": 0.02, "region": "<eu>"}), image.image_id])
    ex.reload()
    ex.select(image.image_id)
    assert "more from the API" in ex.info.value and "safetyScore" in ex.info.value
    assert "&lt;eu&gt;" in ex.info.value  # escaped


def test_the_pair_viewer_opens_the_pair_in_the_compare_viewer(exp: Experiment) -> None:
    pv = exp.pair_viewer("promptExtend")
    assert pv.closely.children == ()
    pv.closely_button.value = True  # "look closely"
    viewer = pv.viewer
    assert viewer is not None and pv.closely.children == (viewer.widget,) and viewer.mode == "swipe"
    assert viewer.widget.caption == ""  # the pair viewer's own SYNTHETIC banner is above: not twice
    assert "SYNTHETIC" in pv.compare(caption=None).widget.caption  # on its own, the viewer says it
    pv.compare(caption="")
    row = pv.df.iloc[0]
    assert viewer.widget.images == [Path(row["path_a"]).read_bytes(), Path(row["path_b"]).read_bytes()]
    assert viewer.labels[0].startswith("promptExtend on · seed ") and viewer.labels[1].startswith("promptExtend off")
    pv.show(1)  # the viewer follows the pair shown
    assert viewer.widget.images[0] == Path(pv.df.iloc[1]["path_a"]).read_bytes()


def test_in_a_kernel_the_page_shows_at_once_and_its_thumbnails_follow(exp: Experiment) -> None:
    import asyncio
    import shutil

    from qwenlab.widgets.tiles import blank_jpeg

    shutil.rmtree(Path(exp.data_dir) / "thumbs", ignore_errors=True)

    async def open_in_a_loop() -> tuple[list[bytes], list[bytes], list[bytes]]:  # a kernel runs callbacks in its asyncio loop
        ex = exp.explore()
        at_once = [t.image.value for t in ex.tiles]
        # each grey tile has its image's shape: the page does not jump as the pictures arrive
        blanks = [blank_jpeg(t.entry.aspect, ex.grid.size_of(t.entry)) for t in ex.tiles]  # at the tiles' size
        assert ex.grid.filling is not None
        await ex.grid.filling
        return at_once, blanks, [t.image.value for t in ex.tiles]

    at_once, blanks, later = asyncio.run(open_in_a_loop())
    assert at_once and at_once == blanks  # laid out before any thumbnail was made
    assert len(set(blanks)) == 2  # portrait and landscape
    with_image = [v for v, blank in zip(later, blanks) if v != blank]
    assert len(with_image) == 7 and all(v[:2] == b"\xff\xd8" for v in with_image)  # 7 images, 1 failed cell


def test_without_text_scores_only_the_score_filter_is_hidden(exp: Experiment) -> None:
    ex = exp.explore()
    assert ex.facets.score.layout.display == "none"
    assert all(d.layout.display != "none" for d in (ex.facets.status, ex.facets.rating, ex.facets.cost, ex.facets.sort))
    ex.select(next(e for e in ex.items if e.image_id is not None))
    label = ex.viewer.labels[0]  # one image: what it is, not what differs
    assert "promptExtend" in label and "size" in label and "seed" in label
    assert ex.viewer.widget.caption == ""  # the explorer's own header says SYNTHETIC once


def test_after_a_page_turn_the_arrows_go_on_from_the_page_shown(exp: Experiment) -> None:
    """PageDown left the selection on the page before: → then jumped back to that page (the one
    just turned away from) instead of selecting the first tile of the page shown."""
    ex = exp.explore(page_size=2)  # a cell of 2 repeats to a page
    ex.select(ex.items[0])
    ex.on_key("PageDown")
    ex.on_key("ArrowRight")
    assert ex.page == 1 and ex.selected is ex.items[2]
    ex.on_key("PageDown")
    ex.on_key("ArrowLeft")
    assert ex.page == 2 and ex.selected is ex.items[5]  # the last tile of page 3
    ex.on_key("PageUp")
    ex.on_key("Home")  # Home and End still go to the very first and last
    assert ex.page == 0 and ex.selected is ex.items[0]


def test_the_saved_widget_state_holds_previews_and_the_originals_come_live(tmp_path: Path) -> None:
    """A notebook saved with its widget state keeps every synced trait, binary buffers included:
    the viewer's were its files as stored, MB of them for a pair of real posters (here two
    noisy 2048-px PNGs, 12 MB each), kept in the notebook for every viewer shown. The state
    holds a 768-px preview of each now; the originals go to a view that asks, in a message no
    state keeps, and only for the images it shows now."""
    import io

    import numpy as np
    from PIL import Image

    paths = []
    for n in range(2):
        noise = np.random.default_rng(n).integers(0, 256, (2048, 1536 if n else 2048, 3), dtype=np.uint8)
        paths.append(tmp_path / f"poster{n}.png")
        Image.fromarray(noise).save(paths[-1])
    originals = [p.read_bytes() for p in paths]
    assert min(map(len, originals)) > 5_000_000
    viewer = compare_files(paths)
    state = viewer.widget.get_state()
    held = sum(len(b) for b in state["images"])
    assert held < 1_000_000, f"the saved state holds {held:,} bytes of images"
    assert state["previewed"] == [True, True]
    for data in state["images"]:
        with Image.open(io.BytesIO(data)) as img:
            assert max(img.size) == 768
    assert _originals_sent(viewer) == originals and viewer.value == originals[0]
    # a request for images shown before is not answered: the view asks again for the new ones
    stale = viewer.widget.generation
    viewer.show(viewer.images[::-1])
    sent: list[Any] = []
    viewer.widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    viewer._on_msg(viewer.widget, {"want": "full", "generation": stale}, [])
    assert sent == []
    assert _originals_sent(viewer) == originals[::-1]
