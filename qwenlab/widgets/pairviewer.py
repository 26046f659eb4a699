"""A notebook widget to look at pairs of images one at a time, flipping or fading between them.

    pair_viewer(exp, "promptExtend")     # from qwenlab.analysis.pairs

The slider fades from A (0) to B (1): a flip shows what changed, a fade shows where. The toggle
jumps to either end, Flip swaps ends, Prev/Next and the pair slider walk the pairs. Every image
is a cached thumbnail (`qwenlab.store.thumbnails`), so moving through a few hundred pairs decodes no
original twice and no callback blocks the kernel for long. Where the log holds text scores, the
caption gives the shown image's score and what it misread (`score_a`/`read_a` of `pairs()`).
The caption opens with where the images came from when they are the offline emulator's (SYNTHETIC,
costs emulated), mixed, or not recorded. "look closely" opens the pair shown in the compare viewer
(`qwenlab.widgets.compare`: full resolution, one zoom and pan, a swipe handle); it follows the pair.

A pair with a side missing (`include_unpaired=True`: its cell failed or was not run) shows a
grey blank on that side, and the caption says that side has no image: the other side's image
never stands in for it under its label. A side whose file is gone since the run, or damaged,
shows a blank that says so ("image missing"), and "look closely" says why it cannot show that
pair at full size. Either blank has the shape of the image it stands for.
"""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..analysis.pairs import pairs
from ..core.values import count_of, is_missing
from ..errors import ImageError
from ..store.catalog import aspect_of
from ..store.thumbnails import Unreadable, thumbnail_of
from ..typography.badges import score_label
from ..typography.draw import score_colour
from .compare import CompareImage, CompareViewer
from .display import with_text
from .require import require_ipywidgets
from .tiles import thumb_jpeg

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PairViewer", "pair_viewer"]


