"""Axis and table values as users see them: what counts as missing, equality as the log stores
values, and the short label of a value.

    is_missing(float("nan"))      # True: pandas turns an axis value None into NaN
    present(float("nan"))         # None
    same_value(True, 1)           # False: promptExtend on is not the number 1
    format_value(True)            # "on"
    distinct_labels(["...the headline 'LUMIERE'", "...the headline 'LUMIÈRE'"])
                                  # ["…headline 'LUMIERE'", "…headline 'LUMIÈRE'"]

Every module that shows or compares a value calls these, so "none", NaN and on/off read the same
in grids, frames, the explorer, the report and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Iterable

from ..money import (  # the one rule, kept in a foundation the progress bar shares
    format_usd,
    format_usd_column,
    format_usd_estimates,
)

__all__ = ["without_latin_accents", "cut_utf8", "is_missing", "plain", "switch", "present", "same_value", "format_value", "format_usd", "format_usd_column", "format_usd_estimates", "excerpt", "distinct_labels", "label_list", "count_of", "folded"]

# words of context kept before the place where two texts part, so a label reads "…headline 'LUMIÈRE'"
_CONTEXT = 10


def is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT (what a frame puts where the log had nothing)."""
    if value is None:
        return True
    if isinstance(value, float):
        return bool(value != value)
    # numpy's NaN, pandas' NaT: unequal to themselves (checked without importing pandas)
    try:
        return bool(value != value)
    except TypeError:  # pandas' NA: its truth value is ambiguous by design
        return True
    except ValueError:  # an array: a value, not a missing one
        return False


def without_latin_accents(text: str) -> str:
    """`text` with the accents of its Latin letters taken off ("LUMIÈRE" -> "LUMIERE"), for file
    names ("LUMI-RE" read as another word); every other letter as it was: ガ keeps its voicing
    mark, a Korean syllable stays one character."""
    import unicodedata

    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def cut_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never inside a character: file systems count
    a name's bytes (255 at most), and a Chinese character takes three."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def plain(value: Any) -> Any:
    """A numpy scalar (np.int64(20), np.float32, np.bool_: what a frame or a range in a notebook
    gives) as the Python number it holds, a numpy array as a list of them (a row of
    `df[["w", "h"]].values` is a size); anything else as it is."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        ndim = getattr(value, "ndim", None)
        if ndim == 0 and hasattr(value, "item"):
            return value.item()
        if isinstance(ndim, int) and ndim > 0:
            # an array's truth value is ambiguous: every check that tested one crashed on it
            return value.tolist()
    return value


def switch(name: str, value: Any) -> bool:
    """An on/off parameter as the bool it is (numpy's bool too, as a frame gives it); ValueError
    naming the parameter otherwise: rejudge="no" is a true string, and would have done the opposite."""
    value = plain(value)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {type(value).__name__} {value!r}"
                         + (" (a non-empty string is true in Python, \"no\", \"false\" and \"0\" too)"
                            if isinstance(value, str) else ""))
    return value


def present(value: Any) -> Any:
    """The value, or None where it is missing (see `is_missing`)."""
    return None if is_missing(value) else value


def same_value(a: Any, b: Any) -> bool:
    """Axis values equal as the log stores them (True is not 1; NaN is None)."""
    a, b = present(a), present(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def folded(text: str) -> str:
    """`text` with its white space folded, as a label on a page shows it: runs of spaces, tabs and
    newlines as one space, none at either end ("A poster " and "A  poster" read "A poster")."""
    return " ".join(text.split())


def format_value(value: Any, limit: int = 40) -> str:
    """A short, readable label for an axis value: "none", "on"/"off", or the text cut at `limit`."""
    value = present(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def label_list(labels: Iterable[str]) -> str:
    """An axis's values in a line: "a, b, c", or "a | b" when a value holds a comma or a semicolon
    itself ("none | blurry text, misspelled words"), where a comma could not tell where one ends."""
    labels = [str(x) for x in labels]
    return (" | " if any("," in x or ";" in x for x in labels) else ", ").join(labels)


def count_of(n: int, noun: str) -> str:
    """"1 cell", "3 cells": a count and its noun, as messages say it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def excerpt(text: Any, limit: int) -> str:
    """The start of `text` (white space folded), cut at a word boundary where one is near, ending with "…"."""
    text = folded(str(text))
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def distinct_labels(values: Sequence[Any], limit: int = 40,
                    shorten: Callable[[Any, int], str] = format_value) -> list[str]:
    """Labels for `values` that tell distinct values apart: `shorten(value, limit)` (default
    `format_value`), except where two distinct values would read the same; those show the stretch
    where their texts part, the common start elided ("…headline 'LUMIÈRE'"). Equal values get
    equal labels; distinct values always get distinct ones (a " (2)" is the last resort)."""
    labels = [shorten(v, limit) for v in values]
    texts = [folded(str(present(v))) if present(v) is not None else "" for v in values]
    for label in set(labels):
        group = [i for i, lab in enumerate(labels) if lab == label]
        if len(group) < 2:
            continue
        for i in (i for i in group if isinstance(present(values[i]), str)):
            others = [texts[j] for j in group if isinstance(present(values[j]), str) and texts[j] != texts[i]]
            if others:
                labels[i] = _where_it_differs(texts[i], max(_common_prefix(texts[i], o) for o in others), limit)
    seen: dict[str, Any] = {}
    for i, label in enumerate(labels):  # the last resort: texts equal but values not (None and "none", 1 and "1")
        n = 2
        while label in seen and not same_value(seen[label], values[i]):
            label = f"{labels[i]} ({n})"
            n += 1
        seen.setdefault(label, values[i])
        labels[i] = label
    return labels


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _where_it_differs(text: str, at: int, limit: int) -> str:
    """`text` from a word a little before position `at` (where it parts from the others), "…" before and after."""
    start = text.rfind(" ", 0, max(0, at - _CONTEXT)) + 1
    if at - start > limit // 2:  # too far back: the next word boundary nearer, else inside the word
        near = max(0, at - limit // 3)
        space = text.find(" ", near, at)
        start = space + 1 if space >= 0 else near
    if start <= 3:
        return excerpt(text, limit)
    return "…" + excerpt(text[start:], limit - 1)
