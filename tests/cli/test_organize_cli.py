"""The organize and share commands as a user types them: tag, logs --tag/--all, archive, note,
rename, delete (asks first), search, images, bundle, import (--as) and datasette --metadata-only,
with their exit codes (0 ok, 1 failed or not confirmed, 2 bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from tests.support.labkit import run_sweep


def qwenlab(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab", input=input)


@pytest.fixture
def two(emulator, data_dir: Path) -> Path:
    run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="noctis", repeats=1, fail_one=False, axes={"promptExtend": [True, False]},
              prompt="A perfume ad for NOCTIS")
    return data_dir


def _costs() -> dict:
    result = qwenlab("costs", "--json")
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.output)["totals"]


def test_tag_list_archive_and_note(two: Path) -> None:
    assert qwenlab("tag", "posters", "print", "lumiere").output.strip() == "posters: print, lumiere"
    listed = qwenlab("logs", "--tag", "print")
    assert listed.exit_code == EXIT_OK and "posters" in listed.output and "noctis" not in listed.output
    assert "print,lumiere" in listed.output
    assert qwenlab("untag", "posters", "print").output.strip() == "posters: lumiere"
    assert qwenlab("archive", "posters").exit_code == EXIT_OK
    assert "posters" not in qwenlab("logs").output
    assert "posters" in qwenlab("logs", "--all").output
    assert "archived" in qwenlab("logs", "--tag", "lumiere").output  # says where it went
    assert qwenlab("unarchive", "posters").exit_code == EXIT_OK and "posters" in qwenlab("logs").output
    again = qwenlab("unarchive", "posters")  # it said "unarchived 'posters'" of one not archived
    assert again.exit_code == EXIT_OK and again.output.strip() == "'posters' is not archived: nothing to do"
    noted = qwenlab("note", "posters", "extend wins")  # said, as tag, rename and archive say what they did
    assert noted.exit_code == EXIT_OK and noted.output.startswith("posters: note set (11 characters")
    assert qwenlab("note", "posters").output.strip() == "extend wins"
    shown = qwenlab("logs", "posters").output
    assert "  tags: lumiere" in shown and "  note: extend wins" in shown
    bad = qwenlab("tag", "nope", "x")
    assert bad.exit_code == EXIT_BAD_INPUT and "EXPERIMENT" in bad.output and "known: posters, noctis" in bad.output
    comma = qwenlab("tag", "posters", "a,b")
    assert comma.exit_code == EXIT_BAD_INPUT and "holds a comma" in comma.output
    empty = qwenlab("tag", "posters", " ")  # the fix in the command's words, not only Python's (exp.tag)
    assert empty.exit_code == EXIT_BAD_INPUT and "`qwenlab tag NAME posters`" in empty.output, empty.output
    typo = qwenlab("archive", "noctis", "nope")  # one name wrong: none archived, not the ones before it
    assert typo.exit_code == EXIT_BAD_INPUT and "noctis" in qwenlab("logs").output
    path = qwenlab("rename", "noctis", "path")  # `qwenlab logs path` would shadow it
    assert path.exit_code == EXIT_BAD_INPUT and "kept for `qwenlab logs path`" in path.output


def test_rename_and_delete_keep_the_cost_totals(two: Path) -> None:
    before = _costs()
    assert qwenlab("rename", "posters", "posters-v2").exit_code == EXIT_OK
    taken = qwenlab("rename", "posters-v2", "noctis")
    assert taken.exit_code == EXIT_BAD_INPUT and "NEW_NAME" in taken.output
    refused = qwenlab("delete", "posters-v2", input="n\n")
    assert refused.exit_code == EXIT_FAILED and "posters-v2" in qwenlab("logs").output
    no_answer = qwenlab("delete", "posters-v2")  # no stdin: nothing deleted
    assert no_answer.exit_code == EXIT_FAILED and "posters-v2" in qwenlab("logs").output
    images = list((two / "images").rglob("*.jpg"))
    done = qwenlab("delete", "posters-v2", input="y\n")
    assert done.exit_code == EXIT_OK and "(deleted) posters-v2" in done.output
    assert len(list((two / "images").rglob("*.jpg"))) == len(images) - 4
    after = _costs()
    assert {k: v for k, v in after.items() if k != "images"} == {k: v for k, v in before.items() if k != "images"}
    costs = qwenlab("costs").output
    assert "(deleted) posters-v2" in costs
    # per image over the images still here: noctis's 2, at $0.075 each, not all the spend over them
    assert "$0.075 per image (leaving out $0.30 spent by deleted experiments)" in costs, costs
    assert "posters-v2" not in qwenlab("logs").output
    assert qwenlab("delete", "noctis", "--yes").exit_code == EXIT_OK


def test_the_delete_of_one_cell_asks_and_says_cell_and_image_not_their_plurals(emulator, data_dir: Path) -> None:
    run_sweep(emulator, data_dir, name="solo", axes={}, repeats=1, fail_one=False)  # one cell, one image
    refused = qwenlab("delete", "solo", input="n\n")
    assert refused.exit_code == EXIT_FAILED
    assert "Delete 'solo': 1 cell, 1 image and their ratings and scores?" in refused.output, refused.output
    done = qwenlab("delete", "solo", "--yes")
    assert done.exit_code == EXIT_OK and done.output.startswith("deleted 'solo': 1 image, 1 file removed; "), done.output


def test_search_prints_images_and_json(two: Path) -> None:
    found = qwenlab("search", "LUMIERE")
    assert found.exit_code == EXIT_OK and found.output.count("posters") == 4 and "noctis" not in found.output
    rows = json.loads(qwenlab("search", "noctis", "--json").output)
    assert len(rows) == 2 and {r["experiment"] for r in rows} == {"noctis"} and all(Path(r["path"]).exists() for r in rows)
    assert qwenlab("search", "nothing-like-this").output.strip() == "no images found"
    assert qwenlab("search", "--raw", '"open').exit_code == EXIT_BAD_INPUT


def test_a_tag_no_experiment_has_is_bad_input_in_logs_search_and_costs_alike(two: Path) -> None:
    """`--tag poster` for 'posters': `costs` refused it (exit 2), while `logs` said "no experiments
    with tag" and `search` "no images found" with exit 0, so a script could not tell a typo from an
    empty answer. A tag no experiment has is an unknown name, as an unknown experiment is (exit 2),
    in all three, with the tags there are; a tag there is that keeps nothing is still an answer."""
    qwenlab("tag", "posters", "posters", "print")
    for command in ("logs", "search", "costs"):
        for args in ([command, "--tag", "poster"], [command, "--tag", "poster", "--json"]):
            typo = qwenlab(*args)
            assert typo.exit_code == EXIT_BAD_INPUT, (args, typo.output)
            assert "Invalid value for '--tag': no experiment has the tag 'poster' (tags: posters, print)" in typo.output
    assert qwenlab("search", "NOCTIS", "--tag", "print").output.strip() == "no images found"  # a tag there is
    qwenlab("archive", "posters")
    hidden = qwenlab("logs", "--tag", "print")  # archived, so not listed without --all: said, and no error
    assert hidden.exit_code == EXIT_OK and "but 1 archived (--all shows them)" in hidden.output, hidden.output


def test_costs_by_tag_counts_the_tagged_experiments_archived_ones_too(two: Path) -> None:
    """With 20 experiments tagged by client, `qwenlab costs` could only be narrowed by naming each."""
    everything = _costs()
    qwenlab("tag", "noctis", "client-a")
    qwenlab("archive", "noctis")  # archived spend is still spend
    tagged = qwenlab("costs", "--tag", "client-a", "--json")
    assert tagged.exit_code == EXIT_OK, tagged.output
    assert [r["experiment"] for r in json.loads(tagged.output)["rows"]] == ["noctis"]
    noctis = json.loads(qwenlab("costs", "-e", "noctis", "--json").output)["totals"]
    assert json.loads(tagged.output)["totals"] == noctis and noctis["tasks"] < everything["tasks"]
    typo = qwenlab("costs", "--tag", "client")
    assert typo.exit_code == EXIT_BAD_INPUT and "no experiment has the tag 'client' (tags: client-a)" in typo.output
    apart = qwenlab("costs", "--tag", "client-a", "-e", "posters")  # nothing in common: not "$0 spent"
    assert apart.exit_code == EXIT_BAD_INPUT and "none of 'posters' has the tag 'client-a'" in apart.output


def test_untag_of_a_tag_it_lacks_an_empty_note_and_a_rename_to_its_own_name_say_so(two: Path) -> None:
    """`untag posters poster` removed nothing and printed the tags as if it had; `note NAME ''`
    stored an empty note; `rename A A` said "renamed"."""
    qwenlab("tag", "posters", "posters", "print")
    typo = qwenlab("untag", "posters", "poster", "print")
    assert typo.exit_code == EXIT_OK and typo.stdout.strip() == "posters: posters"
    assert typo.stderr.strip() == "posters has no tag 'poster': nothing removed for it"
    assert qwenlab("untag", "posters", "posters").stderr == ""
    empty = qwenlab("note", "posters", "  ")
    assert empty.exit_code == EXIT_BAD_INPUT and "--clear to remove the note" in empty.output
    assert qwenlab("note", "posters").output.strip() == "(no note)"
    same = qwenlab("rename", "posters", "posters")
    assert same.exit_code == EXIT_OK and same.output.strip() == "'posters' is named so already: nothing to do"


def test_search_cut_at_its_limit_says_how_many_match(two: Path) -> None:
    """`-n 2` of six images printed two and nothing more: a list cut short read as all there is."""
    cut = qwenlab("search", "-n", "2")
    assert cut.exit_code == EXIT_OK and cut.stdout.count("\n") == 3, cut.output  # the header and two images
    assert cut.stderr.strip() == "the first 2 of 6 images that match are shown; -n 6 shows them all"
    assert len(json.loads(qwenlab("search", "-n", "2", "--json").stdout)) == 2  # the note is not in the JSON
    assert qwenlab("search", "-n", "6").stderr == ""


def test_search_by_rating_with_none_rated_says_why_and_a_limit_of_0_names_the_option(two: Path) -> None:
    """`search LUMIERE --min-rating 4` said "no images found" when nothing was rated, as if no
    prompt matched; `-n 0` answered in Python's words ("limit=None gives them all")."""
    said = qwenlab("search", "LUMIERE", "--min-rating", "4")
    assert said.exit_code == EXIT_OK
    assert said.output.strip() == ("no images found: none of the 4 images that match has a latest rating of 4 or more "
                                   "(0 rated); rate them in a notebook (exp.explore()), or lower --min-rating")
    assert qwenlab("search", "nothing-like-this", "--min-rating", "4").output.strip() == "no images found"
    zero = qwenlab("search", "-n", "0")
    assert zero.exit_code == EXIT_BAD_INPUT and "'-n' / '--limit'" in zero.output and "limit=None" not in zero.output


