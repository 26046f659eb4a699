"""Pages drawn only when shown or saved, light in a notebook, saved in parallel in the format the
extension asks for; a region of every image cut at full resolution, and bad regions refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from qwenlab.cli import cli
from qwenlab.figures.grid import build_grid
from qwenlab.figures.pages import ACTUAL_WIDTH, PIXEL_MULTIPLE
from qwenlab.figures.panels import drawn_tiles
from qwenlab.figures.region import check_region
from qwenlab.store import thumbnails
from tests.support.labkit import run_sweep, texts


@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x negativePrompt (2 x 2 x 2) x 2 repeats = 16 cells, all done."""
    return run_sweep(emulator, data_dir, axes={"promptExtend": [True, False], "size": ["512x768", "768x512"],
                                               "negativePrompt": {"with": "blurry text", "without": None}}, fail_one=False)


def test_a_grid_returns_before_drawing_and_draws_a_page_when_shown(exp) -> None:
    thumbnails.reset_stats()
    grid = build_grid(exp, rows="promptExtend", cols="negativePrompt")  # a page per size
    assert len(grid) == 2 and not any(p.rendered for p in grid.pages)
    assert thumbnails.stats() == {"made": 0, "reused": 0}  # not one image read yet
    assert "2 pages:" in repr(grid) and "size: 512x768" in repr(grid)
    # each page by the index grid[i] takes, pages apart by " | " (a page's label holds "; ")
    assert "[0] " in repr(grid) and " | [1] " in repr(grid)
    html = grid._repr_html_()  # what a notebook shows: the first page only, as a JPEG
    assert [p.rendered for p in grid.pages] == [True, False]
    assert html.count("data:image/webp;base64,") == 1 and "data:image/png" not in html
    assert "page 1 of 2 (grid[0])" in html and "grid.show(i)" in html and "grid.save(" in html
    assert "pages: [0] " in html and " | [1] " in html
    assert thumbnails.stats()["made"] == 8
    assert grid.pages[1].images == 8 and grid.pages[1].rendered  # counting draws it
    # a page that is not there is said so, with the ones that are (it was "list index out of range")
    for bad in (2, -3, "1", 1.0, True):
        with pytest.raises(IndexError, match=r"this grid has 2 pages, grid\[0\] to grid\[1\]"):
            grid[bad]
    with pytest.raises(IndexError, match="has 2 pages"):
        grid.show(0, 5)  # checked before anything is shown
    assert grid[np.int64(-1)] is grid.pages[1].figure


def test_the_notebook_display_is_small_and_full_size_is_saved(exp, tmp_path: Path) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="size", page=None, dpi=200)
    shown = grid.pages[0].jpeg()
    full = grid.pages[0].png()
    with Image.open(__import__("io").BytesIO(shown)) as img:
        assert img.format == "JPEG" and img.width <= 1400
    with Image.open(__import__("io").BytesIO(full)) as img:
        assert img.width > 1400  # full size is the figure's own resolution
    assert len(shown) * 4 < len(full)


