"""Pairs along one axis: matched on every other setting, by seed when pinned, by repeat when sampled."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from qwenlab.analysis.pairs import pairs
from qwenlab.errors import UnknownAxisError, WidgetsMissingError
from qwenlab.figures.pairs import show_pairs
from qwenlab.figures.panels import drawn_tiles
from qwenlab.widgets.pairviewer import pair_viewer
from tests.support.labkit import PROMPT, SIZES, run_sweep, texts


@pytest.fixture
def exp(emulator, data_dir: Path):
    """promptExtend x size x 2 repeats, sampled seeds, one cell failed."""
    return run_sweep(emulator, data_dir)


def test_promptextend_pairs_share_every_other_setting_and_the_repeat(exp) -> None:
    df = pairs(exp, "promptExtend")
    assert (df.attrs["a"], df.attrs["b"]) == ("on", "off")
    assert len(df) == 3 and df.attrs["unpaired"] == 1  # 4 pairs of cells, one side of one failed
    tasks = {t["id"]: t for t in exp.log.tasks(exp.id)}
    images = exp.images.set_index("image_id")
    for r in df.itertuples():
        ta, tb = tasks[r.task_a], tasks[r.task_b]
        assert (ta["prompt_extend"], tb["prompt_extend"]) == (1, 0)
        for column in ("prompt", "negative_prompt", "width", "height", "repeat"):
            assert ta[column] == tb[column]
        assert r.match == "repeat" and r.repeat == ta["repeat"]
        assert images.loc[r.image_a, "seed"] == r.seed_a and images.loc[r.image_b, "seed"] == r.seed_b
        assert Path(r.path_a).is_file() and Path(r.path_b).is_file()
    assert set(df["size"]) == set(SIZES)
    assert len(pairs(exp, "promptExtend", include_unpaired=True)) == 4


def test_pinned_seeds_pair_on_the_seed(emulator, data_dir: Path, seeded_model: str) -> None:
    exp = run_sweep(emulator, data_dir, model=seeded_model, seed_policy="pin", seed=500, fail_one=False)
    df = pairs(exp, "promptExtend")
    assert len(df) == 4 and set(df["match"]) == {"seed"}
    assert (df["seed_a"] == df["seed_b"]).all() and set(df["seed_a"]) == {500, 501}


def test_an_axis_of_three_values_needs_two_picked(emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, axes={"size": ["512x768", "768x512", "512x512"]}, repeats=1, fail_one=False)
    with pytest.raises(ValueError, match="pick them with values="):
        pairs(exp, "size")
    df = pairs(exp, "size", values=("512x512", "768x512"))
    assert len(df) == 1 and (df.a[0], df.b[0]) == ("512x512", "768x512")
    with pytest.raises(ValueError, match="not a value of axis 'size'"):
        pairs(exp, "size", values=("512x512", "9x9"))


def test_pairs_along_size_give_each_sides_size_not_side_as(exp, tmp_path: Path) -> None:
    """On a size axis `width`/`height` were side a's (512x768) for both sides, as if the 768x512
    image were portrait; the figure sized every box by them, squeezing the landscape side. They
    are now what both sides share (None here), width_a/height_a and width_b/height_b each side's,
    as prompt/prompt_a/prompt_b are."""
    df = pairs(exp, "size")
    assert (df.attrs["a"], df.attrs["b"]) == ("512x768", "768x512") and len(df) == 3
    assert df["width"].isna().all() and df["height"].isna().all()
    assert (df["width_a"] == 512).all() and (df["height_a"] == 768).all()
    assert (df["width_b"] == 768).all() and (df["height_b"] == 512).all()
    images = exp.images.set_index("image_id")
    for r in df.itertuples():  # each side's size is its own image's
        assert (images.loc[r.image_a, "width"], images.loc[r.image_a, "height"]) == (r.width_a, r.height_a)
        assert (images.loc[r.image_b, "width"], images.loc[r.image_b, "height"]) == (r.width_b, r.height_b)
    shared = pairs(exp, "promptExtend")  # a size both sides have: said once, and by each side
    assert (shared["width"] == shared["width_a"]).all() and (shared["width"] == shared["width_b"]).all()
    assert (shared["height"] == shared["height_a"]).all() and (shared["height"] == shared["height_b"]).all()
    # the figure's boxes are as wide as the widest side's shape (768x512), not side a's (512x768)
    assert show_pairs(df).get_figwidth() > show_pairs(shared[shared["size"] == "512x768"]).get_figwidth() + 2


def test_values_must_be_two_different_values(exp) -> None:
    """values=("on", "on") (or True and "on", one value twice) paired nothing and called every
    image unpaired, and judging opened on no pair at all, without a word; values="on" was read
    letter by letter ("'o' is not a value"). Each is refused, naming values= and the fix."""
    with pytest.raises(ValueError, match=r"values=\('on', 'on'\) names one value twice \(on\); give two different "
                                         r"values of 'promptExtend', e\.g\. values=\('on', 'off'\)"):
        pairs(exp, "promptExtend", values=("on", "on"))
    with pytest.raises(ValueError, match=r"names one value twice \(on\)"):
        pairs(exp, "promptExtend", values=(True, "on"))
    with pytest.raises(ValueError, match=r"values= takes the two values of 'promptExtend' to compare as a pair, "
                                         r"e\.g\. values=\('on', 'off'\); got 'on'"):
        pairs(exp, "promptExtend", values="on")
    with pytest.raises(ValueError, match="names one value twice"):
        exp.judge("promptExtend", values=("off", "off"))
    assert len(pairs(exp, "promptExtend", values=("off", "on"))) == 3  # two values, either order


def test_include_unpaired_must_be_a_bool_and_a_numpy_bool_is_one(exp) -> None:
    """include_unpaired="no" is a true string: the pairs with a side missing were listed, and the
    viewer walked them, without a word."""
    import numpy as np

    for call in (lambda v: pairs(exp, "promptExtend", include_unpaired=v), lambda v: exp.pairs("promptExtend", include_unpaired=v),
                 lambda v: pair_viewer(exp, "promptExtend", include_unpaired=v)):
        with pytest.raises(ValueError, match=r"include_unpaired must be True or False, got str 'no' \(a non-empty string is true"):
            call("no")
        with pytest.raises(ValueError, match="include_unpaired must be True or False, got int 1$"):
            call(1)
    assert len(pairs(exp, "promptExtend", include_unpaired=np.bool_(True))) == 4  # from a frame: the bool it holds
    assert len(pairs(exp, "promptExtend", include_unpaired=np.bool_(False))) == 3


def test_an_experiment_of_repeats_only_is_said_to_have_no_axis_and_repeat_offered_only_where_it_is_taken(
        emulator, data_dir: Path, exp) -> None:
    """An experiment whose sweep varies nothing answered "its axes are: repeat", as if repeat were
    a sweep axis, even from pairs, which refuse it."""
    only = run_sweep(emulator, data_dir, name="repeats-only", axes={}, repeats=2, fail_one=False)
    with pytest.raises(UnknownAxisError, match=r"'promptExtend' is not an axis of experiment 'repeats-only'; it has no axis "
                                               r"\(one setting, no sweep axis\)$"):
        pairs(only, "promptExtend")
    for call, said in ((lambda: only.grid(rows="size"), "rows: "), (lambda: only.grid(where={"size": "1024x1024"}), "where: ")):
        with pytest.raises(UnknownAxisError, match=rf"^{said}'size' is not an axis of experiment 'repeats-only'; it has no "
                                                   r"axis \(one setting, no sweep axis; 'repeat' names its repeats\)$"):
            call()
    with pytest.raises(UnknownAxisError, match=r"rows=\['size'\]: give one axis name as a string, e\.g\. rows='repeat'; "
                                               r"it has no axis"):
        only.grid(rows=["size"])
    with pytest.raises(UnknownAxisError, match=r"'prompt' is not an axis of experiment 'grid-test'; its axes are: "
                                               r"promptExtend, size$"):
        pairs(exp, "prompt")  # pairs take no 'repeat': not offered
    with pytest.raises(UnknownAxisError, match=r"rows: 'prompt' is not an axis of experiment 'grid-test'; its axes are: "
                                               r"promptExtend, size \(and 'repeat' for its repeats\)$"):
        exp.grid(rows="prompt")


def test_an_axis_of_none_is_refused_naming_the_parameter(exp) -> None:
    """pairs(exp, None) failed with a bare KeyError: None."""
    with pytest.raises(UnknownAxisError, match=r"axis=None: give the axis whose two values to compare, e\.g\. "
                                               r"axis='promptExtend'"):
        pairs(exp, None)  # type: ignore[arg-type]


def test_where_that_keeps_one_value_of_the_axis_compared_says_so(exp) -> None:
    """where={"promptExtend": "on"} on promptExtend's pairs answered "has 1 value in view (on);
    pairs need two: pick them with values=", which where= had filtered out. Two values kept by
    where= still pair."""
    with pytest.raises(ValueError, match=r"where=\{'promptExtend': 'on'\} keeps one value of 'promptExtend', the axis the "
                                         r"pairs compare: leave 'promptExtend' out of where="):
        pairs(exp, "promptExtend", where={"promptExtend": "on"})
    assert len(pairs(exp, "promptExtend", where={"promptExtend": ["on", "off"]})) == 3


def test_show_pairs_draws_each_pair_side_by_side_with_its_seeds(exp, tmp_path: Path) -> None:
    df = pairs(exp, "promptExtend")
    fig = show_pairs(df, path=tmp_path / "pairs.png")
    assert (tmp_path / "pairs.png").stat().st_size > 10_000
    assert len(drawn_tiles(fig)) == 2 * len(df)
    assert fig._repr_jpeg_().startswith(b"\xff\xd8")  # shows itself in a notebook, light, without pyplot
    drawn = " ".join(" ".join(t.split()) for t in texts(fig))
    for r in df.itertuples():
        assert f"promptExtend=on · {r.shared} · seed {r.seed_a}" in drawn
        assert f"promptExtend=off · {r.shared} · seed {r.seed_b}" in drawn
    # numbered from 1, as the pair viewer says "pair 1 of n" (the figure said "pair 0:")
    assert "pair 1: " in drawn and "pair 0: " not in drawn


def test_pair_viewer_flips_fades_and_walks_the_pairs(exp) -> None:
    viewer = pair_viewer(exp, "promptExtend", size=128)
    assert viewer.side == "a" and viewer.toggle.value == "on"
    first = viewer.image.value
    assert first[:3] == b"\xff\xd8\xff"
    viewer.flip()
    assert viewer.side == "b" and viewer.toggle.value == "off" and viewer.image.value != first
    assert f"seed {viewer.df.seed_b[0]}" in viewer.caption.value
    viewer.fade_slider.value = 0.5
    assert viewer.side == "fade" and "50% on + 50% off" in viewer.caption.value
    viewer.toggle.value = "on"
    assert viewer.side == "a" and viewer.image.value == first
    viewer.next_button.click()
    assert viewer.index == 1 and viewer.side == "a"
    viewer.prev_button.click()
    viewer.prev_button.click()
    assert viewer.index == len(viewer.df) - 1  # wraps around


def test_a_pair_with_a_side_missing_never_shows_the_other_sides_image_under_its_label(exp) -> None:
    """With include_unpaired=True, flipping to the side whose cell failed showed the other side's
    image captioned with the missing side's value ("promptExtend = off · seed ?" over the "on"
    image), and "look closely" raised a TypeError on the missing image id."""
    from qwenlab.widgets.tiles import blank_jpeg

    viewer = pair_viewer(exp, "promptExtend", size=128, include_unpaired=True)
    lone = [i for i, r in enumerate(viewer.df.itertuples()) if r.image_a is pd.NA or r.image_b is pd.NA]
    assert len(lone) == 1
    viewer.show(lone[0])
    row = viewer.df.iloc[lone[0]]
    missing, present = ("a", "b") if row["image_a"] is pd.NA else ("b", "a")
    name = {"a": "on", "b": "off"}
    viewer.fade_slider.value = 0.0 if present == "a" else 1.0
    shown = viewer.image.value
    blank = blank_jpeg(row["width"] / row["height"], 128)  # the pair's images' shape, in the viewer's 128-px box
    assert shown[:3] == b"\xff\xd8\xff" and shown != blank
    assert f"promptExtend = <b>{name[present]}</b> · seed {row[f'seed_{present}']}" in viewer.caption.value
    viewer.flip()  # the side without an image: a grey blank of its shape, said so
    assert viewer.image.value == blank
    assert f"promptExtend = <b>{name[missing]}</b>: <b>no image</b>" in viewer.caption.value
    assert "seed ?" not in viewer.caption.value
    viewer.fade_slider.value = 0.5 if missing == "b" else 0.4  # no fade with nothing: the nearer end, named
    assert "no image" in viewer.caption.value and "%" not in viewer.caption.value
    viewer.closely_button.value = True  # the one image there is, at full size, saying what is missing
    assert [i.id for i in viewer.viewer.images] == [int(row[f"image_{present}"])]
    assert viewer.viewer.labels[0].endswith(f"(promptExtend {name[missing]}: no image)")


def test_pair_viewer_without_ipywidgets_says_how_to_install(exp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(WidgetsMissingError, match="pip install ipywidgets"):
        pair_viewer(exp)


def test_pairs_of_two_runs_after_a_prompt_edit_give_each_sides_prompt(emulator, data_dir: Path) -> None:
    """Two runs compared after a prompt edit (lab.compare(...).pairs("experiment")): the `prompt`
    column gave the first run's prompt for both sides, as if the pair had sent one prompt; it is
    None where the sides differ now, and prompt_a/prompt_b say each side's."""
    from qwenlab import Lab

    gold = PROMPT + " in a clean gold serif"
    run_sweep(emulator, data_dir, name="before", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="after", repeats=1, fail_one=False, prompt=gold, negativePrompt="blurry text")
    df = Lab(data_dir).compare("before", "after").pairs("experiment")
    assert len(df) == 4 and (df.attrs["a"], df.attrs["b"]) == ("before", "after")
    assert df["prompt"].isna().all() and df["negative_prompt"].isna().all()  # not "before"'s, said of both
    assert (df["prompt_a"] == PROMPT).all() and (df["prompt_b"] == gold).all()
    assert df["negative_prompt_a"].isna().all() and (df["negative_prompt_b"] == "blurry text").all()

    within = pairs(Lab(data_dir).experiment("after"), "promptExtend")  # one run: the prompt both sent
    assert (within["prompt"] == gold).all() and (within["negative_prompt"] == "blurry text").all()
    assert (within["prompt_a"] == within["prompt_b"]).all()
