"""The runner: run sweeps concurrently within a budget, log everything, resume by name.

`qwenlab.Lab` is this runner with the notebook views on top; use it:

    lab = Lab()                                  # data in the project's data/ (qwenlab.paths.data_dir())
    exp = lab.run(sweep, name="lumiere-extend", budget_usd=1.00, concurrency=4)
    exp.df                                       # one row per cell: axes, seed, cost, image path
    lab.experiments()                            # every experiment in the log

What the runner promises:
- Nothing is sent before every cell is valid (`Sweep.cells()` raises one ValidationError).
- The budget (USD, for the experiment as a whole, earlier runs included) is never exceeded: each
  cell's estimate is reserved before it is sent and settled with the API's cost after.
- A task row is written ('pending') before its request exists on the wire, marked 'sent' before
  it waits for its turn on the wire (back to 'pending' if the run stops before its turn), and
  completed after the answer. A rerun under the same name sends only the
  cells not done; a task left 'sent' by a crash is first recovered with getResponse under its
  own taskUUID, and sent again (same taskUUID) only if the server never saw it: nothing is paid
  twice.
- A failed cell is logged with its error and the sweep goes on; an error that would fail every
  cell the same way (bad key, no credit, no permission, an undeclared parameter) stops it at once.
- Every task records where it was sent (backend "emulator" or "runware", the API host, qwenlab's
  version), and so does the experiment. An experiment with cells done (or in doubt) on the other
  backend is not resumed: `run` raises BackendMismatchError before anything is written or sent,
  naming the fix (a new name keeps them apart; `mix_backends=True` keeps the done cells and sends
  the others here, and the experiment is shown as MIXED).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import json
import os
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal

from ..api.client import check_connection, connect, connect_backend
from ..api.wire import Wire, WireClosed
from ..core.request import Request, new_task_uuid
from ..errors import (
    AuthenticationError,
    BackendMismatchError,
    BudgetExceededError,
    ExperimentConflictError,
    ImageError,
    ImageStoreError,
    InsufficientCreditsError,
    PermissionDeniedError,
    Problem,
    QwenlabError,
    StoreUnwritableError,
    TaskFailedError,
    TransportError,
    UnsupportedParameterError,
    ValidationError,
    as_secret,
    holds_secret,
    redact,
    register_secret,
)
from ..paths import data_dir as default_data_dir
from ..paths import make_data_dir
from ..progress import Progress
from ..store.bundle import origin_of
from ..store.experiment import ExperimentRecord
from ..store.log import Log, to_json, write_failure
from ..store.provenance import EMULATOR, RUNWARE
from ..version import __version__
from .budget import Budget, check_run_settings
from .cell import match_logged
from .changes import changed_sweep_error
from .preview import Preview
from .sweep import Cell, Sweep

if TYPE_CHECKING:
    import pandas as pd

    from ..api.client import RunwareClient
    from ..api.results import TaskResult

__all__ = ["Runner", "FATAL_ERRORS"]

# New cells are logged this many at a time while the cells before them are on the wire: each
# batch keeps the interpreter from the threads on the wire for about 2 ms.
LOG_CHUNK = 32

# Errors that would fail every remaining cell the same way: stop the sweep at once.
FATAL_ERRORS: tuple[type[QwenlabError], ...] = (
    AuthenticationError, InsufficientCreditsError, PermissionDeniedError, UnsupportedParameterError,
    StoreUnwritableError)  # a full or read-only disk: every image after it would be paid for and not kept


@dataclass
class _Job:
    cell: Cell
    row: dict[str, Any] | None  # None: a new cell, logged as 'pending' before it is sent (`Runner._log_cells`)
    recover: bool  # the row was left 'sent': ask the server before sending anything
    reserved: float = 0.0
    # resend_in_doubt: what is reserved for the new attempt of a cell in doubt given up, and the
    # estimate of the attempt given up, which stays in the spend (it may have been paid)
    earlier: float = 0.0
    renewed_from: float = 0.0
    # a done cell that lost paid images (numberResults > 1, a download failed): they are asked
    # for with getResponse (free), nothing is sent
    refetch: bool = False


# what a cell reserves of the budget, times its estimate, until the API has reported a cost
UNCONFIRMED_MARKUP = 2.0

# The API looks down when this many cells in a row (at least; `concurrency` when larger, as that
# many go out together) got no answer or only 5xx through every retry, none answered between:
# the run stops there, rather than spend minutes of retries on each of the cells left. Those
# sent stay in doubt, asked about at the next run; those not sent stay 'pending'.
OUTAGE_AFTER = 3

# What a cell in doubt's logged error ends with: the run, not the user, asks the server about it
IN_DOUBT_ADVICE = ("in doubt (it may have been paid for): the next run asks the server for its result "
                   "before it sends the cell again")


@dataclass
class _Outcome:
    status: str  # 'done' | 'failed' | 'uncertain' | 'unsent' | 'refused' (not sent: the budget, as the log has it)
    cost: float = 0.0
    error: BaseException | None = None
    reported: bool = False  # `cost` is the API's own figure, not the estimate


class Runner:
    """Where experiments run and are kept: a data folder (log + images) and a client.

    data_dir: default `qwenlab.paths.data_dir()` (`$QWENLAB_DATA_DIR`, else the project's `data/`, found
    from the current folder up, else the user's data folder). client: default `qwenlab.api.client.connect()`
    (the real API with RUNWARE_API_KEY, else the offline emulator), made on first need, saving
    images under `<data_dir>/images`; a zero-argument callable is called on first need instead
    (so a run with nothing to send connects to nothing). log: default `<data_dir>/qwenlab.db`.
    """

    def __init__(self, data_dir: str | Path | None = None, *, client: "RunwareClient | Callable[[], RunwareClient] | None" = None,
                 log: Log | None = None, api_key: str | None = None, base_url: str | None = None) -> None:
        if data_dir is None:
            data_dir = default_data_dir()
        self.data_dir = Path(data_dir)
        make_data_dir(self.data_dir, "data_dir")
        self._root = self.data_dir.resolve()  # resolved once: each saved image's path is made relative to it
        self.log = log if log is not None else Log(self.data_dir / "qwenlab.db")
        self._client = client
        api_key = as_secret(api_key)
        self._connect_args = {"api_key": api_key, "base_url": base_url}
        self._client_lock = threading.Lock()
        self._uploads: dict[str, str] = {}
        self._sending_to: dict[str, Any] = {}  # this run's provenance, written on each task as it is sent
        self._provenance_lock = threading.Lock()
        self._backend_unsure = False  # this run began before any server answered (`_answered_by`)
        self._limit: float | None = None  # this run's budget, checked in the log too (`_run_job`)
        self._resend_in_doubt = False  # this run's resend_in_doubt (`_run_job`)
        self.last_refetched = 0  # done cells whose lost paid images the last run asked for (free)
        self._budget = Budget(None)  # this run's budget (`_run_job` reserves what a resend in doubt adds)
        self.last_to_send: int | None = None  # cells the last run had to send or recover (0: all were done)

    # what `experiment()` and `run()` return; `qwenlab.Lab` puts the notebook facade here
    experiment_class: type[ExperimentRecord] = ExperimentRecord

    def __repr__(self) -> str:
        n = len(self.log.experiment_names())
        return f"{type(self).__name__}({str(self.data_dir)!r}, {n} experiment{'' if n == 1 else 's'})"

    @property
    def client(self) -> "RunwareClient":
        """The client, connected on first use."""
        with self._client_lock:
            if self._client is None:
                self._client = connect(**self._connect_args, images_dir=self.data_dir / "images")
            elif not hasattr(self._client, "generate") and callable(self._client):
                self._client = self._client()
            return self._client

    def close(self) -> None:
        self.log.close()

    # -- reading --------------------------------------------------------------------------------
    def experiments(self) -> "pd.DataFrame":
        """Every experiment: status, cells by status, images, cost."""
        return self.log.experiments_frame()

    def experiment(self, name: str) -> ExperimentRecord:
        """An experiment by name (raises ExperimentNotFoundError naming the known ones)."""
        return self.experiment_class(self.log, name, self.data_dir)

    def plan(self, sweep: Sweep, name: str | None = None, *, quiet: bool = False) -> "pd.DataFrame":
        """`sweep.plan()` with a `logged` column: what the log already holds for each cell
        under `name` (done cells will not be sent again)."""
        df = sweep.plan(quiet=quiet)
        exp = self.log.experiment(name or sweep.default_name())
        logged = match_logged(sweep.cells(), self.log.tasks(exp["id"])) if exp else {}
        df["logged"] = [logged[k]["status"] if k in logged else "new" for k in df["key"]]
        return df

    def preview(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None,
                quiet: bool = True) -> Preview:
        """What `run(sweep, name, budget_usd=...)` would send now and how far its budget reaches
        (`Preview.to_send`, `.estimated_usd`, `.budget_text()`), read from the log; writes nothing."""
        name = name or sweep.default_name()
        df = self.plan(sweep, name, quiet=quiet)
        exp = self.log.experiment(name)
        if exp is None:
            return Preview(name, df, budget_usd)
        # cells in doubt are counted in what the experiment spent and recovered first, as `run` does
        in_doubt = float(df.loc[df["logged"] == "sent", "est_cost_usd"].sum())
        limit = budget_usd if budget_usd is not None else exp["budget_usd"]
        return Preview(name, df, limit, self.log.spent(int(exp["id"])) - in_doubt)

    def check(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None, concurrency: int = 4,
              extend: bool = False, mix_backends: bool = False, notes: str | None = None) -> str:
        """Every check `run` makes before it writes or sends anything, with the same arguments:
        the run's settings, every cell, a sweep changed under an existing name, the backend of the
        cells done. Raises what `run` would raise; reads only. Returns the experiment's name. A dry
        run calls it, so that what it approves the run does not refuse."""
        # before anything is written: a bad budget kept in the log would break later runs
        check_run_settings(budget_usd=budget_usd, concurrency=concurrency, name=name)
        cells = sweep.cells()  # raises ValidationError with every problem: nothing sent
        if self._client is None:  # what would fail every cell: refused before the experiment is made
            check_connection(self._connect_args.get("api_key"), self._connect_args.get("base_url"))
        name = name or sweep.default_name()
        self._refuse_secrets(sweep, name, notes)
        self._refuse_imported(name, cells)
        self._refuse_changed_sweep(name, sweep, extend)
        self._check_backend(name, mix_backends)
        return name

    def _refuse_secrets(self, sweep: Sweep, name: str, notes: str | None) -> None:
        refuse_secrets_in(sweep, name, notes, api_key=self._connect_args.get("api_key"))

    def _refuse_imported(self, name: str, cells: list[Cell]) -> None:
        """Refuse to send any cell of an experiment imported from a bundle: it was run in another
        log, from another API account. Its cells not sent carry that run's taskUUIDs (a server
        that saw them would hand this run the sender's results, booked as paid here), its cells
        in doubt can be asked about only where they were sent, and what a run spent here, on
        those or on cells a changed sweep adds (extend=True), would be counted as spent
        elsewhere. Reads only; ExperimentConflictError naming the fix."""
        existing = self.log.experiment(name)
        if existing is None or not existing.get("imported_from"):
            return
        matched = match_logged(cells, self.log.tasks(int(existing["id"])))
        new = sum(1 for c in cells if c.key not in matched)
        left = sum(1 for c in cells if c.key in matched and matched[c.key]["status"] != "done")
        if not new and not left:
            return  # every cell of this sweep done there: the run sends nothing
        bundle = origin_of(existing).get("bundle") or "a bundle"
        what = [f"{left} of its cells are not done" if left else "",
                (f"{new} cells of this sweep are not in it" if new > 1 else "a cell of this sweep is not in it") if new else ""]
        raise ExperimentConflictError(
            f"name: experiment {name!r} was imported from {bundle}, run in another log from another account, and "
            f"{' and '.join(w for w in what if w)}; nothing of it is sent from here (its taskUUIDs and anything in "
            "doubt belong to that run, and what a run spent here would be booked as spent there). Run the sweep here "
            "under a new name (`qwenlab run FILE --name NEW`, lab.run(sweep, name=NEW)), or import a later bundle of it "
            "once it is finished where it runs.")

    # -- running --------------------------------------------------------------------------------
    def run(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None, concurrency: int = 4,
            progress: bool = True, extend: bool = False, notes: str | None = None,
            mix_backends: bool = False, confirm: Callable[[Preview], Any] | None = None,
            resend_in_doubt: bool = False) -> ExperimentRecord:
        """Run every cell of `sweep` not yet done under experiment `name`; return the Experiment.

        budget_usd: the most the experiment may cost in all (kept from the previous run when
        None). concurrency: requests in flight at once (Runware advises 2-4). extend=True lets a
        changed sweep reuse an existing name (its new cells are added). Raises the error that
        stopped the sweep when it is one that would fail every cell (see FATAL_ERRORS), or the
        TransportError of the cells that found the API down (see OUTAGE_AFTER).
        mix_backends=True lets an experiment whose cells ran on the other backend (the emulator,
        while this client talks to Runware, or the reverse) go on: its done cells are kept as they
        are and the others are sent here; it is then shown as MIXED. Without it such a run raises
        BackendMismatchError and sends nothing (run it under a new name to keep them apart).
        confirm: called with the run's `Preview` when it has cells to send, after every check and
        before anything is written or sent; it raises to stop the run (`qwenlab run` asks there).
        resend_in_doubt: a cell in doubt (sent, its result never logged) is first asked about with
        getResponse, and by default sent again only under its own taskUUID, which cannot pay
        twice. One the server took and no longer knows (its results expired, or it failed on
        the server) then stays in doubt run after run; with True, each in-doubt cell the server
        does not know is sent anew under a new taskUUID: it may be paid for twice (the earlier
        attempt stays in the cost history, counted as in doubt).
        """
        name = self.check(sweep, name, budget_usd=budget_usd, concurrency=concurrency, extend=extend,
                          mix_backends=mix_backends, notes=notes)
        cells = sweep.cells()
        if confirm is not None:
            preview = self.preview(sweep, name, budget_usd=budget_usd)
            if len(preview.to_send):
                confirm(preview)
        exp = self._experiment_row(sweep, name, budget_usd, extend, notes)
        exp_id = int(exp["id"])
        limit = budget_usd if budget_usd is not None else exp["budget_usd"]
        self._note_logged_cells(exp_id, cells)
        rows = {r["cell_key"]: r for r in self.log.tasks(exp_id)}
        jobs = [_Job(c, rows.get(c.key), c.key in rows and rows[c.key]["status"] == "sent")
                for c in cells if c.key not in rows or rows[c.key]["status"] != "done"]
        self.last_to_send = len(jobs)
        refetch = self._lost_images(exp_id, cells, rows)
        self.last_refetched = len(refetch)
        jobs += refetch
        if not jobs:
            self.log.update_experiment(exp_id, status="done", stop_reason=None)
            return self.experiment(name)
        jobs.sort(key=lambda j: (not (j.recover or j.refetch), j.cell.index))  # recover what may be paid for first
        in_doubt = sum(j.row["estimated_cost_usd"] or 0.0 for j in jobs if j.recover)
        # the cells in doubt are held at their estimates until each settles (recovered, sent under
        # its own taskUUID, failed, or given up for a new attempt): their room is never a new cell's
        budget = Budget(limit, self.log.spent(exp_id) - in_doubt)
        budget.hold(in_doubt)
        self._limit = limit
        self._budget = budget
        self._resend_in_doubt = resend_in_doubt
        self.client.store.check_writable()  # before anything is sent: no paid image may find it read-only
        self._sending_to = self._record_backend(exp_id)
        self._backend_unsure = bool(self._sending_to) and "backend" not in self._sending_to
        bar = Progress(len(jobs), desc=name, budget_usd=limit, enabled=progress)
        for note in sweep.notes():
            bar.write(note)
        dispatch = _Dispatch(self._run_job, exp_id, budget, concurrency, bar,
                             log_jobs=lambda js: self._log_cells(exp_id, js), markup=self._price_markup(exp_id),
                             log_path=self.log.path)
        try:  # from 'running' on, a Ctrl-C leaves the experiment 'interrupted', never 'running'
            self.log.update_experiment(exp_id, status="running", stop_reason=None)
            status, reason, fatal = dispatch.run(jobs)
        except KeyboardInterrupt:
            self.log.update_experiment(exp_id, status="interrupted", stop_reason=(
                "interrupted (Ctrl-C); requests in flight finish and are logged; run again to finish the rest"))
            # the requests in flight still finish: if they were all that was left, the experiment is
            # done, and says so rather than "interrupted" with nothing left to run
            dispatch.when_settled(lambda: self.log.settle_interrupted(exp_id, len(cells)))
            raise
        except Exception as exc:
            # a write the log refused (a full disk, a lock held past the busy timeout) or a bug:
            # what is logged stays, and the experiment is not left 'running' if the log still
            # takes one write (a run left 'running' refuses rename and delete)
            stopped = write_failure(exc, self.log.path) if isinstance(exc, sqlite3.OperationalError) else exc
            with contextlib.suppress(Exception):
                self.log.update_experiment(exp_id, status="interrupted", stop_reason=redact(
                    f"stopped: {type(stopped).__name__}: {stopped}"))
            # as after Ctrl-C: the cells in flight finish, and if they were all that was left it is done
            dispatch.when_settled(lambda: self.log.settle_interrupted(exp_id, len(cells)))
            if stopped is exc:
                raise
            raise stopped from exc
        finally:
            bar.close()
        if status == "done" and reason and not self.log.rows(
                "SELECT 1 FROM tasks WHERE experiment_id = ? AND status != 'done' LIMIT 1", [exp_id]):
            # the cells this run left failed or in doubt were done meanwhile by another run of the
            # experiment (another notebook on the same log): nothing is left to run again
            reason = None
        try:
            self.log.update_experiment(exp_id, status=status, stop_reason=reason)
        except sqlite3.OperationalError as exc:
            raise write_failure(exc, self.log.path) from (fatal or exc)
        if reason:
            bar.write(f"{name}: {reason}")
        experiment = self.experiment(name)
        if fatal is not None:
            fatal.experiment = experiment
            if isinstance(fatal, TransportError) and fatal.advice:
                # the run follows the client's advice itself ("call client.recover(request)"): say what it does
                fatal.args = (f"{fatal.reason}; {IN_DOUBT_ADVICE}",)
            raise fatal
        return experiment

    def _experiment_row(self, sweep: Sweep, name: str, budget_usd: float | None, extend: bool, notes: str | None) -> dict[str, Any]:
        fingerprint = sweep.fingerprint()
        fields = {"model": sweep.base.model_id, "sweep_json": to_json(sweep.to_dict()), "sweep_hash": fingerprint,
                  "axes_json": to_json(sweep.axes_labels()), "budget_usd": budget_usd, "notes": notes}
        existing = self.log.experiment(name)
        if existing is None:
            return self.log.ensure_experiment(name, **fields)
        changes: dict[str, Any] = {}
        if existing["sweep_hash"] and existing["sweep_hash"] != fingerprint:  # extended (else refused before)
            changes.update(fields)
        if budget_usd is not None:
            changes["budget_usd"] = budget_usd
        if notes is not None:
            changes["notes"] = notes
        if changes:
            # None means "not given": keep what the experiment has (an extended sweep keeps its
            # budget unless a new one is given, or it would spend past the one it was run under)
            changes = {k: v for k, v in changes.items() if v is not None}
            self.log.update_experiment(int(existing["id"]), **changes)
        return self.log.experiment(name) or existing

    def _refuse_changed_sweep(self, name: str, sweep: Sweep, extend: bool) -> None:
        """A sweep changed under an existing name is refused unless extended; reads only."""
        existing = self.log.experiment(name)
        if existing and existing["sweep_hash"] and existing["sweep_hash"] != sweep.fingerprint() and not extend:
            # the message says what changed, old -> new, and the fix (sweeps/changes.py)
            raise changed_sweep_error(existing, sweep, self.log.tasks(int(existing["id"])), self.log.experiment_names())

    # -- where it runs ----------------------------------------------------------------------------
    def _client_backend(self, *, said: bool = False) -> tuple[str | None, str | None]:
        """What the client talks to ("emulator" or "runware") and its API host, connecting if need
        be; (None, None) for a client that cannot say, or one that cannot be made (the first cell
        then meets that error, as it always did). said=True: only what a server has said, for
        what a run records (the emulator's own key implies the emulator, but a run that reached
        nothing is not labelled as run anywhere)."""
        try:
            client = self.client
        except QwenlabError:
            return None, None
        # not a guess by address: a server's word, or (for checks) what the emulator's own key implies
        # (each looked up only if the one before is missing: reading known_backend may ask the server)
        for attribute in (("known_backend",) if said else ("expected_backend", "known_backend")) + ("backend",):
            if hasattr(type(client), attribute) or attribute in getattr(client, "__dict__", {}):
                return getattr(client, attribute), getattr(client, "api_host", None)
        return None, getattr(client, "api_host", None)

    def _check_backend(self, name: str, mix_backends: bool) -> None:
        """Refuse to resume experiment `name` when cells of it were done, charged or are in doubt
        on another backend than the client's (or, for Runware, where it was not recorded: they may
        be synthetic). Raises BackendMismatchError naming the fix; reads only."""
        existing = self.log.experiment(name)
        if existing is None:
            return
        rows = self.log.rows(
            "SELECT t.backend, sum(t.status = 'sent') AS in_doubt, sum(t.status != 'sent') AS done, "
            "group_concat(DISTINCT t.api_host) AS hosts "
            "FROM tasks t WHERE t.experiment_id = ? AND (t.status IN ('done', 'sent') OR t.cost_usd > 0) "
            "GROUP BY t.backend", [existing["id"]])
        if not rows:
            return
        now = connect_backend(self._connect_args["api_key"]) if self._client is None else None
        host = None
        if now is None:
            now, host = self._client_backend()
        if now not in (EMULATOR, RUNWARE):
            return
        other = [r for r in rows if r["backend"] != now and (r["backend"] is not None or now == RUNWARE)]
        in_doubt = sum(int(r["in_doubt"] or 0) for r in other)
        if other and (not mix_backends or in_doubt):
            raise BackendMismatchError(_mismatch(name, other, now, host, mix_backends))

    def _record_backend(self, exp_id: int) -> dict[str, Any]:
        """Where this run sends its cells, written on the experiment now (backend "mixed" once
        cells went to both) and on each task as it is sent; {} for a client that cannot say."""
        backend, host = self._client_backend(said=True)
        if backend is None:  # no server answered yet: the tasks it answers get it (`_answered_by`)
            if host is not None:
                self.log.update_experiment(exp_id, api_host=host)
            return {"api_host": host, "qwenlab_version": __version__} if host is not None else {}
        before = {r["backend"] for r in self.log.rows(
            "SELECT DISTINCT backend FROM tasks WHERE experiment_id = ? AND status != 'pending' AND backend IS NOT NULL",
            [exp_id])}
        row = self.log.experiment_by_id(exp_id) or {}
        mixed = row.get("backend") == "mixed" or bool(before - {backend})
        self.log.update_experiment(exp_id, backend="mixed" if mixed else backend, api_host=host)
        return {"backend": backend, "api_host": host, "qwenlab_version": __version__}

    def _note_logged_cells(self, exp_id: int, cells: list[Cell]) -> None:
        """Give the cells the experiment holds already their keys and values in this sweep. A cell
        it holds (`match_logged`: the same request, or, in an extended sweep, the same output) is
        never paid for again: its row takes the cell's key and its values in this sweep (a size axis
        added later names the size the row was sent with, instead of leaving it blank). The others
        are logged by `_log_cells` as the dispatch reaches them."""
        matched = match_logged(cells, self.log.tasks(exp_id))
        for c in cells:
            row = matched.get(c.key)
            if row is None:
                continue
            # merged, not replaced: an axis the sweep no longer has keeps the value the row was sent with
            values = to_json({**json.loads(row["cell_json"] or "{}"), **c.cell_json()})
            if row["cell_key"] != c.key or row["cell_json"] != values:
                self.log.note_task(int(row["id"]), cell_key=c.key, cell_json=values)

    def _lost_images(self, exp_id: int, cells: list[Cell], rows: dict[str, dict[str, Any]]) -> list[_Job]:
        """Jobs for the done cells that lost paid images: logged 'done' (the server made their
        images: paid for, cost reported or not) with fewer images than they asked for, and an
        image that could not be downloaded or written (ImageError, ImageStoreError); or with an
        image whose file is gone from the store since (`_missing_files`). Only those that ran
        where this client sends, and not an imported experiment's: the same taskUUID means
        nothing elsewhere."""
        exp = self.log.experiment_by_id(exp_id) or {}
        if exp.get("imported_from"):
            return []  # its taskUUIDs are another account's: nothing of it is asked from here
        # done: the server made its images, so they were paid for, reported cost or not
        lost = {r["id"] for r in self.log.rows(
            "SELECT t.id FROM tasks t WHERE t.experiment_id = ? AND t.status = 'done' "
            "AND t.error_code IN ('ImageError', 'ImageStoreError', 'StoreUnwritableError') "
            "AND (SELECT count(*) FROM images i WHERE i.task_id = t.id) < coalesce(t.number_results, 1)", [exp_id])}
        lost |= self._missing_files(exp_id)
        if not lost:
            return []
        backend = self._client_backend(said=True)[0]
        return [_Job(c, rows[c.key], False, refetch=True) for c in cells
                if c.key in rows and rows[c.key]["id"] in lost and backend is not None and rows[c.key].get("backend") == backend]

    def _missing_files(self, exp_id: int, task_ids: list[int] | None = None) -> set[int]:
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
        for r in self.log.rows(sql, params):
            if not r["path"]:
                continue
            try:
                size = os.stat(self._root / r["path"]).st_size  # an absolute path stays itself
            except (FileNotFoundError, NotADirectoryError):  # gone, or a file where its folder was
                size = None
            except OSError:  # unreadable for now (a share away, no permission): not known to be lost
                continue
            if size is None or (r["bytes"] is not None and size != r["bytes"]):
                out.add(int(r["task_id"]))
        return out

    def _log_cells(self, exp_id: int, jobs: list[_Job]) -> None:
        """Log the new cells of `jobs` as 'pending' tasks (each with its own taskUUID) and give each
        job its row. A row another process logged meanwhile for the same cell is kept, and used."""
        rows = []
        for c in (j.cell for j in jobs):
            req = c.request_with({}, task_uuid=new_task_uuid())
            rows.append({
                "task_uuid": req.task_uuid, "experiment_id": exp_id, "cell_key": c.key, "cell_json": to_json(c.cell_json()),
                "repeat": c.repeat, "request_json": redact(req.to_json()), "output_hash": req.output_hash(),
                "model": req.model_id, "prompt": req.prompt, "negative_prompt": req.negative_prompt,
                "prompt_extend": None if req.prompt_extend is None else int(bool(req.prompt_extend)),
                "width": req.size[0], "height": req.size[1], "number_results": req.number_results,
                "seed_policy": c.seed_policy, "seed": c.seed, "estimated_cost_usd": c.estimated_cost, "price_usd": c.price,
            })
        self.log.add_tasks(rows)
        logged = self.log.tasks_by_cell(exp_id, [j.cell.key for j in jobs])
        for job in jobs:
            job.row = logged[job.cell.key]

    # -- one cell -------------------------------------------------------------------------------
    def _run_job(self, exp_id: int, job: _Job, may_send: bool, wire: Wire) -> _Outcome:
        row, cell = job.row, job.cell
        task_id = int(row["id"])
        if job.refetch:
            return self._refetch(exp_id, task_id, job, row, wire)
        if job.recover:
            if row.get("backend") is None and self._sending_to:  # logged before provenance: it is asked here
                self.log.note_task(task_id, **self._sending_to)
            try:
                result = self._ask(row, wire)
            except WireClosed:  # the run stopped before it was asked: still in doubt, for the next run
                return _Outcome("uncertain", cost=job.reserved)
            except TaskFailedError as exc:  # the server knows the task, and it failed there
                return self._fail(task_id, exc, exp_id)
            except QwenlabError as exc:
                # the server could not be asked (no answer, 5xx, 429 through every retry, a key
                # refused): the task may still have been paid for, so it stays in doubt, asked
                # again by the next run; it is never failed, which would send it anew
                self.log.note_task(task_id, error_message=redact(f"recovery failed, will retry: {_what_happened(exc)}"))
                return _Outcome("uncertain", cost=job.reserved, error=exc)
            if result is not None:
                return self._complete(exp_id, task_id, job, result)
            if not may_send:  # never reached the server: safe to leave for a later run
                self.log.note_task(task_id, status="pending", sent_at=None)
                return _Outcome("unsent")
            if self._resend_in_doubt:
                # the user's call: the server does not know this taskUUID, though it may have taken
                # it; the cell goes anew under a new one (paid again if it was), the attempt kept.
                # That attempt stays in the spend (held since the run began): the new one needs
                # room of its own in the budget, or the cell stays in doubt
                new = cell.estimated_cost
                if not self._budget.reserve(new):
                    held = BudgetExceededError("not sent anew: the budget cannot hold a new attempt beside this one, "
                                               "which may have been paid for")
                    self.log.note_task(task_id, error_message=redact(f"{row.get('error_message') or 'in doubt'}; {held}"))
                    return _Outcome("uncertain", cost=job.reserved, error=held)
                job.earlier, job.renewed_from = new, float(row.get("estimated_cost_usd") or 0.0)
                row = self._renew(task_id, row)
                if row["status"] == "done":  # another process renewed it first, and finished it
                    return _Outcome("done")
        elif row["status"] == "failed":
            if row.get("cost_usd") and may_send:
                # charged, yet failed: its images were paid for and lost (a download that failed, an
                # image refused); the server may still hold them, so it is asked before it is bought again
                recovered = self._recover_paid(exp_id, task_id, job, row, wire)
                if recovered is not None:
                    return recovered
            row = self._renew(task_id, row)  # the failed taskUUID is spent on Runware's side
            if row["status"] == "done":  # another process renewed it first, and finished it
                return _Outcome("done")
        marked = False
        try:
            uploads = {ph: self._upload(img) for ph, img in cell.uploads.items()}
            req = cell.request_with(uploads, task_uuid=row["task_uuid"])
            if wire.closed:
                raise WireClosed("the run stopped before this cell was sent")
            # The row is marked 'sent' before the task waits for its place on the wire, not once it
            # has it: at concurrency 1 the write was a tenth of the time between two tasks' POSTs.
            # A crash meanwhile leaves it 'sent', which is safe: the next run asks the server first.
            within = (exp_id, self._limit, job.reserved) if self._limit is not None else None
            if self.log.mark_sent(task_id, redact(req.to_json()), **self._sending_to, within=within) is False:
                return _Outcome("refused")  # another run of this experiment spent what was left
            marked = True
            # The log minted this taskUUID and owns it (unique in the log), so a conflictTaskUUID can only
            # mean this very task was sent before: by a run that crashed (recovery above found nothing
            # yet) or by another process sharing the log right now. Its results are this cell's.
            result = self.client.generate(req, sent_before=True, wire=wire)
        except WireClosed:  # the run stopped (Ctrl-C, a fatal error) before this cell's turn: not sent
            if marked:
                self.log.unmark_sent(task_id)
            return _Outcome("unsent")
        except TransportError as exc:
            if exc.sent is False or not marked:
                # it never reached the server (or what failed came before it was sent: uploading
                # its reference images, which cost nothing): a plain failure, retried next run
                return self._fail(task_id, exc)
            # it may have been accepted (and paid): leave it 'sent' so the next run recovers it
            self.log.note_task(task_id, error_message=redact(f"{_what_happened(exc)}; {IN_DOUBT_ADVICE}"),
                               attempts=exc.attempts)
            return _Outcome("uncertain", cost=job.reserved, error=exc)
        except QwenlabError as exc:
            return self._fail(task_id, exc, exp_id)
        return self._complete(exp_id, task_id, job, result)

    def _price_markup(self, exp_id: int) -> float | None:
        """How far above its estimate the API has charged a cell of this experiment (1.0: never;
        None: no cost reported yet). The budget reserves each cell's estimate times this, so a
        price raised since the model's description was written cannot take a run past its budget."""
        row = self.log.rows("SELECT max(cost_usd / estimated_cost_usd) AS m FROM tasks WHERE experiment_id = ? "
                            "AND status = 'done' AND cost_usd IS NOT NULL AND estimated_cost_usd > 0", [exp_id])
        return None if row[0]["m"] is None else max(1.0, float(row[0]["m"]))

    def _upload(self, image: Any) -> str:
        if image.sha256 not in self._uploads:
            self._uploads[image.sha256] = self.client.upload_image(image.path)
        return self._uploads[image.sha256]

    def _fail(self, task_id: int, exc: QwenlabError, exp_id: int | None = None) -> _Outcome:
        answered = self._answered_by(exp_id) if exp_id is not None and not isinstance(exc, TransportError) else {}
        self.log.complete_task(task_id, {
            "status": "failed", "error_code": getattr(exc, "code", None) or type(exc).__name__,
            "error_message": redact(str(exc)), "http_status": getattr(exc, "status", None),
            "attempts": exc.attempts or 0, **answered})
        return _Outcome("failed", error=exc)

    def _answered_by(self, exp_id: int) -> dict[str, Any]:
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
                self._sending_to = self._record_backend(exp_id)
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

    def _recover_paid(self, exp_id: int, task_id: int, job: _Job, row: dict[str, Any], wire: Wire) -> _Outcome | None:
        """A failed cell that was charged: its images fetched with getResponse under its taskUUID
        (free), when the server still has them and they now download. None when the server says
        it does not have them (it does not know the task, the task failed there, or its images
        will not download): then the cell is sent anew. When the server could not be asked (the
        run stopped first, no answer, 429, 5xx), the row stays as it is, failed and paid, and the
        next run asks again: buying the cell twice is for when the server has said no."""
        try:
            result = self._ask(row, wire)
        except WireClosed:
            return _Outcome("unsent")
        except TaskFailedError:
            return None
        except QwenlabError as exc:
            return _Outcome("failed", error=exc)
        if result is not None and not result.good_images and any(getattr(e, "transient", False) for e in result.errors):
            # the server has them, but their host failed to serve them for now (5xx, no answer):
            # asked for again by the next run, not bought again on that alone
            return _Outcome("failed", error=_headline(result.errors))
        if result is None or not result.good_images:
            return None
        out = self._complete(exp_id, task_id, job, result)
        # paid before, and counted in the spend this run began from: nothing more to settle
        return _Outcome(out.status, cost=0.0, error=out.error)

    def _refetch(self, exp_id: int, task_id: int, job: _Job, row: dict[str, Any], wire: Wire) -> _Outcome:
        """A done cell's lost paid images, fetched with getResponse under its taskUUID (free) and
        added beside those it kept. When the server no longer knows the task, the row says so
        (error_code 'ImageLost') and is not asked about again; when it could not be asked, the
        next run asks again. Nothing is ever sent: the cell has images."""
        try:
            result = self._ask(row, wire)
        except WireClosed:
            return _Outcome("unsent")
        except QwenlabError as exc:
            return _Outcome("done", error=exc)
        if result is None:
            self.log.note_task(task_id, error_code="ImageLost", error_message=redact(
                f"{row.get('error_message') or 'an image was lost'}; getResponse no longer knows the task: "
                "the lost image cannot be fetched again"))
            return _Outcome("done")
        # only what came back is added: the row keeps its own attempts, latency, times and cost
        # (those of the request that made the images, not of this free getResponse)
        self.log.add_images(task_id, self._image_rows(exp_id, result))
        refused = [e for e in result.errors if isinstance(e, ImageError) and not getattr(e, "transient", False)]
        unsaved = next((e for e in result.errors if isinstance(e, ImageStoreError)), None)
        if unsaved is not None:
            # the disk, not the image: fetched again once it is fixed; a disk that refuses every
            # write stops the run at once, before the cells waiting for the wire are bought
            if isinstance(unsaved, FATAL_ERRORS):
                wire.close()
            self.log.note_task(task_id, error_code=type(unsaved).__name__, error_message=redact(str(unsaved)))
            return _Outcome("done", cost=0.0, error=unsaved)
        if refused and len(refused) == len(result.errors):
            # refused twice for what the bytes or their URL are (expired, not an image, over the
            # cap), not for a passing failure: asking at every run would only fetch it again
            self.log.note_task(task_id, error_code="ImageLost", error_message=redact(
                f"a paid image was lost, and refused again when fetched with getResponse: {refused[0]}; "
                "later runs do not ask for it"))
        elif not result.errors:  # the server's whole answer: asked again, it would give the same
            have, asked = len(self.log.images(exp_id, task_ids=[task_id])), int(row.get("number_results") or 1)
            if self._missing_files(exp_id, [task_id]):  # fetched whole, yet not the bytes logged
                self.log.note_task(task_id, error_code="ImageLost", error_message=(
                    "an image file is missing from the store, and getResponse gave other bytes than those logged: "
                    "the lost image cannot be fetched again"))
            elif have < asked:
                self.log.note_task(task_id, error_code="ImageLost", error_message=(
                    f"getResponse gave {have} of the {asked} paid images: the others cannot be fetched again"))
            else:
                self.log.note_task(task_id, error_code=None, error_message=None)  # every image is back
        return _Outcome("done", cost=0.0)  # paid before, and counted in the spend this run began from

    def _image_rows(self, exp_id: int, result: "TaskResult") -> list[dict[str, Any]]:
        """The log's rows of a result's good images."""
        return [{
            "image_uuid": img.image_uuid, "task_uuid": result.task_uuid, "experiment_id": exp_id, "seed": img.seed,
            "cost_usd": img.cost, "cost_source": "api" if img.cost is not None else "estimate",
            "nsfw": None if img.nsfw is None else int(img.nsfw), "path": self._relative(img.path), "sha256": img.sha256,
            "format": img.format, "width": img.width, "height": img.height, "bytes": img.nbytes,
            "url": redact(img.url) if img.url else None,  # an answer could carry the key in a URL
            "raw_json": to_json(img.raw_for_log()),  # with a format other than the one asked for noted
            "api_extra": to_json(img.api_extra) if img.api_extra else None,  # fields qwenlab does not model
        } for img in result.good_images]

    def _complete(self, exp_id: int, task_id: int, job: _Job, result: "TaskResult") -> _Outcome:
        good = result.good_images
        images = self._image_rows(exp_id, result)
        error = _headline(result.errors)
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
        self.log.complete_task(task_id, {**fields, **self._answered_by(exp_id)}, images)
        spent = cost if cost is not None else (job.cell.estimated_cost if good else 0.0)
        # a done cell's error is no one's concern, unless it must stop the run: one of its images
        # could not be written (a full disk), which the wire has already stopped sending for
        fatal = next((e for e in result.errors if isinstance(e, FATAL_ERRORS)), None)
        return _Outcome(status, cost=spent, error=fatal if good else error, reported=reported)

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


