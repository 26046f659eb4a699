"""The rules of a request: every problem with one task, checked against its model's description.

`validate_task` is what both the client (`Request.problems()`) and the emulator call, so the two
agree by construction: the same rules from the same data (qwenlab/core/models/*.toml). Each problem
names the parameter by its wire path, the value given and what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import ModelNotFoundError
from ..problems import Problem
from .model import DEFAULT_MODEL, ModelDescription, get_model, list_models
from .parameter import ParameterSpec
from .values import plain

__all__ = ["validate_task", "flatten_task", "copy_value", "is_image_ref", "short_repr", "UUID4", "is_unicode_text", "BROKEN_TEXT"]

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_ANY_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif|bmp|tiff);base64,([A-Za-z0-9+/=\s]+)$", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")
_OTHER_DATA_URI = re.compile(r"^data:image/([A-Za-z0-9.+-]+)[;,]", re.IGNORECASE)  # a format _DATA_URI does not take


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
        dotted: dict[str, Any] = {}
        values = flatten_task("", task, desc, dotted=dotted) if desc else dict(task)
        problems.extend(_dotted_key(desc, path, value) for path, value in dotted.items() if desc)
    else:
        values = dict(task)
    model_id = str(values.get("model", model_id or ""))
    if not model_id.strip():
        if "model" not in values:
            return [Problem("model", f"is required; use {DEFAULT_MODEL!r}", None, "missingParameter"), *_task_type_problems(values)]
        # model="" (a sweep file's `model = ""`, an unset variable) once meant the default model
        # without a word in a Sweep, and "is required" here, which the user did give
        default = (" (the default: leave model= out of Request or Sweep, or the model line out of a sweep file, "
                   "to use it)") if flat else ""
        return [Problem("model", f"is empty; give a model's AIR id such as {DEFAULT_MODEL!r}{default}",
                        values["model"], "invalidModel"), *_task_type_problems(values)]
    try:
        desc = get_model(model_id)
    except ModelNotFoundError as exc:
        message = str(exc)
        if any(c.isspace() for c in model_id):
            # Request("A poster ...") passes the prompt as the model (Request's first argument, as
            # a Sweep's second): "register a model" is no fix for that
            message = (f"{short_repr(model_id)} reads as a prompt, not a model id (a model id has no spaces: "
                       f"{DEFAULT_MODEL!r}); give the prompt as prompt=\"...\" (the first argument of Request, and the "
                       f"second of Sweep, is the model). Known models: {', '.join(m.id for m in list_models())}")
        return [Problem("model", message, model_id, "invalidModel"), *_task_type_problems(values)]

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

    kinds = sorted({m.task_type for m in list_models()})
    given = values.get("taskType")
    if given in kinds:
        return []
    if "taskType" not in values:
        return [Problem("taskType", f"is required; use {' or '.join(map(repr, kinds))}", None, "missingParameter")]
    return [Problem("taskType", f"{short_repr(given)} is not a task type; use {' or '.join(map(repr, kinds))}", given)]


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
    if desc.is_object_prefix(path):
        # `safety`, `inputs`, `providerSettings.alibaba` are parameters of the page ("safety: object
        # (2 properties)"; inputs "must be nested inside the `inputs` object"), given here as
        # something else: "not a parameter" would send the user looking for a name that is right
        inner = [p for p in declared if p.startswith(path + ".")]
        example = "{" + ", ".join(f'"{p[len(path) + 1:].split(".")[0]}": ...' for p in inner[:2]) + "}"
        return Problem(path, f"must be an object holding {', '.join(inner)} (as {example}), got "
                             f"{type(value).__name__} {short_repr(value)}", value)
    at = {s.name: s.path for s in desc.parameters.values()}  # a short name -> where it sits on the wire
    leaf = path.rsplit(".", 1)[-1]
    if at.get(leaf, path) != path:  # a parameter's name at the wrong place: promptExtend at the top level
        hint = f"in a task's JSON it goes at {at[leaf]!r} ({leaf}=... as a keyword); "
    else:
        close = difflib.get_close_matches(path, declared + list(at), n=1)
        where = f" (at {at[close[0]]!r} in a task's JSON)" if close and at.get(close[0], close[0]) != close[0] else ""
        hint = f"did you mean {close[0]!r}{where}? " if close else ""
    return Problem(path, f"is not a parameter of {desc.id}; {hint}it takes: {', '.join(declared)}", value, "unsupportedParameter")


def _dotted_key(desc: ModelDescription, path: str, value: Any) -> Problem:
    """A wire task's key written with dots ("providerSettings.alibaba.promptExtend"): the page says
    such parameters "must be nested inside" their object, and to Runware a key with dots is one key
    of that name, which the model's schema does not declare (unsupportedParameter)."""
    spec = desc.spec_at(path)
    if spec is None:
        return _undeclared(desc, path, value)
    nested = "".join(f'{{"{part}": ' for part in path.split(".")) + "..." + "}" * path.count(".") + "}"
    return Problem(path, f"is written as one key with dots in its name, which Runware reads as a key of that name, "
                         f"not as the parameter {spec.path}; nest it: {nested}", value, "unsupportedParameter")


