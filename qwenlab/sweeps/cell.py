"""One cell of a sweep (axis values, repeat, the exact request, its identity), and the local
reference images a cell uploads when it runs."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..core.request import Request

__all__ = ["Cell", "LocalImage", "REF_PATHS"]

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

    def cell_json(self) -> dict[str, Any]:
        """Axis name -> value for this cell, plus "repeat" (the `tasks.cell_json` column)."""
        return {**self.values, "repeat": self.repeat}

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in self.labels.items()]
        return ", ".join(parts + [f"repeat={self.repeat}"])

    def request_with(self, uploads: Mapping[str, str], task_uuid: str | None = None) -> Request:
        """The request to send: placeholders of local images replaced by uploaded imageUUIDs."""
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
