"""The Runware client: send Requests, get TaskResults with every image checked and saved.

    from qwenlab.api.client import connect
    client = connect()                 # RUNWARE_API_KEY set: the real API; else the offline emulator
    result = client.generate(Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536"))
    result.images[0].path, result.cost

Synchronous on purpose: a notebook already runs an event loop, so nothing here calls
`asyncio.run`. Concurrency is a thread pool over one thread-safe httpx connection pool
(`generate_many`), and several tasks can share one POST (`send_batch`).

Money is never spent twice: every retry of a task carries the same taskUUID; when a retry is
told `conflictTaskUUID` (the first attempt was accepted after all) the client fetches the results
with `getResponse` instead of sending the task again. On a task's first attempt the same answer
means another task owns the UUID, and is an error (ConflictTaskUUIDError), unless the caller says
the task may have been sent before (`sent_before=True`: crash recovery).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ipaddress
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import httpx

from ..core.request import Request
from ..emulator import start_embedded
from ..errors import (
    AuthenticationError,
    ImageStoreError,
    Problem,
    QwenlabError,
    TaskNotFoundError,
    TransportError,
    ValidationError,
    api_error_from,
    as_secret,
    register_secret,
    url_password,
)
from .download import Downloader, ImageFetcher
from .exchange import Exchange
from .imagestore import ImageStore
from .plain import PlainTransport
from .results import GeneratedImage, TaskResult
from .retry import PollSchedule, RetryPolicy
from .taskrun import TaskRun
from .uploads import Uploader, is_local_image
from .wire import Wire

__all__ = ["RunwareClient", "TaskResult", "GeneratedImage", "connect", "connect_backend", "check_api_key", "check_base_url",
           "check_connection", "shown_url",
           "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://api.runware.ai/v1"
# The key sent to the offline emulator (it accepts any); not a secret.
EMULATOR_KEY = "qwenlab-offline-emulator"
# The header qwenlab's emulator sends with every answer (qwenlab/emulator/handler.py): a client
# believes it, not the address, to tell the emulator from Runware. Runware never sends it.
EMULATOR_HEADER = "X-Qwenlab-Emulator"
BACKENDS = ("emulator", "runware")
# A valid image UUID standing in for a local reference image while the rest is validated.
_PLACEHOLDER_UUID = "00000000-0000-4000-8000-000000000000"

Outcome = TaskResult | QwenlabError


class RunwareClient:
    """A client of Runware's HTTP API (or of qwenlab's emulator, which speaks the same protocol).

    api_key: else `RUNWARE_API_KEY`; neither raises AuthenticationError (or use `connect()`).
    base_url: else `RUNWARE_BASE_URL`, else https://api.runware.ai/v1.
    timeout: seconds to wait for an answer (a stalled read fails and is retried, same taskUUID).
        150 by default: longer than Runware's sync cap (about 120 s, then a 504 saying the task
        goes on), so that the server's own answer is read and the task polled for, rather than a
        read timeout that cannot tell whether the server ever took the task.
    max_retries, backoff_base, backoff_max: retries of 408/429/5xx/dropped connections, with
        exponential backoff and full jitter, honouring Retry-After, never longer than backoff_max
        (by default as Runware's SDKs retry: 1 s x 2^n, capped at 30 s).
    poll_initial, poll_max, poll_timeout: getResponse polling of async (or recovered) tasks, by
        default as the SDKs poll: 1 s, then 0.5 s growing x1.5 up to 10 s, 20 minutes in all.
    images_dir: where images are saved by content hash (default `qwenlab.paths.images_dir()`).
    transport: an httpx transport (tests pass `httpx.MockTransport`).
    sleep: replaces real waiting between retries and polls (tests pass `sleeps.append`).
    is_emulator: default True when base_url is a loopback address (a guess by address; `backend`
        is what the server says it is).
    backend: "emulator" or "runware" when the caller knows (connect() for its embedded emulator);
        by default found out (see `backend`).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 150.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        poll_initial: float = 1.0,
        poll_max: float = 10.0,
        poll_timeout: float = 1200.0,
        images_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
        sleep: Callable[[float], None] | None = None,
        is_emulator: bool | None = None,
        backend: str | None = None,
    ) -> None:
        api_key = key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
        if not key:
            raise AuthenticationError(
                "no Runware API key: set the RUNWARE_API_KEY environment variable (or pass api_key=...), "
                "or use qwenlab.api.client.connect(), which falls back to the offline emulator"
            )
        register_secret(key)
        check_api_key(key)
        self.base_url = (base_url or os.environ.get("RUNWARE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        register_secret(url_password(self.base_url))  # a password in the address is shown in no message
        check_base_url(self.base_url)
        loopback = _is_loopback(self.base_url)
        self.is_emulator = loopback if is_emulator is None else bool(is_emulator)
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (or None to find out), got {backend!r}")
        # what this client talks to: given, else found out from the first answer of the API (the
        # emulator's header) or by asking once. The emulator's own key (Runware refuses it) tells
        # `backend` what a server will be, but is not a server's word: a run that reached nothing at
        # a loopback address was recorded as run on the emulator
        self._backend = backend
        self._key_says = "emulator" if key == EMULATOR_KEY else None
        self._seen: str | None = None  # what the API's answers say, from the latest one
        self._backend_lock = threading.Lock()
        self.timeout = timeout
        self.policy = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base, backoff_max=backoff_max, sleep=sleep)
        self.polls = PollSchedule(initial=poll_initial, maximum=poll_max, timeout=poll_timeout)
        self.store = ImageStore(images_dir)
        self._http = httpx.Client(
            # HTTP/1.1 on the socket under httpx: a fraction of httpcore's CPU per exchange (see api/plain.py)
            transport=transport if transport is not None else PlainTransport(max_idle=max_connections),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), pool=None),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
            headers={"User-Agent": "qwenlab"},
            trust_env=not loopback,  # never route loopback traffic through a proxy from the environment
            event_hooks={"response": [self._observe]},
        )
        self._exchange = Exchange(self._http, self.base_url, key, self.policy)
        # an image URL may redirect to a private or loopback address only when the API is on loopback itself
        self._downloader = Downloader(self._http, self.policy, max_bytes=self.store.max_bytes, allow_private=loopback)
        self._images = ImageFetcher(self._downloader, self.store)
        self._uploader = Uploader(self._exchange, self.store)

    def __repr__(self) -> str:
        if not hasattr(self, "store"):  # half made: __init__ raised (a traceback that prints its frames asks)
            return f"RunwareClient({shown_url(getattr(self, 'base_url', '?'))!r}, not made)"
        kind = "emulator" if self.is_emulator else "api"
        root = self.store.configured_root
        # the default folder named by the function that finds it, unquoted (a repr creates nothing)
        folder = repr(str(root)) if root else "qwenlab.paths.images_dir()"
        return f"RunwareClient({self.base_url!r}, {kind}, images_dir={folder})"

    # -- what it talks to --------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """"emulator" when this client talks to qwenlab's offline emulator (the embedded one, or any
        server that sends the emulator's `X-Qwenlab-Emulator` header, wherever it runs and whatever
        the key), else "runware". The experiments' provenance and the runner's refusal to mix
        backends rest on it.

        Known from how the client was made, else from the API's answers so far; else asked once
        with a GET of the base URL, which carries no key, no task and costs nothing. When the
        server cannot be reached the answer is a guess by address (loopback: "emulator"), not kept,
        so the next call asks again (see `known_backend`). A client with the emulator's own key
        needs no question: only the emulator takes that key."""
        return self.expected_backend or ("emulator" if self.is_emulator else "runware")

    @property
    def expected_backend(self) -> str | None:
        """What the server is or will be, for checks before a run: `known_backend`, except that a
        client with the emulator's own key needs no question (only the emulator takes that key).
        What a run records is `known_backend`: a server's word, not this."""
        with self._backend_lock:
            if self._backend is None and self._seen is None and self._key_says is not None:
                return self._key_says
        return self.known_backend

    @property
    def known_backend(self) -> str | None:
        """What `backend` says when the server has said it (or the client was made knowing it):
        "emulator" or "runware"; None while no server could be reached, where `backend` guesses
        by address. A run records a backend only once it is known, so a run that reached nothing
        is not labelled as run anywhere."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = self._seen or self._ask_backend()
            return self._backend

    @property
    def api_host(self) -> str:
        """The API's host (and port where one is given) without credentials: "api.runware.ai",
        "127.0.0.1:8787"."""
        return _authority(self.base_url)

    def _observe(self, response: httpx.Response) -> None:
        # every POST goes to the API (images are fetched with GET, uploads PUT elsewhere)
        if response.request.method == "POST":
            self._seen = _backend_of(response)

    def _ask_backend(self) -> str | None:
        """What the server at base_url says it is, from the headers of a GET (body unread); None
        when it cannot be reached."""
        try:
            with self._http.stream("GET", self.base_url, timeout=httpx.Timeout(10.0)) as response:
                return _backend_of(response)
        except httpx.HTTPError:
            return None

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "RunwareClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generating ------------------------------------------------------------------------------
    def generate(self, request: Request, *, include_cost: bool = True, save: bool = True,
                 sent_before: bool = False, wire: Wire | None = None) -> TaskResult:
        """Send one request and return its result, every image fetched, checked and saved.
        Nothing is written to qwenlab's log (its spend is not in `qwenlab costs`): to log it, use
        `Lab().run(Sweep(base=request), name=...)`.

        Raises ValidationError (nothing sent) or the QwenlabError that ended the task, with
        `.task_uuid` and `.attempts`. Per-image failures do not raise: see `TaskResult.errors`.
        `include_cost` adds `includeCost: true` unless the request sets includeCost itself;
        `save=False` keeps the bytes in memory (`GeneratedImage.data`) instead of on disk.
        `sent_before=True` says this very task (its taskUUID) may have been sent before, by a run
        that crashed or by another process: a `conflictTaskUUID` answer then fetches its results.
        Otherwise that answer on a first attempt raises ConflictTaskUUIDError (another task owns
        the UUID; use `request.renew()`).

        `wire`: a `qwenlab.api.wire.Wire` shared by several threads: the task holds one of its
        places from just before its POST until its last image is downloaded, and its images are
        checked and written after, so the next task goes out meanwhile; raises WireClosed (nothing
        sent) once the wire is closed.
        """
        out = self._execute([request], include_cost=include_cost, save=save, sent_before=sent_before, wire=wire)[0]
        if isinstance(out, QwenlabError):
            raise out
        return out

    def send_batch(self, requests: list[Request], *, include_cost: bool = True, save: bool = True,
                   sent_before: bool = False) -> list[Outcome]:
        """Send several tasks in ONE POST; one TaskResult or exception per request, in order.

        A request that fails validation is not sent (its slot holds the ValidationError); a task
        the API refuses gets its own error while the rest of the batch succeeds. `sent_before` as
        for `generate`, for every task of the batch.
        """
        return self._execute(list(requests), include_cost=include_cost, save=save, sent_before=sent_before)

    def generate_many(
        self,
        requests: Iterable[Request],
        *,
        concurrency: int = 4,
        include_cost: bool = True,
        save: bool = True,
        on_result: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Run requests on `concurrency` threads; results in input order, a failure in its slot.

        One failure does not stop the others. `on_result(index, outcome)` is called in this
        thread as each one finishes (for a progress bar). Ctrl-C / the notebook's stop button
        stops waiting at once: no new task starts, and waiting workers give up.
        """
        reqs = list(requests)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        results: list[Outcome | None] = [None] * len(reqs)
        if not reqs:
            return []
        cancel = threading.Event()
        pool = cf.ThreadPoolExecutor(max_workers=min(concurrency, len(reqs)), thread_name_prefix="qwenlab-client")
        futures = {
            pool.submit(self._execute, [req], include_cost=include_cost, save=save, cancel=cancel): i
            for i, req in enumerate(reqs)
        }
        try:
            pending = set(futures)
            while pending:
                # a short timeout keeps the main thread responsive to KeyboardInterrupt
                done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i = futures[fut]
                    results[i] = fut.result()[0]
                    if on_result is not None:
                        on_result(i, results[i])  # type: ignore[arg-type]
        except BaseException:
            cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return results  # type: ignore[return-value]

    def recover(self, request: Request, *, stop: threading.Event | None = None) -> TaskResult | None:
        """After a crash: fetch the results of `request.task_uuid` with getResponse.

        Returns the TaskResult (`recovered=True`, waiting for images still processing) if the
        task was accepted, or None if the server never saw it (then it is safe to send again).
        `stop`: once set (a sweep's wire closed), no more retries or polls: the error met so far
        is raised, and the task is left for a later recovery.
        """
        downloaded: list[tuple[GeneratedImage, bytes]] = []
        run = TaskRun(request, request.to_task(), self._downloader_for(request, downloaded, None))
        run.attempts, run.recovered, run.needs_poll = 0, True, True
        answer = self._exchange.post([{"taskType": "getResponse", "taskUUID": run.task_uuid}], stop=stop)
        items, errs = answer.for_task(run.task_uuid, only_task=True)
        # not found, by any of the codes that say so (classified as the SDKs do, by code)
        if not items and (answer.status == 404 or any(isinstance(api_error_from(answer.status, e), TaskNotFoundError)
                                                      for e in errs)):
            return None
        if not items and not errs and not answer.ok_status:
            errs = [answer.errors[0] if answer.errors else {"message": answer.text or f"HTTP {answer.status}"}]
        run.absorb_poll(items, errs, answer.status)
        self._poll([run], None, stop)
        self._keep(downloaded, save=True)
        out = run.outcome()
        if isinstance(out, QwenlabError):
            raise out
        return out

    def get_response(self, task_uuids: str | list[str]) -> list[dict[str, Any]]:
        """The raw getResponse items (one per image) for one or several taskUUIDs, in ONE POST.

        Raises the API's error (e.g. TaskNotFoundError) when the answer holds no items at all.
        """
        uuids = [task_uuids] if isinstance(task_uuids, str) else list(task_uuids)
        answer = self._exchange.post([{"taskType": "getResponse", "taskUUID": u} for u in uuids])
        if not answer.data and (answer.errors or not answer.ok_status):
            raise answer.error()
        return answer.data

    def ping(self) -> bool:
        """True when the API answers `pong` (one attempt, no retries). A wrong key raises AuthenticationError."""
        try:
            answer = self._exchange.post([{"taskType": "ping", "ping": True}], max_retries=0)
        except QwenlabError:
            return False
        if answer.status in (401, 403):
            raise answer.error()
        return answer.ok_status and any(d.get("pong") is True for d in answer.data)

    # -- reference images ------------------------------------------------------------------------
    def upload_image(self, image: str | os.PathLike[str] | bytes | Any) -> str:
        """Upload a reference image (file path, bytes or PIL image) with `imageUpload`; its imageUUID.

        Each distinct image (by SHA-256 of the bytes sent) is uploaded once per client; later
        calls return the same imageUUID. A PIL image is sent as PNG.
        """
        return self._uploader.upload(image)

    def prepare(self, request: Request) -> Request:
        """`request`, validated, with local reference images (paths, bytes, PIL images) uploaded and
        replaced by their imageUUIDs. Raises ValidationError before uploading anything if the
        rest of the request is invalid."""
        refs = request.get("referenceImages")
        if not isinstance(refs, list) or not any(is_local_image(r) for r in refs):
            return request.validate()
        same = request.task_uuid  # the same task with its images uploaded: it keeps its taskUUID
        probe = request.replace(referenceImages=[_PLACEHOLDER_UUID if is_local_image(r) else r for r in refs], taskUUID=same)
        probe.validate()
        uploaded = [self.upload_image(r) if is_local_image(r) else r for r in refs]
        return request.replace(referenceImages=uploaded, taskUUID=same).validate()

    # -- the machinery ---------------------------------------------------------------------------
    def _execute(
        self, requests: list[Request], *, include_cost: bool, save: bool, cancel: threading.Event | None = None,
        sent_before: bool = False, wire: Wire | None = None,
    ) -> list[Outcome]:
        """Validate, POST every valid task in one array, poll what needs it, collect outcomes.
        Images are downloaded on the wire and checked and saved once off it (see `generate`)."""
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
            runs.append((i, TaskRun(prepared, task, self._downloader_for(prepared, downloaded, cancel), sent_before=sent_before)))
        if runs:
            with wire.place() if wire is not None else contextlib.nullcontext() as place:
                self._run([r for _, r in runs], cancel, place.sent if place is not None else None,
                          stop=wire.closing if wire is not None else None)
                if wire is not None:  # before the place is given back: no task may follow a fatal error
                    wire.note_failures([e for _, r in runs for e in (r.failure, *r.task_errors)])
            if wire is not None and downloaded:
                wire.settle()  # let the next task's POST leave before this one's images take the processor
            unsaved = self._keep(downloaded, save)
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
            self._poll(todo, cancel)
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
            answer = self._exchange.post([r.task for r in runs], cancel=cancel, on_attempt=count_attempt,
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

    def _poll(self, runs: list[TaskRun], cancel: threading.Event | None, stop: threading.Event | None = None) -> None:
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
            answer = self._exchange.post([{"taskType": "getResponse", "taskUUID": r.task_uuid} for r in runs], cancel=cancel,
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

    def _downloader_for(self, request: Request, downloaded: list[tuple[GeneratedImage, bytes]],
                        cancel: threading.Event | None) -> Callable[[dict[str, Any], str], GeneratedImage]:
        """What a TaskRun calls for each finished image: download it now (its URL expires) and
        add it to `downloaded`, for `_keep` to check and save once the task is off the wire."""
        fmt = str(request.get("outputFormat") or "JPG")

        def download(item: dict[str, Any], task_uuid: str) -> GeneratedImage:
            image, data = self._images.download(item, task_uuid, fmt, cancel)
            if data is not None:
                downloaded.append((image, data))
            return image

        return download

    def _keep(self, downloaded: list[tuple[GeneratedImage, bytes]], save: bool) -> list[ImageStoreError]:
        """Check and save (or keep in memory) each downloaded image; a failed check lands in its
        `.error`. Returns the errors of images that could not be written (the disk, not the image)."""
        for image, data in downloaded:
            self._images.keep(image, data, save=save)
        unsaved = [image.error for image, _ in downloaded if isinstance(image.error, ImageStoreError)]
        downloaded.clear()
        return unsaved


# -- helpers ------------------------------------------------------------------------------------------
def _backend_of(response: httpx.Response) -> str:
    return "emulator" if response.headers.get(EMULATOR_HEADER) else "runware"


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- connect --------------------------------------------------------------------------------------
_notice_lock = threading.Lock()
_notice_shown = False


def check_base_url(url: str) -> None:
    """Refuse an API address that is not http(s)://host...: every request would fail the same way.
    ValueError (bad input) naming RUNWARE_BASE_URL; credentials in the URL are not repeated, and
    text with no scheme is not shown at all (a key pasted into the wrong variable)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = (f"{shown_url(url)!r} is not an http(s) address" if parts.scheme and "://" in url
                 else "what it holds is not an address (not shown: it may be a key set in the wrong variable)")
        raise ValueError(f"RUNWARE_BASE_URL (or base_url=): {shown}; give one like {DEFAULT_BASE_URL}, "
                         "or unset it to use Runware's")


def shown_url(url: str) -> str:
    """`url` without the user name and password it may carry."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{_authority(url)}{parts.path}"


def _authority(url: str) -> str:
    """The host of `url` (and its port where one is given), without credentials: "api.runware.ai",
    "127.0.0.1:8787", "[::1]:8787"."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a port number: left out, as the credentials are
        port = None
    return f"{host}:{port}" if port else host


def check_connection(api_key: str | None = None, base_url: str | None = None) -> None:
    """What `connect(api_key, base_url)` would refuse, or every request would: checked before
    anything is logged or sent. With a key: a key no header can carry, an address that is not
    http(s). Without one: an address that is not on loopback (only the emulator answers without
    a key). The message never shows the key, nor a password in the address."""
    api_key = key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
    url = base_url or os.environ.get("RUNWARE_BASE_URL")
    if key:
        check_api_key(key)
        check_base_url(url or DEFAULT_BASE_URL)
        return
    if url:
        check_base_url(url)
        if not _is_loopback(url):
            raise AuthenticationError(_no_key_for(url))


def _no_key_for(url: str) -> str:
    return (f"no Runware API key for {shown_url(url)} (RUNWARE_BASE_URL): set RUNWARE_API_KEY (or pass api_key=...), "
            "or unset RUNWARE_BASE_URL to use the offline emulator")


def check_api_key(key: str) -> None:
    """Refuse a key no HTTP header can carry (not printable ASCII, or holding a space or a line
    break: a key pasted with an accent or a stray newline), before anything is logged or sent.
    The message never shows the key."""
    if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
        raise AuthenticationError(
            "the Runware API key (RUNWARE_API_KEY, or api_key=...) holds a character an API key cannot have "
            "(a letter outside ASCII, a space or a line break): copy the key again from Runware and set it anew")


def connect(api_key: str | None = None, base_url: str | None = None, **kw: Any) -> RunwareClient:
    """A client of the real API when a key is given or `RUNWARE_API_KEY` is set; otherwise of the
    offline emulator (started on loopback, once per process), saying so once on stderr. A client
    logs nothing: `Lab` runs requests through one and logs each before and after it is sent."""
    api_key = key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
    if key:
        return RunwareClient(key, base_url, **kw)
    url = base_url or os.environ.get("RUNWARE_BASE_URL")
    if url and not _is_loopback(url):
        raise AuthenticationError(_no_key_for(url))
    if not url:

        emu = start_embedded()
        url = emu.url
        key = getattr(emu, "api_key", None) or EMULATOR_KEY
        kw.setdefault("backend", "emulator")
    else:
        key = EMULATOR_KEY
    _announce(url)
    kw.setdefault("is_emulator", True)
    return RunwareClient(key, url, **kw)


def connect_backend(api_key: str | None = None) -> str | None:
    """What `connect(api_key)` would talk to, found without connecting: "emulator" when no key is
    given nor set (connect() then uses the offline emulator and nothing else), None when there is
    a key (then the server says what it is: `RunwareClient.backend`)."""
    api_key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
    return None if api_key else "emulator"


def _announce(url: str) -> None:
    global _notice_shown
    with _notice_lock:
        if _notice_shown:
            return
        _notice_shown = True
    print(
        f"qwenlab: RUNWARE_API_KEY is not set, so requests go to the offline emulator at {url}. "
        "Its images are synthetic: they show the request, not what Qwen-Image would draw.",
        file=sys.stderr,
        flush=True,
    )
