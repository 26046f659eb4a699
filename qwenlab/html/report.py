"""An experiment as one self-contained HTML file, to share: `qwenlab export NAME -o report.html`.

    export_html(exp, "report.html")                       # returns the path written
    export_html(exp, "report.html", rows="promptExtend", cols="size", grid="table")
    export_html(exp, "report.html", full_size=True)       # + report_files/: the originals, linked

The file holds the experiment's tags and notes (a comparison's: each run's), the comparison grid (as embedded images, or `grid="table"`: an HTML table of
thumbnails; `qwenlab.html.grid`), the costs, the ratings and blind judgements, and every request: prompt,
parameters, the seed the API reported, cost, latency and error, with each image as an embedded
thumbnail. Click a thumbnail and it opens large in a lightbox inside the page (arrow keys step
through, Escape closes); the requests come a page of 100 at a time. Each image is embedded once,
as WebP: up to 200 images as a 768-px preview (shown small, opened large: about 40 KB each),
beyond that as a thumbnail at the size the page shows it (about 2 KB), so 2,000 images make a
file of about 11 MB; the lightbox then shows that thumbnail and says the originals are not in the
file, with the command that puts them beside it.
With `full_size=True` (`--full-size`) the originals are put in a folder beside the report
(`report_files/`, hard links where possible) and the lightbox shows them: linked, not embedded,
because 2,000 originals (about 700 MB) would make a file no browser opens. It loads nothing from anywhere (no scripts, stylesheets, fonts or remote images; a
Content-Security-Policy says so to the browser), every piece of text is HTML-escaped, and
registered secrets such as the API key are scrubbed from it. Where the log holds text scores
(`qwenlab score NAME`), each request's row gives its images' scores and what was misread, and
the section opens with the score by axis; the export never runs OCR.
A report of part of an experiment (`where=`) says so first, and its costs, ratings, judgements
and text scores are those of the requests it shows (the costs say what the whole cost).

The page opens with where the results came from: an amber SYNTHETIC banner for the offline
emulator's (images drawn locally, costs emulated), MIXED when cells came from both backends, and
"not recorded" for cells logged before qwenlab recorded it; a grey line names Runware's host.
"""

from __future__ import annotations

import json
import os
import shlex
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..analysis.judging import win_rates
from ..caller import warn
from ..core.intervals import bounds_percent
from ..core.values import count_of, distinct_labels, excerpt, format_usd, is_missing, label_list
from ..costs.labels import AXIS_PREFIX
from ..figures.text import file_stem, stamp_text
from ..paths import write_atomic
from ..secrets import register_secret
from ..store.catalog import REPEAT, Catalog, Entry
from ..store.log import IN_DOUBT
from ..store.organize import Organizer
from ..store.provenance import EMULATOR, RUNWARE, backend_label, is_unreached
from ..sweeps.cellwork import IN_DOUBT_ADVICE
from ..typography.analysis import axis_lines, describe
from ..typography.badges import score_badges
from ..typography.scores import text_scores
from ..version import __version__
from .costs import costs_section, describe_where, request_costs, request_frame
from .grid import GRID_IMAGE_LIMIT, GRID_MODES, UNREADABLE, GridOptionsUnusedWarning, caption, is_table, legend
from .grid import grid_section as _grid_section
from .images import drop_stale_originals, files_dir, originals_beside, webp_thumbnails
from .page import Thumbnails, details, esc, fmt, img_ref, section, table
from .page import page as html_page
from .viewer import PAGE_ROWS

if TYPE_CHECKING:
    from ..store.experiment import ExperimentRecord

__all__ = ["export_html", "report_html"]

# up to GRID_IMAGE_LIMIT images, each is embedded at this size, so the lightbox has a real picture
# to show (about 40 KB each); beyond, at the thumbnail's size (about 2 KB), so the file stays small
PREVIEW = 768
GRID_DPI = 90  # the drawn grid's resolution unless grid_dpi says: a page's worth on screen


