"""APIError keeps everything an error item of Runware carries: `parameter` as a string or a list
(Runware's CLI types allow both), and extra fields such as `type` and `allowedValues`."""

from __future__ import annotations

from qwenlab.api.error_answers import api_error_from
from qwenlab.errors import APIError, BadRequestError
from qwenlab.secrets import register_secret


def test_a_list_of_parameters_is_kept_and_every_name_shown() -> None:
    item = {"code": "incompatibleParameters", "message": "these parameters cannot be used together",
            "parameter": ["inputs.referenceImages", "negativePrompt"], "taskType": "imageInference",
            "taskUUID": "6750b3cf-7a7c-4739-b336-48a759010692"}
    exc = api_error_from(400, item)
    assert isinstance(exc, BadRequestError)
    assert exc.parameters == ["inputs.referenceImages", "negativePrompt"]
    assert exc.parameter == "inputs.referenceImages, negativePrompt"
    assert "inputs.referenceImages" in str(exc) and "negativePrompt" in str(exc)
    assert exc.item == item and exc.item is not item


def test_a_single_parameter_stays_a_string() -> None:
    exc = api_error_from(400, {"code": "invalidPositivePrompt", "message": "too short", "parameter": "positivePrompt"})
    assert exc.parameter == "positivePrompt" and exc.parameters == ["positivePrompt"]
    assert api_error_from(500, {"message": "boom"}).parameters == [] and api_error_from(500, {}).parameter is None


def test_extra_fields_are_kept_and_allowed_values_shown() -> None:
    item = {"code": "invalidEnum", "message": "outputFormat is not allowed", "parameter": "outputFormat",
            "type": "string", "allowedValues": ["JPG", "PNG", "WEBP"], "documentation": "https://runware.ai/docs",
            "newField": {"x": 1}}
    exc = api_error_from(400, item)
    assert exc.details == {"type": "string", "allowedValues": ["JPG", "PNG", "WEBP"],
                           "documentation": "https://runware.ai/docs", "newField": {"x": 1}}
    assert "allowed: JPG, PNG, WEBP" in str(exc)


def test_odd_parameter_values_never_break_the_error() -> None:
    for odd in (["a", 3, None], 7, {"x": 1}, [], ""):
        exc = api_error_from(400, {"code": "x", "message": "m", "parameter": odd})
        assert isinstance(exc, APIError) and all(isinstance(p, str) and p for p in exc.parameters)


def test_the_key_is_redacted_from_every_kept_field() -> None:
    key = "sk-errors-test-0123456789"
    register_secret(key)
    exc = api_error_from(400, {"code": "x", "message": f"bad key {key}", "parameter": [f"p-{key}"],
                               "allowedValues": [key], "type": key})
    shown = " ".join([str(exc), repr(exc.details), repr(exc.item), repr(exc.parameters), str(exc.parameter)])
    assert key not in shown


def test_a_code_that_is_not_a_string_is_still_shown() -> None:
    assert "(HTTP 400, 17)" in str(api_error_from(400, {"code": 17, "message": "odd"}))
