"""Scoring maths on hand-made cases: normalisation, NED, word accuracy, what was missing or misread."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlab.typography.reading import Reading, TextLine
from qwenlab.typography.scoring import (
    aligned_words,
    edit_distance,
    ned,
    normalize,
    score_text,
    unconfuse,
    words,
)


def test_normalisation_folds_case_and_punctuation():
    assert normalize("Glow, Refined.") == "glow refined"
    assert normalize("EST.1928") == normalize("EST. 1928") == "est 1928"
    assert normalize("Don’t  STOP!") == "dont stop"
    # accents are folded: the OCR's alphabet has none, so 'LUMIÈRE' could otherwise never be read right
    assert normalize("LUMIÈRE") == normalize("LUMIERE") == "lumiere"
    assert normalize("PARFUM EXTRÊME") == "parfum extreme"
    assert normalize("й") == "й"   # only accents on Latin letters fold
    assert words("你好 world") == ["你", "好", "world"]                 # each CJK character is a word
    assert words("") == [] and words(None) == []


def test_every_apostrophe_is_dropped_the_acute_accent_sign_too():
    # NFKC turns ´ (U+00B4) into a space and a combining accent: it is dropped before, as ' is
    assert normalize("don´t stop") == normalize("don't stop") == normalize("DON＇T STOP") == "dont stop"
    assert normalize("L´ORÉAL") == "loreal"
    assert score_text(["don´t stop"], ["DON'T STOP"]).correct


def test_accents_with_no_precomposed_letter_are_folded_too():
    # NFKC composes é, but n̈ and i̇ have no single character: the accent stayed, a word apart
    assert normalize("Spın̈al Tap") == normalize("SPINAL TAP") == "spinal tap"
    assert normalize("i̇zmir") == normalize("İzmir") == "izmir"
    assert normalize("й") == "й" and normalize("हिंदी") == "हिंदी"   # not on Latin letters: kept
    assert score_text(["Spın̈al Tap"], ["SPINAL TAP"]).correct


def test_a_price_misprinted_is_not_read_as_right():
    # a point, comma or colon between digits counts: "$2999" is not "$29.99" (an ad's price)
    assert normalize("ONLY $29.99!") == "only 29.99" and normalize("10:30 AM") == "10:30 am"
    assert normalize("€1.299,00") == normalize("€1,299.00") == "1.299.00"  # which is which: the OCR confuses them
    assert normalize("EST.1928") == "est 1928" and normalize("No. 5") == "no 5" and normalize("29.") == "29"
    wrong = score_text(["ONLY $29.99"], ["ONLY $2999"])
    assert (wrong.correct, wrong.strings[0].word_hits) == (False, (True, False))
    assert wrong.read_instead == {"ONLY $29.99": "ONLY $2999"}
    assert score_text(["ONLY $29.99"], ["ONLY29.99"]).correct is True  # a space the OCR dropped still costs nothing
    assert score_text(["OPENS 10:30"], ["OPENS 1030"]).correct is False
    assert unconfuse("29.9O") == "29.90" and score_text(["$29.90"], ["$29.9O"]).correct is True


def test_edit_distance_and_ned():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert ned("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert ned("EST. 1928", "est1928") == 1.0      # case, punctuation and spaces are not compared
    assert ned("LUNE", "") == 0.0 and ned("", "") == 1.0
    assert ned("LUNE NOIRE", "LUNE NOIRF") == pytest.approx(1 - 1 / 9)


def test_one_misread_string_among_two():
    score = score_text(["LUNE NOIRE", "Midnight Bloom"], ["LUNE NOIRF", "Midnight", "Bloom", "seed 3"])
    lune, bloom = score.strings
    assert (lune.words_read, lune.words, lune.status, lune.read) == (1, 2, "misread", "LUNE NOIRF")
    assert lune.word_hits == (True, False)
    assert (bloom.exact, bloom.read, bloom.lines) == (True, "Midnight Bloom", (1, 2))  # found across two lines
    assert score.word_accuracy == pytest.approx(3 / 4)
    assert score.ned == pytest.approx((8 / 9 + 1) / 2)
    assert score.sentence_accuracy == 0.5 and score.correct is False
    assert score.missing == ["LUNE NOIRE"]
    assert score.read_instead == {"LUNE NOIRE": "LUNE NOIRF"}
    assert "'LUNE NOIRE' read as 'LUNE NOIRF'" in score.summary()


def test_a_string_nowhere_in_the_image_is_missing():
    score = score_text(["GRAND OPENING"], ["SYNTHETIC qwenlab emulator", "seed 3"])
    (s,) = score.strings
    assert s.status == "missing" and s.words_read == 0
    assert score.missing == ["GRAND OPENING"] and score.read_instead == {}
    assert score.word_accuracy == 0.0 and score.correct is False


def test_scattered_words_count_by_the_benchmarks_multiset_rule():
    # the words are all there but not together: words are read, the string is not
    score = score_text(["Fresh Bakery Morning"], ["Morning", "qqqqqqqqqq wwwwwwwwww", "Fresh", "xxxxxxxxxx yyyyyyyyyy", "Bakery"])
    (s,) = score.strings
    assert s.status == "missing"
    assert score.word_accuracy == 1.0 and score.sentence_accuracy == 0.0
    # each word read counts once: one 'SALE' read cannot stand for two expected
    twice = score_text(["SALE SALE SALE"], ["SALE", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])
    assert twice.strings[0].status == "missing" and twice.words_read == 1


def test_each_string_is_read_from_words_of_its_own():
    """A brand asked for alone and inside a product name: one "LUMIERE Night Serum" read stood
    for both, so a poster without the brand's own logo scored as all right."""
    only_product = score_text(["LUMIERE", "LUMIERE Night Serum"], ["LUMIERE Night Serum"])
    assert only_product.correct is False and only_product.missing == ["LUMIERE"]
    assert only_product.strings[0].status == "missing" and only_product.word_accuracy == pytest.approx(3 / 4)
    assert score_text(["LUMIERE", "LUMIERE Night Serum"], ["LUMIERE Night Serum", "LUMIERE"]).correct is True
    assert score_text(["SALE", "SUMMER SALE"], ["SUMMER SALE"]).missing == ["SALE"]
    # a specimen of the accuracy check: the misspelled 'Gollden' was credited by 'Golden LUNE'
    golden = score_text(["Coffee Glow Breeze", "Golden", "Golden LUNE"], ["Coffee GlowBreeze", "Gollden", "Golden LUNE"])
    assert golden.read_instead == {"Golden": "Gollden"} and golden.missing == ["Golden"]
    # strings side by side on one line still each find their own
    assert score_text(["SUMMER", "SALE", "50% OFF"], ["SUMMER SALE 50% OFF"]).correct is True


