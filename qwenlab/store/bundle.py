"""Sharing experiments without a server: a bundle is one zip file, imported into another log.

    write_bundle(log, data_dir, ["lumiere-extend"], "lumiere.qwenlab.zip")
    import_bundle(other_log, other_data_dir, "lumiere.qwenlab.zip")           # -> ImportReport
    import_bundle(other_log, other_data_dir, "lumiere.qwenlab.zip", as_name="lumiere-from-ana")

Inside the zip:

    manifest.json        format, qwenlab version, when, the experiments, every image's SHA-256
    qwenlab.db           a qwenlab log (same schema, same migrations) holding only those experiments
    images/ab/<sha>.jpg  each image once, named by its hash as in a data folder

Rows are copied as they are, so costs and provenance stay exact: the costs reported, the prices
recorded at send time, backend, API host and qwenlab version of every task, ratings,
judgements, text scores, tags and notes. Ids are given anew in the receiving log, and every
reference (tasks to experiments, images to tasks, ratings to images, and any table a later
migration adds, found from its foreign keys) follows. Nothing in a bundle was ever a secret: the
log keeps none, and the manifest is scrubbed all the same.

Import is idempotent: tasks are known by their taskUUID, so an experiment whose tasks are all in
the log already adds nothing. A name the receiving log already uses for other work is refused
(ExperimentConflictError) with the fix: import it under another name (`as_name=`, `--as`).

A later bundle of an experiment imported before (finished since, or retried; every cell done in
the copy done in it) updates the copy: the copy is replaced by the bundle's, and what was made
here on it after its import (ratings, judgements, scores, tags, by their time, and those kept at
an earlier update, which the copy remembers in `imported_from["made_here"]`; a note's lines of
one's own) is kept, by image and task UUID; what came with the earlier bundle is the sender's
to keep or remove. An earlier state, or the same, replaces nothing. A copy deleted here comes
back from its bundle the same way. A bundle of an experiment this log holds already
(a colleague's copy of one's own, sent back) merges what was added to it there: its ratings,
judgements, scores, tags and note, each once.

The zip itself is read and checked in `bundle_zip`; what each experiment of a bundle becomes
here (imported, updated, merged, or left, and why) is decided in `bundle_plan`; the rows are
copied between logs in `bundle_rows`.
"""

from __future__ import annotations

import json
import shlex
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..core.shown import shown_as_text
from ..core.values import count_of
from ..errors import BundleError
from ..paths import write_atomic
from ..secrets import redact, secret_places
from ..version import __version__
from .bundle_plan import plan_import
from .bundle_rows import copy_experiments, origin_of
from .bundle_zip import (
    DB_NAME,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    check_bundle,
    extract_member,
    file_of,
    image_arcname,
    open_zip,
    read_member,
    sha256_of,
    source_log,
)
from .experiment import ExperimentRecord
from .log import Log
from .rows import utc_now

__all__ = ["write_bundle", "import_bundle", "check_bundle", "origin_of", "BundleInfo", "ImportReport", "FORMAT", "FORMAT_VERSION"]


@shown_as_text
@dataclass(frozen=True)
class BundleInfo:
    """What `write_bundle` wrote."""

    path: Path
    experiments: list[str]
    tasks: int
    images: int
    bytes: int

    def __str__(self) -> str:
        return (f"wrote {self.path}: {count_of(len(self.experiments), 'experiment')} ({', '.join(self.experiments)}), "
                f"{count_of(self.tasks, 'task')}, {count_of(self.images, 'image file')}, {self.bytes / 1e6:.1f} MB")


