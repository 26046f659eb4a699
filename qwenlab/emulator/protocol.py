"""Runware's wire protocol, minus HTTP: one POST body in, one answer out.

`Protocol.answer(body, authorization, fault)` checks the key, runs each task on its own and
composes the answer: all tasks failed -> the status of the (first) failure (400 for validation
and conflictTaskUUID, 404 for an unknown getResponse, 500 for an emulated inferenceError); some
succeeded -> 200 with both `data` and `errors`. The HTTP layer (handler.py) adds latency and the
faults that concern the connection itself. The state it works on (ledger, images, tasks, dice) is
an `EmulatorState` handed to it, shared with the handler.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.validation import UUID4
from .images import StoredImage
from .inference import run_inference
from .memory import UPLOAD_KEPT_S
from .references import UnusableReference, resolve_reference
from .state import EmulatorState
from .tasks import Slot, TaskRecord
from .wire import TaskResult, error_item

__all__ = ["Answer", "Protocol", "SYNC_TIMEOUT_CODE", "parse_body", "redact_body", "timeout_answer"]

# Runware's code for a sync request it stopped holding (HTTP 504, seen at about 122 s).
SYNC_TIMEOUT_CODE = "failedTaskTimeout"

_KEY_DOCS = "https://runware.ai/docs/platform/authentication"


@dataclass
class Answer:
    """An answer to one POST, to be sent no earlier than `ready_at` (monotonic)."""

    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    ready_at: float = 0.0
    on_ready: list[Callable[[], None]] = field(default_factory=list)

    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or Infinity)")


def parse_body(body: bytes) -> Any:
    """A POST body as JSON, strictly; ValueError (naming what is wrong) for anything that is not.

    Strict as a JSON parser on a real server is: NaN and Infinity (which Python's json reads and
    writes by default) are refused, so a body the emulator takes is one Runware can read. A body
    nested too deep for the parser or holding an integer of thousands of digits is refused too,
    as a client's error (HTTP 400), not an emulator failure (HTTP 500)."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ValueError(f"it is not UTF-8 ({exc})") from None
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    # json.JSONDecodeError and the int-size limit's error are ValueErrors: they pass as they are


def redact_body(body: Any) -> Any:
    """A copy of a request body with every `apiKey` value replaced by "***"."""
    if isinstance(body, list):
        return [redact_body(v) for v in body]
    if isinstance(body, dict):
        return {k: ("***" if k == "apiKey" else redact_body(v)) for k, v in body.items()}
    return body


