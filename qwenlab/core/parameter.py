"""A parameter of a model: its name, wire path, type and limits, and reading one from a model
description's `[parameters.NAME]` table.

`ModelDescription` (`qwenlab.core.model`) holds one `ParameterSpec` per parameter it declares;
`parameter()` builds each from the TOML, refusing a key, type, format or item kind qwenlab does
not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ModelDescriptionError

__all__ = ["ParameterSpec", "parameter"]

_TYPES = {"string", "integer", "number", "boolean", "array", "object"}
_FORMATS = {"uuid4", "uri"}
_ITEM_KINDS = {"string", "image"}


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a model: its name, wire path, type and limits."""

    name: str
    path: str
    type: str
    required: bool = False
    default: Any = None
    value: Any = None  # a constant the parameter must equal (taskType, model)
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    step: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None
    items: str | None = None
    max_items: int | None = None
    also_at: tuple[str, ...] = ()
    affects_output: bool = False
    group: str = "generation"

    @property
    def paths(self) -> tuple[str, ...]:
        """Every wire path this parameter is accepted at, the documented one first."""
        return (self.path, *self.also_at)

    def describe_allowed(self) -> str:
        """What this parameter accepts, in words, for error messages."""
        if self.value is not None:
            return f"must be {self.value!r}"
        if self.allowed is not None:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        bits: list[str] = [f"a {self.type}"]
        if self.min is not None and self.max is not None:
            bits.append(f"from {_num(self.min)} to {_num(self.max)}")
        elif self.min is not None:
            bits.append(f"at least {_num(self.min)}")
        elif self.max is not None:
            bits.append(f"at most {_num(self.max)}")
        if self.min_length is not None or self.max_length is not None:
            bits.append(f"of {self.min_length or 0} to {self.max_length or 'any'} characters")
        return " ".join(bits)


def parameter(name: str, raw: Mapping[str, Any], where: str) -> ParameterSpec:
    if not isinstance(raw, Mapping):
        raise ModelDescriptionError(f"{where}: parameter {name!r} must be a table")
    known = set(ParameterSpec.__dataclass_fields__) - {"name"}
    extra = set(raw) - known
    if extra:
        raise ModelDescriptionError(f"{where}: parameter {name!r} has unknown keys {sorted(extra)}; allowed: {sorted(known)}")
    kwargs = dict(raw)
    kwargs.setdefault("path", name)
    if kwargs.get("type") not in _TYPES:
        raise ModelDescriptionError(f"{where}: parameter {name!r} needs type in {sorted(_TYPES)}")
    if kwargs.get("format") not in (None, *_FORMATS):
        raise ModelDescriptionError(f"{where}: parameter {name!r} has format {kwargs['format']!r}; known: {sorted(_FORMATS)}")
    if kwargs.get("items") not in (None, *_ITEM_KINDS):
        raise ModelDescriptionError(f"{where}: parameter {name!r} has items {kwargs['items']!r}; known: {sorted(_ITEM_KINDS)}")
    if "allowed" in kwargs:
        kwargs["allowed"] = tuple(kwargs["allowed"])
    kwargs["also_at"] = tuple(kwargs.get("also_at", ()))
    return ParameterSpec(name=name, **kwargs)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
