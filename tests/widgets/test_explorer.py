"""The explorer driven as a user would, without a browser: dropdowns set, buttons clicked, and
what it shows and writes to the log checked (the log read back with plain sqlite3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest

from qwenlab import Experiment, Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator
from qwenlab.html.page import esc
from qwenlab.widgets.explorer import Explorer
from qwenlab.widgets.filters import ALL

PROMPT = "A poster for 'LUMIERE' <script>alert(1)</script> & friends"


@pytest.fixture
def lab(emulator: Emulator, data_dir: Path) -> Iterator[Lab]:
    client = RunwareClient("sk-explorer-test", emulator.url, images_dir=data_dir / "images", backoff_base=0.01)
    yield Lab(data_dir, client=client)
    client.close()


def run(lab: Lab, name: str = "explore", repeats: int = 2, extend: bool = False) -> Experiment:
    sweep = Sweep(prompt=PROMPT, size="256x384", repeats=repeats,
                  axes={"promptExtend": [True, False], "outputQuality": [60, 61, 62]})
    return lab.run(sweep, name=name, progress=False, concurrency=1, extend=extend)


def ratings_in_db(exp: Experiment) -> list[tuple]:
    with sqlite3.connect(exp.log.path) as db:
        return db.execute("SELECT image_id, score, note, judge FROM ratings ORDER BY id").fetchall()


def test_opens_on_the_experiments_own_axes(lab: Lab) -> None:
    exp = run(lab)
    ex = exp.explore()
    assert isinstance(ex, Explorer)
    assert (ex.rows.value, ex.cols.value) == ("promptExtend", "outputQuality")
    assert [v for _, v in ex.rows.options] == ["", "promptExtend", "outputQuality", "repeat"]
    assert [label for label, _ in ex.filters["outputQuality"].options] == ["all", "60", "61", "62"]
    assert set(ex.filters) == {"promptExtend", "outputQuality"}
    assert [label for label, _ in ex.filters["promptExtend"].options] == ["all", "on", "off"]
    assert len(ex.page_items) == 12 and all(e.image_id is not None for e in ex.page_items)
    # the grid: a corner, 3 column heads, then per row value a head and 3 cells of 2 repeats each
    grid = ex.grid.widget.children[0]
    heads = [c.value for c in grid.children if "qwl-head" in getattr(c, "value", "")]
    assert any("outputQuality: 60" in h for h in heads) and any("promptExtend: off" in h for h in heads)
    assert len(grid.children) == 4 + 2 * 4
    cells = [c for c in grid.children if hasattr(c, "children")]
    assert [len(c.children) for c in cells] == [2] * 6
    assert all(t.image.value[:2] == b"\xff\xd8" for t in ex.tiles)  # JPEG thumbnails
    text = repr(ex)
    assert "Explorer('explore': 12 of 12 tiles, rows=promptExtend, cols=outputQuality" in text
    assert ex._repr_mimebundle_()["text/plain"] == text


def test_axes_and_filters_change_what_is_shown(lab: Lab) -> None:
    ex = run(lab).explore()
    on = next(t for t in ex.tiles if t.entry.value("promptExtend") is True)
    on.hit.click()
    assert ex.detail.layout.display != "none"
    ex.filters["promptExtend"].value = dict(ex.filters["promptExtend"].options)["off"]
    assert len(ex.items) == 6 and all(e.value("promptExtend") is False for e in ex.items)
    assert ex.selected is None and ex.detail.layout.display == "none"  # the image shown was filtered away
    ex.filters["outputQuality"].value = dict(ex.filters["outputQuality"].options)["62"]
    assert len(ex.items) == 2 and {e.value("outputQuality") for e in ex.items} == {62}
    assert "filters promptExtend=off, outputQuality=62" in repr(ex)
    ex.filters["promptExtend"].value = "*"
    ex.filters["outputQuality"].value = "*"
    ex.rows.value, ex.cols.value = "repeat", ""
    heads = [c.value for c in ex.grid.widget.children[0].children if "qwl-head" in getattr(c, "value", "")]
    assert len(heads) == 2 and "repeat: 0" in heads[0] and "repeat: 1" in heads[1]
    # row order follows the rows axis: every repeat-0 image before any repeat-1 image
    assert [e.repeat for e in ex.items] == [0] * 6 + [1] * 6
    captions = lambda: [t.caption.value for t in ex.tiles]  # noqa: E731
    assert all("promptExtend=" in c and "outputQuality=" in c for c in captions())
    ex.filters["promptExtend"].value = dict(ex.filters["promptExtend"].options)["off"]
    # a value the filter holds to one is not repeated under every tile
    assert all("promptExtend=" not in c and "outputQuality=" in c for c in captions())


def test_pages_hold_at_most_page_size_tiles_and_cover_every_image(lab: Lab) -> None:
    exp = run(lab)
    ex = Explorer(exp, page_size=5)
    assert ex.pages == 3 and ex.prev_button.disabled and not ex.next_button.disabled
    seen = []
    for _ in range(3):
        assert len(ex.page_items) <= 5
        assert [t.entry for t in ex.tiles] == ex.page_items
        seen += [e.image_id for e in ex.page_items]
        ex.next_button.click()
    assert ex.page == 2 and ex.next_button.disabled
    assert sorted(seen) == sorted(exp.images["image_id"].tolist())
    ex.prev_button.click()
    assert ex.page == 1 and "page 2 of 3" in ex.page_label.value
    ex.rows.value = "outputQuality"  # a new layout starts from the first page
    assert ex.page == 0


def _cells(ex: Explorer, page: int) -> list[tuple]:
    ex.go(page)
    return [(e.value("promptExtend"), e.value("outputQuality")) for e in ex.page_items]


def test_a_page_keeps_each_cells_repeats_together(lab: Lab) -> None:
    """Pages of 5 tiles over cells of 2 repeats cut the third cell in two: its first repeat ended
    page 1 and its second began page 2, so the repeats could not be compared side by side."""
    ex = run(lab).explore(page_size=5)
    pages = [_cells(ex, p) for p in range(ex.pages)]
    assert [len(p) for p in pages] == [4, 4, 4]
    for i, page in enumerate(pages):  # no cell is on two pages
        others = {c for j, p in enumerate(pages) if j != i for c in p}
        assert not set(page) & others, pages
    assert "spans pages" not in ex.page_label.value
    # the arrow keys walk the same pages: → from a page's last tile turns to the next one's first
    ex.go(0)
    ex.select(ex.page_items[-1])
    ex.on_key("ArrowRight")
    assert ex.page == 1 and ex.selected is ex.page_items[0] and ex.selected is ex.items[4]
    ex.on_key("ArrowLeft")
    assert ex.page == 0 and ex.selected is ex.items[3]


def test_a_cell_larger_than_a_page_is_split_at_its_repeats_and_the_label_says_so(lab: Lab) -> None:
    """A grid cell of 6 tiles (promptExtend on: 3 qualities x 2 repeats) on pages of 4: split,
    but each quality's two repeats stay together, and the label names the pages it spans."""
    ex = run(lab).explore(rows="promptExtend", cols="", page_size=4)
    pages = [_cells(ex, p) for p in range(ex.pages)]
    assert pages == [[(True, 60)] * 2 + [(True, 61)] * 2, [(True, 62)] * 2,
                     [(False, 60)] * 2 + [(False, 61)] * 2, [(False, 62)] * 2]
    ex.go(1)
    assert "a cell of 6 tiles, more than a page (4) holds, spans pages 1–2" in ex.page_label.value
    ex.go(3)
    assert "spans pages 3–4" in ex.page_label.value


