"""The explorer: an experiment's images in a notebook, by any two axes, with ratings.

    exp.explore()                 # or qwenlab.widgets.explorer.explore(exp)

Pick the row and column axes and filter any axis, from the experiment's own axes; the images
come as thumbnails a page at a time (48 by default), so a few hundred images stay responsive.
Click one to see it large with its full request: the prompt, the exact JSON sent, seed, cost,
latency, attempts and errors. A failed cell is a grey tile with its error.

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

Nothing here blocks the kernel: callbacks read the log and cached thumbnails
(`qwenlab.store.thumbnails`), and the next page's thumbnails are made ahead in a background thread
that touches files only (`qwenlab.widgets.tiles`).
"""

from __future__ import annotations

import getpass
import html
from typing import TYPE_CHECKING, Any

from ..core.values import present
from ..html.request_view import REQUEST_CSS, request_html
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.experiment import provenance_banner
from ..typography.badges import score_badges
from ..typography.draw import reading_overlay
from .require import require_ipywidgets
from .tiles import TILE_CSS, TileGrid, position, thumb_jpeg

if TYPE_CHECKING:
    import ipywidgets as widgets

    from ..store.experiment import ExperimentRecord

__all__ = ["Explorer", "explore", "latest_ratings", "default_judge", "PAGE_SIZE", "SCORES"]

PAGE_SIZE = 48
SCORES = (1, 2, 3, 4, 5)
_ALL = "*"  # the filter value meaning "every value"
_NONE = ""  # the axis choice meaning "no axis"
_DETAIL_SIZE = 768


