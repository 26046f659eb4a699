"""Every `--json` prints one JSON document (a list or an object) that `json.loads` reads whole, as
`jq` and a script do; an answer with nothing in it is an empty document, not nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import qwenlab.typography.store as store
from qwenlab.analysis.judging import record_judgement, win_rates
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK
from qwenlab.typography.reading import Reading, TextLine
from tests.support.labkit import run_sweep


class ReadsLumiere:
    """An OCR engine that reads 'LUMIERE' in every image, without OCR installed."""

    name, version = "fake", "fake 1"

    def read(self, image: object) -> Reading:
        return Reading(self.name, (TextLine("LUMIERE", 0.9, None),), self.version, 0.01, 512, 768)


@pytest.fixture
def fake_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "get_engine", lambda engine: ReadsLumiere())


def _document(output: str) -> object:
    return json.loads(output)  # the whole output: one document, not one per line


def test_score_json_is_one_list_of_an_object_per_image(emulator, data_dir: Path, fake_ocr: None) -> None:
    run_sweep(emulator, data_dir, name="posters", prompt="A poster for 'LUMIERE'", axes={"promptExtend": [True, False]},
              repeats=2, fail_one=False)
    out = CliRunner().invoke(cli, ["score", "posters", "--json"])
    assert out.exit_code == EXIT_OK, out.output
    rows = _document(out.stdout)
    assert isinstance(rows, list) and len(rows) == 4
    assert {r["promptExtend"] for r in rows} == {True, False} and all(r["correct"] for r in rows)


def test_score_json_of_no_image_with_quoted_text_is_an_empty_list(emulator, data_dir: Path, fake_ocr: None) -> None:
    run_sweep(emulator, data_dir, name="plain", prompt="A poster of a mountain lake at dawn", axes={"size": ["512x768"]},
              repeats=1, fail_one=False)
    out = CliRunner().invoke(cli, ["score", "plain", "--json"])
    assert out.exit_code == EXIT_OK, out.output
    assert _document(out.stdout) == []


def test_judgements_json_is_one_list_and_empty_without_judgements(emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="judged", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False)
    runner = CliRunner()
    none = runner.invoke(cli, ["judgements", "judged", "--json"])
    assert none.exit_code == EXIT_OK and _document(none.stdout) == [], none.output  # it printed nothing at all

    pairs = exp.pairs("promptExtend")
    record_judgement(exp, "promptExtend", pairs["image_a"][0], pairs["image_b"][0], "a")
    record_judgement(exp, "promptExtend", pairs["image_b"][1], pairs["image_a"][1], "a", criterion="text correct")
    out = runner.invoke(cli, ["judgements", "judged", "--json"])
    assert out.exit_code == EXIT_OK, out.output
    rows = _document(out.stdout)
    # each value as the sweep gives it, as `costs --json` gives it: "on"/"off" matched no sweep's true/false
    assert [(r["criterion"], r["value"], r["wins"]) for r in rows] == [
        ("overall", True, 1), ("overall", False, 0), ("text correct", True, 0), ("text correct", False, 1)]
    said = runner.invoke(cli, ["judgements", "judged"]).output  # the sentences keep the labels
    assert "overall: promptExtend=on wins 100%" in said and "text correct: promptExtend=off wins 100%" in said, said
    assert list(win_rates(exp, "promptExtend")["value"]) == ["on", "off"] * 2  # and so does the frame


def test_costs_json_carries_an_axis_s_values_and_the_table_its_labels(emulator, data_dir: Path) -> None:
    """`costs --json --by promptExtend` gave "on"/"off", the labels a table shows: a script
    matching the sweep's true/false found no row."""
    run_sweep(emulator, data_dir, name="posters", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    runner = CliRunner()
    out = runner.invoke(cli, ["costs", "--by", "promptExtend,size", "--json"])
    assert out.exit_code == EXIT_OK, out.output
    assert [r["promptExtend"] for r in _document(out.stdout)["rows"]] == [True, False]
    kept = runner.invoke(cli, ["costs", "--by", "promptExtend", "--kept", "1", "--json"])
    assert [r["promptExtend"] for r in _document(kept.stdout)["rows"]] == [True, False], kept.output
    table = runner.invoke(cli, ["costs", "--by", "promptExtend"]).output.splitlines()
    assert [line.split()[0] for line in table if line.split()[:1] in (["on"], ["off"])] == ["on", "off"], table
