"""A text as scoring compares it: its normalised words (see `qwenlab.typography.scoring` for
the scores defined on them).

    words("Don't STOP! $29.99")    # ["dont", "stop", "29.99"]
    normalize("LUMIÈRE NOIRE")      # "lumiere noire"
    unconfuse("LUMlERE")            # "LUMIERE": the OCR's I/l and O/0 undone where the word settles them

The rules: Unicode NFKC, case folded, apostrophes dropped, a point, comma or colon between two
digits kept (the comma as a point), accents on Latin letters folded (the OCR's alphabet lacks
them), every other character that is not a letter, digit or combining mark a space; each CJK
character a word of its own (`qwenlab.core.scripts.is_cjk`, as the emulator reads it); and in each word the OCR's I/l and O/0 confusions undone
where its other characters settle which is meant (`unconfuse`). Why each rule is as it is: the
scoring module's docstring. Expected strings and what was read go through the same rules.
"""

from __future__ import annotations

import unicodedata

from ..core.scripts import is_cjk

__all__ = ["words", "normalize", "unconfuse", "is_cjk"]

_APOSTROPHES = {"'", "’", "ʼ", "`", "´"}
# between two digits, kept: a decimal point or a thousands separator (one sign for both: which one
# a country writes where differs, and the OCR confuses them) and a time's colon
_NUMBER_SEPARATORS = {".": ".", ",": ".", ":": ":"}

# Latin letters that Unicode does not decompose into a base letter and an accent, folded as a
# reader (and the OCR, whose alphabet lacks them) would read them
_FOLDED = {"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t",
           "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "TH", "þ": "th", "ı": "i"}


def _fold_accent(ch: str) -> str:
    """A Latin letter without its accents ("È" -> "E", "Ø" -> "O", "Œ" -> "OE"); anything else unchanged."""
    if ch in _FOLDED:
        return _FOLDED[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base.isascii() and base.isalpha() else ch


def words(text: str | None) -> list[str]:
    """The normalised words of a text (see the module docstring). words(" ".join(words(t))) ==
    words(t)."""
    out: list[str] = []
    # apostrophes dropped before NFKC too, which makes ´ a space and a combining accent ("don´t")
    chars = unicodedata.normalize("NFKC", "".join(c for c in text or "" if c not in _APOSTROPHES))
    for k, ch in enumerate(chars):
        if ch in _APOSTROPHES:
            continue
        if ch in _NUMBER_SEPARATORS and 0 < k < len(chars) - 1 and chars[k - 1].isdigit() and chars[k + 1].isdigit():
            out.append(_NUMBER_SEPARATORS[ch])  # "$29.99" is not "$2999"
        elif is_cjk(ch):
            out.append(f" {ch} ")
        elif unicodedata.combining(ch) and out and out[-1][-1:].isascii() and out[-1][-1:].isalpha():
            continue  # an accent NFKC could not compose with its Latin letter (n̈, i̇): folded too
        elif unicodedata.category(ch)[0] in "LNM":
            out.append(_fold_accent(ch))
        else:
            out.append(" ")
    return [unconfuse(w).casefold() for w in "".join(out).split()]


def normalize(text: str | None) -> str:
    """A text as scoring compares it: normalised words joined by single spaces."""
    return " ".join(words(text))


def unconfuse(word: str) -> str:
    """A word as read, with the OCR's I/l and O/0 confusions undone where the word's other
    characters settle them: "LUMlERE" -> "LUMIERE", "HeIlo" -> "Hello" (in sans-serif fonts
    capital I and small l are the same glyph), "0rganic" -> "Organic", "2O24" -> "2024", "O2" -> "02"."""
    rest_chars = [c for c in word if c not in "0Oo"]
    if "0" in word and len(rest_chars) >= 2 and all(c.isalpha() for c in rest_chars):
        word = word.replace("0", "O" if all(c.isupper() for c in rest_chars) else "o")
    elif (any(c in "Oo" for c in word) and any(c.isdigit() for c in rest_chars)
          and all(c.isdigit() or c in ".:" for c in rest_chars)):  # "2O24", "29.9O"; "O2", "5O": one digit settles it
        word = word.replace("O", "0").replace("o", "0")
    others = [c for c in word if c.isalpha() and c not in "Il"]
    if len(others) >= 2 and all(c.isupper() for c in others):
        return word.replace("l", "I")
    rest = [c for c in word[1:] if c.isalpha() and c not in "Il"]  # a capital first letter is title case
    if len(rest) >= 2 and all(c.islower() for c in rest):
        return word[:1] + word[1:].replace("I", "l")
    return word
