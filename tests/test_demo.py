"""`qwenlab demo`: the seed's four examples swept offline; a second run sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from PIL import Image

from qwenlab.cli import cli
from qwenlab.demo import EXAMPLES, DemoResult, demo_sweep, run_demo
from qwenlab.emulator import Emulator
from tests.support.seed_examples import example_requests


def test_the_demo_sweep_is_the_seed_examples_over_four_axes(tmp_path: Path) -> None:
    page = {r["positivePrompt"] for r in example_requests()}
    assert {e["positivePrompt"] for e in EXAMPLES.values()} == page  # verbatim, all four
    sweep = demo_sweep(tmp_path)
    cells = sweep.cells()
    assert len(cells) == 64 and sweep.estimated_cost == pytest.approx(64 * 0.075)
    assert [a.name for a in sweep.axes] == ["example", "promptExtend", "size", "negative"]
    edits = [c for c in cells if c.request.reference_images]
    assert len(edits) == 16 and all(len(c.uploads) == 1 for c in edits)  # our own image, uploaded, not assets.runware.ai
    assert not any("runware.ai" in c.request.to_json() for c in cells)
    assert demo_sweep(tmp_path).fingerprint() == sweep.fingerprint()  # the drawn reference is reused


def test_the_demo_line_counts_one_cell_and_one_image_as_one(tmp_path: Path) -> None:
    """A run that finished the last cell left: "1 cell", "1 image", never "1 cells"."""
    counts = {"cells": 1, "done": 1, "images": 1, "failed": 0, "pending": 0, "in_doubt": 0}
    exp = SimpleNamespace(counts=lambda: counts, cost=0.08, name="demo", log=SimpleNamespace(path=tmp_path / "qwenlab.db"))
    lines = DemoResult(exp, sent=1, grids=[], data_dir=tmp_path).summary().splitlines()
    assert lines[0].startswith("qwenlab demo: 1/1 cell done, 1 image, $0.08 (emulated")
    assert lines[1] == "  sent this run: 1 cell"


@pytest.mark.slow
def test_demo_twice_sends_nothing_the_second_time(data_dir: Path) -> None:
    with Emulator() as emu:
        first = run_demo(base_url=emu.url, progress=False)
        counts = first.experiment.counts()
        assert (counts["cells"], counts["done"], counts["images"]) == (64, 64, 64)
        assert first.sent == 64
        assert emu.ledger.total() == pytest.approx(64 * 0.075) and emu.ledger.charged_twice() == []
        slugs = ["billboard-edit-lune-noire", "skincare-poster-lumiere", "art-deco-perfume-aurelis-noir", "perfume-billboard"]
        assert len(first.grids) == 4 and all(s in p.name for s, p in zip(slugs, first.grids))  # one page per example
        for grid in first.grids:
            with Image.open(grid) as img:
                assert img.width > 1000 and img.height > 400
        assert all(p.is_relative_to(data_dir) for p in first.grids)
        hosts = {r.headers.get("host", r.headers.get("Host", "")) for r in emu.requests}
        assert all(h.startswith("127.0.0.1") for h in hosts)

        ledger, requests = emu.ledger.total(), len(emu.requests)
        second = run_demo(base_url=emu.url, progress=False)
        assert second.sent == 0 and "nothing sent twice" in second.summary()
        assert emu.ledger.total() == ledger and len(emu.requests) == requests

        # an image deleted: the next demo asks the server for it, free, and says so
        (data_dir / first.experiment.images["path"].iloc[0]).unlink()
        third = run_demo(base_url=emu.url, progress=False)
        assert third.sent == 0 and emu.ledger.total() == ledger
        assert "  fetched again (free): the lost images of 1 done cell" in third.summary().splitlines(), third.summary()
        assert (data_dir / first.experiment.images["path"].iloc[0]).exists()


@pytest.mark.slow
def test_qwenlab_demo_command(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "64/64 cells done" in result.output and "64 images" in result.output and "$4.80" in result.output
    assert str(data_dir / "qwenlab.db") in result.output
    listing = json.loads(CliRunner().invoke(cli, ["logs", "--json"]).output)
    assert listing[0]["name"] == "demo" and listing[0]["done"] == 64


def test_qwenlab_demo_exits_1_when_a_cell_is_not_done(data_dir: Path, emulator, monkeypatch) -> None:
    """As `qwenlab run` does, and as the README's exit codes say: 0 only with every cell done."""
    from qwenlab.emulator.faults import Faults

    emulator.faults = Faults(task_error=0.2, seed=3)  # some cells fail inside the model
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-demo-exit-test")
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    result = CliRunner().invoke(cli, ["demo", "--live", "--yes", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "some cells are not done" in result.output
