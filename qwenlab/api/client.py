"""The Runware client: send Requests, get TaskResults with every image checked and saved.

    from qwenlab.api.connect import connect
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

The client owns what it talks to (its backend, found out from the server's answers) and its
parts: tasks go out through a `TaskSender` (qwenlab/api/sending.py), `connect()` in
qwenlab/api/connect.py makes a client of the API or of the offline emulator, and the address and
key are checked by qwenlab/api/address.py.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx

from ..caller import warn
from ..core.request import Request
from ..errors import AuthenticationError, QwenlabError, TaskNotFoundError, ValidationError
from ..problems import Problem
from ..secrets import as_secret, key_id, register_secret, secret_places, url_password
from .address import (
    DEFAULT_BASE_URL,
    authority,
    check_api_key,
    check_base_url,
    is_loopback,
    shown_url,
    without_credentials,
)
from .direct import Direct
from .download import Downloader, ImageFetcher
from .error_answers import api_error_from
from .exchange import Exchange
from .imagestore import ImageStore
from .plain import PlainTransport
from .results import GeneratedImage, TaskResult
from .retry import PollSchedule, RetryPolicy
from .sending import Outcome, TaskSender
from .taskrun import TaskRun
from .uploads import Uploader, is_local_image
from .wire import Wire

__all__ = ["RunwareClient", "TaskResult", "GeneratedImage"]

# The key sent to the offline emulator (it accepts any); not a secret.
EMULATOR_KEY = "qwenlab-offline-emulator"
# The header qwenlab's emulator sends with every answer (qwenlab/emulator/handler.py): a client
# believes it, not the address, to tell the emulator from Runware. Runware never sends it.
EMULATOR_HEADER = "X-Qwenlab-Emulator"
BACKENDS = ("emulator", "runware")
# A valid image UUID standing in for a local reference image while the rest is validated.
_PLACEHOLDER_UUID = "00000000-0000-4000-8000-000000000000"


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
        api_key = key = as_secret(api_key or os.getenv("RUNWARE_API_KEY"))
        if not key:
            raise AuthenticationError(
                "no Runware API key: set the RUNWARE_API_KEY environment variable (or pass api_key=...), "
                "or use qwenlab.api.connect.connect(), which falls back to the offline emulator"
            )
        register_secret(key)
        check_api_key(key)
        # bound over the argument as a Secret (repr '***') while it may hold a user name and password
        base_url = address = as_secret(base_url or os.getenv("RUNWARE_BASE_URL") or DEFAULT_BASE_URL)
        register_secret(url_password(address))  # a password in the address is shown in no message
        check_base_url(address)
        # the address without them: they are never sent (the key goes in the Authorization header),
        # and no request, attribute or repr made from it may show them
        self.base_url = without_credentials(address).rstrip("/")
        if self.base_url != str(address).rstrip("/"):  # without_credentials took a user name or password out
            # said, not silent: a gateway that wants them (HTTP Basic) answers 401 to every request
            warn(f"the user name and password in the API address ({shown_url(self.base_url)}) are not sent: "
                 "Runware takes the API key in the Authorization header (RUNWARE_API_KEY); take them out of "
                 "RUNWARE_BASE_URL")
        loopback = is_loopback(self.base_url)
        self.is_emulator = loopback if is_emulator is None else bool(is_emulator)
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (or None to find out), got {backend!r}")
        # what this client talks to: given, else found out from the first answer of the API (the
        # emulator's header) or by asking once. The emulator's own key (Runware refuses it) tells
        # `backend` what a server will be, but is not a server's word: a run that reached nothing at
        # a loopback address was recorded as run on the emulator
        self._backend = backend
        self._key_says = "emulator" if key == EMULATOR_KEY else None
        self._key = key  # a Secret (its repr is '***'): named by `key_id`, sent only in the Authorization header
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
        self._sender = TaskSender(self._exchange, self._images, self.policy, self.polls, timeout, prepare=self.prepare)

    def __repr__(self) -> str:
        if not hasattr(self, "store"):  # half made: __init__ raised (a traceback that prints its frames asks)
            return f"RunwareClient({shown_url(getattr(self, 'base_url', '?'))!r}, not made)"
        kind = "emulator" if self.is_emulator else "api"
        root = self.store.configured_root
        # the default folder named by the function that finds it, unquoted (a repr creates nothing)
        folder = repr(str(root)) if root else "qwenlab.paths.images_dir()"
        return f"RunwareClient({shown_url(self.base_url)!r}, {kind}, images_dir={folder})"  # no credentials

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
        return authority(self.base_url)

    def key_id(self, salt: bytes) -> str:
        """A name for this client's API key under `salt` (`qwenlab.secrets.key_id`): it tells two
        keys apart and holds neither; a log keeps it on each task it sends, under its own salt (`Log.key_salt`)."""
        return key_id(self._key, salt)

    def _observe(self, response: httpx.Response) -> None:
        # every POST goes to the API (images are fetched with GET, uploads PUT elsewhere)
        if response.request.method == "POST":
            self._seen = _backend_of(response)

    def _ask_backend(self) -> str | None:
        """What the server at base_url says it is, from the headers of a GET (body unread); None
        when it cannot be reached."""
        try:
            # through Direct, as every POST goes: httpx.Client logs each request's URL (at INFO),
            # a token in the address's query included
            with Direct(self._http).stream("GET", self._exchange.target, timeout=httpx.Timeout(10.0)) as response:
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
        out = self._sender.execute([request], include_cost=include_cost, save=save, sent_before=sent_before, wire=wire)[0]
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
        return self._sender.execute(list(requests), include_cost=include_cost, save=save, sent_before=sent_before)

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

        One failure does not stop the others. A request with the taskUUID of an earlier one (the
        same request twice) is not sent: its slot holds a ValidationError naming renew() and
        numberResults. `on_result(index, outcome)` is called in this
        thread as each one finishes (for a progress bar). Ctrl-C / the notebook's stop button
        stops waiting at once: no new task starts, and waiting workers give up.
        """
        reqs = list(requests)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        results: list[Outcome | None] = [None] * len(reqs)
        if not reqs:
            return []
        # A taskUUID is "unique per task" (the model page): the same request twice ([request] * 4 for
        # four images) sent its copies at once, each refused conflictTaskUUID only after its POST
        # (or, after a retry, handed the first copy's images as its own). Refused here, unsent.
        first: dict[str, int] = {}
        for i, req in enumerate(reqs):
            uid = req.task_uuid if isinstance(req, Request) else None
            if uid is not None and first.setdefault(uid, i) != i:
                results[i] = ValidationError([Problem("taskUUID", f"{uid} is request {first[uid]}'s too: a taskUUID is one "
                                                      "task's; give each its own with request.renew(), or ask one request "
                                                      "for more images with numberResults")]).for_task(uid, attempts=0)
                if on_result is not None:
                    on_result(i, results[i])  # type: ignore[arg-type]
        todo = [i for i in range(len(reqs)) if results[i] is None]
        if not todo:
            return results  # type: ignore[return-value]
        cancel = threading.Event()
        pool = cf.ThreadPoolExecutor(max_workers=min(concurrency, len(todo)), thread_name_prefix="qwenlab-client")
        futures = {
            pool.submit(self._sender.execute, [reqs[i]], include_cost=include_cost, save=save, cancel=cancel): i
            for i in todo
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
        run = TaskRun(request, request.to_task(), self._sender.downloader_for(request, downloaded, None))
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
        self._sender.poll([run], None, stop)
        self._sender.keep(downloaded, save=True)
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
        # a key pasted into a prompt would go to the model (with promptExtend, to an LLM too) and
        # into the log: refused as a run refuses it, for a request sent by generate() too
        places = secret_places(request.to_task())
        if places:
            raise ValidationError([Problem(p, "holds your Runware API key; take it out (it would be sent to the model)")
                                   for p in places])
        refs = request.get("referenceImages")
        if not isinstance(refs, list) or not any(is_local_image(r) for r in refs):
            return request.validate()
        same = request.task_uuid  # the same task with its images uploaded: it keeps its taskUUID
        probe = request.replace(referenceImages=[_PLACEHOLDER_UUID if is_local_image(r) else r for r in refs], taskUUID=same)
        probe.validate()
        uploaded = [self.upload_image(r) if is_local_image(r) else r for r in refs]
        return request.replace(referenceImages=uploaded, taskUUID=same).validate()


# -- helpers ------------------------------------------------------------------------------------------
def _backend_of(response: httpx.Response) -> str:
    return "emulator" if response.headers.get(EMULATOR_HEADER) else "runware"
