"""A prompt axis reads the same in every part of the report: each prompt under one name in the
grid's headers, each image's caption, the requests table and the cost table, as the grid and the
explorer name it (`qwenlab.store.axes.AxisInfo`); prompts that share a long start are told
apart; the full text is there on hover and in the lightbox."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from qwenlab.html.report import export_html, report_html
from tests.support.labkit import run_sweep

# longer than the requests table's 120-character summary, and alike for longer than that: cut
# at the start, each read the same
COMMON = ("A premium beauty poster for a skincare brand, soft studio light, a marble pedestal with a frosted glass "
          "bottle, gold leaf accents, the headline reads ")
PROMPTS = [COMMON + "'LUMIERE' in gold serif letters", COMMON + "'AURELIS' in silver sans letters",
           COMMON + "'NOCTIS' in black script letters"]
NBSP = "\u00a0"


class _Page(HTMLParser):
    """The report's elements as (tag, attributes, text), nested elements' text included."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("img", "br", "meta", "input"):
            self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.elements[self.open.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for i in self.open:
            self.elements[i][2].append(data)

    def texts(self, tag: str, **attrs: str) -> list[str]:
        return ["".join(t).replace(NBSP, " ").strip() for name, a, t in self.elements
                if name == tag and all(a.get(k) == v for k, v in attrs.items())]

    def attrs(self, tag: str) -> list[dict[str, str]]:
        return [a for name, a, _ in self.elements if name == tag]


def _section(html: str, anchor: str) -> str:
    return html.split(f'<section id="{anchor}">')[1].split("</section>")[0]


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _table(html: str) -> list[dict[str, str]]:
    """The first table's rows of `html`, each {heading: cell text}."""
    heads = [unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", html.split("</thead>")[0])]
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("</thead>")[1].split("</table>")[0], flags=re.S)
    return [dict(zip(heads, (unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S))))
            for r in rows]


def _agreement(exp: Any, html: str) -> dict[str, Any]:
    """Each prompt's name in each part of the report, checked to agree; returns the axis's info."""
    info = exp._axis_infos()["prompt"]
    labels = [info.label(v) for v in info.values]
    tags = [info.tag(v).replace(NBSP, " ") for v in info.values]
    assert len(set(labels)) == len(set(tags)) == len(PROMPTS)  # prompts alike for 120 characters, told apart

    grid = _parsed(_section(html, "grid"))
    heads = [h.removeprefix("prompt: ") for h in grid.texts("th") if h]
    assert heads == labels  # the grid's columns: the prompts, as the explorer's filter names them

    costs = [r["prompt"] for r in _table(_section(html, "costs").split("<h3>by prompt</h3>")[1])]
    assert costs == labels

    requests = _table(_section(html, "requests"))
    assert [r["axis:prompt"] for r in requests] == [label for label in labels for _ in (True, False)]

    # each image's caption (the thumbnails' alt, which the lightbox shows), in the grid and the requests
    for part in (grid, _parsed(_section(html, "requests"))):
        captions = [a["alt"].replace(NBSP, " ") for a in part.attrs("img")]
        assert len(captions) == 2 * len(PROMPTS)
        for caption in captions:
            named = caption.split(" · ")[0]
            assert named in tags
            label = labels[tags.index(named)]
            # the caption's short name is the start of the label ("prompt 2" of "prompt 2: …reads 'AURELIS'…"),
            # or the label given ("prompt=aurelis" of "aurelis")
            assert label.startswith(named + ": ") or named == f"prompt={label}"
    return {"info": info, "labels": labels, "tags": tags, "requests": requests}


@pytest.fixture
def long_prompts(emulator, data_dir: Path):
    return run_sweep(emulator, data_dir, name="long-prompts", repeats=1, fail_one=False,
                     axes={"prompt": PROMPTS, "promptExtend": [True, False]})


