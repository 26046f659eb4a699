"""Sweeps from TOML files, the range syntax, and `qwenlab run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from qwenlab.cli import cli
from qwenlab.errors import ValidationError
from qwenlab.sweeps.ranges import expand_range
from qwenlab.sweeps.sweep import Sweep
from qwenlab.sweeps.sweepfile import load_sweep, parse_sweep

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
TOML = f'''
name = "lumiere-extend"
prompt = "{PROMPT}"
repeats = 2
budget_usd = 1.5
concurrency = 3

[request]
outputFormat = "PNG"

[axes]
promptExtend = [true, false]
size = ["1024x1536", "1536x1024"]
negativePrompt = ["", "blurry text"]
'''


@pytest.mark.parametrize("text, expected", [
    ("1-5", [1, 2, 3, 4, 5]),
    ("1-9 (+2)", [1, 3, 5, 7, 9]),
    ("10-1 (-3)", [10, 7, 4, 1]),
    ("0-1 [5]", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("0-10 [3]", [0, 5, 10]),
    ("3, 7-8, 12", [3, 7, 8, 12]),
    ("5-3", [5, 4, 3]),
    ("-2-1", [-2, -1, 0, 1]),
    ("0.5-1 (+0.25)", [0.5, 0.75, 1.0]),
    ("42", [42]),
])
def test_range_syntax(text: str, expected: list) -> None:
    assert expand_range(text) == expected


def test_integer_parameters_round_counted_ranges() -> None:
    assert expand_range("20-30 [4]", integer=True) == [20, 23, 27, 30]
    assert all(isinstance(v, int) for v in expand_range("20-30 [4]", integer=True))


@pytest.mark.parametrize("text, message", [
    ("1-x", "cannot read"),
    ("1-5 (-1)", "never reaches"),
    ("1.5-3", "give a step"),
    ("", "empty"),
    ("1-100000", "narrow it"),
])
def test_range_errors_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_range(text)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_stepped_ranges_stay_within_their_ends(start: int, end: int, step: int) -> None:
    signed = step if end >= start else -step
    values = expand_range(f"{start}-{end} ({signed:+d})")
    assert values[0] == start
    assert all(min(start, end) <= v <= max(start, end) for v in values)
    assert all(b - a == signed for a, b in zip(values, values[1:]))


def test_a_toml_sweep_equals_the_same_sweep_in_python() -> None:
    spec = parse_sweep(TOML)
    python = Sweep(prompt=PROMPT, outputFormat="PNG", repeats=2,
                   axes={"promptExtend": [True, False], "size": ["1024x1536", "1536x1024"],
                         "negativePrompt": [None, "blurry text"]})
    assert spec.sweep.fingerprint() == python.fingerprint()
    assert (spec.name, spec.budget_usd, spec.concurrency) == ("lumiere-extend", 1.5, 3)
    assert "negativePrompt" not in spec.sweep.cells()[0].request.to_task()  # "" means not sent


def test_toml_numeric_axes_take_ranges() -> None:
    spec = parse_sweep(f'prompt = "{PROMPT}"\n[axes]\noutputQuality = "60-90 (+15)"\nnumberResults = ["1-2", 4]\n')
    cells = spec.sweep.cells()
    assert sorted({c.request.get("outputQuality") for c in cells}) == [60, 75, 90]
    assert sorted({c.request.number_results for c in cells}) == [1, 2, 4]


def test_toml_problems_are_all_reported() -> None:
    with pytest.raises(ValidationError) as info:
        parse_sweep('prompt = "x"\nbudget = 3\noutputFormat = "PNG"\n')
    assert set(info.value.parameters) == {"budget", "outputFormat"}
    assert "[request]" in str(info.value)
    with pytest.raises(ValidationError, match="line 1: Invalid value"):
        parse_sweep("prompt = ")


@pytest.mark.parametrize("line, said", [
    ("budget = 3", "budget: is not a sweep setting; did you mean budget_usd?"),
    ("repeat = 2", "repeat: is not a sweep setting; did you mean repeats?"),
    ("concurency = 2", "concurency: is not a sweep setting; did you mean concurrency?"),
    ('negative_prompt = "blurry"', "negative_prompt: is not a sweep setting; did you mean negativePrompt?"),
    ("outputQuality = 80", "outputQuality: is a request parameter, not a sweep setting: move this line under [request]"),
    ("promptExtend = [true, false]", "promptExtend: is a request parameter, not a sweep setting: move this line under "
                                     "[axes] (a list: each cell sends one of its values)"),
    ('size = "1024x1024"', "size: is a request parameter, not a sweep setting: move this line under [request]"),
    ('colour = "red"', "colour: is not a sweep setting; put request parameters under [request] and axes under [axes] "
                       "(settings: budget_usd,"),
])
def test_a_line_at_the_top_that_is_no_setting_says_which_it_meant_or_where_it_goes(line: str, said: str) -> None:
    """Every such line was said alike, "is not a sweep setting; put request parameters under
    [request] ... (settings: ...)": `budget = 3` or `outputQuality = 80` left the user to work out
    which setting was meant, or that the line was right but in the wrong table."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n{line}\n')
    assert len(info.value.problems) == 1 and said in str(info.value), str(info.value)


