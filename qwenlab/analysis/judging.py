"""Blind judging of one axis, and each value's win rate with a confidence interval.

    j = exp.judge("promptExtend")       # or judge(exp, "promptExtend"): the widget
    win_rates(exp, "promptExtend")      # DataFrame: judgements, wins, losses, ties, rate, interval
    print(summary(exp, "promptExtend")) # promptExtend=on wins 62% [48%, 74%] of 40 judgements ...

The widget shows pairs of images that share every other setting (`qwenlab.analysis.pairs`) in a random
order, each pair's sides swapped at random, with every label hidden: the judge sees two images
and says which is better, or that they tie. Each answer is written to the log's `judgements`
table at once (image_a is the image shown left, image_b the one shown right, winner 'a', 'b' or
'tie'), so judging can stop any time and go on later: pairs already judged are not shown again.

Win rates. A value's judgements are those where one image has it and the other another value.
By default a tie counts as half a win and half a loss (`ties="half"`), so the rate is
(wins + ties/2) / judgements; `ties="exclude"` drops ties and uses wins / (wins + losses). The
interval is Wilson's score interval (95% by default), which stays inside [0, 1] and behaves on
small counts, where the plain p ± z·se does not.

Text scores stay hidden while a pair is judged. Where the log holds text scores
(`qwenlab.typography`), showing them beside the images would tell the judge which image the OCR
preferred and bias the very judgement being measured. So the widget shows a pair's scores only
after its judgement is recorded (a line under the buttons about the pair just judged, without
its axis values), and in the results view: each value's text score with its interval, and how
often the judge preferred the image whose text read better. The widget never runs OCR.
"""

from __future__ import annotations

import html
import math
import random
from typing import TYPE_CHECKING, Any

from ..store.catalog import REPEAT, Catalog
from ..errors import ImageError, QwenlabError
from .intervals import wilson_interval
from ..store.thumbnails import thumbnail

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import Experiment

__all__ = ["Judging", "judge", "record_judgement", "win_rates", "summary", "wilson_interval", "JudgementError",
           "TIES"]

TIES = ("half", "exclude")
WINNERS = ("a", "b", "tie")
_SHOW_PX = 420


class JudgementError(QwenlabError, ValueError):
    """A judgement that cannot be recorded (unknown image, same value on both sides, bad winner)."""


# -- the maths ------------------------------------------------------------------------------------
def win_rates(exp: "Experiment", axis: str, *, ties: str = "half", confidence: float = 0.95) -> "pd.DataFrame":
    """Each value of `axis`: judgements, wins, losses, ties, win_rate and its Wilson interval
    (ci_low, ci_high), from the log's judgements of this experiment along this axis.

    ties: "half" (a tie is half a win) or "exclude" (ties left out of the rate and the count).
    The frame's `attrs` hold `ties`, `confidence` and `sentences` (one line per value)."""
    import pandas as pd

    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    catalog = _catalog_for(exp, axis)
    info = catalog.axes[axis]
    value_of = _image_values(catalog, axis)
    counts: dict[Any, dict[str, int]] = {i: {"wins": 0, "losses": 0, "ties": 0} for i in range(len(info.values))}
    shown: dict[Any, Any] = dict(enumerate(info.values))
    for j in _judgements(exp, axis):
        (ka, va), (kb, vb) = value_of.get(int(j["image_a"]), (None, None)), value_of.get(int(j["image_b"]), (None, None))
        if ka is None or kb is None or ka == kb:
            continue  # an image no longer in the experiment, or not a comparison along this axis
        for k, v in ((ka, va), (kb, vb)):  # a value the sweep does not list (an extended sweep)
            counts.setdefault(k, {"wins": 0, "losses": 0, "ties": 0})
            shown.setdefault(k, v)
        if j["winner"] == "tie":
            counts[ka]["ties"] += 1
            counts[kb]["ties"] += 1
        else:
            win, lose = (ka, kb) if j["winner"] == "a" else (kb, ka)
            counts[win]["wins"] += 1
            counts[lose]["losses"] += 1
    rows = []
    for key, c in counts.items():
        w, l, t = c["wins"], c["losses"], c["ties"]
        n = w + l + t if ties == "half" else w + l
        s = w + t / 2 if ties == "half" else w
        lo, hi = wilson_interval(s, n, confidence)
        rows.append({"axis": axis, "value": info.label(shown[key]), "judgements": n, "wins": w, "losses": l,
                     "ties": t, "win_rate": s / n if n else math.nan, "ci_low": lo, "ci_high": hi})
    frame = pd.DataFrame(rows, columns=["axis", "value", "judgements", "wins", "losses", "ties", "win_rate", "ci_low",
                                        "ci_high"])
    frame.attrs.update(ties=ties, confidence=confidence, sentences=[_sentence(r, ties, confidence) for r in rows])
    return frame


