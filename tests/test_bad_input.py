"""Bad input: broken sweep files, unknown axes, impossible sizes, empty prompt lists, a negative
budget, concurrency 0 ... Each is refused with an error that names the parameter and says how to
fix it; nothing is spent (the emulator receives no request at all, its ledger stays empty); and
nothing already in the log changes (every row of every table, compared before and after).

The TOML parser's own cases (unknown settings, a [request] that is not a table, range syntax)
are in tests/sweeps/test_sweepfile.py; the sweep's (zip lengths, seed policies) in tests/sweeps/test_sweep.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.emulator import Emulator
from qwenlab.errors import ValidationError

KEY = "sk-bad-input-test"
P = 'prompt = "A premium beauty poster for LUMIERE"\n'
GOOD = P + 'name = "kept"\nbudget_usd = 1.0\n[request]\nsize = "256x256"\n[axes]\npromptExtend = [true, false]\n'


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the log."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr) for t in tables}


@pytest.fixture
def logged(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An emulator, and a log already holding a finished experiment ("kept", 2 cells)."""
    with Emulator(api_key=KEY) as emu:
        monkeypatch.setenv("RUNWARE_BASE_URL", emu.url)
        monkeypatch.setenv("RUNWARE_API_KEY", KEY)
        good = tmp_path / "good.toml"
        good.write_text(GOOD)
        result = CliRunner().invoke(cli, ["run", str(good), "--no-progress", "--yes"])  # a key is set: real money
        assert result.exit_code == 0 and "2/2 cells done" in result.output, result.output
        before = snapshot(data_dir / "qwenlab.db")
        assert len(before["tasks"]) == 2 and len(before["images"]) == 2
        state = {"emu": emu, "good": good, "before": before, "requests": len(emu.requests), "ledger": len(emu.ledger)}
        yield state
        # nothing was spent or sent, and nothing logged was lost or changed
        assert len(emu.requests) == state["requests"] and len(emu.ledger) == state["ledger"] == 2
        assert snapshot(data_dir / "qwenlab.db") == before
        with sqlite3.connect(f"file:{data_dir / 'qwenlab.db'}?mode=ro", uri=True) as conn:
            assert all((data_dir / path).is_file() for (path,) in conn.execute("SELECT path FROM images"))


