"""`qwenlab judgements`: win rates per axis and criterion from the log, and its bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qwenlab.analysis.judging import record_judgement
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_OK
from tests.support.labkit import run_sweep


def test_win_rates_per_criterion_from_the_shell(emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="judged", axes={"promptExtend": [True, False]}, repeats=2, fail_one=False)
    runner = CliRunner()
    empty = runner.invoke(cli, ["judgements", "judged"])
    assert empty.exit_code == EXIT_OK and "no judgements of 'judged' yet" in empty.output
    (on, off), (on2, off2) = zip(exp.pairs("promptExtend")["image_a"], exp.pairs("promptExtend")["image_b"])
    record_judgement(exp, "promptExtend", on, off, "a")
    record_judgement(exp, "promptExtend", off2, on2, "a")
    record_judgement(exp, "promptExtend", off, on, "a", criterion="text correct")

    every = runner.invoke(cli, ["judgements", "judged"])
    assert every.exit_code == EXIT_OK, every.output
    lines = every.output.splitlines()
    # first what the images are: win rates of the emulator's must not be quoted as the model's
    assert lines[0].startswith("SYNTHETIC: run on qwenlab's offline emulator"), lines[0]
    assert lines[1].startswith("overall: promptExtend=on wins 50% [") and "of 2 judgements" in lines[1]
    assert lines[4].startswith("text correct: promptExtend=off wins 100% [") and "of 1 judgement " in lines[4]
    one = runner.invoke(cli, ["judgements", "judged", "--axis", "promptExtend", "--criterion", "text correct", "--json"])
    rows = json.loads(one.stdout)
    assert [(r["criterion"], r["value"], r["wins"]) for r in rows] == [("text correct", True, 0), ("text correct", False, 1)]
    # an axis named twice is answered once: its rows listed twice were counted twice by a script
    twice = runner.invoke(cli, ["judgements", "judged", "--axis", "promptExtend", "--axis", "promptExtend", "--json"])
    assert len(json.loads(twice.stdout)) == 4
    assert runner.invoke(cli, ["judgements", "judged", "--axis", "promptExtend", "--axis", "promptExtend"]).output == every.output

    for args, named in {("judgements", "nope"): "'EXPERIMENT'", ("judgements", "judged", "--axis", "size"): "'--axis'",
                        ("judgements", "judged", "--criterion", " "): "criterion must be",
                        ("judgements", "judged", "--ties", "double"): "'--ties'"}.items():
        bad = runner.invoke(cli, list(args))
        assert bad.exit_code == EXIT_BAD_INPUT and named in bad.output, (args, bad.output)
        assert not bad.output.startswith("SYNTHETIC"), "the error is the whole answer"


def test_with_no_judgements_it_suggests_an_axis_whose_pairs_differ_in_one_setting(emulator, data_dir: Path) -> None:
    """It suggested judging the first axis, a prompt axis here: blind pairs of two different posters."""
    run_sweep(emulator, data_dir, name="two", repeats=1, fail_one=False,
              axes={"prompt": ["A red 'SALE' sign", "A blue 'OPEN' sign"], "promptExtend": [True, False]})
    out = CliRunner().invoke(cli, ["judgements", "two"])
    assert out.exit_code == EXIT_OK and ".judge(\"promptExtend\")" in out.output, out.output


def test_an_experiment_without_axes_is_said_to_have_none_to_judge(emulator, data_dir: Path) -> None:
    """It suggested `.judge("AXIS")` for an experiment of one setting, which the notebook refuses."""
    run_sweep(emulator, data_dir, name="one", axes={}, repeats=1, fail_one=False)
    out = CliRunner().invoke(cli, ["judgements", "one"])
    assert out.exit_code == EXIT_OK and "AXIS" not in out.output, out.output
    assert "no judgements of 'one': it has no axis to judge (one setting, no sweep axis)" in out.output, out.output


def test_judgements_across_two_runs_are_read_from_the_shell(emulator, data_dir: Path) -> None:
    """Judged with lab.compare(a, b).judge("experiment"), they belong to neither run: `qwenlab
    judgements a` cannot show them, and `qwenlab judgements a b` was refused as an extra argument."""
    from qwenlab import Lab

    axes = {"promptExtend": [True, False]}
    run_sweep(emulator, data_dir, name="v1", axes=axes, repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="v2", axes=axes, repeats=1, fail_one=False, prompt="A poster reading 'NOCTIS'")
    runner = CliRunner()
    empty = runner.invoke(cli, ["judgements", "v1", "v2"])
    assert empty.exit_code == EXIT_OK, empty.output
    assert "no judgements of 'v1 vs v2' yet; judge in a notebook: Lab().compare('v1', 'v2').judge(\"experiment\")" \
        in empty.output
    cmp = Lab(data_dir, client=lambda: None).compare("v1", "v2")
    for a, b in zip(cmp.pairs("experiment")["image_a"], cmp.pairs("experiment")["image_b"]):
        record_judgement(cmp, "experiment", a, b, "b")
    both = runner.invoke(cli, ["judgements", "v1", "v2"])
    assert both.exit_code == EXIT_OK, both.output
    lines = both.output.splitlines()
    assert lines[0].startswith("SYNTHETIC") and lines[2].startswith("overall: experiment=v2 wins 100% ["), lines
    assert "of 2 judgements" in lines[2]
    rows = json.loads(runner.invoke(cli, ["judgements", "v1", "v2", "--axis", "experiment", "--json"]).stdout)
    assert [(r["value"], r["wins"]) for r in rows] == [("v1", 0), ("v2", 2)]  # the runs' names are the values
    assert "no judgements of 'v1' yet" in runner.invoke(cli, ["judgements", "v1"]).output  # neither run's own
    bad = runner.invoke(cli, ["judgements", "v1", "nope"])
    assert bad.exit_code == EXIT_BAD_INPUT and "'EXPERIMENT'" in bad.output and "known: v1, v2" in bad.output


def test_a_confounded_judgement_of_an_old_log_is_left_out_and_said_from_the_shell(emulator, data_dir: Path) -> None:
    """A judgement an old record_judgement took between images at two qualities counted in
    promptExtend's win rate; the shell leaves it out and says so, in the sentences and --json."""
    import sqlite3

    exp = run_sweep(emulator, data_dir, name="judged", axes={"promptExtend": [True, False], "outputQuality": [60, 61]},
                    repeats=1, fail_one=False)
    pairs = exp.pairs("promptExtend")
    record_judgement(exp, "promptExtend", pairs["image_a"][0], pairs["image_b"][0], "a")
    with sqlite3.connect(exp.log.path) as db:  # as a version before the refusal wrote it: on at 60 against off at 61
        db.execute("INSERT INTO judgements (experiment_id, axis, image_a, image_b, winner, criterion, created_at) "
                   "VALUES (?, 'promptExtend', ?, ?, 'b', 'overall', '2026-12-01T00:00:00Z')",
                   (exp.id, int(pairs["image_a"][0]), int(pairs["image_b"][1])))
    runner = CliRunner()
    out = runner.invoke(cli, ["judgements", "judged"])
    assert out.exit_code == EXIT_OK, out.output
    assert "promptExtend=on wins 100% [" in out.output and "of 1 judgement (" in out.output
    assert "1 judgement left out, its images differ in another setting too" in out.output
    rows = json.loads(runner.invoke(cli, ["judgements", "judged", "--json"]).stdout)
    assert [(r["value"], r["judgements"], r["left_out"]) for r in rows] == [(True, 1, 1), (False, 1, 1)]
