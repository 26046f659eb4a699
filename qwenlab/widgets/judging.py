"""The blind-judging widget: two images at a time, as large as the notebook allows, labels hidden,
sides at random, driven by buttons or the keyboard.

    j = exp.judge("promptExtend")                              # or judge(exp, "promptExtend")
    j = exp.judge("promptExtend", criterion="text correct")    # what is judged; stored with each judgement

The pair is drawn at full resolution (the image files themselves; `max_px=` sends smaller JPEGs
instead), each image as wide as the notebook allows: side by side where both fit at up to 560 px
(less for tall images, which the window's height limits first), else one above the other
(`layout="side"` or `"stacked"` forces either). Above the pair, the strings the prompt asked for
(its quoted text, or `expected=`), large, so the judge checks the spelling letter by letter. A
side whose file is gone since the run, or damaged, says so ("image missing"): skip that pair.

Keys, while the focus is in the widget (click the pair): ← or 1 left is better, → or 2 right is
better, t or 0 a tie, s skip, u or Backspace undo (the last judgement of this session is removed
from the log and its pair comes back; again walks further back), f compare at full size (the pair
in `qwenlab.widgets.compare.CompareViewer` under it: one zoom and pan for both, 1:1, a swipe
handle; labelled only "left" and "right", and it follows the pair). The focus, not the pointer:
keys pressed with the focus anywhere else (another cell's text box, the notebook's page) judge
nothing, even with the pointer over the pair, and the legend says "keys on:" only while they
work. Shift with an arrow never judges: it pans the full-size view (where it is open), as it
does on the picture itself.

While that full-size view is zoomed in, the arrows pan it and judge nothing (a judge zoomed in to
read small text presses an arrow to look around, not to vote): 1, 2 and 0 judge then, and the
legend and the viewer's bar say so; fitted again (double-click, "fit"), the arrows judge again.

What is judged, how a judgement is stored and how win rates are counted: `qwenlab.analysis.judging`.
Text scores stay hidden while a pair is judged (showing them would tell the judge which image the
OCR preferred); a pair's scores show only once its judgement is recorded, and go again if it is undone.
The win rates and text scores shown: `JudgingResults` (judging_results.py), which `Judging` inherits.
"""

from __future__ import annotations

import html
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.judging import (
    TIES,
    catalog_for,
    check_criterion,
    image_settings,
    image_values,
    judgements,
    record_judgement,
    undo_judgement,
)
from ..analysis.pairs import pairs as find_pairs
from ..core.values import count_of, switch
from ..errors import ImageError, JudgementError
from ..store.catalog import aspect_of
from ..store.experiment import provenance_banner
from ..store.ratings import DEFAULT_CRITERION
from ..store.thumbnails import read_checked
from ..typography.badges import score_badges
from ..typography.scores import Expected, expected_for
from .compare import CompareImage, CompareViewer
from .display import with_text
from .judging_results import JudgingResults
from .keys import KeyShortcuts
from .require import require_ipywidgets
from .tiles import thumb_jpeg, unreadable_tile

if TYPE_CHECKING:
    from ..store.experiment import ExperimentRecord

__all__ = ["Judging", "judge", "KEYS", "LAYOUTS"]

# key (as the browser names it) -> what it does; shown on the widget as `_LEGEND`
# the arrows are actions of their own: while the full-size view is zoomed in they pan it instead
KEYS = {"ArrowLeft": "arrow-left", "1": "left", "ArrowRight": "arrow-right", "2": "right", "t": "tie", "0": "tie",
        "s": "skip", "u": "undo", "Backspace": "undo", "f": "compare",
        # Shift with an arrow pans the full-size view, as it does on the picture; it never judges
        "Shift+ArrowLeft": "pan-left", "Shift+ArrowRight": "pan-right", "Shift+ArrowUp": "pan-up",
        "Shift+ArrowDown": "pan-down"}