def test_spaces_dropped_by_the_ocr_do_not_cost_words_but_misspellings_do():
    glued = score_text(["Midnight Bloom Eau de Parfum"], ["MidnightBloomEaudeParfum"])
    assert glued.correct is True and glued.word_accuracy == 1.0
    typo = score_text(["Midnight Bloom Eau de Parfum"], ["MidnightBloomEaudePhrfum"])
    assert typo.strings[0].word_hits == (True, True, True, True, False)
    assert typo.ned == pytest.approx(1 - 1 / 24)
    split = score_text(["Midnight"], ["MID NIGHT"])
    assert split.correct is True


def test_a_read_cut_short_credits_the_words_it_did_read():
    """OCR missing a wrapped string's last line: the words it read were marked wrong as well,
    the alignment taking Bloom's final m for Parfum's (word accuracy 0.2 where 0.4 was read)."""
    assert aligned_words("Midnight Bloom Eau de Parfum", "Midnight Bloom") == [True, True, False, False, False]
    assert aligned_words("Midnight Bloom Eau de Parfum", "Midnight Bloom Eau") == [True, True, True, False, False]
    assert aligned_words("Clinical hydration with a luminous finish.", "Clinical hydration with") == [True] * 3 + [False] * 3
    assert aligned_words("Midnight Bloom Eau de Parfum", "Eau de Parfum") == [False, False, True, True, True]
    assert score_text(["Midnight Bloom Eau de Parfum"], ["Midnight Bloom"]).word_accuracy == pytest.approx(0.4)
    # and a read that lost the start credits the words at the end (the first fix had turned these to 0)
    assert aligned_words("LIMITED EDITION", "EDITION") == [False, True]
    assert aligned_words("SALE ENDS SOON", "ENDS SOON") == [False, True, True]
    assert aligned_words("Midnight Bloom Eau de Parfum", "de Parfum") == [False, False, False, True, True]


