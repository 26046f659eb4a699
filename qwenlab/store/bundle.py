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
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import BundleError, ExperimentConflictError, NotALogError, redact, refuse_secret
from ..paths import write_atomic
from ..version import __version__
from .experiment import ExperimentRecord
from .log import Log, utc_now
from .organize import DELETED_PREFIX, name_problem
from .relations import columns, dependent_tables, references

__all__ = ["write_bundle", "import_bundle", "check_bundle", "origin_of", "BundleInfo", "ImportReport", "FORMAT", "FORMAT_VERSION"]

FORMAT = "qwenlab-bundle"
FORMAT_VERSION = 1
_DB = "qwenlab.db"
# the image store's names (`qwenlab.api.imagestore`): <sha256[:2]>/<sha256>.<ext>
_STORE_FOLDER = re.compile(r"[0-9a-f]{2}")
_STORE_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,5}")
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BundleInfo:
    """What `write_bundle` wrote."""

    path: Path
    experiments: list[str]
    tasks: int
    images: int
    bytes: int

    def __str__(self) -> str:
        return (f"wrote {self.path}: {len(self.experiments)} experiment(s) ({', '.join(self.experiments)}), "
                f"{self.tasks} tasks, {self.images} image files, {self.bytes / 1e6:.1f} MB")


@dataclass
class ImportReport:
    """What `import_bundle` did, experiment by experiment."""

    bundle: Path
    imported: dict[str, str] = field(default_factory=dict)   # bundle name -> name in this log
    updated: dict[str, str] = field(default_factory=dict)    # of those, the copies imported before and replaced
    merged: dict[str, str] = field(default_factory=dict)     # already here: ratings, tags... added elsewhere merged
    dropped: int = 0  # rows added here to a replaced copy whose image or task the new copy lacks
    skipped: dict[str, str] = field(default_factory=dict)    # bundle name -> why (already here)
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
        added = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n)
        lines.append(f"  added {added or 'no rows'}; {self.files_written} image files written")
        if self.dropped:
            lines.append(f"  {self.dropped} rows made here on the copy replaced (ratings, scores...) were not put back: "
                         "what they were about is not in the bundle")
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
    with tempfile.TemporaryDirectory(prefix="qwenlab-bundle-") as tmp:
        db_file = Path(tmp) / _DB
        packed = Log(db_file)
        try:
            _copy_experiments(log, packed, {int(row["id"]): {} for row in rows})
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
                zf.write(db_file, _DB, compress_type=zipfile.ZIP_DEFLATED)
                for img in images:
                    source = _file_of(folder, img["path"])
                    if not source.exists():
                        raise BundleError(f"image file {str(source)!r} of the log is missing; cannot bundle it "
                                          "(was the data folder moved?)")
                    arcname = _arcname(img["path"])
                    if arcname not in files:
                        data = source.read_bytes()
                        if img["sha256"] and _sha256(data) != img["sha256"]:
                            # refused here, where it can be mended, rather than at the colleague's import
                            raise BundleError(f"image file {str(source)!r} was changed since it was logged (its bytes no "
                                              "longer match its SHA-256); put the original back, or delete the experiment's "
                                              "copy of it, before bundling")
                        zf.writestr(zipfile.ZipInfo.from_file(source, arcname), data,
                                    compress_type=zipfile.ZIP_STORED)  # JPEG/PNG/WebP: already compressed
                        files[arcname] = img["sha256"]
                manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "qwenlab": __version__,
                            "created_at": utc_now(), "experiments": names, "tasks": tasks, "images": files}
                zf.writestr(_MANIFEST, redact(json.dumps(manifest, indent=2, ensure_ascii=False)),
                            compress_type=zipfile.ZIP_DEFLATED)
        except BaseException:  # refused (a file changed, missing) or interrupted: no half-written bundle stays
            partial.unlink(missing_ok=True)
            raise
        partial.replace(out)
    return BundleInfo(out, names, int(tasks), len(files), out.stat().st_size)


