"""One run's dispatch: which cell goes next, within the budget and the concurrency, and what came back.

`Runner.run` hands `Dispatch.run` the run's jobs (a cell with its log row, or none yet); the
dispatch logs the new ones, reserves each one's estimate before it may go, runs each in a worker
thread (`CellWork.run`, given as `run_job`), settles its reservation with what it cost, and stops
at a fatal error, an outage or the end of the budget. `Job` and `Outcome` are what passes between
the two.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from ..api.wire import Wire
from ..core.values import count_of, format_usd
from ..errors import (
    AuthenticationError,
    BudgetExceededError,
    InsufficientCreditsError,
    PermissionDeniedError,
    QwenlabError,
    SentWithAnotherKeyError,
    StoreUnwritableError,
    TransportError,
    UnsupportedParameterError,
    another_key_note,
)
from ..money import usd_option
from ..progress import Progress
from ..secrets import redact
from ..store.log_file import write_failure
from .budget import Budget
from .sweep import Cell

__all__ = ["Dispatch", "Job", "Outcome", "FATAL_ERRORS", "LOG_CHUNK", "OUTAGE_AFTER", "what_happened"]

# New cells are logged this many at a time while the cells before them are on the wire: each
# batch keeps the interpreter from the threads on the wire for about 2 ms.
LOG_CHUNK = 32

# Errors that would fail every remaining cell the same way: stop the sweep at once.
FATAL_ERRORS: tuple[type[QwenlabError], ...] = (
    AuthenticationError, InsufficientCreditsError, PermissionDeniedError, UnsupportedParameterError,
    StoreUnwritableError)  # a full or read-only disk: every image after it would be paid for and not kept


@dataclass
class Job:
    cell: Cell
    row: dict[str, Any] | None  # None: a new cell, logged 'pending' before it is sent (`Dispatch.log_jobs`)
    recover: bool  # the row was left 'sent': ask the server before sending anything
    reserved: float = 0.0
    # resend_in_doubt: what is reserved for the new attempt of a cell in doubt given up, and the
    # estimate of the attempt given up, which stays in the spend (it may have been paid)
    earlier: float = 0.0
    renewed_from: float = 0.0
    # a done cell that lost paid images (numberResults > 1, a download failed): they are asked
    # for with getResponse (free), nothing is sent
    refetch: bool = False
    # a failed cell that was charged (its images paid for and lost): asked about first (free) even
    # when the budget cannot hold buying it again, which only then needs room in the budget
    paid: bool = False


# what a cell reserves of the budget, times its estimate, until the API has reported a cost
UNCONFIRMED_MARKUP = 2.0

# The API looks down when this many cells in a row (at least; `concurrency` when larger, as that
# many go out together) got no answer or only 5xx through every retry, none answered between:
# the run stops there, rather than spend minutes of retries on each of the cells left. Those
# sent stay in doubt, asked about at the next run; those not sent stay 'pending'.
OUTAGE_AFTER = 3

@dataclass
class Outcome:
    status: str  # 'done' | 'failed' | 'uncertain' | 'unsent' | 'refused' (not sent: the budget, as the log has it)
    cost: float = 0.0
    error: BaseException | None = None
    reported: bool = False  # `cost` is the API's own figure, not the estimate



class Dispatch:
    """One run's dispatch loop: the cells still to send, those in flight, and what came back.

    The runner's promises, step by step: a new cell's row is written ('pending') before it is
    submitted, the first few alone and the rest in batches while those are on the wire, every one
    by the time the loop stops (`_log_new_cells`); `_admit` reserves a cell's estimate before it may go
    (the budget is never exceeded); `CellWork.run` marks the cell's row 'sent' before its
    request leaves; `_settle` settles the reservation with the API's cost once the cell is back
    and records an error that would fail every cell, which stops the loop. Ctrl-C lands while
    `_next_finished` waits in short slices; `run` then cancels what is not yet sent (the cells in
    flight finish and are logged by their threads) and lets it through.
    """

    def __init__(self, run_job: Callable[[Job, bool, Wire], Outcome], budget: Budget,
                 concurrency: int, bar: Progress, *, log_jobs: Callable[[list[Job]], None],
                 markup: float | None = 1.0, log_path: Path | None = None) -> None:
        self.run_job = run_job
        self.log_jobs = log_jobs
        self.log_path = log_path  # named by the error when the log refuses a write
        self.unlogged: collections.deque[Job] = collections.deque()  # jobs of new cells, in queue order
        self.budget = budget
        # what the experiment had cost when the run began (cells in doubt held at their estimates):
        # a budget set below it, by a sweep file's budget_usd or a lower --budget, leaves no room
        self.spent_before = budget.spent + budget.reserved
        # a cell's reservation is its estimate times the most the API has charged above one: a
        # price raised since the description was written is reserved in full from then on. Until
        # the API has reported a cost (markup None), twice the estimate: the cells sent before the
        # first answer cannot overshoot the budget unless the price has more than doubled
        self.confirmed = markup is not None
        self.budget.markup = markup if markup is not None else UNCONFIRMED_MARKUP
        self.concurrency = concurrency
        # `concurrency` tasks on the wire at once (from just before a POST to the last image
        # downloaded), and as many more cells under way in threads of their own, whose images are
        # checked, written and logged while the next tasks are on the wire (or who wait their turn
        # with their cost reserved): the bookkeeping never holds a place on the wire
        self.wire = Wire(concurrency, stop_on=FATAL_ERRORS)
        self.workers = 2 * concurrency
        self.bar = bar
        self.queue: list[Job] = []
        self.inflight: dict[cf.Future[Outcome], Job] = {}
        self.finished: queue.SimpleQueue[cf.Future[Outcome]] = queue.SimpleQueue()  # futures as they finish
        self.failed = self.doubtful = self.unsettled = self.held_back = self.other_key = 0
        self.reason: str | None = None  # why the sweep stopped before its end
        self.refused = 0  # cells the log's budget check kept back: another run spent what was left
        self.fatal: BaseException | None = None  # the error that stopped it, raised to the caller
        self.unanswered = 0  # cells in a row the API did not answer (see OUTAGE_AFTER)
        self.outage_after = max(OUTAGE_AFTER, concurrency)

    def run(self, jobs: list[Job]) -> tuple[str, str | None, BaseException | None]:
        """Send `jobs` in order and wait for every one sent; return (status, reason, fatal error)."""
        self.queue = list(jobs)
        self.unlogged.extend(j for j in jobs if j.row is None)
        pool = cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qwenlab-run")
        try:
            while self.queue and self.fatal is None and not self.refused:
                if len(self.inflight) >= self.workers:
                    self._log_new_cells(LOG_CHUNK)  # while the cells in flight are on the wire
                    self._collect()
                    continue
                verdict = self._admit(self.queue[0])
                if verdict == "stop":
                    break
                if verdict == "wait":
                    self._log_new_cells(LOG_CHUNK)
                    self._collect()
                    continue
                if self.queue[0].row is None:
                    # the first cells are logged a few at a time, so that the first request goes at once
                    self._log_new_cells(self.workers)
                self._submit(pool, self.queue.pop(0))
            self._log_new_cells()  # a run stopped by its budget still lists every cell, 'pending'
            while self.inflight:
                self._collect()
        except BaseException:  # Ctrl-C (or a bug): send nothing more; what is in flight finishes and is logged
            self.wire.close()
            pool.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(Exception):  # the error that stopped the run is the one to raise
                self._log_new_cells()  # the cells not reached are listed 'pending', as after any stop
            raise
        pool.shutdown(wait=True)
        return self._result()

    def when_settled(self, then: Callable[[], Any]) -> None:
        """Call `then` once every cell in flight has finished (at once when none is), in the thread
        of the last to finish; an error it raises is not the cell's, and is dropped."""
        futures = list(self.inflight)
        left, lock = [len(futures)], threading.Lock()

        def one(_: object = None) -> None:
            with lock:
                left[0] -= 1
                last = left[0] <= 0
            if last:
                with contextlib.suppress(Exception):
                    then()

        if not futures:
            left[0] = 1
            one()
        for fut in futures:
            fut.add_done_callback(one)

    def _log_new_cells(self, most: int | None = None) -> None:
        """Log the next `most` new cells in queue order (default: all of them), as 'pending' rows."""
        if not self.unlogged:
            return
        count = len(self.unlogged) if most is None else min(most, len(self.unlogged))
        self.log_jobs([self.unlogged[i] for i in range(count)])
        for _ in range(count):  # only once they are logged: a run stopped meanwhile logs them again
            self.unlogged.popleft()

    def _admit(self, job: Job) -> Literal["send", "wait", "stop"]:
        """May `job` go now? "send" once its estimate is reserved (or it is a recovery), "wait" for
        a cell in flight to settle first, "stop" when the budget cannot hold it."""
        if job.refetch:  # a getResponse for images paid for: free
            return "send"
        if job.recover:
            # held since the run began, at its estimate: asked about, and sent again only under its
            # own taskUUID (which cannot pay twice), it needs no more
            job.reserved = float(job.row["estimated_cost_usd"] or 0.0) if job.row else 0.0
            return "send"
        need = job.cell.estimated_cost * self.budget.markup
        if self.budget.reserve(need):
            job.reserved = need
            return "send"
        if job.paid:
            # its images were paid for: asking the server for them is free, whatever the budget
            # (with nothing reserved it is not bought again)
            job.reserved = 0.0
            return "send"
        if self.inflight:
            # in-flight cells may cost less than reserved: wait for one before deciding
            return "wait"
        if not self.confirmed and self.budget.reserve(job.cell.estimated_cost):
            # alone on the wire, a cell whose price is not confirmed yet goes at its estimate: the
            # budget's last cell is not refused for want of twice its price
            job.reserved = job.cell.estimated_cost
            return "send"
        markup = self.budget.markup if self.confirmed else 1.0
        need = job.cell.estimated_cost * markup
        # a cell left in doubt this run counts at what was reserved for it (up to twice its estimate
        # until the API reports a price), where the summary counts its estimate: say so
        held = " (cells in doubt count at what was reserved for them)" if self.doubtful else ""
        self.reason = _budget_stop(self.budget, self.spent_before, need, held, self.queue, markup)
        return "stop"

    def _submit(self, pool: cf.ThreadPoolExecutor, job: Job) -> None:
        # may it send, or only ask the server about a recovery? only with its cost reserved (or no budget)
        may_send = job.reserved > 0 or self.budget.limit is None
        fut = pool.submit(self.run_job, job, may_send, self.wire)
        self.inflight[fut] = job
        fut.add_done_callback(self.finished.put)

    def _collect(self) -> None:
        """Wait until at least one cell in flight is back, and settle each one that is."""
        fut = _next_finished(self.finished)
        while True:
            self._settle(self.inflight.pop(fut), fut)
            try:
                fut = self.finished.get_nowait()
            except queue.Empty:
                return

    def _settle(self, job: Job, fut: cf.Future[Outcome]) -> None:
        """Settle a finished cell's reservation with what it cost; count it; note a fatal error."""
        try:
            out = fut.result()
        except BaseException as exc:  # the log refused a write, or a bug in the runner: stop, keep what is logged
            if isinstance(exc, sqlite3.OperationalError):
                exc = write_failure(exc, self.log_path)
            out = Outcome("failed", error=exc)
            self.fatal = self.fatal or exc
        self.budget.settle(job.reserved + job.earlier, out.cost + job.renewed_from)
        self._learn_price(job, out)
        if out.status == "refused":
            self.refused += 1
            self.reason = (f"budget: another run of this experiment spent part of its {format_usd(self.budget.limit)} meanwhile, "
                           f"and what is left does not cover the next cell; {count_of(len(self.queue) + self.refused, 'cell')} not sent by this run "
                           "(the other may have sent some). "
                           "Raise the budget (--budget for qwenlab run, budget_usd= in Python) and run again to send them")
        self.failed += out.status == "failed"
        self.doubtful += out.status == "uncertain"
        # in doubt for what the API said, not for want of an answer: it took the taskUUID and does
        # not know it, or it was still processing; running again may not settle these
        self.unsettled += out.status == "uncertain" and isinstance(out.error, TransportError) and out.error.answered
        if job.paid and out.status == "failed" and isinstance(out.error, BudgetExceededError):
            # charged, its images not to be had from the server, and the budget cannot buy it again
            self.reason = self.reason or (
                f"budget: a cell paid for whose images the server no longer gives needs {format_usd(job.cell.estimated_cost)} "
                f"to be bought again, and {format_usd(self.budget.remaining or 0.0)} of {format_usd(self.budget.limit)} is left; "
                "not sent. Raise the budget (--budget for qwenlab run, budget_usd= in Python) and run again to send it")
        else:
            self.held_back += isinstance(out.error, BudgetExceededError)  # in doubt, not resent for want of budget
        self.other_key += isinstance(out.error, SentWithAnotherKeyError)  # in doubt, sent with another account's key
        if isinstance(out.error, FATAL_ERRORS) and self.fatal is None:
            self.fatal = out.error
            self.reason = f"stopped: {type(out.error).__name__}: {out.error}"
            self.wire.close()  # found off the wire too (a refetch that could not write): nothing more goes
        if not job.refetch:  # a done cell's lost image, asked for again: the cell stays done whatever the answer
            self._watch_for_outage(out)
        self.bar.advance(self.budget.spent, self.failed)

    def _watch_for_outage(self, out: Outcome) -> None:
        """Stop the run once `outage_after` cells in a row got no answer from the API (or only
        5xx, through every retry): each cell left would spend minutes retrying a server that is
        down. A cell the API answered, done or refused, starts the count again."""
        if out.status in ("unsent", "refused"):
            return
        if not isinstance(out.error, TransportError) or out.error.answered:
            # answered: done, refused, or in doubt for what the API said (it took the task and
            # does not know it; still processing): slow or strange, not down
            self.unanswered = 0
            return
        self.unanswered += 1
        if self.unanswered < self.outage_after or self.fatal is not None:
            return
        self.fatal = out.error
        self.reason = (f"stopped: {self.unanswered} cells in a row got no answer from the API (or only 5xx, after every "
                       f"retry): it looks down or unreachable. Last: {redact(what_happened(out.error))}. Cells sent are in doubt and asked about "
                       "at the next run, before anything is sent again; run again once the API answers")
        self.wire.close()  # the cells waiting for the wire are not sent

    def _learn_price(self, job: Job, out: Outcome) -> None:
        """The first cost the API reports sets what every later cell reserves (its estimate times
        what was charged over it, at least 1x); a cell charged above that raises it. Said when
        the API charges more than the estimate."""
        estimate = job.cell.estimated_cost
        if out.status != "done" or not out.reported or estimate <= 0:
            return
        ratio = out.cost / estimate
        if not self.confirmed:
            self.confirmed, self.budget.markup = True, max(1.0, ratio)
        elif ratio > self.budget.markup * (1 + 1e-6):
            self.budget.markup = ratio
        else:
            return
        if ratio > 1 + 1e-6:
            self.bar.write(f"the API charged {format_usd(out.cost)} for a cell estimated at {format_usd(estimate)} (the model description's "
                           f"price): the budget now reserves {self.budget.markup:.2f}x each cell's estimate")

    def _result(self) -> tuple[str, str | None, BaseException | None]:
        """The experiment's status and stop reason after the loop, and the error to raise."""
        if self.fatal is not None:
            return "failed", self.reason or f"stopped: {type(self.fatal).__name__}: {self.fatal}", self.fatal
        if self.reason:  # only the budget stops the loop without a fatal error: say so, it is no interruption
            return "budget", self.reason, None
        left = [f"{count_of(self.failed, 'cell')} failed" if self.failed else "",
                f"{count_of(self.doubtful, 'cell')} in doubt (sent, no result logged)" if self.doubtful else ""]
        left = [x for x in left if x]
        reason = f"{' and '.join(left)}; run again to retry {'it' if self.failed + self.doubtful == 1 else 'them'}" if left else None
        if self.held_back:
            reason += (f". {count_of(self.held_back, 'cell')} in doubt not sent anew (resend_in_doubt): the budget cannot hold a new "
                       "attempt beside one that may have been paid for; raise the budget (--budget for qwenlab run, budget_usd= in "
                       "Python) to send them")
        if self.other_key:
            reason += ". " + another_key_note(self.other_key, asked=True)
        if self.unsettled:
            reason += (f". {self.unsettled} of those in doubt were answered but not settled: the server took them and "
                       "does not know them, or they were still processing. If they stay in doubt, run with "
                       "resend_in_doubt=True (--resend-in-doubt) to send anew those it no longer knows: they may be "
                       "paid for twice")
        return "done", reason, None



