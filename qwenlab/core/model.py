"""Model descriptions: what each model accepts, as data.

A description says, for every parameter, its type, default, limits, allowed values and where it
sits on the wire (`providerSettings.alibaba.promptExtend`), plus the rules between parameters, the
size bounds and the dated price per image. The shipped ones live in `qwenlab/core/models/*.toml`; a
user adds one without touching code by dropping a TOML file into `$QWENLAB_DATA_DIR/models/`
(or a folder named in `QWENLAB_MODELS_DIR`), or by calling `register_model(path_or_dict)`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ..errors import ModelDescriptionError, ModelNotFoundError
from ..paths import data_dir
from .parameter import ParameterSpec
from .parameter import parameter as _parameter
from .shown import shown_as_text
from .values import format_usd

__all__ = [
    "ParameterSpec",
    "Rule",
    "Price",
    "SizeBounds",
    "ModelDescription",
    "get_model",
    "list_models",
    "register_model",
    "load_model_file",
    "DEFAULT_MODEL",
]

DEFAULT_MODEL = "alibaba:qwen-image@2.0-pro"

_RULE_KINDS = {"exclusive", "together"}


@dataclass(frozen=True)
class Rule:
    """A rule between parameters: `exclusive` (not together) or `together` (both or neither)."""

    kind: str
    parameters: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Price:
    """The price of one image from a date on."""

    since: dt.date
    usd_per_image: float
    source: str = ""


@dataclass(frozen=True)
class SizeBounds:
    """Limits on width and height, and the size assumed when none is given.

    `min_side`, `max_side` and `max_area` are enforced: a size outside them is refused before
    anything is sent. Where the sources disagree, the area every one of them allows
    (`confirmed_min_area` to `confirmed_max_area`, `confirmed_by` saying who says what) is
    narrower: a size outside it is accepted, and `unconfirmed()` says why Runware may refuse it."""

    min_side: int = 256
    max_side: int = 2048
    max_area: int = 2048 * 2048
    default_width: int = 1024
    default_height: int = 1024
    confirmed_min_area: int | None = None
    confirmed_max_area: int | None = None
    confirmed_by: str = ""

    def unconfirmed(self, width: int, height: int) -> str | None:
        """Why a size inside the bounds may still be refused by Runware ('2,359,296 px, above
        2,097,152'), or None where every known source allows it."""
        area = width * height
        if self.confirmed_max_area is not None and area > self.confirmed_max_area:
            return f"{area:,} px, above {self.confirmed_max_area:,}"
        if self.confirmed_min_area is not None and area < self.confirmed_min_area:
            return f"{area:,} px, below {self.confirmed_min_area:,}"
        return None

    def unconfirmed_note(self, sizes: Iterable[tuple[int, int]]) -> str | None:
        """One sentence naming each of `sizes` that Runware may refuse, with why; None if none."""
        named = [f"{w}x{h} ({why})" for w, h in dict.fromkeys(sizes) if (why := self.unconfirmed(w, h))]
        if not named:
            return None
        which, it = (f"size {named[0]} is", "it") if len(named) == 1 else (f"sizes {', '.join(named)} are", "them")
        sources = f" ({self.confirmed_by})" if self.confirmed_by else ""
        return (f"{which} unconfirmed: not every source allows {it}{sources}; Runware may refuse {it}, which costs "
                f"nothing, while the emulator draws {it}")


@shown_as_text
@dataclass(frozen=True)
class ModelDescription:
    """Everything qwenlab knows about one model. Build one with `ModelDescription.from_dict`.
    A notebook shows it as its text: id, name, price, sizes and the parameters a sweep may vary."""

    id: str
    name: str
    parameters: Mapping[str, ParameterSpec]
    prices: tuple[Price, ...]
    rules: tuple[Rule, ...] = ()
    size: SizeBounds = field(default_factory=SizeBounds)
    task_type: str = "imageInference"
    provider: str = ""
    source: str = ""
    capabilities: tuple[str, ...] = ()
    seed_note: str = ""
    origin: str = ""

    # -- lookups -------------------------------------------------------------------------
    @property
    def accepts_seed(self) -> bool:
        """True when the model declares a `seed` parameter (so a sweep can pin seeds)."""
        return any(p.path == "seed" for p in self.parameters.values())

    def spec_at(self, path: str) -> ParameterSpec | None:
        """The parameter accepted at this wire path (documented or alternative), if any."""
        return self._by_path().get(path)

    def spec(self, name: str) -> ParameterSpec | None:
        """The parameter by name, short name or wire path (`promptExtend`, `prompt`, ...)."""
        if name in self.parameters:
            return self.parameters[name]
        if name == "prompt":
            return self.parameters.get("positivePrompt")
        return self.spec_at(name)

    def is_object_prefix(self, path: str) -> bool:
        """True when `path` is an object that holds declared parameters (`providerSettings`)."""
        return path in self._object_prefixes()

    def _object_prefixes(self) -> frozenset[str]:
        # every dotted prefix of every declared path, once: requests ask for each of their keys
        cached = self.__dict__.get("_prefixes_cache")
        if cached is None:
            parts = (p.split(".") for p in self._by_path())
            cached = frozenset(".".join(ps[:i]) for ps in parts for i in range(1, len(ps)))
            object.__setattr__(self, "_prefixes_cache", cached)
        return cached

    def _by_path(self) -> dict[str, ParameterSpec]:
        cached = self.__dict__.get("_by_path_cache")
        if cached is None:
            cached = {path: spec for spec in self.parameters.values() for path in spec.paths}
            object.__setattr__(self, "_by_path_cache", cached)
        return cached

    # -- prices ----------------------------------------------------------------------------
    def price_on(self, when: dt.date | dt.datetime | str | None = None) -> float:
        """USD per image on a date (today, UTC, by default): the newest price dated on or before it.
        Days are UTC's, as the log's are: on a machine in another zone, its local date put a price
        change a day off around midnight."""
        day = _as_date(when) if when is not None else utc_today()
        cached = self.__dict__.get("_price_cache")
        if cached is not None and cached[0] == day:  # a sweep asks for today's price several times a cell
            return cached[1]
        current = [p for p in self.prices if p.since <= day]
        chosen = max(current, key=lambda p: p.since) if current else min(self.prices, key=lambda p: p.since)
        object.__setattr__(self, "_price_cache", (day, chosen.usd_per_image))
        return chosen.usd_per_image

    @property
    def price(self) -> float:
        """Today's price per image in USD."""
        return self.price_on()

    def __str__(self) -> str:
        # `get_model(...)` or `list_models()` ending a notebook cell printed the dataclass's repr:
        # every ParameterSpec with its 18 fields, 7 KB a model, the price and sizes lost in it
        b = self.size
        shown = [n for n, p in self.parameters.items() if p.group != "api"]
        api = len(self.parameters) - len(shown)
        lines = [f"{self.id} ({self.name}): {format_usd(self.price)} an image"
                 + (f"; {', '.join(self.capabilities)}" if self.capabilities else ""),
                 f"  sizes: {b.min_side} to {b.max_side} px a side, at most {b.max_area:,} px "
                 f"(default {b.default_width}x{b.default_height})",
                 f"  parameters: {', '.join(shown)}" + (f" and {api} request settings" if api else "")
                 + " (.parameters)"]
        if self.seed_note:
            lines.append(f"  {self.seed_note}")
        return "\n".join(lines)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "") -> "ModelDescription":
        """Build a description from a dict shaped like the shipped TOML files."""
        where = origin or "model description"
        try:
            model_id = str(data["id"])
            raw_params = data["parameters"]
            raw_prices = data["prices"]
        except KeyError as exc:
            raise ModelDescriptionError(f"{where}: missing required key {exc.args[0]!r} (needs id, parameters, prices)") from None
        if not isinstance(raw_params, Mapping) or not raw_params:
            raise ModelDescriptionError(f"{where}: 'parameters' must be a table of parameter tables")
        params: dict[str, ParameterSpec] = {}
        for name, raw in raw_params.items():
            params[name] = _parameter(name, raw, where)
        for required in ("taskType", "taskUUID", "model", "positivePrompt"):
            if required not in params:
                raise ModelDescriptionError(f"{where}: parameter {required!r} must be declared")
        if not raw_prices:
            raise ModelDescriptionError(f"{where}: at least one [[prices]] entry is needed")
        prices = tuple(
            Price(since=_as_date(p["since"]), usd_per_image=_price(p["usd_per_image"], where), source=str(p.get("source", "")))
            for p in raw_prices
        )
        paths = {path for spec in params.values() for path in spec.paths}
        rules = []
        for raw in data.get("rules", []):
            kind = raw.get("kind")
            names = tuple(raw.get("parameters", ()))
            if kind not in _RULE_KINDS or len(names) != 2:
                raise ModelDescriptionError(f"{where}: a rule needs kind in {sorted(_RULE_KINDS)} and two parameters, got {raw!r}")
            unknown = [n for n in names if n not in paths]
            if unknown:
                raise ModelDescriptionError(f"{where}: rule names undeclared wire paths {unknown}")
            rules.append(Rule(kind=kind, parameters=names, message=str(raw.get("message") or f"{kind}: {names}")))
        try:
            size = SizeBounds(**data.get("size", {}))
        except TypeError as exc:
            known = ", ".join(f.name for f in fields(SizeBounds))
            raise ModelDescriptionError(f"{where}: [size] has a key qwenlab does not know ({exc}); the keys are {known}") from None
        return cls(
            id=model_id,
            name=str(data.get("name", model_id)),
            parameters=params,
            prices=prices,
            rules=tuple(rules),
            size=size,
            task_type=str(data.get("task_type", "imageInference")),
            provider=str(data.get("provider", "")),
            source=str(data.get("source", "")),
            capabilities=tuple(data.get("capabilities", ())),
            seed_note=str(data.get("seed_note", "")),
            origin=origin,
        )