def export_html(experiment: "ExperimentRecord", path: str | Path | None = None, **options: Any) -> Path:
    """Write the report (see `report_html` for the options); return its path.
    Default path: `<data>/reports/<experiment>.html`."""
    target = Path(path) if path is not None else Path(experiment.data_dir) / "reports" / f"{file_stem(experiment.name)}.html"
    if target.suffix.lower() not in (".html", ".htm"):  # an HTML file named .pdf opens as a broken PDF
        raise ValueError(f"path (-o): the report is one HTML file; name it ….html, not {target.name!r}")
    write_atomic(target, report_html(experiment, _target=target, **options).encode("utf-8"))  # a reader never sees half a report
    return target


def report_html(experiment: "ExperimentRecord", *, rows: str | None = None, cols: str | None = None,
                page: str | Sequence[str] | None = "auto", facet: str | None = None,
                where: Mapping[str, Any] | None = None, grid: str | None = "image", thumb: int = 160,
                grid_dpi: float | None = None, grid_cell_size: float | None = None, title: str | None = None,
                full_size: bool = False, preview: int | None = None, _target: str | Path | None = None) -> str:
    """The report as an HTML string.

    rows, cols, page, facet, where: the grid's layout (as `qwenlab.figures.grid.build_grid`).
    grid: "image" (the matplotlib grid as embedded JPEGs; the table above 200 images), "table"
    (an HTML table of thumbnails) or None (no grid). thumb: the thumbnails' size in pixels, as
    shown (WebP, cached on disk). preview: the size each image is embedded at, which the lightbox
    shows (default 768 px up to 200 images, else `thumb`). full_size: link the originals, put
    beside the report (only through `export_html`, which knows where the report goes).
    grid_dpi, grid_cell_size: the drawn grid's resolution and each image's height in inches
    (as `build_grid`'s dpi and cell_size; default 90 dpi and 2.2 in); the table has neither, and
    a GridOptionsUnusedWarning says so when they are given for it (`grid="table"`, or more than
    200 images, which are never drawn).
    """
    if grid not in GRID_MODES:
        raise ValueError(f"grid must be one of 'image', 'table' or None, got {grid!r}")
    if full_size and _target is None:
        raise ValueError("full_size=True needs the report's path, to put the originals beside it: "
                         "use export_html(exp, path, full_size=True)")
    # the key in the environment is scrubbed even if nothing registered it in this process
    register_secret(os.environ.get("RUNWARE_API_KEY"))
    catalog = Catalog.load(experiment).where(where)
    name = title or experiment.name
    paths = {e.path for e in catalog.entries if e.path}
    size = preview or (max(PREVIEW, thumb) if len(paths) <= GRID_IMAGE_LIMIT else thumb)
    uris = webp_thumbnails(paths, size)
    links = originals_beside((e.path for e in catalog.entries), _target) if full_size and _target else {}
    if _target and not full_size:
        drop_stale_originals(_target)  # a folder an earlier --full-size export left beside this file
    # the images the page holds: the others (a file gone or damaged) are said so wherever they would show
    embedded = {e.image_id for e in catalog.entries if e.image_id is not None and e.path in uris}
    thumbs = Thumbnails(uris, links)  # each embedded once, in the first section that shows it
    prov = catalog.provenance
    parts = [_provenance_banner(prov), f"<h1>{esc(name)}</h1>", _overview(experiment, catalog, where)]
    badges = score_badges(catalog)  # the log's text scores (no OCR); empty when none
    # a report of part of the experiment (where=): its ratings, judgements and scores are those of its images
    part = {e.image_id for e in catalog.entries if e.image_id is not None} if where else None
    scores = _text_scores(experiment, catalog, badges, part)
    nav = [("grid", "Grid"), ("costs", "Costs"), ("ratings", "Ratings"), ("text-scores", "Text scores"),
           ("requests", "Requests")]
    shown = {"grid": bool(grid), "text-scores": bool(scores)}
    parts.append("<p>" + " · ".join(f"<a href=\"#{a}\">{esc(t)}</a>" for a, t in nav if shown.get(a, True)) + "</p>")
    if grid and is_table(catalog, grid) and (grid_dpi is not None or grid_cell_size is not None):
        _unused_grid_options(catalog, grid, grid_dpi, grid_cell_size)
    if grid:
        parts.append(section("grid", "Grid", _grid_section(catalog, grid, rows, cols, page, facet, thumb,
                                                            GRID_DPI if grid_dpi is None else grid_dpi,
                                                            embedded, thumbs, cell_size=grid_cell_size)))
    frame = request_frame(experiment)  # each request's counted cost: the rows add up to the totals
    parts.append(section("costs", "Costs", costs_section(experiment, catalog, where)))
    parts.append(section("ratings", "Ratings and blind judgements", _ratings_section(experiment, catalog, embedded, part, thumbs)))
    if scores:  # a section of its own, not the head of the requests' (found there only by scrolling)
        parts.append(section("text-scores", "Text scores", scores))
    parts.append(section("requests", f"Requests ({len({e.task_id for e in catalog.entries})})",
                         _requests_section(catalog, thumbs, badges, request_costs(frame))))

    parts.append(f"<footer>Made by qwenlab {esc(__version__)} from {esc(Path(experiment.log.path).name)}. This file is self-contained: "
                 "images are embedded thumbnails" + (f"; the originals are in {esc(files_dir(_target).name)}/ beside it"
                 if links and _target else "; it loads nothing from anywhere") + ".</footer>")
    mark = prov.mark()
    return html_page(f"{name}{' — ' + mark if mark else ''} — qwenlab report", "\n".join(p for p in parts if p),
                     originals=bool(links), lightbox_note=None if links else _thumbnail_note(experiment, size, preview is not None, _target))


