"""The SQLite log: every experiment, every request sent, every image, every cost.

    log = Log()                    # <data>/qwenlab.db (QWENLAB_DATA_DIR), or Log("some/path.db")
    log.experiments_frame()        # one row per experiment with counts and spend
    log.search("LUMIERE")          # full-text search over prompts

The schema is built by the small named migrations of `qwenlab.store.migrations`, each recorded in
`_qwenlab_migrations` when applied. The file itself (WAL mode, the busy timeout, the write lock
and `BEGIN IMMEDIATE` transactions, reads as rows, frames and columns) is `LogFile`, in
qwenlab/store/log_file.py, which `Log` extends with what qwenlab keeps in it; the rows' times,
JSON and INSERT/UPDATE statements are in qwenlab/store/rows.py; its ratings and judgements (writing
and reading them) are `Ratings`, in qwenlab/store/ratings.py, which `Log` inherits.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .log_file import LogFile
from .provenance import UNREACHED, UNREACHED_SQL, Provenance
from .ratings import Ratings
from .rows import column_list, insert_image, placeholders, runs_of_same_columns, to_json, update_task, utc_now
from .run_lock import live_runs, settle_abandoned

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Log", "IN_DOUBT", "status_word"]

# A task the log holds as 'sent' (its request went, no answer was logged: maybe paid) is "in doubt"
# wherever qwenlab counts it: counts(), lab.experiments(), the cost summaries and the CLI.
IN_DOUBT = "in_doubt"


def status_word(status: str) -> str:
    """A task's status as qwenlab's counts, listings and filters say it: 'sent' is "in_doubt"."""
    return IN_DOUBT if status == "sent" else status


# What an experiment has spent, as one SQL expression over `tasks t` so that the budget, the
# experiment's summary and the log's listing agree with qwenlab.costs.frames: API-reported costs, the
# price estimate where none was reported, the estimate of tasks left 'sent' (they may have been
# charged), and whatever earlier failed attempts of a retried cell were charged (history_json).
SPENT_NOW_SQL = (  # what each task's last attempt cost (columns of the cost index only)
    "coalesce(sum(CASE WHEN t.status = 'done' THEN coalesce(t.cost_usd, t.estimated_cost_usd) "
    "WHEN t.status = 'sent' THEN t.estimated_cost_usd ELSE coalesce(t.cost_usd, 0) END), 0)"
)
SPENT_BEFORE_SQL = (  # what earlier attempts of a cell sent again cost (history_json): a failed one what it
    # was charged; one given up in doubt (resend_in_doubt) its estimate, as it may have been paid
    "coalesce(sum(CASE WHEN t.history_json IS NULL THEN 0 ELSE (SELECT coalesce(sum(CASE WHEN "
    "json_extract(h.value, '$.cost_usd') IS NOT NULL THEN json_extract(h.value, '$.cost_usd') "
    "WHEN json_extract(h.value, '$.status') = 'sent' THEN t.estimated_cost_usd ELSE 0 END), 0) "
    "FROM json_each(t.history_json) h) END), 0)"
)
SPENT_SQL = f"({SPENT_NOW_SQL} + {SPENT_BEFORE_SQL})"
# SPENT_NOW_SQL over the cost rollups (m013, `cost_rollups r`, money in 1e-10 USD units)
_ROLLUP_SPENT_NOW = ("sum(CASE WHEN r.status = 'done' THEN r.reported_e10 + r.unreported_estimate_e10 "
                     "WHEN r.status = 'sent' THEN r.reported_estimate_e10 + r.unreported_estimate_e10 ELSE r.reported_e10 END) / 1e10")


# -- the log --------------------------------------------------------------------------------------
class Log(LogFile, Ratings):
    """The experiment log in one SQLite file. Thread-safe; one instance per process is enough.

    `Log()` opens `<data>/qwenlab.db`; `Log(path)` another file; `Log(":memory:")` a throwaway.
    Opening it marks 'interrupted' the experiments left 'running' by a run whose process died
    (`run_lock.py`); settle_runs=False leaves them (a bundle's copy of a log).
    """

    def __init__(self, path: str | Path | None = None, *, migrate_schema: bool = True, settle_runs: bool = True) -> None:
        super().__init__(path, migrate_schema=migrate_schema)
        if migrate_schema and settle_runs:  # not in a bundle's copy: no run of it lives there
            settle_abandoned(self)  # experiments left 'running' by a run whose process died
        # runs of each experiment sending through this very Log (one Lab shared by two threads):
        # its own commits are no other connection's, so `shared` never sees them (`running`)
        self._runs: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"Log({str(self.path) if self.path else ':memory:'!r})"

    def __enter__(self) -> "Log":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- experiments ----------------------------------------------------------------------------
    def experiment(self, name: str) -> dict[str, Any] | None:
        """The experiment row with this name, or None (a deleted experiment is none: only its
        spend is kept, see `qwenlab.store.organize`)."""
        rows = self.rows("SELECT * FROM experiments WHERE name = ? AND deleted_at IS NULL", [name])
        return rows[0] if rows else None

    def experiment_by_id(self, experiment_id: int) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM experiments WHERE id = ?", [experiment_id])
        return rows[0] if rows else None

    def ensure_experiment(self, name: str, **fields: Any) -> dict[str, Any]:
        """The experiment named `name`, created with `fields` (status 'planned') if it is new."""
        with self.transaction() as db:
            row = db.execute("SELECT id FROM experiments WHERE name = ?", [name]).fetchone()
            if row is None:
                now = utc_now()
                db["experiments"].insert({"name": name, "created_at": now, "updated_at": now, "status": "planned", **fields})
        found = self.experiment(name)
        assert found is not None
        return found

    def update_experiment(self, experiment_id: int, **fields: Any) -> None:
        with self.transaction() as db:
            db["experiments"].update(experiment_id, {**fields, "updated_at": utc_now()})

    def mark_running(self, experiment_id: int, name: str) -> str | None:
        """Mark the experiment 'running' unless another process deleted or renamed it between a
        run's checks and its lock: then nothing is written, and what happened is returned (the
        run sends nothing into a deleted experiment, nor under a name it no longer has)."""
        with self.transaction() as db:
            row = db.execute("SELECT name, deleted_at FROM experiments WHERE id = ?", [experiment_id]).fetchone()
            if row is None or row[1] is not None:
                return "was deleted"
            if row[0] != name:
                return f"was renamed to {row[0]!r}"
            db.execute("UPDATE experiments SET status = 'running', stop_reason = NULL, updated_at = ? WHERE id = ?",
                       [utc_now(), experiment_id])
            return None

    def settle_interrupted(self, experiment_id: int, cells: int) -> bool:
        """Mark an experiment left 'interrupted' done once each of its `cells` cells is done (the
        requests in flight at Ctrl-C finished and were logged, and nothing else was left): the
        interruption cut nothing short. Leaves any other status (a run started since) alone."""
        with self.transaction() as db:
            row = db.execute("SELECT status, (SELECT count(*) FROM tasks WHERE experiment_id = ? AND status = 'done'), "
                             "(SELECT count(*) FROM tasks WHERE experiment_id = ? AND status != 'done') "
                             "FROM experiments WHERE id = ?", [experiment_id, experiment_id, experiment_id]).fetchone()
            # every cell of the sweep done, and no task of the experiment left (an extended sweep's
            # new cells are its cells too, but the done ones may be more than this run's sweep)
            if row is None or row[0] != "interrupted" or row[1] < cells or row[2]:
                return False
            db["experiments"].update(experiment_id, {"status": "done", "stop_reason": None, "updated_at": utc_now()})
            return True

    def scope(self, experiment_id: int | None) -> list[int]:
        """The experiment ids an id stands for: itself here; a comparison's log
        (`qwenlab.store.comparison.ComparisonLog`) answers its members for its own id, so a
        query over "an experiment's" rows covers every member."""
        return [] if experiment_id is None else [int(experiment_id)]

    def experiment_names(self) -> list[str]:
        """The names of the experiments not deleted (archived ones included), oldest first."""
        return [r["name"] for r in self.rows("SELECT name FROM experiments WHERE deleted_at IS NULL ORDER BY id")]

    # -- tasks ----------------------------------------------------------------------------------
    def add_tasks(self, rows: list[dict[str, Any]]) -> int:
        """Insert tasks as 'pending' (cells not yet sent); a cell already logged is kept as it is.
        Returns how many were new."""
        if not rows:
            return 0
        now = utc_now()
        added = 0
        with self.transaction() as db:
            # one executemany per run of rows with the same columns (a sweep's rows all have them):
            # a million rows go in seconds. Its rowcount counts the rows inserted, not those
            # ignored (nor what the full-text trigger writes), without counting a table that may
            # hold millions of rows
            for values in runs_of_same_columns({"status": "pending", "attempts": 0, "created_at": now, **r} for r in rows):
                cursor = db.conn.executemany(f"INSERT OR IGNORE INTO tasks ({column_list(values[0])}) VALUES ({placeholders(values[0])})",
                                             [list(v.values()) for v in values])
                added += max(cursor.rowcount, 0)
        return added

    def tasks(self, experiment_id: int, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every task row of an experiment (the first `limit` when given), in cell order."""
        if limit is not None:
            return self.rows("SELECT * FROM tasks WHERE experiment_id = ? ORDER BY id LIMIT ?", [experiment_id, int(limit)])
        return self.rows("SELECT * FROM tasks WHERE experiment_id = ? ORDER BY id", [experiment_id])

    def tasks_by_cell(self, experiment_id: int, cell_keys: list[str]) -> dict[str, dict[str, Any]]:
        """The task rows of these cells of an experiment, by cell key (those it holds)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(cell_keys), 500):  # SQLite's limit on a statement's parameters
            keys = cell_keys[start:start + 500]
            for row in self.rows(f"SELECT * FROM tasks WHERE experiment_id = ? AND cell_key IN ({', '.join('?' * len(keys))})",
                                 [experiment_id, *keys]):
                found[row["cell_key"]] = row
        return found

    def task_counts(self, experiment_id: int) -> dict[str, int]:
        """An experiment's tasks by status, counted on the index (no row is read)."""
        return {r["status"]: int(r["n"]) for r in self.rows(
            "SELECT status, count(*) AS n FROM tasks WHERE experiment_id = ? GROUP BY status", [experiment_id])}

    def failure_reasons(self, experiment_id: int, limit: int = 3) -> list[tuple[str, int]]:
        """Why an experiment's failed cells failed: each error message with how many cells it
        ended, the most common first."""
        return self._reasons(experiment_id, "status = 'failed'", limit)

    def loss_reasons(self, experiment_id: int, limit: int = 3) -> list[tuple[str, int]]:
        """Why done cells lost paid images for good (error_code 'ImageLost': a file gone or
        damaged that the server would not give again): each message with its count of cells."""
        return self._reasons(experiment_id, "status = 'done' AND error_code = 'ImageLost'", limit)

    def _reasons(self, experiment_id: int, where: str, limit: int) -> list[tuple[str, int]]:
        return [(r["message"], int(r["n"])) for r in self.rows(
            "SELECT coalesce(error_message, error_code, 'no error recorded') AS message, count(*) AS n FROM tasks "
            f"WHERE experiment_id = ? AND {where} GROUP BY 1 ORDER BY n DESC, min(id) LIMIT ?",
            [experiment_id, int(limit)])]

    def task(self, task_id: int) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM tasks WHERE id = ?", [task_id])
        return rows[0] if rows else None

    def mark_sent(self, task_id: int, request_json: str, *, backend: str | None = None, api_host: str | None = None,
                  qwenlab_version: str | None = None, within: tuple[int, float, float, float] | None = None) -> bool | None:
        """Record that the request is about to leave, with the exact JSON sent and where it goes
        (backend "emulator" or "runware", the API host, the qwenlab version sending it). Written
        before the request goes, so a crash in flight leaves a 'sent' row the next run recovers.

        within: (experiment id, budget in USD, this task's reserved cost, the run's markup). Once
        another run shares the experiment (another connection has written to the log, or another
        run of it sends through this Log: `running`), the experiment's spend is read from the log in
        the same write transaction, every task in flight ('sent') counted at its estimate times the
        markup (the most the API has charged above an estimate, as each run reserves), and the task
        is not marked (False: it must not be sent) when it would take the spend past the budget:
        two runs sending cells of one experiment share its budget.

        None, and nothing written, when the row is 'done' already: another run of the experiment (a
        second notebook or process on the log) finished the cell since this run read it. Marking it
        'sent' turned a done cell, images and all, back into one in doubt until this run's answer
        came (and for good if this run died meanwhile), and sent it again for nothing."""
        fields = {"status": "sent", "sent_at": utc_now(), "request_json": request_json}
        provenance = {"backend": backend, "api_host": api_host, "qwenlab_version": qwenlab_version}
        fields.update({k: v for k, v in provenance.items() if v is not None})
        with self.transaction() as db:
            now = db.execute("SELECT status FROM tasks WHERE id = ?", [task_id]).fetchone()
            if now is not None and now[0] == "done":
                return None
            if within is not None and (self._others_wrote() or self._runs.get(within[0], 0) > 1):
                experiment_id, limit, need, markup = within
                spent, in_flight = db.execute(
                    f"SELECT {SPENT_SQL}, coalesce(sum(CASE WHEN t.status = 'sent' THEN t.estimated_cost_usd END), 0) "
                    "FROM tasks t WHERE t.experiment_id = ?", [experiment_id]).fetchone()
                if float(spent or 0.0) + max(0.0, markup - 1.0) * float(in_flight or 0.0) + need > limit + 1e-9:
                    return False
            update_task(db, task_id, fields)
        return True

    @contextmanager
    def running(self, experiment_id: int) -> Iterator[None]:
        """While a run sends cells of `experiment_id` through this Log: a second one at once makes
        both check the log's spend before each cell (`mark_sent`), as runs in two processes do."""
        with self._lock:
            self._runs[experiment_id] = self._runs.get(experiment_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._runs[experiment_id] -= 1

    def unmark_sent(self, task_id: int) -> None:
        """Undo `mark_sent` for a task that never left (the run stopped while it waited for its
        turn): 'pending' again, with no send time and no provenance, as before it was marked."""
        with self.transaction() as db:
            update_task(db, task_id, {"status": "pending", "sent_at": None, "backend": None, "api_host": None,
                                       "qwenlab_version": None})

    def complete_task(self, task_id: int, fields: dict[str, Any], images: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """Finish a task ('done' or 'failed') and insert its images, in one transaction.
        An image already logged (a recovered task) is kept, not duplicated."""
        now = utc_now()
        with self.transaction() as db:
            update_task(db, task_id, {"completed_at": now, **fields})
            for image in images:
                insert_image(db, task_id, now, image)

    def add_images(self, task_id: int, images: list[dict[str, Any]]) -> None:
        """Add to a finished task images fetched again since (a lost one, asked for with
        getResponse), leaving the task's row as it is; one it has already (the same imageUUID, or
        the same bytes: an answer may name no imageUUID) is not added twice."""
        now = utc_now()
        with self.transaction() as db:
            have = list(db.execute("SELECT image_uuid, sha256 FROM images WHERE task_id = ?", [task_id]))
            uuids, hashes = {u for u, _ in have if u}, {h for _, h in have if h}
            for image in images:
                uuid, sha = image.get("image_uuid"), image.get("sha256")
                if (uuid and uuid in uuids) or (sha and sha in hashes):
                    continue
                insert_image(db, task_id, now, image)
                uuids.add(uuid)
                hashes.add(sha)

    def note_task(self, task_id: int, **fields: Any) -> None:
        """Update some columns of a task (an uncertain transport failure, more attempts)."""
        with self.transaction() as db:
            update_task(db, task_id, fields)

    def reset_task(self, task_id: int, *, task_uuid: str, request_json: str,
                   replacing: str | None = None, status: str | None = None) -> dict[str, Any] | None:
        """Make a task pending again under a new taskUUID (a used one would conflict), keeping
        its last attempt in `history_json`: a failed one, or one given up in doubt; None.

        replacing: the taskUUID the caller read. When the row holds another one now (another
        process sharing the log renewed it meanwhile), nothing is changed and the row as it is
        now is returned: both renewing it would send the cell twice, under two taskUUIDs. status:
        likewise, the status the caller read (a row another process completed meanwhile, under
        the same taskUUID, is not renewed)."""
        with self.transaction() as db:
            row = next(db.query("SELECT * FROM tasks WHERE id = ?", [task_id]))
            if (replacing is not None and row["task_uuid"] != replacing) or (status is not None and row["status"] != status):
                return row
            history = json.loads(row.get("history_json") or "[]")
            history.append({k: row.get(k) for k in ("task_uuid", "status", "error_code", "error_message", "http_status",
                                                    "attempts", "sent_at", "completed_at", "cost_usd", "backend",
                                                    "api_host", "qwenlab_version")})
            db["tasks"].update(task_id, {
                "task_uuid": task_uuid, "request_json": request_json, "status": "pending", "error_code": None,
                "error_message": None, "http_status": None, "attempts": 0, "latency_s": None, "cost_usd": None,
                "cost_source": None, "sent_at": None, "completed_at": None, "history_json": to_json(history),
                "backend": None, "api_host": None, "qwenlab_version": None,  # where it goes next is set when it is sent
            })
        return None

    # -- images ---------------------------------------------------------------------------------
    def images(self, experiment_id: int, *, task_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """The image rows of an experiment (of these tasks only, when given), oldest first."""
        if task_ids is not None:
            if not task_ids:
                return []
            marks = ", ".join("?" * len(task_ids))
            return self.rows(f"SELECT * FROM images WHERE task_id IN ({marks}) AND experiment_id = ? ORDER BY id",
                             [*task_ids, experiment_id])
        return self.rows("SELECT * FROM images WHERE experiment_id = ? ORDER BY id", [experiment_id])

    def image_count(self, experiment_id: int) -> int:
        return int(self.rows("SELECT count(*) AS n FROM images WHERE experiment_id = ?", [experiment_id])[0]["n"])

    # -- queries --------------------------------------------------------------------------------
    def spent(self, experiment_id: int) -> float:
        """USD spent by an experiment, by the one rule every summary uses (`SPENT_SQL`)."""
        row = self.rows(f"SELECT {SPENT_SQL} AS usd FROM tasks t WHERE t.experiment_id = ?", [experiment_id])
        return float(row[0]["usd"] or 0.0)

    def experiments_frame(self, *, tag: str | None = None, archived: bool = False) -> "pd.DataFrame":
        """One row per experiment: status, where its cells ran (`backend`: emulator, runware,
        mixed, unknown where not recorded; empty when nothing was sent), cells by status, images,
        spend, tags (comma-separated), note, and whether it is archived.

        Archived experiments only with archived=True; tag= keeps those that carry that tag.
        Deleted experiments are never listed (their spend is in `qwenlab.costs`)."""
        settle_abandoned(self)  # a run whose process died is not listed as running
        # The counts and spend from the cost rollups (m013: some thousand rows, kept exact by
        # triggers, where the cost index of a million tasks took seconds to read), SPENT_SQL's sum
        # split in two: each task's last attempt (retried = 0), the charged earlier attempts
        # (retried = 1); and the images over the index images(experiment_id).
        where = ["e.deleted_at IS NULL"]
        params: list[Any] = []
        if not archived:
            where.append("e.archived_at IS NULL")
        if tag is not None:
            where.append("e.id IN (SELECT experiment_id FROM experiment_tags WHERE tag = ?)")
            params.append(tag)
        df = self.frame(
            "WITH t AS (SELECT r.experiment_id, sum(r.tasks) AS cells, sum(CASE WHEN r.status = 'done' THEN r.tasks ELSE 0 END) "
            "AS done, sum(CASE WHEN r.status = 'failed' THEN r.tasks ELSE 0 END) AS failed, "
            "sum(CASE WHEN r.status = 'pending' THEN r.tasks ELSE 0 END) AS pending, "
            "sum(CASE WHEN r.status = 'sent' THEN r.tasks ELSE 0 END) AS in_doubt, group_concat(DISTINCT CASE WHEN "
            "r.status != 'pending' AND r.tasks != 0 AND NOT (r.status = 'failed' AND r.backend = '') "
            "THEN coalesce(nullif(r.backend, ''), 'unknown') END) AS backend, "  # failed with none: unreached
            f"{_ROLLUP_SPENT_NOW} AS usd FROM cost_rollups r WHERE r.retried = 0 GROUP BY r.experiment_id HAVING sum(r.tasks) != 0), "
            # the earlier attempts: what a failed one was charged, a given-up one's estimate (as SPENT_SQL)
            f"h AS (SELECT r.experiment_id, {_ROLLUP_SPENT_NOW} AS usd FROM cost_rollups r WHERE r.retried = 1 "
            "GROUP BY r.experiment_id), "
            "i AS (SELECT experiment_id, count(*) AS images FROM images GROUP BY experiment_id) "
            "SELECT e.id, e.name, e.status, e.model, e.created_at, e.updated_at, e.budget_usd, e.stop_reason, "
            "(SELECT group_concat(g.tag, ',') FROM (SELECT tag FROM experiment_tags WHERE experiment_id = e.id "
            "ORDER BY id) g) AS tags, e.notes AS note, e.archived_at IS NOT NULL AS archived, t.backend, "
            "e.api_host, coalesce(t.cells, 0) AS cells, coalesce(t.done, 0) AS done, coalesce(t.failed, 0) AS failed, "
            "coalesce(t.pending, 0) AS pending, coalesce(t.in_doubt, 0) AS in_doubt, coalesce(i.images, 0) AS images, "
            "round(coalesce(t.usd, 0) + coalesce(h.usd, 0), 6) AS cost_usd "
            "FROM experiments e LEFT JOIN t ON t.experiment_id = e.id LEFT JOIN h ON h.experiment_id = e.id "
            f"LEFT JOIN i ON i.experiment_id = e.id WHERE {' AND '.join(where)} ORDER BY e.id", params)
        df["tags"] = df["tags"].fillna("")
        df["archived"] = df["archived"].astype(bool)
        df["backend"] = [("mixed" if "," in b else b) if isinstance(b, str) else "" for b in df["backend"]]
        # one a live run still sends to is running, whatever the first of two runs to finish wrote
        df.loc[df["id"].isin(live_runs(self.path)), "status"] = "running"
        return df

    def provenance(self, experiment_id: int) -> Provenance:
        """Where the experiment's cells were sent: counts by backend, API hosts, the emulated spend
        (`qwenlab.store.provenance`)."""
        return Provenance.of_rows(self.rows(
            f"SELECT CASE WHEN {UNREACHED_SQL} THEN '{UNREACHED}' ELSE t.backend END AS backend, "
            "total(t.status != 'pending') AS cells, group_concat(DISTINCT t.api_host) AS hosts, "
            f"{SPENT_SQL} AS usd FROM tasks t WHERE t.experiment_id = ? GROUP BY 1", [experiment_id]))

    def tasks_frame(self, experiment_id: int | None = None, *, limit: int | None = None) -> "pd.DataFrame":
        where, params = ("WHERE experiment_id = ?", [experiment_id]) if experiment_id is not None else ("", [])
        if limit is not None:
            where, params = f"{where} ORDER BY id LIMIT ?", [*params, int(limit)]
            return self.frame(f"SELECT * FROM tasks {where}", params)
        return self.frame(f"SELECT * FROM tasks {where} ORDER BY id", params)

    def images_frame(self, experiment_id: int | None = None) -> "pd.DataFrame":
        where, params = ("WHERE experiment_id = ?", [experiment_id]) if experiment_id is not None else ("", [])
        return self.frame(f"SELECT * FROM images {where} ORDER BY id", params)

    def search(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        """Tasks whose prompt or negative prompt match a full-text query (SQLite FTS5 syntax)."""
        return self.rows(
            "SELECT t.* FROM tasks t JOIN tasks_fts f ON f.rowid = t.id WHERE tasks_fts MATCH ? "
            "ORDER BY f.rank LIMIT ?", [text, limit])
