"""A sweep file refused by `qwenlab run` is named in the error, whichever check refused it: those
made reading the file named it, those of its sweep's cells said "sweep is invalid"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT

BODIES = {
    "no repeats": 'prompt = "A poster reading \'OPEN\'"\nrepeats = 0\n',
    "a size out of range": 'prompt = "A poster reading \'OPEN\'"\n[axes]\nsize = ["13x13", "1024x1024"]\n',
    "an axis of no parameter": 'prompt = "A poster reading \'OPEN\'"\n[axes]\ncolour = ["red", "blue"]\n',
    # the base request's own checks said "request is invalid", naming no file
    "a size beside width and height": 'prompt = "A poster reading \'OPEN\'"\n[request]\nsize = "1024x1024"\nwidth = 512\n'
                                      'height = 512\n',
    "a parameter given twice": 'prompt = "A poster reading \'OPEN\'"\n[request]\npromptExtend = true\n'
                               '"providerSettings.alibaba.promptExtend" = false\n',
    "a positivePrompt beside the prompt": 'prompt = "A poster reading \'OPEN\'"\n[request]\npositivePrompt = "Another"\n',
    "a size that is no size": 'prompt = "A poster reading \'OPEN\'"\n[request]\nsize = "big"\n',
}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize("case", list(BODIES))
def test_a_sweep_whose_cells_are_invalid_is_said_of_its_file(data_dir: Path, tmp_path: Path, case: str,
                                                             dry_run: bool) -> None:
    path = tmp_path / "posters.toml"
    path.write_text(BODIES[case])
    result = CliRunner().invoke(cli, ["run", str(path), "--no-progress", *(["--dry-run"] if dry_run else [])])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert f"Error: {path} is invalid (" in result.output and "); nothing was sent" in result.output, result.output
    assert "sweep is invalid" not in result.output and "request is invalid" not in result.output
    assert not (data_dir / "qwenlab.db").exists()  # refused before a log was made


def test_a_key_pasted_into_a_sweep_file_is_said_of_the_file(data_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-cli3-pasted-key-0123456789"
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    monkeypatch.setenv("RUNWARE_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: were it asked, it would fail
    path = tmp_path / "pasted.toml"
    path.write_text(f'prompt = "A poster reading {key}"\n[request]\nsize = "1024x1024"\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert f"{path} is invalid (1 problem)" in result.output and "holds your Runware API key" in result.output
    assert key not in result.output
