"""The explorer: an experiment's images in a notebook, by any two axes, with ratings.

    exp.explore()                 # or qwenlab.widgets.explorer.explore(exp)

Pick the row and column axes and filter any axis, from the experiment's own axes; the images
come as thumbnails a page at a time (at most 48 by default), so a few hundred images stay
responsive. A page keeps the grid's cells whole (all of a cell's repeats on one page); a cell
larger than a page is split, and the page label says which pages it spans.
Click one to see it at full resolution in the compare viewer (`qwenlab.widgets.compare`: once
the picture is clicked the wheel zooms, or with Ctrl held; drag pans, double-click fits), as wide
as the notebook, with its full request: the prompt,
the exact JSON sent, seed, cost, latency, attempts, errors, and any fields the API returned that
qwenlab does not model (the log's `images.api_extra`). "pin for compare" keeps an image in the
viewer, so the next ones clicked are shown beside it, zoomed and panned together (up to 4).
The arrow keys move through the tiles (left/up: previous, right/down: next, across pages),
PageUp/PageDown turn pages, Home/End go to the first and last, 1 to 5 rate the image shown. A failed cell is a grey tile with
its error; an image whose file is gone (deleted since, or its data folder moved) or damaged is a
tile that says so ("image missing"), never its old thumbnail, and a click on it says why. Both
have the shape of the image they stand for (its logged size), as the grid's blanks do. A page taller than the window scrolls in the grid's own box (at most 85% of the window's
height), its column headings kept at the top and its row headings at the left while the tiles scroll.

Beside the axes, tiles filter by status, rating, text score and cost, and sort within each cell by
rating, text score, cost or status (`qwenlab.widgets.filters`): `exp.explore(rating=">=4",
sort="cost")`.

Ratings (a score from 1 to 5 and a note) are written to the log's `ratings` table the moment
they are given, one row per change (an image's latest row is its rating), and are shown again on
the tiles and in the detail whenever an explorer is opened on that experiment.

Text scores (`qwenlab.typography`), where the log holds them: "colour by text score" frames each
tile in its score's colour (red 0, amber 0.5, green 1) with the score in its caption, "sort by
text score" puts the best first within each cell, and the detail shows the score, what was
missing or read instead, and a button that outlines what the OCR read over the image. The
explorer never runs OCR (`exp.score_text()` does); with no scores stored these controls are hidden.

Its header says where the images came from: the offline emulator's are SYNTHETIC with emulated
costs (an amber banner), a MIXED experiment says so and captions each synthetic tile "synthetic".
Of an experiment whose sweep is still sending, it says so ("still running"): "reload" reads the
log again for the images logged since. A cell whose request is on the wire then reads "running"
(waiting for its answer); "in_doubt" is for a cell sent whose run ended, or whose process died,
without an answer (`qwenlab.store.log.status_word`).

A tile's thumbnail has a pixel for every pixel of the screen it is drawn on (its width, `thumb_px`,
times the device pixel ratio the browser tells, 1 until it has: `qwenlab.widgets.tiles.tile_size`),
so a poster's small text reads on the tiles, on a Retina screen too.

Nothing here blocks the kernel: callbacks read the log and cached thumbnails
(`qwenlab.store.thumbnails`), and the next page's thumbnails are made ahead in a background thread
that touches files only (`qwenlab.widgets.tiles`). Only the page shown gets thumbnails; the sorted,
filtered order and each entry's place on the axes are computed once and kept until a control
changes, so a 2,000-image experiment opens in well under a second (`python -m qwenlab.bench.explorer`).
"""

from __future__ import annotations

import getpass
import html
from typing import TYPE_CHECKING, Any

from ..html.request_view import REQUEST_CSS, request_html
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.experiment import provenance_banner
from ..typography.badges import score_badges
from .compare import MAX_IMAGES, CompareViewer
from .detail import SCORES, DetailPane, api_extra_html, int_or_none
from .display import with_text
from .explorer_pages import ALL, KEY_LEGEND, KEYS, ExplorerPages
from .filters import EntryFilters
from .keys import KeyShortcuts
from .require import require_ipywidgets
from .tiles import TILE_CSS, TileGrid

if TYPE_CHECKING:
    import ipywidgets as widgets

    from ..store.experiment import ExperimentRecord

__all__ = ["Explorer", "explore", "latest_ratings", "default_judge", "PAGE_SIZE", "SCORES"]