def _thumbnail_note(experiment: "ExperimentRecord", size: int, asked: bool, target: str | Path | None) -> str | None:
    """What the lightbox says under an image when the largest copy the file holds is a thumbnail
    (more than 200 images, embedded at the size the page shows them, or a small `preview=`); None
    for a preview of 768 px or more (the lightbox's usual note). It opened a 160-px thumbnail as
    "large", with the usual word about a preview: the user looked for a bigger image that the
    file does not hold. It says so, and the command that puts the originals beside it."""
    if size >= PREVIEW:
        return None
    file = Path(target).name if target is not None else "report.html"
    members = getattr(experiment, "names", None) if getattr(experiment, "experiments", None) else None
    how = (f"lab.compare({', '.join(repr(n) for n in members)}).export({file!r}, full_size=True)" if members else
           f"qwenlab export {shlex.quote(experiment.name)} -o {shlex.quote(file)} --full-size")
    why = f"preview={size} asked for it" if asked else f"a report of more than {GRID_IMAGE_LIMIT} images stays small"
    return (f"<span class=\"small\">This file holds each image as a {size}-px thumbnail only ({esc(why)}): the "
            "originals are not in it.</span><br>To see them here, export it "
            f"again with the originals beside it: <code>{esc(how)}</code>")


def _unused_grid_options(catalog: Catalog, grid: str, dpi: float | None, cell_size: float | None) -> None:
    """Say that the drawn grid's options do nothing: the grid is the table of thumbnails, whose
    size is `thumb`'s. Taken in silence, a --dpi 300 for a sharper grid left the user to find out
    from the page that nothing had changed, and not why."""
    given = " and ".join(name for name, value in (("grid_cell_size", cell_size), ("grid_dpi", dpi)) if value is not None)
    why = ("grid='table' asks for it" if grid == "table" else
           f"its {count_of(len(catalog.entries), 'cell')} are more than the {GRID_IMAGE_LIMIT} a drawn grid holds; "
           "where= keeps fewer, and they are drawn")
    warn(GridOptionsUnusedWarning(f"{given} do{'es' if ' and ' not in given else ''} nothing in this report: its grid "
                                  f"is a table of the thumbnails ({why}), which has no cell size nor dpi; "
                                  "thumb= sets the thumbnails' size", len(catalog.entries)))


