"""The sweep benchmark's two sides really run: the emulator in a process of its own, qwenlab's
Lab.run and Runware's SDK each sending every task and writing every image."""

from __future__ import annotations

import pytest

from qwenlab.bench.sdk import bench_sdk, sdk_available
from qwenlab.bench.served import served_emulator
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
    rows = throughput_rows([(4, 2, 0.0)])
    print_throughput(rows)
    out = capsys.readouterr().out
    assert rows[0]["done_qwenlab"] == 4
    assert "qwenlab vs SDK" in out and "runware-sdk's speed" in out


@pytest.mark.parametrize("n", [81, 200])
def test_the_sdk_is_sent_the_same_tasks_as_qwenlab_in_the_same_order(n: int) -> None:
    from qwenlab.bench.sweep import _sweep

    sweep, cells = _sweep(n)
    ours = [{k: v for k, v in c.request.to_task().items() if k not in ("taskType", "taskUUID")} | {"includeCost": True}
            for c in sweep.cells()]
    assert cells == n and sdk_tasks(n) == ours  # the same parameters, outputQuality (so the JPEG's size) included
