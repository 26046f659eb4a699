"""What a judging session shows of its results: the win rates so far, on its criterion, and the
text scores the log holds beside them; and, once a pair is judged, that pair's text scores.

    j.results_frame()     # the win rates so far (qwenlab.analysis.judging.win_rates)
    j.show_results()      # the same under the buttons, with each value's text score and how often
                          # the judge agreed with the OCR

Text scores are the log's (`qwenlab.typography.badges`: no OCR runs here), and they are never
shown of the pair on screen, which would tell the judge which image the OCR preferred: only of the
pair just judged (`_judged_html`) and in the tally. `JudgingResults` holds these methods of
`Judging` (qwenlab/widgets/judging.py), which inherits them.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..analysis.judging import confounded, judgements, latest_per_pair, win_rates
from ..typography.analysis import describe
from ..typography.scores import text_scores

if TYPE_CHECKING:
    import ipywidgets as widgets
    import pandas as pd

    from ..store.experiment import ExperimentRecord
    from ..typography.badges import ScoreBadges

__all__ = ["JudgingResults"]


class JudgingResults:
    """The results of `Judging`, which it inherits; they read its experiment, axis, criterion,
    ties and the log's score badges, and write its `results` pane."""

    exp: ExperimentRecord
    axis: str
    criterion: str
    ties: str
    badges: ScoreBadges
    results: widgets.HTML

    def results_frame(self) -> "pd.DataFrame":
        """The win rates so far, on this widget's criterion (see `win_rates`)."""
        return win_rates(self.exp, self.axis, criterion=self.criterion, ties=self.ties)

    def show_results(self) -> None:
        """Show the win rates so far on this criterion and, when the images are text-scored, each
        value's text score and how often the judge agreed with the OCR: what the "show results"
        button does (and the last judgement), callable from a cell too."""
        frame = self.results_frame()
        lines = "".join(f"<li>{html.escape(s)}</li>" for s in frame.attrs["sentences"])
        self.results.value = f"<b>win rates ({html.escape(self.criterion)})</b><ul>{lines}</ul>" + self._scores_html()

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
        said = {"better": 0, "worse": 0, "tie": 0}  # what the judge said of the image whose text read better
        left_out = {int(j["id"]) for j in confounded(self.exp, self.axis, self.criterion)}  # as the win rates leave them out
        for j in latest_per_pair([j for j in judgements(self.exp, self.axis, self.criterion) if int(j["id"]) not in left_out]):
            va, vb = self.badges.value(j["image_a"]), self.badges.value(j["image_b"])
            if va is not None and vb is not None and va != vb:
                said["tie" if j["winner"] == "tie" else "better" if j["winner"] == ("a" if va > vb else "b") else "worse"] += 1
        lines = [describe(df, self.axis), describe(df, self.axis, "correct")]
        if differ := sum(said.values()):
            decided = said["better"] + said["worse"]
            share = f" ({said['better'] / decided:.0%} of those decided)" if decided else ""
            lines.append(f"of {differ} judged {'pair' if differ == 1 else 'pairs'} whose {self.badges.name} differs, the "
                         f"judge preferred the image whose text read better in {said['better']}{share}, the other in "
                         f"{said['worse']}, and called {said['tie']} a tie")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in lines)
        # "OCR by X" just before names the engine: the short form, as the report has it (the long one said it twice)
        gap = f"<br><small>{html.escape(self.badges.left_out.sentence())}</small>" if self.badges.left_out else ""
        return (f"<b>text scores</b> (OCR by {html.escape(str(self.badges.engine))}, stored in the log){gap}"
                f"<ul>{items}</ul>")
