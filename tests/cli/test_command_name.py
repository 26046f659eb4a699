"""The commands qwenlab suggests are ones the user can type: `make demo` runs `.venv/bin/qwenlab`
without activating the virtualenv, and its summary's `qwenlab logs demo` answered "command not
found" there."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from qwenlab.cli.common import command_name
from qwenlab.demo import DemoResult


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with `.venv/bin/qwenlab` (an executable file), the current folder, whose bin is not on PATH."""
    script = tmp_path / ".venv" / "bin" / "qwenlab"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    return tmp_path


def test_a_script_not_on_path_is_named_by_its_path(checkout: Path) -> None:
    assert command_name(".venv/bin/qwenlab") == os.path.join(".venv", "bin", "qwenlab")
    assert command_name(str(checkout / ".venv" / "bin" / "qwenlab")) == os.path.join(".venv", "bin", "qwenlab")


def test_the_script_on_path_is_named_qwenlab(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(checkout / ".venv" / "bin"))  # an activated virtualenv
    assert command_name(".venv/bin/qwenlab") == "qwenlab"


def test_a_script_outside_the_current_folder_is_named_by_its_absolute_path(checkout: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert command_name(str(checkout / ".venv" / "bin" / "qwenlab")) == str(checkout / ".venv" / "bin" / "qwenlab")


def test_python_dash_m_is_named_with_its_interpreter(checkout: Path) -> None:
    main = str(Path(sys.modules["qwenlab.cli"].__file__).with_name("__main__.py"))
    named = command_name(main)
    assert named.endswith(" -m qwenlab.cli")
    assert Path(named.split(" -m ")[0].strip("'")).resolve() == Path(sys.executable).resolve()
    assert command_name("/somewhere/pytest/__main__.py") == "qwenlab"  # not run as qwenlab: the plain name


def test_a_virtualenvs_python_is_not_taken_for_the_systems_it_links_to(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """.venv/bin/python links to the system's python; `python` on PATH finds that one, without qwenlab."""
    system = checkout / "system" / "python"
    system.parent.mkdir()
    system.write_text("#!/bin/sh\n")
    system.chmod(0o755)
    venv_python = checkout / ".venv" / "bin" / "python"
    venv_python.symlink_to(system)
    monkeypatch.setenv("PATH", str(system.parent))
    monkeypatch.setattr(sys, "executable", str(venv_python))
    main = str(Path(sys.modules["qwenlab.cli"].__file__).with_name("__main__.py"))
    assert command_name(main) == os.path.join(".venv", "bin", "python") + " -m qwenlab.cli"


def test_the_demo_summary_suggests_commands_as_typed(tmp_path: Path) -> None:
    counts = {"cells": 64, "done": 63, "images": 63, "failed": 1, "pending": 0, "in_doubt": 0}
    exp = SimpleNamespace(counts=lambda: counts, cost=4.725, name="demo", log=SimpleNamespace(path=tmp_path / "qwenlab.db"))
    text = DemoResult(exp, sent=64, grids=[], data_dir=tmp_path).summary(".venv/bin/qwenlab")
    assert "(.venv/bin/qwenlab logs demo  |  .venv/bin/qwenlab datasette" in text
    assert "run `.venv/bin/qwenlab demo` again" in text
    assert "(qwenlab logs demo" in DemoResult(exp, sent=64, grids=[], data_dir=tmp_path).summary()
