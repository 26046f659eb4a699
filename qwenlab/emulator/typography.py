"""Text in synthetic images: which strings a prompt asks to see, and how they are laid out.

A prompt's quoted strings ('...', "...", ‘...’, “...”, 「...」 and the others of
`qwenlab.core.expected_text`) are what a poster should read; they are drawn as headlines so that
an OCR check can find them, wrapped and shrunk to fit their box (`fit_lines`: a line breaks at a
space or between two CJK characters). The fonts that draw them are `qwenlab.emulator.fonts`
(Chinese, Japanese and Korean with a system CJK font, boxes without one); the emulator's
synthetic misspellings are `qwenlab.emulator.misspelling`. Their names are importable from here too.
"""

from __future__ import annotations

import math

from ..core import expected_text
from ..core.scripts import has_cjk, is_cjk, unbreakable_pieces
from .fonts import CJK_FONT_ENV, CJK_FONT_LOCATIONS, as_seen, cjk_font_path, drawable, font, font_for
from .misspelling import mentions_text_flaws, misspell, misspell_probability

__all__ = ["quoted_strings", "font", "font_for", "drawable", "fit_lines", "misspell_probability", "misspell",
           "mentions_text_flaws", "is_cjk", "has_cjk", "cjk_font_path", "as_seen", "CJK_FONT_ENV", "CJK_FONT_LOCATIONS"]

MAX_HEADLINES = 6


def quoted_strings(prompt: str | None) -> list[str]:
    """The quoted strings of a prompt, in order, stripped, without duplicates (at most 6).

    The same rule as `qwenlab.core.expected_text.quoted_strings`, so a score of an emulated image
    compares it with what the emulator meant to draw."""
    return expected_text.quoted_strings(prompt, limit=MAX_HEADLINES)


def fit_lines(text: str, max_width: int, size: int, min_size: int = 10, max_lines: int = 3):
    """Wrap and shrink `text` until it fits `max_width` px in at most `max_lines` lines.

    Returns (font, lines). A line breaks at a space, or between two CJK characters (CJK text has
    no spaces; a CJK punctuation mark stays with the character before it). Latin words are never
    split; a word wider than the box shrinks the font. Wrapped CJK text is balanced (lines of
    about equal width), so a long headline does not end in a line of one character.
    """
    family, shown = drawable(text)
    pieces = _pieces(shown)
    while True:
        f = font(size, family)
        lines = _wrap(pieces, f, max_width)
        widest = max(f.getlength(line) for line in lines)
        if (len(lines) <= max_lines and widest <= max_width) or size <= min_size:
            return f, (_balanced(pieces, f, lines) if family == "cjk" else lines)
        size = max(min_size, int(size * 0.88))


def _wrap(pieces: list[tuple[str, bool]], f, max_width: float) -> list[str]:
    """Lines of `pieces`, greedily: each as long as fits in `max_width` (at least one piece)."""
    lines: list[str] = []
    current = ""
    for piece, spaced in pieces:
        trial = (f"{current} {piece}" if spaced else current + piece).strip()
        if current and f.getlength(trial) > max_width:
            lines.append(current)
            current = piece
        else:
            current = trial
    lines.append(current)
    return lines


def _balanced(pieces: list[tuple[str, bool]], f, lines: list[str]) -> list[str]:
    """The same number of lines as `lines`, wrapped at the narrowest width that keeps that number."""
    if len(lines) < 2:
        return lines
    # up, not down: a width cut to a whole pixel below the widest line's could wrap into one more
    lo, hi = 1, math.ceil(max(f.getlength(line) for line in lines))
    while lo < hi:   # the narrowest width that still wraps into as many lines
        mid = (lo + hi) // 2
        if len(_wrap(pieces, f, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    balanced = _wrap(pieces, f, hi)
    return balanced if len(balanced) <= len(lines) else lines


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The unbreakable pieces of `text` (`qwenlab.core.scripts.unbreakable_pieces`), each with
    whether a space joins it to the one before."""
    out: list[tuple[str, bool]] = []
    for word in text.split() or [text]:
        out += [(piece, k == 0) for k, piece in enumerate(unbreakable_pieces(word) or [word])]
    return out

