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

import contextlib
import json
import shlex
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Mapping, TypeVar

from ..api.connect import connect
from ..core.request import new_task_uuid
from ..core.values import count_of, plain
from ..errors import ExperimentNotFoundError, TransportError
from ..paths import data_dir as default_data_dir
from ..paths import make_data_dir
from ..progress import Progress
from ..secrets import as_secret, redact
from ..store.axes import joined_axis_specs
from ..store.experiment import ExperimentRecord
from ..store.log import IN_DOUBT, Log, status_word
from ..store.log_file import write_failure
from ..store.provenance import EMULATOR
from ..store.rows import to_json
from ..store.run_lock import holding_run
from ..version import __version__
from .budget import Budget
from .cell import match_logged
from .cellwork import IN_DOUBT_ADVICE, CellWork, missing_files, sent_with_another_key
from .checks import RunChecks, require_sweep
from .dispatch import FATAL_ERRORS, OUTAGE_AFTER, Dispatch, Job
from .preview import Preview
from .sweep import Cell, Sweep

if TYPE_CHECKING:
    import pandas as pd

    from ..api.client import RunwareClient

__all__ = ["Runner", "FATAL_ERRORS", "IN_DOUBT_ADVICE", "OUTAGE_AFTER"]

# What `experiment()` and `run()` return: a type parameter, so that `Lab` (a `Runner[Experiment]`)
# returns an Experiment to an editor's completion and a type checker too, not only at runtime;
# typed as the record, `lab.run(...).grid` was "not a known attribute"
E = TypeVar("E", bound=ExperimentRecord)


