"""The log in Datasette, with pictures: the metadata qwenlab writes and a one-function plugin.

    qwenlab datasette                    # writes <data>/datasette/metadata.json, serves on 127.0.0.1:8001

Pictures: datasette-render-images shows a BLOB column holding JPEG/PNG/GIF bytes as an image.
The log keeps file paths, not image bytes, so a small plugin (`ThumbnailsPlugin`) adds the SQL
function `qwenlab_thumbnail(path)`: the image's JPEG thumbnail from qwenlab's thumbnail cache
(`qwenlab.store.thumbnails`, made on first use, 160 px). The canned queries call it, so their
rows show thumbnails while the log stays free of image bytes. (datasette-media would serve the
full files over HTTP from paths given by SQL; the rendered thumbnails need no route of their own
and survive a saved HTML page, so datasette-render-images it is.)

Canned queries: cost by experiment (every cost rule of `Log.spent`, the API's numbers and
qwenlab's estimates apart; deleted experiments show as "(deleted) NAME" with what they spent),
best-rated images, images of one experiment, prompt search by plain words, and by FTS5 syntax
(the plugin's `qwenlab_fts5_problem(text)` turns a malformed query into a row saying why). Facets on status, backend, model,
promptExtend and the source of each cost; the cost columns described; the full-text tables and
`log_meta` (the salt of the log's names for API keys) are hidden.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..paths import write_atomic
from .search import LATEST_SCORE_SQL
from .tasks import SPENT_ESTIMATE_SQL, SPENT_SQL
from .thumbnails import thumbnail_of

__all__ = ["metadata", "write_metadata", "ThumbnailsPlugin", "fts5_problem", "DATABASE", "THUMBNAIL_SIZE"]

DATABASE = "qwenlab"  # Datasette names a database after its file: qwenlab.db
THUMBNAIL_SIZE = 160  # px; a JPEG of a few KB, well under datasette-render-images' 100 KB limit

# a cell's axis values as the rest of qwenlab writes them: promptExtend=on, size=1024x1536
_VALUES_SQL = ("(SELECT group_concat(v.key || '=' || CASE v.type WHEN 'true' THEN 'on' WHEN 'false' THEN 'off' "
               "WHEN 'null' THEN 'none' ELSE v.value END, ', ') FROM json_each(t.cell_json) v WHERE v.key != 'repeat')")
_IMAGE_ROWS = ("SELECT qwenlab_thumbnail(i.path) AS thumbnail, e.name AS experiment, {rating} AS rating, "
               f"{_VALUES_SQL} AS [values], i.seed, coalesce(i.cost_usd, t.cost_usd) AS cost_usd, "
               "CASE WHEN t.backend = 'emulator' THEN 'emulator (SYNTHETIC)' ELSE coalesce(t.backend, 'unknown') END "
               "AS backend, t.prompt, i.path, i.id AS image_id "
               "FROM images i JOIN tasks t ON t.id = i.task_id JOIN experiments e ON e.id = i.experiment_id "
               "WHERE e.deleted_at IS NULL").format(rating=LATEST_SCORE_SQL)

# The search box's text as an FTS5 query in which every word must appear, as `qwenlab search`
# matches (`fts_query`): each word quoted, a double quote in it doubled, so punctuation and FTS5's
# operators are plain text. Guessing FTS5 syntax from the text (a quote, a parenthesis, OR/AND/NOT)
# made a pasted prompt fragment an error ("(gold, serif)": fts5: syntax error near ",") and a
# sign's words an operator ("DO NOT DISTURB" found nothing): FTS5 syntax has its own query,
# `search_prompts_fts5`. Whitespace is folded to single spaces first (an empty "" would match
# nothing), and an empty box matches nothing (an empty MATCH is a syntax error, shown before
# anything is typed).
_TEXT = "trim(replace(replace(replace(:text, char(9), ' '), char(10), ' '), char(13), ' '))"
_ONE_SPACED = f"replace(replace(replace(replace({_TEXT}, '    ', ' '), '   ', ' '), '  ', ' '), '  ', ' ')"
_FTS_QUERY = (f"(CASE WHEN {_TEXT} = '' THEN '\"\"' "
              f"ELSE '\"' || replace(replace({_ONE_SPACED}, '\"', '\"\"'), ' ', '\" \"') || '\"' END)")
# FTS5 syntax as typed, once the plugin's `qwenlab_fts5_problem` found it sound; else no image, and
# one row whose prompt says what is wrong (a raw "fts5: syntax error near" is all SQLite would say)
_PROBLEM = "qwenlab_fts5_problem(:text)"
_FTS5_ROWS = (f"SELECT * FROM ({_IMAGE_ROWS} AND {_PROBLEM} IS NULL AND t.id IN (SELECT rowid FROM tasks_fts WHERE "
              f"tasks_fts MATCH (CASE WHEN {_PROBLEM} IS NULL AND trim(:text) != '' THEN :text ELSE '\"\"' END)) "
              f"ORDER BY i.id) UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, {_PROBLEM}, NULL, NULL "
              f"WHERE {_PROBLEM} IS NOT NULL")
_FTS_COLUMNS = ("prompt", "negative_prompt")  # tasks_fts's, as migration m003 indexes them (a column filter names one)

# what a row's cost columns mean, shown under the table's column headings
_COST_COLUMNS = {
    "cost_usd": "USD: the number the API reported, unless cost_source is 'estimate' (then qwenlab's estimate); "
                "emulated money where the task's backend is 'emulator'",
    "cost_source": "whose number cost_usd is: 'api' (reported by the API), 'estimate' (no cost reported: qwenlab's "
                   "estimate, from the price recorded when it was sent), empty (nothing charged or not yet answered)",
}

QUERIES: dict[str, dict[str, Any]] = {
    "cost_by_experiment": {
        "title": "Cost by experiment",
        "description": "What each experiment spent, by the rule every qwenlab summary uses. Emulator costs are "
                       "emulated (nothing paid); deleted experiments keep their spend as '(deleted) NAME'; imported is 1 for "
                       "an experiment imported from a bundle, whose money was spent in the log it came from (qwenlab "
                       "costs --no-imported leaves those out). Cells, done and "
                       "failed count each cell once, by its latest attempt (qwenlab costs counts every request); "
                       "the cost includes the earlier attempts. cost_usd = reported_usd + estimate_usd: reported_usd is "
                       "what the API reported (Runware's number, or the emulator's, emulated), estimate_usd what qwenlab "
                       "counts at its estimate because no cost was reported: a request with no cost in its answer, "
                       "one in doubt (sent, no answer logged), a failed one whose images were made and not downloaded.",
        "sql": ("SELECT e.name AS experiment, coalesce(group_concat(DISTINCT coalesce(t.backend, 'unknown')), '') "
                "AS backend, (e.imported_from IS NOT NULL) AS imported, count(t.id) AS cells, count(CASE WHEN t.status = 'done' THEN 1 END) AS done, "
                "count(CASE WHEN t.status = 'failed' THEN 1 END) AS failed, "
                "(SELECT count(*) FROM images i WHERE i.experiment_id = e.id) AS images, "
                f"round({SPENT_SQL}, 6) AS cost_usd, round({SPENT_SQL} - {SPENT_ESTIMATE_SQL}, 6) AS reported_usd, "
                f"round({SPENT_ESTIMATE_SQL}, 6) AS estimate_usd FROM experiments e LEFT JOIN tasks t ON t.experiment_id = e.id "
                "GROUP BY e.id ORDER BY cost_usd DESC, e.id"),
    },
    "best_rated_images": {
        "title": "Best-rated images",
        "description": "Images by their latest rating, best first, with thumbnails (Datasette shows the first "
                       "1,000 and says when there are more).",
        "sql": f"{_IMAGE_ROWS} AND {LATEST_SCORE_SQL} IS NOT NULL ORDER BY rating DESC, i.id",
    },
    "images_of_experiment": {
        "title": "Images of an experiment",
        "description": "Every image of one experiment, with thumbnails.",
        "sql": f"{_IMAGE_ROWS} AND e.name = :experiment ORDER BY i.id",
    },
    "search_prompts": {
        "title": "Search prompts",
        "description": "Images whose prompt or negative prompt has every word typed, punctuation ignored, as "
                       "`qwenlab search` matches, whatever the text holds (quotes, OR, NOT: words like the others); "
                       "\"Search prompts, FTS5 syntax\" takes operators. Datasette shows the first 1,000 and says "
                       "when there are more.",
        "sql": (f"{_IMAGE_ROWS} AND t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH "
                f"{_FTS_QUERY}) ORDER BY i.id"),
    },
    "search_prompts_fts5": {
        "title": "Search prompts, FTS5 syntax",
        "description": "Images whose prompt or negative prompt matches an SQLite FTS5 query, as `qwenlab search "
                       "--raw`: \"a phrase\", glow*, LUMIERE OR NOCTIS, NOT, NEAR(a b, 5), prompt: word. A query that "
                       "is not FTS5 syntax gives one row whose prompt says why. Datasette shows the first 1,000.",
        "sql": _FTS5_ROWS,
    },
}


def metadata(data_dir: str | Path) -> dict[str, Any]:
    """Datasette's metadata for the log of `data_dir`: title, canned queries, facets, labels."""
    hidden = {t: {"hidden": True} for t in ("tasks_fts", "tasks_fts_config", "tasks_fts_data", "tasks_fts_docsize",
                                               "tasks_fts_idx", "log_meta")}  # log_meta: the salt of key names
    return {
        "title": "qwenlab log",
        "description": "Every experiment, request, image and cost qwenlab logged. Images from qwenlab's offline "
                       "emulator (backend 'emulator') are SYNTHETIC and their costs emulated.",
        "databases": {DATABASE: {
            "queries": QUERIES,
            "tables": {
                **hidden,
                "experiments": {"label_column": "name", "facets": ["status", "backend"], "sort_desc": "id"},
                "tasks": {"facets": ["status", "backend", "model", "prompt_extend", "cost_source"], "sort_desc": "id",
                          "columns": _COST_COLUMNS},
                "images": {"facets": ["format", "experiment_id"], "sort_desc": "id", "columns": _COST_COLUMNS},
                "ratings": {"facets": ["score"]},
                "experiment_tags": {"facets": ["tag"]},
            },
        }},
        "plugins": {"qwenlab": {"data_dir": str(Path(data_dir).resolve())}},
    }


