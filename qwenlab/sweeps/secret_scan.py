"""The API key, refused wherever a sweep would carry it: a prompt, a name, a note."""

from __future__ import annotations

import os
from typing import Any

from ..errors import ValidationError
from ..problems import Problem
from ..secrets import as_secret, register_secret, secret_places

__all__ = ["refuse_secrets_in"]


def refuse_secrets_in(sweep: Any, name: str | None, notes: str | None = None, *, api_key: str | None = None) -> None:
    """Refuse a sweep holding the API key (pasted into a prompt, say): a prompt goes to the model
    (with promptExtend, to an LLM too) and into the log, its sidecars, bundles and reports.
    ValidationError naming each place; nothing written, nothing sent. A run checks this, and so
    do `qwenlab run --dry-run` where there is no log yet and `Sweep.plan()` (they printed the
    request, key and all). `sweep`: a `qwenlab.sweeps.sweep.Sweep` (anything with `to_dict()`)."""
    api_key = as_secret(api_key or os.getenv("RUNWARE_API_KEY"))
    register_secret(api_key)
    places = [p for p in secret_places({"sweep": sweep.to_dict(), "name": name, "notes": notes})
              if ".labels[" not in p]  # an axis value's label repeats its value
    if places:
        raise ValidationError([Problem(p, "holds your Runware API key; take it out (a prompt is sent to the model and "
                                          "kept in the log, its bundles and reports)") for p in places], context="sweep")