def test_clicking_a_tile_shows_its_full_request(lab: Lab) -> None:
    exp = run(lab)
    ex = exp.explore()
    assert ex.detail.layout.display == "none"
    tile = ex.tiles[3]
    tile.hit.click()
    it = tile.entry
    assert ex.selected is it and "qwl-selected" in tile.box._dom_classes
    assert ex.detail.layout.display != "none" and ex.big.value[:2] == b"\xff\xd8"
    info = ex.info.value
    task = exp.log.task(it.task_id)
    for expected in (task["task_uuid"], str(it.seed), "$0.075", "latency", "alibaba:qwen-image@2.0-pro", "256x384",
                     '&quot;outputQuality&quot;: ' + str(it.value("outputQuality")), "request sent"):
        assert expected in info
    # user text is escaped, never markup
    assert "<script>" not in info and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in info
    ex.tiles[4].hit.click()
    assert ex.selected is ex.tiles[4].entry and "qwl-selected" not in tile.box._dom_classes


def test_a_rating_reaches_the_log_at_once_and_comes_back_on_reopening(lab: Lab) -> None:
    exp = run(lab)
    ex = exp.explore(judge="tester")
    ex.tiles[2].hit.click()
    image_id = ex.selected.image_id
    ex.score_buttons[3].click()  # 4 stars
    ex.score_buttons[3].click()  # clicked again: the same rating, not a second row
    assert ratings_in_db(exp) == [(image_id, 4, None, "tester")]
    assert ex.score_buttons[3].button_style == "warning" and "★4" in ex.tiles[2].caption.value
    assert "1 rated" in ex.header.value and "without" not in ex.header.value  # every cell has its image
    ex.note.value = "crisp <b>text</b>"  # Enter / leaving the box
    assert ratings_in_db(exp)[-1] == (image_id, 4, "crisp <b>text</b>", "tester")
    ex.score_buttons[1].click()  # changed mind: 2 stars, the note kept
    assert ratings_in_db(exp)[-1] == (image_id, 2, "crisp <b>text</b>", "tester")
    ex.tiles[0].hit.click()  # another image: its own (empty) rating, nothing written
    assert ex.note.value == "" and len(ratings_in_db(exp)) == 3
    ex.note.value = "a note, no score"  # kept, but no rating: the header counts as the "rated" filter does
    assert len(ratings_in_db(exp)) == 4 and "1 rated" in ex.header.value
    ex.close()

    again = Explorer(exp)
    assert again.ratings[image_id]["score"] == 2
    tile = next(t for t in again.tiles if t.entry.image_id == image_id)
    assert "★2" in tile.caption.value
    tile.hit.click()
    assert again.note.value == "crisp <b>text</b>" and again.score_buttons[1].button_style == "warning"
    assert "crisp &lt;b&gt;text&lt;/b&gt;" in again.rating_label.value
    assert "1 rated" in again.header.value


