"""Tasks: each cell's request as the log keeps it, from 'pending' through 'sent' to 'done' or
'failed', and made pending again under a new taskUUID when it is retried; and what they spent.

A task row is written before its request leaves (`mark_sent`, with the exact JSON and where it
goes), finished with its images in one transaction (`complete_task`), and renewed with its last
attempt kept in `history_json` (`reset_task`). `SPENT_SQL` is what an experiment has spent, the
one rule over `tasks t` that the budget (`mark_sent`), the experiment's summary and the log's
listing share. `Tasks` holds the log's methods for them, which `Log` (qwenlab/store/log.py)
inherits: they read and write through its file (`LogFile`'s rows, transactions and lock).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator

from .rows import column_list, insert_image, placeholders, runs_of_same_columns, to_json, update_task, utc_now

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["Tasks", "SPENT_SQL", "SPENT_NOW_SQL", "SPENT_BEFORE_SQL", "SPENT_ESTIMATE_SQL"]

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
# The part of SPENT_SQL that is qwenlab's estimate, not a number the API reported: a done task
# with no cost reported, a task in doubt, a charge logged at its estimate (cost_source 'estimate':
# images made, none downloaded, no cost in the answer), and the same of the earlier attempts.
SPENT_ESTIMATE_SQL = (
    "(coalesce(sum(CASE WHEN t.status = 'done' AND t.cost_usd IS NULL THEN t.estimated_cost_usd "
    "WHEN t.status = 'sent' THEN t.estimated_cost_usd WHEN t.cost_source IS 'estimate' THEN coalesce(t.cost_usd, 0) "
    "ELSE 0 END), 0) + coalesce(sum(CASE WHEN t.history_json IS NULL THEN 0 ELSE (SELECT coalesce(sum(CASE WHEN "
    "json_extract(h.value, '$.cost_usd') IS NOT NULL THEN (CASE WHEN json_extract(h.value, '$.cost_source') IS 'estimate' "
    "THEN json_extract(h.value, '$.cost_usd') ELSE 0 END) "
    "WHEN json_extract(h.value, '$.status') = 'sent' THEN t.estimated_cost_usd ELSE 0 END), 0) "
    "FROM json_each(t.history_json) h) END), 0))"
)


class Tasks:
    """The tasks of `Log`, which it inherits; they read and write through its file, and a budget
    two runs share is checked against the log (`mark_sent`, `running`)."""

    rows: Callable[..., list[dict[str, Any]]]
    transaction: Callable[[], ContextManager["sqlite_utils.Database"]]
    _lock: threading.RLock
    _runs: dict[int, int]
    _others_wrote: Callable[[], bool]

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
                  qwenlab_version: str | None = None, key_id: str | None = None,
                  within: tuple[int, float, float, float] | None = None) -> bool | None:
        """Record that the request is about to leave, with the exact JSON sent and where it goes
        (backend "emulator" or "runware", the API host, the qwenlab version sending it, the name of
        the key sending it: `RunwareClient.key_id`, never the key). Written
        before the request goes, so a crash in flight leaves a 'sent' row the next run recovers.

        within: (experiment id, budget in USD, this task's reserved cost, the run's markup). Once
        another run shares the experiment (another connection has written to the log, or another
        run of it sends through this Log: `running`), the experiment's spend is read from the log in
        the same write transaction, every task in flight ('sent') counted at its estimate times the
        markup (the most the API has charged above an estimate, as each run reserves), and the task
        is not marked (False: it must not be sent) when it would take the spend past the budget:
        two runs sending cells of one experiment share its budget. A row 'sent' already (a cell in
        doubt sent again under its own taskUUID) is in that spend already, and is not checked.

        None, and nothing written, when the row is 'done' already: another run of the experiment (a
        second notebook or process on the log) finished the cell since this run read it. Marking it
        'sent' turned a done cell, images and all, back into one in doubt until this run's answer
        came (and for good if this run died meanwhile), and sent it again for nothing."""
        fields = {"status": "sent", "sent_at": utc_now(), "request_json": request_json}
        provenance = {"backend": backend, "api_host": api_host, "qwenlab_version": qwenlab_version, "key_id": key_id}
        fields.update({k: v for k, v in provenance.items() if v is not None})
        with self.transaction() as db:
            now = db.execute("SELECT status FROM tasks WHERE id = ?", [task_id]).fetchone()
            if now is not None and now[0] == "done":
                return None
            # a row 'sent' already is a cell in doubt sent again under its own taskUUID, which
            # cannot be paid twice: the spend counts it already, at its estimate, as the run's own
            # budget holds it, and it adds nothing. Checked, it was counted again at the markup
            # (twice its estimate before a price is known) with every other cell in doubt, and a
            # budget that held them exactly refused them all, leaving them in doubt for good
            resent = now is not None and now[0] == "sent"
            if within is not None and not resent and (self._others_wrote() or self._runs.get(within[0], 0) > 1):
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
                                       "qwenlab_version": None, "key_id": None})

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
                                                    "attempts", "sent_at", "completed_at", "cost_usd", "cost_source",
                                                    "backend", "api_host", "qwenlab_version")})
            db["tasks"].update(task_id, {
                "task_uuid": task_uuid, "request_json": request_json, "status": "pending", "error_code": None,
                "error_message": None, "http_status": None, "attempts": 0, "latency_s": None, "cost_usd": None,
                "cost_source": None, "sent_at": None, "completed_at": None, "history_json": to_json(history),
                "backend": None, "api_host": None, "qwenlab_version": None,  # where it goes next is set when it is sent
            })
        return None
