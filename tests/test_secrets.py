"""The API key never lands anywhere: with a sentinel key, run sweeps (clean, under faults, and
against a server that echoes the key back in its answers), the demo, the CLI commands (in fresh
processes, as a user runs them), a set of failing requests, the HTML export and the notebooks;
then look for the key in every file under the data folder (bytes: the SQLite file and its WAL
included), every database row, every exception's text and repr, every log record, and everything
printed. The export must also keep a prompt holding `<script>` as text.

The emulators here accept only the sentinel, so each run really used it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from PIL import Image

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli import cli
from qwenlab.core.request import Request
from qwenlab.emulator import Emulator, Faults
from qwenlab.errors import (
    AuthenticationError,
    QwenlabError,
    TransportError,
    ValidationError,
)
from qwenlab.html.viewer import SCRIPT
from tests.support.labkit import LoopbackServer

CORE = "SENTINEL-7f3a9c21e4b84d0f"
SENTINEL = f"sk-{CORE}"
EVIL = 'A poster for <script>alert("LUMIERE")</script> & "Glow" <img src=x onerror=alert(1)>'
ROOT = Path(__file__).resolve().parent.parent
FAST = dict(timeout=1.0, max_retries=6, backoff_base=0.01, backoff_max=0.1, poll_initial=0.02, poll_max=0.1, poll_timeout=10.0)


def key_free(what: str, text: str | bytes) -> None:
    """Fail, naming `what`, if the sentinel (or its distinctive core) is in `text`."""
    needle: Any = CORE.encode() if isinstance(text, bytes) else CORE
    assert needle not in text, f"the API key leaked into {what}"


def files_under(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


def assert_no_key_in_data(data_dir: Path) -> dict[str, int]:
    """Every file (bytes) and every database row under the data folder; returns what was checked."""
    checked = {"files": 0, "bytes": 0, "rows": 0}
    names = set()
    for path in files_under(data_dir):
        data = path.read_bytes()
        key_free(str(path), data)
        checked["files"] += 1
        checked["bytes"] += len(data)
        names.add(path.name)
    # the log was read, and its WAL with it where one is left: SQLite folds the WAL into the file and
    # removes it when the last connection closes cleanly (a kernel that ends after scoring text does)
    assert "qwenlab.db" in names
    with sqlite3.connect(f"file:{data_dir / 'qwenlab.db'}?mode=ro", uri=True) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in conn.execute(f"SELECT * FROM [{table}]"):
                key_free(f"a row of {table}", repr(row))
                checked["rows"] += 1
    return checked


def qwenlab(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The `qwenlab` command in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "qwenlab.cli", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def capture_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    for record in caplog.records:
        key_free(f"log record {record.name}", record.getMessage())


# -- a server that echoes the key back ---------------------------------------------------------------
def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 90, 160)).save(buf, format="JPEG")
    return buf.getvalue()


class EchoServer:
    """Answers every task with the caller's Authorization header echoed back: in an error message,
    in an extra field of a result, and in the image URL's query. GETs of images are recorded."""

    def __init__(self) -> None:
        self.gets: list[dict[str, str]] = []
        image, server_ref = _jpeg(), self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                auth = self.headers.get("Authorization", "")
                tasks = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                t = tasks[0]
                if "refuse" in str(t.get("positivePrompt")):
                    body = {"errors": [{"code": "badRequest", "message": f"refused for {auth}", "parameter": "positivePrompt",
                                        "taskUUID": t["taskUUID"], "apiKey": auth.split()[-1]}]}
                    return self._send(400, json.dumps(body).encode())
                item = {"taskType": "imageInference", "taskUUID": t["taskUUID"], "imageUUID": "8071e34d-a7f5-4777-b8b6-9656df46513b",
                        "imageURL": f"http://127.0.0.1:{self.server.server_address[1]}/img.jpg?token={auth.split()[-1]}",
                        "seed": 7, "cost": 0.075, "debug": {"echo": auth, "key": auth.split()[-1]}}
                self._send(200, json.dumps({"data": [item]}).encode())

            def do_GET(self) -> None:  # noqa: N802
                server_ref.gets.append(dict(self.headers))
                self._send(200, image, "image/jpeg")

        self.loop = LoopbackServer(Handler)

    def __enter__(self) -> "EchoServer":
        self.loop.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.loop.url


