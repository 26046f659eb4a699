"""The API key, refused wherever a sweep would carry it: a prompt, a name, a note."""

from __future__ import annotations

import os
from typing import Any, Iterator

from ..errors import ValidationError
from ..problems import Problem
from ..secrets import as_secret, holds_secret, register_secret

__all__ = ["refuse_secrets_in"]


def refuse_secrets_in(sweep: Any, name: str | None, notes: str | None = None, *, api_key: str | None = None) -> None:
    """Refuse a sweep holding the API key (pasted into a prompt, say): a prompt goes to the model
    (with promptExtend, to an LLM too) and into the log, its sidecars, bundles and reports.
    ValidationError naming each place; nothing written, nothing sent. A run checks this, and so
    do `qwenlab run --dry-run` where there is no log yet and `Sweep.plan()` (they printed the
    request, key and all). `sweep`: a `qwenlab.sweeps.sweep.Sweep` (anything with `to_dict()`)."""
    api_key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
    register_secret(api_key)
    places = [p for p, v in _leaves({"sweep": sweep.to_dict(), "name": name, "notes": notes})
              if holds_secret(v) and ".labels[" not in p]  # an axis value's label repeats its value
    if places:
        raise ValidationError([Problem(p, "holds your Runware API key; take it out (a prompt is sent to the model and "
                                          "kept in the log, its bundles and reports)") for p in places], context="sweep")


def _leaves(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every text of nested dicts and lists: "sweep.base.positivePrompt"."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(data, str):
        yield path, data
