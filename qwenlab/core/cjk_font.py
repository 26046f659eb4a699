"""The system's CJK font: the file that draws Chinese, Japanese and Korean text where qwenlab
draws text itself (the emulator's synthetic images, the matplotlib grids, pair figures and cost
plots), since neither Pillow's built-in font nor matplotlib's DejaVu Sans has CJK glyphs.

    cjk_font_path()      # Path('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'), or None
    cjk_fallback(fig)    # a matplotlib figure's texts fall back to it for CJK characters

The file `QWENLAB_CJK_FONT` names, else the first found of `CJK_FONT_LOCATIONS` (WenQuanYi or
Noto Sans CJK on Linux, PingFang or STHeiti on macOS, Microsoft YaHei, SimHei, SimSun, Yu Gothic
or Malgun Gothic on Windows). macOS and Windows have one; on Debian/Ubuntu
`apt-get install fonts-wqy-microhei` (a 1.6 MB package) adds one. Without one, CJK characters
show as empty boxes, as before.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import ImageFont

from ..caller import warn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["cjk_font_path", "cjk_fallback", "font_has", "CJK_FONT_ENV", "CJK_FONT_LOCATIONS"]

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


# One FreeType face is shared by every thread that asks (the emulator draws in its request
# threads): its renders are taken one at a time, as a face is not safe to render with at once
_RENDER = threading.Lock()


@functools.lru_cache(maxsize=4096)
def font_has(path: str, ch: str) -> bool:
    """Whether the font at `path` has a glyph for `ch`: its mask differs from the missing-glyph mask."""
    if ch.isspace():
        return True
    f = _load(path)
    if f is None:
        return False
    with _RENDER:
        return bytes(f.getmask(ch)) != bytes(f.getmask("\uffff"))


def _candidates() -> list[Path]:
    windows = _windows_fonts()
    return [windows / p.removeprefix("%WINDIR%/") if p.startswith("%WINDIR%/") else Path(p) for p in CJK_FONT_LOCATIONS]


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The font file qwenlab draws CJK text with (the emulator's images, matplotlib's figures), or
    None (then CJK characters show as empty boxes): the file `QWENLAB_CJK_FONT` names if it has
    CJK glyphs, else the first of `CJK_FONT_LOCATIONS` that draws Chinese, Japanese and Korean,
    else the first that draws Han characters. Looked up once per process
    (`cjk_font_path.cache_clear()` looks again).

    A `QWENLAB_CJK_FONT` that names no file, or a font without CJK glyphs, is ignored with a
    warning rather than an error: the emulator runs inside sweeps, and a font is no reason to
    stop one; the system's font (or the boxes) are then used, as without the variable."""
    chosen = os.path.expanduser(os.environ.get(CJK_FONT_ENV, "").strip())
    if chosen:
        if not Path(chosen).is_file():
            warn(f"{CJK_FONT_ENV}={chosen} is no file; looking for a CJK font in the usual places",
                 RuntimeWarning)
        elif not any(font_has(chosen, ch) for ch in _PROBES):
            warn(f"{CJK_FONT_ENV}={chosen} has no Chinese, Japanese or Korean glyphs (or is no font); "
                 "looking for a CJK font in the usual places", RuntimeWarning)
        else:
            return Path(chosen)
    found = [p for p in _candidates() if p.is_file() and font_has(str(p), _PROBES[0])]
    complete = [p for p in found if all(font_has(str(p), ch) for ch in _PROBES)]
    return (complete or found or [None])[0]


def cjk_fallback(fig: "Figure") -> "Figure":
    """`fig`, each of its texts (and the tick labels its axes make when drawn) drawing a CJK
    character with the system's CJK font: a fallback after the families the text has, so Latin
    text is drawn as before. Without a CJK font (or one matplotlib cannot read) nothing changes:
    CJK characters show as empty boxes. Call it once a figure's texts are made."""
    extra = _matplotlib_family()
    if extra is None:
        return fig
    import matplotlib
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        families = list(text.get_fontfamily())
        if extra not in families:
            text.set_fontfamily([*families, extra])
    for ax in fig.axes:  # tick labels are made when the figure is drawn, from the first tick's font
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks()
            families = list(ticks[0].label1.get_fontfamily()) if ticks else list(matplotlib.rcParams["font.family"])
            if extra not in families:
                axis.set_tick_params(labelfontfamily=[*families, extra])
    return fig


def _matplotlib_family() -> str | None:
    path = cjk_font_path()
    return _registered(str(path)) if path is not None else None


@functools.lru_cache(maxsize=8)
def _registered(path: str) -> str | None:
    """The family name matplotlib knows the font at `path` by, once it is added to its font list."""
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
    except (OSError, RuntimeError, ValueError):  # a file matplotlib's FreeType cannot read
        return None
    logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldWarning(name))
    return name


class _NoBoldWarning(logging.Filter):
    """A CJK font often has one weight: bold titles then use its regular one, which matplotlib
    says on stderr at every bold text ("Failed to find font weight bold for ..."). That is the
    fallback doing its work, not a problem to show in a notebook."""

    def __init__(self, family: str) -> None:
        super().__init__()
        self.family = family

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.family in record.getMessage() and "Failed to find font weight" in record.getMessage())