def test_images_bundle_and_import(two: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "picked"
    written = qwenlab("images", "posters", "-o", str(out), "--where", "promptExtend=on")
    assert written.exit_code == EXIT_OK, written.output
    files = sorted(out.glob("*.jpg"))
    assert len(files) == 2 and all(f.with_suffix(".json").exists() for f in files)
    with Image.open(files[0]) as im:
        assert b"<qwenlab:record>" in im.info["xmp"]
    assert qwenlab("images", "posters", "-o", str(out), "--where", "nope=1").exit_code == EXIT_BAD_INPUT
    no_such = qwenlab("images", "posters", "-o", str(out), "--where", "promptExtend=maybe")
    assert no_such.exit_code == EXIT_BAD_INPUT and "'--where'" in no_such.output, no_such.output

    bundle = tmp_path / "share.zip"
    assert qwenlab("bundle", "posters", "noctis", "-o", str(bundle)).exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    first = qwenlab("import", str(bundle))
    assert first.exit_code == EXIT_OK and "6 tasks" in first.output, first.output
    again = qwenlab("import", str(bundle))
    assert again.exit_code == EXIT_OK and "nothing added" in again.output and "added no rows" in again.output
    one = tmp_path / "one.zip"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(two))
    qwenlab("bundle", "noctis", "-o", str(one))
    qwenlab("rename", "noctis", "noctis-old")
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    qwenlab("rename", "noctis", "noctis-ben")  # Ben's copy renamed: the tasks are still his
    assert "nothing added" in qwenlab("import", str(one)).output
    assert qwenlab("bundle", "nope", "-o", str(one)).exit_code == EXIT_BAD_INPUT
    assert qwenlab("import", str(tmp_path / "missing.zip")).exit_code == EXIT_BAD_INPUT