class Protocol:
    """Runware's protocol over one emulator's state; `api_key` None accepts any non-empty key."""

    def __init__(self, state: EmulatorState, *, api_key: str | None) -> None:
        self.state = state
        self.api_key = api_key

    # -- one POST -------------------------------------------------------------------------------
    def answer(self, body: bytes, authorization: str | None, *, fault: str = "ok", t0: float | None = None) -> Answer:
        """The answer to a POST /v1 body (bytes as received)."""
        t0 = time.monotonic() if t0 is None else t0
        try:
            tasks = parse_body(body) if body else None
        except ValueError as exc:
            return _fail(400, "invalidJson", f"the body is not valid JSON ({exc}); send a JSON array of tasks")
        if not isinstance(tasks, list) or not tasks:
            return _fail(400, "invalidRequestBody", "the body must be a non-empty JSON array of task objects")
        auth_task = tasks[0] if isinstance(tasks[0], dict) and tasks[0].get("taskType") == "authentication" else None
        if not self._authorized(auth_task.get("apiKey") if auth_task else _bearer(authorization)):
            return _fail(401, "invalidApiKey",
                         "the API key is missing or not valid; send 'Authorization: Bearer <key>' "
                         "or a first task {\"taskType\": \"authentication\", \"apiKey\": ...}",
                         task_type="authentication", documentation=_KEY_DOCS)
        work = [t for t in tasks if not (isinstance(t, dict) and t.get("taskType") == "authentication")]
        if not work:
            return Answer(200, {"data": [{"taskType": "authentication", "connectionSessionUUID": str(uuid.uuid4())}]})
        results = [self._run(task, fault == "task_error", t0) for task in work]
        return _compose(results, t0)

    def _authorized(self, key: Any) -> bool:
        if not isinstance(key, str) or not key.strip():
            return False
        if self.api_key is None:
            return True
        return hmac.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8"))

    def _run(self, task: Any, forced_error: bool, t0: float) -> TaskResult:
        if not isinstance(task, dict):
            return TaskResult(errors=[error_item("invalidTask", f"each task must be a JSON object, got {type(task).__name__}")], status=400)
        kind = task.get("taskType")
        task_uuid = task.get("taskUUID") if isinstance(task.get("taskUUID"), str) else None
        if kind == "imageInference":
            return run_inference(self.state, task, forced_error=forced_error, t0=t0)
        if kind == "ping":
            return TaskResult(data=[{"taskType": "ping", "pong": True}])
        if kind == "getResponse":
            return self._get_response(task.get("taskUUID"))
        if kind == "imageUpload":
            return self._upload(task, task_uuid)
        return TaskResult(errors=[error_item(
            "invalidTaskType",
            f"taskType {kind!r} is not supported by this emulator; use imageInference, getResponse, imageUpload or ping",
            parameter="taskType", task_type=str(kind) if kind is not None else None, task_uuid=task_uuid)], status=400)

    def _get_response(self, task_uuid: Any) -> TaskResult:
        # no taskUUID to look up is the request's fault (400, as every parameter missing or of the
        # wrong kind): answered 404 "no task None is known", it read as a task the server lost
        if task_uuid is None or task_uuid == "":
            return TaskResult(errors=[error_item(
                "missingParameter", "taskUUID is required: the taskUUID of the task to ask about (a UUID v4)",
                parameter="taskUUID", task_type="getResponse")], status=400)
        if not isinstance(task_uuid, str):
            return TaskResult(errors=[error_item(
                "invalidParameter", f"taskUUID must be a string (a UUID v4), got {type(task_uuid).__name__}",
                parameter="taskUUID", task_type="getResponse")], status=400)
        items = self.state.book.poll(task_uuid)
        if items is None and self.state.memory is not None:
            items = self.state.memory.items(task_uuid, self.state.origin)  # made by an earlier process
        if items is None:
            return TaskResult(errors=[error_item(
                "taskFailedOrNotFound",
                f"no task {task_uuid!r} is known: it was never accepted (or failed validation); send it again with a new taskUUID",
                parameter="taskUUID", task_type="getResponse", task_uuid=task_uuid)], status=404)
        return TaskResult(data=items)

    def _upload(self, task: dict[str, Any], task_uuid: str | None) -> TaskResult:
        image = task.get("image")
        if task_uuid is None:
            return TaskResult(errors=[error_item("missingParameter", "taskUUID is required (a UUID v4)", parameter="taskUUID",
                                                 task_type="imageUpload")], status=400)
        if not UUID4.match(task_uuid):  # every task's taskUUID is a client-made UUID v4, an upload's too
            return TaskResult(errors=[error_item("invalidParameter", f"taskUUID {task_uuid!r} is not a UUID v4; make one with "
                                                 "str(uuid.uuid4())", parameter="taskUUID", task_type="imageUpload",
                                                 task_uuid=task_uuid)], status=400)
        if not isinstance(image, str) or not image:
            return TaskResult(errors=[error_item("missingParameter", "image is required: a data URI, base64 data or a URL",
                                                 parameter="image", task_type="imageUpload", task_uuid=task_uuid)], status=400)
        try:
            ref = resolve_reference(image, self.state.store, self.state.port)
        except UnusableReference as exc:
            return TaskResult(errors=[error_item("invalidImage", f"image: {exc}", parameter="image",
                                                 task_type="imageUpload", task_uuid=task_uuid)], status=400)
        memory = self.state.memory
        if not self.state.book.claim(task_uuid) or (
                memory is not None and not memory.claim(task_uuid, "imageUpload", self.state.store.now() + UPLOAD_KEPT_S)):
            return TaskResult(errors=[error_item("conflictTaskUUID", f"taskUUID {task_uuid} was used before; use a new UUID v4",
                                                 parameter="taskUUID", task_type="imageUpload", task_uuid=task_uuid)], status=400)
        image_uuid = str(uuid.uuid4())
        stored = self.state.store.put(StoredImage(image_uuid, pixels=ref.image, task_uuid=task_uuid))
        item = {"taskType": "imageUpload", "taskUUID": task_uuid, "imageUUID": image_uuid}
        if memory is not None:
            memory.keep_upload(item, stored)
        now = time.monotonic()
        self.state.book.add(TaskRecord(task_uuid, "imageUpload", "upload", [Slot(0, now, now, "success", item)]))
        return TaskResult(data=[item])


def timeout_answer(body: bytes) -> Answer:
    """HTTP 504 `failedTaskTimeout`, one error item per inference task of the POST `body`: what
    the server answers when it stops holding a sync request (its tasks go on; getResponse has them)."""
    try:
        tasks = parse_body(body)
    except ValueError:
        tasks = []
    uuids = [t.get("taskUUID") for t in tasks if isinstance(t, dict) and t.get("taskType") == "imageInference"
             and isinstance(t.get("taskUUID"), str)] if isinstance(tasks, list) else []
    message = "the task took longer than the sync request may be held; it goes on: poll it with getResponse"
    errors = [error_item(SYNC_TIMEOUT_CODE, message, task_type="imageInference", task_uuid=u) for u in uuids]
    return Answer(504, {"errors": errors or [error_item(SYNC_TIMEOUT_CODE, message)]})


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _fail(status: int, code: str, message: str, **kw: Any) -> Answer:
    return Answer(status, {"errors": [error_item(code, message, **kw)]})


def _compose(results: list[TaskResult], t0: float) -> Answer:
    data = [d for r in results for d in r.data]
    errors = [e for r in results for e in r.errors]
    ready_at = max([t0, *(r.ready_at for r in results)])
    on_ready = [f for r in results for f in r.on_ready]
    if data:
        payload: dict[str, Any] = {"data": data}
        if errors:
            payload["errors"] = errors
        return Answer(200, payload, ready_at=ready_at, on_ready=on_ready)
    status = next((r.status for r in results if r.errors), 400)
    return Answer(status, {"errors": errors}, ready_at=ready_at, on_ready=on_ready)
