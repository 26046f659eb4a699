"""A real score of a small sweep against the emulator: `Lab.run`, then RapidOCR reads every image,
the scores land in the log, agree with what the emulator drew (its misspellings are known), and
come out by axis, per image, as an overlay and from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.emulator import Emulator, Faults
from qwenlab.typography import (
    by_axis,
    cost_per_correct,
    describe,
    reading_overlay,
    text_scores,
)
from qwenlab.typography.specimens import emulated_truth

PROMPT = ("A luxury fragrance poster for a brand named 'LUNE NOIRE', beneath it in smaller text "
          "'Midnight Bloom Eau de Parfum', and a small seal reading 'EST. 1928'")


@pytest.fixture
def exp(data_dir: Path):
    # seeded dice and one request at a time: the same seeds, so the same misspellings, every run
    emu = Emulator(faults=Faults(seed=11)).start()
    client = RunwareClient("sk-typography-e2e", emu.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    try:
        sweep = Sweep(prompt=PROMPT, size="512x768", repeats=2,
                      axes={"promptExtend": [True, False], "negativePrompt": [None, "misspelled words, distorted text"]})
        yield Lab(data_dir, client=client).run(sweep, name="lune", progress=False, concurrency=1)
    finally:
        client.close()
        emu.stop()


@pytest.mark.slow
def test_scores_of_an_emulated_sweep_agree_with_what_it_drew(exp, rapidocr, data_dir: Path):
    df = exp.score_text(progress=False)
    assert len(df) == 8 and df.attrs["run"].read == 8 and df["engine"].eq("rapidocr").all()
    truth = emulated_truth(exp)
    verdicts = [(expected not in row.missing, dict(truth[int(row.image_id)])[expected] == expected)
                for row in df.itertuples() for expected in row.expected]
    assert len(verdicts) == 24
    assert sum(not right for _, right in verdicts) >= 1            # the emulator misspelled something
    agree = sum(said == right for said, right in verdicts)
    print(f"\nend to end: score agrees with the emulator on {agree}/{len(verdicts)} strings")
    assert agree >= 22

    # cached: nothing is read again
    again = exp.score_text(progress=False)
    assert again.attrs["run"].read == 0 and again["word_accuracy"].tolist() == df["word_accuracy"].tolist()

    # by axis, cost per correct image
    table = by_axis(df, "promptExtend")
    assert table["value"].tolist() == ["on", "off"] and table["n"].tolist() == [4, 4]
    assert describe(df, "negativePrompt").startswith("negativePrompt none: word accuracy ")
    costs = cost_per_correct(df, by="promptExtend")
    assert costs["cost_usd"].sum() == pytest.approx(8 * 0.075)

    # what was read, over the image
    image_id = int(df["image_id"].iloc[0])
    overlay = reading_overlay(exp, image_id, width=256)
    assert overlay.size == (256, 384)
    assert len(text_scores("lune")) == 8

    # the command line: a summary by axis, and JSON per image
    result = CliRunner().invoke(cli, ["score", "lune", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "8 already read" in result.output and "promptExtend on: word accuracy" in result.output
    assert "SYNTHETIC: run on qwenlab's offline emulator" in result.output  # scores of synthetic images, said so
    assert "per correctly rendered image" in result.output
    result = CliRunner().invoke(cli, ["score", "lune", "--json"])
    rows = json.loads(result.stdout)
    assert len(rows) == 8 and {"word_accuracy", "ned", "missing", "read_instead", "promptExtend"} <= set(rows[0])


CN_PROMPT = "一张春节促销海报，标题写着“新年快乐”，副标题「全场商品五折起，限时三天」，红色喜庆风格"


@pytest.mark.slow
def test_scores_of_a_chinese_sweep_agree_with_what_the_emulator_drew(cjk_font, rapidocr, data_dir: Path):
    # the emulator draws the strings with the CJK font (WenQuanYi Micro Hei in CI) at 43 and 25 px
    # on 512 px wide images; RapidOCR (Chinese and English) reads them, each character a word
    emu = Emulator(faults=Faults(seed=11)).start()
    client = RunwareClient("sk-typography-cjk", emu.url, images_dir=data_dir / "images", poll_initial=0.02, poll_max=0.1)
    try:
        sweep = Sweep(prompt=CN_PROMPT, size="512x768", repeats=3,
                      axes={"promptExtend": [True, False], "negativePrompt": [None, "错别字, misspelled words"]})
        exp = Lab(data_dir, client=client).run(sweep, name="cny", progress=False, concurrency=1)
    finally:
        client.close()
        emu.stop()
    df = exp.score_text(progress=False)
    assert len(df) == 12 and df["engine"].eq("rapidocr").all()
    truth = emulated_truth(exp)
    verdicts = [(expected not in row.missing, dict(truth[int(row.image_id)])[expected] == expected)
                for row in df.itertuples() for expected in row.expected]
    assert len(verdicts) == 24 and {e for row in df.itertuples() for e in row.expected} == {"新年快乐", "全场商品五折起，限时三天"}
    wrong = sum(not right for _, right in verdicts)
    agree = sum(said == right for said, right in verdicts)
    print(f"\nChinese end to end: {wrong} misspelled by the emulator; the score agrees on {agree}/{len(verdicts)} strings")
    assert wrong >= 1                                        # the emulator misspelled something
    assert all(not said for said, right in verdicts if not right)   # every misspelling found
    assert agree >= len(verdicts) - 1                        # measured: all 24
    right_images = [row for row in df.itertuples() if all(t == e for e, t in truth[int(row.image_id)])]
    assert right_images and sum(row.word_accuracy == 1.0 for row in right_images) >= len(right_images) - 1


def test_score_command_names_unknown_experiments():
    result = CliRunner().invoke(cli, ["score", "nope"])
    assert result.exit_code != 0 and "no experiment named 'nope'" in result.output
