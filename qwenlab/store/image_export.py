"""Images that carry their settings: an experiment's images copied out with readable names, the
settings written inside each file and beside it in a JSON sidecar.

    export_images(exp, "picked/", min_rating=4, where={"promptExtend": True})
    # picked/lumiere-extend_promptExtend-on_size-512x768_seed-1234567.jpg   (+ .json)

Each file holds (see `qwenlab.store.embedded_metadata`) the prompt, a parameters text in
AUTOMATIC1111's layout, and the record: the exact request as sent (the log never holds the key),
the seed the API reported, the cost, where it ran (the emulator's results say SYNTHETIC and
their cost emulated), the text scores and the ratings. The image data is the original file's,
byte for byte; only metadata is added around it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..caller import warn
from ..core.shown import shown_as_text
from ..core.values import count_of, cut_utf8, format_usd, format_value, without_latin_accents
from ..errors import ImageError
from ..paths import reserved_on_windows, write_atomic
from ..secrets import redact, redact_json
from ..version import __version__
from .catalog import REPEAT, Catalog, Entry
from .embedded_metadata import embed
from .provenance import EMULATOR
from .ratings import check_min_rating, latest_rating
from .thumbnails import read_checked

if TYPE_CHECKING:
    from .experiment import ExperimentRecord

__all__ = ["export_images", "ExportedImage", "ExportedImages", "image_record", "parameters_text", "file_stem"]

_UNSAFE = re.compile(r"[^\w.-]+")  # letters and digits of any script are kept
_NAME_ROOM = 60  # bytes of a file name the experiment's name may take
_SHOWN = 5  # file names a notebook shows of what was written
_LONG_TEXT = 8000  # a string longer than this (a reference image as a data URI) is summarised in the file
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")  # the store's files, as an export names them
_RECORD_KEYS = ("qwenlab", "experiment", "image_id")  # keys of `image_record` a sidecar is known by


@dataclass(frozen=True)
class ExportedImage:
    """One image written by `export_images`: the file, its JSON sidecar (None where
    `sidecar=False` wrote none), and its log id."""

    path: Path
    sidecar: Path | None
    image_id: int
    original: Path


@shown_as_text
class ExportedImages(list):  # type: ignore[type-arg]
    """What `export_images` wrote (a list of `ExportedImage`) into `folder`, and in `skipped` each
    image it could not: (image id, its file in the store, why: "missing", "damaged" or
    "unreadable"). `removed` lists the .json sidecars an earlier export wrote beside the files
    this one rewrote without sidecars (they described those files as they were then). A notebook
    shows it as its text: how many, where, the first few names."""

    def __init__(self, folder: str | Path | None = None, *, sidecars: bool = True) -> None:
        super().__init__()
        self.folder = Path(folder) if folder is not None else None
        self.sidecars = sidecars
        self.skipped: list[tuple[int, Path, str]] = []
        self.removed: list[Path] = []

    def __str__(self) -> str:
        # a cell ending in `exp.export_images(...)` showed every item's dataclass repr, four paths
        # each (330 characters an image, saved in the notebook), and not the images left out
        where = f" to {str(self.folder)!r}" if self.folder is not None else ""
        lines = [f"{count_of(len(self), 'image')} written{where}"
                 + (", each with its .json sidecar" if self and self.sidecars else "")
                 + (":" if self else "")]
        lines += [f"  {item.path.name}" for item in self[:_SHOWN]]
        if len(self) > _SHOWN:
            lines.append(f"  ... and {len(self) - _SHOWN} more (each item's .path, .sidecar, .image_id)")
        if self.removed:
            lines.append(self.removed_note())
        note = self.skipped_note()
        return "\n".join(lines + ([note] if note else []))

    def removed_note(self) -> str:
        """What became of the sidecars an earlier export left beside the files written."""
        n = len(self.removed)
        return (f"{count_of(n, 'stale .json sidecar')} of an earlier export removed: "
                f"{'it' if n == 1 else 'they'} described the {'file' if n == 1 else 'files'} rewritten here as they were then")

    def skipped_note(self) -> str | None:
        """What a reader must know of the images left out, and how to get them back; None for none."""
        if not self.skipped:
            return None
        counts = {why: sum(1 for *_, w in self.skipped if w == why) for why in ("missing", "damaged", "unreadable")}
        shown = {"missing": "missing", "damaged": "damaged (not the bytes logged)", "unreadable": "unreadable"}
        parts = [f"{n} {shown[why]}" for why, n in counts.items() if n]
        files = ", ".join(str(f) for _, f, _ in self.skipped[:3]) + (", ..." if len(self.skipped) > 3 else "")
        return (f"{len(self.skipped)} image {'file was' if len(self.skipped) == 1 else 'files were'} not written, "
                f"{' and '.join(parts)} in the store ({files}). Run the experiment again: it fetches a paid image "
                "whose file is gone with getResponse (free) while the server keeps it (an imported experiment's "
                "come with its bundle: import it again); set damaged files aside first (`qwenlab verify --set-aside`) so that they are fetched too, "
                "and give qwenlab the right to read an unreadable one.")


def export_images(experiment: "ExperimentRecord", folder: str | Path, *, min_rating: float | None = None,
                  where: Mapping[str, Any] | None = None, sidecar: bool = True) -> ExportedImages:
    """Write the experiment's images into `folder` (created), each with its settings inside the
    file and in a `.json` sidecar beside it; returns what was written.

    min_rating: only images whose latest rating is at least this. where: only cells whose axes
    match ({axis: value or label, or a list}; UnknownAxisError for an axis it does not have).
    An image whose file is missing from the store, or is not the bytes logged (its name is their
    SHA-256), is not written: the rest are, and the result's `skipped` (and a warning) name it.
    Where `min_rating` keeps no image, a warning says so and how to rate them, and no folder is made.
    sidecar=False writes no `.json`, and removes the sidecar an earlier export wrote beside a file
    it rewrites (named in the result's `removed`); any other file in `folder` is left as it is."""
    min_rating = check_min_rating(min_rating)
    whole = Catalog.load(experiment)
    named = [a for a in whole.varying if a != REPEAT]  # names say every axis that varies, filtered or not
    catalog = whole.where(dict(where) if where else None)
    log = experiment.log
    ratings = _ratings(log, experiment.id)
    scores = _scores(log, experiment.id)
    out_dir = Path(folder)
    written = ExportedImages(out_dir, sidecars=sidecar)
    used: set[str] = set()
    images = rated = 0
    for entry in catalog.entries:
        if entry.image_id is None or not entry.path:
            continue
        latest = _latest_score(ratings.get(entry.image_id, []))
        images, rated = images + 1, rated + (latest is not None)
        if min_rating is not None and (latest is None or latest < min_rating):
            continue
        original = Path(entry.path)
        try:
            data = read_checked(original)
        except FileNotFoundError:
            written.skipped.append((entry.image_id, original, "missing"))
            continue
        except OSError:  # no permission, a folder where the file should be, a disk error
            written.skipped.append((entry.image_id, original, "unreadable"))
            continue
        except ImageError:  # not the bytes its name says
            written.skipped.append((entry.image_id, original, "damaged"))
            continue
        stem = _unique(file_stem(experiment.name, catalog, entry, named), used)
        # the experiment the image is from: a comparison's rows name their member (store/comparison.py)
        owner = str(entry.task.get("experiment") or experiment.name)
        # scrubbed whole, as the sidecar was: the image's own metadata (what viewers and upload
        # sites show) carried a key an older log kept in a prompt or a request
        record = redact_json(image_record(owner, catalog, entry, ratings.get(entry.image_id, []),
                                          scores.get(entry.image_id, [])))
        file = out_dir / f"{stem}{original.suffix.lower()}"
        out_dir.mkdir(parents=True, exist_ok=True)  # made with the first image: none to write, no empty folder
        write_atomic(file, embed(data, original.suffix.lstrip("."), parameters=parameters_text(record),
                                 record=_compact(record), description=record["prompt"] or ""))
        side = out_dir / f"{stem}.json" if sidecar else None  # none written: none named
        if side is not None:
            write_atomic(side, redact(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)).encode("utf-8"))
        elif _earlier_sidecar(out_dir / f"{stem}.json", file):
            # an export with sidecars into this folder before left one beside the file just
            # rewritten: it described the image as it was then (its rating, its scores) and read
            # as this file's, disagreeing with the metadata inside it
            (out_dir / f"{stem}.json").unlink()
            written.removed.append(out_dir / f"{stem}.json")
        written.append(ExportedImage(file, side, entry.image_id, original))
    note = written.skipped_note()
    if note:
        warn(note)
    elif images and not written and min_rating is not None:
        # an empty list alone read as a fault (or as nothing to keep); ratings are made in a notebook
        warn(f"no image of {experiment.name!r} has a latest rating of {min_rating:g} or more ({images} "
             f"{'image' if images == 1 else 'images'}, {rated} rated), so none was written to {str(out_dir)!r}: "
             "rate them in the explorer (exp.explore()), or lower or leave out min_rating")
    return written


