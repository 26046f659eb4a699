"""Comparison grids: pages, labels and stamps a user can read, labelled blanks, PNG/PDF, cached thumbnails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from qwenlab.cli import cli
from qwenlab.errors import UnknownAxisError
from qwenlab.figures.grid import Grid, build_grid, thumb_for
from qwenlab.figures.text import STAMP_PT, chars, wrap_lines
from qwenlab.store import thumbnails
from qwenlab.store.catalog import AxisInfo, Entry
from tests.support.labkit import SIZES, run_sweep, texts

NEGATIVES = {"with": "blurry text, misspelled words", "without": None}


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x negativePrompt (2 x 2 x 2) x 2 repeats = 16 cells, one failed."""
    return run_sweep(emulator, data_dir, axes={"promptExtend": [True, False], "size": SIZES, "negativePrompt": NEGATIVES})


def test_other_axes_become_pages_saved_as_pngs_and_one_pdf(exp, tmp_path: Path) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="size")
    assert isinstance(grid, Grid) and len(grid) == 2  # one page per negativePrompt value
    assert [p.values for p in grid.pages] == [{"negativePrompt": "blurry text, misspelled words"}, {"negativePrompt": None}]
    pngs = grid.save(tmp_path / "g.png")
    assert [p.name for p in pngs] == ["g-1-with.png", "g-2-without.png"]
    for png in pngs:
        with Image.open(png) as img:
            assert img.format == "PNG" and img.width > 600 and img.height > 500
    (pdf,) = grid.save(tmp_path / "g.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and _pdf_pages(pdf) == 2


def test_each_caption_says_what_the_headers_do_not_and_the_seed_the_api_reported(exp) -> None:
    images = exp.images
    assert len(images) == 15
    grid = build_grid(exp, rows="promptExtend", cols="size", page=None)
    drawn = texts(grid[0])
    for img in images.itertuples():
        caption = next((t for t in drawn if f"seed {img.seed}" in t), None)
        assert caption is not None, f"no caption with seed {img.seed}"
        flat = " ".join(caption.split())
        # negativePrompt varies within a cell: the caption says it; rows and columns are in the headers
        assert flat == f"negativePrompt={'with' if isinstance(img.negativePrompt, str) else 'without'} · r{img.repeat} · seed {img.seed}"
    assert "promptExtend: on" in drawn and "size: 512x768" in drawn
    assert any("under each image: negativePrompt, the repeat and the seed the API reported" in " ".join(t.split())
               for t in drawn)
    assert grid.pages[0].images + grid.pages[0].blanks == 16
    # with every axis in a header, only the repeat and the seed are left to say
    paged = build_grid(exp, rows="promptExtend", cols="size")
    assert all(p.images + p.blanks == 8 for p in paged.pages)
    assert any(" ".join(t.split()).startswith("r0 · seed ") for t in texts(paged[0]))
    bare = texts(build_grid(exp, rows="promptExtend", cols="size", captions=False)[0])
    assert not any("seed" in t for t in bare) and any("no captions" in t for t in bare)


def test_a_failed_cell_is_a_labelled_blank_with_its_error(exp) -> None:
    failed = exp.df[exp.df.status == "failed"]
    assert len(failed) == 1
    cell = failed.iloc[0]
    grid = build_grid(exp, rows="promptExtend", cols="size", page=None)
    assert grid.pages[0].blanks == 1 and grid.pages[0].images == 15
    drawn = " ".join(" ".join(t.split()) for t in texts(grid[0]))
    assert f"FAILED: {cell.error_code}" in drawn
    assert " ".join(cell.error_message.split()[:4]) in drawn
    # said once: the logged message ends "(inferenceError)", which read the code a second time
    assert cell.error_message.endswith(f"({cell.error_code})") and drawn.count(cell.error_code) == 1
    # no seed was sent and none came back: the caption says nothing of one ("seed ?" read as if
    # an image's seed had been lost)
    assert "seed ?" not in drawn


def test_a_failed_cell_that_sent_a_seed_says_which(emulator, data_dir: Path, seeded_model: str) -> None:
    """A pinned seed the log holds is said under the blank of a cell that failed with it."""
    exp = run_sweep(emulator, data_dir, name="pinned-failure", model=seeded_model, seed=41)
    failed = exp.df[exp.df.status == "failed"].iloc[0]
    drawn = " ".join(" ".join(t.split()) for t in texts(build_grid(exp, rows="promptExtend", cols="size", page=None)[0]))
    assert f"seed {failed.seed} sent" in drawn and drawn.count(failed.error_code) == 1 and "seed ?" not in drawn


def test_the_count_says_which_logged_images_are_unreadable_blanks(emulator, data_dir: Path) -> None:
    """An image whose file is gone is a labelled blank, and the subtitle counted it as an image:
    "8 images" over seven pictures and a blank."""
    small = run_sweep(emulator, data_dir, name="lost", fail_one=False)
    gone = Path(small.images.path.iloc[0])
    gone.unlink()
    for region in (None, (0, 0, 1, 0.3)):  # from a thumbnail (none was made) and at full size
        grid = build_grid(small, rows="promptExtend", cols="size", page=None, region=region)
        drawn = " ".join(" ".join(texts(grid[0])).split())
        assert "7 images, 1 image logged but unreadable (its tile says why)" in drawn
        assert (grid.pages[0].images, grid.pages[0].blanks) == (7, 1)
        assert "image unreadable: image file" in drawn and "[Errno" not in drawn  # its blank says it in words


def test_an_image_deleted_after_its_thumbnail_was_made_is_drawn_missing(emulator, data_dir: Path) -> None:
    """A grid drawn once cached every thumbnail; an image deleted (or lost) after that was still
    drawn, from its thumbnail, as if it were there: the user saw a picture the log can no longer
    show at full size, export or bundle. Its tile says it is gone, in the grid and the report,
    and the cache still reads no original: a stat of each file, no decode."""
    from qwenlab.html.images import webp_thumbnails

    small = run_sweep(emulator, data_dir, name="deleted", fail_one=False)
    paths = [str(p) for p in small.images.path]
    build_grid(small, rows="promptExtend", cols="size", page=None)[0]  # drawn: every thumbnail cached
    assert len(webp_thumbnails(paths, 160)) == 8  # the report's, cached too
    gone = Path(paths[0])
    gone.unlink()
    thumbnails.reset_stats()
    grid = build_grid(small, rows="promptExtend", cols="size", page=None)
    drawn = " ".join(" ".join(texts(grid[0])).split())
    assert (grid.pages[0].images, grid.pages[0].blanks) == (7, 1), "the deleted image was drawn from its old thumbnail"
    assert f"image unreadable: image file '{gone.name[:7]}" in drawn  # the name, wrapped in the tile
    assert "1 image logged but unreadable" in drawn
    assert thumbnails.stats() == {"made": 0, "reused": 7}  # the others from the cache, untouched
    assert sorted(webp_thumbnails(paths, 160)) == sorted(paths[1:]), "the report drew the deleted image"


def test_a_missing_images_tile_has_the_shape_of_the_image_it_stands_for(emulator, data_dir: Path) -> None:
    """The blank filled its whole slot: on a page of portrait and landscape posters, a missing
    portrait one was drawn as wide as a landscape one."""
    from matplotlib.patches import Rectangle

    exp = run_sweep(emulator, data_dir, name="shapes", fail_one=False)
    images = exp.images
    row = images[images["width"] < images["height"]].iloc[0]  # a portrait one
    Path(row["path"]).unlink()
    fig = build_grid(exp, rows="size", cols="promptExtend", page=None)[0]  # each column holds both shapes
    panel = next(a for a in fig.artists if isinstance(a, Rectangle) and a.get_gid() == f"task {row['task_id']}")
    inches = panel.get_width() * fig.get_figwidth() / (panel.get_height() * fig.get_figheight())
    assert inches == pytest.approx(row["width"] / row["height"], rel=0.01)


def test_a_page_of_more_than_64_images_is_cut_into_pages_of_whole_repeats(emulator, data_dir: Path, tmp_path: Path) -> None:
    """Two axes and many repeats made one page of every image (2,000 on one 9,918 x 12,092 px
    page), its column headings thousands of pixels above most of them."""
    exp = run_sweep(emulator, data_dir, name="many", axes={"outputQuality": list(range(20, 30)), "promptExtend": [True, False]},
                    repeats=4, fail_one=False)
    grid = build_grid(exp)  # 10 x 2 cells x 4 repeats = 80 images: 20 a repeat, so 3 repeats to a page
    assert [p.label for p in grid.pages] == ["repeats 0 to 2", "repeat 3"]
    assert [grid.pages[i].figure is not None and grid.pages[i].images for i in range(len(grid))] == [60, 20]
    assert "outputQuality: 29" in texts(grid[1]) and "promptExtend: off" in texts(grid[1])  # every page has its headings
    assert [p.name for p in grid.save(tmp_path / "g.png")] == ["g-1-r0-2.png", "g-2-r3.png"]
    assert len(build_grid(exp, page=None)) == 1  # asked for one page: one page
    assert len(build_grid(exp, rows="promptExtend", cols="outputQuality", where={"repeat": [0, 1, 2]})) == 1  # 60 fit


def test_headers_title_and_stamps_keep_a_readable_size(exp) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="size", title="LUMIERE: does promptExtend help?")
    fig = grid[0]
    drawn = texts(fig)
    assert any("LUMIERE: does promptExtend help?" in t for t in drawn)
    assert {"promptExtend: on", "promptExtend: off", "size: 512x768", "size: 768x512"} <= set(drawn)
    sizes = [t.get_fontsize() for t in fig.texts] + [t.get_fontsize() for ax in fig.axes for t in ax.texts]
    assert min(sizes) >= STAMP_PT


