"""Property-based: for generated request parameters, valid and invalid, the client's validation
(`Request.problems()`) and the emulator's answer over real loopback HTTP agree on every case: the
same verdict, the same parameters named; every rejection names its parameter; and a request the
client finds invalid is never sent.

Values are drawn per parameter from the model description itself (qwenlab/core/models/*.toml): left
out, valid, or invalid in the ways a hand-written request goes wrong (wrong type, out of range,
not allowed, too long, malformed UUID or URI), plus undeclared keys, broken nesting, both spellings
of referenceImages, and the model's two compatibility rules.

Two checks only a server can make are left out of the generated cases: whether an imageUUID was
uploaded, and whether a reference's bytes decode as an image (the client checks their form). A
task of unknown taskType is refused by the server on its type alone; the client names it too.
"""

from __future__ import annotations

import base64
import io
import os
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from qwenlab.api.client import RunwareClient
from qwenlab.core.model import DEFAULT_MODEL, ParameterSpec, get_model
from qwenlab.core.request import UUID4, Request
from qwenlab.emulator import Emulator
from qwenlab.errors import ValidationError

KEY = "sk-properties-test"
# 150 in CI (a few seconds); QWENLAB_PROPERTY_EXAMPLES=3000 for a deeper search
MAX_EXAMPLES = int(os.environ.get("QWENLAB_PROPERTY_EXAMPLES", "150"))
DESC = get_model(DEFAULT_MODEL)
SPECS = {spec.path: spec for spec in DESC.parameters.values()}


def _png_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (30, 120, 200)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


PNG_B64 = _png_b64()
# references the emulator can use without an upload (a URL beyond loopback is never fetched:
# it draws a placeholder for it)
VALID_REFS = [f"data:image/png;base64,{PNG_B64}", PNG_B64, "https://example.com/street.jpg"]
BAD_REFS = ["not an image", "", 5, None, "ftp://example.com/x.jpg", "data:image/png,rawbytes", ["nested"]]
UNDECLARED = ["seed", "steps", "CFGScale", "scheduler", "strength", "positive_prompt", "promptExtend", "lora"]
# small sizes and few results keep the valid cases quick to draw
FAST_LIMITS = {"numberResults": (1, 2)}
JUNK = st.sampled_from([None, True, 3, -1, 2.5, "", "x", [], {}, [1], {"a": 1}])


def valid_value(spec: ParameterSpec) -> st.SearchStrategy[Any]:
    if spec.value is not None:
        return st.just(spec.value)
    if spec.format == "uuid4":
        return st.uuids(version=4).map(str)
    if spec.allowed is not None:
        return st.sampled_from(list(spec.allowed))
    if spec.type == "string" and spec.format == "uri":
        return st.sampled_from(["https://example.com/hook", "http://hooks.example.org/a?b=c", "https://example.com/put/x.jpg"])
    if spec.type == "string":
        lo, hi = spec.min_length or 0, spec.max_length or 200
        return st.one_of(st.text(min_size=lo, max_size=min(hi, 60)), st.sampled_from(["x" * lo, "y" * hi]))
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "integer":
        lo, hi = FAST_LIMITS.get(spec.name, (int(spec.min) if spec.min is not None else 0,
                                             int(spec.max) if spec.max is not None else 10**6))
        return st.integers(lo, hi)
    if spec.type == "array":
        return st.lists(st.sampled_from(VALID_REFS), min_size=1, max_size=spec.max_items or 3)
    raise AssertionError(f"no valid values for {spec.path} ({spec.type})")


def invalid_value(spec: ParameterSpec) -> st.SearchStrategy[Any]:
    if spec.value is not None:
        return st.one_of(JUNK, st.just(str(spec.value).upper() + "x"))
    if spec.format == "uuid4":
        return st.one_of(JUNK, st.sampled_from(["not-a-uuid", str(uuid.uuid1()), str(uuid.UUID(int=5)), "6750b3cf-7a7c-4739"]))
    if spec.allowed is not None:
        return st.one_of(JUNK, st.sampled_from([str(spec.allowed[0]).lower() + "?", "bogus"]))
    if spec.type == "string" and spec.format == "uri":
        return st.one_of(JUNK, st.sampled_from(["not a uri", "ftp://example.com/x", "https://", "/relative/path"]))
    if spec.type == "string":
        out = [JUNK.filter(lambda v: not isinstance(v, str))]
        if spec.min_length:
            out.append(st.text(max_size=spec.min_length - 1))
        if spec.max_length:
            out.append(st.integers(spec.max_length + 1, spec.max_length + 50).map(lambda n: "z" * n))
        return st.one_of(*out)
    if spec.type == "boolean":
        return st.one_of(JUNK.filter(lambda v: not isinstance(v, bool)), st.sampled_from(["true", "false", 1, 0]))
    if spec.type == "integer":
        out = [st.sampled_from([2.5, "5", True, None, [3]])]
        if spec.min is not None:
            out.append(st.integers(int(spec.min) - 1000, int(spec.min) - 1))
        if spec.max is not None:
            out.append(st.integers(int(spec.max) + 1, int(spec.max) + 1000))
        return st.one_of(*out)
    if spec.type == "array":
        return st.one_of(st.sampled_from(["a string", 5, None, {}, []]),
                         st.lists(st.sampled_from(VALID_REFS), min_size=(spec.max_items or 3) + 1, max_size=6),
                         st.lists(st.sampled_from(BAD_REFS), min_size=1, max_size=3))
    raise AssertionError(f"no invalid values for {spec.path} ({spec.type})")


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = task
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return task