# (file text, the parameter the error must name, words of the fix it must give)
BROKEN_FILES: dict[str, tuple[str | bytes, str, str]] = {
    "TOML syntax": ('prompt = "unclosed\n', "prompt", "line 1"),  # the line's key, its line, the fix
    "not UTF-8": (b"prompt = \"caf\xe9\"\n", "sweep file", "save it as a UTF-8 TOML file"),
    "a misspelt setting": (P + "budget = 3\n", "budget", "did you mean budget_usd?"),
    "axes not a table": (P + "axes = 3\n", "axes", "must be a table ([axes])"),
    "unknown axis": (P + "[axes]\nstepz = [10, 20]\n", "stepz", "it takes: "),
    "undeclared parameter (seed)": (P + "[axes]\nseed = [1, 2]\n", "seed", "takes no seed"),
    "impossible size": (P + '[axes]\nsize = ["9000x10"]\n', "size (sent as width)", "each side must be 256 to 2048 px"),
    "size too small": (P + '[request]\nsize = "100x100"\n', "size (sent as width)", "each side must be 256 to 2048 px"),
    "size not WxH": (P + '[axes]\nsize = ["huge"]\n', "size", "write it like '1024x1536'"),
    "one size as two numbers": (P + '[axes]\nsize = [1024, 1536]\n', "size", 'write ["1024x1536"] (or [[1024, 1536]]) for one size'),
    "one side only": (P + "[request]\nwidth = 512\n", "height", "add height or remove width"),
    "empty prompt list": ('[axes]\nprompt = []\n', "prompt", "give a list of at least one"),
    "empty prompt": ('prompt = ""\n', "prompt", "write its text, 2 to 2000 characters"),  # named as the file names it
    "no prompt at all": ('[axes]\npromptExtend = [true]\n', "prompt", 'add a line prompt = "..."'),
    "prompt too long": ('prompt = "' + "a" * 2001 + '"\n', "prompt (sent as positivePrompt)", "it must have 2 to 2000"),
    "empty axis": (P + "[axes]\nnegativePrompt = []\n", "negativePrompt", "give a list of at least one"),
    "bad range": (P + '[axes]\noutputQuality = "60-x"\n', "outputQuality", "write '1-5'"),
    "runaway range": (P + '[axes]\noutputQuality = "1-1000000"\n', "outputQuality", "narrow it"),
    "out-of-range values": (P + '[axes]\nnumberResults = "0-3"\n', "numberResults", "it must be from 1 to 20"),
    # range syntax rounded these to whole numbers and sent them: "1.5" bought 2 images a cell
    "a fraction for an integer": (P + '[axes]\nnumberResults = "1.5"\n', "numberResults", "1.5 is not a whole number"),
    "a fractional step for an integer": (P + '[axes]\noutputQuality = "60-90 (+15.5)"\n', "outputQuality",
                                         "write 15 or 16 in its place"),
    # an axis took them as numbers where [request] refused "80": quoted, a number is text everywhere
    "a quoted number on an axis": (P + '[axes]\noutputQuality = ["60", "90"]\n', "outputQuality",
                                   "write outputQuality = [60, 90] (no quotes"),
    "prompts alike but for white space": ('[axes]\nprompt = ["A poster", "A poster "]\n', "prompt",
                                          "differ only in white space"),
    # "must be true or false, got [True, False]", in Python's words: the line belongs under [axes]
    "a list under [request]": (P + "[request]\npromptExtend = [true, false]\n", "promptExtend",
                               "several values are an axis: move this line under [axes]"),
    "an axis named repeat": (P + '[axes.repeat]\na = { negativePrompt = "blurry" }\nb = { negativePrompt = "grainy" }\n',
                             "repeat", "name the axis otherwise"),
    "not a boolean": (P + '[axes]\npromptExtend = ["yes"]\n', "promptExtend (sent as providerSettings.alibaba.promptExtend)",
                      "must be true or false"),
    "negative budget": (P + "budget_usd = -1.0\n", "budget_usd", "0 or more"),
    "budget not a number": (P + 'budget_usd = "lots"\n', "budget_usd", "must be a number of US dollars"),
    "concurrency 0": (P + "concurrency = 0\n", "concurrency", "at least 1"),
    "concurrency negative": (P + "concurrency = -2\n", "concurrency", "at least 1"),
    "concurrency not a number": (P + 'concurrency = "four"\n', "concurrency", "whole number"),
    "repeats 0": (P + "repeats = 0\n", "repeats", "at least 1"),
    "repeats not a number": (P + 'repeats = "2"\n', "repeats", "whole number"),
    "unknown mode": (P + 'mode = "diagonal"\n', "mode", "use 'grid'"),
    "unknown seed policy": (P + 'seed_policy = "always"\n', "seed_policy", "use 'auto', 'pin' or 'sample'"),
    "seed not a number": (P + 'seed = "x"\n', "seed", "takes no seed"),  # the model takes none: the line goes
    "unknown model": (P + 'model = "alibaba:qwen-image@9"\n', "model", "register_model"),
    "name not a string": (P + "name = 5\n", "name", "non-empty string"),
    "missing reference file": (P + '[request]\nreferenceImages = ["missing.png"]\n',
                               "referenceImages (sent as inputs.referenceImages)", "give an existing image file"),
    "reference with negative prompt": (P + 'negativePrompt = "blurry"\n[request]\nreferenceImages = ["https://example.com/a.jpg"]\n',
                                       "negativePrompt", "remove one of them"),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
def test_a_broken_sweep_file_is_refused_clearly_and_spends_nothing(logged: dict[str, Any], tmp_path: Path, case: str) -> None:
    text, parameter, fix = BROKEN_FILES[case]
    path = tmp_path / "broken.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = CliRunner().invoke(cli, ["run", str(path), "--no-progress"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), repr(result.exception)  # bad input, not a crash
    assert f"{parameter}: " in result.output and fix in result.output, result.output
    assert "nothing was sent" in result.output


@pytest.mark.parametrize("options, option", [
    (["--budget", "-1"], "--budget"), (["--budget", "nan"], "--budget"),
    (["--concurrency", "0"], "--concurrency"), (["--concurrency", "-3"], "--concurrency"),
])
def test_bad_run_options_on_a_logged_experiment_change_nothing(logged: dict[str, Any], options: list[str], option: str) -> None:
    # named as the option typed (not the library's budget_usd), by the library's rule, before anything is read
    result = CliRunner().invoke(cli, ["run", str(logged["good"]), "--no-progress", *options])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), repr(result.exception)  # bad input
    assert f"Invalid value for '{option}': must be" in result.output, result.output


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, format="PNG")
    return buf.getvalue()


