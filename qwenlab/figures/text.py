"""Text on a grid: wrapped labels that keep their size, image captions, footnotes, file-name slugs.

Matplotlib does not wrap text to a box, and shrinking a font until a label fits makes it
unreadable. So labels are wrapped with `textwrap` to a width in characters estimated from the
box width and the font size, and the figure grows to hold the lines instead; a label that would
need more lines than its box holds ends with "…" (its full text is in the footnotes). A wide
character (Chinese, Japanese, Korean, full-width forms) takes a full em, not the average 0.6 of
a Latin one, and a line may break between two of them (such text has no spaces).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Sequence

from ..core.glyphs import drawable
from ..core.scripts import LATIN_EM, line_units, wrap_units
from ..core.values import without_latin_accents
from ..paths import reserved_on_windows
from ..store.axes import names_axis
from ..store.catalog import REPEAT, AxisInfo, Catalog, Entry

__all__ = ["chars", "line_height", "wrap_lines", "heading", "stamp_text", "footnotes", "slug", "page_slug",
           "TITLE_PT", "SUBTITLE_PT", "LABEL_PT", "CAPTION_PT", "STAMP_PT", "BLANK_PT", "NOTE_PT"]

# Font sizes in points: fixed, never scaled down with the figure
TITLE_PT = 15.0
SLUG_LIMIT = 40  # characters of a file-name part made from a label: names stay short on Windows' 260
SUBTITLE_PT = 9.5
LABEL_PT = 10.5
CAPTION_PT = 7.0
STAMP_PT = CAPTION_PT  # the name captions had when they were stamped on the image
BLANK_PT = 8.0
NOTE_PT = 8.0

_LINE_SPACING = 1.3
BOLD_EM = 0.68  # a bold Latin letter's width in ems, with room to spare (see wrap_lines)
NBSP = "\u00a0"


def chars(width_in: float, fontsize: float) -> int:
    """How many characters of this font size fit in `width_in` inches (at least 8)."""
    return max(8, int(width_in * 72 / (fontsize * LATIN_EM)))


def line_height(fontsize: float) -> float:
    """Height of one line of text, in inches."""
    return fontsize * _LINE_SPACING / 72


def wrap_lines(text: str, width_in: float, fontsize: float, max_lines: int | None = None, *,
               bold: bool = False) -> list[str]:
    """`text` wrapped to a box `width_in` inches wide; its own line breaks are kept. With
    `max_lines`, the last line kept ends with "…" when the text is longer. `bold`: text drawn
    bold, whose letters are wider."""
    text = drawable(text)  # an emoji no installed font has: its name, not an empty box (`qwenlab.core.glyphs`)
    # bold letters average 0.58 to 0.61 em as drawn at 60 to 100 dpi (DejaVu Sans), and more in
    # a line of capitals and digits, against the 0.6 estimated: the provenance line filled the
    # page's width, and a notebook's 1400-px display (95 dpi) cut its last letters at the edge
    width = chars(width_in * (LATIN_EM / BOLD_EM if bold else 1.0), fontsize)
    lines = wrap_units(text, width)
    if max_lines is not None and len(lines) > max(1, max_lines):
        keep = max(1, max_lines)
        lines = lines[:keep]
        last = lines[-1].rstrip()
        while last and line_units(last) > width - 1:  # room for the "…"
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return lines


def heading(info: AxisInfo, value: Any) -> str:
    """A row or column header: "promptExtend: on", "repeat 1", or "prompt 2: A premium beauty…"."""
    label = info.label(value)
    if info.name == REPEAT:
        return f"repeat {value}"
    if names_axis(label, info.name):
        return label
    return f"{info.name}: {label}"


def stamp_text(entry: Entry, catalog: Catalog, axes: Sequence[str], repeat: bool = True) -> str:
    """What an image's caption says: the value of every axis in `axes`, the repeat (unless
    `repeat` is False: a header says it, or there is one), the image index if a task made
    several, and the seed the API reported ("seed ?" for an image when none came back; "seed 42
    sent" for a pinned seed without an image; nothing for a cell without an image that sent none:
    its blank says what failed, and no seed was there to report)."""
    parts = [catalog.axes[a].tag(entry.value(a)) for a in axes if a != REPEAT and a in catalog.axes]
    if repeat:
        parts.append(f"r{entry.repeat}")
    if entry.result:
        parts.append(f"img {entry.result + 1}")
    if entry.seed is not None:
        parts.append(f"seed {entry.seed}")
    elif entry.requested_seed is not None:
        parts.append(f"seed {entry.requested_seed} sent")
    elif not entry.failed:
        parts.append("seed ?")
    # a no-break space inside each short part, so wrapping never parts "seed" from its number
    return " · ".join(p.replace(" ", NBSP) if len(p) <= 18 else p for p in parts)


def footnotes(catalog: Catalog, entries: Iterable[Entry]) -> list[str]:
    """The full texts behind shortened labels of the values on a page, and the prompt and
    negative prompt when one is shared by every image of the page and no axis names it."""
    entries = list(entries)
    notes: list[str] = []
    for name, info in catalog.axes.items():
        for value in catalog.values(name, entries):
            note = info.note(value)
            if note and note not in notes:
                notes.append(note)
    # the prompt itself, when the whole page shares one and no note above already holds it; where
    # the page holds several that no axis names (experiments compared after a prompt edit), each
    # with the axis value it goes with, or the edit being compared would show nowhere
    for head, of in (("prompt", lambda e: e.prompt), ("negative prompt", lambda e: e.negative_prompt)):
        texts = {of(e) for e in entries}
        sent = [t for t in dict.fromkeys(of(e) for e in entries) if t]
        if len(sent) == 1:
            if not any(sent[0] in n for n in notes):
                notes.append(f"{head}{' (where sent)' if len(texts) > 1 else ''}: {sent[0]}")
            continue
        unnamed = [t for t in sent if not any(t in n for n in notes)]
        # the axis is looked for among the images that sent one: where a second axis leaves it out
        # (the demo's negative with/without), each text still goes with its example
        by = _axis_behind(catalog, [e for e in entries if of(e)], of) if unnamed else None
        where = " (where sent)" if len(texts) > len(sent) else ""
        for k, text in enumerate(unnamed, 1):
            if by is None:
                notes.append(f"{head} {k} of {len(sent)} on this page: {text}")
                continue
            values = catalog.values(by, [e for e in entries if of(e) == text])
            notes.append(f"{head}{where}, {' or '.join(heading(catalog.axes[by], v) for v in values)}: {text}")
    return notes


def _axis_behind(catalog: Catalog, entries: list[Entry], of: Any) -> str | None:
    """The first axis whose value on this page decides `of(entry)` (each value one text), if any."""
    for name in catalog.axes:
        if name == REPEAT:
            continue
        seen: dict[str, Any] = {}
        for e in entries:
            key = repr(e.value(name))
            if seen.setdefault(key, of(e)) != of(e):
                break
        else:
            if len(seen) > 1:
                return name
    return None


def slug(text: str) -> str:
    """A file-name part from a label: "perfume billboard (LUMIÈRE NOIR)" -> "perfume-billboard-lumiere-noir",
    "新年海报 v2" -> "新年海报-v2": letters and digits of any script are kept (every system in use
    names files in Unicode), Latin letters without their accents, anything else a hyphen."""
    # cut, then stripped: a cut just after a word left "...-1024x1536-.png"
    return re.sub(r"[\W_]+", "-", without_latin_accents(text)).strip("-").lower()[:SLUG_LIMIT].rstrip("-") or "page"


def page_slug(labels: list[str]) -> str:
    """A grid page's file-name part from its values' labels, each kept in part: cut as one string at
    40 characters, ["art deco perfume (AURELIS NOIR)", "1024x1536", "without"] lost the last value,
    so that the pages "with" and "without" a negative prompt were named alike. The longest part
    loses its last word until all fit: "art-deco-perfume-1024x1536-without"."""
    if not labels:
        return ""  # no page axis: the page's own label names it
    parts = [slug(label) for label in labels]
    while parts and len("-".join(parts)) > SLUG_LIMIT:
        i = max(range(len(parts)), key=lambda k: len(parts[k]))
        words = parts[i].rsplit("-", 1)
        shorter = words[0] if len(words) == 2 else parts[i][: max(1, len(parts[i]) - (len("-".join(parts)) - SLUG_LIMIT))]
        if shorter == parts[i]:
            break
        parts[i] = shorter
    return slug("-".join(parts))


def file_stem(name: str) -> str:
    """A file name for what is named `name` (an experiment): its slug, with a short hash of the
    name when the slug is not the name itself, so that "posters/v2" and "posters-v2" do not
    write over each other's default report or grid, and that "con" or "aux", which Windows keeps
    for devices, make a file there too."""
    stem = slug(name)
    if stem == name and not reserved_on_windows(stem):
        return stem
    return f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:6]}"
