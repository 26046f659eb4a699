"""The file names made from an experiment's name (default reports and grids) are names every
platform can make, and two names never share one."""

from __future__ import annotations

import pytest

from qwenlab.figures.text import file_stem
from tests.support.windows_names import windows_name_problem

HOSTILE = ["con", "CON", "aux", "nul", "prn", "com1", "lpt9", "Con", "posters/v2", 'a<b>c:"d|e?f*', "ends.", "ends ",
           "...", "  ", "海报", "lumière noir", "x" * 300, "CON.v2", "nul-v2"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_default_file_name_is_one_windows_can_make(name: str) -> None:
    """"con", "aux", "nul", "com1" were their own file names: data/reports/con.html is the console
    on Windows, and the report could not be written there."""
    for suffix in (".html", ".png"):
        assert windows_name_problem(f"{file_stem(name)}{suffix}") is None, name


def test_names_differing_only_in_case_do_not_share_a_file() -> None:
    """Windows and macOS fold case: "Posters" and "posters" must not write one report."""
    stems = [file_stem(n) for n in ("posters", "Posters", "POSTERS", "con", "Con")]
    assert len({s.lower() for s in stems}) == len(stems), stems
    assert file_stem("posters") == "posters" and file_stem("nul-v2") == "nul-v2"  # safe names stay as they are


def test_a_name_in_any_script_is_kept_in_its_file_name() -> None:
    """"新年海报" made `page-34de83.html`: file names kept only ASCII letters. Letters of every
    script are kept now, Latin ones without their accents, a kana's voicing mark and a Korean
    syllable whole."""
    from qwenlab.figures.text import slug

    assert file_stem("新年海报") == "新年海报"
    assert slug("ガラス 2026") == "ガラス-2026" and slug("여름 세일") == "여름-세일"
    assert slug("perfume billboard (LUMIÈRE NOIR)") == "perfume-billboard-lumiere-noir"
    assert slug("🎉") == "page" and slug("a_b") == "a-b"


def test_a_pages_file_name_keeps_a_part_of_every_value() -> None:
    """`qwenlab grid demo --rows promptExtend` wrote "demo-9-art-deco-perfume-aurelis-noir-1024x1536-.png"
    and "demo-10-art-deco-perfume-aurelis-noir-1024x1536-.png": cut at 40 characters, the values
    "with" and "without" were lost, and a hyphen was left before the suffix. The longest value now
    gives up its last words, so each page's file says which one it is."""
    from qwenlab.figures.text import page_slug, slug

    with_, without = (page_slug(["art deco perfume (AURELIS NOIR)", "1024x1536", n]) for n in ("with", "without"))
    assert with_ == "art-deco-perfume-aurelis-1024x1536-with" and without == "art-deco-perfume-1024x1536-without"
    assert page_slug(["perfume billboard (LUMIÈRE NOIR)", "1536x1024", "with"]) == "perfume-billboard-lumiere-1536x1024-with"
    assert page_slug(["billboard edit (LUNE NOIRE)", "with"]) == "billboard-edit-lune-noire-with"  # fits: as it was
    assert all(len(page_slug([w * 30, "x" * 30, "1024x1536"])) <= 40 for w in "ab")  # one-word values are cut too
    assert page_slug([]) == ""
    assert not slug("a" * 39 + " b c").endswith("-")  # never a hyphen before the file's suffix