@pytest.mark.parametrize("opened_with", [{"rating": "unrated"}, {"sort": "rating"}])
def test_after_a_rating_the_arrow_goes_on_from_the_image_rated(lab: Lab, opened_with: dict) -> None:
    """With the unrated filter (or the rating order) on, a rating changed the order under the
    arrow keys: → jumped back to the first tile (or moved backwards) instead of to the next one."""
    exp = run(lab)
    ex = exp.explore(judge="tester", **opened_with)
    shown = [t.entry for t in ex.tiles]
    ex.tiles[2].hit.click()
    ex.score_buttons[4 if "rating" in opened_with else 0].click()
    assert ex.step(1) is shown[3]  # the tile after the one rated, as the page shows them
    assert [t.entry for t in ex.tiles] == shown  # the page is not redrawn under the user
    if "rating" in opened_with:
        ex.go(0)  # a page turn takes the rating into account: rated, it is no longer "unrated"
        assert all(t.entry is not shown[2] for t in ex.tiles)
    ex.close()


def test_rate_needs_an_image_and_a_score_from_1_to_5(lab: Lab) -> None:
    ex = run(lab).explore()
    with pytest.raises(ValueError, match="select an image first"):
        ex.rate(score=3)
    ex.select(int(ex.page_items[0].image_id))
    with pytest.raises(ValueError, match="score must be one of"):
        ex.rate(score=6)
    assert ratings_in_db(ex.exp) == []


def test_an_image_deleted_after_it_was_shown_is_a_tile_saying_it_is_missing(lab: Lab) -> None:
    """Opened once, the explorer cached every thumbnail; an image deleted after that was still
    drawn from its thumbnail, as the grid drew it. It is a tile that says "image missing" now
    (as the grid's and the report's say it), and a click says why where the picture would be."""
    from qwenlab.widgets.tiles import tile_size, unreadable_jpeg

    exp = run(lab, repeats=1)
    first = exp.explore()
    assert all(t.image.value[:2] == b"\xff\xd8" for t in first.tiles)  # every thumbnail cached
    tile = first.tiles[2]
    path = Path(exp.images.set_index("image_id").loc[tile.entry.image_id, "path"])
    path.unlink()
    ex = exp.explore()
    shown = [t for t in ex.tiles if t.entry.image_id == tile.entry.image_id][0]
    # the shape of its 256x384 image, at the size of its tile's thumbnails
    missing = unreadable_jpeg("image missing", "click for why", 256 / 384, ex.grid.size_of(shown.entry))
    assert ex.grid.size_of(shown.entry) == tile_size(150, 256 / 384)
    assert shown.image.value == missing, "drawn from the thumbnail of a deleted file"
    assert sum(t.image.value == missing for t in ex.tiles) == 1
    shown.hit.click()
    assert "does not exist: deleted, or the data folder was moved" in ex.viewer_box.children[0].value  # as the grid says it


