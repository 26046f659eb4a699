"""A problem: one broken rule of a request, as a ValidationError lists them.

`Problem(parameter, message, value, code, written)` says which parameter (by the API's name,
and by the keyword the user wrote when it differs: `prompt` for positivePrompt), what is wrong
and what is allowed; it keeps the value as given out of its repr (it may hold a key), and `to_wire()` gives
it as one item of a Runware `errors` array (what the emulator answers). Core validation, sweeps
and the emulator find them; `qwenlab.errors.ValidationError` carries them (and exports the class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """One broken rule: which parameter, the value given, and what is allowed."""

    parameter: str
    message: str
    value: Any = field(default=None, repr=False)  # as given: it may hold what must not be shown (a key)
    code: str = "invalidParameter"
    # the keyword the user wrote, where it is not the API's name: `prompt` for positivePrompt,
    # `size` for width and height (set by `Request.problems()` and a sweep); None: the parameter's
    written: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.named}: {self.message}"

    @property
    def named(self) -> str:
        """The parameter as a message names it: "prompt (sent as positivePrompt)" where the user
        wrote `prompt`, else the API's name."""
        if self.written and self.written != self.parameter:
            return f"{self.written} (sent as {self.parameter})"
        return self.parameter

    def to_wire(self, task_uuid: str | None = None, task_type: str = "imageInference") -> dict[str, Any]:
        """The problem as one item of a Runware `errors` array."""
        item: dict[str, Any] = {
            "code": self.code,
            "message": f"{self.parameter}: {self.message}",
            "parameter": self.parameter,
            "taskType": task_type,
        }
        if task_uuid:
            item["taskUUID"] = task_uuid
        return item
