"""Keeping dozens of experiments in order: tags, a note, a new name, archive, delete.

    from qwenlab.store.organize import Organizer
    org = Organizer(log, data_dir)
    org.tag(exp_id, "posters", "lumiere")      # and org.untag(...)
    org.note(exp_id, "extend helps the headline")
    org.rename(exp_id, "lumiere-v2")           # everything stays attached: it is all keyed by id
    org.archive(exp_id)                        # out of the default listings, kept whole
    org.delete(exp_id, confirm=True)           # -> Deletion: rows and files gone, spend kept

What a delete keeps: the money. An experiment's tasks are where every cost summary reads what
was spent (`qwenlab.costs`, `Log.spent`), so a delete keeps them as its spend ledger, stripped of
their content (prompt, request, cell values, error text), under the experiment's row renamed
"(deleted) NAME" and marked `deleted_at`. `qwenlab costs` totals are the same before and after;
the deleted experiment shows there as "(deleted) NAME" and nowhere else. Everything else goes:
images (rows and the files no other experiment uses, with their cached thumbnails), ratings,
judgements, text readings and scores, tags, and the rows of any later table that points at the
experiment or its images (found from the schema's foreign keys, `qwenlab.store.relations`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..core.shown import shown_as_text
from ..core.validation import BROKEN_TEXT, is_unicode_text
from ..core.values import count_of, format_usd
from ..errors import ConfirmationRequiredError, ExperimentBusyError, ExperimentConflictError
from ..paths import remove_if_empty
from ..secrets import refuse_secret
from .bundle_rows import origin_of
from .log import Log
from .migrations.former_names import FORMER_NAMES
from .relations import ROOTS, references
from .rows import utc_now
from .run_lock import run_alive, settle_abandoned
from .thumbnails import forget_thumbnails

__all__ = ["Organizer", "Deletion", "DELETED_PREFIX", "RESERVED_NAMES", "clean_tags", "all_tags", "unknown_tag", "name_problem", "safe_name", "unsafe_name_problem"]

DELETED_PREFIX = "(deleted) "
RESERVED_NAMES = ("path",)  # `qwenlab logs path` prints the log's path: an experiment of that name could not be shown


# What a name may not hold: control characters (a newline, a tab, an escape sequence), line and
# paragraph separators, the controls that reorder text in a terminal, and the path separators.
# A name becomes file names (`qwenlab images`, default grids and reports), a line of a table and
# a word typed in a shell; any of these breaks one of them.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_NAME = re.compile(f"[{_CONTROLS}/\\\\]")
_UNSAFE_IN_TAG = re.compile(f"[{_CONTROLS}]")  # a tag names no file: a slash in it is harmless
_CHARACTER_NAMES = {"/": "a slash ('/')", "\\": "a backslash ('\\\\')", "\n": "a newline", "\r": "a carriage return",
                    "\t": "a tab"}


def safe_name(name: str, *, tag: bool = False) -> str:
    """`name` with each character a new name may not hold (see `unsafe_name_problem`) put as '-'
    (runs of them as one), trimmed; unchanged when it holds none. Empty when nothing is left."""
    unsafe = _UNSAFE_IN_TAG if tag else _UNSAFE_IN_NAME
    if unsafe.search(name) is None:
        return name
    return re.sub(r"-{2,}", "-", unsafe.sub("-", name)).strip(" -")


def unsafe_name_problem(name: str, *, what: str = "a name", tag: bool = False) -> str | None:
    """What is wrong with `name` for holding a character that breaks file names, tables or the
    shell (None when it holds none): which one, and a name without it to use instead. tag=True:
    a tag's rule, control characters only (a slash is allowed)."""
    unsafe = _UNSAFE_IN_TAG if tag else _UNSAFE_IN_NAME
    found = unsafe.search(name)
    if found is None:
        return None
    char = found.group()
    said = _CHARACTER_NAMES.get(char) or (f"the control character U+{ord(char):04X}" if ord(char) < 0xA0 else
                                          f"a line or paragraph separator (U+{ord(char):04X})" if char in "\u2028\u2029" else
                                          f"a text-direction control (U+{ord(char):04X})")
    instead = safe_name(name, tag=tag) or ("posters" if tag else "lumiere-v2")
    breaks = "tables and the shell" if tag else "file names, tables and the shell"
    return (f"{name!r} holds {said}, which {what} may not hold (it breaks {breaks}); "
            f"leave it out or put '-' in its place, e.g. {instead!r}")


