"""Readings and text scores in the log (tables `text_readings` and `text_scores`, migration
m006), written incrementally: an image already read by an engine is not read by it again, and a
score is recomputed from the stored reading (no OCR) only when the expected text or the scoring
rules changed.

    run = score_images(log, [ImageToScore(image_id, experiment_id, path, ["LUNE NOIRE"])])
    run.read, run.reused, run.failed
    stored_reading(log, image_id, "rapidocr")    # a Reading, boxes and confidences included
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from ..core.scripts import script_name
from ..core.shown import shown_as_text
from ..core.values import count_of
from ..errors import ImageError
from ..progress import Progress
from ..store.rows import to_json, utc_now
from ..store.thumbnails import gone, read_checked
from .engines import OCREngine, apt_package, get_engine, needed_scripts, packs_for
from .reading import Reading
from .scoring import SCORING_VERSION, StringScore, TextScore, score_text

if TYPE_CHECKING:
    from ..store.log import Log

__all__ = ["ImageToScore", "ScoringRun", "score_images", "stored_reading", "stored_score", "score_rows", "scored_engines",
           "renew_stale_scores"]

_CHUNK = 500  # image ids per IN (...) query, well under SQLite's variable limit


class ImageToScore(NamedTuple):
    """One image to score: its log ids, its file, and the strings it should show."""

    image_id: int
    experiment_id: int | None
    path: str | None
    expected: list[str]


@shown_as_text
@dataclass
class ScoringRun:
    """What one `score_images` call did."""

    engine: str
    images: int = 0      # images asked about
    read: int = 0        # read by the OCR engine now
    reused: int = 0      # readings found in the log (not read again)
    scored: int = 0      # scores written (new, or recomputed from a stored reading)
    failed: int = 0      # images that could not be read (missing file, engine error): tried again next time
    files_unread: int = 0  # of those, the ones whose file is gone or damaged: a run fetches them again, not a retry
    skipped: int = 0     # images with no expected text (not read)
    unreadable: int = 0  # images whose expected text needs a script the engine does not read (not read)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    unread_scripts: set[str] = field(default_factory=set)  # the scripts of those the engine lacks
    engine_lang: str | None = None  # Tesseract's lang, for the advice

    def __str__(self) -> str:
        parts = [count_of(self.images, "image"), f"{self.read} read", f"{self.reused} already read"]
        if self.skipped:
            parts.append(f"{self.skipped} with no expected text")
        if self.unreadable:
            parts.append(f"{self.unreadable} not scored (in a script it does not read)")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return f"{self.engine}: " + ", ".join(parts) + f" ({self.seconds:.1f}s)"

    def unreadable_note(self) -> str | None:
        """Which images this engine left unscored for their script, and how to score them; None for none."""
        if not self.unreadable:
            return None
        one = self.unreadable == 1
        scripts = " and ".join(script_name(s) for s in sorted(self.unread_scripts))
        lang = packs_for(self.unread_scripts, self.engine_lang or "eng")
        have = set((self.engine_lang or "eng").split("+"))  # packs in use are installed: only the others to install
        packages = " ".join(apt_package(p) for p in lang.split("+") if p not in have and p != "eng")
        return (f"{count_of(self.unreadable, 'image')} {'asks' if one else 'ask'} for text in {scripts}, which "
                f"{self.engine} does not read: {'it has' if one else 'they have'} no score (a score of 0 would blame the "
                f"model for the OCR). To score {'it' if one else 'them'}, install Tesseract's packs (apt-get install "
                f"{packages}) and score with engine=TesseractEngine(lang={lang!r}) (qwenlab score NAME --engine tesseract "
                f"--lang {lang})")

    def failure_note(self) -> str | None:
        """What a reader of the scores must know of the images that could not be read; None for none."""
        if not self.failed:
            return None
        one = self.failed == 1
        if self.files_unread == self.failed:  # scoring again reads the same missing or damaged bytes
            fix = (f"run the experiment again to fetch {'it' if one else 'them'} anew (free, while the server keeps "
                   f"{'it' if one else 'them'}; a damaged file set aside first: qwenlab verify --set-aside), then score again")
        else:
            fix = "run again to retry"
        return (f"{self.failed} {'image' if one else 'images'} could not be read, so {'it has' if one else 'they have'} "
                f"no score; {fix}. First: {self.errors[0]}")


def score_images(log: "Log", items: Sequence[ImageToScore], engine: "str | OCREngine" = "auto", *,
                 force: bool = False, read_all: bool = False, progress: bool = True,
                 desc: str = "reading text") -> ScoringRun:
    """Read (if not read yet) and score each image, storing readings and scores in the log.

    force: read again even images this engine has read. read_all: also read images with no
    expected text (their reading is stored; they get no score). progress: show a bar
    (`qwenlab.progress.Progress`), its time left estimated from the images after each reader's first.
    """
    started = time.perf_counter()
    eng = get_engine(engine)
    run = ScoringRun(eng.name, images=len(items), engine_lang=getattr(eng, "lang", None))
    reads = getattr(eng, "scripts", None)  # None: an engine that does not say reads every script
    ids = [it.image_id for it in items]
    readings = _select(log, "SELECT image_id, lines_json, error, engine_version FROM text_readings WHERE engine = ? "
                            "AND image_id IN ({})", eng.name, ids)
    settings = getattr(eng, "settings", None)  # Tesseract's lang, psm...: a reading made with others is read again
    scores = _select(log, "SELECT image_id, expected_json, scoring_version FROM text_scores WHERE engine = ? "
                          "AND image_id IN ({})", eng.name, ids)
    to_read, to_score, drop_scores = [], [], []
    for it in items:
        have = readings.get(it.image_id)
        if not it.expected and not read_all:
            run.skipped += 1
            if it.image_id in scores:  # nothing is expected any more: drop the old score
                drop_scores.append(it.image_id)
            continue
        lacking = _lacking(it.expected, reads)
        if lacking:
            run.unreadable += 1
            run.unread_scripts |= lacking
            if it.image_id in scores:  # scored before engines said what they read: that 0 was the OCR's
                drop_scores.append(it.image_id)
            continue
        if force or have is None or have["error"] is not None or _other_settings(have, settings):
            to_read.append(it)
        else:
            run.reused += 1
            old = scores.get(it.image_id)
            if old is None or old["expected_json"] != _expected_json(it.expected) or old["scoring_version"] != SCORING_VERSION:
                to_score.append((it, Reading(eng.name, Reading.lines_from_json(have["lines_json"]))))
    if to_score or drop_scores:  # no OCR needed: one transaction for all
        with log.transaction() as db:
            for image_id in drop_scores:
                db.execute("DELETE FROM text_scores WHERE image_id = ? AND engine = ?", [image_id, eng.name])
            for it, reading in to_score:
                run.scored += _save_score(db, it, eng.name, reading)
    # an engine that reads several images at once (RapidOCR's `workers`) gets as many threads; the
    # readings are stored here, in this thread, image by image as they come (resumable)
    workers = min(max(1, int(getattr(eng, "workers", 1) or 1)), max(1, len(to_read)))
    # each reader's first image warms its engine up (onnxruntime: three times the next ones), so
    # the time left is estimated from the images after those: from the first it was 3x too long
    bar = Progress(len(to_read), desc=desc, unit="image", enabled=progress, warmup=workers)
    pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qwenlab-ocr")
    try:
        futures = {pool.submit(_read, eng, it): it for it in to_read}
        for fut in cf.as_completed(futures):
            it = futures[fut]
            reading, error, file_unread = fut.result()
            if error is not None:
                run.failed += 1
                run.files_unread += file_unread
                run.errors.append(f"image {it.image_id}: {error}")
            with log.transaction() as db:  # reading and score land together, image by image (resumable)
                _save_reading(db, it, eng, reading, error)
                if reading is None:  # read again and failed (force=True): a score of the old reading must not stand
                    db.execute("DELETE FROM text_scores WHERE image_id = ? AND engine = ?", [it.image_id, eng.name])
                else:
                    run.read += 1
                    if it.expected:
                        run.scored += _save_score(db, it, eng.name, reading)
            bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        if to_read and hasattr(eng, "trim"):  # an engine may keep memory between reads: give it back
            eng.trim()
    run.seconds = time.perf_counter() - started
    return run


def _other_settings(reading: dict[str, Any], settings: str | None) -> bool:
    """Whether a stored reading was made with settings other than the engine's (its version names
    them: "tesseract 5.3.4 (lang eng+jpn, psm 11, min_confidence 30)"); never for an engine
    without settings."""
    return settings is not None and not (reading.get("engine_version") or "").endswith(f"({settings})")


def _lacking(expected: Sequence[str], reads: "frozenset[str] | None") -> set[str]:
    """The scripts `expected` needs that an engine reading `reads` does not (none when it reads all)."""
    if reads is None:
        return set()
    return set(needed_scripts(" ".join(expected))) - reads


def _read(eng: "OCREngine", it: ImageToScore) -> tuple[Reading | None, str | None, bool]:
    """The reading of one image, or why there is none and whether it is its file's fault (gone
    or damaged: a run fetches it again). The file is checked against the SHA-256 it is stored
    under first: a file damaged or replaced in place would be scored as if it were the image
    that was paid for (grids, the report and exports refuse it likewise)."""
    if not it.path:
        return None, "ImageError: the log has no file for this image", True
    try:
        read_checked(Path(it.path))  # ImageError for bytes that are not the ones logged
    except FileNotFoundError:  # said as every view says it, not as "[Errno 2] No such file or directory"
        return None, f"ImageError: {gone(it.path)}", True
    except ImageError as exc:
        return None, f"ImageError: {exc}", True
    except OSError as exc:  # unreadable (permissions, a folder in its place): no run fetches that again
        return None, f"{type(exc).__name__}: {exc}", False
    try:
        return eng.read(it.path), None, False
    except Exception as exc:  # noqa: BLE001 - one unreadable image must not stop the others
        return None, f"{type(exc).__name__}: {exc}", False


def _latest(log: "Log", table: str, image_id: int, engine: str | None, where: str = "") -> dict[str, Any] | None:
    """The row of `table` for an image by `engine` (RapidOCR's first when any engine will do)."""
    sql = f"SELECT * FROM {table} WHERE image_id = ?{where}"
    params: list[Any] = [image_id]
    if engine is not None:
        sql += " AND engine = ?"
        params.append(engine)
    rows = log.rows(sql + " ORDER BY engine = 'rapidocr' DESC, id LIMIT 1", params)
    return rows[0] if rows else None


def stored_reading(log: "Log", image_id: int, engine: str | None = None) -> Reading | None:
    """What `engine` read in an image (any engine's reading when None), or None."""
    r = _latest(log, "text_readings", image_id, engine, " AND error IS NULL")
    if r is None:
        return None
    return Reading(r["engine"], Reading.lines_from_json(r["lines_json"]), r["engine_version"] or "", r["seconds"] or 0.0,
                   r["width"], r["height"])


def stored_score(log: "Log", image_id: int, engine: str | None = None) -> TextScore | None:
    """The stored score of an image by `engine` (any engine's when None), or None."""
    r = _latest(log, "text_scores", image_id, engine)
    if r is None:
        return None
    return TextScore(tuple(StringScore.from_dict(d) for d in json.loads(r["strings_json"] or "[]")))


def scored_engines(log: "Log", experiment_id: int) -> list[str]:
    """The engines that have scored images of the experiment (or comparison), the most used first."""
    return _engines_of(log, log.scope(experiment_id))


def _engines_of(log: "Log", ids: list[int]) -> list[str]:
    marks = ", ".join("?" for _ in ids) or "NULL"
    return [r["engine"] for r in log.rows(
        f"SELECT engine, count(*) AS n FROM text_scores WHERE experiment_id IN ({marks}) GROUP BY engine "
        "ORDER BY n DESC, engine = 'rapidocr' DESC", ids)]


def renew_stale_scores(log: "Log", experiment_id: int) -> int:
    """Score again, from their stored readings (no OCR), the experiment's text scores that an
    older definition computed (`scoring_version` not SCORING_VERSION: a log an older qwenlab
    scored); return how many. `score_images` does this for the images it is given, but the
    views read the stored scores as they are: after an upgrade, an old score ("$2999" read for
    "$29.99" counted right) was shown and exported as if this version had made it. The strings
    each was scored against are kept (`expected_json`); a score without a stored reading stays."""
    ids = log.scope(experiment_id)  # a comparison's id stands for its experiments
    marks = ", ".join("?" for _ in ids) or "NULL"
    stale = log.rows(
        "SELECT s.image_id, s.experiment_id, s.engine, s.expected_json, r.lines_json FROM text_scores s "
        "JOIN text_readings r ON r.image_id = s.image_id AND r.engine = s.engine AND r.error IS NULL "
        f"WHERE s.experiment_id IN ({marks}) AND s.scoring_version IS NOT ?", [*ids, SCORING_VERSION])
    if stale:
        with log.transaction() as db:
            for r in stale:
                it = ImageToScore(int(r["image_id"]), r["experiment_id"], None, json.loads(r["expected_json"] or "[]"))
                _save_score(db, it, r["engine"], Reading(r["engine"], Reading.lines_from_json(r["lines_json"])))
    return len(stale)


def score_rows(log: "Log", experiment_id: int, engine: str | None = None) -> list[dict[str, Any]]:
    """Stored scores of an experiment's images joined with their readings' text (one engine's;
    the most used one when None); those an older definition computed are scored again first
    (`renew_stale_scores`)."""
    renew_stale_scores(log, experiment_id)
    ids = log.scope(experiment_id)  # a comparison's id stands for its experiments
    marks = ", ".join("?" for _ in ids) or "NULL"
    names = _engines_of(log, ids)
    if not names:
        return []
    if engine is None:
        engine = names[0]
    else:  # an engine's name as `get_engine` takes it ("RapidOCR"): the log keeps "rapidocr"
        engine = next((n for n in names if n.lower() == str(engine).strip().lower()), engine)
    return log.rows(
        "SELECT s.*, r.text AS read_text, r.mean_confidence, r.engine_version FROM text_scores s "
        "LEFT JOIN text_readings r ON r.image_id = s.image_id AND r.engine = s.engine "
        f"WHERE s.experiment_id IN ({marks}) AND s.engine = ? ORDER BY s.image_id", [*ids, engine])


# -- writing --------------------------------------------------------------------------------------
def _expected_json(expected: Iterable[str]) -> str:
    return json.dumps(list(expected), ensure_ascii=False, separators=(",", ":"))


def _upsert(db: Any, table: str, row: dict[str, Any]) -> None:
    cols = list(row)
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c not in ("image_id", "engine"))
    db.execute(f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) VALUES ({', '.join('?' for _ in cols)}) "
               f"ON CONFLICT(image_id, engine) DO UPDATE SET {updates}", [row[c] for c in cols])


