"""What an image is expected to read: a prompt's quoted strings, or a list given explicitly."""

from __future__ import annotations

import pytest

from qwenlab.core.expected_text import expected_strings, quoted_strings
from qwenlab.emulator.typography import quoted_strings as emulator_quoted


def test_every_quote_style_is_found_in_order():
    prompt = "Logo 'LUNE NOIRE', tagline \"Night Bloom\", seal ‘EST. 1928’ and “Eau de Parfum”"
    assert quoted_strings(prompt) == ["LUNE NOIRE", "Night Bloom", "EST. 1928", "Eau de Parfum"]


def test_apostrophes_inside_words_open_no_quote():
    assert quoted_strings("the brand's poster, l'eau de nuit, it's fine") == []
    assert quoted_strings("the brand's logo reads 'LUMIERE' on the bottle's cap") == ["LUMIERE"]


@pytest.mark.parametrize("prompt, expected", [
    ("a perfume ad reading 'L'ORÉAL PARIS' in gold", ["L'ORÉAL PARIS"]),
    ("headline 'Don't stop believing', footer 'Back to the 90's'", ["Don't stop believing", "Back to the 90's"]),
    ("a sign ‘Don’t Stop’ and a clock ‘It’s 5 o’clock somewhere’", ["Don’t Stop", "It’s 5 o’clock somewhere"]),
])
def test_an_apostrophe_inside_a_word_does_not_close_the_quote_around_it(prompt: str, expected: list[str]) -> None:
    """Ad copy is full of them: the string was lost ('L'ORÉAL PARIS' gave nothing) or cut at its
    first apostrophe (‘Don’t Stop’ gave 'Don', and an image drawing 'Don' scored correct)."""
    assert quoted_strings(prompt) == expected


@pytest.mark.parametrize("prompt, expected", [
    ("a fashion poster with the headline 'Spring '26 Collection' and a tag 'NEW'", ["Spring '26 Collection", "NEW"]),
    ("the banner reads: 'Summer '24'", ["Summer '24"]),
    ("a sign ‘Summer ’24’ over ‘Sale’", ["Summer ’24", "Sale"]),
    ("a jukebox reading 'Rock 'n' Roll Night' and a menu 'Fish 'n Chips'", ["Rock 'n' Roll Night", "Fish 'n Chips"]),
    ("a disco flyer 'Back to the '90s'", ["Back to the '90s"]),
    # an elision outside a quote still opens none that runs into the next quote
    ("a reunion poster for the class of '99 with the headline 'Welcome Back'", ["Welcome Back"]),
    ("the '90s and 'Disco '79'", ["Disco '79"]),
])
def test_an_elided_year_or_and_inside_a_quote_does_not_end_it(prompt: str, expected: list[str]) -> None:
    """'Spring '26 Collection' gave '26 Collection' and 'Summer '24' gave '24': the quote ended
    at the elision, so an image drawing 'Sprng '26 Collection' scored correct; 'Rock 'n' Roll
    Night' gave 'n'."""
    assert quoted_strings(prompt) == expected


@pytest.mark.parametrize("prompt, expected", [
    ("a neon sign with the headline 'Ladies' Night' in pink", ["Ladies' Night"]),
    ("a chalkboard reading 'Kids' Menu' and a sticker 'NEW'", ["Kids' Menu", "NEW"]),
    ("a banner ‘Farmers’ Market’ over the stalls", ["Farmers’ Market"]),
    ("a poster 'Mothers' Day Sale' in red", ["Mothers' Day Sale"]),
    # two quotes, or a possessive further on, are not one quote
    ("labels 'Kids' and 'Menu'", ["Kids", "Menu"]),
    ("the word 'Sales' appears in the brand's logo", ["Sales"]),
    ("'SALE' on the window of the Smiths' shop", ["SALE"]),
])
def test_a_plural_s_apostrophe_inside_a_quote_does_not_end_it(prompt: str, expected: list[str]) -> None:
    """'Ladies' Night' was expected as 'Ladies': the night of it was never checked (an image
    drawing 'Ladies' Nihgt' scored correct) and the emulator drew 'Ladies' alone."""
    assert quoted_strings(prompt) == expected


@pytest.mark.parametrize("prompt, expected", [
    ("a cafe sign reading 'The 'Best' Coffee' in chalk", ["The 'Best' Coffee"]),
    ('a cafe sign reading "The "Best" Coffee" in chalk', ['The "Best" Coffee']),
    ("a cafe sign reading ‘The ‘Best’ Coffee’ in chalk", ["The ‘Best’ Coffee"]),
    ("a cafe sign reading “The “Best” Coffee” in chalk", ["The “Best” Coffee"]),
    ("a shop front 'Grandma's 'Famous' Pies' and a tag 'NEW'", ["Grandma's 'Famous' Pies", "NEW"]),
    ('a title "Say "Hi" now" and a tag "OK"', ['Say "Hi" now', "OK"]),
    # what a quote inside was not: no quote closes, two quotes side by side, an elision typed ‘
    ("a sign 'The 'Best' Coffee without an end", ["Best"]),
    ('labels "A" and "B", a "SALE"sticker', ["A", "B", "SALE"]),
    ("a sign ‘Summer ‘24’", ["Summer ‘24"]),
    # an empty pair or a doubled quote holds none: '' then 'x' is no quote holding ", 'x"
    ('negativePrompt = ["", "blurry text, misspelled words"]   # "" = not sent', ["blurry text, misspelled words"]),
    ("stickers '', 'x' and ''WOW'' beside 'The 'Best' Coffee'", ["x", "WOW", "The 'Best' Coffee"]),
])
def test_a_quote_inside_a_quote_is_part_of_it(prompt: str, expected: list[str]) -> None:
    """A headline that quotes a word ('The 'Best' Coffee') was expected as 'Best' alone, and
    "The "Best" Coffee" as 'The' and 'Coffee': an image reading 'The Bset Coffe' scored correct
    on the words asked for, and the emulator drew the pieces."""
    assert quoted_strings(prompt) == expected