# -- sweeps, failures, the CLI and the export --------------------------------------------------------------
@pytest.mark.slow
def test_sweeps_failures_cli_and_export_never_hold_the_key(data_dir: Path, tmp_path: Path, capture_logs: Any,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    texts: list[tuple[str, str]] = []  # (what, text) of every error, repr and output to check
    sweep = Sweep(prompt=EVIL, size="256x256", axes={"promptExtend": [True, False], "outputQuality": [60, 70]})
    with Emulator(api_key=SENTINEL) as emu, Emulator(api_key="sk-some-other-key") as other, \
            RunwareClient(SENTINEL, emu.url, images_dir=data_dir / "images", **FAST) as client:
        lab = Lab(data_dir, client=client)
        exp = lab.run(sweep, name="clean", progress=False)
        assert exp.counts()["done"] == 4  # the emulator accepts only the sentinel: it was really used

        emu.faults = Faults(rate_429=0.15, retry_after=0.02, rate_5xx=0.1, drop_after=0.1, drop_before=0.05, malformed=0.1,
                            stall=0.05, stall_seconds=1.5, task_error=0.1, expire_download=0.1, seed=7)
        faulted = lab.run(Sweep(prompt=EVIL, size="256x256", axes={"outputQuality": "20-39"}), name="faults", progress=False)
        assert faulted.counts()["cells"] == 20 and any(r.fault != "ok" for r in emu.requests)
        emu.faults = Faults()
        texts += [("repr", repr(x)) for x in (emu, client, lab, exp, faulted, emu.ledger)]
        texts += [("error_message", str(m)) for m in faulted.df["error_message"].dropna()]

        # failing requests, each error's text and repr
        errors: list[BaseException] = []
        with RunwareClient(SENTINEL, other.url, **FAST) as wrong:
            for call in (lambda: wrong.generate(Request(prompt="A poster", size="256x256")), wrong.ping):
                with pytest.raises(AuthenticationError) as info:
                    call()
                errors.append(info.value)
            with pytest.raises(AuthenticationError) as info:
                Lab(tmp_path / "other-data", client=wrong).run(sweep, name="bad-key", progress=False)
            errors.append(info.value)
        for bad in (Request(prompt="x", size="9000x10", seed=3), Request(prompt="A poster", webhookURL="not a url")):
            with pytest.raises(ValidationError) as info:
                client.generate(bad)
            errors.append(info.value)
        with RunwareClient(SENTINEL, "http://127.0.0.1:9/v1", max_retries=1, backoff_base=0.0) as dead:
            with pytest.raises(TransportError) as info:
                dead.generate(Request(prompt="A poster", size="256x256"))
            errors.append(info.value)
        errors.append(client.recover(Request(prompt="never sent", size="256x256")) or QwenlabError("not found, as expected"))
        texts += [("exception", f"{e}\n{e!r}\n{getattr(e, 'errors', '')}") for e in errors]

        # a server that echoes the key back in errors, in extra fields and in the image URL
        with EchoServer() as echo, RunwareClient(SENTINEL, echo.url, images_dir=data_dir / "images", **FAST) as echoed:
            exp_echo = Lab(data_dir, client=echoed).run(
                Sweep(prompt="A poster", size="256x256", axes={"prompt": ["refuse this poster", "accept this poster"]}),
                name="echo", progress=False)
            assert exp_echo.counts()["done"] == 1 and exp_echo.counts()["failed"] == 1
            assert all(not any(k.lower() == "authorization" for k in h) for h in echo.gets)  # no key sent to image URLs
            texts += [("echo df", exp_echo.df.to_json()), ("echo images", exp_echo.images.to_json())]

        # the CLI, in fresh processes with the key in the environment, as a user runs it
        env = {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_API_KEY": SENTINEL, "RUNWARE_BASE_URL": emu.url}
        (tmp_path / "sweep.toml").write_text(f'name = "from-cli"\nprompt = {json.dumps(EVIL)}\n[request]\nsize = "256x256"\n'
                                             "[axes]\npromptExtend = [true, false]\n")
        (tmp_path / "bad.toml").write_text('prompt = "A poster"\n[axes]\nsize = ["9000x10"]\n')
        report = tmp_path / "report.html"
        runs = {
            "run": qwenlab("run", "sweep.toml", "--no-progress", "--yes", env=env, cwd=tmp_path),
            "run invalid": qwenlab("run", "bad.toml", env=env, cwd=tmp_path),
            "run bad key": qwenlab("run", "sweep.toml", "--name", "cli-bad-key", "--no-progress", "--yes",
                                   env={**env, "RUNWARE_BASE_URL": other.url}, cwd=tmp_path),
            "logs --json": qwenlab("logs", "--json", env=env, cwd=tmp_path),
            "costs --json": qwenlab("costs", "--json", env=env, cwd=tmp_path),
            "export": qwenlab("export", "from-cli", "-o", str(report), env=env, cwd=tmp_path),
        }
        assert runs["run"].returncode == 0 and "2/2 cells done" in runs["run"].stdout, runs["run"].stderr[-2000:]
        assert runs["run invalid"].returncode == 2 and "width" in runs["run invalid"].stderr
        assert runs["run bad key"].returncode == 1 and "AuthenticationError" in runs["run bad key"].stderr + runs["run bad key"].stdout
        assert "from-cli" in runs["logs --json"].stdout and "totals" in runs["costs --json"].stdout
        assert runs["export"].returncode == 0 and report.is_file(), runs["export"].stderr[-2000:]
        for what, r in runs.items():
            texts += [(f"qwenlab {what} stdout", r.stdout), (f"qwenlab {what} stderr", r.stderr)]
        runner = CliRunner(env={k: v for k, v in env.items() if k.startswith(("RUNWARE", "QWENLAB"))})
        for args in (["logs"], ["logs", "clean"], ["logs", "echo", "--json"], ["costs"], ["costs", "--by", "promptExtend"],
                     ["grid", "clean", "-o", str(tmp_path / "grid.png")], ["tag", "clean", "shared"],
                     ["search", "LUMIERE", "--json"], ["images", "clean", "-o", str(data_dir / "picked")],
                     ["bundle", "clean", "echo", "-o", str(data_dir / "shared.zip")], ["datasette", "--metadata-only"]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, (args, result.output)
            texts.append((f"qwenlab {' '.join(args)}", result.output))
        # exported images carry their request inside and beside them; a bundle holds a log: none holds the key
        assert len(list((data_dir / "picked").glob("*.json"))) == 4
        with zipfile.ZipFile(data_dir / "shared.zip") as bundle:
            texts += [(f"bundle {n}", bundle.read(n).decode("latin-1")) for n in bundle.namelist()]

        # the export keeps the prompt's <script> as text, and holds no key
        html = report.read_text(encoding="utf-8")
        key_free("the HTML export", html)
        # its one script is the report's own viewer (fixed text), never the prompt's
        assert html.lower().count("<script") == 1 and f"<script>{SCRIPT}</script>" in html
        assert "&lt;script&gt;alert(&quot;LUMIERE&quot;)&lt;/script&gt;" in html

        assert (data_dir / "qwenlab.db-wal").exists()  # the lab's connection keeps the WAL in place: read it too
        checked = assert_no_key_in_data(data_dir)
    out, err = capfd.readouterr()
    texts += [("stdout", out), ("stderr", err)]
    for what, text in texts:
        key_free(what, text)
    print(f"\nFIGURES secrets: {checked['files']} files ({checked['bytes'] / 1e6:.1f} MB) and {checked['rows']} rows, "
          f"{len(texts)} texts (errors, reprs, CLI output), {len(capture_logs.records)} log records: no key")


# -- the demo ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_demo_never_holds_the_key(data_dir: Path, capture_logs: Any, capfd: pytest.CaptureFixture[str]) -> None:
    from qwenlab.demo import run_demo

    with Emulator(api_key=SENTINEL) as emu:  # accepts only the sentinel
        result = run_demo(base_url=emu.url, api_key=SENTINEL, progress=False)
        assert result.experiment.counts()["done"] == 64 and len(emu.ledger) == 64
        key_free("the demo's summary", result.summary())
        key_free("the demo's repr", repr(result))
        assert_no_key_in_data(data_dir)
    out, err = capfd.readouterr()
    key_free("stdout", out)
    key_free("stderr", err)


# -- the notebooks -----------------------------------------------------------------------------------------
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
def test_the_notebooks_never_hold_the_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every notebook, executed with the key in its kernel's environment (and the emulator, which
    accepts only that key, as the API): no output of any cell and no file holds the key."""
    assert len(NOTEBOOKS) >= 4, "the notebooks are missing: this test would prove nothing"
    import nbformat
    from nbclient import NotebookClient

    with Emulator(api_key=SENTINEL) as emu:
        monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
        monkeypatch.setenv("RUNWARE_BASE_URL", emu.url)
        for path in NOTEBOOKS:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
            key_free(f"the outputs of {path.name}", nbformat.writes(nb))
            errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
            assert not errors, f"{path.name}: {errors[0].get('evalue')}"
        assert len(emu.ledger) > 0  # the notebooks really used the key against this emulator
        assert_no_key_in_data(data_dir)


def test_a_key_pasted_into_a_sweep_is_refused_before_anything_is_logged_or_sent(emulator: Any, data_dir: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The log keeps a prompt as it was sent (only the request JSON was scrubbed): a key pasted
    into a prompt or a note reached the log, its sidecars, bundles and image metadata, and the
    model itself. Refused, naming each place, with no log written and nothing sent."""
    from qwenlab import Lab, Sweep
    from qwenlab.errors import ValidationError

    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    monkeypatch.setenv("RUNWARE_BASE_URL", emulator.url)
    lab = Lab(data_dir)
    sweep = Sweep(prompt=f"A poster; api key {SENTINEL}", size="256x256",
                  axes={"negativePrompt": [None, f"blurry {SENTINEL}"]})
    with pytest.raises(ValidationError) as info:
        lab.run(sweep, name="pasted", notes=f"key: {SENTINEL}", progress=False)
    assert {p.parameter for p in info.value.problems} == {
        "sweep.base.positivePrompt", "sweep.axes.negativePrompt.values[1]", "notes"}, info.value.problems
    key_free("the error", str(info.value))
    assert emulator.requests == [] and lab.log.experiment_names() == []


def test_a_key_typed_into_a_note_tag_name_or_rating_is_refused(emulator: Any, data_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab note NAME "my key is ..."`, `tag`, `rename` and a rating's note took the key into
    the log, whence `qwenlab logs`, bundles and exported images showed it. Each is refused naming
    what to change, from Python and from the shell, and the log keeps what it had."""
    from tests.support.labkit import run_sweep

    exp = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(data_dir))
    lab = Lab(data_dir)
    exp = lab.experiment("posters")
    image = int(exp.images["image_id"].iloc[0])
    for call, param in ((lambda: exp.note(f"my key is {SENTINEL}"), "note"), (lambda: exp.tag(SENTINEL), "tag"),
                        (lambda: exp.rename(f"posters-{SENTINEL}"), "new_name"),
                        (lambda: lab.log.rate(image, 5, note=f"key {SENTINEL}"), "note")):
        with pytest.raises(ValueError, match=f"^{param}: holds your Runware API key") as info:
            call()
        key_free("the error", str(info.value))
    for args in (["note", "posters", f"my key is {SENTINEL}"], ["tag", "posters", SENTINEL],
                 ["rename", "posters", f"p-{SENTINEL}"]):
        out = CliRunner().invoke(cli, args)
        assert out.exit_code == 2 and "holds your Runware API key" in out.output, (args, out.output)
        key_free(f"qwenlab {args[0]}", out.output)
    with sqlite3.connect(data_dir / "qwenlab.db") as db:
        dumped = "\n".join(db.iterdump())
    assert SENTINEL not in dumped and lab.log.experiment_names() == ["posters"]



@pytest.fixture
def posters(emulator: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Lab, Any]:
    """A two-image experiment "posters" in `data_dir`, the key set as RUNWARE_API_KEY: the lab and
    the experiment, for a test to write into its log what an older qwenlab kept."""
    from tests.support.labkit import run_sweep

    run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False, axes={"promptExtend": [True, False]})
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(data_dir))
    lab = Lab(data_dir)
    return lab, lab.experiment("posters")


def test_a_tag_an_older_log_kept_with_the_key_in_it_can_be_removed(posters: tuple[Lab, Any]) -> None:
    """A log written before tags were checked may hold the key in a tag, and a bundle of its
    experiment is then refused until it is gone; `qwenlab untag NAME TAG` (exp.untag) refused to
    remove it, as if it were being added ("holds your Runware API key; take it out"). It is removed."""
    lab, exp = posters
    with lab.log.transaction() as db:  # as an older qwenlab kept them
        for tag in (SENTINEL, f"k-{SENTINEL}", "print"):
            db.execute("INSERT INTO experiment_tags (experiment_id, tag) VALUES (?, ?)", [exp.id, tag])
    exp.untag(SENTINEL)
    assert sorted(exp.tags) == sorted([f"k-{SENTINEL}", "print"])
    out = CliRunner().invoke(cli, ["untag", "posters", f"k-{SENTINEL}"])
    assert out.exit_code == 0, out.output
    assert exp.tags == ["print"]
    with pytest.raises(ValueError, match="^tag: holds your Runware API key"):
        exp.tag(SENTINEL)  # adding one is still refused


def test_what_an_older_log_kept_of_the_key_is_printed_by_no_command(posters: tuple[Lab, Any]) -> None:
    """A log written before qwenlab refused a key pasted into a note, a tag or a prompt keeps it
    (bundles refuse it, reports scrub it); `qwenlab logs NAME` (--json too), `logs --json`, `note`,
    `untag`'s listing and `search` (--json too) printed it whole."""
    lab, exp = posters
    with lab.log.transaction() as db:  # as an older qwenlab kept them
        db.execute("UPDATE experiments SET notes = ? WHERE id = ?", [f"sent with {SENTINEL}", exp.id])
        for tag in (f"k-{SENTINEL}", "print"):
            db.execute("INSERT INTO experiment_tags (experiment_id, tag) VALUES (?, ?)", [exp.id, tag])
        db.execute("UPDATE tasks SET prompt = ? WHERE experiment_id = ?", [f"A poster {SENTINEL}", exp.id])
    for args in (["logs"], ["logs", "--json"], ["logs", "posters"], ["logs", "posters", "--json"], ["note", "posters"],
                 ["untag", "posters", "print"], ["search"], ["search", "--json"], ["search", "poster"]):
        out = CliRunner().invoke(cli, args)
        assert out.exit_code == 0, (args, out.output)
        assert SENTINEL not in out.output and SENTINEL[:12] not in out.output, (args, out.output)
        assert "***" in out.output, (args, out.output)  # what was there is shown, scrubbed


# -- the leak hunt: paths found by an audit, each closed ------------------------------------------
def test_a_key_quoted_far_into_an_answer_leaves_not_even_its_start(tmp_path: Path) -> None:
    """Messages were cut to length before they were scrubbed: an answer that is not JSON, quoting
    the key across its 120th character, left 'sk-SENTINE' in the error, the log and the report."""
    import httpx

    body = "x" * 110 + f"{SENTINEL} (not JSON)"
    client = RunwareClient(SENTINEL, transport=httpx.MockTransport(lambda request: httpx.Response(200, text=body)),
                           images_dir=tmp_path / "images", sleep=lambda s: None)
    with client, pytest.raises(TransportError) as info:
        client.generate(Request(prompt="A poster for 'LUMIERE'", size="256x256"))
    for what in (str(info.value), repr(info.value)):
        key_free("the error", what)
        assert SENTINEL[:8] not in what, what  # no start of the key either


def test_a_key_in_an_image_url_or_a_field_name_is_not_in_a_result_s_repr(tmp_path: Path) -> None:
    import httpx

    from tests.api.test_client import image_bytes

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, content=image_bytes("JPEG"))
        task = json.loads(request.content)[0]
        return httpx.Response(200, json={"data": [{
            "taskType": "imageInference", "taskUUID": task["taskUUID"], "imageUUID": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "imageURL": f"https://im.runware.test/a.jpg?token={SENTINEL}", "seed": 1, "cost": 0.075,
            "debug": {SENTINEL: "seen"}}]})

    client = RunwareClient(SENTINEL, transport=httpx.MockTransport(answer), images_dir=tmp_path / "images")
    with client:
        result = client.generate(Request(prompt="A poster for 'LUMIERE'", size="256x256"))
    (image,) = result.images
    for what in (repr(result), str(result.images), repr(image.api_extra), repr(image.raw_for_log())):
        key_free("a result shown in a notebook", what)


def test_keys_that_reach_the_cli_before_any_client_are_scrubbed_and_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With RUNWARE_API_KEY set, `qwenlab logs KEY` printed the key whole (no client had
    registered it yet); `run --dry-run` with no log printed a request whose webhookURL held it;
    a key in RUNWARE_BASE_URL's password was repeated in 'could not connect to ...'; a key with
    a stray CR (a .env file's) let a note holding it through."""
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL + "\r")
    runner = CliRunner()
    named = runner.invoke(cli, ["logs", SENTINEL])
    key_free("qwenlab logs KEY", named.output)
    sweep = tmp_path / "hook.toml"
    sweep.write_text(f'prompt = "A poster"\n[request]\nsize = "256x256"\nwebhookURL = "https://hooks.example.com/cb?token={SENTINEL}"\n')
    dry = runner.invoke(cli, ["run", str(sweep), "--dry-run"])
    assert dry.exit_code == 2 and "holds your Runware API key" in dry.output, dry.output
    key_free("run --dry-run", dry.output)
    monkeypatch.delenv("RUNWARE_API_KEY")
    monkeypatch.setenv("RUNWARE_BASE_URL", f"http://runware:{SENTINEL}@127.0.0.1:9/v1")
    from qwenlab.secrets import redact

    key_free("a message naming the base URL", redact(f"could not connect to http://runware:{SENTINEL}@127.0.0.1:9/v1"))


def test_a_key_typed_as_a_criterion_or_a_judge_is_refused(emulator: Any, data_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.labkit import run_sweep

    exp = run_sweep(emulator, data_dir, name="judged", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    a, b = (int(i) for i in exp.images["image_id"][:2])
    with pytest.raises(ValueError, match="criterion: holds your Runware API key"):
        exp.log.judge(exp.id, "promptExtend", a, b, "a", criterion=SENTINEL)
    with pytest.raises(ValueError, match="judge: holds your Runware API key"):
        exp.log.rate(a, 4, judge=SENTINEL)
    assert_no_key_in_data(data_dir)


def test_a_key_typed_as_the_judging_widget_s_criterion_is_refused_before_it_opens(emulator: Any, data_dir: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`exp.judge(axis, criterion=KEY)` opened the widget, its header and repr showing the key
    (saved with the notebook), and only the first click was refused, by the log: the judgement
    made was lost. The criterion is refused as the widget opens, naming the parameter."""
    from qwenlab.errors import JudgementError
    from tests.support.labkit import run_sweep

    exp = run_sweep(emulator, data_dir, name="judged", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    exp = Lab(data_dir).experiment("judged")
    for criterion in (SENTINEL, f"legible with {SENTINEL}"):
        with pytest.raises(JudgementError, match="^criterion: holds your Runware API key") as info:
            exp.judge("promptExtend", criterion=criterion)
        key_free("the error", str(info.value))
    assert exp.log.judgements(exp.id) == []


def test_a_key_pasted_into_a_sweep_is_refused_by_its_plan_as_by_a_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`qwenlab run --dry-run` and `lab.run` refuse a sweep whose prompt holds the key, but
    `sweep.plan()`, the notebook's dry run, showed it in `request_json`, and a saved notebook
    kept it. The plan is refused alike, naming the place; the repr never showed it."""
    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    sweep = Sweep(prompt=f"A poster; api key {SENTINEL}", size="256x256", axes={"negativePrompt": [None, f"x {SENTINEL}"]})
    with pytest.raises(ValidationError) as info:
        sweep.plan(quiet=True)
    assert {p.parameter for p in info.value.problems} == {"sweep.base.positivePrompt", "sweep.axes.negativePrompt.values[1]"}
    key_free("the error", str(info.value))
    key_free("the sweep's repr", repr(sweep))
    assert len(Sweep(prompt="A poster for 'LUMIERE'", size="256x256").plan(quiet=True)) == 1


def test_a_key_pasted_into_a_request_is_refused_by_generate_before_it_is_sent(emulator: Any, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A run refuses a sweep whose prompt holds the key, but `client.generate(request)` sent it
    to the model (and, with promptExtend, to an LLM): only its repr hid it. Refused alike, naming
    each place, before anything is sent (generate_many and send_batch go the same way)."""
    from qwenlab.api.client import RunwareClient
    from qwenlab.core.request import Request

    monkeypatch.setenv("RUNWARE_API_KEY", SENTINEL)
    with RunwareClient(api_key=SENTINEL, base_url=emulator.url, images_dir=tmp_path) as client:
        request = Request("alibaba:qwen-image@2.0-pro", f"A poster; api key {SENTINEL}", width=256, height=256,
                          negativePrompt=f"blurry {SENTINEL}")
        with pytest.raises(ValidationError) as info:
            client.generate(request)
        assert {p.parameter for p in info.value.problems} == {"positivePrompt", "negativePrompt"}
        key_free("the error", str(info.value))
        [outcome] = client.generate_many([request], concurrency=1)
        assert isinstance(outcome, ValidationError)
        assert emulator.requests == []
        assert client.generate(Request("alibaba:qwen-image@2.0-pro", "A poster for 'LUMIERE'", width=256, height=256)).images


@pytest.mark.parametrize("url", [f"http://runware:{SENTINEL}@127.0.0.1:9/v1", f"http://{SENTINEL}@127.0.0.1:9/v1",
                                 f"http://127.0.0.1:9/v1?apiKey={SENTINEL}"],
                         ids=["password", "user name", "query"])
def test_a_key_in_the_base_url_is_in_no_repr_message_or_traceback(url: str, data_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`repr(lab.client)` (a notebook cell showing it, `self` in a verbose traceback) gave
    RUNWARE_BASE_URL whole, a password in it included; 'could not connect to ...' repeated a key
    written as the address's user name or in its query."""
    import traceback
    import warnings

    monkeypatch.setenv("RUNWARE_BASE_URL", url)
    with warnings.catch_warnings(record=True) as said:  # "the user name and password ... are not sent"
        warnings.simplefilter("always")
        client = RunwareClient("sk-another-key-000000000000", images_dir=data_dir / "images", **{**FAST, "max_retries": 1})
    try:
        for w in said:
            key_free("the warning that they are not sent", str(w.message))
        for what in (repr(client), repr(client._exchange), repr(Lab(data_dir, client=client).client)):
            key_free("a client's repr", what)
        with pytest.raises(TransportError) as info:
            client.generate(Request(prompt="A poster", width=256, height=256))
        key_free("the error", f"{info.value} {info.value!r}")
        tb = info.value.__traceback__
        while tb is not None and "/qwenlab/" not in tb.tb_frame.f_code.co_filename:
            tb = tb.tb_next  # from qwenlab's first frame: this test's own variables hold the key as it wrote it
        shown = "".join(traceback.TracebackException(type(info.value), info.value, tb, capture_locals=True).format())
        assert "127.0.0.1:9" in shown
        key_free("a traceback with every frame's variables", shown)
    finally:
        client.close()
