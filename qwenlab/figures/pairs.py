"""Pairs as a static figure: A beside B, one pair per row, each image stamped with its value and
the seed the API reported (matplotlib). Which images pair up: `qwenlab.analysis.pairs`.
Emulator results say so: "SYNTHETIC (offline emulator)" (or MIXED) in the title, the reason in red
under it, and in a mixed experiment "SYNTHETIC" on each synthetic image's stamp.

    show_pairs(exp, "promptExtend")                      # shows itself in a notebook
    show_pairs(exp, "promptExtend", path="pairs.png")    # and saved
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.pairs import pairs
from ..core.values import present
from ..store.thumbnails import Unreadable, thumbnail_of
from ..typography.badges import LONG_NAMES, score_label
from ..typography.draw import score_colour
from .panels import ShownFigure, draw_blank, draw_image
from .text import LABEL_PT, NOTE_PT, TITLE_PT, line_height, wrap_lines

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..store.catalog import Catalog
    from ..store.experiment import ExperimentRecord

__all__ = ["show_pairs"]


def show_pairs(source: "ExperimentRecord | Catalog | pd.DataFrame", axis: str = "promptExtend", *, limit: int | None = 12,
               path: str | Path | None = None, thumb: int = 256, size: float = 2.6, dpi: float = 110,
               **options: Any) -> "Figure":
    """A matplotlib figure of pairs, A on the left and B on the right, one pair per row, each
    image stamped with its value and the seed the API reported; saved to `path` when given
    (it shows itself in a notebook).
    `source` is an experiment or a frame from `pairs()`; `limit` pairs at most (None: all)."""
    import pandas as pd

    df = source if isinstance(source, pd.DataFrame) else pairs(source, axis, **options)
    shown = df if limit is None else df.head(limit)
    name = df.attrs.get("experiment", "")
    a, b = df.attrs.get("a", "a"), df.attrs.get("b", "b")
    axis = df.attrs.get("axis", axis)
    label_w, gap, margin = 2.0, 0.12, 0.3
    aspect = max([(r.width or 1) / (r.height or 1) for r in shown.itertuples()] or [1.0])
    box_w = size * min(2.0, max(0.5, aspect))
    W = 2 * margin + label_w + 2 * box_w + gap
    head = f"{name}: {axis} = {a} (left) vs {b} (right)"
    mark, where = df.attrs.get("provenance_mark") or "", df.attrs.get("provenance_headline")
    if mark:
        head += f" · {mark}"
    alert = wrap_lines(where, W - 2 * margin, NOTE_PT) if mark and where else []
    mixed = df.attrs.get("provenance") == "mixed"
    lone = int(df.attrs.get("unpaired", 0))
    foot = f"{len(shown)} of {len(df)} pairs" + (f"; {lone} image{'s' if lone > 1 else ''} without a counterpart" if lone else "")
    metric = df.attrs.get("score")  # set when the log holds text scores: frame and stamp each image with its own
    if metric:
        foot += f"; frame colour: {LONG_NAMES[metric]} of the text read by OCR (red 0, amber 0.5, green 1, grey not scored)"
    foot_lines = wrap_lines(foot, W - 2 * margin, NOTE_PT)
    title_h = line_height(TITLE_PT) * 2 + 0.25 + line_height(NOTE_PT) * len(alert)
    H = 2 * margin + title_h + max(1, len(shown)) * (size + gap) + line_height(NOTE_PT) * len(foot_lines)
    fig = ShownFigure(figsize=(W, H), dpi=dpi)  # displays itself in a notebook
    fig.patch.set_facecolor("white")
    head_lines = wrap_lines(head, W - 2 * margin, TITLE_PT, max_lines=2)
    fig.text(margin / W, 1 - margin / H, "\n".join(head_lines), fontsize=TITLE_PT, fontweight="bold", va="top")
    if alert:  # synthetic, mixed or not recorded: why, in red, under the title
        fig.text(margin / W, 1 - (margin + line_height(TITLE_PT) * len(head_lines) + 0.06) / H, "\n".join(alert),
                 fontsize=NOTE_PT, color="#b00020", fontweight="bold", va="top")
    fig.text(margin / W, margin / H, "\n".join(foot_lines), fontsize=NOTE_PT, color="0.3", va="bottom")
    y = margin + title_h
    for r in shown.itertuples():
        label = wrap_lines(f"pair {r.pair}: {r.shared}", label_w - 0.15, LABEL_PT, max_lines=int(size / line_height(LABEL_PT)))
        fig.text((margin + label_w - 0.12) / W, 1 - (y + size / 2) / H, "\n".join(label), fontsize=LABEL_PT, ha="right",
                 va="center")
        for j, side in enumerate(("a", "b")):
            rect = ((margin + label_w + j * (box_w + gap)) / W, 1 - (y + size) / H, box_w / W, size / H)
            value = a if side == "a" else b
            seed = getattr(r, f"seed_{side}")
            stamp = f"{axis}={value} · {r.shared} · seed\u00a0{seed if pd.notna(seed) else '?'}"
            if mixed and getattr(r, f"backend_{side}", None) == "emulator":
                stamp = "SYNTHETIC · " + stamp
            frame = None
            if metric:
                text_score = getattr(r, f"score_{side}", None)
                stamp += " · " + score_label(metric, text_score).replace(" ", "\u00a0")
                frame = tuple(c / 255 for c in score_colour(present(text_score)))
            pixels = _pixels(getattr(r, f"path_{side}"), thumb)
            if isinstance(pixels, str) or pixels is None:
                draw_blank(fig, rect, None, stamp, box_w, size, pixels or "no image on this side")
            else:
                draw_image(fig, rect, pixels, stamp, box_w, size, frame=frame)
        y += size + gap
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig


def _pixels(path: Any, thumb: int) -> Any:
    """The thumbnail's pixels; None where the side has no image; the reason where it is unreadable."""
    if not isinstance(path, str) or not path:
        return None
    pixels = thumbnail_of(path, thumb, "pixels")
    return str(pixels) if isinstance(pixels, Unreadable) else pixels
