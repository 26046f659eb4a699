"""The spec of one comparison grid: what every page of it shares (its axes, its layout choices, the
score marks asked for) and where the pixels drawn come from (each image's cached thumbnail, or a
region of it cut at full resolution). `qwenlab.figures.grid.build_grid` makes it; each page is
laid out (`qwenlab.figures.page_layout`) and drawn (`qwenlab.figures.page`) from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store.catalog import Catalog, Entry
from ..store.thumbnails import Unreadable, thumbnails_of
from ..typography.badges import ScoreBadges
from .region import Region, crops_of

__all__ = ["GridSpec", "load_thumbnails", "ASPECTS"]

ASPECTS = (0.25, 4.0)  # the narrowest and widest box an image (or a region of it) gets


def load_thumbnails(entries: list[Entry], size: int, workers: int | None = None) -> dict[str, Any]:
    """path -> pixels of its cached thumbnail (made in threads where missing). A file that is gone
    or unreadable maps to the reason, which its blank tile shows."""
    found = thumbnails_of((e.path for e in entries), size, "pixels", workers=workers)
    return {p: str(v) if isinstance(v, Unreadable) else v for p, v in found.items()}


@dataclass
class GridSpec:
    """What every page of one grid shares: its axes, its layout choices, the score marks asked for."""

    catalog: Catalog
    rows: str | None
    cols: str | None
    facet: str | None
    title: str
    cell_size: float
    dpi: float
    captions: bool
    region: Region | None
    thumb: int
    workers: int | None
    badges: ScoreBadges | None
    frame: bool    # a frame in the score's colour, the score in the caption
    sort: bool     # best score first within a cell
    reading: bool  # outline what the OCR read

    def pixels(self, entries: list[Entry]) -> dict[str, Any]:
        """path -> what is drawn of it: the region at full resolution, else the cached
        thumbnail; the reason where there is none (its blank says it)."""
        if self.region is not None:
            found = crops_of((e.path for e in entries), self.region, self.workers)
            return {p: str(v) if isinstance(v, Unreadable) else v for p, v in found.items()}
        return load_thumbnails(entries, self.thumb, self.workers)

    def header_axes(self, key: dict[str, Any]) -> set[str]:
        """The axes a page's title, headers and facet headings already name."""
        return {a for a in (self.rows, self.cols, self.facet, *key) if a}
