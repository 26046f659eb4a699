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

import base64
import binascii
import copy
import difflib
import hashlib
import json
import re
import uuid
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

from .errors import ModelNotFoundError, Problem, ValidationError
from .model import DEFAULT_MODEL, ModelDescription, ParameterSpec, get_model

__all__ = ["Request", "parse_size", "new_task_uuid", "validate_task"]

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_ANY_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif|bmp|tiff);base64,([A-Za-z0-9+/=\s]+)$", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")
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
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        return int(size[0]), int(size[1])
    match = _SIZE.match(str(size)) if isinstance(size, str) else None
    if not match:
        raise ValueError(f"size {size!r} is not WIDTHxHEIGHT; write it like '1024x1536'")
    return int(match.group(1)), int(match.group(2))


class Request:
    """An image request for one model: immutable, validated on demand, exact on the wire.

    Build it from keywords (`prompt=`, `size="1024x1536"`, `promptExtend=False`, any parameter
    of the model by name or wire path, nested dicts such as `safety={"mode": "fast"}`), or with
    `Request.from_json(...)` from a pasted Runware request. A keyword set to None is left out.
    """

    __slots__ = ("_values", "_model_id")

    def __init__(self, model: str = DEFAULT_MODEL, prompt: str | None = None, *, size: Any = None, **params: Any) -> None:
        self._model_id = str(model)
        values: dict[str, Any] = {}
        desc = self._description()
        task_type = desc.task_type if desc else "imageInference"
        values["taskType"] = params.pop("taskType", task_type)
        values["taskUUID"] = params.pop("taskUUID", None) or new_task_uuid()
        values["model"] = self._model_id
        if prompt is not None:
            params.setdefault("positivePrompt", prompt)
        if size is not None:
            try:
                params["width"], params["height"] = parse_size(size)
            except ValueError as exc:
                raise ValidationError([Problem("size", str(exc), size)]) from None
        for key, value in params.items():
            if value is None:
                continue
            key = _ALIASES.get(key, key)
            spec = desc.spec(key) if desc else None
            if spec is not None:
                values[spec.path] = copy.deepcopy(value)
            elif isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                values.update(_flatten(key, value, desc))
            else:
                values[key] = copy.deepcopy(value)
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
        desc = self._description()
        values: dict[str, Any] = {}
        for key, value in task.items():
            if isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                values.update(_flatten(key, value, desc))
            else:
                values[key] = copy.deepcopy(value)
        if not values.get("taskUUID"):
            values["taskUUID"] = new_task_uuid()
        self._values = values
        return self

    # -- reading -------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def model(self) -> ModelDescription:
        """The model description (raises ModelNotFoundError for an unknown model)."""
        return get_model(self._model_id)

    @property
    def values(self) -> dict[str, Any]:
        """A copy of the values as given, keyed by wire path (no defaults filled in)."""
        return copy.deepcopy(self._values)

    @property
    def task_uuid(self) -> str:
        return str(self._values["taskUUID"])

    def get(self, name: str, default: Any = None) -> Any:
        """A parameter's value by name, short name or wire path; its model default if not given."""
        desc = self._description()
        spec = desc.spec(_ALIASES.get(name, name)) if desc else None
        if spec is None:
            return copy.deepcopy(self._values.get(name, default))
        for path in spec.paths:
            if path in self._values:
                return copy.deepcopy(self._values[path])
        return spec.default if spec.default is not None else default

    def is_set(self, name: str) -> bool:
        """True when the parameter was given (at any of its wire paths)."""
        desc = self._description()
        spec = desc.spec(_ALIASES.get(name, name)) if desc else None
        paths = spec.paths if spec else (name,)
        return any(p in self._values for p in paths)

    @property
    def prompt(self) -> str | None:
        return self.get("positivePrompt")

    @property
    def negative_prompt(self) -> str | None:
        return self.get("negativePrompt")

    @property
    def prompt_extend(self) -> bool | None:
        return self.get("promptExtend")

    @property
    def number_results(self) -> int:
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
        """A new request with some parameters changed (None removes one). Keeps the taskUUID
        unless `taskUUID=` is given; use `renew()` for a fresh one."""
        model = changes.pop("model", self._model_id)
        size = changes.pop("size", None)
        if size is not None:
            changes["width"], changes["height"] = parse_size(size)
        task = self.to_task()
        task["model"] = model
        new = Request.from_task(task)
        desc = new._description()
        values = dict(new._values)
        for key, value in changes.items():
            key = _ALIASES.get(key, key)
            spec = desc.spec(key) if desc else None
            paths = spec.paths if spec else (key,)
            present = [p for p in paths if p in values]
            for p in paths:
                values.pop(p, None)
            if value is None:
                continue
            if spec is None and isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(key):
                values.update(_flatten(key, value, desc))
            else:
                # keep the spelling the request already used (e.g. a top-level referenceImages)
                values[present[0] if present else (spec.path if spec else key)] = copy.deepcopy(value)
        new._values = _ordered(values) if not self._pasted_order() else values
        return new

    def renew(self) -> "Request":
        """The same request with a fresh taskUUID (Runware requires one per task)."""
        return self.replace(taskUUID=new_task_uuid())

    def _pasted_order(self) -> bool:
        return list(self._values)[:3] != ["taskType", "taskUUID", "model"]

    # -- validation ------------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """Every rule this request breaks (empty when valid). Nothing is sent."""
        return validate_task(self._values, model_id=self._model_id, flat=True)

    def validate(self) -> "Request":
        """Return self if valid; otherwise raise ValidationError listing every problem."""
        problems = self.problems()
        if problems:
            raise ValidationError(problems)
        return self

    @property
    def is_valid(self) -> bool:
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
        return f"Request({self._model_id!r}, {body})"

    def _description(self) -> ModelDescription | None:
        try:
            return get_model(self._model_id)
        except ModelNotFoundError:
            return None


