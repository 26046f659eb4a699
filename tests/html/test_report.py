"""The HTML export: one file that stands alone, shows everything, escapes user text, holds no key."""

from __future__ import annotations

import os
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.core.values import format_usd
from qwenlab.emulator import Emulator
from qwenlab.html.report import export_html, report_html
from qwenlab.html.viewer import SCRIPT, script_hash
from qwenlab.secrets import register_secret
from tests.support.labkit import run_sweep

EVIL_PROMPT = 'Poster for <script>alert("pwned")</script> LUMIERE & "Glow" <img src=x onerror=alert(1)>'
SENTINEL_KEY = "sk-SENTINEL-4f1c9e7a-never-in-a-file"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def exp(emulator, data_dir: Path):
    exp = run_sweep(emulator, data_dir, prompt=EVIL_PROMPT)
    first = int(exp.images.image_id.iloc[0])
    exp.log.rate(first, 5, note="<b>best</b> one </td></table><script>x()</script>", judge="ana")
    exp.log.judge(exp.id, "promptExtend", *_across_promptextend(exp), "a")
    return exp


def _across_promptextend(exp) -> tuple[int, int]:
    """Two images with promptExtend on and off and the same size: a judgement of two images with the
    same value counts for neither (win_rates), one of two sizes is confounded and left out, and the
    images' order follows which worker saved its image first (the first of each could differ in size)."""
    images = exp.images
    on = images[images["promptExtend"] == True]  # noqa: E712 - a column of booleans
    off = images[images["promptExtend"] == False]  # noqa: E712
    a, b = next((a, b) for a in on.itertuples() for b in off.itertuples() if a.size == b.size)
    return int(a.image_id), int(b.image_id)


def test_user_text_stays_text(exp) -> None:
    html = report_html(exp)
    tags = _tags(html)
    assert not [t for t, _ in tags if t in ("iframe", "object", "embed", "link", "base", "form")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]  # no event handlers
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;best&lt;/b&gt; one &lt;/td&gt;&lt;/table&gt;&lt;script&gt;x()&lt;/script&gt;" in html
    # one script, ours (the lightbox and the pages), fixed text, and the only one the page's policy lets run
    assert html.lower().count("<script") == 1 and f"<script>{SCRIPT}</script>" in html
    assert f"script-src {script_hash()}\"" in html or f"script-src {script_hash()};" in html


def test_the_file_refers_to_nothing_outside_itself(exp, tmp_path: Path) -> None:
    html = export_html(exp, tmp_path / "report.html").read_text(encoding="utf-8")
    for tag, attrs in _tags(html):
        for name in ("src", "href", "srcset", "data", "action", "poster", "background"):
            value = attrs.get(name)
            if value is None:
                continue
            assert value.startswith("data:image/") if name == "src" else value.startswith("#"), (tag, name, value[:80])
    assert "url(" not in html and "@import" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_no_api_key_anywhere(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL_KEY)
    register_secret(SENTINEL_KEY)
    with Emulator(api_key=SENTINEL_KEY) as emu:  # accepts only this key: the sweep really used it
        exp = run_sweep(emu, data_dir, api_key=SENTINEL_KEY, name="keyed")
    assert exp.counts()["done"] == 7
    with pytest.raises(ValueError, match="note: holds your Runware API key"):  # refused now...
        exp.log.rate(int(exp.images.image_id.iloc[0]), 3, note=f"pasted by mistake: {SENTINEL_KEY}")
    with exp.log.transaction() as db:  # ...but a log written before that may hold one: still scrubbed
        db.execute("INSERT INTO ratings (image_id, score, note, created_at) VALUES (?, 3, ?, '2026-12-01')",
                   [int(exp.images.image_id.iloc[0]), f"pasted by mistake: {SENTINEL_KEY}"])
    for grid in ("image", "table"):
        path = export_html(exp, tmp_path / f"report-{grid}.html", grid=grid)
        data = path.read_bytes()
        assert SENTINEL_KEY.encode() not in data
        assert b"pasted by mistake: ***" in data