def _mismatch(name: str, other: list[dict[str, Any]], now: str, host: str | None, mix_backends: bool) -> str:
    """The refusal's message: what the experiment holds where, where this client goes, the fix."""
    where = {EMULATOR: "on qwenlab's offline emulator (synthetic images, emulated costs)", RUNWARE: "on Runware",
             None: "whose backend was not recorded (logged before qwenlab recorded it: they may be the emulator's "
                   "synthetic images)"}
    held = []
    for r in other:
        done, doubt = int(r["done"] or 0), int(r["in_doubt"] or 0)
        what = " and ".join(x for x in (f"{done} cell{'s' if done != 1 else ''} done" if done else "",
                                        f"{doubt} cell{'s' if doubt != 1 else ''} in doubt (sent, no answer logged)"
                                        if doubt else "") if x)
        hosts = f" ({r['hosts'].replace(',', ', ')})" if r["backend"] == RUNWARE and r.get("hosts") else ""
        held.append(f"{what} {where[r['backend']]}{hosts}")
    at = f" ({host})" if host else ""
    target = (f"Runware{at}" if now == RUNWARE else
              f"qwenlab's offline emulator{at}, whose images are synthetic and costs emulated")
    new_name = f"{name}-{now}"
    mixes = ("synthetic and real results" if EMULATOR in {now, *(r["backend"] for r in other)}
             else "results that may be synthetic with real ones")
    head = (f"experiment {name!r} has {'; '.join(held)}, and this client talks to {target}: resuming it would mix "
            f"{mixes}, so nothing was sent.")
    if mix_backends:
        return (f"{head} mix_backends=True keeps cells done elsewhere, but cells in doubt can only be recovered where "
                "they were sent: run it once more with the client that sent them, then mix.")
    return (f"{head} Run the sweep under a new name to keep them apart: lab.run(sweep, name={new_name!r}) "
            f"(qwenlab run FILE --name {new_name}); or pass mix_backends=True to Lab.run (qwenlab run FILE --mix-backends) "
            "to keep those cells as they are and send only the others here (the experiment is then shown as MIXED).")


