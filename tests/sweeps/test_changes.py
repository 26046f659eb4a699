"""What changed: a sweep run under the name of an experiment with another sweep is refused, and the
error lists the difference (axes added/removed, values added/removed per axis, base request and
settings old -> new), how many cells are new, and the fix (a new name, or extend=True). Nothing
is sent or written when it is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab import ExperimentConflictError, Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT
from qwenlab.sweeps.changes import sweep_changes

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"


def sweep(axes: dict, **kw) -> Sweep:
    kw.setdefault("prompt", PROMPT)
    kw.setdefault("size", "256x384")
    return Sweep(axes=axes, **kw)


@pytest.fixture
def lab(emulator, data_dir: Path):
    with RunwareClient("sk-changes-test", emulator.url, images_dir=data_dir / "images", backoff_base=0.01) as client:
        yield Lab(data_dir, client=client)


def refused(lab: Lab, new: Sweep, name: str = "x") -> ExperimentConflictError:
    before = lab.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"]
    with pytest.raises(ExperimentConflictError) as info:
        lab.run(new, name=name, progress=False)
    assert lab.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"] == before  # nothing logged, nothing sent
    return info.value


def test_values_added_to_an_axis_are_listed_and_extend_is_the_fix(lab: Lab, emulator) -> None:
    lab.run(sweep({"outputQuality": [60, 70]}), name="x", progress=False)
    sent = len(emulator.requests)
    err = refused(lab, sweep({"outputQuality": [60, 70, 80, 90]}))
    text = str(err)
    assert "experiment 'x' was run with a different sweep" in text
    assert "axis outputQuality: values added 80, 90" in text
    assert "2 of the new sweep's 4 cells are not in the experiment (it holds 2)" in text
    assert "Fix: pass extend=True to add the 2 cells it lacks to 'x' (the 2 it holds are kept, not paid again)" in text
    assert text.endswith("or run it under a new name, e.g. name='x-2'.")
    assert "--extend" not in text and "--name" not in text  # Python's words in Python: the command line's are its own
    assert err.changes == ("axis outputQuality: values added 80, 90",)
    assert len(emulator.requests) == sent
    lab.run(sweep({"outputQuality": [60, 70, 80, 90]}), name="x", extend=True, progress=False)  # the fix works


def test_a_sweep_whose_every_cell_is_in_the_experiment_is_told_nothing_is_missing(lab: Lab, emulator) -> None:
    """The sweep file run after the experiment was extended past it from a notebook: the fix
    offered was "--extend to add its 0 new cells", or a new name, which would buy every cell
    again. Now: nothing to send, and where to see the cells."""
    lab.run(sweep({"outputQuality": [60, 70]}), name="x", progress=False)
    lab.run(sweep({"outputQuality": [60, 70, 80]}), name="x", extend=True, progress=False)
    text = str(refused(lab, sweep({"outputQuality": [60, 70]})))
    assert "0 of the new sweep's 2 cells are not in the experiment (it holds 3)" in text
    assert "Nothing to send: every cell of this sweep is in 'x' already" in text and "lab.experiment('x')" in text
    assert "Fix" not in text and "new name" not in text


def test_axes_values_and_base_parameters_that_differ_old_to_new(lab: Lab) -> None:
    lab.run(sweep({"outputQuality": [60, 70], "negativePrompt": [None, "blurry"]}, outputFormat="JPG"),
            name="x", budget_usd=0.0, progress=False)  # logs the cells, sends none
    lab.run(sweep({"promptExtend": [True]}), name="x-2", budget_usd=0.0, progress=False)  # the name to suggest is taken
    new = sweep({"outputQuality": [70, 80], "size": ["256x384", "384x256"]}, outputFormat="PNG",
                prompt="A poster for LUMIERE NIGHT, deep blue", repeats=2)
    err = refused(lab, new)
    assert err.changes == (
        "axes added: size (256x384, 384x256)",
        "axes removed: negativePrompt (none, blurry)",
        "axis outputQuality: values added 80; values removed 60",
        "base request: positivePrompt 'A premium beauty poster for a skincare…' -> 'A poster for LUMIERE NIGHT, deep blue'; "
        "outputFormat 'JPG' -> 'PNG'",
        "repeats: 1 -> 2",
    )
    text = str(err)
    for line in err.changes:
        assert f"  - {line}\n" in text
    # something was removed or changed: a new name first, extend second, with what it would mean
    assert "Fix: run it under a new name, e.g. name='x-3', to keep the two apart; or pass extend=True" in text
    assert "next to the 4 it holds (kept, not paid again)" in text


def test_two_long_prompts_are_shown_where_they_differ() -> None:
    old = sweep({}, prompt=PROMPT + ", the headline 'Glow, Refined.'").to_dict()
    new = sweep({}, prompt=PROMPT + ", the headline 'Glow, Refined.' in a clean gold serif").to_dict()
    assert sweep_changes(old, new).lines() == [
        "base request: positivePrompt \"…'Glow, Refined.'\" -> \"…'Glow, Refined.' in a clean gold serif\""]


def test_a_value_repeated_or_reordered_is_a_change_too() -> None:
    old = sweep({"promptExtend": [True, False]}).to_dict()
    new = sweep({"promptExtend": [False, True, True]}).to_dict()
    changes = sweep_changes(old, new)
    assert changes.lines() == ["axis promptExtend: values on, off -> off, on, on"] and not changes.only_adds
    assert not sweep_changes(old, sweep({"promptExtend": [True, False]}).to_dict())


def test_the_cli_shows_the_difference_and_exits_2(emulator, data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(f'name = "x"\nprompt = "{PROMPT}"\n[request]\nsize = "256x384"\n[axes]\noutputQuality = [60, 70]\n')
    runner = CliRunner()
    first = runner.invoke(cli, ["run", str(path), "--no-progress"])
    assert first.exit_code == 0, first.output
    path.write_text(path.read_text().replace("[60, 70]", "[60, 70, 80]"))
    result = runner.invoke(cli, ["run", str(path), "--no-progress"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "axis outputQuality: values added 80" in result.output
    # the fix as the command line takes it: it said Python's name='x-2' and extend=True beside them
    assert "Fix: pass --extend to add the 1 cell it lacks to 'x'" in result.output, result.output
    assert "or run it under a new name, e.g. --name x-2." in result.output
    assert "extend=True" not in result.output and "name='x-2'" not in result.output
    assert runner.invoke(cli, ["run", str(path), "--no-progress", "--name", "x-2"]).exit_code == 0  # the fix works


def test_an_extension_without_an_axis_keeps_that_axis_for_the_cells_run_before(lab: Lab, emulator) -> None:
    """Extended by a sweep without promptExtend and outputQuality, an experiment's axes became the
    new sweep's: the four cells run before lost their columns, grid rows and filters (the CLI
    audit: `qwenlab run other.toml --name demo --extend` left the demo with one axis). The old
    axes stay, after the new; a cell that lacks one reads as what its request sent."""
    from qwenlab.core.request import Request
    from qwenlab.figures.grid import build_grid
    from qwenlab.store.catalog import Catalog

    lab.run(sweep({"promptExtend": [True, False], "outputQuality": [60, 90]}), name="x", progress=False)
    new = sweep({"negativePrompt": [None, "blurry text"]}, prompt="A poster for 'NOCTIS'")
    exp = lab.run(new, name="x", extend=True, progress=False)
    assert list(exp.axes) == ["negativePrompt", "promptExtend", "outputQuality"]
    df = exp.images.set_index("prompt")
    old, added = df.loc[PROMPT], df.loc["A poster for 'NOCTIS'"]
    assert sorted(zip(old["promptExtend"], old["outputQuality"])) == [(False, 60), (False, 90), (True, 60), (True, 90)]
    default = Request(prompt="x", size="256x384")  # the new cells sent neither: the model's defaults
    assert set(added["promptExtend"]) == {default.get("promptExtend")}
    assert set(added["outputQuality"]) == {default.get("outputQuality")}
    catalog = Catalog.load(exp)
    assert len(catalog.where({"promptExtend": False}).entries) == 2  # a filter the old axis was gone from
    assert catalog.values("outputQuality") == [60, 90, default.get("outputQuality")]
    build_grid(exp, rows="promptExtend", cols="outputQuality")  # was: not an axis of experiment 'x'
    assert len(lab.run(new, name="x", progress=False).images) == 6  # the new sweep again: nothing refused, nothing sent
