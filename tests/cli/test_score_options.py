"""`qwenlab score`'s options refused as bad input, naming the option, before any image is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT
from qwenlab.typography import engines
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
    monkeypatch.setattr(engines, "_shared", {})  # no engine made on the stand-in outlives the test


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


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for tesseract")
def test_tesseracts_packs_are_asked_once_and_again_only_for_a_pack_found_missing(
        emulator, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab score --lang eng` ran `tesseract --list-langs` twice (the option's check, then the
    engine's), and every score in a notebook's process asked again. Once a process now; a pack
    found missing is asked about again, so one installed since (as the refusal advises) is found."""
    bin_dir, packs, calls = tmp_path / "bin", tmp_path / "packs", tmp_path / "calls"
    bin_dir.mkdir()
    packs.write_text("eng\nosd\n")
    program = bin_dir / "tesseract"
    program.write_text(  # lists the packs in `packs`, counts the listings in `calls`, reads no text
        f'#!/bin/sh\nif [ "$1" = "--list-langs" ]; then\n  echo list >> "{calls}"\n'
        '  echo "List of available languages (2):"\n'
        f'  cat "{packs}"\n  exit 0\nfi\nif [ "$1" = "--version" ]; then echo "tesseract 5.0.0"; exit 0; fi\n'
        'cat > /dev/null\nprintf "level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\t'
        'height\\tconf\\ttext\\n"\n')
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # `get_engine("tesseract")` is shared by the process: the one made here runs the stand-in, and
    # kept, it read nothing for every later test
    monkeypatch.setattr(engines, "_shared", {})
    run_sweep(emulator, data_dir, name="posters", prompt="A poster for 'LUMIERE'", repeats=1, fail_one=False,
              axes={"size": ["512x768"]})
    runner = CliRunner()
    listings = lambda: len(calls.read_text().splitlines()) if calls.exists() else 0  # noqa: E731
    first = runner.invoke(cli, ["score", "posters", "--lang", "eng", "--no-progress", "--json"])
    assert first.exit_code == 0, first.output
    assert listings() == 1
    again = runner.invoke(cli, ["score", "posters", "--engine", "tesseract", "--force", "--no-progress", "--json"])
    assert again.exit_code == 0 and listings() == 1, again.output  # the same process: not asked again
    refused = runner.invoke(cli, ["score", "posters", "--lang", "eng+jpn", "--no-progress"])
    assert refused.exit_code == EXIT_BAD_INPUT and "no 'jpn' language pack" in refused.output, refused.output
    assert listings() == 2  # a pack missing: asked again before it is refused
    packs.write_text("eng\njpn\nosd\n")  # apt-get install tesseract-ocr-jpn, in the notebook's next cell
    installed = runner.invoke(cli, ["score", "posters", "--lang", "eng+jpn", "--no-progress", "--json"])
    assert installed.exit_code == 0, installed.output
    assert listings() == 3  # found by asking again, once