# -- sections -------------------------------------------------------------------------------------
def _provenance_banner(prov: Any) -> str:
    """Where the results came from, first thing on the page (empty when nothing was sent)."""
    where = prov.headline()
    if not where:
        return ""
    kind = prov.kind
    cls = "synthetic" if kind == "emulator" else kind
    head, _, rest = where.partition(": ") if kind in ("emulator", "mixed") else ("", "", where)
    text = f"<b>{esc(head)}</b>: {esc(rest)}" if head else esc(where)
    return f"<div class=\"provenance {esc(cls)}\">{text}</div>"


def _overview(experiment: "ExperimentRecord", catalog: Catalog, filters: Mapping[str, Any] | None = None) -> str:
    row = experiment.row
    sweep = experiment.sweep
    where = catalog.provenance.headline()  # in the banner above: not again here
    lines = "".join(f"<div class=\"muted\">{esc(line.strip())}</div>" for line in experiment.summary().splitlines()
                    if line.strip() != where)
    axes = "; ".join(f"{a}: {label_list(i.label(v) for v in i.values)}" for a, i in catalog.axes.items() if a != REPEAT)
    versions = sorted({e.task.get("qwenlab_version") for e in catalog.entries if e.task.get("qwenlab_version")})
    members = list(getattr(experiment, "experiments", None) or [])  # a comparison: each run's own budget and base
    budgets = [(m.name, m.budget_usd) for m in members] if members else [(None, row.get("budget_usd"))]
    budget = "; ".join(f"{esc(name) + ': ' if name else ''}{format_usd(usd) if usd is not None else 'none'}"
                       for name, usd in budgets)
    tags, notes = _tags_and_notes(experiment, members)
    # a report of part of the experiment says so first: "size = 512x768: 4 of its 8 requests"
    part = (f"{describe_where(filters, catalog)}: {len({e.task_id for e in catalog.entries})} of its "
            f"{count_of(experiment.counts()['cells'], 'request')}") if filters else None
    facts = [("shown", part), ("model", row.get("model")), ("status", row.get("status")), ("ran on", _ran_on(catalog.provenance)),
             ("qwenlab", ", ".join(versions)), ("created", row.get("created_at")),
             ("updated", row.get("updated_at")), ("budget", budget),
             ("why it stopped", row.get("stop_reason")), ("tags", tags), ("notes", notes), ("axes", axes),
             ("repeats", sweep.get("repeats")), ("seed policy", _seed_policy(sweep, catalog))]
    kv = table(["", ""], [[esc(k), v if k in ("budget", "notes") else esc(v)] for k, v in facts if v not in (None, "")],
               cls="kv")
    bases = ([(f"{m.name}: the sweep's base request", m.sweep.get("base", {})) for m in members] if members
             else [("the sweep's base request", sweep.get("base", {}))])
    return lines + kv + legend(catalog) + "".join(details(title, f"<pre>{esc(json.dumps(base, indent=2, ensure_ascii=False))}</pre>")
                                                  for title, base in bases)


def _tags_and_notes(experiment: "ExperimentRecord", members: list[Any]) -> tuple[str, str]:
    """Its tags ("posters, lumiere") and its note as HTML, its paragraphs kept; of a comparison,
    each run's, named ("a: posters; b: draft")."""
    def tags_of(m: Any) -> list[str]:
        return Organizer(m.log, m.data_dir).tags(m.id)

    def note_html(text: str) -> str:  # a note of several paragraphs keeps them
        return f"<div style=\"white-space:pre-wrap\">{esc(text)}</div>"

    if not members:
        note = experiment.row.get("notes")
        return ", ".join(tags_of(experiment)), note_html(note) if note else ""
    tags = "; ".join(f"{m.name}: {', '.join(t)}" for m in members if (t := tags_of(m)))
    notes = "".join(note_html(f"{m.name}: {m.row['notes']}") for m in members if m.row.get("notes"))
    return tags, notes


def _seed_policy(sweep: dict[str, Any], catalog: Catalog) -> str | None:
    """The seed policy as asked and, where it was "auto", what the cells used: "auto -> sample"."""
    asked = sweep.get("seed_policy")
    used = sorted({str(e.task["seed_policy"]) for e in catalog.entries if e.task.get("seed_policy")})
    if asked == "auto" and used:
        return f"auto -> {', '.join(used)}"
    return asked