def utc_today() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.timezone.utc).date()


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, dt.datetime):
        # dated in UTC, as the log dates its requests; a naive one is the machine's local time, as
        # Python takes it (datetime.now()), and astimezone reads it so
        return value.astimezone(dt.timezone.utc).date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _price(value: Any, where: str) -> float:
    """A price per image: a positive, finite number of US dollars. A price of 0 would switch the
    budget off (each cell reserves its price before it is sent, and what the API charges above the
    estimate is learned as a multiple of it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ModelDescriptionError(f"{where}: usd_per_image must be a number of US dollars above 0, got {value!r} "
                                    "(a budget reserves each cell's price before it is sent: at 0 it would hold nothing)")
    return float(value)


# -- the registry --------------------------------------------------------------------------
_REGISTRY: dict[str, ModelDescription] = {}
_LOADED_DIRS: set[Path] = set()


def load_model_file(path: str | os.PathLike[str]) -> ModelDescription:
    """Read one model description from a TOML file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelDescriptionError(f"{p}: cannot read model description: {exc}") from None
    return ModelDescription.from_dict(data, origin=str(p))


def register_model(source: ModelDescription | Mapping[str, Any] | str | os.PathLike[str]) -> ModelDescription:
    """Add (or replace) a model description: a ModelDescription, a dict, or a TOML file path."""
    if isinstance(source, ModelDescription):
        desc = source
    elif isinstance(source, Mapping):
        desc = ModelDescription.from_dict(source, origin="dict")
    else:
        desc = load_model_file(source)
    _ensure_loaded()
    _REGISTRY[desc.id] = desc
    _generation[0] += 1
    return desc


