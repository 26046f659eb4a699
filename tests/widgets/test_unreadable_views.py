"""An image whose file is gone since the run (deleted, or its data folder moved) or damaged, in
the views that show one image at a time: judging and the pair viewer showed nothing on that side
(an empty picture, under a caption that gave its seed as if it were there), and in judging a
verdict could be cast on it. They show a tile that says "image missing" (or "damaged"), as the
explorer's tiles and the grids' blanks do."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab import Experiment
from qwenlab.widgets.judging import Judging
from qwenlab.widgets.pairviewer import pair_viewer
from qwenlab.widgets.tiles import unreadable_jpeg
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator, data_dir: Path) -> Experiment:
    return run_sweep(emulator, data_dir, name="lost", axes={"promptExtend": [True, False]}, repeats=2,
                     fail_one=False, size="768x512")


def _path(exp: Experiment, image_id: int) -> Path:
    return Path(exp.images.set_index("image_id").loc[image_id, "path"])


@pytest.mark.parametrize("max_px", [None, 300])  # the file itself, or a JPEG made to fit
def test_judging_says_a_side_is_missing_or_damaged(exp: Experiment, max_px: int | None) -> None:
    left, right = Judging(exp, "promptExtend", seed=3).current
    _path(exp, left).unlink()
    damaged = _path(exp, right)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    j = Judging(exp, "promptExtend", seed=3, max_px=max_px)
    assert j.current == (left, right)
    box = max_px or 1024  # a JPEG made to fit, or a judged image's size beside the file itself
    assert j.left.value == unreadable_jpeg("image missing", "s: skip this pair", 768 / 512, box)  # in the image's shape
    assert j.right.value == unreadable_jpeg("image damaged", "s: skip this pair", 768 / 512, box)


def test_the_pair_viewer_says_a_side_is_missing(exp: Experiment) -> None:
    viewer = pair_viewer(exp, "promptExtend", size=128)
    row = viewer.df.iloc[0]
    viewer.show(0)
    before = viewer.image.value  # its thumbnail cached
    missing = unreadable_jpeg("image missing", "", 768 / 512, 128)  # a 768x512 image's shape, in the 128-px box
    assert before[:2] == b"\xff\xd8" and before != missing
    Path(row["path_a"]).unlink()
    viewer.show(1)
    viewer.show(0)
    assert viewer.image.value == missing
    viewer.fade_slider.value = 0.3  # nothing to fade with: the nearer side, said missing
    assert viewer.image.value == missing
    viewer.flip()
    assert viewer.image.value[:2] == b"\xff\xd8" and viewer.image.value != missing


def test_looking_closely_at_a_pair_with_a_file_gone_says_so_and_never_shows_the_pair_before(exp: Experiment) -> None:
    """"look closely" on a pair whose file was deleted raised in the button's callback (an error
    in the kernel's log, unseen) and left the full-size view on the pair shown before it, under
    this pair's caption: two other images, at full size, taken for this pair's."""
    viewer = pair_viewer(exp, "promptExtend", size=128)
    Path(viewer.df.iloc[0]["path_a"]).unlink()
    viewer.show(1)
    viewer.closely_button.value = True
    assert [i.id for i in viewer.viewer.images] == [int(viewer.df.iloc[1][f"image_{s}"]) for s in "ab"]
    viewer.show(0)  # the pair with its file gone
    (shown,) = viewer.closely.children
    assert shown is not viewer.viewer.widget, "the pair shown before stayed at full size under this pair"
    assert "Cannot show this pair at full size" in shown.value and "does not exist" in shown.value
    viewer.show(1)  # and a readable pair after it is shown again
    assert viewer.closely.children == (viewer.viewer.widget,)
    assert [i.id for i in viewer.viewer.images] == [int(viewer.df.iloc[1][f"image_{s}"]) for s in "ab"]
