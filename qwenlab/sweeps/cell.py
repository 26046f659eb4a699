"""One cell of a sweep (axis values, repeat, the exact request, its identity), and the local
reference images a cell uploads when it runs."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.request import Request
from ..errors import QwenlabError

__all__ = ["Cell", "LocalImage", "REF_PATHS", "match_logged"]

# where a task may carry reference images (the documented path, and the seed page's top level)
REF_PATHS = ("inputs.referenceImages", "referenceImages")


@dataclass(frozen=True)
class LocalImage:
    """A reference image on this machine, uploaded when a run needs it."""

    path: Path
    sha256: str

    @classmethod
    def read(cls, path: str | Path) -> "LocalImage":
        p = Path(path).expanduser().resolve()
        return cls(p, hashlib.sha256(p.read_bytes()).hexdigest())

    @property
    def placeholder(self) -> str:
        """A stable UUID v4 standing for the upload until the real imageUUID is known."""
        return str(uuid.UUID(bytes=bytes.fromhex(self.sha256[:32]), version=4))


@dataclass
class Cell:
    """One cell of a sweep: the axis values, the repeat, and the exact request to send."""

    index: int
    values: dict[str, Any]
    labels: dict[str, str]
    repeat: int
    request: Request
    seed_policy: str
    seed: int | None
    key: str
    uploads: dict[str, LocalImage] = field(default_factory=dict)

    @property
    def estimated_cost(self) -> float:
        """USD: the model's price today times numberResults."""
        return self.request.estimated_cost()

    @property
    def price(self) -> float:
        return self.request.model.price_on(None)

    def output_identity(self) -> tuple[str, int, int, tuple[str, ...]]:
        """What the cell's images depend on and what it costs: the request's output hash (model and
        every output-affecting parameter, documented defaults filled in), numberResults, repeat,
        and the parameters it sends where the model page does not put them (`Request.spellings`:
        a top-level referenceImages, which Runware may ignore, is not the inputs.referenceImages
        the page documents, whatever the hash says)."""
        request = self.request_with({})
        return request.output_hash(), request.number_results, self.repeat, request.spellings()

    def cell_json(self) -> dict[str, Any]:
        """Axis name -> value for this cell, plus "repeat" (the `tasks.cell_json` column)."""
        return {**self.values, "repeat": self.repeat}

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in self.labels.items()]
        return ", ".join(parts + [f"repeat={self.repeat}"])

    def request_with(self, uploads: Mapping[str, str], task_uuid: str | None = None) -> Request:
        """The request to send: placeholders of local images replaced by uploaded imageUUIDs."""
        if not self.uploads:  # nothing to replace (the common case, and a sweep's hot path)
            return self.request.with_task_uuid(task_uuid) if task_uuid else self.request
        task = self.request.to_task()
        for path in REF_PATHS:
            node, parts = task, path.split(".")
            for part in parts[:-1]:
                node = node.get(part, {}) if isinstance(node, dict) else {}
            refs = node.get(parts[-1]) if isinstance(node, dict) else None
            if isinstance(refs, list):
                node[parts[-1]] = [uploads.get(r, r) if isinstance(r, str) else r for r in refs]
        if task_uuid:
            task["taskUUID"] = task_uuid
        return Request.from_task(task)


def match_logged(cells: list[Cell], rows: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Cell key -> the experiment's task row that already stands for that cell, for the cells
    that have one.

    A row stands for a cell when it has the cell's key (the same request, the same repeat). When a
    sweep is extended, a cell may also ask for what a row no other cell claims already asked for:
    the same output (`Cell.output_identity`: a parameter sent at its documented default is the same
    as one left out), numberResults and repeat. Adding a promptExtend axis must not pay again for
    the cells that left promptExtend at its default of true. A size left out is not the same as any
    size sent: Runware documents no default size for these models.
    """
    by_key = {str(r["cell_key"]): r for r in rows}
    keys = {c.key for c in cells}
    spare: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:  # rows no cell of this sweep has by key, in the order they were logged
        if r["cell_key"] not in keys and r.get("output_hash"):
            spare.setdefault((r["output_hash"], r["number_results"] or 1, r["repeat"], _spellings(r)), []).append(r)
    matched: dict[str, Mapping[str, Any]] = {}
    for c in cells:
        if c.key in by_key:
            matched[c.key] = by_key[c.key]
        elif spare:
            pool = spare.get(c.output_identity())
            if pool:
                matched[c.key] = pool.pop(0)
    return matched


def _spellings(row: Mapping[str, Any]) -> tuple[str, ...]:
    """`Request.spellings` of the request a row logged (read from its request JSON: its output
    hash, made before spellings counted, does not tell them apart)."""
    try:
        return Request.from_json(row["request_json"]).spellings() if row.get("request_json") else ()
    except (ValueError, TypeError, KeyError, QwenlabError):  # a row whose request cannot be read: as before
        return ()