_PANS = {"pan-left": (1, 0), "pan-right": (-1, 0), "pan-up": (0, 1), "pan-down": (0, -1)}  # as compare.js's steps
_LEGEND = [("← or 1", "left is better"), ("→ or 2", "right is better"), ("t or 0", "tie"), ("s", "skip"),
           ("u or ⌫", "undo"), ("f", "compare at full size")]
# ... while the full-size view is zoomed in
_LEGEND_ZOOMED = [("1", "left is better"), ("2", "right is better"), ("t or 0", "tie"), ("s", "skip"),
                  ("u or ⌫", "undo"), ("f", "compare at full size"), ("← → ↑ ↓", "pan, while zoomed in")]
_SIDE_KEYS = {False: ("← or 1", "→ or 2"), True: ("1", "2")}
_VIEWER_HINT = "zoomed in: arrows pan, 1 2 0 judge · click, then wheel or + −: zoom · double-click: fit"
_ZOOMED_NOTE = ("<small>Zoomed in at full size: the arrows pan the picture and judge nothing. Judge with 1 (left), "
                "2 (right) or 0 (tie), or fit the view (double-click it) and the arrows judge again.</small>")
LAYOUTS = ("auto", "side", "stacked")
_SKIP_HINT = "s: skip this pair"  # under "image missing": nothing to judge it by
# in "auto", the two images sit side by side when each can be this wide: at 840 px a landscape
# pair was stacked in a 1400 px window, the right image below the fold, while the keys held the page
WIDE_PX = 560
TALL_VH = 75       # and no image is taller than this share of the window, so a pair and the header above it fit,
# nor than the window less what surrounds the pair (the header, the prompt's strings, the buttons
# and the keys' legend: about this much): at 900x700 a 1024x1536 pair was 525 px tall under 200 px
# of header, its last line of text and the buttons below the fold
CHROME_PX = 330  # with the one-line SYNTHETIC banner of the emulator's images
# ... or as wide as it would be one above the other with both in view (this share of the window's
# height each): narrower than that, stacking shows it larger. A square pair stacked in a 900x700
# window at 560 px showed 525 px images one below the other, where side by side gives 435 px each
# and both in view
STACKED_VH = 40
_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}  # what a browser shows as stored


def judge(exp: "ExperimentRecord", axis: str, **kw: Any) -> "Judging":
    """Open the blind-judging widget on one axis of an experiment (see `Judging`)."""
    return Judging(exp, axis, **kw)


