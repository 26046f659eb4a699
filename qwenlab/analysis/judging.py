"""Blind judging of one axis, and each value's win rate with a confidence interval.

    j = exp.judge("promptExtend")       # the widget (qwenlab.widgets.judging)
    win_rates(exp, "promptExtend")      # DataFrame: judgements, wins, losses, ties, rate, interval
    print(summary(exp, "promptExtend")) # overall: promptExtend=on wins 62% [47%, 76%] of 40 judgements ...
    win_rates(exp, "promptExtend", criterion="text correct")   # the judgements of one criterion only

The widget shows pairs of images that share every other setting (`qwenlab.analysis.pairs`) in a random
order, each pair's sides swapped at random, with every label hidden: the judge sees two images
and says which is better, or that they tie. Each answer is written to the log's `judgements`
table at once (image_a is the image shown left, image_b the one shown right, winner 'a', 'b' or
'tie'), so judging can stop any time and go on later: pairs already judged are not shown again.

Criteria. Each judgement says what was judged: "overall" (the default), "text correct" (is the
text the prompt asked for spelled right?) or a name of the user's own. Win rates are counted per
criterion, never across them: a judge may prefer one image overall and the other for its text.
Judgements recorded before criteria existed read as "overall".

Undo. `undo_judgement` removes one judgement from the log (the widget's undo walks back its own
judgements, last first, and shows each pair again).

Win rates. A value's judgements are those where one image has it and the other another value,
and every other setting the same (and, where seeds are pinned, the seed). `record_judgement`
refuses any other pair; one recorded by hand before it did is left out of every count, in the
`left_out` column and each sentence ("1 judgement left out, its images differ in another setting
too"), and `confounded(exp, axis)` lists them, each saying what else differs.
A pair judged again (`rejudge=True`) counts once, by its latest judgement: the earlier ones stay
in the log, but counted too they would make one comparison weigh twice and the interval narrower
than the pairs seen allow. By default a tie counts as half a win and half a loss (`ties="half"`), so the rate is
(wins + ties/2) / judgements; `ties="exclude"` drops ties and uses wins / (wins + losses). The
interval is Wilson's score interval (95% by default), which stays inside [0, 1] and behaves on
small counts, where the plain p ± z·se does not. Sentences print its bounds as whole percents rounded
outward (low down, high up), so the interval printed holds the one computed: "[49%, 92%]" for 10
wins of 13, whose interval [0.497, 0.918] holds 50%, not "[50%, 92%]".

Text scores stay hidden while a pair is judged. Where the log holds text scores
(`qwenlab.typography`), showing them beside the images would tell the judge which image the OCR
preferred and bias the very judgement being measured. So the widget shows a pair's scores only
after its judgement is recorded (a line under the buttons about the pair just judged, without
its axis values), and in the results view: each value's text score with its interval, and how
often the judge preferred the image whose text read better. The widget never runs OCR.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Collection, Mapping

from ..core.intervals import bounds_percent, check_confidence, percent, wilson_interval
from ..errors import JudgementError
from ..secrets import holds_secret
from ..store.catalog import REPEAT, Catalog
from ..store.ratings import DEFAULT_CRITERION

if TYPE_CHECKING:
    import pandas as pd

    from ..store.experiment import ExperimentRecord

__all__ = ["record_judgement", "undo_judgement", "confounded", "image_values", "image_settings", "win_rates", "summary", "judgements", "latest_per_pair", "criteria",
           "check_criterion", "wilson_interval", "TIES", "WINNERS", "CRITERIA", "DEFAULT_CRITERION"]

TIES = ("half", "exclude")
WINNERS = ("a", "b", "tie")
CRITERIA = (DEFAULT_CRITERION, "text correct")  # the named ones; any other short name is the user's own
_MAX_CRITERION_CHARS = 60


# -- the maths ------------------------------------------------------------------------------------
def win_rates(exp: "ExperimentRecord", axis: str, *, criterion: str | None = None, ties: str = "half",
              confidence: float = 0.95, images: Collection[int] | None = None) -> "pd.DataFrame":
    """Each value of `axis`, per criterion: judgements, wins, losses, ties, win_rate and its Wilson
    interval (ci_low, ci_high), from the log's judgements of this experiment along this axis.

    criterion: count only the judgements of this criterion ("overall", "text correct", ...);
    None (default): every criterion judged along this axis, each counted apart ("overall" alone
    when nothing is judged yet). ties: "half" (a tie is half a win) or "exclude" (ties left out of
    the rate and the count). images: count only the judgements of two of these image ids (a
    report of part of an experiment). The frame's `attrs` hold `ties`, `confidence`,
    `sentences` (one line per criterion and value), `values` (each row's value as the sweep gives
    it: True where `value`, its label, reads "on"), and `confounded`: the judgements left out
    because their images differ in another setting too (see `confounded`), which `left_out`
    counts per value and each sentence names."""
    import pandas as pd

    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    # judged before the data: with nothing judged yet no interval is computed, and 95 (a percent)
    # went unnoticed behind "no judgements yet"
    confidence = check_confidence(confidence)
    catalog = catalog_for(exp, axis)
    value_of = image_values(catalog, axis)
    recorded = judgements(exp, axis, None if criterion is None else check_criterion(criterion))
    if images is not None:
        kept = {int(i) for i in images}
        recorded = [j for j in recorded if int(j["image_a"]) in kept and int(j["image_b"]) in kept]
    # judgements recorded before record_judgement refused them (two images differing in another
    # setting too) are no verdict on `axis`: left out of every count, and said so
    recorded, left_out = _split_confounded(recorded, image_settings(catalog, axis))
    judged = latest_per_pair(recorded)
    names = [check_criterion(criterion)] if criterion is not None else criteria(judged + left_out)
    rows = []
    for name in names:
        rows += _value_rows(catalog, axis, name, [j for j in judged if j["criterion"] == name], value_of, ties, confidence,
                            [j for j in left_out if j["criterion"] == name])
    frame = pd.DataFrame(rows, columns=["criterion", "axis", "value", "judgements", "wins", "losses", "ties", "win_rate",
                                        "ci_low", "ci_high", "left_out"])
    again = {name: sum(1 for j in recorded if j["criterion"] == name) - sum(1 for j in judged if j["criterion"] == name)
             for name in names}
    # each row's value as the sweep gives it (True where `value` reads "on"): what a script
    # matches against the sweep (`qwenlab judgements --json`), where a table shows the label
    frame.attrs.update(ties=ties, confidence=confidence, judged_again=again, confounded=left_out,
                       sentences=[_sentence(r, ties, confidence, again.get(r["criterion"], 0)) for r in rows],
                       values=[r["as_swept"] for r in rows])
    return frame


def confounded(exp: "ExperimentRecord", axis: str, criterion: str | None = None) -> list[dict[str, Any]]:
    """The log's judgements along `axis` (of one criterion, or of all) that win rates leave out:
    their two images differ in another setting too (or, where seeds are pinned, in the seed), so
    the verdict is no verdict on `axis` alone. Recorded by hand before `record_judgement` refused
    such pairs; each as `judgements` reads it, with `differs` saying what else differs
    ("outputQuality (60 against 61)"), oldest first."""
    catalog = catalog_for(exp, axis)
    recorded = judgements(exp, axis, None if criterion is None else check_criterion(criterion))
    return _split_confounded(recorded, image_settings(catalog, axis))[1]


def _split_confounded(recorded: list[dict[str, Any]], settings: Mapping[int, Mapping[str, tuple[Any, str]]]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the judgements whose images differ in `axis` alone, the others each with `differs`);
    a judgement of an image no longer in the experiment is kept here (win rates skip it anyway)."""
    kept, left_out = [], []
    for j in recorded:
        a, b = int(j["image_a"]), int(j["image_b"])
        differ = _differences(settings[a], settings[b]) if a in settings and b in settings else []
        if differ:
            left_out.append({**j, "differs": ", ".join(differ)})
        else:
            kept.append(j)
    return kept, left_out