def test_the_report_shows_grid_requests_costs_ratings_and_thumbnails(exp, tmp_path: Path) -> None:
    html = export_html(exp, tmp_path / "r.html").read_text(encoding="utf-8")
    images, df = exp.images, exp.df
    thumbs = [a for t, a in _tags(html) if t == "img" and a.get("class") == "thumb"]
    embedded = [a for a in thumbs if "src" in a]
    assert len({a["src"] for a in embedded}) == len(embedded) == len(images) == 7  # every image embedded once
    assert all(a["src"].startswith("data:image/webp;base64,") for a in embedded)
    assert {a["data-i"] for a in embedded} == {str(i) for i in images.image_id}
    refs = [a["data-ref"] for a in thumbs if "src" not in a]
    assert refs and set(refs) <= {a["data-i"] for a in embedded}  # elsewhere shown by reference, not a second copy
    grids = [a for t, a in _tags(html) if t == "img" and a.get("class") == "grid"]
    assert len(grids) == 1 and grids[0]["src"].startswith("data:image/jpeg;base64,")
    for seed in images.seed:
        assert str(seed) in html
    failed = df[df.status == "failed"].iloc[0]
    assert failed.error_code in html
    assert "$0.075" in html and format_usd(exp.cost) in html  # per request and in the totals
    assert "Ratings and blind judgements" in html and "ana" in html and "win rate" in html
    assert "95% interval" in html and "100%" in html  # the one judgement: a win, with its Wilson interval
    assert len(re.findall(r"<tr>", html.split('id="requests"')[1])) == len(df) + 1  # a row per request + header
    assert "<td>seed policy</td><td>auto -&gt; sample</td>" in html  # asked auto; the model takes no seed
    requests = html.split('id="requests"')[1].split("</thead>")[0]
    assert requests.count("<th>size</th>") == 1  # size is an axis: its column, not a second one
    assert '<table class="kv"><tbody>' in html  # the overview's facts: no empty heading row

    table = report_html(exp, grid="table", rows="promptExtend", cols="size")
    assert '<table class="gridtable">' in table and "promptExtend: on" in table
    stamps = re.findall(r'<div class="stamp">([^<]*)</div>', table)
    assert stamps and not any("promptExtend=" in t or "size=" in t for t in stamps)  # the headings say those
    assert "FAILED: inferenceError" in table
    # the requests table's error column: the code, then the message without its repeat of it
    errors = re.findall(r'<span class="failed">inferenceError</span>([^<]*)</td>', html)
    assert errors and all("inferenceError" not in e and "nothing was charged" in e for e in errors), errors
    with pytest.raises(ValueError, match="grid must be"):
        report_html(exp, grid="svg")


def test_export_command(exp, data_dir: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["export", exp.name, "-o", str(tmp_path / "report.html"), "--rows", "size"])
    assert out.exit_code == 0, out.output
    assert Path(out.output.strip()) == tmp_path / "report.html" and (tmp_path / "report.html").stat().st_size > 50_000
    full = CliRunner().invoke(cli, ["export", exp.name, "-o", str(tmp_path / "full.html"), "--full-size", "--grid", "table"])
    assert full.exit_code == 0, full.output
    originals = sorted((tmp_path / "full_files").iterdir())
    assert len(originals) == len(exp.images)  # every original beside the report, each linked from its thumbnail
    links = re.findall(r'data-full="([^"]+)"', (tmp_path / "full.html").read_text(encoding="utf-8"))
    assert sorted(set(links)) == [f"full_files/{p.name}" for p in originals]
    default = CliRunner().invoke(cli, ["export", exp.name, "--grid", "none"])
    assert default.exit_code == 0, default.output
    assert Path(default.output.strip()) == data_dir / "reports" / f"{exp.name}.html"


