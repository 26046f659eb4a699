"""The blind-judging widget: two images at a time, labels hidden, sides at random.

    j = exp.judge("promptExtend")       # or judge(exp, "promptExtend")

What is judged, how a judgement is stored and how win rates are counted: `qwenlab.analysis.judging`.
Text scores stay hidden while a pair is judged (showing them would tell the judge which image the
OCR preferred); a pair's scores show only once its judgement is recorded.
"""

from __future__ import annotations

import html
import random
from typing import TYPE_CHECKING, Any

from ..analysis.judging import (
    TIES,
    catalog_for,
    judgements,
    record_judgement,
    win_rates,
)
from ..analysis.pairs import pairs as find_pairs
from ..errors import JudgementError
from ..store.thumbnails import thumbnail_of
from ..typography.analysis import describe
from ..typography.badges import score_badges
from ..typography.scores import text_scores
from .require import require_ipywidgets

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["Judging", "judge"]

_SHOW_PX = 420


def judge(exp: "ExperimentRecord", axis: str, **kw: Any) -> "Judging":
    """Open the blind-judging widget on one axis of an experiment (see `Judging`)."""
    return Judging(exp, axis, **kw)


class Judging:
    """Blind judging of one axis: two images at a time, labels hidden, sides random.

    seed: for the order and the sides (None: a fresh shuffle each time).
    rejudge: show pairs already judged again (default: go on where the last session stopped).
    ties: how the results count ties ("half" or "exclude").
    values: the two values to compare when the axis has more than two (see `qwenlab.analysis.pairs.pairs`).
    """

    def __init__(self, exp: "ExperimentRecord", axis: str, *, seed: int | None = None, rejudge: bool = False,
                 ties: str = "half", values: Any = None) -> None:
        w = require_ipywidgets()
        self.exp, self.axis, self.ties = exp, axis, ties
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        catalog_for(exp, axis)
        rng = random.Random(seed)
        found = find_pairs(exp, axis, values)
        done = set() if rejudge else {frozenset((int(j["image_a"]), int(j["image_b"]))) for j in judgements(exp, axis)}
        queue: list[tuple[int, int, dict[str, Any]]] = []
        for row in found.to_dict("records"):
            a, b = int(row["image_a"]), int(row["image_b"])
            if frozenset((a, b)) in done:
                continue
            queue.append((b, a, row) if rng.random() < 0.5 else (a, b, row))  # left/right at random
        rng.shuffle(queue)
        images = exp.images
        self._paths = {int(i): p for i, p in zip(images["image_id"], images["path"])}
        self.total_pairs = len(found)
        self.queue = queue
        self.position = 0
        self.judged_now = 0
        self.judged_before = self.total_pairs - len(queue)

        self.header = w.HTML()
        self.left = w.Image(format="jpeg", layout=w.Layout(width=f"{_SHOW_PX}px"))
        self.right = w.Image(format="jpeg", layout=w.Layout(width=f"{_SHOW_PX}px"))
        self.left_button = w.Button(description="◀ left is better", layout=w.Layout(width="150px"))
        self.tie_button = w.Button(description="tie", layout=w.Layout(width="80px"))
        self.right_button = w.Button(description="right is better ▶", layout=w.Layout(width="150px"))
        self.skip_button = w.Button(description="skip", tooltip="next pair, no judgement", layout=w.Layout(width="80px"))
        self.results_button = w.Button(description="show results", layout=w.Layout(width="120px"))
        self.results = w.HTML()
        self.last = w.HTML()  # the pair just judged: its text scores, shown only once judged
        self.badges = score_badges(exp)  # from the log: no OCR
        self.left_button.on_click(lambda _b: self.choose("left"))
        self.right_button.on_click(lambda _b: self.choose("right"))
        self.tie_button.on_click(lambda _b: self.choose("tie"))
        self.skip_button.on_click(lambda _b: self.skip())
        self.results_button.on_click(lambda _b: self.show_results())
        buttons = w.HBox([self.left_button, self.tie_button, self.right_button, self.skip_button, self.results_button])
        self.widget = w.VBox([self.header, w.HBox([self.left, self.right]), buttons, self.last, self.results])
        self.widget.add_class("qwenlab-judging")
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
            raise JudgementError("every pair is judged; see .results_frame() or open judging again with rejudge=True")
        jid = record_judgement(self.exp, self.axis, pair[0], pair[1], mapping[which])
        self.last.value = self._judged_html(pair[0], pair[1], mapping[which])
        self.judged_now += 1
        self.position += 1
        self._show()
        return jid

    def skip(self) -> None:
        """Go to the next pair without judging this one (it is offered again next time)."""
        if self.current is not None:
            self.position += 1
            self._show()

    def results_frame(self) -> "pd.DataFrame":
        """The win rates so far (see `win_rates`)."""
        return win_rates(self.exp, self.axis, ties=self.ties)

    def show_results(self) -> None:
        frame = self.results_frame()
        lines = "".join(f"<li>{html.escape(s)}</li>" for s in frame.attrs["sentences"])
        self.results.value = f"<b>win rates</b><ul>{lines}</ul>" + self._scores_html()

    def _judged_html(self, left: int, right: int, winner: str) -> str:
        """The text scores of the pair just judged (never of the pair on screen: that would bias)."""
        a, b = self.badges.get(left), self.badges.get(right)
        if a is None and b is None:
            return ""
        said = {"a": "left is better", "b": "right is better", "tie": "a tie"}[winner]
        sides = [f"{side}: <b style='color:{x.hex}'>{html.escape(x.label)}</b> ({html.escape(x.detail)})" if x else
                 f"{side}: not scored" for side, x in (("left", a), ("right", b))]
        return f"<small>Judged ({said}). Text scores of that pair, by OCR: {'; '.join(sides)}</small>"

    def _scores_html(self) -> str:
        """Each value's text score with its interval, and how often the judge agreed with the OCR."""
        if not self.badges:
            return ""
        df = text_scores(self.exp, self.badges.engine)
        agree = differ = 0
        for j in judgements(self.exp, self.axis):
            va, vb = self.badges.value(j["image_a"]), self.badges.value(j["image_b"])
            if va is not None and vb is not None and va != vb:
                differ += 1
                agree += j["winner"] == ("a" if va > vb else "b")
        lines = [describe(df, self.axis), describe(df, self.axis, "correct")]
        if differ:
            lines.append(f"in {differ} judgements of pairs whose {self.badges.name} differs, the judge preferred "
                         f"the image whose text read better {agree} times ({agree / differ:.0%})")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in lines)
        return f"<b>text scores</b> (OCR by {html.escape(str(self.badges.engine))}, stored in the log)<ul>{items}</ul>"

    def _show(self) -> None:
        pair = self.current
        left_n = len(self.queue) - self.position
        if pair is None:
            self.header.value = (f"<b>Blind judging of {html.escape(self.axis)}</b> · {html.escape(self.exp.name)}: every pair judged "
                                 f"({self.judged_now} now, {self.judged_before} before; {self.total_pairs} pairs)")
            for b in (self.left_button, self.right_button, self.tie_button, self.skip_button):
                b.disabled = True
            self.left.value = self.right.value = b""
            self.left.layout.display = self.right.layout.display = "none"
            self.show_results()
            return
        left, right, row = self.queue[self.position]
        shared = str(row.get("shared") or "")  # the other axes' values and the repeat: the same on both sides
        self.header.value = (f"<b>Blind judging of {html.escape(self.axis)}</b>: which image is better? "
                             f"Pair {self.position + 1} of {len(self.queue)} ({left_n} to go; {self.judged_before} "
                             f"judged before). <br><small>Both share: {html.escape(shared) or 'every setting'}</small>")
        self.left.value = self._thumb(left)
        self.right.value = self._thumb(right)

    def _thumb(self, image_id: int) -> bytes:
        return thumbnail_of(self._paths.get(image_id), 512, "jpeg") or b""

    def __repr__(self) -> str:
        where = f"pair {self.position + 1} of {len(self.queue)}" if self.current else "every pair judged"
        return (f"Judging({self.exp.name!r}, axis={self.axis!r}: {self.total_pairs} pairs, {where}, "
                f"{self.judged_now} judged now, {self.judged_before} before)")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def close(self) -> None:
        self.widget.close()
