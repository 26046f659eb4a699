"""A run's work on each cell: send it, recover it, fetch its lost images, and log what came back.

`Runner.run` makes one `CellWork` per run and its dispatch (`qwenlab.sweeps.dispatch`) calls
`CellWork.run` for each cell, in a worker thread. The promises kept here, cell by cell: a row
left 'sent' by a crash is asked about (getResponse under its own taskUUID) before anything is
sent; a row is marked 'sent' before its request leaves, within the budget the log holds; a cell
that may have been paid for and has no answer stays 'sent' (in doubt) for the next run; a paid
image that could not be fetched or kept is asked for again (free) before the cell is bought again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..api.wire import Wire, WireClosed
from ..core.request import Request, new_task_uuid
from ..core.values import count_of
from ..emulator.memory import MEMORY_NAME
from ..errors import (
    BudgetExceededError,
    ImageError,
    ImageStoreError,
    QwenlabError,
    SentWithAnotherKeyError,
    TaskFailedError,
    TransportError,
    another_key_fixes,
)
from ..secrets import redact
from ..store.log import Log
from ..store.provenance import EMULATOR
from ..store.rows import to_json
from .budget import Budget
from .dispatch import FATAL_ERRORS, Job, Outcome, what_happened

if TYPE_CHECKING:
    from ..api.client import RunwareClient
    from ..api.results import TaskResult

__all__ = ["CellWork", "IN_DOUBT_ADVICE", "missing_files", "sent_with_another_key"]

# What a cell in doubt's logged error ends with: the run, not the user, asks the server about it
IN_DOUBT_ADVICE = ("in doubt (it may have been paid for): the next run asks the server for its result "
                   "before it sends the cell again")


def sent_with_another_key(row: Mapping[str, Any], key_id: str | None) -> bool:
    """Whether a task row names the key it was sent with (`key_id`, migration m016) and that key
    is not `key_id`, the run's (never, when either cannot be named)."""
    return bool(key_id and row.get("key_id") and row["key_id"] != key_id)


