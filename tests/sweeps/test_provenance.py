"""Where each cell ran: the runner records the backend (emulator or Runware), the API host and
qwenlab's version on every task it sends and on the experiment, and never resumes an experiment
whose cells ran on the other backend without being told to (nothing is sent before it refuses).

"Runware" here is a second emulator reached through a transport that removes the emulator's
marker header, with a real-looking key: to the client it is a server on loopback that says
nothing of being an emulator (tests/support/backends.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab import BackendMismatchError, ExperimentConflictError, Lab, Sweep
from qwenlab.emulator import Emulator
from qwenlab.version import __version__
from tests.support.backends import emulator_client, posts, runware_client

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
PRICE = 0.075


def sweep(n: int = 2) -> Sweep:
    """2 x n cells of small images."""
    return Sweep(prompt=PROMPT, size="256x384", axes={"promptExtend": [True, False], "outputQuality": list(range(60, 60 + n))})


@pytest.fixture
def real() -> Emulator:
    """The stand-in for Runware's API (its answers reach the client without the emulator's marker)."""
    with Emulator() as emu:
        yield emu


def run(emu: Emulator, data_dir: Path, name: str, *, runware: bool = False, **kw):
    client = runware_client(emu, data_dir) if runware else emulator_client(emu, data_dir)
    try:
        return Lab(data_dir, client=client).run(kw.pop("the_sweep", sweep()), name, progress=False, **kw)
    finally:
        client.close()


def test_every_sent_task_and_the_experiment_record_where_they_ran(emulator: Emulator, real: Emulator, data_dir: Path) -> None:
    exp = run(emulator, data_dir, "on-emulator")
    tasks = exp.log.tasks(exp.id)
    assert {(t["backend"], t["api_host"], t["qwenlab_version"]) for t in tasks} == {
        ("emulator", f"127.0.0.1:{emulator.port}", __version__)}
    assert (exp.row["backend"], exp.row["api_host"]) == ("emulator", f"127.0.0.1:{emulator.port}")

    live = run(real, data_dir, "on-runware", runware=True)
    tasks = live.log.tasks(live.id)
    assert {(t["backend"], t["api_host"], t["qwenlab_version"]) for t in tasks} == {
        ("runware", f"127.0.0.1:{real.port}", __version__)}
    assert live.row["backend"] == "runware"


def test_emulator_cells_are_not_resumed_with_a_real_key(emulator: Emulator, real: Emulator, data_dir: Path) -> None:
    exp = run(emulator, data_dir, "lumiere")
    assert exp.counts()["done"] == 4
    before = exp.log.rows("SELECT * FROM tasks ORDER BY id")

    with pytest.raises(BackendMismatchError) as info:
        run(real, data_dir, "lumiere", runware=True)
    message = str(info.value)
    assert "lumiere" in message and "4 cells" in message and "emulator" in message and "Runware" in message
    assert "new name" in message and "mix_backends=True" in message and "nothing was sent" in message
    assert isinstance(info.value, ExperimentConflictError)  # the CLI exits 2: bad input, nothing sent
    assert posts(real) == [] and len(real.ledger) == 0  # not one task reached "Runware"
    assert exp.log.rows("SELECT * FROM tasks ORDER BY id") == before  # and the log is as it was
    assert exp.log.experiment("lumiere")["backend"] == "emulator"


def test_a_partly_done_emulator_experiment_is_not_finished_on_runware(emulator: Emulator, real: Emulator,
                                                                        data_dir: Path) -> None:
    exp = run(emulator, data_dir, "half", budget_usd=2 * PRICE)  # 2 of 4 cells, then the budget stops it
    assert exp.counts()["done"] == 2
    with pytest.raises(BackendMismatchError, match="2 cells"):
        run(real, data_dir, "half", runware=True, budget_usd=1.0)
    assert posts(real) == [] and len(real.ledger) == 0


def test_runware_cells_are_not_resumed_on_the_emulator(emulator: Emulator, real: Emulator, data_dir: Path) -> None:
    run(real, data_dir, "paid", runware=True)
    requests = len(emulator.requests)
    with pytest.raises(BackendMismatchError, match="Runware") as info:
        run(emulator, data_dir, "paid")
    assert "synthetic" in str(info.value)
    assert posts(emulator) == [] and len(emulator.ledger) == 0
    assert len(emulator.requests) - requests <= 1  # at most the GET that asks what the server is


def test_the_same_backend_resumes_as_before(emulator: Emulator, data_dir: Path) -> None:
    run(emulator, data_dir, "again", budget_usd=2 * PRICE)
    exp = run(emulator, data_dir, "again", budget_usd=1.0)
    assert exp.counts()["done"] == 4 and len(emulator.ledger) == 4
    assert {t["backend"] for t in exp.log.tasks(exp.id)} == {"emulator"}


def test_a_new_name_keeps_them_apart(emulator: Emulator, real: Emulator, data_dir: Path) -> None:
    run(emulator, data_dir, "lumiere")
    live = run(real, data_dir, "lumiere-runware", runware=True)
    assert live.counts()["done"] == 4 and len(real.ledger) == 4
    assert live.provenance.kind == "runware"
    assert Lab(data_dir).experiment("lumiere").provenance.kind == "emulator"


def test_mix_backends_keeps_the_emulator_cells_and_sends_the_rest(emulator: Emulator, real: Emulator,
                                                                  data_dir: Path) -> None:
    run(emulator, data_dir, "mixed", budget_usd=2 * PRICE)
    exp = run(real, data_dir, "mixed", runware=True, budget_usd=1.0, mix_backends=True)
    assert exp.counts()["done"] == 4
    assert len(emulator.ledger) == 2 and len(real.ledger) == 2  # only the cells not done went to "Runware"
    backends = sorted(t["backend"] for t in exp.log.tasks(exp.id))
    assert backends == ["emulator", "emulator", "runware", "runware"]
    assert exp.row["backend"] == "mixed"
    assert exp.provenance.kind == "mixed" and (exp.provenance.emulator, exp.provenance.runware) == (2, 2)


def test_cells_in_doubt_on_the_other_backend_are_refused_even_when_mixing(emulator: Emulator, real: Emulator,
                                                                          data_dir: Path) -> None:
    run(emulator, data_dir, "doubt", budget_usd=2 * PRICE)
    lab = Lab(data_dir, client=lambda: None)
    exp_id = lab.log.experiment("doubt")["id"]
    pending = [t for t in lab.log.tasks(exp_id) if t["status"] == "pending"][0]
    lab.log.mark_sent(pending["id"], pending["request_json"], backend="emulator", api_host="127.0.0.1:1",
                      qwenlab_version=__version__)  # a crash in flight on the emulator
    with pytest.raises(BackendMismatchError, match="in doubt"):
        run(real, data_dir, "doubt", runware=True, budget_usd=1.0, mix_backends=True)
    assert posts(real) == []


def test_cells_logged_before_provenance_count_as_unknown(emulator: Emulator, real: Emulator, data_dir: Path) -> None:
    exp = run(emulator, data_dir, "old")
    exp.log.db.execute("UPDATE tasks SET backend = NULL, api_host = NULL, qwenlab_version = NULL")
    exp.log.db.conn.commit()
    # the emulator may resume them (nothing real is at stake)...
    assert run(emulator, data_dir, "old").counts()["done"] == 4
    # ...but Runware does not: they may be synthetic
    with pytest.raises(BackendMismatchError, match="not recorded"):
        run(real, data_dir, "old", runware=True)
    assert posts(real) == []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_that_reaches_no_server_is_labelled_nowhere_and_says_why(data_dir: Path) -> None:
    """A real key and an API on loopback (a tunnel to Runware, say) that is down: the cells fail
    without an answer. Guessing by address labelled them as run on the emulator, and the run once
    the tunnel was up became "mixed", synthetic and real, though nothing ever ran on the emulator."""
    port = _free_port()
    down = Emulator(port=port)  # made, not started: nothing listens on the port yet
    client = runware_client(down, data_dir)
    try:
        exp = Lab(data_dir, client=client).run(sweep(1), "tunnel", progress=False)
    finally:
        client.close()
    assert exp.counts()["failed"] == 2
    assert {t["backend"] for t in exp.log.tasks(exp.id)} == {None}
    assert exp.row["backend"] is None and exp.row["api_host"] == f"127.0.0.1:{port}"
    assert exp.provenance.kind == "none" and exp.provenance.unreached == 2
    summary = exp.summary()
    assert "SYNTHETIC" not in summary and "emulator" not in summary
    assert f"no server answered at 127.0.0.1:{port}: 2 cells failed" in summary
    assert "2 failed: could not connect to" in summary  # the reason, not only "run again"
    assert exp.log.experiments_frame().set_index("name").loc["tunnel", "backend"] == ""
    from qwenlab.costs import Costs

    assert not any("logged before qwenlab recorded" in n for n in Costs(exp.log).notes())  # not an old log's rows

    with Emulator(port=port) as up:  # the tunnel is up: "Runware" answers
        again = run(up, data_dir, "tunnel", runware=True, the_sweep=sweep(1))
    assert again.counts()["done"] == 2
    assert {t["backend"] for t in again.log.tasks(again.id)} == {"runware"}
    assert again.row["backend"] == "runware" and again.provenance.kind == "runware"
    assert "no server answered" not in again.summary()


def test_no_key_and_an_emulator_address_where_nothing_answers_is_not_run_on_the_emulator(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and RUNWARE_BASE_URL at a loopback port where nothing listens (the emulator the user
    meant to start): connect() gives the emulator's own key, which once fixed the backend, so the
    summary said "SYNTHETIC: run on qwenlab's offline emulator" and the costs counted the cells
    as run there, though no server ever answered."""
    from qwenlab.api.connect import connect

    port = _free_port()
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("RUNWARE_BASE_URL", f"http://127.0.0.1:{port}/v1")
    client = connect(images_dir=data_dir / "images", max_retries=0)
    try:
        assert client.backend == "emulator"  # what it would be, for the question before a run
        exp = Lab(data_dir, client=client).run(sweep(1), "nowhere", progress=False)
    finally:
        client.close()
    assert exp.counts()["failed"] == 2 and exp.row["backend"] is None
    assert {t["backend"] for t in exp.log.tasks(exp.id)} == {None}
    summary = exp.summary()
    assert "SYNTHETIC" not in summary and f"no server answered at 127.0.0.1:{port}" in summary


def test_a_backend_learnt_from_the_first_answer_labels_the_run(real: Emulator, data_dir: Path) -> None:
    """When the server could not be asked at the start (its GET failed), the first answer says
    what it is: every answered task of the run and the experiment get it."""
    import httpx

    from tests.support.backends import FAST, WithoutEmulatorMarker

    class NoQuestions(WithoutEmulatorMarker):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and request.url.path.rstrip("/") == "/v1":  # the backend question only
                raise httpx.ConnectError("refused", request=request)
            return super().handle_request(request)

    from qwenlab.api.client import RunwareClient

    client = RunwareClient("sk-live-0123456789abcdef", real.url, images_dir=data_dir / "images",
                           transport=NoQuestions(), **FAST)
    try:
        exp = Lab(data_dir, client=client).run(sweep(2), "learnt", progress=False, concurrency=2)
    finally:
        client.close()
    assert exp.counts()["done"] == 4
    assert {t["backend"] for t in exp.log.tasks(exp.id)} == {"runware"}
    assert exp.row["backend"] == "runware" and exp.provenance.kind == "runware"
