"""An explorer's pages: the tiles it shows, in order, a page at a time, and moving through them.

The order is the entries that pass the filters, sorted by row, column, the chosen sort, then the
sweep's order; it is computed once (with each entry's place on the axes) and kept until a control
changes, or, after a rating that changes it, until the next page is shown. `go` turns pages, `step`
moves the selection by tiles across pages, and `on_key` maps the arrow keys, PageUp/PageDown and
Home/End onto them.

A page holds at most `page_size` tiles and keeps the grid's cells whole (`page_starts`): a cell
that does not fit in what is left of a page starts the next one, so a user comparing a cell's
repeats sees all of them at once. A cell larger than a page is split, at the sweep's own cells
(its repeats together) where they fit, and the page label says which pages it spans.

`ExplorerPages` holds these methods of `Explorer` (qwenlab/widgets/explorer.py), which inherits them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any, Hashable, Sequence

from ..store.catalog import REPEAT, Catalog, Entry
from .filters import ALL  # the filter value meaning "every value", the facets' too
from .tiles import position

if TYPE_CHECKING:
    import ipywidgets as widgets

    from ..typography.badges import ScoreBadges
    from .detail import DetailPane
    from .filters import EntryFilters

__all__ = ["ExplorerPages", "ALL", "KEYS", "KEY_LEGEND", "page_starts"]

_STEPS = {"ArrowLeft": -1, "ArrowUp": -1, "ArrowRight": 1, "ArrowDown": 1}
KEYS = [*_STEPS, "PageUp", "PageDown", "Home", "End"]
KEY_LEGEND = [("← →", "previous, next image"), ("PgUp PgDn", "page"), ("Home End", "first, last")]


def _runs(keys: Sequence[Hashable], lo: int, hi: int) -> list[tuple[int, int]]:
    """The [start, end) spans of equal consecutive keys in keys[lo:hi]."""
    spans, start = [], lo
    for i in range(lo + 1, hi):
        if keys[i] != keys[i - 1]:
            spans.append((start, i))
            start = i
    if hi > lo:
        spans.append((start, hi))
    return spans


def page_starts(levels: Sequence[Sequence[Hashable]], size: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Where each page starts, for items whose groups are given by `levels`: per level, one key
    per item (the grid's cell, then the sweep's cell inside it); equal consecutive keys make a
    group. A page takes whole groups of the first level while they fit in `size` tiles; a group
    that does not fit in what is left starts the next page; a group larger than a page starts a
    page and is split by the next level's groups the same way (by `size` at the last level).
    Returns (the pages' first indexes, from 0; the [start, end) spans of first-level groups
    larger than a page, which a page label names)."""
    n = len(levels[0]) if levels else 0
    starts, split = [0], []
    used = 0  # tiles on the page being filled

    def fill(lo: int, hi: int, level: int) -> None:
        nonlocal used
        for a, b in _runs(levels[level], lo, hi):
            count = b - a
            if count <= size - used:
                used += count
                continue
            if used:  # what is left of this page cannot hold it: it starts the next one
                starts.append(a)
                used = 0
            if count <= size:
                used = count
            elif level + 1 < len(levels):
                if level == 0:
                    split.append((a, b))
                fill(a, b, level + 1)
            else:
                if level == 0:
                    split.append((a, b))
                starts.extend(range(a + size, b, size))
                used = (count - 1) % size + 1  # on its last page

    if n:
        fill(0, n, 0)
    return starts, split