# -- importing ------------------------------------------------------------------------------------
def import_bundle(log: Log, data_dir: str | Path, bundle: str | Path, *, as_name: str | None = None) -> ImportReport:
    """Merge the experiments of `bundle` into `log` and its data folder (see the module docstring).

    as_name: the name to give the experiment (a bundle of one experiment only). Raises
    ExperimentConflictError for a name already used by other work, naming the fix, before
    anything is written; BundleError for a file that is not a sound bundle."""
    bundle = Path(bundle)
    report = ImportReport(bundle)
    manifest = check_bundle(bundle)
    with _open_zip(bundle) as zf, tempfile.TemporaryDirectory(prefix="qwenlab-import-") as tmp:
        (Path(tmp) / _DB).write_bytes(_read(zf, _DB))
        source = _source_log(bundle, Path(tmp) / _DB)  # an older bundle is migrated here to this qwenlab's schema
        try:
            plans = _plan(log, source, bundle, as_name, str(manifest.get("created_at") or ""))
            for plan in plans:
                if plan.why:
                    report.skipped[plan.src_name] = plan.why
            todo = [p for p in plans if not p.why]
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
            # note written here from the sender's (`_own_part`)
            copied = _copy_experiments(source, log, {p.src_id: {
                "name": p.dst_name, "imported_from": json.dumps({**origin, "name": p.src_name, "notes": notes.get(p.src_id)},
                                                               ensure_ascii=False)} for p in todo},
                replacing={p.src_id: p.replaces for p in todo if p.replaces is not None},
                merging={p.src_id: p.merges for p in plans if p.merges is not None})
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


@dataclass(frozen=True)
class _Plan:
    """What to do with one experiment of a bundle: import it as `dst_name` (why is ""), or not
    (why says so); `files`: write its image files; `replaces`: the id of the copy imported
    before that it updates."""

    src_id: int
    src_name: str
    dst_name: str
    why: str = ""
    files: bool = True
    replaces: int | None = None
    merges: int | None = None  # already here (by its tasks): only what was added to it elsewhere is merged


def _plan(log: Log, source: Log, bundle: Path, as_name: str | None, created_at: str = "") -> list[_Plan]:
    """Per experiment of the bundle: its id there, its name there, the name it gets here, and
    why it is not imported (empty when it is), or the copy imported before that it updates;
    raises on a clash."""
    experiments = source.rows("SELECT id, name FROM experiments WHERE deleted_at IS NULL ORDER BY id")
    if as_name is not None:
        if len(experiments) != 1:
            raise ValueError(f"as_name: {bundle.name} holds {len(experiments)} experiments; --as renames a bundle "
                             "of one experiment only (import it without --as, or bundle them one by one)")
        problem = name_problem(as_name)  # as a run and a rename check a name: blank, reserved, '(deleted) ...'
        if problem:
            raise ValueError(f"as_name: {problem}")
        refuse_secret("as_name", as_name)
    plans = []
    retried = _history_owners(log)  # read once: a scan of the tasks that have history
    for exp in experiments:
        src_id = int(exp["id"])
        name = as_name.strip() if as_name is not None else exp["name"]
        uuids = _task_uuids(source, src_id)
        here = _owners(log, uuids, retried)
        copy = _copy_here(log, here, uuids)
        if copy is not None:
            deleted = str(copy["name"]).startswith(DELETED_PREFIX)
            came = origin_of(copy).get("bundle_created_at") or ""
            if not deleted and created_at and came and created_at <= came:
                # a bundle older than (or the same as) the one the copy came from: it never replaces
                # a later state, nor brings back what its sender removed since
                plans.append(_Plan(src_id, exp["name"], str(copy["name"]), (
                    f"its {len(uuids)} requests are in this log already, as experiment {copy['name']!r}, from a bundle "
                    f"as recent or more ({came[:19]})")))
                continue
            theirs, mine = _state(source, src_id), _state(log, int(copy["id"]))
            if not deleted and theirs != mine and not _later(theirs, mine):
                # an earlier state of it, whatever its date says (a cell done here is not done there)
                plans.append(_Plan(src_id, exp["name"], str(copy["name"]), (
                    f"it is an earlier state of experiment {copy['name']!r} here (cells done here are not done in it)")))
                continue
            if deleted or theirs != mine:
                # a later bundle of a copy imported before (finished, or retried, since), or of one
                # deleted here: the copy is replaced, what was added to it here kept
                dst = name if deleted else str(copy["name"])
                if deleted:
                    _refuse_taken(log, dst, bundle, len(experiments) == 1)
                plans.append(_Plan(src_id, exp["name"], dst, replaces=int(copy["id"])))
                continue
        if uuids and len(here) == 1 and sum(here.values()) == len(uuids):
            (owner,) = here
            if owner.startswith(DELETED_PREFIX):
                plans.append(_Plan(src_id, exp["name"], name, (
                    f"it was deleted from this log: its {len(uuids)} requests stay as {owner!r} for the cost history, "
                    "so the same tasks cannot come back (ask for a bundle of a new run to have its images again)"), False))
                continue
            owner_id = int(log.rows("SELECT id FROM experiments WHERE name = ?", [owner])[0]["id"])
            plans.append(_Plan(src_id, exp["name"], owner, f"its {len(uuids)} requests are in this log already, "
                                                           f"as experiment {owner!r}", merges=owner_id))
            continue
        if here:
            raise ExperimentConflictError(
                f"{exp['name']!r} of {bundle.name}: {sum(here.values())} of its {len(uuids)} tasks are in this log "
                f"already, in {', '.join(map(repr, here))}, and the others are not: it was changed since it was shared. "
                "Delete or rename the experiment here and import again, or ask for a bundle of the new state.")
        _refuse_taken(log, name, bundle, len(experiments) == 1)
        plans.append(_Plan(src_id, exp["name"], name))
    return plans


