"""Which writing system a character belongs to: what the emulator (which font draws it, how it
is misspelled) and the text scores (each CJK character is a word) must agree on."""

from __future__ import annotations

__all__ = ["is_cjk", "has_cjk"]


def is_cjk(ch: str) -> bool:
    """Whether `ch` is a Han, Hiragana, Katakana or Hangul character (the katakana middle dot ・,
    U+30FB, is punctuation)."""
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or (0x3040 <= cp <= 0x30FF and cp != 0x30FB)
            or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F)


def has_cjk(text: str) -> bool:
    """Whether `text` holds a CJK character (`is_cjk`)."""
    return any(is_cjk(ch) for ch in text)
