"""Finding images across every experiment: prompt text, experiment, tag, rating.

    search(log, data_dir, "LUMIERE")                          # images whose prompt says LUMIERE
    search(log, data_dir, "glow refined", tag="posters", min_rating=4)
    search(log, data_dir, tag="posters")                      # no text: every image of the tagged ones

The text goes through the prompt index of migration m003 (SQLite FTS5 over the prompt and the
negative prompt). Each word is matched as a word, in any order, all of them required
(`"glow" "refined"`), so punctuation in a pasted prompt is harmless; raw=True passes FTS5 syntax
through (`LUMIERE OR AURELIS`, `glow*`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..caller import warn
from ..core.values import format_value
from ..errors import ExperimentNotFoundError
from .log import Log
from .ratings import check_min_rating

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["search", "fts_query", "LATEST_SCORE_SQL", "SEARCH_COLUMNS"]

# an image's rating: the latest rating that gave a score (a later rating supersedes an earlier one)
LATEST_SCORE_SQL = ("(SELECT r.score FROM ratings r WHERE r.image_id = i.id AND r.score IS NOT NULL "
                    "ORDER BY r.id DESC LIMIT 1)")
SEARCH_COLUMNS = ["experiment", "image_id", "values", "repeat", "seed", "rating", "prompt", "negative_prompt", "path",
                  "cost_usd", "backend", "tags", "model", "width", "height", "task_uuid"]


def fts_query(text: str) -> str:
    """`text` as an FTS5 query in which every word must appear: each word quoted, so that
    punctuation, quotes and FTS5 operators in a prompt are plain text."""
    words = text.split()
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def search(log: Log, data_dir: str | Path, text: str | None = None, *, experiment: str | Iterable[str] | None = None,
           tag: str | None = None, min_rating: float | None = None, archived: bool = True, raw: bool = False,
           limit: int | None = 500) -> "pd.DataFrame":
    """Images whose prompt matches `text` (every word; None or "" matches all), best match first,
    as a DataFrame: experiment, image_id, values (the cell's axis values), repeat, seed, rating
    (latest score), prompt, negative_prompt, path (absolute), cost_usd, backend, tags, ...

    experiment: a name or several; tag: only experiments with this tag; min_rating: only images
    whose latest rating is at least this; archived=False leaves archived experiments out.
    limit: at most this many rows (None: all). When more images match, a warning says how many,
    and `df.attrs["matched"]` holds the count (always: the rows' count when none were cut)."""
    import pandas as pd

    min_rating = check_min_rating(min_rating)
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit: give a positive number of rows, not {limit!r} (in Python, limit=None gives them all)")
    where = ["e.deleted_at IS NULL"]
    params: list[Any] = []
    order = "i.id"
    source = "images i JOIN tasks t ON t.id = i.task_id JOIN experiments e ON e.id = i.experiment_id"
    if text and text.strip():
        query = text if raw else fts_query(text)
        source += " JOIN (SELECT rowid, rank FROM tasks_fts WHERE tasks_fts MATCH ?) f ON f.rowid = t.id"
        params.append(query)
        order = "f.rank, i.id"
    if experiment is not None:
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        logged = {r["name"] for r in log.rows("SELECT name FROM experiments")}  # deleted ones too: none of their images is left
        missing = [n for n in names if n not in logged]
        if missing:  # a typo is not "no images found"
            known = log.experiment_names()
            raise ExperimentNotFoundError(f"no experiment named {', '.join(map(repr, missing))} in {log.path}; "
                                          f"known: {', '.join(sorted(known)) or 'none yet'}")
        where.append(f"e.name IN ({','.join('?' for _ in names)})")
        params += names
    if tag is not None:
        where.append("e.id IN (SELECT experiment_id FROM experiment_tags WHERE tag = ?)")
        params.append(tag)
    if min_rating is not None:
        where.append(f"{LATEST_SCORE_SQL} >= ?")
        params.append(min_rating)
    if not archived:
        where.append("e.archived_at IS NULL")
    sql = (f"SELECT e.name AS experiment, i.id AS image_id, t.cell_json, t.repeat, i.seed, {LATEST_SCORE_SQL} AS rating, "
           "t.prompt, t.negative_prompt, i.path, coalesce(i.cost_usd, t.cost_usd) AS cost_usd, t.backend, "
           # in the order they were added, as exp.tags and `qwenlab logs` list them
           "(SELECT group_concat(g.tag, ',') FROM (SELECT tag FROM experiment_tags WHERE experiment_id = e.id "
           "ORDER BY id) g) AS tags, "
           f"t.model, i.width, i.height, t.task_uuid FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}"
           + (f" LIMIT {int(limit)}" if limit is not None else ""))
    try:
        rows = log.rows(sql, params)
    except sqlite3.OperationalError as exc:  # only a raw query can be bad FTS5 syntax: every other one is quoted
        if raw:
            raise ValueError(f"text: {text!r} is not a valid FTS5 query ({exc}); drop raw=True (--raw) to match plain words") from None
        raise
    matched = len(rows)
    if limit is not None and matched == limit:  # perhaps cut: a typo of -n must not pass for "all there is"
        matched = log.rows(f"SELECT count(*) AS n FROM {source} WHERE {' AND '.join(where)}", params)[0]["n"]
        if matched > limit:
            warn(f"search: the first {limit} of {matched} images that match are shown; "
                 "limit=None shows them all")
    folder = Path(data_dir)
    for row in rows:
        cell = json.loads(row.pop("cell_json") or "{}")
        cell.pop("repeat", None)
        row["values"] = ", ".join(f"{k}={format_value(v)}" for k, v in cell.items())
        if row["path"] and not Path(row["path"]).is_absolute():
            row["path"] = str(folder / row["path"])
        row["tags"] = row["tags"] or ""
    df = pd.DataFrame(rows, columns=SEARCH_COLUMNS)
    df.attrs["matched"] = matched
    return df