def test_letter_spaced_type_read_a_letter_a_word_is_read_right():
    """Wide tracking ("S  A  L  E"), common on luxury posters, is read a letter a line or a word:
    only the first three letters were ever compared, so it could never be correct."""
    assert score_text(["SALE"], ["S", "A", "L", "E"]).correct is True
    assert score_text(["LUMIERE NOIR"], ["L U M I E R E", "N O I R"]).correct is True
    assert score_text(["SALE"], ["S", "A", "L"]).correct is False
    assert score_text(["SALE ENDS SOON"], ["SA LE EN DS SO ON"]).correct is True  # read two letters a word


def test_a_run_widens_only_through_letter_spaced_type():
    """A run that widened for every one-letter token made images of CJK text (every character a
    word) 10 to 120x slower to score and let runs swallow neighbouring words; only a streak of
    one- or two-letter Latin tokens widens it now."""
    from qwenlab.typography.scoring import _best_run, _tokens

    cjk = [("本店所有商品均为正品保证欢迎广大顾客光临选购我们提供优质的服务")[i:i + 10] for i in range(0, 30, 10)]
    tokens, _ = _tokens(cjk)
    best, start, end = _best_run("双十一狂欢", tokens)
    assert end - start <= len("双十一狂欢") + 2
    tokens, _ = _tokens(["2 for 1 on a", "S A L E", "today"])
    assert _best_run("SALE", tokens)[0] == 1.0


def test_latin_letters_unicode_does_not_decompose_are_folded_too():
    """Ø, Ł, Æ, Œ are not in the OCR's alphabet either: ØRESUND read ORESUND scored 0."""
    assert normalize("ØRESUND Łódź Œuvre ÆON þing") == "oresund lodz oeuvre aeon thing"
    assert score_text(["ØRESUND"], ["ORESUND"]).correct is True
    # the katakana middle dot is punctuation, not a word of its own
    assert words("セール・開催") == words("セール開催")


def test_an_extra_letter_counts_against_the_word_it_is_glued_to():
    assert aligned_words("Ocean Spring", "oceans Spring") == [False, True]
    assert aligned_words("Spring Since", "Spring iSince") == [True, False]
    assert aligned_words("Eau de Parfum", "EauudeParfum") == [False, True, True]   # repeats Eau's edge
    assert aligned_words("ab cd", "abxcd") == [False, False]                     # could be either


def test_ocr_confusions_are_undone_where_the_word_settles_them():
    assert unconfuse("LUMlERE") == "LUMIERE"
    assert unconfuse("HeIlo") == "Hello"
    assert unconfuse("Il") == "Il"                  # nothing to settle it
    assert unconfuse("N0IRE") == "NOIRE" and unconfuse("2O24") == "2024" and unconfuse("A0") == "A0"
    assert words(unconfuse("0rganic")) == ["organic"]
    assert score_text(["LUMIERE"], ["LUMlERE"]).correct is True


def test_reading_order_comes_from_the_boxes():
    def line(text, x, y):
        return TextLine(text, 0.9, ((x, y), (x + 100, y), (x + 100, y + 20), (x, y + 20)))

    # given bottom line first: reading order puts "Eau de" (top) before "Parfum"
    reading = Reading("test", (line("Parfum", 10, 60), line("de", 120, 12), line("Eau", 10, 10)))
    score = score_text(["Eau de Parfum"], reading)
    assert score.correct is True and score.strings[0].read == "Eau de Parfum"


def test_nothing_expected_gives_no_score():
    score = score_text([], ["anything"])
    assert score.word_accuracy is None and score.ned is None and score.correct is None
    assert score.summary() == "no expected text"
    assert score_text(["...", "  "], ["x"]).strings == ()   # strings without a word are not expected text


def test_string_scores_round_trip_through_dicts():
    from qwenlab.typography.scoring import StringScore

    s = score_text(["LUNE NOIRE"], ["LUNE NOIRF"]).strings[0]
    assert StringScore.from_dict(s.to_dict()) == s


_letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,", min_size=0, max_size=30)


