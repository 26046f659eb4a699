"""What the report says about the experiment it shows: its tags and notes (a comparison's, each
run's), the cost of each request counted as the totals count it, and, for a report of part of an
experiment (`where=`), only that part."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from qwenlab import Lab
from qwenlab.costs import Costs
from qwenlab.html.page import esc
from qwenlab.html.report import report_html
from qwenlab.typography.reading import Reading, TextLine
from qwenlab.typography.scores import score_experiment
from tests.support.labkit import rename_axes, run_sweep


def _overview(html: str) -> dict[str, str]:
    """The overview's facts: {"tags": "...", "notes": "..."} as their cells' HTML."""
    kv = html.split('<table class="kv">')[1].split("</table>")[0]
    return dict(re.findall(r"<tr><td>([^<]*)</td><td>(.*?)</td></tr>", kv, flags=re.S))


@pytest.fixture
def exp(emulator, data_dir: Path):
    return run_sweep(emulator, data_dir, name="tagged", repeats=1)


def test_tags_and_notes_are_in_the_report(exp, emulator, data_dir: Path) -> None:
    """The tags a user gave an experiment were nowhere in its report, and a comparison's report
    gave neither its runs' tags nor their notes."""
    lab = Lab(data_dir)
    tagged = lab.experiment("tagged")
    tagged.tag("posters", "lumiere")
    tagged.note("First try.\n\nSent to Ana <ana@example.com>.")
    facts = _overview(report_html(tagged))
    assert facts["tags"] == "posters, lumiere"
    assert "First try.\n\nSent to Ana &lt;ana@example.com&gt;." in facts["notes"]  # its paragraphs kept, escaped
    assert "pre-wrap" in facts["notes"]

    run_sweep(emulator, data_dir, name="second", repeats=1, fail_one=False)
    lab.experiment("second").tag("draft")
    facts = _overview(report_html(lab.compare("tagged", "second")))
    assert facts["tags"] == "tagged: posters, lumiere; second: draft"
    assert "tagged: First try." in facts["notes"] and "second:" not in facts["notes"]  # only the run with a note


def _requests(html: str) -> list[dict[str, str]]:
    """The requests table's rows, each {heading: cell HTML}."""
    part = html.split('id="requests"')[1]
    heads = re.findall(r"<th>(.*?)</th>", part.split("</thead>")[0])
    rows = re.findall(r"<tr>(.*?)</tr>", part.split("</thead>")[1].split("</table>")[0], flags=re.S)
    return [dict(zip(heads, re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S))) for r in rows]


def _usd(cell: str) -> float:
    found = re.match(r"\$([0-9.,]+)", cell)
    return float(found.group(1).replace(",", "")) if found else 0.0


def test_each_request_costs_what_the_totals_count(exp, emulator, data_dir: Path) -> None:
    """A request in doubt showed no cost where the totals counted its estimate, and a cell whose
    failed first attempt was charged showed only its last attempt's cost: the rows did not add up
    to the total above them."""
    with sqlite3.connect(exp.log.path) as db:  # the API charged the failed request (it may)
        db.execute("UPDATE tasks SET cost_usd = 0.02 WHERE status = 'failed' AND experiment_id = ?", [exp.id])
    retried = run_sweep(emulator, data_dir, name="tagged", repeats=1, fail_one=False)  # run again: the cell retried
    rows = _requests(report_html(retried))
    assert sum(_usd(r["cost"]) for r in rows) == pytest.approx(retried.cost) == pytest.approx(4 * 0.075 + 0.02)
    assert [r["cost"] for r in rows if "earlier" in r["cost"]] == [
        '$0.095 <span class="muted">($0.02 of it for 1 earlier attempt)</span>']

    doubt = run_sweep(emulator, data_dir, name="doubt", repeats=1)
    with sqlite3.connect(doubt.log.path) as db:  # a run killed while the request was on the wire
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL "
                   "WHERE status = 'failed' AND experiment_id = ?", [doubt.id])
    rows = _requests(report_html(doubt))
    assert sum(_usd(r["cost"]) for r in rows) == pytest.approx(doubt.cost) == pytest.approx(4 * 0.075)
    in_doubt = [r for r in rows if "in_doubt" in r["status"]]
    assert len(in_doubt) == 1 and in_doubt[0]["cost"].startswith("$0.075") and "in doubt" in in_doubt[0]["cost"]


