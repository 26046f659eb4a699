"""Pairs of images that differ in one axis only: what did promptExtend (or any two-valued axis) do?

    df = pairs(exp, "promptExtend")          # one row per pair: image_a (on) and image_b (off)
    show_pairs(exp, "promptExtend")          # a static figure: A beside B, row by row
    pair_viewer(exp, "promptExtend")         # a notebook widget: flip or fade between A and B

Two images pair up when every other axis has the same value (so the same prompt, size and
negative prompt), and they share the seed where seeds are pinned, or the repeat index where the
API sampled them (Qwen-Image-2.0-Pro takes no seed: repeat r of "on" pairs with repeat r of
"off"). A cell that failed on either side makes no pair; `df.attrs["unpaired"]` counts them.

Text scores (`qwenlab.typography`) stored in the log come along: `score_a`/`score_b` (word
accuracy, or the metric named by `score=`) and `read_a`/`read_b` (what was misread or missing),
empty for images not scored; the figure frames and stamps each image with its score and the
viewer's caption says it. Nothing here runs OCR.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..store.catalog import REPEAT, Catalog, Entry, same_value

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..store.experiment import Experiment
    from ..widgets.pairviewer import PairViewer

__all__ = ["pairs", "show_pairs", "pair_viewer", "PairViewer"]

PAIR_COLUMNS = ["pair", "axis", "a", "b", "value_a", "value_b", "shared", "match", "repeat", "result", "image_a", "image_b",
                "path_a", "path_b", "seed_a", "seed_b", "task_a", "task_b", "cost_a", "cost_b", "score_a", "score_b", "read_a",
                "read_b", "prompt", "negative_prompt", "width", "height"]


def pairs(experiment: "Experiment | Catalog", axis: str = "promptExtend", values: Sequence[Any] | None = None, *,
          where: Mapping[str, Any] | None = None, include_unpaired: bool = False,
          score: str = "word_accuracy") -> "pd.DataFrame":
    """The image pairs of `axis`, one row each: `image_a`/`path_a`/`seed_a` for the first value,
    `..._b` for the second, every other axis's value, and `shared` (what both have in common).

    values: the two values to compare when the axis has more than two (values or labels).
    where: keep only these values of other axes ({"size": "1024x1536"}).
    include_unpaired: also list images whose counterpart is missing (the other side empty).
    score: the stored text score in `score_a`/`score_b` (word_accuracy, ned, sentence_accuracy, correct).
    """
    import pandas as pd

    from ..typography.badges import score_badges

    catalog = experiment if isinstance(experiment, Catalog) else Catalog.load(experiment)
    catalog = catalog.where(where)
    catalog.check_axes(axis)
    if axis == REPEAT:
        raise ValueError("pairs compare the values of a sweep axis; 'repeat' is what pairs are matched on")
    a, b = _two_values(catalog, axis, values)
    badges = score_badges(catalog, score)  # from the log: no OCR
    others = [n for n in catalog.axes if n not in (axis, REPEAT)]
    shown = [n for n in others if catalog.axes[n].varies]
    sides: dict[tuple[Any, ...], dict[str, Entry]] = {}
    order: list[tuple[Any, ...]] = []
    for e in catalog.entries:
        if e.failed:
            continue
        side = "a" if same_value(e.value(axis), a) else "b" if same_value(e.value(axis), b) else None
        if side is None:
            continue
        key = _match_key(catalog, e, others)
        if key not in sides:
            sides[key] = {}
            order.append(key)
        sides[key].setdefault(side, e)
    rows: list[dict[str, Any]] = []
    unpaired = 0
    for key in order:
        got = sides[key]
        if len(got) < 2:
            unpaired += 1
            if not include_unpaired:
                continue
        ea, eb = got.get("a"), got.get("b")
        ref = ea or eb
        assert ref is not None
        pinned = ref.seed_policy == "pin" and ref.requested_seed is not None
        row: dict[str, Any] = {
            "pair": len(rows), "axis": axis, "a": catalog.axes[axis].label(a), "b": catalog.axes[axis].label(b),
            "value_a": a, "value_b": b,
            "shared": " · ".join([catalog.axes[n].tag(ref.value(n)) for n in shown]
                                 + [f"seed {ref.requested_seed}" if pinned else f"r{ref.repeat}"]),
            "match": "seed" if pinned else "repeat", "repeat": ref.repeat, "result": ref.result,
            **{n: ref.value(n) for n in others},
            "prompt": ref.prompt, "negative_prompt": ref.negative_prompt, "width": ref.width, "height": ref.height,
        }
        for side, e in (("a", ea), ("b", eb)):
            badge = badges.get(e.image_id) if e else None
            row.update({f"image_{side}": e.image_id if e else None, f"path_{side}": e.path if e else None,
                        f"seed_{side}": e.seed if e else None, f"task_{side}": e.task_id if e else None,
                        f"cost_{side}": e.cost_usd if e else None, f"score_{side}": badge.value if badge else None,
                        f"read_{side}": badge.detail if badge else None})
        rows.append(row)
    columns = list(dict.fromkeys([*PAIR_COLUMNS[:10], *others, *PAIR_COLUMNS[10:]]))
    df = pd.DataFrame(rows, columns=columns)
    for col in ("image_a", "image_b", "task_a", "task_b", "seed_a", "seed_b"):
        df[col] = df[col].astype("Int64")
    df["score_a"], df["score_b"] = df["score_a"].astype(float), df["score_b"].astype(float)
    df.attrs.update({"score": score if badges else None, "score_engine": badges.engine,"axis": axis, "a": catalog.axes[axis].label(a), "b": catalog.axes[axis].label(b),
                     "unpaired": unpaired, "experiment": catalog.name, "experiment_id": catalog.experiment_id})
    return df



def _two_values(catalog: Catalog, axis: str, values: Sequence[Any] | None) -> tuple[Any, Any]:
    info = catalog.axes[axis]
    if values is not None:
        if len(values) != 2:
            raise ValueError(f"values= takes the two values of {axis!r} to compare, got {len(values)}")
        return catalog.resolve(axis, values[0]), catalog.resolve(axis, values[1])
    present = catalog.values(axis)
    if len(present) != 2:
        raise ValueError(f"axis {axis!r} has {len(present)} values in view ({', '.join(info.label(v) for v in present)}); "
                         "pairs need two: pick them with values=(first, second)")
    return present[0], present[1]


def _match_key(catalog: Catalog, e: Entry, others: list[str]) -> tuple[Any, ...]:
    # pinned seeds: the same seed makes the same starting noise; sampled seeds: the repeat index
    seed = ("seed", e.requested_seed) if e.seed_policy == "pin" and e.requested_seed is not None else ("repeat", e.repeat)
    values = tuple(_hashable(catalog, n, e.value(n)) for n in others)
    return (*values, seed, e.result)


def _hashable(catalog: Catalog, axis: str, value: Any) -> Any:
    i = catalog.axes[axis].index(value)
    return ("i", i) if i is not None else ("v", repr(value))


# -- showing ------------------------------------------------------------------------------------------
def show_pairs(source: "Experiment | Catalog | pd.DataFrame", axis: str = "promptExtend", *, limit: int | None = 12,
               path: str | Path | None = None, thumb: int = 256, size: float = 2.6, dpi: float = 110,
               **options: Any) -> "Figure":
    """A matplotlib figure of pairs, A on the left and B on the right, one pair per row, each
    image stamped with its value and the seed the API reported; saved to `path` when given
    (it shows itself in a notebook).
    `source` is an experiment or a frame from `pairs()`; `limit` pairs at most (None: all)."""
    import pandas as pd

    from ..figures.text import LABEL_PT, NOTE_PT, TITLE_PT, line_height, wrap_lines
    from ..figures.panels import ShownFigure, draw_blank, draw_image

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
    lone = int(df.attrs.get("unpaired", 0))
    foot = f"{len(shown)} of {len(df)} pairs" + (f"; {lone} image{'s' if lone > 1 else ''} without a counterpart" if lone else "")
    metric = df.attrs.get("score")  # set when the log holds text scores: frame and stamp each image with its own
    if metric:
        from ..typography.badges import LONG_NAMES, score_label
        from ..typography.draw import score_colour

        foot += f"; frame colour: {LONG_NAMES[metric]} of the text read by OCR (red 0, amber 0.5, green 1, grey not scored)"
    foot_lines = wrap_lines(foot, W - 2 * margin, NOTE_PT)
    title_h = line_height(TITLE_PT) * 2 + 0.25
    H = 2 * margin + title_h + max(1, len(shown)) * (size + gap) + line_height(NOTE_PT) * len(foot_lines)
    fig = ShownFigure(figsize=(W, H), dpi=dpi)  # displays itself in a notebook
    fig.patch.set_facecolor("white")
    fig.text(margin / W, 1 - margin / H, "\n".join(wrap_lines(head, W - 2 * margin, TITLE_PT, max_lines=2)),
             fontsize=TITLE_PT, fontweight="bold", va="top")
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
            frame = None
            if metric:
                text_score = getattr(r, f"score_{side}", None)
                stamp += " · " + score_label(metric, text_score).replace(" ", "\u00a0")
                frame = tuple(c / 255 for c in score_colour(None if pd.isna(text_score) else text_score))
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
    import numpy as np
    from PIL import Image

    from ..errors import ImageError
    from ..store.thumbnails import thumbnail

    if not isinstance(path, str) or not path:
        return None
    try:
        with Image.open(thumbnail(path, thumb)) as img:
            return np.asarray(img.convert("RGB"))
    except (ImageError, OSError) as exc:
        return f"image unreadable: {exc}"


def pair_viewer(experiment: "Experiment | Catalog | pd.DataFrame", axis: str = "promptExtend", *, size: int = 512,
                **options: Any) -> "PairViewer":
    """A notebook widget over the pairs of `axis`: a slider fades from A to B (a toggle jumps to
    either end, Flip swaps), Prev/Next and a pair slider walk the pairs. Needs ipywidgets."""
    from ..widgets.pairviewer import PairViewer

    return PairViewer(experiment, axis, size=size, **options)


def __getattr__(name: str) -> Any:  # PairViewer is imported lazily: it needs ipywidgets
    if name == "PairViewer":
        from ..widgets.pairviewer import PairViewer

        return PairViewer
    raise AttributeError(name)