@shown_as_text
@dataclass
class ImportReport:
    """What `import_bundle` did, experiment by experiment."""

    bundle: Path
    imported: dict[str, str] = field(default_factory=dict)   # bundle name -> name in this log
    updated: dict[str, str] = field(default_factory=dict)    # of those, the copies imported before and replaced
    merged: dict[str, str] = field(default_factory=dict)     # already here: ratings, tags... added elsewhere merged
    dropped: int = 0  # rows added here to a replaced copy whose image or task the new copy lacks
    skipped: dict[str, str] = field(default_factory=dict)    # bundle name -> why (already here)
    # as_name (--as) not given: bundle name -> (its name in this log, kept; the name asked for).
    # The experiment was here already (imported before, or this log's own): a rename is the
    # user's to make, since runs and notebooks under the name it has are refused after one
    not_renamed: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)       # table -> rows added
    files_written: int = 0

    def __str__(self) -> str:
        lines = [f"imported {self.bundle.name}:"]
        lines += [(f"  {src!r} as {dst!r}" if src != dst else f"  {src!r}")
                  + (" (updated: the copy imported before was replaced, what was added to it here kept)"
                     if src in self.updated else "") for src, dst in self.imported.items()]
        lines += [f"  {src!r}: its ratings, judgements, scores, tags and note from elsewhere merged into {dst!r}"
                  for src, dst in self.merged.items()]
        lines += [f"  {src!r}: nothing added ({why})" for src, why in self.skipped.items()]
        lines += [f"  --as {asked!r} was not applied: {src!r} is in this log already, as {here!r}, and keeps that name; "
                  f"to rename it: qwenlab rename {shlex.quote(here)} {shlex.quote(asked)} "
                  f"(lab.experiment({here!r}).rename({asked!r}))" for src, (here, asked) in self.not_renamed.items()]
        # a table's name is its rows' plural: "1 experiment, 4 tasks", not "1 experiments"
        added = ", ".join(count_of(n, t[:-1]) if t.endswith("s") else f"{n} {t}" for t, n in self.rows.items() if n)
        lines.append(f"  added {added or 'no rows'}; {count_of(self.files_written, 'image file')} written")
        if self.dropped:
            lines.append(f"  {count_of(self.dropped, 'row')} made here on the copy replaced (ratings, scores...) "
                         f"{'was' if self.dropped == 1 else 'were'} not put back: "
                         f"what {'it was' if self.dropped == 1 else 'they were'} about is not in the bundle")
        return "\n".join(lines)


# -- writing --------------------------------------------------------------------------------------
def write_bundle(log: Log, data_dir: str | Path, names: Iterable[str], out: str | Path) -> BundleInfo:
    """Pack the experiments `names` of `log` (rows and image files) into the zip `out`."""
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError("names: give at least one experiment to bundle, e.g. qwenlab bundle NAME -o FILE")
    folder = Path(data_dir)
    rows = [ExperimentRecord(log, name, folder).row for name in names]  # ExperimentNotFoundError names the known ones
    out = Path(out)
    _refuse_target(out)
    with tempfile.TemporaryDirectory(prefix="qwenlab-bundle-") as tmp:
        db_file = Path(tmp) / DB_NAME
        packed = Log(db_file, settle_runs=False)
        try:
            copy_experiments(log, packed, {int(row["id"]): {} for row in rows})
            _refuse_secrets(packed)
            tasks = packed.rows("SELECT count(*) AS n FROM tasks")[0]["n"]
            images = packed.rows("SELECT DISTINCT path, sha256 FROM images WHERE path IS NOT NULL")
            packed.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            packed.db.execute("PRAGMA journal_mode = DELETE")  # one self-contained file in the zip
        finally:
            packed.close()
        files: dict[str, str] = {}
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        try:
            with zipfile.ZipFile(partial, "w") as zf:
                zf.write(db_file, DB_NAME, compress_type=zipfile.ZIP_DEFLATED)
                for img in images:
                    source = file_of(folder, img["path"])
                    # the fix is verify's: it knows how each file comes back (a run fetches one
                    # anew while the server keeps it; an imported one comes with its bundle)
                    if not source.exists():
                        raise BundleError(f"image file {str(source)!r} of the log is missing; cannot bundle it. "
                                          f"{_FETCH_AGAIN} (or put it back, if the data folder was moved)")
                    arcname = image_arcname(img["path"])
                    if arcname not in files:
                        data = source.read_bytes()
                        if img["sha256"] and sha256_of(data) != img["sha256"]:
                            # refused here, where it can be mended, rather than at the colleague's import
                            raise BundleError(f"image file {str(source)!r} was changed since it was logged (its bytes no "
                                              "longer match its SHA-256); put the original back, or set it aside "
                                              f"(`qwenlab verify --set-aside`) and get it again, before bundling. {_FETCH_AGAIN}")
                        zf.writestr(zipfile.ZipInfo.from_file(source, arcname), data,
                                    compress_type=zipfile.ZIP_STORED)  # JPEG/PNG/WebP: already compressed
                        files[arcname] = img["sha256"]
                manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "qwenlab": __version__,
                            "created_at": utc_now(), "experiments": names, "tasks": tasks, "images": files}
                zf.writestr(MANIFEST_NAME, redact(json.dumps(manifest, indent=2, ensure_ascii=False)),
                            compress_type=zipfile.ZIP_DEFLATED)
        except BaseException:  # refused (a file changed, missing) or interrupted: no half-written bundle stays
            partial.unlink(missing_ok=True)
            raise
        partial.replace(out)
    return BundleInfo(out, names, int(tasks), len(files), out.stat().st_size)


