"""`qwenlab score`'s options refused as bad input, naming the option, before any image is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT
from tests.support.labkit import run_sweep


@pytest.fixture
def tesseract_with_eng_and_jpn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `tesseract` on PATH that has the packs eng, jpn and osd, and reads nothing: the test needs
    neither Tesseract nor its packs installed, and fails if any image is read."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "tesseract"
    program.write_text('#!/bin/sh\nif [ "$1" = "--list-langs" ]; then\n'
                       '  printf "List of available languages in \\"/usr/share/tessdata/\\" (3):\\neng\\njpn\\nosd\\n"\n'
                       '  exit 0\nfi\necho "read an image" >&2\nexit 3\n')
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for tesseract")
def test_a_lang_tesseract_lacks_names_lang_and_the_packs_installed(emulator, data_dir: Path,
                                                                     tesseract_with_eng_and_jpn: None) -> None:
    """It exited 1 with "lang='xxx': ...", the library's word, as if the OCR had failed."""
    run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False, axes={"size": ["512x768"]})
    runner = CliRunner()
    out = runner.invoke(cli, ["score", "posters", "--lang", "eng+xxx", "--no-progress"])
    assert out.exit_code == EXIT_BAD_INPUT, out.output
    assert "Invalid value for '--lang'" in out.output and "no 'xxx' language pack" in out.output, out.output
    assert "installed here: eng, jpn" in out.output and "apt-get install tesseract-ocr-xxx" in out.output
    assert "lang=" not in out.output and "osd" not in out.output  # osd reads no text: not offered

    # a blank --lang was taken for no pack: every image left unscored, "in a script it does not read"
    blank = runner.invoke(cli, ["score", "posters", "--lang", " ", "--no-progress"])
    assert blank.exit_code == EXIT_BAD_INPUT and "Invalid value for '--lang'" in blank.output, blank.output
    assert "eng or eng+jpn" in blank.output and "installed here: eng, jpn" in blank.output