@pytest.mark.parametrize("text, said", [
    ("seed = 42\n", "seed: alibaba:qwen-image@2.0-pro takes no seed (its Runware page declares none"),
    ('seed_policy = "pin"\n', "seed_policy: 'pin' sends a seed, and alibaba:qwen-image@2.0-pro takes none"),
    ("[axes]\nseed = [1, 2]\n", "seed: is an axis, and alibaba:qwen-image@2.0-pro takes no seed"),
])
def test_a_seed_for_a_model_that_takes_none_names_the_files_line(text: str, said: str) -> None:
    """`seed = 42` was refused as "seed_policy: ... Use seed_policy='sample' (or 'auto') with no
    seed= ... pass force_seed=True": a setting the file does not hold, in Python's words, and a
    seed axis was said twice, once as seed_policy."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n{text}').sweep.cells()
    assert len(info.value.problems) == 1 and said in str(info.value), str(info.value)
    assert "force_seed=True" not in str(info.value)


@pytest.mark.parametrize("text, parameter, said", [
    ('prompt = ""\n', "prompt", 'prompt: is empty (""), which leaves it out of the request, and every request needs a '
                                 "prompt: write its text, 2 to 2000 characters"),
    ('[request]\npositivePrompt = ""\n', "positivePrompt", 'positivePrompt: is empty ("")'),
    ('[axes]\nprompt = ["A poster reading \'OPEN\'", ""]\n', "prompt", 'value 2 of the prompt axis is empty ("")'),
    ('prompt = ["A poster", "B poster"]\n', "prompt", "prompt: gives 2 values, and several values are an axis: move "
                                                      "this line under [axes]"),
    ('prompt = "A poster"\nnegativePrompt = ["blurry", "ugly"]\n', "negativePrompt", "move this line under [axes]"),
])
def test_an_empty_prompt_or_a_list_at_the_top_is_said_in_the_files_words(text: str, parameter: str, said: str) -> None:
    """prompt = "" was "positivePrompt: is required", a key the file does not use; a list of
    prompts at the top was "must be a string, got list", not that several values are an axis's."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(text).sweep.cells()
    assert info.value.parameters == [parameter] and said in str(info.value), str(info.value)


@pytest.mark.parametrize("line, said", [
    ('outputQuality = "80"', "outputQuality: is a number, and '80' is text: write outputQuality = 80 (no quotes)"),
    ('promptExtend = "true"', "promptExtend: is a true/false parameter, and 'true' is text: write promptExtend = true"),
    ('"safety.checkContent" = "False"', "is a true/false parameter, and 'False' is text: write safety.checkContent = false"),
    ('outputQuality = "60-90 (+15)"', "outputQuality: '60-90 (+15)' is a range, giving 3 values, which only an axis takes: "
                                      "move this line under [axes]"),
])
def test_a_quoted_number_or_switch_under_request_says_the_line_to_write(line: str, said: str) -> None:
    """"must be an integer, got str '80'" left the fix to guess, and a range under [request] was
    refused as no integer, not as a range in the wrong table."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n[request]\n{line}\n')
    assert len(info.value.problems) == 1 and said in str(info.value), str(info.value)


@pytest.mark.parametrize("line, said", [
    ('outputQuality = ["60", "90"]', "outputQuality: is a number, and '60', '90' are text: write outputQuality = [60, 90] "
                                     "(no quotes"),
    ('outputQuality = "80"', "outputQuality: is a number, and '80' is text: write outputQuality = [80] (no quotes"),
    ('promptExtend = ["true", "false"]', "promptExtend: is a true/false parameter, and 'true', 'false' are text: "
                                         "write promptExtend = [true, false] (no quotes)"),
])
def test_a_quoted_number_or_switch_on_an_axis_says_the_line_to_write_as_under_request(line: str, said: str) -> None:
    """An axis took ["60", "90"] as the numbers 60 and 90, and "80" as the number 80, where
    [request] refused outputQuality = "80" with the line to write: now both refuse, in the file's
    words and before the sweep is built. A range (several numbers in one string) stays an axis's."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n[axes]\n{line}\n')
    assert len(info.value.problems) == 1 and said in str(info.value), str(info.value)
    ranged = parse_sweep(f'prompt = "{PROMPT}"\n[axes]\noutputQuality = ["60-70 (+10)", 90]\n').sweep
    assert [c.request.get("outputQuality") for c in ranged.cells()] == [60, 70, 90]