def test_a_grid_in_a_notebook_is_drawn_for_a_retina_screen_in_the_bytes_of_the_jpeg(exp) -> None:
    """A grid shown in a notebook is drawn two pixels a CSS pixel (a Retina screen's), so that its
    captions are not enlarged and smoothed there (the browser test:
    tests/figures/test_grid_sharp_browser.py), as WebP, in about the bytes of the 1,400-px JPEG it
    replaces: notebook 02, showing two grids, was 930 KB of its 1 MB. And only what JupyterLab's
    sanitizer keeps of an untrusted notebook's output (packages/apputils/src/sanitizer.ts: an
    <img>'s src, alt and width; width, max-width and height in an inline style; no <style>, no
    srcset, no <picture>), so that every notebook shows the same. `grid.save` is unchanged."""
    import base64
    import io
    import re

    from qwenlab.figures.pages import DISPLAY_RATIO, DISPLAY_WIDTH

    page = build_grid(exp, rows="promptExtend", cols="negativePrompt").pages[0]
    html = page._repr_html_()
    data = base64.b64decode(re.search(r"src='data:image/webp;base64,([^']+)'", html).group(1))
    one = page.jpeg()  # what a notebook showed: at most 1,400 pixels wide, one a CSS pixel
    with Image.open(io.BytesIO(data)) as sharp, Image.open(io.BytesIO(one)) as before:
        assert sharp.format == "WEBP" and sharp.width % DISPLAY_RATIO == 0
        assert 0 <= sharp.width - DISPLAY_RATIO * before.width <= PIXEL_MULTIPLE  # padded to whole CSS pixels
        css = sharp.width // DISPLAY_RATIO
    assert css <= DISPLAY_WIDTH + PIXEL_MULTIPLE
    assert len(data) < 1.25 * len(one), (len(data), len(one))
    bare = re.sub(r"src='data:[^']*'", "src=''", html)  # the markup, without the image's base64
    tags = re.findall(r"<(\w+)", bare)
    assert set(tags) <= {"div", "img", "br"} and "srcset" not in bare and "<style" not in bare
    img = re.search(r"<img ([^>]*)/>", bare).group(1)
    assert set(re.findall(r"([\w-]+)='", img)) == {"src", "alt", "width", "style"}
    assert f"width='{css}'" in img
    style = re.search(r"style='([^']*)'", img).group(1)
    assert style == f"width:{css}px;max-width:100%;height:auto"  # each value one the sanitizer's rules allow
    # the full size is the figure's own, as before
    with Image.open(io.BytesIO(page.png())) as full:
        assert full.width == int(page.figure.get_figwidth() * page.figure.dpi)


def test_a_big_page_shows_in_a_notebook_as_its_jpeg_at_one_pixel_a_css_pixel(exp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawn 2x and encoded, a page takes 0.35 to 0.5 s more than its JPEG: a page of more than
    SHARP_MAX_IMAGES images or SHARP_MAX_PIXELS pixels shows as the 1x JPEG it showed before, and
    the drawing of one that is not leaves the figure as savefig would (its canvas)."""
    import base64
    import re

    from qwenlab.figures import pages

    page = build_grid(exp, rows="promptExtend", cols="negativePrompt").pages[0]
    canvas = page.figure.canvas
    assert "data:image/webp" in page._repr_html_() and page.figure.canvas is canvas
    for limit, over in (("SHARP_MAX_PIXELS", pages._display_pixels(page.figure) - 1), ("SHARP_MAX_IMAGES", page.images - 1)):
        with monkeypatch.context() as m:
            m.setattr(pages, limit, over)
            html = page._repr_html_()
        data = base64.b64decode(re.search(r"src='data:image/jpeg;base64,([^']+)'", html).group(1))
        assert data == page.jpeg() and "data:image/webp" not in html, limit


def test_save_draws_pages_in_processes_and_follows_the_extension(exp, tmp_path: Path) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="negativePrompt")
    pngs = grid.save(tmp_path / "g.png", workers=2)
    assert [p.name for p in pngs] == ["g-1-512x768.png", "g-2-768x512.png"]
    assert not any(p.rendered for p in grid.pages)  # drawn in the workers, not here
    assert [(p.images, p.blanks) for p in grid.pages] == [(8, 0), (8, 0)]  # the workers' counts came back
    one_by_one = build_grid(exp, rows="promptExtend", cols="negativePrompt").save(tmp_path / "s.png", workers=1)
    for a, b in zip(pngs, one_by_one):
        with Image.open(a) as x, Image.open(b) as y:
            assert x.size == y.size and np.array_equal(np.asarray(x), np.asarray(y))  # the same pages either way
    sizes = {}
    for ext, fmt in (("jpg", "JPEG"), ("webp", "WEBP")):
        files = grid.save(tmp_path / f"g.{ext}")
        with Image.open(files[0]) as img:
            assert img.format == fmt
        sizes[ext] = sum(f.stat().st_size for f in files)
    png = sum(f.stat().st_size for f in pngs)
    assert sizes["jpg"] * 2 < png and sizes["webp"] * 2 < png
    with pytest.raises(ValueError, match="workers=0"):
        grid.save(tmp_path / "bad.png", workers=0)


def test_a_region_is_cut_from_the_original_at_full_resolution(exp) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.25))
    fig = grid[0]
    shapes = sorted({tile["image"].get_array().shape for tile in drawn_tiles(fig)})
    assert shapes == [(128, 768, 3), (192, 512, 3)]  # a quarter of 768x512 and of 512x768: original pixels, not a thumbnail's
    path = exp.images.path.iloc[0]
    with Image.open(path) as img:
        top = np.asarray(img.convert("RGB"))[: img.height // 4]
    drawn = [tile["image"].get_array() for tile in drawn_tiles(fig)]
    assert any(a.shape == top.shape and np.array_equal(np.asarray(a), top) for a in drawn)
    assert any("region 0, 0, 1, 0.25 of each image" in " ".join(t.split()) for t in texts(fig))


def _drawn_heights(fig) -> list[tuple[int, float]]:
    """(pixel rows of each region drawn, pixel rows it takes on the page)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    return [(tile["image"].get_array().shape[0], tile["image"].get_window_extent(renderer).height)
            for tile in drawn_tiles(fig)]


def test_a_region_is_drawn_at_its_own_pixels_so_small_text_stays_readable(exp) -> None:
    """Regions were drawn 1.2 in high whatever their pixels: the top 30% of a 1024x1536 poster
    (461 px) took 144 px, its 30-px subheads 9 px, on the view made to read them, under a
    subtitle saying "at full resolution". By default the tallest region is now drawn 1:1."""
    fig = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.25))[0]
    drawn = _drawn_heights(fig)
    tallest = max(drawn)  # a quarter of 512x768: 192 rows
    assert tallest[0] == 192 and abs(tallest[1] - 192) <= 2
    assert all(on_page >= rows - 2 for rows, on_page in drawn)  # none shrunk (the landscapes' are enlarged)
    assert not any("of its pixels" in t for t in texts(fig))


