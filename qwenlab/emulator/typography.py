"""Text in synthetic images: which strings a prompt asks to see, and fonts that can draw them.

A prompt's quoted strings ('...', "...", ‘...’, “...”) are what a poster should read; they are
drawn as headlines so that an OCR check can find them. Fonts: Pillow's built-in scalable font
(`ImageFont.load_default(size)`) first; it lacks accented capitals (È, Ê), so a string it cannot
draw falls back to DejaVu Sans Bold as shipped inside matplotlib (a qwenlab dependency, so present
wherever qwenlab is installed), and if even that is missing, to the string without its accents.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
import unicodedata
from pathlib import Path

from PIL import ImageFont

__all__ = ["quoted_strings", "font", "font_for", "drawable", "fit_lines"]

# An apostrophe inside a word ("brand's", "l'eau") must not open a quote, hence the lookarounds.
_QUOTES = re.compile(
    r"(?<!\w)'([^'\n]{1,120}?)'(?!\w)"
    r'|"([^"\n]{1,120}?)"'
    r"|‘([^’\n]{1,120}?)’"
    r"|“([^”\n]{1,120}?)”"
)
MAX_HEADLINES = 6


def quoted_strings(prompt: str | None) -> list[str]:
    """The quoted strings of a prompt, in order, stripped, without duplicates (at most 6)."""
    out: list[str] = []
    for match in _QUOTES.finditer(prompt or ""):
        text = next(g for g in match.groups() if g is not None).strip()
        if text and text not in out:
            out.append(text)
        if len(out) == MAX_HEADLINES:
            break
    return out


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