class PairViewer:
    """The widget (`.widget`) and its state (`.index`, `.fade`); shows itself in a notebook."""

    def __init__(self, source: Any, axis: str = "promptExtend", *, size: int = 512, **options: Any) -> None:
        import pandas as pd


        w = require_ipywidgets()
        self.df: "pd.DataFrame" = source if isinstance(source, pd.DataFrame) else pairs(source, axis, **options)
        self.size = size
        self.axis = self.df.attrs.get("axis", axis)
        self.a = str(self.df.attrs.get("a", "a"))
        self.b = str(self.df.attrs.get("b", "b"))
        n = len(self.df)
        # flex-start: a VBox stretches its children across, which widened a portrait thumbnail
        # to a square under max_height; contain keeps the aspect whatever the box
        self.image = w.Image(format="jpeg", layout=w.Layout(max_width=f"{size}px", max_height=f"{size}px",
                                                            align_self="flex-start", object_fit="contain"))
        self.fade_slider = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description=f"{self.a} → {self.b}",
                                         readout_format=".2f", continuous_update=True, style={"description_width": "initial"})
        self.toggle = w.ToggleButtons(options=[self.a, self.b], description=f"{self.axis}:",
                                      style={"description_width": "initial"})
        self.flip_button = w.Button(description="Flip", tooltip="show the other image of the pair")
        self.prev_button = w.Button(description="◀ Prev", disabled=n < 2)
        self.next_button = w.Button(description="Next ▶", disabled=n < 2)
        # numbered from 1, as the caption's "pair 1 of n" is
        self.pair_slider = w.IntSlider(value=1, min=1, max=max(1, n), description="pair", disabled=n < 2)
        self.caption = w.HTML()
        self.closely_button = w.ToggleButton(value=False, description="look closely", disabled=n == 0,
                                             tooltip="both images at full resolution, zoomed and panned together, "
                                                     "with a swipe handle")
        self.closely = w.Box(layout=w.Layout(width="100%"))
        self.viewer: CompareViewer | None = None  # made when first asked for
        self.closely_button.observe(lambda _: self._show_closely(), names="value")
        self.fade_slider.observe(lambda _: self._on_fade(), names="value")
        self.toggle.observe(self._on_toggle, names="value")
        self.flip_button.on_click(lambda _: self.flip())
        self.prev_button.on_click(lambda _: self.show(self.index - 1))
        self.next_button.on_click(lambda _: self.show(self.index + 1))
        self.pair_slider.observe(lambda change: self.show(change["new"] - 1), names="value")
        self.widget = w.VBox([
            w.HBox([self.prev_button, self.pair_slider, self.next_button]),
            w.HBox([self.toggle, self.flip_button, self.closely_button]),
            self.fade_slider, self.image, self.caption, self.closely,
        ])
        self.widget.add_class("qwenlab-pairs")
        self._render()

    # -- state ------------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        """The pair shown, from 0 (the slider and the caption count from 1)."""
        return int(self.pair_slider.value) - 1

    @property
    def fade(self) -> float:
        """The fade slider: 0.0 shows image A, 1.0 image B, values between blend the two."""
        return float(self.fade_slider.value)

    @property
    def side(self) -> str:
        """Which image is shown: "a", "b", or "fade" in between."""
        return "a" if self.fade <= 0.0 else "b" if self.fade >= 1.0 else "fade"

    def show(self, index: int) -> None:
        """Go to pair `index` (wraps around), showing its A image."""
        n = len(self.df)
        if n == 0:
            return
        index %= n
        if index != self.index:
            self.pair_slider.value = index + 1  # observed: comes back here with the new value
            return
        self.fade_slider.value = 0.0
        self.toggle.value = self.a
        self._render()
        self._show_closely()

    def compare(self, index: int | None = None, *, caption: str | None = None) -> CompareViewer:
        """The compare viewer on pair `index` (default: the one shown): A and B at full resolution,
        swipe mode, labelled with the axis value and seed (see `qwenlab.widgets.compare`);
        `caption` as the viewer takes it ("" for none)."""
        row = self.df.iloc[self.index if index is None else index]
        lone = _missing_side(row)
        images = [CompareImage(str(row[f"path_{s}"]), {self.axis: label, "seed": _seed(row[f"seed_{s}"])},
                               int(row[f"image_{s}"]), row.get(f"backend_{s}")) for s, label in (("a", self.a), ("b", self.b))
                  if s != lone]
        labels = None
        if lone is not None:  # the one image there is, saying what is missing
            labels = [f"{self.axis} {images[0].facts[self.axis]} · seed {images[0].facts['seed']} "
                      f"({self.axis} {self.a if lone == 'a' else self.b}: no image)"]
        if self.viewer is None:
            self.viewer = CompareViewer(None, images=images, mode="swipe", caption=caption, labels=labels)
        else:
            self.viewer.show(images, caption=caption, labels=labels)
        return self.viewer

    def _show_closely(self) -> None:
        """Under the pair, the compare viewer on it while "look closely" is down; where a file of
        the pair is gone since the run (or damaged), a line saying so in its place. The error
        went to the kernel's log, unseen, and the viewer kept the pair shown before, at full size
        under this pair's caption."""
        if not self.closely_button.value or len(self.df) == 0:
            self.closely.children = []
            return
        try:
            viewer = self.compare(caption="")  # under the pair's own SYNTHETIC banner: not twice
        except ImageError as exc:
            w = require_ipywidgets()
            self.closely.children = [w.HTML(f"<div class='qwl-error'>Cannot show this pair at full size: "
                                            f"{html.escape(str(exc))}</div>")]
            return
        self.closely.children = [viewer.widget]

    def flip(self) -> None:
        """Show the other image of the pair."""
        self.fade_slider.value = 1.0 if self.fade < 0.5 else 0.0

    def _on_fade(self) -> None:
        if self.fade in (0.0, 1.0):  # keep the toggle on the end that is shown
            self.toggle.value = self.b if self.fade == 1.0 else self.a
        self._render()

    def _on_toggle(self, change: dict[str, Any]) -> None:
        target = 1.0 if change["new"] == self.b else 0.0
        if (target == 1.0) != (self.fade >= 0.5):
            self.fade_slider.value = target

    # -- drawing ----------------------------------------------------------------------------------
    def _render(self) -> None:
        if len(self.df) == 0:
            self.image.value = b""
            self.caption.value = (f"<b>No pairs of {html.escape(self.axis)}</b>: no two images share every other setting"
                                  f" ({int(self.df.attrs.get('unpaired', 0))} without a counterpart).")
            return
        row = self.df.iloc[self.index]
        self.image.value = self._bytes(row)
        fade = self.fade
        lone = _missing_side(row)
        if lone is not None and 0.0 < fade < 1.0:  # nothing to fade with: the nearer end is shown, and named
            fade = 0.0 if fade < 0.5 else 1.0
        if fade <= 0.0 or fade >= 1.0:
            side, value = ("a", self.a) if fade <= 0.0 else ("b", self.b)
            shown = f"{html.escape(self.axis)} = <b>{html.escape(value)}</b>"
            shown += (": <b>no image</b> (its cell failed or was not run)" if side == lone else
                      f" · seed {_seed(row[f'seed_{side}'])}" + self._score(row, side))
        else:
            shown = f"{int(round((1 - fade) * 100))}% {html.escape(self.a)} + {int(round(fade * 100))}% {html.escape(self.b)}"
            if self.df.attrs.get("score"):
                shown += f" · {self._score(row, 'a', short=True)} → {self._score(row, 'b', short=True)}"
        self.caption.value = (self._provenance()
                              + f"<div>pair {self.index + 1} of {len(self.df)}: {html.escape(str(row['shared']))}</div>"
                              f"<div>{shown}</div>")

    def _provenance(self) -> str:
        """Where the images came from, when a viewer must know: synthetic, mixed or not recorded."""
        where = self.df.attrs.get("provenance_headline")
        if not self.df.attrs.get("provenance_mark") or not where:
            return ""
        return (f"<div style='background:#fff3cd;color:#7a4b00;border:1px solid #e0b84a;padding:3px 6px;margin-bottom:4px'>"
                f"{html.escape(where)}</div>")

    def _score(self, row: Any, side: str, short: bool = False) -> str:
        """One side's text score for the caption, e.g. ` · word acc 0.50: 'Glow' read as 'GIow'` (the
        label only when `short`); empty when the log holds no text scores."""
        metric = self.df.attrs.get("score")
        if not metric:
            return ""

        value = row.get(f"score_{side}")
        value = None if is_missing(value) else float(value)
        label = f"<b style='color:#{'%02x%02x%02x' % score_colour(value)}'>{html.escape(score_label(metric, value))}</b>"
        if short:
            return label
        read = row.get(f"read_{side}")
        return f" · {label}" + (f": {html.escape(str(read))}" if isinstance(read, str) and read else "")

    def _bytes(self, row: Any) -> bytes:
        """The JPEG shown: A, B, or the two blended at `fade`; a grey blank for a side with no
        image, one saying "image missing" (or damaged) for a side whose file cannot be read (it
        showed nothing at all, under a caption that gave its seed as if it were there)."""
        path_a, path_b = (p if isinstance(p, str) else None for p in (row["path_a"], row["path_b"]))
        aspect_a, aspect_b = (_side_aspect(row, self.axis, side) for side in ("a", "b"))  # a blank's shape
        if _missing_side(row) is not None:
            # a side without an image is a grey blank: the other side's image under its label misled
            return thumb_jpeg(path_a, self.size, aspect=aspect_a) if self.fade < 0.5 else \
                thumb_jpeg(path_b, self.size, aspect=aspect_b)
        if self.fade <= 0.0:
            return thumb_jpeg(path_a, self.size, aspect=aspect_a)
        if self.fade >= 1.0:
            return thumb_jpeg(path_b, self.size, aspect=aspect_b)
        a, b = thumbnail_of(path_a, self.size, "pixels"), thumbnail_of(path_b, self.size, "pixels")
        if isinstance(a, Unreadable) or isinstance(b, Unreadable):
            return thumb_jpeg(path_a, self.size, aspect=aspect_a) if self.fade < 0.5 else \
                thumb_jpeg(path_b, self.size, aspect=aspect_b)
        first, second = Image.fromarray(a), Image.fromarray(b)
        if second.size != first.size:  # a size axis: fade over A's frame
            second = second.resize(first.size)
        buf = io.BytesIO()
        Image.blend(first, second, self.fade).save(buf, format="JPEG", quality=85)
        return buf.getvalue()

    # -- notebook display ---------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text(self.widget._repr_mimebundle_(**kwargs), repr(self))

    def __repr__(self) -> str:
        return f"<PairViewer {self.axis}: {self.a} vs {self.b}, {count_of(len(self.df), 'pair')}>"


