"""Model descriptions: the shipped ones match the seed page; users can add their own."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from qwenlab.core.model import ModelDescription, get_model, list_models, register_model
from qwenlab.errors import ModelDescriptionError, ModelNotFoundError
from tests.support.seed_examples import seed_page_text

PRO = "alibaba:qwen-image@2.0-pro"


def _page_parameters() -> dict[str, dict[str, str]]:
    """Every request parameter on the seed page, keyed by its wire path, with its bullet facts."""
    text = seed_page_text().split("## Response Parameters")[0]
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n### ", text)[1:]:
        name = block.split("]")[0].lstrip("[")
        facts = dict(re.findall(r"- \*\*(\w[\w ]*)\*\*: `?([^`\n]*)`?", block))
        allowed = re.findall(r"^- `([^`]+)`", block, re.M) or re.findall(r"`([^`]+)`", block.split("**Allowed values**:")[1].split("\n\n")[0]) if "**Allowed values**" in block else []
        facts["allowed"] = ",".join(allowed)
        path = facts.get("Path", name)
        if path == "safety.checkContent" and name == "safety":  # the object heading, not a parameter
            continue
        out[path] = facts
    for sub in re.split(r"\n#### ", text)[1:]:
        sub = sub.split("\n### ")[0]  # a subsection ends where the next parameter begins
        name = sub.split("]")[0].lstrip("[")
        facts = dict(re.findall(r"- \*\*(\w[\w ]*)\*\*: `?([^`\n]*)`?", sub))
        allowed = re.findall(r"^- `([^`]+)`", sub, re.M)
        facts["allowed"] = ",".join(allowed)
        out[facts.get("Path", name)] = facts
    return out


def test_pro_declares_exactly_the_pages_parameters() -> None:
    page = _page_parameters()
    desc = get_model(PRO)
    assert {spec.path for spec in desc.parameters.values()} == set(page)


@pytest.mark.parametrize("path", sorted(_page_parameters()))
def test_each_parameter_matches_the_page(path: str) -> None:
    facts = _page_parameters()[path]
    spec = get_model(PRO).spec_at(path)
    assert spec is not None
    kind = facts["Type"]
    expected_type = {"string": "string", "integer": "integer", "boolean": "boolean", "array of strings": "array"}[kind]
    assert spec.type == expected_type
    if "Default" in facts:
        default = {"true": True, "false": False}.get(facts["Default"], facts["Default"])
        if spec.type == "integer":
            default = int(default)
        assert spec.default == default
    if "Min" in facts:
        bound = spec.min if spec.type == "integer" else spec.min_length
        assert bound == int(facts["Min"])
    if "Max" in facts:
        bound = spec.max if spec.type == "integer" else spec.max_length
        assert bound == int(facts["Max"])
    if "Value" in facts:
        assert spec.value == facts["Value"]
    if facts.get("Required") == "true":
        assert spec.required
    if facts.get("Format") == "UUID v4":
        assert spec.format == "uuid4"
    if facts.get("Format") == "URI":
        assert spec.format == "uri"
    if facts["allowed"]:
        assert list(spec.allowed or ()) == facts["allowed"].split(",")


def test_rules_and_price_from_the_page() -> None:
    desc = get_model(PRO)
    kinds = {(r.kind, r.parameters) for r in desc.rules}
    assert ("exclusive", ("inputs.referenceImages", "negativePrompt")) in kinds
    assert ("together", ("width", "height")) in kinds
    assert desc.price == 0.075
    assert not desc.accepts_seed


def test_standard_model_same_parameters_cheaper() -> None:
    pro, std = get_model(PRO), get_model("alibaba:qwen-image@2.0")
    assert {s.path for s in pro.parameters.values()} == {s.path for s in std.parameters.values()}
    assert std.price == 0.035
    assert std.spec("model").value == "alibaba:qwen-image@2.0"


def _custom(model_id: str = "acme:test@1", price: float = 0.01) -> dict:
    return {
        "id": model_id,
        "prices": [{"since": "2026-01-01", "usd_per_image": price}, {"since": "2026-06-01", "usd_per_image": price * 2}],
        "parameters": {
            "taskType": {"type": "string", "required": True, "value": "imageInference"},
            "taskUUID": {"type": "string", "required": True, "format": "uuid4"},
            "model": {"type": "string", "required": True, "value": model_id},
            "positivePrompt": {"type": "string", "required": True, "min_length": 1, "max_length": 100},
            "seed": {"type": "integer", "min": 0, "max": 2**31 - 1},
        },
    }


def test_dated_prices_pick_the_price_of_the_day() -> None:
    desc = ModelDescription.from_dict(_custom())
    assert desc.price_on("2026-03-01") == 0.01
    assert desc.price_on(dt.date(2026, 7, 1)) == 0.02
    assert desc.accepts_seed


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-14"])  # at any hour, one of them is on another date than UTC
def test_todays_price_is_the_price_of_the_utc_day_as_the_log_dates_requests(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local date picked the price: on a machine 12 hours off UTC, a price change dated today
    was applied a day early or late, while the log dates each request by UTC."""
    import time

    today = dt.datetime.now(dt.timezone.utc).date()
    raw = _custom()
    raw["prices"] = [{"since": str(today - dt.timedelta(days=1)), "usd_per_image": 0.01},
                     {"since": str(today), "usd_per_image": 0.02},
                     {"since": str(today + dt.timedelta(days=1)), "usd_per_image": 0.03}]
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        desc = ModelDescription.from_dict(raw)
        assert desc.price_on() == 0.02
        aware = dt.datetime.combine(today, dt.time(12), dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=-12)))
        assert desc.price_on(aware) == 0.02  # 00:00 on the day before, there: noon of today in UTC
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("price", [0, 0.0, -0.01, float("nan"), float("inf"), "0.02", True])
def test_a_price_that_would_switch_the_budget_off_is_refused(price: object) -> None:
    """A model described at $0 an image ran $0.60 of charges past a $0.10 budget: each cell
    reserved its price, 0, and the charges the API reported were never learned, being a multiple
    of 0. The description is refused when it is read, before any sweep uses it."""
    raw = _custom("acme:free@1")
    raw["prices"] = [{"since": "2026-01-01", "usd_per_image": price}]
    with pytest.raises(ModelDescriptionError, match="usd_per_image must be a number of US dollars above 0"):
        ModelDescription.from_dict(raw)


