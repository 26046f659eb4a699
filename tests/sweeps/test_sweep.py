"""Sweeps: axes, cells, the exact requests, seed policies, cost, and plan()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from qwenlab.core.request import Request
from qwenlab.errors import ValidationError
from qwenlab.sweeps.sweep import Sweep

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
AXES = {"promptExtend": [True, False], "size": ["1024x1536", "1536x1024"], "negativePrompt": [None, "blurry text"]}


def test_grid_cells_and_their_exact_requests() -> None:
    sweep = Sweep(prompt=PROMPT, axes=AXES, repeats=2)
    cells = sweep.cells()
    assert len(cells) == 16
    # repeat-major: every combination once before any repeats (a budget stop still covers them all)
    assert [c.repeat for c in cells] == [0] * 8 + [1] * 8
    first = cells[0].request.to_task()
    assert first["providerSettings"] == {"alibaba": {"promptExtend": True}}
    assert (first["width"], first["height"]) == (1024, 1536)
    assert "negativePrompt" not in first  # None: not sent
    assert cells[1].request.to_task()["negativePrompt"] == "blurry text"
    assert cells[0].labels == {"promptExtend": "on", "size": "1024x1536", "negativePrompt": "none"}
    assert cells[0].cell_json() == {"promptExtend": True, "size": "1024x1536", "negativePrompt": None, "repeat": 0}
    assert all(c.request.to_task()["includeCost"] is True for c in cells)
    assert len({c.key for c in cells}) == 16


def test_zip_mode_pairs_values() -> None:
    sweep = Sweep(prompt=PROMPT, axes={"size": ["1024x1536", "1536x1024"], "promptExtend": [True, False]}, mode="zip")
    assert [(c.request.size, c.request.prompt_extend) for c in sweep.cells()] == [((1024, 1536), True), ((1536, 1024), False)]
    bad = Sweep(prompt=PROMPT, axes={"size": ["1024x1536"], "promptExtend": [True, False]}, mode="zip")
    with pytest.raises(ValidationError, match="equal length"):
        bad.cells()


def test_same_sweep_same_cells() -> None:
    a, b = Sweep(prompt=PROMPT, axes=AXES, repeats=2), Sweep(prompt=PROMPT, axes=AXES, repeats=2)
    assert [c.key for c in a.cells()] == [c.key for c in b.cells()]
    assert a.fingerprint() == b.fingerprint() and a.default_name() == b.default_name()
    c = Sweep(prompt=PROMPT + " v2", axes=AXES, repeats=2)
    assert not {x.key for x in a.cells()} & {x.key for x in c.cells()}


def test_plan_lists_every_cell_request_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    df = Sweep(prompt=PROMPT, axes=AXES, repeats=2).plan()
    assert len(df) == 16
    assert {"cell", "promptExtend", "size", "negativePrompt", "repeat", "seed_policy", "est_cost_usd", "request_json"} <= set(df.columns)
    assert df["est_cost_usd"].tolist() == [0.075] * 16
    assert df.attrs["estimated_cost_usd"] == pytest.approx(1.2)
    task = json.loads(df["request_json"][0])
    assert task["model"] == "alibaba:qwen-image@2.0-pro" and task["positivePrompt"] == PROMPT
    out = capsys.readouterr().out
    assert "16 cells" in out and "$1.20" in out and "'sample'" in out


def test_plan_reports_every_problem_of_every_cell_at_once() -> None:
    sweep = Sweep(prompt=PROMPT, axes={
        "size": ["1024x1536", "100x100", "big"],
        "outputQuality": [10, 90],
        "sede": [1],
        "prompt_sr": ["AURELIS", "NOIR"],
    })
    with pytest.raises(ValidationError) as info:
        sweep.plan()
    text = str(info.value)
    params = info.value.parameters
    assert "size" in params  # 'big' is not WIDTHxHEIGHT
    assert "width" in params and "height" in params  # 100 px is too small
    assert "outputQuality" in params and "sede" in params and "prompt_sr" in params
    assert "nothing was sent" in text
    assert "of 12 cells" in text  # problems say how many cells they hit


def test_seed_auto_samples_on_a_model_without_seed() -> None:
    sweep = Sweep(prompt=PROMPT, repeats=3)
    cells = sweep.cells()
    assert {c.seed_policy for c in cells} == {"sample"}
    assert all("seed" not in c.request.to_task() and c.seed is None for c in cells)
    assert any("'sample'" in n and "declares no seed" in n for n in sweep.notes())
    assert len({c.key for c in cells}) == 3  # repeats are distinct cells even with identical requests


def test_plan_says_which_sizes_runware_may_refuse_per_model() -> None:
    confirmed = Sweep(prompt=PROMPT, axes=AXES)
    assert not any("unconfirmed" in n for n in confirmed.notes())
    sweep = Sweep(prompt=PROMPT, axes={"size": ["1024x1024", "2048x2048", "256x256"]})
    notes = [n for n in sweep.notes() if "unconfirmed" in n]
    assert len(notes) == 1 and "2048x2048 (4,194,304 px, above 2,097,152)" in notes[0] and "256x256" in notes[0]
    assert "1024x1024" not in notes[0]
    assert notes[0] in sweep.plan(quiet=True).attrs["notes"]
    models = Sweep(prompt=PROMPT, size="2048x2048", axes={"model": ["alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"]})
    per_model = [n for n in models.notes() if "unconfirmed" in n]
    assert [n.rsplit("(", 1)[1] for n in per_model] == ["alibaba:qwen-image@2.0-pro)", "alibaba:qwen-image@2.0)"]


def test_plan_warns_of_reference_images_given_at_the_top_level() -> None:
    """The model page's first example sends referenceImages at the top level, beside a negativePrompt
    that inputs.referenceImages refuses: Runware may ignore that spelling, and an edit would be drawn
    from the prompt alone. Accepted (the page shows it), and the plan says so; the documented
    spelling, which Request(referenceImages=...) sends, says nothing."""
    from qwenlab.core.request import Request

    ref = "a0b1c2d3-0000-4000-8000-000000000000"
    pasted = Request.from_task({"taskType": "imageInference", "model": "alibaba:qwen-image@2.0-pro",
                                "positivePrompt": "Edit the billboard", "referenceImages": [ref]})
    sweep = Sweep(base=pasted, axes={"promptExtend": [True, False]})
    notes = [n for n in sweep.notes() if "top level" in n]
    assert len(notes) == 1 and "inputs.referenceImages" in notes[0] and "may ignore" in notes[0]
    assert notes[0] in sweep.plan(quiet=True).attrs["notes"]
    documented = Sweep(base=Request(prompt="Edit the billboard", referenceImages=[ref]), axes={"promptExtend": [True, False]})
    assert documented.cells()[0].request.to_task()["inputs"]["referenceImages"] == [ref]
    assert not any("top level" in n for n in documented.notes())


def test_contradictory_safety_settings_are_sent_and_the_plan_names_both(tmp_path: Path) -> None:
    """safety.checkContent true "enables" checking and safety.mode "none" "disables checking"; the
    model page does not say which wins when both are sent. They were sent without a word; the plan
    now names both (its notes come before any money), and the request is sent as written."""
    from click.testing import CliRunner

    from qwenlab.cli import cli

    sweep = Sweep(prompt=PROMPT, size="1024x1024", axes={"safety": [
        {"checkContent": True, "mode": "none"}, {"checkContent": False, "mode": "fast"},
        {"checkContent": True, "mode": "fast"}, {"checkContent": True}, {"mode": "none"}]})
    notes = [n for n in sweep.notes() if n.startswith("safety:")]
    assert notes == [
        "safety: safety.checkContent = true with safety.mode = 'none' (cell 0): checkContent enables checking and mode "
        "'none' disables it, and the model page does not say which wins (the offline emulator checks when either asks; "
        "Runware may not); give one of them, or both alike",
        "safety: safety.checkContent = false with safety.mode = 'fast' (cell 1): checkContent disables checking and mode "
        "'fast' performs it, and the model page does not say which wins (the offline emulator checks when either asks; "
        "Runware may not); give one of them, or both alike"]
    assert all(n in sweep.plan(quiet=True).attrs["notes"] for n in notes)
    assert sweep.cells()[0].request.to_task()["safety"] == {"checkContent": True, "mode": "none"}  # not refused
    path = tmp_path / "safety.toml"
    path.write_text(f'prompt = "{PROMPT}"\n[request]\nsize = "1024x1024"\n'
                    '[request.safety]\ncheckContent = true\nmode = "none"\n')
    dry = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "safety.checkContent = true with safety.mode = 'none' (every cell)" in dry.output, dry.output


def test_pin_on_a_model_without_seed_is_refused_with_the_way_out() -> None:
    with pytest.raises(ValidationError) as info:
        Sweep(prompt=PROMPT, seed_policy="pin").cells()
    assert "seed_policy='sample'" in str(info.value) and "force_seed=True" in str(info.value)


def test_forced_pin_is_still_refused_before_sending_and_says_why() -> None:
    with pytest.raises(ValidationError) as info:
        Sweep(prompt=PROMPT, seed_policy="pin", force_seed=True).cells()
    text = str(info.value)
    assert "force_seed=True sends seed" in text and "unsupportedParameter" in text and "register_model" in text
    assert "seed" in info.value.parameters  # the request's own validation names the parameter too


def test_auto_pins_on_a_model_that_declares_seed(seeded_model: str) -> None:
    sweep = Sweep(prompt=PROMPT, model=seeded_model, axes={"promptExtend": [True, False]}, repeats=2, seed=100)
    cells = sweep.cells()
    assert [(c.seed_policy, c.seed) for c in cells] == [("pin", 100), ("pin", 100), ("pin", 101), ("pin", 101)]
    assert [c.request.to_task()["seed"] for c in cells] == [100, 100, 101, 101]
    assert any("'pin'" in n for n in sweep.notes())
    listed = Sweep(prompt=PROMPT, model=seeded_model, repeats=2, seed=[7, 42], seed_policy="pin").cells()
    assert [c.seed for c in listed] == [7, 42]
    assert Sweep(prompt=PROMPT, model=seeded_model, seed_policy="sample").cells()[0].seed is None
    with pytest.raises(ValidationError, match="one per repeat"):
        Sweep(prompt=PROMPT, model=seeded_model, repeats=3, seed=[1, 2], seed_policy="pin").cells()


def test_a_seed_axis_takes_range_syntax(seeded_model: str) -> None:
    cells = Sweep(prompt=PROMPT, model=seeded_model, axes={"seed": "1-9 (+4)"}).cells()
    assert [(c.seed, c.seed_policy) for c in cells] == [(1, "pin"), (5, "pin"), (9, "pin")]
    with pytest.raises(ValidationError, match="seed axis"):
        Sweep(prompt=PROMPT, model=seeded_model, axes={"seed": [1, 2]}, seed_policy="sample").cells()


@pytest.mark.parametrize("options, parameter, words", [
    ({"seed": 7, "axes": {"seed": [1, 2]}}, "seed", "seed=7 is given beside a seed axis"),
    ({"repeats": 2, "axes": {"seed": [1, 2]}}, "repeats", "the same image is paid for again"),
    ({"repeats": 2, "seed": [3, 3]}, "seed", "gives seed 3 more than once"),
    ({"repeats": 2, "seed": [3, 4, 5]}, "seed", "gives 3 seeds for 2 repeats"),
])
def test_seeds_that_would_be_dropped_or_sent_twice_are_refused(seeded_model: str, options: dict, parameter: str,
                                                               words: str) -> None:
    """On a model that declares seed, seed=7 beside a seed axis was dropped without a word, as were
    the seeds of a list beyond its repeats; and a seed axis with repeats=2, or seed=[3, 3], sent each
    request twice with one seed: the same image, paid twice."""
    with pytest.raises(ValidationError) as err:
        Sweep(prompt=PROMPT, model=seeded_model, **options).cells()
    assert [(p.parameter, words in p.message) for p in err.value.problems] == [(parameter, True)]


def test_prompt_search_replace() -> None:
    cells = Sweep(prompt="A poster that reads 'LUMIERE'", negativePrompt="a wrong LUMIERE logo",
                  axes={"prompt_sr": ["LUMIERE", "AURELIS", "NOIR"]}).cells()
    assert [c.request.prompt for c in cells] == ["A poster that reads 'LUMIERE'", "A poster that reads 'AURELIS'",
                                                 "A poster that reads 'NOIR'"]
    assert cells[2].request.negative_prompt == "a wrong NOIR logo"
    with pytest.raises(ValidationError, match="does not occur in the prompt"):
        Sweep(prompt="A poster", axes={"prompt_sr": ["LUMIERE", "NOIR"]}).cells()


@pytest.mark.parametrize("order", ["prompt_sr first", "prompt_sr last"])
def test_prompt_search_replace_edits_the_prompts_other_axes_set(order: str) -> None:
    """prompt_sr written before a prompt axis replaced in the base prompt, which the prompt axis then
    overwrote: its NOIR cells sent the LUMIERE requests again (same keys), and the run of a 4-cell
    plan did 2 cells, with no NOIR poster. It edits whatever prompt and negative prompt the other
    axes give a cell, wherever it is written."""
    axes = {"prompt_sr": ["LUMIERE", "NOIR"], "prompt": ["A poster that reads 'LUMIERE'", "A flyer for LUMIERE"],
            "negativePrompt": [None, "a wrong LUMIERE logo"]}
    if order == "prompt_sr last":
        axes = {k: axes[k] for k in ("prompt", "negativePrompt", "prompt_sr")}
    cells = Sweep(prompt="A poster that reads 'LUMIERE'", axes=axes).cells()
    assert len({c.key for c in cells}) == len(cells) == 8
    for c in cells:
        brand = c.labels["prompt_sr"]
        assert brand in c.request.prompt and ("NOIR" if brand == "LUMIERE" else "LUMIERE") not in c.request.prompt
        assert c.request.negative_prompt in (None, f"a wrong {brand} logo")


@pytest.mark.parametrize("axes, overridden", [
    ({"style": {"plain": {"promptExtend": False}, "rich": {"promptExtend": True}}, "promptExtend": [True, False]}, "style"),
    ({"prompt": [PROMPT, "A billboard that reads 'NOIR'"], "positivePrompt": ["A flyer for NOIR", "A card for NOIR"]}, "prompt"),
    ({"promptExtend": [True, False], "providerSettings.alibaba.promptExtend": [True, False]}, "promptExtend"),
])
def test_an_axis_another_axis_overrides_is_refused_not_run_as_fewer_cells(axes: dict, overridden: str) -> None:
    """A bundle setting promptExtend beside a promptExtend axis planned 4 cells at $0.30, two of
    them the same request as the other two: the run (one log row a request) made 2, and the
    'plain' label's images were the 'rich' ones. Refused, naming the axis and a pair of twins."""
    with pytest.raises(ValidationError) as err:
        Sweep(prompt=PROMPT, axes=axes).cells()
    [problem] = err.value.problems
    assert problem.parameter == overridden
    assert "would send the same request as cell 0" in problem.message and "drop one of the two axes" in problem.message


