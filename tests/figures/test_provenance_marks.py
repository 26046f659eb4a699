"""Figures mark emulator results: a grid's title and first subtitle line, each synthetic image's
stamp in a mixed experiment, and a pairs figure's title say SYNTHETIC / MIXED; Runware's do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab.analysis.pairs import pairs
from qwenlab.figures.grid import build_grid
from qwenlab.figures.pairs import show_pairs
from tests.support.backends import relabel
from tests.support.labkit import run_sweep, texts


@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x 2 repeats = 8 cells on the emulator."""
    return run_sweep(emulator, data_dir, name="marks", fail_one=False)


def _flat(fig) -> list[str]:
    return [" ".join(t.split()) for t in texts(fig)]


def test_an_emulator_grid_says_synthetic_in_its_title_and_subtitle(exp) -> None:
    grid = build_grid(exp, rows="promptExtend", cols="size")
    for page in grid.pages:
        drawn = _flat(page.figure)
        assert drawn[0].startswith("marks") and "SYNTHETIC" in drawn[0] and "emulator" in drawn[0]
        assert drawn[1].startswith("SYNTHETIC: run on qwenlab's offline emulator")
    # a title of one's own keeps the mark
    custom = build_grid(exp, rows="promptExtend", cols="size", title="My poster study")
    assert "SYNTHETIC" in _flat(custom.pages[0].figure)[0]


def test_a_runware_grid_names_its_host_and_says_nothing_synthetic(exp) -> None:
    relabel(exp, "runware")
    drawn = _flat(build_grid(exp, rows="promptExtend", cols="size").pages[0].figure)
    assert drawn[0] == "marks" and not any("SYNTHETIC" in t for t in drawn)
    assert any("run on Runware (api.runware.ai)" in t for t in drawn)


def test_a_mixed_grid_says_so_and_captions_each_synthetic_image(exp) -> None:
    relabel(exp, "runware", every=2)
    drawn = _flat(build_grid(exp, rows="promptExtend", cols="size").pages[0].figure)
    assert "MIXED" in drawn[0]
    captions = [t for t in drawn if "seed" in t and t.startswith(("SYNTHETIC", "r0", "r1"))]
    assert sum(t.startswith("SYNTHETIC ·") for t in captions) == 4 and len(captions) == 8
    bare = _flat(build_grid(exp, rows="promptExtend", cols="size", captions=False).pages[0].figure)
    assert bare.count("SYNTHETIC") == 4 and not any("seed" in t for t in bare)  # provenance stays without captions


def test_a_pairs_figure_marks_synthetic_images(exp) -> None:
    df = pairs(exp, "promptExtend")
    assert df.attrs["provenance"] == "emulator"
    drawn = _flat(show_pairs(exp, "promptExtend"))
    assert drawn[0].startswith("marks: promptExtend") and "SYNTHETIC" in drawn[0]
    assert any("costs emulated" in t for t in drawn)
    relabel(exp, "runware")
    assert not any("SYNTHETIC" in t for t in _flat(show_pairs(exp, "promptExtend")))


def test_a_pairs_figure_of_portrait_images_keeps_its_whole_mark(emulator, data_dir: Path) -> None:
    """Two portrait images side by side make a narrow figure: notebooks 02 and 04 titled theirs
    "edit-serum-bottle: promptExtend = off (left) vs on (right) · SYNTHETIC (offline…", the title
    cut at two lines through its provenance mark."""
    exp = run_sweep(emulator, data_dir, name="edit-serum-bottle", axes={"promptExtend": [False, True]}, repeats=1,
                    fail_one=False, size="768x1024")
    title = _flat(show_pairs(exp, "promptExtend"))[0]
    assert title.endswith("SYNTHETIC (offline emulator)") and "…" not in title, title


@pytest.mark.parametrize("text_w", [5.0, 6.2, 7.5, 9.0, 11.3, 14.14, 17.6])
@pytest.mark.parametrize("dpi", [60, 79, 95, 100, 120])
def test_the_bold_synthetic_line_fits_its_page_at_a_notebook_s_resolution(text_w: float, dpi: int) -> None:
    """The SYNTHETIC line is bold, wrapped by an estimate of its letters' width: at the 1400-px
    width a notebook shows a grid at, it filled the page exactly and its last letters were cut at
    the right edge ("costs emulate"). Every line of it, drawn bold at 60 to 120 dpi, fits."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from qwenlab.figures.text import SUBTITLE_PT, TITLE_PT, wrap_lines

    alert = ("SYNTHETIC: run on qwenlab's offline emulator at 127.0.0.1:39121, not on Runware: its images are drawn "
             "locally and show the request, not what Qwen-Image would draw; costs emulated (nothing paid)")
    fig = Figure(figsize=(text_w, 2), dpi=dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    for text, size in ((alert, SUBTITLE_PT), ("cny-poster · SYNTHETIC (offline emulator) · promptExtend x size", TITLE_PT)):
        for line in wrap_lines(text, text_w, size, bold=True):
            drawn = fig.text(0, 0.5, line, fontsize=size, fontweight="bold")
            assert drawn.get_window_extent(renderer).width <= text_w * dpi, line
