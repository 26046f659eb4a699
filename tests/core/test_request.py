"""Requests: built from keywords or pasted JSON, validated against the description, exact on the wire."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from qwenlab.core.request import Request, parse_size, validate_task
from qwenlab.errors import ValidationError
from tests.support.seed_examples import example_request_texts, example_requests

PRO = "alibaba:qwen-image@2.0-pro"


@pytest.mark.parametrize("index", range(4))
def test_seed_examples_are_accepted_exactly_as_written(index: int) -> None:
    text = example_request_texts()[index]
    request = Request.from_json(text)
    assert request.problems() == []
    # the exact same JSON on the wire, key order included
    assert request.to_json(indent=2) == json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    assert request.estimated_cost() == 0.075


def test_first_example_keeps_its_top_level_reference_images() -> None:
    request = Request.from_json(example_requests()[0])
    task = request.to_task()
    assert "referenceImages" in task and "inputs" not in task
    assert request.reference_images == example_requests()[0]["referenceImages"]


def test_keywords_build_the_nested_wire_task() -> None:
    r = Request(prompt="A poster reading 'LUMIERE'", size="1024x1536", promptExtend=False, negativePrompt="blurry text")
    task = r.to_task()
    assert list(task)[:7] == ["taskType", "taskUUID", "model", "positivePrompt", "negativePrompt", "width", "height"]
    assert task["providerSettings"] == {"alibaba": {"promptExtend": False}}
    assert task["model"] == PRO and task["taskType"] == "imageInference"
    assert uuid.UUID(task["taskUUID"]).version == 4
    assert r.validate() is r
    assert r.size == (1024, 1536) and r.prompt_extend is False


def test_none_means_not_sent_and_defaults_are_read_from_the_model() -> None:
    r = Request(prompt="hello", negativePrompt=None)
    assert "negativePrompt" not in r.to_task()
    assert r.get("promptExtend") is True and r.get("outputFormat") == "JPG" and r.get("numberResults") == 1
    assert r.size == (1024, 1024)


def test_nested_dicts_and_wire_paths_are_both_understood() -> None:
    a = Request(prompt="hello", safety={"checkContent": True, "mode": "fast"}, inputs={"referenceImages": [str(uuid.uuid4())]})
    b = Request(prompt="hello", **{"safety.checkContent": True, "safety.mode": "fast"}, referenceImages=a.reference_images)
    assert a.to_task()["safety"] == b.to_task()["safety"] == {"checkContent": True, "mode": "fast"}
    assert a.to_task()["inputs"] == b.to_task()["inputs"]


def _problems(**kw) -> dict[str, str]:
    return {p.parameter: p.message for p in Request(**kw).problems()}


def test_a_prompt_is_measured_as_strictly_as_runware_may_count_it() -> None:
    """Runware does not say whether its 2000 counts characters or UTF-16 units (JavaScript's
    length, an emoji two): a prompt within the first and over the second is refused before it is
    sent, its message giving both counts; the minimum counts characters, the fewer."""
    emoji = "\N{SPARKLES}"  # U+2728 is one unit; U+1F31F (glowing star) is two
    star = "\N{GLOWING STAR}"
    assert Request(prompt="x" * 1998 + star).problems() == []  # 1999 characters, 2000 units
    problems = {p.parameter: p.message for p in Request(prompt="x" * 1999 + star).problems()}
    assert problems["positivePrompt"] == "has 2000 characters (2001 UTF-16 units, as Runware may count them); it must have 2 to 2000"
    assert Request(prompt="x" * 1999 + emoji).problems() == []
    assert "1 characters" in _problems(prompt=star)["positivePrompt"]  # one character, though two units
    assert "401 characters (502 UTF-16 units" in _problems(prompt="ok", negativePrompt="x" * 300 + star * 101)["negativePrompt"]


def test_501_character_negative_prompt_is_named() -> None:
    with pytest.raises(ValidationError) as err:
        Request(prompt="hello", negativePrompt="x" * 501).validate()
    assert err.value.parameters == ["negativePrompt"]
    assert "501 characters" in str(err.value) and "2 to 500" in str(err.value)


@pytest.mark.parametrize(
    "kwargs, parameter, fragment",
    [
        ({"prompt": "x"}, "positivePrompt", "2 to 2000"),
        ({"prompt": "x" * 2001}, "positivePrompt", "2001 characters"),
        ({"prompt": "   "}, "positivePrompt", "only spaces"),  # may be charged for an image of nothing
        ({"prompt": "ok", "negativePrompt": " \n "}, "negativePrompt", "only spaces"),
        ({"prompt": "ok", "negativePrompt": "x"}, "negativePrompt", "1 characters"),
        ({"prompt": "ok", "width": 1024}, "height", "together"),
        ({"prompt": "ok", "height": 1024}, "width", "together"),
        ({"prompt": "ok", "size": "100x1024"}, "width", "256 to 2048"),
        ({"prompt": "ok", "size": "1024x4096"}, "height", "256 to 2048"),
        ({"prompt": "ok", "size": "2048x2049"}, "height", "out of range"),
        ({"prompt": "ok", "outputQuality": 19}, "outputQuality", "20 to 99"),
        ({"prompt": "ok", "outputQuality": 100}, "outputQuality", "20 to 99"),
        ({"prompt": "ok", "outputQuality": 50.5}, "outputQuality", "integer"),
        ({"prompt": "ok", "numberResults": 0}, "numberResults", "1 to 20"),
        ({"prompt": "ok", "numberResults": 21}, "numberResults", "1 to 20"),
        ({"prompt": "ok", "ttl": 59}, "ttl", "at least 60"),
        ({"prompt": "ok", "outputType": "url"}, "outputType", "'URL', 'base64Data', 'dataURI'"),
        ({"prompt": "ok", "outputFormat": "JPEG"}, "outputFormat", "'JPG', 'PNG', 'WEBP'"),
        ({"prompt": "ok", "deliveryMethod": "later"}, "deliveryMethod", "'sync', 'async'"),
        ({"prompt": "ok", "safety": {"mode": "slow"}}, "safety.mode", "'none', 'fast'"),
        ({"prompt": "ok", "safety": {"checkContent": "yes"}}, "safety.checkContent", "true or false"),
        ({"prompt": "ok", "promptExtend": 1}, "providerSettings.alibaba.promptExtend", "true or false"),
        ({"prompt": "ok", "taskUUID": "not-a-uuid"}, "taskUUID", "UUID v4"),
        ({"prompt": "ok", "taskUUID": "c9ce25bb-094e-1049-9af0-b2aa2f174ac0"}, "taskUUID", "UUID v4"),
        ({"prompt": "ok", "webhookURL": "ftp://example.com/x"}, "webhookURL", "http(s) URI"),
        ({"prompt": "ok", "uploadEndpoint": "not a url"}, "uploadEndpoint", "http(s) URI"),
        ({"prompt": "ok", "referenceImages": ["not an image"]}, "inputs.referenceImages", "item 0"),
        ({"prompt": "ok", "referenceImages": ["data:image/avif;base64,AAAAAAAAAAAAAAAAAAAAAA=="]}, "inputs.referenceImages",
         "is a data URI of image/avif, not of PNG, JPEG, WEBP, GIF, BMP or TIFF"),
        ({"prompt": "ok", "referenceImages": [str(uuid.uuid4())] * 4}, "inputs.referenceImages", "at most 3"),
        ({"prompt": "ok", "referenceImages": [str(uuid.uuid4())], "negativePrompt": "blurry"}, "negativePrompt", "cannot be used with negativePrompt"),
        ({"prompt": "ok", "steps": 30}, "steps", "not a parameter"),
        ({"prompt": "ok", "promptExtnd": True}, "promptExtnd", "did you mean 'promptExtend'"),
        ({"prompt": "ok", "promptExtnd": True}, "promptExtnd", "(at 'providerSettings.alibaba.promptExtend' in a task's JSON)"),
        ({"prompt": "ok", "outputQualty": 50}, "outputQualty", "did you mean 'outputQuality'? it takes"),
    ],
)
def test_each_rule_of_the_page_names_its_parameter(kwargs: dict, parameter: str, fragment: str) -> None:
    problems = _problems(**kwargs)
    assert parameter in problems, problems
    assert fragment in problems[parameter]


def test_a_parameter_pasted_at_the_top_level_is_told_where_it_goes() -> None:
    """The model page's JSON puts promptExtend under providerSettings.alibaba; one pasted at the
    top level was told "did you mean 'promptExtend'?", the very key refused."""
    task = {"taskType": "imageInference", "model": "alibaba:qwen-image@2.0-pro", "positivePrompt": "a poster",
            "promptExtend": False}
    (problem,) = Request.from_task(task).problems()
    assert problem.parameter == "promptExtend" and problem.code == "unsupportedParameter"
    assert "goes at 'providerSettings.alibaba.promptExtend'" in problem.message and "did you mean" not in problem.message


def test_seed_on_pro_says_there_is_none_and_what_to_do() -> None:
    problem = Request(prompt="ok", seed=42).problems()[0]
    assert problem.parameter == "seed" and problem.code == "unsupportedParameter"
    assert "takes no seed" in problem.message and "repeats" in problem.message


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ValidationError) as err:
        Request(prompt="x", outputQuality=5, numberResults=50, seed=1).validate()
    assert set(err.value.parameters) == {"positivePrompt", "outputQuality", "numberResults", "seed"}
    assert "nothing was sent" in str(err.value)


def test_reference_image_forms() -> None:
    import base64

    b64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 32).decode()
    for ref in [str(uuid.uuid4()), "https://example.com/a.jpg", f"data:image/png;base64,{b64}", b64]:
        assert Request(prompt="edit it", referenceImages=[ref]).problems() == [], ref


def test_top_level_reference_images_with_negative_prompt_is_the_seeds_accepted_form() -> None:
    task = example_requests()[0]
    assert "negativePrompt" in task and "referenceImages" in task
    assert validate_task(task) == []
    moved = dict(task, inputs={"referenceImages": task["referenceImages"]})
    del moved["referenceImages"]
    assert [p.parameter for p in validate_task(moved)] == ["negativePrompt"]


@pytest.mark.parametrize("task_part, written", [
    ({"providerSettings.alibaba.promptExtend": False}, "providerSettings.alibaba.promptExtend"),
    ({"providerSettings": {"alibaba.promptExtend": False}}, "providerSettings.alibaba.promptExtend"),
    ({"inputs.referenceImages": ["https://example.com/a.jpg"]}, "inputs.referenceImages"),
    ({"safety.mode": "fast"}, "safety.mode"),
])
def test_a_wire_task_with_a_dotted_key_is_refused_and_told_to_nest_it(task_part: dict, written: str) -> None:
    """The page: provider settings "must be nested inside the providerSettings.alibaba object",
    inputs "inside the inputs object". A key written with dots is one key of that name to
    Runware, which its schema does not declare: the emulator took it for the nested parameter."""
    task = {"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:qwen-image@2.0-pro",
            "positivePrompt": "a poster", **task_part}
    (problem,) = validate_task(task)
    assert problem.parameter == written and problem.code == "unsupportedParameter"
    assert "nest it" in problem.message


def test_unknown_model_is_a_problem_not_a_crash() -> None:
    problems = validate_task({"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "nope:x@1", "positivePrompt": "hi"})
    assert problems[0].parameter == "model" and "known models" in problems[0].message


def test_output_hash_ignores_delivery_and_task_uuid_but_not_content() -> None:
    a = Request(prompt="hello world", size="1024x1536")
    assert a.output_hash() == a.renew().output_hash()
    assert a.output_hash() == a.replace(outputType="base64Data", includeCost=True, deliveryMethod="async").output_hash()
    assert a.output_hash() == a.replace(promptExtend=True).output_hash()  # explicit default == omitted
    assert a.output_hash() != a.replace(promptExtend=False).output_hash()
    assert a.output_hash() != a.replace(size="1536x1024").output_hash()
    assert a.output_hash() != a.replace(negativePrompt="blurry").output_hash()
    assert a.output_hash() != a.replace(model="alibaba:qwen-image@2.0").output_hash()


def test_replace_keeps_values_and_spelling() -> None:
    seed0 = Request.from_json(example_requests()[0])
    changed = seed0.replace(positivePrompt="Edit: new headline 'X'")
    assert "referenceImages" in changed.to_task()
    assert changed.replace(negativePrompt=None).negative_prompt is None
    assert seed0.renew().task_uuid != seed0.task_uuid


def test_replace_with_none_removes_a_size_and_an_object_of_the_page_whole() -> None:
    """None removes what it names: size (width and height, page L238-L255) and the page's
    objects, safety (L132-L135), inputs (L185) and providerSettings (L264). They went on being
    sent, so a sweep cell labelled "not sent" sent the base's value (promptExtend False where the
    label promised the page's default, true, L270)."""
    from qwenlab import Sweep

    r = Request(prompt="A poster", size="1024x1536", safety={"checkContent": True}, promptExtend=False,
                inputs={"referenceImages": ["https://example.com/a.jpg"]})
    assert r.replace(size=None).to_task().keys().isdisjoint({"width", "height"})
    assert r.replace(size=None).size == (1024, 1024)  # the model's default, as for a request given none
    bare = r.replace(safety=None, providerSettings=None, inputs=None).to_task()
    assert bare.keys().isdisjoint({"safety", "providerSettings", "inputs"}) and bare["width"] == 1024
    assert "providerSettings" not in r.replace(**{"providerSettings.alibaba": None}).to_task()
    # an object given is the object sent, as the cell's label shows it
    assert r.replace(safety={"mode": "fast"}).to_task()["safety"] == {"mode": "fast"}
    base = Request(prompt="A poster", safety={"checkContent": True}, promptExtend=False)
    cells = Sweep(base=base, axes={"providerSettings": [None, {"alibaba": {"promptExtend": True}}]}).cells()
    assert [c.request.prompt_extend for c in cells] == [True, True]  # the page's default, then as given
    assert "providerSettings" not in cells[0].request.to_task() and cells[0].request.to_task()["safety"]
    cells = Sweep(base=base, axes={"safety": [None, {"mode": "fast"}]}).cells()
    assert [c.request.to_task().get("safety") for c in cells] == [None, {"mode": "fast"}]


