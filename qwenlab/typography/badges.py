"""Text scores as the views show them: per image a value, a colour, a short label and what was read.

    badges = score_badges(exp)                # from the log only: {} (falsy) when nothing is scored
    b = badges.get(image_id)                  # a ScoreBadge, or None for an image not scored
    b.label, b.hex, b.detail                  # "word acc 0.67", "#ff851b", "'Glow' read as 'GIow'"
    badges.lines(image_id)                    # (reading, [(line, status)]) to draw OCR boxes
    badges.left_out                           # images only other engines scored (a LeftOut), or None

Grids, the explorer, pairs, blind judging and the HTML export take their scores from here. None
of them runs OCR (about half a second an image): they read what `score_experiment` /
`qwenlab score NAME` stored, an image not scored has no badge, and an experiment with no scores
shows nothing extra. Badges are one engine's (the most used unless told); where other engines
scored images this one did not (a comparison of experiments scored with different engines), each
view says how many are left out and how to score them with one engine (`left_out`). The colour is `score_colour`: dark red at 0 through yellow at 0.75 to dark green at 1.00.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from ..core.values import count_of, is_missing
from .draw import COLOURS, score_colour, stored_lines
from .left_out import LeftOut, left_out
from .scoring import score_figure
from .store import score_rows

if TYPE_CHECKING:
    from ..store.log import Log
    from .reading import Reading, TextLine

__all__ = ["ScoreBadge", "ScoreBadges", "score_badges", "score_label", "check_metric", "BADGE_METRICS", "SHORT_NAMES",
           "LONG_NAMES"]

# what a view may colour or sort by: the per-image scores of `text_scores`
BADGE_METRICS = ("word_accuracy", "ned", "sentence_accuracy", "correct")
SHORT_NAMES = {"word_accuracy": "word acc", "ned": "NED", "sentence_accuracy": "strings", "correct": "text"}
LONG_NAMES = {"word_accuracy": "word accuracy", "ned": "NED", "sentence_accuracy": "string accuracy",
              "correct": "all text right"}


def check_metric(metric: str) -> str:
    """`metric` if it is one a view can show, else a ValueError naming the choices."""
    if metric not in BADGE_METRICS:
        raise ValueError(f"score must be one of {', '.join(BADGE_METRICS)} (or None); got {metric!r}")
    return metric


def score_label(metric: str, value: Any) -> str:
    """A score as a stamp or caption shows it: "word acc 0.67", "NED 0.93", "text right"."""
    if is_missing(value):
        return f"{SHORT_NAMES[metric]} ?"
    if metric == "correct":
        return "text right" if value >= 1 else "text wrong"
    return f"{SHORT_NAMES[metric]} {score_figure(value)}"


@dataclass(frozen=True)
class ScoreBadge:
    """The stored text score of one image, as a view shows it."""

    image_id: int
    metric: str
    value: float | None                 # the metric, in [0, 1] (correct: 1 or 0)
    word_accuracy: float | None
    ned: float | None
    correct: bool | None
    expected: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()       # expected strings not read exactly
    read_instead: Mapping[str, str] = field(default_factory=dict)  # misread string -> what was read
    read_text: str = ""
    engine: str = ""

    @property
    def rgb(self) -> tuple[int, int, int]:
        return score_colour(self.value)

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    @property
    def label(self) -> str:
        """Short, for a stamp or caption: "word acc 0.67", "text right"."""
        return score_label(self.metric, self.value)

    @property
    def detail(self) -> str:
        """What went wrong: "'Glow' read as 'GIow'; 'EST. 1928' not found", or "all text read as asked"."""
        if not self.missing:
            return "all text read as asked"
        return "; ".join(f"{s!r} read as {self.read_instead[s]!r}" if s in self.read_instead else f"{s!r} not found"
                         for s in self.missing)

    def html(self) -> str:
        """An escaped HTML block: the scores, what was expected and missed, and all that was read."""
        wa = "—" if self.word_accuracy is None else score_figure(self.word_accuracy)
        ned = "—" if self.ned is None else score_figure(self.ned)
        head = (f"<span style='border-left:6px solid {self.hex};padding-left:4px'><b>text score</b> "
                f"word accuracy {wa} · NED {ned} · {'all right' if self.correct else 'not all right'}</span>")
        not_found = [s for s in self.missing if s not in self.read_instead]
        rows = [("expected", " · ".join(repr(s) for s in self.expected)),
                ("missing", ", ".join(repr(s) for s in not_found)),
                ("read instead", "; ".join(f"{k!r} → {v!r}" for k, v in self.read_instead.items())),
                ("OCR read", " / ".join(self.read_text.splitlines())), ("engine", self.engine)]
        table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows if v)
        return f"<div class='qwl-score'>{head}<table>{table}</table></div>"


class ScoreBadges(Mapping[int, ScoreBadge]):
    """image_id -> ScoreBadge for one experiment and engine (a read-only mapping; falsy when empty)."""

    def __init__(self, badges: dict[int, ScoreBadge], metric: str, engine: str | None, log: "Log | None",
                 left_out: LeftOut | None = None) -> None:
        self._badges, self.metric, self.engine, self._log = badges, metric, engine, log
        self.left_out = left_out  # images scored by other engines only: not among these badges

    def __getitem__(self, image_id: int) -> ScoreBadge:
        return self._badges[int(image_id)]

    def __iter__(self) -> Iterator[int]:
        return iter(self._badges)

    def __len__(self) -> int:
        return len(self._badges)

    def get(self, image_id: Any, default: Any = None) -> Any:  # type: ignore[override]
        """The badge of an image id (an int, numpy or pandas integer), else `default` (also for
        None, NaN or pd.NA: a cell without an image)."""
        try:
            return self._badges.get(int(image_id), default)
        except (TypeError, ValueError):
            return default

    def value(self, image_id: Any) -> float | None:
        badge = self.get(image_id)
        return None if badge is None else badge.value

    def sort_key(self, image_id: Any) -> tuple[int, float]:
        """Best score first, images without a score last."""
        v = self.value(image_id)
        return (1, 0.0) if v is None else (0, -v)

    @property
    def name(self) -> str:
        return LONG_NAMES[self.metric]

    def mean(self, image_ids: Iterable[Any] | None = None) -> float | None:
        """The mean score of these images (default: every image scored); None when none is."""
        badges = self._badges.values() if image_ids is None else (self.get(i) for i in image_ids)
        vals = [b.value for b in badges if b is not None and b.value is not None]
        return sum(vals) / len(vals) if vals else None

    def scored(self, image_ids: Iterable[Any]) -> int:
        """How many of these images have a score."""
        return sum(1 for i in image_ids if self.value(i) is not None)

    def legend(self) -> str:
        """One line for a figure: what the colour means, the engine, the mean."""
        if not self._badges:
            return "no text scores stored for this experiment: run exp.score_text() (or qwenlab score NAME) first"
        mean = self.mean()
        return (f"frame colour: {self.name} of the text read by OCR ({self.engine}): dark red 0 · orange 0.5 · yellow 0.75 · light green 0.9 · dark green 1.00 · "
                f"grey not scored" + (f"; mean {score_figure(mean)} over {count_of(len(self), 'image')}" if mean is not None else ""))

    def boxes(self, image_id: Any, shown_width: int, image_width: int | None = None) -> list[tuple[list[tuple[float, float]],
                                                                                                tuple[float, float, float]]]:
        """The OCR boxes of an image, scaled to the image shown `shown_width` pixels wide (a
        thumbnail), each with its status colour as matplotlib takes it (green exact, orange
        misread, grey other; see `qwenlab.typography.draw`). [] when it was not read."""
        found = self.lines(image_id)
        if found is None:
            return []
        reading, marked = found
        scale = shown_width / float(reading.width or image_width or shown_width)
        return [([(x * scale, y * scale) for x, y in line.box],  # type: ignore[misc]
                 tuple(c / 255 for c in COLOURS[status])) for line, status in marked if line.box]

    def lines(self, image_id: Any) -> "tuple[Reading, list[tuple[TextLine, str]]] | None":
        """What the OCR read in this image, each line with its status ('exact', 'misread',
        'other'), from the log (no OCR); None when it was not read."""
        try:
            image_id = int(image_id)
        except (TypeError, ValueError):  # a cell without an image
            return None
        return stored_lines(self._log, image_id, self.engine) if self._log is not None else None


def score_badges(source: Any, metric: str = "word_accuracy", engine: str | None = None) -> ScoreBadges:
    """The stored scores of an experiment's images (an Experiment or a `qwenlab.store.catalog.Catalog`),
    `metric` as the value to colour and sort by; engine: the most used one when None. Reads the
    log only; empty when nothing is scored."""

    check_metric(metric)
    log = getattr(source, "log", None)
    exp_id = getattr(source, "experiment_id", None)
    if exp_id is None and not hasattr(source, "entries"):
        exp_id = getattr(source, "id", None)
    if log is None or exp_id is None:
        return ScoreBadges({}, metric, engine, None)
    badges: dict[int, ScoreBadge] = {}
    used = engine
    for r in score_rows(log, int(exp_id), engine):
        used = r["engine"]
        correct = None if r["correct"] is None else bool(r["correct"])
        value = r[metric] if metric != "correct" else (None if correct is None else float(correct))
        badges[int(r["image_id"])] = ScoreBadge(
            int(r["image_id"]), metric, None if value is None else float(value), r["word_accuracy"], r["ned"], correct,
            tuple(json.loads(r["expected_json"] or "[]")), tuple(json.loads(r["missing_json"] or "[]")),
            dict(json.loads(r["read_instead_json"] or "{}")), r.get("read_text") or "", r["engine"])
    return ScoreBadges(badges, metric, used, log, left_out(log, int(exp_id), used) if badges else None)
