"""Characters no font of qwenlab's figures can draw, and the visible stand-in drawn in their place.

    drawable("LUMIERE 🚀 serum")    # 'LUMIERE [rocket] serum' (no emoji font installed)
    drawable("新年快乐")             # '新年快乐': the CJK font draws it (`qwenlab.core.cjk_font`)
    legible(fig)                     # a figure's texts and its tick labels, drawn at draw time, likewise

matplotlib draws a character none of its fonts has (an emoji in a prompt: neither DejaVu Sans nor
the CJK fonts have one) as an empty box, and says so only in a warning the notebook may hide. The
grids and pair figures pass their text through `drawable` before wrapping it: such a character
becomes its Unicode name in brackets, so the page says what was there and the width wrapped is
the stand-in's. The joiners and variation selectors that only shape an emoji go with it. A font
that has the glyph (matplotlib's default family as rcParams set it, or the CJK fallback) draws it
as it is: installing an emoji font matplotlib can read draws the emoji.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Any

from .cjk_font import cjk_fallback, cjk_font_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["drawable", "figure_fonts", "legible"]

# shaping only: a zero-width joiner (👨‍👩‍👧), the emoji and text variation selectors, and
# skin-tone modifiers; said by the stand-in of the character they shape, or by nothing
_SHAPING = frozenset({0x200D, *range(0xFE00, 0xFE10), *range(0x1F3FB, 0x1F400), *range(0xE0100, 0xE01F0)})


def figure_fonts() -> tuple[str, ...]:
    """The font files a figure's text is drawn from: matplotlib's default family (as rcParams
    set it now), then the CJK fallback where there is one."""
    import matplotlib

    params = matplotlib.rcParams
    family = tuple(params["font.family"])
    default = _default_font(family, tuple(tuple(params[f"font.{f}"]) if f"font.{f}" in params else () for f in family))
    cjk = cjk_font_path()
    return (default,) if cjk is None else (default, str(cjk))


@functools.lru_cache(maxsize=16)
def _default_font(family: tuple[str, ...], lists: tuple[object, ...]) -> str:
    """The file matplotlib draws the family `family` with (`lists`: rcParams' font lists for
    those of its names that are generic, in the key so that changing them looks again)."""
    from matplotlib import font_manager

    return font_manager.findfont(font_manager.FontProperties())


@functools.lru_cache(maxsize=16)
def _charmap(path: str) -> frozenset[int]:
    """The code points the font at `path` has glyphs for (none where matplotlib cannot read it)."""
    from matplotlib import ft2font

    try:
        return frozenset(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def drawable(text: str) -> str:
    """`text` with each character that no font of `figure_fonts` draws replaced by its name in
    brackets ("🚀" -> "[rocket]"; "[U+E000]" for one without a name), and the joiners and variation
    selectors that shape such characters dropped; whitespace and what a font draws stay as they are."""
    if text.isascii():
        return text
    fonts = figure_fonts()
    return "".join(_stand_in(ch, fonts) if ord(ch) >= 0x80 else ch for ch in text)


@functools.lru_cache(maxsize=4096)
def _stand_in(ch: str, fonts: tuple[str, ...]) -> str:
    """What is drawn for `ch` (not ASCII) with `fonts`: itself, its name in brackets, or nothing."""
    code = ord(ch)
    if ch.isspace() or any(code in _charmap(p) for p in fonts):
        return ch
    if code in _SHAPING or unicodedata.category(ch) == "Cf":
        return ""
    name = unicodedata.name(ch, "")
    return f"[{name.lower()}]" if name else f"[U+{code:04X}]"


def legible(fig: "Figure") -> "Figure":
    """`fig`, every text of it drawn: CJK characters by the CJK fallback (`cjk_fallback`), and
    each text, legend entry and tick label through `drawable`. Tick labels are made when the
    figure is drawn, from the axis' formatter (an experiment's name or an axis value set as a
    label, a formatter's numbers): each formatter of its axes hands its labels through
    `drawable`. Like `cjk_fallback`, it reaches every axes of the figure (a user's own, drawn
    into with `ax=`, too); call it once the figure's texts are made."""
    from matplotlib.text import Text

    cjk_fallback(fig)
    for text in fig.findobj(Text):
        shown = text.get_text()
        if not shown.isascii():
            text.set_text(drawable(shown))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter in {id(f): f for f in (axis.get_major_formatter(), axis.get_minor_formatter())}.values():
                _through_drawable(formatter)
    return fig


def _through_drawable(formatter: Any) -> None:
    """`formatter` (a matplotlib Formatter) labelling its ticks through `drawable`, once: matplotlib
    asks its `format_ticks` for all of an axis' labels at once, at each draw."""
    if getattr(formatter, "_qwenlab_drawable", False):
        return
    labels = formatter.format_ticks  # its own, or one set on it already (cost plots' dated times)

    def format_ticks(values: Any) -> list[str]:
        return [drawable(label) for label in labels(values)]

    formatter.format_ticks = format_ticks
    formatter._qwenlab_drawable = True
