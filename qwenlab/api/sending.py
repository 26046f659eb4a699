"""Sending tasks and seeing them through: one POST per batch, getResponse polls, outcomes.

A `TaskSender` validates a batch of Requests (uploading local reference images), sends every
valid task in ONE POST through the `Exchange`, polls getResponse for those that need it in
rounds with growing waits (`PollSchedule`), sends again only what the server says it never took
after a sync POST timed out (so it cannot be paid twice), and collects one TaskResult or error
per request. Images are downloaded as each finishes (an imageURL expires) and checked and saved
once the batch is off the wire (`keep`). `RunwareClient` sends everything through one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..core.request import Request
from ..errors import ImageStoreError, QwenlabError, TransportError, ValidationError
from ..problems import Problem
from .download import ImageFetcher
from .exchange import Exchange
from .results import GeneratedImage, TaskResult
from .retry import PollSchedule, RetryPolicy
from .taskrun import TaskRun
from .wire import Wire

__all__ = ["TaskSender", "Outcome"]

Outcome = TaskResult | QwenlabError


@dataclass(eq=False, repr=False)
class TaskSender:
    """Sends batches of tasks through `exchange` and sees each task through to its outcome."""

    exchange: Exchange
    images: ImageFetcher  # downloads each finished image, then checks and saves it
    policy: RetryPolicy
    polls: PollSchedule
    timeout: float  # the read timeout of a POST, as the message of a task that met it says
    prepare: Callable[[Request], Request]  # validates a request, uploads its local images (`RunwareClient.prepare`)

    def execute(
        self, requests: list[Request], *, include_cost: bool, save: bool, cancel: threading.Event | None = None,
        sent_before: bool = False, wire: Wire | None = None,
    ) -> list[Outcome]:
        """Validate, POST every valid task in one array, poll what needs it, collect outcomes.
        Images are downloaded on the wire and checked and saved once off it (see `RunwareClient.generate`)."""
        slots: list[Outcome | None] = [None] * len(requests)
        runs: list[tuple[int, TaskRun]] = []
        seen: set[str] = set()
        downloaded: list[tuple[GeneratedImage, bytes]] = []
        for i, request in enumerate(requests):
            try:
                if not isinstance(request, Request):
                    raise ValidationError([Problem("request", f"must be a qwenlab Request, got {type(request).__name__}")])
                if request.task_uuid in seen:
                    raise ValidationError([Problem("taskUUID", f"{request.task_uuid} appears twice in one batch; use request.renew() for the second")])
                prepared = self.prepare(request)
            except QwenlabError as exc:
                slots[i] = exc.for_task(exc.task_uuid or getattr(request, "task_uuid", None), attempts=0)
                continue
            seen.add(prepared.task_uuid)
            task = prepared.to_task()
            if include_cost and not prepared.is_set("includeCost"):
                task["includeCost"] = True
            runs.append((i, TaskRun(prepared, task, self.downloader_for(prepared, downloaded, cancel), sent_before=sent_before)))
        if runs:
            with wire.place() if wire is not None else contextlib.nullcontext() as place:
                self._run([r for _, r in runs], cancel, place.sent if place is not None else None,
                          stop=wire.closing if wire is not None else None)
                if wire is not None:  # before the place is given back: no task may follow a fatal error
                    wire.note_failures([e for _, r in runs for e in (r.failure, *r.task_errors)])
            if wire is not None and downloaded:
                wire.settle()  # let the next task's POST leave before this one's images take the processor
            unsaved = self.keep(downloaded, save)
            if wire is not None and unsaved:
                wire.note_failures(unsaved)  # a full disk fails every image after it: send nothing more to pay for
        for i, run in runs:
            slots[i] = run.outcome()
        return slots  # type: ignore[return-value]

    def _run(self, runs: list[TaskRun], cancel: threading.Event | None, on_sent: Callable[[], None] | None = None,
             stop: threading.Event | None = None) -> None:
        """Send the tasks, poll what needs it, and send again only what getResponse says the
        server never took after a sync POST timed out (so it cannot be paid twice). `on_sent`:
        called once the POST has left (the wire's `Place.sent`); `stop`: set once nothing more may
        be sent, which ends the POST's retries (see `Exchange.post`) and any sending again."""
        todo = runs
        for _ in range(self.policy.max_retries + 1):
            self._send(todo, cancel, on_sent, stop)
            self.poll(todo, cancel)
            todo = [r for r in todo if r.resend]
            if not todo:
                return
            if stop is not None and stop.is_set():
                break  # nothing more is sent: in doubt, asked about by the next run
            for run in todo:
                run.prepare_resend()
        for run in todo:
            run.give_up_resending()

    def _send(self, runs: list[TaskRun], cancel: threading.Event | None, on_sent: Callable[[], None] | None = None,
              stop: threading.Event | None = None) -> None:
        def count_attempt() -> None:
            for run in runs:
                run.attempts += 1

        try:
            # a sync task past the server's cap (or our read timeout) is polled for, never re-sent
            answer = self.exchange.post([r.task for r in runs], cancel=cancel, on_attempt=count_attempt,
                                         poll_on_timeout=True, on_sent=on_sent, stop=stop)
        except TransportError as exc:
            for run in runs:
                if exc.timed_out:
                    run.fall_back(f"no answer within the read timeout ({self.timeout:g} s)")
                else:
                    run.fail_send(exc)
            return
        except QwenlabError as exc:
            for run in runs:
                run.fail_send(exc)
            return
        unnamed = [e for e in answer.errors if not e.get("taskUUID")]
        for run in runs:
            items, errs = answer.for_task(run.task_uuid, only_task=len(runs) == 1)
            if not items and not errs:
                # an error naming no task (401, a refused batch) concerns every task in it
                errs = unnamed[:1] or ([] if answer.ok_status else [{"message": answer.text or f"HTTP {answer.status}"}])
            run.absorb_post(items, errs, answer.status, resent=answer.resent)

    def poll(self, runs: list[TaskRun], cancel: threading.Event | None, stop: threading.Event | None = None) -> None:
        """Poll getResponse for every run that needs it, in one POST per round, with growing waits;
        until `stop` is set, when given (what is still processing is then left in doubt)."""
        pending = [r for r in runs if r.needs_poll and not r.finished]
        if not pending:
            return
        delays = self.polls.delays()
        start, waited = time.monotonic(), 0.0
        while pending:
            elapsed = max(waited, time.monotonic() - start)
            if elapsed >= self.polls.timeout:
                break
            delay = min(next(delays), self.polls.timeout - elapsed)
            self.policy.pause(delay, cancel, until=stop)
            if stop is not None and stop.is_set():
                break
            waited += delay
            self._poll_round(pending, cancel, stop)
            pending = [r for r in pending if not r.finished]
        for run in pending:
            run.time_out(self.polls.timeout)

    def _poll_round(self, runs: list[TaskRun], cancel: threading.Event | None, stop: threading.Event | None = None) -> None:
        try:
            answer = self.exchange.post([{"taskType": "getResponse", "taskUUID": r.task_uuid} for r in runs], cancel=cancel,
                                         stop=stop)
        except QwenlabError:
            return  # the network or the queue failed this round; the next round asks again
        unnamed = [e for e in answer.errors if not e.get("taskUUID")]
        named = any(e.get("taskUUID") for e in answer.errors) or bool(answer.data)
        if not answer.ok_status and len(runs) > 1 and not named:
            # refused without naming a task (one unknown UUID spoils the poll): ask one by one
            for run in runs:
                self._poll_round([run], cancel, stop)
            return
        for run in runs:
            items, errs = answer.for_task(run.task_uuid, only_task=len(runs) == 1)
            if not items and not errs and not answer.ok_status:
                errs = unnamed[:1] or [{"message": answer.text or f"HTTP {answer.status}"}]
            run.absorb_poll(items, errs, answer.status)

    def downloader_for(self, request: Request, downloaded: list[tuple[GeneratedImage, bytes]],
                        cancel: threading.Event | None) -> Callable[[dict[str, Any], str], GeneratedImage]:
        """What a TaskRun calls for each finished image: download it now (its URL expires) and
        add it to `downloaded`, for `keep` to check and save once the task is off the wire."""
        fmt = str(request.get("outputFormat") or "JPG")

        def download(item: dict[str, Any], task_uuid: str) -> GeneratedImage:
            image, data = self.images.download(item, task_uuid, fmt, cancel)
            if data is not None:
                downloaded.append((image, data))
            return image

        return download

    def keep(self, downloaded: list[tuple[GeneratedImage, bytes]], save: bool) -> list[ImageStoreError]:
        """Check and save (or keep in memory) each downloaded image; a failed check lands in its
        `.error`. Returns the errors of images that could not be written (the disk, not the image)."""
        for image, data in downloaded:
            self.images.keep(image, data, save=save)
        unsaved = [image.error for image, _ in downloaded if isinstance(image.error, ImageStoreError)]
        downloaded.clear()
        return unsaved