PAGE_SIZE = 48
_NONE = ""  # the axis choice meaning "no axis"
KEYS_CLASS = "qwenlab-keys"  # the element whose keys reach `on_key`: the whole explorer
# a digit rates the image shown: rating 2,000 images took a click on a small star each, between
# the arrow keys that step to the next
RATING_KEYS = {str(s): s for s in SCORES}


def default_judge() -> str:
    """Who rates when no one is named: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user entry (some containers)
        return "me"


def latest_ratings(exp: "ExperimentRecord") -> dict[int, dict[str, Any]]:
    """image_id -> its latest rating (score, note, judge, created_at) in this experiment; a later
    note without a score keeps the score (`Log.latest_ratings`)."""
    return exp.log.latest_ratings(exp.id)


def explore(exp: "ExperimentRecord", **kw: Any) -> "Explorer":
    """Open the explorer on an experiment (see `Explorer` for the options)."""
    return Explorer(exp, **kw)


class Explorer(ExplorerPages):
    """The explorer widget of one experiment. Show it by leaving it last in a cell.

    rows, cols: axes to lay out (default: the first two axes with more than one value).
    page_size: at most this many tiles per page; a page keeps the grid's cells whole (a cell larger
    than a page is split, and the page label says so). thumb_px: tile width on screen, in CSS pixels
    (its thumbnail is made with as many pixels as the screen draws it on). judge: the name stored with
    ratings (default: the OS user).
    status, rating, score, max_cost, sort: the filters and order to open with (see
    `qwenlab.widgets.filters`), e.g. status="failed", rating=">=4", score="<0.5", sort="cost".
    height: the viewer's height in pixels (default: as tall as the window allows).
    """

    def __init__(self, exp: "ExperimentRecord", *, rows: str | None = None, cols: str | None = None,
                 page_size: int = PAGE_SIZE, thumb_px: int = 150, judge: str | None = None,
                 status: str | None = None, rating: str | int | None = None, score: str | float | None = None,
                 max_cost: float | None = None, sort: str | None = None, height: int = 0) -> None:
        w = require_ipywidgets()
        self.exp = exp
        self.page_size = max(1, int(page_size))
        self.judge = judge or default_judge()
        self.page = 0
        self.selected: Entry | None = None
        self._items: list[Entry] | None = None  # the filtered, sorted order, until a control changes
        self._stale = False  # a rating changed what the filter or the order would give: redone at the next page
        self.facets = EntryFilters(status=status, rating=rating, score=score, max_cost=max_cost, sort=sort)
        self._load()
        self.catalog.check_axes(rows or None, cols or None)
        self._build_controls(w, rows, cols)
        self._build_pager(w, thumb_px)
        self.pane = DetailPane(exp, height)
        self.pane.badges = self.badges
        self.detail = self.pane.widget
        self._wire_events()
        self.widget = self._build_layout(w)
        self._render()

    # -- building ----------------------------------------------------------------------------------
    def _build_controls(self, w: Any, rows: str | None, cols: str | None) -> None:
        """The header, the row/column choices, a filter per axis and the text-score toggles."""
        cat = self.catalog
        narrow = {"description_width": "initial"}
        choices = [("—", _NONE)] + [(a, a) for a in cat.axes]
        varying = self._varying
        self.rows = w.Dropdown(options=choices, value=rows if rows is not None else _nth(varying, 0),
                               description="rows", style=narrow, layout=w.Layout(width="auto"))
        self.cols = w.Dropdown(options=choices, value=cols if cols is not None else _nth(varying, 1),
                               description="columns", style=narrow, layout=w.Layout(width="auto"))
        self.filters: dict[str, widgets.Dropdown] = {}
        for axis, info in cat.axes.items():
            if axis == REPEAT:
                continue
            opts = [("all", ALL)] + [(info.label(v), str(i)) for i, v in enumerate(info.values)]
            self.filters[axis] = w.Dropdown(options=opts, value=ALL, description=axis, style=narrow,
                                            layout=w.Layout(width="auto"))
        self.header = w.HTML()
        self.colour_toggle = w.Checkbox(value=False, description="colour by text score", indent=False,
                                        layout=w.Layout(width="auto"))
        self.sort_toggle = w.Checkbox(value=False, description="sort by text score", indent=False,
                                      layout=w.Layout(width="auto"))
        self.score_controls = w.HBox([self.colour_toggle, self.sort_toggle], layout=w.Layout(grid_gap="10px"))
        self.keys = KeyShortcuts({k: k for k in [*KEYS, *RATING_KEYS]}, scope=KEYS_CLASS,
                                 legend=[*KEY_LEGEND, ("1-5", "rate the image shown")],
                                 hint="click a picture to use the keys:",
                                 follow=(".qwl-tile.qwl-selected", ".qwl-grid", ".qwl-colhead", ".qwl-rowhead"))
        self.keys.on_action(self.on_key)

    def _build_pager(self, w: Any, thumb_px: int) -> None:
        """The page buttons and label, and the grid of tiles they page through."""
        self.prev_button = w.Button(description="◀ prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="next ▶", layout=w.Layout(width="80px"))
        self.reload_button = w.Button(description="reload", tooltip="read the log again (a sweep still running)",
                                      layout=w.Layout(width="80px"))
        self.page_label = w.HTML()
        self.grid = TileGrid(thumb_px, self.select)

    def _wire_events(self) -> None:
        """Connect every control to what it does."""
        for s, button in zip(SCORES, self.score_buttons):
            button.on_click(lambda _b, s=s: self.rate(score=s))
        self.note.observe(self._on_note, names="value")
        for dropdown in (self.rows, self.cols, *self.filters.values()):
            dropdown.observe(self._on_layout_change, names="value")
        self.facets.observe(self._on_layout_change)
        self.prev_button.on_click(lambda _b: self.go(self.page - 1))
        self.next_button.on_click(lambda _b: self.go(self.page + 1))
        self.reload_button.on_click(lambda _b: self.reload())
        self.colour_toggle.observe(lambda _c: self._render(), names="value")
        self.sort_toggle.observe(self._on_layout_change, names="value")

    def _build_layout(self, w: Any) -> Any:
        """The whole explorer: styles, header, controls, pager, then the grid beside the detail."""
        controls = w.HBox([self.rows, self.cols, w.HTML("&nbsp;&nbsp;<b>filter</b>"), *self.filters.values(),
                           self.score_controls],
                          layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        facets = w.HBox([w.HTML("<b>show</b>"), *self.facets.widgets],
                        layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        pager = w.HBox([self.prev_button, self.next_button, self.page_label, self.reload_button],
                       layout=w.Layout(align_items="center"))
        # the detail (the viewer) above the grid, as wide as the notebook: a 30-px label must be readable
        widget = w.VBox([w.HTML(f"<style>{TILE_CSS}{REQUEST_CSS}</style>"), self.keys.widget, self.header, controls,
                         facets, pager, self.detail, self.grid.widget, self.grid.screen.widget])
        widget.add_class("qwenlab-explorer")
        widget.add_class(KEYS_CLASS)  # arrow keys pressed anywhere in it reach `on_key`
        return widget

    # -- data --------------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the experiment's cells, images and ratings from the log."""
        self.catalog = Catalog.load(self.exp)
        self.image_rows = {int(img["id"]): img for img in self.exp.log.images(self.exp.id)}
        self.ratings = latest_ratings(self.exp)
        self.badges = score_badges(self.exp)  # the log's text scores: no OCR here
        # a sweep still sending its cells: the header says so, and that "reload" brings what it logs
        # next (the grid is what the log held when it was read; nothing said it was not all)
        self._running = self.catalog.live  # `ExperimentRecord.status`, read with the cells (`Catalog.load`)
        if "pane" in self.__dict__:
            self.pane.badges = self.badges
        self._varying = [a for a in self.catalog.varying if a != REPEAT]  # once: it scans every entry
        self._places: dict[str, dict[int, tuple[int, str]]] = {}  # axis -> id(entry) -> its position
        self._items = None
        self.facets.refresh(self.catalog.entries, self.ratings, self.badges, live=self.catalog.live)

    def reload(self) -> None:
        """Read the log again (new images of a sweep still running, ratings given elsewhere)."""
        # the selection is kept across the reload: noted first, since the status filter's options
        # said anew (a cell sent reads "in_doubt" once its run ended) reset it on the way
        kept = (self.selected.task_id, self.selected.image_id) if self.selected is not None else None
        self._load()
        if kept is not None:
            same = [e for e in self.catalog.entries if (e.task_id, e.image_id) == kept]
            self.selected = same[0] if same else None
        self._render()
        self._show_detail()

    @property
    def entries(self) -> list[Entry]:
        """Every image of the experiment (and each cell without one), as `qwenlab.store.catalog.Entry`."""
        return self.catalog.entries

    @property
    def tiles(self) -> list[Any]:
        """The tiles of the page shown (`.image`, `.caption`, `.hit` the button a click lands on)."""
        return self.grid.tiles

    # -- actions -----------------------------------------------------------------------------------
    def select(self, entry: Entry | int) -> None:
        """Show one entry large with its request (an Entry, or an image id)."""
        if not isinstance(entry, Entry):
            found = [e for e in self.catalog.entries if e.image_id == int(entry)]
            if not found:
                raise KeyError(f"no image {entry} in experiment {self.exp.name!r}")
            entry = found[0]
        self.selected = entry
        self.grid.mark(entry)
        self._show_detail()

    def compare(self, *image_ids: int) -> CompareViewer:
        """Show these images (1 to 4 of this experiment) together in the viewer: the first ones
        pinned, the last one selected. Returns the viewer."""
        entries = []
        for i in image_ids:
            found = [e for e in self.catalog.entries if e.image_id == int(i)]
            if not found:
                raise KeyError(f"no image {i} in experiment {self.exp.name!r}")
            entries.append(found[0])
        if not 1 <= len(entries) <= MAX_IMAGES:
            raise ValueError(f"image_ids: 1 to {MAX_IMAGES} images, got {len(entries)}")
        self.pane.pinned = entries[:-1]
        self.select(entries[-1])
        assert self.pane.viewer is not None
        return self.pane.viewer

    def on_key(self, key: str) -> None:
        """A key pressed in the explorer: 1 to 5 rate the image shown (nothing where the cell has
        no image); the others move through the tiles and pages (`ExplorerPages.on_key`)."""
        if key in RATING_KEYS:
            if self.selected is not None and self.selected.image_id is not None:
                self.rate(RATING_KEYS[key])
            return
        super().on_key(key)

    def rate(self, score: int | None = None, note: str | None = None) -> int:
        """Rate the selected image now (a new row in the log's ratings; the latest one counts).
        Leaving out `score` or `note` keeps the current one. Returns the rating's id."""
        e = self.selected
        if e is None or e.image_id is None:
            raise ValueError("select an image first (click a thumbnail, or explorer.select(image_id)); "
                             "a cell without an image cannot be rated")
        if score is not None and score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        current = self.ratings.get(e.image_id, {})
        score = score if score is not None else int_or_none(current.get("score"))
        note = note if note is not None else current.get("note")
        if (current and current.get("judge") == self.judge and int_or_none(current.get("score")) == score
                and (current.get("note") or None) == (note or None) and current.get("id") is not None):
            return int(current["id"])  # the same rating again (a second click on the star): nothing new to keep
        rid = self.exp.log.rate(e.image_id, score=score, note=note or None, judge=self.judge)
        self.ratings[e.image_id] = {"id": rid, "image_id": e.image_id, "score": score, "note": note or None,
                                    "judge": self.judge}
        self.pane.show_rating(self.ratings[e.image_id])
        self._show_header()
        if self.facets.rating.value != ALL or self.facets.sort.value == "rating":
            # the order or the filter depends on ratings: taken into account at the next page, not
            # now, so that the arrow keys go on from the image just rated (it may leave the filter)
            self._stale = True
        for tile in self.tiles:
            if tile.entry is e:
                tile.caption.value = self._caption(e)
        return rid

    def _rated(self) -> int:
        """Images with a score: what the "rated" filter shows (a note alone is no rating)."""
        return sum(1 for r in self.ratings.values() if r.get("score") is not None)

    def _on_note(self, change: dict[str, Any]) -> None:
        if self.pane.syncing or self.selected is None or self.selected.image_id is None:
            return
        self.rate(note=change["new"] or "")

    # -- drawing -----------------------------------------------------------------------------------
    def _render(self) -> None:
        items = self.items
        self.page = min(self.page, self.pages - 1)
        start, end = self.page_span(self.page)
        shown = items[start:end]
        self._show_header()
        split = self.split_note(self.page)
        self.page_label.value = (f"&nbsp;page {self.page + 1} of {self.pages} · {len(shown)} of {len(items)} shown"
                                 + (f" · <i>{html.escape(split)}</i>" if split else "") + "&nbsp;")
        if not items:  # an empty grid said "0 of 0 shown": not which filters left nothing, nor of how many
            n = len(self.catalog.entries)
            self.page_label.value = (f"&nbsp;<b>none of the {n} tile{'s' if n != 1 else ''} passes the filters</b>: "
                                     f"{html.escape(self._filters_text())}&nbsp;" if n else
                                     "&nbsp;<b>no cell logged yet</b>&nbsp;")
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.grid.show(self.catalog, shown, self.rows.value, self.cols.value, [self._caption(e) for e in shown],
                       self.selected)
        # the next two pages and the one before: where a page turn or an arrow key goes next
        ahead = self.page_span(self.page + 2)[1] if self.page + 1 < self.pages else end
        before = self.page_span(self.page - 1)[0] if self.page > 0 else start
        self.grid.make_ahead(items[end:ahead] + items[before:start])
        self.score_controls.layout.display = "flex" if self.badges else "none"
        colour = self.colour_toggle.value and bool(self.badges)
        self.grid.frame(lambda e: getattr(self.badges.get(e.image_id), "hex", "#aaaaaa")
                        if colour and e.image_id is not None else None)

    def _show_header(self) -> None:
        n_img = sum(1 for e in self.catalog.entries if e.image_id is not None)
        blank = len(self.catalog.entries) - n_img
        self.header.value = provenance_banner(self.catalog.provenance) + (
            f"<b>{html.escape(self.exp.name)}</b> · {n_img} image{'s' if n_img != 1 else ''}"
            + (f", {blank} cell{'s' if blank != 1 else ''} without one" if blank else "")
            + f" · {self._rated()} rated"
            + (" · <b>still running</b>: a sweep is sending its cells; “reload” shows those logged since"
               if self._running else "")
            + (f" · {len(self.badges)} text-scored ({html.escape(str(self.badges.engine))})" if self.badges else "")
            # "(engine)" just before names it: the short form, as the report has it
            + (f"<br><small>{html.escape(self.badges.left_out.sentence())}</small>" if self.badges.left_out else ""))

    def _caption(self, e: Entry) -> str:
        cat = self.catalog
        # what the row and column headers say, or a filter holds to one value, is not repeated
        shown = {self.rows.value, self.cols.value, *(a for a, f in self.filters.items() if f.value != ALL)}
        bits = [cat.axes[a].tag(e.value(a)) for a in self._varying if a not in shown]
        bits.append(f"r{e.repeat}")
        if e.synthetic and cat.provenance.mixed:
            bits.insert(0, "synthetic")
        if e.image_id is not None:
            bits.append(f"seed {e.seed}")
        else:
            bits.append(f"[{e.status_said}{': ' + str(e.error_code) if e.error_code else ''}]")
        text = html.escape(" · ".join(bits))
        rating = self.ratings.get(e.image_id) if e.image_id is not None else None
        if rating and (rating.get("score") is not None or rating.get("note")):
            text += f" <b>{'★' + str(int_or_none(rating['score'])) if rating.get('score') is not None else '✎'}</b>"
        badge = self.badges.get(e.image_id)
        if badge is not None and self.colour_toggle.value:
            text += f" <b style='color:{badge.hex}'>{html.escape(badge.label)}</b>"
        return f"<div class='qwl-cap'>{text}</div>"

    def _show_detail(self) -> None:
        e = self.selected
        row = self.image_rows.get(e.image_id or -1) if e is not None else None
        info = request_html(e, row, self.catalog) + api_extra_html(row) if e is not None else ""
        rating = self.ratings.get(e.image_id, {}) if e is not None and e.image_id is not None else {}
        self.pane.show(e, info, rating)

    def __getattr__(self, name: str) -> Any:
        # the detail panel's parts (note, info, score_buttons, viewer, big, pin, ...) read as the
        # explorer's own, as they were before the panel had a module of its own
        pane = self.__dict__.get("pane")
        if pane is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(pane, name)

    # -- showing -----------------------------------------------------------------------------------
    def _filters_text(self) -> str:
        """The filters set, as "size=512x768, rating=★ ≥ 4" ("" for none)."""
        return ", ".join([f"{a}={dict((v, k) for k, v in f.options)[f.value]}" for a, f in self.filters.items()
                          if f.value != ALL] + ([self.facets.describe()] if self.facets.describe() else []))

    def __repr__(self) -> str:
        axes = f"rows={self.rows.value or '—'}, cols={self.cols.value or '—'}"
        filt = self._filters_text()
        sel = ""
        if self.selected is not None:
            sel = f"; selected image {self.selected.image_id}" if self.selected.image_id is not None \
                else f"; selected cell {self.selected.task_id}"
        mark = self.catalog.provenance.mark()
        return (f"Explorer({self.exp.name!r}: {len(self.items)} of {len(self.catalog.entries)} tiles, {axes}"
                f"{', filters ' + filt if filt else ''}, page {self.page + 1}/{self.pages}, {self._rated()} rated{sel}"
                f"{'; ' + mark if mark else ''})")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text(self.widget._repr_mimebundle_(**kwargs), repr(self))

    def close(self) -> None:
        """Close the widgets and stop the thumbnail threads."""
        self.grid.close()
        self.pane.close()
        self.widget.close()


def _nth(names: list[str], i: int) -> str:
    return names[i] if len(names) > i else _NONE
