"""Text in synthetic images: which strings a prompt asks to see, and fonts that can draw them.

A prompt's quoted strings ('...', "...", ‘...’, “...”, 「...」 and the others of
`qwenlab.core.expected_text`) are what a poster should read; they are drawn as headlines so that
an OCR check can find them. Fonts: Pillow's built-in scalable font (`ImageFont.load_default(size)`)
first; it lacks accented capitals (È, Ê), so a string it cannot draw falls back to DejaVu Sans Bold
as shipped inside matplotlib (a qwenlab dependency, so present wherever qwenlab is installed), and
if even that is missing, to the string without its accents.

Chinese, Japanese and Korean. Neither of those fonts has CJK glyphs, so a string with Han, kana or
Hangul characters is drawn with a CJK font of the system (Latin letters in it too): the file that
`QWENLAB_CJK_FONT` names, else the first found of `CJK_FONT_LOCATIONS` (WenQuanYi or Noto Sans CJK
on Linux, PingFang or STHeiti on macOS, Microsoft YaHei, SimHei, SimSun, Yu Gothic or Malgun Gothic
on Windows; `cjk_font_path()` says which). macOS and Windows have one; on Debian/Ubuntu
`apt-get install fonts-wqy-microhei` (a 1.6 MB package) adds one. WITHOUT A CJK FONT, CJK CHARACTERS SHOW AS
EMPTY BOXES, and `qwenlab.emulator.synthetic.headlines` says so (□ for each), so that a score of
such an image is compared with the boxes, not with text the image does not show. CJK text wraps
between any two characters (it has no spaces); Latin words are never split.

Imperfect text (synthetic behaviour, NOT a claim about Qwen-Image). So that a text score can be
told apart from a constant, the emulator misspells some quoted strings, at a rate that depends on
the request and nothing else, deterministically (the same request and seed misspell the same
strings the same way; another seed throws the dice again). For a string drawn with glyphs of
`px` pixels (the font size after fitting) with `n` letters and digits (a CJK character counts as
one letter):

    p = (0.06 + 0.015 * max(0, n - 8) + 0.004 * max(0, 48 - px))
        * 0.6 if promptExtend is on
        * 0.5 if the negative prompt names text flaws (misspell, typo, distorted/garbled/blurry/
              illegible/wrong text or letters, gibberish, bad typography)
    capped at 0.85.

So a 9-character headline at 87 px is misspelled 7.5% of the time without help; a 24-character
subheading at 51 px 30%; the same with promptExtend and such a negative prompt 9%. A 4-character
Chinese headline (新年快乐) at 87 px: 6%, at 43 px (a 512 px wide image) 8%; a 16-character
Chinese subheading at 51 px 18%. A misspelled string has exactly one edit in one of its words,
chosen by the same dice: two neighbouring characters swapped, one dropped (in words of 3+), one
doubled, or one replaced (a letter by the letter 7 places on, a digit by the digit 3 on).
In a string with CJK characters, a run of them counts as one such word (a Latin word beside it
keeps the Latin rule), and the edit is: two neighbouring characters swapped (快乐 -> 乐快), one
dropped (in runs of 2+: each character is a word), one doubled (not the first or last of a run:
全全场五折 holds 全场五折 whole, and reads as it beside another word), or one replaced by another
character of its script, 7 places on in a short list of common characters of distinct shapes
(Han 春雪花星海竹山火心雨, Hiragana あかさたなまやらわん, Katakana アカサタナマヤラワン; a character
not in the list by the one at its code point modulo 10) or, for Hangul, the same syllable with
the initial consonant 7 places on. `misspell_probability` and `misspell` are the rule;
`qwenlab.emulator.synthetic.headlines(scene)` tells what a scene draws for each string.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import random
import re
import threading
import unicodedata
import warnings
from pathlib import Path

from PIL import ImageFont

from ..core import expected_text

__all__ = ["quoted_strings", "font", "font_for", "drawable", "fit_lines", "misspell_probability", "misspell",
           "mentions_text_flaws", "is_cjk", "has_cjk", "cjk_font_path", "as_seen", "CJK_FONT_ENV", "CJK_FONT_LOCATIONS"]

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
    `rng`; the result always differs from `text` in its letters or digits, case aside. In a string
    with CJK characters, a run of them is edited by the CJK rule (see the module docstring)."""
    if has_cjk(text):
        return _misspell_cjk(text, rng)
    spans = [m.span() for m in re.finditer(r"\w+", text) if sum(c.isalnum() for c in m.group()) >= 2]
    if not spans:
        spans = [m.span() for m in re.finditer(r"\w", text)]
    if not spans:
        return text
    for _ in range(20):
        start, end = rng.choice(spans)
        new = _edit_word(text[start:end], rng)
        if new is not None:
            return text[:start] + new + text[end:]
    start, end = spans[0]  # dice that found nothing to change: double the first character
    return text[:start] + text[start] + text[start:]