def test_prompt_model_and_labelled_axes() -> None:
    sweep = Sweep(prompt=PROMPT, axes={
        "model": ["alibaba:qwen-image@2.0-pro", "alibaba:qwen-image@2.0"],
        "prompt": [PROMPT, "A billboard that reads 'NOIR'"],
        "negativePrompt": {"no negative": None, "text": "blurry text"},
    })
    cells = sweep.cells()
    assert sorted({c.estimated_cost for c in cells}) == [0.035, 0.075]
    assert sweep.estimated_cost == pytest.approx(4 * 0.075 + 4 * 0.035)
    assert {c.labels["negativePrompt"] for c in cells} == {"no negative", "text"}
    assert {c.request.prompt for c in cells} == {PROMPT, "A billboard that reads 'NOIR'"}


def test_request_and_bundle_axes() -> None:
    seedish = Request.from_json({"taskType": "imageInference", "model": "alibaba:qwen-image@2.0-pro",
                                 "positivePrompt": "An Art Deco poster for AURELIS NOIR", "negativePrompt": "watermark"})
    axes = {"example": {"lumiere": Request(prompt=PROMPT, negativePrompt="blurry text"), "aurelis": seedish},
            "negative": {"with": {}, "without": {"negativePrompt": None}},
            "size": ["1024x1536"]}
    sweep = Sweep(axes=axes)
    cells = sweep.cells()
    by = {(c.labels["example"], c.labels["negative"]): c.request for c in cells}
    assert by[("aurelis", "with")].negative_prompt == "watermark"
    assert by[("aurelis", "without")].negative_prompt is None
    assert by[("lumiere", "with")].size == (1024, 1536)
    assert cells[0].cell_json()["example"] == "lumiere"  # requests are stored by label
    # an example with no negativePrompt to remove: "with" and "without" are one request, which the
    # run made once where the plan showed two cells; refused, saying so
    axes["example"]["lumiere"] = Request(prompt=PROMPT)
    with pytest.raises(ValidationError, match=r"changes nothing in 1 cell: cell 1 .* \(no negativePrompt to remove\)"):
        Sweep(axes=axes).cells()