def _refuse_taken(log: Log, name: str, bundle: Path, alone: bool = True) -> None:
    """ExperimentConflictError, naming the fix, when `name` is taken here by other work. `alone`:
    the bundle holds this experiment only (--as renames only such a bundle's)."""
    if log.experiment(name) is not None or log.rows("SELECT 1 FROM experiments WHERE name = ?", [name]):
        fix = (f"import it under another name: `qwenlab import {bundle.name} --as {name}-2` (lab.import_bundle(..., "
               "as_name=...))" if alone else
               f"rename yours first (`qwenlab rename {name} {name}-mine`) and import again, or ask for a bundle of "
               f"{name!r} alone and import it with --as")
        raise ExperimentConflictError(f"name: this log has an experiment named {name!r} already, with other work; {fix}")


def _copy_here(log: Log, here: dict[str, int], uuids: list[str]) -> dict[str, Any] | None:
    """The copy imported before of the experiment whose taskUUIDs are `uuids`: the one experiment
    here holding them, itself imported (`imported_from`), none of its own taskUUIDs outside the
    bundle's (the bundle is a later state of it, not a fork). None otherwise."""
    if len(here) != 1:
        return None
    (owner,) = here
    rows = log.rows("SELECT * FROM experiments WHERE name = ?", [owner])
    if not rows or not rows[0].get("imported_from"):
        return None
    mine = set(_task_uuids(log, int(rows[0]["id"])))
    return rows[0] if mine <= set(uuids) else None


def _state(log: Log, experiment_id: int) -> list[tuple[Any, ...]]:
    """What a later bundle of an experiment may have changed: each task's status, cost, times,
    seed and history, and its images."""
    return [tuple(r.values()) for r in log.rows(
        "SELECT t.task_uuid, t.status, t.cost_usd, t.completed_at, t.seed, t.history_json, "
        "(SELECT group_concat(x) FROM (SELECT i.image_uuid || ':' || coalesce(i.sha256, '') AS x FROM images i "
        "WHERE i.task_id = t.id ORDER BY x)) AS imgs "
        "FROM tasks t WHERE t.experiment_id = ? ORDER BY t.task_uuid", [experiment_id])]


def _later(theirs: list[tuple[Any, ...]], mine: list[tuple[Any, ...]]) -> bool:
    """Whether a bundle's state of an experiment (`_state`) is a later one than the copy's: every
    task done in the copy is done in it, with the same images."""
    done_there = {row[0]: row[-1] for row in theirs if row[1] == "done"}
    return all(row[0] in done_there and done_there[row[0]] == row[-1] for row in mine if row[1] == "done")


