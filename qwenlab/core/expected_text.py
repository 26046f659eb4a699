"""The text an image is expected to show: a prompt's quoted strings, or a list given explicitly.

    expected_strings("A poster for 'LUNE NOIRE' reading “Midnight Bloom”")  # ['LUNE NOIRE', 'Midnight Bloom']
    expected_strings(prompt, ["LUNE NOIRE"])                                 # an explicit list wins

Quotes recognised: '...', "...", ‘...’, “...”, «...», „...“, ‹...›, 「...」 and 『...』. An
apostrophe inside a word ("brand's", "l'eau") opens no quote, and does not close one: 'L'ORÉAL
PARIS', 'Don't stop' and ‘It’s 5 o’clock’ are read whole. An empty pair ('' or "") is no quote.
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


def _single(open_: str, close: str) -> str:
    """A quote whose closing mark is also an apostrophe: it opens and closes only outside words
    (and not against another quote mark: '' is an empty pair), and inside it an apostrophe between
    two letters (L'ORÉAL, don't, 90's) is part of the text."""
    inner = rf"(?:[^{close}\n]|(?<=\w){close}(?=\w))"
    return rf"(?<![\w{open_}{close}]){open_}({inner}{{1,{_N}}}?){close}(?![\w{open_}{close}])"


def _paired(open_: str, close: str) -> str:
    """A quote of its own marks (`close`: the closing marks it takes): anything but a closing mark
    and a line break inside."""
    return rf"(?<!{open_}){open_}([^{close}\n]{{1,{_N}}}?)[{close}]"


_QUOTES = re.compile("|".join([
    _single("'", "'"), _single("‘", "’"), _single("‚", "‘"), _single("‹", "›"),
    rf'(?<!")"([^"\n]{{1,{_N}}}?)"(?!")',
    _paired("„", "“”"), _paired("“", "”"), _paired("«", "»"), _paired("「", "」"), _paired("『", "』"),
]))


def quoted_strings(prompt: str | None, limit: int | None = None) -> list[str]:
    """The quoted strings of a prompt, in order, stripped, without duplicates (at most `limit`)."""
    out: list[str] = []
    for match in _QUOTES.finditer(prompt or ""):
        text = next(g for g in match.groups() if g is not None).strip()
        if text and text not in out:
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
