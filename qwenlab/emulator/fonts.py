"""Fonts that can draw the text of synthetic images.

Pillow's built-in scalable font (`ImageFont.load_default(size)`) first; it lacks accented
capitals (È, Ê), so a string it cannot draw falls back to DejaVu Sans Bold as shipped inside
matplotlib (a qwenlab dependency, so present wherever qwenlab is installed), and if even that is
missing, to the string without its accents.

Chinese, Japanese and Korean. Neither of those fonts has CJK glyphs, so a string with Han, kana or
Hangul characters is drawn with the system's CJK font (Latin letters in it too), as
`qwenlab.core.cjk_font.cjk_font_path` finds it (`QWENLAB_CJK_FONT`, else the usual places on
Linux, macOS and Windows). WITHOUT A CJK FONT, CJK CHARACTERS SHOW AS EMPTY BOXES, and
`qwenlab.emulator.synthetic.headlines` says so (□ for each), so that a score of such an image is
compared with the boxes, not with text the image does not show. CJK text wraps between any two
characters (it has no spaces); Latin words are never split.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import unicodedata
from pathlib import Path

from PIL import ImageFont

from ..core.cjk_font import CJK_FONT_ENV, CJK_FONT_LOCATIONS, cjk_font_path, font_has
from ..core.scripts import has_cjk, is_cjk

__all__ = ["font", "font_for", "drawable", "cjk_font_path", "as_seen", "CJK_FONT_ENV", "CJK_FONT_LOCATIONS"]

# FreeType faces are not safe to share between threads that render at once: one cache per thread.
_local = threading.local()


def _cache() -> dict[tuple[str, int, Path | None], ImageFont.FreeTypeFont | ImageFont.ImageFont]:
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
    """A font of `size` px: family "default" (Pillow's built-in), "dejavu" or "cjk" (the font
    `cjk_font_path()` found); the last two fall back to default where their file is missing."""
    size = max(6, int(size))
    path = {"dejavu": _dejavu_path, "cjk": cjk_font_path}.get(family, lambda: None)()
    key = (family, size, path)  # the path too: the CJK font can change (QWENLAB_CJK_FONT, then cache_clear)
    cache = _cache()
    if key not in cache:
        cache[key] = ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size=size)
    return cache[key]


@functools.lru_cache(maxsize=1024)
def _default_has(ch: str) -> bool:
    if ch.isspace():
        return True
    f = ImageFont.load_default(size=24)
    return bytes(f.getmask(ch)) != bytes(f.getmask("\uffff"))


def _cjk_has(ch: str) -> bool:
    path = cjk_font_path()
    return path is not None and font_has(str(path), ch)


def _no_font_has(ch: str) -> bool:
    """Whether none of the fonts the emulator draws with (built-in, CJK, DejaVu) has a glyph for `ch`."""
    if _default_has(ch) or _cjk_has(ch):
        return False
    dejavu = _dejavu_path()
    return dejavu is None or not font_has(str(dejavu), ch)


def as_seen(text: str) -> str:
    """`text` as a reader sees it drawn: unchanged, but for CJK characters that no font here
    draws, which show as empty boxes (□)."""
    if not has_cjk(text) or drawable(text)[0] == "cjk":
        return text
    return "".join("\u25a1" if is_cjk(ch) else ch for ch in text)


def drawable(text: str) -> tuple[str, str]:
    """(family, text) to draw `text` with: the built-in font if it has every glyph; else, for text
    with CJK characters, the system's CJK font if one was found and it has every glyph (Latin
    letters included: the CJK fonts qwenlab looks for all have them); else DejaVu (CJK characters
    then show as empty boxes), else the built-in font with accents removed. A character none of
    them has (an emoji) is left out of the choice: it shows as an empty box in the font chosen."""
    # a character no font here has (an emoji) is an empty box in each of them, so it chooses none:
    # "新年快乐 🚀" was drawn with DejaVu, its Chinese as four more boxes, and the emoji left the
    # Latin letters of "SPRING 🌸 SALE" in DejaVu rather than the built-in font. CJK characters do
    # choose (without a CJK font: DejaVu, as before)
    chosen = [ch for ch in text if is_cjk(ch) or not _no_font_has(ch)]
    if all(_default_has(ch) for ch in chosen):
        return "default", text
    if has_cjk(text) and cjk_font_path() is not None and all(_cjk_has(ch) for ch in chosen):
        return "cjk", text
    if _dejavu_path() is not None:
        return "dejavu", text
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "default", "".join(c if _default_has(c) else "?" for c in stripped)


def font_for(text: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    """The font to draw `text` at `size` px, and the text as it will be drawn."""
    family, shown = drawable(text)
    return font(size, family), shown