# -- validation shared with the emulator ------------------------------------------------------------
def validate_task(task: Mapping[str, Any], model_id: str | None = None, *, flat: bool = False) -> list[Problem]:
    """Every problem with one task, against its model's description.

    The client and the emulator both call this, so they agree by construction. `task` is a
    wire task (nested) unless `flat=True` (values keyed by wire path).
    """
    problems: list[Problem] = []
    if not flat:
        if not isinstance(task, Mapping):
            return [Problem("task", f"must be a JSON object, got {type(task).__name__}")]
        model_id = str(task.get("model", "")) if model_id is None else model_id
        try:
            desc: ModelDescription | None = get_model(str(task.get("model", "")))
        except ModelNotFoundError:
            desc = None
        values = _flatten("", task, desc) if desc else dict(task)
    else:
        values = dict(task)
    model_id = str(values.get("model", model_id or ""))
    if not model_id:
        return [Problem("model", "is required; use 'alibaba:qwen-image@2.0-pro'", None, "missingParameter"), *_task_type_problems(values)]
    try:
        desc = get_model(model_id)
    except ModelNotFoundError as exc:
        return [Problem("model", str(exc), model_id, "invalidModel"), *_task_type_problems(values)]

    seen: set[str] = set()
    for path, value in values.items():
        spec = desc.spec_at(path)
        if spec is None:
            problems.append(_undeclared(desc, path, value))
            continue
        if spec.name in seen:
            problems.append(Problem(spec.path, f"is given twice (at {' and '.join(p for p in spec.paths if p in values)}); give it once", value))
            continue
        seen.add(spec.name)
        problems.extend(_check_value(spec, path, value, desc))

    for spec in desc.parameters.values():
        if spec.required and not any(p in values for p in spec.paths):
            problems.append(Problem(spec.path, f"is required ({spec.describe_allowed()})", None, "missingParameter"))

    for rule in desc.rules:
        a, b = rule.parameters
        has_a, has_b = a in values, b in values
        if rule.kind == "exclusive" and has_a and has_b:
            problems.append(Problem(b, f"{rule.message}; remove one of them", values[b], "conflictingParameters"))
        elif rule.kind == "together" and has_a != has_b:
            missing = b if has_a else a
            problems.append(Problem(missing, f"{rule.message}; add {missing} or remove {a if has_a else b}", None, "missingParameter"))

    problems.extend(_check_size(desc, values.get("width"), values.get("height")))
    return problems


def _task_type_problems(values: Mapping[str, Any]) -> list[Problem]:
    """With no model to go by, the taskType must still be one some model takes: a server reads a
    task's type before anything else, and refuses it on that alone."""
    from .model import list_models

    kinds = sorted({m.task_type for m in list_models()})
    given = values.get("taskType")
    if given in kinds:
        return []
    if "taskType" not in values:
        return [Problem("taskType", f"is required; use {' or '.join(map(repr, kinds))}", None, "missingParameter")]
    return [Problem("taskType", f"{_short(given)} is not a task type; use {' or '.join(map(repr, kinds))}", given)]