def _task_uuids(log: Log, experiment_id: int) -> list[str]:
    """Every taskUUID an experiment has sent under: its tasks' own, and those of earlier attempts
    of retried cells (kept in `history_json`, with what they were charged)."""
    return [r["uuid"] for r in log.rows(
        "SELECT task_uuid AS uuid FROM tasks WHERE experiment_id = ? UNION "
        "SELECT json_extract(h.value, '$.task_uuid') FROM tasks t, json_each(t.history_json) h "
        "WHERE t.experiment_id = ? AND t.history_json IS NOT NULL AND json_valid(t.history_json)",
        [experiment_id, experiment_id]) if r["uuid"]]


def _history_owners(log: Log) -> dict[str, str]:
    """taskUUID of an earlier attempt of a retried cell -> the experiment that holds it, in `log`."""
    return {r["uuid"]: r["name"] for r in log.rows(
        "SELECT e.name, json_extract(h.value, '$.task_uuid') AS uuid FROM tasks t "
        "JOIN experiments e ON e.id = t.experiment_id, json_each(t.history_json) h "
        "WHERE t.history_json IS NOT NULL AND json_valid(t.history_json)") if r["uuid"]}


def _owners(log: Log, uuids: list[str], retried: dict[str, str]) -> dict[str, int]:
    """Experiment name -> how many of these taskUUIDs it holds in `log`, as a task's own or as an
    earlier attempt of one: a bundle of an experiment whose cells were retried since it was
    shared holds the taskUUIDs this log has, as history, beside new ones."""
    out: dict[str, int] = {}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        for r in log.rows(f"SELECT e.name, count(*) AS n FROM tasks t JOIN experiments e ON e.id = t.experiment_id "
                          f"WHERE t.task_uuid IN ({','.join('?' for _ in chunk)}) GROUP BY e.name", chunk):
            out[r["name"]] = out.get(r["name"], 0) + int(r["n"])
    for uuid in uuids:
        if uuid in retried:
            out[retried[uuid]] = out.get(retried[uuid], 0) + 1
    return out


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
        arcname = _arcname(img["path"])
        if not img["sha256"] or not arcname.rsplit("/", 1)[-1].startswith(f"{img['sha256']}."):
            # without it nothing could be checked, and a file here of that name would be written over
            raise BundleError(f"{arcname} is listed without its SHA-256, or with another than its name's: "
                              "the bundle is damaged; nothing was imported")
        target = _file_of(data_dir, arcname)
        if target.exists() and _sha256(target.read_bytes()) == img["sha256"]:
            continue
        try:
            data = _read(zf, arcname)
        except KeyError:
            raise BundleError(f"{arcname} is listed in the bundle's log but not in the zip: the bundle is damaged") from None
        if _sha256(data) != img["sha256"]:
            raise BundleError(f"{arcname}: its bytes do not match its SHA-256; the bundle is damaged")
        missing.append((arcname, target))
    for arcname, target in missing:
        write_atomic(target, _read(zf, arcname))
    return len(missing)


# -- copying rows -----------------------------------------------------------------------------------
@dataclass
class _Copied:
    """What `_copy_experiments` did: rows added per table, the experiments of this log that rows
    were merged into, and the rows added here to a replaced copy that could not be put back."""

    added: dict[str, int]
    merged: set[int] = field(default_factory=set)
    dropped: int = 0


