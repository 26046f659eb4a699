"""Text in synthetic images: which strings a prompt asks to see, and fonts that can draw them.

A prompt's quoted strings ('...', "...", ‘...’, “...”) are what a poster should read; they are
drawn as headlines so that an OCR check can find them. Fonts: Pillow's built-in scalable font
(`ImageFont.load_default(size)`) first; it lacks accented capitals (È, Ê), so a string it cannot
draw falls back to DejaVu Sans Bold as shipped inside matplotlib (a qwenlab dependency, so present
wherever qwenlab is installed), and if even that is missing, to the string without its accents.

Imperfect text (synthetic behaviour, NOT a claim about Qwen-Image). So that a text score can be
told apart from a constant, the emulator misspells some quoted strings, at a rate that depends on
the request and nothing else, deterministically (the same request and seed misspell the same
strings the same way; another seed throws the dice again). For a string drawn with glyphs of
`px` pixels (the font size after fitting) with `n` letters and digits:

    p = (0.06 + 0.015 * max(0, n - 8) + 0.004 * max(0, 48 - px))
        * 0.6 if promptExtend is on
        * 0.5 if the negative prompt names text flaws (misspell, typo, distorted/garbled/blurry/
              illegible/wrong text or letters, gibberish, bad typography)
    capped at 0.85.

So a 9-character headline at 87 px is misspelled 7.5% of the time without help; a 24-character
subheading at 51 px 30%; the same with promptExtend and such a negative prompt 9%. A misspelled
string has exactly one edit in one of its words, chosen by the same dice: two neighbouring
characters swapped, one dropped (in words of 3+), one doubled, or one replaced (a letter by the
letter 7 places on, a digit by the digit 3 on). `misspell_probability` and `misspell` are the rule;
`qwenlab.emulator.synthetic.headlines(scene)` tells what a scene draws for each string.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import re
import threading
import unicodedata
from pathlib import Path

from PIL import ImageFont

from ..core import expected_text

__all__ = ["quoted_strings", "font", "font_for", "drawable", "fit_lines", "misspell_probability", "misspell",
           "mentions_text_flaws"]

MAX_HEADLINES = 6


def quoted_strings(prompt: str | None) -> list[str]:
    """The quoted strings of a prompt, in order, stripped, without duplicates (at most 6).

    The same rule as `qwenlab.core.expected_text.quoted_strings`, so a score of an emulated image
    compares it with what the emulator meant to draw."""
    return expected_text.quoted_strings(prompt, limit=MAX_HEADLINES)


# -- imperfect text (synthetic behaviour, see the module docstring) ---------------------------------
BASE_RATE = 0.06
PER_CHARACTER = 0.015   # per letter or digit beyond FREE_CHARACTERS
FREE_CHARACTERS = 8
PER_PIXEL = 0.004       # per pixel of glyph size below SMALL_PX
SMALL_PX = 48
EXTEND_FACTOR = 0.6
NEGATIVE_FACTOR = 0.5
MAX_RATE = 0.85
_TEXT_FLAWS = re.compile(
    r"misspel|typo|gibberish|bad typography|"
    r"(distort|garbl|blurr|illegib|unreadabl|wrong|malformed|warped)\w*\s+(text|letter|word|typograph|font)",
    re.IGNORECASE)


def mentions_text_flaws(negative_prompt: str | None) -> bool:
    """Whether a negative prompt asks for no misspelled or distorted text."""
    return bool(negative_prompt) and _TEXT_FLAWS.search(negative_prompt or "") is not None


def misspell_probability(text: str, px: int, *, prompt_extend: bool, negative_prompt: str | None) -> float:
    """The chance that the emulator misspells `text` drawn at `px` pixels (the module's rule)."""
    n = sum(ch.isalnum() for ch in text)
    p = BASE_RATE + PER_CHARACTER * max(0, n - FREE_CHARACTERS) + PER_PIXEL * max(0, SMALL_PX - int(px))
    if prompt_extend:
        p *= EXTEND_FACTOR
    if mentions_text_flaws(negative_prompt):
        p *= NEGATIVE_FACTOR
    return min(MAX_RATE, p)


def misspell(text: str, rng: random.Random) -> str:
    """`text` with one edit in one word (swap, drop, double or replace one character), drawn from
    `rng`; the result always differs from `text` in its letters or digits, case aside."""
    spans = [m.span() for m in re.finditer(r"\w+", text) if sum(c.isalnum() for c in m.group()) >= 2]
    if not spans:
        spans = [m.span() for m in re.finditer(r"\w", text)]
    if not spans:
        return text
    for _ in range(20):
        start, end = rng.choice(spans)
        word = text[start:end]
        i = rng.randrange(len(word))
        kind = rng.choice(("swap", "drop", "double", "replace"))
        if kind == "swap" and i + 1 < len(word) and word[i].casefold() != word[i + 1].casefold():
            new = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif kind == "drop" and len(word) >= 3:
            new = word[:i] + word[i + 1:]
        elif kind == "double" and word[i].isalnum():
            new = word[:i] + word[i] + word[i:]
        elif kind == "replace" and word[i].isascii() and word[i].isalnum():
            new = word[:i] + _shifted(word[i]) + word[i + 1:]
        else:
            continue
        return text[:start] + new + text[end:]
    start, end = spans[0]  # dice that found nothing to change: double the first character
    return text[:start] + text[start] + text[start:]


def _shifted(ch: str) -> str:
    if ch.isdigit():
        return str((int(ch) + 3) % 10)
    base = ord("A") if ch.isupper() else ord("a")
    return chr(base + (ord(ch) - base + 7) % 26)


# FreeType faces are not safe to share between threads that render at once: one cache per thread.
_local = threading.local()


def _cache() -> dict[tuple[str, int], ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    cache = getattr(_local, "fonts", None)
    if cache is None:
        cache = _local.fonts = {}
    return cache


@functools.lru_cache(maxsize=1)
def _dejavu_path() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        if path.is_file():
            return path
    return None


def font(size: int, family: str = "default") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of `size` px: family "default" (Pillow's built-in) or "dejavu" (falls back to default)."""
    size = max(6, int(size))
    key = (family, size)
    cache = _cache()
    if key not in cache:
        path = _dejavu_path() if family == "dejavu" else None
        cache[key] = ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size=size)
    return cache[key]


@functools.lru_cache(maxsize=1024)
def _default_has(ch: str) -> bool:
    if ch.isspace():
        return True
    f = ImageFont.load_default(size=24)
    return bytes(f.getmask(ch)) != bytes(f.getmask("\uffff"))


def drawable(text: str) -> tuple[str, str]:
    """(family, text) to draw `text` with: the built-in font if it has every glyph, else DejaVu,
    else the built-in font with accents removed."""
    if all(_default_has(ch) for ch in text):
        return "default", text
    if _dejavu_path() is not None:
        return "dejavu", text
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "default", "".join(c if _default_has(c) else "?" for c in stripped)


def font_for(text: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    """The font to draw `text` at `size` px, and the text as it will be drawn."""
    family, shown = drawable(text)
    return font(size, family), shown


def fit_lines(text: str, max_width: int, size: int, min_size: int = 10, max_lines: int = 3):
    """Wrap and shrink `text` until it fits `max_width` px in at most `max_lines` lines.

    Returns (font, lines). Words are never split; a word wider than the box shrinks the font.
    """
    family, shown = drawable(text)
    words = shown.split() or [shown]
    while True:
        f = font(size, family)
        lines: list[str] = []
        current = ""
        for word in words:
            trial = f"{current} {word}".strip()
            if current and f.getlength(trial) > max_width:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
        widest = max(f.getlength(line) for line in lines)
        if (len(lines) <= max_lines and widest <= max_width) or size <= min_size:
            return f, lines
        size = max(min_size, int(size * 0.88))