class ExplorerPages:
    """The order and the pages of `Explorer`, which it inherits; they read its controls and
    selection, and show a page with its `select` and `_render`."""

    catalog: Catalog
    filters: dict[str, widgets.Dropdown]
    rows: widgets.Dropdown
    cols: widgets.Dropdown
    sort_toggle: widgets.Checkbox
    facets: EntryFilters
    badges: ScoreBadges
    pane: DetailPane
    page: int
    page_size: int
    selected: Entry | None
    _items: list[Entry] | None
    _stale: bool
    _places: dict[str, dict[int, tuple[int, str]]]
    _paged: tuple[list[Entry], list[int], list[tuple[int, int]]] | None = None  # (items, page starts, cells split)

    def _place(self, axis: str, e: Entry) -> tuple[int, str]:
        """`position(catalog, axis, e)`, computed once per entry and axis."""
        places = self._places.setdefault(axis, {})
        key = id(e)
        if key not in places:
            places[key] = position(self.catalog, axis, e)
        return places[key]

    @property
    def items(self) -> list[Entry]:
        """The entries that pass the filters, ordered by row, column, the chosen sort, then the sweep's order."""
        if self._items is None:
            cat = self.catalog
            wanted = {a: int(f.value) for a, f in self.filters.items() if f.value != ALL}
            keep = [e for e in cat.entries if all(self._place(a, e)[0] == i for a, i in wanted.items())
                    and self.facets.keep(e)]
            rows, cols = self.rows.value, self.cols.value
            others = [a for a in cat.axes if a not in (rows, cols)]
            by_score = self.sort_toggle.value and bool(self.badges)
            self._items = sorted(keep, key=lambda e: (
                self._place(rows, e), self._place(cols, e), self.facets.sort_key(e),
                self.badges.sort_key(e.image_id) if by_score else (0, 0.0),
                *(self._place(a, e) for a in others), e.result))
        return self._items

    def _paging(self) -> tuple[list[int], list[tuple[int, int]]]:
        """(the pages' first indexes in `items`, the cells split over pages), made once per order."""
        items = self.items
        if self._paged is None or self._paged[0] is not items:
            rows, cols = self.rows.value, self.cols.value
            grid = [(self._place(rows, e), self._place(cols, e)) for e in items]
            # inside a grid cell larger than a page, the sweep's cells: an image's values on every
            # axis but the repeat (its repeats stay together)
            axes = [a for a in self.catalog.axes if a != REPEAT]
            sweep = [tuple(self._place(a, e) for a in axes) for e in items]
            starts, split = page_starts([grid, sweep], self.page_size)
            self._paged = (items, starts, split)
        return self._paged[1], self._paged[2]

    @property
    def pages(self) -> int:
        """How many pages the tiles in view make (each cell of the grid whole where it fits)."""
        return len(self._paging()[0])

    def page_span(self, page: int) -> tuple[int, int]:
        """[start, end) of page `page` (0-based) in `items`."""
        starts = self._paging()[0]
        page = min(max(0, page), len(starts) - 1)
        return starts[page], starts[page + 1] if page + 1 < len(starts) else len(self.items)

    def page_of(self, index: int) -> int:
        """The page (0-based) that shows `items[index]`."""
        return bisect_right(self._paging()[0], index) - 1

    def split_note(self, page: int) -> str:
        """What the page label says when the page shows part of a cell larger than a page ("" when none)."""
        start, end = self.page_span(page)
        for a, b in self._paging()[1]:
            if a < end and start < b:
                first, last = self.page_of(a) + 1, self.page_of(b - 1) + 1
                return (f"a cell of {b - a} tiles, more than a page ({self.page_size}) holds, "
                        f"spans pages {first}–{last}")
        return ""

    @property
    def page_items(self) -> list[Entry]:
        """The entries on the page shown."""
        start, end = self.page_span(self.page)
        return self.items[start:end]

    def go(self, page: int) -> None:
        """Show page `page` (0-based; clamped to the pages there are)."""
        if self._stale:  # ratings changed the filter or the order since this page was drawn
            self._items, self._stale = None, False
        self.page = min(max(0, page), self.pages - 1)
        self._render()

    def step(self, by: int) -> Entry | None:
        """Select the tile `by` places after the selected one (before, when negative), turning the
        page when it is on another; with none selected, the first tile of the page; with the one
        selected on another page than the one shown (turned with PageDown), the first tile of the
        page shown going forwards, its last going backwards. What the arrow keys do. Returns the entry selected (None when there are no tiles)."""
        items = self.items
        if not items:
            return None
        ids = [id(e) for e in items]
        first, end = self.page_span(self.page)
        first = min(first, len(items) - 1)
        last = max(first, end - 1)
        at = ids.index(id(self.selected)) if self.selected is not None and id(self.selected) in ids else None
        if at is not None and first <= at <= last:
            index = min(max(0, at + by), len(items) - 1)
        elif at is not None:
            # selected on another page (PageDown turned away from it): the keys go on from the page
            # shown, → at its first tile, ← at its last; they jumped back to the selection's page
            index = min(max(0, (first - 1 + by) if by > 0 else (last + 1 + by)), len(items) - 1)
        else:
            index = first
        target = items[index]
        if self.page_of(index) != self.page:
            self.go(self.page_of(index))  # which redoes the order if ratings changed it meanwhile
            items = self.items
            if not items:
                return None
            ids = [id(e) for e in items]
            if id(target) not in ids:  # rated out of the filter: the first of the page instead
                target = items[min(self.page_span(self.page)[0], len(items) - 1)]
            elif self.page_of(ids.index(id(target))) != self.page:
                self.go(self.page_of(ids.index(id(target))))
        self.select(target)
        return target

    def on_key(self, key: str) -> None:
        """A key pressed in the explorer (see the module's docstring for what each does)."""
        if key in _STEPS:
            self.step(_STEPS[key])
        elif key in ("PageUp", "PageDown"):
            self.go(self.page + (1 if key == "PageDown" else -1))
        elif key in ("Home", "End") and self.items:
            self.step(-len(self.items) if key == "Home" else len(self.items))

    def _on_layout_change(self, _change: dict[str, Any]) -> None:
        self.page = 0
        self._items = None
        if self.selected is not None and all(e is not self.selected for e in self.items):
            # filtered away: the viewer and its request go with it, or they showed an image the grid left out
            self.selected = None
            self.pane.show(None, "", {})
        self._render()
