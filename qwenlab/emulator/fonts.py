"""Fonts that can draw the text of synthetic images.

Pillow's built-in scalable font (`ImageFont.load_default(size)`) first; it lacks accented
capitals (È, Ê), so a string it cannot draw falls back to DejaVu Sans Bold as shipped inside
matplotlib (a qwenlab dependency, so present wherever qwenlab is installed), and if even that is
missing, to the string without its accents.

Chinese, Japanese and Korean. Neither of those fonts has CJK glyphs, so a string with Han, kana or
Hangul characters is drawn with a CJK font of the system (Latin letters in it too): the file that
`QWENLAB_CJK_FONT` names, else the first found of `CJK_FONT_LOCATIONS` (WenQuanYi or Noto Sans CJK
on Linux, PingFang or STHeiti on macOS, Microsoft YaHei, SimHei, SimSun, Yu Gothic or Malgun Gothic
on Windows; `cjk_font_path()` says which). macOS and Windows have one; on Debian/Ubuntu
`apt-get install fonts-wqy-microhei` (a 1.6 MB package) adds one. WITHOUT A CJK FONT, CJK CHARACTERS SHOW AS
EMPTY BOXES, and `qwenlab.emulator.synthetic.headlines` says so (□ for each), so that a score of
such an image is compared with the boxes, not with text the image does not show. CJK text wraps
between any two characters (it has no spaces); Latin words are never split.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import unicodedata
import warnings
from pathlib import Path

from PIL import ImageFont

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


# -- CJK: a system font that has the glyphs -------------------------------------------------------
CJK_FONT_ENV = "QWENLAB_CJK_FONT"


def _windows_fonts() -> Path:
    return Path(os.environ.get("WINDIR") or os.environ.get("SystemRoot") or r"C:\Windows") / "Fonts"


# Where Debian/Ubuntu, Fedora, Arch, macOS and Windows keep a font with Chinese, Japanese and
# Korean glyphs, most common first. Paths that do not exist are skipped.
CJK_FONT_LOCATIONS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",                  # Debian/Ubuntu fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",                    # Debian/Ubuntu fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",          # Debian/Ubuntu fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",       # Debian/Ubuntu fonts-droid-fallback
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",                  # Fedora wqy-microhei-fonts
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",                      # Fedora wqy-zenhei-fonts
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",  # Fedora google-noto-sans-cjk-fonts
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",        # Fedora (older)
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",        # Arch wqy-microhei
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",            # Arch wqy-zenhei
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",               # Arch noto-fonts-cjk
    "/System/Library/Fonts/PingFang.ttc",                              # macOS
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "%WINDIR%/msyh.ttc",                                               # Windows: Microsoft YaHei
    "%WINDIR%/simhei.ttf",
    "%WINDIR%/simsun.ttc",
    "%WINDIR%/YuGothM.ttc",
    "%WINDIR%/malgun.ttf",
)
# One Han, one Hiragana, one Katakana and one Hangul character: a font drawing all four is
# preferred, so a Korean or Japanese string is not left to a Chinese-only font.
_PROBES = "字かカ한"


@functools.lru_cache(maxsize=64)
def _load(path: str) -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype(path, 24)
    except OSError:   # not a font Pillow can read
        return None


@functools.lru_cache(maxsize=4096)
def _font_has(path: str, ch: str) -> bool:
    """Whether the font at `path` has a glyph for `ch`: its mask differs from the missing-glyph mask."""
    if ch.isspace():
        return True
    f = _load(path)
    return f is not None and bytes(f.getmask(ch)) != bytes(f.getmask("\uffff"))


def _candidates() -> list[Path]:
    windows = _windows_fonts()
    return [windows / p.removeprefix("%WINDIR%/") if p.startswith("%WINDIR%/") else Path(p) for p in CJK_FONT_LOCATIONS]


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The font file the emulator draws CJK text with, or None (then CJK characters show as empty
    boxes): the file `QWENLAB_CJK_FONT` names if it has CJK glyphs, else the first of
    `CJK_FONT_LOCATIONS` that draws Chinese, Japanese and Korean, else the first that draws Han
    characters. Looked up once per process (`cjk_font_path.cache_clear()` looks again).

    A `QWENLAB_CJK_FONT` that names no file, or a font without CJK glyphs, is ignored with a
    warning rather than an error: the emulator runs inside sweeps, and a font is no reason to
    stop one; the system's font (or the boxes) are then used, as without the variable."""
    chosen = os.environ.get(CJK_FONT_ENV, "").strip()
    if chosen:
        if not Path(chosen).is_file():
            warnings.warn(f"{CJK_FONT_ENV}={chosen} is no file; looking for a CJK font in the usual places",
                          RuntimeWarning, stacklevel=2)
        elif not any(_font_has(chosen, ch) for ch in _PROBES):
            warnings.warn(f"{CJK_FONT_ENV}={chosen} has no Chinese, Japanese or Korean glyphs (or is no font); "
                          "looking for a CJK font in the usual places", RuntimeWarning, stacklevel=2)
        else:
            return Path(chosen)
    found = [p for p in _candidates() if p.is_file() and _font_has(str(p), _PROBES[0])]
    complete = [p for p in found if all(_font_has(str(p), ch) for ch in _PROBES)]
    return (complete or found or [None])[0]


def _cjk_has(ch: str) -> bool:
    path = cjk_font_path()
    return path is not None and _font_has(str(path), ch)


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
    then show as empty boxes), else the built-in font with accents removed."""
    if all(_default_has(ch) for ch in text):
        return "default", text
    if has_cjk(text) and cjk_font_path() is not None and all(_cjk_has(ch) for ch in text):
        return "cjk", text
    if _dejavu_path() is not None:
        return "dejavu", text
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "default", "".join(c if _default_has(c) else "?" for c in stripped)


def font_for(text: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    """The font to draw `text` at `size` px, and the text as it will be drawn."""
    family, shown = drawable(text)
    return font(size, family), shown