# a file that exists but cannot be uploaded as a reference image: (its bytes, words of the why)
NOT_IMAGES = {
    "text": (b"a note, not an image", "the bytes are not a JPEG, PNG or WEBP image"),
    "empty": (b"", "image is empty (0 bytes)"),
    "cut PNG": (_png((64, 64))[:60], "corrupt or truncated"),
}


@pytest.mark.parametrize("case", list(NOT_IMAGES))
def test_a_reference_file_that_is_no_image_is_refused_before_the_run(logged: dict[str, Any], tmp_path: Path,
                                                                    case: str) -> None:
    """It was taken for a local image and its upload failed at run time: exit 1, an experiment
    logged with every cell failed, and the reason read "response bytes are not a JPEG, PNG or
    WEBP image", naming neither the file nor referenceImages."""
    data, why = NOT_IMAGES[case]
    (tmp_path / "poster.png").write_bytes(data)
    (tmp_path / "ok.png").write_bytes(_png())
    path = tmp_path / "refs.toml"
    path.write_text(P + 'name = "refs"\n[request]\nsize = "512x512"\nreferenceImages = ["ok.png", "poster.png"]\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--no-progress", "--yes"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert f"{path} is invalid (1 problem); nothing was sent" in result.output, result.output
    assert "referenceImages (sent as inputs.referenceImages): file " in result.output and "poster.png' cannot be sent as a reference image" in result.output
    assert why in result.output and "give a PNG, JPEG or WEBP file" in result.output
    assert "ok.png" not in result.output  # the good one is not blamed


def test_a_missing_sweep_file_is_named(logged: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "nope.toml" in result.output and "does not exist" in result.output


def test_a_changed_sweep_under_a_taken_name_says_what_changed_and_changes_nothing(logged: dict[str, Any],
                                                                                   tmp_path: Path) -> None:
    changed = tmp_path / "changed.toml"
    changed.write_text(GOOD.replace("promptExtend = [true, false]\n", "promptExtend = [true, false]\noutputQuality = [60, 90]\n"))
    result = CliRunner().invoke(cli, ["run", str(changed), "--no-progress", "--yes"])
    assert result.exit_code == 2, result.output
    assert "axes added: outputQuality (60, 90)" in result.output and "--extend" in result.output


@pytest.mark.parametrize("args, words", [(["kept"], "two or more"), (["kept", "nope"], "no experiment named 'nope'")])
def test_a_bad_comparison_is_refused_and_changes_nothing(logged: dict[str, Any], args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli, ["compare", *args])
    assert result.exit_code == 2 and words in result.output, result.output


# -- the same through the Python API ------------------------------------------------------------------
@pytest.fixture
def lab(logged: dict[str, Any], data_dir: Path):
    connected: list[RunwareClient] = []

    def connect() -> RunwareClient:  # called only when something is about to be sent
        client = RunwareClient(KEY, logged["emu"].url, images_dir=data_dir / "images")
        connected.append(client)
        return client

    yield Lab(data_dir, client=connect)
    assert connected == []  # never even connected


GOOD_SWEEP = dict(prompt="A premium beauty poster for LUMIERE", size="256x256", axes={"promptExtend": [True, False]})


@pytest.mark.parametrize("kwargs, parameter", [
    ({"budget_usd": -0.01}, "budget_usd"), ({"budget_usd": float("nan")}, "budget_usd"), ({"budget_usd": "1"}, "budget_usd"),
    ({"budget_usd": float("inf")}, "budget_usd"),
    ({"budget_usd": True}, "budget_usd"), ({"concurrency": 0}, "concurrency"), ({"concurrency": 2.5}, "concurrency"),
    ({"concurrency": "4"}, "concurrency"), ({"concurrency": True}, "concurrency"),
])
def test_lab_run_refuses_bad_settings_before_writing_anything(lab: Lab, kwargs: dict[str, Any], parameter: str) -> None:
    for name in ("kept", "new-one"):  # an experiment in the log, and one that would be new
        with pytest.raises(ValidationError) as info:
            lab.run(Sweep(**GOOD_SWEEP), name=name, progress=False, **kwargs)
        assert info.value.parameters == [parameter]
        assert str(info.value).startswith("this run is invalid (1 problem); nothing was sent")


def test_lab_run_refuses_a_name_that_is_not_text(lab: Lab) -> None:
    """name=123 raised AttributeError: 'int' object has no attribute 'strip'."""
    with pytest.raises(ValidationError) as info:
        lab.run(Sweep(**GOOD_SWEEP), name=123, progress=False)  # type: ignore[arg-type]
    assert info.value.parameters == ["name"] and "must be text" in str(info.value)


def test_lab_run_refuses_a_name_kept_for_deleted_experiments(lab: Lab) -> None:
    before = lab.experiments()
    with pytest.raises(ValidationError) as info:  # a deleted experiment's spend is kept under that name
        lab.run(Sweep(**GOOD_SWEEP), name="(deleted) kept", progress=False)
    assert info.value.parameters == ["name"] and "choose another name" in str(info.value)
    assert lab.experiments().equals(before)


@pytest.mark.parametrize("sweep, parameter, fix", [
    (lambda: Sweep(prompt="A poster", axes={"prompt": []}), "prompt", "at least one"),
    (lambda: Sweep(axes={"prompt": ["A poster", ""]}), "positivePrompt", "it must have 2 to 2000"),
    (lambda: Sweep(prompt="A poster", axes={"size": ["1024x1536", "9000x10"]}), "width", "256 to 2048 px"),
    (lambda: Sweep(prompt="A poster", size="2048x2049"), "height", "256 to 2048 px"),
    (lambda: Sweep(prompt="A poster", axes={"CFGScale": [3, 7]}), "CFGScale", "it takes: "),
    (lambda: Sweep(prompt="A poster", axes={"outputQuality": [50, 150]}), "outputQuality", "from 20 to 99"),
    (lambda: Sweep(prompt="A poster", axes={"numberResults": "1.5, 3"}), "numberResults", "1.5 is not a whole number"),
    (lambda: Sweep(prompt="A poster", axes={"outputQuality": ["60", "90"]}), "outputQuality",
     'write "outputQuality": [60, 90] (no quotes'),
    # "" means "not sent" in a sweep file only: the message said "has 0 characters; it must have 2 to 500"
    (lambda: Sweep(prompt="A poster", axes={"negativePrompt": ["", "blurry"]}), "negativePrompt", "or leave it out (None in Python"),
    (lambda: Sweep(prompt="A poster", repeats=0), "repeats", "at least 1"),
    (lambda: Sweep(prompt="A poster", seed="x"), "seed", "whole number"),
    (lambda: Sweep(prompt="A poster", mode="zip", axes={"size": ["256x256"], "promptExtend": [True, False]}), "mode", "equal length"),
    # a run's setting given to the sweep: where it goes, not the model's list of parameters
    (lambda: Sweep(prompt="A poster", budget_usd=2.0), "budget_usd", "run setting, not a request's: give it to the run, "
                                                                      "e.g. lab.run(sweep, budget_usd=2.0) (in a sweep file"),
    (lambda: Sweep(prompt="A poster", concurrency=2), "concurrency", "run setting"),
    (lambda: Sweep(prompt="A poster", promptExtend=[True, False]), "promptExtend",
     "put them on an axis: Sweep(..., axes={'promptExtend': [...]})"),
    (lambda: Sweep(prompt="A poster", axes={"repeat": {"a": {"negativePrompt": "blurry"}, "b": {"negativePrompt": "grainy"}}}),
     "repeat", "name the axis otherwise"),
], ids=["empty prompt list", "an empty prompt", "impossible size", "side too long", "unknown axis", "out of range",
         "a fraction in a range", "a quoted number on an axis", "an empty negative prompt in Python",
        "repeats 0", "seed not a number", "zip of unequal axes", "budget given to the sweep", "concurrency given to the sweep",
        "a list as the base request's value", "an axis named repeat"])
def test_lab_run_refuses_a_bad_sweep_naming_the_parameter(lab: Lab, sweep: Any, parameter: str, fix: str) -> None:
    with pytest.raises(ValidationError) as info:
        lab.run(sweep(), name="bad", progress=False)
    assert parameter in info.value.parameters and fix in str(info.value), str(info.value)
    assert "nothing was sent" in str(info.value)
    if parameter in ("budget_usd", "concurrency"):  # not also "is not a parameter of" the model, with its list
        assert "is not a parameter of" not in str(info.value)


def test_a_reference_file_missing_or_no_image_is_refused_once_by_lab_run(lab: Lab, tmp_path: Path) -> None:
    """A missing file was refused twice, the second time as "not an image UUID, an http(s) URL ...;
    upload a local file with client.upload_image()", advice for a file that does not exist."""
    (tmp_path / "notes.png").write_text("not an image")
    for name, why in (("missing.png", "not found; give an existing image file"),
                      ("notes.png", "cannot be sent as a reference image: the bytes are not")):
        with pytest.raises(ValidationError) as info:
            lab.run(Sweep(prompt="A poster", size="512x512", referenceImages=[str(tmp_path / name)]), name="refs",
                    progress=False)
        assert info.value.parameters == ["inputs.referenceImages"], str(info.value)
        assert why in str(info.value) and "upload_image" not in str(info.value)


@pytest.mark.parametrize("axes, message", [
    ({"size": ["huge", "1024x1536"]}, "size: size 'huge' is not WIDTHxHEIGHT; write it like '1024x1536'"),
    ({"size": (1024, 1536)}, 'size: lists numbers (1024, 1536); each value of a size axis is a whole size: write ["1024x1536"]'),
], ids=["a size that is none", "one size as two numbers"])
def test_a_bad_size_axis_is_said_once(lab: Lab, axes: dict[str, Any], message: str) -> None:
    """Each bad size was said by the axis, then again by every cell it was applied to, as the whole
    text of a nested report ("size: request is invalid (1 problem); nothing was sent:\n  - size: ...");
    a size written as two numbers gave two such pairs, and no hint that it was one size."""
    with pytest.raises(ValidationError) as info:
        lab.run(Sweep(prompt="A poster", axes=axes), name="sizes", progress=False)
    assert len(info.value.problems) == 1 and str(info.value.problems[0]).startswith(message), str(info.value)
    assert "is invalid (" not in info.value.problems[0].message


def test_numpy_whole_numbers_are_whole_numbers() -> None:
    """A request took np.int64 for width or numberResults, but size=(np.int64(1024), np.int64(1536))
    (a frame's row) was refused as "not WIDTHxHEIGHT", and repeats=np.int64(2) as "must be a whole
    number of at least 1, got np.int64(2)"."""
    import json

    import numpy as np

    from qwenlab import Request

    assert Request(prompt="A poster", size=(np.int64(1024), np.int64(1536))).size == (1024, 1536)
    sweep = Sweep(prompt="A poster", size=(np.int64(512), np.int64(768)), repeats=np.int64(2),
                  axes={"size": [(np.int32(768), np.int32(512))], "outputQuality": np.arange(60, 91, 30)})
    assert sweep.problems() == [] and len(sweep.cells()) == 4
    assert json.loads(json.dumps(sweep.to_dict()))["repeats"] == 2  # kept in the log as JSON
    assert {(c.request.to_task()["width"], c.request.to_task()["outputQuality"]) for c in sweep.cells()} == {(768, 60), (768, 90)}


def test_a_prompt_given_where_the_model_goes_says_so(lab: Lab) -> None:
    """Request's first argument is the model (a Sweep's is the prompt): Request("A poster ...")
    was refused as a model with no description, to be added with qwenlab.register_model()."""
    from qwenlab import Request

    for sweep in (lambda: Sweep(base=Request("A poster that reads 'EST. 1928'", size="1024x1536")),
                  lambda: Sweep("A poster", "A second poster")):
        with pytest.raises(ValidationError) as info:
            lab.run(sweep(), name="model-slip", progress=False)
        assert info.value.parameters == ["model"], str(info.value)
        assert "reads as a prompt, not a model id" in str(info.value) and 'give the prompt as prompt="..."' in str(info.value)
        assert "register_model" not in str(info.value)


HALF_AN_EMOJI = "\ud83d"  # a lone surrogate: the first half of an emoji, cut from its second


@pytest.mark.parametrize("sweep, kwargs, parameter", [
    (dict(GOOD_SWEEP, prompt=f"A poster {HALF_AN_EMOJI} for LUMIERE"), {}, "positivePrompt"),
    (dict(GOOD_SWEEP, axes={"negativePrompt": ["blurry", f"blurry {HALF_AN_EMOJI}"]}), {}, "negativePrompt"),
    (GOOD_SWEEP, {"name": f"posters {HALF_AN_EMOJI}"}, "name"),
    (GOOD_SWEEP, {"notes": f"tried {HALF_AN_EMOJI}"}, "notes"),
], ids=["prompt", "negative prompt axis", "name", "notes"])
def test_half_a_character_is_refused_naming_where_it_is(lab: Lab, sweep: dict[str, Any], kwargs: dict[str, Any],
                                                        parameter: str) -> None:
    """A lone surrogate (half of an emoji, as a string cut between its two halves holds) sent
    nothing, but crashed with a bare UnicodeEncodeError from the log's insert."""
    with pytest.raises(ValidationError) as info:
        lab.run(Sweep(**sweep), **{"name": "half", **kwargs}, progress=False)
    assert parameter in info.value.parameters and "lone surrogate" in str(info.value), str(info.value)
    assert "nothing was sent" in str(info.value)


def test_half_a_character_in_a_tag_or_note_is_refused(lab: Lab) -> None:
    exp = lab.experiment("kept")
    for call in (lambda: exp.tag(f"print {HALF_AN_EMOJI}"), lambda: exp.note(f"seen {HALF_AN_EMOJI}")):
        with pytest.raises(ValueError, match="lone surrogate"):
            call()


def test_axes_that_are_not_a_dict_are_refused_at_once() -> None:
    with pytest.raises(TypeError, match="axes must be a dict of axis name -> values"):
        Sweep(prompt="A poster", axes=[("size", ["256x256"])])  # type: ignore[arg-type]


@pytest.mark.parametrize("call", ["run", "preview", "plan", "check"])
def test_something_that_is_not_a_sweep_is_refused_naming_sweep(lab: Lab, call: str) -> None:
    """`lab.run("data/sweeps/lumiere-extend.toml")` failed deep inside with "'str' object has no
    attribute 'cells'"; now a TypeError names the parameter and how to make a Sweep (or run a file)."""
    before = lab.experiments()
    with pytest.raises(TypeError, match=r"sweep: give a Sweep, e.g\. Sweep\(prompt=.*load_sweep\(path\)\.sweep.*"
                                        r"got str 'data/sweeps/lumiere-extend\.toml'"):
        getattr(lab, call)("data/sweeps/lumiere-extend.toml", name="bad")
    assert lab.experiments().equals(before)


@pytest.mark.parametrize("kwargs, parameter, fix", [
    ({"size": "512x512", "width": 1024, "height": 1024}, "size", "give size or width and height, not both"),
    ({"size": "512x512", "width": 1024}, "size", "give size or width and height, not both"),
    ({"prompt": "A poster", "positivePrompt": "Another poster"}, "prompt", "give prompt or positivePrompt, not both"),
], ids=["size and width/height", "size and width", "prompt and positivePrompt"])
def test_two_values_for_one_parameter_are_refused_not_one_dropped(lab: Lab, kwargs: dict[str, Any], parameter: str,
                                                                  fix: str) -> None:
    """Sweep(size="512x512", width=1024) sent and paid for a 512x512 image: size overwrote width
    without a word; likewise prompt= over a positivePrompt= that said otherwise."""
    with pytest.raises(ValidationError) as info:
        lab.run(Sweep(**kwargs), name="both", progress=False)
    assert info.value.parameters == [parameter] and fix in str(info.value), str(info.value)
    # the same value given both ways is no contradiction
    from qwenlab import Request

    assert Request(size="512x512", width=512, height=512).size == (512, 512)
    assert Request(prompt="A poster", positivePrompt="A poster").prompt == "A poster"
    # nor in one replace: size there overwrote a width given beside it too
    with pytest.raises(ValidationError, match="give size or width and height, not both"):
        Request(size="512x512").replace(size="768x768", width=1024)
    assert Request(size="512x512", prompt="A poster").replace(size="768x768").size == (768, 768)