class CellWork:
    """One run's work on the cells of experiment `exp_id`, one cell per `run` call (thread-safe).

    client: called for the client when a cell first needs it (one that cannot be made fails the
    cell that meets it). budget, limit: the run's budget, and its limit, checked again in the log as
    each row is marked 'sent' (another run may share the experiment). sending_to: where the run
    sends (written on each task as it is sent); backend_unsure: the run began before any server
    answered, so `record_backend` labels the experiment once one has. uploads: reference images
    already uploaded, by SHA-256 (kept by the runner across runs). key_id: the log's name for the
    client's API key (`RunwareClient.key_id`), written on each task as it is sent; None for a
    client that cannot name its key.
    """

    def __init__(self, log: Log, root: Path, exp_id: int, *, client: "Callable[[], RunwareClient]", budget: Budget,
                 limit: float | None, resend_in_doubt: bool, sending_to: dict[str, Any], backend_unsure: bool,
                 record_backend: Callable[[], dict[str, Any]], uploads: dict[str, str], key_id: str | None = None) -> None:
        self.log, self._root, self.exp_id = log, root, exp_id
        self._client = client
        self._budget, self._limit, self._resend_in_doubt = budget, limit, resend_in_doubt
        self._sending_to, self._backend_unsure, self._record_backend = sending_to, backend_unsure, record_backend
        self._provenance_lock = threading.Lock()
        self._uploads = uploads
        self._key_id = key_id

    @property
    def client(self) -> "RunwareClient":
        return self._client()

    def run(self, job: Job, may_send: bool, wire: Wire) -> Outcome:
        """Do `job` (its row logged): refetch a done cell's lost images, or ask the server about a
        cell in doubt, or renew a failed one, then send it under its row's taskUUID unless the
        dispatch reserved nothing for it (may_send False: it is only asked about). What it cost
        and how it ended, for the dispatch to settle; never raises for a cell's own failure."""
        row, cell = job.row, job.cell
        task_id = int(row["id"])
        if job.refetch:
            return self._refetch(task_id, job, row, wire)
        if job.recover:
            if row.get("backend") is None and self._sending_to:  # logged before provenance: it is asked here
                self.log.note_task(task_id, **self._sending_to)
            try:
                result = self._ask(row, wire)
            except WireClosed:  # the run stopped before it was asked: still in doubt, for the next run
                return Outcome("uncertain", cost=job.reserved)
            except TaskFailedError as exc:  # the server knows the task, and it failed there
                return self._fail(task_id, exc)
            except QwenlabError as exc:
                # the server could not be asked (no answer, 5xx, 429 through every retry, a key
                # refused): the task may still have been paid for, so it stays in doubt, asked
                # again by the next run; it is never failed, which would send it anew
                self.log.note_task(task_id, error_message=redact(f"recovery failed, will retry: {what_happened(exc)}"))
                return Outcome("uncertain", cost=job.reserved, error=exc)
            if result is not None:
                return self._complete(task_id, job, result)
            if sent_with_another_key(row, self._key_id) and not self._resend_in_doubt:
                # sent with another key, unknown to the server asked with this one: the other
                # key's account may have paid for it (its image is there), and this one, sent the
                # same taskUUID, could take it as new and pay again. Neither sent nor let go
                return self._other_key(task_id, job)
            if not may_send:  # never reached the server: safe to leave for a later run
                self.log.note_task(task_id, status="pending", sent_at=None)
                return Outcome("unsent")
            if self._resend_in_doubt:
                # the user's call: the server does not know this taskUUID, though it may have taken
                # it; the cell goes anew under a new one (paid again if it was), the attempt kept.
                # That attempt stays in the spend (held since the run began): the new one needs
                # room of its own in the budget, or the cell stays in doubt
                new = cell.estimated_cost * self._budget.markup  # as any new cell reserves: a raised price in full
                if not self._budget.reserve(new):
                    held = BudgetExceededError("not sent anew: the budget cannot hold a new attempt beside this one, "
                                               "which may have been paid for")
                    self.log.note_task(task_id, error_message=redact(f"{row.get('error_message') or 'in doubt'}; {held}"))
                    return Outcome("uncertain", cost=job.reserved, error=held)
                job.earlier, job.renewed_from = new, float(row.get("estimated_cost_usd") or 0.0)
                row = self._renew(task_id, row)
                if row["status"] == "done":  # another process renewed it first, and finished it
                    return Outcome("done")
        elif row["status"] == "failed":
            if row.get("cost_usd"):
                # charged, yet failed: its images were paid for and lost (a download that failed, an
                # image refused); the server may still hold them, so it is asked (free, whatever the
                # budget) before it is bought again
                recovered = self._recover_paid(task_id, job, row, wire)
                if recovered is not None:
                    return recovered
            if row.get("cost_usd") and not may_send:  # nothing reserved: the budget cannot buy it again
                return Outcome("failed", error=BudgetExceededError(
                    "paid for and its images lost, and the server does not give them: not bought again, "
                    "as the budget cannot hold it"))
            row = self._renew(task_id, row)  # the failed taskUUID is spent on Runware's side
            if row["status"] == "done":  # another process renewed it first, and finished it
                return Outcome("done")
        marked = False
        try:
            uploads = {ph: self._upload(img) for ph, img in cell.uploads.items()}
            req = cell.request_with(uploads, task_uuid=row["task_uuid"])
            if wire.closed:
                raise WireClosed("the run stopped before this cell was sent")
            # The row is marked 'sent' before the task waits for its place on the wire, not once it
            # has it: at concurrency 1 the write was a tenth of the time between two tasks' POSTs.
            # A crash meanwhile leaves it 'sent', which is safe: the next run asks the server first.
            within = (self.exp_id, self._limit, job.reserved, self._budget.markup) if self._limit is not None else None
            marking = self.log.mark_sent(task_id, redact(req.to_json()), **self._sending_to, key_id=self._key_id,
                                         within=within)
            if marking is None:  # another run of this experiment (another process on the log) did it meanwhile
                return Outcome("done")
            if marking is False:
                return Outcome("refused")  # another run of this experiment spent what was left
            marked = True
            # The log minted this taskUUID and owns it (unique in the log), so a conflictTaskUUID can only
            # mean this very task was sent before: by a run that crashed (recovery above found nothing
            # yet) or by another process sharing the log right now. Its results are this cell's.
            result = self.client.generate(req, sent_before=True, wire=wire)
        except WireClosed:  # the run stopped (Ctrl-C, a fatal error) before this cell's turn: not sent
            if marked:
                self.log.unmark_sent(task_id)
            return Outcome("unsent")
        except TransportError as exc:
            if exc.sent is False or not marked:
                # it never reached the server (or what failed came before it was sent: uploading
                # its reference images, which cost nothing): a plain failure, retried next run
                return self._fail(task_id, exc)
            # it may have been accepted (and paid): leave it 'sent' so the next run recovers it
            self.log.note_task(task_id, error_message=redact(f"{what_happened(exc)}; {IN_DOUBT_ADVICE}"),
                               attempts=exc.attempts)
            return Outcome("uncertain", cost=job.reserved, error=exc)
        except QwenlabError as exc:
            return self._fail(task_id, exc)
        return self._complete(task_id, job, result)

    def _other_key(self, task_id: int, job: Job) -> Outcome:
        """A cell in doubt sent with another API key: left in doubt, the reason and the fixes on its row."""
        error = SentWithAnotherKeyError(
            "sent with another API key than this run's, and unknown to the server asked "
            "with this one: it may have been paid for with the other key, whose account holds its image; "
            f"left in doubt, not sent again. {another_key_fixes()}")
        self.log.note_task(task_id, error_message=redact(str(error)))
        return Outcome("uncertain", cost=job.reserved, error=error)

    def _upload(self, image: Any) -> str:
        if image.sha256 not in self._uploads:
            self._uploads[image.sha256] = self.client.upload_image(image.path)
        return self._uploads[image.sha256]

    def _fail(self, task_id: int, exc: QwenlabError) -> Outcome:
        # a TransportError is no server's answer: it says nothing of where the task went
        answered = self._answered_by() if not isinstance(exc, TransportError) else {}
        self.log.complete_task(task_id, {
            "status": "failed", "error_code": getattr(exc, "code", None) or type(exc).__name__,
            "error_message": redact(str(exc)), "http_status": getattr(exc, "status", None),
            "attempts": exc.attempts or 0, **answered})
        return Outcome("failed", error=exc)

    def _answered_by(self) -> dict[str, Any]:
        """The backend of a task the server answered, in a run that began before any server could
        be reached (`_record_backend` then left it out): known now, from that answer. The
        experiment is labelled once, here; tasks sent before it was known get it as they finish."""
        if not self._backend_unsure:
            return {}
        backend = getattr(self.client, "known_backend", None)
        if backend is None:
            return {}
        with self._provenance_lock:
            if "backend" not in self._sending_to:
                self._sending_to = self._record_backend()
        return {"backend": backend}

    def _ask(self, row: dict[str, Any], wire: Wire) -> "TaskResult | None":
        """getResponse for the row's taskUUID (`RunwareClient.recover`): its result, or None when
        the server does not know it. A recovery takes a place on the wire, like any request."""
        with wire.place() as place:
            place.sent()  # a getResponse is small: no bookkeeping need wait for it to leave
            # the run stopped (Ctrl-C, an outage, a refused key): no more retries nor polls
            return self.client.recover(Request.from_json(row["request_json"]), stop=wire.closing)

    def _renew(self, task_id: int, row: dict[str, Any]) -> dict[str, Any]:
        """The row under a new taskUUID, 'pending', its last attempt kept in its history. When
        another process sharing the log renewed it first, its row as it is now: the cell then
        goes under that process's taskUUID, which cannot pay twice (a conflictTaskUUID brings
        the results of whichever sent it first)."""
        uuid = new_task_uuid()
        now = self.log.reset_task(task_id, task_uuid=uuid, request_json=row["request_json"], replacing=row["task_uuid"],
                                  status=row["status"])
        return {**row, "task_uuid": uuid} if now is None else now

    def _recover_paid(self, task_id: int, job: Job, row: dict[str, Any], wire: Wire) -> Outcome | None:
        """A failed cell that was charged: its images fetched with getResponse under its taskUUID
        (free), when the server still has them and they now download. None when the server says
        it does not have them (it does not know the task, the task failed there, or its images
        will not download): then the cell is sent anew. When the server could not be asked (the
        run stopped first, no answer, 429, 5xx), the row stays as it is, failed and paid, and the
        next run asks again: buying the cell twice is for when the server has said no."""
        try:
            result = self._ask(row, wire)
        except WireClosed:
            return Outcome("unsent")
        except TaskFailedError:
            return None
        except QwenlabError as exc:
            return Outcome("failed", error=exc)
        if result is not None and not result.good_images and any(getattr(e, "transient", False) for e in result.errors):
            # the server has them, but their host failed to serve them for now (5xx, no answer):
            # asked for again by the next run, not bought again on that alone
            return Outcome("failed", error=headline(result.errors))
        if result is None or not result.good_images:
            return None
        out = self._complete(task_id, job, result)
        # paid before, and counted in the spend this run began from: nothing more to settle
        return Outcome(out.status, cost=0.0, error=out.error)

    def _refetch(self, task_id: int, job: Job, row: dict[str, Any], wire: Wire) -> Outcome:
        """A done cell's lost paid images, fetched with getResponse under its taskUUID (free) and
        added beside those it kept. When the server no longer knows the task, the row says so
        (error_code 'ImageLost') and is not asked about again; when it could not be asked, the
        next run asks again. Nothing is ever sent: the cell has images."""
        try:
            result = self._ask(row, wire)
        except WireClosed:
            return Outcome("unsent")
        except QwenlabError as exc:
            return Outcome("done", error=exc)
        if result is None:
            # the emulator's word for why, where it is the one that forgot: no tester should think
            # Runware forgets a task as fast
            forgot = (" (the offline emulator keeps a task for its images' ttl, an hour unless the request set one, "
                      f"in {MEMORY_NAME} in the data folder)"
                      if row.get("backend") == EMULATOR else "")
            self.log.note_task(task_id, error_code="ImageLost", error_message=redact(
                f"{row.get('error_message') or 'an image file is gone from the store'}; getResponse no longer knows "
                f"the task{forgot}: the lost image cannot be fetched again"))
            return Outcome("done")
        # only what came back is added: the row keeps its own attempts, latency, times and cost
        # (those of the request that made the images, not of this free getResponse)
        self.log.add_images(task_id, self._image_rows(result))
        refused = [e for e in result.errors if isinstance(e, ImageError) and not getattr(e, "transient", False)]
        unsaved = next((e for e in result.errors if isinstance(e, ImageStoreError)), None)
        if unsaved is not None:
            # the disk, not the image: fetched again once it is fixed; a disk that refuses every
            # write stops the run at once, before the cells waiting for the wire are bought
            if isinstance(unsaved, FATAL_ERRORS):
                wire.close()
            self.log.note_task(task_id, error_code=type(unsaved).__name__, error_message=redact(str(unsaved)))
            return Outcome("done", cost=0.0, error=unsaved)
        if refused and len(refused) == len(result.errors):
            # refused twice for what the bytes or their URL are (expired, not an image, over the
            # cap), not for a passing failure: asking at every run would only fetch it again
            self.log.note_task(task_id, error_code="ImageLost", error_message=redact(
                f"a paid image was lost, and refused again when fetched with getResponse: {refused[0]}; "
                "later runs do not ask for it"))
        elif not result.errors:  # the server's whole answer: asked again, it would give the same
            have, asked = len(self.log.images(self.exp_id, task_ids=[task_id])), int(row.get("number_results") or 1)
            if missing_files(self.log, self._root, self.exp_id, [task_id]):  # fetched whole, yet not the bytes logged
                self.log.note_task(task_id, error_code="ImageLost", error_message=(
                    "an image file is missing from the store, and getResponse gave other bytes than those logged: "
                    "the lost image cannot be fetched again"))
            elif have < asked:
                self.log.note_task(task_id, error_code="ImageLost", error_message=(
                    f"getResponse gave {have} of the {count_of(asked, 'paid image')}: the others cannot be fetched again"))
            else:
                self.log.note_task(task_id, error_code=None, error_message=None)  # every image is back
        return Outcome("done", cost=0.0)  # paid before, and counted in the spend this run began from

    def _image_rows(self, result: "TaskResult") -> list[dict[str, Any]]:
        """The log's rows of a result's good images."""
        return [{
            "image_uuid": img.image_uuid, "task_uuid": result.task_uuid, "experiment_id": self.exp_id, "seed": img.seed,
            "cost_usd": img.cost, "cost_source": "api" if img.cost is not None else "estimate",
            "nsfw": None if img.nsfw is None else int(img.nsfw), "path": self._relative(img.path), "sha256": img.sha256,
            "format": img.format, "width": img.width, "height": img.height, "bytes": img.nbytes,
            "url": redact(img.url) if img.url else None,  # an answer could carry the key in a URL
            "raw_json": to_json(img.raw_for_log()),  # with a format other than the one asked for noted
            "api_extra": to_json(img.api_extra) if img.api_extra else None,  # fields qwenlab does not model
        } for img in result.good_images]

    def _complete(self, task_id: int, job: Job, result: "TaskResult") -> Outcome:
        good = result.good_images
        images = self._image_rows(result)
        error = headline(result.errors)
        status = "done" if good else "failed"
        cost = result.cost
        reported = cost is not None
        if cost is None and not good and any(isinstance(i.error, ImageError) for i in result.images):
            # images were made, so paid for, and none could be downloaded, with no cost reported
            # (includeCost turned off): counted at the estimate, so the spend holds it and the next
            # run asks for them (free) before it buys the cell again. An ImageError is only ever
            # an item of the answer's data that could not be had or kept (a failed slot carries
            # the API's error instead), so it was made, imageUUID or not.
            cost = job.cell.estimated_cost
        fields = {
            "status": status, "attempts": result.attempts, "latency_s": round(result.latency_s, 4),
            "http_status": result.http_status, "cost_usd": cost,
            "cost_source": "api" if reported else ("estimate" if good or cost is not None else None),
            "cost_reading": result.cost_reading,  # per_image | per_task (counted once) | unchecked
            "error_code": (getattr(error, "code", None) or type(error).__name__) if error else None,
            # every distinct error of the task, the headline first: one image's inference failure
            # must not hide that another, paid for, could not be downloaded
            "error_message": redact("; ".join(dict.fromkeys(str(e) for e in [error, *result.errors]))) if error else None,
        }
        if good and not job.cell.request.spelled_at("width") and good[0].width and good[0].height:
            # no size was sent: the task was logged at the size qwenlab assumes (Request.size), and
            # Runware's default is not documented; the size the image came back at is the task's
            fields.update(width=good[0].width, height=good[0].height)
        self.log.complete_task(task_id, {**fields, **self._answered_by()}, images)
        spent = cost if cost is not None else (job.cell.estimated_cost if good else 0.0)
        # a done cell's error is no one's concern, unless it must stop the run: one of its images
        # could not be written (a full disk), which the wire has already stopped sending for
        fatal = next((e for e in result.errors if isinstance(e, FATAL_ERRORS)), None)
        return Outcome(status, cost=spent, error=fatal if good else error, reported=reported)

    def _relative(self, path: Path | None) -> str | None:
        if path is None:
            return None
        # the image store gives resolved paths: under the resolved data folder, a prefix test says
        # it (resolving each path again took an lstat per component, per image)
        text, root = str(path), str(self._root)
        if text.startswith(root + os.sep) and f"{os.sep}..{os.sep}" not in f"{text}{os.sep}":
            return text[len(root) + 1:].replace(os.sep, "/")
        full = Path(path).resolve()
        return full.relative_to(self._root).as_posix() if full.is_relative_to(self._root) else str(full)