def test_an_empty_pair_is_no_quote_and_opens_none():
    """The closing mark of '' opened a quote that ran to the next one: "and" was expected."""
    assert quoted_strings("Sticker '' and ' ' and 'x'") == ["x"]
    assert quoted_strings('Sticker "" and " " and "x"') == ["x"]


def test_the_quotes_of_other_languages_are_found():
    prompt = "«Le Printemps», „Frühling“ und „Sommer”, ‚Hallo‘, ‹Salut›, 「春のセール」 and 『新年快乐』"
    assert quoted_strings(prompt) == ["Le Printemps", "Frühling", "Sommer", "Hallo", "Salut", "春のセール", "新年快乐"]
    # guillemets pointing inwards, as German sets them: each pair, not the text between two pairs
    assert quoted_strings("Ein Plakat mit »SALE« und »50% Rabatt«") == ["SALE", "50% Rabatt"]


def test_the_cjk_title_marks_are_quotes():
    """A Chinese prompt sets the title to render in title marks as often as in quotes
    (海报标题《春江花月夜》); they were not read as quotes, so the image was expected to show
    nothing, got no score, and the emulator drew nothing for it."""
    assert quoted_strings("一张电影海报，片名《春江花月夜》，副标题〈第一章〉") == ["春江花月夜", "第一章"]
    assert quoted_strings("A book cover for 《三体》 with the tagline 「黑暗森林」") == ["三体", "黑暗森林"]
    # as the other pairs: a title inside a title is part of it, an empty pair or one across a line
    # break is none, and a mark inside a quote of other marks is that quote's text
    assert quoted_strings("封面：《论语·〈学而〉》") == ["论语·〈学而〉"]
    assert quoted_strings("《》 and 《 》 and 《上\n下》") == []
    assert quoted_strings("标语「购《新年》礼盒」") == ["购《新年》礼盒"]


@pytest.mark.parametrize("prompt, expected", [
    ("海报上写着‘新年快乐’四个大字", ["新年快乐"]),                          # a CJK character is no word an apostrophe sits in
    ("包装盒上印着‘有机绿茶’和‘Organic Green Tea’", ["有机绿茶", "Organic Green Tea"]),
    ("海报上写着'新年快乐'四个大字", ["新年快乐"]),
    ("A poster with the word‘SALE’ in red", ["SALE"]),                   # ‘ is never an apostrophe
    ('CSV export: ""SUMMER SALE"" on a banner', ["SUMMER SALE"]),         # a doubled quote is one
    ("招牌上写着'小李's Bakery'，下面是'新鲜出炉'", ["小李's Bakery", "新鲜出炉"]),  # an apostrophe after a CJK name
    # the first guillemet says which way they point: never the text between two pairs
    ("Affiche. Le titre « SOLDES\nD'HIVER ». En bas, le slogan « -50 % sur tout ».", ["-50 % sur tout"]),
    ("breadcrumb Home › Shop ‹ back", []),                                # single guillemets are arrows too
    ("a sticker ''WOW'' on the box", ["WOW"]),
])
def test_quotes_beside_other_scripts_and_doubled_quotes_are_found(prompt: str, expected: list[str]) -> None:
    """Found by review of the apostrophe rule: taken for a word character, a CJK character beside
    a quote hid Chinese prompts' text, and a doubled quote hid what it held."""
    assert quoted_strings(prompt) == expected


def test_seed_page_prompt():
    prompt = ("Add elegant, highly legible typography that reads: 'LUNE NOIRE' as the main brand name, and beneath it "
              "in smaller text: 'Midnight Bloom Eau de Parfum'. Include a minimal gold crescent-moon icon.")
    assert quoted_strings(prompt) == ["LUNE NOIRE", "Midnight Bloom Eau de Parfum"]


def test_duplicates_blanks_and_prose_are_dropped():
    assert quoted_strings("'SALE' and again 'SALE' and ' ' and \"ok\"") == ["SALE", "ok"]
    long = "x" * 121
    assert quoted_strings(f"'{long}'") == []                     # prose, not a label
    assert quoted_strings("'first\nsecond'") == []               # no quote spans a line break
    assert quoted_strings(None) == [] and quoted_strings("") == []


def test_limit():
    prompt = " ".join(f"'W{i}'" for i in range(10))
    assert quoted_strings(prompt) == [f"W{i}" for i in range(10)]
    assert quoted_strings(prompt, limit=3) == ["W0", "W1", "W2"]


def test_emulator_draws_the_same_strings_it_is_scored_against():
    prompt = "Logo 'LUNE NOIRE', tagline \"Night Bloom\", the brand's 'A' mark, " + " ".join(f"'W{i}'" for i in range(8))
    assert emulator_quoted(prompt) == quoted_strings(prompt)[:6]


def test_an_explicit_list_wins_over_the_prompt():
    prompt = "A poster reading 'LUNE NOIRE'"
    assert expected_strings(prompt) == ["LUNE NOIRE"]
    assert expected_strings(prompt, ["Midnight Bloom", " ", "Midnight Bloom", " EST. 1928 "]) == ["Midnight Bloom", "EST. 1928"]
    assert expected_strings(prompt, "ONLY THIS") == ["ONLY THIS"]
    assert expected_strings(prompt, []) == []        # explicitly nothing: the image is not scored


def test_explicit_entries_must_be_strings():
    with pytest.raises(TypeError, match="strings"):
        expected_strings(None, ["OK", 3])  # type: ignore[list-item]