def summary(exp: "Experiment", axis: str, *, ties: str = "half", confidence: float = 0.95) -> str:
    """One sentence per value, e.g. "promptExtend=on wins 62% [48%, 74%] of 40 judgements"."""
    return "\n".join(win_rates(exp, axis, ties=ties, confidence=confidence).attrs["sentences"])


def _sentence(row: dict[str, Any], ties: str, confidence: float) -> str:
    name = f"{row['axis']}={row['value']}"
    if not row["judgements"]:
        return f"{name}: no judgements yet"
    how = "ties counted as half" if ties == "half" else "ties excluded"
    return (f"{name} wins {row['win_rate']:.0%} [{row['ci_low']:.0%}, {row['ci_high']:.0%}] of {row['judgements']} "
            f"judgements ({how}; {row['wins']} won, {row['losses']} lost, {row['ties']} tied; "
            f"{confidence:.0%} Wilson interval)")


# -- recording ------------------------------------------------------------------------------------
def record_judgement(exp: "Experiment", axis: str, image_a: int, image_b: int, winner: str) -> int:
    """Record that `winner` ('a', 'b' or 'tie') of images `image_a` and `image_b` is better,
    along `axis`; returns the judgement's id. The two images must be of this experiment and
    differ in that axis."""
    if winner not in WINNERS:
        raise JudgementError(f"winner must be 'a' (image_a is better), 'b' (image_b is better) or 'tie', got {winner!r}")
    value_of = _image_values(_catalog_for(exp, axis), axis)
    for name, image in (("image_a", image_a), ("image_b", image_b)):
        if int(image) not in value_of:
            raise JudgementError(f"{name}={image} is not an image of experiment {exp.name!r}; use ids from exp.images")
    if value_of[int(image_a)][0] == value_of[int(image_b)][0]:
        raise JudgementError(f"images {image_a} and {image_b} have the same {axis}; a judgement along {axis!r} "
                             "compares two different values (take pairs from qwenlab.analysis.pairs.pairs)")
    return exp.log.judge(exp.id, axis, int(image_a), int(image_b), winner)


def _catalog_for(exp: "Experiment", axis: str) -> Catalog:
    catalog = Catalog.load(exp)
    if axis not in catalog.axes or axis == REPEAT:
        names = ", ".join(a for a in catalog.axes if a != REPEAT)
        raise JudgementError(f"{axis!r} is not an axis of experiment {exp.name!r}; its axes: {names}")
    return catalog


def _image_values(catalog: Catalog, axis: str) -> dict[int, tuple[Any, Any]]:
    """image id -> (a key of its value on `axis`: the value's place in the sweep, and the value)."""
    info = catalog.axes[axis]
    out = {}
    for e in catalog.entries:
        if e.image_id is not None:
            v = e.value(axis)
            i = info.index(v)
            out[int(e.image_id)] = (i if i is not None else repr(v), v)
    return out


def _judgements(exp: "Experiment", axis: str) -> list[dict[str, Any]]:
    frame = exp.log.frame("SELECT * FROM judgements WHERE experiment_id = ? AND axis = ? ORDER BY id", [exp.id, axis])
    return frame.to_dict("records")


# -- the widget -----------------------------------------------------------------------------------
def judge(exp: "Experiment", axis: str, **kw: Any) -> "Judging":
    """Open the blind-judging widget on one axis of an experiment (see `Judging`)."""
    return Judging(exp, axis, **kw)


class Judging:
    """Blind judging of one axis: two images at a time, labels hidden, sides random.

    seed: for the order and the sides (None: a fresh shuffle each time).
    rejudge: show pairs already judged again (default: go on where the last session stopped).
    ties: how the results count ties ("half" or "exclude").
    values: the two values to compare when the axis has more than two (see `qwenlab.analysis.pairs.pairs`).
    """

    def __init__(self, exp: "Experiment", axis: str, *, seed: int | None = None, rejudge: bool = False,
                 ties: str = "half", values: Any = None) -> None:
        import ipywidgets as w

        from .pairs import pairs as find_pairs

        self.exp, self.axis, self.ties = exp, axis, ties
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        _catalog_for(exp, axis)
        rng = random.Random(seed)
        found = find_pairs(exp, axis, values)
        done = set() if rejudge else {frozenset((int(j["image_a"]), int(j["image_b"]))) for j in _judgements(exp, axis)}
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
        from ..typography.badges import score_badges

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
        from ..typography.analysis import describe
        from ..typography.scores import text_scores

        df = text_scores(self.exp, self.badges.engine)
        agree = differ = 0
        for j in _judgements(self.exp, self.axis):
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
        path = self._paths.get(image_id)
        try:
            return thumbnail(path, 512).read_bytes() if path else b""
        except ImageError:
            return b""

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
