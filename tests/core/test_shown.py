"""What a notebook shows for a result a user's cell ends in: the sentence `print()` gives, not
the dataclass's fields (IPython's pretty printer, as Jupyter calls it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.lib.pretty import pretty

from qwenlab.store.bundle import BundleInfo, ImportReport
from qwenlab.store.integrity import StoreReport
from qwenlab.store.organize import Deletion
from qwenlab.typography.specimens import Agreement
from qwenlab.typography.store import ScoringRun

RESULTS = [
    BundleInfo(Path("/tmp/lumiere.qwenlab.zip"), ["lumiere"], tasks=16, images=16, bytes=2_400_000),
    ImportReport(Path("/tmp/lumiere.qwenlab.zip"), imported={"a/b": "a-b"}, rows={"tasks": 16}, files_written=16),
    Deletion("lumiere", "(deleted) lumiere", images=16, files_removed=16, files_kept=0, thumbnails_removed=4,
             spent_usd=1.2),
    ScoringRun("tesseract", images=16, read=16, seconds=3.2),
    Agreement("tesseract", strings=10, strings_agree=9),
    StoreReport("ok", experiments=1, images=16),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_a_result_shows_in_a_notebook_as_its_text(result: object) -> None:
    shown = pretty(result)
    assert shown == str(result)
    assert "PosixPath(" not in shown and f"{type(result).__name__}(" not in shown
    assert repr(result).startswith(f"{type(result).__name__}(")  # repr() stays the fields, for debugging
