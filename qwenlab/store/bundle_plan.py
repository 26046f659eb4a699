"""The import plan: what each experiment of a bundle becomes in the receiving log, and why.

`plan_import` reads a bundle's log beside this one and decides, experiment by experiment, before
anything is written: import it (under its name, or `as_name`), update the copy imported before
(the bundle is a later state of it, or the copy was deleted here), merge what was added to it
elsewhere (its tasks are here already), or leave it, saying why (a bundle no later than the copy
here, an experiment deleted from this log); a name taken by other work, or an experiment changed
since it was shared, raises ExperimentConflictError naming the fix. Experiments are known by
their taskUUIDs, those of retried cells' earlier attempts included. `import_bundle`
(`qwenlab.store.bundle`) carries the plan out.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.values import count_of
from ..errors import ExperimentConflictError
from ..secrets import refuse_secret
from .bundle_rows import origin_of
from .log import Log
from .organize import DELETED_PREFIX, name_problem, safe_name

__all__ = ["plan_import"]


@dataclass(frozen=True)
class _Plan:
    """What to do with one experiment of a bundle: import it as `dst_name` (why is ""), or not
    (why says so); `files`: write its image files; `replaces`: the id of the copy imported
    before that it updates."""

    src_id: int
    src_name: str
    dst_name: str
    why: str = ""
    files: bool = True
    replaces: int | None = None
    merges: int | None = None  # already here (by its tasks): only what was added to it elsewhere is merged
    here: int | None = None  # left, its copy here (this id): a row of another experiment may point at it


def plan_import(log: Log, source: Log, bundle: Path, as_name: str | None, created_at: str = "") -> list[_Plan]:
    """Per experiment of the bundle: its id there, its name there, the name it gets here, and
    why it is not imported (empty when it is), or the copy imported before that it updates;
    raises on a clash."""
    experiments = source.rows("SELECT id, name FROM experiments WHERE deleted_at IS NULL ORDER BY id")
    if as_name is not None:
        if len(experiments) != 1:
            raise ValueError(f"as_name: {bundle.name} holds {len(experiments)} experiments; --as renames a bundle "
                             "of one experiment only (import it without --as, or bundle them one by one)")
        problem = name_problem(as_name)  # as a run and a rename check a name: blank, reserved, '(deleted) ...'
        if problem:
            raise ValueError(f"as_name: {problem}")
        refuse_secret("as_name", as_name)
    plans = []
    retried = _history_owners(log)  # read once: a scan of the tasks that have history
    for exp in experiments:
        src_id = int(exp["id"])
        # a name an older qwenlab let through (a slash, a newline...) arrives without it: a new name
        # here is held to today's rule, as a run's or a rename's is (the report says "'a/b' as 'a-b'")
        name = as_name.strip() if as_name is not None else (safe_name(exp["name"]) or f"imported-{src_id}")
        uuids = _task_uuids(source, src_id)
        here = _owners(log, uuids, retried)
        copy = _copy_here(log, here, uuids)
        if copy is not None:
            deleted = str(copy["name"]).startswith(DELETED_PREFIX)
            came = origin_of(copy).get("bundle_created_at") or ""
            if not deleted and created_at and came and created_at <= came:
                # a bundle older than (or the same as) the one the copy came from: it never replaces
                # a later state, nor brings back what its sender removed since
                plans.append(_Plan(src_id, exp["name"], str(copy["name"]), (
                    f"its {_requests_are(len(uuids))} in this log already, as experiment {copy['name']!r}, from a bundle "
                    f"as recent or more ({came[:19]})"), here=int(copy["id"])))
                continue
            theirs, mine = _state(source, src_id), _state(log, int(copy["id"]))
            if not deleted and theirs != mine and not _later(theirs, mine):
                # an earlier state of it, whatever its date says (a cell done here is not done there)
                plans.append(_Plan(src_id, exp["name"], str(copy["name"]), (
                    f"it is an earlier state of experiment {copy['name']!r} here (cells done here are not done in it)"),
                    here=int(copy["id"])))
                continue
            if deleted or theirs != mine:
                # a later bundle of a copy imported before (finished, or retried, since), or of one
                # deleted here: the copy is replaced, what was added to it here kept
                dst = name if deleted else str(copy["name"])
                if deleted:
                    _refuse_taken(log, dst, bundle, len(experiments) == 1, as_name)
                plans.append(_Plan(src_id, exp["name"], dst, replaces=int(copy["id"])))
                continue
        if uuids and len(here) == 1 and sum(here.values()) == len(uuids):
            (owner,) = here
            if owner.startswith(DELETED_PREFIX):
                plans.append(_Plan(src_id, exp["name"], name, (
                    f"it was deleted from this log: its {count_of(len(uuids), 'request')} "
                    f"{'stays' if len(uuids) == 1 else 'stay'} as {owner!r} for the cost history, "
                    "so the same tasks cannot come back (ask for a bundle of a new run to have its images again)"), False))
                continue
            owner_id = int(log.rows("SELECT id FROM experiments WHERE name = ?", [owner])[0]["id"])
            plans.append(_Plan(src_id, exp["name"], owner, f"its {_requests_are(len(uuids))} in this log already, "
                                                           f"as experiment {owner!r}", merges=owner_id))
            continue
        if here:
            raise ExperimentConflictError(
                f"{exp['name']!r} of {bundle.name}: {sum(here.values())} of its {len(uuids)} tasks are in this log "
                f"already, in {', '.join(map(repr, here))}, and the others are not: it was changed since it was shared. "
                "Delete or rename the experiment here and import again, or ask for a bundle of the new state.")
        _refuse_taken(log, name, bundle, len(experiments) == 1, as_name)
        plans.append(_Plan(src_id, exp["name"], name))
    return plans


def _requests_are(n: int) -> str:
    """"1 request is", "3 requests are": the skip reasons' count and its verb."""
    return f"{count_of(n, 'request')} {'is' if n == 1 else 'are'}"