def name_problem(name: str, *, new: bool = True) -> str | None:
    """What is wrong with `name` as an experiment's name (None when it is usable): not text,
    blank, holding a control character or a slash (a new name only: an experiment of an older
    log that has one keeps working under it), kept for deleted experiments, or a word the CLI
    reads as a command. A run, a rename and an import under --as check alike."""
    if not isinstance(name, str):
        return f"must be text, got {type(name).__name__} {name!r}; e.g. name='lumiere-v2'"
    if not name.strip():
        return "is blank; give a name with a visible character, e.g. 'lumiere-v2'"
    if not is_unicode_text(name):
        return f"{name!r} {BROKEN_TEXT}"
    if new and (problem := unsafe_name_problem(name, what="an experiment's name")):
        return problem
    if name.strip().startswith(DELETED_PREFIX.strip()):
        return (f"names starting with {DELETED_PREFIX.strip()!r} are kept for deleted experiments (their spend "
                "stays in the cost history); choose another name")
    if name.strip() in RESERVED_NAMES:
        return f"{name.strip()!r} is kept for `qwenlab logs {name.strip()}`; choose another name"
    return None


def refuse_broken_text(what: str, text: str | None) -> None:
    """ValueError naming `what` for text holding a lone surrogate, which the log cannot store."""
    if text is not None and not is_unicode_text(text):
        raise ValueError(f"{what}: {text!r} {BROKEN_TEXT}")


# task columns a deleted experiment keeps: what the cost summaries read (money, provenance, when,
# model and size), nothing that says what was asked
_STRIPPED_TASK_COLUMNS = ("request_json", "cell_json", "prompt", "negative_prompt", "error_message")


def clean_tags(tags: Iterable[str], *, new: bool = True) -> list[str]:
    """Tags as stored: stripped, in order, each once. ValueError naming `tag` for an empty one,
    or a new one (new=True: to be added) holding a control character such as a newline or the
    API key; an older log's tag that holds one can still be removed (new=False)."""
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError(f"tag: {tag!r} is not a tag; give a non-empty word, e.g. exp.tag('posters') "
                             "or `qwenlab tag NAME posters`")
        if "," in tag:  # listings join tags with commas: "a,b" would read as two tags
            raise ValueError(f"tag: {tag!r} holds a comma, which listings put between tags; give each tag "
                             "on its own, e.g. exp.tag('print', 'lumiere') or `qwenlab tag NAME print lumiere`")
        if new:  # a tag an older log kept with the key in it is removed, not refused: that is the fix
            refuse_secret("tag", tag)
        refuse_broken_text("tag", tag)
        if new and (problem := unsafe_name_problem(tag.strip(), what="a tag", tag=True)):
            raise ValueError(f"tag: {problem}")
        if tag.strip() not in out:
            out.append(tag.strip())
    return out


def all_tags(log: "Log") -> list[str]:
    """Every tag of an experiment not deleted, sorted."""
    return [r["tag"] for r in log.rows("SELECT DISTINCT g.tag FROM experiment_tags g JOIN experiments e "
                                       "ON e.id = g.experiment_id WHERE e.deleted_at IS NULL ORDER BY g.tag")]


def unknown_tag(log: "Log", tag: str | None) -> str:
    """Why nothing was found when a tag filter names a tag no experiment has (a typo, 'poster'
    for 'posters'), said with the tags there are; "" when the tag is known (or None)."""
    if tag is None:
        return ""
    tags = all_tags(log)
    if tag in tags:
        return ""
    return f"no experiment has the tag {tag!r} (tags: {', '.join(tags) or 'none yet; qwenlab tag NAME TAG adds one'})"


