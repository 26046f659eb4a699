"""An explorer's pages: the tiles it shows, in order, a page at a time, and moving through them.

The order is the entries that pass the filters, sorted by row, column, the chosen sort, then the
sweep's order; it is computed once (with each entry's place on the axes) and kept until a control
changes, or, after a rating that changes it, until the next page is shown. `go` turns pages, `step`
moves the selection by tiles across pages, and `on_key` maps the arrow keys, PageUp/PageDown and
Home/End onto them. `ExplorerPages` holds these methods of `Explorer`
(qwenlab/widgets/explorer.py), which inherits them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store.catalog import Catalog, Entry
from .filters import ALL  # the filter value meaning "every value", the facets' too
from .tiles import position

if TYPE_CHECKING:
    import ipywidgets as widgets

    from ..typography.badges import ScoreBadges
    from .detail import DetailPane
    from .filters import EntryFilters

__all__ = ["ExplorerPages", "ALL", "KEYS", "KEY_LEGEND"]

_STEPS = {"ArrowLeft": -1, "ArrowUp": -1, "ArrowRight": 1, "ArrowDown": 1}
KEYS = [*_STEPS, "PageUp", "PageDown", "Home", "End"]
KEY_LEGEND = [("← →", "previous, next image"), ("PgUp PgDn", "page"), ("Home End", "first, last")]


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

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.items) // self.page_size))

    @property
    def page_items(self) -> list[Entry]:
        """The entries on the page shown."""
        start = self.page * self.page_size
        return self.items[start:start + self.page_size]

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
        first = min(self.page * self.page_size, len(items) - 1)
        last = min(first + self.page_size, len(items)) - 1
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
        if index // self.page_size != self.page:
            self.go(index // self.page_size)  # which redoes the order if ratings changed it meanwhile
            items = self.items
            if not items:
                return None
            ids = [id(e) for e in items]
            if id(target) not in ids:  # rated out of the filter: the first of the page instead
                target = items[min(self.page * self.page_size, len(items) - 1)]
            elif ids.index(id(target)) // self.page_size != self.page:
                self.go(ids.index(id(target)) // self.page_size)
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
