"""How a result reads in a notebook: as its text.

A cell ending in `lab.import_bundle(...)`, `lab.bundle(...)`, `lab.verify()` or a delete showed
the result's dataclass fields (paths as PosixPath(...), dicts of names), where `print()` gave the
sentence written for the user. IPython shows an object by a `_repr_pretty_` found in its class's
own namespace before the `__repr__` a dataclass writes there (a base class's comes too late), so
a decorator puts it there; `repr()` stays the dataclass's own, for debugging.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["shown_as_text"]

T = TypeVar("T", bound=type)


def _pretty_text(self: Any, printer: Any, cycle: bool) -> None:
    printer.text(str(self))


def shown_as_text(cls: T) -> T:
    """Class decorator for a result whose `__str__` says what happened: a notebook shows that text."""
    cls._repr_pretty_ = _pretty_text  # type: ignore[attr-defined]
    return cls