# what is said of text holding a lone surrogate, wherever it is refused (a prompt, a name, notes, a tag)
BROKEN_TEXT = ("holds a lone surrogate (U+D800 to U+DFFF, half of a character such as an emoji cut in two), which "
               "cannot be sent nor logged as UTF-8; retype or remove that character")


def is_unicode_text(text: str) -> bool:
    """Whether `text` encodes as UTF-8: no lone surrogate (half of a character beyond U+FFFF, as
    a string cut between the two halves of an emoji, or decoded with surrogateescape, holds)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units, as JavaScript counts a string: a character
    beyond U+FFFF (most emoji) counts two."""
    # counted by the codec, not character by character in Python: every string a sweep's cells
    # send is measured when the sweep is planned (a lone surrogate, passed through, counts one)
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def _check_value(spec: ParameterSpec, path: str, value: Any, desc: ModelDescription) -> list[Problem]:
    # named where it was written: the page's first example sends a top-level referenceImages, and
    # a problem named inputs.referenceImages sent the user looking for a key their JSON lacks
    name = path if path in spec.also_at else spec.path
    got = short_repr(value)
    if spec.value is not None:
        return [] if value == spec.value else [Problem(name, f"must be {spec.value!r}, got {got}", value)]
    if spec.type == "string":
        if not isinstance(value, str):
            return [Problem(name, f"must be a string, got {type(value).__name__} {got}", value)]
        if not is_unicode_text(value):
            return [Problem(name, f"{got} {BROKEN_TEXT}", value)]
        if spec.allowed is not None and value not in spec.allowed:
            return [Problem(name, f"{got} is not allowed; use one of {', '.join(repr(a) for a in spec.allowed)}", value)]
        text = spec.min_length is not None or spec.max_length is not None  # free text: a prompt
        if text and value and _BLANK.match(value):
            # whether Runware refuses a prompt of spaces or zero-width characters is not documented;
            # sent, it may be charged for an image of nothing: refused here, as an empty one is,
            # where a refusal costs nothing
            return [_blank(spec, value)]
        if text and (control := _CONTROL.search(value)):
            return [_control_character(name, value, control.start())]
        # Runware does not say what it counts: characters (code points), or UTF-16 units as
        # JavaScript's length does (an emoji is two). The stricter of the two is applied, so a
        # prompt Runware might refuse (at no cost, but a sweep half sent) is refused here first.
        # Zero-width characters are characters: counted, as Runware receives them.
        units = utf16_length(value)
        if spec.min_length is not None and len(value) < spec.min_length or spec.max_length is not None and units > spec.max_length:
            lo, hi = spec.min_length or 0, spec.max_length
            counted = f"{len(value)} characters" + (f" ({units} UTF-16 units, as Runware may count them)" if units != len(value) else "")
            if not value and not spec.required:
                # "" is how a sweep file says "not sent"; in Python (or pasted JSON) it is sent, and refused
                return [Problem(name, f"is empty; give it {lo} to {hi} characters, or leave it out (None in Python; "
                                      "\"\" only in a sweep file means not sent)", value, "invalidLength")]
            return [Problem(name, f"has {counted}; it must have {lo} to {hi}", value, "invalidLength")]
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
            if spec.items == "image" and not is_image_ref(item):
                kind = _OTHER_DATA_URI.match(item) if isinstance(item, str) else None
                why = (f"is a data URI of image/{kind.group(1)}, not of PNG, JPEG, WEBP, GIF, BMP or TIFF (Runware's page "
                       "names no formats for reference images: qwenlab sends only these); convert it to PNG or JPEG" if kind else
                       "is not an image UUID, an http(s) URL, a data URI or base64 data")
                out.append(Problem(name, f"item {i} ({short_repr(item)}) {why}; upload a local file with client.upload_image()", item))
            elif spec.items == "string" and not isinstance(item, str):
                out.append(Problem(name, f"item {i} must be a string, got {type(item).__name__}", item))
        return out
    if spec.type == "object":
        return [] if isinstance(value, Mapping) else [Problem(name, f"must be an object, got {type(value).__name__}", value)]
    return []