def test_prompts_alike_but_for_white_space_are_refused_unless_labelled_in_a_table() -> None:
    """A multi-line string's last newline, a space pasted at the end: two requests, one label."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'[axes]\nprompt = ["{PROMPT}", """\n{PROMPT}\n"""]\n').sweep.cells()
    assert info.value.parameters == ["prompt"], str(info.value)
    assert "differ only in white space" in str(info.value) and "an [axes.prompt] table in a sweep file" in str(info.value)
    labelled = parse_sweep(f'[axes.prompt]\nplain = "{PROMPT}"\nspaced = "{PROMPT} "\n').sweep
    assert [c.request.prompt for c in labelled.cells()] == [PROMPT, PROMPT + " "]


@pytest.mark.parametrize("text, parameter, said", [
    ('prompt = "A poster"\n[axes]\npromptExtend = [True, False]\n', "promptExtend",
     "line 3: Invalid value (column 17) in `promptExtend = [True, False]`; TOML writes true and false in lower case"),
    ('prompt = "A poster"\n[axes]\nsize = [1024x1024, "1536x1024"]\n', "size", 'put text in double quotes: "1024x1024"'),
    ("prompt = A poster for 'LUMIERE'\n", "prompt", "put text in double quotes: \"A poster for 'LUMIERE'\""),
    ('prompt = "A poster for \'LUMIERE\'\nrepeats = 2\n', "prompt",
     'line 1: Illegal character \'\\n\' (column 33) in `prompt = "A poster for \'LUMIERE\'`; a string is not closed'),
    ('prompt: "A poster"\n', "prompt", "write key = value (TOML uses =, not :)"),
    ('prompt = "A poster"\nbudget_usd = $5\n', "budget_usd", "write the number alone, without $: 5"),
    ('prompt = "A poster"\nprompt = "Another"\n', "prompt", "prompt is given twice in one table; keep one line"),
    ('prompt = "A poster"\n[axes]\nsize = ["1024x1024"]\n[axes]\npromptExtend = [true]\n', "toml",
     "line 4: Cannot declare ('axes',) twice (column 6) in `[axes]`; [axes] is written twice; put all its lines under one"),
    ('prompt = "A poster"\n[axes]\npromptExtend = [true, false\n', "promptExtend", "close the list with ]"),
])
def test_a_toml_syntax_error_names_its_key_shows_its_line_and_says_the_fix(text: str, parameter: str, said: str) -> None:
    """tomllib's "Invalid value (at line 3, column 17)" named no key, showed no line and gave no
    fix: a user who wrote True, an unquoted size or `prompt: ...` was left to guess."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(text, origin="posters.toml")
    assert info.value.parameters == [parameter] and said in str(info.value), str(info.value)
    assert str(info.value).startswith("posters.toml is invalid (1 problem)")


def test_a_toml_syntax_error_shows_no_key_pasted_into_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-runfile2-pasted-key-0123456789"
    monkeypatch.setenv("RUNWARE_API_KEY", key)
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "A poster reading {key}\n')
    assert "a string is not closed" in str(info.value) and key[:8] not in str(info.value)
    assert not [p for p in info.value.problems if key[:8] in p.message]  # the problems a notebook may print, too


def test_a_file_without_a_prompt_and_a_range_too_long_are_said_once_in_the_files_words() -> None:
    """An empty file said "positivePrompt: is required", a name the file does not use; a range
    refused for its size was reported a second time as "has no values"."""
    for text in ("", 'name = "x"\n', '[request]\nwidth = 512\n'):
        with pytest.raises(ValidationError) as info:
            parse_sweep(text)
        assert info.value.parameters == ["prompt"] and 'prompt = "..."' in str(info.value), text
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n[axes]\noutputQuality = "1-100000000"\n').sweep.cells()
    assert [p.parameter for p in info.value.problems].count("outputQuality") == 1 and "narrow it" in str(info.value)


