"""The notebook facade: `Lab` runs sweeps and opens experiments; `Experiment` shows them.

    lab = Lab()                                   # data in the project's data/ (qwenlab.paths.data_dir())
    exp = lab.run(sweep, name="lumiere-extend", budget_usd=1.00)
    exp.grid(rows="promptExtend", cols="size")    # qwenlab.figures.grid
    exp.explore()                                 # qwenlab.widgets.explorer
    exp.compare_images([12, 15])                  # qwenlab.widgets.compare
    exp.judge("promptExtend", criterion="text correct")   # qwenlab.widgets.judging
    exp.score_text()                              # qwenlab.typography
    exp.export("report.html", full_size=True)     # qwenlab.html.report
    exp.tag("posters"); exp.export_images("kept/", min_rating=4)   # qwenlab.store.organize, .image_export
    lab.search("LUMIERE"); lab.bundle(["a", "b"], "ab.zip")        # qwenlab.store.search, .bundle
    lab.costs().by("experiment")                  # qwenlab.costs
    cmp = lab.compare("lumiere-extend", "lumiere-v2")   # the experiment as an axis, read-only
    cmp.grid(rows="experiment", cols="size")      # every view of an Experiment works on it

This module sits on top of every layer: the record of an experiment (`qwenlab.store`) and the
runner (`qwenlab.sweeps`) know nothing of the views; the views take the record. Here the two meet.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .analysis.pairs import pairs
from .costs import Costs
from .errors import ComparisonError
from .figures.grid import Grid, build_grid, save_grid
from .figures.pairs import show_pairs
from .html.report import export_html
from .store.bundle import BundleInfo, ImportReport, import_bundle, write_bundle
from .store.comparison import ComparisonRecord
from .store.experiment import ExperimentRecord
from .store.image_export import ExportedImages, export_images
from .store.integrity import StoreReport, check_store
from .store.integrity import set_aside as _set_aside
from .store.organize import Deletion, Organizer
from .store.ratings import DEFAULT_CRITERION
from .store.search import search
from .sweeps.runner import Runner
from .typography.scores import score_experiment, scores_frame, text_scores
from .typography.store import renew_stale_scores
from .widgets.compare import CompareViewer
from .widgets.explorer import Explorer
from .widgets.judging import Judging
from .widgets.pairviewer import PairViewer

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Lab", "Experiment", "Comparison"]


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

    def compare_images(self, images: Any, **options: Any) -> CompareViewer:
        """The compare viewer: 2 to 4 images at full resolution, zoomed and panned together, a
        swipe handle for two, each labelled with what differs. `images`: image ids, task UUIDs,
        a row of `exp.pairs()`, or a list of them (mode="swipe", height=px: see
        `qwenlab.widgets.compare.CompareViewer`)."""
        return CompareViewer(self, images, **options)

    def judge(self, axis: str, *, criterion: str = DEFAULT_CRITERION, **options: Any) -> Judging:
        """Blind judging of one axis: pairs in random order, labels hidden, images at full
        resolution with the strings the prompt asked for beside them; win rates after, per
        criterion ("overall", "text correct" or your own, stored with each judgement)
        (see `qwenlab.widgets.judging.Judging`).

        Keys, once the pair is clicked: ← or 1 left is better, → or 2 right is better, t or 0
        tie, s skip, u or Backspace undo, f compare at full size (while that view is zoomed in
        the arrows pan it and judge nothing: 1, 2 and 0 judge)."""
        return Judging(self, axis, criterion=criterion, **options)

    def score_text(self, engine: Any = "auto", **options: Any) -> "pd.DataFrame":
        """Read the text in every image not yet read (OCR, with a progress bar), score it against
        the prompt's quoted strings, store it in the log; one row per image
        (see `qwenlab.typography.score_experiment`)."""
        return score_experiment(self, engine, **options)

    def text_scores(self, engine: str | None = None) -> "pd.DataFrame":
        """The text scores stored in the log, one row per image; runs no OCR."""
        return text_scores(self, engine)

    # -- organizing (qwenlab.store.organize) -------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        """Its tags, in the order they were added."""
        return self._organizer.tags(self.id)

    @property
    def notes(self) -> str | None:
        """Its note (`exp.note("...")`), or None."""
        return self.row.get("notes")

    @property
    def archived(self) -> bool:
        """Archived: out of the default listings (`lab.experiments()`, `qwenlab logs`), kept whole."""
        return bool(self.row.get("archived_at"))

    def tag(self, *tags: str) -> list[str]:
        """Add tags (`exp.tag("posters", "lumiere")`); returns its tags. Find them with
        `lab.experiments(tag="posters")` or `lab.search(tag="posters")`."""
        return self._organizer.tag(self.id, *tags)

    def untag(self, *tags: str) -> list[str]:
        """Remove tags; returns its tags."""
        return self._organizer.untag(self.id, *tags)

    def note(self, text: str | None) -> "Experiment":
        """Set its note (None clears it); shown by `lab.experiments()` and `qwenlab logs`."""
        self._organizer.note(self.id, text)
        return self

    def rename(self, new_name: str) -> "Experiment":
        """Give it a new name; its tasks, images, ratings, judgements and scores stay attached.
        ExperimentConflictError if the name is taken; ExperimentBusyError while it runs."""
        self._organizer.rename(self.id, new_name)
        self.name = new_name.strip()
        return self

    def archive(self) -> "Experiment":
        """Retire it from the default listings; nothing is removed (`unarchive()` brings it back)."""
        self._organizer.archive(self.id)
        return self

    def unarchive(self) -> "Experiment":
        """Bring an archived experiment back into the default listings."""
        self._organizer.archive(self.id, archived=False)
        return self

    def delete(self, *, confirm: bool = False, force: bool = False) -> Deletion:
        """Delete it: rows, ratings, judgements, scores, and the image files no other experiment
        uses. Its spend stays in the cost history as "(deleted) NAME". confirm=True is required;
        a running experiment is refused unless force=True (a run whose process died)."""
        return self._organizer.delete(self.id, confirm=confirm, force=force)

    def export_images(self, folder: str | Path, *, min_rating: float | None = None,
                      where: dict[str, Any] | None = None, sidecar: bool = True) -> ExportedImages:
        """Copy its images into `folder` with readable names (experiment, values, seed), the
        prompt, exact request, seed, cost, backend, scores and ratings written inside each file
        and in a JSON sidecar (see `qwenlab.store.image_export`). min_rating: only images rated at
        least this; where: only cells with these axis values ({"promptExtend": True}). An image
        whose file is missing or damaged is left out, named in the result's `.skipped` and a warning."""
        renew_stale_scores(self.log, self.id)  # the scores written into each file are this version's
        return export_images(self, folder, min_rating=min_rating, where=where, sidecar=sidecar)

    def export(self, path: str | Path | None = None, *, full_size: bool = False, **options: Any) -> Path:
        """The experiment as one HTML file to share (default `<data>/reports/<name>.html`); returns its path.
        Click a thumbnail to see it large; `full_size=True` puts the originals in a folder beside
        the file (`<stem>_files/`) and the lightbox shows them (see `qwenlab.html.report.report_html`)."""
        return export_html(self, path, full_size=full_size, **options)

    @property
    def _organizer(self) -> Organizer:
        return Organizer(self.log, self.data_dir)


