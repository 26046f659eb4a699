"""Which writing system a character belongs to: what the emulator (which font draws it, how it
is misspelled) and the text scores (each CJK character is a word) must agree on."""

from __future__ import annotations

__all__ = ["is_cjk", "has_cjk", "OPENING_BRACKETS", "is_cjk_punctuation"]

# CJK opening brackets and quotes: a line may end before one, never after it
OPENING_BRACKETS = "「『《〈【〔〖〘〚（［｛“‘"


def is_cjk(ch: str) -> bool:
    """Whether `ch` is a Han, Hiragana, Katakana or Hangul character (the katakana middle dot ・,
    U+30FB, is punctuation)."""
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or (0x3040 <= cp <= 0x30FF and cp != 0x30FB)
            or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F)


def has_cjk(text: str) -> bool:
    """Whether `text` holds a CJK character (`is_cjk`)."""
    return any(is_cjk(ch) for ch in text)


def is_cjk_punctuation(ch: str) -> bool:
    """Whether `ch` is a CJK or full-width punctuation mark (，。、！「」（）...), not a space."""
    return "\u3001" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff0f" or "\uff1a" <= ch <= "\uff20" \
        or "\uff3b" <= ch <= "\uff40" or "\uff5b" <= ch <= "\uff65" or ch in "“”‘’…—"