def _copy_experiments(src: Log, dst: Log, experiments: dict[int, dict[str, Any]],
                      replacing: dict[int, int] | None = None, merging: dict[int, int] | None = None) -> _Copied:
    """Copy experiments (id in `src` -> overrides of its row) and every row hanging off them from
    `src` to `dst`, with new ids and references remapped, in one transaction of `dst`. A row that
    points into several of them (a judgement across two experiments of a comparison) is copied
    when all it points at is copied. In the same transaction: `replacing` (id in `src` -> the id
    in `dst` of the copy it replaces) removes those copies first and puts back on the new ones
    the rows added to them here; `merging` (id in `src` -> id in `dst` of the same experiment)
    adds the rows added to it elsewhere. All or nothing."""
    out = _Copied({"experiments": 0, "tasks": 0, "images": 0})
    ids: dict[str, dict[int, int]] = {"experiments": {}, "tasks": {}, "images": {}}
    replacing, merging = replacing or {}, merging or {}
    schema: dict[str, list[str]] = {}
    chosen = list(experiments)
    marks = ",".join("?" for _ in chosen)
    with dst.transaction() as db:
        dst_refs = references(db)
        olds = {src_id: _take_out(db, dst_refs, old) for src_id, old in replacing.items()}
        for experiment_id, overrides in experiments.items():
            exp = src.rows("SELECT * FROM experiments WHERE id = ?", [experiment_id])[0]
            if exp.get("status") == "running" and "imported_from" in overrides:
                # bundled mid-run, or from a log whose run was killed: no run of it is going on here,
                # and 'running' would have rename and delete wait for one
                overrides = {**overrides, "status": "interrupted", "stop_reason": (
                    "its run had not finished where it was run (bundled while running, or the run was stopped)")}
            old = olds.get(experiment_id)
            if old is not None and old.row.get("deleted_at") is None:
                # the copy's own place here: archived or not, and what its note says of its own
                overrides = {**overrides, "archived_at": old.row.get("archived_at"),
                             "notes": _with_note(exp.get("notes"), _own_part(old.row.get("notes"), old.imported_note))}
            ids["experiments"][experiment_id] = _insert(db, "experiments", {**exp, **overrides}, {}, schema)
            out.added["experiments"] += 1
        for table in ("tasks", "images") if chosen else ():
            rows = src.rows(f"SELECT * FROM {table} WHERE experiment_id IN ({marks}) ORDER BY id", chosen)
            mapping = _remap(dst_refs.get(table, []), ids)  # its dicts fill as the rows they map to are copied
            for row in rows:
                if table == "images" and row.get("path"):
                    row["path"] = _arcname(row["path"])  # relative to the data folder, as the runner writes it
                ids[table][int(row["id"])] = _insert(db, table, row, mapping, schema)
            out.added[table] = len(rows)
        src_refs = references(src.db)
        for table in dependent_tables(db) if chosen else ():
            if table not in src_refs:
                continue
            fks = src_refs[table]
            ors = [f"[{col}] IN (SELECT id FROM {target} WHERE "
                   + ("id" if target == "experiments" else "experiment_id") + f" IN ({marks}))" for col, target in fks]
            rows = src.rows(f"SELECT * FROM [{table}] WHERE {' OR '.join(ors)} ORDER BY rowid", chosen * len(fks))
            mapping = _remap(fks, ids)
            n = 0
            for row in rows:
                if any(row.get(col) is not None and int(row[col]) not in mapping[col] for col, _ in fks):
                    continue  # points at something outside what is copied (an experiment left out)
                _insert(db, table, row, mapping, schema)
                n += 1
            out.added[table] = n
        if olds:
            # every replaced copy at once: a judgement across two of them finds both new images
            added, out.dropped = _put_back(db, dst_refs, list(olds.values()),
                                           {o.row["id"]: ids["experiments"][s] for s, o in olds.items()})
            _count(out.added, added)
        for src_id, dst_id in merging.items():
            theirs = _hanging(src.db, src_refs, src_id)
            added, _ = _put_back(db, dst_refs, [theirs], {src_id: dst_id}, foreign=True)
            note = db.execute("SELECT notes FROM experiments WHERE id = ?", [dst_id]).fetchone()[0]
            merged_note = _with_note(note, _own_part(theirs.row.get("notes"), theirs.imported_note))
            if merged_note != note:
                db.execute("UPDATE experiments SET notes = ?, updated_at = ? WHERE id = ?", [merged_note, utc_now(), dst_id])
                added["notes"] = 1
            if added:
                out.merged.add(dst_id)
                _count(out.added, added)
    return out


def _count(into: dict[str, int], more: dict[str, int]) -> None:
    for table, n in more.items():
        into[table] = into.get(table, 0) + n


@dataclass
class _Replaced:
    """An experiment's rows as `_put_back` needs them: its row, its images' and tasks' UUIDs by id,
    the rows that hang off it (ratings, judgements, scores, tags), and when it was imported (rows
    made after that were made here) with the note it came with."""

    row: dict[str, Any]
    image_uuids: dict[int, str]
    task_uuids: dict[int, str]
    hanging: dict[str, list[dict[str, Any]]]

    @property
    def imported_at(self) -> str | None:
        return origin_of(self.row).get("imported_at")

    @property
    def imported_note(self) -> str | None:
        return origin_of(self.row).get("notes")

    @property
    def made_here(self) -> frozenset[str]:
        """The rows made here before the import it came with (put back on it then), by
        `_signature`: their times are earlier than that import's, yet they are not the sender's."""
        return frozenset(origin_of(self.row).get("made_here") or ())


