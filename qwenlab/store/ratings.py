"""Ratings and judgements: what people said of the log's images, written and read.

A rating is one image's score from 1 to 5 and a note, one row per change (`rate`; an image's
latest row is its rating, its score the latest one given: `latest_rating`). A judgement is a blind
pairwise choice between two images along an axis, on one criterion (`judge`, `judgements`).
`Ratings` holds the log's methods for both, which `Log` (qwenlab/store/log.py) inherits: they read
and write through its file (`LogFile`'s rows and transactions).
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from ..secrets import refuse_secret
from .rows import utc_now

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["Ratings", "DEFAULT_CRITERION", "JUDGEMENT_COLUMNS", "latest_rating", "check_min_rating"]

# What a judgement judged when nobody said: also what judgements made before criteria existed read as.
DEFAULT_CRITERION = "overall"
# a judgement row as every query reads it (the table as `j`): no NULL criterion
JUDGEMENT_COLUMNS = (f"j.id, j.experiment_id, j.axis, j.image_a, j.image_b, j.winner, "
                     f"coalesce(j.criterion, '{DEFAULT_CRITERION}') AS criterion, j.created_at")


def latest_rating(ratings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest of one image's ratings (oldest first), its score the latest one given: a later
    rating with a note and no score keeps the score before it. None for no rating."""
    out: dict[str, Any] | None = None
    for r in ratings:
        if r.get("score") is None and out is not None and out.get("score") is not None:
            r = {**r, "score": out["score"]}
        out = r
    return out


def check_min_rating(min_rating: Any, parameter: str = "min_rating") -> float | None:
    """`min_rating` as a float (a numpy number too), or None; ValueError naming `parameter` unless
    it is a number from 1 to 5, the scores a rating holds (`--min-rating` takes the same)."""
    if min_rating is None:
        return None
    if isinstance(min_rating, bool) or not isinstance(min_rating, numbers.Real) or not 1 <= min_rating <= 5:
        raise ValueError(f"{parameter}: give a number from 1 to 5 (ratings are 1 to 5), not {min_rating!r}")
    return float(min_rating)


class Ratings:
    """The ratings and judgements of `Log`, which it inherits; they read and write through its file."""

    path: Path | None
    rows: Callable[..., list[dict[str, Any]]]
    transaction: Callable[[], ContextManager["sqlite_utils.Database"]]

    def rate(self, image_id: int, score: int | None = None, note: str | None = None, judge: str | None = None) -> int:
        """Record a rating of one image; returns the rating's id. score: a whole number from 1
        to 5, or None for a note alone. The id may be a numpy integer (`exp.images["image_id"][0]`)."""
        if isinstance(image_id, bool) or not isinstance(image_id, numbers.Integral):
            raise ValueError(f"image_id: give an image's id, a whole number from exp.images['image_id'], not {image_id!r}")
        if score is not None and (isinstance(score, bool) or not isinstance(score, numbers.Integral) or not 1 <= score <= 5):
            raise ValueError(f"score: a rating is a whole number from 1 to 5 (or None for a note alone), got {score!r}")
        refuse_secret("note", note)
        refuse_secret("judge", judge)
        image_id, score = int(image_id), None if score is None else int(score)  # numpy's integers are no SQLite integers
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM images WHERE id = ?", [image_id]).fetchone() is None:
                raise ValueError(f"image_id: no image with id {image_id} in {self.path}; take ids from exp.images['image_id']")
            return int(db["ratings"].insert({"image_id": image_id, "score": score, "note": note, "judge": judge,
                                             "created_at": utc_now()}).last_pk)

    def judge(self, experiment_id: int, axis: str, image_a: int, image_b: int, winner: str,
              criterion: str = DEFAULT_CRITERION) -> int:
        """Record a pairwise judgement ('a', 'b' or 'tie') between two images along an axis, on
        one criterion ("overall", "text correct", ...); returns the judgement's id."""
        if winner not in ("a", "b", "tie"):
            raise ValueError(f"winner must be 'a', 'b' or 'tie', got {winner!r}")
        refuse_secret("criterion", criterion)  # kept in the log, its bundles and `qwenlab judgements`
        with self.transaction() as db:
            return int(db["judgements"].insert({"experiment_id": experiment_id, "axis": axis, "image_a": image_a,
                                                "image_b": image_b, "winner": winner, "criterion": criterion,
                                                "created_at": utc_now()}).last_pk)

    def delete_judgement(self, judgement_id: int) -> dict[str, Any] | None:
        """Remove one judgement (an undo); returns the row removed (as `judgements` reads it), or
        None when there is no such judgement."""
        with self.transaction() as db:
            found = [dict(r) for r in db.query(f"SELECT {JUDGEMENT_COLUMNS} FROM judgements j WHERE j.id = ?",
                                               [judgement_id])]
            if found:
                db.execute("DELETE FROM judgements WHERE id = ?", [judgement_id])
            return found[0] if found else None

    def ratings(self, experiment_id: int) -> list[dict[str, Any]]:
        """Every rating of the experiment's images, oldest first (a later rating of an image
        supersedes an earlier one)."""
        return self.rows("SELECT r.* FROM ratings r JOIN images i ON i.id = r.image_id WHERE i.experiment_id = ? "
                         "ORDER BY r.id", [experiment_id])

    def latest_ratings(self, experiment_id: int) -> dict[int, dict[str, Any]]:
        """image_id -> its latest rating, whose score is the latest one given: a later rating with
        a note and no score keeps the score (the rule of costs, search and exported images: each
        image's latest rating with a score counts)."""
        by_image: dict[int, list[dict[str, Any]]] = {}
        for r in self.ratings(experiment_id):
            by_image.setdefault(int(r["image_id"]), []).append(r)
        return {image_id: latest_rating(rows) for image_id, rows in by_image.items()}  # type: ignore[misc]

    def judgements(self, experiment_id: int, axis: str | None = None, criterion: str | None = None) -> list[dict[str, Any]]:
        """The experiment's blind judgements (of one axis and one criterion, or all), oldest first.
        A judgement recorded before criteria existed reads as criterion "overall"."""
        where, params = ["j.experiment_id = ?"], [experiment_id]
        if axis is not None:
            where.append("j.axis = ?")
            params.append(axis)
        if criterion is not None:
            where.append(f"coalesce(j.criterion, '{DEFAULT_CRITERION}') = ?")
            params.append(criterion)
        return self.rows(f"SELECT {JUDGEMENT_COLUMNS} FROM judgements j WHERE {' AND '.join(where)} ORDER BY j.id", params)
