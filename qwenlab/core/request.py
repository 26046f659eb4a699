"""One image request as a value object: built from keywords or a pasted Runware task JSON,
validated against its model's description, turned into the exact task JSON for the wire, and
hashed on what determines its output.

    >>> r = Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536", promptExtend=False)
    >>> r.validate().to_task()["providerSettings"]
    {'alibaba': {'promptExtend': False}}

Values are stored by wire path (`providerSettings.alibaba.promptExtend`), in the order given, so a
pasted request goes back on the wire exactly as it was written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..problems import Problem
from ..secrets import redact
from .model import DEFAULT_MODEL, ModelDescription, get_model, lookup
from .validation import _IMMUTABLE, UUID4, validate_task
from .validation import copy_value as _copy
from .validation import flatten_task as _flatten
from .validation import short_repr as _short
from .values import plain

__all__ = ["Request", "parse_size", "new_task_uuid", "validate_task", "UUID4", "keyword_paths"]

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×*]\s*(\d+)\s*$")

# Put first on the wire, in this order, when a request is built from keywords.
_LEADING = ("taskType", "taskUUID", "model", "positivePrompt", "negativePrompt", "width", "height")
# Keyword shortcuts that are not parameter names.
_ALIASES = {"prompt": "positivePrompt", "negative_prompt": "negativePrompt", "prompt_extend": "promptExtend"}


def new_task_uuid() -> str:
    """A fresh UUID v4 for a task."""
    return str(uuid.uuid4())


def parse_size(size: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """`"1024x1536"` (or `(1024, 1536)`) -> `(1024, 1536)`; raises ValueError naming the format."""
    if isinstance(size, (tuple, list)) and len(size) == 2:
        sides = [plain(v) for v in size]  # numpy integers (a frame's row) are the whole numbers they hold
        if all(isinstance(v, int) and not isinstance(v, bool) for v in sides):
            return sides[0], sides[1]
    match = _SIZE.match(str(size)) if isinstance(size, str) else None
    if not match:
        raise ValueError(f"size {size!r} is not WIDTHxHEIGHT; write it like '1024x1536'")
    return int(match.group(1)), int(match.group(2))


def keyword_paths(keyword: str, desc: ModelDescription | None) -> tuple[str, ...]:
    """The parameters (by their documented wire path) a keyword of qwenlab's sets: "size" ->
    width and height, "prompt" -> positivePrompt, "promptExtend" ->
    providerSettings.alibaba.promptExtend; any other name or path -> itself."""
    if keyword == "size":
        return ("width", "height")
    key = _ALIASES.get(keyword, keyword)
    spec = desc.spec(key) if desc else None
    return (spec.path,) if spec is not None else (key,)


def _note_keyword(written: dict[str, str], keyword: str, desc: ModelDescription | None) -> None:
    """Note in `written` (wire path -> keyword) the parameters `keyword` sets under another name,
    so that a problem with them names the keyword the user wrote (`Problem.written`)."""
    for path in keyword_paths(keyword, desc):
        if path != keyword:
            written[path] = keyword


def _set_size(params: dict[str, Any], size: Any) -> None:
    """`params` with the width and height `size` ("1024x1536") gives; ValidationError naming size
    when it is no size, or when a width or height in `params` says otherwise (one would go
    unsent, without a word)."""
    try:
        sides = parse_size(size)
    except ValueError as exc:
        raise ValidationError([Problem("size", str(exc), size)]) from None
    given = (params.get("width"), params.get("height"))
    if any(g is not None and g != s for g, s in zip(given, sides)):
        raise ValidationError([Problem("size", f"width={given[0]!r}, height={given[1]!r} say otherwise; "
                                       "give size or width and height, not both", size)])
    params["width"], params["height"] = sides


class Request:
    """An image request for one model: immutable, validated on demand, exact on the wire.

    Build it from keywords (`prompt=`, `size="1024x1536"`, `promptExtend=False`, any parameter
    of the model by name or wire path, nested dicts such as `safety={"mode": "fast"}`), or with
    `Request.from_json(...)` from a pasted Runware request. A keyword set to None is left out.
    """

    __slots__ = ("_values", "_model_id", "_desc", "_valid", "_rebuilt", "_written")

    def __init__(self, model: str | None = DEFAULT_MODEL, prompt: str | None = None, *, size: Any = None,
                 **params: Any) -> None:
        # None is the default model, as a keyword set to None is left out (model="" is refused: `validate`)
        self._model_id = DEFAULT_MODEL if model is None else str(model)
        values: dict[str, Any] = {}
        desc = self._description()
        task_type = desc.task_type if desc else "imageInference"
        values["taskType"] = params.pop("taskType", task_type)
        values["taskUUID"] = params.pop("taskUUID", None) or new_task_uuid()
        values["model"] = self._model_id
        keyword: dict[str, str] = {}  # a parameter set through a keyword of another name -> that keyword
        if prompt is not None:
            if params.get("positivePrompt") not in (None, prompt):  # one of them would go unsent, without a word
                raise ValidationError([Problem("prompt", "positivePrompt says otherwise; give prompt or positivePrompt, "
                                               "not both", prompt)])
            params["positivePrompt"] = prompt
            keyword["positivePrompt"] = "prompt"
        if size is not None:
            _set_size(params, size)
            keyword.update(width="size", height="size")
        given_as: dict[str, str] = {}  # wire path -> the keyword that set it
        self._written: dict[str, str] = {}  # a parameter's documented path -> the keyword the user wrote for it
        for key, value in params.items():
            if value is None:
                continue
            written, key = keyword.get(key, key), _ALIASES.get(key, key)
            _note_keyword(self._written, written, desc)
            spec = desc.spec(key) if desc else None
            if spec is not None:
                found = {spec.path: _copy(value)}
            elif isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                found = _flatten(key, value, desc)
            else:
                found = {key: _copy(value)}
            for path, copied in found.items():
                # referenceImages=[b] beside inputs={"referenceImages": [a]}: one would go unsent, without a word
                if path in given_as and values[path] != copied:
                    raise ValidationError([Problem(path, f"is given twice, as {given_as[path]}= and as {written}=, with "
                                                         "different values; give it once", copied)])
                given_as[path] = written
                values[path] = copied
        self._values = _ordered(values)

    # -- construction from JSON ------------------------------------------------------------
    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any] | list[Any]) -> "Request":
        """A request from a pasted Runware task (a JSON string, a dict, or a one-task array).

        Everything is kept as written, including keys the model does not declare, so that
        `validate()` can name them. A missing taskUUID is filled with a fresh one.
        """
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise ValidationError([Problem("request", f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")]) from None
        if isinstance(data, list):
            tasks = [t for t in data if not (isinstance(t, Mapping) and t.get("taskType") == "authentication")]
            if len(tasks) != 1:
                raise ValidationError([Problem("request", f"holds {len(tasks)} tasks; paste one task object (or a one-task array)")])
            data = tasks[0]
        if not isinstance(data, Mapping):
            raise ValidationError([Problem("request", f"must be a JSON object, got {type(data).__name__}")])
        return cls.from_task(data)

    @classmethod
    def from_task(cls, task: Mapping[str, Any]) -> "Request":
        """A request from one task dict exactly as it is (no defaults added, order kept)."""
        self = cls.__new__(cls)
        self._model_id = str(task.get("model", ""))
        self._values = self._flat(task)
        self._written = {}  # a task names its parameters as the API does
        return self

    def _flat(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """`from_task`'s values of `task`, for this request's model."""
        desc = self._description()
        values: dict[str, Any] = {}
        for key, value in task.items():
            if isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                values.update(_flatten(key, value, desc))
            else:
                values[key] = _copy(value)
        if not values.get("taskUUID"):
            values["taskUUID"] = new_task_uuid()
        return values

    # -- reading -------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """The id of the request's model, as given: 'alibaba:qwen-image@2.0-pro'."""
        return self._model_id

    @property
    def model(self) -> ModelDescription:
        """The model description (raises ModelNotFoundError for an unknown model)."""
        # through the request's cached lookup: get_model reads the environment at every call, and
        # a sweep asks for its cells' model several times a cell (prices, numberResults)
        return self._description() or get_model(self._model_id)

    @property
    def values(self) -> dict[str, Any]:
        """A copy of the values as given, keyed by wire path (no defaults filled in)."""
        return {k: _copy(v) for k, v in self._values.items()}

    @property
    def task_uuid(self) -> str:
        """The taskUUID it is sent under: a fresh UUID v4 unless one was given (`renew()` gives another)."""
        return str(self._values["taskUUID"])

    def get(self, name: str, default: Any = None) -> Any:
        """A parameter's value by name, short name or wire path; its model default if not given."""
        desc = self._description()
        spec = desc.spec(_ALIASES.get(name, name)) if desc else None
        if spec is None:
            return _copy(self._values.get(name, default))
        for path in spec.paths:
            if path in self._values:
                return _copy(self._values[path])
        return spec.default if spec.default is not None else default

    def is_set(self, name: str) -> bool:
        """True when the parameter was given (at any of its wire paths)."""
        desc = self._description()
        spec = desc.spec(_ALIASES.get(name, name)) if desc else None
        paths = spec.paths if spec else (name,)
        return any(p in self._values for p in paths)

    def spellings(self) -> tuple[str, ...]:
        """The wire paths given that are not their parameter's documented one ("referenceImages"
        at the top level, where the page documents inputs.referenceImages), sorted. Two requests
        alike but for this may not make the same images: Runware may ignore a key where its page
        does not put it."""
        desc = self._description()
        if desc is None:
            return ()
        return tuple(sorted(p for p in self._values if (spec := desc.spec_at(p)) is not None and spec.path != p))

    def spelled_at(self, path: str) -> bool:
        """True when a value is sent at exactly this wire path ("referenceImages" at the top
        level, where `is_set` also counts its documented path, inputs.referenceImages)."""
        return path in self._values

    @property
    def prompt(self) -> str | None:
        """positivePrompt, as given."""
        return self.get("positivePrompt")

    @property
    def negative_prompt(self) -> str | None:
        """negativePrompt, or None where it is not sent."""
        return self.get("negativePrompt")

    @property
    def prompt_extend(self) -> bool | None:
        """providerSettings.alibaba.promptExtend as given, else the model's default (None where it has none)."""
        return self.get("promptExtend")

    @property
    def number_results(self) -> int:
        """numberResults: the images the task makes (1 unless given)."""
        return int(self.get("numberResults", 1) or 1)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as sent, or the model's default size when none is given."""
        w, h = self._values.get("width"), self._values.get("height")
        if isinstance(w, int) and isinstance(h, int):
            return w, h
        desc = self._description()
        bounds = desc.size if desc else None
        return (bounds.default_width, bounds.default_height) if bounds else (1024, 1024)

    @property
    def reference_images(self) -> list[str]:
        """Every reference image given, under inputs.referenceImages and at the top level: UUIDs,
        URLs, data URIs, or files on this machine (a sweep uploads those)."""
        out: list[str] = []
        for path in ("inputs.referenceImages", "referenceImages"):
            value = self._values.get(path)
            if isinstance(value, list):
                out.extend(str(v) for v in value)
        return out

    def estimated_cost(self, when: Any = None) -> float:
        """Price per image (from the model description, on a date) times numberResults."""
        return round(self.model.price_on(when) * self.number_results, 6)

    # -- changing ------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Request":
        """A new request with some parameters changed (None removes one; `size=None` removes
        width and height). An object of the page given by its name (`safety=`, `inputs=`,
        `providerSettings=`) is replaced whole, or removed with None.

        A request whose parameters change is a new task, so it gets a fresh taskUUID: Runware
        answers a taskUUID once, and sending a changed request under the old one would fetch the
        first request's images (or be refused). `taskUUID=` sets one explicitly; a replace that
        changes nothing keeps it; `renew()` gives the same request a fresh one."""
        if "taskUUID" in changes and changes["taskUUID"] is None:
            changes["taskUUID"] = new_task_uuid()  # "no taskUUID" on a task means a fresh one
        explicit_uuid = "taskUUID" in changes
        model = changes.pop("model", self._model_id)
        size_given = "size" in changes
        size = changes.pop("size", None)
        if size is not None:
            _set_size(changes, size)
        elif size_given:
            # size=None removes width and height, as None removes any parameter: the request then
            # takes the model's default size (it kept the old size, without a word)
            changes.setdefault("width", None)
            changes.setdefault("height", None)
        new = self._rebuild(model)
        desc = new._description()
        values = dict(new._values)
        # the keywords the user wrote are kept, and those of the changes added (a change by the
        # API's name keeps the keyword: a sweep's search/replace sets positivePrompt of a `prompt`)
        written = dict(getattr(self, "_written", {}))
        if size is not None:
            written.update(width="size", height="size")
        for key, value in changes.items():
            if value is None:
                for path in keyword_paths(key, desc):
                    written.pop(path, None)
            elif not (size is not None and key in ("width", "height")):
                _note_keyword(written, key, desc)
            key = _ALIASES.get(key, key)
            spec = desc.spec(key) if desc else None
            paths = spec.paths if spec else (key,)
            if spec is None and desc is not None and desc.is_object_prefix(key):
                # an object of the page (safety, inputs, providerSettings): the change is the whole
                # object, as its keyword says (a sweep's axis labels its cells so). Its parameters
                # set before went on being sent: safety=None still sent safety.checkContent, and
                # providerSettings=None the old promptExtend, in a cell labelled "not sent".
                paths = (key, *(p for p in values if p.startswith(key + ".")))
                for p in paths:
                    written.pop(p, None)
            present = [p for p in paths if p in values]
            for p in paths:
                values.pop(p, None)
            if value is None:
                continue
            if spec is None and isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                values.update(_flatten(key, value, desc))
            else:
                # keep the spelling the request already used (e.g. a top-level referenceImages)
                values[present[0] if present else (spec.path if spec else key)] = _copy(value)
        if not explicit_uuid and (model != self._model_id or _without_uuid(values) != _without_uuid(self._values)):
            values["taskUUID"] = new_task_uuid()  # a changed request is a new task
        new._values = _ordered(values) if not self._pasted_order() else values
        new._written = written
        return new

    def _rebuild(self, model: Any) -> "Request":
        """`Request.from_task(self.to_task() | {"model": model})`: the request as a pasted task
        would make it, which `replace` starts from.

        A sweep replaces two or three parameters of each cell while it plans its cells, each time
        from the task JSON; its base request (every cell's start) is rebuilt for every cell. So
        the result is kept on this (immutable) request, for the same model and while its
        description is the one it was built with, and its values are copied for each caller; the
        description itself is carried over when the model stays, as every read of a request
        looks it up (`lookup`)."""
        kept = getattr(self, "_rebuilt", None)
        new = Request.__new__(Request)
        new._model_id = str(model)
        new._written = {}
        if kept is not None and type(model) is str and kept[0] == model and lookup(model, kept[1]) is kept[1]:
            new._desc = kept[1]
            new._values = {k: _copy(v) for k, v in kept[2].items()}
            return new
        if new._model_id == self._model_id and hasattr(self, "_desc"):
            new._desc = self._desc
        task = self.to_task()
        task["model"] = model
        new._values = new._flat(task)
        if type(model) is str and new._desc[1] is not None and new._values.get("taskUUID") == self._values.get("taskUUID"):
            # kept unless a taskUUID was minted (an empty one is replaced afresh at every rebuild)
            self._rebuilt = (new._model_id, new._desc, {k: _copy(v) for k, v in new._values.items()})
        return new

    def renew(self) -> "Request":
        """The same request with a fresh taskUUID (Runware requires one per task)."""
        return self.replace(taskUUID=new_task_uuid())

    def with_task_uuid(self, task_uuid: str) -> "Request":
        """The same request under `task_uuid`: `replace(taskUUID=task_uuid)` for a sweep's hot
        path, which gives each cell the taskUUID its log row holds. Nothing else is rebuilt, and a
        request already found valid stays so when the new taskUUID is a UUID v4."""
        new = Request.__new__(Request)
        new._model_id = self._model_id
        new._desc = getattr(self, "_desc", None)
        new._values = {**self._values, "taskUUID": task_uuid}
        new._written = getattr(self, "_written", {})  # never changed in place: shared
        if self._known_valid() and isinstance(task_uuid, str) and UUID4.match(task_uuid):
            new._valid = self._valid
        return new

    def _pasted_order(self) -> bool:
        return list(self._values)[:3] != ["taskType", "taskUUID", "model"]

    # -- validation ------------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """Every rule this request breaks (empty when valid). Nothing is sent."""
        self._description()  # the description checked against, noted below
        problems = validate_task(self._values, model_id=self._model_id, flat=True)
        if not problems and self._desc[1] is not None:
            # immutable, so `validate()` need not check it again (a sweep checks each cell when it
            # plans and when it sends) while its model's description stays the one checked against
            self._valid = self._desc
        written = getattr(self, "_written", {})
        # named as the user wrote it: "prompt (sent as positivePrompt)", "size (sent as width)"
        return [dataclasses.replace(p, written=written[p.parameter]) if p.parameter in written else p for p in problems]

    def written_as(self) -> dict[str, str]:
        """The parameters given through a keyword of qwenlab's, by their documented wire path, with
        that keyword: {"positivePrompt": "prompt", "width": "size", "height": "size"}."""
        return dict(getattr(self, "_written", {}))

    def _known_valid(self) -> bool:
        valid = getattr(self, "_valid", None)
        return valid is not None and lookup(self._model_id, self._desc) is valid

    def validate(self) -> "Request":
        """Return self if valid; otherwise raise ValidationError listing every problem."""
        if self._known_valid():
            return self
        problems = self.problems()
        if problems:
            raise ValidationError(problems)
        return self

    @property
    def is_valid(self) -> bool:
        """True when the request breaks none of its model's rules (`problems()` lists them, `validate()` raises)."""
        return not self.problems()

    # -- the wire ------------------------------------------------------------------------------
    def to_task(self) -> dict[str, Any]:
        """The exact task JSON object sent to Runware (nested, in the order given)."""
        return _nest(self._values)

    def to_json(self, indent: int | None = None) -> str:
        """The task as JSON text (a single object; the client wraps tasks in an array)."""
        return json.dumps(self.to_task(), indent=indent, ensure_ascii=False)

    def output_hash(self) -> str:
        """SHA-256 of what determines the output: the model and every output-affecting
        parameter with defaults filled in (so an explicit default equals an omitted one).
        taskUUID, delivery options and numberResults are left out."""
        desc = self._description()
        canonical: dict[str, Any] = {"model": self._model_id}
        if desc is None:
            canonical.update({k: v for k, v in self._values.items() if k not in ("taskUUID", "taskType")})
        else:
            for spec in desc.parameters.values():
                if spec.affects_output:
                    canonical[spec.path] = self.get(spec.name)
            unknown = {k: v for k, v in self._values.items() if desc.spec_at(k) is None}
            canonical.update(unknown)
        blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    # -- value object ------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and self._model_id == other._model_id and self._values == other._values

    def __hash__(self) -> int:
        return hash(json.dumps(self._values, sort_keys=True, default=str))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._values.items() if k not in ("taskType", "taskUUID", "model")}
        body = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
        # a key pasted into a prompt shows as *** (a run refuses the request, and the traceback
        # of the refusal prints it)
        return redact(f"Request({self._model_id!r}, {body})")

    def _description(self) -> ModelDescription | None:
        self._desc = lookup(self._model_id, getattr(self, "_desc", None))
        return self._desc[1]


# -- wire shape ------------------------------------------------------------------------------------
def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        if "." not in path:  # most of a task's keys: no split, no walk (a sweep task nests its request 4 times)
            out[path] = value if type(value) in _IMMUTABLE else _copy(value)
            continue
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):  # a scalar already sits here: keep both visible
                nxt = node[part] = {"": nxt}
            node = nxt
        node[parts[-1]] = _copy(value)
    return out


def _without_uuid(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "taskUUID"}


def _ordered(values: dict[str, Any]) -> dict[str, Any]:
    lead = {k: values[k] for k in _LEADING if k in values}
    lead.update((k, v) for k, v in values.items() if k not in lead)
    return lead
