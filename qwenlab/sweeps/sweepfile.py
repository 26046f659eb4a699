"""Sweeps as TOML files.

    # lumiere.toml  ->  qwenlab run lumiere.toml
    name = "lumiere-extend"              # the experiment (optional; --name overrides)
    model = "alibaba:qwen-image@2.0-pro"
    prompt = "A premium beauty poster for a skincare brand called 'LUMIERE' ..."
    repeats = 2
    mode = "grid"                        # or "zip"
    seed_policy = "auto"                 # "pin" | "sample" | "auto"
    budget_usd = 1.0
    concurrency = 4

    [request]                            # any other parameter of the base request
    outputFormat = "PNG"

    [axes]
    promptExtend = [true, false]
    size = ["1024x1536", "1536x1024"]
    negativePrompt = ["", "blurry text, misspelled words"]   # "" = not sent
    outputQuality = "60-90 (+15)"        # range syntax -> 60, 75, 90

TOML has no null, so an axis value `""` means "leave the parameter out". Relative paths of local
reference images are read from the TOML file's folder.

Range syntax for numeric axes (`"60-90 (+15)"`): see `qwenlab.sweeps.ranges`.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ..core.model import DEFAULT_MODEL
from ..core.values import count_of
from ..errors import ValidationError
from ..problems import Problem
from .budget import run_setting_problems
from .plan import description_of
from .quoted import quoted_axis_problem, quoted_problem, value_kind
from .sweep import FILE_SETTINGS, Sweep, listed_values
from .toml_syntax import syntax_problem

__all__ = ["load_sweep", "parse_sweep", "SweepFile"]

_TOP = {"model", "prompt", "negativePrompt", "repeats", "mode", "seed_policy", "seed", "force_seed",
        "request", "axes", *FILE_SETTINGS}
# the sweep's own settings: under [request] they went to Sweep() as its keywords, taken as the
# sweep's without a word (repeats, force_seed) or crashing the read beside the same key at the top
_NOT_REQUEST = {"repeats", "mode", "seed_policy", "seed", "force_seed", "axes", "base"}


class SweepFile:
    """A sweep read from TOML, with the run settings the file gives (name, budget, concurrency)."""

    def __init__(self, sweep: "Sweep", *, name: str | None = None, budget_usd: float | None = None,
                 concurrency: int | None = None, notes: str | None = None, path: Path | None = None) -> None:
        self.sweep = sweep
        self.name = name
        self.budget_usd = budget_usd
        self.concurrency = concurrency
        self.notes = notes
        self.path = path

    def __repr__(self) -> str:
        return f"SweepFile({str(self.path) if self.path else '<text>'!r}, name={self.name!r}, {self.sweep!r})"


def load_sweep(path: str | Path) -> SweepFile:
    """Read a sweep from a TOML file (see the module docstring for the format)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # -sig: a byte order mark (Notepad's "UTF-8 with BOM") is no TOML
    except OSError as exc:
        raise ValidationError([Problem("sweep file", f"cannot read {p}: {exc.strerror or exc}")], context=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem("sweep file", f"{p} is not UTF-8 text (byte {exc.start}); save it as a UTF-8 TOML file")],
                              context=str(p)) from None
    return parse_sweep(text, base_dir=p.parent, origin=str(p))


