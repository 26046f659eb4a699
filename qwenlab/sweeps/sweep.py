"""A sweep: a base request plus axes, expanded into cells, each with its exact request and cost.

    sweep = Sweep(
        prompt="A premium beauty poster for a skincare brand called 'LUMIERE' ...",
        axes={"promptExtend": [True, False],
              "size": ["1024x1536", "1536x1024"],
              "negativePrompt": [None, "blurry text, misspelled words"]},   # None: not sent
        repeats=2,
    )
    sweep.plan()        # a DataFrame: every cell, its request JSON and estimated cost; nothing sent

Axes combine as a full grid (`mode="grid"`) or side by side (`mode="zip"`); `repeats` runs each
cell that many times. Cells are ordered repeat by repeat, so a sweep stopped by its budget has
covered every combination once before it repeats any.

Seeds. `seed_policy="pin"` sends `seed` (repeat r of every cell gets the same seed, so cells are
comparable); `"sample"` sends none and records the seed each result reports; `"auto"` pins where
the model declares `seed` and samples elsewhere. Qwen-Image-2.0-Pro declares no seed, so `auto`
samples there, and `pin` (or a seed given with `seed=` or a seed axis) is refused unless
`force_seed=True` (and even then the request is refused before it is sent, with an explanation,
until the model's description declares `seed`). A seed given with `seed_policy="sample"` is refused
too: it would not be sent.

Local reference images (`referenceImages=["poster.png"]`) are uploaded once per run by the Lab;
the plan and the cell identity use their content hash, so a rerun finds the same cells.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Sequence

from ..api.imagestore import ImageStore
from ..api.uploads import upload_bytes
from ..core.model import DEFAULT_MODEL
from ..core.request import Request, keyword_paths
from ..core.values import count_of, plain
from ..errors import ImageError, ValidationError
from ..problems import Problem
from .axis import Axis
from .cell import REF_PATHS as _REF_PATHS
from .cell import Cell, LocalImage
from .plan import SweepPlan
from .plan import description_of as _desc

# the most cells one sweep lays out: 100,000 images are $7,500 at $0.075 (an experiment can be
# extended by further sweeps); a typo such as repeats=100000000 is refused, not allocated
MAX_CELLS = 100_000

__all__ = ["Sweep", "Cell", "LocalImage", "SEED_POLICIES", "listed_values"]

SEED_POLICIES = ("auto", "pin", "sample")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")

# what lab.run takes beside the sweep; a sweep file sets the first four at its top (sweepfile.py)
FILE_SETTINGS = frozenset({"name", "budget_usd", "concurrency", "notes"})
RUN_SETTINGS = FILE_SETTINGS | {"extend", "mix_backends", "resend_in_doubt", "progress", "confirm"}


class Sweep(SweepPlan):
    """A base request plus axes. Build it, look at `plan()`, then `Lab().run(sweep, name=...)`.

    prompt, model, `**params`: the base request (any parameter of the model, by name or wire
    path; `size="1024x1536"`), or `base=` a Request / pasted task JSON to start from.
    axes: axis name -> values (see `qwenlab.sweeps.axis` for names and kinds).
    mode: "grid" (every combination) or "zip" (the i-th values together).
    repeats: how many times each cell runs.
    seed_policy: "auto" | "pin" | "sample"; `seed` the first pinned seed (repeat r gets seed + r)
    or a list of distinct seeds, one per repeat (refused, as `pin` is, on a model that declares no
    seed; and beside a seed axis, whose values are the seeds sent, as are repeats > 1 there);
    `force_seed=True` pins on a model without `seed`.

    Its plan (`plan()`, `notes()`, `estimated_cost`) it inherits from `SweepPlan` (plan.py).
    """

    def __init__(self, prompt: str | None = None, model: str | None = None, axes: Mapping[str, Any] | None = None, *,
                 repeats: int = 1, mode: str = "grid", seed_policy: str = "auto", seed: int | Sequence[int] | None = None,
                 force_seed: bool = False, base: Request | Mapping[str, Any] | str | None = None, **params: Any) -> None:
        self._problems: list[Problem] = []
        for setting in RUN_SETTINGS.intersection(params):
            # a run's setting given to the sweep read "is not a parameter of the model" with the
            # model's whole list, which does not say where it goes
            value = params.pop(setting)
            shown = repr(value) if isinstance(value, (int, float)) else "..."  # never echo text: it may be a key
            in_file = f" (in a sweep file, a line {setting} = ... above [axes])" if setting in FILE_SETTINGS else ""
            self._problems.append(Problem(setting, f"is a run setting, not a request's: give it to the run, e.g. "
                                                   f"lab.run(sweep, {setting}={shown}){in_file}", value))
        # several values given as the base request's one (promptExtend=[True, False]): the fix is an axis
        model_id = model if model is not None else base.model_id if isinstance(base, Request) else DEFAULT_MODEL
        self._listed = listed_values(prompt, params, _desc(model_id) if isinstance(model_id, str) else None)
        for name in self._listed:
            self._problems.append(_listed_problem(name))
            if name == "prompt":
                prompt = None
            else:
                params.pop(name)
        # what was given to the sweep itself (not in base=), by keyword: an axis that sets the same
        # parameter leaves it sent by no cell, which the plan says (`SweepPlan.unused_given`)
        # (not model: the base model's description reads the parameters, beside a model axis too)
        self.given = [k for k, v in params.items() if v is not None] + ["prompt"] * (prompt is not None)
        if base is not None:
            req = base if isinstance(base, Request) else Request.from_json(base)
            changes = dict(params)
            if prompt is not None:
                changes["prompt"] = prompt  # set last: it wins over a positivePrompt given beside it
            if model is not None:
                changes["model"] = model
            req = req.replace(**changes) if changes else req
        else:
            # None is the default model; "" is not (it is refused by the request's rules, naming the fix)
            req = Request(DEFAULT_MODEL if model is None else model, prompt, **params)
        self.base = req
        self.mode = mode
        # a numpy integer (df["n"].max(), np.arange) is the whole number it holds, as in a request
        self.repeats = plain(repeats)
        self.seed_policy = seed_policy
        self.seed = [plain(v) for v in seed] if isinstance(seed, (list, tuple)) else plain(seed)
        self.force_seed = force_seed
        self.axes: list[Axis] = []
        if axes is not None and not isinstance(axes, Mapping):
            raise TypeError(f"axes must be a dict of axis name -> values, got {type(axes).__name__}")
        for name, spec in (axes or {}).items():
            axis, problems = Axis.build(str(name), spec, req)
            self.axes.append(axis)
            self._problems.extend(problems)
        self._local: dict[str, LocalImage] = {}
        self._local_problems: dict[str, str] = {}  # a local reference image that cannot be uploaded -> why
        self._cells: list[Cell] | None = None
        self.notes_said: set[str] = set()

    # -- describing ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        axes = ", ".join(f"{a.name}[{len(a.values)}]" for a in self.axes) or "no axes"
        return f"Sweep({self.base.model_id!r}, {axes}, mode={self.mode!r}, repeats={self.repeats}, seed_policy={self.seed_policy!r})"

    @property
    def models(self) -> list[str]:
        """Every model a cell may use (the base model and a model axis's values)."""
        out = [self.base.model_id]
        for a in self.axes:
            if a.kind == "model":
                out.extend(str(v) for v in a.values)
            elif a.kind == "request":
                out.extend(v.model_id for v in a.values)
        return list(dict.fromkeys(out))

    def to_dict(self) -> dict[str, Any]:
        """The sweep as given, as JSON-able data (the log's `experiments.sweep_json`)."""
        base = self.base.to_task()
        base.pop("taskUUID", None)
        return {
            "model": self.base.model_id, "base": _jsonable(base), "mode": self.mode, "repeats": self.repeats,
            "seed_policy": self.seed_policy, "seed": self.seed, "force_seed": self.force_seed,
            "axes": {a.name: {"kind": a.kind, "labels": list(a.labels),
                              "values": [_jsonable(a.json_value(i) if a.kind in ("request", "bundle") else v)
                                         for i, v in enumerate(a.values)]} for a in self.axes},
        }

    def axes_labels(self) -> dict[str, list[str]]:
        """Axis name -> the labels of its values (the log's `experiments.axes_json`)."""
        return {a.name: list(a.labels) for a in self.axes}

    def fingerprint(self) -> str:
        """A hash of the cells' identities: equal for sweeps that would send the same cells."""
        return hashlib.sha256("\n".join(sorted(c.key for c in self.cells())).encode()).hexdigest()[:16]

    def default_name(self) -> str:
        """A name for an experiment run without one: the same sweep gets the same name."""
        return f"sweep-{self.fingerprint()[:10]}"

    # -- expanding ---------------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """Every problem in the sweep and its cells (empty when every cell is valid)."""
        try:
            self.cells()
        except ValidationError as exc:
            return exc.problems
        return []

    def cells(self) -> list[Cell]:
        """Every cell, validated; raises one ValidationError listing every problem in every cell."""
        if self._cells is not None:
            return self._cells
        problems = list(self._problems) + self._setting_problems()
        if any(p.parameter in ("mode", "repeats", "seed") for p in problems):
            raise ValidationError(problems, context="sweep")  # the cells cannot be laid out
        cells: list[Cell] = []
        per_cell: dict[tuple[str, str], list[int]] = {}
        combos = self._combos()
        order = sorted(range(len(self.axes)), key=lambda i: self.axes[i].order)
        for repeat in range(self.repeats):
            for combo in combos:
                req = self.base
                for i in order:
                    axis = self.axes[i]
                    for p in axis.problems_with(req):
                        per_cell.setdefault((p.parameter, p.message), []).append(len(cells))
                    try:
                        req = axis.apply(req, axis.values[combo[i]])
                    except ValidationError as exc:  # its problems, not its text: that is a whole report
                        for p in exc.problems:
                            per_cell.setdefault((p.parameter, p.message), []).append(len(cells))
                    except (ValueError, TypeError) as exc:
                        per_cell.setdefault((axis.name, str(exc)), []).append(len(cells))
                cells.append(self._cell(len(cells), combo, repeat, req, per_cell))
        seen = {(p.parameter, p.message) for p in problems}
        # a parameter given several values was left out of the base request: its "is required" is no news
        left_out = {path for name in self._listed for path in (name, *keyword_paths(name, _desc(self.base.model_id)))}
        problems += self._grouped({k: v for k, v in per_cell.items() if k not in seen and k[0] not in left_out}, cells)
        if not problems:  # a cell left as it was by a refused value is no twin worth naming
            problems += self._twins(cells)
        if problems:
            raise ValidationError(problems, context="sweep")
        self._cells = cells
        return cells

    def _twins(self, cells: list[Cell]) -> list[Problem]:
        """Cells that send the same request in the same repeat, under different labels: an axis
        whose values another axis overrides (a bundle setting promptExtend beside a promptExtend
        axis, `prompt` beside `positivePrompt`), or a value that changes nothing in some cells (a
        bundle removing the negativePrompt of a request axis's value that has none). The log keeps
        one cell per request, so the plan counted and priced cells the run never made, and one
        label's images stood for another's."""
        first: dict[str, Cell] = {}
        found: dict[str, tuple[int, Cell, Cell]] = {}  # the axes that differ -> how many twins, the first pair
        for cell in cells:
            twin = first.setdefault(cell.key, cell)
            if twin is cell:
                continue
            names = ", ".join(a.name for a in self.axes if cell.labels[a.name] != twin.labels[a.name])
            count, a, b = found.get(names, (0, twin, cell))
            found[names] = (count + 1, a, b)
        return [Problem(names, f"changes nothing in {count_of(count, 'cell')}: cell {b.index} ({b.label()}) would send the "
                               f"same request as cell {a.index} ({a.label()}), so the run would make one image where the "
                               "plan shows two, one label standing for the other. Where another axis sets the same "
                               "parameter after it, drop one of the two axes or the parameter from one of them; where a "
                               "value sets what a cell's request has already (no negativePrompt to remove), split the "
                               "sweep so that each value changes every request")
                for names, (count, a, b) in found.items()]

    def _combos(self) -> list[tuple[int, ...]]:
        import itertools

        if not self.axes:
            return [()]
        ranges = [range(len(a.values)) for a in self.axes]
        if self.mode == "zip":
            return list(zip(*ranges))
        return list(itertools.product(*ranges))

    def _setting_problems(self) -> list[Problem]:
        out = []
        if self.mode not in ("grid", "zip"):
            out.append(Problem("mode", f"{self.mode!r} is not a mode; use 'grid' (every combination) or 'zip' (values side by side)"))
        elif self.mode == "zip" and len({len(a.values) for a in self.axes}) > 1:
            sizes = ", ".join(f"{a.name}: {len(a.values)}" for a in self.axes)
            out.append(Problem("mode", f"'zip' needs axes of equal length ({sizes}); use mode='grid' or even them out"))
        if not isinstance(self.repeats, int) or isinstance(self.repeats, bool) or self.repeats < 1:
            out.append(Problem("repeats", f"must be a whole number of at least 1, got {self.repeats!r}"))
        else:
            combos = 1 if not self.axes else (len(self.axes[0].values) if self.mode == "zip"
                                               else math.prod(len(a.values) for a in self.axes))
            if combos * self.repeats > MAX_CELLS:  # a typo (repeats=1000000) must fail, not lay out a million cells
                out.append(Problem("repeats" if self.repeats > 1 else "axes",
                                   f"{combos:,} combination{'s' if combos != 1 else ''} x {self.repeats:,} repeat"
                                   f"{'s' if self.repeats != 1 else ''} is {combos * self.repeats:,} cells, more than the "
                                   f"{MAX_CELLS:,} a sweep may hold; split it into several sweeps (an experiment can be "
                                   "extended)"))
        if not isinstance(self.force_seed, bool):  # force_seed = "false" in a sweep file is a true string
            out.append(Problem("force_seed", f"must be true or false (True or False in Python), got {self.force_seed!r}"))
        if self.seed_policy not in SEED_POLICIES:
            out.append(Problem("seed_policy", f"{self.seed_policy!r} is not a seed policy; use 'auto', 'pin' or 'sample'"))
        seeds = list(self.seed) if isinstance(self.seed, (list, tuple)) else [] if self.seed is None else [self.seed]
        if any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
            out.append(Problem("seed", f"must be a whole number (the seed of repeat 0; repeat r gets seed + r) or a list of "
                                       f"whole numbers, one per repeat; got {self.seed!r}"))
        elif isinstance(self.seed, (list, tuple)) and isinstance(self.repeats, int) and len(self.seed) != self.repeats:
            # more seeds than repeats: the last were never sent, without a word
            out.append(Problem("seed", f"gives {count_of(len(self.seed), 'seed')} for {count_of(self.repeats, 'repeat')}; "
                                       f"give one per repeat (or repeats={len(self.seed)})"))
        elif isinstance(self.seed, (list, tuple)) and len(set(self.seed)) < len(self.seed):
            again = next(s for i, s in enumerate(self.seed) if s in self.seed[:i])
            out.append(Problem("seed", f"gives seed {again} more than once: two repeats with one seed send the same request, "
                                       "and the same image is paid for twice; give each repeat a seed of its own"))
        names = [a.name for a in self.axes]
        if "seed" in names and self.seed is not None:
            # the axis's seeds are the ones sent: seed= was dropped without a word
            out.append(Problem("seed", f"seed={self.seed!r} is given beside a seed axis, whose values are the seeds sent, "
                                       "so it would never be; leave seed= out (or the seed axis)"))
        if "seed" in names and isinstance(self.repeats, int) and not isinstance(self.repeats, bool) and self.repeats > 1:
            # every repeat of a cell would send the axis's seed: the same request, the same image, paid again
            out.append(Problem("repeats", f"repeats={self.repeats} beside a seed axis sends each of its seeds {self.repeats} "
                                          "times, the same request each time, so the same image is paid for again; use "
                                          "repeats=1 and give the seed axis more seeds"))
        if "seed" in names and self.seed_policy == "sample":
            out.append(Problem("seed_policy", "'sample' sends no seed, but the sweep has a seed axis; use 'pin' or drop the axis"))
        if self.seed is not None and self.seed_policy == "sample":
            out.append(Problem("seed", f"'sample' sends no seed, but seed={self.seed!r} was given; use seed_policy='pin' "
                                       "(or 'auto') to send it, or leave seed out"))
        # a seed given (seed=, a seed axis) or asked for (pin) is never dropped without a word:
        # a model that declares none is refused with the same explanation whichever way it came
        given = "seed" in names or self.seed is not None
        for mid in self.models:
            desc = _desc(mid)
            if desc is None or desc.accepts_seed:
                continue
            pinning = self.seed_policy == "pin" or given
            if pinning and self.force_seed is not True:  # a force_seed that is no bool is refused above
                out.append(Problem("seed_policy", (
                    f"seed can only be sent to a model that declares it, and {mid} declares none (its results still "
                    "report the seed they used). Use seed_policy='sample' (or 'auto') with no seed= and no seed axis to "
                    "vary results and record their seeds; or, if Runware now takes seed for this model, pass "
                    "force_seed=True and add seed to its description (qwenlab.register_model)")))
            elif pinning:
                out.append(Problem("seed_policy", (
                    f"force_seed=True sends seed to {mid}, whose description declares no seed, so every request is "
                    "refused before it is sent (Runware would answer unsupportedParameter). If Runware now accepts seed "
                    "for this model, register a description that declares it (qwenlab.register_model) and run again")))
        return out

    def _cell(self, index: int, combo: tuple[int, ...], repeat: int, req: Request,
              per_cell: dict[tuple[str, str], list[int]]) -> Cell:
        values = {a.name: _jsonable(a.json_value(combo[i])) for i, a in enumerate(self.axes)}
        labels = {a.name: a.labels[combo[i]] for i, a in enumerate(self.axes)}
        desc = _desc(req.model_id)
        seed_axis = any(a.name == "seed" for a in self.axes)
        pin = seed_axis or self.seed_policy == "pin" or (self.seed_policy == "auto" and desc is not None and desc.accepts_seed)
        seed: int | None = None
        if seed_axis:
            seed = req.get("seed")
        elif pin and (self.force_seed or desc is None or desc.accepts_seed):
            seed = self._seed_for(repeat)
            req = req.replace(seed=seed)
        if not req.is_set("includeCost"):
            req = req.replace(includeCost=True)  # the log wants the API's cost of every task
        req, uploads, refused = self._localize(req, index, per_cell)
        for p in req.problems():
            if p.parameter in _REF_PATHS and isinstance(p.value, (str, Path)) and str(p.value) in refused:
                continue  # said already, with the fix for a file
            per_cell.setdefault((p.parameter, p.message), []).append(index)
        task = req.to_task()
        task.pop("taskUUID", None)
        blob = json.dumps({"task": task, "repeat": repeat}, sort_keys=True, separators=(",", ":"), default=str)
        key = hashlib.sha256(blob.encode()).hexdigest()[:20]
        return Cell(index, values, labels, repeat, req, "pin" if pin else "sample", seed, key, uploads)

    def _seed_for(self, repeat: int) -> int:
        if isinstance(self.seed, (list, tuple)):
            return int(self.seed[repeat])
        return int(self.seed if self.seed is not None else 1) + repeat

    def _localize(self, req: Request, index: int,
                  per_cell: dict[tuple[str, str], list[int]]) -> tuple[Request, dict[str, LocalImage], set[str]]:
        """Swap local reference-image paths for stable placeholders (uploaded at run time); the
        references refused here (a file missing, unreadable or no image) come back too, so that
        the request's own rules do not refuse them a second time with other advice."""
        uploads: dict[str, LocalImage] = {}
        changes: dict[str, list[Any]] = {}
        refused: set[str] = set()
        for path in _REF_PATHS:
            refs = req.values.get(path)
            if not isinstance(refs, list):
                continue
            new = []
            for ref in refs:
                local = self._local_image(ref)
                why = self._local_problems.get(str(ref)) if isinstance(ref, (str, Path)) else None
                if why is None and local is None and _looks_like_file(ref):
                    why = f"file {str(ref)!r} not found; give an existing image file, a URL or an imageUUID"
                if why is not None:
                    per_cell.setdefault((path, why), []).append(index)
                    refused.add(str(ref))
                if local is not None:
                    uploads[local.placeholder] = local
                    new.append(local.placeholder)
                else:
                    new.append(ref)
            changes[path] = new
        if not uploads:
            return req, uploads, refused
        task = req.to_task()
        for path, refs in changes.items():
            if path == "referenceImages":
                task["referenceImages"] = refs
            else:
                task.setdefault("inputs", {})["referenceImages"] = refs
        return Request.from_task(task), uploads, refused

    def _local_image(self, ref: Any) -> LocalImage | None:
        """The local file `ref` names, read and checked once per sweep; None when it names none,
        or one it cannot upload (`_local_problems` then says why)."""
        if not isinstance(ref, (str, Path)):
            return None
        key = str(ref)
        if key not in self._local and key not in self._local_problems:
            p = Path(key).expanduser()
            try:
                if isinstance(ref, str) and (len(key) > 1024 or key.startswith(("http:", "https:", "data:"))):
                    return None
                if not p.is_file():
                    return None
                # checked as the upload will check it: a file that is no image (or too large) failed
                # every cell at run time, after the experiment was logged, as "bytes are not a JPEG".
                # First: it refuses a file over the cap before reading it, which the hash would read whole
                upload_bytes(p, ImageStore())
                image = LocalImage.read(p)
            except ImageError as exc:
                self._local_problems[key] = (f"file {key!r} cannot be sent as a reference image: {exc}; give a PNG, JPEG "
                                             "or WEBP file (GIF, BMP and TIFF are sent as PNG)")
                return None
            except OSError as exc:
                self._local_problems[key] = f"file {key!r} cannot be read ({exc.strerror or exc}); check its permissions"
                return None
            self._local[key] = image
        return self._local.get(key)

    def _grouped(self, per_cell: dict[tuple[str, str], list[int]], cells: list[Cell]) -> list[Problem]:
        """One problem per distinct message, naming how many cells it hits and one example, and
        the parameter by the keyword the sweep gave it (`prompt`, `size`: `_keywords`)."""
        out = []
        total = len(cells)
        written = self._keywords()
        for (parameter, message), indexes in per_cell.items():
            idx = sorted(set(indexes))
            where = "every cell" if len(idx) == total else f"{len(idx)} of {total} cells"
            example = cells[idx[0]].label() if idx[0] < len(cells) else ""
            out.append(Problem(parameter, f"{message} [{where}; e.g. cell {idx[0]}: {example}]",
                               written=written.get(parameter)))
        return out

    def unused_given(self) -> list[tuple[str, str]]:
        """(keywords, axis) for the parameters given to the sweep (prompt=, size=, a [request]
        line) that an axis sets in every cell, so that no cell sends the value given: prompt beside
        a prompt axis, size beside a size axis ("width and height" where those were given). A
        prompt_sr axis edits the prompt: it uses it."""
        desc = _desc(self.base.model_id)
        given = {path: keyword for keyword in self.given for path in keyword_paths(keyword, desc)}
        out = []
        for axis in self.axes:
            if axis.kind in ("size", "prompt", "param"):
                unused = dict.fromkeys(given.pop(path) for path in keyword_paths(axis.name, desc) if path in given)
                if unused:
                    out.append((" and ".join(unused), axis.name))
        return out

    def _keywords(self) -> dict[str, str]:
        """The parameters this sweep sets through a keyword of another name, by their wire path:
        the base request's (`prompt=`, `size=`) and its axes' ("size", "prompt", "promptExtend"),
        so that a problem says "size (sent as width)" where the user wrote size."""
        written = self.base.written_as()
        desc = _desc(self.base.model_id)
        for axis in self.axes:
            if axis.kind in ("size", "prompt", "param"):
                written.update((path, axis.name) for path in keyword_paths(axis.name, desc) if path != axis.name)
        return written

def _looks_like_file(ref: Any) -> bool:
    if isinstance(ref, Path):
        return True
    return isinstance(ref, str) and "://" not in ref and not ref.startswith("data:") and ref.lower().endswith(_IMAGE_SUFFIXES)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Request):
        task = value.to_task()
        task.pop("taskUUID", None)
        return task
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def listed_values(prompt: Any, params: Mapping[str, Any], desc: Any) -> list[str]:
    """The base request's parameters given a list of values (`promptExtend=[True, False]`), which
    each cell would send as one value and the request's rules refuse ("must be true or false, got
    [True, False]"), where an axis tries each. A parameter that takes a list (an array such as
    `referenceImages`, an object) is left to its rules, and so is a size as two numbers ([1024, 1536])."""
    out = ["prompt"] * _is_several(prompt)
    for name, value in params.items():
        spec = desc.spec(name) if desc is not None else None
        if not _is_several(value) or (spec is not None and spec.type in ("array", "object")):
            continue
        if spec is None and name != "size" and name not in ("positivePrompt", "negativePrompt"):
            continue  # a parameter the model does not declare: its own problem says so
        if name == "size" and len(value) == 2 and all(isinstance(plain(v), int) and not isinstance(plain(v), bool) for v in value):
            continue  # one size, as two numbers (a frame's row: numpy's)
        out.append(name)
    return out


def _is_several(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _listed_problem(name: str) -> Problem:
    """A list given as the base request's value of `name`: the value itself, or the axis to write.
    The values are not echoed: a text may hold a key."""
    return Problem(name, f"is given a list, and a keyword gives every cell one value: give the value itself, or, to try "
                         f"each value, put them on an axis: Sweep(..., axes={{{name!r}: [...]}}) (in a sweep file, under [axes])",
                   None)