def file_stem(name: str, catalog: Catalog, entry: Entry, axes: list[str]) -> str:
    """`experiment_axis-value_..._seed-N`: the experiment, the values of the axes that vary, and
    the seed, in characters every file system takes."""
    parts = [name, *(catalog.axes[a].tag(entry.value(a)).replace("=", "-") for a in axes)]
    parts.append(f"seed-{entry.shown_seed}" if entry.shown_seed is not None else f"image-{entry.image_id}")
    clean = [_UNSAFE.sub("-", without_latin_accents(p)).strip("-") or "x" for p in parts]
    if len(clean[0].encode("utf-8")) > _NAME_ROOM:
        # a long experiment name took all 180 bytes, and the settings and seed were cut off
        # ("xxx…_2.jpg"): it is shortened instead, a hash of it keeping two long names apart
        clean[0] = f"{cut_utf8(clean[0], _NAME_ROOM - 7)}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:6]}"
    # 180 bytes, with room for the suffix under every file system's 255 (a Chinese character is 3)
    stem = cut_utf8("_".join(clean), 180)
    # "con.v2_seed-1" is CON to Windows (the part before the first dot): a device, not a file
    return cut_utf8(f"x-{stem}", 180) if reserved_on_windows(stem) else stem


def image_record(name: str, catalog: Catalog, entry: Entry, ratings: list[dict[str, Any]],
                 scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything about one image that its file carries: JSON-ready, as the log holds it (pass it
    through `qwenlab.secrets.redact_json` before writing it anywhere, as `export_images` does)."""
    task = entry.task
    backend = task.get("backend")
    request = json.loads(task["request_json"]) if task.get("request_json") else None
    return {
        "qwenlab": __version__, "experiment": name, "image_id": entry.image_id, **_image_fields(catalog, entry),
        "task_uuid": task.get("task_uuid"), "model": task.get("model"), "prompt": entry.prompt,
        "negative_prompt": entry.negative_prompt,
        "values": {a: _plain(entry.value(a)) for a in catalog.axes if a != REPEAT},
        "labels": {a: catalog.axes[a].label(entry.value(a)) for a in catalog.axes if a != REPEAT},
        "repeat": entry.repeat, "seed": entry.seed, "seed_policy": entry.seed_policy, "width": entry.width,
        "height": entry.height, "request": request, "cost_usd": entry.cost_usd,
        "cost_source": "emulated" if backend == EMULATOR else task.get("cost_source"),
        "backend": backend or "unknown", "api_host": task.get("api_host"), "synthetic": backend == EMULATOR,
        "sent_at": task.get("sent_at"), "rating": _latest_score(ratings),
        "ratings": [{k: r.get(k) for k in ("score", "note", "judge", "created_at")} for r in ratings],
        "text_scores": scores,
    }


def parameters_text(record: Mapping[str, Any]) -> str:
    """The record as AUTOMATIC1111's "parameters" text: prompt, negative prompt, then settings."""
    lines = [record.get("prompt") or ""]
    if record.get("negative_prompt"):
        lines.append(f"Negative prompt: {record['negative_prompt']}")
    settings = {"Seed": record.get("seed"), "Size": f"{record.get('width')}x{record.get('height')}",
                "Model": record.get("model"), **{k: v for k, v in (record.get("labels") or {}).items()
                                                 if k not in ("size", "negativePrompt", "prompt")},
                "Cost": (f"{format_usd(record['cost_usd'])}" + (" (emulated)" if record.get("synthetic") else ""))
                if record.get("cost_usd") is not None else None,
                "Backend": ("emulator (SYNTHETIC image, drawn by qwenlab's offline emulator)" if record.get("synthetic")
                            else record.get("backend")),
                "Rating": record.get("rating"), "Experiment": record.get("experiment"), "Task": record.get("task_uuid"),
                "Generator": f"qwenlab {record.get('qwenlab')}"}
    lines.append(", ".join(f"{k}: {_setting(v)}" for k, v in settings.items() if v is not None))
    return "\n".join(lines)


def _setting(value: Any) -> str:
    # commas and newlines separate settings in this layout: keep a value on one line, quoted if needed
    text = " ".join(str(value).split())
    return json.dumps(text, ensure_ascii=False) if "," in text or ":" in text[:1] else text


def _plain(value: Any) -> Any:
    return None if format_value(value) == "none" and not isinstance(value, str) else value


def _compact(value: Any) -> Any:
    """The record for inside the file: a huge string (an inline reference image) summarised."""
    if isinstance(value, str) and len(value) > _LONG_TEXT:
        return f"<{len(value)} characters, in the JSON sidecar>"
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _earlier_sidecar(side: Path, file: Path) -> bool:
    """True when `side` is the sidecar an earlier export wrote for `file`: a JSON record of
    `image_record`'s shape, and no other image of the same name beside it it could be the
    sidecar of. A file of the user's that happens to bear the name is not one."""
    if not side.is_file():
        return False
    if any(side.with_suffix(suffix).exists() for suffix in _IMAGE_SUFFIXES if suffix != file.suffix):
        return False  # an image in another format of the same name: the sidecar may be that one's
    try:
        record = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and all(key in record for key in _RECORD_KEYS)


def _unique(stem: str, used: set[str]) -> str:
    candidate, n = stem, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}_{n}"
    used.add(candidate.lower())
    return candidate