def _edit_word(word: str, rng: random.Random) -> str | None:
    """One edit of a Latin word by the dice, or None where the dice drew one that does not apply."""
    i = rng.randrange(len(word))
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap" and i + 1 < len(word) and word[i].casefold() != word[i + 1].casefold():
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop" and len(word) >= 3:
        return word[:i] + word[i + 1:]
    if kind == "double" and word[i].isalnum():
        return word[:i] + word[i] + word[i:]
    if kind == "replace" and word[i].isascii() and word[i].isalnum():
        return word[:i] + _shifted(word[i]) + word[i + 1:]
    return None


# Replacements for a CJK character: common characters of distinct shapes, written the same in
# simplified and traditional Chinese and in Japanese, and in every CJK font qwenlab looks for
# (tests check the one found). Simple ones with look-alikes (大/天, 日/目, 石/右, 木/本) are left
# out, so a replaced character reads as another character, not as the same one drawn badly.
_HAN = "春雪花星海竹山火心雨"
_HIRAGANA = "あかさたなまやらわん"
_KATAKANA = "アカサタナマヤラワン"


def _misspell_cjk(text: str, rng: random.Random) -> str:
    """One edit of a string with CJK characters: in a run of CJK characters (each is a word to
    the scorer) or, by the same dice, in a Latin word of the string."""
    spans = []
    for m in re.finditer(r"\w+", text):
        start = m.start()
        for k in range(m.start() + 1, m.end() + 1):  # cut a word where it turns from CJK to Latin
            if k == m.end() or is_cjk(text[k]) != is_cjk(text[k - 1]):
                piece = text[start:k]
                if is_cjk(piece[0]) or sum(c.isalnum() for c in piece) >= 2:
                    spans.append((start, k))
                start = k
    for _ in range(20):
        start, end = rng.choice(spans)
        piece = text[start:end]
        new = _edit_cjk(piece, rng) if is_cjk(piece[0]) else _edit_word(piece, rng)
        if new is not None:
            return text[:start] + new + text[end:]
    start = next(k for k, ch in enumerate(text) if is_cjk(ch))  # dice that found nothing: replace a character
    return text[:start] + _replacement(text[start]) + text[start + 1:]


def _edit_cjk(run: str, rng: random.Random) -> str | None:
    """One edit of a run of CJK characters by the dice, or None where it does not apply."""
    i = rng.randrange(len(run))
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap" and i + 1 < len(run) and run[i] != run[i + 1]:
        return run[:i] + run[i + 1] + run[i] + run[i + 2:]
    if kind == "drop" and len(run) >= 2:   # every character is a word: a run of two keeps one
        return run[:i] + run[i + 1:]
    if kind == "double" and 0 < i < len(run) - 1:
        # not the first or last: 全全场五折 reads as 全场五折 beside a 全, which no score (nor
        # reader) can tell from a neighbouring word; inside a run, 全场场五折 is plainly wrong
        return run[:i] + run[i] + run[i:]
    if kind == "replace":
        return run[:i] + _replacement(run[i]) + run[i + 1:]
    return None


def _replacement(ch: str) -> str:
    """Another character of the same script: the one 7 places on in its list (a Hangul syllable:
    the same vowel and final after the initial consonant 7 places on)."""
    cp = ord(ch)
    if 0xAC00 <= cp <= 0xD7A3:
        initial, rest = divmod(cp - 0xAC00, 588)
        return chr(0xAC00 + ((initial + 7) % 19) * 588 + rest)
    pool = _HIRAGANA if 0x3040 <= cp <= 0x309F else _KATAKANA if 0x30A0 <= cp <= 0x30FF else _HAN
    k = pool.find(ch)
    return pool[(k + 7) % len(pool)] if k >= 0 else pool[cp % len(pool)]


def _shifted(ch: str) -> str:
    if ch.isdigit():
        return str((int(ch) + 3) % 10)
    base = ord("A") if ch.isupper() else ord("a")
    return chr(base + (ord(ch) - base + 7) % 26)


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


def is_cjk(ch: str) -> bool:
    """Whether `ch` is a Han, Hiragana, Katakana or Hangul character: the same ranges as the
    scorer's (`qwenlab.typography.scoring`, where each such character is a word)."""
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or (0x3040 <= cp <= 0x30FF and cp != 0x30FB)
            or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F)  # U+30FB ・ is punctuation


def has_cjk(text: str) -> bool:
    """Whether `text` holds a CJK character (`is_cjk`)."""
    return any(is_cjk(ch) for ch in text)


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
    lo, hi = 1, int(max(f.getlength(line) for line in lines))
    while lo < hi:   # the narrowest width that still wraps into as many lines
        mid = (lo + hi) // 2
        if len(_wrap(pieces, f, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    return _wrap(pieces, f, hi)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The unbreakable pieces of `text`, each with whether a space joins it to the one before."""
    out: list[tuple[str, bool]] = []
    for word in text.split() or [text]:
        start = 0
        for k in range(1, len(word)):
            if _breakable(word[k - 1], word[k]):
                out.append((word[start:k], start == 0))
                start = k
        out.append((word[start:], start == 0))
    return out


def _breakable(before: str, ch: str) -> bool:
    # a break before a CJK character that follows one, or follows CJK punctuation (，。、！「」...):
    # never before punctuation, which would start a line, nor inside a Latin word
    return is_cjk(ch) and (is_cjk(before) or "\u3000" <= before <= "\u303f" or "\uff01" <= before <= "\uff65")