def _shape(jpeg: bytes) -> float:
    """Width / height of a tile's picture (a tile is shown at a fixed width: this sets its height)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        return img.width / img.height


def test_a_missing_or_failed_tile_has_the_shape_of_its_image(lab: Lab, emulator: Emulator) -> None:
    """An "image missing" tile and a failed cell's tile were squares: beside portrait posters,
    shown at the same width, they were a third shorter, and read as images of another shape (a
    landscape size's). Each has its image's shape now, as the grid's blank does."""
    emulator.script(["task_error"])  # the first cell, a portrait one, fails
    exp = lab.run(Sweep(prompt=PROMPT, repeats=2, axes={"size": ["256x384", "384x256"]}), name="shapes",
                  progress=False, concurrency=1)
    gone = exp.images[exp.images["size"] == "256x384"].iloc[0]
    Path(gone["path"]).unlink()
    ex = exp.explore(rows="repeat", cols="size")
    shapes = {(t.entry.value("size"), "failed" if t.entry.image_id is None else "missing"
               if t.entry.image_id == gone["image_id"] else "image"): _shape(t.image.value) for t in ex.tiles}
    assert set(shapes) == {("256x384", "failed"), ("256x384", "missing"), ("384x256", "image")}
    for kind in ("failed", "missing"):
        assert shapes[("256x384", kind)] == pytest.approx(256 / 384, abs=0.01), kind
    assert shapes[("384x256", "image")] == pytest.approx(384 / 256, abs=0.01)


def test_a_failed_cell_is_a_tile_with_its_error_and_cannot_be_rated(lab: Lab, emulator: Emulator) -> None:
    emulator.script(["task_error"])
    exp = run(lab, repeats=1)
    failed = exp.df[exp.df["status"] == "failed"]
    assert len(failed) == 1
    ex = exp.explore()
    tiles = [t for t in ex.tiles if t.entry.image_id is None]
    assert len(tiles) == 1 and "[failed" in tiles[0].caption.value
    tiles[0].hit.click()
    assert "qwl-error" in ex.info.value and str(failed.iloc[0]["error_code"]) in ex.info.value
    # the code said once: the stored message's tail repeats it ("... (inferenceError)"), as the grid's blank and report drop it
    code = str(failed.iloc[0]["error_code"])
    message = str(failed.iloc[0]["error_message"])
    assert message.endswith(f"({code})") and ex.info.value.count(code) == 1, ex.info.value
    assert esc(tiles[0].entry.error_detail) in ex.info.value
    assert all(b.disabled for b in ex.score_buttons) and "no image to rate" in ex.rating_label.value
    with pytest.raises(ValueError, match="cannot be rated"):
        ex.rate(score=5)
    assert "5 images, 1 cell without one ·" in ex.header.value  # one cell, said so
    # where it ran, with no "SYNTHETIC image" where there is no image (it read as if one had been made)
    assert "<th>ran on</th><td>qwenlab&#x27;s offline emulator" in ex.info.value
    assert "SYNTHETIC image" not in ex.info.value
    ex.select([e for e in ex.entries if e.image_id is not None][0])
    assert "SYNTHETIC image" in ex.info.value


def test_a_cell_in_doubt_is_a_tile_that_says_so_and_what_the_next_run_does(lab: Lab, emulator: Emulator) -> None:
    """A task left 'sent' (a kernel killed while it was on the wire) read "status sent" in the
    tile's details, where every count and filter says "in_doubt"; nothing said it may be paid."""
    emulator.script(["task_error"])
    exp = run(lab, repeats=1)
    with sqlite3.connect(exp.log.path) as db:  # what the killed run leaves: sent, no answer logged
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL WHERE status = 'failed'")
    ex = exp.explore(status="in_doubt")
    assert len(ex.tiles) == 1 and "[in_doubt]" in ex.tiles[0].caption.value
    ex.tiles[0].hit.click()
    assert "<th>status</th><td>in_doubt</td>" in ex.info.value
    assert "it may have been paid for" in ex.info.value and "asks the server" in ex.info.value
    assert "5 images, 1 cell without one" in ex.header.value


def test_a_cell_on_the_wire_of_a_run_still_sending_reads_running_then_in_doubt_once_it_ended(
        lab: Lab, emulator: Emulator) -> None:
    """Opened during a live run (then "reload"), the cell whose request was on the wire read
    "in_doubt", as one a dead run left: in the tile, the status filter and the detail, with the
    advice that it may have been paid for. While its run sends it is only waiting for its answer;
    in doubt once the run ended (or its process died) without one."""
    from qwenlab.store.run_lock import holding_run

    emulator.script(["task_error"])
    exp = run(lab, repeats=1)
    with sqlite3.connect(exp.log.path) as db:  # on the wire: sent, no answer logged yet
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL WHERE status = 'failed'")
    with holding_run(lab.log.path, exp.id):  # as a live run does, in this process or another
        lab.log.update_experiment(exp.id, status="running")
        ex = exp.explore(status="running")
        assert len(ex.tiles) == 1 and "[running]" in ex.tiles[0].caption.value
        assert ("running", "sent") in ex.facets.status.options
        ex.tiles[0].hit.click()
        assert "<th>status</th><td>running</td>" in ex.info.value and "waiting for its answer" in ex.info.value
        assert "in_doubt" not in ex.info.value and "it may have been paid for" not in ex.info.value
        lab.log.update_experiment(exp.id, status="interrupted")  # it ended without the answer
    ex.reload_button.click()
    assert len(ex.tiles) == 1 and "[in_doubt]" in ex.tiles[0].caption.value
    assert ("in_doubt", "sent") in ex.facets.status.options
    # the same cell still shown in the detail, in doubt now
    assert ex.detail.layout.display != "none" and ex.selected is not None and ex.selected.task_id == ex.tiles[0].entry.task_id
    assert "<th>status</th><td>in_doubt</td>" in ex.info.value and "it may have been paid for" in ex.info.value


def test_reload_picks_up_images_logged_after_opening(lab: Lab) -> None:
    exp = run(lab, repeats=1)
    ex = exp.explore()
    assert len(ex.entries) == 6
    exp = run(lab, repeats=2, extend=True)  # the same experiment, more repeats
    ex.reload_button.click()
    assert len(ex.entries) == 12 and len(ex.page_items) == 12


def test_turning_pages_leaves_no_widgets_behind(lab: Lab) -> None:
    """Each page's grid, cells and headings are new widgets (the tiles are reused); the old ones
    were never closed, so every page turned left them alive in the kernel and in the browser's
    widget manager (17 a page on a 1,920-image experiment, 680 after its 40 pages)."""
    from ipywidgets.widgets.widget import _instances  # every widget not closed (Widget.widgets, deprecated)

    ex = run(lab, name="pages").explore(page_size=4)  # 12 images, 3 pages
    alive = len(_instances)
    for page in [1, 2, 0, 2, 1, 0]:
        ex.go(page)
    ex.rows.value = ""  # a layout of another shape, then back: on its first page again
    ex.rows.value = "promptExtend"
    assert ex.page == 0 and len(_instances) == alive
    assert len(ex.tiles) == 4 and all(t.image.value[:2] == b"\xff\xd8" for t in ex.tiles)  # the page still shown
    ex.close()


def test_the_header_says_when_the_sweep_is_still_running_until_reloaded_after(lab: Lab) -> None:
    """Opened while its sweep still sent, the explorer showed the images logged so far, the
    cells to come as "pending" tiles and the one on the wire as "in_doubt" (now "running"), and
    nothing said the run went on nor that "reload" would bring the rest."""
    from qwenlab.store.run_lock import holding_run

    exp = run(lab, repeats=1)
    with holding_run(lab.log.path, exp.id):  # as a live run does, in this process or another
        lab.log.update_experiment(exp.id, status="running")
        ex = exp.explore()
        assert "still running" in ex.header.value and "reload" in ex.header.value
        lab.log.update_experiment(exp.id, status="done")
    ex.go(0)  # a page turned: the header is what was read, until reloaded
    assert "still running" in ex.header.value
    ex.reload_button.click()
    assert "still running" not in ex.header.value
    assert "still running" not in exp.explore().header.value


def test_filters_that_leave_no_tile_say_which_and_of_how_many(lab: Lab) -> None:
    """An empty grid under "page 1 of 1 · 0 of 0 shown": nothing said the filters had left
    nothing out of how many tiles, nor which filters they were."""
    exp = run(lab, repeats=1)
    ex = exp.explore(status="failed")  # no cell failed
    ex.filters["promptExtend"].value = "0"
    assert ex.tiles == []
    label = ex.page_label.value
    assert "none of the 6 tiles passes the filters" in label and "0 of 0" not in label
    assert "promptExtend=on" in label and "failed" in label
    ex.facets.status.value = ALL
    assert len(ex.tiles) == 3 and "3 of 3 shown" in ex.page_label.value


def test_a_tiles_picture_has_a_pixel_for_each_pixel_of_the_screen(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles 150 CSS px wide: a portrait poster's thumbnail was 171 px wide (256 px tall), enlarged
    1.75 times on a Retina screen. It is made for the screen the browser says it has (its `ratio`,
    sent by the page): for one pixel per CSS pixel until it says, made again for more, and the next
    explorer of the kernel starts from the largest said."""
    from qwenlab.widgets import tiles

    monkeypatch.setattr(tiles, "_said_ratio", [])  # what browsers said in this process: this test's own
    exp = lab.run(Sweep(prompt=PROMPT, size="1024x1536", repeats=2), name="posters", progress=False, concurrency=1)
    ex = exp.explore(rows="", cols="", thumb_px=150)

    def widths(explorer: Any = ex) -> list[int]:
        return [_pixels(t.image.value)[0] for t in explorer.tiles]

    assert len(ex.tiles) == 2 and all(150 <= w < 300 for w in widths()), widths()
    assert all(abs(_shape(t.image.value) - 1024 / 1536) < 0.01 for t in ex.tiles)
    ex.grid.screen.widget.ratio = 2.0  # what the browser says of a Retina screen
    assert all(300 <= w < 450 for w in widths()), widths()
    ex.grid.screen.widget.ratio = 3.0  # ... zoomed to 150%
    assert all(w >= 450 for w in widths()), widths()
    ex.grid.screen.widget.ratio = 1.0  # zoomed out: the browser shrinks them, sharp as they are
    assert all(w >= 450 for w in widths()), widths()
    ex.close()
    again = exp.explore(rows="", cols="", thumb_px=150)
    assert all(w >= 450 for w in widths(again)), widths(again)
    again.close()


def _pixels(jpeg: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        return img.size


def test_a_long_prompt_is_named_once_in_heads_and_the_detail_as_in_the_grid(lab: Lab) -> None:
    """The explorer's heads and detail read "prompt: prompt 2: …reads 'AURELIS'…", where the grid and
    the report read "prompt 2: …reads 'AURELIS'…"."""
    common = "A premium beauty poster for a skincare brand, soft studio light, marble pedestal, the headline reads "
    prompts = [common + "'LUMIERE' in gold serif letters", common + "'AURELIS' in silver sans letters"]
    exp = lab.run(Sweep(size="256x384", axes={"prompt": prompts, "promptExtend": [True, False]}), name="long",
                  progress=False, concurrency=1)
    info = exp._axis_infos()["prompt"]
    labels = [info.label(p) for p in prompts]
    assert labels[1].startswith("prompt 2: …") and "AURELIS" in labels[1]
    ex = exp.explore(rows="prompt", cols="promptExtend")
    grid = ex.grid.widget.children[0]
    heads = [c.value for c in grid.children if "qwl-head" in getattr(c, "value", "")]
    assert [h for h in heads if "prompt " in h] == [f"<div class='qwl-head'>{esc(label)}</div>" for label in labels]
    ex.tiles[0].hit.click()
    assert f"<small>{esc(labels[0])} · promptExtend: on · repeat 0</small>" in ex.info.value
