"""Every exception qwenlab raises, in one tree.

    QwenlabError                    every one carries .task_uuid and .attempts (None where no task is concerned)
    ├── ModelNotFoundError          an unknown model id (no description loaded for it)
    ├── ModelDescriptionError       a model description file that is malformed
    ├── ValidationError             a request that breaks its model's rules; nothing was sent
    ├── ImageError                  an image that is missing, not an image, too large or unsafe to save
    │   └── ImageStoreError             an image that could not be written (no permission, a folder in its place)
    │       └── StoreUnwritableError        ... because the store's disk refuses every write: full, over quota, read-only
    ├── LogWriteError               the log could not be written (disk full, locked past the busy timeout, read-only)
    ├── BudgetExceededError         the next request would spend more than the budget allows
    ├── SentWithAnotherKeyError     a cell in doubt sent with another API key: left in doubt, not sent with this one
    ├── ExperimentNotFoundError     no experiment of that name in the log (the message lists the known ones)
    ├── ExperimentConflictError     a sweep run under the name of an experiment that has a different sweep
    │   └── BackendMismatchError        an experiment whose cells ran on the emulator resumed on Runware, or the reverse
    ├── ComparisonError             experiments that cannot be compared (fewer than two, an axis named "experiment")
    ├── ExperimentBusyError         an experiment that is running cannot be renamed or deleted now
    ├── ConfirmationRequiredError   a delete asked for without its explicit confirmation
    ├── BundleError                 a bundle file that is damaged, or from a newer qwenlab
    │   └── NotABundleError             a file that is no qwenlab bundle at all (not a zip, no manifest)
    ├── UnknownAxisError            an axis name the experiment does not have
    ├── UnknownCostKeyError         a cost `by=` key that is neither built in nor an axis, or a period and an axis
    ├── JudgementError              a judgement that cannot be recorded
    ├── OCRUnavailableError         the OCR engine asked for is not installed
    ├── WidgetsMissingError         ipywidgets is not installed where a widget was asked for
    ├── TransportError              the network failed (connection refused/dropped, timeout) after retries,
    │                               or every retry met a 5xx (.sent: the task may have been taken)
    └── APIError                    Runware answered with an error (classified by HTTP status, then code)
        ├── BadRequestError             400: the request is wrong; never retried
        │   ├── UnsupportedParameterError   a parameter the model does not declare
        │   └── ConflictTaskUUIDError       the taskUUID is taken: by another task, or by one getResponse forgot
        ├── AuthenticationError         401: the API key is missing or wrong
        ├── InsufficientCreditsError    402: no balance left
        ├── PermissionDeniedError       403: the key may not do this
        ├── TaskNotFoundError           404 (or a not-found code such as taskFailedOrNotFound): no such task
        ├── RateLimitError              429: Runware's queue is full; retried with backoff
        ├── ServerError                 5xx: upstream trouble; retried with backoff
        └── TaskFailedError             a task (or one image of it) failed inside a 200 answer

Messages say what went wrong and what to do. None of them ever contains the API key:
`redact()` (`qwenlab.secrets`) scrubs any text that passes through an error.

A ValidationError's `.problems` are `Problem`s (`qwenlab.problems`, exported here too); which
APIError an answer of Runware's is, `qwenlab.api.error_answers` decides.
"""

from __future__ import annotations

import copy
from typing import Any

from .problems import Problem
from .secrets import redact, redact_json

__all__ = [
    "QwenlabError",
    "ModelNotFoundError",
    "ModelDescriptionError",
    "Problem",
    "ValidationError",
    "ImageError",
    "ImageStoreError",
    "StoreUnwritableError",
    "LogWriteError",
    "BudgetExceededError",
    "SentWithAnotherKeyError",
    "ExperimentNotFoundError",
    "ExperimentRenamedError",
    "NoLogError",
    "NotALogError",
    "ExperimentConflictError",
    "BackendMismatchError",
    "ComparisonError",
    "ExperimentBusyError",
    "ConfirmationRequiredError",
    "BundleError",
    "NotABundleError",
    "UnknownAxisError",
    "UnknownCostKeyError",
    "JudgementError",
    "OCRUnavailableError",
    "WidgetsMissingError",
    "TransportError",
    "APIError",
    "BadRequestError",
    "UnsupportedParameterError",
    "ConflictTaskUUIDError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "PermissionDeniedError",
    "TaskNotFoundError",
    "RateLimitError",
    "ServerError",
    "TaskFailedError",
]