def _headline(errors: list[QwenlabError]) -> QwenlabError | None:
    """The error a task is listed under: a paid image that could not be fetched (money spent for
    nothing) before any other failure, else the first."""
    paid_lost = [e for e in errors if isinstance(e, ImageError)]
    return (paid_lost or errors or [None])[0]


class _Dispatch:
    """One run's dispatch loop: the cells still to send, those in flight, and what came back.

    The runner's promises, step by step: a new cell's row is written ('pending') before it is
    submitted, the first few alone and the rest in batches while those are on the wire, every one
    by the time the loop stops (`_log_new_cells`); `_admit` reserves a cell's estimate before it may go
    (the budget is never exceeded); `Runner._run_job` marks the cell's row 'sent' before its
    request leaves; `_settle` settles the reservation with the API's cost once the cell is back
    and records an error that would fail every cell, which stops the loop. Ctrl-C lands while
    `_next_finished` waits in short slices; `run` then cancels what is not yet sent (the cells in
    flight finish and are logged by their threads) and lets it through.
    """

    def __init__(self, run_job: Callable[[int, _Job, bool, Wire], _Outcome], exp_id: int, budget: Budget,
                 concurrency: int, bar: Progress, *, log_jobs: Callable[[list[_Job]], None],
                 markup: float | None = 1.0, log_path: Path | None = None) -> None:
        self.run_job = run_job
        self.log_jobs = log_jobs
        self.log_path = log_path  # named by the error when the log refuses a write
        self.unlogged: collections.deque[_Job] = collections.deque()  # jobs of new cells, in queue order
        self.exp_id = exp_id
        self.budget = budget
        # a cell's reservation is its estimate times the most the API has charged above one: a
        # price raised since the description was written is reserved in full from then on. Until
        # the API has reported a cost (markup None), twice the estimate: the cells sent before the
        # first answer cannot overshoot the budget unless the price has more than doubled
        self.confirmed = markup is not None
        self.markup = markup if markup is not None else UNCONFIRMED_MARKUP
        self.concurrency = concurrency
        # `concurrency` tasks on the wire at once (from just before a POST to the last image
        # downloaded), and as many more cells under way in threads of their own, whose images are
        # checked, written and logged while the next tasks are on the wire (or who wait their turn
        # with their cost reserved): the bookkeeping never holds a place on the wire
        self.wire = Wire(concurrency, stop_on=FATAL_ERRORS)
        self.workers = 2 * concurrency
        self.bar = bar
        self.queue: list[_Job] = []
        self.inflight: dict[cf.Future[_Outcome], _Job] = {}
        self.finished: queue.SimpleQueue[cf.Future[_Outcome]] = queue.SimpleQueue()  # futures as they finish
        self.failed = self.doubtful = self.unsettled = self.held_back = 0
        self.reason: str | None = None  # why the sweep stopped before its end
        self.refused = 0  # cells the log's budget check kept back: another run spent what was left
        self.fatal: BaseException | None = None  # the error that stopped it, raised to the caller
        self.unanswered = 0  # cells in a row the API did not answer (see OUTAGE_AFTER)
        self.outage_after = max(OUTAGE_AFTER, concurrency)

    def run(self, jobs: list[_Job]) -> tuple[str, str | None, BaseException | None]:
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

    def _admit(self, job: _Job) -> Literal["send", "wait", "stop"]:
        """May `job` go now? "send" once its estimate is reserved (or it is a recovery), "wait" for
        a cell in flight to settle first, "stop" when the budget cannot hold it."""
        if job.refetch:  # a getResponse for images paid for: free
            return "send"
        if job.recover:
            # held since the run began, at its estimate: asked about, and sent again only under its
            # own taskUUID (which cannot pay twice), it needs no more
            job.reserved = float(job.row["estimated_cost_usd"] or 0.0) if job.row else 0.0
            return "send"
        need = job.cell.estimated_cost * self.markup
        if self.budget.reserve(need):
            job.reserved = need
            return "send"
        if self.inflight:
            # in-flight cells may cost less than reserved: wait for one before deciding
            return "wait"
        if not self.confirmed and self.budget.reserve(job.cell.estimated_cost):
            # alone on the wire, a cell whose price is not confirmed yet goes at its estimate: the
            # budget's last cell is not refused for want of twice its price
            job.reserved = job.cell.estimated_cost
            return "send"
        need = job.cell.estimated_cost * (self.markup if self.confirmed else 1.0)
        left = self.budget.remaining or 0.0
        # a cell left in doubt this run counts at what was reserved for it (up to twice its estimate
        # until the API reports a price), where the summary counts its estimate: say so
        held = " (cells in doubt count at what was reserved for them)" if self.doubtful else ""
        self.reason = (f"budget: the next cell needs ${need:.3f} and ${left:.3f} of ${self.budget.limit:.2f} is left{held}; "
                       f"{_cells(len(self.queue))} not sent. Raise budget_usd (--budget) and run again to send them")
        return "stop"

    def _submit(self, pool: cf.ThreadPoolExecutor, job: _Job) -> None:
        # may it send, or only ask the server about a recovery? only with its cost reserved (or no budget)
        may_send = job.reserved > 0 or self.budget.limit is None
        fut = pool.submit(self.run_job, self.exp_id, job, may_send, self.wire)
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

    def _settle(self, job: _Job, fut: cf.Future[_Outcome]) -> None:
        """Settle a finished cell's reservation with what it cost; count it; note a fatal error."""
        try:
            out = fut.result()
        except BaseException as exc:  # the log refused a write, or a bug in the runner: stop, keep what is logged
            if isinstance(exc, sqlite3.OperationalError):
                exc = write_failure(exc, self.log_path)
            out = _Outcome("failed", error=exc)
            self.fatal = self.fatal or exc
        self.budget.settle(job.reserved + job.earlier, out.cost + job.renewed_from)
        self._learn_price(job, out)
        if out.status == "refused":
            self.refused += 1
            self.reason = (f"budget: another run of this experiment spent part of its ${self.budget.limit:.2f} meanwhile, "
                           f"and what is left does not cover the next cell; {_cells(len(self.queue) + self.refused)} not sent by this run "
                           "(the other may have sent some). "
                           "Raise budget_usd (--budget) and run again to send them")
        self.failed += out.status == "failed"
        self.doubtful += out.status == "uncertain"
        # in doubt for what the API said, not for want of an answer: it took the taskUUID and does
        # not know it, or it was still processing; running again may not settle these
        self.unsettled += out.status == "uncertain" and isinstance(out.error, TransportError) and out.error.answered
        self.held_back += isinstance(out.error, BudgetExceededError)  # in doubt, not resent for want of budget
        if isinstance(out.error, FATAL_ERRORS) and self.fatal is None:
            self.fatal = out.error
            self.reason = f"stopped: {type(out.error).__name__}: {out.error}"
            self.wire.close()  # found off the wire too (a refetch that could not write): nothing more goes
        if not job.refetch:  # a done cell's lost image, asked for again: the cell stays done whatever the answer
            self._watch_for_outage(out)
        self.bar.advance(self.budget.spent, self.failed)

    def _watch_for_outage(self, out: _Outcome) -> None:
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
                       f"retry): it looks down or unreachable. Last: {redact(_what_happened(out.error))}. Cells sent are in doubt and asked about "
                       "at the next run, before anything is sent again; run again once the API answers")
        self.wire.close()  # the cells waiting for the wire are not sent

    def _learn_price(self, job: _Job, out: _Outcome) -> None:
        """The first cost the API reports sets what every later cell reserves (its estimate times
        what was charged over it, at least 1x); a cell charged above that raises it. Said when
        the API charges more than the estimate."""
        estimate = job.cell.estimated_cost
        if out.status != "done" or not out.reported or estimate <= 0:
            return
        ratio = out.cost / estimate
        if not self.confirmed:
            self.confirmed, self.markup = True, max(1.0, ratio)
        elif ratio > self.markup * (1 + 1e-6):
            self.markup = ratio
        else:
            return
        if ratio > 1 + 1e-6:
            self.bar.write(f"the API charged ${out.cost:.4f} for a cell estimated at ${estimate:.4f} (the model description's "
                           f"price): the budget now reserves {self.markup:.2f}x each cell's estimate")

    def _result(self) -> tuple[str, str | None, BaseException | None]:
        """The experiment's status and stop reason after the loop, and the error to raise."""
        if self.fatal is not None:
            return "failed", self.reason or f"stopped: {type(self.fatal).__name__}: {self.fatal}", self.fatal
        if self.reason:  # only the budget stops the loop without a fatal error: say so, it is no interruption
            return "budget", self.reason, None
        left = [f"{_cells(self.failed)} failed" if self.failed else "",
                f"{_cells(self.doubtful)} in doubt (sent, no result logged)" if self.doubtful else ""]
        left = [x for x in left if x]
        reason = f"{' and '.join(left)}; run again to retry them" if left else None
        if self.held_back:
            reason += (f". {_cells(self.held_back)} in doubt not sent anew (resend_in_doubt): the budget cannot hold a new "
                       "attempt beside one that may have been paid for; raise budget_usd (--budget) to send them")
        if self.unsettled:
            reason += (f". {self.unsettled} of those in doubt were answered but not settled: the server took them and "
                       "does not know them, or they were still processing. If they stay in doubt, run with "
                       "resend_in_doubt=True (--resend-in-doubt) to send anew those it no longer knows: they may be "
                       "paid for twice")
        return "done", reason, None


