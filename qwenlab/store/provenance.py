"""Where an experiment's cells ran, and the words every view uses to say it.

Each task records, when it is sent (migration m007), its backend: "emulator" (qwenlab's offline
emulator: images drawn locally and marked SYNTHETIC, costs emulated, nothing paid) or "runware";
the API host; and the qwenlab version that sent it. A task logged before qwenlab recorded this
has NULL there, shown as "unknown" ("not recorded"). A task that failed with no backend but a
qwenlab version was tried while no server could be reached: it counts as unreached, not as run
anywhere. `Provenance` counts an experiment's sent
cells by backend and gives the lines the summary, grids, pairs, the explorer, `qwenlab logs`
and the HTML report show, so they all say the same thing:

    exp.provenance.kind        # "emulator" | "runware" | "mixed" | "unknown" | "none" (nothing sent)
    exp.provenance.headline()  # "SYNTHETIC: run on qwenlab's offline emulator at 127.0.0.1:8787, not on Runware: ..."
    exp.provenance.mark()      # "SYNTHETIC (offline emulator)", for a title; "" for Runware
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..core.values import format_usd

__all__ = ["Provenance", "EMULATOR", "RUNWARE", "UNKNOWN", "UNREACHED", "UNREACHED_SQL", "backend_label", "is_unreached"]

EMULATOR, RUNWARE, UNKNOWN = "emulator", "runware", "unknown"
UNREACHED = "unreached"  # not a backend: failed cells tried while no server could be reached
# the SQL form of `is_unreached`, for a task row aliased t
UNREACHED_SQL = "(t.status = 'failed' AND t.backend IS NULL AND t.qwenlab_version IS NOT NULL)"
# what "emulator" means, for a legend under a table of backends
EMULATOR_MEANS = "emulator: qwenlab's offline emulator (synthetic images, emulated costs: nothing paid)"


def backend_label(backend: str | None) -> str:
    """A task's backend as shown: "emulator", "runware", or "unknown" where it was not recorded."""
    return backend if backend in (EMULATOR, RUNWARE) else UNKNOWN


def is_unreached(task: Mapping[str, Any]) -> bool:
    """A task that failed while no server could be reached: qwenlab (which records where each
    task goes) recorded no backend for it, because none had answered."""
    return task.get("status") == "failed" and task.get("backend") is None and task.get("qwenlab_version") is not None