def _ran_on(prov: Any) -> str:
    """Where the cells ran, in a few words: "qwenlab's offline emulator (127.0.0.1:8787)", "Runware (api.runware.ai)", ..."""
    parts = []
    if prov.emulator:
        parts.append(f"{prov.emulator} on qwenlab's offline emulator ({', '.join(prov.emulator_hosts) or '?'}): synthetic")
    if prov.runware:
        parts.append(f"{prov.runware} on Runware ({', '.join(prov.runware_hosts) or '?'})")
    if prov.unknown:
        parts.append(f"{prov.unknown} not recorded")
    return "; ".join(parts)


def _ratings_section(experiment: "ExperimentRecord", catalog: Catalog, embedded: set[int],
                     shown: set[int] | None = None, thumbs: Thumbnails | None = None) -> str:
    """The ratings (each image's latest by axis value, then every one) and the blind judgements;
    `shown`: of a report of part of the experiment, only those of these images; `thumbs`: where
    the rated images' thumbnails come from (without it, by reference to the requests' rows)."""
    import pandas as pd

    ratings = pd.DataFrame(experiment.log.ratings(experiment.id),
                           columns=["id", "image_id", "score", "note", "judge", "created_at"])
    if shown is not None:
        ratings = ratings[ratings["image_id"].isin(shown)]
    by_image = {e.image_id: e for e in catalog.entries if e.image_id is not None}
    stamped = [a for a in catalog.axes if catalog.axes[a].varies and a != REPEAT]
    out = []
    if ratings.empty:
        out.append("<p class=\"muted\">No ratings yet (rate images in the explorer).</p>")
    else:
        # the latest rating of each image counts, its score the latest given (a later note keeps it)
        latest = experiment.log.latest_ratings(experiment.id).values()
        means = []
        for axis in stamped:
            sums: dict[str, list[float]] = defaultdict(list)
            for r in latest:
                e = by_image.get(int(r["image_id"]))
                if e is not None and not is_missing(r["score"]):
                    sums[catalog.axes[axis].label(e.value(axis))].append(float(r["score"]))
            means.extend([[esc(axis), esc(v), f"{sum(s) / len(s):.2f}", str(len(s))] for v, s in sums.items()])
        if means:
            out.append("<h3>mean score (latest rating of each image)</h3>" + table(["axis", "value", "mean", "images"], means,
                                                                                  numeric=(2, 3)))
        body = []
        for r in ratings.itertuples():
            e = by_image.get(r.image_id)
            alt = caption(e, catalog, stamped) if e else f"image {r.image_id}"
            if r.image_id in embedded and e is not None:  # embedded here when no section above shows it
                pic = thumbs.img(r.image_id, str(e.path), alt) if thumbs is not None else img_ref(r.image_id, alt)
            else:
                pic = f"<div class=\"failed\">{esc(UNREADABLE)}</div>" if e is not None else ""
            body.append([pic, esc(stamp_text(e, catalog, stamped)) if e else esc(r.image_id), fmt(r.score), esc(r.note),
                         esc(r.judge), esc(r.created_at)])
        out.append("<h3>every rating</h3>" + table(["image", "what", "score", "note", "judge", "when"], body))
    out.append(_judgements(experiment, catalog, shown))
    return "".join(out)


