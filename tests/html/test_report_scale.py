"""A large experiment exports: each image embedded once as a small WebP thumbnail, the grid as a
table of them (a drawn grid of hundreds of images is too large for matplotlib to draw), the
requests in pages. The timing is the benchmark's (`python -m qwenlab.bench.report`), not a test's."""

from __future__ import annotations

import re
import sqlite3
import warnings
from pathlib import Path

import pytest

from qwenlab.bench.report import build_experiment
from qwenlab.html.grid import GridOptionsUnusedWarning
from qwenlab.html.report import GRID_IMAGE_LIMIT, export_html, report_html
from qwenlab.html.viewer import PAGE_ROWS


def test_hundreds_of_images_export_light_with_each_image_once(tmp_path: Path) -> None:
    n = GRID_IMAGE_LIMIT + 40
    exp = build_experiment(tmp_path / "data", n)
    html = export_html(exp, tmp_path / "report.html").read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/webp;base64,([^"]+)"', html)
    assert len(embedded) == n  # once each, however many sections show an image
    assert len(set(re.findall(r'data-i="(\d+)"', html))) == n
    assert re.findall(r'data-ref="(\d+)"', html)  # the grid shows them by reference
    assert 'class="gridtable"' in html and f"{n} images: too many for one drawn grid" in html
    assert "data:image/jpeg" not in html  # no drawn grid
    assert html.count('<tbody class="page">') == -(-n // PAGE_ROWS)
    per_image = len(html.encode()) / n
    assert per_image < 15_000, per_image  # 2,000 images stay far under 30 MB


def test_the_count_above_a_large_grid_table_is_of_images(tmp_path: Path) -> None:
    """It counted the cells as images: "241 images" above a table of 240 and a failed cell."""
    n = GRID_IMAGE_LIMIT + 41
    exp = build_experiment(tmp_path / "data", n)
    with sqlite3.connect(exp.log.path) as db:
        task = db.execute("SELECT min(id) FROM tasks WHERE experiment_id = ?", [exp.id]).fetchone()[0]
        db.execute("DELETE FROM images WHERE task_id = ?", [task])
        db.execute("UPDATE tasks SET status = 'failed', error_code = 'inferenceError', cost_usd = NULL WHERE id = ?", [task])
    html = report_html(exp, grid="image")
    assert f"{n - 1} images and 1 cell without one: too many for one drawn grid" in html


def test_the_drawn_grids_options_given_for_a_table_say_they_do_nothing(tmp_path: Path) -> None:
    """Above 200 images the grid is a table of thumbnails: grid_dpi and grid_cell_size, which size
    a drawn grid, did nothing there, silently. A warning names them and why (and asks nothing of
    a report that does not give them)."""
    exp = build_experiment(tmp_path / "data", GRID_IMAGE_LIMIT + 10)
    with pytest.warns(GridOptionsUnusedWarning) as caught:
        html = report_html(exp, grid_dpi=200, grid_cell_size=4)
    (warned,) = caught
    said = str(warned.message)
    assert said.startswith("grid_cell_size and grid_dpi do nothing in this report: its grid is a table of the thumbnails")
    assert f"its {GRID_IMAGE_LIMIT + 10} cells are more than the {GRID_IMAGE_LIMIT} a drawn grid holds" in said
    assert warned.message.cells == GRID_IMAGE_LIMIT + 10 and 'class="gridtable"' in html
    with pytest.warns(GridOptionsUnusedWarning, match=r"^grid_dpi does nothing .*grid='table' asks for it"):
        report_html(exp, grid="table", grid_dpi=150, where={"size": "1024x1536"})  # 105: drawn, but for grid="table"
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridOptionsUnusedWarning)
        report_html(exp)  # not asked for: nothing to say
        report_html(exp, grid=None, grid_dpi=200)  # no grid at all
