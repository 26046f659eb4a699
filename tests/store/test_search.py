"""lab.search: images across experiments by prompt words (the FTS index of m003), experiment, tag
and rating, on real experiments run against the loopback emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab import ExperimentNotFoundError, Lab
from tests.support.labkit import run_sweep


@pytest.fixture
def lab(emulator, data_dir: Path) -> Lab:
    run_sweep(emulator, data_dir, name="lumiere", repeats=1, fail_one=False,
              prompt="A premium beauty poster for LUMIERE serum, 'Glow, Refined.' headline")
    run_sweep(emulator, data_dir, name="noctis", repeats=1, fail_one=False, axes={"promptExtend": [True, False]},
              prompt="A moody perfume ad for NOCTIS, 'After Dark' in gold letters")
    return Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))


def test_prompt_words_find_the_images_with_their_experiment_values_and_path(lab: Lab) -> None:
    found = lab.search("LUMIERE")
    assert set(found["experiment"]) == {"lumiere"} and len(found) == 4
    row = found.iloc[0]
    assert "LUMIERE" in row["prompt"] and Path(row["path"]).is_file()
    assert set(found["values"]) == {f"promptExtend={e}, size={s}" for e in ("on", "off") for s in ("512x768", "768x512")}
    assert found["seed"].notna().all() and (found["backend"] == "emulator").all()
    # every word must be there, in any order, any case; punctuation pasted from a prompt is harmless
    assert len(lab.search("glow, refined.")) == 4
    assert len(lab.search("refined lumiere")) == 4
    assert lab.search("LUMIERE NOCTIS").empty
    assert len(lab.search("LUMIERE OR NOCTIS", raw=True)) == 6
    with pytest.raises(ValueError, match="text.*FTS5"):
        lab.search('"unclosed', raw=True)


def test_filters_by_experiment_tag_rating_and_archive(lab: Lab) -> None:
    assert len(lab.search()) == 6
    assert set(lab.search(experiment="noctis")["experiment"]) == {"noctis"}
    with pytest.raises(ExperimentNotFoundError, match="'noctys'.*known: lumiere, noctis"):  # a typo, not "nothing found"
        lab.search(experiment=["noctis", "noctys"])
    lab.experiment("noctis").tag("perfume")
    assert set(lab.search(tag="perfume")["experiment"]) == {"noctis"}
    assert lab.search("LUMIERE", tag="perfume").empty
    ids = lab.search("LUMIERE")["image_id"].tolist()
    lab.log.rate(ids[0], 5)
    lab.log.rate(ids[1], 5)
    lab.log.rate(ids[1], 3)  # a later rating supersedes an earlier one
    lab.log.rate(ids[2], None, "a note, no score")
    best = lab.search(min_rating=4)
    assert best["image_id"].tolist() == [ids[0]] and best["rating"].tolist() == [5]
    lab.experiment("lumiere").archive()
    assert len(lab.search("LUMIERE")) == 4 and lab.search("LUMIERE", archived=False).empty
    with pytest.raises(ValueError, match="min_rating"):
        lab.search(min_rating="good")


def test_min_rating_takes_numpy_numbers_and_refuses_what_no_rating_reaches(lab: Lab, tmp_path: Path) -> None:
    """min_rating=np.int64(4) (a number read from a frame) was refused as "give a number (1-5),
    not np.int64(4)"; min_rating=9 or 40 (a percent) found nothing, silently, in search and in
    export_images, where `--min-rating` refuses them. Both now take any real number from 1 to 5
    and refuse the rest naming min_rating."""
    import numpy as np

    ids = lab.search("LUMIERE")["image_id"].tolist()
    lab.log.rate(ids[0], 5)
    exp = lab.experiment("lumiere")
    for value in (np.int64(4), np.float32(4.0), 4):
        assert lab.search(min_rating=value)["image_id"].tolist() == [ids[0]]
        assert [e.image_id for e in exp.export_images(tmp_path / f"kept-{value!r}", min_rating=value)] == [ids[0]]
    for value in (0, 9, 40, True, float("nan")):
        with pytest.raises(ValueError, match=r"^min_rating: .*1 to 5"):
            lab.search(min_rating=value)
        with pytest.raises(ValueError, match=r"^min_rating: .*1 to 5"):
            exp.export_images(tmp_path / "none", min_rating=value)
    assert not (tmp_path / "none").exists()


def test_a_list_cut_at_its_limit_says_how_many_images_match(lab: Lab) -> None:
    """Six images match; at limit=4 the frame held four and nothing said there were more."""
    with pytest.warns(UserWarning, match="the first 4 of 6 images that match are shown; limit=None shows them all"):
        cut = lab.search(limit=4)
    assert len(cut) == 4 and cut.attrs["matched"] == 6
    assert lab.search("LUMIERE", limit=4).attrs["matched"] == 4  # exactly the limit: all there is, nothing said
    assert lab.search(limit=None).attrs["matched"] == 6


def test_tags_are_listed_in_the_order_they_were_added_as_everywhere_else(lab: Lab) -> None:
    """exp.tags and `qwenlab logs` list tags in the order they were added; search's column came in
    whatever order SQLite met them (by the UNIQUE index of experiment and tag: alphabetical)."""
    exp = lab.experiment("noctis")
    for tag in ("posters", "perfume", "autumn", "b-roll", "zz", "aa"):
        exp.tag(tag)
    found = lab.search(experiment="noctis")
    assert set(found["tags"]) == {",".join(exp.tags)} == {"posters,perfume,autumn,b-roll,zz,aa"}
