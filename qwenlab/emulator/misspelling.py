"""The emulator's synthetic misspellings of a prompt's quoted strings.

Imperfect text (synthetic behaviour, NOT a claim about Qwen-Image). So that a text score can be
told apart from a constant, the emulator misspells some quoted strings, at a rate that depends on
the request and nothing else, deterministically (the same request and seed misspell the same
strings the same way; another seed throws the dice again). For a string drawn with glyphs of
`px` pixels (the font size after fitting) with `n` letters and digits (a CJK character counts as
one letter):

    p = (0.06 + 0.015 * max(0, n - 8) + 0.004 * max(0, 48 - px))
        * 0.6 if promptExtend is on
        * 0.5 if the negative prompt names text flaws (misspell, typo, distorted/garbled/blurry/
              illegible/wrong text or letters, gibberish, bad typography; in Chinese 错别字, 乱码,
              模糊/错误/扭曲/变形的文字 and the like; in Japanese 誤字, 文字化け)
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

import random
import re

from ..core.scripts import has_cjk, is_cjk

__all__ = ["misspell_probability", "misspell", "mentions_text_flaws"]

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
    r"(distort|garbl|blurr|illegib|unreadabl|wrong|malformed|warped)\w*\s+(text|letter|word|typograph|font)|"
    # the same in Chinese (a negative prompt in the prompt's own language): typos, garbled text,
    # text blurred, wrong, distorted or illegible, either way round; and Japanese typos, mojibake
    r"错别字|错字|乱码|(文字|字体|字母)(模糊|错误|扭曲|变形|不清|难以辨认)|"
    r"(模糊|错误|扭曲|变形|难以辨认)的?(文字|字体|字母)|誤字|文字化け",
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
    for _ in range(20 if spans else 0):  # none: its CJK characters are marks no word holds (゛, ゠)
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
