"""An experiment read back from the log: its cells, images, seeds and costs as pandas frames.

    exp = lab.experiment("lumiere-extend")     # or what lab.run(...) returns
    exp.df                                     # one row per cell: axis values, status, seed, cost, image path
    exp.images                                 # one row per image
    exp.cost, exp.counts()
    exp.grid(rows="promptExtend", cols="size", path="grid.png")

In a notebook the object shows itself as a summary and a table with thumbnails; in a terminal,
as a few lines of text. Both say where the cells ran (`exp.provenance`): results of qwenlab's
offline emulator are marked SYNTHETIC with emulated costs, an experiment with cells from both
backends MIXED, and cells logged before qwenlab recorded it "not recorded".
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..caller import warn
from ..core.values import count_of, excerpt, format_usd, format_usd_column, is_missing, label_list
from ..errors import ExperimentNotFoundError, NoLogError
from ..paths import DB_NAME
from ..paths import data_dir as default_data_dir
from .axes import AXIS_INFO, CELL_COLUMNS, IMAGE_COLUMNS, AxisInfo, axis_column, axis_infos_of, filled_cell
from .log import IN_DOUBT, Log, status_word
from .provenance import EMULATOR, Provenance
from .run_lock import run_alive, settle_abandoned
from .thumbnails import thumbnail_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExperimentRecord", "open_experiment"]


_HTML_ROWS = 48  # beyond this the HTML table is cut (thumbnails make it heavy)
_THUMB = 96


class Counts(dict):
    """`ExperimentRecord.counts()`: a dict that still answers the key "sent", which it had before
    it said "in_doubt" as the rest of qwenlab does, with a DeprecationWarning."""

    def __missing__(self, key: str) -> int:
        if key == "sent":
            warn('counts()["sent"] is now counts()["in_doubt"]', DeprecationWarning)
            return self[IN_DOUBT]
        raise KeyError(key)


class ExperimentRecord:
    """One named experiment of the log (always read fresh from it): its rows as frames, its
    counts, cost and summary. The views (`exp.grid()`, `exp.explore()`, ...) are added by
    `qwenlab.Experiment`, the notebook facade over this record.

    Raises ExperimentNotFoundError, naming the experiments the log knows, when there is none
    of that name: the one place an experiment is opened by name."""

    def __init__(self, log: Log, name: str, data_dir: str | Path) -> None:
        self.log = log
        self.data_dir = Path(data_dir)
        row = log.experiment(name)
        if row is None:
            known = ", ".join(log.experiment_names()) or "none yet"
            raise ExperimentNotFoundError(f"no experiment named {name!r} in {log.path}; known: {known}")
        self.name = str(row["name"])  # as stored: " posters" opens "posters" (`Log.experiment`)

    # -- the row ---------------------------------------------------------------------------------
    @property
    def row(self) -> dict[str, Any]:
        """Its row of the log's `experiments` table, read afresh: raises ExperimentNotFoundError once
        it is deleted or renamed elsewhere."""
        row = self.log.experiment(self.name)
        if row is None:  # deleted, or renamed by another Experiment object or process since this one opened
            raise ExperimentNotFoundError(f"experiment {self.name!r} is no longer in {self.log.path} "
                                          "(deleted or renamed); open it again by its name")
        return row

    @property
    def id(self) -> int:
        """Its id in the log, which its tasks, images, ratings and scores point at (a rename keeps it)."""
        return int(self.row["id"])

    @property
    def names(self) -> list[str]:
        """The names of the experiments this record covers: its own (a comparison's: its members',
        `qwenlab.store.comparison`), as the cost queries take them."""
        return [self.name]

    @property
    def status(self) -> str:
        """'planned' | 'running' | 'done' (every cell tried; some may have failed) | 'budget' (stopped at
        its budget, cells left unsent) | 'interrupted' (Ctrl-C, or its run's process died) | 'failed'
        (stopped by an error)."""
        row = self.row
        if row["status"] == "running" and settle_abandoned(self.log):  # its run's process died since
            row = self.row
        if row["status"] != "running" and run_alive(self.log.path, int(row["id"])) is True:
            # of two runs of one experiment, the first to finish wrote its status; the other still sends
            return "running"
        return str(row["status"])

    @property
    def sending(self) -> frozenset[int]:
        """The ids of the experiments this record covers whose run is still sending (`status`
        'running'): its own, or none. Their tasks sent are waiting for an answer, not in doubt."""
        return frozenset([self.id]) if self.status == "running" else frozenset()

    @property
    def stop_reason(self) -> str | None:
        """Why the last run stopped early (budget, a fatal error, Ctrl-C), or None."""
        return self.row.get("stop_reason")

    @property
    def budget_usd(self) -> float | None:
        """The most it may cost in all, in USD, as its last run set it; None: no budget."""
        return self.row.get("budget_usd")

    @property
    def provenance(self) -> Provenance:
        """Where its cells ran: `.kind` ("emulator", "runware", "mixed", "unknown", "none"), the
        counts by backend, the API hosts, and the words the views show (`.headline()`, `.mark()`)."""
        return self.log.provenance(self.id)

    @property
    def axes(self) -> dict[str, list[str]]:
        """Axis name -> the labels of its values."""
        return json.loads(self.row.get("axes_json") or "{}")

    @property
    def sweep(self) -> dict[str, Any]:
        """The sweep as it was given (base request, axes, repeats, seed policy)."""
        return json.loads(self.row.get("sweep_json") or "{}")

    # -- frames ----------------------------------------------------------------------------------
    @property
    def df(self) -> "pd.DataFrame":
        """One row per cell: its axis values, repeat, status (done, failed, pending, or in_doubt:
        sent with no answer logged), seed, cost and first image's path."""
        return self.cells()

    def cells(self, limit: int | None = None) -> "pd.DataFrame":
        """`df`, of the first `limit` cells only when given (read from the log without the others:
        `qwenlab logs NAME` shows 200 cells of an experiment of any size at once)."""
        import pandas as pd

        tasks = self.log.tasks(self.id, limit=limit)
        images = self.log.images(self.id, task_ids=[t["id"] for t in tasks] if limit is not None else None)
        by_task: dict[int, list[dict[str, Any]]] = {}
        for img in images:
            by_task.setdefault(img["task_id"], []).append(img)
        axes = list(self.axes)
        rows = []
        for i, t in enumerate(tasks):
            cell = json.loads(t["cell_json"] or "{}")
            imgs = by_task.get(t["id"], [])
            seeds = [im["seed"] for im in imgs]
            rows.append({
                # a task left 'sent' reads "in_doubt", as counts(), listings and filters say it
                "cell": i, **{axis_column(a, CELL_COLUMNS): cell.get(a) for a in axes}, "repeat": t["repeat"], "status": status_word(t["status"]),
                "seed": seeds[0] if seeds else t["seed"], "seeds": seeds, "n_images": len(imgs),
                "cost_usd": t["cost_usd"], "cost_source": _cost_source(t["cost_source"], t.get("backend")),
                "estimated_cost_usd": t["estimated_cost_usd"], "backend": t.get("backend"),
                "error_code": t["error_code"], "error_message": t["error_message"], "latency_s": t["latency_s"],
                "attempts": t["attempts"], "path": self._abs(imgs[0]["path"]) if imgs else None,
                "model": t["model"], "width": t["width"], "height": t["height"], "prompt": t["prompt"],
                "negative_prompt": t["negative_prompt"], "prompt_extend": _bool(t["prompt_extend"]),
                "seed_policy": t["seed_policy"], "task_uuid": t["task_uuid"], "task_id": t["id"], "cell_key": t["cell_key"],
            })
        columns = [CELL_COLUMNS[0], *(axis_column(a, CELL_COLUMNS) for a in axes), *CELL_COLUMNS[1:]]
        return self._with_axes(pd.DataFrame(rows, columns=list(dict.fromkeys(columns))))

    @property
    def images(self) -> "pd.DataFrame":
        """One row per image: its cell's axis values, repeat, the seed it reports, cost, file."""
        import pandas as pd

        tasks = {t["id"]: t for t in self.log.tasks(self.id)}
        axes = list(self.axes)
        kinds = {a: info.kind for a, info in axis_infos_of(self.sweep, self.axes).items()}  # as the catalog has them
        rows = []
        for img in self.log.images(self.id):
            t = tasks.get(img["task_id"], {})
            cell = filled_cell(t, kinds)  # an axis added since the cell ran: what its request sent
            rows.append({
                "image_id": img["id"], **{axis_column(a, IMAGE_COLUMNS): cell.get(a) for a in axes}, "repeat": t.get("repeat"), "seed": img["seed"],
                "cost_usd": img["cost_usd"], "cost_source": _cost_source(img["cost_source"], t.get("backend")),
                "backend": t.get("backend"), "nsfw": _bool(img["nsfw"]),
                "path": self._abs(img["path"]), "width": img["width"], "height": img["height"], "format": img["format"],
                "bytes": img["bytes"], "sha256": img["sha256"], "image_uuid": img["image_uuid"],
                "task_uuid": img["task_uuid"], "task_id": img["task_id"], "prompt": t.get("prompt"),
            })
        columns = [IMAGE_COLUMNS[0], *(axis_column(a, IMAGE_COLUMNS) for a in axes), *IMAGE_COLUMNS[1:]]
        return self._with_axes(pd.DataFrame(rows, columns=list(dict.fromkeys(columns))))

    def _with_axes(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        """`frame`, saying how its axis columns read: `labelled(frame)` shows promptExtend on/off
        as the views do, where the frame keeps True/False for filtering."""
        frame.attrs[AXIS_INFO] = self._axis_infos()
        return frame

    # -- numbers ---------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Cells by status (cells, done, failed, pending: never sent, in_doubt: sent with no answer
        logged, recovered by the next run), and images."""
        out = Counts(cells=0, done=0, failed=0, pending=0, in_doubt=0)
        for status, n in self.log.task_counts(self.id).items():  # counted by SQLite, no row read whole
            out["cells"] += n
            key = status_word(status)
            out[key] = out.get(key, 0) + n
        out["images"] = self.log.image_count(self.id)
        return out

    @property
    def cost(self) -> float:
        """USD spent: API-reported costs, the estimate where none was reported or a request is in
        doubt, and charged earlier attempts (the same rule as the budget and `qwenlab costs`)."""
        return round(self.log.spent(self.id), 6)

    def _axis_infos(self) -> dict[str, AxisInfo]:
        """The swept axes and how their values read, as grids and `qwenlab logs NAME` show them."""
        return {name: info for name, info in axis_infos_of(self.sweep, self.axes).items() if name in self.axes}

    def summary(self) -> str:
        """A few lines: name, status, cells, where they ran (SYNTHETIC for the emulator), images,
        cost (emulated for the emulator), why it stopped."""
        c = self.counts()
        prov = self.provenance
        budget = f" of {format_usd(self.budget_usd)} budget" if self.budget_usd is not None else ""
        if self.budget_usd is not None and self.cost > self.budget_usd + 1e-9:
            # a price raised more than the budget's reservation allows for, or a budget set below
            # what was spent already (lowered, or a sweep file's given to an experiment that had none)
            budget += (f", OVER by {format_usd(self.cost - self.budget_usd)} (spent before the budget was set or lowered to it, "
                       "or charged above the estimate: `qwenlab costs` notes those)")
        where = prov.headline()
        lines = [
            f"Experiment {self.name!r} ({_status_text(self.status, c['failed'], c[IN_DOUBT])}): {c['done']}/{count_of(c['cells'], 'cell')} done"
            + (f", {c['failed']} failed" if c["failed"] else "") + (f", {c['pending']} not sent" if c["pending"] else "")
            + (f", {c[IN_DOUBT]} in doubt (run again to recover)" if c[IN_DOUBT] else ""),
            *([f"  {where}"] if where else []),
            f"  {count_of(c['images'], 'image')}, {prov.spend(self.cost)}{budget}",
            "  axes: " + ("; ".join(f"{name} = {label_list(info.label(v) for v in info.values)}"
                                    for name, info in self._axis_infos().items()) or "none"),
        ]
        if self.stop_reason:
            lines.append(f"  {self.stop_reason}")
        if c["failed"]:  # why, so that "run again" is not the only advice (unless the stop said it)
            lines += [f"  {n} failed: {excerpt(message, 240)}" for message, n in self.log.failure_reasons(self.id)
                      if message not in (self.stop_reason or "")]
        # paid images gone for good (a file deleted or damaged that the server would not give
        # again): the image count above still lists them, as the log does
        lines += [f"  {count_of(n, 'cell')} lost a paid image for good: {excerpt(message, 240)}"
                  for message, n in self.log.loss_reasons(self.id)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        df = self.df
        prov = self.provenance
        where = prov.headline()
        head = "".join(f"<div>{html.escape(line.strip())}</div>" for line in self.summary().splitlines()
                       if line.strip() != where)
        if where:
            head = provenance_banner(prov) + head
        shown = [*self.axes, "repeat", "status", *(["backend"] if prov.mixed else []), "seed", "cost_usd", "error_message"]
        show = [c for c in shown if c in df.columns]
        cells = []
        infos = self._axis_infos()  # axis values read as everywhere else: promptExtend on/off, not True/False
        rows = df.head(_HTML_ROWS)
        # dollars by the one rule, a column's figures alike ("$0.075"; _fmt wrote 0.075)
        usd = format_usd_column(rows["cost_usd"]) if "cost_usd" in show else []
        for n, (_, r) in enumerate(rows.iterrows()):
            # a cell without an image (not sent, failed) has a missing path: None, or NaN under
            # pandas 3, whose string columns read None as NaN (true, and no path)
            thumb = "" if is_missing(r["path"]) or not r["path"] else _thumbnail(r["path"])
            tds = "".join(f"<td>{html.escape(usd[n] if c == 'cost_usd' else infos[c].label(r[c]) if c in infos else _fmt(r[c]))}</td>"
                          for c in show)
            cells.append(f"<tr><td>{thumb}</td>{tds}</tr>")
        more = f"<div>… {count_of(len(df) - _HTML_ROWS, 'more cell')} in .df</div>" if len(df) > _HTML_ROWS else ""
        ths = "".join(f"<th>{html.escape(c)}</th>" for c in ["image", *show])
        return (f"<div class='qwenlab-experiment'>{head}<table><thead><tr>{ths}</tr></thead>"
                f"<tbody>{''.join(cells)}</tbody></table>{more}</div>")

    def _abs(self, path: str | None) -> str | None:
        if not path:
            return None
        p = Path(path)
        return str(p if p.is_absolute() else self.data_dir / p)


def open_experiment(name: str, data_dir: str | Path | None = None, *, log: Log | None = None) -> ExperimentRecord:
    """The experiment `name` of the log in `data_dir` (default: `qwenlab.paths.data_dir()`),
    read without creating anything: a missing log raises NoLogError (an ExperimentNotFoundError)
    saying how to make one."""
    folder = Path(data_dir) if data_dir is not None else default_data_dir(create=False)
    if log is None:
        path = folder / DB_NAME
        if not path.exists():
            raise NoLogError(f"no experiment named {name!r}: no log yet at {path}; "
                             "run `qwenlab demo` or `qwenlab run sweep.toml` first")
        log = Log(path)
    return ExperimentRecord(log, name, folder)


def provenance_banner(prov: Provenance, *, short: bool = False) -> str:
    """The provenance headline as an HTML banner (amber for synthetic or mixed, grey otherwise).
    short=True: its mark in one line, for a view with little room to spare (judging), and
    nothing for Runware's alone."""
    where = prov.headline()
    if short:
        mark = prov.mark()
        what = {"emulator": "drawn locally, not by Qwen-Image; a verdict here says nothing of the model",
                "mixed": "some images drawn locally, not by Qwen-Image", "unknown": "they may be synthetic"}.get(prov.kind)
        where = f"{mark}: {what}" if mark and what else mark
    if not where:
        return ""
    loud = prov.synthetic or prov.kind == "unknown"
    style = ("background:#fff3cd;color:#7a4b00;border:1px solid #e0b84a" if loud
             else "background:#f3f6fa;color:#34495e;border:1px solid #d5dde6")
    return (f"<div class='qwenlab-provenance' style='{style};padding:4px 8px;margin:4px 0;border-radius:3px'>"
            f"{html.escape(where)}</div>")


def _cost_source(source: str | None, backend: str | None) -> str | None:
    """A cost's source as shown: "api" (the number the API reported) is "emulated" when the API
    was qwenlab's emulator."""
    return "emulated" if source == "api" and backend == EMULATOR else source


def _status_text(status: str, failed: int, in_doubt: int = 0) -> str:
    """The status as the summary's first line shows it: a budget stop by name, and failed cells
    and cells in doubt even when the run itself finished ('done' alone would hide them)."""
    text = "stopped at its budget" if status == "budget" else status
    if failed and status != "failed":
        text += f", {failed} cell{'s' if failed > 1 else ''} failed"
    if in_doubt:
        text += f", {in_doubt} in doubt"
    return text


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _fmt(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _thumbnail(path: str) -> str:
    """A small inline JPEG (the thumbnail cache's), so the table survives a saved notebook."""
    uri = thumbnail_of(path, _THUMB, "data_uri")
    return f"<img src='{uri}' style='max-width:{_THUMB}px'/>" if uri else ""

