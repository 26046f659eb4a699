"""Migrations m001 to m012: the log's own tables and what they grew.

The tables of experiments, tasks, images, ratings, judgements, text readings and scores, and
experiment tags; the columns added to them since (stop reason, provenance, how costs were read,
judging criteria, archive and delete, the API's unmodelled fields); their indexes, the full-text
search of prompts and its trigger. Each is a function of a sqlite-utils Database, run once by
`qwenlab.store.migrations.runner` in the order it lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = [
    "m001_experiments_tasks_images", "m002_ratings_judgements", "m003_prompt_search",
    "m004_stop_reason_and_task_history", "m005_cost_indexes", "m006_text_readings_and_scores", "m007_provenance",
    "m008_cost_reading", "m009_judgement_criterion", "m010_scale_indexes", "m011_organize", "m012_api_extra",
]


def m001_experiments_tasks_images(db: sqlite_utils.Database) -> None:
    db["experiments"].create(
        {"id": int, "name": str, "created_at": str, "updated_at": str, "model": str, "sweep_json": str,
         "axes_json": str, "budget_usd": float, "notes": str, "status": str},
        pk="id", not_null={"name"},
    )
    db["experiments"].create_index(["name"], unique=True)
    db["tasks"].create(
        {"id": int, "task_uuid": str, "experiment_id": int, "cell_key": str, "cell_json": str, "repeat": int,
         "request_json": str, "output_hash": str, "model": str, "prompt": str, "negative_prompt": str,
         "prompt_extend": int, "width": int, "height": int, "number_results": int, "seed_policy": str,
         "seed": int, "status": str, "error_code": str, "error_message": str, "http_status": int,
         "attempts": int, "latency_s": float, "estimated_cost_usd": float, "price_usd": float,
         "cost_usd": float, "cost_source": str, "created_at": str, "sent_at": str, "completed_at": str},
        pk="id", foreign_keys=[("experiment_id", "experiments", "id")], not_null={"task_uuid"},
        defaults={"attempts": 0},
    )
    db["tasks"].create_index(["task_uuid"], unique=True)
    db["tasks"].create_index(["experiment_id", "cell_key"], unique=True)
    for column in ("experiment_id", "status", "created_at", "model"):
        db["tasks"].create_index([column])
    db["images"].create(
        {"id": int, "image_uuid": str, "task_id": int, "task_uuid": str, "experiment_id": int, "seed": int,
         "cost_usd": float, "cost_source": str, "nsfw": int, "path": str, "sha256": str, "format": str,
         "width": int, "height": int, "bytes": int, "url": str, "raw_json": str, "created_at": str},
        pk="id", foreign_keys=[("task_id", "tasks", "id"), ("experiment_id", "experiments", "id")],
    )
    db["images"].create_index(["image_uuid"], unique=True)
    db["images"].create_index(["task_id"])
    db["images"].create_index(["experiment_id"])


def m002_ratings_judgements(db: sqlite_utils.Database) -> None:
    db["ratings"].create(
        {"id": int, "image_id": int, "score": int, "note": str, "judge": str, "created_at": str},
        pk="id", foreign_keys=[("image_id", "images", "id")],
    )
    db["ratings"].create_index(["image_id"])
    db["judgements"].create(
        {"id": int, "experiment_id": int, "axis": str, "image_a": int, "image_b": int, "winner": str, "created_at": str},
        pk="id", foreign_keys=[("experiment_id", "experiments", "id"), ("image_a", "images", "id"), ("image_b", "images", "id")],
    )
    db["judgements"].create_index(["experiment_id"])


def m003_prompt_search(db: sqlite_utils.Database) -> None:
    # sqlite-utils' own layout (tasks_fts + triggers), so `db["tasks"].search()` and Datasette find it
    db["tasks"].enable_fts(["prompt", "negative_prompt"], create_triggers=True)


def m004_stop_reason_and_task_history(db: sqlite_utils.Database) -> None:
    # why a run stopped early (budget, a fatal error, Ctrl-C), and a fingerprint of the sweep so a
    # rerun under the same name can tell whether it is the same sweep
    db["experiments"].add_column("stop_reason", str)
    db["experiments"].add_column("sweep_hash", str)
    # a failed cell that is retried keeps its earlier attempts here (JSON list)
    db["tasks"].add_column("history_json", str)


def m005_cost_indexes(db: sqlite_utils.Database) -> None:
    # qwenlab.costs.frames sums every task; this covering index holds every column those sums read, so
    # SQLite scans it instead of the wide rows (prompt, request JSON): ~3x faster on 100k tasks
    # (python -m qwenlab.bench.costs). cell_json is left out: it can hold whole requests.
    db.execute("CREATE INDEX IF NOT EXISTS idx_tasks_costs ON tasks (experiment_id, status, model, width, height, "
               "price_usd, estimated_cost_usd, cost_usd, number_results, completed_at, sent_at, created_at)")
    # the few tasks with earlier failed attempts, found without reading the others
    db.execute("CREATE INDEX IF NOT EXISTS idx_tasks_history ON tasks (experiment_id) WHERE history_json IS NOT NULL")


def m006_text_readings_and_scores(db: sqlite_utils.Database) -> None:
    # qwenlab.typography: what an OCR engine read in each image (one row per image and engine:
    # lines with boxes and confidences), and the text scores computed from it, so a score can be
    # recomputed and an engine swapped without reading the image again
    db["text_readings"].create(
        {"id": int, "image_id": int, "experiment_id": int, "engine": str, "engine_version": str, "text": str,
         "lines_json": str, "n_lines": int, "mean_confidence": float, "seconds": float, "width": int, "height": int,
         "error": str, "read_at": str},
        pk="id", foreign_keys=[("image_id", "images", "id"), ("experiment_id", "experiments", "id")],
        not_null={"image_id", "engine"})
    db["text_readings"].create_index(["image_id", "engine"], unique=True)
    db["text_readings"].create_index(["experiment_id", "engine"])
    db["text_scores"].create(
        {"id": int, "image_id": int, "experiment_id": int, "engine": str, "expected_json": str, "word_accuracy": float,
         "ned": float, "sentence_accuracy": float, "words": int, "words_read": int, "strings": int, "strings_exact": int,
         "correct": int, "missing_json": str, "read_instead_json": str, "strings_json": str, "scoring_version": int,
         "scored_at": str},
        pk="id", foreign_keys=[("image_id", "images", "id"), ("experiment_id", "experiments", "id")],
        not_null={"image_id", "engine"})
    db["text_scores"].create_index(["image_id", "engine"], unique=True)
    db["text_scores"].create_index(["experiment_id", "engine"])


def m007_provenance(db: sqlite_utils.Database) -> None:
    # where each task was sent: backend "emulator" (qwenlab's offline emulator: synthetic images,
    # emulated costs) or "runware", the API host, and the qwenlab version that sent it; and where an
    # experiment runs ("emulator", "runware", or "mixed" once a run was told to mix them). NULL is
    # "not recorded": a row logged before this migration, shown as backend "unknown".
    db["tasks"].add_column("backend", str)
    db["tasks"].add_column("api_host", str)
    db["tasks"].add_column("qwenlab_version", str)
    db["experiments"].add_column("backend", str)
    db["experiments"].add_column("api_host", str)
    # the cost sums now keep emulated money apart, so they read the backend: the covering index
    # of m005 is rebuilt with it (same name, same columns first), or every sum would read the wide rows
    db.execute("DROP INDEX IF EXISTS idx_tasks_costs")
    db.execute("CREATE INDEX idx_tasks_costs ON tasks (experiment_id, status, model, width, height, price_usd, "
               "estimated_cost_usd, cost_usd, number_results, completed_at, sent_at, created_at, backend)")


def m008_cost_reading(db: sqlite_utils.Database) -> None:
    # how the API's reported costs of a task were read (qwenlab.api.results.COST_READINGS):
    # "per_image", "per_task" (every item reported the whole task's cost, counted once) or
    # "unchecked". Runware does not document which one a numberResults > 1 answer uses. NULL: a
    # task logged before this migration.
    db["tasks"].add_column("cost_reading", str)


def m009_judgement_criterion(db: sqlite_utils.Database) -> None:
    # what a blind judgement judged: "overall", "text correct" or a name of the user's own, so win
    # rates are counted per criterion. NULL: a judgement made before criteria existed, read as
    # "overall" (Log.judgements says so).
    db["judgements"].add_column("criterion", str)
    db["judgements"].create_index(["experiment_id", "axis", "criterion"])


def m010_scale_indexes(db: sqlite_utils.Database) -> None:
    # The full-text index of prompts (m003) was refreshed by a trigger on EVERY update of a task
    # row, and a sweep updates each row twice (sent, then done) without touching its prompt: a
    # delete and an insert into tasks_fts each time, a fifth of the log's work per task. The
    # trigger keeps its name (sqlite-utils finds it by name) and now fires only when the prompt
    # or the negative prompt changes.
    db.execute("DROP TRIGGER IF EXISTS [tasks_au]")
    db.execute(
        'CREATE TRIGGER [tasks_au] AFTER UPDATE OF [prompt], [negative_prompt] ON [tasks] BEGIN\n'
        '  INSERT INTO [tasks_fts] ([tasks_fts], rowid, [prompt], [negative_prompt]) '
        "VALUES('delete', old.rowid, old.[prompt], old.[negative_prompt]);\n"
        '  INSERT INTO [tasks_fts] (rowid, [prompt], [negative_prompt]) VALUES (new.rowid, new.[prompt], new.[negative_prompt]);\n'
        'END')


def m011_organize(db: sqlite_utils.Database) -> None:
    # qwenlab.store.organize: tags on experiments (one row per experiment and tag), and two
    # moments in an experiment's life. archived_at: retired, out of the default listings, kept
    # whole. deleted_at: deleted; the row stays (renamed "(deleted) NAME") with its tasks stripped
    # of their content, so that what was spent stays in every cost total. imported_from: the
    # bundle an experiment came from (JSON: file, original name, when), NULL for one run here.
    db["experiment_tags"].create(
        {"id": int, "experiment_id": int, "tag": str, "created_at": str},
        pk="id", foreign_keys=[("experiment_id", "experiments", "id")], not_null={"experiment_id", "tag"})
    db["experiment_tags"].create_index(["experiment_id", "tag"], unique=True)
    db["experiment_tags"].create_index(["tag"])
    db["experiments"].add_column("archived_at", str)
    db["experiments"].add_column("deleted_at", str)
    db["experiments"].add_column("imported_from", str)


def m012_api_extra(db: sqlite_utils.Database) -> None:
    # the fields of an API answer qwenlab does not model (qwenlab.api.results.MODELLED_FIELDS), as
    # a JSON object per image (NULL: none), so a field Runware adds is shown (the explorer's
    # detail) and queried (json_extract) without parsing raw_json. Images logged before this
    # migration get theirs from raw_json, which kept every field of the item; the list below is
    # the modelled fields as of this migration (a migration never changes).
    db["images"].add_column("api_extra", str)
    modelled = ("taskType", "taskUUID", "imageUUID", "imageURL", "imageBase64Data", "imageDataURI", "seed",
                "NSFWContent", "cost", "status", "progress", "error", "_qwenlab")
    paths = ", ".join(f"'$.{name}'" for name in modelled)
    db.execute(f"UPDATE images SET api_extra = json_remove(raw_json, {paths}) WHERE json_valid(raw_json)")
    db.execute("UPDATE images SET api_extra = NULL WHERE api_extra = '{}'")