def _refuse_taken(log: Log, name: str, bundle: Path, alone: bool = True, as_name: str | None = None) -> None:
    """ExperimentConflictError, naming the fix, when `name` is taken here by other work. `alone`:
    the bundle holds this experiment only (--as renames only such a bundle's); `as_name`: the name
    asked for (`--as`), which the message then names as the parameter to change."""
    if _taken(log, name):
        free = _free_name(log, name)
        if as_name is not None:
            # "as_name: ..." reads "Invalid value for '--as': ..." from the command, which named
            # "name:", a parameter neither the command nor import_bundle has
            raise ExperimentConflictError(f"as_name: this log has an experiment named {name!r} already, with other work; "
                                          f"give a name not in use: as_name={free!r} (`--as {shlex.quote(free)}`)")
        # commands to paste as they are: the bundle as it was given (its bare file name failed
        # from any other folder) and the names quoted ("new year poster" became three words)
        fix = (f"import it under another name: `qwenlab import {shlex.quote(str(bundle))} --as {shlex.quote(free)}` "
               f"(lab.import_bundle(..., as_name={free!r}))" if alone else
               f"rename yours first (`qwenlab rename {shlex.quote(name)} {shlex.quote(f'{name}-mine')}`) and import "
               f"again, or ask for a bundle of {name!r} alone and import it with --as")
        raise ExperimentConflictError(f"{bundle.name} holds an experiment named {name!r}, and this log has one of that name "
                                      f"already, with other work; {fix}")


def _taken(log: Log, name: str) -> bool:
    return log.experiment(name) is not None or bool(log.rows("SELECT 1 FROM experiments WHERE name = ?", [name]))


def _free_name(log: Log, name: str) -> str:
    """`name`-2 (or -3, ...): a name the fix can offer that is not taken here too."""
    n = 2
    while _taken(log, f"{name}-{n}"):
        n += 1
    return f"{name}-{n}"


