"""Pairs as a static figure: A beside B, one pair per row, each image captioned with its value and
the seed the API reported, under it (matplotlib). Which images pair up: `qwenlab.analysis.pairs`.
Emulator results say so: "SYNTHETIC (offline emulator)" (or MIXED) in the title, the reason in red
under it, and in a mixed experiment "SYNTHETIC" in each synthetic image's caption.

    show_pairs(exp, "promptExtend")                      # shows itself in a notebook
    show_pairs(exp, "promptExtend", path="pairs.png")    # and saved
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.pairs import pairs
from ..core.cjk_font import cjk_fallback
from ..core.values import count_of, present
from ..store.thumbnails import Unreadable, thumbnail_of
from ..typography.badges import LONG_NAMES, score_label
from .panels import ShownFigure, caption_height, caption_lines, draw_blank, draw_image
from .scale import frame_colour
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
    image captioned (under it) with its value and the seed the API reported; saved to `path` when given
    (it shows itself in a notebook).
    `source` is an experiment or a frame from `pairs()`; `limit` pairs at most (None: all)."""
    import pandas as pd

    df = source if isinstance(source, pd.DataFrame) else pairs(source, axis, **options)
    shown = df if limit is None else df.head(limit)
    name = df.attrs.get("experiment", "")
    a, b = df.attrs.get("a", "a"), df.attrs.get("b", "b")
    axis = df.attrs.get("axis", axis)
    label_w, gap, margin = 2.0, 0.12, 0.3
    # the widest image of either side: on a size axis the two sides differ in shape
    aspect = max([(w or 1) / (h or 1) for r in shown.itertuples()
                  for w, h in ((r.width_a, r.height_a), (r.width_b, r.height_b)) if present(w) and present(h)] or [1.0])
    box_w = size * min(2.0, max(0.5, aspect))
    W = 2 * margin + label_w + 2 * box_w + gap
    head = f"{name}: {axis} = {a} (left) vs {b} (right)"
    mark, where = df.attrs.get("provenance_mark") or "", df.attrs.get("provenance_headline")
    if mark:
        head += f" · {mark}"
    alert = wrap_lines(where, W - 2 * margin, NOTE_PT, bold=True) if mark and where else []
    mixed = df.attrs.get("provenance") == "mixed"
    lone = int(df.attrs.get("unpaired", 0))
    foot = f"{len(shown)} of {count_of(len(df), 'pair')}" + (f"; {lone} image{'s' if lone > 1 else ''} without a counterpart" if lone else "")
    metric = df.attrs.get("score")  # set when the log holds text scores: frame and stamp each image with its own
    if metric:
        foot += (f"; frame colour: {LONG_NAMES[metric]} of the text read by OCR (dark red 0, orange 0.5, yellow 0.75, "
                 "light green 0.9, dark green 1, grey not scored; the score is in each caption)")
    foot_lines = wrap_lines(foot, W - 2 * margin, NOTE_PT)
    # three lines where two would cut it: two portrait images make a narrow figure, whose title
    # ended "· SYNTHETIC (offline…", its provenance mark cut
    head_lines = wrap_lines(head, W - 2 * margin, TITLE_PT, max_lines=3, bold=True)
    title_h = line_height(TITLE_PT) * max(2, len(head_lines)) + 0.25 + line_height(NOTE_PT) * len(alert)
    rows = [(r, [_caption(r, side, axis, a if side == "a" else b, mixed, metric) for side in ("a", "b")]) for r in shown.itertuples()]
    # the captions go under the images, never over them: every row keeps room for the longest
    cap_h = caption_height(max((len(caption_lines(c, box_w)) for _, caps in rows for c in caps), default=0))
    H = 2 * margin + title_h + max(1, len(shown)) * (size + cap_h + gap) + line_height(NOTE_PT) * len(foot_lines)
    fig = ShownFigure(figsize=(W, H), dpi=dpi)  # displays itself in a notebook
    fig.patch.set_facecolor("white")
    fig.text(margin / W, 1 - margin / H, "\n".join(head_lines), fontsize=TITLE_PT, fontweight="bold", va="top")
    if alert:  # synthetic, mixed or not recorded: why, in red, under the title
        fig.text(margin / W, 1 - (margin + line_height(TITLE_PT) * len(head_lines) + 0.06) / H, "\n".join(alert),
                 fontsize=NOTE_PT, color="#b00020", fontweight="bold", va="top")
    fig.text(margin / W, margin / H, "\n".join(foot_lines), fontsize=NOTE_PT, color="0.3", va="bottom")
    y = margin + title_h
    for r, caps in rows:
        # numbered from 1, as the pair viewer's "pair 1 of n" (the frame's `pair` column counts from 0)
        label = wrap_lines(f"pair {r.pair + 1}: {r.shared}", label_w - 0.15, LABEL_PT, max_lines=int(size / line_height(LABEL_PT)))
        fig.text((margin + label_w - 0.12) / W, 1 - (y + size / 2) / H, "\n".join(label), fontsize=LABEL_PT, ha="right",
                 va="center")
        for j, side in enumerate(("a", "b")):
            rect = ((margin + label_w + j * (box_w + gap)) / W, 1 - (y + size) / H, box_w / W, size / H)
            frame = frame_colour(present(getattr(r, f"score_{side}", None))) if metric else None
            pixels = _pixels(getattr(r, f"path_{side}"), thumb)
            if isinstance(pixels, str) or pixels is None:
                draw_blank(fig, rect, None, caps[j], box_w, size, pixels or "no image on this side", gid=f"pair {r.pair} {side}")
            else:
                draw_image(fig, rect, pixels, caps[j], box_w, size, frame=frame, gid=f"pair {r.pair} {side}")
        y += size + cap_h + gap
    cjk_fallback(fig)  # a prompt or value in Chinese, Japanese or Korean: drawn, not boxes (saved too)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig


def _caption(r: Any, side: str, axis: str, value: Any, mixed: bool, metric: str | None) -> str:
    """What goes under one side's image: its value, what the pair shares, the seed the API
    reported, SYNTHETIC in a mixed experiment, the text score when the log holds them."""
    import pandas as pd

    seed = getattr(r, f"seed_{side}")
    caption = f"{axis}={value} · {r.shared} · seed\u00a0{seed if pd.notna(seed) else '?'}"
    if mixed and getattr(r, f"backend_{side}", None) == "emulator":
        caption = "SYNTHETIC · " + caption
    if metric:
        caption += " · " + score_label(metric, getattr(r, f"score_{side}", None)).replace(" ", "\u00a0")
    return caption


def _pixels(path: Any, thumb: int) -> Any:
    """The thumbnail's pixels; None where the side has no image; the reason where it is unreadable."""
    if not isinstance(path, str) or not path:
        return None
    pixels = thumbnail_of(path, thumb, "pixels")
    return str(pixels) if isinstance(pixels, Unreadable) else pixels