def test_a_bundle_is_never_written_over_the_log_an_image_or_another_file(two: Path, tmp_path: Path) -> None:
    """`qwenlab bundle NAME -o data/qwenlab.db` wrote a zip over the log itself (exit 0), and every
    experiment in it was gone; so it did over a paid image, or any file. A bundle is now written
    only to a .zip that is not there yet or is an earlier bundle."""
    log = two / "qwenlab.db"
    image = next(iter(sorted((two / "images").rglob("*.jpg"))))
    other = tmp_path / "notes.zip"
    other.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip of the user's, not a bundle
    before = {p: p.read_bytes() for p in (log, image, other)}
    for target, words in ((log, "name it ….zip"), (image, "name it ….zip"), (tmp_path / "b.txt", "name it ….zip"),
                          (other, "is there and is not a qwenlab bundle")):
        refused = qwenlab("bundle", "posters", "-o", str(target))
        assert refused.exit_code == EXIT_BAD_INPUT and "-o" in refused.output and words in refused.output, refused.output
    assert {p: p.read_bytes() for p in before} == before and not (tmp_path / "b.txt").exists()
    assert qwenlab("logs", "posters").exit_code == EXIT_OK
    again = tmp_path / "share.zip"
    assert qwenlab("bundle", "posters", "-o", str(again)).exit_code == EXIT_OK
    assert qwenlab("bundle", "noctis", "-o", str(again)).exit_code == EXIT_OK  # an earlier bundle is replaced