@settings(max_examples=200, deadline=None)
@given(_letters, _letters)
def test_ned_is_a_similarity_between_0_and_1(a, b):
    value = ned(a, b)
    assert 0.0 <= value <= 1.0
    assert value == ned(b, a)
    assert ned(a, a) == 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(_letters.filter(lambda t: words(t)), min_size=1, max_size=4, unique=True))
def test_text_read_as_expected_scores_perfectly(strings):
    for text in strings:
        assert words(" ".join(words(text))) == words(text)
    score = score_text(strings, strings)
    assert score.word_accuracy == 1.0 and score.ned == 1.0 and score.correct is True


def test_a_score_short_of_perfect_never_reads_1_00():
    """One letter wrong in a long string among four rounded to "NED 1.00", the figure of text
    read exactly; the grid's caption and `qwenlab score`'s list of wrong images said it."""
    from qwenlab.typography.badges import score_label
    from qwenlab.typography.scoring import score_figure

    long = "Handcrafted single origin espresso roasted every morning in small batches by our own team"
    expected = ["SALE", "Today Only", "EST. 1928", long]
    score = score_text(expected, ["SALE", "Today Only", "EST. 1928", long.replace("roasted", "roasfed")])
    assert 0.995 <= score.ned < 1.0 and not score.correct
    assert "NED 0.99" in score.summary() and "1.00" not in score.summary()
    assert score_label("ned", score.ned) == "NED 0.99"
    assert score_figure(1.0) == "1.00" and score_figure(0.0) == "0.00" and score_figure(0.004) == "0.01"
    assert score_figure(0.875) == "0.88"    # elsewhere, rounded as before


def test_a_number_read_with_an_o_for_its_0_is_that_number():
    """RapidOCR read the O of 'O2 ARENA' as 0 in three fonts of four (DejaVu Sans, Sans Bold and
    Serif at 24 px), each scored as the model's misprint: a number's O was undone only beside two
    digits ("2O24"), and one settles it as well."""
    assert score_text(["O2 ARENA"], ["02 ARENA"]).correct is True
    assert score_text(["50% OFF"], ["5O% OFF"]).correct is True
    assert unconfuse("O2") == "02" and unconfuse("5o") == "50"
    # a misprinted number is still one, and a word of letters keeps its O
    assert score_text(["50% OFF"], ["60% OFF"]).correct is False
    assert unconfuse("O") == "O" and unconfuse("NO") == "NO" and unconfuse("O.") == "O."


def test_a_lone_1_read_as_l_or_i_is_that_1():
    """RapidOCR reads a lone 1 as l or I in some fonts, and a correct digit was scored as the
    model's misspelling: no other character of the word settles which was drawn, so a lone l or
    I counts as 1 for a string with a lone 1 (and no lone l or I of its own)."""
    assert score_text(["PLATFORM 1"], ["PLATFORM l"]).correct is True
    assert score_text(["1 DAY ONLY"], ["I DAY ONLY"]).correct is True
    assert score_text(["No. 1"], ["No.", "l"]).correct is True             # across lines too
    scattered = ["BRAVO", "zzzzzzzzz", "zzzzzzzzz", "zzzzzzzzz", "l", "ALPHA"]   # no run is half like it
    assert score_text(["ALPHA BRAVO 1"], scattered).words_read == 3         # by the multiset rule too
    assert score_text(["HALL 1"], ["HAL l 1"]).correct is True             # an l split off a word stays one


def test_a_lone_l_read_for_1_hides_no_real_misspelling():
    """The rule of a lone 1 read as l stays that narrow: a wrong digit, a 1 doubled or glued to a
    letter, an l inside a word, and a string that asks for a lone I as well are misread as before."""
    for read in ("PLATFORM 7", "PLATFORM 11", "PLATFORM l1", "PLATFORM ll", "PLATFORM", "PLATFORM one"):
        assert score_text(["PLATFORM 1"], [read]).correct is False, read
    assert score_text(["1st PLACE"], ["lst PLACE"]).correct is False        # not a lone 1
    assert score_text(["I ♥ 1"], ["I ♥ l"]).correct is False                # the string has an I of its own
    assert score_text(["LEVEL 1"], ["LEVEL 1", "l"]).strings[0].read == "LEVEL 1"
    assert unconfuse("l") == "l" and unconfuse("I") == "I"                 # a word read alone is as it was
