"""Pairs of images that differ in one axis only: what did promptExtend (or any two-valued axis) do?

    df = pairs(exp, "promptExtend")          # one row per pair: image_a (on) and image_b (off)
    show_pairs(exp, "promptExtend")          # a static figure: A beside B (qwenlab.figures.pairs)
    pair_viewer(exp, "promptExtend")         # a widget: flip or fade between A and B (qwenlab.widgets.pairviewer)

Two images pair up when every other axis has the same value (so the same prompt, size and
negative prompt), and they share the seed where seeds are pinned, or the repeat index where the
API sampled them (Qwen-Image-2.0-Pro takes no seed: repeat r of "on" pairs with repeat r of
"off"). A cell that failed on either side makes no pair; `df.attrs["unpaired"]` counts them.

Text scores (`qwenlab.typography`) stored in the log come along: `score_a`/`score_b` (word
accuracy, or the metric named by `score=`) and `read_a`/`read_b` (what was misread or missing),
empty for images not scored; the figure frames and stamps each image with its score and the
viewer's caption says it. Nothing here runs OCR.

Where the images came from: `backend_a`/`backend_b` ("emulator", "runware", None where not
recorded), and `df.attrs["provenance"]` (the experiment's: "emulator", "runware", "mixed", ...)
with its `provenance_headline` and `provenance_mark`, which the figure and viewer show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.values import count_of, same_value, switch
from ..errors import UnknownAxisError
from ..store.axes import AXIS_INFO
from ..store.catalog import REPEAT, Catalog, Entry
from ..typography.badges import ScoreBadges, score_badges

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["pairs", "PAIR_COLUMNS"]

PAIR_COLUMNS = ["pair", "axis", "a", "b", "value_a", "value_b", "shared", "match", "repeat", "result", "image_a", "image_b",
                "path_a", "path_b", "seed_a", "seed_b", "task_a", "task_b", "cost_a", "cost_b", "score_a", "score_b", "read_a",
                "read_b", "prompt", "negative_prompt", "prompt_a", "prompt_b", "negative_prompt_a", "negative_prompt_b", "width",
                "height", "width_a", "height_a", "width_b", "height_b", "backend_a", "backend_b"]


def pairs(experiment: "ExperimentRecord | Catalog", axis: str = "promptExtend", values: Sequence[Any] | None = None, *,
          where: Mapping[str, Any] | None = None, include_unpaired: bool = False,
          score: str = "word_accuracy") -> "pd.DataFrame":
    """The image pairs of `axis`, one row each: `image_a`/`path_a`/`seed_a` for the first value,
    `..._b` for the second, every other axis's value, and `shared` (what both have in common).
    `prompt`/`negative_prompt`: what both sides sent, None where they differ (a comparison of two
    runs after a prompt edit, a prompt axis); `prompt_a`/`prompt_b` and `negative_prompt_a`/`_b`:
    each side's. `width`/`height`: the size both sides have, None where they differ (a size
    axis); `width_a`/`height_a` and `width_b`/`height_b`: each side's.

    values: the two values to compare when the axis has more than two (values or labels).
    where: keep only these values of other axes ({"size": "1024x1536"}).
    include_unpaired: also list images whose counterpart is missing (the other side empty).
    score: the stored text score in `score_a`/`score_b` (word_accuracy, ned, sentence_accuracy, correct).
    """
    include_unpaired = switch("include_unpaired", include_unpaired)  # "no" is a true string: checked before the log is read
    catalog = experiment if isinstance(experiment, Catalog) else Catalog.load(experiment)
    if axis is None:  # check_axes passes None (an axis left out of a grid), and catalog.axes[None] was a bare KeyError
        raise UnknownAxisError(f"axis=None: give the axis whose two values to compare, e.g. "
                               f"axis={next((a for a in catalog.axes if a != REPEAT), 'promptExtend')!r}")
    catalog = catalog.where(where)
    catalog.check_axes(axis, repeat=False)  # pairs compare a sweep axis: the message offers no 'repeat'
    if axis == REPEAT:
        raise ValueError("pairs compare the values of a sweep axis; 'repeat' is what pairs are matched on")
    if isinstance(where, Mapping) and axis in where and len(catalog.values(axis)) < 2:
        # the error below then said to pick two values with values=, which where= had filtered out
        raise ValueError(f"where={dict(where)!r} keeps one value of {axis!r}, the axis the pairs compare: leave {axis!r} "
                         f"out of where= (values= picks the two values to compare)")
    a, b = _two_values(catalog, axis, values)
    badges = score_badges(catalog, score)  # from the log: no OCR
    others = [n for n in catalog.axes if n not in (axis, REPEAT)]
    shown = [n for n in others if catalog.axes[n].varies]
    rows: list[dict[str, Any]] = []
    unpaired = 0
    for got in _match_sides(catalog, axis, a, b, others):
        if len(got) < 2:
            unpaired += 1
            if not include_unpaired:
                continue
        rows.append(_pair_row(catalog, axis, (a, b), got.get("a"), got.get("b"), others, shown, badges, len(rows)))
    df = _pairs_frame(rows, others)
    df.attrs.update({"score": score if badges else None, "score_engine": badges.engine, "axis": axis,
                     "score_left_out": badges.left_out,  # images only other engines scored: without a score here
                     "a": catalog.axes[axis].label(a), "b": catalog.axes[axis].label(b),
                     "unpaired": unpaired, "experiment": catalog.name, "experiment_id": catalog.experiment_id,
                     "provenance": catalog.provenance.kind, "provenance_headline": catalog.provenance.headline(),
                     "provenance_mark": catalog.provenance.mark()})
    df.attrs[AXIS_INFO] = {n: catalog.axes[n] for n in others}  # `labelled(df)`: their columns as the views read them
    return df


def _match_sides(catalog: Catalog, axis: str, a: Any, b: Any, others: list[str]) -> list[dict[str, Entry]]:
    """The images that make a pair, in the sweep's order: per match key (every other axis, and
    the seed or repeat) the first image with `axis` = a under "a" and with b under "b". Failed
    cells and other values of `axis` are left out, so a side may be missing."""
    sides: dict[tuple[Any, ...], dict[str, Entry]] = {}  # in the order each key first appears
    for e in catalog.entries:
        if e.failed:
            continue
        side = "a" if same_value(e.value(axis), a) else "b" if same_value(e.value(axis), b) else None
        if side is None:
            continue
        sides.setdefault(_match_key(catalog, e, others), {}).setdefault(side, e)
    return list(sides.values())


def _pair_row(catalog: Catalog, axis: str, values: tuple[Any, Any], ea: Entry | None, eb: Entry | None,
              others: list[str], shown: list[str], badges: ScoreBadges, number: int) -> dict[str, Any]:
    """One row of `pairs`: what the two images share, then each side's image, seed, cost and score."""
    a, b = values
    ref = ea or eb
    assert ref is not None
    pinned = ref.seed_policy == "pin" and ref.requested_seed is not None
    row: dict[str, Any] = {
        "pair": number, "axis": axis, "a": catalog.axes[axis].label(a), "b": catalog.axes[axis].label(b),
        "value_a": a, "value_b": b,
        "shared": " · ".join([catalog.axes[n].tag(ref.value(n)) for n in shown]
                             + [f"seed {ref.requested_seed}" if pinned else f"r{ref.repeat}"]),
        "match": "seed" if pinned else "repeat", "repeat": ref.repeat, "result": ref.result,
        **{n: ref.value(n) for n in others},
        # what both sides sent; None where they differ (two runs compared after a prompt edit, a
        # prompt axis), where side a's prompt read as the pair's: prompt_a/prompt_b say each side's
        "prompt": _shared(ea, eb, "prompt"), "negative_prompt": _shared(ea, eb, "negative_prompt"),
        # on a size axis side a's size read as the pair's: each side's is below, as the prompts'
        "width": _shared(ea, eb, "width"), "height": _shared(ea, eb, "height"),
    }
    for side, e in (("a", ea), ("b", eb)):
        badge = badges.get(e.image_id) if e else None
        row.update({f"image_{side}": e.image_id if e else None, f"path_{side}": e.path if e else None,
                    f"seed_{side}": e.seed if e else None, f"task_{side}": e.task_id if e else None,
                    f"cost_{side}": e.cost_usd if e else None, f"score_{side}": badge.value if badge else None,
                    f"read_{side}": badge.detail if badge else None, f"backend_{side}": e.task.get("backend") if e else None,
                    f"prompt_{side}": e.prompt if e else None, f"negative_prompt_{side}": e.negative_prompt if e else None,
                    f"width_{side}": e.width if e else None, f"height_{side}": e.height if e else None})
    return row


