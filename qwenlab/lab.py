"""The notebook facade: `Lab` runs sweeps and opens experiments; `Experiment` shows them.

    lab = Lab()                                   # data in the project's data/ (qwenlab.paths.data_dir())
    exp = lab.run(sweep, name="lumiere-extend", budget_usd=1.00)
    exp.grid(rows="promptExtend", cols="size")    # qwenlab.figures.grid
    exp.explore()                                 # qwenlab.widgets.explorer
    exp.judge("promptExtend")                     # qwenlab.widgets.judging
    exp.score_text()                              # qwenlab.typography
    lab.costs().by("experiment")                  # qwenlab.costs

This module sits on top of every layer: the record of an experiment (`qwenlab.store`) and the
runner (`qwenlab.sweeps`) know nothing of the views; the views take the record. Here the two meet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis.pairs import pairs
from .costs import Costs
from .figures.grid import Grid, build_grid, save_grid
from .figures.pairs import show_pairs
from .store.experiment import ExperimentRecord
from .sweeps.runner import Runner
from .typography.scores import score_experiment, text_scores
from .widgets.explorer import Explorer
from .widgets.judging import Judging
from .widgets.pairviewer import PairViewer

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Lab", "Experiment"]


class Experiment(ExperimentRecord):
    """One named experiment of the log, with its views.

    The data (`.df`, `.images`, `.cost`, `.counts()`, `.summary()`) comes from
    `qwenlab.store.experiment.ExperimentRecord`; the methods below open the views on it."""

    def grid(self, rows: str | None = None, cols: str | None = None, path: str | Path | None = None,
             **options: Any) -> Grid | list[Path]:
        """A labelled comparison grid (see `qwenlab.figures.grid.build_grid` for page=, facet=, where=).

        region=(x0, y0, x1, y1): only that region of every image (fractions 0..1), cut from the
        original at full resolution: region=(0, 0, 1, 0.3) compares the headlines. captions=False:
        no caption under each image (by default it says what the headers do not, and the seed).

        Without `path`: the `Grid`, at once (a page is drawn when shown or saved; a notebook shows
        the first page as a light JPEG; `.show(i)`, `.save(path)`, `grid[i]` the figure).
        With `path` (.png, .jpg, .webp, .pdf, ...): every page is written, in parallel, and the
        files written are returned."""
        if path is None:
            return build_grid(self, rows, cols, **options)
        return save_grid(self, Path(path), rows=rows, cols=cols, **options)

    def pairs(self, axis: str = "promptExtend", **options: Any) -> "pd.DataFrame":
        """Pairs of images that differ in `axis` only, one row per pair (see `qwenlab.analysis.pairs.pairs`)."""
        return pairs(self, axis, **options)

    def show_pairs(self, axis: str = "promptExtend", **options: Any) -> "Figure":
        """Pairs as a figure, A beside B (see `qwenlab.figures.pairs.show_pairs`)."""
        return show_pairs(self, axis, **options)

    def pair_viewer(self, axis: str = "promptExtend", **options: Any) -> PairViewer:
        """A widget that flips or fades between the two images of each pair (see `qwenlab.widgets.pairviewer`)."""
        return PairViewer(self, axis, **options)

    def explore(self, **options: Any) -> Explorer:
        """Open the ipywidgets explorer: axes, filters, thumbnails, the full request, ratings
        (see `qwenlab.widgets.explorer.Explorer`)."""
        return Explorer(self, **options)

    def judge(self, axis: str, **options: Any) -> Judging:
        """Blind judging of one axis: pairs in random order, labels hidden; win rates after
        (see `qwenlab.widgets.judging.Judging`)."""
        return Judging(self, axis, **options)

    def score_text(self, engine: Any = "auto", **options: Any) -> "pd.DataFrame":
        """Read the text in every image not yet read (OCR, with a progress bar), score it against
        the prompt's quoted strings, store it in the log; one row per image
        (see `qwenlab.typography.score_experiment`)."""
        return score_experiment(self, engine, **options)

    def text_scores(self, engine: str | None = None) -> "pd.DataFrame":
        """The text scores stored in the log, one row per image; runs no OCR."""
        return text_scores(self, engine)


class Lab(Runner):
    """Where experiments run and are kept: a data folder (log + images) and a client.

    data_dir: default `qwenlab.paths.data_dir()` (`$QWENLAB_DATA_DIR`, else the project's `data/`, found
    from the current folder up, else the user's data folder). client: default `qwenlab.api.client.connect()`
    (the real API with RUNWARE_API_KEY, else the offline emulator), made on first need, saving
    images under `<data_dir>/images`; a zero-argument callable is called on first need instead
    (so a run with nothing to send connects to nothing). log: default `<data_dir>/qwenlab.db`.
    Running, resuming and the budget: `qwenlab.sweeps.runner.Runner`.
    """

    experiment_class = Experiment

    def costs(self, **filters: Any) -> Costs:
        """Cost analysis over this lab's log (`Costs`: `.by("experiment")`, `.summary()`, ...);
        keyword filters (`since=`, `until=`, `experiments=`) narrow it."""
        return Costs(self.log, **filters)