def test_numeric_axis_range_in_python() -> None:
    cells = Sweep(prompt=PROMPT, axes={"outputQuality": "60-90 (+15)"}).cells()
    assert [c.request.get("outputQuality") for c in cells] == [60, 75, 90]


def test_local_reference_images_get_stable_placeholders(tmp_path: Path) -> None:
    ref = tmp_path / "street.png"
    Image.new("RGB", (64, 48), (90, 90, 120)).save(ref)
    edit = dict(prompt="Edit the billboard to read 'LUNE NOIRE'", referenceImages=[str(ref)])
    a, b = Sweep(**edit).cells()[0], Sweep(**edit).cells()[0]
    assert a.key == b.key and len(a.uploads) == 1
    placeholder, local = next(iter(a.uploads.items()))
    assert local.path == ref.resolve()
    assert a.request.reference_images == [placeholder]
    sent = a.request_with({placeholder: "11111111-2222-4333-8444-555555555555"})
    assert sent.reference_images == ["11111111-2222-4333-8444-555555555555"]
    with pytest.raises(ValidationError, match="not found"):
        Sweep(prompt="Edit it", referenceImages=[str(tmp_path / "missing.png")]).cells()


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError) as info:
        Sweep(prompt=PROMPT, repeats=0, mode="cube", seed_policy="always").cells()
    assert {"repeats", "mode", "seed_policy"} <= set(info.value.parameters)


