"""The SQL text the cost queries are made of, and `Read`, one part of a grouped aggregate.

A request's cost, where that number comes from, its time, its backend and its per-image price,
each as one expression over the tasks (`t`); the sums a cost group holds (`TASK_SUMS`); and the
sources those sums are read from, each shaped like task rows: the tasks, their earlier failed
attempts (`HISTORY_SOURCE`), the cost rollups of migration m013 (`rollup_read`), the scores of
m015 (`SCORES_SOURCE`), the rated images (`RATED_FROM_TASKS`, `RATED_FROM_RATINGS`). Money the
emulator "charged" is summed apart (`emulated_usd`, cost_source 'emulated'): it was never paid. So
is a cost the API did not report that qwenlab logged at its estimate (a failed task whose images
were made and lost, with no cost in the answer: `tasks.cost_source` 'estimate'): in `estimate_usd`,
never in `api_usd` or `emulated_usd` (migration m017).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.migrations.cost_rollups import FIRST_TASK_SQL

__all__ = ["AT_SQL", "COST_SQL", "COST_SOURCES", "COST_SOURCE_SQL", "ESTIMATED_CHARGE", "SOURCE_CODE_SQL", "BACKEND_SQL", "PRICE_SQL",
           "IMAGES_SQL", "COST_INDEX", "COST_INDEX_LEAD", "TASK_SUMS", "SUM_COLUMNS", "HISTORY_SOURCE", "ORDER_ONLY", "ROLLUP_SUMS",
           "ROLLUP_EXTRA", "RATED_FROM_TASKS", "RATED_FROM_RATINGS", "SCORES_SOURCE", "SCORES_SUMS", "Read", "rollup_read"]

AT_SQL = "coalesce(t.completed_at, t.sent_at, t.created_at)"
# the cost of one request, and where the number comes from (see the docstring of qwenlab.costs.frames)
COST_SQL = ("CASE WHEN t.cost_usd IS NOT NULL THEN t.cost_usd "
            "WHEN t.status IN ('done', 'sent') THEN coalesce(t.estimated_cost_usd, 0) ELSE 0 END")
# a number the emulator reported is 'emulated', never 'api' (Runware's own number); a cost_usd that
# is qwenlab's estimate (cost_source 'estimate': images made and lost, no cost reported) is 'estimate'
COST_SOURCES = ("api", "emulated", "estimate", "in_doubt", "none")
ESTIMATED_CHARGE = "t.cost_usd IS NOT NULL AND t.cost_source IS 'estimate'"  # a cost_usd that is qwenlab's estimate
_REPORTED = "t.cost_source IS NOT 'estimate'"  # of a cost_usd: the API's number (or the emulator's)
_SOURCE_CASE = ("CASE WHEN t.cost_usd IS NOT NULL THEN (CASE WHEN t.cost_source IS 'estimate' THEN {estimate} "
                "WHEN t.backend = 'emulator' THEN {emulated} ELSE {api} END) "
                "WHEN t.status = 'done' THEN {estimate} WHEN t.status = 'sent' THEN {in_doubt} ELSE {none} END")
COST_SOURCE_SQL = _SOURCE_CASE.format(**{s: f"'{s}'" for s in COST_SOURCES})
# the same as its place in COST_SOURCES: a small integer is cheaper to hand over than a text
SOURCE_CODE_SQL = _SOURCE_CASE.format(**{s: i for i, s in enumerate(COST_SOURCES)})
# where a request ran (m007): 'emulator', 'runware', 'not sent' for a cell logged and never sent
# (a budget's stop, a run stopped first), or 'unknown' for one sent before it was recorded
BACKEND_SQL = "CASE WHEN t.backend IS NOT NULL THEN t.backend WHEN t.status = 'pending' THEN 'not sent' ELSE 'unknown' END"
# the per-image price recorded at send time (older rows without price_usd: estimate / numberResults)
PRICE_SQL = "round(coalesce(t.price_usd, t.estimated_cost_usd / max(coalesce(t.number_results, 1), 1)), 6)"
IMAGES_SQL = "(SELECT count(*) FROM images i WHERE i.task_id = t.id)"
# the cost index (m005, m007) and its leading columns: grouped by them, SQLite reads the index in its order
COST_INDEX = "idx_tasks_costs"
COST_INDEX_LEAD = "t.experiment_id, t.status, t.model, t.width, t.height, t.price_usd, t.estimated_cost_usd, t.cost_usd"

TASK_SUMS = {
    "tasks": "count(*)",
    "done": "total(t.status = 'done')",
    "failed": "total(t.status = 'failed')",
    "in_doubt": "total(t.status = 'sent')",
    "pending": "total(t.status = 'pending')",
    "images": "total({images})",
    # reported by the API (Runware, or a request whose backend was not recorded) / by the emulator
    "api_usd": f"total(CASE WHEN t.backend IS NOT 'emulator' AND {_REPORTED} THEN t.cost_usd END)",
    "emulated_usd": f"total(CASE WHEN t.backend = 'emulator' AND {_REPORTED} THEN t.cost_usd END)",
    # no cost reported: a done task at its estimate, and a charge logged at qwenlab's estimate
    "estimate_usd": (f"total(CASE WHEN t.cost_usd IS NULL AND t.status = 'done' THEN t.estimated_cost_usd "
                     f"WHEN {ESTIMATED_CHARGE} THEN t.cost_usd END)"),
    "in_doubt_usd": "total(CASE WHEN t.cost_usd IS NULL AND t.status = 'sent' THEN t.estimated_cost_usd END)",
    "failed_usd": "total(CASE WHEN t.status = 'failed' THEN t.cost_usd END)",
    # the part of failed_usd (and of estimate_usd) that is qwenlab's estimate, not the API's number
    "failed_estimate_usd": f"total(CASE WHEN t.status = 'failed' AND {ESTIMATED_CHARGE} THEN t.cost_usd END)",
    "estimated_usd": "total(CASE WHEN t.status != 'pending' THEN t.estimated_cost_usd END)",
}
SUM_COLUMNS = (*TASK_SUMS, "cost_usd")

# The earlier failed attempts of retried cells, shaped like task rows. The partial index
# `idx_tasks_history` finds the few rows that have any without reading the others.
HISTORY_SOURCE = (
    "(SELECT NULL AS id, ht.experiment_id, ht.model, ht.width, ht.height, ht.cell_json, ht.cell_key, ht.number_results, "
    "ht.price_usd, ht.estimated_cost_usd, ht.created_at, 1 AS retried, "
    "json_extract(h.value, '$.status') AS status, json_extract(h.value, '$.cost_usd') AS cost_usd, "
    "json_extract(h.value, '$.cost_source') AS cost_source, "
    "json_extract(h.value, '$.completed_at') AS completed_at, json_extract(h.value, '$.sent_at') AS sent_at, "
    "json_extract(h.value, '$.task_uuid') AS task_uuid, json_extract(h.value, '$.error_code') AS error_code, "
    "json_extract(h.value, '$.error_message') AS error_message, json_extract(h.value, '$.http_status') AS http_status, "
    "json_extract(h.value, '$.attempts') AS attempts, json_extract(h.value, '$.backend') AS backend "
    "FROM tasks ht, json_each(ht.history_json) h WHERE ht.history_json IS NOT NULL) t"
)


# The rollups of migration m013 (`cost_rollups`, kept exact by triggers), shaped like task rows
# with a `day` column for the time and summed columns: a summary reads thousands of rollup rows
# instead of a million tasks. Sentinels (-1, '') back to NULL, as the tasks hold them.
# The key columns are cost_scores' (m015) too.
_ROLLUP_KEY_COLUMNS = ("nullif(r.experiment_id, -1) AS experiment_id, nullif(r.setting, '') AS cell_json, "
                       "nullif(r.day, '') AS day, nullif(r.model, '') AS model, nullif(r.width, -1) AS width, "
                       "nullif(r.height, -1) AS height, nullif(r.status, '') AS status, nullif(r.backend, '') AS backend")
_ROLLUP_COLUMNS = (f"{_ROLLUP_KEY_COLUMNS}, r.retried, r.tasks, r.images, r.reported_e10, r.reported_estimate_e10, "
                   "r.unreported_estimate_e10, r.estimated_charge_e10, r.estimated_charge_estimate_e10")
# a setting's first task: the order by("setting") lists settings in
_ROLLUP_FIRST = (f"CASE WHEN r.tasks != 0 THEN (SELECT {FIRST_TASK_SQL} FROM cost_settings s WHERE s.experiment_id = r.experiment_id "
                 "AND s.setting = r.setting) END AS id")
# a key's expression that only orders its groups (one value per group): not in the GROUP BY
ORDER_ONLY = "(SELECT "
_USD = "coalesce(sum({}), 0) / 1e10"  # integer 1e-10 USD units back to dollars
# the estimate of the requests of a rollup row, whatever became of their cost (reported, a charge
# at the estimate, none)
_ESTIMATES = "t.reported_estimate_e10 + t.unreported_estimate_e10 + t.estimated_charge_estimate_e10"
ROLLUP_SUMS = {
    "tasks": "coalesce(sum(t.tasks), 0)",
    "done": "total(CASE WHEN t.status = 'done' THEN t.tasks END)",
    "failed": "total(CASE WHEN t.status = 'failed' THEN t.tasks END)",
    "in_doubt": "total(CASE WHEN t.status = 'sent' THEN t.tasks END)",
    "pending": "total(CASE WHEN t.status = 'pending' THEN t.tasks END)",
    "images": "total(t.images)",
    "api_usd": _USD.format("CASE WHEN t.backend IS NOT 'emulator' THEN t.reported_e10 END"),
    "emulated_usd": _USD.format("CASE WHEN t.backend = 'emulator' THEN t.reported_e10 END"),
    "estimate_usd": _USD.format("CASE WHEN t.status = 'done' THEN t.unreported_estimate_e10 + t.estimated_charge_e10 "
                                "ELSE t.estimated_charge_e10 END"),
    "in_doubt_usd": _USD.format("CASE WHEN t.status = 'sent' THEN t.unreported_estimate_e10 END"),
    "failed_usd": _USD.format("CASE WHEN t.status = 'failed' THEN t.reported_e10 + t.estimated_charge_e10 END"),
    "failed_estimate_usd": _USD.format("CASE WHEN t.status = 'failed' THEN t.estimated_charge_e10 END"),
    "estimated_usd": _USD.format(f"CASE WHEN t.status != 'pending' THEN {_ESTIMATES} END"),
}
ROLLUP_EXTRA = {
    "unsent": "total(CASE WHEN t.status = 'pending' THEN t.tasks END)",
    "unsent_usd": _USD.format(f"CASE WHEN t.status = 'pending' THEN {_ESTIMATES} END"),
    # a cell that failed is sent again by the next run (its earlier attempts, retried = 1, are not)
    "to_retry": "total(CASE WHEN t.status = 'failed' AND t.retried = 0 THEN t.tasks END)",
    "to_send_usd": _USD.format(f"CASE WHEN t.status IN ('pending', 'failed') AND t.retried = 0 THEN {_ESTIMATES} END"),
    "api_estimated_usd": _USD.format("t.reported_estimate_e10"),  # the estimate of the tasks whose cost was reported
    # the estimate of every cell, sent or not, once: not again for the earlier attempts of a retried one
    "planned_usd": _USD.format(f"CASE WHEN t.retried = 0 THEN {_ESTIMATES} END"),
}


# The rated images with their latest scored rating (`r.score`), joined to their tasks, read from
# the tasks (every task's images, each image's latest rating found through the ratings' index) or
# from the ratings (each image's latest scored rating: SQLite gives a bare column the values of the
# row where max() found its maximum, then the image and the task by their keys). See CostQuery.kept.
RATED_FROM_TASKS = ("tasks t CROSS JOIN images i ON i.task_id = t.id CROSS JOIN ratings r ON r.id = "
                    "(SELECT max(r2.id) FROM ratings r2 WHERE r2.image_id = i.id AND r2.score IS NOT NULL)")
RATED_FROM_RATINGS = ("(SELECT image_id, max(id) AS id, score FROM ratings WHERE score IS NOT NULL GROUP BY image_id) r "
                      "CROSS JOIN images i ON i.id = r.image_id CROSS JOIN tasks t ON t.id = i.task_id")


# The latest scores of migration m015 (`cost_scores`: rated images per rollup key and score),
# shaped like the rollups. No task id: by("setting") orders its groups by the tasks' frame,
# which kept() is joined to.
SCORES_SOURCE = f"(SELECT {_ROLLUP_KEY_COLUMNS}, r.score, r.images, NULL AS id FROM cost_scores r) t"
SCORES_SUMS = {"rated": "coalesce(sum(t.images), 0)", "kept": "total(CASE WHEN t.score >= ? THEN t.images END)"}


@dataclass
class Read:
    """One part of a grouped aggregate: `sums` over `source` (FROM text, its template values in
    `fill`), within the time bounds `bounds` (since, until) and the conditions `where`. rollup:
    the source is the rollups (a request's time is its day), whose groups count where `live`."""

    source: str
    sums: dict[str, str]
    fill: dict[str, str]
    bounds: tuple[str | None, str | None]
    rollup: bool = False
    where: tuple[str, ...] = ()
    live: str = "sum(t.tasks) != 0"  # of a rollup's group: it holds something (rows whose tasks moved on hold zeros)


def rollup_read(sums: dict[str, str], with_first_task: bool = False) -> Read:
    """A read of `sums` over cost_rollups (its bounds set by CostView.reads)."""
    source = f"(SELECT {_ROLLUP_COLUMNS}{', ' + _ROLLUP_FIRST if with_first_task else ''} FROM cost_rollups r) t"
    return Read(source, dict(sums), {}, (None, None), rollup=True)