def _missing_side(row: Any) -> str | None:
    """"a" or "b" where that side of the pair has no image (`include_unpaired=True`), else None."""
    for side in ("a", "b"):
        if is_missing(row.get(f"image_{side}")):
            return side
    return None


def _side_aspect(row: Any, axis: str, side: str) -> float | None:
    """Width / height of one side's image: that side's size (on a size axis the two sides do not
    share a shape); for a side with no image, on a size axis its value ("1024x1536"), else the
    size the pair has (the other side's, every other setting being the same)."""
    own = aspect_of(row.get(f"width_{side}"), row.get(f"height_{side}"))
    if own is not None:
        return own
    if axis == "size":
        value = str(row.get(f"value_{side}") or "")
        if value.count("x") == 1:
            return aspect_of(*value.split("x"))
    return aspect_of(row.get("width"), row.get("height"))


def _seed(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"


def pair_viewer(experiment: Any, axis: str = "promptExtend", *, size: int = 512, **options: Any) -> PairViewer:
    """A notebook widget over the pairs of `axis` (an experiment, a catalog or a frame from
    `qwenlab.analysis.pairs.pairs`): a slider fades from A to B (a toggle jumps to either end,
    Flip swaps), Prev/Next and a pair slider walk the pairs. Needs ipywidgets."""
    return PairViewer(experiment, axis, size=size, **options)