def origin_of(experiment: dict[str, Any]) -> dict[str, Any]:
    """Where an imported experiment came from (its `imported_from`: bundle, bundle_created_at,
    imported_at, name, notes); {} for one run in this log."""
    try:
        return dict(json.loads(experiment.get("imported_from") or "{}"))
    except (TypeError, ValueError):
        return {}


def _hanging(db: Any, refs: dict[str, list[tuple[str, str]]], experiment_id: int) -> _Replaced:
    """An experiment's row, its images' and tasks' UUIDs, and the rows hanging off it."""
    row = dict(zip(columns(db, "experiments"), db.execute("SELECT * FROM experiments WHERE id = ?", [experiment_id]).fetchone()))
    images = dict(db.execute("SELECT id, image_uuid FROM images WHERE experiment_id = ?", [experiment_id]).fetchall())
    tasks = dict(db.execute("SELECT id, task_uuid FROM tasks WHERE experiment_id = ?", [experiment_id]).fetchall())
    pointed = {"experiments": {experiment_id}, "images": set(images), "tasks": set(tasks)}
    hanging: dict[str, list[dict[str, Any]]] = {}
    for table in dependent_tables(db):
        names = columns(db, table)
        rows = [dict(zip(names, r)) for r in db.execute(f"SELECT * FROM [{table}]").fetchall()]
        mine = [r for r in rows if any(r.get(col) in pointed.get(target, ()) for col, target in refs.get(table, []))]
        if mine:
            hanging[table] = mine
    return _Replaced(row, images, tasks, hanging)


def _take_out(db: Any, refs: dict[str, list[tuple[str, str]]], experiment_id: int) -> _Replaced:
    """Remove an experiment and every row of it or hanging off it, keeping what `_put_back` needs."""
    old = _hanging(db, refs, experiment_id)
    for table, rows in old.hanging.items():
        marks = ",".join("?" for _ in rows)
        db.execute(f"DELETE FROM [{table}] WHERE id IN ({marks})", [r["id"] for r in rows])
    db.execute("DELETE FROM images WHERE experiment_id = ?", [experiment_id])
    db.execute("DELETE FROM tasks WHERE experiment_id = ?", [experiment_id])
    db.execute("DELETE FROM experiments WHERE id = ?", [experiment_id])
    return old


# when a row was made, by table (the first of these columns it has)
_MADE_AT = ("created_at", "scored_at", "read_at")


def _put_back(db: Any, refs: dict[str, list[tuple[str, str]]], olds: list[_Replaced], experiments: dict[int, int], *,
              foreign: bool = False) -> tuple[dict[str, int], int]:
    """Put on the new copies the rows made on the old ones after they were imported (the rest came
    with the earlier bundle: a tag its sender removed since must not come back), by image and task
    UUID. `experiments`: old experiment id -> new. A row the new copies hold already (the same
    content, or the same key of a UNIQUE index: a tag, a score of an image by an engine) is not
    put twice. `foreign`: `olds` are from another log, so a row pointing at anything else of it
    is left out. Returns (rows added per table, rows that could not be put back)."""
    image_uuids = {k: v for o in olds for k, v in o.image_uuids.items()}
    task_uuids = {k: v for o in olds for k, v in o.task_uuids.items()}
    new_ids = list(experiments.values())
    marks = ",".join("?" for _ in new_ids)
    new_images = {u: i for i, u in db.execute(f"SELECT id, image_uuid FROM images WHERE experiment_id IN ({marks})", new_ids)}
    new_tasks = {u: i for i, u in db.execute(f"SELECT id, task_uuid FROM tasks WHERE experiment_id IN ({marks})", new_ids)}
    added: dict[str, int] = {}
    dropped = 0
    seen: set[tuple[str, Any]] = set()
    for old in olds:
        here = old.made_here
        kept: list[str] = []  # the rows put back on this copy's successor, by `_signature`
        for table, rows in old.hanging.items():
            names = [c for c in columns(db, table) if c != "id"]
            if not names:
                continue  # a table this log does not have (a bundle from a newer qwenlab)
            for row in rows:
                if (table, row.get("id")) in seen:
                    continue  # hangs off two of the copies (a judgement across them): once
                seen.add((table, row.get("id")))
                made = next((row[c] for c in _MADE_AT if row.get(c)), None)
                if (old.imported_at and made is not None and str(made) <= old.imported_at
                        and _signature(table, made) not in here):
                    continue  # came with the earlier bundle, not made here
                moved = _moved(row, refs.get(table, []), experiments, image_uuids, new_images, task_uuids, new_tasks,
                               foreign)
                if moved is None:
                    dropped += 1
                    continue
                cols = [c for c in names if c in moved]
                same = " AND ".join(f"[{c}] IS ?" for c in cols)
                if db.execute(f"SELECT 1 FROM [{table}] WHERE {same} LIMIT 1", [moved[c] for c in cols]).fetchone():
                    continue
                cur = db.execute(f"INSERT OR IGNORE INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) VALUES "
                                 f"({', '.join('?' for _ in cols)})", [moved[c] for c in cols])
                if cur.rowcount:  # 0: a UNIQUE key held already (the bundle's own tag or score wins)
                    added[table] = added.get(table, 0) + 1
                    if made is not None:
                        kept.append(_signature(table, made))
        if kept and not foreign:
            _note_made_here(db, experiments[old.row["id"]], kept)
    return added, dropped


