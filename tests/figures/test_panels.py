"""An image tile is drawn where matplotlib would draw it, the right way up, whichever way it is
resized (Pillow on a raster page, shrunk or enlarged under 3x; matplotlib itself on a vector page
or when enlarging more)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import BboxImage

from qwenlab.figures import panels
from qwenlab.figures.panels import TileImage, draw_image


def _poster(h: int, w: int) -> np.ndarray:
    """A picture whose top, bottom, left and right differ: red over blue, a yellow-green left edge."""
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[: h // 2, :, 0] = 255
    pixels[h // 2:, :, 2] = 255
    pixels[:, : w // 10, 1] = 255
    return pixels


def _drawn(cls: type, pixels: np.ndarray, monkeypatch: pytest.MonkeyPatch, dpi: int = 95) -> np.ndarray:
    monkeypatch.setattr(panels, "TileImage", cls)
    fig = Figure(figsize=(5, 3), dpi=dpi)
    for x in (0.05, 0.53):  # two tiles: each placed by its own box
        draw_image(fig, (x, 0.2, 0.42, 0.7), pixels, "", 5 * 0.42, 3 * 0.7)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


@pytest.mark.parametrize("shape", [(512, 341), (256, 256), (300, 900), (128, 85), (190, 190)])
@pytest.mark.parametrize("dpi", [72, 95, 150])
def test_a_resized_tile_lands_where_matplotlib_draws_it_the_right_way_up(shape, dpi, monkeypatch) -> None:
    pixels = _poster(*shape)
    ours = _drawn(TileImage, pixels, monkeypatch, dpi)
    theirs = _drawn(BboxImage, pixels, monkeypatch, dpi)
    differ = np.abs(ours - theirs).max(axis=-1) > 60  # a flipped or shifted tile differs by 255 over whole bands
    # the two filters differ along the colour edges only: a pixel's width of them at most
    edges = 2 * (ours.shape[0] + ours.shape[1])
    assert differ.sum() < edges, f"{differ.sum()} pixels differ"
    red = (ours[..., 0] > 200) & (ours[..., 2] < 60)  # the page is white: red and blue both high
    blue = (ours[..., 2] > 200) & (ours[..., 0] < 60)
    assert red.any() and blue.any()
    assert np.nonzero(red.any(axis=1))[0].mean() < np.nonzero(blue.any(axis=1))[0].mean()  # red on top, as in the file


def test_a_tile_enlarged_3x_or_more_and_a_vector_page_are_left_to_matplotlib(monkeypatch) -> None:
    calls: list[bool] = []
    real = BboxImage.make_image

    def counted(self, renderer, magnification=1.0, unsampled=False):
        calls.append(unsampled)
        return real(self, renderer, magnification, unsampled)

    monkeypatch.setattr(BboxImage, "make_image", counted)
    _drawn(TileImage, _poster(512, 341), monkeypatch)
    assert calls == []  # shrunk on a raster page: Pillow's
    _drawn(TileImage, _poster(128, 85), monkeypatch)
    assert calls == []  # enlarged 1.6x: Pillow's
    _drawn(TileImage, _poster(40, 30), monkeypatch)
    assert calls == [False, False]  # enlarged 5x in its box: matplotlib's own, its pixels drawn as squares
    calls.clear()
    fig = Figure(figsize=(5, 3))
    draw_image(fig, (0.1, 0.2, 0.8, 0.7), _poster(512, 341), "", 4, 2.1)
    for fmt in ("pdf", "svg"):
        fig.savefig(io.BytesIO(), format=fmt)
    assert len(calls) == 2