def test_an_import_under_a_name_in_use_exits_2_naming_as(two: Path, emulator, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "p.zip"
    qwenlab("bundle", "posters", "-o", str(bundle))
    ben = tmp_path / "ben"
    ben.mkdir()
    run_sweep(emulator, ben, name="posters", repeats=1, fail_one=False)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(ben))
    clash = qwenlab("import", str(bundle))
    assert clash.exit_code == EXIT_BAD_INPUT and "--as posters-2" in clash.output and "Error: name:" not in clash.output, clash.output
    # --as naming a name in use: the error blamed "name:"; it names the option typed, and a free name
    run_sweep(emulator, ben, name="posters-2", repeats=1, fail_one=False)
    taken = qwenlab("import", str(bundle), "--as", "posters")
    assert taken.exit_code == EXIT_BAD_INPUT, taken.output
    assert "Invalid value for '--as': this log has an experiment named 'posters' already" in taken.output, taken.output
    assert "--as posters-3" in taken.output and "Error: name:" not in taken.output, taken.output
    assert qwenlab("import", str(bundle), "--as", "posters-ana").exit_code == EXIT_OK
    assert "posters-ana" in qwenlab("logs").output
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really")
    assert qwenlab("import", str(broken)).exit_code == EXIT_BAD_INPUT  # no bundle at all: bad input
    # into a folder with no log: refused before a log is made there (the next `logs` said "no
    # experiments" instead of "no log yet")
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "nobody"))
    assert qwenlab("import", str(broken)).exit_code == EXIT_BAD_INPUT and not (tmp_path / "nobody").exists()