def _read_only(method: str) -> Any:
    """A comparison's answer to a method that would change an experiment: ComparisonError,
    naming the fix (do it to one of its experiments)."""
    def refuse(comparison: "Comparison", *args: Any, **kwargs: Any) -> Any:
        raise ComparisonError(f"a comparison is read-only: {method}() one of its experiments instead, "
                              f"e.g. lab.experiment({comparison.names[0]!r}).{method}(...)")
    refuse.__name__ = method
    # help(cmp.tag) says why it raises rather than nothing at all
    refuse.__doc__ = (f"Refused on a comparison (ComparisonError): it is read-only; call {method}() on one of "
                      "its experiments, lab.experiment(name).")
    return refuse


class Comparison(ComparisonRecord, Experiment):
    """Two or more experiments of one log as one, `experiment` their first axis: what
    `lab.compare("a", "b")` returns. Read-only (nothing runs or extends it); the views of an
    `Experiment` work on it as they are:

        cmp.grid(rows="experiment", cols="size")     # a grid with the experiment as an axis
        cmp.pairs("experiment")                      # the same cell of each experiment, side by side
        cmp.judge("experiment")                      # blind judging across experiments
        cmp.text_scores(), cmp.costs().by("experiment")

    An axis only some experiments have reads, for the others, what their requests sent (or "-"
    where they cannot say): see `qwenlab.store.comparison`, which also says how judgements made
    on a comparison are stored."""

    def score_text(self, engine: Any = "auto", **options: Any) -> "pd.DataFrame":
        """Read and score the text of every member's images not yet read (stored as each
        experiment's own); one row per image of the comparison, as this engine scored it."""
        used = None
        for member in self.experiments:
            used = score_experiment(member, engine, **options).attrs["run"].engine
        # the engine's own scores: given as an object (TesseractEngine(lang=...)), the most used
        # engine's were returned instead, another engine's scores under this call's name
        return scores_frame(self, used)

    def costs(self, *, experiments: Any = None, **filters: Any) -> Costs:
        """Cost analysis of the compared experiments (`.by("experiment")`, `.by("size")`, ...).
        experiments: only some of them (one name or a list); other filters (`since=`, `until=`)
        as in `Costs`. A name not compared here is refused, naming the compared ones."""
        return Costs(self.log.log, experiments=self.members_named(experiments), **filters)

    @property
    def tags(self) -> list[str]:
        """The tags of its experiments, each once."""
        return list(dict.fromkeys(t for i in self.log.ids for t in self._organizer.tags(i)))

    # read-only: what changes an experiment is done to the experiment itself
    tag, untag, note, rename = _read_only("tag"), _read_only("untag"), _read_only("note"), _read_only("rename")
    archive, unarchive, delete = _read_only("archive"), _read_only("unarchive"), _read_only("delete")

    @property
    def _organizer(self) -> Organizer:
        return Organizer(self.log.log, self.data_dir)