class QwenlabError(Exception):
    """Base class of every error qwenlab raises.

    `task_uuid` names the task an error concerns and `attempts` how many POSTs it took (0: nothing
    was sent); both are None for an error that concerns no task. `experiment` is the experiment
    a run stopped on this error, as it stands (None elsewhere)."""

    task_uuid: str | None = None
    attempts: int | None = None
    # set by `Lab.run` on the error that stopped a sweep: the experiment as that run left it
    experiment: Any = None

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    def for_task(self, task_uuid: str | None, attempts: int | None = None) -> "QwenlabError":
        """This error as it concerns `task_uuid` (after `attempts` POSTs): itself, or a copy when
        it already names another task (one answer's error can be shared by several tasks)."""
        err = copy.copy(self) if self.task_uuid not in (None, task_uuid) else self
        err.task_uuid = task_uuid
        if attempts is not None:
            err.attempts = attempts
        return err


class ModelNotFoundError(QwenlabError, KeyError):
    """No model description is loaded for this model id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ModelDescriptionError(QwenlabError):
    """A model description (TOML or dict) is malformed."""


class ValidationError(QwenlabError, ValueError):
    """A request breaks its model's rules. Nothing was sent. `.problems` lists every one."""

    def __init__(self, problems: list[Problem], context: str = "request") -> None:
        self.problems = list(problems)
        self.context = context  # what is invalid: "request", "sweep", a sweep file's path, ...
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{context} is invalid ({n} problem{'s' if n != 1 else ''}); nothing was sent:\n{lines}")

    @property
    def parameters(self) -> list[str]:
        """The parameter each problem names, in order (a parameter twice for two problems)."""
        return [p.parameter for p in self.problems]


class ImageError(QwenlabError):
    """An image could not be fetched, decoded, checked or saved safely."""


class ImageStoreError(ImageError):
    """An image could not be written to the image store (its folder not ours, a file where a
    folder should be; `StoreUnwritableError` when the disk refuses every write). Nothing is wrong
    with the image: asked for again later (getResponse, free), a paid one is not bought again, so
    it is `.transient`."""

    transient = True


class StoreUnwritableError(ImageStoreError):
    """An image could not be written because the store's disk refuses every write (full, over
    its quota, mounted read-only): a sweep stops sending at the first, since every image after it
    would be paid for and not kept."""


class LogWriteError(QwenlabError):
    """The log could not be written: its disk is full, another process held it past the busy
    timeout, or the file or its folder is read-only. What was logged before stays. Opening a log
    raises it too when its disk refuses SQLite's writes (opening writes beside the file), with
    SQLite's own error as its __cause__."""


class BudgetExceededError(QwenlabError):
    """Sending the next request could exceed the budget."""


class SentWithAnotherKeyError(QwenlabError):
    """A cell in doubt was sent with another API key than this run's, and the server, asked with
    this one, does not know it: it may have been paid for under the other key's account, where
    its image waits. It is left in doubt, not sent again (which this account could pay for a
    second time). The message names the fixes: run with the key it was sent with, or
    `resend_in_doubt=True` to buy it again with this one."""


def another_key_note(cells: int, *, asked: bool) -> str:
    """What is said of `cells` cells in doubt sent with another API key, and the fixes: once the
    server, `asked` with this run's key, did not know them (the run's stop reason), or before (the
    preview's)."""
    one = cells == 1
    them, they = ("it", "it") if one else ("them", "they")
    head = f"{cells} cell{'' if one else 's'} in doubt {'was' if one else 'were'} sent with another API key"
    if asked:
        return (f"{head}, and the server, asked with this one, does not know {them}: {they} may have been paid for "
                f"with the other key. {another_key_fixes(cells)}")
    return (f"{head}: the run asks the server about {them} with this one, and if it does not know {them}, leaves "
            f"{them} in doubt ({they} may have been paid for with the other key). {another_key_fixes(cells)}")


