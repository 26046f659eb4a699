"""Captions never cover pixels: measured on the drawn figure (every text's window extent against
every image's axes), for portrait, landscape and square images, with and without headers; and a
text score's frame colour tells 0.88 from 1.00."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from qwenlab.figures.grid import build_grid
from qwenlab.figures.panels import drawn_tiles
from qwenlab.figures.scale import frame_colour
from tests.support.labkit import run_sweep, texts


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory):
    """Portrait, landscape and square images (x promptExtend x negativePrompt x 2 repeats), one cell failed."""
    from qwenlab.emulator import Emulator

    data_dir = tmp_path_factory.mktemp("captions") / "data"
    with Emulator() as emulator:
        yield run_sweep(emulator, data_dir, name="shapes", axes={
            "size": ["512x768", "768x512", "640x640"], "promptExtend": [True, False],
            "negativePrompt": {"with": "blurry text", "without": None}})


def overlaps(fig) -> list[tuple[str, str]]:
    """(text, image) pairs whose drawn boxes intersect, from the rendered figure's window extents
    (an image's extent: where its pixels land)."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    images = [tile["image"].get_window_extent(renderer) for tile in drawn_tiles(fig)]
    assert images, "no image drawn"
    found = []
    for text in [*fig.texts, *(t for ax in fig.axes for t in ax.texts)]:
        if not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        for img in images:
            # strictly inside each other by more than half a pixel: touching edges are not covering
            if box.x0 < img.x1 - 0.5 and img.x0 < box.x1 - 0.5 and box.y0 < img.y1 - 0.5 and img.y0 < box.y1 - 0.5:
                found.append((text.get_text()[:40], str(img)))
    return found


@pytest.mark.parametrize("size", ["512x768", "768x512", "640x640"])
@pytest.mark.parametrize("headers", ["rows and columns", "none"])
def test_no_caption_or_header_covers_an_image(shapes, size: str, headers: str) -> None:
    if headers == "none":  # one cell per page: no row or column header, every axis in the page's title
        grid = build_grid(shapes, where={"size": size}, page=["promptExtend", "negativePrompt"])
    else:
        grid = build_grid(shapes, rows="promptExtend", cols="negativePrompt", where={"size": size}, page=None)
    for page in grid.pages:
        drawn = texts(page.figure)
        assert any("seed" in t for t in drawn)  # captions are drawn ...
        assert overlaps(page.figure) == []      # ... and none of them, nor anything else, over pixels


def test_mixed_shapes_with_a_failed_cell_and_a_region(shapes) -> None:
    for grid in (build_grid(shapes, rows="promptExtend", cols="size", page=None),
                 build_grid(shapes, rows="size", cols="promptExtend", region=(0, 0.6, 1, 1), page=None)):
        assert grid.pages[0].blanks == 1
        assert overlaps(grid[0]) == []


def test_the_subtitle_says_what_every_image_shares(shapes) -> None:
    grid = build_grid(shapes, rows="promptExtend", cols="repeat", where={"size": "640x640", "negativePrompt": "with"})
    flat = [" ".join(t.split()) for t in texts(grid[0])]
    assert any("same on every image: size=640x640 · negativePrompt=with" in t for t in flat)
    captions = [t for t in flat if "seed" in t and "under each image" not in t]
    assert captions and all(t.startswith("seed ") for t in captions)  # nothing else left to say per image


def test_a_score_frame_tells_088_from_100() -> None:
    def distance(a: float, b: float) -> float:
        return sum((x - y) ** 2 for x, y in zip(frame_colour(a), frame_colour(b))) ** 0.5

    assert distance(0.88, 1.0) > 0.3   # light green against dark green
    assert distance(0.75, 0.88) > 0.15 and distance(0.5, 0.75) > 0.3 and distance(0.0, 0.5) > 0.3
    assert frame_colour(None) == frame_colour(float("nan")) != frame_colour(0.0)  # grey: not scored