def test_as_on_a_bundle_imported_before_says_it_was_not_applied_and_how_to_rename(two: Path, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab import --as NEW` of a bundle imported before printed only "nothing added (... as
    experiment 'posters')": NEW was silently not given, and a script went on to use a name that
    is nowhere. Now the report says --as was not applied, under which name the experiment is,
    and the rename that gives it NEW; the copy keeps its name (a rename is the user's to make:
    the old name is then refused to runs and notebooks use it)."""
    bundle = tmp_path / "p.zip"
    assert qwenlab("bundle", "posters", "-o", str(bundle)).exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    assert qwenlab("import", str(bundle)).exit_code == EXIT_OK
    again = qwenlab("import", str(bundle), "--as", "posters from ana")
    assert again.exit_code == EXIT_OK, again.output
    assert "--as 'posters from ana' was not applied" in again.output, again.output
    assert "qwenlab rename posters 'posters from ana'" in again.output, again.output
    assert "posters from ana" not in qwenlab("logs").output  # no name changed behind the user's back
    # the rename it names works, and an --as naming the name it has already says nothing more
    assert qwenlab("rename", "posters", "posters from ana").exit_code == EXIT_OK
    same = qwenlab("import", str(bundle), "--as", "posters from ana")
    assert same.exit_code == EXIT_OK and "not applied" not in same.output, same.output
    # the same in Python: the report holds it, beside a first import's usual "as"
    from qwenlab import Lab

    report = Lab(tmp_path / "ben").import_bundle(bundle, as_name="another")
    assert report.not_renamed == {"posters": ("posters from ana", "another")}
    # into the log the bundle came from: the experiment is that log's own, and stays so named
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(two))
    home = qwenlab("import", str(bundle), "--as", "posters-2")
    assert home.exit_code == EXIT_OK and "--as 'posters-2' was not applied" in home.output, home.output


def test_importing_a_file_that_is_no_bundle_is_bad_input_saying_what_a_bundle_is(two: Path, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab import notes.txt` exited 1, as if the import had failed, and said only "not a
    qwenlab bundle": the file given is wrong (exit 2), and the message now names BUNDLE and what
    a bundle is. A bundle damaged on its way still fails (exit 1): ask for it again."""
    import zipfile

    text = tmp_path / "notes.txt"
    text.write_text("not a bundle\n")
    other_zip = tmp_path / "photos.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("a.txt", "hello")
    wrong_format = tmp_path / "other.zip"
    with zipfile.ZipFile(wrong_format, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    before = sorted(two.rglob("*"))
    for path, why in ((text, "not a zip file"), (other_zip, "no readable manifest.json"),
                      (wrong_format, "format 'something-else'")):
        result = qwenlab("import", str(path))
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert "Invalid value for 'BUNDLE'" in result.output and "is not a qwenlab bundle" in result.output, result.output
        assert why in result.output and "qwenlab bundle NAME -o FILE.zip" in result.output, result.output
    assert sorted(two.rglob("*")) == before  # nothing written
    from tests.store.test_bundle import _flipped

    good = tmp_path / "good.zip"
    assert qwenlab("bundle", "posters", "-o", str(good)).exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    damaged = qwenlab("import", str(_flipped(good, tmp_path / "damaged.zip", "images/")))
    assert damaged.exit_code == EXIT_FAILED and "damaged" in damaged.output, damaged.output


def test_a_bundle_cut_short_on_its_way_fails_saying_so_not_that_it_is_no_bundle(two: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle whose download stopped short (a zip's index is its last bytes) was refused as "not
    a qwenlab bundle (not a zip file) ... give such a file", exit 2, as if the wrong file had been
    given: it is the right file, damaged on its way (exit 1), and the fix is to get it again."""
    good = tmp_path / "p.zip"
    assert qwenlab("bundle", "posters", "-o", str(good)).exit_code == EXIT_OK
    data = good.read_bytes()
    nobody = tmp_path / "nobody"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(nobody))
    for kept in (len(data) // 2, len(data) - 10):
        cut = tmp_path / f"cut-{kept}.zip"
        cut.write_bytes(data[:kept])
        result = qwenlab("import", str(cut))
        assert result.exit_code == EXIT_FAILED, result.output
        assert "cut short" in result.output and "ask for the bundle again" in result.output, result.output
        assert "not a qwenlab bundle" not in result.output and "Traceback" not in result.output, result.output
        assert not nobody.exists()  # refused before a log is made


def test_a_refused_import_leaves_no_log_and_names_a_fix_that_works(two: Path, emulator, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle with one flipped byte gave a traceback and left an empty log behind; so did --as
    with a name no run may take (which was accepted: 'path', '(deleted) ...', one holding the
    key). A clash in a bundle of two experiments suggested --as, which such a bundle refuses."""
    from tests.store.test_bundle import _flipped

    both = tmp_path / "both.zip"
    assert qwenlab("bundle", "posters", "noctis", "-o", str(both)).exit_code == EXIT_OK
    one = tmp_path / "one.zip"
    assert qwenlab("bundle", "noctis", "-o", str(one)).exit_code == EXIT_OK
    nobody = tmp_path / "nobody"
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(nobody))
    damaged = qwenlab("import", str(_flipped(both, tmp_path / "flipped.zip", "images/")))
    assert damaged.exit_code == EXIT_FAILED and "the bundle is damaged" in damaged.output, damaged.output
    assert "Traceback" not in damaged.output and not nobody.exists()
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-organize-cli-SECRET")
    for name, said in (("path", "kept for `qwenlab logs path`"), ("(deleted) x", "kept for deleted experiments"),
                       ("x-sk-organize-cli-SECRET", "holds your Runware API key")):
        refused = qwenlab("import", str(one), "--as", name)
        assert refused.exit_code == EXIT_BAD_INPUT and "'--as'" in refused.output and said in refused.output, refused.output
        assert "sk-organize-cli-SECRET" not in refused.output and not nobody.exists()
    monkeypatch.delenv("RUNWARE_API_KEY")
    ben = tmp_path / "ben"
    ben.mkdir()
    run_sweep(emulator, ben, name="posters", repeats=1, fail_one=False)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(ben))
    clash = qwenlab("import", str(both))
    assert clash.exit_code == EXIT_BAD_INPUT and "qwenlab rename posters posters-mine" in clash.output, clash.output
    assert qwenlab("rename", "posters", "posters-mine").exit_code == EXIT_OK
    assert qwenlab("import", str(both)).exit_code == EXIT_OK  # the fix it named works


def test_the_fix_named_for_a_name_in_use_runs_as_pasted_from_another_folder(two: Path, emulator, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The clash named `qwenlab import ny.zip --as new year poster-2`: the bundle's bare file name
    (not there from any other folder) and a name of three words, so the command it gave failed as
    pasted; so did `qwenlab rename new year poster new year poster-mine`. Both run as given now."""
    import re
    import shlex

    run_sweep(emulator, two, name="new year poster", axes={}, repeats=1, fail_one=False)
    shared = tmp_path / "downloads from ana"
    shared.mkdir()
    one, both = shared / "ny.zip", shared / "both.zip"
    assert qwenlab("bundle", "new year poster", "-o", str(one)).exit_code == EXIT_OK
    assert qwenlab("bundle", "new year poster", "noctis", "-o", str(both)).exit_code == EXIT_OK
    monkeypatch.chdir(tmp_path)  # not the bundles' folder
    for bundle, expected in ((one, {"new year poster", "new year poster-2"}),
                             (both, {"new year poster-mine", "new year poster", "noctis"})):
        ben = tmp_path / f"ben-{bundle.stem}"  # a colleague whose log has a run of that name
        ben.mkdir()
        run_sweep(emulator, ben, name="new year poster", axes={}, repeats=1, fail_one=False)
        monkeypatch.setenv("QWENLAB_DATA_DIR", str(ben))
        clash = qwenlab("import", str(bundle))
        assert clash.exit_code == EXIT_BAD_INPUT, clash.output
        fix = shlex.split(re.search(r"`(qwenlab [^`]+)`", clash.output).group(1))  # type: ignore[union-attr]
        fixed = qwenlab(*fix[1:])
        assert fixed.exit_code == EXIT_OK, f"{fix}\n{fixed.output}"
        if fix[1] == "rename":  # yours renamed: the bundle of two goes in under its own names
            assert qwenlab("import", str(bundle)).exit_code == EXIT_OK
        assert {e["name"] for e in json.loads(qwenlab("logs", "--json").output)} == expected


def test_datasette_writes_its_metadata(two: Path) -> None:
    result = qwenlab("datasette", "--metadata-only")
    assert result.exit_code == EXIT_OK
    meta = json.loads(Path(result.output.strip()).read_text())
    assert "cost_by_experiment" in meta["databases"]["qwenlab"]["queries"]


def test_datasette_on_a_port_in_use_fails_with_qwenlab_s_code_and_names_the_option(two: Path) -> None:
    import socket

    with socket.socket() as taken:  # the datasette extra, which `make` installs: missing, this fails, not skips
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = qwenlab("datasette", "--port", str(taken.getsockname()[1]))
    assert result.exit_code == EXIT_FAILED and "try another --port" in result.output, result.output


def test_the_readme_s_organize_commands_run_as_written(emulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell block of the README's "Organize, find and share", line by line, on an experiment
    named like the demo's (the datasette line serves until Ctrl-C: its --metadata-only twin runs)."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Organize, find and share")[1].split("\n## ")[0]
    block = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    run_sweep(emulator, data_dir, name="demo", repeats=1, fail_one=False)
    monkeypatch.chdir(data_dir.parent)  # the README's paths are data/...: the test's data folder
    lines = [ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip()]
    assert len(lines) >= 8
    for line in lines:
        words = shlex.split(line)
        env = {}
        while "=" in words[0]:  # VAR=value before the command
            key, _, value = words.pop(0).partition("=")
            env[key] = str(data_dir.parent / value) if key == "QWENLAB_DATA_DIR" else value
        args = words[1:]
        if args[0] == "datasette":
            args = ["datasette", "--metadata-only"]
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            result = qwenlab(*args)
        assert result.exit_code == EXIT_OK, f"{line}\n{result.output}"
    assert len(list((data_dir / "picked").glob("*.jpg"))) == 2
    ben = json.loads(CliRunner(env={"QWENLAB_DATA_DIR": str(data_dir / "ben")}).invoke(cli, ["costs", "--json"]).output)
    assert ben["totals"]["cost_usd"] == _costs()["cost_usd"]  # the deleted import's spend stays in Ben's costs


def test_the_listings_say_which_experiments_were_imported_and_from_where(two: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Among a log's experiments, those imported from a colleague's bundle listed as if run here:
    `qwenlab logs` and `logs NAME` said nothing of it (only `costs` did), and a run of one is
    refused. The listing marks them (and explains the mark), `logs NAME` says from which bundle
    and under which name, and --json gives `imported` as Datasette's cost query does."""
    bundle = tmp_path / "p.zip"
    assert qwenlab("bundle", "posters", "-o", str(bundle)).exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    assert qwenlab("import", str(bundle), "--as", "from-ana").exit_code == EXIT_OK
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(two))
    listed = qwenlab("logs").output
    assert not any(line.startswith("imported") for line in listed.splitlines())  # none here: no column, no legend
    assert [r["imported"] for r in json.loads(qwenlab("logs", "--json").output)] == [False, False]
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "ben"))
    listed = qwenlab("logs").output.splitlines()
    header, row = listed[0].split(), listed[1].split()
    assert "imported" in header and dict(zip(header, row))["imported"] == "p.zip", listed
    assert any(line.startswith("imported: run in another log") for line in listed), listed
    shown = qwenlab("logs", "from-ana").output
    assert "  imported: from p.zip" in shown and "named 'posters' there" in shown, shown
    assert json.loads(qwenlab("logs", "--json").output)[0]["imported"] is True


def test_a_sweep_file_run_into_an_archived_experiment_says_so_once(emulator, data_dir: Path, tmp_path: Path) -> None:
    """`qwenlab run` into an archived experiment goes on, as archiving locks nothing, and says once
    that the experiment is archived (it stays out of `qwenlab logs`) and how to bring it back; its
    dry run says it too."""
    path = tmp_path / "kept.toml"
    path.write_text('name = "kept"\nprompt = "A poster reading \'LUMIERE\'"\n[axes]\npromptExtend = [true]\n')
    assert qwenlab("run", str(path), "--no-progress").exit_code == EXIT_OK
    assert qwenlab("archive", "kept").exit_code == EXIT_OK
    path.write_text(path.read_text().replace("[true]", "[true, false]"))
    dry = qwenlab("run", str(path), "--dry-run", "--extend")  # the plan said nothing of it
    assert dry.exit_code == EXIT_OK and dry.output.count("is archived") == 1, dry.output
    assert "experiment 'kept' is archived (since " in dry.output and "`qwenlab unarchive kept` brings it back" in dry.output
    assert "a run would go on" in dry.output and "the run goes on" not in dry.output  # a dry run sends nothing
    result = qwenlab("run", str(path), "--no-progress", "--extend")
    assert result.exit_code == EXIT_OK and "2/2 cells done" in result.output, result.output
    assert result.output.count("is archived") == 1, result.output
    assert "experiment 'kept' is archived (since " in result.output and "the run goes on" in result.output
    assert "`qwenlab unarchive kept` brings it back" in result.output
    assert "kept" not in qwenlab("logs").output and "kept" in qwenlab("logs", "--all").output
