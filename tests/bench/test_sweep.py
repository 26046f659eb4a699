"""The sweep benchmark's two sides really run: the emulator in a process of its own, qwenlab's
Lab.run and Runware's SDK each sending every task and writing every image."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from qwenlab.bench.duties import LogDuties
from qwenlab.bench.sdk import bench_sdk, sdk_available
from qwenlab.bench.served import cpu_split, on_cpus, served_emulator
from qwenlab.bench.sweep import bench_lab, print_throughput, sdk_tasks, throughput_rows
from qwenlab.emulator.loopback import is_loopback_url


@pytest.mark.slow
def test_both_sides_send_every_task_to_one_served_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with served_emulator(0.0) as url:
        assert is_loopback_url(url)
        lab = bench_lab(url, 6, 2)
        assert (lab["n"], lab["done"]) == (6, 6) and lab["seconds"] > 0 and lab["cpu"] > 0
        assert sdk_available(), "runware-sdk is missing: `make` installs it (the bench extra)"
        assert bench_sdk(url, sdk_tasks(3), 2) > 0
    rows = throughput_rows([(4, 2, 0.0)], rounds=2)
    print_throughput(rows)
    out = capsys.readouterr().out
    assert rows[0]["done_qwenlab"] == 4
    assert all(len(rows[0][f"rounds_{side}"]) == 2 for side in ("qwenlab", "sdk", "duties"))
    assert rows[0]["seconds_qwenlab"] == min(rows[0]["rounds_qwenlab"])  # the best round is the one shown
    assert out.count(", each round ") == 2
    assert "qwenlab vs SDK" in out and "runware-sdk's speed" in out
    assert "vs SDK+duties" in out and rows[0]["done_duties"] == 4


@pytest.mark.slow
def test_the_sdk_with_qwenlabs_duties_logs_and_saves_every_task_it_sends(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The third side does what it claims: each task sent under its own row's taskUUID, the row
    'sent' then 'done', the image on disk under its hash with its row."""
    tasks = sdk_tasks(5)
    duties = LogDuties(tmp_path)
    request.addfinalizer(duties.close)
    with served_emulator(0.0) as url:
        duties.add(tasks)
        assert duties.log.task_counts(duties.experiment_id).get("pending") == 5
        assert bench_sdk(url, tasks, 2, duties=duties) > 0
    rows = duties.log.tasks(duties.experiment_id)
    images = {i["task_id"]: i for i in duties.log.images(duties.experiment_id)}
    assert duties.done() == 5 and [r["task_uuid"] for r in rows] == duties.task_uuids
    for row, task in zip(rows, tasks):
        assert row["status"] == "done" and row["sent_at"] <= row["completed_at"] and row["backend"] == "emulator"
        assert json.loads(row["request_json"])["outputQuality"] == task["outputQuality"]
        image = images[row["id"]]
        assert json.loads(image["raw_json"])["taskUUID"] == row["task_uuid"]  # the emulator answered this row's task
        data = (tmp_path / image["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == image["sha256"] and data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("n", [81, 200])
def test_the_sdk_is_sent_the_same_tasks_as_qwenlab_in_the_same_order(n: int) -> None:
    from qwenlab.bench.sweep import _sweep

    sweep, cells = _sweep(n)
    ours = [{k: v for k, v in c.request.to_task().items() if k not in ("taskType", "taskUUID")} | {"includeCost": True}
            for c in sweep.cells()]
    assert cells == n and sdk_tasks(n) == ours  # the same parameters, outputQuality (so the JPEG's size) included


def test_each_rounds_ratio_is_printed_beside_the_best_of_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """The spread pairs the runs made back to back in one round, not each side's best (which may
    come from different rounds): here the best-of ratio is 1.00x, the rounds 1.10x and 0.83x."""
    row = {"n": 100, "c": 8, "latency": 0.0, "ideal": 0.0,
           "rounds_qwenlab": [1.0, 1.2], "rounds_sdk": [1.1, 1.0], "rounds_duties": [1.05, 1.26]}
    for side in ("qwenlab", "sdk", "duties"):
        best = min(row[f"rounds_{side}"])
        row |= {f"seconds_{side}": best, f"n_{side}": 100, f"cpu_{side}": 0.1, f"done_{side}": 100}
    print_throughput([row])
    out = capsys.readouterr().out
    assert "qwenlab at 1.00x runware-sdk's speed, each round 0.83x to 1.10x (target >= 1.00x)" in out
    assert "qwenlab at 1.05x runware-sdk doing qwenlab's duties, each round 1.05x to 1.05x (no target" in out
    one = {k: (v[:1] if k.startswith("rounds_") else v) for k, v in row.items()}
    print_throughput([one])
    assert "each round" not in capsys.readouterr().out  # one round has no spread to show


def test_a_row_run_apart_says_on_which_cpus_and_claims_no_target_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"n": 100, "c": 8, "latency": 0.0, "ideal": 0.0, "cpus": (frozenset({0}), frozenset({1, 2}))}
    for side, seconds in (("qwenlab", 0.8), ("sdk", 0.8)):
        row |= {f"seconds_{side}": seconds, f"n_{side}": 100, f"cpu_{side}": 0.1, f"done_{side}": 100}
    print_throughput([row, {**row, "cpus": None}])
    table, _, lines = capsys.readouterr().out.partition("\n\n")
    assert " 0|1,2 |" in table and " shared |" in table
    apart, shared = [line for line in lines.splitlines() if "runware-sdk's speed" in line]
    assert "the emulator on CPU 0 and the clients on CPU 1,2: qwenlab at 1.00x" in apart and "target >=" not in apart
    assert "CPU" not in shared and "(target >= 1.00x)" in shared


@pytest.mark.slow
@pytest.mark.skipif(cpu_split() is None, reason="needs 2 CPUs and Linux")
def test_apart_the_emulator_and_the_clients_run_on_cpus_of_their_own() -> None:
    server, client = cpu_split()
    mine = os.sched_getaffinity(0)
    children = Path(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/children")
    before = set(children.read_text().split())  # a browser another test started, say
    with served_emulator(0.0, cpus=server) as url:
        emulator = set(children.read_text().split()) - before
        assert [os.sched_getaffinity(int(pid)) for pid in emulator] == [set(server)]  # every thread it makes inherits it
        with on_cpus(client):
            assert os.sched_getaffinity(0) == set(client)
            assert bench_lab(url, 4, 2)["done"] == 4
        assert os.sched_getaffinity(0) == mine  # the benchmark's own thread gets its CPUs back
    rows = throughput_rows([(4, 2, 0.0)], rounds=1, apart=True)
    assert rows[0]["cpus"] == (server, client) and rows[0]["done_qwenlab"] == 4