def test_a_full_size_folder_holds_only_what_its_report_links(exp, emulator, data_dir: Path, tmp_path: Path) -> None:
    """The folder beside a report is sent with it: an export to a path used before held the other
    export's originals too. A name with '#' or a space is a link that works, and the footer does
    not give the log's folder away."""
    other = run_sweep(emulator, data_dir, name="other-project", repeats=1, fail_one=False,
                      axes={"promptExtend": [True, False]}, prompt="another client's poster")
    path = tmp_path / "posters #2.html"
    other.export(path, full_size=True, grid=None)
    folder = tmp_path / "posters #2_files"
    assert len(list(folder.iterdir())) == 2
    text = exp.export(path, full_size=True, grid=None).read_text(encoding="utf-8")
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted(Path(p).name for p in exp.images.path), "only this report's originals"
    links = sorted(set(re.findall(r'data-full="([^"]+)"', text)))
    assert links == [f"posters%20%232_files/{name}" for name in kept]
    assert str(data_dir) not in text and "qwenlab.db" in text  # the log by name, not where it lives
    # copies, not links: a file of the folder edited before sending leaves the log's original as it was
    assert all((folder / Path(p).name).stat().st_ino != Path(p).stat().st_ino for p in exp.images.path)
    linked = folder / Path(exp.images.path.iloc[0]).name  # as an older export left it: a hard link
    linked.unlink()
    os.link(exp.images.path.iloc[0], linked)
    exp.export(path, full_size=True, grid=None)
    assert not linked.samefile(exp.images.path.iloc[0]), "replaced by a copy"
    exp.export(path, grid=None)  # no longer --full-size: nothing of the kind beside it
    assert not folder.exists()


def test_reports_named_html_and_htm_keep_their_own_originals(exp, emulator, data_dir: Path, tmp_path: Path) -> None:
    """x.html and x.htm both put their originals in x_files/, and exporting one removed the
    other's: its links broke. x.htm's folder is x.htm_files/ now, and its footer says so."""
    other = run_sweep(emulator, data_dir, name="other-project", repeats=1, fail_one=False,
                      axes={"promptExtend": [True, False]}, prompt="another client's poster")
    exp.export(tmp_path / "x.html", full_size=True, grid=None)
    text = other.export(tmp_path / "x.htm", full_size=True, grid=None).read_text(encoding="utf-8")
    for report, record in ((tmp_path / "x.html", exp), (tmp_path / "x.htm", other)):
        page = report.read_text(encoding="utf-8")
        links = set(re.findall(r'data-full="([^"]+)"', page))
        assert len(links) == len(record.images) and all((tmp_path / link).is_file() for link in links), report
    assert "the originals are in x.htm_files/ beside it" in text


def test_default_report_files_of_similar_names_do_not_overwrite_each_other(exp, data_dir: Path) -> None:
    """"posters/v2" and "posters-v2" both made data/reports/posters-v2.html: one export silently
    replaced the other's. A name that is not its own file name gets a short hash of it."""
    from qwenlab.figures.text import file_stem

    assert file_stem("posters-v2") == "posters-v2" and file_stem("demo") == "demo"  # safe names stay as they are
    assert file_stem("posters/v2").startswith("posters-v2-") and file_stem("posters/v2") != file_stem("Posters v2")
    exp.log.update_experiment(exp.id, name="posters/v2")  # an older log's name: a new name may hold no slash
    default = CliRunner().invoke(cli, ["export", "posters/v2", "--grid", "none"])
    assert default.exit_code == 0, default.output
    assert Path(default.output.strip()) == data_dir / "reports" / f"{file_stem('posters/v2')}.html"


def test_win_rates_of_two_criteria_are_told_apart_in_the_report(exp, tmp_path: Path) -> None:
    a, b = _across_promptextend(exp)
    exp.log.judge(exp.id, "promptExtend", a, b, "b", "text correct")  # the fixture's judgement is "overall"
    html = export_html(exp, tmp_path / "r.html").read_text(encoding="utf-8")
    section = html.split("<h3>blind judgements</h3>")[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)]
    by_criterion = {r[1] for r in rows if r}
    assert {"overall", "text correct"} <= by_criterion  # each row says which criterion it counts


def test_a_request_in_doubt_reads_in_doubt_with_what_the_next_run_does(exp, tmp_path: Path) -> None:
    """A task left 'sent' (a run killed while it was on the wire) read "sent" in the requests
    table, where every count, filter and view says in_doubt."""
    with sqlite3.connect(exp.log.path) as db:
        db.execute("UPDATE tasks SET status = 'sent', error_code = NULL, error_message = NULL WHERE status = 'failed'")
    requests = export_html(exp, tmp_path / "r.html").read_text(encoding="utf-8").split('id="requests"')[1]
    cells = re.findall(r"<td>(<span[^>]*>)?(sent|in_doubt|done)(</span>)?</td>", requests)
    assert [c[1] for c in cells].count("in_doubt") == 1 and "sent" not in [c[1] for c in cells]
    assert "it may have been paid for" in requests