def write_metadata(data_dir: str | Path) -> Path:
    """Write `metadata(data_dir)` to `<data_dir>/datasette/metadata.json`; returns its path."""
    path = Path(data_dir) / "datasette" / "metadata.json"
    write_atomic(path, json.dumps(metadata(data_dir), indent=2).encode("utf-8"))
    return path


class ThumbnailsPlugin:
    """A Datasette plugin (register it with `datasette.plugins.pm.register`) that gives every
    connection `qwenlab_thumbnail(path)`: JPEG bytes of the image's thumbnail, NULL for an image
    that is gone. Relative paths are read under `data_dir`, as the log stores them."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.__name__ = __name__  # Datasette lists plugins by module name (`/-/plugins`)
        from datasette import hookimpl  # the `datasette` extra; imported only when Datasette is used

        def prepare_connection(conn: Any) -> None:
            conn.create_function("qwenlab_thumbnail", 1, self.thumbnail)
            conn.create_function("qwenlab_fts5_problem", 1, fts5_problem, deterministic=True)

        self.prepare_connection = hookimpl(prepare_connection)

    def thumbnail(self, path: str | None) -> bytes | None:
        if not path:
            return None
        file = Path(path) if Path(path).is_absolute() else self.data_dir / path
        made = thumbnail_of(file, THUMBNAIL_SIZE, "jpeg")
        return bytes(made) if made else None


@functools.lru_cache(maxsize=256)  # a query's text is asked about once a row: parsed once
def fts5_problem(text: str | None) -> str | None:
    """What is wrong with `text` as an FTS5 query over the prompt index, in words (None: sound, or
    blank). SQLite only raises "fts5: syntax error near ..." in the middle of a canned query: the
    text is tried on an empty table of the same columns first."""
    if text is None or not text.strip():
        return None
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute(f"CREATE VIRTUAL TABLE q USING fts5({', '.join(_FTS_COLUMNS)})")
        try:
            db.execute("SELECT 1 FROM q WHERE q MATCH ?", [text]).fetchall()
        except sqlite3.Error as exc:
            return (f"not FTS5 syntax ({exc}): close each \"phrase\" with its quote, put a word on each side of OR, "
                    f"AND and NOT, filter on {' or '.join(_FTS_COLUMNS)} only; or use \"Search prompts\", which "
                    "takes plain words")
    return None