def _judgements(experiment: "ExperimentRecord", catalog: Catalog, shown: set[int] | None = None) -> str:
    """Each judged value's win rate with its Wilson interval, as `qwenlab.analysis.judging.win_rates` counts it."""
    judged = sorted({j["axis"] for j in experiment.log.judgements(experiment.id)})
    body = []
    left_out = 0
    for axis in (a for a in judged if a in catalog.axes):
        frame = win_rates(experiment, axis, images=shown)
        left_out += len(frame.attrs["confounded"])
        for r in frame.itertuples():
            if r.judgements:
                body.append([esc(axis), esc(r.criterion), esc(r.value), str(r.wins), str(r.losses), str(r.ties), f"{r.win_rate:.0%}",
                             "{} to {}".format(*bounds_percent(r.ci_low, r.ci_high))])  # outward, as the sentences
    # confounded judgements (recorded before record_judgement refused them) are in no row: said here
    out = (f" {count_of(left_out, 'judgement')} left out: {'its' if left_out == 1 else 'their'} two images differ in another "
           "setting too (qwenlab.analysis.judging.confounded lists them).") if left_out else ""
    if not body:
        return f"<h3>blind judgements</h3><p class=\"muted\">None counted.{esc(out)}</p>" if out else \
            "<p class=\"muted\">No blind judgements yet.</p>"
    return ("<h3>blind judgements</h3><p class=\"muted\">win rate counts a tie as half a win; "
            f"the interval is Wilson's, at 95%, its bounds rounded outward.{esc(out)}</p>"
            + table(["axis", "criterion", "value", "wins", "losses", "ties", "win rate", "95% interval"], body,
                    numeric=(3, 4, 5, 6)))


def _text_scores(experiment: "ExperimentRecord", catalog: Catalog, badges: Any, shown: set[int] | None = None) -> str:
    """The text score by each varying axis, with intervals; "" when nothing is scored.
    `shown`: of a report of part of the experiment, the scores of these images only."""
    if not badges:
        return ""

    df = text_scores(experiment, badges.engine)
    if shown is not None:
        df = df[df["image_id"].isin(shown)]
    # the lines `qwenlab score` prints: word accuracy, images read right and cost per correct image
    groups = [axis_lines(df, a) for a in catalog.varying if a != REPEAT and a in df.columns] or [
        [describe(df), describe(df, None, "correct")]]
    def line_html(line: str) -> str:  # a value's cost, indented under its axis as in the shell
        return f"<span style=\"padding-left:1.5em\">{esc(line.strip())}</span>" if line.startswith("  ") else esc(line)

    items = "".join("<li>" + "<br>".join(line_html(line) for line in lines) + "</li>" for lines in groups)
    gap = f" {esc(badges.left_out.sentence())}." if badges.left_out else ""  # images only another engine scored
    return (f"<p class=\"muted\">OCR by {esc(badges.engine)}: the quoted text of each prompt, "
            f"read back from the image.{gap}</p><ul>{items}</ul>")


