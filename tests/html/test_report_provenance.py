"""The HTML report opens with a banner saying where its results came from: SYNTHETIC for the
emulator (images drawn locally, costs emulated), MIXED when cells came from both, and its costs
never call the emulator's numbers "reported by the API"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qwenlab.html.report import report_html
from tests.support.backends import relabel
from tests.support.labkit import run_sweep


@pytest.fixture
def exp(emulator, data_dir: Path):
    return run_sweep(emulator, data_dir, name="report", fail_one=False)


def _body_start(html: str) -> str:
    return html.split("<body>", 1)[1][:2000]


def test_an_emulator_report_opens_with_a_synthetic_banner(exp) -> None:
    html = report_html(exp, grid="table")
    top = _body_start(html)
    assert top.lstrip().startswith('<div class="provenance synthetic"')
    assert "SYNTHETIC" in top and "offline emulator" in top and "costs emulated" in top
    assert "reported by the API" not in html
    assert "<title>report — SYNTHETIC" in html


def test_a_mixed_report_says_mixed(exp) -> None:
    relabel(exp, "runware", every=2)
    top = _body_start(report_html(exp, grid="table"))
    assert "MIXED" in top and "4 on Runware" in top


def test_a_runware_report_names_where_it_ran(exp) -> None:
    relabel(exp, "runware")
    html = report_html(exp, grid="table")
    top = _body_start(html)
    assert "SYNTHETIC" not in html and 'class="provenance runware"' in top and "api.runware.ai" in top


def test_a_mixed_report_says_which_requests_and_images_are_synthetic(exp) -> None:
    """A MIXED report said so at its top, and nowhere which request or image ran on the emulator:
    its requests, and the images the lightbox shows, read alike whichever backend made them."""
    relabel(exp, "runware", every=2)
    html = report_html(exp, grid="table")
    requests = html.split('id="requests"')[1]
    assert "<th>ran on</th>" in requests
    ran = re.findall(r"<td>(<span class=\"failed\">emulator: SYNTHETIC</span>|Runware)</td>", requests)
    assert sorted(ran) == ["<span class=\"failed\">emulator: SYNTHETIC</span>"] * 4 + ["Runware"] * 4
    # each image's caption, in either section, whether its thumbnail is embedded there or referred to
    thumb = r'<img class="thumb" (?:src="[^"]+"|data-ref="\d+") alt="([^"]*)"'
    alts = re.findall(thumb, requests)
    assert len(alts) == 8 and sum(a.endswith(" · SYNTHETIC (emulator)") for a in alts) == 4
    grid = html.split('id="grid"')[1].split("</section>")[0]
    alts = re.findall(thumb, grid)
    assert len(alts) == 8 and sum(a.endswith(" · SYNTHETIC (emulator)") for a in alts) == 4

    relabel(exp, "emulator")  # all on one backend: the banner says it, no column repeats it
    html = report_html(exp, grid="table")
    assert "<th>ran on</th>" not in html and "SYNTHETIC (emulator)" not in html