def parse_sweep(text: str, *, base_dir: str | Path | None = None, origin: str = "sweep") -> SweepFile:
    """Build a sweep from TOML text; every problem in the file is reported at once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([syntax_problem(text, exc)], context=origin) from None
    problems: list[Problem] = []
    model_id = data.get("model") if isinstance(data.get("model"), str) and data.get("model") else DEFAULT_MODEL
    problems += [_unknown(key, data[key], model_id) for key in sorted(set(data) - _TOP)]
    request = data.get("request", {})
    axes = data.get("axes", {})
    for key, value in (("request", request), ("axes", axes)):
        if not isinstance(value, Mapping):
            problems.append(Problem(key, f"must be a table ([{key}]), got {type(value).__name__}"))
    for key in ("name", "notes"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            problems.append(Problem(key, f"must be a non-empty string, got {data[key]!r}"))
    if "model" in data and (not isinstance(data["model"], str) or not data["model"].strip()):
        # `model = ""` once ran every cell on the default model without a word
        problems.append(Problem("model", f"must be a model's AIR id such as {DEFAULT_MODEL!r}, got {data['model']!r}; leave "
                                         "the line out for that one, the default", data["model"], "invalidModel"))
    problems += run_setting_problems(budget_usd=data.get("budget_usd"), concurrency=data.get("concurrency", 1))
    problems += _prompt_problems(data, request if isinstance(request, Mapping) else {}, axes if isinstance(axes, Mapping) else {})
    if ("prompt" not in data and isinstance(axes, Mapping) and isinstance(request, Mapping)
            and not {"prompt", "positivePrompt"} & (set(request) | set(axes))):
        # said in the file's words: the request's positivePrompt is `prompt` here
        problems.append(Problem("prompt", 'the file gives no prompt; add a line prompt = "..." at its top (or a prompt '
                                          "axis under [axes])"))
    if isinstance(request, Mapping):
        model = data.get("model") or request.get("model") or DEFAULT_MODEL
        problems += [_misplaced(key, model) for key in sorted(_NOT_REQUEST & set(request))]
        desc = description_of(model) if isinstance(model, str) else None
        problems += [p for key, value in request.items()
                     if key not in _NOT_REQUEST and (p := quoted_problem(key, value, value_kind(key, desc)))]
        # a list where the request takes one value: the sweep's own problem gives the axis in Python's words
        problems += [_axis_line(key, request[key]) for key in listed_values(None, request, desc)]
        if isinstance(axes, Mapping):  # as [request] does: said in the file's words, before the sweep is built
            problems += [p for key, value in axes.items()
                         if (p := quoted_axis_problem(key, value, value_kind(key, desc), python=False))]
        if desc is not None and not desc.accepts_seed and data.get("force_seed") is not True:
            # the sweep's own problem names seed_policy for a `seed = 42` line, in Python's words
            # (seed_policy='sample', force_seed=True); the file's line is what to remove
            if "seed" in data:
                problems.append(Problem("seed", f"{model} takes no seed ({_NO_SEED}): remove the line", data["seed"]))
            if isinstance(axes, Mapping) and "seed" in axes and "model" not in axes:
                problems.append(Problem("seed", f"is an axis, and {model} takes no seed ({_NO_SEED}): remove the axis"))
            if data.get("seed_policy") == "pin":
                problems.append(Problem("seed_policy", f"'pin' sends a seed, and {model} takes none ({_NO_SEED}): "
                                                       "write seed_policy = \"auto\", or leave the line out", "pin"))
        if "model" in request and (not isinstance(request["model"], str) or not request["model"].strip()):
            # "" is "not sent" elsewhere: the model was None, the default, as the top's `model = ""` was
            problems.append(Problem("model", f"must be a model's AIR id such as {DEFAULT_MODEL!r}, got {request['model']!r}; "
                                             "leave the line out for that one, the default", request["model"], "invalidModel"))
    for key in ("prompt", "negativePrompt", "model"):  # the top's value replaced the other's without a word
        if key in data and isinstance(request, Mapping) and key in request and request[key] != data[key]:
            # the values are not repeated: a prompt may be long, or hold what must not be echoed
            problems.append(Problem(key, "given twice, at the top and under [request], with different values; keep one"))
    if problems:
        raise ValidationError(problems, context=origin)
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    params = {k: _none_if_empty(_local_paths(k, v, folder)) for k, v in request.items()}
    axes = {k: _axis_values(k, v, folder) for k, v in axes.items()}
    for key in ("prompt", "negativePrompt"):
        if key in data:
            params[key] = _none_if_empty(data[key])
    if "model" in data:
        params.pop("model", None)  # the same model under [request] (a different one is refused above)
    kwargs: dict[str, Any] = {k: data[k] for k in ("model", "repeats", "mode", "seed_policy", "seed", "force_seed") if k in data}
    try:
        sweep = Sweep(axes=axes, **kwargs, **params)
    except ValidationError as exc:
        if exc.context not in ("request", "sweep"):
            raise
        # the base request's own checks (size beside width and height, a parameter given twice)
        # said "request is invalid", naming no file: a user running several could not tell which
        raise ValidationError(exc.problems, context=origin) from None
    return SweepFile(sweep, name=data.get("name"), budget_usd=data.get("budget_usd"), concurrency=data.get("concurrency"),
                     notes=data.get("notes"), path=Path(origin) if origin != "sweep" else None)


def _prompt_problems(data: Mapping[str, Any], request: Mapping[str, Any], axes: Mapping[str, Any]) -> list[Problem]:
    """A prompt the file gives as "" (which means "not sent", and every request needs a prompt),
    and a list of prompts at the top, where one text goes. Said in the file's words: they were
    "positivePrompt: is required", naming a key the file does not use, and "must be a string, got
    list", not that several values are an axis's."""
    out = []
    empty = 'is empty (""), which leaves it out of the request, and every request needs a prompt'
    for key, value in (("prompt", data.get("prompt")), ("prompt", request.get("prompt")),
                       ("positivePrompt", request.get("positivePrompt"))):
        if value == "":
            out.append(Problem(key, f"{empty}: write its text, 2 to 2000 characters", value))
    values = axes.get("prompt")
    if isinstance(values, list) and "" in values:
        out.append(Problem("prompt", f"value {values.index('') + 1} of the prompt axis {empty}: write its text, or "
                                     "drop the value", ""))
    for key in ("prompt", "negativePrompt"):
        if isinstance(data.get(key), list):
            out.append(_axis_line(key, data[key]))
    return out