def _refuse_secrets(packed: Log) -> None:
    """BundleError when a row to be bundled holds the API key: a log written before runs refused a
    key pasted into a prompt (a note, a tag) kept it, and a bundle, made to be handed on, would
    carry it to whoever opens it. Rows are copied exactly (their hashes and costs must stay true),
    so the key is not scrubbed out of them: the bundle is refused, naming where it is and, for
    each place, how to take it out."""
    names = {r["id"]: r["name"] for r in packed.rows("SELECT id, name FROM experiments")}
    found: list[str] = []   # "table.column of ..." for each row and column that holds it
    fixes: list[str] = []   # how to take it out, once each
    for (table,) in packed.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%_fts%' "
                                      "AND name NOT LIKE 'sqlite_%'").fetchall():
        rows = packed.rows(f"SELECT * FROM [{table}]")
        for place in secret_places(rows):
            index, rest = place.split("]", 1)
            row, column = rows[int(index.lstrip("["))], rest.lstrip(".").split(".")[0]
            name = names.get(row["id"] if table == "experiments" else row.get("experiment_id"))
            found.append(f"{table}.{column}" + (f" of task {row['task_uuid']}" if row.get("task_uuid") else ""))
            if (table, column) == ("experiments", "notes") and name is not None:
                # a note or a tag is taken out without deleting a thing: deleting the experiment,
                # the one fix said, lost its images and ratings for a line of text
                fix = f"clear the note of {name!r} (`qwenlab note {shlex.quote(name)} --clear`, then write it again)"
            elif table == "experiment_tags" and name is not None:
                fix = (f"remove the tag of {name!r} that holds it (`qwenlab untag {shlex.quote(name)} TAG`; "
                       f"lab.experiment({name!r}).untag(TAG))")
            else:
                fix = "delete the experiment that holds it (or its tasks) from the log"
            if fix not in fixes:
                fixes.append(fix)
    if found:
        fixes.sort(key=lambda fix: fix.startswith("delete"))  # the one that loses most, last
        more = f", and {count_of(len(found) - 1, 'more place')}" if len(found) > 1 else ""
        raise BundleError(f"the rows to bundle hold the API key ({found[0]}{more}), kept by a log written before qwenlab "
                          "refused a key pasted into a prompt, a note or a tag; a bundle would hand it on. "
                          f"{'; '.join(fixes)[0].upper() + '; '.join(fixes)[1:]}; or revoke the key at runware.ai and "
                          "bundle with RUNWARE_API_KEY set to the new one")


_FETCH_AGAIN = "`qwenlab verify` (lab.verify()) lists every image file not as logged and how to get each back"


def _refuse_target(out: Path) -> None:
    """A bundle is written only to a .zip that is not there yet or is an earlier bundle: `-o
    qwenlab.db` once wrote a bundle over the log itself, and every experiment in it was lost."""
    if out.suffix.lower() != ".zip":
        raise ValueError(f"out (-o): a bundle is one zip file; name it ….zip (e.g. lumiere.qwenlab.zip), not {out.name!r}")
    if out.exists():
        try:
            check_bundle(out)
        except (BundleError, OSError):
            raise ValueError(f"out (-o): {str(out)!r} is there and is not a qwenlab bundle, which is all a bundle may "
                             "replace; choose another name, or move that file away") from None