def _differences(sa: Mapping[str, tuple[Any, str]], sb: Mapping[str, tuple[Any, str]]) -> list[str]:
    """What differs between two images' other settings (`image_settings`), each as "name (x against y)"."""
    return [f"{'the seed' if n == _SEED else n} ({sa.get(n, (None, '-'))[1]} against {sb.get(n, (None, '-'))[1]})"
            for n in dict.fromkeys([*sa, *sb]) if sa.get(n, (None,))[0] != sb.get(n, (None,))[0]]


def latest_per_pair(judged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of judgements oldest first, each pair's latest per criterion (whichever side each image
    was shown on), in the order of those latest ones."""
    latest: dict[tuple[frozenset[int], str], dict[str, Any]] = {}
    for j in judged:
        key = (frozenset((int(j["image_a"]), int(j["image_b"]))), j["criterion"])
        latest.pop(key, None)  # re-inserted: the order is that of the latest judgements
        latest[key] = j
    return list(latest.values())


def _value_rows(catalog: Catalog, axis: str, criterion: str, judged: list[dict[str, Any]],
                value_of: dict[int, tuple[Any, Any]], ties: str, confidence: float,
                left_out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of `win_rates` for one criterion: each value's counts, rate and interval, and how
    many of its judgements were left out (`left_out`: confounded with another setting)."""
    info = catalog.axes[axis]
    counts: dict[Any, dict[str, int]] = {i: {"wins": 0, "losses": 0, "ties": 0, "left_out": 0} for i in range(len(info.values))}
    shown: dict[Any, Any] = dict(enumerate(info.values))
    for j in left_out:
        for image in (int(j["image_a"]), int(j["image_b"])):
            k, v = value_of.get(image, (None, None))
            if k is not None:
                counts.setdefault(k, {"wins": 0, "losses": 0, "ties": 0, "left_out": 0})["left_out"] += 1
                shown.setdefault(k, v)
    for j in judged:
        (ka, va), (kb, vb) = value_of.get(int(j["image_a"]), (None, None)), value_of.get(int(j["image_b"]), (None, None))
        if ka is None or kb is None or ka == kb:
            continue  # an image no longer in the experiment, or not a comparison along this axis
        for k, v in ((ka, va), (kb, vb)):  # a value the sweep does not list (an extended sweep)
            counts.setdefault(k, {"wins": 0, "losses": 0, "ties": 0, "left_out": 0})
            shown.setdefault(k, v)
        if j["winner"] == "tie":
            counts[ka]["ties"] += 1
            counts[kb]["ties"] += 1
        else:
            win, lose = (ka, kb) if j["winner"] == "a" else (kb, ka)
            counts[win]["wins"] += 1
            counts[lose]["losses"] += 1
    rows = []
    for key, c in counts.items():
        w, lost, t = c["wins"], c["losses"], c["ties"]
        n = w + lost + t if ties == "half" else w + lost
        s = w + t / 2 if ties == "half" else w
        lo, hi = wilson_interval(s, n, confidence)
        rows.append({"criterion": criterion, "axis": axis, "value": info.label(shown[key]), "as_swept": shown[key], "judgements": n, "wins": w,
                     "losses": lost, "ties": t, "win_rate": s / n if n else math.nan, "ci_low": lo, "ci_high": hi,
                     "left_out": c["left_out"]})
    return rows