@shown_as_text
@dataclass(frozen=True)
class Deletion:
    """What a delete did: rows removed, files removed, and the spend kept in the cost history."""

    name: str
    kept_as: str
    images: int
    files_removed: int
    files_kept: int  # image files another experiment still uses
    thumbnails_removed: int
    spent_usd: float
    rows: dict[str, int] = field(default_factory=dict)
    files_left: list[str] = field(default_factory=list)  # files it could not remove (held open, read-only)
    imported_from: str | None = None  # the bundle it was imported from: its spend was made in another log

    def __str__(self) -> str:
        shared = f" ({self.files_kept} kept: another experiment uses {'it' if self.files_kept == 1 else 'them'})" if self.files_kept else ""
        n = len(self.files_left)
        left = (f"; {n} file{'s' if n != 1 else ''} could not be removed (in use or read-only), remove "
                f"{'them' if n != 1 else 'it'} by hand: "
                + ", ".join(self.files_left[:3]) + (", ..." if n > 3 else "")) if n else ""
        return (f"deleted {self.name!r}: {count_of(self.images, 'image')}, {count_of(self.files_removed, 'file')} removed{shared}; "
                f"its spend ({format_usd(self.spent_usd)}) stays in the cost history as {self.kept_as!r}{self._elsewhere()}{left}")

    def _elsewhere(self) -> str:
        """For an imported copy: that its spend was made in another log, and what leaves it out. Its
        delete said only that its spend stays, as if this log's money had bought it."""
        if self.imported_from is None:
            return ""
        return (f", marked imported (spent in the log {self.imported_from} came from: `qwenlab costs --no-imported`, "
                f"Costs(imported=False), leaves it out; importing {self.imported_from} again brings the experiment back)")