# -- importing ------------------------------------------------------------------------------------
def import_bundle(log: Log, data_dir: str | Path, bundle: str | Path, *, as_name: str | None = None) -> ImportReport:
    """Merge the experiments of `bundle` into `log` and its data folder (see the module docstring).

    as_name: the name to give the experiment (a bundle of one experiment only); one in this log
    already (imported before, or its own) keeps its name, and the report says so and how to
    rename it (`ImportReport.not_renamed`). Raises
    ExperimentConflictError for a name already used by other work, naming the fix, before
    anything is written; BundleError for a file that is not a sound bundle."""
    bundle = Path(bundle)
    report = ImportReport(bundle)
    manifest = check_bundle(bundle)
    with open_zip(bundle) as zf, tempfile.TemporaryDirectory(prefix="qwenlab-import-") as tmp:
        extract_member(zf, DB_NAME, Path(tmp) / DB_NAME)
        source = source_log(bundle, Path(tmp) / DB_NAME)  # an older bundle is migrated here to this qwenlab's schema
        try:
            plans = plan_import(log, source, bundle, as_name, str(manifest.get("created_at") or ""))
            for plan in plans:
                if plan.why:
                    report.skipped[plan.src_name] = plan.why
            todo = [p for p in plans if not p.why]
            if as_name is not None:  # a copy here keeps its name (`ImportReport.not_renamed`), said, not silently
                report.not_renamed = {p.src_name: (p.dst_name, as_name.strip()) for p in plans
                                      if p.dst_name != as_name.strip()}
            # every file checked against its hash and in place before a row points at it. Also the
            # files of experiments imported before: a second import repairs a file lost since
            # (they are written without fsync: the bundle can always write them again); not those of
            # an experiment deleted here, whose rows are gone: its files would belong to nothing
            report.files_written = _place_images(zf, manifest, source, [p.src_id for p in plans if p.files],
                                                 Path(data_dir))
            origin = {"bundle": bundle.name, "bundle_created_at": manifest.get("created_at"),
                      "bundle_qwenlab": manifest.get("qwenlab"), "imported_at": utc_now()}
            notes = {r["id"]: r["notes"] for r in source.rows("SELECT id, notes FROM experiments")}
            # the note it came with is kept with where it came from: a later bundle then tells the
            # note written here from the sender's (`own_part`)
            # archived there or not, it arrives listed: archiving is the sender's own tidying, and a
            # copy arriving hidden was found only with `qwenlab logs --all` (a replaced copy keeps
            # the archiving it has here, `copy_experiments`)
            copied = copy_experiments(source, log, {p.src_id: {
                "name": p.dst_name, "archived_at": None,
                "imported_from": json.dumps({**origin, "name": p.src_name, "notes": notes.get(p.src_id)},
                                            ensure_ascii=False)} for p in todo},
                replacing={p.src_id: p.replaces for p in todo if p.replaces is not None},
                merging={p.src_id: p.merges for p in plans if p.merges is not None},
                alongside={p.src_id: p.here for p in plans if p.here is not None})
            report.rows = {t: n for t, n in copied.added.items() if n or t in ("experiments", "tasks", "images")}
            report.imported = {p.src_name: p.dst_name for p in todo}
            report.updated = {p.src_name: p.dst_name for p in todo if p.replaces is not None}
            report.dropped = copied.dropped
            for plan in plans:
                if plan.merges in copied.merged:
                    report.merged[plan.src_name] = plan.dst_name
                    report.skipped.pop(plan.src_name, None)
        finally:
            source.close()
    return report


# an image missing from a bundle, or not its bytes: the sender's `qwenlab bundle` checks every
# file as it writes one, so a bundle made again arrives whole (these said "damaged" and no more)
_ASK_AGAIN = ("nothing was imported: ask for the bundle again (`qwenlab bundle` checks every image file as it writes it), "
              "or copy it again")


def _place_images(zf: zipfile.ZipFile, manifest: dict[str, Any], source: Log, experiment_ids: list[int],
                  data_dir: Path) -> int:
    """Write the image files of these experiments into the data folder (those not there yet),
    each checked against its SHA-256 first; returns how many were written."""
    if not experiment_ids:
        return 0
    marks = ",".join("?" for _ in experiment_ids)
    wanted = source.rows(f"SELECT DISTINCT path, sha256 FROM images WHERE experiment_id IN ({marks}) AND path IS NOT NULL",
                         experiment_ids)
    missing = []
    for img in wanted:  # every file checked before one is written: a damaged bundle leaves nothing behind
        arcname = image_arcname(img["path"])
        if not img["sha256"] or not arcname.rsplit("/", 1)[-1].startswith(f"{img['sha256']}."):
            # without it nothing could be checked, and a file here of that name would be written over
            raise BundleError(f"{zf.filename}: {arcname} is listed without its SHA-256, or with another than its name's: "
                              f"the bundle is damaged; {_ASK_AGAIN}")
        target = file_of(data_dir, arcname)
        if target.exists() and sha256_of(target.read_bytes()) == img["sha256"]:
            continue
        try:
            data = read_member(zf, arcname)
        except KeyError:
            raise BundleError(f"{zf.filename}: {arcname} is listed in the bundle's log but not in the zip: the bundle is "
                              f"damaged; {_ASK_AGAIN}") from None
        if sha256_of(data) != img["sha256"]:
            raise BundleError(f"{zf.filename}: {arcname}: its bytes do not match its SHA-256; the bundle is damaged; {_ASK_AGAIN}")
        missing.append((arcname, target))
    for arcname, target in missing:
        write_atomic(target, read_member(zf, arcname))
    return len(missing)
