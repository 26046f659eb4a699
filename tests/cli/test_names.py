"""Experiment names and tags that would break file names, tables and the shell: a newline, a tab,
an escape sequence, a text-direction control, a slash or a backslash. A new name (a run's, a
rename's, an import's --as) and a new tag are refused with exit 2, naming the parameter and a
name to use instead, before anything is written; an older log that holds such a name still
opens, runs, exports and renames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qwenlab import Lab
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_OK
from qwenlab.errors import ValidationError
from tests.support.labkit import run_sweep

BAD_NAMES = [
    ("poster\nv2", "a newline", "poster-v2"),
    ("posters/v2", "a slash ('/')", "posters-v2"),
    ("posters\\v2", "a backslash", "posters-v2"),
    ("tab\there", "a tab", "tab-here"),
    ("red\x1b[31m", "U+001B", "red-[31m"),
    ("abc\u202efdp.exe", "text-direction control (U+202E)", "abc-fdp.exe"),
    ("line\u2028two", "line or paragraph separator", "line-two"),
]


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


@pytest.fixture
def posters(emulator, data_dir: Path) -> Lab:
    run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    return Lab(data_dir)


@pytest.mark.parametrize("name, said, instead", BAD_NAMES)
def test_a_rename_to_a_name_that_breaks_files_or_tables_is_refused(posters: Lab, name: str, said: str,
                                                                   instead: str) -> None:
    result = qwenlab("rename", "posters", name)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Invalid value for 'NEW_NAME'" in result.output and said in result.output, result.output
    assert f"e.g. {instead!r}" in result.output, result.output
    assert qwenlab("rename", "posters", instead).exit_code == EXIT_OK  # the name it suggests is taken
    assert posters.log.experiment_names() == [instead]
    with pytest.raises(ValueError, match="new_name: .*may not hold"):
        posters.experiment(instead).rename(name)


def test_a_run_under_such_a_name_is_refused_before_anything_is_written(emulator, data_dir: Path,
                                                                       tmp_path: Path) -> None:
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "posters/v2"\nprompt = "A poster reading \'LUMIERE\'"\n[request]\nsize = "512x768"\n')
    for args in ([str(sweep)], [str(sweep), "--dry-run"]):  # the file's name: said of the file, where the fix goes
        result = qwenlab("run", *args, "--no-progress")
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert f"{sweep} is invalid" in result.output and "name: 'posters/v2' holds a slash" in result.output, result.output
        assert "may not hold" in result.output and "nothing was sent" in result.output
    for args, instead in (([str(sweep), "--name", "new\nname"], "new-name"), ([str(sweep), "--name", "a/b", "--dry-run"], "a-b")):
        # --name's: it read "this run is invalid ... name: ...", naming no option
        result = qwenlab("run", *args, "--no-progress")
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert "Invalid value for '--name'" in result.output and "this run is invalid" not in result.output, result.output
        assert "may not hold" in result.output and f"e.g. {instead!r}" in result.output and "nothing was sent" in result.output
    assert not (data_dir / "qwenlab.db").exists()  # no log made for a refused run
    with pytest.raises(ValidationError, match="name: 'a/b' holds a slash"):
        run_sweep(emulator, data_dir, name="a/b", repeats=1, fail_one=False)


def test_an_import_as_such_a_name_is_refused(posters: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "p.zip"
    assert qwenlab("bundle", "posters", "-o", str(bundle)).exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    result = qwenlab("import", str(bundle), "--as", "posters/ana")
    assert result.exit_code == EXIT_BAD_INPUT and "'--as'" in result.output and "holds a slash" in result.output, result.output
    assert not (tmp_path / "ben").exists()


def test_a_tag_holding_a_control_character_is_refused_and_an_old_one_can_be_removed(posters: Lab) -> None:
    result = qwenlab("tag", "posters", "print\nweb")
    assert result.exit_code == EXIT_BAD_INPUT and "Invalid value for 'TAGS'" in result.output, result.output
    assert "holds a newline" in result.output and "e.g. 'print-web'" in result.output
    assert qwenlab("tag", "posters", "print/web").output.strip() == "posters: print/web"  # a tag names no file
    exp = posters.experiment("posters")
    with exp.log.transaction() as db:  # an older log's tag
        db.execute("INSERT INTO experiment_tags (experiment_id, tag, created_at) VALUES (?, 'old\nline', '2026-01-01')",
                   [exp.id])
    assert json.loads(qwenlab("logs", "--json").output)[0]["tags"] == ["print/web", "old\nline"]
    assert qwenlab("untag", "posters", "old\nline").exit_code == EXIT_OK
    assert exp.tags == ["print/web"]


OLD = "../../out\nside/x"  # what an older log may hold: every character refused now


def test_an_older_logs_experiment_so_named_still_opens_runs_exports_and_renames(emulator, data_dir: Path,
                                                                               tmp_path: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    exp_id = exp.id
    exp.log.update_experiment(exp_id, name=OLD)
    assert OLD in [r["name"] for r in json.loads(qwenlab("logs", "--json").output)]
    shown = qwenlab("logs", OLD)
    assert shown.exit_code == EXIT_OK and "4/4 cells done" in shown.output, shown.output
    # the same sweep run again under its name: resumed, nothing refused (and nothing to send)
    again = run_sweep(emulator, data_dir, name=OLD, repeats=1, fail_one=False)
    assert again.id == exp_id and again.counts()["done"] == 4
    # `qwenlab images` names files after it, with only safe characters, all inside the folder
    out = tmp_path / "deep" / "out"
    before = {p for p in tmp_path.rglob("*") if p.is_file() and p.parent != data_dir}
    written = qwenlab("images", OLD, "-o", str(out))
    assert written.exit_code == EXIT_OK, written.output
    files = sorted({p for p in tmp_path.rglob("*") if p.is_file() and p.parent != data_dir} - before)
    assert len(files) == 8 and all(p.parent == out for p in files), files  # 4 images and their sidecars
    assert all("\n" not in p.name and "/" not in p.name for p in files)
    grid = qwenlab("grid", OLD)
    assert grid.exit_code == EXIT_OK, grid.output
    assert Path(grid.output.strip()).parent == data_dir / "grids"
    renamed = qwenlab("rename", OLD, "out-side-x")
    assert renamed.exit_code == EXIT_OK and Lab(data_dir).log.experiment_names() == ["out-side-x"], renamed.output


def test_a_bundle_of_an_older_logs_experiment_so_named_arrives_under_a_safe_name(emulator, data_dir: Path,
                                                                                tmp_path: Path) -> None:
    """A bundle made from an older log holds a name no run, rename or `--as` may give now: the
    import gave it to the new experiment all the same (a folder name, a listing's line, a shell
    word broken). It arrives with '-' for each refused character, and the report says so."""
    exp = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    exp.log.update_experiment(exp.id, name=OLD)
    bundle = tmp_path / "old.qwenlab.zip"
    Lab(data_dir).bundle(OLD, bundle)
    theirs = Lab(tmp_path / "ben")
    report = theirs.import_bundle(bundle)
    assert report.imported == {OLD: "..-..-out-side-x"}
    assert "as '..-..-out-side-x'" in str(report), str(report)
    assert theirs.log.experiment_names() == ["..-..-out-side-x"]
    assert theirs.experiment("..-..-out-side-x").counts()["done"] == 4
    again = theirs.import_bundle(bundle)  # the same bundle again: found by its tasks, nothing added
    assert not again.imported and theirs.log.experiment_names() == ["..-..-out-side-x"], str(again)
