"""The emulator's imperfect text: a deterministic, documented, request-dependent misspelling rate
(synthetic behaviour, so that text scores can be told apart from a constant); and Chinese,
Japanese and Korean strings drawn with a system CJK font (the tests needing one skip without it,
unless QWENLAB_REQUIRE_CJK_FONT=1), wrapped between characters and misspelled by their own rule."""

from __future__ import annotations

import dataclasses
import random
import re
import shutil

import pytest

from qwenlab.core.scripts import NO_LINE_START
from qwenlab.emulator import fonts, misspelling, typography
from qwenlab.emulator.synthetic import Scene, headlines, render
from qwenlab.emulator.typography import (
    drawable,
    fit_lines,
    font,
    is_cjk,
    mentions_text_flaws,
    misspell,
    misspell_probability,
)
from qwenlab.typography.scoring import normalize, score_text

PROMPT = "A poster for 'LUNE NOIRE' with 'Midnight Bloom Eau de Parfum' and a seal 'EST. 1928'"
BASE = Scene(prompt=PROMPT, width=512, height=768, seed=0, key="k", negative_prompt=None, prompt_extend=False)


def test_the_documented_rule():
    # the module docstring's worked examples
    assert misspell_probability("LUNE NOIRE", 87, prompt_extend=False, negative_prompt=None) == pytest.approx(0.075)
    assert misspell_probability("Midnight Bloom Eau de Parfum", 51, prompt_extend=False, negative_prompt=None) == pytest.approx(0.30)
    helped = misspell_probability("Midnight Bloom Eau de Parfum", 51, prompt_extend=True, negative_prompt="misspelled words")
    assert helped == pytest.approx(0.30 * 0.6 * 0.5)
    assert misspell_probability("x" * 200, 8, prompt_extend=False, negative_prompt=None) == 0.85  # capped


def test_more_errors_for_long_strings_and_small_text_fewer_with_help():
    p = lambda text="Radiance Serum", px=40, extend=False, neg=None: misspell_probability(  # noqa: E731
        text, px, prompt_extend=extend, negative_prompt=neg)
    assert p(text="Radiance Renewal Serum Deluxe") > p() > p(text="Serum")
    assert p(px=20) > p() > p(px=60)
    assert p(extend=True) < p()
    assert p(neg="blurry text, misspelled words") < p(neg="cartoon style, extra limbs") == p()


@pytest.mark.parametrize("negative, flagged", [
    ("distorted text, misspelled words", True), ("blurry text", True), ("typos", True), ("garbled letters", True),
    ("gibberish", True), ("bad typography", True), ("blurry product, cheap design", False), (None, False), ("", False),
    # a Chinese poster's negative prompt, in Chinese: it counted for nothing
    ("错别字，乱码", True), ("文字模糊，低分辨率", True), ("扭曲的文字", True), ("模糊的背景，卡通风格", False), ("誤字", True)])
def test_which_negative_prompts_count_as_asking_for_clean_text(negative, flagged):
    assert mentions_text_flaws(negative) is flagged


def test_a_misspelling_is_one_edit_that_always_changes_the_letters():
    for i in range(300):
        text = random.Random(i).choice(["LUNE NOIRE", "EST. 1928", "Midnight Bloom Eau de Parfum", "Glow, Refined.", "30 ml", "A"])
        wrong = misspell(text, random.Random(f"m{i}"))
        assert normalize(wrong) != normalize(text), (text, wrong)
        assert abs(len(wrong) - len(text)) <= 1
    assert misspell("...", random.Random(0)) == "..."   # nothing to misspell


def test_the_same_request_and_seed_misspell_the_same_way():
    assert headlines(BASE) == headlines(dataclasses.replace(BASE))
    assert render(BASE).tobytes() == render(dataclasses.replace(BASE)).tobytes()


def _rate(**changes) -> tuple[float, float]:
    """Observed and predicted misspelling rate of the second string over 400 seeds."""
    drawn = [headlines(dataclasses.replace(BASE, seed=s, **changes))[1] for s in range(400)]
    return sum(h.misspelled for h in drawn) / len(drawn), drawn[0].misspell_probability


def test_the_observed_rate_follows_the_rule_and_the_request():
    plain, p_plain = _rate()
    helped, p_helped = _rate(prompt_extend=True, negative_prompt="distorted text, misspelled words")
    small, p_small = _rate(width=256, height=384)
    assert p_helped < p_plain < p_small
    for observed, predicted in ((plain, p_plain), (helped, p_helped), (small, p_small)):
        assert abs(observed - predicted) < 0.07, (observed, predicted)   # 400 draws: ~3 sd at p=0.3
    assert helped < plain < small


