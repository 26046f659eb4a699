"""Where a line of CJK text may break: the one rule the emulator's headlines and the figures'
labels share (qwenlab.core.scripts)."""

from __future__ import annotations

from qwenlab.core.scripts import NO_LINE_START, breaks_before, unbreakable_pieces


def test_small_kana_the_long_vowel_mark_and_iteration_marks_stay_with_the_character_before() -> None:
    # キャ and ショ sound as one syllable, ー lengthens the vowel before it, 々 repeats the
    # character before it: a line that started with any of them would be misread
    assert unbreakable_pieces("シャンプーでキャンペーン") == ["シャ", "ン", "プー", "で", "キャ", "ン", "ペー", "ン"]
    assert unbreakable_pieces("人々がちょっと") == ["人々", "が", "ちょっ", "と"]
    for ch in NO_LINE_START:
        assert not breaks_before("キ", ch) and not breaks_before("漢", ch), ch
    # every other kana and Han character may still start a line, and punctuation still may not
    assert breaks_before("キ", "ン") and breaks_before("ー", "ン") and breaks_before("年", "快")
    assert not breaks_before("年", "，") and not breaks_before("「", "新")


def test_latin_text_is_one_piece_a_word() -> None:
    assert unbreakable_pieces("LUMIERE") == ["LUMIERE"] and unbreakable_pieces("") == []


def test_a_strings_letters_are_sorted_by_the_script_an_ocr_engine_must_read() -> None:
    from qwenlab.core.scripts import letter_scripts, script_name

    assert letter_scripts("SALE 50% — $29.99, 10:30") == {"latin"}      # digits and punctuation: no script
    assert letter_scripts("LʼORÉAL Ｐａｒｉｓ") == {"latin"}               # a modifier apostrophe, full-width letters
    assert letter_scripts("新年快乐！") == {"han"}
    assert letter_scripts("春の大売り出し") == {"han", "kana"}             # Japanese mixes both
    assert letter_scripts("サマーセール") == letter_scripts("ｾｰﾙ") == {"kana"}  # ー and half-width katakana too
    assert letter_scripts("여름 세일") == {"hangul"}
    assert letter_scripts("Распродажа Ωμέγα") == {"cyrillic", "greek"}
    assert letter_scripts("") == frozenset()
    assert script_name("kana") == "Japanese kana" and script_name("cyrillic") == "Cyrillic letters"


def test_iteration_marks_and_the_ideographic_zero_are_cjk_letters_not_punctuation() -> None:
    # 人々 ("people") and 二〇二六年 ("2026"): each of these is a character of the word, which the
    # emulator must draw in its CJK font and may misspell, not a mark a headline may drop
    from qwenlab.core.scripts import has_cjk, is_cjk, is_cjk_punctuation

    for ch in "々〆〇〻":
        assert is_cjk(ch) and not is_cjk_punctuation(ch), ch
    assert has_cjk("々") and unbreakable_pieces("人々") == ["人々"]
    assert is_cjk_punctuation("。") and is_cjk_punctuation("、") and not is_cjk("。")
