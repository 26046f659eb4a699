"""The emulator against the model page's own words (shared/seed/000_234d0ef179007147.txt, cited
by line as "page L<n>"), over raw HTTP: what the page states, the emulator must do, so that a
sweep that works here works against Runware, and one Runware refuses is refused here first."""

from __future__ import annotations

import pytest

from tests.support.wire import http_client, task


@pytest.fixture
def http():
    yield from http_client()


# page L132-L135: "safety ... Type: object (2 properties)"; L185: inputs "must be nested inside the
# `inputs` object"; L264: promptExtend "must be nested inside the `providerSettings.alibaba` object"
@pytest.mark.parametrize("params, parameter, holds", [
    ({"safety": True}, "safety", "safety.checkContent"),
    ({"inputs": "https://example.com/a.jpg"}, "inputs", "inputs.referenceImages"),
    ({"providerSettings": {"alibaba": False}}, "providerSettings.alibaba", "providerSettings.alibaba.promptExtend"),
    ({"providerSettings": []}, "providerSettings", "providerSettings.alibaba.promptExtend"),
], ids=["safety", "inputs", "alibaba", "providerSettings"])
def test_an_object_of_the_page_given_as_something_else_is_named_as_the_object_it_must_be(emulator, http, params,
                                                                                         parameter, holds):
    response = http.post(emulator.url, json=[task(**params)])
    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert item["parameter"] == parameter and item["code"] == "invalidParameter"
    assert "must be an object" in item["message"] and holds in item["message"]
    assert "is not a parameter" not in item["message"]
    assert len(emulator.ledger) == 0


# page L30-L272: every parameter's "### [name](...#request-...)" heading is an anchor of the page
def test_every_documentation_link_is_an_anchor_of_the_page() -> None:
    from pathlib import Path

    from qwenlab.core.model import DEFAULT_MODEL, get_model
    from qwenlab.emulator.wire import doc_link

    page = (Path(__file__).resolve().parents[1] / "data" / "seed-page.txt").read_text(encoding="utf-8")
    for spec in get_model(DEFAULT_MODEL).parameters.values():
        for path in spec.paths:  # referenceImages at the top level (page L350) too
            link = doc_link(path, DEFAULT_MODEL)
            assert f"({link})" in page, (path, link)


# page L187-L192: referenceImages is documented at inputs.referenceImages; its first example
# (L350) writes it at the top level
@pytest.mark.parametrize("value", [["not an image"], "https://example.com/a.jpg"], ids=["item", "not-a-list"])
def test_a_top_level_reference_problem_names_the_key_as_written(emulator, http, value):
    from qwenlab.core.request import Request

    sent = task(referenceImages=value)
    (problem,) = Request.from_json(sent).problems()
    assert problem.parameter == "referenceImages"
    response = http.post(emulator.url, json=[sent])
    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert item["parameter"] == "referenceImages" and item["message"].startswith("referenceImages: ")
    assert item["documentation"].endswith("#request-inputs-referenceimages")
    assert len(emulator.ledger) == 0
