"""Checking what the log and the image store hold: every image file the bytes that were logged.

A run checks only that each image file of its experiment is there at its logged size (one stat
an image), and fetches again, free, the images it finds gone or cut short. A file damaged in
place (a sync tool, a bad disk, an editor that saved over it) keeps its size and was found only
when a view drew it. `check_store` reads every file and compares its SHA-256 with the log's, and
asks SQLite to check the log itself:

    report = check_store(log, data_dir)            # or names=["lumiere-extend", ...]
    report.ok, report.problems, str(report)

`set_aside(report, data_dir)` moves the damaged and cut-short files out of the store, into
`set-aside/<time>/` in the data folder (kept, never deleted: they are what was left of paid
images), so that the next run of their sweeps fetches them again from the server, as it does a
deleted file, while the server still keeps the task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..core.shown import shown_as_text
from ..core.values import count_of
from .experiment import ExperimentRecord
from .log import Log

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ImageProblem", "StoreReport", "check_store", "set_aside", "problems_by_experiment", "PROBLEMS", "SET_ASIDE_DIR"]

SET_ASIDE_DIR = "set-aside"

# what can be wrong with an image file, as said to the user
PROBLEMS = {
    "missing": "missing",
    "cut short": "not the size logged",
    "damaged": "not the bytes logged",
    "unreadable": "cannot be read",
}


@dataclass(frozen=True)
class ImageProblem:
    """One image file that is not what the log says: `problem` is a key of PROBLEMS."""

    experiment: str
    image_id: int
    task_id: int
    path: Path
    problem: str
    detail: str = ""
    imported: bool = False  # the experiment came in a bundle: its images come with the bundle, not a run
    lost: bool = False  # a run asked the server for it again and was refused: lost for good (error_code ImageLost)

    @property
    def fetchable(self) -> bool:
        """Whether the next run fetches it again once the file is out of the way (not an image
        a run has already asked the server for in vain: later runs do not ask again)."""
        return self.problem in ("missing", "cut short", "damaged") and not self.lost


@shown_as_text
@dataclass
class StoreReport:
    """What `check_store` found: the log's verdict, how many images were read, and the problems."""

    log_verdict: str
    experiments: int
    images: int
    problems: list[ImageProblem] = field(default_factory=list)
    moved: list[tuple[Path, Path]] = field(default_factory=list)  # (from, to), by set_aside
    set_aside_dir: Path | None = None  # where set_aside moved them: set-aside/<time>/
    listed: bool = True  # False: the log's damage kept its images from being listed

    @property
    def ok(self) -> bool:
        """True when SQLite finds the log sound and every image file is the bytes logged."""
        return self.log_verdict == "ok" and self.listed and not self.problems

    def frame(self) -> "pd.DataFrame":
        """One row per problem: experiment, image_id, task_id, problem, path, detail."""
        import pandas as pd

        return pd.DataFrame([{"experiment": p.experiment, "image_id": p.image_id, "task_id": p.task_id,
                              "problem": PROBLEMS[p.problem], "path": str(p.path), "detail": p.detail}
                             for p in self.problems],
                            columns=["experiment", "image_id", "task_id", "problem", "path", "detail"])

    def __str__(self) -> str:
        lines = []
        log_line = "the log is sound" if self.log_verdict == "ok" else f"the log is damaged: {self.log_verdict}"
        images, exps = count_of(self.images, "image"), count_of(self.experiments, "experiment")
        if not self.listed:
            lines.append(f"{log_line}; its images could not be listed, so none was checked")
        elif not self.problems:
            lines.append(f"{log_line}; all {images} of {exps} are the bytes logged")
        else:
            lines.append(f"{log_line}; {len(self.problems)} of {images} of {exps} are not as logged:")
            for p in self.problems:
                said = [p.detail] if p.detail else []
                said += ["lost for good: a run asked the server for it again, in vain"] if p.lost else []
                lines.append(f"  {p.experiment}  image {p.image_id}  {PROBLEMS[p.problem]}  {p.path}"
                             + (f"  ({'; '.join(said)})" if said else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"StoreReport(log={self.log_verdict!r}, experiments={self.experiments}, images={self.images}, "
                f"problems={len(self.problems)}, moved={len(self.moved)})")


def check_store(log: Log, data_dir: str | Path, names: Sequence[str] = ()) -> StoreReport:
    """Check the log (SQLite's quick_check) and every image file of the experiments `names` (all
    those not deleted, by default) against its logged size and SHA-256. Reads every file once;
    writes nothing. An unknown name raises ExperimentNotFoundError, naming the known ones."""
    root = Path(data_dir)
    ids = [ExperimentRecord(log, name, root).id for name in names]  # every name checked first
    verdict = _log_verdict(log)
    where, params = "e.deleted_at IS NULL", []
    if names:
        where += f" AND e.id IN ({', '.join('?' for _ in ids)})"
        params = ids
    try:
        rows = log.rows("SELECT i.id, i.task_id, i.path, i.bytes, i.sha256, e.name, e.imported_from IS NOT NULL AS imported, "
                        "coalesce(t.error_code = 'ImageLost', 0) AS lost FROM images i "
                        "JOIN experiments e ON e.id = i.experiment_id LEFT JOIN tasks t ON t.id = i.task_id "
                        f"WHERE {where} AND i.path IS NOT NULL ORDER BY e.id, i.id", params)
        counted = log.rows(f"SELECT count(*) AS n FROM experiments e WHERE {where}", params)[0]["n"]
    except sqlite3.DatabaseError as exc:  # the damage is in the pages that list the images
        return StoreReport(verdict if verdict != "ok" else str(exc), 0, 0, listed=False)
    report = StoreReport(verdict, int(counted), len(rows))
    for row in rows:
        problem = _file_problem(root / row["path"], row["bytes"], row["sha256"])
        if problem is not None:
            report.problems.append(ImageProblem(row["name"], int(row["id"]), int(row["task_id"]),
                                                root / row["path"], *problem, imported=bool(row["imported"]),
                                                lost=bool(row["lost"])))
    return report


def _log_verdict(log: Log) -> str:
    try:
        rows = log.rows("PRAGMA quick_check")
    except sqlite3.DatabaseError as exc:
        return str(exc)
    # SQLite heads its list with "*** in database main ***": the pages named after it say more
    verdicts = [str(next(iter(r.values()))) for r in rows]
    said = [line for v in verdicts for line in v.splitlines() if line and not line.startswith("***")]
    return "ok" if verdicts == ["ok"] else "; ".join(said[:3])


def _file_problem(path: Path, size: int | None, sha256: str | None) -> tuple[str, str] | tuple[str] | None:
    try:
        with open(path, "rb") as f:
            actual_size = os.fstat(f.fileno()).st_size
            if size is not None and actual_size != size:
                return ("cut short", f"{actual_size:,} bytes, {size:,} logged")
            if not sha256:
                return None
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return ("missing",)
    except OSError as exc:
        return ("unreadable", exc.strerror or type(exc).__name__)
    return None if digest == sha256 else ("damaged",)


def set_aside(report: StoreReport, data_dir: str | Path, *, now: dt.datetime | None = None) -> StoreReport:
    """Move the report's damaged and cut-short files to `set-aside/<UTC time>/` in the data
    folder, under their paths in the store, so that the next run of their sweeps fetches them
    again (free, with getResponse) as it does a deleted file. Returns the report, its `moved`
    filled in (and `set_aside_dir`). Missing files need nothing; unreadable ones are left where
    they are."""
    root = Path(data_dir)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    target_root = root / SET_ASIDE_DIR / stamp
    for problem in report.problems:
        # one file may stand for images of several experiments (the same bytes): moved once
        if problem.problem not in ("cut short", "damaged") or any(problem.path == moved for moved, _ in report.moved):
            continue
        try:
            relative = problem.path.relative_to(root)
        except ValueError:  # an image logged with an absolute path outside the data folder
            relative = Path(problem.path.name)
        target = target_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(problem.path, target)  # a rename, unless the image lives on another disk
        report.moved.append((problem.path, target))
        report.set_aside_dir = target_root
    return report


def problems_by_experiment(report: StoreReport, *, imported: bool = False) -> dict[str, int]:
    """How many fetchable problems each experiment has, for the advice on what to do: those run
    here (a run fetches them again), or with imported=True those that came in a bundle (its
    import, made again, brings them back)."""
    out: dict[str, int] = {}
    for p in report.problems:
        if p.fetchable and p.imported == imported:
            out[p.experiment] = out.get(p.experiment, 0) + 1
    return out
