"""The explorer's panel of the selected image: its rating (1-5 and a note), its text score with
"show what was read", the compare viewer at full resolution (with any pinned images beside it),
and its request with the fields the API returned that qwenlab does not model.

The explorer (`qwenlab.widgets.explorer`) decides what is selected and writes ratings; this panel
shows them. Its widgets are read through the explorer too (`explorer.note`, `explorer.info`, ...).
"""

from __future__ import annotations

import html
import io
import json
from typing import TYPE_CHECKING, Any

from ..core.values import present
from ..errors import ImageError
from ..typography.draw import reading_overlay
from .compare import MAX_IMAGES, CompareImage, CompareViewer
from .require import require_ipywidgets

if TYPE_CHECKING:
    from ..store.catalog import Entry
    from ..store.experiment import ExperimentRecord
    from ..typography.badges import ScoreBadges

__all__ = ["DetailPane", "api_extra_html", "SCORES"]

SCORES = (1, 2, 3, 4, 5)


class DetailPane:
    """The panel (`.widget`, hidden until an entry is shown) and its parts."""

    def __init__(self, exp: "ExperimentRecord", height: int = 0) -> None:
        w = require_ipywidgets()
        self.exp = exp
        self.badges: "ScoreBadges | None" = None  # the explorer's, set at each load
        self.entry: Entry | None = None
        self.pinned: list[Entry] = []
        self.viewer: CompareViewer | None = None  # made at the first image shown
        self.height = int(height)
        self.syncing = False  # True while the panel sets its own widgets (not a user's change)
        self.reading_button = w.ToggleButton(value=False, description="show what was read",
                                             tooltip="outline the text the OCR read (stored in the log)",
                                             layout=w.Layout(width="auto"))
        self.score_info = w.HTML()
        self.score_box = w.HBox([self.reading_button, self.score_info], layout=w.Layout(align_items="flex-start",
                                                                                        grid_gap="8px"))
        self.viewer_box = w.Box(layout=w.Layout(width="100%"))
        self.pin_button = w.Button(description="pin for compare", tooltip="keep this image in the viewer: the next one "
                                   "clicked is shown beside it, zoomed and panned together", layout=w.Layout(width="auto"))
        self.unpin_button = w.Button(description="unpin all", layout=w.Layout(width="auto"))
        self.pin_label = w.HTML()
        self.info = w.HTML(layout=w.Layout(width="100%"))
        self.score_buttons = [w.Button(description=f"{s} ★", tooltip=f"rate {s}", layout=w.Layout(width="52px"))
                              for s in SCORES]
        self.note = w.Text(placeholder="a note (Enter saves)", continuous_update=False, layout=w.Layout(width="320px"))
        self.rating_label = w.HTML()
        rating_box = w.HBox([w.HTML("<b>rating</b>&nbsp;"), *self.score_buttons, self.note, self.rating_label],
                            layout=w.Layout(flex_flow="row wrap", align_items="center"))
        pins = w.HBox([self.pin_button, self.unpin_button, self.pin_label], layout=w.Layout(align_items="center",
                                                                                           grid_gap="6px"))
        self.widget = w.VBox([rating_box, w.HBox([pins, self.score_box], layout=w.Layout(
            flex_flow="row wrap", align_items="center", grid_gap="4px 16px")), self.viewer_box, self.info],
            layout=w.Layout(display="none", border="1px solid #ddd", padding="6px", width="100%", min_width="0"))
        self.widget.add_class("qwl-detail-pane")
        self.reading_button.observe(lambda _c: self.show_picture(), names="value")
        self.pin_button.on_click(lambda _b: self.pin())
        self.unpin_button.on_click(lambda _b: self.unpin())

    @property
    def big(self) -> CompareViewer | None:
        """The viewer of the selected image (`.value`: the first image's bytes as sent)."""
        return self.viewer

    def show(self, entry: "Entry | None", info_html: str, rating: dict[str, Any]) -> None:
        """Show `entry` (None hides the panel) with its request as `info_html` and its `rating`."""
        self.entry = e = entry
        if e is None:
            self.widget.layout.display = "none"
            return
        self.widget.layout.display = "flex"
        badge = self.badges.get(e.image_id) if self.badges else None
        self.score_box.layout.display = "flex" if badge is not None else "none"
        self.score_info.value = badge.html() if badge is not None else ""
        self.syncing = True  # a new image starts without the overlay
        try:
            self.reading_button.value = False
        finally:
            self.syncing = False
        self.show_picture()
        self.info.value = info_html
        for b in (*self.score_buttons, self.pin_button):
            b.disabled = e.image_id is None
        self.note.disabled = e.image_id is None
        self.show_rating(rating)

    def pin(self) -> None:
        """Keep the image shown in the viewer: the images shown next appear beside it (up to 4 in
        all; the oldest pin goes first)."""
        e = self.entry
        if e is None or e.image_id is None:
            raise ValueError("select an image first (click a thumbnail, or explorer.select(image_id)); "
                             "a cell without an image cannot be pinned")
        if all(p.image_id != e.image_id for p in self.pinned):
            self.pinned = (self.pinned + [e])[-(MAX_IMAGES - 1):]
        self.show_picture()

    def unpin(self) -> None:
        """Show the selected image alone again."""
        self.pinned = []
        self.show_picture()

    def show_picture(self) -> None:
        """The entry (after any pinned ones) in the viewer at full resolution: plain, or with what
        the OCR read outlined (from the log)."""
        e = self.entry
        if e is None or self.syncing:
            return
        self.unpin_button.disabled = not self.pinned  # it looked live with nothing to unpin
        if e.image_id is None:
            self.viewer_box.children = []  # a cell without an image: its request says why
            self.pin_label.value = ""
            return
        shown = [CompareImage.of_entry(p) for p in self.pinned if p.image_id != e.image_id]
        current = CompareImage.of_entry(e)
        if self.reading_button.value:
            try:
                buf = io.BytesIO()
                engine = self.badges.engine if self.badges else None
                reading_overlay(self.exp, e.image_id, engine, width=e.width or 1024).save(buf, format="JPEG")
                current.data = buf.getvalue()
            except (KeyError, OSError) as exc:  # not read, or the file is gone: say so, keep the plain image
                self.score_info.value = f"<i>{html.escape(str(exc))}</i>"
        shown.append(current)
        try:
            # what the images share, not where they came from: the explorer's header says that
            if self.viewer is None:
                self.viewer = CompareViewer(None, images=shown, height=self.height, banner=False)
            else:
                self.viewer.show(shown, banner=False)
        except ImageError as exc:  # the file is gone: say so where the picture would be
            self.viewer_box.children = [require_ipywidgets().HTML(f"<i>{html.escape(str(exc))}</i>")]
            return
        self.viewer_box.children = [self.viewer.widget]
        self.viewer.reveal()  # it sits above the grid: a tile clicked far down must not leave it off screen
        # named as the detail's heading names an image ("image #32"): "images 32" read as a count
        ids = ", ".join(f"#{p.image_id}" for p in self.pinned)
        self.pin_label.value = (f"{len(self.pinned)} pinned: {'image' if len(self.pinned) == 1 else 'images'} {ids}"
                                if self.pinned else "")

    def show_rating(self, rating: dict[str, Any]) -> None:
        """The entry's latest rating ({} for none) on the buttons, the note and the label."""
        e = self.entry
        score = int_or_none(rating.get("score"))
        for s, b in zip(SCORES, self.score_buttons):
            b.button_style = "warning" if score == s else ""
        self.syncing = True  # showing the stored note is not a new note
        try:
            self.note.value = rating.get("note") or ""
        finally:
            self.syncing = False
        if e is not None and e.image_id is None:
            self.rating_label.value = "&nbsp;<i>no image to rate</i>"
        elif rating:
            note = f" · {html.escape(rating['note'])}" if rating.get("note") else ""
            self.rating_label.value = f"&nbsp;saved: {'★' + str(score) if score else 'no score'}{note}"
        else:
            self.rating_label.value = "&nbsp;<i>not rated</i>"

    def close(self) -> None:
        if self.viewer is not None:
            self.viewer.close()
        self.widget.close()


def api_extra_html(image: dict[str, Any] | None) -> str:
    """The fields the API returned for the image that qwenlab does not model (the log's
    `images.api_extra`, a JSON object), as a table; "" when there are none or the column is absent."""
    raw = (image or {}).get("api_extra")
    if not raw:
        return ""
    try:
        extra = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        extra = {"api_extra": raw}  # not JSON: show it as it is
    if not isinstance(extra, dict) or not extra:
        return ""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v) if not isinstance(v, str) else v)}"
                   "</td></tr>" for k, v in extra.items())
    return (f"<div class='qwl-detail'><b>more from the API</b> <small>(fields qwenlab does not model)</small>"
            f"<table class='qwl-api-extra'>{rows}</table></div>")




def int_or_none(value: Any) -> int | None:
    """A score as an int, None where missing."""
    value = present(value)
    return None if value is None else int(value)
