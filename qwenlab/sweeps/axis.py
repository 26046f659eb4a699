"""One axis of a sweep, as data: its name, values, labels, and how a value changes a request.

After AUTOMATIC1111's X/Y/Z plot, where an axis is a label, a type, an `apply`, a `format` and a
`validate`. Kinds, chosen from the axis name and its values:

| name / values                       | kind        | a value does                                       |
|-------------------------------------|-------------|----------------------------------------------------|
| values are `Request`s               | `request`   | replaces the base request (other axes apply on top)|
| values are dicts, name no parameter | `bundle`    | sets several parameters at once                    |
| `size`                              | `size`      | sets width and height (`"1024x1536"`)               |
| `prompt`                            | `prompt`    | sets positivePrompt                                |
| `prompt_sr`                         | `prompt_sr` | replaces its first value's text, after other axes  |
| `model`                             | `model`     | switches the model (and its price)                 |
| any parameter, by name or wire path | `param`     | sets it; `None` leaves it out                      |

Values come as a list, as a dict of `{label: value}`, or (for a numeric parameter) as range
syntax such as `"1-9 (+2)"` (see `qwenlab.sweeps.ranges.expand_range`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.model import DEFAULT_MODEL, get_model
from ..core.request import Request, keyword_paths, parse_size
from ..core.values import distinct_labels, folded, format_value, is_missing, plain, same_value
from ..errors import ModelNotFoundError, ValidationError
from ..problems import Problem
from ..store.axes import OWN_COLUMNS, REPEAT
from .quoted import quoted_axis_problem, unquoted, value_kind
from .ranges import expand_range

__all__ = ["Axis", "SHORTCUTS"]

SHORTCUTS = ("prompt", "prompt_sr", "size", "model", "negativePrompt", "promptExtend")
# request and bundle axes replace or reshape the base, so they apply before the others
_ORDER = {"request": 0, "bundle": 1, "model": 2}
# prompt_sr edits the prompts the other axes set, so it applies after them all: applied before a
# prompt axis, its replacement was overwritten, and each of its values sent the same request again
_LAST = 4


@dataclass(frozen=True)
class Axis:
    """An axis: `values` (as applied), `labels` (as shown) and the `kind` that applies them."""

    name: str
    kind: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]

    @property
    def order(self) -> int:
        """When the axis applies to a cell's request, lowest first (axes of one order: as given)."""
        return _LAST if self.kind == "prompt_sr" else _ORDER.get(self.kind, 3)

    @classmethod
    def build(cls, name: str, spec: Any, base: Request) -> tuple["Axis", list[Problem]]:
        """An axis from what the user wrote; problems are returned, not raised, so a sweep can
        report every one at once."""
        problems: list[Problem] = []
        takes = value_kind(name, _description(base))
        if isinstance(spec, Mapping) and not _is_object_param(name, base):
            labels, values = [str(k) for k in spec], list(spec.values())
            problems += _quoted(name, dict(zip(labels, values)), takes)
        else:
            # a list, a range, a numpy array or a pandas column (a generator too, read once): its values
            many = not isinstance(spec, (str, bytes, Mapping)) and hasattr(spec, "__iter__")
            values = [plain(v) for v in spec] if many else [plain(spec)]
            problems += _quoted(name, values, takes)
            if _is_numeric(name, base) and any(isinstance(v, str) for v in values):
                expanded: list[Any] = []
                for v in values:  # "1-5" or ["1-3", 8]: range syntax wherever a string stands
                    try:
                        expanded.extend(expand_range(v, integer=_is_integer(name, base)) if isinstance(v, str) else [v])
                    except ValueError as exc:
                        problems.append(Problem(name, str(exc), v))
                values = expanded
            labels = []
        if takes is not None:  # a quoted number or true/false is refused above (`_quoted`), not again in every cell
            values = [u[0] if (u := unquoted(v, takes)) is not None and len(u) == 1 else v for v in values]
        if not _is_numeric(name, base):
            # a frame's text column holds NaN where a value is missing (pandas 3 turns None into NaN
            # too): it is None, "not sent", as its label ("none") says. It was sent as a float and
            # refused ("must be a string, got float nan"). A number's NaN stays refused: no number
            values = [None if is_missing(v) else v for v in values]
        if not values and not problems:  # a refused range said why already
            problems.append(Problem(name, "has no values; give a list of at least one", spec))
        kind = _kind(name, values, base)
        if (own := _own_name(name, kind)) is not None:
            problems.append(Problem(name, own, spec))
        if kind == "size" and len(values) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            # size = [1024, 1536]: one size written as two numbers reads as two sizes, each no size
            problems.append(Problem("size", f"lists numbers ({', '.join(map(str, values))}); each value of a size axis is "
                                            f"a whole size: write [\"{values[0]}x{values[1]}\"] (or [[{values[0]}, {values[1]}]]) "
                                            "for one size, or a list of such sizes", spec))
            values = [tuple(values)]
        if kind == "size":
            sized = []
            for v in values:
                try:
                    sized.append(None if v is None else "{}x{}".format(*parse_size(v)))
                except ValueError as exc:
                    problems.append(Problem("size", str(exc), v))
                    sized.append(v)
            values = sized
        if kind == "model":
            problems.extend(_empty_model(i) for i, v in enumerate(values) if _names_no_model(v))
        if kind == "prompt_sr":
            if values and not isinstance(values[0], str):
                problems.append(Problem(name, "the first value is the text to replace; it must be a string", values[0]))
            elif values and len(values[0]) == 0:
                problems.append(Problem(name, "the first value is the text to replace; it cannot be empty", values[0]))
        if kind == "bundle":
            for v in values:
                if not isinstance(v, Mapping):
                    problems.append(Problem(name, f"mixes dicts with other values ({format_value(v)}); give every value as a dict of parameters", v))
        labelled = bool(labels)
        if not labels:  # distinct values, distinct labels (prompts that differ near the end included)
            labels = [_label(kind, v, i) for i, v in enumerate(values)] if kind in _ORDER else distinct_labels(values)
        if (twice := _given_twice(name, kind, values, labels, labelled, base)) is not None:
            problems.append(twice)
        return cls(name=name, kind=kind, values=tuple(values), labels=tuple(labels)), problems

    def apply(self, request: Request, value: Any) -> Request:
        """The request with this axis set to `value`."""
        if self.kind == "request":
            base = value if isinstance(value, Request) else Request.from_json(value)
            return base.replace(taskUUID=request.task_uuid)
        if self.kind == "bundle":
            changes = {k: v for k, v in dict(value).items() if k != "label"}
            return request.replace(**changes)
        if self.kind == "size":
            if value is None:
                return request.replace(width=None, height=None)
            return request.replace(size=value)
        if self.kind == "prompt":
            return request.replace(**{self.name: value})  # "prompt" or "positivePrompt": named as written
        if self.kind == "prompt_sr":
            search = self.values[0]
            changes = {"positivePrompt": (request.prompt or "").replace(search, value)}
            if request.negative_prompt:
                changes["negativePrompt"] = request.negative_prompt.replace(search, value)
            return request.replace(**changes)
        if self.kind == "model":
            if _names_no_model(value):  # refused as the axis was built; its cells keep the base model meanwhile
                raise ValidationError([_empty_model(self.values.index(value))])
            return request.replace(model=value)
        return request.replace(**{self.name: value})

    def problems_with(self, request: Request) -> list[Problem]:
        """Checks that need the request an axis applies to (its prompt, for search/replace)."""
        if self.kind == "prompt_sr" and self.values and isinstance(self.values[0], str):
            if self.values[0] not in (request.prompt or ""):
                return [Problem(self.name, f"{self.values[0]!r} does not occur in the prompt; the first value of a "
                                           "search/replace axis is the text to replace, and it must be in the prompt", self.values[0])]
        return []

    def json_value(self, index: int) -> Any:
        """The value as stored in a cell's JSON: the value itself, or its label for requests and bundles."""
        if self.kind in ("request", "bundle"):
            return self.labels[index]
        return self.values[index]


