"""Which APIError an error answer of Runware's is: by HTTP status first, then refined by code.

`api_error_from(status, item)` builds it from an answer's HTTP status and one item of its
`errors` array; the tables it reads say why each status and code lands where it does. The
classes themselves, and what each promises (retryable or not), are in `qwenlab.errors`.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictTaskUUIDError,
    InsufficientCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotFoundError,
    UnsupportedParameterError,
)

__all__ = ["api_error_from"]


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: TaskNotFoundError,
    408: ServerError,
    429: RateLimitError,
}
_BY_CODE: dict[str, type[APIError]] = {
    "unsupportedParameter": UnsupportedParameterError,
    "unknownParameter": UnsupportedParameterError,  # a key Runware knows for no model (its SDKs name both)
    "conflictTaskUUID": ConflictTaskUUIDError,
    "invalidApiKey": AuthenticationError,
    "insufficientCredits": InsufficientCreditsError,
}  # the not-found codes are _TASK_NOT_FOUND_CODES, read before any status
# Codes about the account, not the request, under any 4xx that is not retried: a bad key or an
# empty balance answered with a 400 was a BadRequestError, which fails one cell, so a sweep sent
# every one of its cells to be refused alike; as AuthenticationError and InsufficientCreditsError
# they stop it at the first (`qwenlab.sweeps.dispatch.FATAL_ERRORS`). Neither is retried, as a
# 400 is not: only which cells are left unsent changes. runware-python's `derive_code` reads
# these conditions from the answer whatever its status.
_ACCOUNT_CODES: dict[str, type[APIError]] = {
    "invalidApiKey": AuthenticationError,
    "insufficientCredits": InsufficientCreditsError,
}
# Codes that say getResponse knows no such task, whatever HTTP status carries them: Runware's SDKs
# (runware-python errors.py `_NOT_FOUND_CODES` and `derive_code`, runware-typescript errors.ts)
# classify "not found" by the code alone, and an answer of 400 with `taskFailedOrNotFound` must
# reach the branches that handle a task the server does not know, as the 404 form does. Only the
# codes about the task itself: the SDKs' other not-found codes (`unknownModel`, `modelNotFound`,
# `mediaNotFound` ...) say nothing about whether a task was taken, and `taskCancelled` names a
# task the server does know. A 408/429/5xx keeps its retryable family: the code cannot be trusted
# from a server in trouble, and asking again costs nothing.
_TASK_NOT_FOUND_CODES = frozenset({"taskFailedOrNotFound", "taskNotFound", "taskExpired"})


def api_error_from(
    status: int | None,
    error: dict[str, Any] | None,
    *,
    retry_after: float | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> APIError:
    """Build the right APIError subclass: by HTTP status first, then refined by code.

    Codes may change without notice, so the status decides the family (retryable or not) and
    the code only picks a more specific subclass within it. One exception: a code saying the
    task is not known (`taskFailedOrNotFound`, see `_TASK_NOT_FOUND_CODES`) is a TaskNotFoundError
    under any status that is not retried (a 400 as much as a 404), as Runware's SDKs read it.
    """
    error = error or {}
    code = error.get("code")
    message = str(error.get("message") or code or f"HTTP {status}")
    cls: type[APIError]
    if status is not None and status >= 500:
        cls = ServerError
    elif code in _TASK_NOT_FOUND_CODES and status not in (408, 429):
        cls = TaskNotFoundError
    elif code in _ACCOUNT_CODES and status is not None and 400 <= status < 500 and status not in (408, 429):
        cls = _ACCOUNT_CODES[code]
    elif status is not None and status in _BY_STATUS:
        cls = _BY_STATUS[status]
        refined = _BY_CODE.get(code or "")
        if refined is not None and issubclass(refined, cls):
            cls = refined
    elif status is None or 200 <= status < 300:
        cls = _BY_CODE.get(code or "", TaskFailedError)
    else:
        cls = BadRequestError if 400 <= status < 500 else APIError
    return cls(
        message,
        status=status,
        code=code,
        parameter=error.get("parameter"),
        task_uuid=error.get("taskUUID"),
        retry_after=retry_after,
        errors=errors,
        item=error,
    )