def _undeclared(desc: ModelDescription, path: str, value: Any) -> Problem:
    if path == "seed" and not desc.accepts_seed:
        return Problem(
            "seed",
            f"{desc.id} takes no seed: its Runware page declares none, and every result reports the seed it used. "
            "Remove seed; to vary results use numberResults or a sweep's repeats (seed policy 'sample'), "
            "and keep an image's file to keep the image.",
            value,
            "unsupportedParameter",
        )
    declared = sorted({s.path for s in desc.parameters.values()})
    close = difflib.get_close_matches(path, declared + [s.name for s in desc.parameters.values()], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return Problem(path, f"is not a parameter of {desc.id}; {hint}it takes: {', '.join(declared)}", value, "unsupportedParameter")


def _check_value(spec: ParameterSpec, path: str, value: Any, desc: ModelDescription) -> list[Problem]:
    name = spec.path
    got = _short(value)
    if spec.value is not None:
        return [] if value == spec.value else [Problem(name, f"must be {spec.value!r}, got {got}", value)]
    if spec.type == "string":
        if not isinstance(value, str):
            return [Problem(name, f"must be a string, got {type(value).__name__} {got}", value)]
        if spec.allowed is not None and value not in spec.allowed:
            return [Problem(name, f"{got} is not allowed; use one of {', '.join(repr(a) for a in spec.allowed)}", value)]
        if spec.min_length is not None and len(value) < spec.min_length or spec.max_length is not None and len(value) > spec.max_length:
            lo, hi = spec.min_length or 0, spec.max_length
            return [Problem(name, f"has {len(value)} characters; it must have {lo} to {hi}", value, "invalidLength")]
        if spec.format == "uuid4" and not UUID4.match(value):
            return [Problem(name, f"{got} is not a UUID v4; make one with str(uuid.uuid4())", value)]
        if spec.format == "uri" and not _is_http_url(value):
            return [Problem(name, f"{got} is not an absolute http(s) URI", value)]
        return []
    if spec.type == "boolean":
        return [] if isinstance(value, bool) else [Problem(name, f"must be true or false, got {got}", value)]
    if spec.type in ("integer", "number"):
        ok_type = _is_int(value) if spec.type == "integer" else (isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok_type:
            return [Problem(name, f"must be {'an integer' if spec.type == 'integer' else 'a number'}, got {type(value).__name__} {got}", value)]
        if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
            return [Problem(name, f"{got} is out of range; it must be {spec.describe_allowed().removeprefix(f'a {spec.type} ')}", value, "outOfRange")]
        if spec.allowed is not None and value not in spec.allowed:
            return [Problem(name, f"{got} is not allowed; use one of {', '.join(map(repr, spec.allowed))}", value)]
        return []
    if spec.type == "array":
        if not isinstance(value, list):
            return [Problem(name, f"must be an array, got {type(value).__name__} {got}", value)]
        if not value:
            return [Problem(name, "is empty; give at least one item or leave it out", value)]
        if spec.max_items is not None and len(value) > spec.max_items:
            return [Problem(name, f"has {len(value)} items; at most {spec.max_items} are allowed", value, "outOfRange")]
        out = []
        for i, item in enumerate(value):
            if spec.items == "image" and not _is_image_ref(item):
                out.append(Problem(name, f"item {i} ({_short(item)}) is not an image UUID, an http(s) URL, a data URI or base64 data; upload a local file with client.upload_image()", item))
            elif spec.items == "string" and not isinstance(item, str):
                out.append(Problem(name, f"item {i} must be a string, got {type(item).__name__}", item))
        return out
    if spec.type == "object":
        return [] if isinstance(value, Mapping) else [Problem(name, f"must be an object, got {type(value).__name__}", value)]
    return []


def _check_size(desc: ModelDescription, w: Any, h: Any) -> list[Problem]:
    """Each side within bounds, and the area, for whichever sides are integers."""
    b = desc.size
    out = []
    for side, v in (("width", w), ("height", h)):
        if _is_int(v) and not b.min_side <= v <= b.max_side:
            out.append(Problem(side, f"{v} px is out of range; each side must be {b.min_side} to {b.max_side} px", v, "invalidSize"))
    if not out and _is_int(w) and _is_int(h) and w * h > b.max_area:
        out.append(Problem("width", f"{w}x{h} has {w * h} pixels; at most {b.max_area} ({_sq(b.max_area)}) are allowed; make a side smaller", w, "invalidSize"))
    return out


def _sq(area: int) -> str:
    side = int(area**0.5)
    return f"{side}x{side}" if side * side == area else str(area)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _is_image_ref(item: Any) -> bool:
    if not isinstance(item, str) or len(item) < 4:
        return False
    if _ANY_UUID.match(item) or _is_http_url(item):
        return True
    m = _DATA_URI.match(item)
    payload = m.group(2) if m else item
    if not m and not _BASE64.match(item):
        return False
    try:
        base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(payload) >= 16


# -- flat <-> nested ----------------------------------------------------------------------------
def _flatten(prefix: str, obj: Mapping[str, Any], desc: ModelDescription | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(path):
            out.update(_flatten(path, value, desc))
        else:
            out[path] = copy.deepcopy(value)
    return out


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):  # a scalar already sits here: keep both visible
                nxt = node[part] = {"": nxt}
            node = nxt
        node[parts[-1]] = copy.deepcopy(value)
    return out


def _ordered(values: dict[str, Any]) -> dict[str, Any]:
    lead = {k: values[k] for k in _LEADING if k in values}
    lead.update((k, v) for k, v in values.items() if k not in lead)
    return lead


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "...'"


def iter_wire_paths(task: Mapping[str, Any]) -> Iterator[str]:
    """Every leaf path of a nested task (for diagnostics)."""
    for key, value in task.items():
        if isinstance(value, Mapping):
            for sub in iter_wire_paths(value):
                yield f"{key}.{sub}"
        else:
            yield str(key)