def _kind(name: str, values: list[Any], base: Request) -> str:
    if values and all(isinstance(v, Request) for v in values):
        return "request"
    if name in ("size", "prompt", "prompt_sr", "model"):
        return name
    if name in ("positivePrompt",):
        return "prompt"
    if values and any(isinstance(v, Mapping) for v in values) and not _spec(name, base) and not _is_object_param(name, base):
        return "bundle"
    return "param"


def _own_name(name: str, kind: str) -> str | None:
    """Why an axis may not have this name, or None. Every cell's log row keeps its repeat number
    under "repeat" (`Cell.cell_json`): an axis of that name had its values overwritten there, so a
    grid, the costs and a resumed run lost them. A bundle or request axis takes any name, and one
    named as a column of `exp.df` or `exp.images` ("status", "backend", "cost_usd") had its values
    replaced by that column's (a parameter's axis, "seed" or "width", holds what the column does)."""
    if name == REPEAT:
        return ("is the name qwenlab gives each cell's repeat number; name the axis otherwise (e.g. 'variant'), and use "
                "repeats= for more images of each cell")
    if kind in ("bundle", "request") and name in OWN_COLUMNS:
        return ("is the name of a column qwenlab gives every cell in exp.df and exp.images, which would hide the axis's "
                "values there; name the axis otherwise (e.g. 'variant')")
    return None