class Judging(JudgingResults):
    """Blind judging of one axis: two images at a time, labels hidden, sides random.

    criterion: what is judged, stored with each judgement: "overall" (default), "text correct",
    or a short name of your own; pairs are offered until judged on this criterion.
    seed: for the order and the sides (None: a fresh shuffle each time).
    rejudge: show pairs already judged again (default: go on where the last session stopped).
    ties: how the results count ties ("half" or "exclude").
    values: the two values to compare when the axis has more than two (see `qwenlab.analysis.pairs.pairs`).
    layout: "auto" (side by side when both fit large, else one above the other), "side" or "stacked".
    max_px: None (default) sends the image files at full resolution; a number sends JPEGs that fit
    in max_px x max_px (for a slow link to the kernel).
    expected: the text the images should show, for the strings shown beside the pair (default:
    each prompt's quoted strings; see `qwenlab.typography.scores`).
    """

    def __init__(self, exp: "ExperimentRecord", axis: str, *, criterion: str = DEFAULT_CRITERION,
                 seed: int | None = None, rejudge: bool = False, ties: str = "half", values: Any = None,
                 layout: str = "auto", max_px: int | None = None, expected: Expected = None) -> None:
        w = require_ipywidgets()
        self.exp, self.axis, self.ties = exp, axis, ties
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if max_px is not None and (not isinstance(max_px, int) or max_px < 64):
            raise ValueError(f"max_px must be None (full resolution) or a whole number of pixels >= 64, got {max_px!r}")
        rejudge = switch("rejudge", rejudge)
        self.criterion = check_criterion(criterion)
        self.max_px = max_px
        catalog = catalog_for(exp, axis)
        self._values = image_values(catalog, axis)  # each click checks its pair against these
        self._settings = image_settings(catalog, axis)
        rng = random.Random(seed)
        found = find_pairs(exp, axis, values)
        judged = {frozenset((int(j["image_a"]), int(j["image_b"]))) for j in judgements(exp, axis, self.criterion)}
        queue: list[tuple[int, int, dict[str, Any]]] = []
        # pairs judged in an earlier session: shown again only with rejudge, where each new
        # judgement replaces the pair's earlier one in the win rates
        before = 0
        for row in found.to_dict("records"):
            a, b = int(row["image_a"]), int(row["image_b"])
            if frozenset((a, b)) in judged:
                before += 1
                if not rejudge:
                    continue
            queue.append((b, a, row) if rng.random() < 0.5 else (a, b, row))  # left/right at random
        rng.shuffle(queue)
        images = exp.images
        self._paths = {int(i): p for i, p in zip(images["image_id"], images["path"])}
        # each image's shape, for the picture that stands for one gone since the run
        self._aspects = {int(i): aspect_of(wd, ht) for i, wd, ht in zip(images["image_id"], images["width"], images["height"])}
        self._expected = expected_for(exp, expected)
        self.total_pairs = len(found)
        self._unpaired = (int(found.attrs["unpaired"]), str(found.attrs["a"]), str(found.attrs["b"]))  # why no pair, if none
        self.queue = queue
        self.position = 0
        self.judged_now = 0
        self.judged_before = before
        self.history: list[tuple[int, int]] = []  # (judgement id, queue position) of this session, for undo

        self.header = w.HTML()
        self._banner = provenance_banner(exp.provenance, short=True)  # SYNTHETIC for the emulator's: a verdict on them is no evidence
        self.expected_text = w.HTML()  # the strings the prompt asked for: the same on both sides, so blind
        self.left, self.right = (w.Image(layout=w.Layout(width="100%", height="auto", max_height=f"min({TALL_VH}vh, calc(100vh - {CHROME_PX}px))",
                                                         object_fit="contain")) for _ in range(2))
        self.side_labels = [w.HTML(), w.HTML()]
        self.sides = [w.VBox([label, image]) for label, image in zip(self.side_labels, (self.left, self.right))]
        self.pair_box = w.Box(self.sides, layout=w.Layout(display="flex", width="100%"))
        self.left_button = w.Button(description="◀ left is better", layout=w.Layout(width="150px"))
        self.tie_button = w.Button(description="tie", layout=w.Layout(width="80px"))
        self.right_button = w.Button(description="right is better ▶", layout=w.Layout(width="150px"))
        self.skip_button = w.Button(description="skip", tooltip="next pair, no judgement", layout=w.Layout(width="80px"))
        self.undo_button = w.Button(description="↶ undo", tooltip="remove the last judgement; its pair comes back",
                                    layout=w.Layout(width="90px"), disabled=True)
        self.results_button = w.Button(description="show results", layout=w.Layout(width="120px"))
        self.compare_button = w.ToggleButton(value=False, description="compare at full size", layout=w.Layout(width="170px"),
                                             tooltip="the pair in the compare viewer: zoom and pan both at once, 1:1, swipe (f)")
        self.compare_box = w.Box(layout=w.Layout(width="100%"))
        self.viewer: CompareViewer | None = None  # made when first asked for
        self.layout_toggle = w.ToggleButtons(options=[("auto", "auto"), ("side by side", "side"),
                                                      ("one above the other", "stacked")], value=layout,
                                             style={"button_width": "auto"})
        self.status = w.HTML()  # what the last action did (undone, nothing to undo)
        self.results = w.HTML()
        self.last = w.HTML()  # the pair just judged: its text scores, shown only once judged
        self.badges = score_badges(exp)  # from the log: no OCR
        self.keys = KeyShortcuts(KEYS, scope="qwenlab-judging", legend=_LEGEND, hint="click the pair to use the keys:")
        self.keys.on_action(self._on_key)
        self._show_keys()
        for button, action in ((self.left_button, "left"), (self.right_button, "right"), (self.tie_button, "tie"),
                               (self.skip_button, "skip"), (self.undo_button, "undo")):
            button.on_click(lambda _b, action=action: self._on_key(action))
        self.results_button.on_click(lambda _b: self.show_results())
        self.layout_toggle.observe(lambda _c: self._arrange(), names="value")
        self.compare_button.observe(lambda c: self._show_compare(reveal=bool(c["new"])), names="value")
        self.compare_button.observe(lambda _c: self._show_keys(), names="value")
        self.layout_toggle.layout.margin = "0 0 0 24px"
        buttons = w.HBox([self.left_button, self.tie_button, self.right_button, self.skip_button, self.undo_button,
                          self.compare_button, self.results_button, self.layout_toggle],
                         layout=w.Layout(flex_flow="row wrap"))
        # the results under the buttons, above the full-size view: under it, "show results" drew them
        # below the fold, a window's height away, and seemed to do nothing
        self.widget = w.VBox([self.header, self.expected_text, self.pair_box, buttons, self.keys.widget, self.status,
                              self.last, self.results, self.compare_box], layout=w.Layout(width="100%"))
        self.widget.add_class("qwenlab-judging")
        self._arrange()
        self._show()

    @property
    def current(self) -> tuple[int, int] | None:
        """(left image id, right image id) of the pair shown, or None when every pair is done."""
        if self.position >= len(self.queue):
            return None
        left, right, _ = self.queue[self.position]
        return left, right

    def choose(self, which: str) -> int:
        """Judge the pair shown: 'left', 'right' or 'tie'. Returns the judgement's id."""
        mapping = {"left": "a", "right": "b", "tie": "tie", "a": "a", "b": "b"}
        if which not in mapping:
            raise JudgementError(f"choose 'left', 'right' or 'tie', not {which!r}")
        pair = self.current
        if pair is None:
            if not self.total_pairs:
                raise JudgementError(self._done())
            raise JudgementError(f"{self._done()}; see .results_frame(), .undo() the last one, or open judging "
                                 "again with rejudge=True")
        jid = record_judgement(self.exp, self.axis, pair[0], pair[1], mapping[which], self.criterion, values=self._values,
                               settings=self._settings)
        self.history.append((jid, self.position))
        self.last.value = self._judged_html(pair[0], pair[1], mapping[which])
        self.status.value = ""
        self.judged_now += 1
        self.position += 1
        self._show()
        return jid

    def skip(self) -> None:
        """Go to the next pair without judging this one (it is offered again next time)."""
        if self.current is not None:
            self.position += 1
            self.status.value = ""
            self._show()

    def undo(self) -> dict[str, Any] | None:
        """Remove the last judgement of this session from the log and show its pair again;
        returns the judgement removed, or None when this session has judged nothing (left), or
        when that judgement is gone from the log already (removed by hand meanwhile, with
        `undo_judgement`): then its pair comes back and the next undo goes to the one before."""
        if self.history and (gone := self._gone()):
            self.position = gone[-1]  # the earliest gone: its pair and those after come back, as undoing each would
            self.judged_now -= len(gone)
            self.last.value = self.results.value = ""
            pairs = " and ".join(f"pair {p + 1}" for p in reversed(gone))
            then = ("u again undoes the one before" if self.history else
                    "nothing of this session is left to undo")
            them = "it" if len(gone) == 1 else "them"
            self.status.value = (f"<small>The judgement{'s' if len(gone) > 1 else ''} of {pairs} "
                                 f"{'is' if len(gone) == 1 else 'are'} gone from the log already (removed meanwhile): "
                                 f"judge {them} again; {then}.</small>")
            self._show()
            return None
        if not self.history:
            earlier = judgements(self.exp, self.axis, self.criterion)
            # judging opened again after a restart met "u" with a dead end: say how an earlier one goes
            how = (f" The last one made before this session (id {earlier[-1]['id']}) is removed with "
                   f"qwenlab.analysis.judging.undo_judgement(exp, {earlier[-1]['id']}), or replaced by judging its pair "
                   "again (rejudge=True: a pair's latest judgement counts).") if earlier else ""
            self.status.value = f"<small>Nothing to undo: this session has recorded no judgement.{html.escape(how)}</small>"
            return None
        jid, position = self.history.pop()
        removed = undo_judgement(self.exp, jid)
        self.judged_now -= 1
        self.position = position
        self.last.value = self.results.value = ""  # the pair is back on screen: its scores and the tally go
        self.status.value = (f"<small>Undone: the judgement of pair {position + 1} is removed from the log; "
                             "judge it again.</small>")
        self._show()
        return removed

    def _gone(self) -> list[int]:
        """The queue positions of this session's last judgements that are no longer in the log
        (removed by hand meanwhile), latest first, each taken off `history`: undoing one raised."""
        present = {int(j["id"]) for j in self.exp.log.judgements(self.exp.id)}
        gone = []
        while self.history and self.history[-1][0] not in present:
            gone.append(self.history.pop()[1])
        return gone

    def compare(self) -> CompareViewer | None:
        """The compare viewer on the pair shown (None when every pair is judged), blind: the two
        images at full resolution labelled "left" and "right", nothing else about them."""
        pair = self.current
        if pair is None:
            return None
        images = [CompareImage(str(self._paths.get(i) or ""), {}) for i in pair]  # no id, no facts: blind
        if self.viewer is None:
            self.viewer = CompareViewer(None, images=images, labels=["left", "right"], caption="", arrows="pan-zoomed",
                                        hint=_VIEWER_HINT)
            self.viewer.widget.observe(lambda _c: self._show_keys(), names="zoom")
        else:
            self.viewer.show(images, labels=["left", "right"], caption="")
        return self.viewer

    def _show_compare(self, reveal: bool = False) -> None:
        """Under the buttons, the compare viewer on the pair shown while "compare at full size" is
        down; `reveal`: scrolled into view (just opened, by "f" or its button: it lies under the
        pair, below the fold of a laptop's window, where the key seemed to do nothing)."""
        try:
            viewer = self.compare() if self.compare_button.value else None
        except ImageError as exc:  # a file gone since the run: say so, and judge on
            self.status.value = f"<small>Cannot compare this pair at full size: {html.escape(str(exc))}</small>"
            viewer = None
        self.compare_box.children = [viewer.widget] if viewer is not None else []
        if viewer is not None and reveal:
            viewer.reveal()

    @property
    def zoomed_in(self) -> bool:
        """Whether the full-size view is open and zoomed in: the arrows pan it then, and judge nothing."""
        return bool(self.compare_button.value) and self.viewer is not None and self.viewer.zoomed_in

    def _show_keys(self) -> None:
        """The legend and the sides' key labels as the arrows work now (they pan while zoomed in)."""
        zoomed = self.zoomed_in
        legend = [list(x) for x in (_LEGEND_ZOOMED if zoomed else _LEGEND)]
        if self.keys.widget.legend != legend:
            self.keys.widget.legend = legend
        for label, side, keys in zip(self.side_labels, ("left", "right"), _SIDE_KEYS[zoomed]):
            label.value = f"<b>{side}</b> <small>({keys})</small>"

    def _on_key(self, action: str) -> None:
        """A key or a button: judge, skip or undo; a judgement when every pair is done does nothing.
        An arrow pans the full-size view instead of judging while it is zoomed in (the arrows
        pressed there, on the picture, never reach here: compare.js pans with them itself)."""
        if action in _PANS:  # Shift and an arrow: a look around the full-size view, never a verdict
            if self.compare_button.value and self.viewer is not None:
                self.viewer.pan_by(*_PANS[action])
            return
        if action in ("arrow-left", "arrow-right"):
            if self.zoomed_in:
                assert self.viewer is not None
                self.viewer.pan_by(1 if action == "arrow-left" else -1, 0)  # ← looks left: the picture moves right
                self.status.value = _ZOOMED_NOTE
                return
            action = action.removeprefix("arrow-")
        if action == "undo":
            self.undo()
        elif action == "compare":
            self.compare_button.value = not self.compare_button.value
        elif action == "skip":
            self.skip()
        elif self.current is not None:
            self.choose(action)

    def _arrange(self) -> None:
        """Lay the pair out as `layout_toggle` says: in "auto", side by side, each side growing to
        what the notebook gives it, unless each would be narrower than WIDE_PX and than its width
        one above the other with both in view (STACKED_VH of the window's height each, times the
        image's aspect): then the two wrap one above the other (a wide pair in a small window)."""
        mode = self.layout_toggle.value
        self.pair_box.layout.flex_flow = {"auto": "row wrap", "side": "row nowrap", "stacked": "column"}[mode]
        ratio = self._aspect()
        basis = {"auto": f"min({WIDE_PX}px, calc({STACKED_VH}vh * {ratio:.3f}))", "side": "0px", "stacked": "auto"}[mode]
        for side in self.sides:
            side.layout.flex = f"1 1 {basis}"
            side.layout.min_width = "0"
            side.layout.align_items = "center"
            side.layout.margin = "0 6px 10px 0"

    def _aspect(self) -> float:
        """Width / height of the pair shown (or the last one): how wide an image can be at full window height."""
        if not self.queue:
            return 1.0
        row = self.queue[min(self.position, len(self.queue) - 1)][2]
        try:
            return max(0.2, min(5.0, float(row["width"]) / float(row["height"])))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return 1.0

    def _show(self) -> None:
        pair = self.current
        self.undo_button.disabled = not self.history
        done = pair is None
        for b in (self.left_button, self.right_button, self.tie_button, self.skip_button, self.compare_button):
            b.disabled = done
        self.pair_box.layout.display = "none" if done else "flex"
        if done:
            self.header.value = self._banner + (f"<b>Blind judging of {html.escape(self.axis)}</b> · {html.escape(self.exp.name)} · "
                                 f"criterion <b>{html.escape(self.criterion)}</b>: {html.escape(self._done())}")
            self.left.value = self.right.value = b""
            self.expected_text.value = ""
            self.compare_box.children = []
            self.show_results()
            return
        left, right, row = self.queue[self.position]
        shared = str(row.get("shared") or "")  # the other axes' values and the repeat: the same on both sides
        question = "which image has the text right?" if self.criterion == "text correct" else \
            "which image is better?" if self.criterion == DEFAULT_CRITERION else "which image is better by this criterion?"
        self.header.value = self._banner + (f"<b>Blind judging of {html.escape(self.axis)}</b> · criterion "
                             f"<b>{html.escape(self.criterion)}</b>: {question} Pair {self.position + 1} of "
                             f"{len(self.queue)} ({len(self.queue) - self.position} to go; {self.judged_before} judged "
                             f"before). <br><small>Both share: {html.escape(shared) or 'every setting'}</small>")
        self.expected_text.value = self._expected_html(left, right)
        for image, image_id in ((self.left, left), (self.right, right)):
            image.format, image.value = self._image(image_id)
        self._arrange()
        self._show_compare()

    def _done(self) -> str:
        """What the session has left when no pair is on screen: no pair at all (and why), pairs
        skipped (offered again next time), or every pair judged."""
        if not self.total_pairs:
            # "every pair judged" read as work done where nothing could be judged
            unpaired, a, b = self._unpaired
            axis = self.axis
            why = (f"{count_of(unpaired, 'image')} of {axis}={a} or {axis}={b} {'has' if unpaired == 1 else 'have'} no "
                   f"counterpart with the other value and the same other settings (the counterpart's cell failed, or "
                   f"was not run: running the experiment again retries failed cells)" if unpaired else
                   f"the experiment has no image of {axis}={a} or {axis}={b} (a failed cell has none: running the "
                   "experiment again retries failed cells)")
            return f"no pair to judge: {why}"
        counts = f"{self.judged_now} now, {self.judged_before} before; {count_of(self.total_pairs, 'pair')}"
        skipped = len(self.queue) - self.judged_now
        if skipped > 0:  # "every pair judged" hid the pairs skipped, which the next session offers again
            return (f"every pair seen, {count_of(skipped, 'pair')} skipped ({counts}); judging opened again offers "
                    "the pairs not judged yet")
        return f"every pair judged ({counts})"

    def _expected_html(self, left: int, right: int) -> str:
        """The strings the images should show, large and spaced for checking spelling letter by letter."""
        def chips(strings: list[str]) -> str:
            return " ".join(f"<span style='font:600 22px/1.5 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.06em;"
                            f"background:#f3f0e6;border:1px solid #d8d0b8;border-radius:4px;padding:1px 8px;"
                            # a box of its own that moves to the next line whole (an inline span broke a
                            # string's box in two); it wraps inside only when longer than the line
                            f"margin:2px 6px 2px 0;display:inline-block;white-space:pre-wrap'>{html.escape(s)}</span>"
                            for s in strings)

        a, b = self._expected.get(left, []), self._expected.get(right, [])
        if not a and not b:
            return "<div style='color:#666'><small>The prompt quotes no text to check.</small></div>"
        if a == b:
            return f"<div class='qwl-expected'><small>The prompt asks for:</small> {chips(a)}</div>"
        return (f"<div class='qwl-expected'><small>Left should read:</small> {chips(a) or '(nothing)'}<br>"
                f"<small>Right should read:</small> {chips(b) or '(nothing)'}</div>")

    def _image(self, image_id: int) -> tuple[str, bytes]:
        """(format, bytes) of one image: the file as stored (full resolution) where a browser shows
        its format and `max_px` is None, else a JPEG that fits in max_px; where it cannot be read (gone
        since the run, or damaged) a tile saying so: an empty side read as one still loading, and
        was judged (skip it, or run the experiment again to fetch it)."""
        path = self._paths.get(image_id)
        fmt = _FORMATS.get(Path(path).suffix.lower()) if isinstance(path, str) else None
        if self.max_px is None and fmt is not None:
            try:
                return fmt, read_checked(Path(path))  # type: ignore[arg-type]
            except (OSError, ImageError) as exc:  # gone, or damaged: not the image to judge
                # drawn at a judged image's size: a 256-px tile, stretched as wide as the pair, was blurred
                return "jpeg", unreadable_tile(exc, _SKIP_HINT, self._aspects.get(image_id), 1024)
        return "jpeg", thumb_jpeg(path if isinstance(path, str) else None, self.max_px or 2048, _SKIP_HINT,
                                  self._aspects.get(image_id))

    def __repr__(self) -> str:
        where = (f"pair {self.position + 1} of {len(self.queue)}" if self.current else "no pair to judge" if not self.total_pairs
                 else self._done().split(" (")[0])  # "every pair judged", or "every pair seen, 1 pair skipped"

        return (f"Judging({self.exp.name!r}, axis={self.axis!r}, criterion={self.criterion!r}: {count_of(self.total_pairs, 'pair')}, "
                f"{where}, {self.judged_now} judged now, {self.judged_before} before)")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text(self.widget._repr_mimebundle_(**kwargs), repr(self))

    def close(self) -> None:
        """Close the widget (the judgements made stay in the log; judging the axis again goes on)."""
        self.widget.close()