class _Reads:
    """An OCR engine that reads every image's headline right."""

    name, version = "fake", "fake 1"

    def read(self, image: object) -> Reading:
        return Reading(self.name, (TextLine("Glow, Refined.", 0.9, None),), self.version, 0.01, 512, 768)


def test_a_report_of_part_of_an_experiment_counts_only_that_part(emulator, data_dir: Path) -> None:
    """`export --where size=512x768` showed the part's images beside the whole experiment's costs,
    win rates and text scores, and a rating of an image not shown as a bare image id."""
    exp = run_sweep(emulator, data_dir, name="part", repeats=1, fail_one=False)
    images = exp.images.set_index(["size", "promptExtend"])["image_id"].astype(int)
    exp.log.rate(int(images["768x512", True]), 2, note="only in the other size")
    exp.log.rate(int(images["512x768", True]), 5, note="shown")
    exp.log.judge(exp.id, "promptExtend", int(images["512x768", True]), int(images["512x768", False]), "a")
    exp.log.judge(exp.id, "promptExtend", int(images["768x512", True]), int(images["768x512", False]), "b")
    exp.log.judge(exp.id, "promptExtend", int(images["768x512", False]), int(images["768x512", True]), "a", "text correct")
    score_experiment(exp, _Reads(), progress=False)

    html = report_html(exp, where={"size": "512x768"})
    assert _overview(html)["shown"] == "size = 512x768: 2 of its 4 requests"
    costs = html.split('id="costs"')[1].split("</section>")[0]
    assert "Costs (experiment part; the requests shown: size = 512x768): $0.15" in costs and "2 tasks (2 done" in costs
    assert "the whole cost $0.30 over 4 tasks" in costs  # and where the whole is
    rows = {r[0]: r[1:] for r in re.findall(r"<tr><td>(on|off)</td><td[^>]*>(\d+)</td>.*?<td[^>]*>(\$[0-9.]+)</td>",
                                            costs.split("<h3>by promptExtend</h3>")[1])}
    assert rows == {"on": ("1", "$0.075"), "off": ("1", "$0.075")}  # a task each, not the whole's two
    # the part's words are those of a Costs of its tasks (written apart before, they could drift),
    # notes included: the part said none, not even that its money was the emulator's
    part = Costs(exp.log, experiments="part", task_ids=[int(t) for t in exp.df.loc[exp.df["size"] == "512x768", "task_id"]],
                 tasks_said="the requests shown: size = 512x768")
    totals = part.totals()
    for line in [*part.headline(totals), *part.notes(totals)]:
        assert esc(line) in costs, line
    assert esc("ran on qwenlab's offline emulator") in costs
    ratings = html.split('id="ratings"')[1].split("</section>")[0]
    assert "shown" in ratings and "only in the other size" not in ratings
    judged = ratings.split("<h3>blind judgements</h3>")[1]
    assert "text correct" not in judged  # judged only in the other size
    assert re.search(r"<td>promptExtend</td><td>overall</td><td>on</td><td[^>]*>1</td><td[^>]*>0</td>", judged)
    scores = html.split('id="text-scores"')[1].split("</section>")[0]
    assert "(n=1)" in scores and "(n=2)" not in scores  # one image of each value shown, not two

    whole = report_html(exp)  # the whole experiment's report is as it was
    assert "Costs (experiment part): $0.30" in whole and "only in the other size" in whole and "(n=2)" in whole