def _copy_here(log: Log, here: dict[str, int], uuids: list[str]) -> dict[str, Any] | None:
    """The copy imported before of the experiment whose taskUUIDs are `uuids`: the one experiment
    here holding them, itself imported (`imported_from`), none of its own taskUUIDs outside the
    bundle's (the bundle is a later state of it, not a fork). None otherwise."""
    if len(here) != 1:
        return None
    (owner,) = here
    rows = log.rows("SELECT * FROM experiments WHERE name = ?", [owner])
    if not rows or not rows[0].get("imported_from"):
        return None
    mine = set(_task_uuids(log, int(rows[0]["id"])))
    return rows[0] if mine <= set(uuids) else None


def _state(log: Log, experiment_id: int) -> list[tuple[Any, ...]]:
    """What a later bundle of an experiment may have changed: each task's status, cost, times,
    seed and history, and its images."""
    return [tuple(r.values()) for r in log.rows(
        "SELECT t.task_uuid, t.status, t.cost_usd, t.completed_at, t.seed, t.history_json, "
        "(SELECT group_concat(x) FROM (SELECT i.image_uuid || ':' || coalesce(i.sha256, '') AS x FROM images i "
        "WHERE i.task_id = t.id ORDER BY x)) AS imgs "
        "FROM tasks t WHERE t.experiment_id = ? ORDER BY t.task_uuid", [experiment_id])]


def _later(theirs: list[tuple[Any, ...]], mine: list[tuple[Any, ...]]) -> bool:
    """Whether a bundle's state of an experiment (`_state`) is a later one than the copy's: every
    task done in the copy is done in it, with the same images."""
    done_there = {row[0]: row[-1] for row in theirs if row[1] == "done"}
    return all(row[0] in done_there and done_there[row[0]] == row[-1] for row in mine if row[1] == "done")


def _task_uuids(log: Log, experiment_id: int) -> list[str]:
    """Every taskUUID an experiment has sent under: its tasks' own, and those of earlier attempts
    of retried cells (kept in `history_json`, with what they were charged)."""
    return [r["uuid"] for r in log.rows(
        "SELECT task_uuid AS uuid FROM tasks WHERE experiment_id = ? UNION "
        "SELECT json_extract(h.value, '$.task_uuid') FROM tasks t, json_each(t.history_json) h "
        "WHERE t.experiment_id = ? AND t.history_json IS NOT NULL AND json_valid(t.history_json)",
        [experiment_id, experiment_id]) if r["uuid"]]


def _history_owners(log: Log) -> dict[str, str]:
    """taskUUID of an earlier attempt of a retried cell -> the experiment that holds it, in `log`."""
    return {r["uuid"]: r["name"] for r in log.rows(
        "SELECT e.name, json_extract(h.value, '$.task_uuid') AS uuid FROM tasks t "
        "JOIN experiments e ON e.id = t.experiment_id, json_each(t.history_json) h "
        "WHERE t.history_json IS NOT NULL AND json_valid(t.history_json)") if r["uuid"]}


def _owners(log: Log, uuids: list[str], retried: dict[str, str]) -> dict[str, int]:
    """Experiment name -> how many of these taskUUIDs it holds in `log`, as a task's own or as an
    earlier attempt of one: a bundle of an experiment whose cells were retried since it was
    shared holds the taskUUIDs this log has, as history, beside new ones."""
    out: dict[str, int] = {}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        for r in log.rows(f"SELECT e.name, count(*) AS n FROM tasks t JOIN experiments e ON e.id = t.experiment_id "
                          f"WHERE t.task_uuid IN ({','.join('?' for _ in chunk)}) GROUP BY e.name", chunk):
            out[r["name"]] = out.get(r["name"], 0) + int(r["n"])
    for uuid in uuids:
        if uuid in retried:
            out[retried[uuid]] = out.get(retried[uuid], 0) + 1
    return out