def _signature(table: str, made: Any) -> str:
    """A row made here, as the copy's `imported_from` remembers it: its table and its time. Two
    rows of a table made in one millisecond are both this log's or both the sender's."""
    return f"{table}@{made}"


def _note_made_here(db: Any, experiment_id: int, signatures: list[str]) -> None:
    """Remember on an imported copy the rows put back on it from the copy it replaced: they were
    made here, though before this import, and must be kept by the next update too (they were
    dropped there, judged by time as the sender's), and merged back when the copy is sent home."""
    row = db.execute("SELECT imported_from FROM experiments WHERE id = ?", [experiment_id]).fetchone()
    origin = origin_of({"imported_from": row[0] if row else None})
    if not origin:
        return
    origin["made_here"] = sorted({*origin.get("made_here", ()), *signatures})
    db.execute("UPDATE experiments SET imported_from = ? WHERE id = ?", [json.dumps(origin, ensure_ascii=False), experiment_id])


def _moved(row: dict[str, Any], fks: list[tuple[str, str]], experiments: dict[int, int], image_uuids: dict[int, str],
           new_images: dict[str, int], task_uuids: dict[int, str], new_tasks: dict[str, int],
           foreign: bool) -> dict[str, Any] | None:
    """`row` with its references moved to the new copies, by UUID; None when what it is about is
    not in them."""
    moved = {k: v for k, v in row.items() if k != "id"}
    for col, target in fks:
        value = row.get(col)
        if value is None:
            continue
        if target == "experiments" and value in experiments:
            moved[col] = experiments[value]
        elif target == "images" and value in image_uuids:
            moved[col] = new_images.get(image_uuids[value])
        elif target == "tasks" and value in task_uuids:
            moved[col] = new_tasks.get(task_uuids[value])
        elif foreign:
            moved[col] = None  # another experiment of the bundle's log: not here
        else:
            continue  # another experiment of this log: it stays as it is
        if moved[col] is None:
            return None
    return moved


def _own_part(note: str | None, imported: str | None) -> str | None:
    """What a copy's note says of its own: all of it, less the note it was imported with."""
    if not note or note == imported:
        return None
    if imported and note.startswith(imported):
        return note[len(imported):].strip() or None
    return note


def _with_note(note: str | None, more: str | None) -> str | None:
    """`note`, and `more` after it when it says something `note` does not."""
    if not more or (note and more in note):
        return note
    return f"{note}\n\n{more}" if note else more


def _remap(fks: list[tuple[str, str]], ids: dict[str, dict[int, int]]) -> dict[str, dict[int, int]]:
    return {col: ids[target] for col, target in fks if target in ids}


