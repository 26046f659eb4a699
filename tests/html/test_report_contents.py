"""What the report says about the experiment it shows: its tags and notes (a comparison's, each
run's), the cost of each request counted as the totals count it, and, for a report of part of an
experiment (`where=`), only that part."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from qwenlab import Lab
from qwenlab.html.report import report_html
from tests.support.labkit import run_sweep


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
        '$0.0950 <span class="muted">($0.0200 of it for 1 earlier attempt)</span>']

    doubt = run_sweep(emulator, data_dir, name="doubt", repeats=1)
    with sqlite3.connect(doubt.log.path) as db:  # a run killed while the request was on the wire
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL "
                   "WHERE status = 'failed' AND experiment_id = ?", [doubt.id])
    rows = _requests(report_html(doubt))
    assert sum(_usd(r["cost"]) for r in rows) == pytest.approx(doubt.cost) == pytest.approx(4 * 0.075)
    in_doubt = [r for r in rows if "in_doubt" in r["status"]]
    assert len(in_doubt) == 1 and in_doubt[0]["cost"].startswith("$0.0750") and "in doubt" in in_doubt[0]["cost"]