def _image_fields(catalog: Catalog, entry: Entry) -> dict[str, Any]:
    """The image's own row's fields for the record: its imageUUID and the fields of the API's
    answer qwenlab does not model (`images.api_extra`, where the log has that column)."""
    row: Mapping[str, Any] = entry.image  # read with the catalog: one query for every image, not one each
    if not row and catalog.log and entry.image_id is not None:
        rows = catalog.log.rows("SELECT * FROM images WHERE id = ?", [entry.image_id])
        row = rows[0] if rows else {}
    extra = row.get("api_extra")
    return {"image_uuid": row.get("image_uuid"), "api_extra": json.loads(extra) if extra else None}


def _ratings(log: Any, experiment_id: int) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in log.ratings(experiment_id):
        out.setdefault(r["image_id"], []).append(r)
    return out


def _latest_score(ratings: list[dict[str, Any]]) -> float | None:
    """An image's score by the rule of costs and search (`qwenlab.store.ratings.latest_rating`)."""
    return (latest_rating(ratings) or {}).get("score")


def _scores(log: Any, experiment_id: int) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    ids = log.scope(experiment_id)  # a comparison's id stands for its experiments
    marks = ", ".join("?" for _ in ids) or "NULL"
    rows = log.rows("SELECT image_id, engine, word_accuracy, ned, sentence_accuracy, missing_json FROM text_scores "
                    f"WHERE experiment_id IN ({marks}) ORDER BY id", ids)
    for r in rows:
        r["missing"] = json.loads(r.pop("missing_json") or "[]")
        out.setdefault(r.pop("image_id"), []).append(r)
    return out
