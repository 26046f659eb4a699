"""What a page of a comparison grid says around its images: the caption under each image (only
what the headers and the subtitle do not say), the subtitle's lines, the score scale's title and
the footnotes. `qwenlab.figures.page_layout` wraps and measures them; `qwenlab.figures.page` draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.values import count_of
from ..store.catalog import REPEAT, Catalog, Entry
from ..typography.badges import ScoreBadges
from ..typography.scoring import score_figure
from .grid_spec import ASPECTS, GridSpec
from .text import NOTE_PT, footnotes, stamp_text, wrap_lines

__all__ = ["Captions", "subtitle_lines", "scale_title_text", "footnote_lines"]

_MAX_NOTE_LINES = 60  # footnotes beyond this are cut (the log has every prompt in full)


@dataclass(frozen=True)
class Captions:
    """What the caption under each image of a page says: only what the headers and the subtitle do not."""

    spec: GridSpec
    axes: list[str]  # the axes that vary within the page and no header names
    repeat: bool     # whether repeats differ within a cell

    @classmethod
    def of(cls, spec: GridSpec, entries: list[Entry], key: dict[str, Any]) -> "Captions":
        headed = spec.header_axes(key)
        axes = [a for a in spec.catalog.axes if a != REPEAT and a not in headed
                and len(spec.catalog.values(a, entries)) > 1]
        return cls(spec, axes, REPEAT not in headed and len({e.repeat for e in entries}) > 1)

    def text(self, e: Entry) -> str:
        # which images of a mixed grid are synthetic is said even without captions
        synthetic = e.synthetic and self.spec.catalog.provenance.mixed
        if not self.spec.captions:
            return "SYNTHETIC" if synthetic else ""
        text = stamp_text(e, self.spec.catalog, self.axes, repeat=self.repeat)
        if synthetic:
            text = "SYNTHETIC · " + text
        badges = self.spec.badges
        badge = badges.get(e.image_id) if badges is not None and self.spec.frame else None
        if badge is not None and e.path:
            text += " · " + badge.label.replace(" ", "\u00a0")
        return text

    def says(self) -> str:
        """The subtitle's account of the captions."""
        if not self.spec.captions:
            return "no captions"
        named = [*self.axes, *(["the repeat"] if self.repeat else []), "the seed the API reported"]
        return "under each image: " + (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0])


def subtitle_lines(spec: GridSpec, entries: list[Entry], key: dict[str, Any], page_label: str, captions: Captions,
                   arrays: dict[str, Any] | None = None) -> list[str]:
    """The lines under the title (unwrapped): the page's values, what every image shares, the
    counts, what the captions say, and the outlines' legend. `arrays` (path -> pixels) lets a
    page of regions say when it draws them smaller than their own pixels."""
    catalog = spec.catalog
    fixed = [catalog.axes[a].tag(catalog.values(a, entries)[0]) for a in catalog.axes
             if a != REPEAT and a not in key and len(catalog.values(a, entries)) == 1]
    logged = [e for e in entries if not e.failed]
    # an image logged but not drawn (its file gone or damaged) is a blank too: "4 images" over
    # two images and two blanks sent the eye looking for pictures that are not there
    n_lost = sum(1 for e in logged if arrays is not None and isinstance(arrays.get(e.path or "", ""), str))
    n_img = len(logged) - n_lost
    n_blank = len(entries) - len(logged)
    sub = ([page_label] if page_label else []) + ([f"same on every image: {' · '.join(fixed)}"] if fixed else [])
    if spec.region is not None:
        sub.append(f"region {spec.region} of each image (x0, y0, x1, y1 as fractions), cut from the original at full resolution"
                   + _shrunk(spec, arrays or {}))
    sub.append(count_of(n_img, "image")
               + (f", {count_of(n_lost, 'image')} logged but unreadable ({'its tile says' if n_lost == 1 else 'their tiles say'} why)"
                  if n_lost else "")
               + (f", {n_blank} cell{'s' if n_blank > 1 else ''} without an image" if n_blank else "")
               + f" · {captions.says()}")
    badges = spec.badges
    if badges is not None and not badges:
        sub.append(badges.legend())  # says how to get scores
    if badges and badges.left_out:  # images only another engine scored: not in the colours nor the means
        sub.append(str(badges.left_out))
    if badges and spec.reading:
        sub.append("outlines: the lines the OCR read; green an expected string read exactly, orange misread, grey other text")
    return sub


def _shrunk(spec: GridSpec, arrays: dict[str, Any]) -> str:
    """What the region line adds where the page draws some region below its own pixels: how far
    below, and the cell size that draws every one 1:1 ("at full resolution" alone read as if
    a headline shown at a third of its pixels were what the model drew)."""
    scales = []
    for pixels in arrays.values():
        if isinstance(pixels, str) or getattr(pixels, "ndim", 0) < 2:
            continue  # no image: its blank says why
        h, w = pixels.shape[:2]
        # drawn cell_size high, unless wider than the widest box, which then holds it by its width
        scales.append(spec.cell_size * spec.dpi * min(1 / h, ASPECTS[1] / w))
    least = min(scales, default=1.0)
    if least >= 0.95:  # a few percent off is not what makes text unreadable
        return ""
    need = math.ceil(spec.cell_size / least * 10) / 10
    return (f", drawn at {least:.0%} of its pixels: cell_size={need:g} (--cell-size {need:g}) draws every region "
            "at its own pixels")


def scale_title_text(badges: ScoreBadges, entries: list[Entry], *, captions: bool) -> str:
    """What the frames' colours mean, with the mean score of this page's images; where the score
    is written too (`captions=False` draws no caption, so it is not "in each caption")."""
    ids = [e.image_id for e in entries if e.image_id is not None]
    mean, n = badges.mean(ids), badges.scored(ids)
    return (f"frame colour: {badges.name} of the text read by OCR ({badges.engine})"
            + (f", mean {score_figure(mean)} over this page's {n} scored image{'s' if n != 1 else ''}" if mean is not None else "")
            + ("; the score is in each caption" if captions else ""))


def footnote_lines(catalog: Catalog, entries: list[Entry], text_w: float) -> list[str]:
    """The footnotes (full texts of shortened labels), wrapped to `text_w` inches and cut at _MAX_NOTE_LINES."""
    note_lines: list[str] = []
    for n in footnotes(catalog, entries):
        note_lines.extend(wrap_lines(n, text_w, NOTE_PT))
    if len(note_lines) > _MAX_NOTE_LINES:
        note_lines = note_lines[: _MAX_NOTE_LINES - 1] + ["… (every prompt is in full in the log: exp.df.prompt)"]
    return note_lines