def summary(exp: "ExperimentRecord", axis: str, *, criterion: str | None = None, ties: str = "half",
            confidence: float = 0.95) -> str:
    """One sentence per criterion and value, e.g.
    "text correct: promptExtend=on wins 62% [47%, 76%] of 40 judgements (...)"."""
    return "\n".join(win_rates(exp, axis, criterion=criterion, ties=ties, confidence=confidence).attrs["sentences"])


def _sentence(row: dict[str, Any], ties: str, confidence: float, judged_again: int = 0) -> str:
    name = f"{row['criterion']}: {row['axis']}={row['value']}"
    n_out = row.get("left_out", 0)
    # confounded judgements (`confounded`) are in the log but not in the rate: the sentence says so
    out = (f"{_count(n_out, 'judgement')} left out, {'its images differ' if n_out == 1 else 'their images differ'} in "
           f"another setting too (see qwenlab.analysis.judging.confounded(exp, {row['axis']!r}))") if n_out else ""
    if not row["judgements"]:
        if row["ties"]:
            return f"{name}: {_count(row['ties'], 'tie')} only, which ties='exclude' leaves out of the rate" + \
                (f"; {out}" if out else "")
        return f"{name}: no judgements counted; {out}" if out else f"{name}: no judgements yet"
    how = "ties counted as half" if ties == "half" else "ties excluded"
    again = f"; {_count(judged_again, 'earlier judgement')} of pairs judged again not counted" if judged_again else ""
    low, high = bounds_percent(row["ci_low"], row["ci_high"])  # outward: whether it holds 50% reads right
    return (f"{name} wins {row['win_rate']:.0%} [{low}, {high}] of "
            f"{_count(row['judgements'], 'judgement')} ({how}; {row['wins']} won, {row['losses']} lost, {row['ties']} tied; "
            f"{percent(confidence)} Wilson interval{again}{'; ' + out if out else ''})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# -- recording ------------------------------------------------------------------------------------
def record_judgement(exp: "ExperimentRecord", axis: str, image_a: int, image_b: int, winner: str,
                     criterion: str = DEFAULT_CRITERION, *, values: Mapping[int, tuple[Any, Any]] | None = None,
                     settings: Mapping[int, Mapping[str, tuple[Any, str]]] | None = None) -> int:
    """Record that `winner` ('a', 'b' or 'tie') of images `image_a` and `image_b` is better,
    along `axis`, on `criterion` ("overall", "text correct" or a short name of your own);
    returns the judgement's id. The two images must be of this experiment and differ in that axis
    alone (as the pairs of `qwenlab.analysis.pairs.pairs` do): the same other settings, and the
    same seed where seeds are pinned.
    values, settings: the images' values on `axis` and their other settings, as `image_values`
    and `image_settings` give them, where the caller holds them (the judging widget, at each
    click: reading the experiment again took 0.1 s at 2,000 images)."""
    if winner not in WINNERS:
        raise JudgementError(f"winner must be 'a' (image_a is better), 'b' (image_b is better) or 'tie', got {winner!r}")
    for name, image in (("image_a", image_a), ("image_b", image_b)):
        # int() took 1.5 for image 1 and answered "abc" with int()'s own ValueError, naming nothing
        if isinstance(image, bool) or not isinstance(image, numbers.Integral):
            raise JudgementError(f"{name}: give an image's id, a whole number from exp.images['image_id'] (or "
                                 f"qwenlab.analysis.pairs.pairs(exp, {axis!r})['{name}']), not {image!r}")
    criterion = check_criterion(criterion)
    if values is None or settings is None:
        catalog = catalog_for(exp, axis)
        values = values if values is not None else image_values(catalog, axis)
        settings = settings if settings is not None else image_settings(catalog, axis)
    for name, image in (("image_a", image_a), ("image_b", image_b)):
        if int(image) not in values:
            raise JudgementError(f"{name}={image} is not an image of experiment {exp.name!r}; use ids from exp.images")
    if values[int(image_a)][0] == values[int(image_b)][0]:
        raise JudgementError(f"images {image_a} and {image_b} have the same {axis}; a judgement along {axis!r} "
                             "compares two different values (take pairs from qwenlab.analysis.pairs.pairs)")
    # a verdict on two images that differ in another setting too is no verdict on `axis`: it
    # would count in the axis's win rate, confounded (the widget offers no such pair)
    sa, sb = settings.get(int(image_a), {}), settings.get(int(image_b), {})
    differ = _differences(sa, sb)
    if differ:
        raise JudgementError(f"images {image_a} and {image_b} differ in {', '.join(differ)} as well as in {axis}: a judgement "
                             f"along {axis!r} compares images that differ in it alone; take pairs from "
                             f"qwenlab.analysis.pairs.pairs(exp, {axis!r}) (its image_a and image_b)")
    return exp.log.judge(exp.id, axis, int(image_a), int(image_b), winner, criterion)


def undo_judgement(exp: "ExperimentRecord", judgement_id: int) -> dict[str, Any]:
    """Remove one judgement of this experiment from the log; returns it (as `judgements` reads it)."""
    if isinstance(judgement_id, bool) or not isinstance(judgement_id, numbers.Integral):
        raise JudgementError(f"judgement_id: give a judgement's id, a whole number (record_judgement returns it; "
                             f"qwenlab.analysis.judging.judgements(exp, axis) lists them), not {judgement_id!r}")
    mine = {int(j["id"]) for j in exp.log.judgements(exp.id)}
    if int(judgement_id) not in mine:
        raise JudgementError(f"judgement_id={judgement_id} is not a judgement of experiment {exp.name!r}; "
                             "take ids from qwenlab.analysis.judging.judgements(exp, axis)")
    removed = exp.log.delete_judgement(int(judgement_id))
    assert removed is not None  # it was there a moment ago, and only an undo deletes
    return removed


def check_criterion(criterion: Any) -> str:
    """The criterion's name, stripped; JudgementError unless it is a short one-line string."""
    if not isinstance(criterion, str) or not criterion.strip() or len(criterion.strip()) > _MAX_CRITERION_CHARS \
            or "\n" in criterion.strip():
        raise JudgementError(f"criterion must be a short name on one line ({' or '.join(map(repr, CRITERIA))}, or your own "
                             f"of at most {_MAX_CRITERION_CHARS} characters), got {criterion!r}")
    if holds_secret(criterion):  # checked here, as the widget opens: it shows the criterion, and the log refuses it
        raise JudgementError("criterion: holds your Runware API key; take it out (the judging widget shows it, and each "
                             "judgement keeps it in the log, its bundles and `qwenlab judgements`)")
    return criterion.strip()


def criteria(judged: list[dict[str, Any]]) -> list[str]:
    """The criteria of these judgements: the named ones first (`CRITERIA`' order), then the
    user's own in the order first judged; ["overall"] when there are none."""
    seen = list(dict.fromkeys(j["criterion"] for j in judged))
    return [c for c in CRITERIA if c in seen] + [c for c in seen if c not in CRITERIA] or [DEFAULT_CRITERION]


def catalog_for(exp: "ExperimentRecord", axis: str) -> Catalog:
    """The experiment's catalog; JudgementError, with the fix, unless `axis` is one of its axes
    (not the repeat)."""
    catalog = Catalog.load(exp)
    names = [a for a in catalog.axes if a != REPEAT]
    if not isinstance(axis, str):  # a list met the axes' dict as "unhashable type: 'list'", naming nothing
        raise JudgementError(f"axis={axis!r}: give one axis name as a string, e.g. axis={(names or ['promptExtend'])[0]!r}")
    if axis not in names:
        if not names:  # "its axes: " and nothing after it
            raise JudgementError(f"{axis!r} is not an axis of experiment {exp.name!r}, which has none (one setting, no sweep "
                                 "axis): judging compares two values of an axis; run a sweep with one, e.g. "
                                 "axes={'promptExtend': [True, False]}")
        raise JudgementError(f"{axis!r} is not an axis of experiment {exp.name!r}; its axes: {', '.join(names)}")
    return catalog


def image_values(catalog: Catalog, axis: str) -> dict[int, tuple[Any, Any]]:
    """image id -> (a key of its value on `axis`: the value's place in the sweep, and the value)."""
    info = catalog.axes[axis]
    out = {}
    for e in catalog.entries:
        if e.image_id is not None:
            v = e.value(axis)
            i = info.index(v)
            out[int(e.image_id)] = (i if i is not None else repr(v), v)
    return out


_SEED = "seed"  # the pinned seed's place among an image's settings (a sweep axis is named otherwise: its values say it)


def image_settings(catalog: Catalog, axis: str) -> dict[int, dict[str, tuple[Any, str]]]:
    """image id -> {each other setting: (a key to compare, its label)}: the value of every axis
    but `axis` and the repeat, and the seed where seeds are pinned (what `pairs` matches on)."""
    others = [n for n in catalog.axes if n not in (axis, REPEAT)]
    out: dict[int, dict[str, tuple[Any, str]]] = {}
    for e in catalog.entries:
        if e.image_id is None:
            continue
        own: dict[str, tuple[Any, str]] = {}
        for n in others:
            info, v = catalog.axes[n], e.value(n)
            i = info.index(v)
            own[n] = (i if i is not None else repr(v), info.label(v))
        if e.seed_policy == "pin" and e.requested_seed is not None and _SEED not in own:
            own[_SEED] = (int(e.requested_seed), str(e.requested_seed))
        out[int(e.image_id)] = own
    return out


def judgements(exp: "ExperimentRecord", axis: str, criterion: str | None = None) -> list[dict[str, Any]]:
    """The log's judgements of this experiment along `axis` (of one criterion, or of all), oldest first."""
    return exp.log.judgements(exp.id, axis, criterion)