def _given_twice(name: str, kind: str, values: list[Any], labels: list[str], labelled: bool, base: Request) -> Problem | None:
    """The problem of the first value an axis gives again, which would be one cell under two
    labels: equal as the log stores it; two requests or bundles that send the same request (a
    request's taskUUID, a bundle's label, a parameter by its name or its wire path change nothing
    sent); or, unlabelled, texts alike but for white space. qwenlab sends text as written, so
    "A poster" and "A poster " are two requests, but every label (the plan, a grid, the costs)
    shows them alike, and a slip of the keyboard bought each image twice: given labels (a dict),
    they are two values on purpose."""
    sent: dict[str, int] = {}  # what a request or bundle sends -> the first value that sends it
    texts: dict[str, int] = {}  # a text with its white space folded -> the first value that reads so
    for i, v in enumerate(values):
        if any(same_value(v, w) for w in values[:i]):
            return Problem(name, f"gives {format_value(v)} more than once; give each value once "
                                 "(repeats= makes more images of each)", v)
        if (request := _sent(kind, v, base)) is not None and (j := sent.setdefault(request, i)) != i:
            return Problem(name, f"gives {labels[j]!r} and {labels[i]!r}, which send the same request; give it once "
                                 "(repeats= makes more images of each)", v)
        # a model id with white space is refused as no model already
        if not labelled and kind != "model" and isinstance(v, str) and (j := texts.setdefault(folded(v), i)) != i:
            w = values[j]
            return Problem(name, f"gives values {j + 1} and {i + 1} ({_ends(w)} and {_ends(v)}), which differ only "
                                 "in white space: qwenlab sends text as written, so they are two requests, but every "
                                 "label (the plan, a grid, the costs) shows them alike. Give the text once (repeats= "
                                 "makes more images of each); to compare the white space itself, label each value "
                                 f"({{label: text}} in Python, an [axes.{name}] table in a sweep file)", v)
    return None


def _sent(kind: str, value: Any, base: Request) -> str | None:
    """What a request or bundle value sends wherever it applies, as comparable text: a request's
    task without its taskUUID (it replaces the request whole), a bundle's parameters by wire path
    without its label (bundles alike on the base request alone may part where another axis set a
    parameter one of them removes: `Sweep`'s check of twin cells says those). None for other
    kinds, or a value that cannot be read (its own problem says why)."""
    if kind == "request":
        try:
            task = (value if isinstance(value, Request) else Request.from_json(value)).to_task()
        except ValidationError:
            return None
        task.pop("taskUUID", None)
        return json.dumps(task, sort_keys=True, default=str)
    if kind == "bundle" and isinstance(value, Mapping):
        desc = _description(base)
        changes = {(k if k == "size" else keyword_paths(str(k), desc)[0]): v for k, v in value.items() if k != "label"}
        return json.dumps(changes, sort_keys=True, default=str)
    return None


def _ends(text: str, limit: int = 60) -> str:
    """`text` quoted, its middle cut where it is long: where white space differs, at an end, shows."""
    half = (limit - 1) // 2
    return repr(text if len(text) <= limit else text[:half] + "…" + text[-half:])


def _names_no_model(value: Any) -> bool:
    """A model axis's value that names no model: "" (a sweep file's "not sent"), spaces, or None
    (read as the model "None"). A cell has to go to some model."""
    return value is None or isinstance(value, str) and not value.strip()


def _empty_model(index: int) -> Problem:
    return Problem("model", f"value {index} is empty; every value of a model axis is a model's AIR id such as "
                            f"{DEFAULT_MODEL!r} (the default: list it for cells of the default model)", None, "invalidModel")


def _label(kind: str, value: Any, index: int) -> str:
    if kind == "request":
        return f"request {index + 1}: {format_value(value.prompt, 30)}" if isinstance(value, Request) else f"request {index + 1}"
    if kind == "bundle":
        return str(value.get("label")) if isinstance(value, Mapping) and value.get("label") else f"bundle {index + 1}"
    if kind == "model":
        return str(value).split(":")[-1]
    return format_value(value)


def _quoted(name: str, values: Any, takes: str | None) -> list[Problem]:
    """A number or true/false in quotes among the values, said with the axis to write (in
    Python's words: a sweep file says it in its own before it builds the sweep)."""
    problem = quoted_axis_problem(name, values, takes, python=True)
    return [problem] if problem is not None else []


def _description(base: Request) -> Any:
    try:
        return get_model(base.model_id)
    except ModelNotFoundError:
        return None


def _spec(name: str, base: Request) -> Any:
    try:
        return get_model(base.model_id).spec(name)
    except ModelNotFoundError:
        return None


def _is_object_param(name: str, base: Request) -> bool:
    try:
        return get_model(base.model_id).is_object_prefix(name)
    except ModelNotFoundError:
        return False


def _is_numeric(name: str, base: Request) -> bool:
    spec = _spec(name, base)
    return name == "seed" or (spec is not None and spec.type in ("integer", "number"))


def _is_integer(name: str, base: Request) -> bool | None:
    spec = _spec(name, base)
    if name == "seed" or (spec is not None and spec.type == "integer"):
        return True
    return None
