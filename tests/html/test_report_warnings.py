"""A warning the report raises points at the user's line, whichever way it was asked for: in a
notebook the user saw qwenlab's own source line (`lab.py`'s `export`, `export_html`'s call) under
the warning, not the cell that asked for the report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qwenlab import Lab
from qwenlab.core.cjk_font import CJK_FONT_ENV, cjk_font_path
from qwenlab.html.grid import GridOptionsUnusedWarning
from qwenlab.html.report import export_html, report_html
from tests.support.labkit import run_sweep

TABLE = {"grid": "table", "grid_dpi": 150}  # a drawn grid's option given for the table: warned


def _warned_at(caught: pytest.WarningsRecorder) -> list[tuple[str, int]]:
    return [(w.filename, w.lineno) for w in caught if issubclass(w.category, GridOptionsUnusedWarning)]


def test_the_reports_warning_points_at_the_callers_line_every_way_in(emulator, data_dir: Path, tmp_path: Path) -> None:
    run_sweep(emulator, data_dir, name="a", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="b", repeats=1, fail_one=False)
    lab = Lab(data_dir)
    exp = lab.experiment("a")
    with pytest.warns(GridOptionsUnusedWarning) as caught:
        line = _line_after()
        report_html(exp, **TABLE)
    assert _warned_at(caught) == [(__file__, line + 1)]
    with pytest.warns(GridOptionsUnusedWarning) as caught:
        line = _line_after()
        export_html(exp, tmp_path / "direct.html", **TABLE)
    assert _warned_at(caught) == [(__file__, line + 1)]
    with pytest.warns(GridOptionsUnusedWarning) as caught:
        line = _line_after()
        exp.export(tmp_path / "method.html", **TABLE)  # through lab.py's export: it pointed at export_html's call
    assert _warned_at(caught) == [(__file__, line + 1)]
    with pytest.warns(GridOptionsUnusedWarning) as caught:
        line = _line_after()
        lab.compare("a", "b").export(tmp_path / "compare.html", **TABLE)  # a comparison's report
    assert _warned_at(caught) == [(__file__, line + 1)]


def _line_after() -> int:
    """The line this was called from (the report is asked for on the next one)."""
    return sys._getframe(1).f_lineno


def test_a_warning_from_drawing_the_reports_grid_points_at_the_callers_line(
        emulator, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawn grid's CJK font, named by a QWENLAB_CJK_FONT that is no file: said at the line
    that asked for the report, not at qwenlab's figure code."""
    exp = run_sweep(emulator, data_dir, name="a", repeats=1, fail_one=False)
    monkeypatch.setenv(CJK_FONT_ENV, str(tmp_path / "gone.ttf"))
    cjk_font_path.cache_clear()  # looked up afresh here, and again after (its cache is the process's)
    try:
        with pytest.warns(RuntimeWarning, match="is no file") as caught:
            line = _line_after()
            exp.export(tmp_path / "report.html")
    finally:
        cjk_font_path.cache_clear()
    assert [(w.filename, w.lineno) for w in caught if "is no file" in str(w.message)] == [(__file__, line + 1)]