def another_key_fixes(cells: int = 1) -> str:
    """The two fixes for cells in doubt sent with another API key, as the row, the run's stop
    reason and the preview say them."""
    it, was = ("it", "it was") if cells == 1 else ("them", "they were")
    return (f"Run again with the key {was} sent with to recover {it}, or with resend_in_doubt=True "
            f"(--resend-in-doubt) to buy {it} again with this one")


class ExperimentNotFoundError(QwenlabError, KeyError):
    """No experiment of that name in the log."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NoLogError(ExperimentNotFoundError):
    """No experiment of that name because there is no log at all yet: nothing to fix in the name
    (the command line exits 1, "no log yet", as the commands that read the whole log do)."""


class ExperimentConflictError(QwenlabError):
    """An experiment of this name exists with a different sweep. The message says what changed
    (axes added or removed, values added or removed per axis, base-request parameters and
    settings old -> new), how many cells are new, and the fix: a new name, or `extend=True`;
    `changes` holds those lines (empty for a BackendMismatchError); `command_line_message`, where
    set, is the same refusal with the command line's fixes (`--name NEW`, `--extend`), which
    `qwenlab run` says instead."""

    changes: tuple[str, ...] = ()
    command_line_message: str = ""


class BackendMismatchError(ExperimentConflictError):
    """An experiment has cells done (or in doubt) on another backend than the client's: on
    qwenlab's emulator (synthetic images, emulated costs) while the client talks to Runware, or
    the reverse. Nothing was sent; the message names the fix (a new name, or `mix_backends=True`)."""


class ExperimentRenamedError(ExperimentConflictError):
    """A run would start a new experiment under a name another experiment had before it was
    renamed (a notebook or sweep file still carrying the old name): every cell would be sent and
    paid for again. Nothing was sent; the message names the experiment's new name, to go on with
    it, and `reuse_name=True` (`--reuse-name`) for a new experiment under the old name.
    `former_name`, `current_name` and `renamed_at` say which, for a caller that words its own fix."""

    former_name: str = ""
    current_name: str = ""
    renamed_at: str = ""


class ComparisonError(QwenlabError, ValueError):
    """Experiments that cannot be compared: fewer than two, or one with an axis named
    "experiment" (the axis a comparison adds). The message names the fix."""


class ExperimentBusyError(QwenlabError):
    """The experiment is running (a sweep is sending its cells): renaming or deleting it now
    would pull the log from under the run. The message says how to go on."""


class ConfirmationRequiredError(QwenlabError, ValueError):
    """A delete without its confirmation: `exp.delete(confirm=True)` (or `qwenlab delete --yes`)."""


class NotALogError(QwenlabError):
    """A file where the log should be holds another program's SQLite tables; nothing was changed in it."""


class BundleError(QwenlabError):
    """A bundle file (`qwenlab bundle`) that cannot be read: not a qwenlab bundle, damaged, or an
    image in it whose bytes do not match its hash."""


class NotABundleError(BundleError, ValueError):
    """A file given as a bundle that is not one: not a zip, or a zip without a qwenlab bundle's
    manifest and log. Bad input (exit 2): the message says what a bundle is and how one is made."""


class UnknownAxisError(QwenlabError, ValueError):
    """An axis name that the experiment does not have, or a value that its axis does not have."""


class UnknownCostKeyError(QwenlabError, ValueError):
    """A `by=` key that is neither a built-in key nor an axis of any experiment in view, or a
    period ("year") or built-in key ("status") that is also an axis of one, which "period:year"
    ("builtin:status") or "axis:year" resolves."""


class JudgementError(QwenlabError, ValueError):
    """A judgement that cannot be recorded (unknown image, same value on both sides, bad winner)."""


class OCRUnavailableError(QwenlabError, ImportError):
    """The OCR engine asked for is not installed here; the message says how to install it."""


class WidgetsMissingError(QwenlabError, ImportError):
    """ipywidgets is not installed."""


