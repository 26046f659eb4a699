"""What was read, drawn over the image: a box per line the OCR found, coloured by what it meant
for the score, with the text read above it.

    img = draw_reading("poster.png", reading, score)     # a PIL image (RGB)
    img = reading_overlay(exp, image_id)                 # the same from the log

Colours: green, a line of an expected string read exactly; orange, a line of a misread string;
grey, any other text (marks, stray letters). Without a score every box is grey.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from ..core.cjk_font import cjk_font_path
from ..core.scripts import has_cjk
from ..core.values import is_missing
from ..store.thumbnails import read_checked
from .engines import load_image
from .reading import Reading, TextLine, in_reading_order
from .scoring import TextScore, score_text
from .store import stored_reading, stored_score

if TYPE_CHECKING:
    from ..store.experiment import ExperimentRecord
    from ..store.log import Log

__all__ = ["draw_reading", "reading_overlay", "score_colour", "SCORE_STOPS", "line_status", "stored_lines", "COLOURS"]

COLOURS = {"exact": (46, 204, 64), "misread": (255, 133, 27), "other": (170, 170, 170)}

# The one colour scale of text scores (grid frames, pairs, explorer badges, the report). Scores
# cluster near the top (most posters read almost right), so a plain red-to-green ramp paints 0.88
# and 1.00 the same green: this one spends its colours where the scores are. (score, RGB 0..255):
# ColorBrewer RdYlGn's ends and middle.
SCORE_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (165, 0, 38)),
    (0.5, (244, 109, 67)),
    (0.75, (254, 224, 139)),
    (0.9, (166, 217, 106)),
    (1.0, (26, 120, 55)),
)


def draw_reading(image: Any, reading: Reading, score: TextScore | None = None, *, labels: bool = True,
                 width: int | None = None) -> Image.Image:
    """`image` (path, bytes or PIL image) with `reading`'s boxes and text drawn over it.

    score: colours boxes by status (see the module docstring); its `lines` refer to the
    reading's lines in reading order, as `score_text` numbers them. width: scale the result to
    this width (boxes scale with it)."""
    img = load_image(image)
    marked = line_status(reading, score)
    scale = 1.0
    if width and width != img.width:
        scale = width / img.width
        img = img.resize((width, max(1, round(img.height * scale))), Image.LANCZOS)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    size = max(11, img.width // 42)
    font = ImageFont.load_default(size=size)
    cjk = cjk_font_path()  # a reading in Chinese, Japanese or Korean is labelled in it, not as boxes
    cjk_face = ImageFont.truetype(str(cjk), size) if cjk is not None and has_cjk(reading.text) else None
    for line, status in marked:
        if not line.box:
            continue
        colour = COLOURS[status]
        points = [(x * scale, y * scale) for x, y in line.box]
        draw.polygon(points, outline=(*colour, 255), width=max(2, img.width // 300))
        if labels:
            left, top = min(p[0] for p in points), min(p[1] for p in points)
            text = f"{line.text}  {line.confidence:.2f}"
            face = cjk_face if cjk_face is not None and has_cjk(text) else font
            x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=face)
            ty = top - (y1 - y0) - 6 if top - (y1 - y0) - 6 >= 0 else max(p[1] for p in points) + 2
            draw.rectangle([left, ty, left + (x1 - x0) + 6, ty + (y1 - y0) + 4], fill=(0, 0, 0, 190))
            draw.text((left + 3 - x0, ty + 2 - y0), text, font=face, fill=(*colour, 255))
    return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")


def line_status(reading: Reading, score: TextScore | None = None) -> list[tuple[TextLine, str]]:
    """Each line of `reading`, in reading order, with what it meant for `score`: 'exact' (a line
    of an expected string read exactly), 'misread' or 'other' (every line when `score` is None)."""
    lines = in_reading_order(reading.lines)
    status: dict[int, str] = {}
    rank = {"other": 0, "misread": 1, "exact": 2}
    for s in score.strings if score is not None else ():
        if s.status == "missing":  # its best match is unrelated text: leave those lines grey
            continue
        for i in s.lines:
            if rank[s.status] > rank[status.get(i, "other")]:
                status[i] = s.status
    return [(line, status.get(i, "other")) for i, line in enumerate(lines)]


def stored_lines(log: "Log", image_id: int, engine: str | None = None) -> tuple[Reading, list[tuple[TextLine, str]]] | None:
    """The stored reading of an image and `line_status` of its lines against its stored score
    (from the log: no OCR); None when the image was not read."""

    reading = stored_reading(log, image_id, engine)
    if reading is None:
        return None
    score = stored_score(log, image_id, reading.engine)
    if score is not None:  # recompute against the lines in hand, so `lines` indices match them
        score = score_text(score.expected, reading)
    return reading, line_status(reading, score)


def reading_overlay(exp: "ExperimentRecord", image_id: int, engine: str | None = None, **kw: Any) -> Image.Image:
    """`draw_reading` for one image of an experiment, from the reading and score in the log."""

    reading = stored_reading(exp.log, image_id, engine)
    if reading is None:
        raise KeyError(f"image {image_id} has not been read{f' by {engine}' if engine else ''}; "
                       "run exp.score_text() (or qwenlab score NAME) first")
    row = exp.images[exp.images["image_id"] == image_id]
    if row.empty or not row.iloc[0]["path"]:
        raise KeyError(f"image {image_id} is not in experiment {exp.name!r} or has no file")
    score = stored_score(exp.log, image_id, reading.engine)
    if score is not None:  # recompute against the lines in hand, so `lines` indices match them
        score = score_text(score.expected, reading)
    # the boxes of the bytes that were read, over the file only if it still holds them (ImageError)
    return draw_reading(read_checked(Path(row.iloc[0]["path"])), reading, score, **kw)


def score_colour(value: float | None) -> tuple[int, int, int]:
    """The colour of a score in [0, 1] on SCORE_STOPS (dark red 0, orange 0.5, yellow 0.75, light
    green 0.9, dark green 1.00); grey when there is no score."""
    if is_missing(value):
        return COLOURS["other"]
    v = min(1.0, max(0.0, float(value)))
    for (lo, c0), (hi, c1) in zip(SCORE_STOPS, SCORE_STOPS[1:]):
        if v <= hi:
            t = (v - lo) / (hi - lo)
            return tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return SCORE_STOPS[-1][1]