def test_seeds_vary_which_images_are_misspelled():
    outcomes = {tuple(h.drawn for h in headlines(dataclasses.replace(BASE, seed=s))) for s in range(60)}
    assert len(outcomes) > 2   # not a constant: some images right, some wrong in different ways


def test_headlines_report_what_is_drawn():
    scene = next(dataclasses.replace(BASE, seed=s) for s in range(200)
                 if any(h.misspelled for h in headlines(dataclasses.replace(BASE, seed=s))))
    drawn = headlines(scene)
    assert [h.expected for h in drawn] == ["LUNE NOIRE", "Midnight Bloom Eau de Parfum", "EST. 1928"]
    assert all(h.px > 0 and 0 < h.misspell_probability < 1 for h in drawn)
    assert any(h.drawn != h.expected and normalize(h.drawn) != normalize(h.expected) for h in drawn)
    assert headlines(dataclasses.replace(scene, nsfw=True)) == []


# -- Chinese, Japanese and Korean -----------------------------------------------------------------
CN_PROMPT = "一张春节促销海报，标题写着“新年快乐”，副标题「全场五折」"
CN = dataclasses.replace(BASE, prompt=CN_PROMPT)
CJK_TEXTS = ["新年快乐", "全场五折", "LUMIERE 光彩", "春节大促销，全场商品五折起", "こんにちは", "한국어 포스터", "福",
             "カフェ 2024"]