class TransportError(QwenlabError):
    """The network failed (refused, dropped, timed out) and retries did not help; or retries ran
    out after an answer of 5xx, which a gateway may send once the API took the task (`sent` True,
    the last answer's APIError as `__cause__`): in doubt, to be recovered, never sent anew."""

    def __init__(self, message: str, *, task_uuid: str | None = None, sent: bool | None = None,
                 timed_out: bool = False, answered: bool = False, advice: str | None = None) -> None:
        # what happened, without the advice for a caller of the client ("call client.recover(...)"),
        # which the sweep runner replaces with its own: it asks the server at the next run itself
        self.reason = redact(message)
        self.advice = redact(advice) if advice else advice
        self.task_uuid = task_uuid
        # sent=True: the request may have reached the server (uncertain: maybe accepted and paid)
        self.sent = sent
        # timed_out=True: sent whole, then no answer within the read timeout (the task may be running)
        self.timed_out = timed_out
        # answered=True: the API did answer, and what it said leaves the task in doubt (it took the
        # taskUUID and getResponse does not know it; still processing past poll_timeout): no outage
        self.answered = answered
        super().__init__(f"{message}: {advice}" if advice else message)


class APIError(QwenlabError):
    """Runware answered with an error.

    `code`, `status` and `task_uuid` classify it; `parameters` lists every parameter it names
    (Runware sends `parameter` as a string or a list) and `parameter` shows them as one string
    ("width, height"); `item` is the error item as it came (secrets redacted) and `details` its
    other fields (`type`, `allowedValues`, `documentation`, anything new); `errors` every error
    item of the answer."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        parameter: str | list[str] | None = None,
        task_uuid: str | None = None,
        retry_after: float | None = None,
        errors: list[dict[str, Any]] | None = None,
        item: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.parameters = _parameter_names(parameter)
        self.parameter = ", ".join(self.parameters) or None
        self.task_uuid = task_uuid
        self.retry_after = retry_after
        self.errors = [redact_json(e) for e in errors or []]
        self.item = redact_json(dict(item or {}))
        self.details = {k: v for k, v in self.item.items() if k not in _ITEM_CORE}
        self.raw_message = redact(message)
        named = None
        if self.parameters:
            named = f"parameter{'s' if len(self.parameters) > 1 else ''} {self.parameter}"
        allowed = self.details.get("allowedValues")
        shown = f"allowed: {', '.join(str(v) for v in allowed)}" if isinstance(allowed, list) and allowed else None
        parts = [f"HTTP {status}" if status else None, redact(code) if code else None, named, shown]
        head = ", ".join(p for p in parts if p)
        super().__init__(f"{message} ({head})" if head else message)


# The fields of an error item APIError reads itself; the rest are its `details`.
_ITEM_CORE = frozenset({"code", "message", "parameter", "taskUUID", "taskType"})


def _parameter_names(value: Any) -> list[str]:
    """Every parameter name an error item gives: a string, or a list of them (others ignored)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return [redact(v) for v in values if isinstance(v, str) and v]


class BadRequestError(APIError):
    """400: the request is wrong. Fix it; retrying unchanged cannot help."""


class UnsupportedParameterError(BadRequestError):
    """The model does not declare this parameter."""


class ConflictTaskUUIDError(BadRequestError):
    """The taskUUID is taken. On a task's first attempt another task owns it (send the request with
    `request.renew()`); after a retry, or for a task that may have been sent before, it means the
    task was accepted earlier and the client fetches it, so this is raised only when getResponse
    no longer knows it."""


class AuthenticationError(APIError):
    """401: the API key is missing or not valid. Check RUNWARE_API_KEY."""


class InsufficientCreditsError(APIError):
    """402: the account has no balance left. Top up at runware.ai."""


class PermissionDeniedError(APIError):
    """403: this key may not use this model or feature."""


class TaskNotFoundError(APIError):
    """404, or a code saying so (`taskFailedOrNotFound`, under any status not retried):
    getResponse knows no task with this UUID (never accepted, or expired)."""


class RateLimitError(APIError):
    """429: Runware's queue is full. Retried with backoff, honouring Retry-After."""

    retryable = True


class ServerError(APIError):
    """5xx (or 408): trouble upstream. Retried with backoff."""

    retryable = True


class TaskFailedError(APIError):
    """A task, or one image of it, failed inside an otherwise successful answer."""