def _insert(db: Any, table: str, row: dict[str, Any], mapping: dict[str, dict[int, int]],
            schema: dict[str, list[str]]) -> int:
    """Insert `row` (its columns this schema has; a new id) with references remapped; the new rowid.
    `schema`: the tables' columns as read so far in this copy (asked once a table, not once a row:
    a 2,000-image import asked SQLite 8,482 times)."""
    names = schema.get(table)
    if names is None:
        names = schema[table] = columns(db, table)
    wanted = [c for c in names if c in row and c != "id"]
    values = []
    for c in wanted:
        v = row[c]
        if c in mapping and v is not None:
            v = mapping[c][int(v)]
        values.append(v)
    cur = db.execute(f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in wanted)}) VALUES "
                     f"({', '.join('?' for _ in wanted)})", values)
    return int(cur.lastrowid)


# -- files --------------------------------------------------------------------------------------------
def _arcname(path: str) -> str:
    """An image's place in a bundle and in a data folder: `images/<aa>/<sha>.<ext>`. Anything
    else (a '..', a name that is no content hash) raises BundleError: a bundle comes from someone
    else, and a row naming `x/../qwenlab.db` once had its file written over the receiver's log."""
    p = Path(str(path).replace("\\", "/"))
    folder, name = p.parent.name, p.name
    if not (_STORE_FOLDER.fullmatch(folder) and _STORE_NAME.fullmatch(name) and name.startswith(folder)):
        raise BundleError(f"image path {redact(str(path))!r} is not a place in an image store (images/<aa>/<sha256>.<ext>): "
                          "the bundle is damaged or was made to write elsewhere; nothing was imported")
    return "/".join(("images", folder, name))


def _file_of(data_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else data_dir / p


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_bundle(path: str | Path) -> dict[str, Any]:
    """The manifest of the bundle at `path`; BundleError for a file that is not one (what
    `import_bundle` says first), for a caller to check before it makes a log to import into.
    Damage inside (a file's CRC, its log) is found by the import, before it writes a row."""
    with _open_zip(Path(path)) as zf:
        manifest = _manifest(zf)
        if _DB not in zf.namelist():
            raise BundleError(f"{path} holds no {_DB}: not a qwenlab bundle")
        return manifest


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    """A file of the bundle; BundleError naming it when it cannot be read whole (a CRC that does
    not match, bytes cut short); KeyError when the zip does not hold it."""
    try:
        return zf.read(name)
    except KeyError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise BundleError(f"{zf.filename}: {name} cannot be read ({type(exc).__name__}: {exc}); the bundle is damaged, "
                          "nothing was imported: ask for it again") from None


def _source_log(bundle: Path, db_file: Path) -> Log:
    """The bundle's log, opened (and migrated) where it was extracted; BundleError naming the
    bundle when it is not a sound qwenlab log (its error once read as if this log were broken)."""
    try:
        source = Log(db_file)
    except (sqlite3.DatabaseError, NotALogError) as exc:
        raise BundleError(f"{bundle}: its {_DB} is not a sound qwenlab log ({exc}); the bundle is damaged, nothing was "
                          "imported: ask for it again") from None
    try:
        verdict = source.integrity_check()
        # a row pointing at nothing (a task of no experiment in it, a rating of no image) would
        # fail the copy half-way, after the image files were written
        dangling = source.rows("PRAGMA foreign_key_check")
    except sqlite3.DatabaseError as exc:
        verdict, dangling = str(exc), []
    if verdict == "ok" and dangling:
        first = dangling[0]
        verdict = f"{len(dangling)} rows point at nothing, the first in {first.get('table')} (rowid {first.get('rowid')})"
    if verdict != "ok":
        source.close()
        raise BundleError(f"{bundle}: its {_DB} is damaged ({verdict[:200]}); nothing was imported: ask for it again")
    return source


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path} is not a qwenlab bundle (not a zip file: {exc})") from None


def _manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(_read(zf, _MANIFEST))
    except (KeyError, ValueError):
        raise BundleError(f"{zf.filename} has no readable {_MANIFEST}: not a qwenlab bundle") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{zf.filename} is not a qwenlab bundle (format {manifest.get('format')!r})")
    if int(manifest.get("format_version") or 0) > FORMAT_VERSION:
        raise BundleError(f"{zf.filename} was written by a newer qwenlab ({manifest.get('qwenlab')}); upgrade qwenlab to import it")
    return manifest
