"""An API address no request could go to is refused before anything is logged or sent, naming
RUNWARE_BASE_URL and the fix, and showing no credentials written into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.api.client import RunwareClient
from qwenlab.api.connect import check_connection
from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_BAD_INPUT

BAD = {
    "a port that is no number": ("http://user:hunter22@127.0.0.1:abc/v1", "port"),
    "a port over 65535": ("http://user:hunter22@127.0.0.1:99999/v1", "port"),
    "port 0": ("http://user:hunter22@127.0.0.1:0/v1", "port"),
    "an IPv6 host left open": ("http://user:hunter22@[::1/v1", "address"),
}


@pytest.mark.parametrize("url, word", BAD.values(), ids=BAD.keys())
def test_an_address_with_a_bad_port_or_host_is_refused_naming_the_variable(url: str, word: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`http://127.0.0.1:abc/v1` passed the check (a host, an http scheme) and raised httpx's own
    InvalidURL from the first request: `qwenlab run` ended in a traceback, an experiment logged.
    Port 99999 passed too, and every cell failed "could not connect to http://127.0.0.1/v1", the
    port dropped from the message; an unclosed IPv6 bracket said only "Invalid IPv6 URL"."""
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-address-test-0123456789")
    monkeypatch.setenv("RUNWARE_BASE_URL", url)
    for call in (lambda: check_connection(), lambda: RunwareClient()):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert message.startswith("RUNWARE_BASE_URL (or base_url=)") and word in message, message
        assert "https://api.runware.ai/v1" in message and "hunter22" not in message


@pytest.mark.parametrize("url, word", BAD.values(), ids=BAD.keys())
def test_qwenlab_run_refuses_it_before_the_log_is_made(url: str, word: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-address-test-0123456789")
    monkeypatch.setenv("RUNWARE_BASE_URL", url)
    sweep = tmp_path / "poster.toml"
    sweep.write_text('prompt = "A poster"\n[request]\nsize = "256x256"\n')
    result = CliRunner().invoke(cli, ["run", str(sweep), "--yes", "--no-progress"])
    assert result.exit_code == EXIT_BAD_INPUT and "RUNWARE_BASE_URL" in result.output, result.output
    assert "Traceback" not in result.output and "hunter22" not in result.output
    assert not (tmp_path / "data" / "qwenlab.db").exists()


@pytest.mark.filterwarnings("ignore:the user name and password in the API address")  # said, and tested elsewhere
def test_good_addresses_pass() -> None:
    for url in ("https://api.runware.ai/v1", "http://127.0.0.1:8787/v1", "http://[::1]:8787/v1",
                "https://user:pw@gateway.example.com:8443/v1?token=abc"):
        with RunwareClient("sk-address-test-0123456789", url) as client:
            assert client.api_host