def _save_reading(db: Any, it: ImageToScore, eng: OCREngine, reading: Reading | None, error: str | None) -> None:
    lines = reading.lines if reading else ()
    _upsert(db, "text_readings", {
        "image_id": it.image_id, "experiment_id": it.experiment_id, "engine": eng.name,
        "engine_version": reading.version if reading else eng.version, "text": reading.text if reading else None,
        "lines_json": reading.lines_json() if reading else None, "n_lines": len(lines),
        "mean_confidence": (sum(line.confidence for line in lines) / len(lines)) if lines else None,
        "seconds": reading.seconds if reading else None, "width": reading.width if reading else None,
        "height": reading.height if reading else None, "error": error, "read_at": utc_now()})


def _save_score(db: Any, it: ImageToScore, engine: str, reading: Reading) -> int:
    score = score_text(it.expected, reading)
    if not score.strings:  # nothing (left) to expect: no score, not a stale one
        db.execute("DELETE FROM text_scores WHERE image_id = ? AND engine = ?", [it.image_id, engine])
        return 0
    _upsert(db, "text_scores", {
        "image_id": it.image_id, "experiment_id": it.experiment_id, "engine": engine,
        "expected_json": _expected_json(it.expected), "word_accuracy": score.word_accuracy, "ned": score.ned,
        "sentence_accuracy": score.sentence_accuracy, "words": score.words, "words_read": score.words_read,
        "strings": len(score.strings), "strings_exact": sum(s.exact for s in score.strings),
        "correct": int(bool(score.correct)), "missing_json": to_json(score.missing),
        "read_instead_json": to_json(score.read_instead), "strings_json": to_json([s.to_dict() for s in score.strings]),
        "scoring_version": SCORING_VERSION, "scored_at": utc_now()})
    return 1


def _select(log: "Log", sql: str, engine: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        for row in log.rows(sql.format(", ".join("?" for _ in chunk)), [engine, *chunk]):
            out[int(row["image_id"])] = row
    return out