def default_judge() -> str:
    """Who rates when no one is named: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user entry (some containers)
        return "me"


def latest_ratings(exp: "ExperimentRecord") -> dict[int, dict[str, Any]]:
    """image_id -> its latest rating (score, note, judge, created_at) in this experiment."""
    return {int(r["image_id"]): r for r in exp.log.ratings(exp.id)}  # a later rating replaces an earlier one


def explore(exp: "ExperimentRecord", **kw: Any) -> "Explorer":
    """Open the explorer on an experiment (see `Explorer` for the options)."""
    return Explorer(exp, **kw)


class Explorer:
    """The explorer widget of one experiment. Show it by leaving it last in a cell.

    rows, cols: axes to lay out (default: the first two axes with more than one value).
    page_size: tiles per page. thumb_px: tile width on screen. judge: the name stored with
    ratings (default: the OS user).
    """

    def __init__(self, exp: "ExperimentRecord", *, rows: str | None = None, cols: str | None = None,
                 page_size: int = PAGE_SIZE, thumb_px: int = 150, judge: str | None = None) -> None:
        w = require_ipywidgets()
        self.exp = exp
        self.page_size = max(1, int(page_size))
        self.judge = judge or default_judge()
        self.page = 0
        self.selected: Entry | None = None
        self._syncing = False
        self._load()
        self.catalog.check_axes(rows or None, cols or None)
        self._build_controls(w, rows, cols)
        self._build_pager(w, thumb_px)
        self._build_detail(w)
        self._wire_events()
        self.widget = self._build_layout(w)
        self._render()

    # -- building ----------------------------------------------------------------------------------
    def _build_controls(self, w: Any, rows: str | None, cols: str | None) -> None:
        """The header, the row/column choices, a filter per axis and the text-score toggles."""
        cat = self.catalog
        narrow = {"description_width": "initial"}
        choices = [("—", _NONE)] + [(a, a) for a in cat.axes]
        varying = [a for a in cat.varying if a != REPEAT]
        self.rows = w.Dropdown(options=choices, value=rows if rows is not None else _nth(varying, 0),
                               description="rows", style=narrow, layout=w.Layout(width="auto"))
        self.cols = w.Dropdown(options=choices, value=cols if cols is not None else _nth(varying, 1),
                               description="columns", style=narrow, layout=w.Layout(width="auto"))
        self.filters: dict[str, widgets.Dropdown] = {}
        for axis, info in cat.axes.items():
            if axis == REPEAT:
                continue
            opts = [("all", _ALL)] + [(info.label(v), str(i)) for i, v in enumerate(info.values)]
            self.filters[axis] = w.Dropdown(options=opts, value=_ALL, description=axis, style=narrow,
                                            layout=w.Layout(width="auto"))
        self.header = w.HTML()
        self.colour_toggle = w.Checkbox(value=False, description="colour by text score", indent=False,
                                        layout=w.Layout(width="auto"))
        self.sort_toggle = w.Checkbox(value=False, description="sort by text score", indent=False,
                                      layout=w.Layout(width="auto"))
        self.score_controls = w.HBox([self.colour_toggle, self.sort_toggle], layout=w.Layout(grid_gap="10px"))

    def _build_pager(self, w: Any, thumb_px: int) -> None:
        """The page buttons and label, and the grid of tiles they page through."""
        self.prev_button = w.Button(description="◀ prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="next ▶", layout=w.Layout(width="80px"))
        self.reload_button = w.Button(description="reload", tooltip="read the log again (a sweep still running)",
                                      layout=w.Layout(width="80px"))
        self.page_label = w.HTML()
        self.grid = TileGrid(thumb_px, self.select)

    def _build_detail(self, w: Any) -> None:
        """The panel of the selected image (hidden until one is): rating, text score, picture, request."""
        self.reading_button = w.ToggleButton(value=False, description="show what was read",
                                             tooltip="outline the text the OCR read (stored in the log)",
                                             layout=w.Layout(width="auto"))
        self.score_info = w.HTML()
        self.score_box = w.HBox([self.reading_button, self.score_info], layout=w.Layout(align_items="flex-start",
                                                                                        grid_gap="8px"))
        self.big = w.Image(format="jpeg", layout=w.Layout(width="360px"))
        self.info = w.HTML(layout=w.Layout(flex="1 1 300px", min_width="300px"))
        self.score_buttons = [w.Button(description=f"{s} ★", tooltip=f"rate {s}", layout=w.Layout(width="52px"))
                              for s in SCORES]
        self.note = w.Text(placeholder="a note (Enter saves)", continuous_update=False, layout=w.Layout(width="320px"))
        self.rating_label = w.HTML()
        rating_box = w.HBox([w.HTML("<b>rating</b>&nbsp;"), *self.score_buttons, self.note, self.rating_label],
                            layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.detail = w.VBox([rating_box, self.score_box, w.HBox([self.big, self.info], layout=w.Layout(
            align_items="flex-start", flex_flow="row wrap", grid_gap="8px"))],
            layout=w.Layout(display="none", border="1px solid #ddd", padding="6px", flex="1 1 480px", min_width="0"))

    def _wire_events(self) -> None:
        """Connect every control to what it does."""
        for s, button in zip(SCORES, self.score_buttons):
            button.on_click(lambda _b, s=s: self.rate(score=s))
        self.note.observe(self._on_note, names="value")
        for dropdown in (self.rows, self.cols, *self.filters.values()):
            dropdown.observe(self._on_layout_change, names="value")
        self.prev_button.on_click(lambda _b: self.go(self.page - 1))
        self.next_button.on_click(lambda _b: self.go(self.page + 1))
        self.reload_button.on_click(lambda _b: self.reload())
        self.colour_toggle.observe(lambda _c: self._render(), names="value")
        self.sort_toggle.observe(self._on_layout_change, names="value")
        self.reading_button.observe(lambda _c: self._show_picture(), names="value")

    def _build_layout(self, w: Any) -> Any:
        """The whole explorer: styles, header, controls, pager, then the grid beside the detail."""
        controls = w.HBox([self.rows, self.cols, w.HTML("&nbsp;&nbsp;<b>filter</b>"), *self.filters.values(),
                           self.score_controls],
                          layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        pager = w.HBox([self.prev_button, self.next_button, self.page_label, self.reload_button],
                       layout=w.Layout(align_items="center"))
        # the grid and the detail side by side (the detail wraps below on a narrow screen)
        body = w.HBox([self.grid.widget, self.detail], layout=w.Layout(flex_flow="row wrap", align_items="flex-start",
                                                                      grid_gap="12px"))
        widget = w.VBox([w.HTML(f"<style>{TILE_CSS}{REQUEST_CSS}</style>"), self.header, controls, pager, body])
        widget.add_class("qwenlab-explorer")
        return widget

    # -- data --------------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the experiment's cells, images and ratings from the log."""
        self.catalog = Catalog.load(self.exp)
        self.image_rows = {int(img["id"]): img for img in self.exp.log.images(self.exp.id)}
        self.ratings = latest_ratings(self.exp)

        self.badges = score_badges(self.exp)  # the log's text scores: no OCR here

    def reload(self) -> None:
        """Read the log again (new images of a sweep still running, ratings given elsewhere)."""
        self._load()
        if self.selected is not None:  # keep the selection across the reload
            same = [e for e in self.catalog.entries if (e.task_id, e.image_id) == (self.selected.task_id, self.selected.image_id)]
            self.selected = same[0] if same else None
        self._render()
        self._show_detail()

    @property
    def entries(self) -> list[Entry]:
        """Every image of the experiment (and each cell without one), as `qwenlab.store.catalog.Entry`."""
        return self.catalog.entries

    @property
    def items(self) -> list[Entry]:
        """The entries that pass the filters, ordered by row, column, then the sweep's order."""
        cat = self.catalog
        keep = [e for e in cat.entries if all(f.value == _ALL or cat.axes[a].index(e.value(a)) == int(f.value)
                                              for a, f in self.filters.items())]
        rows, cols = self.rows.value, self.cols.value
        others = [a for a in cat.axes if a not in (rows, cols)]
        by_score = self.sort_toggle.value and bool(self.badges)
        return sorted(keep, key=lambda e: (position(cat, rows, e), position(cat, cols, e),
                                           self.badges.sort_key(e.image_id) if by_score else (0, 0.0),
                                           *(position(cat, a, e) for a in others), e.result))

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.items) // self.page_size))

    @property
    def page_items(self) -> list[Entry]:
        """The entries on the page shown."""
        start = self.page * self.page_size
        return self.items[start:start + self.page_size]

    @property
    def tiles(self) -> list[Any]:
        """The tiles of the page shown (`.image`, `.caption`, `.hit` the button a click lands on)."""
        return self.grid.tiles

    # -- actions -----------------------------------------------------------------------------------
    def go(self, page: int) -> None:
        """Show page `page` (0-based; clamped to the pages there are)."""
        self.page = min(max(0, page), self.pages - 1)
        self._render()

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
        score = score if score is not None else _int_or_none(current.get("score"))
        note = note if note is not None else current.get("note")
        rid = self.exp.log.rate(e.image_id, score=score, note=note or None, judge=self.judge)
        self.ratings[e.image_id] = {"id": rid, "image_id": e.image_id, "score": score, "note": note or None,
                                    "judge": self.judge}
        self._show_rating()
        self._show_header()
        for tile in self.tiles:
            if tile.entry is e:
                tile.caption.value = self._caption(e)
        return rid

    def _on_note(self, change: dict[str, Any]) -> None:
        if self._syncing or self.selected is None or self.selected.image_id is None:
            return
        self.rate(note=change["new"] or "")

    def _on_layout_change(self, _change: dict[str, Any]) -> None:
        self.page = 0
        self._render()

    # -- drawing -----------------------------------------------------------------------------------
    def _render(self) -> None:
        items = self.items
        self.page = min(self.page, self.pages - 1)
        start = self.page * self.page_size
        shown = items[start:start + self.page_size]
        self._show_header()
        self.page_label.value = f"&nbsp;page {self.page + 1} of {self.pages} · {len(shown)} of {len(items)} shown&nbsp;"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.grid.show(self.catalog, shown, self.rows.value, self.cols.value, [self._caption(e) for e in shown],
                       self.selected)
        self.grid.make_ahead(items[start + self.page_size:start + 2 * self.page_size])
        self.score_controls.layout.display = "flex" if self.badges else "none"
        colour = self.colour_toggle.value and bool(self.badges)
        self.grid.frame(lambda e: getattr(self.badges.get(e.image_id), "hex", "#aaaaaa")
                        if colour and e.image_id is not None else None)

    def _show_header(self) -> None:
        n_img = sum(1 for e in self.catalog.entries if e.image_id is not None)
        self.header.value = provenance_banner(self.catalog.provenance) + (
            f"<b>{html.escape(self.exp.name)}</b> · {n_img} images, "
                             f"{len(self.catalog.entries) - n_img} cells without one · {len(self.ratings)} rated"
                             + (f" · {len(self.badges)} text-scored ({html.escape(str(self.badges.engine))})"
                                if self.badges else ""))

    def _caption(self, e: Entry) -> str:
        cat = self.catalog
        shown = (self.rows.value, self.cols.value)
        bits = [cat.axes[a].tag(e.value(a)) for a in cat.varying if a not in (*shown, REPEAT)]
        bits.append(f"r{e.repeat}")
        if e.synthetic and cat.provenance.mixed:
            bits.insert(0, "synthetic")
        if e.image_id is not None:
            bits.append(f"seed {e.seed}")
        else:
            bits.append(f"[{e.status}{': ' + str(e.error_code) if e.error_code else ''}]")
        text = html.escape(" · ".join(bits))
        rating = self.ratings.get(e.image_id) if e.image_id is not None else None
        if rating and (rating.get("score") is not None or rating.get("note")):
            text += f" <b>{'★' + str(_int_or_none(rating['score'])) if rating.get('score') is not None else '✎'}</b>"
        badge = self.badges.get(e.image_id)
        if badge is not None and self.colour_toggle.value:
            text += f" <b style='color:{badge.hex}'>{html.escape(badge.label)}</b>"
        return f"<div class='qwl-cap'>{text}</div>"

    def _show_detail(self) -> None:
        e = self.selected
        if e is None:
            self.detail.layout.display = "none"
            return
        self.detail.layout.display = "flex"
        badge = self.badges.get(e.image_id)
        self.score_box.layout.display = "flex" if badge is not None else "none"
        self.score_info.value = badge.html() if badge is not None else ""
        self._syncing = True  # a new image starts without the overlay
        try:
            self.reading_button.value = False
        finally:
            self._syncing = False
        self._show_picture()
        self.info.value = request_html(e, self.image_rows.get(e.image_id or -1), self.catalog)
        for b in self.score_buttons:
            b.disabled = e.image_id is None
        self.note.disabled = e.image_id is None
        self._show_rating()

    def _show_picture(self) -> None:
        """The selected image large: plain, or with what the OCR read outlined (from the log)."""
        e = self.selected
        if e is None or self._syncing:
            return
        if self.reading_button.value and e.image_id is not None:
            import io

            try:
                buf = io.BytesIO()
                reading_overlay(self.exp, e.image_id, self.badges.engine, width=_DETAIL_SIZE).save(buf, format="JPEG")
                self.big.value = buf.getvalue()
                return
            except (KeyError, OSError) as exc:  # not read, or the file is gone: say so, keep the plain image
                self.score_info.value = f"<i>{html.escape(str(exc))}</i>"
        self.big.value = thumb_jpeg(e.path, _DETAIL_SIZE)

    def _show_rating(self) -> None:
        e = self.selected
        rating = self.ratings.get(e.image_id, {}) if e is not None and e.image_id is not None else {}
        score = _int_or_none(rating.get("score"))
        for s, b in zip(SCORES, self.score_buttons):
            b.button_style = "warning" if score == s else ""
        self._syncing = True  # showing the stored note is not a new note
        try:
            self.note.value = rating.get("note") or ""
        finally:
            self._syncing = False
        if e is not None and e.image_id is None:
            self.rating_label.value = "&nbsp;<i>no image to rate</i>"
        elif rating:
            note = f" · {html.escape(rating['note'])}" if rating.get("note") else ""
            self.rating_label.value = f"&nbsp;saved: {'★' + str(score) if score else 'no score'}{note}"
        else:
            self.rating_label.value = "&nbsp;<i>not rated</i>"

    # -- showing -----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        axes = f"rows={self.rows.value or '—'}, cols={self.cols.value or '—'}"
        filt = ", ".join(f"{a}={dict((v, k) for k, v in f.options)[f.value]}" for a, f in self.filters.items()
                         if f.value != _ALL)
        sel = ""
        if self.selected is not None:
            sel = f"; selected image {self.selected.image_id}" if self.selected.image_id is not None \
                else f"; selected cell {self.selected.task_id}"
        mark = self.catalog.provenance.mark()
        return (f"Explorer({self.exp.name!r}: {len(self.items)} of {len(self.catalog.entries)} tiles, {axes}"
                f"{', filters ' + filt if filt else ''}, page {self.page + 1}/{self.pages}, {len(self.ratings)} rated{sel}"
                f"{'; ' + mark if mark else ''})")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def close(self) -> None:
        """Close the widgets and stop the thumbnail threads."""
        self.grid.close()
        self.widget.close()


def _nth(names: list[str], i: int) -> str:
    return names[i] if len(names) > i else _NONE


def _int_or_none(value: Any) -> int | None:
    value = present(value)
    return None if value is None else int(value)