def _axis_line(key: str, values: list[Any]) -> Problem:
    """A list given where one value goes (at the top, or under [request]), said in the file's words."""
    return Problem(key, f"gives {count_of(len(values), 'value')}, and several values are an axis: move this line under "
                        f"[axes] (each cell sends one of them), or give one value here")


def _unknown(key: str, value: Any, model_id: str) -> Problem:
    """The problem of a line at the top that is no sweep setting: a request parameter (said where
    it goes), a misspelt setting (said which), or neither. All three were said alike, with the list
    of settings: `budget = 3` or `outputQuality = 80` left the user to find which line to write."""
    settings = sorted(_TOP - {"request", "axes"})
    desc = description_of(model_id)
    if key in ("size", "referenceImages") or (desc is not None and desc.spec(key) is not None):
        table = "[axes] (a list: each cell sends one of its values)" if isinstance(value, list) and key != "referenceImages" else "[request]"
        return Problem(key, f"is a request parameter, not a sweep setting: move this line under {table}")
    squashed = {name.replace("_", "").lower(): name for name in settings}
    close = difflib.get_close_matches(key.replace("_", "").replace("-", "").lower(), list(squashed), n=1, cutoff=0.7)
    guess = squashed[close[0]] if close else next((n for n in settings if n.startswith(key) or key.startswith(n)), None)
    if guess:
        return Problem(key, f"is not a sweep setting; did you mean {guess}?")
    return Problem(key, f"is not a sweep setting; put request parameters under [request] and axes under [axes] "
                        f"(settings: {', '.join(settings)})")


_NO_SEED = ("its Runware page declares none, and every result reports the seed it used; repeats = N at the top of "
            "the file makes N images of each cell")


def _misplaced(key: str, model: Any) -> Problem:
    """The problem of a sweep setting written under [request] (`model`: the file's)."""
    if key == "axes":
        return Problem(key, "is no request parameter: give axes as a table of their own, [axes], after [request]")
    if key == "base":
        return Problem(key, "is no request parameter: a sweep file gives its base request with prompt and model at its "
                            "top and the other parameters under [request]")
    desc = description_of(model) if key == "seed" and isinstance(model, str) else None
    if desc is not None and not desc.accepts_seed:
        # "write seed = ... at the top" sent the user to a line the sweep then refuses
        return Problem(key, f"is no request parameter, and {model} takes no seed at all ({_NO_SEED}): remove the line")
    what = " (the seed of repeat 0; repeat r gets seed + r)" if key == "seed" else ""
    return Problem(key, f"is a setting of the sweep{what}, not a request parameter: write {key} = ... at the top of the "
                        "file, above [request]")


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _axis_values(name: str, values: Any, folder: Path) -> Any:
    """TOML axis values: "" means not sent; tables of tables are labelled values."""
    if isinstance(values, list):
        return [_none_if_empty(_local_paths(name, v, folder)) for v in values]
    if isinstance(values, Mapping):
        return {label: _none_if_empty(_local_paths(name, v, folder)) for label, v in values.items()}
    return values  # a range string or a single value; Sweep expands it


def _local_paths(name: str, value: Any, folder: Path) -> Any:
    """Reference images given as relative paths are read from the TOML file's folder."""
    if isinstance(value, Mapping):
        return {k: _local_paths(k, v, folder) for k, v in value.items()}
    if name.endswith("referenceImages") and isinstance(value, list):
        return [str(folder / v) if isinstance(v, str) and (folder / v).is_file() else v for v in value]
    return value