def _cells(n: int) -> str:
    return f"{n} cell{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Provenance:
    """An experiment's sent cells (done, failed or in doubt; not those never sent) by backend, and
    the failed cells that reached no server (`unreached`: they ran nowhere)."""

    emulator: int = 0
    runware: int = 0
    unknown: int = 0
    emulator_hosts: tuple[str, ...] = ()
    runware_hosts: tuple[str, ...] = ()
    emulated_usd: float = 0.0  # what the emulator "charged": emulated money
    unreached: int = 0
    unreached_hosts: tuple[str, ...] = ()

    @classmethod
    def of_tasks(cls, tasks: Iterable[Mapping[str, Any]]) -> "Provenance":
        """From task rows (`Log.tasks`): each sent one counts under its backend."""
        counts = {EMULATOR: 0, RUNWARE: 0, UNKNOWN: 0, UNREACHED: 0}
        hosts: dict[str, list[str]] = {EMULATOR: [], RUNWARE: [], UNREACHED: []}
        usd = 0.0
        for t in tasks:
            if t.get("status") == "pending":
                continue
            kind = UNREACHED if is_unreached(t) else backend_label(t.get("backend"))
            counts[kind] += 1
            host = t.get("api_host")
            if kind in hosts and host and host not in hosts[kind]:
                hosts[kind].append(host)
            if kind == EMULATOR and t.get("cost_usd") is not None:
                usd += float(t["cost_usd"])
        return cls(counts[EMULATOR], counts[RUNWARE], counts[UNKNOWN], tuple(hosts[EMULATOR]), tuple(hosts[RUNWARE]),
                   round(usd, 6), counts[UNREACHED], tuple(hosts[UNREACHED]))

    @classmethod
    def of_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "Provenance":
        """From rows of (backend, cells, hosts as "a,b", usd): `Log.provenance`'s query, whose
        backend is "unreached" for the failed cells that reached no server."""
        counts = {EMULATOR: 0, RUNWARE: 0, UNKNOWN: 0, UNREACHED: 0}
        hosts: dict[str, list[str]] = {EMULATOR: [], RUNWARE: [], UNREACHED: []}
        usd = 0.0
        for r in rows:
            kind = UNREACHED if r.get("backend") == UNREACHED else backend_label(r.get("backend"))
            counts[kind] += int(r.get("cells") or 0)
            if kind in hosts:
                hosts[kind] += [h for h in (r.get("hosts") or "").split(",") if h and h not in hosts[kind]]
            if kind == EMULATOR:
                usd += float(r.get("usd") or 0.0)
        return cls(counts[EMULATOR], counts[RUNWARE], counts[UNKNOWN], tuple(hosts[EMULATOR]), tuple(hosts[RUNWARE]),
                   round(usd, 6), counts[UNREACHED], tuple(hosts[UNREACHED]))

    # -- what it is ---------------------------------------------------------------------------------
    @property
    def kinds(self) -> list[str]:
        """The backends present, in a fixed order: emulator, runware, unknown."""
        return [k for k, n in ((EMULATOR, self.emulator), (RUNWARE, self.runware), (UNKNOWN, self.unknown)) if n]

    @property
    def kind(self) -> str:
        """"emulator", "runware" or "unknown" when every sent cell is of one; "mixed" when they are
        not; "none" when nothing was sent."""
        kinds = self.kinds
        return "none" if not kinds else kinds[0] if len(kinds) == 1 else "mixed"

    @property
    def synthetic(self) -> bool:
        """Some of its images are the emulator's (synthetic)."""
        return self.emulator > 0

    @property
    def mixed(self) -> bool:
        """Whether some cells ran on the emulator and others on Runware (shown MIXED)."""
        return self.kind == "mixed"

    # -- words ----------------------------------------------------------------------------------------
    def headline(self) -> str | None:
        """One sentence: where the cells ran and what that means; None when nothing was sent."""
        kind = self.kind
        if kind == EMULATOR:
            at = f" at {', '.join(self.emulator_hosts)}" if self.emulator_hosts else ""
            return (f"SYNTHETIC: run on qwenlab's offline emulator{at}, not on Runware: its images are drawn locally and "
                    "show the request, not what Qwen-Image would draw; costs emulated (nothing paid)")
        if kind == RUNWARE:
            return f"run on Runware ({', '.join(self.runware_hosts) or 'host not recorded'})"
        if kind == UNKNOWN:
            these, they = ("this cell", "it") if self.unknown == 1 else (f"these {_cells(self.unknown)}", "they")
            return (f"where {these} ran was not recorded (logged before qwenlab recorded it): "
                    f"{they} may be the offline emulator's synthetic images")
        if kind == "mixed":
            parts = []
            if self.emulator:
                parts.append(f"{_cells(self.emulator)} ran on qwenlab's offline emulator (SYNTHETIC images, costs emulated)")
            if self.runware:
                hosts = f" ({', '.join(self.runware_hosts)})" if self.runware_hosts else ""
                parts.append(f"{self.runware} on Runware{hosts}" if parts else f"{_cells(self.runware)} ran on Runware{hosts}")
            if self.unknown:
                parts.append(f"{self.unknown} where it was not recorded")
            return f"MIXED: {' and '.join(parts)}; run each under a name of its own to keep them apart"
        if self.unreached:
            at = f" at {', '.join(self.unreached_hosts)}" if self.unreached_hosts else ""
            return (f"no server answered{at}: {_cells(self.unreached)} failed before anything was generated "
                    "(nothing paid); run again once it can be reached")
        return None

    def mark(self) -> str:
        """A few words for a title: "SYNTHETIC (offline emulator)", "MIXED: emulator (synthetic) and
        Runware", "origin not recorded"; "" for Runware alone or nothing sent."""
        kind = self.kind
        if kind == EMULATOR:
            return "SYNTHETIC (offline emulator)"
        if kind == UNKNOWN:
            return "origin not recorded"
        if kind == "mixed":
            names = {EMULATOR: "emulator (synthetic)", RUNWARE: "Runware", UNKNOWN: "not recorded"}
            return "MIXED: " + " and ".join(names[k] for k in self.kinds)
        return ""

    def spend(self, cost_usd: float) -> str:
        """An experiment's spend in words: "$0.600 emulated (nothing paid)", "$0.600 spent, $0.300 of
        it emulated (nothing paid)", or "$0.600 spent"."""
        if self.kind == EMULATOR:
            return f"{format_usd(cost_usd)} emulated (nothing paid)"
        if self.emulator:
            return f"{format_usd(cost_usd)} spent, {format_usd(self.emulated_usd)} of it emulated (nothing paid)"
        return f"{format_usd(cost_usd)} spent"