def refuse_secrets_in(sweep: Sweep, name: str | None, notes: str | None = None, *, api_key: str | None = None) -> None:
    """Refuse a sweep holding the API key (pasted into a prompt, say): a prompt goes to the model
    (with promptExtend, to an LLM too) and into the log, its sidecars, bundles and reports.
    ValidationError naming each place; nothing written, nothing sent. A run checks this, and so
    does `qwenlab run --dry-run` where there is no log yet (it printed the request, key and all)."""
    api_key = as_secret(api_key or os.environ.get("RUNWARE_API_KEY"))
    register_secret(api_key)
    places = [p for p, v in _leaves({"sweep": sweep.to_dict(), "name": name, "notes": notes})
              if holds_secret(v) and ".labels[" not in p]  # an axis value's label repeats its value
    if places:
        raise ValidationError([Problem(p, "holds your Runware API key; take it out (a prompt is sent to the model and "
                                          "kept in the log, its bundles and reports)") for p in places], context="sweep")


def _leaves(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every text of nested dicts and lists: "sweep.base.positivePrompt"."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(data, str):
        yield path, data


def _what_happened(exc: BaseException) -> str:
    """An error as a run's log and summary say it: what happened, without the advice the client
    gives its own callers ("call client.recover(request) later"), which a run follows itself."""
    return str(getattr(exc, "reason", None) or exc)


def _next_finished(finished: "queue.SimpleQueue[cf.Future[_Outcome]]") -> cf.Future[_Outcome]:
    """The next cell's future to finish, waited for in short slices so Ctrl-C reaches the main
    thread at once. (Futures report to a queue as they finish: `concurrent.futures.wait` over
    every cell in flight, at each one back, was a fifth of the main thread's CPU in a sweep.)"""
    while True:
        try:
            return finished.get(timeout=0.2)
        except queue.Empty:
            continue


def _cells(n: int) -> str:
    return "1 cell" if n == 1 else f"{n} cells"
