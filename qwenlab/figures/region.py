"""A region of every image, cut at full resolution: what `exp.grid(region=...)` shows.

    check_region((0, 0, 1, 0.3))        # Region(x0=0.0, y0=0.0, x1=1.0, y1=0.3): the top 30%
    crops_of(paths, region)             # {path: RGB array of that region, from the original file}

A region is given in fractions of the image (0 left/top, 1 right/bottom), so the same region of
a portrait and a landscape image is the same part of each. It is cut from the original file, not
the thumbnail: a headline that is 40 pixels high in a 256-pixel thumbnail is 240 pixels high in
the original, and that is the point of zooming in.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import ImageError
from ..store.thumbnails import Unreadable, read_checked

__all__ = ["Region", "check_region", "parse_region", "crop_of", "crops_of"]

_RULE = "give four fractions of the image from 0 to 1, x0 < x1 and y0 < y1"
_FIX = f"{_RULE}, e.g. region=(0, 0, 1, 0.3) for the top 30%"
_FIX_TEXT = f"{_RULE}, e.g. 0,0,1,0.3 for the top 30%"  # as text, the form the CLI's --region takes


@dataclass(frozen=True)
class Region:
    """A rectangle in fractions of an image: (x0, y0) its top-left corner, (x1, y1) its bottom-right."""

    x0: float
    y0: float
    x1: float
    y1: float

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region in pixels of a `width` x `height` image (at least one pixel each way)."""
        left, top = int(round(self.x0 * width)), int(round(self.y0 * height))
        right = max(left + 1, int(round(self.x1 * width)))
        bottom = max(top + 1, int(round(self.y1 * height)))
        return left, top, min(right, width), min(bottom, height)

    def aspect(self, width: int, height: int) -> float:
        """Width over height of the region of a `width` x `height` image."""
        return (self.x1 - self.x0) * width / ((self.y1 - self.y0) * height)

    def __str__(self) -> str:
        return ", ".join(f"{v:g}" for v in (self.x0, self.y0, self.x1, self.y1))


def check_region(region: Region | Sequence[float] | str | None) -> Region | None:
    """`region` as a `Region` (None stays None), or a ValueError naming `region` and the fix."""
    if region is None or isinstance(region, Region):
        return region
    if isinstance(region, str):
        values, problem = _read(region)
        if problem:
            raise ValueError(f"region={region!r} {problem}: {_FIX}")
        return Region(*values)
    try:
        values = [float(v) for v in region]
    except (TypeError, ValueError):
        raise ValueError(f"region={region!r} is not four numbers: {_FIX}") from None
    problem = _problem(values)
    if problem:
        shown = tuple(region) if len(values) == 4 else region
        raise ValueError(f"region={shown!r} {problem}: {_FIX}")
    return Region(*values)


def parse_region(text: str) -> Region:
    """"0,0,1,0.3" (as the CLI's --region takes it) as a `Region`; a ValueError that shows the
    text as given and the fix in that form."""
    values, problem = _read(text)
    if problem:
        raise ValueError(f"{text!r} {problem}: {_FIX_TEXT}")
    return Region(*values)


def _read(text: str) -> tuple[list[float], str | None]:
    """The numbers of "0,0,1,0.3" (commas or spaces) and what is wrong with them as a region."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return [], "is not four numbers x0,y0,x1,y1"
    return values, _problem(values)


def _problem(values: list[float]) -> str | None:
    """What is wrong with four numbers as a region, in words; None when nothing is."""
    if len(values) != 4:
        return f"has {len(values)} numbers, not 4 (x0, y0, x1, y1)"
    x0, y0, x1, y1 = values
    if not all(0.0 <= v <= 1.0 for v in values):
        return "goes outside the image (fractions are 0..1, not pixels)"
    if not (x0 < x1 and y0 < y1):
        return "is empty or upside down"
    return None


def crop_of(path: str | None, region: Region) -> Any:
    """The region of the image at `path`, at full resolution, as an RGB array; an `Unreadable`
    (with the reason) where there is no image or it cannot be read."""
    if not path:
        return Unreadable("no image")
    try:
        import io

        import numpy as np
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(read_checked(Path(path)))) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.crop(region.box(*img.size)).convert("RGB"))
    except FileNotFoundError:  # said as a thumbnail's blank says it, not as "[Errno 2] No such file or directory"
        return Unreadable.of(FileNotFoundError(f"image file {str(path)!r} does not exist: deleted, or the data folder was "
                                               "moved"), path)
    except (OSError, ValueError, SyntaxError, ImageError) as exc:  # ImageError: damaged (read_checked)
        return Unreadable.of(exc, path)


def crops_of(paths: Iterable[str | None], region: Region, workers: int | None = None) -> dict[str, Any]:
    """path -> `crop_of(path, region)` for every distinct path, decoded in threads (Pillow
    releases the GIL while it decodes)."""
    unique = sorted({str(p) for p in paths if p})
    if len(unique) <= 1:
        return {p: crop_of(p, region) for p in unique}
    with cf.ThreadPoolExecutor(max_workers=workers or min(4, len(unique))) as pool:
        return dict(zip(unique, pool.map(lambda p: crop_of(p, region), unique)))