# characters that show nothing: a prompt of these and spaces only is empty text (a zero-width
# space or a byte order mark comes along with text copied from web pages and Word)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_BLANK = re.compile(f"[\\s{ZERO_WIDTH}]+\\Z")
# C0 control characters but tab, newline and carriage return: a NUL, or a terminal's escape
# codes pasted with the text ("\x1b[0m"), which no prompt means to send; DEL; and the C1
# controls, which text decoded with the wrong encoding carries (UTF-8 read as Latin-1: "â\x80\x99"
# for a curly apostrophe)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "backspace", "\x0b": "vertical tab", "\x0c": "form feed",
                  "\x1b": "ESC, which starts a terminal's colour and cursor codes", "\x7f": "DEL"}
_C1_NAME = "a C1 control: the text was likely decoded with the wrong encoding, e.g. UTF-8 read as Latin-1"


def _blank(spec: ParameterSpec, value: str) -> Problem:
    """A text parameter given only spaces and zero-width characters: refused as empty text."""
    hidden = sorted({f"U+{ord(c):04X}" for c in value if c in ZERO_WIDTH})
    what = "only spaces" + (f" and zero-width characters ({', '.join(hidden)}), which show nothing" if hidden else "")
    leave = "" if spec.required else " (or leave it out: None in Python, \"\" in a sweep file)"
    return Problem(spec.path, f"{short_repr(value)} is empty: {what}; give it {spec.min_length or 1} to "
                              f"{spec.max_length or 'any number of'} characters of text{leave}", value, "invalidLength")


def _control_character(name: str, value: str, at: int) -> Problem:
    """A text parameter holding a control character: which, where, and the fix."""
    char = value[at]
    shown = char.encode("unicode_escape").decode("ascii")
    known = f" ({_CONTROL_NAMES[char]})" if char in _CONTROL_NAMES else f" ({_C1_NAME})" if "\x80" <= char <= "\x9f" else ""
    count = len(_CONTROL.findall(value))
    more = f"; it holds {count} such characters in all" if count > 1 else ""
    return Problem(name, f"holds the control character {shown}{known} at index {at} (near "
                         f"{short_repr(value[max(0, at - 12):at + 12], 40)}){more}; remove it: tab, newline and carriage "
                         "return are the only control characters text may hold (one pasted from a terminal carries its "
                         "escape codes)", value)


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


def is_image_ref(item: Any) -> bool:
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


# Values that cannot change in place: a request shares them instead of copying them (a sweep
# builds each cell's request several times, and deepcopy of a string is a function call).
_IMMUTABLE = (str, int, float, bool, type(None))


def copy_value(value: Any) -> Any:
    """`value` itself when it is immutable, else a deep copy (a request never shares a list or
    dict); a numpy scalar as the Python number it holds (it is no JSON type)."""
    if type(value) in _IMMUTABLE:
        return value
    value = plain(value)
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


def flatten_task(prefix: str, obj: Mapping[str, Any], desc: ModelDescription | None, *,
                 dotted: dict[str, Any] | None = None) -> dict[str, Any]:
    """A nested task as values keyed by wire path; objects that hold declared parameters
    (`providerSettings`, `inputs`, `safety`) are opened, anything else is kept whole.

    `dotted`, when given, takes the keys written with a dot instead (by their path): in a task as
    sent on the wire such a key is not the nested parameter it spells, so `validate_task` names it."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if dotted is not None and "." in str(key):
            dotted[path] = copy_value(value)
        elif isinstance(value, Mapping) and desc is not None and desc.is_object_prefix(path):
            out.update(flatten_task(path, value, desc, dotted=dotted))
        else:
            out[path] = copy_value(value)
    return out


def short_repr(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters for error messages and reprs. A cut value still
    closes as it opened: a string with its own quote (a prompt holding an apostrophe is shown in
    double quotes), a list, tuple or dict with its bracket."""
    text = repr(value)
    if len(text) <= limit:
        return text
    close = text[-1] if text[-1] in "'\"])}>" else ""
    return text[: limit - 3 - len(close)] + "..." + close