def test_a_page_drawing_regions_below_their_pixels_says_so_and_the_fix(exp) -> None:
    fig = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.25), cell_size=0.8)[0]
    shrunk = min(on_page / rows for rows, on_page in _drawn_heights(fig))
    line = next(" ".join(t.split()) for t in texts(fig) if "region 0, 0, 1, 0.25" in t)
    assert f"drawn at {shrunk:.0%} of its pixels" in line and "cell_size=1.6 (--cell-size 1.6)" in line
    fixed = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.25), cell_size=1.6)[0]
    assert all(on_page >= rows - 2 for rows, on_page in _drawn_heights(fixed))
    with pytest.raises(ValueError, match=r"dpi=0: give the pages' resolution"):  # refused before a page is drawn
        build_grid(exp, rows="promptExtend", cols="size", region=(0, 0, 1, 0.25), dpi=0)


@pytest.mark.parametrize("bad, why", [((0, 0, 1), "not 4"), ((0, 0, 1.5, 1), "outside the image"),
                                      ((0.5, 0, 0.2, 1), "upside down"), ((0, 0, 100, 200), "not pixels"),
                                      ("top", "not four numbers")])
def test_a_bad_region_is_refused_naming_region_and_the_fix(exp, bad, why: str) -> None:
    thumbnails.reset_stats()
    with pytest.raises(ValueError, match="region=") as err:
        build_grid(exp, rows="promptExtend", cols="size", region=bad)
    assert why in str(err.value) and "e.g. region=(0, 0, 1, 0.3)" in str(err.value)
    assert thumbnails.stats() == {"made": 0, "reused": 0}
    assert check_region("0, 0.1, 1, 0.4") == check_region((0, 0.1, 1, 0.4))


def test_grid_command_region_captions_and_formats(exp, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["grid", exp.name, "--rows", "promptExtend", "--cols", "size", "--page", "none",
                              "--region", "0,0,1,0.3", "--no-captions", "--workers", "2", "-o", str(tmp_path / "r.webp")])
    assert out.exit_code == 0, out.output
    with Image.open(out.output.strip()) as img:
        assert img.format == "WEBP"
    bad = runner.invoke(cli, ["grid", exp.name, "--region", "0,0,2,1"])
    assert bad.exit_code == 2 and "--region" in bad.output and "fractions are 0..1" in bad.output