def _requests_section(catalog: Catalog, thumbs: Thumbnails, badges: Any = None,
                      costs: dict[int, str] | None = None) -> str:
    axes = [a for a in catalog.axes if a != REPEAT]
    size_axis = "size" in axes  # then its column says it: not a second "size"
    mixed = catalog.provenance.mixed  # cells on the emulator and on Runware: each row says which
    tasks: dict[int, list[Entry]] = {}
    for e in catalog.entries:
        tasks.setdefault(e.task_id, []).append(e)
    # the prompts' summaries in the prompt column, told apart where long ones start alike (cut at
    # the start, prompts of a prompt axis that part after 120 characters all read the same)
    shorts = {**_summaries([g[0].prompt for g in tasks.values()], 120),
              **_summaries([g[0].negative_prompt for g in tasks.values()], 80)}
    body = []
    for group in tasks.values():
        first = group[0]
        t = first.task
        stamped = [a for a in axes if catalog.axes[a].varies]
        # a cell without an image says why in its place, as the grid's blank does ("IN DOUBT: sent, no
        # answer logged", "FAILED: inferenceError"; the error column has the rest)
        pics = "".join(thumbs.img(e.image_id, e.path, caption(e, catalog, stamped))
                       if e.path in thumbs.uris else
                       f"<div class=\"failed\">{esc(e.problem().splitlines()[0] if e.failed else UNREADABLE)}</div>"
                       for e in group)
        # a task left 'sent' is in_doubt, as every count says; "running" while its run still sends
        status = esc(first.status_said)
        if first.status == "failed":
            status = f"<span class=\"failed\">{status}</span>"
        elif first.status_said == IN_DOUBT:
            status = f"<span class=\"failed\" title=\"{esc(IN_DOUBT_ADVICE)}\">{status}</span>"
        error = ""
        if first.error_code or first.error_message:
            error = f"<span class=\"failed\">{esc(first.error_code)}</span> {esc(first.error_detail)}"
        seeds = ", ".join(str(e.seed) for e in group if e.seed is not None) or (
            f"{first.requested_seed} (sent)" if first.requested_seed is not None else "")
        prompt = _long_text(first.prompt, 120, shorts)
        negative = (f"<div class=\"prompt\">{_long_text(first.negative_prompt, 80, shorts)}</div>"
                    if first.negative_prompt else "")
        request = t.get("request_json")
        req_html = details("request JSON", f"<pre>{esc(_pretty(request))}</pre>") if request else ""
        body.append([
            pics,
            *[esc(catalog.axes[a].label(first.value(a))) for a in axes], esc(first.repeat), status,
            *([_ran_on_cell(t)] if mixed else []), esc(seeds),
            (costs or {}).get(first.task_id, ""), fmt(first.latency_s, "s"), esc(t.get("attempts")), error,
            f"<div class=\"prompt\">{prompt}</div>", negative,
            *([] if size_axis else [esc(f"{first.width}x{first.height}" if first.width else "")]), req_html,
        ])
        if badges:
            found = [badges.get(e.image_id) for e in group if e.image_id is not None]
            body[-1].insert(1, "".join(f"<div style=\"border-left:6px solid {b.hex};padding-left:4px\">{esc(b.label)}: "
                                       f"{esc(b.detail)}</div>" if b else "<div class=\"muted\">not scored</div>"
                                       for b in found))
    own = ["repeat", "status", *(["ran on"] if mixed else []), "seed (reported)", "cost", "latency", "attempts", "error",
           "prompt", "negative prompt", *([] if size_axis else ["size"]), "request"]
    # an axis named as one of the table's own columns (a bundle or request axis "status", or a
    # prompt axis beside the prompt in full) is headed "axis:status", as the cost keys spell it
    heads = ["images", *(["text score"] if badges else []),
             *[AXIS_PREFIX + a if a in own or a in ("images", "text score") else a for a in axes], *own]
    # a column empty on every row (no error, no negative prompt) only widens the table
    keep = [i for i, h in enumerate(heads) if h not in ("error", "negative prompt") or any(row[i] for row in body)]
    return table([heads[i] for i in keep], [[row[i] for i in keep] for row in body], cls="paged", page_rows=PAGE_ROWS)


def _ran_on_cell(task: Mapping[str, Any]) -> str:
    """Where one request ran, for a report whose cells ran on both the emulator and Runware."""
    if is_unreached(task):
        return ""  # no server answered: it ran nowhere
    backend = backend_label(task.get("backend"))
    if backend == EMULATOR:
        return "<span class=\"failed\">emulator: SYNTHETIC</span>"
    return "Runware" if backend == RUNWARE else "not recorded"


# -- helpers --------------------------------------------------------------------------------------------
def _long_text(text: str | None, limit: int, shorts: Mapping[str, str] | None = None) -> str:
    """`text` whole, or, longer than `limit`, its summary (`shorts`' or its start) opening to it."""
    if not text:
        return ""
    if len(text) <= limit:
        return esc(text)
    return details((shorts or {}).get(text) or text[: limit - 1] + "…", f"<div>{esc(text)}</div>")


def _summaries(texts: Sequence[str | None], limit: int) -> dict[str, str]:
    """The summary of each text longer than `limit`, by the rule every label follows
    (`distinct_labels`): its start, or, where long texts start alike, where it parts from the others
    ("…the headline reads 'AURELIS' in silver sans letters"). Wider than the axis's label beside
    it ("prompt 2: …reads 'AURELIS' in silver…"): this column shows as much of the text as fits."""
    long = sorted({t for t in texts if t and len(t) > limit})
    return dict(zip(long, distinct_labels(long, limit, excerpt)))


def _pretty(request_json: str) -> str:
    try:
        return json.dumps(json.loads(request_json), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(request_json)

