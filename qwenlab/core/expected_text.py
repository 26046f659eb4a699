"""The text an image is expected to show: a prompt's quoted strings, or a list given explicitly.

    expected_strings("A poster for 'LUNE NOIRE' reading “Midnight Bloom”")  # ['LUNE NOIRE', 'Midnight Bloom']
    expected_strings(prompt, ["LUNE NOIRE"])                                 # an explicit list wins

Quotes recognised: '...', "...", ‘...’, “...”, «...» (or »...«, as a prompt's first guillemet
says), „...“, ‚...‘, ‹...›, 「...」, 『...』, and the CJK title marks 《...》 and 〈...〉 (a book's,
film's or brand's name: 《三体》; a title inside a title is part of it: 《论语·〈学而〉》).
An apostrophe inside a word ("brand's", "l'eau") opens no quote, and does not close one:
'L'ORÉAL PARIS', 'Don't stop' and ‘It’s 5 o’clock’ are read whole; nor does the elision of a
year or of "and" inside a quote: 'Summer '24', 'Back to the '90s' and 'Rock 'n' Roll' are read
whole; nor a plural's before a word or two and the closing mark: 'Ladies' Night', 'Kids' Menu'. An empty pair ('' or "") is no quote; a doubled one around text (''WOW'', ""SALE"") is one quote.
A quote inside a quote is part of it: 'The 'Best' Coffee', "The "Best" Coffee" and “The “Best”
Coffee” are each one string (a mark after a space and before a word, where the outer quote cannot
close, opens the inner one).
A quoted string longer than 120 characters or spanning a line break is taken for prose, not for
text to render. The emulator draws the same strings (it calls `quoted_strings`), the first six
of them, so scores of its images measure what it drew up to the sixth.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["quoted_strings", "expected_strings", "MAX_QUOTED_CHARS"]

MAX_QUOTED_CHARS = 120
_N = MAX_QUOTED_CHARS


# Letters that make words with an apostrophe inside (L'ORÉAL, don't, 90's, д'Артаньян): Latin,
# Greek and Cyrillic letters and digits. Not \w: a CJK character beside a quote (海报上写着‘新年快乐’)
# is no word the quote is an apostrophe of.
_LETTER = "0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"


def _apostrophe_quote(open_: str, close: str, name: str) -> str:
    """A quote whose closing mark is also an apostrophe: it closes only outside a word (and a
    straight ' opens only outside one), and inside it an apostrophe between two letters
    (L'ORÉAL, don't, 90's) is part of the text.
    Where the two marks are one (a straight '), a run of them is one delimiter (''WOW'', as
    emphasis or escaped), closed by as many; so '' alone is an empty pair, no quote."""
    # an apostrophe after any word character (小李's) and before a letter (L'ORÉAL, 90's); and
    # the elisions of a year and of "and" (Summer '24, the '90s, Rock 'n' Roll), which cannot close
    # the quote (a letter follows): it stopped there, reading '24' or nothing. Only those: any
    # apostrophe before a word would be the next quote's opening mark too ('99 ... 'Welcome')
    # A plural's apostrophe (Ladies' Night, Kids' Menu) neither, where the word or two after it end
    # with a mark that closes the quote and none opens another between ('Kids' and 'Menu' are two)
    plural = (rf"(?<=[sS]){close}(?=[ \t](?:[^{close}\s]+[ \t])?[^{close}\s]*[{_LETTER}]{close}"
              rf"(?![{_LETTER}{close}]))")
    # a quote inside the quote ('The 'Best' Coffee', ‘The ‘Best’ Coffee’): a mark that opens one
    # where the outer cannot close (a letter follows), closed before the outer is. Tried first, so
    # that ‘The ‘Best’ Coffee’ is not cut at Best’; where the outer then finds no close, the other
    # ways are tried as before (‘Summer ‘24’: an elision typed with the opening mark)
    nested = (rf"(?<=\s){open_}(?=[^\s{close}])(?:[^{open_}{close}\n]|(?<=\w){close}(?=[{_LETTER}])){{1,{_N}}}?"
              rf"(?<=\S){close}(?![{_LETTER}])")
    plain = (rf"[^{close}\n]|(?<=\w){close}(?=[{_LETTER}])|(?<=\s){close}n{close}?(?=\s)"
             rf"|(?<=\s){close}(?=\d\ds?(?![{_LETTER}]))|{plural}")
    inner = rf"(?:{nested}|{plain})"
    if open_ == close:
        # one mark around a quote that may hold one; a run of them (''WOW'') around one that
        # does not, or '' "" would open a quote holding the next ones ('', 'x' -> ", 'x")
        return (rf"(?<![{_LETTER}{open_}]){open_}(?!{open_})(?P<t{name}>{inner}{{1,{_N}}}?)(?!{plural}){close}"
                rf"(?![{_LETTER}{close}])"
                rf"|(?<![{_LETTER}{open_}])(?P<d{name}r>{open_}{open_}+)(?P<t{name}r>(?:{plain}){{1,{_N}}}?)(?!{plural})"
                rf"(?P=d{name}r)(?![{_LETTER}{close}])")
    # ‘ is never an apostrophe (’ is): it opens a quote even glued to a word ("the word‘SALE’")
    return rf"(?<!{open_}){open_}(?P<t{name}>{inner}{{1,{_N}}}?)(?!{plural}){close}(?![{_LETTER}{close}])"


def _paired(open_: str, closes: str, name: str, *, excluded: str = "", nests: bool = False) -> str:
    """A quote of marks of its own (`closes`: the marks that close it): anything but those, the
    marks in `excluded` and a line break inside; `nests`: and whole quotes of the same marks
    (“The “Best” Coffee”)."""
    plain = rf"[^{closes}{excluded}\n]"
    if nests:
        plain = rf"(?:{open_}[^{open_}{closes}\n]{{1,{_N}}}?[{closes}]|{plain})"
    return rf"(?<!{open_}){open_}(?P<t{name}>{plain}{{1,{_N}}}?)[{closes}]"


# A straight double quote, not closed by one between a space and a letter: that one opens a quote
# inside the quote, closed before the outer one ("The "Best" Coffee" is one string, not "The "
# and " Coffee"); or a run of them (""SALE"", as emphasis or escaped), closed by as many, around
# text without a quote (or "", "x" would open a quote holding the next ones)
_DOUBLE = (rf'(?<!")"(?!")(?P<t3>(?:(?<=\s)"(?=[^\s"])[^"\n]{{1,{_N}}}?(?<=\S)"(?![{_LETTER}])|[^"\n]){{1,{_N}}}?)'
           rf'(?:(?<=\S)"|"(?![{_LETTER}]))(?!")'
           rf'|(?<!")(?P<d3r>""+)(?P<t3r>[^"\n]{{1,{_N}}}?)(?P=d3r)(?!")')


_COMMON = [
    _apostrophe_quote("'", "'", "0"), _apostrophe_quote("‘", "’", "1"), _paired("‚", "‘", "2"),
    _DOUBLE, _paired("„", "“”", "4"), _paired("“", "”", "5", excluded="“", nests=True),
    _paired("‹", "›", "8", excluded="‹"),  # one way only: › and ‹ are arrows too (Home › Shop)
    _paired("「", "」", "10"), _paired("『", "』", "11"),
    # title marks: Chinese sets a title to render in them (海报标题《春江花月夜》) as often as in quotes
    _paired("《", "》", "12"), _paired("〈", "〉", "13"),
]
# Guillemets point outwards in French («Soldes») and inwards in German (»Sale«); the first one of a
# prompt says which (the other way round, the text between two pairs would be taken for a quote).
# A pair never holds a guillemet of either kind.
_QUOTES = {
    "«": re.compile("|".join([*_COMMON, _paired("«", "»", "6", excluded="«")])),
    "»": re.compile("|".join([*_COMMON, _paired("»", "«", "7", excluded="»")])),
}
_GUILLEMET = re.compile("[«»]")


def quoted_strings(prompt: str | None, limit: int | None = None) -> list[str]:
    """The quoted strings of a prompt, in order, stripped, without duplicates (at most `limit`)."""
    out: list[str] = []
    first = _GUILLEMET.search(prompt or "")
    for match in _QUOTES[first.group() if first else "«"].finditer(prompt or ""):
        text = next(v for k, v in match.groupdict().items() if k.startswith("t") and v is not None).strip()
        if text and text not in out and len(text) <= _N:  # a quote inside counts in the length too
            out.append(text)
        if limit is not None and len(out) >= limit:
            break
    return out


def expected_strings(prompt: str | None, explicit: Iterable[str] | str | None = None) -> list[str]:
    """What an image should read: `explicit` when given (a string or a list of strings; empty
    entries dropped), else the prompt's quoted strings."""
    if explicit is not None:
        items = [explicit] if isinstance(explicit, str) else list(explicit)
        out: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"expected text must be strings, got {type(item).__name__}: {item!r}")
            item = item.strip()
            if item and item not in out:
                out.append(item)
        return out
    return quoted_strings(prompt)