def test_long_prompts_get_short_labels_and_the_full_text_in_a_footnote(emulator, data_dir: Path) -> None:
    long_a = "A premium beauty advertising poster for a fictional skincare brand called LUMIERE, frosted glass serum bottle"
    long_b = "Luxury Art Deco perfume advertisement poster, centered crystal perfume bottle with a faceted stopper"
    exp = run_sweep(emulator, data_dir, axes={"prompt": [long_a, long_b], "promptExtend": [True, False]}, repeats=1,
                    fail_one=False)
    grid = build_grid(exp, rows="prompt", cols="promptExtend")
    drawn = texts(grid[0])
    flat = [" ".join(t.split()) for t in drawn]
    assert "prompt 1: A premium beauty…" in flat and "prompt 2: Luxury Art Deco perfume…" in flat  # the row headers
    (notes,) = [t for t in flat if long_a in t]  # the full texts, once, in the footnote
    assert f"prompt 1: {long_a}" in notes and f"prompt 2: {long_b}" in notes


def test_second_build_decodes_no_original(exp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    thumbnails.reset_stats()
    build_grid(exp, rows="promptExtend", cols="size").save(tmp_path / "first.png")
    assert thumbnails.stats()["made"] == 15
    thumbs = sorted((exp.data_dir / "thumbs").rglob("*.jpg"))
    assert len(thumbs) == 15
    mtimes = [p.stat().st_mtime_ns for p in thumbs]

    def no_decoding(*args, **kwargs):
        raise AssertionError("an original image was decoded again")

    monkeypatch.setattr(thumbnails, "_render", no_decoding)
    build_grid(exp, rows="size", cols="promptExtend").save(tmp_path / "second.png")
    assert thumbnails.stats()["made"] == 15 and thumbnails.stats()["reused"] == 15
    assert [p.stat().st_mtime_ns for p in thumbs] == mtimes


def _shaped(width: int, height: int) -> Entry:
    return Entry(task_id=1, cell={}, repeat=0, status="done", width=width, height=height)


@pytest.mark.parametrize("sizes, cell_size, dpi, thumb", [
    ([(512, 512)], 2.2, 120, 256),                     # the default cell: 264 px, a tenth of enlargement allowed
    ([(1024, 1536)], 2.2, 120, 256),                   # portrait: drawn as high as the cell
    ([(1024, 1536), (1536, 1024)], 2.2, 120, 384),     # landscape: 396 px wide in a 264 px high cell
    ([(1024, 1536)], 6, 120, 768),                     # a 6 in cell: 720 px
    ([(1536, 1024)], 6, 150, 1536),                    # 1350 px wide
    ([(1536, 1024)], 8, 300, 2048),                    # 3600 px wide: the largest there is
    ([], 2.2, 120, 256),
])
def test_thumbnails_are_as_large_as_the_images_are_drawn(sizes, cell_size, dpi, thumb) -> None:
    assert thumb_for([_shaped(w, h) for w, h in sizes], cell_size, dpi) == thumb


def test_a_bigger_cell_draws_from_bigger_thumbnails_not_enlarged_ones(exp, tmp_path: Path) -> None:
    build_grid(exp, rows="promptExtend", cols="size", page=None, cell_size=6).save(tmp_path / "big.png")
    made = list((exp.data_dir / "thumbs" / "1024").rglob("*.jpg"))  # 720 px high cells, landscape 1080 px wide
    assert made and {max(Image.open(p).size) for p in made} == {768}  # the originals' own size: never enlarged
    build_grid(exp, rows="promptExtend", cols="size", page=None, thumb=128).save(tmp_path / "small.png")
    assert list((exp.data_dir / "thumbs" / "128").rglob("*.jpg"))  # a size given is a size used
    with pytest.raises(ValueError, match="thumb=0"):
        build_grid(exp, rows="promptExtend", cols="size", thumb=0)


def test_where_facet_and_repeat_as_an_axis(exp) -> None:
    only = build_grid(exp, rows="promptExtend", cols="size", page=None, where={"size": "512x768", "negativePrompt": "none"})
    drawn = texts(only[0])
    assert "size: 512x768" in drawn and "size: 768x512" not in drawn
    assert only.pages[0].images + only.pages[0].blanks == 4
    faceted = build_grid(exp, rows="promptExtend", cols="repeat", facet="size", page="negativePrompt")
    assert len(faceted) == 2
    drawn = texts(faceted[0])
    assert {"size: 512x768", "size: 768x512", "repeat 0", "repeat 1"} <= set(drawn)
    paged = build_grid(exp, page="negativePrompt")  # rows and columns picked from the other axes
    assert len(paged) == 2 and {"promptExtend: on", "size: 512x768"} <= set(texts(paged[0]))


def test_unknown_or_reused_axes_are_refused_naming_the_axes(exp) -> None:
    with pytest.raises(UnknownAxisError, match=r"promptExtend, size, negativePrompt \(and 'repeat' for its repeats\)"):
        build_grid(exp, rows="promptextend", cols="size")
    with pytest.raises(ValueError, match="only one of"):
        build_grid(exp, rows="size", cols="size")


def test_options_written_in_another_form_are_refused_naming_the_option_or_taken(exp) -> None:
    """A list for cols= failed with "unhashable type: 'list'", a where= written as the command
    line writes it with "'s' is not an axis" (read letter by letter), and page="none", as
    --page none says it, with "'none' is not an axis"."""
    with pytest.raises(UnknownAxisError, match=r"cols=\['size'\]: give one axis name as a string, e.g. cols="):
        build_grid(exp, rows="promptExtend", cols=["size"])
    with pytest.raises(UnknownAxisError, match=r"facet=\('size',\): give one axis name as a string"):
        build_grid(exp, rows="promptExtend", facet=("size",))
    with pytest.raises(UnknownAxisError, match=r"where='size=512x768': give a dict .* where=\{'size': "):
        build_grid(exp, rows="promptExtend", cols="negativePrompt", where="size=512x768")
    one = build_grid(exp, rows="promptExtend", cols="size", page="none")
    assert len(one) == 1 and one.pages[0].values == {}


def test_experiment_grid_shows_inline_without_a_path_and_saves_with_one(exp, tmp_path: Path) -> None:
    grid = exp.grid(rows="promptExtend", cols="size", page=None)
    assert isinstance(grid, Grid)
    html = grid._repr_html_()
    assert html.count("data:image/webp;base64,") == 1 and "grid.save(" in html
    assert grid[0]._repr_jpeg_().startswith(b"\xff\xd8")  # a page alone shows too, without pyplot
    written = exp.grid(rows="promptExtend", cols="size", path=tmp_path / "out.pdf")
    assert written == [tmp_path / "out.pdf"] and _pdf_pages(written[0]) == 2


def test_grid_command_writes_png_and_pdf(exp, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["grid", exp.name, "--rows", "promptExtend", "--cols", "size", "-o", str(tmp_path / "grid.png")])
    assert out.exit_code == 0, out.output
    assert sorted(Path(p).name for p in out.output.split()) == ["grid-1-with.png", "grid-2-without.png"]
    out = runner.invoke(cli, ["grid", exp.name, "--rows", "promptExtend", "--cols", "size", "--page", "none",
                              "--where", "promptExtend=on", "-o", str(tmp_path / "grid.pdf")])
    assert out.exit_code == 0, out.output
    assert _pdf_pages(tmp_path / "grid.pdf") == 1
    bad = runner.invoke(cli, ["grid", exp.name, "--rows", "nope"])
    assert bad.exit_code == 2 and "its axes are: promptExtend" in bad.output
    missing = runner.invoke(cli, ["grid", "no-such-experiment"])
    assert missing.exit_code != 0 and exp.name in missing.output


def test_wrapping_keeps_every_line_within_its_box() -> None:
    text = "prompt 3: " + "supercalifragilistic " * 12
    lines = wrap_lines(text, 1.5, 10, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(len(line) <= chars(1.5, 10) for line in lines)
    info = AxisInfo("prompt", "prompt", ("short", "x" * 200), ("short", "x" * 39 + "…"), ("short", "x" * 200))
    assert info.label("short") == "short" and info.note("short") is None
    # one long value: named by its axis alone (a "2" beside "short" read as a second long one)
    assert info.label("x" * 200).startswith("prompt: x") and len(info.label("x" * 200)) < 45
    assert info.tag("x" * 200).startswith("prompt=x") and info.note("x" * 200) == "prompt: " + "x" * 200
    several = AxisInfo("prompt", "prompt", ("short", "x" * 200, "y" * 200), ("short", "x…", "y…"),
                       ("short", "x" * 200, "y" * 200))
    assert several.label("y" * 200).startswith("prompt 3: ") and several.tag("y" * 200) == "prompt 3"
    assert several.note("y" * 200) == "prompt 3: " + "y" * 200


def test_a_full_cell_wraps_onto_lines_so_the_page_stays_readable(emulator, data_dir: Path) -> None:
    """Nine images a cell, two columns: one line of nine a cell made a page 18 images wide, each
    too small to read; the cells wrap instead (at most 12 images across the page)."""
    exp = run_sweep(emulator, data_dir, name="full", axes={"size": SIZES}, repeats=9, fail_one=False)
    fig = exp.grid(cols="size").figures[0]
    from qwenlab.figures.panels import drawn_tiles

    boxes = [tile["image"].get_window_extent() for tile in drawn_tiles(fig)]
    assert len(boxes) == 18
    lines = sorted({round(b.y0) for b in boxes})
    assert len(lines) == 2, lines  # 5 + 4 in each cell
    across = max(sum(1 for b in boxes if round(b.y0) == y) for y in lines)
    assert across == 10  # 5 per cell, two cells
    assert fig.get_size_inches()[0] < 30  # in one line: 45 inches


class _Entry:
    def __init__(self, cell: dict) -> None:
        self.cell = cell

    def value(self, axis: str) -> object:
        return self.cell.get(axis)


class _Catalog:
    def __init__(self, entries: list, values: dict) -> None:
        self.entries, self._values = entries, values

    def values(self, axis: str) -> list:
        return self._values[axis]


def test_each_image_is_on_the_page_of_its_values_in_the_order_of_the_axes() -> None:
    """Pages are found in one pass over the images (32 pages of 2,048 images took a third of a
    second, every time a grid was built); each image still lands where `same_value` puts it:
    True is not 1, NaN is none, a list is compared as a list."""
    from qwenlab.core.values import same_value
    from qwenlab.figures.grid import _split

    values = {"promptExtend": [False, True], "n": [1, 0, None], "refs": [["a"], ["a", "b"]]}
    cells = [{"promptExtend": pe, "n": n, "refs": refs} for refs in ([["a", "b"], ["a"]]) for n in (0, float("nan"), 1)
             for pe in (True, False, 1)]  # 1 is on no page: it is not promptExtend on
    catalog = _Catalog([_Entry(c) for c in cells], values)
    axes = ["promptExtend", "n", "refs"]
    pages = _split(catalog, axes)  # type: ignore[arg-type]
    expected = []
    for pe in values["promptExtend"]:
        for n in values["n"]:
            for refs in values["refs"]:
                key = {"promptExtend": pe, "n": n, "refs": refs}
                members = [e for e in catalog.entries if all(same_value(e.value(a), key[a]) for a in axes)]
                if members:
                    expected.append((key, members))
    assert pages == expected
    assert len(pages) == 12 and all(len(members) == 1 for _, members in pages)
    assert not any(e.cell["promptExtend"] == 1 and e.cell["promptExtend"] is not True for _, m in pages for e in m)
