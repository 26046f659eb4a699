"""One task on its way from POST to TaskResult.

A `TaskRun` reads every answer that concerns its taskUUID (the POST's answer, then any number of
getResponse polls), fetches each finished image the moment it appears (an imageURL expires), and
knows when the task is complete, failed, or must be polled. Answers are cumulative, so the same
finished image seen again is not fetched again.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Any, Callable

from ..core.request import Request
from ..core.values import count_of
from ..errors import (
    BadRequestError,
    ConflictTaskUUIDError,
    QwenlabError,
    TaskFailedError,
    TaskNotFoundError,
    TransportError,
)
from .error_answers import api_error_from
from .exchange import IMAGE_PAYLOADS, SYNC_TIMEOUT_CODE
from .results import GeneratedImage, TaskResult, clean_raw, read_costs

__all__ = ["TaskRun"]



def _kind(item: dict[str, Any], *, polled: bool = False) -> str:
    """'success', 'error' or 'processing' for one response item.

    `polled`: the item is from a getResponse answer (or an async acknowledgement), where an item
    naming its imageUUID with neither an image nor a status is progress (Runware's Python SDK
    tests poll through exactly that shape), not an image that finished without its bytes."""
    status = str(item.get("status") or "").lower()
    if status == "error" or isinstance(item.get("error"), dict) or status == "failed":
        return "error"
    if status in ("", "success", "completed", "done") and any(item.get(k) for k in IMAGE_PAYLOADS):
        return "success"
    if status in ("success", "completed", "done"):
        # said to be finished but without its payload: fetching it fails with a clear error,
        # where polling would wait for poll_timeout for nothing
        return "success"
    if not status and item.get("imageUUID") and not polled and not _is_number(item.get("progress")):
        # a sync answer holds finished images: one named without its payload is broken, not pending
        return "success"
    return "processing"


def _slot_names(item: dict[str, Any], counted: Counter[str]) -> list[str]:
    """What names the image of a finished item from one cumulative answer to the next: its
    imageUUID, else its payload (an imageURL, or inline bytes by hash). Not its place: Runware's
    TypeScript SDK tests list getResponse items without an imageUUID, the image done first last in
    one poll and first in the next, and reading places as names took one image for another (one
    fetched twice, one paid for and never fetched). Empty for an item with neither.

    The payload only without an imageUUID, and inline bytes with their rank among the items of
    this answer alike (`counted`): two images may come out byte for byte alike, where a URL names
    one image however often it is listed."""
    if item.get("imageUUID"):
        return [f"uuid:{item['imageUUID']}"]
    names = []
    for field in IMAGE_PAYLOADS:
        value = item.get(field)
        if not isinstance(value, str) or not value:
            continue
        if field == "imageURL":
            names.append(f"url:{value}")
        else:
            digest = f"{field}:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()}"
            names.append(f"{digest}#{counted[digest]}")
            counted[digest] += 1
    return names


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TaskRun:
    """The state of one task: its image slots, its errors, whether it still needs polling."""

    def __init__(self, request: Request, task: dict[str, Any], fetch: Callable[[dict[str, Any], str], GeneratedImage], *,
                 sent_before: bool = False) -> None:
        self.request = request
        # the caller knows this task may have been sent before (crash recovery, another process
        # sharing the log): a conflictTaskUUID on its first attempt then means "accepted before"
        self.sent_before = sent_before
        self.task = task
        self.task_uuid = str(task["taskUUID"])
        self.expected = request.number_results
        # with a webhookURL Runware works asynchronously whatever deliveryMethod says (its webhooks
        # page): the POST's answer may hold no image yet, and the task is polled for, not failed
        self.is_async = task.get("deliveryMethod") == "async" or bool(task.get("webhookURL"))
        self._fetch = fetch
        self.images: dict[str, GeneratedImage] = {}  # slot key -> image (fetched, or failed)
        self._seen: set[str] = set()  # every name of every slot read (`_slot_names`)
        self.task_errors: list[QwenlabError] = []
        self.failure: QwenlabError | None = None
        self.ended = False  # a task error arrived beside finished images, nothing processing: final
        self.polls_answered = 0  # getResponse answers read for this task (time_out: was it answered?)
        self.named = False  # an answer held an item for this task, processing or done (time_out: what to say)
        # a 2xx answer to this task's POST refused nothing of it: the server took it (an async
        # acknowledgement, an item still processing), so getResponse not knowing it later leaves
        # it in doubt, never failed
        self.accepted = False
        self.needs_poll = False
        self.processing = 0
        self.attempts = 0
        self.recovered = False
        # why a sync POST ended without its answer (the server's sync cap, our read timeout): the
        # task may be running, so it is polled for with getResponse instead of being sent again
        self.timed_out: str | None = None
        self.server_took_it = False  # the server answered the timeout itself (504): it has the task
        self.resend = False  # getResponse says the server never took it: safe to send again
        self.maybe_taken = False  # an earlier POST got no answer: it may have been taken, whatever a resend meets
        self.http_status: int | None = None
        self.started = time.monotonic()

    # -- reading answers -------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.failure is not None or self.resend or self.ended or len(self.images) >= self.expected

    def fall_back(self, why: str, *, server_took_it: bool = False) -> None:
        """The sync POST ended without an answer past a timeout (`why`): poll for the task."""
        self.timed_out = why
        self.server_took_it = server_took_it
        self.recovered = True
        self.needs_poll = True

    def prepare_resend(self) -> None:
        """Before sending the task again (the server never took it): a conflictTaskUUID now
        means the earlier POST was taken after all."""
        self.resend = False
        self.sent_before = True
        self.maybe_taken = True
        self.timed_out = None
        self.recovered = False
        self.needs_poll = False
        self.processing = 0

    def give_up_resending(self) -> None:
        """Every send timed out and getResponse never knew the task: fail, in doubt."""
        self.resend = False
        self.failure = TransportError(
            f"task {self.task_uuid}: every POST timed out and getResponse never knew the task; it may still have "
            "been accepted", advice="call client.recover(request) later before sending it again",
            task_uuid=self.task_uuid, sent=True,
        )

    def absorb_post(self, items: list[dict[str, Any]], errors: list[dict[str, Any]], status: int, *,
                    resent: bool = False) -> None:
        """Read the answer to this task's POST (inferenceTask), deciding whether to poll.

        `resent`: these bytes went again after an attempt that may have been accepted."""
        self.http_status = status
        body_status = None if 200 <= status < 300 else status
        if status >= 500 and not any(_kind(i, polled=True) == "success" for i in items) \
                and not any(e.get("code") == SYNC_TIMEOUT_CODE for e in errors):
            # a 5xx answer with finished images, none of them this task's (the exchange retries one
            # without any): it may have been taken all the same, so it is asked about with
            # getResponse, and sent again under its taskUUID (which cannot pay twice) only if the
            # server does not know it; never failed on a 5xx
            self.fall_back(f"HTTP {status} beside other tasks' results")
            return
        for err in errors:
            if err.get("code") == SYNC_TIMEOUT_CODE and status == 504:
                # the server stopped holding the request while the task goes on (Runware: ~120 s)
                self.fall_back(f"the server's sync wait ran out (HTTP 504 {SYNC_TIMEOUT_CODE})", server_took_it=True)
                continue
            if err.get("code") == "conflictTaskUUID":
                if self.sent_before or resent:
                    # accepted on an earlier attempt (or an earlier run): fetch it, never resend it
                    self.recovered = True
                    self.needs_poll = True
                else:
                    # on a first attempt another task owns the UUID (Runware's SDK raises it too):
                    # its results are not this request's, so they are never fetched as if they were
                    self.task_errors.append(_conflict_on_first_attempt(body_status, err, self.task_uuid))
                continue
            self.task_errors.append(_task_error(body_status, err, self.task_uuid))
        self._absorb_items(items, polled=self.is_async)
        self.accepted = self.accepted or (body_status is None and not self.task_errors)
        if self.finished:
            return
        if self.recovered or self.is_async or self.processing:
            if not self.images and self.task_errors and not self.recovered:
                self.failure = self.task_errors[0]  # refused outright: nothing to poll for
            else:
                self.needs_poll = True
            return
        self._settle_short()

    def absorb_poll(self, items: list[dict[str, Any]], errors: list[dict[str, Any]], status: int) -> None:
        """Read this task's share of a getResponse answer."""
        body_status = None if 200 <= status < 300 else status
        self.polls_answered += body_status is None or body_status < 500
        # the images first: an error in the same answer (another image failed, the task ended)
        # must not throw away images already made, and paid for
        self._absorb_items(items, polled=True)
        for err in errors:
            exc = _task_error(body_status, err, self.task_uuid)
            if body_status is not None and body_status >= 500 and not isinstance(exc, TaskNotFoundError):
                continue  # the server in trouble answering this poll: the next round asks again
            if isinstance(exc, TaskNotFoundError) and self.timed_out and not self.images:
                self._not_found_after_timeout()
                return
            if isinstance(exc, TaskNotFoundError) and (self.recovered or self.accepted) and not self.images:
                # the server took this taskUUID (it said conflictTaskUUID, an earlier run sent it, or
                # its 2xx answer acknowledged it or named it processing) and getResponse does not
                # know it (yet; taskFailedOrNotFound does not say which): in doubt, never failed,
                # which would have the next run send the cell anew, and perhaps pay for it twice
                how = "its taskUUID is in use" if self.recovered else "it answered the task's POST with HTTP 2xx"
                self.failure = TransportError(
                    f"task {self.task_uuid} was taken by the server ({how}), and getResponse does "
                    "not know it (yet); it may have been paid for",
                    advice="call client.recover(request) later, and send it with request.renew() (a new taskUUID, "
                    "paid again) only once you know it will not come",
                    task_uuid=self.task_uuid, sent=True, answered=True,
                )
                return
            if self.images:
                # noted beside the images (once: answers are cumulative); the task ends when nothing
                # of it is still processing, whose images would be paid for too
                if all(str(e) != str(exc) for e in self.task_errors):
                    self.task_errors.append(exc)
                self.ended = not self.processing
                continue
            self.failure = exc
            return

    def _not_found_after_timeout(self) -> None:
        if not self.server_took_it:
            # our read timeout: the POST may never have been taken, and then sending it again (same
            # taskUUID) cannot pay twice: a conflictTaskUUID would say it was taken after all
            self.resend = True
            self.needs_poll = False
            return
        # the server answered 504 for this task, so it took it; getResponse does not know it (yet)
        self.failure = TransportError(
            f"task {self.task_uuid}: {self.timed_out}, and getResponse does not know the task; it may still "
            "finish", advice="call client.recover(request) later, or send long tasks with deliveryMethod='async'",
            task_uuid=self.task_uuid, sent=True, answered=True,
        )

    def _absorb_items(self, items: list[dict[str, Any]], *, polled: bool) -> None:
        self.named = self.named or bool(items)
        processing = 0
        unnamed = 0
        counted: Counter[str] = Counter()
        for item in items:
            kind = _kind(item, polled=polled)
            if kind == "processing":
                processing += 1
                continue
            names = _slot_names(item, counted)
            if not names:  # neither imageUUID nor image (a failed slot): the n-th such is the same each time
                names = [f"#{unnamed}"]
                unnamed += 1
            if any(name in self._seen for name in names):
                continue  # answers are cumulative: a slot already read
            self._seen.update(names)
            key = names[0]
            if kind == "success":
                self.images[key] = self._fetch(item, self.task_uuid)
            else:
                self.images[key] = _failed_image(item, self.task_uuid)
        self.processing = processing

    def _settle_short(self) -> None:
        """A sync answer with fewer images than asked and nothing processing: final as it is. One
        that held nothing for the task, neither image nor error, was answered (2xx) and so may have
        been taken, and paid: asked about with getResponse, in doubt if the server does not know
        it, never failed (a failed cell is bought again)."""
        if not self.images and not self.task_errors:
            self.fall_back("the answer (HTTP 2xx) held no result for it", server_took_it=True)
        elif not self.images:
            self.failure = self.task_errors[0]
        elif not self.task_errors:
            self.task_errors.append(
                TaskFailedError(
                    f"task {self.task_uuid} asked for {self.expected} images and got {len(self.images)}",
                    code="missingResults",
                    task_uuid=self.task_uuid,
                )
            )

    def time_out(self, poll_timeout: float) -> None:
        """Polling gave up: keep what arrived (partial), or fail when nothing did."""
        missing = self.expected - len(self.images)
        message = (f"task {self.task_uuid} was accepted but {missing} of {count_of(self.expected, 'image')} "
                   f"{'was' if missing == 1 else 'were'} still processing "
                   f"after poll_timeout={poll_timeout:g}s")
        if not self.named:
            message = (f"task {self.task_uuid}: no answer named it within poll_timeout={poll_timeout:g}s ({self.timed_out or 'sent'}, "
                       "then getResponse said nothing of it); it may have been taken, and paid")
        advice = "call client.recover(request) later to fetch them"
        if self.images:
            self.task_errors.append(TaskFailedError(f"{message}: {advice}", code="pollTimeout", task_uuid=self.task_uuid))
        else:
            self.failure = TransportError(message, advice=advice, task_uuid=self.task_uuid, sent=True,
                                          answered=self.polls_answered > 0)

    # -- the outcome ---------------------------------------------------------------------------------
    def outcome(self) -> TaskResult | QwenlabError:
        """The TaskResult, or the exception that ended the task (with `.attempts` and `.task_uuid`)."""
        if self.failure is None and not self.images and self.task_errors:
            self.failure = self.task_errors[0]
        if self.failure is not None and self.maybe_taken and \
                not isinstance(self.failure, (TransportError, TaskFailedError, BadRequestError)):
            # a resend refused (402, 429, 401) after a POST that got no answer: that one may have
            # been taken and paid, so the task is in doubt, not failed. Not so for the task failing
            # on the server, or its request refused as invalid (400): the same bytes were refused before
            self.fail_send(self.failure)
        if self.failure is not None:
            return self.tag(self.failure)
        images = list(self.images.values())
        errors = list(self.task_errors) + [img.error for img in images if img.error is not None]
        reading = read_costs(images, self.expected, self._price())
        return TaskResult(
            request=self.request,
            task_uuid=self.task_uuid,
            images=images,
            errors=errors,
            attempts=self.attempts,
            latency_s=round(time.monotonic() - self.started, 6),
            http_status=self.http_status,
            recovered=self.recovered,
            cost_reading=reading,
        )

    def _price(self) -> float | None:
        """The model's price per image today, to check reported costs against (None: unknown model)."""
        try:
            return self.request.model.price_on()
        except QwenlabError:
            return None

    def fail_send(self, exc: QwenlabError) -> None:
        """The task's POST failed with `exc`. Sent again after a POST that got no answer
        (`prepare_resend`), the task may have been taken by that earlier one, whatever this one
        met (a refused connection, 429s): the failure is then in doubt (a TransportError, sent),
        to be asked about, never a plain failure that a caller would send anew."""
        if self.maybe_taken and not (isinstance(exc, TransportError) and exc.sent):
            doubt = TransportError(f"{exc}; an earlier POST of this task got no answer, so it may have been accepted",
                                   advice="fetch it with client.recover(request) before sending it again",
                                   task_uuid=self.task_uuid, sent=True)
            doubt.__cause__ = exc
            exc = doubt
        self.failure = self.tag(exc)

    def tag(self, exc: QwenlabError) -> QwenlabError:
        """`exc` with this task's `.task_uuid` and `.attempts` set (a copy if it belongs to another task)."""
        return exc.for_task(self.task_uuid, self.attempts)


