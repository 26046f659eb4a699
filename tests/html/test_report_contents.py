"""What the report says about the experiment it shows: its tags and notes (a comparison's, each
run's), the cost of each request counted as the totals count it, and, for a report of part of an
experiment (`where=`), only that part."""

from __future__ import annotations

import re
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
