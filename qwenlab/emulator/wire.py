"""The shapes the emulator answers in, shared by every layer above: Runware's error items, the
documentation links they carry, and what one task contributes to an answer.

Kept apart from protocol.py and inference.py so both (and the HTTP handler) can build errors
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.model import get_model
from ..errors import ModelNotFoundError

__all__ = ["DOCS", "RUNWARE_IMAGE_PARAMETERS", "TaskResult", "doc_link", "error_item", "runware_code"]

DOCS = "https://runware.ai/docs"


@dataclass
class TaskResult:
    """What one task contributes to an answer."""

    data: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200  # the HTTP status when every task of the POST failed like this one
    ready_at: float = 0.0  # monotonic time before which the answer must not be sent
    on_ready: list[Callable[[], None]] = field(default_factory=list)


def doc_link(parameter: str | None, model_id: str | None = None) -> str:
    """The documentation address for a parameter of a model (Runware's anchor style)."""
    try:
        base = get_model(model_id).source if model_id else ""
    except ModelNotFoundError:
        base = ""
    if not base:
        return DOCS
    if not parameter:
        return base
    try:
        spec = get_model(model_id).spec_at(parameter) if model_id else None
    except ModelNotFoundError:
        spec = None
    # the page's anchor is its documented path's: a top-level referenceImages is documented at
    # #request-inputs-referenceimages (there is no #request-referenceimages)
    anchor = "request-" + spec.path.lower().replace(".", "-") if spec is not None else "request-parameters"
    return f"{base}#{anchor}"


# imageInference parameters Runware takes for some models (its CLI's request type, its docs): sent
# to a model that does not declare them they are `unsupportedParameter`; a key Runware knows for no
# model at all is `unknownParameter`. Both codes are named by Runware's SDKs (runware-python's
# errors.py, runware-typescript's error tests); which one Runware picks for a key is not documented.
RUNWARE_IMAGE_PARAMETERS = frozenset({
    "seed", "steps", "CFGScale", "scheduler", "clipSkip", "strength", "seedImage", "maskImage", "inputImage",
    "lora", "controlNet", "vae", "refiner", "embeddings", "ipAdapters", "outpaint", "acePlusPlus", "puLID",
    "instantID", "advancedFeatures", "checkNSFW", "promptWeighting", "maskMargin", "acceleratorOptions",
})

# The code an error item carries for a broken rule of the client's validation (core/validation.py
# names them its own way): Runware's codes where its SDKs name them.
_RUNWARE_CODES = {"conflictingParameters": "incompatibleParameters"}


def runware_code(code: str, parameter: str | None) -> str:
    """Runware's error code for a validation problem (`Problem.code`) about `parameter`."""
    if parameter == "positivePrompt":
        return "missingPositivePrompt" if code == "missingParameter" else "invalidPositivePrompt"
    if code == "unsupportedParameter" and parameter is not None and parameter not in RUNWARE_IMAGE_PARAMETERS:
        return "unknownParameter"
    return _RUNWARE_CODES.get(code, code)


def error_item(code: str, message: str, *, parameter: str | None = None, task_type: str | None = None,
               task_uuid: str | None = None, documentation: str = DOCS) -> dict[str, Any]:
    """One item of an `errors` array, in Runware's shape."""
    item: dict[str, Any] = {"code": code, "message": message}
    if parameter is not None:
        item["parameter"] = parameter
    if task_type is not None:
        item["taskType"] = task_type
    if task_uuid is not None:
        item["taskUUID"] = task_uuid
    item["documentation"] = documentation
    return item
