"""A report of more than 200 images embeds each as a thumbnail only (about 2 KB: 2,000 images make
11 MB). Exported without --full-size, its lightbox opened the 160-px thumbnail as the "large" view,
under the usual word about "a preview": the user looked for a bigger picture the file does not
hold. The lightbox now says plainly that the file holds thumbnails only, the originals not in it,
and gives the command that puts them beside it (`qwenlab export NAME -o FILE --full-size`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwenlab import Lab
from qwenlab.bench.report import NAME, build_experiment
from qwenlab.html.report import GRID_IMAGE_LIMIT, export_html, report_html
from qwenlab.html.viewer import PREVIEW_NOTE
from tests.html.test_report_browser import _open
from tests.support.labkit import run_sweep


@pytest.mark.slow
def test_the_lightbox_of_a_thumbnails_only_report_says_the_originals_are_not_in_it(chromium: str, tmp_path: Path) -> None:
    exp = build_experiment(tmp_path / "data", GRID_IMAGE_LIMIT + 1)
    path = export_html(exp, tmp_path / "big report.html")

    def run(page: Any) -> dict[str, Any]:
        page.locator("#requests img.thumb").first.click()
        page.wait_for_function("() => document.querySelector('#qwl-lightbox img').naturalWidth > 0")
        page.wait_for_timeout(200)
        page.screenshot(path=str(tmp_path / "thumbnail-lightbox.png"))  # to look at
        note = page.locator("#qwl-lightbox .note")
        return {"visible": note.is_visible(), "text": note.inner_text(),
                "size": page.locator("#qwl-lightbox img").evaluate("e => Math.max(e.naturalWidth, e.naturalHeight)")}

    seen, _, errors = _open(chromium, path, run)
    assert not errors, errors
    assert seen["size"] == 160, seen  # the largest copy the file holds: the thumbnail
    assert seen["visible"], seen
    text = " ".join(seen["text"].split())
    assert "This file holds each image as a 160-px thumbnail only" in text and "the originals are not in it" in text, text
    assert f"qwenlab export {NAME} -o 'big report.html' --full-size" in text, text  # the command, as a shell takes it


def test_the_thumbnail_note_is_for_thumbnails_only_and_names_the_way_to_the_originals(emulator: Any, data_dir: Path,
                                                                                      tmp_path: Path) -> None:
    run_sweep(emulator, data_dir, name="a", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="b", repeats=1, fail_one=False)
    lab = Lab(data_dir)
    exp = lab.experiment("a")
    assert PREVIEW_NOTE in report_html(exp)  # 768-px previews: the usual word
    assert "thumbnail only" not in report_html(exp)
    small = report_html(exp, preview=120)  # a small preview asked for: said, with why
    assert "This file holds each image as a 120-px thumbnail only (preview=120 asked for it)" in small
    assert "qwenlab export a -o report.html --full-size" in small and PREVIEW_NOTE not in small
    # a comparison has no --full-size in `qwenlab compare`: the notebook's way
    cmp = report_html(lab.compare("a", "b"), preview=120)
    assert "lab.compare(&#x27;a&#x27;, &#x27;b&#x27;).export(&#x27;report.html&#x27;, full_size=True)" in cmp
    with_originals = export_html(exp, tmp_path / "full.html", full_size=True, preview=120).read_text(encoding="utf-8")
    assert "thumbnail only" not in with_originals  # the originals are beside it: the lightbox shows them