def _shared(ea: Entry | None, eb: Entry | None, field: str) -> Any:
    """The value of `field` (prompt, negative_prompt, width, height) that both sides have, or the one side's
    where a side is missing; None where the two differ."""
    values = [getattr(e, field) for e in (ea, eb) if e is not None]
    return values[0] if all(v == values[0] for v in values) else None


def _pairs_frame(rows: list[dict[str, Any]], others: list[str]) -> "pd.DataFrame":
    """The rows as a DataFrame: PAIR_COLUMNS with the other axes after `value_b`; ids as nullable
    integers and scores as floats, even with no rows or no scores."""
    import pandas as pd

    columns = list(dict.fromkeys([*PAIR_COLUMNS[:10], *others, *PAIR_COLUMNS[10:]]))
    df = pd.DataFrame(rows, columns=columns)
    for col in ("image_a", "image_b", "task_a", "task_b", "seed_a", "seed_b", "width", "height", "width_a", "height_a",
                "width_b", "height_b"):
        df[col] = df[col].astype("Int64")
    df["score_a"], df["score_b"] = df["score_a"].astype(float), df["score_b"].astype(float)
    return df


def _two_values(catalog: Catalog, axis: str, values: Sequence[Any] | None) -> tuple[Any, Any]:
    info = catalog.axes[axis]
    if values is not None:
        example = f"values=({', '.join(repr(info.label(v)) for v in info.values[:2])})"
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            # a string is a sequence too: "on" was read as the values 'o' and 'n'
            raise ValueError(f"values= takes the two values of {axis!r} to compare as a pair, e.g. {example}; got {values!r}")
        values = list(values)  # a tuple, a list, an array, a Series
        if len(values) != 2:
            raise ValueError(f"values= takes the two values of {axis!r} to compare, got {len(values)}")
        a, b = catalog.resolve(axis, values[0]), catalog.resolve(axis, values[1])
        if same_value(a, b):
            # one value on both sides pairs nothing: every image read as unpaired, judging offered no pair
            raise ValueError(f"values={tuple(values)!r} names one value twice ({info.label(a)}); give two different values "
                             f"of {axis!r}, e.g. {example}")
        return a, b
    present = catalog.values(axis)
    if len(present) != 2:
        raise ValueError(f"axis {axis!r} has {count_of(len(present), 'value')} in view ({', '.join(info.label(v) for v in present)}); "
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