def _user_model_dirs() -> list[Path]:
    dirs = [Path(d) for d in os.environ.get("QWENLAB_MODELS_DIR", "").split(os.pathsep) if d]

    dirs.append(data_dir(create=False) / "models")
    return dirs


# The environment that decided which user folders were scanned; get_model is called for every
# cell of a sweep, so the folders are looked at again only when that environment changes.
_SCANNED_FOR: tuple[str, str] | None = None
# Bumped at every description added or replaced: `lookup` answers from a cache until it changes.
_generation = [0]


def _ensure_loaded() -> None:
    global _SCANNED_FOR
    if not _REGISTRY:
        for entry in sorted(resources.files("qwenlab.core.models").iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                desc = ModelDescription.from_dict(tomllib.loads(entry.read_text(encoding="utf-8")), origin=f"qwenlab/core/models/{entry.name}")
                _REGISTRY[desc.id] = desc
        _generation[0] += 1
    env = (os.environ.get("QWENLAB_MODELS_DIR", ""), os.environ.get("QWENLAB_DATA_DIR", ""))
    if env == _SCANNED_FOR:
        return
    for folder in _user_model_dirs():
        folder = folder.resolve()
        if folder in _LOADED_DIRS or not folder.is_dir():
            continue
        _LOADED_DIRS.add(folder)
        for file in sorted(folder.glob("*.toml")):
            desc = load_model_file(file)
            _REGISTRY[desc.id] = desc
            _generation[0] += 1
    _SCANNED_FOR = env  # a file added later is picked up by register_model(path) or a new process


def lookup(model_id: str, cached: tuple[int, ModelDescription | None] | None) -> tuple[int, ModelDescription | None]:
    """(generation, the description of `model_id` or None when unknown), reusing `cached` (an
    earlier answer) while no description was added or replaced since; an unknown model is looked
    for afresh (a description may have been put in a user folder meanwhile). For `Request`, which
    asks for its model's description at every parameter it reads: reading the environment to see
    whether a user folder appeared cost more than the rest of the lookup."""
    if cached is not None and cached[1] is not None and cached[0] == _generation[0]:
        return cached
    try:
        desc: ModelDescription | None = get_model(model_id)
    except ModelNotFoundError:
        desc = None
    return _generation[0], desc


def get_model(model_id: str) -> ModelDescription:
    """The description of a model id; raises ModelNotFoundError naming the known ones."""
    _ensure_loaded()
    try:
        return _REGISTRY[model_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelNotFoundError(
            f"model {model_id!r} has no description; known models: {known}. "
            "Add one with qwenlab.register_model('my-model.toml') or a TOML file in $QWENLAB_DATA_DIR/models/."
        ) from None


def list_models() -> list[ModelDescription]:
    """Every model description loaded, shipped ones and the user's."""
    _ensure_loaded()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def known_model_ids() -> Iterable[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)