class Organizer:
    """Tags, notes, names, archive and delete of the experiments of one log."""

    def __init__(self, log: Log, data_dir: str | Path) -> None:
        self.log = log
        self.data_dir = Path(data_dir)

    # -- tags and notes -------------------------------------------------------------------------
    def tags(self, experiment_id: int) -> list[str]:
        """The experiment's tags, in the order they were added."""
        return [r["tag"] for r in self.log.rows("SELECT tag FROM experiment_tags WHERE experiment_id = ? ORDER BY id",
                                                [experiment_id])]

    def tag(self, experiment_id: int, *tags: str) -> list[str]:
        """Add tags (a tag it has already is kept once); returns its tags."""
        wanted = clean_tags(tags)
        now = utc_now()
        with self.log.transaction() as db:
            for tag in wanted:
                db.execute("INSERT OR IGNORE INTO experiment_tags (experiment_id, tag, created_at) VALUES (?, ?, ?)",
                           [experiment_id, tag, now])
        return self.tags(experiment_id)

    def untag(self, experiment_id: int, *tags: str) -> list[str]:
        """Remove tags (one it does not have is ignored); returns its tags."""
        wanted = clean_tags(tags, new=False)
        with self.log.transaction() as db:
            for tag in wanted:
                db.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND tag = ?", [experiment_id, tag])
        return self.tags(experiment_id)

    def note(self, experiment_id: int, text: str | None) -> None:
        """Set the experiment's note (None clears it)."""
        if text is not None and not isinstance(text, str):
            raise ValueError(f"note: give text (or None to clear it), not {type(text).__name__}")
        refuse_secret("note", text)
        refuse_broken_text("note", text)
        self.log.update_experiment(experiment_id, notes=text)

    # -- names and life ---------------------------------------------------------------------------
    def rename(self, experiment_id: int, new_name: str) -> None:
        """Give the experiment a new name. Its tasks, images, ratings, judgements and scores
        follow: every one of them points at its id, not its name."""
        row = self._row(experiment_id)
        if not isinstance(new_name, str):
            raise ValueError(f"new_name: give a name as text, e.g. exp.rename('lumiere-v2'), got {new_name!r}")
        if problem := name_problem(new_name):
            raise ValueError(f"new_name: {problem}")
        refuse_secret("new_name", new_name)
        new_name = new_name.strip()
        if new_name == row["name"]:
            return
        self._refuse_running(row, "rename")
        with self.log.transaction() as db:
            self._refuse_running_now(row, "rename")
            if db.execute("SELECT 1 FROM experiments WHERE name = ?", [new_name]).fetchone():
                raise ExperimentConflictError(f"new_name: an experiment named {new_name!r} exists already; "
                                              "pick another name (or delete or rename that one first)")
            now = utc_now()
            db.execute("UPDATE experiments SET name = ?, updated_at = ? WHERE id = ?", [new_name, now, experiment_id])
            # so that a run still under the old name goes on with this experiment rather than
            # paying for every cell again in a new one (`qwenlab.sweeps.checks`)
            db.execute(f"INSERT INTO {FORMER_NAMES} (experiment_id, name, renamed_at) VALUES (?, ?, ?)",
                       [experiment_id, row["name"], now])

    def archive(self, experiment_id: int, archived: bool = True) -> None:
        """Retire the experiment from the default listings (`lab.experiments()`, `qwenlab logs`;
        `all=True` / `--all` shows it); nothing of it is removed. archived=False brings it back."""
        self._row(experiment_id)
        with self.log.transaction() as db:
            db.execute("UPDATE experiments SET archived_at = ? WHERE id = ?",
                       [utc_now() if archived else None, experiment_id])

    def delete(self, experiment_id: int, *, confirm: bool = False, force: bool = False) -> Deletion:
        """Delete the experiment: its images (rows, and the files no other experiment uses, with
        their thumbnails), ratings, judgements, text scores and tags. What it spent stays in the
        cost history, as "(deleted) NAME" (see the module docstring).

        confirm=True is required (it cannot be undone). A running experiment is refused
        (ExperimentBusyError); force=True deletes one whose run died without finishing."""
        row = self._row(experiment_id)
        name = row["name"]
        images = self.log.rows("SELECT id, path, sha256 FROM images WHERE experiment_id = ?", [experiment_id])
        if confirm is not True:
            raise ConfirmationRequiredError(
                f"confirm: deleting {name!r} removes its {count_of(len(images), 'image')}, their ratings, judgements and scores, "
                "and cannot be undone (its spend stays in the cost history); call delete(confirm=True) "
                "(`qwenlab delete NAME --yes` from a shell)")
        if not force:
            self._refuse_running(row, "delete")
        spent = self.log.spent(experiment_id)
        image_ids = [r["id"] for r in images]
        removed: dict[str, int] = {}
        with self.log.transaction() as db:
            if not force:
                self._refuse_running_now(row, "delete")
            kept_as = _free_name(db, DELETED_PREFIX + name)
            for table, fks in references(db).items():
                if table in ROOTS:
                    continue
                for column, target in fks:
                    removed[table] = removed.get(table, 0) + _delete_referencing(db, table, column, target,
                                                                                 experiment_id, image_ids)
            db.execute("DELETE FROM images WHERE experiment_id = ?", [experiment_id])
            blank = ", ".join(f"[{c}] = NULL" for c in _STRIPPED_TASK_COLUMNS)
            db.execute(f"UPDATE tasks SET {blank} WHERE experiment_id = ?", [experiment_id])
            db.execute("UPDATE experiments SET name = ?, deleted_at = ?, updated_at = ?, notes = NULL, sweep_json = NULL, "
                       "archived_at = NULL WHERE id = ?", [kept_as, utc_now(), utc_now(), experiment_id])
        removed["images"] = len(image_ids)
        files_removed = files_kept = thumbs = 0
        files_left: list[str] = []
        for path in sorted({r["path"] for r in images if r["path"]}):
            if self.log.rows("SELECT 1 FROM images WHERE path = ? LIMIT 1", [path]):
                files_kept += 1  # the same bytes (stored once, by hash) belong to another experiment too
                continue
            file = self._inside_images(path)
            if file is None:
                continue
            if file.exists():
                thumbs += forget_thumbnails(file)
                try:
                    file.unlink()
                except OSError:
                    # the rows are gone already (committed): a file that cannot go (held open by
                    # another program on Windows, a read-only folder) is said, not raised midway
                    files_left.append(str(file))
                    continue
                if file.parent != (self.data_dir / "images").resolve():
                    remove_if_empty(file.parent)  # its two-letter folder, when no other image is in it
                files_removed += 1
        return Deletion(name, kept_as, len(image_ids), files_removed, files_kept, thumbs, round(spent, 6),
                        {k: v for k, v in removed.items() if v}, files_left,
                        (origin_of(row).get("bundle") or "its bundle") if row.get("imported_from") else None)

    # -- helpers ----------------------------------------------------------------------------------
    def _row(self, experiment_id: int) -> dict[str, Any]:
        row = self.log.experiment_by_id(experiment_id)
        if row is None or row.get("deleted_at"):
            raise ValueError(f"experiment id {experiment_id} is not in {self.log.path} (deleted?)")
        return row

    def _refuse_running(self, row: dict[str, Any], what: str) -> None:
        # A live run holds the experiment's run lock whatever its row says: of two runs of one
        # experiment (two notebooks, a notebook and `qwenlab run`), the first to finish writes its
        # status ('done') while the other still sends, and a rename or delete then went through
        # under the live run (its cells written into a deleted experiment; a rename made it fail)
        alive = run_alive(self.log.path, int(row["id"])) is True
        if row.get("status") == "running" and not alive and settle_abandoned(self.log):  # left so by a run that died
            row = self._row(int(row["id"]))
        if alive or row.get("status") == "running":
            self._busy(row, what)

    def _refuse_running_now(self, row: dict[str, Any], what: str) -> None:
        """Inside the rename's or delete's write transaction: a run that took its lock since the
        check before (it marks the experiment 'running' only once this transaction ends, and a
        run that starts later finds the experiment deleted: Runner.run)."""
        if run_alive(self.log.path, int(row["id"])) is True:
            self._busy(row, what)

    def _busy(self, row: dict[str, Any], what: str) -> None:
        raise ExperimentBusyError(
            f"experiment {row['name']!r} is running (a sweep is sending its cells; last updated {row.get('updated_at')}); "
            f"{what} it when the run has finished or been stopped. If no run is alive (its process was killed "
            "where qwenlab cannot tell: on another machine), "
            + ("delete it with force=True (`qwenlab delete NAME --force`)" if what == "delete"
               else "run its sweep again to finish it first"))

    def _inside_images(self, path: str) -> Path | None:
        """The file of a logged image path, only when it lies under this data folder's images/."""
        file = Path(path) if Path(path).is_absolute() else self.data_dir / path
        root = (self.data_dir / "images").resolve()
        try:
            resolved = file.resolve()
        except OSError:
            return None
        return resolved if root in resolved.parents else None


def _delete_referencing(db: Any, table: str, column: str, target: str, experiment_id: int, image_ids: list[int]) -> int:
    """Delete the rows of `table` whose `column` points at the experiment or one of its images."""
    if target == "experiments":
        return db.execute(f"DELETE FROM [{table}] WHERE [{column}] = ?", [experiment_id]).rowcount
    if target == "images" and image_ids:
        marks = ",".join("?" for _ in image_ids)
        return db.execute(f"DELETE FROM [{table}] WHERE [{column}] IN ({marks})", image_ids).rowcount
    return 0  # rows pointing at tasks stay with the tasks (the spend ledger)


def _free_name(db: Any, name: str) -> str:
    """`name`, or `name [2]`, `name [3]`... whichever no experiment has (a name deleted twice)."""
    candidate, n = name, 1
    while db.execute("SELECT 1 FROM experiments WHERE name = ?", [candidate]).fetchone():
        n += 1
        candidate = f"{name} [{n}]"
    return candidate
