"""What an OCR engine read in one image: lines of text with their boxes and confidences.

A `Reading` is what the log stores (as JSON) so that a score can be recomputed without reading
the image again, and what `draw_reading` paints over the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["TextLine", "Reading", "Box", "in_reading_order"]

Box = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class TextLine:
    """One line of text an engine read: its text, confidence (0-1) and box (4 corners, pixels,
    clockwise from the top left)."""

    text: str
    confidence: float = 1.0
    box: Box | None = None

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(left, top, right, bottom) of the box, or None without one."""
        if not self.box:
            return None
        xs, ys = [p[0] for p in self.box], [p[1] for p in self.box]
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": round(float(self.confidence), 4),
                "box": [[round(float(x), 1), round(float(y), 1)] for x, y in self.box] if self.box else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TextLine":
        box = data.get("box")
        return cls(str(data["text"]), float(data.get("confidence", 1.0)),
                   tuple((float(x), float(y)) for x, y in box) if box else None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Reading:
    """Every line one engine read in one image, in reading order (top to bottom, left to right)."""

    engine: str
    lines: tuple[TextLine, ...] = ()
    version: str = ""
    seconds: float = 0.0
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """Everything read, one line per line."""
        return "\n".join(line.text for line in self.lines)

    def lines_json(self) -> str:
        return json.dumps([line.to_dict() for line in self.lines], ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def lines_from_json(text: str | None) -> tuple[TextLine, ...]:
        return tuple(TextLine.from_dict(d) for d in json.loads(text or "[]"))


def in_reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Lines sorted top to bottom, then left to right; lines whose vertical centres are within
    half a line height of each other count as one row. Lines without boxes keep their order."""
    if not all(line.box for line in lines):
        return list(lines)
    keyed = []
    for line in lines:
        left, top, right, bottom = line.bounds  # type: ignore[misc]
        keyed.append(((top + bottom) / 2, max(1.0, bottom - top), left, line))
    keyed.sort(key=lambda k: k[0])
    rows: list[list[tuple[float, float, float, TextLine]]] = []
    for item in keyed:
        if rows and abs(item[0] - rows[-1][0][0]) < 0.5 * min(item[1], rows[-1][0][1]):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item[3] for row in rows for item in sorted(row, key=lambda k: k[2])]
