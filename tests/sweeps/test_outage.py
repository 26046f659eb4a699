"""An API that is down stops the run: once OUTAGE_AFTER cells in a row (or `concurrency`, when
larger) got no answer, or only 5xx through every retry, nothing more is sent. Before, every
cell of the sweep spent its retries on a dead server, one after another (minutes each with
Runware's backoff), and ended failed or in doubt. Real HTTP on loopback: an emulator answering
5xx to everything, then a port nobody listens on; the next run, with the API back, finishes the
sweep and pays each cell once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.cli.exits import to_click_error
from qwenlab.emulator import Emulator
from qwenlab.emulator.faults import Faults
from qwenlab.errors import TransportError
from qwenlab.sweeps.runner import OUTAGE_AFTER
from tests.sweeps.test_money import make_lab  # noqa: F401

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
SEED = 1  # the dice: 5xx for several cells, never three in a row (deterministic at concurrency 1)
SWEEP = Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]}, repeats=6)  # 12 cells


def test_a_run_stops_when_the_api_answers_only_5xx_and_the_next_run_finishes(emulator: Emulator, make_lab) -> None:  # noqa: F811
    emulator.faults = Faults(rate_5xx=1.0)
    lab: Lab = make_lab(emulator, max_retries=1)
    with pytest.raises(TransportError) as info:
        lab.run(SWEEP, name="down", concurrency=2, progress=False)
    exp = info.value.experiment
    counts = exp.counts()
    assert "cells in a row got no answer" in exp.row["stop_reason"] and exp.row["status"] == "failed"
    # the cells answered 5xx are in doubt (a gateway may answer so after the API took a task);
    # those already under way in the run's other workers (2 x concurrency in all) when the count
    # was reached made no more retries; the rest were never sent
    most = OUTAGE_AFTER + 2 * 2 - 1
    assert OUTAGE_AFTER <= counts["in_doubt"] <= most and counts["failed"] == 0, counts
    assert counts["pending"] == 12 - counts["in_doubt"] and counts["pending"] >= 12 - most, counts
    assert "looks down" in exp.summary()
    # in the shell: the summary, whose stop line gives the last error once, with no advice for a
    # caller of the client ("client.recover(request)") that a shell user cannot follow
    shown = to_click_error(info.value).format_message()
    assert shown == exp.summary() and shown.count("HTTP 5") == 2 and "client.recover" not in shown, shown

    emulator.faults = Faults()
    again = make_lab(emulator).run(SWEEP, name="down", concurrency=2, progress=False)
    assert again.counts()["done"] == 12
    assert emulator.ledger.charged_twice() == [] and len({c.task_uuid for c in emulator.ledger.charges}) == 12


def test_a_run_stops_when_nothing_listens(data_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    client = RunwareClient("sk-outage-test", f"http://127.0.0.1:{port}/v1", images_dir=data_dir / "images",
                           max_retries=3, backoff_base=0.05)
    try:
        with pytest.raises(TransportError) as info:
            Lab(data_dir, client=client).run(SWEEP, name="nowhere", concurrency=1, progress=False)
    finally:
        client.close()
    exp = info.value.experiment
    counts = exp.counts()
    # never reached the server: failed, free, sent again next run (one more may have been on the
    # wire when the count was reached); the rest not sent at all
    assert OUTAGE_AFTER <= counts["failed"] <= OUTAGE_AFTER + 1 and counts["pending"] == 12 - counts["failed"], counts
    assert "could not connect" in exp.row["stop_reason"]
    # the cells that made the count spent their retries; one on the wire when the run stopped made
    # no more (before, it spent every retry on the dead server after the stop)
    attempts = sorted((int(a) for a in exp.df.query("status == 'failed'")["attempts"]), reverse=True)
    assert attempts[:OUTAGE_AFTER] == [4] * OUTAGE_AFTER and all(a < 4 for a in attempts[OUTAGE_AFTER:]), attempts


def test_cells_the_api_answers_keep_the_count_at_zero(emulator: Emulator, make_lab) -> None:  # noqa: F811
    # a 5xx now and then is not an outage: cells answered between reset the count
    emulator.faults = Faults(rate_5xx=0.3, seed=SEED)
    exp = make_lab(emulator, max_retries=0).run(SWEEP, name="flaky", concurrency=1, progress=False)
    counts = exp.counts()
    assert counts["pending"] == 0 and counts["done"] + counts["in_doubt"] == 12, counts
    assert 2 <= counts["in_doubt"], counts  # cells answered 5xx (in doubt), never OUTAGE_AFTER of them in a row
