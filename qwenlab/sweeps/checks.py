"""The checks a run makes before it writes or sends anything, and where its client sends.

`Runner.check()` makes them all, with `run`'s arguments, and reads only: the run's settings,
every cell, an API key pasted into the sweep, an experiment imported from a bundle, a new
experiment under a name another one had before a rename, a sweep changed under an existing name, and cells done (or in doubt) on another backend than the
client's, refused with BackendMismatchError and a message naming the fix (`_mismatch`). A dry
run calls it, so that what it approves the run does not refuse; `run` calls it first.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.connect import check_connection, connect_backend
from ..core.validation import is_unicode_text
from ..errors import BackendMismatchError, ExperimentConflictError, ExperimentRenamedError, QwenlabError
from ..secrets import redact
from ..store.bundle import origin_of
from ..store.provenance import EMULATOR, RUNWARE
from .budget import check_run_settings
from .cell import match_logged
from .changes import changed_sweep_error
from .secret_scan import refuse_secrets_in
from .sweep import Cell, Sweep

if TYPE_CHECKING:
    from ..api.client import RunwareClient
    from ..store.log import Log

__all__ = ["RunChecks"]


def require_sweep(sweep: Any) -> None:
    """TypeError naming `sweep` and how to make one, for anything that is not a Sweep (a prompt,
    a sweep file's path): it failed deep inside with "'str' object has no attribute 'cells'"."""
    if not isinstance(sweep, Sweep):
        what = f"{type(sweep).__name__} {redact(repr(sweep))}" if isinstance(sweep, (str, Path)) and len(str(sweep)) < 80 else type(sweep).__name__
        raise TypeError(f"sweep: give a Sweep, e.g. Sweep(prompt='A poster ...', axes={{'promptExtend': [True, False]}}); "
                        f"for a sweep file, load_sweep(path).sweep (from qwenlab.sweeps.sweepfile) or `qwenlab run FILE`; "
                        f"got {what}")


class RunChecks:
    """The checks of `Runner`, which it inherits: they read its log, its client (connected on
    first use) and the arguments it connects with."""

    log: Log
    client: RunwareClient
    _client: Any
    _connect_args: dict[str, Any]

    def check(self, sweep: Sweep, name: str | None = None, *, budget_usd: float | None = None, concurrency: int = 4,
              extend: bool = False, mix_backends: bool = False, notes: str | None = None,
              reuse_name: bool = False, resend_in_doubt: bool = False) -> str:
        """Every check `run` makes before it writes or sends anything, with the same arguments:
        the run's settings, every cell, a sweep changed under an existing name, a new experiment
        under a name another one had, the backend of the cells done. Raises what `run` would
        raise; reads only. Returns the experiment's name. A dry run calls it, so that what it
        approves the run does not refuse."""
        # before anything is written: a bad budget kept in the log would break later runs. A name
        # with a slash or a newline is refused for a new experiment only: one of an older log that
        # has such a name is resumed under it
        require_sweep(sweep)
        known = isinstance(name, str) and is_unicode_text(name) and self.log.experiment(name) is not None
        switches = {"extend": extend, "mix_backends": mix_backends, "reuse_name": reuse_name, "resend_in_doubt": resend_in_doubt}
        check_run_settings(budget_usd=budget_usd, concurrency=concurrency, name=name, notes=notes, name_is_new=not known,
                           switches=switches)
        cells = sweep.cells()  # raises ValidationError with every problem: nothing sent
        if self._client is None:  # what would fail every cell: refused before the experiment is made
            check_connection(self._connect_args.get("api_key"), self._connect_args.get("base_url"))
        name = self._stored_name(name or sweep.default_name())
        self._refuse_secrets(sweep, name, notes)
        self._refuse_imported(name, cells)
        self._refuse_former_name(name, reuse_name)
        self._refuse_changed_sweep(name, sweep, extend)
        self._check_backend(name, mix_backends)
        return name

    def _stored_name(self, name: str) -> str:
        """The name the run goes on under: an experiment's own (" posters" resumes "posters"),
        else `name` without spaces around it, as a rename stores a name: "posters " and
        "posters" were two experiments that listed alike, and `qwenlab logs posters` found one."""
        existing = self.log.experiment(name)
        return str(existing["name"]) if existing is not None else name.strip()

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
        what = [f"{left} of its cells {'is' if left == 1 else 'are'} not done" if left else "",
                (f"{new} cells of this sweep are not in it" if new > 1 else "a cell of this sweep is not in it") if new else ""]
        raise ExperimentConflictError(
            f"name: experiment {name!r} was imported from {bundle}, run in another log from another account, and "
            f"{' and '.join(w for w in what if w)}; nothing of it is sent from here (its taskUUIDs and anything in "
            "doubt belong to that run, and what a run spent here would be booked as spent there). Run the sweep here "
            "under a new name (`qwenlab run FILE --name NEW`, lab.run(sweep, name=NEW)), or import a later bundle of it "
            "once it is finished where it runs.")

    def _refuse_former_name(self, name: str, reuse_name: bool) -> None:
        """Refuse to start a new experiment under a name another experiment had before it was
        renamed: a notebook or sweep file still carrying the old name would send, and pay for,
        every cell again. ExperimentRenamedError naming both fixes; reads only."""
        if reuse_name or self.log.experiment(name) is not None:
            return
        renamed = self.log.renamed_from(name)
        if renamed is None:
            return
        new, when = str(renamed["name"]), str(renamed["renamed_at"])[:16].replace("T", " ")
        refused = ExperimentRenamedError(
            f"name: {name!r} is what experiment {new!r} was called until it was renamed ({when} "
            f"UTC); a run under the old name would start a new experiment and send, and pay for, every cell again. "
            f"To go on with it (nothing done is sent again), run it as {new!r}: lab.run(sweep, name={new!r}), "
            f"`qwenlab run FILE --name {shlex.quote(new)}`. To start a new experiment named {name!r} anyway: "
            "reuse_name=True (--reuse-name).")
        refused.former_name, refused.current_name, refused.renamed_at = name, new, when
        raise refused

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