def test_pages_with_ocr_outlines_are_drawn_in_this_process(exp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outlines are read from the log as a page is drawn, and an SQLite connection must not cross a fork."""
    import qwenlab.figures.pages as pages

    def no_processes(*args, **kwargs):
        raise AssertionError("a page reading the log was drawn in another process")

    monkeypatch.setattr(pages.cf, "ProcessPoolExecutor", no_processes)
    written = build_grid(exp, rows="promptExtend", cols="negativePrompt", show_reading=True).save(tmp_path / "o.png", workers=2)
    assert len(written) == 2 and all(p.stat().st_size > 10_000 for p in written)
    with pytest.raises(AssertionError, match="another process"):  # and without outlines, processes it is
        build_grid(exp, rows="promptExtend", cols="negativePrompt").save(tmp_path / "p.png", workers=2)


def test_a_grid_of_regions_shows_in_a_notebook_at_its_own_pixels(exp) -> None:
    """A grid of regions is made to read small text, and a notebook showed it scaled to 1,400 px
    wide: a 2,916-px page's subheads became smudges. It now shows at its own pixels, in a box
    that scrolls; a whole-image grid still fits the notebook's width."""
    import base64
    import io
    import re

    from PIL import Image

    regions = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.3))
    html = regions._repr_html_()
    assert "overflow:auto" in html and "max-width:none" in html and "shown at its own pixels" in html
    data = base64.b64decode(re.search(r"data:image/jpeg;base64,([^']+)'", html).group(1))
    figure = regions.pages[0].figure
    with Image.open(io.BytesIO(data)) as shown:  # not scaled down to the notebook's width: up to ACTUAL_WIDTH
        # (padded to whole CSS pixels on a dense screen: tests/figures/test_region_pixels_browser.py)
        assert 0 <= shown.width - min(ACTUAL_WIDTH, figure.get_figwidth() * figure.dpi) <= PIXEL_MULTIPLE
        assert shown.width > 2 * 1400
    whole = build_grid(exp, rows="promptExtend", cols="size", page=None)._repr_html_()
    assert "max-width:100%" in whole and "overflow:auto" not in whole


def test_a_grid_of_regions_keeps_its_scroll_box_under_jupyterlabs_sanitizer(exp) -> None:
    """JupyterLab's sanitizer (an untrusted notebook's outputs) keeps a max-height in px, em or
    pt and drops one in vh: the box was then as tall as the page, thousands of pixels. What it
    keeps, a box no taller than a screen, is what a trusted notebook's last declaration refines."""
    import re

    html = build_grid(exp, rows="promptExtend", cols="size", page=None, region=(0, 0, 1, 0.3))._repr_html_()
    style = re.search(r"<div class='[^']*' style='([^']*)'", html).group(1)
    declarations = [d.split(":", 1) for d in style.split(";") if d]
    kept = [value for name, value in declarations if name == "max-height" and re.fullmatch(r"\d+(px|em|pt)", value)]
    assert kept and int(kept[0].removesuffix("px")) <= 1000
    assert [value for name, value in declarations if name == "max-height"][-1] == "85vh"  # where vh is kept, it wins


@pytest.mark.parametrize("platform, methods", [("win32", ["spawn"]), ("darwin", ["spawn", "fork", "forkserver"])])
def test_pages_are_drawn_in_this_process_where_fork_is_missing_or_unsafe(exp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        platform: str, methods: list[str]) -> None:
    """Workers are forked (their pages are not pickled): on Windows `get_context("fork")` raises
    ValueError, and `grid.save(workers=2)` failed; on macOS Python calls fork unsafe (a child of a
    process with Accelerate's threads may crash). Both draw the pages here, as with one worker."""
    import multiprocessing
    import sys

    def no_fork(method: str | None = None):
        raise ValueError(f"cannot find context for {method!r}")  # what Windows says

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: methods)
    monkeypatch.setattr(multiprocessing, "get_context", no_fork)
    for workers in (2, None):
        written = build_grid(exp, rows="promptExtend", cols="negativePrompt").save(tmp_path / f"{workers}.png", workers=workers)
        assert len(written) == 2 and all(p.stat().st_size > 10_000 for p in written)
