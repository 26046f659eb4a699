"""imageInference as the emulator runs it: validate, accept once, render, charge, answer.

A sync task is rendered in the request thread and answered when its latency has passed (the
render time counts toward the latency, as on a real server). An async task is acknowledged at
once and finished by a background thread, image by image, so getResponse sees partial results.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..core.model import ModelDescription, get_model
from ..core.request import Request, validate_task
from ..errors import ModelNotFoundError
from .images import StoredImage
from .references import UnusableReference, resolve_reference
from .synthetic import NSFW_TRIGGER, Reference, Scene, mime_and_ext, render_bytes
from .tasks import Slot, TaskRecord

if TYPE_CHECKING:
    from .protocol import Protocol

__all__ = ["TaskResult", "run_inference", "error_item", "doc_link"]

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
        declared = get_model(model_id).spec_at(parameter) is not None if model_id else False
    except ModelNotFoundError:
        declared = False
    anchor = "request-" + parameter.lower().replace(".", "-") if declared else "request-parameters"
    return f"{base}#{anchor}"


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


@dataclass
class _Plan:
    """Everything needed to make the images of one accepted task."""

    task_uuid: str
    request: Request
    desc: ModelDescription
    key: str
    references: tuple[Reference, ...]
    output_type: str
    fmt: str
    quality: int
    ttl: int
    include_cost: bool
    price: float
    nsfw: bool
    seeds: list[int]
    webhook: str | None
    upload: str | None


def run_inference(proto: "Protocol", task: dict[str, Any], *, forced_error: bool, t0: float) -> TaskResult:
    """Run one imageInference task (already known to be a dict)."""
    task_uuid = task.get("taskUUID") if isinstance(task.get("taskUUID"), str) else None
    model_id = str(task.get("model", ""))
    problems = validate_task(task)
    if problems:
        errors = []
        for p in problems:
            item = p.to_wire(task_uuid)
            item["documentation"] = doc_link(p.parameter, model_id)
            errors.append(item)
        return TaskResult(errors=errors, status=400)
    request = Request.from_task(task)
    references: list[Reference] = []
    for path in ("inputs.referenceImages", "referenceImages"):
        refs = request.values.get(path) or []
        for ref in refs:
            try:
                references.append(resolve_reference(ref, proto.store, proto.port))
            except UnusableReference as exc:
                return TaskResult(errors=[error_item("invalidReferenceImage", f"{path}: {exc}", parameter=path,
                                                     task_type="imageInference", task_uuid=task_uuid,
                                                     documentation=doc_link(path, model_id))], status=400)
    assert task_uuid is not None  # validate_task requires a UUID v4
    if not proto.book.claim(task_uuid):
        return TaskResult(errors=[error_item(
            "conflictTaskUUID",
            f"taskUUID {task_uuid} was used before; that task was already accepted (poll it with getResponse) "
            "and a new task needs a new UUID v4",
            parameter="taskUUID", task_type="imageInference", task_uuid=task_uuid,
            documentation=doc_link("taskUUID", model_id))], status=400)
    plan = _plan(proto, request, tuple(references))
    latency = proto.dice.latency()
    n = len(plan.seeds)
    # Images of one task finish one after another; the last one when the task's latency is up.
    slots = [Slot(i, t0, t0 + latency * (0.5 + 0.5 * (i + 1) / n)) for i in range(n)]
    delivery = str(request.get("deliveryMethod", "sync"))
    record = proto.book.add(TaskRecord(task_uuid, "imageInference", delivery, slots))
    if delivery == "async":
        threading.Thread(target=_finish_async, args=(proto, plan, record, forced_error),
                         name=f"qwenlab-emulator-task-{task_uuid[:8]}", daemon=True).start()
        return TaskResult(data=[{"taskType": "imageInference", "taskUUID": task_uuid, "status": "processing"}], ready_at=t0)
    if forced_error or proto.dice.chance("task_error"):
        error = {"code": "inferenceError", "message": "the (emulated) inference failed for this task; nothing was charged"}
        for slot in slots:
            proto.book.update(slot, status="error", error=error)
        return TaskResult(errors=[error_item(error["code"], error["message"], task_type="imageInference", task_uuid=task_uuid)],
                          status=500, ready_at=t0 + latency)
    proto.ledger.open(task_uuid, n)
    result = TaskResult(ready_at=t0 + latency)
    for slot, seed in zip(slots, plan.seeds):
        item, data, mime = _make_image(proto, plan, seed)
        proto.book.update(slot, status="success", item=item)
        result.data.append(item)
        result.on_ready.append(_deliver_later(proto, plan, item, data, mime))
    return result


def _plan(proto: "Protocol", request: Request, references: tuple[Reference, ...]) -> _Plan:
    desc = request.model
    n = request.number_results
    given_seed = request.values.get("seed")
    if isinstance(given_seed, int) and not isinstance(given_seed, bool):  # only models that declare seed get here
        seeds = [given_seed + i for i in range(n)]
    else:
        seeds = [proto.dice.seed() for _ in range(n)]
    safety_on = bool(request.get("safety.checkContent")) or request.get("safety.mode") == "fast"
    return _Plan(
        task_uuid=request.task_uuid,
        request=request,
        desc=desc,
        key=request.output_hash(),
        references=references,
        output_type=str(request.get("outputType", "URL")),
        fmt=str(request.get("outputFormat", "JPG")).upper(),
        quality=int(request.get("outputQuality", 95)),
        ttl=int(request.get("ttl") or proto.default_ttl),
        include_cost=bool(request.get("includeCost", False)),
        price=desc.price_on(dt.date.today()),
        nsfw=safety_on and NSFW_TRIGGER in (request.prompt or "").lower(),
        seeds=seeds,
        webhook=request.get("webhookURL"),
        upload=request.get("uploadEndpoint"),
    )


def _make_image(proto: "Protocol", plan: _Plan, seed: int) -> tuple[dict[str, Any], bytes, str]:
    """Render, store and charge one image; return its answer item, bytes and MIME type."""
    req = plan.request
    width, height = req.size
    extend = req.get("promptExtend")
    scene = Scene(prompt=req.prompt or "", width=width, height=height, seed=seed, key=plan.key,
                  negative_prompt=req.negative_prompt, prompt_extend=True if extend is None else bool(extend),
                  references=plan.references, nsfw=plan.nsfw)
    data = render_bytes(scene, plan.fmt, plan.quality)
    mime, ext = mime_and_ext(plan.fmt)
    image_uuid = str(uuid.uuid4())
    url_output = plan.output_type == "URL"
    proto.store.put(StoredImage(image_uuid, data, mime, ext, proto.store.now() + plan.ttl if url_output else None,
                                task_uuid=plan.task_uuid))
    item: dict[str, Any] = {"taskType": "imageInference", "taskUUID": plan.task_uuid, "imageUUID": image_uuid}
    if url_output:
        item["imageURL"] = f"{proto.origin}/images/{image_uuid}.{ext}"
    elif plan.output_type == "base64Data":
        item["imageBase64Data"] = base64.b64encode(data).decode("ascii")
    else:
        item["imageDataURI"] = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    item["seed"] = seed
    item["NSFWContent"] = plan.nsfw
    if plan.include_cost:
        item["cost"] = plan.price
    proto.ledger.charge(plan.task_uuid, image_uuid, plan.price)
    return item, data, mime


def _deliver_later(proto: "Protocol", plan: _Plan, item: dict[str, Any], data: bytes, mime: str) -> Callable[[], None]:
    def deliver() -> None:
        if plan.webhook:
            proto.deliveries.webhook(plan.webhook, item)
        if plan.upload:
            proto.deliveries.upload(plan.upload, plan.task_uuid, item["imageUUID"], data, mime)
    return deliver


def _finish_async(proto: "Protocol", plan: _Plan, record: TaskRecord, forced_error: bool) -> None:
    """Finish an async task's images at their ready times (in a background thread)."""
    opened = False
    for slot, seed in sorted(zip(record.slots, plan.seeds), key=lambda pair: pair[0].ready_at):
        if proto.stopping.wait(max(0.0, slot.ready_at - time.monotonic())):
            return
        if forced_error or proto.dice.chance("task_error"):
            error = {"code": "inferenceError", "message": "the (emulated) inference failed for this image; it was not charged"}
            if plan.webhook:
                proto.deliveries.webhook(plan.webhook, {"taskType": "imageInference", "taskUUID": plan.task_uuid,
                                                        "status": "error", "error": error})
            proto.book.update(slot, status="error", error=error)
            continue
        if not opened:
            proto.ledger.open(plan.task_uuid, len(plan.seeds))
            opened = True
        try:
            item, data, mime = _make_image(proto, plan, seed)
        except Exception as exc:  # never leave a slot processing forever
            proto.note_internal_error(exc)
            proto.book.update(slot, status="error", error={"code": "inferenceError", "message": "emulator failure"})
            continue
        # Deliveries are queued before the slot turns "success", so a client that sees success
        # and then waits for deliveries finds them queued.
        _deliver_later(proto, plan, item, data, mime)()
        proto.book.update(slot, status="success", item=item)
