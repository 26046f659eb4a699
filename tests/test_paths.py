"""One log, wherever you start: the data folder is the project's `data/` from its root, from
`notebooks/` and from any folder below; the user's data folder outside a project;
`$QWENLAB_DATA_DIR` before both. Reading never creates a folder; `qwenlab logs path` is absolute."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.paths import data_dir, project_root, user_data_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No QWENLAB_DATA_DIR, and a user data folder under the test's own temporary folder."""
    monkeypatch.delenv("QWENLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "qwenlab"


def project(folder: Path, pyproject: str | None = '[project]\nname = "qwenlab"\n') -> Path:
    (folder / "notebooks" / "deep").mkdir(parents=True)
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    return folder


@pytest.mark.parametrize("start", [".", "notebooks", "notebooks/deep"])
def test_the_projects_data_folder_from_its_root_and_below(no_env: Path, tmp_path: Path, start: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "proj")
    monkeypatch.chdir(proj / start)
    assert data_dir(create=False) == proj / "data"
    assert project_root() == proj


@pytest.mark.parametrize("pyproject", [
    '[project]\nname = "my-posters"\ndependencies = ["qwenlab[ocr]>=0.1", "pandas"]\n',
    '[project]\nname = "my-posters"\n[project.optional-dependencies]\nlab = ["QwenLab"]\n',
])
def test_a_project_that_depends_on_qwenlab_is_one(no_env: Path, tmp_path: Path, pyproject: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "posters", pyproject)
    monkeypatch.chdir(proj / "notebooks")
    assert data_dir(create=False) == proj / "data"


def test_a_pyproject_that_does_not_name_qwenlab_is_not_one(no_env: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "other", '[project]\nname = "other"\ndependencies = ["qwenlabx"]\n# qwenlab\n')
    monkeypatch.chdir(proj / "notebooks")
    assert data_dir(create=False) == no_env and project_root() is None


def test_a_marker_file_makes_a_project(no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "marked", None)
    (proj / ".qwenlab").touch()
    monkeypatch.chdir(proj / "notebooks" / "deep")
    assert data_dir(create=False) == proj / "data"


def test_an_existing_log_is_found_from_below(no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(tmp_path / "plain", None)
    (folder / "data").mkdir()
    (folder / "data" / "qwenlab.db").touch()
    monkeypatch.chdir(folder / "notebooks" / "deep")
    assert data_dir(create=False) == folder / "data"


def test_the_project_wins_over_a_stray_log_below_it(no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notebook 03 once left notebooks/data/qwenlab.db behind; the project's log is still the one."""
    proj = project(tmp_path / "proj")
    (proj / "notebooks" / "data").mkdir()
    (proj / "notebooks" / "data" / "qwenlab.db").touch()
    monkeypatch.chdir(proj / "notebooks")
    assert data_dir(create=False) == proj / "data"


def test_outside_a_project_the_users_data_folder(no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "anywhere").mkdir()
    monkeypatch.chdir(tmp_path / "anywhere")
    assert data_dir(create=False) == no_env == user_data_dir()
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("XDG_DATA_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "qwenlab"
        monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: only an absolute path counts
        assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "qwenlab"


def test_qwenlab_data_dir_wins_and_is_made_absolute(no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "proj")
    monkeypatch.chdir(proj / "notebooks")
    monkeypatch.setenv("QWENLAB_DATA_DIR", "elsewhere")
    assert data_dir(create=False) == proj / "notebooks" / "elsewhere"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "chosen"))
    assert data_dir(create=False) == tmp_path / "chosen"


def test_create_false_creates_nothing_and_create_true_creates(no_env: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "proj")
    monkeypatch.chdir(proj / "notebooks")
    data_dir(create=False)
    assert not (proj / "data").exists() and not no_env.exists()
    assert data_dir().is_dir() and (proj / "data").is_dir()


def test_this_repository_from_notebooks_is_its_data_folder(no_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the notebooks run (Jupyter starts them in notebooks/): the repository's data/."""
    monkeypatch.chdir(ROOT / "notebooks")
    assert data_dir(create=False) == ROOT / "data"


@pytest.mark.parametrize("where", ["project/notebooks", "anywhere"])
def test_logs_path_is_absolute_and_reading_creates_nothing(no_env: Path, tmp_path: Path, where: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(tmp_path / "project")
    (tmp_path / "anywhere").mkdir()
    monkeypatch.chdir(tmp_path / where)
    expected = (proj / "data" if where.startswith("project") else no_env) / "qwenlab.db"
    runner = CliRunner()
    path = runner.invoke(cli, ["logs", "path"]).output.strip()
    assert path == str(expected) and Path(path).is_absolute()
    logs = runner.invoke(cli, ["logs"])
    assert logs.exit_code == 1 and f"no log yet at {expected}" in logs.output, logs.output
    for args in (["logs", "--json"], ["costs"], ["costs", "--json"], ["logs", "demo"], ["grid", "demo"],
                 ["export", "demo"], ["score", "demo"], ["models"]):
        runner.invoke(cli, args)
    assert not (proj / "data").exists() and not (tmp_path / where / "data").exists() and not no_env.exists()


def test_a_failed_atomic_write_names_the_file_asked_for_and_leaves_no_temporary(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from qwenlab.paths import write_atomic

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(NotADirectoryError) as info:  # the temporary file cannot be made
        write_atomic(blocker / "report.html", b"<html>")
    assert info.value.filename == str(blocker / "report.html")

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as info:  # writing fails half way: the error is about the target
        write_atomic(tmp_path / "grid.png", b"x" * 10)
    assert "No space left" in str(info.value) and list(tmp_path.glob(".tmp-*")) == []
    assert info.value.filename == str(tmp_path / "grid.png")  # os.write's own error names no file


def test_a_data_folder_that_is_a_file_is_named_with_the_fix(no_env: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """QWENLAB_DATA_DIR (or Lab's data_dir) pointing at a file: 'File exists', or 'no log yet at
    FILE/qwenlab.db', said nothing of what was wrong."""
    from qwenlab import Lab

    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    fix = "is a file, not a folder: point it at a folder"
    with pytest.raises(NotADirectoryError, match=f"data_dir '{afile}' {fix}"):
        Lab(afile)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(afile))
    for create in (True, False):
        with pytest.raises(NotADirectoryError, match=f"QWENLAB_DATA_DIR '{afile}' {fix}"):
            data_dir(create=create)
    for args in (["logs"], ["costs"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and fix in result.output, result.output


@pytest.mark.parametrize("name, reserved", [("con", True), ("CON.html", True), ("Nul.tar.gz", True), ("aux .png", True),
                                            ("com1.jpg", True), ("LPT9", True), ("com0", False), ("console.html", False),
                                            ("con-v2.html", False), ("x-con.html", False), ("nul_seed-1.jpg", False)])
def test_the_names_windows_keeps_for_devices(name: str, reserved: bool) -> None:
    from qwenlab.paths import reserved_on_windows

    assert reserved_on_windows(name) is reserved


@pytest.mark.parametrize("platform, written", [("win32", True), ("linux", False)])
def test_a_file_held_open_a_moment_is_replaced_once_let_go_on_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      platform: str, written: bool) -> None:
    """On Windows a file open in another thread or program (the same image being hashed, an
    antivirus scanning it) cannot be replaced: the rename fails with PermissionError until it is
    closed, and a paid image's save failed. It is tried again for a moment there; elsewhere the
    error is the file system's own answer, raised at once, as before."""
    import os
    import time

    import qwenlab.paths as paths

    target = tmp_path / "images" / "ab" / "ab.png"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    real, refused = os.replace, []

    def held_open(src: str, dst: object) -> None:
        if len(refused) < 3:
            refused.append(dst)
            raise PermissionError(13, "Access is denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    monkeypatch.setattr(os, "replace", held_open)
    if written:
        paths.write_atomic(target, b"new")
        assert target.read_bytes() == b"new" and len(refused) == 3
    else:
        with pytest.raises(PermissionError) as info:
            paths.write_atomic(target, b"new")
        assert info.value.filename == str(target) and len(refused) == 1 and target.read_bytes() == b"old"
    assert list(target.parent.glob(".tmp-*")) == []
