"""A bundle's rows, copied from one log into another with new ids and every reference following.

`copy_experiments` copies experiments and everything hanging off them (tasks, images, ratings,
judgements, scores, tags, and any table a later migration adds, found from its foreign keys), in
one transaction; it can replace an earlier imported copy, putting back what was made on it here,
or merge into this log's own experiment what was added to it elsewhere. Ratings added beside an
image's own are put in the order they were made, so that its latest is the one made last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .bundle_zip import image_arcname
from .log import Log
from .relations import columns, dependent_tables, references
from .rows import utc_now

__all__ = ["copy_experiments", "Copied", "origin_of", "own_part"]


@dataclass
class Copied:
    """What `copy_experiments` did: rows added per table, the experiments of this log that rows
    were merged into, and the rows added here to a replaced copy that could not be put back."""

    added: dict[str, int]
    merged: set[int] = field(default_factory=set)
    dropped: int = 0


def copy_experiments(src: Log, dst: Log, experiments: dict[int, dict[str, Any]],
                      replacing: dict[int, int] | None = None, merging: dict[int, int] | None = None,
                      alongside: dict[int, int] | None = None) -> Copied:
    """Copy experiments (id in `src` -> overrides of its row) and every row hanging off them from
    `src` to `dst`, with new ids and references remapped, in one transaction of `dst`. A row that
    points into several of them (a judgement across two experiments of a comparison) is copied
    when all it points at is copied. In the same transaction: `replacing` (id in `src` -> the id
    in `dst` of the copy it replaces) removes those copies first and puts back on the new ones
    the rows added to them here; `merging` (id in `src` -> id in `dst` of the same experiment)
    adds the rows added to it elsewhere; `alongside` (id in `src` -> id in `dst`): experiments
    neither copied nor merged, held here, at which a copied or merged row may point. All or nothing."""
    out = Copied({"experiments": 0, "tasks": 0, "images": 0})
    ids: dict[str, dict[int, int]] = {"experiments": {}, "tasks": {}, "images": {}}
    replacing, merging = replacing or {}, merging or {}
    schema: dict[str, list[str]] = {}
    chosen = list(experiments)
    marks = ",".join("?" for _ in chosen)
    # one snapshot of src: a bundle of a running experiment read its tasks, then its images, while
    # the run wrote, and held images of tasks it had as 'sent' (in doubt, their cost an estimate)
    with dst.transaction() as db, src.snapshot():
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
                             "notes": _with_note(exp.get("notes"), own_part(old.row.get("notes"), old.imported_note))}
            ids["experiments"][experiment_id] = _insert(db, "experiments", {**exp, **overrides}, {}, schema)
            out.added["experiments"] += 1
        for table in ("tasks", "images") if chosen else ():
            rows = src.rows(f"SELECT * FROM {table} WHERE experiment_id IN ({marks}) ORDER BY id", chosen)
            mapping = _remap(dst_refs.get(table, []), ids)  # its dicts fill as the rows they map to are copied
            for row in rows:
                if table == "images" and row.get("path"):
                    row["path"] = image_arcname(row["path"])  # relative to the data folder, as the runner writes it
                ids[table][int(row["id"])] = _insert(db, table, row, mapping, schema)
            out.added[table] = len(rows)
        src_refs = references(src.db)
        # a row may point into two experiments of the bundle (a judgement across two runs), one
        # copied now and one merged into this log's own: it follows both, the merged one's by UUID
        elsewhere = _merged_ids(src, db, {**(alongside or {}), **merging}, ids)
        for table in dependent_tables(db) if chosen else ():
            if table not in src_refs:
                continue
            fks = src_refs[table]
            ors = [f"[{col}] IN (SELECT id FROM {target} WHERE "
                   + ("id" if target == "experiments" else "experiment_id") + f" IN ({marks}))" for col, target in fks]
            rows = src.rows(f"SELECT * FROM [{table}] WHERE {' OR '.join(ors)} ORDER BY rowid", chosen * len(fks))
            mapping = _remap(fks, elsewhere)
            n = 0
            for row in rows:
                if any(row.get(col) is not None and int(row[col]) not in mapping[col] for col, _ in fks):
                    continue  # points at something outside what is copied (an experiment left out)
                _insert(db, table, row, mapping, schema)
                n += 1
            out.added[table] = n
        rated: set[int] = set()  # images given ratings beside those they had: their order is put right below
        if olds:
            # every replaced copy at once: a judgement across two of them finds both new images
            added, out.dropped = _put_back(db, dst_refs, list(olds.values()),
                                           {o.row["id"]: ids["experiments"][s] for s, o in olds.items()}, rated=rated)
            _count(out.added, added)
        for src_id, dst_id in merging.items():
            theirs = _hanging(src.db, src_refs, src_id)
            added, _ = _put_back(db, dst_refs, [theirs], {src_id: dst_id}, foreign=True, elsewhere=elsewhere,
                                 rated=rated)
            note = db.execute("SELECT notes FROM experiments WHERE id = ?", [dst_id]).fetchone()[0]
            merged_note = _with_note(note, own_part(theirs.row.get("notes"), theirs.imported_note))
            if merged_note != note:
                db.execute("UPDATE experiments SET notes = ?, updated_at = ? WHERE id = ?", [merged_note, utc_now(), dst_id])
                added["notes"] = 1
            if added:
                out.merged.add(dst_id)
                _count(out.added, added)
        _ratings_in_time_order(db, rated)
    return out


def _ratings_in_time_order(db: Any, image_ids: set[int]) -> None:
    """Give these images' ratings ids in the order they were made. An image's latest rating is
    its highest id (costs, search, exports, `cost_scores`), and a rating merged or put back is
    inserted last: a colleague's rating sent home outranked one made here after it, and the two
    logs, after a round trip, disagreed on the image's score. Nothing points at a rating's id."""
    for image_id in sorted(image_ids):
        names = columns(db, "ratings")
        rows = [dict(zip(names, r)) for r in db.execute("SELECT * FROM ratings WHERE image_id = ? ORDER BY id", [image_id])]
        by_time = sorted(rows, key=lambda r: (str(r.get("created_at") or ""), r["id"]))
        if by_time == rows:
            continue
        # from the first out of place on, taken out and put back in time order (the triggers keep
        # `cost_scores` right), so the ratings already in order keep their ids
        first = next(i for i, (a, b) in enumerate(zip(rows, by_time)) if a["id"] != b["id"])
        moved = by_time[first:]
        db.execute(f"DELETE FROM ratings WHERE id IN ({','.join('?' for _ in moved)})", [r["id"] for r in moved])
        cols = [c for c in names if c != "id"]
        for row in moved:
            db.execute(f"INSERT INTO ratings ({', '.join(f'[{c}]' for c in cols)}) VALUES ({', '.join('?' for _ in cols)})",
                       [row[c] for c in cols])


def _merged_ids(src: Log, db: Any, here: dict[int, int], copied: dict[str, dict[int, int]]) -> dict[str, dict[int, int]]:
    """Ids in `src` -> ids here of the experiments, tasks and images of the bundle this log holds
    now: those `copied` in this import, and those of the experiments of `here` (id in `src` -> id
    here: merged into this log's own, or left beside it), matched by taskUUID and imageUUID."""
    out = {table: dict(ids) for table, ids in copied.items()}
    for src_id, dst_id in here.items():
        out["experiments"][src_id] = dst_id
        for table, uuid in (("tasks", "task_uuid"), ("images", "image_uuid")):
            held = {u: i for i, u in db.execute(f"SELECT id, {uuid} FROM {table} WHERE experiment_id = ?", [dst_id]) if u}
            for row in src.rows(f"SELECT id, {uuid} AS uuid FROM {table} WHERE experiment_id = ?", [src_id]):
                if row["uuid"] in held:
                    out[table][int(row["id"])] = held[row["uuid"]]
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
              foreign: bool = False, elsewhere: dict[str, dict[int, int]] | None = None,
              rated: set[int] | None = None) -> tuple[dict[str, int], int]:
    """Put on the new copies the rows made on the old ones after they were imported (the rest came
    with the earlier bundle: a tag its sender removed since must not come back), by image and task
    UUID. `experiments`: old experiment id -> new. A row the new copies hold already (the same
    content, or the same key of a UNIQUE index: a tag, a score of an image by an engine) is not
    put twice. `foreign`: `olds` are from another log, so a row pointing at anything else of it
    is left out, but for what `elsewhere` maps (ids there -> here of the bundle's other experiments
    this log holds: `_merged_ids`). `rated` gathers the images given a rating. Returns (rows added
    per table, rows that could not be put back)."""
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
                               foreign, elsewhere or {})
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
                    if table == "ratings" and rated is not None:
                        rated.add(int(moved["image_id"]))
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
           foreign: bool, elsewhere: dict[str, dict[int, int]]) -> dict[str, Any] | None:
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
        elif foreign and value in elsewhere.get(target, {}):
            moved[col] = elsewhere[target][value]  # another experiment of the bundle, here too
        elif foreign:
            moved[col] = None  # another experiment of the bundle's log: not here
        else:
            continue  # another experiment of this log: it stays as it is
        if moved[col] is None:
            return None
    return moved


def own_part(note: str | None, imported: str | None) -> str | None:
    """What a copy's note says of its own: all of it, less the note it was imported with."""
    if not note or note == imported:
        return None
    if imported and note.startswith(imported):
        return note[len(imported):].strip() or None
    return note


def _with_note(note: str | None, more: str | None) -> str | None:
    """`note`, and after it the paragraphs of `more` it does not have. By paragraph: a note sent
    back and forth comes back holding one's own lines and the other's, and the whole of it added
    after one's own repeated them, growing at every trip."""
    if not more or (note and more in note):
        return note
    if not note:
        return more
    have = {p.strip() for p in note.split("\n\n")}
    new = [p for p in more.split("\n\n") if p.strip() and p.strip() not in have]
    return "\n\n".join([note, *dict.fromkeys(new)]) if new else note


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