BREAKABLE = [*SPECS, "size", "undeclared key", "both spellings of referenceImages", "broken nesting"]


@st.composite
def tasks(draw: st.DrawFn) -> dict[str, Any]:
    """One task as a user might write it (nested, as on the wire): parameters left out or valid,
    then none, one or a few things broken."""
    broken = set(draw(st.lists(st.sampled_from(BREAKABLE), max_size=4, unique=True)))
    flat: dict[str, Any] = {}
    for path, spec in SPECS.items():
        if path in ("width", "height"):
            continue
        if path in broken:
            if not (spec.required and draw(st.booleans())):  # a required parameter is broken by leaving it out
                flat[path] = draw(invalid_value(spec))
        elif spec.required or draw(st.integers(0, 2)) == 0:
            flat[path] = draw(valid_value(spec))
    if "size" in broken:
        kind = draw(st.sampled_from(["one side", "out of range", "wrong type"]))
        if kind == "one side":
            flat[draw(st.sampled_from(["width", "height"]))] = draw(st.integers(256, 320))
        elif kind == "out of range":
            flat["width"], flat["height"] = draw(st.sampled_from([(255, 256), (256, 2049), (0, 300), (-5, 9000), (4096, 4096)]))
        else:
            flat["width"], flat["height"] = draw(st.sampled_from([("256", 256), (256.5, 300), (True, 300), (None, 256)]))
    elif draw(st.booleans()):
        flat["width"], flat["height"] = draw(st.integers(256, 320)), draw(st.integers(256, 320))
    task = _nest(flat)
    if "undeclared key" in broken:
        task[draw(st.sampled_from(UNDECLARED))] = draw(st.integers(0, 99))
    if "both spellings of referenceImages" in broken:
        task["referenceImages"] = [VALID_REFS[0]]
        task.setdefault("inputs", {})["referenceImages"] = [VALID_REFS[2]]
    elif "inputs" not in task and draw(st.integers(0, 5)) == 0:  # the seed page's own (valid) spelling
        task["referenceImages"] = draw(valid_value(SPECS["inputs.referenceImages"]))
    if "broken nesting" in broken:
        key, value = draw(st.sampled_from([("providerSettings", {"alibaba": "on"}), ("providerSettings", {"google": {"x": 1}}),
                                            ("safety", {"checkContent": True, "level": "high"}), ("inputs", {"mask": "x"})]))
        task[key] = value
    return task


@pytest.fixture(scope="module")
def emu():
    with Emulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def http():
    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def client(emu: Emulator, tmp_path_factory: pytest.TempPathFactory):
    with RunwareClient(KEY, emu.url, images_dir=tmp_path_factory.mktemp("images"), max_retries=0) as c:
        yield c


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=tasks())
def test_client_and_emulator_agree_on_every_request(emu: Emulator, http: httpx.Client, client: RunwareClient,
                                                    task: dict[str, Any]) -> None:
    if isinstance(task.get("taskUUID"), str) and UUID4.match(task["taskUUID"]):
        task["taskUUID"] = str(uuid.uuid4())  # a valid taskUUID is new for every task (a reused one conflicts)
    request = Request.from_task(task)
    problems = request.problems()
    named = {p.parameter for p in problems}
    event("valid" if not problems else f"{len(problems)} problem(s)")
    for p in problems:  # every rejection names its parameter, and says what is wrong with it
        assert p.parameter and p.message and str(p).startswith(f"{p.parameter}: ")

    wire = request.to_task()  # exactly what the client would send, sent here without its checks
    answer = http.post(emu.url, json=[wire], headers={"Authorization": f"Bearer {KEY}"})
    body = answer.json()
    errors = body.get("errors", [])
    if not problems:
        assert answer.status_code == 200 and not errors, (wire, errors)
        assert [d["taskUUID"] for d in body["data"]][:1] == [request.task_uuid]
    else:
        assert answer.status_code == 400 and "data" not in body, (wire, named, body)
        server_named = {e.get("parameter") for e in errors}
        if "taskType" in named:  # a task of unknown type is refused on its type alone: its schema is unknown
            assert server_named == {"taskType"}, (wire, named, errors)
        else:
            assert server_named == named, (wire, named, errors)
        assert all(e["parameter"] in e["message"] for e in errors)

        # the client refuses it with the same names, and sends nothing
        before = len(emu.requests)
        with pytest.raises(ValidationError) as info:
            client.generate(request)
        assert set(info.value.parameters) == named
        assert all(name in str(info.value) for name in named)
        assert len(emu.requests) == before
