"""One POST of a task array to Runware, retried until it gets an answer worth reading.

`Exchange.post(tasks)` sends `[task, ...]` with `Authorization: Bearer <key>`, retries 408, 429,
5xx, dropped connections, timeouts and garbled bodies (backoff from a RetryPolicy, honouring
Retry-After), and returns an `Answer`: the HTTP status with the `data` and `errors` arrays. It
never retries 400/401/402/403: those answers are returned for the caller to attribute to tasks.
When retries run out after an attempt that may have been taken (no answer, or a 5xx, which a
gateway may send after the API took the task) it raises TransportError(sent=True): in doubt,
for the caller to recover with getResponse, never to send anew.

With `poll_on_timeout=True` (sync inference tasks) a request that timed out is not sent again:
a read timeout raises TransportError(timed_out=True) at once, and a 504 `failedTaskTimeout` (the
server stopped holding the request while the task goes on) is returned as the answer, so the
caller fetches the task with getResponse instead of re-sending it.

The request body is the same bytes on every attempt, so every retry carries the same taskUUIDs;
that is what lets Runware say `conflictTaskUUID` instead of charging twice.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from ..errors import APIError, QwenlabError, TransportError
from ..secrets import as_secret, redact
from .address import shown_url
from .direct import Direct, quiet_url
from .error_answers import api_error_from
from .results import ANSWER_KEY, clean_raw
from .retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["Answer", "Exchange", "IMAGE_PAYLOADS", "MAX_ANSWER_BYTES", "SYNC_TIMEOUT_CODE", "is_sync_timeout"]

# The most an answer body may hold. Inline images (base64Data/dataURI) arrive inside it: 20
# results of a 2048 x 2048 JPEG in base64 take about 100 MB. A longer body is broken or hostile,
# and reading it whole could exhaust memory, so it is refused while it streams in.
MAX_ANSWER_BYTES = 256 * 1024 * 1024


# the fields of an answer's body qwenlab reads ("error": older payloads' single error)
_BODY_FIELDS = ("data", "errors", "error")


@dataclass
class Answer:
    """What Runware answered to one POST."""

    status: int
    data: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    retry_after: float | None = None
    text: str = ""
    attempts: int = 1
    uncertain: bool = False  # an earlier attempt may have reached the server
    # these bytes were sent again after an attempt that may have been accepted (no readable
    # answer, or a 5xx a gateway may send for a task the API took): a conflictTaskUUID now means
    # "accepted before", where on a first attempt it means another task owns the UUID
    resent: bool = False

    # the body's fields besides data/errors (none documented), redacted: each item carries them
    # under ANSWER_KEY, so that what the API says about the whole answer is kept with its images
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok_status(self) -> bool:
        return 200 <= self.status < 300

    def for_task(self, task_uuid: str, *, only_task: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The data items and error items naming `task_uuid`; those naming no task go to the only task
        (`only_task`: an answer to one task's request, whose paid image must not be thrown away
        for want of its taskUUID, and the task bought again). A UUID is matched whatever its
        letters' case: a taskUUID sent in capitals (valid UUID v4) and echoed in lower case is the
        same task, and its paid images must not read as missing."""
        uid = task_uuid.lower()
        items = [d for d in self.data if isinstance(d, dict)
                 and (str(d.get("taskUUID") or "").lower() == uid or (only_task and not d.get("taskUUID")))]
        if self.extra:
            items = [{**d, ANSWER_KEY: self.extra} for d in items]
        errs = [e for e in self.errors if str(e.get("taskUUID") or "").lower() == uid or (only_task and not e.get("taskUUID"))]
        return items, errs

    def error(self) -> APIError:
        """The answer as an exception (first error item; classified by status, then code)."""
        first = self.errors[0] if self.errors else {"message": self.text[:300] or f"HTTP {self.status}"}
        return api_error_from(self.status, first, retry_after=self.retry_after, errors=self.errors)