def test_axis_values_from_numpy_ranges_and_frames_are_taken_as_plain_numbers() -> None:
    """np.int64(20) was refused as "must be an integer", and a range was one value."""
    import numpy as np
    import pandas as pd

    plain = Sweep(prompt="A poster reading 'SALE'", axes={"outputQuality": [20, 21, 22]})
    for values in ([np.int64(20), np.int64(21), np.int64(22)], range(20, 23), np.arange(20, 23), pd.Series([20, 21, 22]),
                   (q for q in (20, 21, 22))):
        sweep = Sweep(prompt="A poster reading 'SALE'", axes={"outputQuality": values})
        assert [json.loads(c.request.to_json())["outputQuality"] for c in sweep.cells()] == [20, 21, 22]
        assert sweep.fingerprint() == plain.fingerprint()  # the same experiment as the list
    flags = Sweep(prompt="A poster reading 'SALE'", axes={"promptExtend": np.array([True, False])})
    assert [type(c.request.prompt_extend) for c in flags.cells()] == [bool, bool]


def test_a_size_axis_from_a_frames_width_and_height_columns_gives_one_size_a_row() -> None:
    """`df[["w", "h"]].values` crashed: "the truth value of an array ... is ambiguous"."""
    import pandas as pd

    frame = pd.DataFrame({"w": [1024, 1536], "h": [1536, 1024]})
    sweep = Sweep(prompt="A poster reading 'SALE'", axes={"size": frame[["w", "h"]].values})
    assert [c.request.size for c in sweep.cells()] == [(1024, 1536), (1536, 1024)]
    assert sweep.fingerprint() == Sweep(prompt="A poster reading 'SALE'", axes={"size": ["1024x1536", "1536x1024"]}).fingerprint()


@pytest.mark.parametrize("axes", [{"size": ["512x768", "512x768"]}, {"negativePrompt": [None, None]},
                                  {"outputQuality": [20, "20-22"]}, {"prompt_sr": ["SALE", "SALE", "OPEN"]}])
def test_a_value_given_twice_is_refused(axes: dict) -> None:
    """It ran as one cell under two labels."""
    with pytest.raises(ValidationError, match="more than once; give each value once"):
        Sweep(prompt="A poster reading 'SALE'", axes=axes).cells()


@pytest.mark.parametrize("axes, said", [
    ({"outputQuality": ["60", "90"]}, "outputQuality: is a number, and '60', '90' are text: write \"outputQuality\": [60, 90] (no quotes"),
    ({"outputQuality": ["20-22", 80, "90"]}, 'write "outputQuality": ["20-22", 80, 90] (no quotes; range syntax'),
    ({"outputQuality": {"low": "60", "high": 90}}, 'write "outputQuality": {"low": 60, "high": 90} (no quotes'),
    ({"promptExtend": ["true", "false"]}, "promptExtend: is a true/false parameter, and 'true', 'false' are text: "
                                          'write "promptExtend": [True, False] (no quotes)'),
])
def test_a_quoted_number_or_switch_on_an_axis_is_refused_with_the_axis_to_write(axes: dict, said: str) -> None:
    """["60", "90"] ran as the numbers 60 and 90 where a sweep file's [request] refused "80", and
    ["true", "false"] was refused once per cell as "must be true or false". One rule: quoted, a
    number is text (range syntax, several numbers in one string, is an axis's own)."""
    with pytest.raises(ValidationError) as info:
        Sweep(prompt="A poster reading 'SALE'", axes=axes).cells()
    assert info.value.parameters == [next(iter(axes))] and said in str(info.value), str(info.value)
    assert [c.request.get("outputQuality") for c in Sweep(prompt="A poster reading 'SALE'",
                                                          axes={"outputQuality": ["60-70 (+10)", 90]}).cells()] == [60, 70, 90]


SALE = "A poster reading 'SALE'"


@pytest.mark.parametrize("axes, said", [
    ({"prompt": [SALE, SALE + " "]}, f"prompt: gives values 1 and 2 ({SALE!r} and {SALE + ' '!r}), which differ only in "
                                     "white space: qwenlab sends text as written, so they are two requests, but every label"),
    ({"negativePrompt": [None, "blurry", "\nblurry"]}, "negativePrompt: gives values 2 and 3 ('blurry' and '\\nblurry')"),
    ({"b": {"x": {"outputQuality": 60}, "y": {"outputQuality": 60, "label": "y"}}}, "b: gives 'x' and 'y', which send the "
                                                                                   "same request; give it once"),
    ({"b": [{"promptExtend": True}, {"providerSettings.alibaba.promptExtend": True}]},
     "b: gives 'bundle 1' and 'bundle 2', which send the same request"),
    ({"r": {"a": Request(prompt=SALE), "b": Request(prompt=SALE)}}, "r: gives 'a' and 'b', which send the same request"),
])
def test_values_that_send_one_request_or_read_alike_are_refused_naming_both(axes: dict, said: str) -> None:
    """Values equal once normalised made two cells: two bundles or requests sending one request
    were refused as if another axis overrode them ("changes nothing ... drop one of the two
    axes"), and prompts alike but for white space (sent as written: two requests) ran as two
    cells whose labels read the same. Named by the axis and both values, with the fix."""
    with pytest.raises(ValidationError) as info:
        Sweep(prompt=SALE, axes=axes).cells()
    assert info.value.parameters == [next(iter(axes))] and said in str(info.value), str(info.value)


def test_texts_alike_but_for_white_space_are_two_values_when_labelled() -> None:
    """Labelled, they are two values on purpose (a study of the white space itself): sent as written."""
    cells = Sweep(axes={"prompt": {"plain": SALE, "spaced": SALE + " "}}).cells()
    assert [(c.labels["prompt"], c.request.prompt) for c in cells] == [("plain", SALE), ("spaced", SALE + " ")]


def test_a_sweep_too_big_to_lay_out_is_refused_at_once() -> None:
    with pytest.raises(ValidationError, match="100,000,000 cells, more than the 100,000"):  # it once hung laying them out
        Sweep(prompt="A poster reading 'SALE'", repeats=100_000_000).cells()


def test_the_plan_says_reference_urls_are_only_fetched_by_runware() -> None:
    """The emulator draws a placeholder for a reference URL it cannot fetch, where Runware fails
    the task: a sweep with a mistyped URL succeeded offline. The plan says so, naming the URLs."""
    urls = [f"https://cdn.example.com/ref-{i}.png" for i in range(3)]
    sweep = Sweep(prompt="Edit: the poster with 'LUMIERE'", size="1024x1024", axes={"referenceImages": [[u] for u in urls]})
    said = [n for n in sweep.notes() if "given by URL" in n]
    assert len(said) == 1 and urls[0] in said[0] and "and 1 more" in said[0] and "does not fetch them" in said[0]
    by_uuid = Sweep(prompt="Edit: the poster", size="1024x1024", referenceImages=["0b7c2a44-5f2e-4a57-9a43-3c4d8d2f1e10"])
    assert not any("given by URL" in n for n in by_uuid.notes())


def test_an_empty_model_is_refused_not_taken_for_the_default() -> None:
    """Sweep(model="") sent every cell to the default model without a word, and a model axis
    holding None (or "") failed as "model 'None' has no description". None still means the default."""
    for model in ("", "   "):
        with pytest.raises(ValidationError) as info:
            Sweep(prompt="A poster", model=model).cells()
        assert info.value.parameters == ["model"] and "is empty; give a model's AIR id" in str(info.value)
        assert "leave model= out of Request or Sweep" in str(info.value)
    assert Sweep(prompt="A poster", model=None).base.model_id == "alibaba:qwen-image@2.0-pro"
    with pytest.raises(ValidationError) as info:
        Sweep(prompt="A poster", axes={"model": ["alibaba:qwen-image@2.0", None]}).cells()
    # said once, by the axis: its cells are not also refused as sent to a model named "None"
    assert [str(p) for p in info.value.problems] == [
        "model: value 1 is empty; every value of a model axis is a model's AIR id such as "
        "'alibaba:qwen-image@2.0-pro' (the default: list it for cells of the default model)"]


def test_a_sweeps_problems_name_the_keywords_and_axes_it_was_given() -> None:
    """A sweep's problems named positivePrompt and width where the sweep said prompt and size."""
    with pytest.raises(ValidationError) as info:
        Sweep(prompt="x", size="100x1024", axes={"promptExtend": ["yes"]}).cells()
    assert [str(p).split(":")[0] for p in info.value.problems] == [
        "prompt (sent as positivePrompt)", "promptExtend (sent as providerSettings.alibaba.promptExtend)", "size (sent as width)"]
    with pytest.raises(ValidationError) as info:
        Sweep(prompt="A poster", axes={"size": ["1024x1024", "1024x100"], "prompt": ["A poster", "x"]}).cells()
    assert sorted(str(p).split(":")[0] for p in info.value.problems) == ["prompt (sent as positivePrompt)", "size (sent as height)"]
    assert info.value.parameters.count("positivePrompt") == 1  # the API's names stay the parameters'


def test_a_missing_value_of_a_frames_text_column_is_not_sent_as_its_label_says() -> None:
    """axes={"negativePrompt": df["negative"]}: pandas holds a missing text as NaN (pandas 3 turns
    None into NaN too). The plan labelled it "none", but the cell sent the float and was refused:
    "negativePrompt: must be a string, got float nan". It is None, not sent; a number's NaN is
    still refused, being no number at all."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"negative": ["blurry text", None], "quality": [60, np.nan]})
    for values in (frame["negative"], frame["negative"].unique(), [float("nan"), "blurry text"], {"none": pd.NA, "blur": "blurry text"}):
        cells = Sweep(prompt="A poster", axes={"negativePrompt": values}).cells()
        assert sorted(c.labels["negativePrompt"] for c in cells) == ["blur" if isinstance(values, dict) else "blurry text",
                                                                      "none"]
        missing = [c for c in cells if c.values["negativePrompt"] in (None, "none")][0]
        assert not missing.request.is_set("negativePrompt") and "negativePrompt" not in missing.request.to_json()
    with pytest.raises(ValidationError, match="outputQuality: must be an integer, got float nan"):
        Sweep(prompt="A poster", axes={"outputQuality": frame["quality"]}).cells()


@pytest.mark.parametrize("name, said", [
    ("repeat", "is the name qwenlab gives each cell's repeat number"),
    ("status", "is the name of a column qwenlab gives every cell in exp.df and exp.images"),
    ("backend", "is the name of a column"), ("cost_usd", "is the name of a column"),
])
def test_an_axis_named_as_qwenlabs_own_column_is_refused_before_its_values_are_lost(name: str, said: str) -> None:
    """Each cell's log row keeps its repeat number under "repeat": an axis of that name (a bundle
    axis takes any name) had its values overwritten there, and its cells read "repeat=a, repeat=0".
    One named "status", "backend" or "cost_usd" had its values replaced in exp.df and exp.images
    by that column's (exp.df's status read "done", the axis's "draft" nowhere)."""
    bundles = {"a": {"negativePrompt": "blurry"}, "b": {"negativePrompt": "grainy"}}
    with pytest.raises(ValidationError) as info:
        Sweep(prompt=SALE, axes={name: bundles}).cells()
    assert info.value.parameters == [name], str(info.value)
    assert said in str(info.value) and "name the axis otherwise" in str(info.value)
    with pytest.raises(ValidationError, match="name the axis otherwise"):  # a request axis takes any name too
        Sweep(axes={name: {"a": Request(prompt=SALE), "b": Request(prompt=SALE + "!")}}).cells()
    variant = Sweep(prompt=SALE, axes={"variant": bundles})
    assert [c.cell_json() for c in variant.cells()] == [{"variant": "a", "repeat": 0}, {"variant": "b", "repeat": 0}]
    # a parameter's axis holds what the column does (the seed, the width sent)
    assert len(Sweep(prompt=SALE, axes={"width": [512, 768]}, height=512).cells()) == 2


@pytest.mark.parametrize("given", [{"promptExtend": [True, False]}, {"size": ["1024x1536", "1536x1024"]},
                                   {"negativePrompt": ["blurry", "grainy"]}, {"outputQuality": (60, 90)},
                                   {"prompt": [SALE, "A poster reading 'SOLD'"]}])
def test_a_list_given_as_the_base_requests_value_says_to_put_it_on_an_axis(given: dict) -> None:
    """Sweep(promptExtend=[True, False]), the first thing a user tries, was refused as "must be
    true or false, got [True, False]" in every cell (a size list as "is not WIDTHxHEIGHT; write it
    like '1024x1536'", which it was): nothing said that trying each value is an axis's job."""
    with pytest.raises(ValidationError) as info:
        Sweep(**({"prompt": SALE} | given)).cells()
    name = next(iter(given))
    assert info.value.parameters == [name], str(info.value)  # one problem: not also "is required"
    assert f"put them on an axis: Sweep(..., axes={{{name!r}: [...]}})" in str(info.value)
    assert [c.request.get("outputQuality") for c in Sweep(prompt=SALE, axes={"outputQuality": [60, 90]}).cells()] == [60, 90]


def test_a_size_as_two_numbers_is_one_size_not_a_list_of_values() -> None:
    assert [(c.request.get("width"), c.request.get("height")) for c in Sweep(prompt=SALE, size=[1024, 1536]).cells()] == [(1024, 1536)]
