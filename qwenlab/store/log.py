"""The SQLite log: every experiment, every request sent, every image, every cost.

    log = Log()                    # <data>/qwenlab.db (QWENLAB_DATA_DIR), or Log("some/path.db")
    log.experiments_frame()        # one row per experiment with counts and spend
    log.search("LUMIERE")          # full-text search over prompts

The schema is built by the small named migrations of `qwenlab.store.migrations`, each recorded in
`_qwenlab_migrations` when applied. The file itself (WAL mode, the busy timeout, the write lock
and `BEGIN IMMEDIATE` transactions, reads as rows, frames and columns) is `LogFile`, in
qwenlab/store/log_file.py, which `Log` extends with what qwenlab keeps in it; the rows' times,
JSON and INSERT/UPDATE statements are in qwenlab/store/rows.py; its tasks (adding, sending,
finishing and renewing them, and `SPENT_SQL`, what they spent) are `Tasks`, in
qwenlab/store/tasks.py, and its ratings and judgements (writing and reading them) are `Ratings`,
in qwenlab/store/ratings.py, both of which `Log` inherits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .log_file import LogFile
from .migrations.former_names import FORMER_NAMES
from .migrations.key_ids import KEY_SALT
from .prefetch import Prefetch
from .provenance import UNREACHED, UNREACHED_SQL, Provenance
from .ratings import Ratings
from .rows import utc_now
from .run_lock import live_runs, settle_abandoned
from .tasks import SPENT_SQL, Tasks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Log", "IN_DOUBT", "AWAITED", "status_word"]

# A task the log holds as 'sent' (its request went, no answer was logged: maybe paid) is "in doubt"
# wherever qwenlab counts it: counts(), lab.experiments(), the cost summaries and the CLI.
IN_DOUBT = "in_doubt"
# ...but while its experiment's run is still sending (`ExperimentRecord.status` 'running': its run
# lock held), a task sent is only waiting for its answer: a view of a live run says so, not "in doubt"
AWAITED = "running"


def status_word(status: str, live: bool = False) -> str:
    """A task's status as qwenlab's counts, listings and filters say it: 'sent' is "in_doubt", or,
    with `live` (its experiment's run is still sending), "running": its answer is awaited."""
    if status == "sent":
        return AWAITED if live else IN_DOUBT
    return status


# SPENT_NOW_SQL (qwenlab/store/tasks.py) over the cost rollups (m013, `cost_rollups r`, money in 1e-10 USD units;
# since m017 a charge logged at qwenlab's estimate is apart from the API's numbers, in estimated_charge_e10)
# what experiments_frame reads whole: the cost rollups (by their key's index) and the images' index
_LISTING_TREES = ("cost_rollups", "sqlite_autoindex_cost_rollups_1", "idx_images_experiment_id")
_ROLLUP_SPENT_NOW = ("sum(CASE WHEN r.status = 'done' THEN r.reported_e10 + r.unreported_estimate_e10 + r.estimated_charge_e10 "
                     "WHEN r.status = 'sent' THEN r.reported_estimate_e10 + r.unreported_estimate_e10 + r.estimated_charge_estimate_e10 "
                     "ELSE r.reported_e10 + r.estimated_charge_e10 END) / 1e10")


# -- the log --------------------------------------------------------------------------------------
class Log(LogFile, Tasks, Ratings):
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

    def key_salt(self) -> bytes:
        """This log's random salt for naming API keys (made by migration m016): a run keeps on each
        task it sends `client.key_id(log.key_salt())`, never the key itself."""
        salt = getattr(self, "_key_salt", None)
        if salt is None:
            (row,) = self.rows("SELECT value FROM log_meta WHERE name = ?", [KEY_SALT])  # under the log's lock
            salt = self._key_salt = bytes.fromhex(row["value"])
        return salt

    # -- experiments ----------------------------------------------------------------------------
    def experiment(self, name: str) -> dict[str, Any] | None:
        """The experiment row with this name, or None (a deleted experiment is none: only its
        spend is kept, see `qwenlab.store.organize`). A name with spaces around it finds the
        experiment of the name without them, as new names are stored (" posters" is "posters"),
        where no experiment has that very name (one of an older log may)."""
        rows = self.rows("SELECT * FROM experiments WHERE name = ? AND deleted_at IS NULL", [name])
        if not rows and isinstance(name, str) and name.strip() != name:
            rows = self.rows("SELECT * FROM experiments WHERE name = ? AND deleted_at IS NULL", [name.strip()])
        return rows[0] if rows else None

    def renamed_from(self, name: str) -> dict[str, Any] | None:
        """The experiment (not deleted) that was last called `name` before a rename, with
        `renamed_at`; None when none was. See `migrations.former_names`."""
        rows = self.rows(
            f"SELECT e.*, f.renamed_at FROM {FORMER_NAMES} f JOIN experiments e ON e.id = f.experiment_id "
            "WHERE f.name = ? AND e.deleted_at IS NULL ORDER BY f.id DESC LIMIT 1", [name])
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
        spend, tags (comma-separated), `notes` and `archived_at` (when it was archived, None when
        not): the names of the log's own columns, as `qwenlab logs NAME --json` and Datasette give them;
        `imported`: it came from a bundle (`imported_from`), run and paid for in another log.

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
        # three b-trees are read whole, a page at a time: asked of the OS at once, all their pages
        # arrive together (`qwenlab logs` cold on the 1,000,000-task benchmark log: 1.34 to 1.49 s
        # before, 0.86 to 0.96 s after, 0.84 s warm)
        with Prefetch(self.path, [], trees=_LISTING_TREES):
            df = self._experiments_rows(where, params)
        df["tags"] = df["tags"].fillna("")
        df["imported"] = df["imported"].astype(bool)
        df["backend"] = [("mixed" if "," in b else b) if isinstance(b, str) else "" for b in df["backend"]]
        # one a live run still sends to is running, whatever the first of two runs to finish wrote
        df.loc[df["id"].isin(live_runs(self.path)), "status"] = "running"
        return df

    def _experiments_rows(self, where: list[str], params: list[Any]) -> "pd.DataFrame":
        """experiments_frame's rows as the log holds them: the experiments of `where` (on `e`)."""
        return self.frame(
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
            "ORDER BY id) g) AS tags, e.notes, e.archived_at, e.imported_from IS NOT NULL AS imported, t.backend, "
            "e.api_host, coalesce(t.cells, 0) AS cells, coalesce(t.done, 0) AS done, coalesce(t.failed, 0) AS failed, "
            "coalesce(t.pending, 0) AS pending, coalesce(t.in_doubt, 0) AS in_doubt, coalesce(i.images, 0) AS images, "
            "round(coalesce(t.usd, 0) + coalesce(h.usd, 0), 6) AS cost_usd "
            "FROM experiments e LEFT JOIN t ON t.experiment_id = e.id LEFT JOIN h ON h.experiment_id = e.id "
            f"LEFT JOIN i ON i.experiment_id = e.id WHERE {' AND '.join(where)} ORDER BY e.id", params)

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