def _returning(method: Callable[..., Any], returns: type) -> Callable[..., Any]:
    """`method` as `help()` and the signature should show it on `Lab`: returning `returns`. The
    runner's methods are typed with its type variable, which `help(lab.run)` showed as `-> E`
    (`~E`), naming nothing a user can look up; type checkers read `Runner[Experiment]` already."""

    @functools.wraps(method)
    def shown(self: Any, *args: Any, **kwargs: Any) -> Any:
        return method(self, *args, **kwargs)

    shown.__signature__ = inspect.signature(method).replace(return_annotation=returns)  # type: ignore[attr-defined]
    shown.__annotations__ = {**method.__annotations__, "return": returns}
    return shown


class Lab(Runner[Experiment]):
    """Where experiments run and are kept: a data folder (log + images) and a client.

    data_dir: default `qwenlab.paths.data_dir()` (`$QWENLAB_DATA_DIR`, else the project's `data/`, found
    from the current folder up, else the user's data folder). client: default `qwenlab.api.connect.connect()`
    (the real API with RUNWARE_API_KEY, else the offline emulator), made on first need, saving
    images under `<data_dir>/images`; a zero-argument callable is called on first need instead
    (so a run with nothing to send connects to nothing). log: default `<data_dir>/qwenlab.db`.
    Running, resuming and the budget: `qwenlab.sweeps.runner.Runner`.
    """

    experiment_class = Experiment
    if not TYPE_CHECKING:  # at runtime only: a checker reads Experiment through Runner[Experiment]
        run = _returning(Runner.run, Experiment)
        experiment = _returning(Runner.experiment, Experiment)

    def experiments(self, tag: str | None = None, *, archived: bool = False) -> "pd.DataFrame":
        """Every experiment: status, cells by status, images, cost, tags, notes, archived_at. tag=
        keeps those with that tag; archived=True lists archived ones too (deleted ones never show)."""
        return self.log.experiments_frame(tag=tag, archived=archived)

    def search(self, text: str | None = None, **filters: Any) -> "pd.DataFrame":
        """Images whose prompt has every word of `text`, across experiments: experiment, values,
        seed, rating, prompt, path, ... Filters: experiment=, tag=, min_rating=, archived=False,
        raw=True (FTS5 syntax), limit= (see `qwenlab.store.search.search`)."""
        return search(self.log, self.data_dir, text, **filters)

    def bundle(self, names: str | list[str], path: str | Path) -> BundleInfo:
        """Pack experiments (rows and images) into one zip file to hand to someone
        (`lab.import_bundle(path)` on their side)."""
        return write_bundle(self.log, self.data_dir, [names] if isinstance(names, str) else names, path)

    def import_bundle(self, path: str | Path, *, as_name: str | None = None) -> ImportReport:
        """Merge a bundle into this lab's log: importing twice adds nothing; costs and provenance
        stay exact; a name in use here is refused, naming the fix (`as_name="new-name"`)."""
        return import_bundle(self.log, self.data_dir, path, as_name=as_name)

    def verify(self, *names: str, set_aside: bool = False) -> StoreReport:
        """Verify the log and every image file of the experiments `names` (all by default): each
        file there, at its logged size and with the SHA-256 logged (a run looks only at the size).
        `print(report)` says what is wrong; `report.frame()` lists it. set_aside=True moves the
        damaged and cut-short files to `set-aside/` in the data folder (kept), so that the next run
        of their sweeps fetches them again, free, while the server keeps the task."""
        report = check_store(self.log, self.data_dir, names)
        return _set_aside(report, self.data_dir) if set_aside else report

    def costs(self, **filters: Any) -> Costs:
        """Cost analysis over this lab's log (`Costs`: `.by("experiment")`, `.summary()`, ...);
        keyword filters (`since=`, `until=`, `experiments=`) narrow it."""
        return Costs(self.log, **filters)

    def compare(self, *names: str) -> Comparison:
        """Two or more experiments of this lab as one read-only view, in which `experiment` is an
        axis: `lab.compare("a", "b").grid(rows="experiment", cols="size")`, `.pairs("experiment")`,
        `.judge("experiment")`, `.text_scores()`, `.costs().by("experiment")`.
        Raises ExperimentNotFoundError for an unknown name, ComparisonError for fewer than two."""
        return Comparison(self.log, names, self.data_dir)
