"""What a client talks to: `RunwareClient.backend` ("emulator" or "runware") and `.api_host`.

The emulator says so itself (`X-Qwenlab-Emulator` on every answer); qwenlab believes that marker,
never the address: an emulator on loopback behind any key is the emulator, and a server on
loopback that does not send the marker (a proxy to Runware) is not."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from qwenlab.api.client import EMULATOR_KEY, RunwareClient
from qwenlab.api.connect import connect
from qwenlab.emulator import Emulator
from tests.support.backends import WithoutEmulatorMarker, emulator_client, posts, runware_client


def test_the_embedded_emulator_is_the_emulator(data_dir: Path) -> None:
    client = connect(images_dir=data_dir / "images")
    try:
        assert client.backend == "emulator"
        assert client.api_host.startswith("127.0.0.1:")
    finally:
        client.close()


def test_an_emulator_behind_any_key_is_found_by_its_marker(emulator: Emulator, data_dir: Path) -> None:
    client = emulator_client(emulator, data_dir, key="sk-looks-real-0123456789")
    try:
        assert client.backend == "emulator"
        assert client.api_host == f"127.0.0.1:{emulator.port}"
        # asking cost no task: one GET of the base URL, without the key
        assert posts(emulator) == [] and len(emulator.ledger) == 0
        gets = [r for r in emulator.requests if r.method == "GET"]
        assert len(gets) == 1 and "authorization" not in {k.lower() for k in gets[0].headers}
        assert client.backend == "emulator"  # asked once per client
        assert len(emulator.requests) == 1
    finally:
        client.close()


def test_the_emulator_key_needs_no_question(emulator: Emulator, data_dir: Path) -> None:
    client = RunwareClient(EMULATOR_KEY, emulator.url, images_dir=data_dir / "images")
    try:
        assert client.backend == "emulator" and emulator.requests == []
    finally:
        client.close()


def test_a_loopback_server_without_the_marker_is_runware(emulator: Emulator, data_dir: Path) -> None:
    client = runware_client(emulator, data_dir)
    try:
        assert client.is_emulator  # the old guess by address says loopback...
        assert client.backend == "runware"  # ...but nothing there says it is the emulator
    finally:
        client.close()


def test_the_backend_is_learnt_from_answers_already_received(emulator: Emulator, data_dir: Path) -> None:
    from qwenlab.core.request import Request

    client = emulator_client(emulator, data_dir)
    try:
        client.generate(Request(prompt="A poster reading 'LUMIERE'", size="256x384"))
        before = len(emulator.requests)
        assert client.backend == "emulator" and len(emulator.requests) == before  # no question asked
    finally:
        client.close()


def test_runware_answering_through_a_mock_transport(data_dir: Path) -> None:
    seen: list[httpx.Request] = []

    def runware(request: httpx.Request) -> httpx.Response:  # Runware's API host: no emulator marker
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(404, json={"errors": [{"code": "notFound", "message": "Not found"}]})
        return httpx.Response(200, json={"data": [{"taskType": "ping", "pong": True}]})

    client = RunwareClient("sk-live-key-123456", "https://api.runware.ai/v1", transport=httpx.MockTransport(runware),
                           images_dir=data_dir / "images")
    try:
        assert client.backend == "runware" and client.api_host == "api.runware.ai"
        assert all("authorization" not in {k.lower() for k in r.headers} for r in seen if r.method == "GET")
    finally:
        client.close()


def test_a_remote_url_that_sends_the_marker_is_the_emulator(data_dir: Path) -> None:
    def tunnel(request: httpx.Request) -> httpx.Response:  # an emulator behind a tunnel on another host
        return httpx.Response(404, headers={"X-Qwenlab-Emulator": "synthetic"}, json={"errors": []})

    client = RunwareClient("sk-any", "https://emulator.example.org/v1", transport=httpx.MockTransport(tunnel),
                           images_dir=data_dir / "images")
    try:
        assert client.backend == "emulator" and client.api_host == "emulator.example.org"
    finally:
        client.close()


def test_an_unreachable_server_is_not_remembered(data_dir: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = RunwareClient("sk-any", "https://api.runware.ai/v1", transport=httpx.MockTransport(down),
                           images_dir=data_dir / "images")
    try:
        assert client.backend == "runware"  # a best guess for now (not on loopback), asked again next time
        assert client._backend is None
    finally:
        client.close()


@pytest.mark.filterwarnings("ignore:the user name and password in the API address")  # said, and tested elsewhere
@pytest.mark.parametrize("url, host", [("https://api.runware.ai/v1", "api.runware.ai"),
                                       ("https://user:pw@eu.api.example.com:8443/v1", "eu.api.example.com:8443")])
def test_api_host_is_the_host_and_port_without_credentials(url: str, host: str, data_dir: Path) -> None:
    client = RunwareClient("sk-any", url, transport=httpx.MockTransport(lambda r: httpx.Response(404)),
                           images_dir=data_dir / "images")
    try:
        assert client.api_host == host
    finally:
        client.close()


def test_the_marker_transport_really_hides_the_marker(emulator: Emulator) -> None:
    with httpx.Client(transport=WithoutEmulatorMarker()) as http:
        assert "x-qwenlab-emulator" not in http.get(emulator.url).headers
    assert httpx.get(emulator.url, trust_env=False).headers["x-qwenlab-emulator"] == "synthetic"
