"""imageInference as the emulator runs it: validate, accept once, render, charge, answer.

A sync task is rendered in the request thread and answered when its latency has passed (the
render time counts toward the latency, as on a real server). An async task is acknowledged at
once and finished by a background thread, image by image, so getResponse sees partial results.

It works on the `EmulatorState` it is handed (images, task book, ledger, dice, deliveries) and
knows nothing of the protocol that calls it, so protocol.py can import it and not the reverse.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from ..core.model import ModelDescription, get_model
from ..core.request import Request, validate_task
from ..errors import ModelNotFoundError
from ..problems import Problem
from .images import StoredImage
from .references import UnusableReference, resolve_reference
from .state import EmulatorState
from .synthetic import NSFW_TRIGGER, Reference, Scene, mime_and_ext, render_bytes
from .tasks import Slot, TaskRecord
from .wire import TaskResult, doc_link, error_item, runware_code

__all__ = ["run_inference"]


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


def run_inference(state: EmulatorState, task: dict[str, Any], *, forced_error: bool, t0: float) -> TaskResult:
    """Run one imageInference task (already known to be a dict)."""
    task_uuid = task.get("taskUUID") if isinstance(task.get("taskUUID"), str) else None
    model_id = str(task.get("model", ""))
    problems = validate_task(task)
    if problems:
        return TaskResult(errors=[_problem_item(p, task_uuid, model_id) for p in problems], status=400)
    request = Request.from_task(task)
    references: list[Reference] = []
    for path in ("inputs.referenceImages", "referenceImages"):
        refs = request.values.get(path) or []
        for ref in refs:
            try:
                references.append(resolve_reference(ref, state.store, state.port))
            except UnusableReference as exc:
                return TaskResult(errors=[error_item("invalidReferenceImage", f"{path}: {exc}", parameter=path,
                                                     task_type="imageInference", task_uuid=task_uuid,
                                                     documentation=doc_link(path, model_id))], status=400)
    assert task_uuid is not None  # validate_task requires a UUID v4
    if not state.book.claim(task_uuid) or not _claim_in_memory(state, task_uuid, request):
        return TaskResult(errors=[error_item(
            "conflictTaskUUID",
            f"taskUUID {task_uuid} was used before; that task was already accepted (poll it with getResponse) "
            "and a new task needs a new UUID v4",
            parameter="taskUUID", task_type="imageInference", task_uuid=task_uuid,
            documentation=doc_link("taskUUID", model_id))], status=400)
    plan = _plan(state, request, tuple(references))
    latency = state.dice.latency()
    n = len(plan.seeds)
    # Images of one task finish one after another; the last one when the task's latency is up.
    slots = [Slot(i, t0, t0 + latency * (0.5 + 0.5 * (i + 1) / n)) for i in range(n)]
    delivery = str(request.get("deliveryMethod", "sync"))
    record = state.book.add(TaskRecord(task_uuid, "imageInference", delivery, slots))
    if delivery == "async":
        threading.Thread(target=_finish_async, args=(state, plan, record, forced_error),
                         name=f"qwenlab-emulator-task-{task_uuid[:8]}", daemon=True).start()
        return TaskResult(data=[{"taskType": "imageInference", "taskUUID": task_uuid, "status": "processing"}], ready_at=t0)
    if forced_error or state.dice.chance("task_error"):
        error = {"code": "inferenceError", "message": "the (emulated) inference failed for this task; nothing was charged"}
        for slot in slots:
            state.book.update(slot, status="error", error=error)
        return TaskResult(errors=[error_item(error["code"], error["message"], task_type="imageInference", task_uuid=task_uuid)],
                          status=500, ready_at=t0 + latency)
    state.ledger.open(task_uuid, n)
    result = TaskResult(ready_at=t0 + latency)
    for slot, seed in zip(slots, plan.seeds):
        item, data, mime = _make_image(state, plan, seed, slot.index)
        state.book.update(slot, status="success", item=item)
        result.data.append(item)
        result.on_ready.append(_deliver_later(state, plan, item, data, mime))
    return result


def _claim_in_memory(state: EmulatorState, task_uuid: str, request: Request) -> bool:
    """False when an earlier process of this emulator took the taskUUID (its memory knows it)."""
    if state.memory is None:
        return True
    return state.memory.claim(task_uuid, "imageInference", state.store.now() + _kept_for(state, request))


def _kept_for(state: EmulatorState, request: Request) -> int:
    """How long the task and its images are kept, in seconds: its `ttl` with URL output, else the
    default. The page gives ttl to URLs alone ("Only applies when outputType is `URL`", L165): a
    base64 task's ttl of 60 made the emulator forget it, and free its taskUUID to be charged
    again, a minute later."""
    ttl = request.get("ttl") if request.get("outputType", "URL") == "URL" else None
    return int(ttl or state.default_ttl)


def _problem_item(problem: Problem, task_uuid: str | None, model_id: str) -> dict[str, Any]:
    """A broken rule as Runware's error item: its code, and the parameter's type and allowed
    values where the model declares them (Runware's CLI types carry `type` and `allowedValues`)."""
    item = problem.to_wire(task_uuid)
    item["code"] = runware_code(problem.code, problem.parameter)
    try:
        spec = get_model(model_id).spec_at(problem.parameter) if model_id else None
    except ModelNotFoundError:
        spec = None
    if spec is not None:
        item["type"] = spec.type
        if spec.allowed:
            item["allowedValues"] = list(spec.allowed)
    item["documentation"] = doc_link(problem.parameter, model_id)
    return item


def _plan(state: EmulatorState, request: Request, references: tuple[Reference, ...]) -> _Plan:
    desc = request.model
    n = request.number_results
    given_seed = request.values.get("seed")
    if isinstance(given_seed, int) and not isinstance(given_seed, bool):  # only models that declare seed get here
        seeds = [given_seed + i for i in range(n)]
    else:
        seeds = [state.dice.seed() for _ in range(n)]
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
        ttl=_kept_for(state, request),
        include_cost=bool(request.get("includeCost", False)),
        price=desc.price_on(),  # today in UTC, as the client prices it
        nsfw=safety_on and NSFW_TRIGGER in (request.prompt or "").lower(),
        seeds=seeds,
        webhook=request.get("webhookURL"),
        upload=request.get("uploadEndpoint"),
    )