def test_an_image_whose_file_is_damaged_is_said_so_wherever_it_would_show(exp) -> None:
    """The sections show an image by reference to its thumbnail embedded in the first one (the
    grid table); a damaged file has none, and they showed a broken-picture icon instead of saying why."""
    first = exp.images.iloc[0]
    exp.log.rate(int(first.image_id), 3, note="the damaged one")
    with open(first.path, "r+b") as f:  # damaged on disk: not the bytes logged, so not embedded
        f.write(b"garbage")
    html = report_html(exp, grid="table")
    held = set(re.findall(r'data-i="(\d+)"', html))
    refs = re.findall(r'data-ref="(\d+)"', html)
    assert str(first.image_id) not in held and refs and set(refs) <= held  # no reference to a picture not in the file
    for part in ('id="grid"', 'id="ratings"', 'id="requests"'):
        assert "image unreadable: its file is missing or damaged" in html.split(part)[1].split("</section>")[0], part


def test_a_request_without_an_image_says_why_in_its_place(exp) -> None:
    """A failed or in-doubt request's images cell was empty (the branch meant to say why was
    never reached); in doubt, what it means was only a tooltip, which a touch screen never shows."""
    failed = [r for r in _requests(report_html(exp)) if "failed" in r["status"]]
    assert len(failed) == 1 and "FAILED: inferenceError" in failed[0]["images"]
    with sqlite3.connect(exp.log.path) as db:
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL WHERE status = 'failed'")
    doubt = [r for r in _requests(report_html(exp)) if "in_doubt" in r["status"]]
    assert len(doubt) == 1 and "IN DOUBT: sent, no answer logged" in doubt[0]["images"]


def test_a_request_on_the_wire_of_a_run_still_sending_reads_running_not_in_doubt(exp) -> None:
    """A report made while its run still sends (its run lock held, as a live run's is) said
    "in_doubt" of the request waiting for its answer, as of one a dead run left unanswered."""
    from qwenlab.store.run_lock import holding_run

    with sqlite3.connect(exp.log.path) as db:  # one cell on the wire: sent, no answer logged yet
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL WHERE status = 'failed'")
    with holding_run(exp.log.path, exp.id):
        exp.log.update_experiment(exp.id, status="running")
        rows = _requests(report_html(exp))
        exp.log.update_experiment(exp.id, status="interrupted")
    waiting = [r for r in rows if "running" in r["status"]]
    assert len(waiting) == 1 and "RUNNING: sent, waiting for its answer" in waiting[0]["images"]
    assert not [r for r in rows if "in_doubt" in r["status"]]
    doubt = [r for r in _requests(report_html(exp)) if "in_doubt" in r["status"]]  # its run ended: in doubt now
    assert len(doubt) == 1 and "IN DOUBT: sent, no answer logged" in doubt[0]["images"]


def test_the_requests_table_heads_an_axis_named_status_apart_from_the_status(emulator, data_dir: Path) -> None:
    """A bundle axis took any name (an older log keeps one a sweep now refuses): one named "status" was headed "status" as the request's
    status beside it, two columns of one name. The axis is headed "axis:status", as the cost keys
    spell it, and each column keeps its own values."""
    axes = {"look": {"draft": {"promptExtend": True}, "final": {"promptExtend": False}}}
    run_sweep(emulator, data_dir, name="named", axes=axes, repeats=1, fail_one=False)
    exp = rename_axes(data_dir, "named", {"look": "status"})  # a sweep now refuses the name; an older log keeps it
    html = report_html(exp)
    heads = re.findall(r"<th>(.*?)</th>", html.split('id="requests"')[1].split("</thead>")[0])
    assert heads.count("status") == 1 and heads.count("axis:status") == 1, heads
    rows = _requests(html)
    assert [(r["axis:status"], r["status"]) for r in rows] == [("draft", "done"), ("final", "done")], rows