def missing_files(log: Log, root: Path, exp_id: int, task_ids: list[int] | None = None) -> set[int]:
    """The done tasks (of `task_ids`, or all) with an image whose file is gone from the store or
    not the size logged (deleted, cut short): asked for again like a lost download. Not those
    already given up (ImageLost). One stat per image: 2,000 images take a few milliseconds."""
    sql = ("SELECT i.task_id, i.path, i.bytes FROM images i JOIN tasks t ON t.id = i.task_id "
           "WHERE i.experiment_id = ? AND t.status = 'done' AND coalesce(t.error_code, '') != 'ImageLost'")
    params: list[Any] = [exp_id]
    if task_ids is not None:
        sql += f" AND i.task_id IN ({', '.join('?' for _ in task_ids)})"
        params += task_ids
    out = set()
    for r in log.rows(sql, params):
        if not r["path"]:
            continue
        try:
            size = os.stat(root / r["path"]).st_size  # an absolute path stays itself
        except (FileNotFoundError, NotADirectoryError):  # gone, or a file where its folder was
            size = None
        except OSError:  # unreadable for now (a share away, no permission): not known to be lost
            continue
        if size is None or (r["bytes"] is not None and size != r["bytes"]):
            out.add(int(r["task_id"]))
    return out


def headline(errors: list[QwenlabError]) -> QwenlabError | None:
    """The error a task is listed under: a paid image that could not be fetched (money spent for
    nothing) before any other failure, else the first."""
    paid_lost = [e for e in errors if isinstance(e, ImageError)]
    return (paid_lost or errors or [None])[0]