class Exchange:
    """Posts task arrays to one Runware endpoint over a shared (thread-safe) httpx.Client."""

    def __init__(self, http: httpx.Client, url: str, api_key: str, policy: RetryPolicy, *,
                 max_bytes: int = MAX_ANSWER_BYTES) -> None:
        api_key = as_secret(api_key)
        self._direct = Direct(http)
        self.url = url
        # the address as messages and the repr give it: without a user name, password or query,
        # where a key may have been written (`shown_url`)
        self.shown_url = shown_url(url)
        self._target = _parsed(url)  # parsed once, not on every POST
        self.max_bytes = max_bytes
        # merged with the client's defaults once: every POST sends the same list
        self._headers = self._direct.headers({
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        })
        self.policy = policy

    def __repr__(self) -> str:
        return f"Exchange({self.shown_url!r})"

    @property
    def target(self) -> httpx.URL | str:
        """The address requests go to, parsed (its repr shows no query nor credentials)."""
        return self._target

    def post(
        self,
        tasks: list[dict[str, Any]],
        *,
        cancel: threading.Event | None = None,
        max_retries: int | None = None,
        on_attempt: Callable[[], None] | None = None,
        poll_on_timeout: bool = False,
        on_sent: Callable[[], None] | None = None,
        stop: threading.Event | None = None,
    ) -> Answer:
        """POST `tasks` as one JSON array; retry what may succeed later; return the first answer worth
        reading (2xx, or a non-retryable error status).

        Raises TransportError (`.sent` True when some attempt may have reached the server and been
        taken: no answer, or a 5xx) or the APIError of the last answer (only 408/429 answers: the
        task was refused) once retries are exhausted; both carry `.attempts`. `on_sent` is called
        once an attempt's bytes have left (see `qwenlab.api.wire.Wire.settle`). Once `stop` is
        set (a sweep's wire was closed: the API looks down, an error would fail every task,
        Ctrl-C), no more attempts are made, a backoff under way ends, and the last error is raised
        as when the retries are spent: sent or not, in doubt or not, as it was.
        """
        body = json.dumps(tasks, ensure_ascii=False).encode("utf-8")  # the same bytes, so the same taskUUIDs, every time
        retries = self.policy.max_retries if max_retries is None else max_retries
        uncertain = False  # some attempt may have reached the server and got no readable answer
        doubt = False  # some attempt may have been accepted (uncertain, or a 5xx answer)
        last: _Retry | None = None
        made = 0  # attempts made
        for attempt in range(1, retries + 2):
            if last is not None:  # a retry: back off first (as long as the server asked, if it did)
                self.policy.pause(self.policy.delay(attempt - 1, last.retry_after), cancel, until=stop)
                if stop is not None and stop.is_set():
                    break  # nothing more is sent: the task stays in doubt if an attempt may have been taken
            made = attempt
            if on_attempt is not None:
                on_attempt()
            outcome = self._attempt(body, attempt, poll_on_timeout, on_sent)
            if isinstance(outcome, Answer):
                outcome.attempts = attempt
                outcome.uncertain = uncertain
                outcome.resent = doubt
                return outcome
            uncertain = uncertain or outcome.uncertain
            doubt = doubt or outcome.uncertain or outcome.maybe_accepted
            last = outcome
            if poll_on_timeout and isinstance(outcome.error, TransportError) and outcome.error.timed_out:
                outcome.error.attempts = attempt
                raise outcome.error  # the task may be running: the caller polls for it, never re-sends it
        assert last is not None
        raise _exhausted(last.error, uncertain, made, doubt=doubt)

    def _attempt(self, body: bytes, attempt: int, poll_on_timeout: bool = False,
                 on_sent: Callable[[], None] | None = None) -> Answer | _Retry:
        """One POST: the answer to return, or why to try again. Raises what no retry can mend."""
        received = self._send(body, on_sent)
        if isinstance(received, _Retry):
            return received
        refused = self._refusal(received)
        if refused is not None:
            refused.attempts = attempt
            raise refused
        assert received is not None  # an answer over the cap is refused above
        answer = _parse(received)
        if answer is None:  # 2xx with a body that is not Runware's JSON: maybe accepted
            return _Retry(TransportError(
                f"answer from {self.shown_url} (HTTP {received.status_code}) is {_shape(received)}: "
                f"{redact(received.text)[:120]!r}; the request may have been accepted",
                sent=True,
            ), uncertain=True)
        if poll_on_timeout and is_sync_timeout(answer):
            return answer  # accepted and still running past the server's sync cap: poll, never re-send
        if answer.status >= 500 and any(_is_image(d) for d in answer.data):
            # a 5xx that carries finished images (a batch partly done): they are paid for and read
            # now; a retry would only be told conflictTaskUUID, and their image URLs would be lost.
            # The tasks it has no image for are asked about, never failed (TaskRun). One that
            # carries only acknowledgements or progress is retried like any 5xx
            return answer
        if is_retryable_status(answer.status):
            # 429 and 408 refuse the request; a 5xx may come from a gateway after the API took it
            return _Retry(answer.error(), retry_after=answer.retry_after, maybe_accepted=answer.status >= 500)
        return answer

    def _send(self, body: bytes, on_sent: Callable[[], None] | None = None) -> httpx.Response | None | _Retry:
        """POST `body`: the response (None when longer than `max_bytes`), or a connection problem
        worth retrying. Raises QwenlabError for a URL that is not http(s)."""
        try:
            return self._receive(body, on_sent)
        except httpx.UnsupportedProtocol as exc:
            raise QwenlabError(f"base_url {self.shown_url!r} is not an http(s) URL ({exc}); fix RUNWARE_BASE_URL or base_url") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # the request never left this machine: resending cannot charge twice
            return _Retry(TransportError(f"could not connect to {self.shown_url} ({type(exc).__name__}: {exc})", sent=False))
        except httpx.ReadTimeout as exc:
            # sent whole, no answer in time: maybe accepted and still running (a long sync task)
            return _Retry(TransportError(
                f"no answer from {self.shown_url} within the read timeout ({exc or 'ReadTimeout'}); "
                "the request may have been accepted",
                sent=True, timed_out=True,
            ), uncertain=True)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # sent, maybe accepted, no answer: the retry (same taskUUIDs) finds out
            return _Retry(TransportError(
                f"no answer from {self.shown_url} ({type(exc).__name__}: {str(exc) or 'connection closed'}); "
                "the request may have been accepted",
                sent=True,
            ), uncertain=True)

    def _refusal(self, resp: httpx.Response | None) -> QwenlabError | None:
        """The error for an answer that is never read nor retried (too long, a redirect), else None."""
        if resp is None:  # over the cap: refused, not retried (the next answer could be as long)
            return TransportError(
                f"answer from {self.shown_url} is longer than {self.max_bytes} bytes; refused unread. The request may have "
                "been accepted", advice="for many inline images use outputType='URL', then fetch it with "
                "client.recover(request)",
                sent=True,
            )
        if resp.is_redirect:  # never followed: the API key would go along to wherever it points
            return APIError(
                f"{self.shown_url} answered with a redirect to {redact(resp.headers.get('location', '?'))[:200]!r}; API requests "
                "are never redirected (the API key would go with them): check RUNWARE_BASE_URL or base_url",
                status=resp.status_code,
            )
        return None

    def _receive(self, body: bytes, on_sent: Callable[[], None] | None = None) -> httpx.Response | None:
        """POST `body` and read the answer, streamed: None when it is longer than `max_bytes`."""
        with self._direct.stream("POST", self._target, content=body, headers=self._headers, on_sent=on_sent) as resp:
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                return None
            if declared and declared.isdigit() and resp.headers.get("content-encoding", "identity") == "identity":
                resp.read()  # its length is known and under the cap: read in place, no second Response
                return resp
            chunks: list[bytes] = []
            total = 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > self.max_bytes:
                    return None
                chunks.append(chunk)
        # the bytes are decoded already: the new Response must not decode (or measure) them again
        headers = [(k, v) for k, v in resp.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(resp.status_code, headers=headers, content=b"".join(chunks), request=resp.request)


@dataclass
class _Retry:
    """An attempt worth repeating, and the error to raise if it was the last one."""

    error: QwenlabError
    uncertain: bool = False  # it may have reached the server (and been accepted) without a readable answer
    retry_after: float | None = None  # seconds the server asked to wait (Retry-After)
    maybe_accepted: bool = False  # answered, but with a status that does not say the task was refused (5xx)


# The error code of a sync request the server stopped holding (Runware: HTTP 504 at about 120 s).
SYNC_TIMEOUT_CODE = "failedTaskTimeout"


# where an answer's item carries a finished image: its URL, or its bytes inline
IMAGE_PAYLOADS = ("imageURL", "imageBase64Data", "imageDataURI")


def _is_image(item: Any) -> bool:
    """A data item holding a finished image (its URL or bytes)."""
    return isinstance(item, dict) and bool(item.get("taskUUID")) and any(
        isinstance(item.get(k), str) and item.get(k) for k in IMAGE_PAYLOADS)


def is_sync_timeout(answer: Answer) -> bool:
    """True for a 504 answer whose error says the server's sync wait ran out (`failedTaskTimeout`)."""
    return answer.status == 504 and any(e.get("code") == SYNC_TIMEOUT_CODE for e in answer.errors)


def _exhausted(last: QwenlabError, uncertain: bool, attempts: int, *, doubt: bool = False) -> QwenlabError:
    """The error to raise once every attempt is spent: the last one, marked sent (to be recovered,
    never sent anew) when any attempt may have reached the server and been taken.

    `uncertain`: some attempt got no answer at all. `doubt`: that, or some attempt was answered
    with a 5xx, which may come from a gateway after the API took the task. Either way the error
    is a TransportError with `sent=True` (the answer's APIError as its `__cause__`), which callers
    (the runner above all) leave in doubt, to be asked about with getResponse, never sent anew."""
    if isinstance(last, TransportError):
        last.sent = bool(last.sent or uncertain or doubt)
    elif uncertain or doubt:
        cause = last
        if uncertain:
            # the last answer was a 429/5xx, but an earlier attempt got no answer at all: that one
            # may have been accepted and paid, so callers must recover the task, never resend it anew
            why = "an earlier attempt got no answer"
        else:
            why = "a 5xx may come from a gateway after the API took the request"
        last = TransportError(
            f"{cause}; {why}, so the task may have been accepted",
            advice="fetch it with client.recover(request) before sending it again",
            sent=True,
        )
        last.__cause__ = cause
    last.attempts = attempts
    return last


def _parsed(url: str) -> httpx.URL | str:
    """`url` parsed by httpx (its repr without query or credentials: `quiet_url`), or as it is
    when it does not parse (sending it then says why)."""
    try:
        return quiet_url(url)
    except httpx.InvalidURL:
        return url


def _shape(resp: httpx.Response) -> str:
    """What is wrong with a 2xx body `_parse` refused, in words."""
    try:
        resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return "not valid JSON"
    return ('not shaped like a Runware answer (a JSON object with "data" and/or "errors" arrays, an array of '
            'objects, or one result item naming its taskUUID)')


def _enveloped(body: Any, ok: bool) -> Any:
    """`body` in the `{"data": [...], "errors": [...]}` envelope when it is one of the other shapes
    Runware's SDKs read (runware-python `errors.parse_api_error`, "the various shapes the API can
    return", and `client._extract_items`; runware-typescript `toResultsArray`, `parseApiError`):
    a JSON array is the result items of a 2xx answer and the errors of any other; a non-2xx body
    that is a single error object (a `code` or `message`, no `data`/`errors`/`error`) is that error.
    A 2xx body that is one object on its own (`_lone_object`) is one result item, the shape the
    model page shows for every example's Response, or one error; `data` given as one object is
    that one item. Any other body is returned as it is."""
    if isinstance(body, list) and all(isinstance(item, dict) for item in body):
        return {"data": body} if ok else {"errors": body}
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        # `data` as one object: Runware's Image Upload page shows its Response so
        # ({"data": {"taskType", "taskUUID", "imageUUID"}}); one item, as in an array
        return {**body, "data": [body["data"]]}
    if not isinstance(body, dict) or any(k in body for k in _BODY_FIELDS):
        return body
    if not ok:
        return {"errors": [body]} if any(isinstance(body.get(k), str) for k in ("code", "message")) else body
    return _lone_object(body)


# what only a result item carries (a finished image, its name, or its progress), not an error
_RESULT_FIELDS = (*IMAGE_PAYLOADS, "imageUUID", "status", "progress", "pong")


def _lone_object(body: dict[str, Any]) -> Any:
    """A 2xx body that is one object, neither `data` nor `errors` in it, enveloped: a result item
    when it carries a result (an image, an imageUUID, a status) or, short of that, names a task
    (an async acknowledgement: polled for); an error when it carries a `code` and no result. The
    model page shows every example's Response as such an item, and runware-typescript's
    `toResultsArray` (src/client.ts) reads a lone object as the one result: refused as garbled,
    its paid image's URL was dropped and the task left in doubt. Anything else is returned as it is."""
    if any(k in body for k in _RESULT_FIELDS):
        return {"data": [body]}
    if isinstance(body.get("code"), str):
        return {"errors": [body]}  # read as the errors array of a 2xx answer is: a conflict, a refusal
    if isinstance(body.get("taskUUID"), str) and body["taskUUID"]:
        return {"data": [body]}
    return body


def _parse(resp: httpx.Response) -> Answer | None:
    """An Answer from a response; None for a 2xx whose body is not a Runware JSON object."""
    status = resp.status_code
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    try:
        body = _enveloped(resp.json(), 200 <= status < 300)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list) or not isinstance(body.get("errors", []), list):
        if 200 <= status < 300:
            return None
        return Answer(status, retry_after=retry_after, text=redact(resp.text)[:500])
    single = _single_error(body)
    if 200 <= status < 300 and "data" not in body and "errors" not in body and single is None:
        return None
    data = [d for d in body.get("data") or [] if isinstance(d, dict)]
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    envelope: tuple[str, ...] = ()
    if not errors and single is not None:
        errors = [single]
        envelope = ("taskUUID", "taskType")  # the error's own, not fields of the answer to keep
    extra = clean_raw({k: v for k, v in body.items() if k not in _BODY_FIELDS + envelope})
    return Answer(status, data, errors, retry_after, extra=extra)


def _single_error(body: dict[str, Any]) -> dict[str, Any] | None:
    """The error of a body that carries one in `error` (older payloads; the SDKs' "pre-stream"
    errors, `{"error": {code, message}, "taskUUID", "taskType"}`), with the taskUUID and taskType
    written beside it as its own, else None. Runware/runware-python `errors.parse_api_error` reads
    that envelope so, and its `client._extract_items` raises it from a 2xx answer as much as from
    any other (runware-typescript `parseApiError` likewise): a refusal of the task it names. Taken
    for a garbled 2xx, it was sent again and left in doubt; without its taskUUID, in a batch it
    was nobody's error."""
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    return {**{k: body[k] for k in ("taskUUID", "taskType") if isinstance(body.get(k), str) and body[k]}, **error}