def _task_error(status: int | None, err: dict[str, Any], task_uuid: str) -> QwenlabError:
    return api_error_from(status, {**err, "taskUUID": err.get("taskUUID") or task_uuid})


def _conflict_on_first_attempt(status: int | None, err: dict[str, Any], task_uuid: str) -> ConflictTaskUUIDError:
    return ConflictTaskUUIDError(
        f"taskUUID {task_uuid} is taken: Runware answered conflictTaskUUID to this request's first attempt, so "
        "another task owns that UUID and its results are not this request's. Send it with request.renew() (a new "
        "taskUUID); if it is this very task, sent before (a crash, another process), fetch it with "
        "client.recover(request)",
        status=status if status is not None else 400,
        code="conflictTaskUUID",
        parameter=err.get("parameter") or "taskUUID",
        task_uuid=task_uuid,
        item=err,
    )


def _failed_image(item: dict[str, Any], task_uuid: str) -> GeneratedImage:
    image = GeneratedImage.from_item(item, task_uuid)
    detail = item.get("error") if isinstance(item.get("error"), dict) else {}
    err = {
        "code": detail.get("code") or item.get("code") or "imageFailed",
        "message": detail.get("message") or item.get("message") or f"an image of task {task_uuid} failed",
        "parameter": detail.get("parameter"),
        "taskUUID": task_uuid,
    }
    image.error = api_error_from(None, err)
    image.raw = clean_raw(item)
    return image