def test_user_adds_a_model_by_dropping_a_toml_file(data_dir: Path) -> None:
    folder = data_dir / "models"
    folder.mkdir()
    (folder / "acme.toml").write_text(
        'id = "acme:file@1"\n[[prices]]\nsince = "2026-01-01"\nusd_per_image = 0.02\n'
        '[parameters.taskType]\ntype = "string"\nrequired = true\nvalue = "imageInference"\n'
        '[parameters.taskUUID]\ntype = "string"\nrequired = true\nformat = "uuid4"\n'
        '[parameters.model]\ntype = "string"\nrequired = true\nvalue = "acme:file@1"\n'
        '[parameters.positivePrompt]\ntype = "string"\nrequired = true\nmin_length = 2\n'
    )
    assert get_model("acme:file@1").price == 0.02
    assert "acme:file@1" in {m.id for m in list_models()}


def test_register_model_from_dict() -> None:
    desc = register_model(_custom("acme:dict@1"))
    assert get_model("acme:dict@1") is desc


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ModelNotFoundError) as err:
        get_model("alibaba:qwen-image@9")
    assert PRO in str(err.value) and "register_model" in str(err.value)


@pytest.mark.parametrize(
    "broken, fragment",
    [
        ({"parameters": {}}, "missing required key 'id'"),
        ({**_custom(), "prices": []}, "prices"),
        ({**_custom(), "parameters": {**_custom()["parameters"], "x": {"type": "blob"}}}, "needs type"),
        ({**_custom(), "parameters": {**_custom()["parameters"], "x": {"type": "string", "colour": 1}}}, "unknown keys"),
        ({**_custom(), "rules": [{"kind": "exclusive", "parameters": ["seed", "nope"]}]}, "undeclared"),
        ({**_custom(), "size": {"max_pixels": 4}}, r"\[size\] has a key qwenlab does not know .*confirmed_max_area"),
    ],
)
def test_malformed_descriptions_say_what_is_wrong(broken: dict, fragment: str) -> None:
    with pytest.raises(ModelDescriptionError, match=fragment):
        ModelDescription.from_dict(broken)


@pytest.mark.parametrize("size, why", [
    ((1024, 1024), None), ((512, 512), None), ((2048, 1024), None), ((1448, 1448), None), ((256, 2048), None),
    ((2048, 1025), "2,099,200 px, above 2,097,152"), ((1536, 1536), "2,359,296 px, above 2,097,152"),
    ((2048, 2048), "4,194,304 px, above 2,097,152"), ((512, 511), "261,632 px, below 262,144"),
    ((256, 256), "65,536 px, below 262,144"),
])
def test_sizes_the_sources_disagree_on_are_accepted_but_unconfirmed(size: tuple[int, int], why: str | None) -> None:
    """Runware publishes no size bounds and third parties disagree (shared/runware-api.md): the
    loosest bounds are enforced, and a size outside what every source allows is flagged."""
    from qwenlab.core.request import Request

    bounds = get_model(PRO).size
    assert bounds.unconfirmed(*size) == why
    assert Request(prompt="a poster", size=f"{size[0]}x{size[1]}").problems() == []  # accepted all the same


def test_the_unconfirmed_note_names_each_size_once_and_the_sources() -> None:
    bounds = get_model(PRO).size
    assert bounds.unconfirmed_note([(1024, 1024), (1024, 1536)]) is None
    one = bounds.unconfirmed_note([(1536, 1536), (1024, 1024), (1536, 1536)])
    assert one is not None and one.startswith("size 1536x1536 (2,359,296 px, above 2,097,152) is unconfirmed")
    assert "a Runware user" in one and "Runware may refuse it, which costs nothing" in one and one.count("1536x1536") == 1
    two = bounds.unconfirmed_note([(256, 256), (2048, 2048)])
    assert two is not None and two.startswith("sizes 256x256 (65,536 px, below 262,144), 2048x2048 (")
    assert "may refuse them" in two