def test_replace_starts_from_the_task_as_pasted_every_time() -> None:
    """replace keeps its request rebuilt from the task JSON (a sweep replaces from the same base
    for every cell): each replace is the same as the first, and a description registered since
    is the one the task is rebuilt with."""
    import dataclasses

    from qwenlab.core.model import register_model

    base = Request(prompt="LUMIERE poster", size="1024x1024", promptExtend=False)
    first, again = base.replace(outputQuality=30), base.replace(outputQuality=30)
    assert first.task_uuid != again.task_uuid and first == again.replace(taskUUID=first.task_uuid)
    assert list(first.values) == list(again.values) == [*base.values, "outputQuality"]
    shipped = base.model
    try:
        # a description that no longer declares providerSettings.alibaba.promptExtend: the task's
        # providerSettings is then one value of its own, as Request.from_task would keep it
        register_model(dataclasses.replace(shipped, parameters={k: v for k, v in shipped.parameters.items()
                                                                 if not v.path.startswith("providerSettings.")}))
        rebuilt = base.replace(outputQuality=30)
        assert rebuilt.spelled_at("providerSettings") and not rebuilt.spelled_at("providerSettings.alibaba.promptExtend")
    finally:
        register_model(shipped)
    assert base.replace(outputQuality=30).spelled_at("providerSettings.alibaba.promptExtend")


def test_a_changed_request_is_a_new_task() -> None:
    """Runware answers a taskUUID once: a changed request under the old UUID would be refused
    (conflictTaskUUID) or, worse, answered with the first request's images."""
    r = Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536")
    for changed in (r.replace(prompt="Another poster"), r.replace(size="1536x1024"), r.replace(promptExtend=False),
                    r.replace(model="alibaba:qwen-image@2.0"), r.replace(negativePrompt="blurry"),
                    r.replace(width=None, height=None)):
        assert changed.task_uuid != r.task_uuid and uuid.UUID(changed.task_uuid).version == 4
    # nothing changed: the same task, the same UUID
    assert r.replace().task_uuid == r.task_uuid and r.replace(size="1024x1536").task_uuid == r.task_uuid
    assert r.replace(negativePrompt=None).task_uuid == r.task_uuid  # removing what is not there changes nothing
    # an explicit taskUUID still wins, with or without other changes
    mine = str(uuid.uuid4())
    assert r.replace(taskUUID=mine).task_uuid == mine
    assert r.replace(prompt="Another poster", taskUUID=mine).task_uuid == mine
    assert r.renew().task_uuid != r.task_uuid and r.renew().to_task().keys() == r.to_task().keys()
    pasted = Request.from_json(example_requests()[0])
    assert pasted.replace(positivePrompt="Edit: new headline 'X'").task_uuid != pasted.task_uuid


def test_value_object_semantics() -> None:
    r = Request(prompt="hello", taskUUID=str(uuid.uuid4()))
    same = Request.from_task(r.to_task())
    assert r == same and hash(r) == hash(same)
    values = r.values
    values["positivePrompt"] = "mutated"
    assert r.prompt == "hello"


def test_pasted_json_errors_are_clear() -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        Request.from_json("{not json")
    with pytest.raises(ValidationError, match="holds 2 tasks"):
        Request.from_json([example_requests()[1], example_requests()[2]])
    with pytest.raises(ValidationError, match="size"):
        Request(prompt="hi", size="big")


def test_parse_size() -> None:
    assert parse_size("1024x1536") == (1024, 1536)
    assert parse_size(" 512 X 768 ") == (512, 768)
    assert parse_size((256, 256)) == (256, 256)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("1024")


def test_with_task_uuid_keeps_a_valid_request_valid_without_checking_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep checks each cell when it plans and again when it sends under the log's taskUUID:
    the second check is the first one's answer, unless the new taskUUID (or the model's
    description) could change it."""
    import qwenlab.core.request as request_module
    from qwenlab.core.model import register_model

    req = Request(prompt="LUMIERE poster", size="1024x1024", promptExtend=False)
    assert req.problems() == []
    uuid4 = str(uuid.uuid4())
    sent = req.with_task_uuid(uuid4)
    assert sent.task_uuid == uuid4 and sent.to_task() == {**req.to_task(), "taskUUID": uuid4}
    assert sent == req.replace(taskUUID=uuid4)

    calls = []
    monkeypatch.setattr(request_module, "validate_task", lambda *a, **k: calls.append(a) or [])
    assert sent.validate() is sent and calls == []  # known valid: not checked again
    with pytest.raises(ValidationError, match="taskUUID"):
        monkeypatch.undo()
        req.with_task_uuid("not-a-uuid").validate()  # a taskUUID that is no UUID v4 is checked, and refused

    monkeypatch.setattr(request_module, "validate_task", lambda *a, **k: calls.append(a) or [])
    register_model(req.model)  # the description replaced: what was found valid is checked again
    sent.validate()
    assert len(calls) == 1


def test_a_request_found_invalid_is_never_taken_for_valid() -> None:
    req = Request(prompt="x" * 10, size="1024x1024", negativePrompt="n" * 501)
    assert req.problems()
    with pytest.raises(ValidationError, match="negativePrompt"):
        req.with_task_uuid(str(uuid.uuid4())).validate()
    with pytest.raises(ValidationError, match="negativePrompt"):
        req.validate()


def test_a_parameter_given_twice_under_two_names_is_refused_not_half_sent() -> None:
    # referenceImages=[b] beside inputs={"referenceImages": [a]} kept b alone, without a word
    a, b = "0b7c2a44-5f2e-4a57-9a43-3c4d8d2f1e10", "1b7c2a44-5f2e-4a57-9a43-3c4d8d2f1e10"
    with pytest.raises(ValidationError, match=r"inputs\.referenceImages: is given twice, as inputs= and as referenceImages="):
        Request(prompt="Edit the billboard", inputs={"referenceImages": [a]}, referenceImages=[b])
    with pytest.raises(ValidationError, match="providerSettings.alibaba.promptExtend: is given twice"):
        Request(prompt="A poster", providerSettings={"alibaba": {"promptExtend": True}}, promptExtend=False)
    same = Request(prompt="Edit the billboard", inputs={"referenceImages": [a]}, referenceImages=[a])
    assert same.to_task()["inputs"] == {"referenceImages": [a]}  # the same value twice is no conflict


def test_an_empty_model_is_named_as_empty_with_the_fix() -> None:
    """Request(model="") said "model: is required", though a model was given (as ""); Request(model=None)
    asked for a model named "None". None is the default, as any keyword set to None is left out."""
    problems = Request(model="", prompt="A poster").problems()
    assert [p.parameter for p in problems] == ["model"]
    assert problems[0].message.startswith("is empty; give a model's AIR id such as 'alibaba:qwen-image@2.0-pro'")
    assert Request(model=None, prompt="A poster").validate().model_id == "alibaba:qwen-image@2.0-pro"
    # on the wire (what the emulator answers) the fix is the id: there is no default to leave it out for
    wire = validate_task({"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "", "positivePrompt": "A poster"})
    assert [(p.parameter, p.code) for p in wire] == [("model", "invalidModel")] and "leave" not in wire[0].message
    missing = validate_task({"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "positivePrompt": "A poster"})
    assert [(p.parameter, p.code) for p in missing] == [("model", "missingParameter")]


@pytest.mark.parametrize("blank", ["\u200b\u200b", " \u200c\u200d ", "\u2060\ufeff\n\t", "\ufeff" * 3, "\u3000\u200b"])
def test_a_prompt_of_spaces_and_zero_width_characters_is_refused_as_empty(blank: str) -> None:
    """A prompt of zero-width characters (copied from a web page or Word) was sent: it is at least
    2 characters, and str.strip() keeps them, so "only spaces" never saw it. Sent, it may be
    charged for an image of nothing; positive or negative, it is refused as empty text."""
    for kwargs, parameter in (({"prompt": blank}, "positivePrompt"), ({"prompt": "A poster", "negativePrompt": blank}, "negativePrompt")):
        problems = Request(**kwargs).problems()
        assert [(p.parameter, p.code) for p in problems] == [(parameter, "invalidLength")], kwargs
        assert " is empty: only spaces" in problems[0].message and "characters of text" in problems[0].message
        hidden = sorted({f"U+{ord(c):04X}" for c in blank if c in "\u200b\u200c\u200d\u2060\ufeff"})
        assert f"zero-width characters ({', '.join(hidden)})" in problems[0].message
    assert "leave it out" in Request(prompt="A poster", negativePrompt=blank).problems()[0].message
    assert "leave it out" not in Request(prompt=blank).problems()[0].message  # a prompt is required


def test_zero_width_characters_beside_text_are_counted_as_the_page_counts_characters() -> None:
    """The page's limits (positivePrompt 2 to 2000, negativePrompt 2 to 500) count every
    character sent, zero-width ones included: text beside them is text, and they count."""
    assert Request(prompt="A\u200b").problems() == []
    assert Request(prompt="\ufeffA poster").problems() == []
    assert Request(prompt="x" * 1999 + "\u200b").problems() == []
    assert "2001 characters" in _problems(prompt="x" * 2000 + "\u200b")["positivePrompt"]
    assert "501 characters" in _problems(prompt="ok", negativePrompt="\u200b" + "x" * 500)["negativePrompt"]


@pytest.mark.parametrize("prompt, shown, at", [
    ("A poster that reads 'NOIR'\x1b[0m", "\\x1b (ESC", 26),  # a terminal's colour code, pasted
    ("A poster\x00", "\\x00 (NUL)", 8),
    ("\x07A poster", "\\x07 (BEL)", 0),
    ("A poster\x1f", "\\x1f", 8),
    ("A poster\x7f", "\\x7f (DEL)", 8),
    # UTF-8 read as Latin-1: the curly apostrophe of "Kid’s" comes as "â\x80\x99"
    ("Kid\u00e2\x80\x99s Corner", "\\x80 (a C1 control: the text was likely decoded with the wrong encoding", 4),
])
def test_a_prompt_holding_a_control_character_is_refused_naming_it_and_where(prompt: str, shown: str, at: int) -> None:
    """A NUL or a terminal's escape code in a prompt was sent as it was."""
    for kwargs, parameter in (({"prompt": prompt}, "positivePrompt"), ({"prompt": "ok", "negativePrompt": prompt}, "negativePrompt")):
        problems = Request(**kwargs).problems()
        assert [p.parameter for p in problems] == [parameter]
        message = problems[0].message
        assert f"holds the control character {shown}" in message and f"at index {at} " in message
        assert "remove it: tab, newline and carriage return are the only control characters" in message
    assert "2 such characters in all" in _problems(prompt="\x1b[1mA poster\x1b[0m")["positivePrompt"]


def test_tabs_newlines_and_carriage_returns_stay_allowed_in_a_prompt() -> None:
    assert Request(prompt="A poster\r\nthat reads:\t'NOIR'\n", negativePrompt="blurry\ttext\r\n").problems() == []


def test_a_problem_names_the_keyword_the_user_wrote_and_the_parameter_it_is_sent_as() -> None:
    """Request(prompt="x", size="100x100") was refused as "positivePrompt: ..." and "width: ...",
    names the user never wrote. A problem now says "prompt (sent as positivePrompt)"; `.parameter`
    (and the wire's errors) keep the API's name."""
    with pytest.raises(ValidationError) as info:
        Request(prompt="x", size="100x1024", promptExtend=1).validate()
    lines = str(info.value).splitlines()[1:]
    assert lines == ["  - prompt (sent as positivePrompt): has 1 characters; it must have 2 to 2000",
                     "  - promptExtend (sent as providerSettings.alibaba.promptExtend): must be true or false, got 1",
                     "  - size (sent as width): 100 px is out of range; each side must be 256 to 2048 px"]
    assert info.value.parameters == ["positivePrompt", "providerSettings.alibaba.promptExtend", "width"]
    assert [p.to_wire()["parameter"] for p in info.value.problems] == info.value.parameters
    assert str(Request(prompt="ok", negative_prompt="x").problems()[0]).startswith("negative_prompt (sent as negativePrompt): ")
    # the API's own names, or a pasted task, are named as they are
    assert str(Request(positivePrompt="x").problems()[0]).startswith("positivePrompt: has 1 characters")
    assert str(Request(prompt="ok", width=100, height=1024).problems()[0]).startswith("width: 100 px")
    pasted = Request.from_json({"taskType": "imageInference", "model": "alibaba:qwen-image@2.0-pro", "positivePrompt": "x"})
    assert str(pasted.problems()[0]).startswith("positivePrompt: ")
    # kept through a change, and set by the keyword of the change
    changed = Request(prompt="A poster").replace(size="100x1024", positivePrompt="x")
    assert [str(p).split(":")[0] for p in changed.problems()] == ["prompt (sent as positivePrompt)", "size (sent as width)"]


def test_a_value_cut_short_in_a_repr_or_a_message_still_closes_as_it_opened() -> None:
    """The page's first example, pasted, shows as one Request whose cut values read as values: its
    prompt (in double quotes, as it holds an apostrophe) ended in a single quote, and its list of
    reference images lost its closing bracket."""
    pasted = (Path(__file__).resolve().parents[1] / "data" / "seed-page.txt").read_text().split("```json\n")[1].split("```")[0]
    shown = repr(Request.from_json(pasted))
    assert re.search(r"referenceImages=\['https://[^'\]]*\.\.\.\], ", shown), shown
    assert re.search(r'positivePrompt="[^"]*\.\.\.", ', shown), shown
    with pytest.raises(ValidationError) as refused:
        Request(prompt="A poster", negativePrompt=["blurry"] * 30).validate()
    assert re.search(r"got list \['blurry', [^\]]*\.\.\.\]$", str(refused.value)), str(refused.value)