def test_prompts_that_start_alike_read_apart_and_alike_everywhere(long_prompts) -> None:
    html = report_html(long_prompts, grid="table", rows="promptExtend", cols="prompt")
    found = _agreement(long_prompts, html)
    assert found["labels"][1].startswith("prompt 2: ") and "AURELIS" in found["labels"][1]
    # the requests' prompt column: the full text, cut where a long one is shown short; cut at the
    # start, the three read the same
    summaries = [r["prompt"] for r in found["requests"]]
    shown = _parsed(_section(html, "requests")).texts("summary")
    shown = [s for s in shown if s != "request JSON"]
    assert len(set(shown)) == len(PROMPTS), shown
    assert all(s.strip("…") in summary for s, summary in zip(shown, summaries))
    assert [s.startswith("…") for s in shown] == [True] * len(shown)  # not the start all share


def test_labelled_prompts_read_by_their_labels_everywhere(emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="labelled", repeats=1, fail_one=False,
                    axes={"prompt": dict(zip(["lumiere", "aurelis", "noctis"], PROMPTS)), "promptExtend": [True, False]})
    found = _agreement(exp, report_html(exp, grid="table", rows="promptExtend", cols="prompt"))
    assert found["labels"] == ["lumiere", "aurelis", "noctis"]


def test_the_full_text_of_each_shortened_prompt_is_on_hover_and_in_the_legend(long_prompts) -> None:
    html = report_html(long_prompts, grid="table", rows="promptExtend", cols="prompt")
    info = long_prompts._axis_infos()["prompt"]
    page = _parsed(html)
    notes = [f"prompt {i + 1}: {p}" for i, p in enumerate(PROMPTS)]
    # hovering a column's heading, or a row of the cost table, shows its prompt in full
    titles = [a.get("title") for a in _parsed(_section(html, "grid")).attrs("th") if a.get("title")]
    assert titles == notes
    costs = _section(html, "costs").split("<h3>by prompt</h3>")[1].split("</table>")[0]
    assert [a.get("title") for a in _parsed(costs).attrs("span")] == notes
    # the legend: each short name with its prompt in full, as the drawn grid's footnotes say it;
    # the lightbox shows an image's from it
    legend = {a["data-key"]: a for a in page.attrs("div") if "data-key" in a}
    assert list(legend) == [info.tag(v).replace(NBSP, " ") for v in info.values]
    texts = [t for name, a, t in page.elements if name == "div" and "data-key" in a]
    assert ["".join(t) for t in texts] == notes


def test_a_report_of_one_prompt_names_it_as_the_rest_of_the_report_does(long_prompts) -> None:
    info = long_prompts._axis_infos()["prompt"]
    html = report_html(long_prompts, grid="table", where={"prompt": PROMPTS[1]})
    label = info.label(PROMPTS[1])
    shown = re.search(r"<tr><td>shown</td><td>(.*?)</td></tr>", html).group(1)
    assert unescape(shown) == f"prompt = {label}: 2 of its 6 requests"
    costs = unescape(_section(html, "costs"))
    assert f"the requests shown: prompt = {label})" in costs  # the requests shown, by the name every table gives
    assert PROMPTS[1] not in costs


@pytest.mark.slow
def test_the_lightbox_shows_the_prompt_its_caption_names_short(chromium: str, long_prompts, tmp_path: Path) -> None:
    """The lightbox showed "prompt 2 · promptExtend=on · r0 · seed …" and nowhere the prompt."""
    from tests.html.test_report_browser import _open

    path = export_html(long_prompts, tmp_path / "report.html", grid="table")

    def run(page: Any) -> list[tuple[str, str]]:
        seen = []
        for thumb in page.locator("#grid img.thumb").all()[:3]:
            thumb.click()
            seen.append((page.locator("#qwl-lightbox .cap").inner_text(), page.locator("#qwl-lightbox .full").inner_text()))
            page.keyboard.press("Escape")
        return seen

    seen, _, errors = _open(chromium, path, run)
    assert not errors
    for caption, full in seen:
        named = caption.replace(NBSP, " ").split(" · ")[0]
        assert named.startswith("prompt ")
        assert full == f"{named}: {PROMPTS[int(named.split()[1]) - 1]}"
