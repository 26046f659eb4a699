"""Which writing system a character belongs to, and where a line of it may break: what the
emulator (which font draws it, how it is misspelled, how a headline wraps), the figures (how a
label wraps) and the text scores (each CJK character is a word) must agree on."""

from __future__ import annotations

import functools
import re
import textwrap
import unicodedata

__all__ = ["is_cjk", "has_cjk", "letter_scripts", "script_name", "is_wide", "OPENING_BRACKETS", "NO_LINE_START", "is_cjk_punctuation", "breaks_before",
           "unbreakable_pieces", "LATIN_EM", "line_units", "wrap_units"]

# A Latin letter's average width in ems in DejaVu Sans (matplotlib's default font), a little
# generous so that wrapped lines never overflow their box; a wide character takes a full em
LATIN_EM = 0.6

# CJK opening brackets and quotes: a line may end before one, never after it
OPENING_BRACKETS = "「『《〈【〔〖〘〚（［｛“‘"

# Japanese characters that never start a line (JIS X 4051's line-start rules, as word processors
# keep them): small kana, which sound with the kana before them (キャ, しょ, ッ), the prolonged sound
# mark (ー), and the iteration marks (々, ゝ), which repeat the character before them
NO_LINE_START = ("ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ"
                 "\u31f0\u31f1\u31f2\u31f3\u31f4\u31f5\u31f6\u31f7\u31f8\u31f9\u31fa\u31fb\u31fc\u31fd\u31fe\u31ff"
                 "ーゝゞヽヾ々〻")


# Letters in the CJK punctuation block: the iteration marks 々 and 〻 (人々 is "people"), 〆 and
# the ideographic zero 〇 (二〇二六年)
_CJK_SYMBOL_LETTERS = "\u3005\u3006\u3007\u303b"


def is_cjk(ch: str) -> bool:
    """Whether `ch` is a Han, Hiragana, Katakana or Hangul character, the iteration marks 々 and 〻
    included (the katakana middle dot ・, U+30FB, is punctuation)."""
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or (0x3040 <= cp <= 0x30FF and cp != 0x30FB)
            or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F
            or ch in _CJK_SYMBOL_LETTERS)


def has_cjk(text: str) -> bool:
    """Whether `text` holds a CJK character (`is_cjk`)."""
    return any(is_cjk(ch) for ch in text)


# The first word of a letter's Unicode name that is not its script's own name
_SCRIPT_OF_NAME = {"cjk": "han", "ideographic": "han", "hiragana": "kana", "katakana": "kana",
                   "katakana-hiragana": "kana"}
_SCRIPT_NAMES = {"han": "Chinese characters (han)", "kana": "Japanese kana", "hangul": "Korean hangul"}


def letter_scripts(text: str) -> frozenset[str]:
    """The writing systems of the letters in `text`: "latin", "han", "kana", "hangul",
    "cyrillic", "greek", "arabic", "thai" ... (the first word of a letter's Unicode name, a
    Chinese character "han" and hiragana or katakana "kana"). Digits, punctuation, symbols and
    modifier letters (ʼ) belong to none; full-width forms count as what they stand for (Ａ is
    Latin). What an OCR engine must read to score a string (`qwenlab.typography.engines`)."""
    return frozenset(filter(None, map(_script, unicodedata.normalize("NFKC", text))))


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str | None:
    category = unicodedata.category(ch)
    if not category.startswith("L"):
        return None
    first = unicodedata.name(ch, "").split(" ", 1)[0].lower()
    script = _SCRIPT_OF_NAME.get(first, first)
    if category == "Lm" and script not in ("han", "kana"):  # ʼ, ˆ: marks on a word, no script of their own
        return None
    return script or None


def script_name(script: str) -> str:
    """How a script of `letter_scripts` reads in a sentence: "Japanese kana", "Cyrillic letters"."""
    return _SCRIPT_NAMES.get(script, f"{script.capitalize()} letters")


def is_cjk_punctuation(ch: str) -> bool:
    """Whether `ch` is a CJK or full-width punctuation mark (，。、！「」（）...), not a space nor
    a letter of that block (々, 〇)."""
    return ("\u3001" <= ch <= "\u303f" and ch not in _CJK_SYMBOL_LETTERS) or "\uff01" <= ch <= "\uff0f" or "\uff1a" <= ch <= "\uff20" \
        or "\uff3b" <= ch <= "\uff40" or "\uff5b" <= ch <= "\uff65" or ch in "“”‘’…—"


def is_wide(ch: str) -> bool:
    """Whether `ch` takes a full em (East Asian width W or F: CJK characters, their punctuation,
    full-width forms, most emoji), against about 0.6 em for a Latin letter."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def breaks_before(before: str, ch: str) -> bool:
    """Whether a line may break between `before` and `ch`, with no space between them: before a
    wide character (新, ✨) or an opening bracket that follows a wide character or CJK punctuation
    (such text has no spaces); never after an opening bracket (「《（), which would end a line,
    never before other punctuation (，。」), a small kana, ー or 々 (`NO_LINE_START`), which would
    start one, nor inside a Latin word."""
    if before in OPENING_BRACKETS or ch in NO_LINE_START or (is_cjk_punctuation(ch) and ch not in OPENING_BRACKETS):
        return False
    return (is_wide(ch) or ch in OPENING_BRACKETS) and (is_wide(before) or is_cjk_punctuation(before))


def unbreakable_pieces(word: str) -> list[str]:
    """`word` (text without spaces) cut where a line may break (`breaks_before`): a Latin word is
    one piece, 新年快乐！ is 新 年 快 乐！, 购《新年》 is 购 《新 年》."""
    pieces: list[str] = []
    start = 0
    for k in range(1, len(word)):
        if breaks_before(word[k - 1], word[k]):
            pieces.append(word[start:k])
            start = k
    return [*pieces, word[start:]] if word else []


def line_units(text: str) -> float:
    """`text`'s width in average Latin letters (`LATIN_EM`): a wide character takes a full em,
    1 / 0.6 of a letter; so do — and …, in DejaVu Sans."""
    return sum(1 / LATIN_EM if is_wide(ch) or ch in "—…" else 1 for ch in text)


def wrap_units(text: str, width: int, *, break_on_hyphens: bool = False) -> list[str]:
    """`text` in lines of at most `width` average Latin letters (`line_units`), its own line
    breaks kept: Latin text by `textwrap` (long words cut), text with wide characters broken at
    spaces or where CJK text may break (`breaks_before`), a word longer than a line cut."""
    lines: list[str] = []
    for para in str(text).splitlines() or [""]:
        if any(is_wide(ch) for ch in para):
            lines.extend(_wrap_wide(para, width) or [""])
        else:
            lines.extend(textwrap.wrap(para, width, break_long_words=True, break_on_hyphens=break_on_hyphens) or [""])
    return lines


def _wrap_wide(para: str, width: int) -> list[str]:
    pieces = [piece for token in re.split(r"(\s+)", para) if token
              for piece in ([token] if token.isspace() else unbreakable_pieces(token))]
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if piece.isspace():
            line += " " if line else ""
            continue
        if line_units(line + piece) > width and line.strip():
            lines.append(line.rstrip())
            line = ""
        while line_units(piece) > width:  # a word longer than a line: cut it, every cut a line of its own
            k = max([k for k in range(1, len(piece) + 1) if line_units(piece[:k]) <= width] or [1])
            lines.append(piece[:k])
            piece = piece[k:]
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines
