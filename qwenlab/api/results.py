"""What a task gave back: its images (with seed, cost, file) and its errors.

`TaskResult` is one task (one Request); `GeneratedImage` is one image of it, or one failed image
slot when `error` is set. `raw` keeps the response item exactly as it came, unknown fields
included, minus the big base64 payloads, so a field Runware adds tomorrow is not lost; fields
of the answer's body besides `data` and `errors` ride along under `raw["_answer"]`.
`GeneratedImage.api_extra` is what of that qwenlab does not model (the log's `images.api_extra`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..core.shown import shown_as_text
from ..core.values import count_of, excerpt, format_usd
from ..errors import QwenlabError
from ..secrets import redact, redact_json

if TYPE_CHECKING:
    from PIL import Image

    from ..core.request import Request

__all__ = ["GeneratedImage", "TaskResult", "clean_raw", "read_costs", "COST_READINGS", "MODELLED_FIELDS", "ANSWER_KEY"]

# How the `cost` numbers of a task's items were read (TaskResult.cost_reading, tasks.cost_reading):
# "per_image": each item's own cost (it matches the model's price); "per_task": every item
# reported the whole task's cost (numberResults x price), counted once; "unchecked": nothing to
# check against (no cost reported, no price known, or numbers that match neither), summed as given.
COST_READINGS = ("per_image", "per_task", "unchecked")
# Runware may round; a whole-task cost is at least twice the price, so 2% cannot confuse the two.
_COST_TOLERANCE = 0.02

# Payload fields dropped from `raw` (the bytes live in the saved file instead).
_PAYLOAD_FIELDS = ("imageBase64Data", "imageDataURI")
# The fields of an imageInference result item that qwenlab reads into columns of its own (the
# model page's response parameters, and getResponse's status/progress/error); any other field
# is kept in `GeneratedImage.api_extra`.
MODELLED_FIELDS = frozenset({"taskType", "taskUUID", "imageUUID", "imageURL", "imageBase64Data", "imageDataURI", "seed",
                             "NSFWContent", "cost", "status", "progress", "error"})
# Where an item carries the fields of the answer's body other than `data` and `errors` (set by
# `qwenlab.api.exchange.Answer.for_task`): not a field Runware sends in an item.
ANSWER_KEY = "_answer"
_SHOWN = 5  # images a notebook lists of a task (numberResults goes to 20)
_ERROR_ROOM = 160  # characters of an error a notebook shows (the whole of it is in `.error`/`.errors`)


def clean_raw(item: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a response item without base64 payloads and with any secret redacted."""
    # no deepcopy first: redact_json copies every value deeply itself (twice per task, on the hot path)
    return redact_json({k: v for k, v in item.items() if k not in _PAYLOAD_FIELDS})


@shown_as_text
@dataclass
class GeneratedImage:
    """One image of a task (or one failed image slot, when `error` is set). A notebook shows it
    as its text: the image and task UUIDs shortened, size and format, seed, cost, and its file.

    `path` is the saved file (content-addressed, under `images_dir`), `sha256`/`format`/`width`/
    `height`/`nbytes` describe the bytes as checked by Pillow; `seed`, `cost` and `nsfw` are what
    the API reported (`NSFWContent`) and `cost` this image's cost (as reported, or its share when
    every item reported the whole task's cost: `raw["cost"]` keeps the number as it came), `url` the
    `imageURL` it was fetched from. `format_requested`
    is the outputFormat asked for (Pillow's name): an image in another format is kept, paid for,
    and `format_mismatch` says so.
    """

    image_uuid: str | None
    task_uuid: str
    seed: int | None = None
    cost: float | None = None
    nsfw: bool | None = None
    path: Path | None = None
    sha256: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    nbytes: int | None = None
    url: str | None = field(default=None, repr=False)  # as the API gave it (a token in it would show in a notebook)
    format_requested: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    error: QwenlabError | None = None
    # the bytes, kept only when the caller asked not to save them (generate(save=False))
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the image arrived and passed every check."""
        return self.error is None and self.sha256 is not None

    @property
    def format_mismatch(self) -> bool:
        """True when the image arrived in another format than the outputFormat asked for."""
        return bool(self.format and self.format_requested and self.format != self.format_requested)

    def __str__(self) -> str:
        # a cell ending in `result.images[0]` printed every field: two whole UUIDs, the SHA-256
        # twice (in the path and on its own), PosixPath(...) and `error=None`, 500 characters
        return redact(f"GeneratedImage {_short_uuid(self.image_uuid)} of task {_short_uuid(self.task_uuid)}: {self.summary()}")

    def summary(self, *, shape: bool = True) -> str:
        """One line without the UUIDs: size and format (unless `shape` is False), seed, cost and
        where the image is (or why there is none)."""
        if self.error is not None:
            return f"failed: {excerpt(self.error, _ERROR_ROOM)}"
        parts = []
        if shape or self.format_mismatch:
            size = f"{self.width}x{self.height}" if self.width and self.height else "size unknown"
            if self.format:
                size += f" {self.format}" + (f" (asked for {self.format_requested})" if self.format_mismatch else "")
            parts.append(size)
        if self.nbytes is not None:
            parts.append(f"{self.nbytes / 1024:,.0f} KB")
        parts.append(f"seed {self.seed}" if self.seed is not None else "no seed reported")
        parts.append(format_usd(self.cost) if self.cost is not None else "no cost reported")
        if self.nsfw:
            parts.append("flagged NSFW")
        if self.path is not None:
            where = f"at {self.path}"
        elif self.data is not None:
            where = "in memory, not saved (.open())"
        else:
            where = "not fetched"
        return f"{', '.join(parts)}, {where}"

    @property
    def api_extra(self) -> dict[str, Any]:
        """The fields of the API's answer that qwenlab does not model: the item's own (a field
        Runware adds, e.g. a rewritten prompt with promptExtend, if it ever sends one) and, under
        "_answer", those of the answer's body besides `data` and `errors`. Empty when there are
        none; redacted like `raw`."""
        extra = {k: copy.deepcopy(v) for k, v in self.raw.items() if k not in MODELLED_FIELDS}
        if not extra.get(ANSWER_KEY):
            extra.pop(ANSWER_KEY, None)
        return extra

    def raw_for_log(self) -> dict[str, Any]:
        """`raw`, plus what qwenlab noticed about the image under "_qwenlab" (a format other than
        the one asked for), as the log's raw_json keeps it."""
        notes: dict[str, Any] = {}
        if self.format_mismatch:
            notes.update(formatRequested=self.format_requested, formatReceived=self.format)
        return {**self.raw, "_qwenlab": notes} if notes else dict(self.raw)

    def open(self) -> "Image.Image":
        """The image as a PIL Image (from its file, or from memory when it was not saved)."""
        import io

        from PIL import Image

        if self.path is not None:
            return Image.open(self.path)
        if self.data is not None:
            return Image.open(io.BytesIO(self.data))
        raise QwenlabError(f"image {self.image_uuid} of task {self.task_uuid} has no bytes: {self.error or 'it was not fetched'}")

    @classmethod
    def from_item(cls, item: Mapping[str, Any], task_uuid: str) -> "GeneratedImage":
        """The API-reported fields of a response item (nothing fetched yet)."""
        seed = item.get("seed")
        nsfw = item.get("NSFWContent")
        return cls(
            image_uuid=str(item["imageUUID"]) if item.get("imageUUID") is not None else None,
            task_uuid=str(item.get("taskUUID") or task_uuid),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            cost=reported_usd(item.get("cost")),
            nsfw=nsfw if isinstance(nsfw, bool) else None,
            url=item.get("imageURL") if isinstance(item.get("imageURL"), str) else None,
            raw=clean_raw(item),
        )


@shown_as_text
@dataclass
class TaskResult:
    """Everything one task gave back. A notebook shows it as its text: the task's UUID shortened,
    how many images, their size, the cost, and each image's seed and file.

    `images` holds one entry per image slot, failed ones included (their `error` is set);
    `errors` lists every failure (per-image and per-task). `attempts` counts the POSTs of the task
    (retries included), `recovered` is True when the results were fetched with getResponse after
    an uncertain failure or a `conflictTaskUUID` answer (the task had been accepted already).
    `cost_reading` says how the items' costs were read (see COST_READINGS): with numberResults > 1
    Runware does not document whether each item's `cost` is its own or the whole task's.
    """

    request: "Request"
    task_uuid: str
    images: list[GeneratedImage] = field(default_factory=list)
    errors: list[QwenlabError] = field(default_factory=list)
    attempts: int = 1
    latency_s: float = 0.0
    http_status: int | None = None
    recovered: bool = False
    cost_reading: str = "unchecked"

    @property
    def cost(self) -> float | None:
        """Sum of the images' reported costs (USD); None when the API reported none."""
        costs = [img.cost for img in self.images if img.cost is not None]
        return round(sum(costs), 10) if costs else None

    @property
    def ok(self) -> bool:
        """True when at least one image arrived and nothing failed."""
        return not self.errors and any(img.ok for img in self.images)

    @property
    def good_images(self) -> list[GeneratedImage]:
        """The images that arrived and passed every check."""
        return [img for img in self.images if img.ok]

    @property
    def seeds(self) -> list[int | None]:
        """The seed each image reports, in order (None where the API gave none)."""
        return [img.seed for img in self.images]

    @property
    def paths(self) -> list[Path]:
        """The files the images were saved to (an image that failed has none)."""
        return [img.path for img in self.images if img.path is not None]

    def __str__(self) -> str:
        # a cell ending in `client.generate(request)` printed the dataclass whole: the request,
        # every image's every field nested in it, 1,100 characters for two images, the cost nowhere
        good = len(self.good_images)
        head = (f"{count_of(good, 'image')}" if good == len(self.images)
                else f"{good} of {count_of(len(self.images), 'image')}")
        shapes = sorted({f"{i.width}x{i.height} {i.format}" for i in self.good_images if i.width and i.format})
        parts = [head + (f", {', '.join(shapes)}" if shapes else ""),
                 format_usd(self.cost) if self.cost is not None else "no cost reported", count_of(self.attempts, "attempt")]
        if self.recovered:
            parts.append("recovered with getResponse")
        if self.errors:
            parts.append(count_of(len(self.errors), "error"))
        lines = [f"TaskResult {_short_uuid(self.task_uuid)}: {', '.join(parts)}"]
        # the size said once above when every image has it
        lines += [f"  {img.summary(shape=len(shapes) > 1)}" for img in self.images[:_SHOWN]]
        if len(self.images) > _SHOWN:
            lines.append(f"  ... and {len(self.images) - _SHOWN} more")
        # a failed slot's error is on its own line above; a task's own (a refusal) is not
        slots = {id(img.error) for img in self.images if img.error is not None}
        lines += [f"  error: {excerpt(e, _ERROR_ROOM)}" for e in self.errors[:3] if id(e) not in slots]
        lines.append("(.images, .paths, .errors, .request)")
        return redact("\n".join(lines))


def read_costs(images: list[GeneratedImage], number_results: int, price: float | None) -> str:
    """Check the items' reported costs against the model's `price` per image and say how they were
    read (one of COST_READINGS). When every item reported the whole task's cost, each image's
    `cost` becomes its share, so that summing the images counts the task once."""
    for img in images:  # from the numbers as reported, so that reading twice reads the same
        as_reported = reported_usd(img.raw.get("cost"))
        if as_reported is not None:
            img.cost = as_reported
    reported = [img for img in images if img.cost is not None]
    if not reported or not price or price <= 0:
        return "unchecked"
    costs = [img.cost for img in reported if img.cost is not None]
    if all(_close(c, price) for c in costs):
        return "per_image"
    wholes = {price * n for n in (number_results, len(reported)) if n > 1}
    if any(all(_close(c, whole) for c in costs) for whole in wholes):
        share = costs[0] / len(reported)
        for img in reported:
            img.cost = round(share, 10)
        return "per_task"
    return "unchecked"  # neither reading fits: summed as given (the budget then over-counts, never under)


def reported_usd(value: Any) -> float | None:
    """An item's `cost` as a number of US dollars: a JSON number, or a number written as text
    ("0.075", as some JSON encoders write decimals); None for anything else. A cost the API
    reported as text was read as none, and the cell was counted at its estimate: a raised price
    then went past the budget while the log showed the estimate."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _short_uuid(value: str | None) -> str:
    """A UUID by its first 8 characters, enough to find it in `qwenlab logs` and the log."""
    if not value:
        return "(none)"
    return value if len(value) <= 9 else f"{value[:8]}…"


def _close(value: float, expected: float) -> bool:
    return math.isclose(value, expected, rel_tol=_COST_TOLERANCE, abs_tol=1e-9)