class Runner(RunChecks, Generic[E]):
    """Where experiments run and are kept: a data folder (log + images) and a client.

    data_dir: default `qwenlab.paths.data_dir()` (`$QWENLAB_DATA_DIR`, else the project's `data/`, found
    from the current folder up, else the user's data folder). client: default `qwenlab.api.connect.connect()`
    (the real API with RUNWARE_API_KEY, else the offline emulator), made on first need, saving
    images under `<data_dir>/images`; a zero-argument callable is called on first need instead
    (so a run with nothing to send connects to nothing). log: default `<data_dir>/qwenlab.db`.
    """

    def __init__(self, data_dir: str | Path | None = None, *, client: "RunwareClient | Callable[[], RunwareClient] | None" = None,
                 log: Log | None = None, api_key: str | None = None, base_url: str | None = None) -> None:
        if data_dir is None:
            data_dir = default_data_dir()
        # "~/ads" is the home folder's, as QWENLAB_DATA_DIR and the shell read it, not a folder named "~" here
        self.data_dir = Path(data_dir).expanduser()
        make_data_dir(self.data_dir, "data_dir")
        self._root = self.data_dir.resolve()  # resolved once: each saved image's path is made relative to it
        self.log = log if log is not None else Log(self.data_dir / "qwenlab.db")
        self._client = client
        api_key = as_secret(api_key)
        self._connect_args = {"api_key": api_key, "base_url": base_url}
        self._client_lock = threading.Lock()
        self._uploads: dict[str, str] = {}  # reference images uploaded, by SHA-256: each is uploaded once
        self.last_refetched = 0  # done cells whose lost paid images the last run asked for (free)
        self.last_lost = 0  # of those, the cells the server would not give them back to: lost for good
        self.last_to_send: int | None = None  # cells the last run had to send or recover (0: all were done)

    # what `experiment()` and `run()` return; `qwenlab.Lab` puts the notebook facade here
    experiment_class: type[E] = ExperimentRecord  # type: ignore[assignment]  # a Runner[ExperimentRecord] unless a subclass says

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
        """Close the log's connection: for code that opens many labs; a notebook need not call it."""
        self.log.close()

    # -- reading --------------------------------------------------------------------------------
    def experiments(self) -> "pd.DataFrame":
        """Every experiment: status, cells by status, images, cost."""
        return self.log.experiments_frame()

    def experiment(self, name: str) -> E:
        """An experiment by name (raises ExperimentNotFoundError naming the known ones)."""
        return self.experiment_class(self.log, name, self.data_dir)

    def plan(self, sweep: Sweep, name: str | None = None, *, quiet: bool = False) -> "pd.DataFrame":
        """`sweep.plan()` with a `logged` column: what the log already holds for each cell
        under `name` (done cells will not be sent again)."""
        require_sweep(sweep)
        return self._plan(sweep, name, quiet=quiet)[0]

    def _plan(self, sweep: Sweep, name: str | None = None, *, quiet: bool = False
              ) -> tuple["pd.DataFrame", dict[str, Any]]:
        """`plan` and the log's row of each cell that has one, by cell key."""
        df = sweep.plan(quiet=quiet)
        exp = self.log.experiment(name or sweep.default_name())
        logged = match_logged(sweep.cells(), self.log.tasks(exp["id"])) if exp else {}
        # a cell left 'sent' reads "in_doubt", as every count says it
        df["logged"] = [status_word(logged[k]["status"]) if k in logged else "new" for k in df["key"]]
        return df, logged

    def preview(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None,
                quiet: bool = True) -> Preview:
        """What `run(sweep, name, budget_usd=...)` would send now and how far its budget reaches
        (`Preview.to_send`, `.estimated_usd`, `.budget_text()`), read from the log; writes nothing."""
        require_sweep(sweep)
        budget_usd = plain(budget_usd)  # np.float64(2.0) from a frame: the number it holds, as `run` takes it
        name = name or sweep.default_name()
        df, logged = self._plan(sweep, name, quiet=quiet)
        exp = self.log.experiment(name)
        if exp is None:
            return Preview(name, df, budget_usd)
        # cells in doubt are counted in what the experiment spent and recovered first, as `run` does
        in_doubt = float(df.loc[df["logged"] == IN_DOUBT, "est_cost_usd"].sum())
        limit = budget_usd if budget_usd is not None else exp["budget_usd"]
        return Preview(name, df, limit, self.log.spent(int(exp["id"])) - in_doubt,
                       other_key=self._sent_with_another_key(logged.values()))

    def _sent_with_another_key(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """How many of `rows` are in doubt and were sent with a key other than this runner's: the
        run will leave those in doubt unless the server knows them (`CellWork`'s guard)."""
        in_doubt = [r for r in rows if r["status"] == "sent" and r.get("key_id")]
        if not in_doubt:  # the client (and so the emulator, when it is the one) is made only when needed
            return 0
        mine = self._key_id()
        return sum(sent_with_another_key(r, mine) for r in in_doubt)

    # -- running --------------------------------------------------------------------------------
    def run(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None, concurrency: int = 4,
            progress: bool = True, extend: bool = False, notes: str | None = None,
            mix_backends: bool = False, confirm: Callable[[Preview], Any] | None = None,
            resend_in_doubt: bool = False, reuse_name: bool = False) -> E:
        """Run every cell of `sweep` not yet done under experiment `name`; return the Experiment.

        name: without one, `sweep.default_name()` ("sweep-" and 10 hex digits of the sweep's
        fingerprint), so the same sweep run again resumes under the same name. notes: the
        experiment's note (as `exp.note(...)` sets it; None keeps the one it has). progress: a
        progress bar of cells with the spend (a widget in a notebook). budget_usd: the most the experiment may cost in all (kept from the previous run when
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
        reuse_name: a name another experiment had before it was renamed is refused for a new
        experiment (ExperimentRenamedError: a notebook still carrying the old name would pay for
        every cell again); True starts the new experiment under it all the same.
        """
        # numpy numbers (a budget or a concurrency read from a frame, np.int64(4)) are the Python
        # numbers they hold, as a sweep's size, repeats and seed are: checked, logged and used as such
        budget_usd, concurrency = plain(budget_usd), plain(concurrency)
        name = self.check(sweep, name, budget_usd=budget_usd, concurrency=concurrency, extend=extend,
                          mix_backends=mix_backends, notes=notes, reuse_name=reuse_name, resend_in_doubt=resend_in_doubt)
        extend, mix_backends, resend_in_doubt = plain(extend), plain(mix_backends), plain(resend_in_doubt)
        cells = sweep.cells()
        self.say_if_archived(name)
        if confirm is not None:
            preview = self.preview(sweep, name, budget_usd=budget_usd)
            if len(preview.to_send):
                confirm(preview)
        if cells and self.log.experiment(name) is None:
            # a new experiment has every cell to send: a store that cannot take its images refuses
            # it before its row is written (it was left 'planned', nothing sent)
            self.client.store.check_writable()
        exp = self._experiment_row(sweep, name, budget_usd, extend, notes)
        exp_id = int(exp["id"])
        limit = budget_usd if budget_usd is not None else exp["budget_usd"]
        self._note_logged_cells(exp_id, cells)
        rows = {r["cell_key"]: r for r in self.log.tasks(exp_id)}
        jobs = [Job(c, rows.get(c.key), c.key in rows and rows[c.key]["status"] == "sent",
                    paid=c.key in rows and rows[c.key]["status"] == "failed" and bool(rows[c.key]["cost_usd"]))
                for c in cells if c.key not in rows or rows[c.key]["status"] != "done"]
        self.last_to_send = len(jobs)
        refetch = self._lost_images(exp_id, cells, rows)
        self.last_refetched, self.last_lost = len(refetch), 0
        jobs += refetch
        if not jobs:
            self.log.update_experiment(exp_id, status="done", stop_reason=None)
            return self.experiment(name)
        jobs.sort(key=lambda j: (not (j.recover or j.refetch or j.paid), j.cell.index))  # recover what may be paid for first
        in_doubt = sum(j.row["estimated_cost_usd"] or 0.0 for j in jobs if j.recover)
        # the cells in doubt are held at their estimates until each settles (recovered, sent under
        # its own taskUUID, failed, or given up for a new attempt): their room is never a new cell's
        budget = Budget(limit, self.log.spent(exp_id) - in_doubt)
        budget.hold(in_doubt)
        self.client.store.check_writable()  # before anything is sent: no paid image may find it read-only
        sending_to = self._record_backend(exp_id)
        work = CellWork(self.log, self._root, exp_id, client=lambda: self.client, budget=budget, limit=limit,
                        resend_in_doubt=resend_in_doubt, sending_to=sending_to,
                        backend_unsure=bool(sending_to) and "backend" not in sending_to,
                        record_backend=lambda: self._record_backend(exp_id), uploads=self._uploads,
                        key_id=self._key_id())
        # the first `concurrency` cells go out together and come back together: tqdm's estimate
        # from the first of them alone said `concurrency` times too long; `Eta` waits for them
        bar = Progress(len(jobs), desc=name, budget_usd=limit, enabled=progress, warmup=concurrency)
        for note in sweep.unsaid_notes():  # once a sweep: not again after its plan() or an earlier run
            bar.write(note)
        dispatch = Dispatch(work.run, budget, concurrency, bar,
                             log_jobs=lambda js: self._log_cells(exp_id, js), markup=self._price_markup(exp_id),
                             log_path=self.log.path)
        # the run's lock is held from before 'running' until after its last status: a process that
        # dies in between leaves 'running' with no lock held, which readers settle (run_lock.py)
        with holding_run(self.log.path, exp_id):
            # a delete or rename from another process between the checks and the lock: nothing is
            # sent into a deleted experiment, nor under a name it lost (both are refused once the
            # lock is held, organize.py)
            changed = self.log.mark_running(exp_id, name)
            if changed is not None:
                fix = ("Run the sweep again to start it anew" if changed == "was deleted" else
                       f"Run it under its new name to go on with it, or under {name!r} to start anew")
                raise ExperimentNotFoundError(f"experiment {name!r} {changed} as this run started (by another "
                                              f"process); nothing was sent. {fix}")
            try:  # from 'running' on, a Ctrl-C leaves the experiment 'interrupted', never 'running'
                with self.log.running(exp_id):
                    status, reason, fatal = dispatch.run(jobs)
            except KeyboardInterrupt as exc:
                self.log.update_experiment(exp_id, status="interrupted", stop_reason=(
                    "interrupted (Ctrl-C); requests in flight finish and are logged; run again to finish the rest"))
                # the requests in flight still finish: if they were all that was left, the experiment is
                # done, and says so rather than "interrupted" with nothing left to run
                dispatch.when_settled(lambda: self.log.settle_interrupted(exp_id, len(cells)))
                # a notebook shows this exception's text and nothing else (`qwenlab run` prints the
                # summary itself): a bare "KeyboardInterrupt:" left the user to guess what was paid
                if not exc.args:
                    with contextlib.suppress(Exception):  # a log that cannot answer now leaves it bare, not another error
                        exc.args = (self._interrupted_text(name, exp_id, len(cells), len(dispatch.inflight)),)
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
            if refetch:
                self.last_lost = self.log.rows(
                    f"SELECT count(*) AS n FROM tasks WHERE error_code = 'ImageLost' AND id IN ({', '.join('?' for _ in refetch)})",
                    [int(j.row["id"]) for j in refetch])[0]["n"]
            if status == "done" and reason and not self.log.rows(
                    "SELECT 1 FROM tasks WHERE experiment_id = ? AND status != 'done' LIMIT 1", [exp_id]):
                # the cells this run left failed or in doubt were done meanwhile by another run of the
                # experiment (another notebook on the same log): nothing is left to run again
                reason = None
            try:
                self.log.update_experiment(exp_id, status=status, stop_reason=reason)
            except sqlite3.OperationalError as exc:
                raise write_failure(exc, self.log.path) from (fatal or exc)
        if reason and progress:  # under its bar; without one the summary (or the error) says it, once
            bar.write(f"{name}: {reason}")
        experiment = self.experiment(name)
        if fatal is not None:
            fatal.experiment = experiment
            if isinstance(fatal, TransportError) and fatal.advice:
                # the run follows the client's advice itself ("call client.recover(request)"): say what it does
                fatal.args = (f"{fatal.reason}; {IN_DOUBT_ADVICE}",)
            raise fatal
        return experiment

    def _interrupted_text(self, name: str, exp_id: int, cells: int, in_flight: int) -> str:
        """What a run stopped by Ctrl-C left, as its KeyboardInterrupt says it: the cells done, those
        in flight (they finish in the background and are logged), and that running it again
        finishes the rest without buying anything twice."""
        done = self.log.rows("SELECT count(*) AS n FROM tasks WHERE experiment_id = ? AND status = 'done'",
                             [exp_id])[0]["n"]
        flying = (f"; {count_of(in_flight, 'request')} in flight or about to leave: those sent finish in the "
                  "background and are logged, the others are not sent") if in_flight else ""
        return (f"run of {name!r} interrupted with {min(done, cells)} of {count_of(cells, 'cell')} done{flying}. "
                "Run the cell again (the same sweep and name) to finish the rest: nothing done is sent again, "
                "nothing in flight is bought twice")

    def say_if_archived(self, name: str, *, planned: bool = False) -> None:
        """Say once, on stderr and before anything is asked or sent, that the experiment run into is
        archived: the run goes on (archiving keeps everything, it locks nothing), but its result
        stays out of the listings, and nothing said so: the run's images seemed lost. `run` says it,
        and `qwenlab run --dry-run` from here too (its plan of an archived experiment did not), with
        `planned=True`: a run would go on, this one sends nothing."""
        row = self.log.experiment(name)
        if row is None or not row.get("archived_at"):
            return
        print(f"experiment {row['name']!r} is archived (since {str(row['archived_at'])[:10]}): "
              f"{'a run would go on' if planned else 'the run goes on'}, and "
              "the experiment stays out of lab.experiments() and `qwenlab logs` (archived=True / --all list it); "
              f"lab.experiment({row['name']!r}).unarchive() or `qwenlab unarchive {shlex.quote(row['name'])}` brings it back", file=sys.stderr)

    def _experiment_row(self, sweep: Sweep, name: str, budget_usd: float | None, extend: bool, notes: str | None) -> dict[str, Any]:
        fingerprint = sweep.fingerprint()
        fields = {"model": sweep.base.model_id, "sweep_json": to_json(sweep.to_dict()), "sweep_hash": fingerprint,
                  "axes_json": to_json(sweep.axes_labels()), "budget_usd": budget_usd, "notes": notes}
        existing = self.log.experiment(name)
        if existing is None:
            return self.log.ensure_experiment(name, **fields)
        changes: dict[str, Any] = {}
        if existing["sweep_hash"] and existing["sweep_hash"] != fingerprint:  # extended (else refused before)
            changes.update(fields, **_extended(existing, sweep))
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

    # -- where it runs ----------------------------------------------------------------------------
    def _key_id(self) -> str | None:
        """The log's name for the client's API key (kept on each task sent; never the key), or None
        for a client that cannot name it (a stand-in of a test)."""
        name = getattr(self.client, "key_id", None)
        return name(self.log.key_salt()) if callable(name) else None

    def _record_backend(self, exp_id: int) -> dict[str, Any]:
        """Where this run sends its cells, written on the experiment now (backend "mixed" once
        cells went to both) and on each task as it is sent; {} for a client that cannot say."""
        backend, host = self._client_backend(said=True)
        if backend is None:  # no server answered yet: the tasks it answers get it (`CellWork._answered_by`)
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

    def _lost_images(self, exp_id: int, cells: list[Cell], rows: dict[str, dict[str, Any]]) -> list[Job]:
        """Jobs for the done cells that lost paid images: logged 'done' (the server made their
        images: paid for, cost reported or not) with fewer images than they asked for, and an
        image that could not be downloaded or written (ImageError, ImageStoreError) or an answer
        that listed fewer (missingResults); or with an image whose file is gone from the store
        since (`missing_files`). Only those that ran
        where this client sends, and not an imported experiment's: the same taskUUID means
        nothing elsewhere."""
        exp = self.log.experiment_by_id(exp_id) or {}
        if exp.get("imported_from"):
            return []  # its taskUUIDs are another account's: nothing of it is asked from here
        # done: the server made its images, so they were paid for, reported cost or not
        lost = {r["id"] for r in self.log.rows(
            "SELECT t.id FROM tasks t WHERE t.experiment_id = ? AND t.status = 'done' "
            # missingResults: the answer listed fewer images than asked (the server may have made them all)
            "AND t.error_code IN ('ImageError', 'ImageStoreError', 'StoreUnwritableError', 'missingResults') "
            "AND (SELECT count(*) FROM images i WHERE i.task_id = t.id) < coalesce(t.number_results, 1)", [exp_id])}
        lost |= missing_files(self.log, self._root, exp_id)
        if not lost:
            return []
        backend = self._client_backend(said=True)[0]
        # asked where it ran; a task logged before qwenlab recorded where (backend NULL, an older
        # log's) by the emulator, as such cells are continued there (`_check_backend`): left out,
        # its lost image went unsaid by the run while `qwenlab verify` promised it back
        where = {backend, None} if backend == EMULATOR else {backend}
        return [Job(c, rows[c.key], False, refetch=True) for c in cells
                if c.key in rows and rows[c.key]["id"] in lost and backend is not None and rows[c.key].get("backend") in where]

    def _log_cells(self, exp_id: int, jobs: list[Job]) -> None:
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

    def _price_markup(self, exp_id: int) -> float | None:
        """How far above its estimate the API has charged a cell of this experiment (1.0: never;
        None: no cost reported yet). The budget reserves each cell's estimate times this, so a
        price raised since the model's description was written cannot take a run past its budget."""
        row = self.log.rows("SELECT max(cost_usd / estimated_cost_usd) AS m FROM tasks WHERE experiment_id = ? "
                            "AND status = 'done' AND cost_usd IS NOT NULL AND estimated_cost_usd > 0", [exp_id])
        return None if row[0]["m"] is None else max(1.0, float(row[0]["m"]))


def _extended(existing: dict[str, Any], sweep: Sweep) -> dict[str, str]:
    """An extended experiment's `sweep_json` and `axes_json`: the new sweep's, with the axes and
    values of the experiment's sweep that it lacks kept after its own. Replaced whole, an
    extension by a sweep without an axis took that axis from every view of the cells run before
    (their grid columns, labels and the explorer's filters), though their cells still hold it."""
    old = json.loads(existing.get("sweep_json") or "{}")
    new = sweep.to_dict()
    specs = joined_axis_specs([(new, sweep.axes_labels()), (old, json.loads(existing.get("axes_json") or "{}"))])
    new["axes"] = specs
    new["repeats"] = max(int(new.get("repeats") or 1), int(old.get("repeats") or 1))
    return {"sweep_json": to_json(new), "axes_json": to_json({a: spec["labels"] for a, spec in specs.items()})}