def what_happened(exc: BaseException) -> str:
    """An error as a run's log and summary say it: what happened, without the advice the client
    gives its own callers ("call client.recover(request) later"), which a run follows itself."""
    return str(getattr(exc, "reason", None) or exc)


def _budget_stop(budget: Budget, spent_before: float, need: float, held: str, queue: list[Job], markup: float) -> str:
    """Why a run stopped at its budget, and the budget that would send the cells not sent: what
    the experiment has cost (cells in flight at what they hold), plus their estimates at the
    price the API has been charging (`markup`).

    A budget counts all the experiment has cost, what it spent before the budget was set too: one
    set below that (a sweep file's budget_usd given to an experiment that had none) stops the run
    before its first cell, which "$0.000 of $0.10 is left" did not explain."""
    limit = budget.limit or 0.0
    unsent = count_of(len(queue), "cell")
    # cells in doubt (held already) and paid cells asked for again (free) need no more room
    enough = budget.spent + budget.reserved + sum(j.cell.estimated_cost * markup for j in queue
                                                  if not (j.recover or j.refetch or j.paid))
    # --budget named: a sweep file's budget_usd, raised, was kept out by the budget the experiment
    # has (`qwenlab run` keeps it unless --budget says otherwise), and the run stopped again
    fix = (f"Raise the budget to about {format_usd(enough)} (--budget {usd_option(enough, up=True)} for qwenlab run, "
           f"budget_usd= in Python) and run again to send {'them' if len(queue) > 1 else 'it'}")
    if spent_before > limit + 1e-9:
        return (f"budget: {format_usd(limit)} is below the {format_usd(spent_before)} the experiment had cost before this "
                f"run (a budget counts all it has cost, what it spent before the budget was set too); {unsent} not sent. {fix}")
    left = budget.remaining or 0.0
    return f"budget: the next cell needs {format_usd(need)} and {format_usd(left)} of {format_usd(limit)} is left{held}; {unsent} not sent. {fix}"


def _next_finished(finished: "queue.SimpleQueue[cf.Future[Outcome]]") -> cf.Future[Outcome]:
    """The next cell's future to finish, waited for in short slices so Ctrl-C reaches the main
    thread at once. (Futures report to a queue as they finish: `concurrent.futures.wait` over
    every cell in flight, at each one back, was a fifth of the main thread's CPU in a sweep.)"""
    while True:
        try:
            return finished.get(timeout=0.2)
        except queue.Empty:
            continue