def _make_image(state: EmulatorState, plan: _Plan, seed: int, position: int) -> tuple[dict[str, Any], bytes, str]:
    """Render, store and charge the task's `position`-th image; return its answer item, bytes and
    MIME type. An emulator with a memory keeps it there too, for getResponse from later processes."""
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
    stored = state.store.put(StoredImage(image_uuid, data, mime, ext, state.store.now() + plan.ttl if url_output else None,
                                         task_uuid=plan.task_uuid))
    item: dict[str, Any] = {"taskType": "imageInference", "taskUUID": plan.task_uuid, "imageUUID": image_uuid}
    if url_output:
        item["imageURL"] = f"{state.origin}/images/{image_uuid}.{ext}"
    elif plan.output_type == "base64Data":
        item["imageBase64Data"] = base64.b64encode(data).decode("ascii")
    else:
        item["imageDataURI"] = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    item["seed"] = seed
    item["NSFWContent"] = plan.nsfw
    if plan.include_cost:
        item["cost"] = plan.price
    state.ledger.charge(plan.task_uuid, image_uuid, plan.price)
    if state.memory is not None:
        state.memory.keep_image(position, item, stored, state.store.now() + plan.ttl)
    return item, data, mime


def _deliver_later(state: EmulatorState, plan: _Plan, item: dict[str, Any], data: bytes, mime: str) -> Callable[[], None]:
    def deliver() -> None:
        if plan.webhook:
            state.deliveries.webhook(plan.webhook, item)
        if plan.upload:
            state.deliveries.upload(plan.upload, plan.task_uuid, item["imageUUID"], data, mime)
    return deliver


def _finish_async(state: EmulatorState, plan: _Plan, record: TaskRecord, forced_error: bool) -> None:
    """Finish an async task's images at their ready times (in a background thread)."""
    opened = False
    for slot, seed in sorted(zip(record.slots, plan.seeds), key=lambda pair: pair[0].ready_at):
        if state.stopping.wait(max(0.0, slot.ready_at - time.monotonic())):
            return
        if forced_error or state.dice.chance("task_error"):
            error = {"code": "inferenceError", "message": "the (emulated) inference failed for this image; it was not charged"}
            if plan.webhook:
                state.deliveries.webhook(plan.webhook, {"taskType": "imageInference", "taskUUID": plan.task_uuid,
                                                        "status": "error", "error": error})
            state.book.update(slot, status="error", error=error)
            continue
        if not opened:
            state.ledger.open(plan.task_uuid, len(plan.seeds))
            opened = True
        try:
            item, data, mime = _make_image(state, plan, seed, slot.index)
        except Exception as exc:  # never leave a slot processing forever
            state.note_internal_error(exc)
            state.book.update(slot, status="error", error={"code": "inferenceError", "message": "emulator failure"})
            continue
        # Deliveries are queued before the slot turns "success", so a client that sees success
        # and then waits for deliveries finds them queued.
        _deliver_later(state, plan, item, data, mime)()
        state.book.update(slot, status="success", item=item)