@pytest.fixture
def fresh_lookup():
    """The CJK font looked up afresh in the test, and again after it."""
    typography.cjk_font_path.cache_clear()
    yield
    typography.cjk_font_path.cache_clear()


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without a CJK font."""
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)


def _mask(f, text: str) -> bytes:
    return bytes(f.getmask(text))


def test_an_emoji_no_font_has_leaves_the_rest_of_a_headline_in_its_own_font(cjk_font):
    """No font the emulator draws with has an emoji: it is a box in each. It chose the font all the
    same: "新年快乐 🚀 LAUNCH" was drawn with DejaVu, its Chinese as four more boxes (and its
    headline said to show "□□□□ 🚀 LAUNCH", which the image's scores were held against), and
    "SPRING 🌸 SALE" in DejaVu where "SPRING SALE" is in the built-in font. The emoji stays a box
    (a stand-in such as "[rocket]" would be words the prompt never asked for, read by OCR)."""
    assert drawable("新年快乐 🚀 LAUNCH") == ("cjk", "新年快乐 🚀 LAUNCH")
    assert drawable("SPRING 🌸 SALE")[0] == drawable("SPRING SALE")[0] == "default"
    scene = Scene(prompt='A poster, headline "新年快乐 🚀 LAUNCH"', width=512, height=512, seed=7)
    assert [(h.expected, h.drawn) for h in headlines(scene)] == [("新年快乐 🚀 LAUNCH", "新年快乐 🚀 LAUNCH")]
    cjk = font(40, "cjk")
    assert len({_mask(cjk, ch) for ch in "新年快乐"}) == 4  # glyphs, not boxes


def test_the_cjk_font_draws_chinese_where_the_other_fonts_draw_boxes(cjk_font):
    assert drawable("新年快乐") == ("cjk", "新年快乐")
    assert drawable("LUMIERE 光彩") == ("cjk", "LUMIERE 光彩")   # its Latin letters by the same font
    cjk, dejavu = font(40, "cjk"), font(40, "dejavu")
    missing = _mask(cjk, "\uffff")
    assert all(_mask(cjk, ch) != missing for ch in "新年快乐LUMIERE")
    assert len({_mask(cjk, ch) for ch in "新年快乐"}) == 4                 # four glyphs, not one box four times
    assert _mask(dejavu, "新") == _mask(dejavu, "\uffff")               # the gap: DejaVu draws its box
    # every character a CJK misspelling may put in is one the font draws
    assert all(fonts.font_has(str(cjk_font), ch) for ch in misspelling._HAN + misspelling._HIRAGANA
               + misspelling._KATAKANA)


def test_a_chinese_scene_draws_its_strings_in_the_cjk_font(cjk_font):
    drawn = headlines(CN)
    assert [h.expected for h in drawn] == ["新年快乐", "全场五折"]
    assert all(h.font.path == str(cjk_font) and h.drawn.strip("□") for h in drawn)
    assert render(CN).tobytes() != render(dataclasses.replace(CN, prompt="一张春节促销海报，标题写着“新年快心”，副标题「全场五折」")).tobytes()


def test_qwenlab_cjk_font_names_the_file_to_use(cjk_font, fresh_lookup, tmp_path, monkeypatch):
    mine = tmp_path / "mine.ttc"
    shutil.copyfile(cjk_font, mine)
    monkeypatch.setenv("QWENLAB_CJK_FONT", str(mine))
    typography.cjk_font_path.cache_clear()
    assert typography.cjk_font_path() == mine
    assert font(30, "cjk").path == str(mine)
    monkeypatch.setenv("HOME", str(tmp_path))  # "~/mine.ttc", as a user writes it in a shell profile
    monkeypatch.setenv("QWENLAB_CJK_FONT", "~/mine.ttc")
    typography.cjk_font_path.cache_clear()
    assert typography.cjk_font_path() == mine


@pytest.mark.parametrize("bad", ["missing", "latin", "not a font"])
def test_a_qwenlab_cjk_font_that_cannot_draw_cjk_is_ignored_with_a_warning(bad, fresh_lookup, tmp_path, monkeypatch):
    # a warning, not an error: the emulator draws inside a user's sweep, which a font must not stop
    monkeypatch.delenv("QWENLAB_CJK_FONT", raising=False)
    usual = typography.cjk_font_path()
    path = {"missing": tmp_path / "nope.ttc", "latin": fonts._dejavu_path(), "not a font": tmp_path / "x.ttf"}[bad]
    if bad == "not a font":
        path.write_text("not a font")
    monkeypatch.setenv("QWENLAB_CJK_FONT", str(path))
    typography.cjk_font_path.cache_clear()
    with pytest.warns(RuntimeWarning, match="QWENLAB_CJK_FONT"):
        assert typography.cjk_font_path() == usual


def test_without_a_cjk_font_cjk_shows_as_boxes_and_the_truth_says_so(no_cjk_font):
    assert drawable("新年快乐") == ("dejavu", "新年快乐")                # as before: DejaVu, which draws boxes
    dejavu = font(40, "dejavu")
    assert _mask(dejavu, "新") == _mask(dejavu, "\uffff")
    drawn = headlines(CN)
    assert all(set(h.drawn) == {"□"} and h.misspelled for h in drawn)    # a score finding nothing agrees
    assert typography.as_seen("LUMIERE 光彩") == "LUMIERE □□"
    assert render(CN).size == (512, 768)


def test_a_long_chinese_headline_wraps_into_two_balanced_lines(cjk_font):
    text = "春节大促销全场商品五折起限时三天欢迎选购"   # 20 characters: 3 lines at 87 px in 860 px
    f, lines = fit_lines(text, 860, 87, min_size=17, max_lines=2)
    assert len(lines) == 2 and "".join(lines) == text
    assert f.size >= 70                                  # not shrunk onto one line (43 px)
    assert abs(len(lines[0]) - len(lines[1])) <= 1       # balanced: no line of one character
    assert all(f.getlength(line) <= 860 for line in lines)


def test_wrapping_keeps_latin_words_whole_and_punctuation_off_a_line_start(cjk_font):
    f, lines = fit_lines("LUMIERE 光彩，新年快乐！GRAND OPENING 全场五折。", 260, 40, min_size=10, max_lines=4)
    assert len(lines) >= 2
    assert set(re.findall(r"[A-Z]+", " ".join(lines))) == {"LUMIERE", "GRAND", "OPENING"}
    assert not any(line[0] in "，。！" for line in lines)


def _one_edit(text: str, wrong: str) -> bool:
    """Whether `wrong` is `text` with two neighbours swapped, one character dropped, doubled or replaced."""
    n = len(text)
    swaps = {text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(n - 1)}
    drops = {text[:i] + text[i + 1:] for i in range(n)}
    doubles = {text[:i] + text[i] + text[i:] for i in range(n)}
    replaced = len(wrong) == n and sum(a != b for a, b in zip(text, wrong)) == 1
    return wrong in swaps | drops | doubles or replaced


def test_a_cjk_misspelling_is_one_edit_that_a_score_can_tell():
    kinds = set()
    for i in range(400):
        text = random.Random(i).choice(CJK_TEXTS)
        wrong = misspell(text, random.Random(f"c{i}"))
        assert wrong == misspell(text, random.Random(f"c{i}"))               # deterministic by the dice
        assert _one_edit(text, wrong) and normalize(wrong) != normalize(text), (text, wrong)
        assert not score_text([text], [wrong]).strings[0].exact, (text, wrong)  # never 全全场五折
        kinds.add("drop" if len(wrong) < len(text) else "double" if len(wrong) > len(text)
                  else "replace" if sorted(wrong) != sorted(text) else "swap")
        if len(wrong) == len(text) and sorted(wrong) != sorted(text):
            old, new = next((a, b) for a, b in zip(text, wrong) if a != b)
            assert is_cjk(new) == is_cjk(old) and (not is_cjk(old) or new in misspelling._HAN + misspelling._HIRAGANA
                                                    + misspelling._KATAKANA or "\uac00" <= new <= "\ud7a3")
    assert kinds == {"swap", "drop", "double", "replace"}
    assert misspell("福", random.Random(0)) != "福"


def test_the_documented_cjk_rate():
    rate = lambda text, px: misspell_probability(text, px, prompt_extend=False, negative_prompt=None)  # noqa: E731
    assert rate("新年快乐", 87) == pytest.approx(0.06)      # the docstring's examples
    assert rate("新年快乐", 43) == pytest.approx(0.08)
    assert rate("春节大促销全场商品五折起限时三天", 51) == pytest.approx(0.18)
    assert rate("新年快乐！", 87) == rate("新年快乐", 87)      # punctuation is no letter


def test_the_cjk_misspelling_rate_follows_the_rule(cjk_font):
    # with the font: without it, two boxes swapped are the same two boxes
    drawn = [headlines(dataclasses.replace(CN, seed=s))[1] for s in range(400)]
    observed = sum(h.misspelled for h in drawn) / len(drawn)
    assert drawn[0].misspell_probability == pytest.approx(0.06 + 0.004 * (48 - drawn[0].px))
    assert abs(observed - drawn[0].misspell_probability) < 0.05, observed   # measured 0.1525 for 0.152 (400 fixed seeds)


def test_cjk_is_what_the_scorer_takes_for_a_word_of_one_character():
    from qwenlab.typography.scoring import _is_cjk, words

    assert _is_cjk is is_cjk  # one definition (qwenlab.core.scripts) for the emulator and the scorer
    assert words("新年快乐 ・ SALE") == ["新", "年", "快", "乐", "sale"] and is_cjk("한") and not is_cjk("・")
    assert drawable("LUMIÈRE NOIR")[0] != "cjk" and drawable("Glow, Refined.")[0] == "default"   # Latin as before


def test_a_string_of_marks_no_word_holds_is_misspelled_not_crashed():
    """゛ and ゠ count as CJK but no word (\\w) holds them: the dice had nothing to choose from and
    the emulator's request raised IndexError."""
    for text in ("゛", "「゠」", "゜゛"):
        assert misspell(text, random.Random(1)) != text


def test_balancing_a_wrapped_cjk_headline_never_adds_a_line(cjk_font):
    """The balanced width was cut to a whole pixel below the widest line's, and a two-line headline
    could come back in three, a word alone on the last."""
    for width in (512, 768, 860, 1024, 1328):
        f, greedy = fit_lines("春节促销 Happy New Year 2025 新年快乐", width, 87, min_size=17, max_lines=2)
        assert len(greedy) <= 2, (width, greedy)
    rng = random.Random(7)
    for _ in range(300):
        text = " ".join("".join(rng.choice("한국어글자새해복많이받으세요") for _ in range(rng.randint(1, 5)))
                        for _ in range(rng.randint(2, 8)))
        f, lines = fit_lines(text, 400, 60, min_size=12, max_lines=2)
        assert len(lines) <= 2 or f.size == 12, (text, lines)


def test_a_japanese_headline_never_starts_a_line_with_a_small_kana_or_a_long_vowel_mark(cjk_font):
    text = "シャンプーとコンディショナーのキャンペーンちょっとお得"
    for width in range(160, 900, 40):
        f, lines = fit_lines(text, width, 40, min_size=10, max_lines=6)
        assert "".join(lines) == text
        assert not any(line[0] in NO_LINE_START for line in lines), (width, lines)
