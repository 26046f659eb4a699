"""Every field the API returns is kept: the fields of a result item (and of the answer's body)
that qwenlab does not model land in `GeneratedImage.api_extra` and the log's `images.api_extra`
(a JSON object, NULL when there are none), redacted like every row.

Answers are shaped as the model page and Runware's SDKs show them (tests/api/fixtures/), plus
fields no source documents (`revisedPrompt`, `warnings`): assumed, to show that an unknown field
is kept, not that Runware sends it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.core.request import Request
from qwenlab.emulator import Emulator
from tests.api.test_fixtures import KEY, Scripted, load
from tests.support.labkit import LoopbackServer

REVISED = "A premium beauty poster, soft studio light, the headline 'LUMIERE' in gold serif letters"


def generate(fixture: dict[str, Any], tmp_path: Path) -> Any:
    client = RunwareClient(KEY, transport=httpx.MockTransport(Scripted(fixture)), images_dir=tmp_path / "images",
                           sleep=lambda s: None)
    try:
        return client.generate(Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536",
                                       **fixture.get("request", {})))
    finally:
        client.close()


def with_extra(name: str, item_fields: dict[str, Any], body_fields: dict[str, Any]) -> dict[str, Any]:
    """A fixture with fields added to every finished item and to the body of every step."""
    fixture = copy.deepcopy(load(name))
    for step in fixture["steps"]:
        step["body"].update(body_fields)
        for item in step["body"].get("data", []):
            if item.get("imageURL"):
                item.update(item_fields)
    return fixture


def test_the_seed_pages_answer_has_nothing_extra(tmp_path: Path) -> None:
    result = generate(load("sync_success_seed_example.json"), tmp_path)
    assert result.ok and result.images[0].api_extra == {}


def test_an_unknown_item_field_and_body_field_are_kept(tmp_path: Path) -> None:
    fixture = with_extra("sync_success_seed_example.json", {"revisedPrompt": REVISED, "safety": {"score": 0.01}},
                         {"warnings": ["promptExtend rewrote the prompt"]})
    img = generate(fixture, tmp_path).images[0]
    assert img.api_extra == {"revisedPrompt": REVISED, "safety": {"score": 0.01},
                             "_answer": {"warnings": ["promptExtend rewrote the prompt"]}}
    assert img.seed == 1196265337 and img.cost == 0.075  # the modelled fields are read as before
    assert img.raw["revisedPrompt"] == REVISED  # raw keeps the item whole


def test_polling_fields_are_modelled_not_extra(tmp_path: Path) -> None:
    fixture = with_extra("async_placeholder_then_processing_status.json", {"revisedPrompt": REVISED}, {})
    result = generate(fixture, tmp_path)
    assert result.ok and [i.api_extra for i in result.images] == [{"revisedPrompt": REVISED}] * 2


def test_the_key_never_reaches_api_extra(tmp_path: Path) -> None:
    fixture = with_extra("sync_success_seed_example.json", {"debug": {"echo": f"Bearer {KEY}"}}, {"auth": KEY})
    img = generate(fixture, tmp_path).images[0]
    assert KEY not in json.dumps(img.api_extra) and set(img.api_extra) == {"debug", "_answer"}


class _AddsFields:
    """A loopback proxy in front of the emulator that adds fields to its answers (item and body),
    as a Runware that sends fields qwenlab does not know would."""

    def __init__(self, emulator: Emulator) -> None:
        from http.server import BaseHTTPRequestHandler

        target = emulator.url

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = httpx.post(target, content=body, headers={"Authorization": self.headers["Authorization"],
                                                                   "Content-Type": "application/json"}, trust_env=False)
                data = answer.json()
                for item in data.get("data", []):
                    if item.get("imageURL"):
                        item["revisedPrompt"] = REVISED
                data["requestId"] = "req-1"
                out = json.dumps(data).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.loop = LoopbackServer(Handler)


@pytest.mark.parametrize("extra", [True, False])
def test_a_sweep_stores_the_extra_fields_in_the_log(emulator: Emulator, data_dir: Path, extra: bool) -> None:
    sweep = Sweep(prompt="A poster that reads 'LUMIERE'", size="256x384", axes={"promptExtend": [True, False]})
    proxy = _AddsFields(emulator)
    with proxy.loop:
        url = proxy.loop.url if extra else emulator.url
        with RunwareClient("sk-extra-test", url, images_dir=data_dir / "images", backoff_base=0.01) as client:
            exp = Lab(data_dir, client=client).run(sweep, name="kept", progress=False)
    rows = exp.log.images(exp.id)
    assert len(rows) == 2
    if extra:
        assert [json.loads(r["api_extra"]) for r in rows] == [{"revisedPrompt": REVISED, "_answer": {"requestId": "req-1"}}] * 2
        found = exp.log.rows("SELECT json_extract(api_extra, '$.revisedPrompt') AS p FROM images")
        assert {r["p"] for r in found} == {REVISED}
    else:  # the emulator sends only the documented fields
        assert [r["api_extra"] for r in rows] == [None, None]