def test_reference_images_are_read_from_the_files_folder(tmp_path: Path) -> None:
    Image.new("RGB", (32, 32)).save(tmp_path / "street.png")
    path = tmp_path / "edit.toml"
    path.write_text('prompt = "Edit the billboard to read NOIR"\n[request]\nreferenceImages = ["street.png"]\n')
    cell = load_sweep(path).sweep.cells()[0]
    assert [img.path for img in cell.uploads.values()] == [(tmp_path / "street.png").resolve()]
    with pytest.raises(ValidationError, match="cannot read"):
        load_sweep(tmp_path / "missing.toml")


# -- qwenlab run ----------------------------------------------------------------------------------
def test_run_dry_run_sends_nothing(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "16 cells" in result.output and "$1.20" in result.output
    assert '"outputFormat": "PNG"' in result.output
    assert not (data_dir / "qwenlab.db").exists()


def test_a_long_plan_shows_its_first_and_last_rows_before_the_question(tmp_path: Path, data_dir: Path, emulator,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 10,000-cell dry run printed 10,000 rows (pandas' display.max_rows does not cut
    to_string), and a paid run printed them all before its question."""
    path = tmp_path / "huge.toml"
    path.write_text(f'prompt = "{PROMPT}"\nrepeats = 125\n[axes]\noutputQuality = "20-99"\n')
    plan = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    rows = [line.split()[0] for line in plan.output.splitlines() if line.endswith(" new")]  # a plan row ends "logged: new"
    assert rows == [str(i) for i in [*range(30), *range(9970, 10000)]], rows
    assert "(9,940 of the 10,000 rows not shown: the first and last 30 are" in plan.output
    assert "10000 cells to send, estimated $750.00" in plan.output
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-runfile2-test")
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    asked = CliRunner().invoke(cli, ["run", str(path), "--no-progress"], input="n\n")
    assert "Send 10000 requests to the emulator" in asked.output and "9,940 of the 10,000 rows not shown" in asked.output
    assert len(asked.output.splitlines()) < 100, asked.output[:2000]
    assert len(emulator.ledger) == 0


def test_run_reports_invalid_sweeps(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('prompt = "x"\n[axes]\nsize = ["10x10"]\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert result.exit_code != 0
    assert "positivePrompt" in result.output and "width" in result.output


def test_run_runs_and_resumes(tmp_path: Path, emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-cli-test")
    path = tmp_path / "s.toml"
    path.write_text(TOML.replace('size = ["1024x1536", "1536x1024"]', 'size = ["256x384"]'))
    first = CliRunner().invoke(cli, ["run", str(path), "--no-progress", "--yes"])  # a key is set: --yes, or it asks
    assert first.exit_code == 0, first.output
    assert "8/8 cells done" in first.output
    charged = emulator.ledger.total()
    assert charged == pytest.approx(0.6)
    again = CliRunner().invoke(cli, ["run", str(path), "--no-progress"])
    assert again.exit_code == 0 and "8/8 cells done" in again.output
    assert emulator.ledger.total() == charged
    listing = json.loads(CliRunner().invoke(cli, ["logs", "--json"]).output)
    assert listing[0]["name"] == "lumiere-extend" and listing[0]["budget_usd"] == 1.5


def test_an_empty_model_is_refused_naming_the_fix_before_anything_is_logged(tmp_path: Path, data_dir: Path) -> None:
    """`model = ""` (a line left blank, a template's placeholder) ran every cell on the default
    model without a word; as an axis value, "" (a sweep file's "not sent") was read as the model
    "None". Both are refused, naming model and the fix, and `qwenlab run` leaves no log behind."""
    path = tmp_path / "empty-model.toml"
    for text in (f'model = ""\nprompt = "{PROMPT}"\n', f'model = "  "\nprompt = "{PROMPT}"\n'):
        path.write_text(text)
        result = CliRunner().invoke(cli, ["run", str(path), "--no-progress"])
        assert result.exit_code == 2, result.output
        assert "model: must be a model's AIR id such as 'alibaba:qwen-image@2.0-pro'" in result.output
        assert "leave the line out" in result.output
        assert not (data_dir / "qwenlab.db").exists()
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n[axes]\nmodel = ["", "alibaba:qwen-image@2.0"]\n').sweep.cells()
    assert info.value.parameters == ["model"]
    assert "value 0 is empty" in str(info.value) and "'alibaba:qwen-image@2.0-pro' (the default" in str(info.value)


@pytest.mark.parametrize("text, parameter, words", [
    # a crash: Sweep() "got multiple values for keyword argument 'seed'", a traceback and exit 1
    ('model = "test:seeded@1"\nseed = 3\n[request]\nseed = 5\n', "seed", "write seed = ... at the top of the file"),
    # "write seed = ... at the top" sent the user to a line refused for a model that takes no seed
    ('[request]\nseed = 5\n', "seed", "alibaba:qwen-image@2.0-pro takes no seed at all (its Runware page declares none"),
    ('model = "test:seeded@1"\n[request]\nseed = 5\n', "seed", "write seed = ... at the top of the file"),
    ('model = "alibaba:qwen-image@2.0"\n[request]\nmodel = "alibaba:qwen-image@2.0-pro"\n', "model", "given twice"),
    ('[request]\naxes = 1\n', "axes", "[axes]"),
    # taken as the sweep's own settings without a word, or the default model for ""
    ('[request]\nrepeats = 3\n', "repeats", "write repeats = ... at the top of the file"),
    ('[request]\nforce_seed = true\n', "force_seed", "at the top of the file"),
    ('[request]\nmodel = ""\n', "model", "must be a model's AIR id"),
])
def test_sweep_settings_under_request_are_refused_naming_where_they_go(tmp_path: Path, data_dir: Path, text: str,
                                                                       parameter: str, words: str, seeded_model: str) -> None:
    path = tmp_path / "misplaced.toml"
    path.write_text(f'prompt = "{PROMPT}"\n' + text)
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2, result.output
    with pytest.raises(ValidationError) as info:
        load_sweep(path)
    assert info.value.parameters == [parameter] and words in str(info.value)


def test_the_same_model_at_the_top_and_under_request_is_one_model() -> None:
    text = f'prompt = "{PROMPT}"\nmodel = "alibaba:qwen-image@2.0"\n[request]\nmodel = "alibaba:qwen-image@2.0"\n'
    assert parse_sweep(text).sweep.base.model_id == "alibaba:qwen-image@2.0"


def test_a_prompt_or_parameter_beside_an_axis_setting_it_is_said_to_be_sent_by_no_cell(tmp_path: Path, data_dir: Path) -> None:
    """`prompt = ...` above a prompt axis was sent by no cell, without a word: a user reading the
    file took it for one of the prompts swept. The plan says so, naming both; alone it says nothing."""
    path = tmp_path / "both.toml"
    path.write_text(f'prompt = "{PROMPT}"\n[axes]\nprompt = ["A poster for \'NOIR\'", "A flyer for \'NOIR\'"]\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "prompt: the prompt given beside the 'prompt' axis is sent by no cell" in result.output, result.output
    assert "leave prompt out (in a sweep file, its line)" in result.output
    sent = {json.loads(r)["positivePrompt"] for r in load_sweep(path).sweep.plan(quiet=True)["request_json"]}
    assert PROMPT not in sent  # what the note says
    for alone in (Sweep(axes={"prompt": [PROMPT, "A flyer for 'NOIR'"]}),
                  Sweep(prompt=PROMPT, axes={"prompt_sr": ["LUMIERE", "NOIR"]})):  # prompt_sr edits the prompt: used
        assert not any("sent by no cell" in n for n in alone.notes())
    said = Sweep(positivePrompt=PROMPT, axes={"positivePrompt": ["A flyer for 'NOIR'", "A card for 'NOIR'"]}).notes()
    assert any("beside the 'positivePrompt' axis is sent by no cell" in n for n in said)
    # any parameter so given: a [request] size beside a size axis, promptExtend beside its wire path's axis
    other = parse_sweep(f'prompt = "{PROMPT}"\n[request]\nwidth = 1024\nheight = 1024\npromptExtend = true\n'
                        '[axes]\nsize = ["768x768"]\n"providerSettings.alibaba.promptExtend" = [true, false]\n').sweep.notes()
    assert [n.split(" sent by no cell")[0] for n in other if "sent by no cell" in n] == [
        "width and height: the width and height given beside the 'size' axis are",
        "promptExtend: the promptExtend given beside the 'providerSettings.alibaba.promptExtend' axis is"]


@pytest.mark.parametrize("line", ["promptExtend = [true, false]", 'size = ["1024x1536", "1536x1024"]'])
def test_a_list_under_request_says_to_move_the_line_under_axes(line: str) -> None:
    """A list under [request] was refused in Python's words (or as "must be true or false, got
    [True, False]"), not as the line to move, as a list of prompts at the top is."""
    with pytest.raises(ValidationError) as info:
        parse_sweep(f'prompt = "{PROMPT}"\n[request]\n{line}\n')
    assert len(info.value.problems) == 1, str(info.value)
    assert "gives 2 values, and several values are an axis: move this line under [axes]" in str(info.value)
