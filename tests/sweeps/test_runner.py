"""Lab.run against the real client and a real emulator on loopback: logging, budget under
concurrency, resume (also after kill -9), failure handling, seeds, and the Experiment object."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.core.request import Request
from qwenlab.emulator import Emulator
from qwenlab.errors import (
    AuthenticationError,
    ExperimentConflictError,
    ExperimentNotFoundError,
    ValidationError,
)
from qwenlab.sweeps.budget import Budget
from qwenlab.sweeps.dispatch import LOG_CHUNK
from tests.support.interrupt import ctrl_c_when_sent, join_run_threads, statuses

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
PRICE = 0.075


def small_sweep(n_quality: int = 2, repeats: int = 2, **kw: Any) -> Sweep:
    """2 x n_quality x repeats cells of small images (fast to draw and save)."""
    return Sweep(prompt=PROMPT, size="256x384", repeats=repeats,
                 axes={"promptExtend": [True, False], "outputQuality": list(range(60, 60 + n_quality))}, **kw)


@pytest.fixture
def make_lab(data_dir: Path) -> Callable[..., Lab]:
    made: list[RunwareClient] = []

    def make(emu: Emulator, key: str = "sk-runner-test", **kw: Any) -> Lab:
        kw.setdefault("backoff_base", 0.01)
        kw.setdefault("poll_initial", 0.02)
        kw.setdefault("poll_max", 0.1)
        client = RunwareClient(key, emu.url, images_dir=data_dir / "images", **kw)
        made.append(client)
        return Lab(data_dir, client=client)

    yield make
    for c in made:
        c.close()


def ledger_per_task(emu: Emulator) -> dict[str, int]:
    return {task: len(charges) for task, charges in emu.ledger.by_task().items()}


def test_run_logs_every_cell_image_seed_and_cost(emulator: Emulator, make_lab, data_dir: Path) -> None:
    lab = make_lab(emulator)
    exp = lab.run(small_sweep(), name="lumiere", progress=False)
    assert exp.status == "done" and exp.counts()["done"] == 8
    df = exp.df
    assert list(df.columns[:4]) == ["cell", "promptExtend", "outputQuality", "repeat"]
    assert df["status"].tolist() == ["done"] * 8
    # the emulator's own number, shown as emulated (it is not Runware's: nothing was paid)
    assert df["cost_usd"].tolist() == [PRICE] * 8 and (df["cost_source"] == "emulated").all()
    assert exp.cost == pytest.approx(emulator.ledger.total()) == pytest.approx(8 * PRICE)
    images = exp.images
    assert len(images) == 8 and all(Path(p).is_file() for p in images["path"])
    charged = {c.image_uuid for c in emulator.ledger.charges}
    assert set(images["image_uuid"]) == charged
    # the seed each result reports is the one logged (2.0-pro samples: nothing pinned)
    rows = {r["image_uuid"]: r for r in lab.log.images(exp.id)}
    assert all(not Path(r["path"]).is_absolute() for r in rows.values())  # relative to the data folder
    assert all(isinstance(r["seed"], int) for r in rows.values())
    tasks = lab.log.tasks(exp.id)
    assert all(t["seed"] is None and t["seed_policy"] == "sample" for t in tasks)
    assert all(t["sent_at"] <= t["completed_at"] for t in tasks)
    sent = {r.body[0]["taskUUID"]: r.body[0] for r in emulator.requests if isinstance(r.body, list) and r.body
            and r.body[0].get("taskType") == "imageInference"}
    for t in tasks:  # the JSON logged is the JSON that left
        assert Request.from_json(t["request_json"]).to_task() == sent[t["task_uuid"]]


def test_the_first_request_goes_before_every_cell_is_logged_and_every_cell_is_logged_in_order(
        emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    sweep = small_sweep(n_quality=10)  # 40 cells
    logged_at_first_send: list[int] = []
    generate = lab.client.generate

    def counting_generate(request, **kwargs):
        logged_at_first_send.append(lab.log.rows("SELECT count(*) AS n FROM tasks")[0]["n"])
        return generate(request, **kwargs)

    lab.client.generate = counting_generate  # type: ignore[method-assign]
    exp = lab.run(sweep, name="first-goes-first", concurrency=1, progress=False)
    # the first cells are logged alone (as many as may be under way: two at concurrency 1), so the
    # first request leaves without waiting for the 38 others to be written; the next batch may be
    # written meanwhile, while that request is on the wire
    assert logged_at_first_send[0] in (2, 2 + LOG_CHUNK) and 2 + LOG_CHUNK < 40
    tasks = lab.log.tasks(exp.id)  # in the order they were logged
    assert [t["cell_key"] for t in tasks] == [c.key for c in sweep.cells()]
    assert len({t["task_uuid"] for t in tasks}) == 40 and exp.counts()["done"] == 40
    sent = [r.body[0]["taskUUID"] for r in emulator.requests if isinstance(r.body, list) and r.body
            and r.body[0].get("taskType") == "imageInference"]
    assert sorted(sent) == sorted(t["task_uuid"] for t in tasks)  # each sent once, under its logged taskUUID


def test_a_cell_another_process_logged_first_is_sent_under_that_row(emulator: Emulator, make_lab, monkeypatch) -> None:
    """Two notebooks starting the same experiment: a cell's row is inserted once, and the run that
    lost the race sends the cell under the row (the taskUUID) the other one wrote."""
    from qwenlab.store.log import Log

    lab = make_lab(emulator)
    add_tasks = Log.add_tasks
    theirs: list[str] = []

    def racing_add_tasks(self, rows):
        if not theirs:  # the other process writes the first cell's row just before this one
            other = {**rows[0], "task_uuid": "2b8e7d4c-1f3a-4c5b-9d6e-7f8a9b0c1d2e"}
            add_tasks(self, [other])
            theirs.append(other["task_uuid"])
        return add_tasks(self, rows)

    monkeypatch.setattr(Log, "add_tasks", racing_add_tasks)
    exp = lab.run(small_sweep(n_quality=1, repeats=1), name="raced", progress=False)
    tasks = lab.log.tasks(exp.id)
    assert len(tasks) == 2 and tasks[0]["task_uuid"] == theirs[0] and exp.counts()["done"] == 2
    sent = [r.body[0]["taskUUID"] for r in emulator.requests if isinstance(r.body, list) and r.body
            and r.body[0].get("taskType") == "imageInference"]
    assert sorted(sent) == sorted(t["task_uuid"] for t in tasks)


def test_budget_is_never_exceeded_under_concurrency(make_lab) -> None:
    sweep = small_sweep(n_quality=6)  # 24 cells
    with Emulator(latency=0.15) as emu:
        lab = make_lab(emu)
        # what the preview (and `run --dry-run`) says the budget lets through is what eight at once send
        preview = lab.preview(sweep, "b", budget_usd=5 * PRICE)
        assert (preview.affordable, preview.at_most_usd) == (5, round(5 * PRICE, 6))
        exp = lab.run(sweep, name="b", budget_usd=5 * PRICE, concurrency=8, progress=False)
        assert emu.ledger.total() <= 5 * PRICE + 1e-9
        assert exp.counts()["done"] == 5 and exp.counts()["pending"] == 19
        assert exp.status == "budget" and "budget" in exp.stop_reason
        first = ledger_per_task(emu)

        preview = lab.preview(sweep, "b", budget_usd=0.8)
        assert preview.spent_usd == round(5 * PRICE, 6) and preview.affordable == 5
        exp = lab.run(sweep, name="b", budget_usd=0.8, concurrency=8, progress=False)
        assert emu.ledger.total() <= 0.8 + 1e-9
        assert exp.counts()["done"] == 10  # 0.8 // 0.075
        assert emu.ledger.total() == pytest.approx(preview.spent_usd + preview.at_most_usd)
        assert all(ledger_per_task(emu)[t] == n for t, n in first.items())  # done cells were not sent again
        assert emu.ledger.charged_twice() == []


def test_budget_reservations() -> None:
    budget = Budget(0.2, spent=0.05)
    assert budget.reserve(0.075) and budget.reserve(0.075)
    assert not budget.reserve(0.075)  # 0.05 + 0.15 + 0.075 > 0.2, though nothing is spent yet
    budget.settle(0.075, 0.0)  # a failed cell costs nothing: its reservation comes back
    assert budget.reserve(0.075)
    assert Budget(None).reserve(1e9)


def test_numpy_numbers_are_taken_for_the_budget_and_the_concurrency(emulator: Emulator, make_lab) -> None:
    """concurrency=np.int64(2) was refused as "must be a whole number of at least 1, got
    np.int64(2)", and budget_usd=np.int64(1) or np.float32(0.25) as "must be a number of US
    dollars", while a sweep takes numpy numbers for its size, repeats and seed: a notebook reads
    them from a frame. They run as the Python numbers they hold, and the budget is logged so."""
    import numpy as np

    lab = make_lab(emulator)
    sweep = small_sweep(n_quality=1, repeats=2)  # 4 cells
    preview = lab.preview(sweep, "np", budget_usd=np.float32(0.25))
    assert preview.budget_usd == 0.25 and type(preview.budget_usd) is float
    exp = lab.run(sweep, name="np", budget_usd=np.float32(0.25), concurrency=np.int64(2), progress=False)
    assert exp.counts()["done"] == 3 and emulator.ledger.total() <= 0.25 + 1e-9  # 0.25 // 0.075
    assert lab.log.experiment("np")["budget_usd"] == 0.25
    exp = lab.run(sweep, name="np", budget_usd=np.int64(1), concurrency=np.int64(4), progress=False)
    assert exp.counts()["done"] == 4 and lab.log.experiment("np")["budget_usd"] == 1
    # what is no whole number stays refused, numpy or not, before anything is sent
    for bad in ({"concurrency": np.float64(2.5)}, {"concurrency": np.int64(0)}, {"budget_usd": np.float64("nan")},
                {"concurrency": np.bool_(True)}):
        with pytest.raises(ValidationError, match=next(iter(bad))):
            lab.run(sweep, name="np-bad", progress=False, **bad)
    assert lab.log.experiment("np-bad") is None and len(emulator.ledger.charges) == 4


def test_a_run_switch_that_is_no_bool_is_refused_before_anything_is_sent(emulator: Emulator, make_lab) -> None:
    """resend_in_doubt="false" (or os.environ.get("RESEND") == "0") is a true string: it sent cells
    in doubt anew, which may pay for them twice; extend="no" extended a changed sweep; mix_backends
    "False" mixed synthetic results with real ones. Each is refused, naming it, before anything runs."""
    import numpy as np

    lab = make_lab(emulator)
    lab.run(small_sweep(n_quality=1, repeats=1), name="switches", progress=False)
    changed = small_sweep(n_quality=2, repeats=1)
    for switch, value in (("extend", "no"), ("resend_in_doubt", "false"), ("mix_backends", "False"), ("reuse_name", "0"),
                          ("extend", 1)):
        with pytest.raises(ValidationError) as info:
            lab.run(changed, name="switches", progress=False, **{switch: value})
        assert info.value.parameters == [switch] and "must be True or False" in str(info.value), switch
        assert ("a non-empty string is true in Python" in str(info.value)) == isinstance(value, str)
    assert len(emulator.ledger.charges) == 2 and lab.experiment("switches").counts()["done"] == 2
    exp = lab.run(changed, name="switches", progress=False, extend=np.bool_(True))  # a numpy bool is a bool
    assert exp.counts()["done"] == 4


def test_rerun_sends_only_what_is_not_done(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    lab.run(small_sweep(), name="r", progress=False)
    before = emulator.ledger.total()
    requests = len(emulator.requests)
    exp = lab.run(small_sweep(), name="r", progress=False)
    assert exp.counts()["done"] == 8
    assert emulator.ledger.total() == before and len(emulator.requests) == requests  # nothing at all was sent
    plan = lab.plan(small_sweep(), "r", quiet=True)
    assert set(plan["logged"]) == {"done"}


def test_a_changed_sweep_needs_a_new_name_or_extend(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    lab.run(small_sweep(n_quality=1), name="x", progress=False)
    with pytest.raises(ExperimentConflictError, match="extend=True"):
        lab.run(small_sweep(n_quality=2), name="x", progress=False)
    exp = lab.run(small_sweep(n_quality=2), name="x", extend=True, progress=False)
    assert exp.counts()["done"] == 8 and emulator.ledger.total() == pytest.approx(8 * PRICE)


def test_a_task_in_doubt_is_recovered_not_paid_twice(emulator: Emulator, make_lab, data_dir: Path) -> None:
    lab = make_lab(emulator)
    sweep = small_sweep(n_quality=1, repeats=1)  # 2 cells
    lab.run(sweep, name="doubt", budget_usd=0.0, progress=False)  # logs the cells, sends nothing
    a, b = lab.log.tasks(lab.log.experiment("doubt")["id"])
    # a crash after each was marked 'sent': a's request reached the server (and was charged), b's did not
    lab.log.mark_sent(a["id"], a["request_json"])
    lab.log.mark_sent(b["id"], b["request_json"])
    with RunwareClient("sk-other", emulator.url, images_dir=data_dir / "elsewhere") as other:
        other.generate(Request.from_json(a["request_json"]))
    assert ledger_per_task(emulator) == {a["task_uuid"]: 1}

    exp = lab.run(sweep, name="doubt", budget_usd=1.0, progress=False)
    assert exp.counts()["done"] == 2
    assert ledger_per_task(emulator) == {a["task_uuid"]: 1, b["task_uuid"]: 1}  # same taskUUIDs, paid once each
    assert emulator.ledger.charged_twice() == []
    assert {t["task_uuid"] for t in lab.log.tasks(exp.id)} == {a["task_uuid"], b["task_uuid"]}
    assert len(exp.images) == 2


def test_a_cell_in_doubt_is_sent_again_only_with_the_key_it_was_sent_with(emulator: Emulator, make_lab) -> None:
    """Sent again with another account's key, a taskUUID that account's server does not know could
    be taken as new and paid for twice, the first image stranded with the first account. The log
    names the key each task was sent with (an HMAC under its own salt, never the key), and a run
    with another key leaves such a cell in doubt, saying why and what to do."""
    key_a, key_b = "sk-account-a-000111", "sk-account-b-000222"
    lab_a = make_lab(emulator, key=key_a)
    sweep = small_sweep(n_quality=1, repeats=2)  # 4 cells
    lab_a.run(sweep, name="keys", budget_usd=0.0, progress=False)  # logs the cells, sends nothing
    exp_id = lab_a.log.experiment("keys")["id"]
    a1, a2, old, _ = lab_a.log.tasks(exp_id)
    named_a = lab_a.client.key_id(lab_a.log.key_salt())
    assert len(named_a) == 16 and key_a not in named_a
    # a run with key A crashed after marking three of them 'sent'; none reached the server. `old`
    # was marked by a qwenlab before key ids: its key is not known
    for row in (a1, a2):
        lab_a.log.mark_sent(row["id"], row["request_json"], key_id=named_a)
    lab_a.log.mark_sent(old["id"], old["request_json"])

    assert lab_a.preview(sweep, "keys", budget_usd=1.0).other_key == 0
    lab_b = make_lab(emulator, key=key_b)
    # the plan says so before anything is sent
    preview = lab_b.preview(sweep, "keys", budget_usd=1.0)
    assert preview.other_key == 2
    assert ("2 cells in doubt were sent with another API key: the run asks the server about them with this one"
            in preview.budget_text())
    assert "Run again with the key they were sent with to recover them" in preview.budget_text()
    exp = lab_b.run(sweep, name="keys", budget_usd=1.0, progress=False)
    counts = exp.counts()
    assert (counts["in_doubt"], counts["done"]) == (2, 2), counts
    assert "2 cells in doubt were sent with another API key" in exp.stop_reason
    assert "Run again with the key they were sent with to recover them" in exp.stop_reason
    charged = ledger_per_task(emulator)
    assert a1["task_uuid"] not in charged and a2["task_uuid"] not in charged  # asked about, not sent
    assert charged[old["task_uuid"]] == 1  # an unknown key: sent under its taskUUID, as before
    rows = {t["id"]: t for t in lab_b.log.tasks(exp_id)}
    for row in (a1, a2):
        kept = rows[row["id"]]
        assert (kept["status"], kept["key_id"], kept["task_uuid"]) == ("sent", named_a, row["task_uuid"])
        assert "another API key" in kept["error_message"] and "resend_in_doubt=True" in kept["error_message"]
    named_b = lab_b.client.key_id(lab_b.log.key_salt())
    assert named_b != named_a and rows[old["id"]]["key_id"] == named_b
    log_text = Path(lab_b.log.path).read_bytes()
    assert key_a.encode() not in log_text and key_b.encode() not in log_text

    # with key A again, they go under their own taskUUIDs (the server would answer conflictTaskUUID
    # had it taken them)
    exp = make_lab(emulator, key=key_a).run(sweep, name="keys", budget_usd=1.0, progress=False)
    assert exp.counts()["done"] == 4
    charged = ledger_per_task(emulator)
    assert charged[a1["task_uuid"]] == 1 and charged[a2["task_uuid"]] == 1
    assert emulator.ledger.charged_twice() == []


def test_resend_in_doubt_sends_a_cell_of_another_key_anew_by_choice(emulator: Emulator, make_lab) -> None:
    lab_a = make_lab(emulator, key="sk-account-a-000111")
    sweep = small_sweep(n_quality=1, repeats=1)  # 2 cells
    lab_a.run(sweep, name="keys", budget_usd=0.0, progress=False)
    exp_id = lab_a.log.experiment("keys")["id"]
    a, b = lab_a.log.tasks(exp_id)
    lab_a.log.mark_sent(a["id"], a["request_json"], key_id=lab_a.client.key_id(lab_a.log.key_salt()))
    exp = make_lab(emulator, key="sk-account-b-000222").run(sweep, name="keys", budget_usd=1.0, progress=False,
                                                               resend_in_doubt=True)
    assert exp.counts()["done"] == 2
    renewed = lab_a.log.task(a["id"])
    assert renewed["task_uuid"] != a["task_uuid"] and a["task_uuid"] in renewed["history_json"]
    assert ledger_per_task(emulator) == {renewed["task_uuid"]: 1, b["task_uuid"]: 1}


def test_a_failed_cell_is_logged_and_the_sweep_goes_on(emulator: Emulator, make_lab) -> None:
    # one retry: the emulator answers a failed task with HTTP 500, and a 5xx on every attempt
    # leaves a cell in doubt; the retry's conflictTaskUUID has its error read with getResponse
    lab = make_lab(emulator, max_retries=1)
    emulator.script(["task_error"])  # the first task fails inside the model
    exp = lab.run(small_sweep(), name="f", concurrency=1, progress=False)
    counts = exp.counts()
    assert (counts["failed"], counts["done"]) == (1, 7)
    failed = exp.df[exp.df["status"] == "failed"].iloc[0]
    assert failed["error_code"] and failed["error_message"]
    assert "1 cell failed" in exp.stop_reason

    old_uuid = failed["task_uuid"]
    exp = lab.run(small_sweep(), name="f", progress=False)  # the failed cell is tried again, under a new taskUUID
    assert exp.counts()["done"] == 8
    row = lab.log.task(int(failed["task_id"]))
    assert row["task_uuid"] != old_uuid and old_uuid in row["history_json"]
    assert emulator.ledger.charged_twice() == []


def test_a_bad_key_stops_the_sweep_at_once(make_lab) -> None:
    with Emulator(api_key="sk-the-right-one") as emu:
        lab = make_lab(emu, key="sk-a-wrong-one")
        with pytest.raises(AuthenticationError) as info:
            lab.run(small_sweep(n_quality=5), name="bad-key", concurrency=2, progress=False)
        exp = info.value.experiment
        counts = exp.counts()
        assert exp.status == "failed" and "AuthenticationError" in exp.stop_reason
        assert counts["failed"] <= 2 and counts["pending"] >= 18  # stopped, not tried 20 times
        assert emu.ledger.total() == 0


def test_invalid_sweeps_send_nothing(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    with pytest.raises(ValidationError):
        lab.run(Sweep(prompt=PROMPT, axes={"size": ["1024x1536", "9000x10"]}), name="bad", progress=False)
    assert emulator.requests == [] and lab.log.experiment("bad") is None


def test_pinned_seeds_are_sent_and_reported(emulator: Emulator, make_lab, seeded_model: str) -> None:
    lab = make_lab(emulator)
    sweep = Sweep(prompt=PROMPT, model=seeded_model, size="256x256", axes={"promptExtend": [True, False]}, repeats=2, seed=500)
    exp = lab.run(sweep, name="pinned", progress=False)
    df = exp.df
    assert df["seed"].tolist() == [500, 500, 501, 501]
    assert [t["seed"] for t in lab.log.tasks(exp.id)] == [500, 500, 501, 501]
    assert sorted(exp.images["seed"]) == [500, 500, 501, 501]


def test_local_reference_images_are_uploaded_once(emulator: Emulator, make_lab, tmp_path: Path) -> None:
    from PIL import Image

    ref = tmp_path / "street.png"
    Image.new("RGB", (96, 64), (40, 60, 90)).save(ref)
    sweep = Sweep(prompt="Edit the empty billboard to read 'LUNE NOIRE'", referenceImages=[str(ref)], size="256x256",
                  axes={"promptExtend": [True, False]})
    exp = make_lab(emulator).run(sweep, name="edit", progress=False)
    assert exp.counts()["done"] == 2
    uploads = [r for r in emulator.requests if isinstance(r.body, list) and r.body and r.body[0].get("taskType") == "imageUpload"]
    assert len(uploads) == 1


def test_the_experiment_object(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    lab.run(small_sweep(n_quality=1, repeats=1), name="shown", budget_usd=1.0, progress=False)
    exp = lab.experiment("shown")
    text = repr(exp)
    assert "'shown'" in text and "2/2 cells done" in text and "$0.15 emulated (nothing paid) of $1.00" in text
    html = exp._repr_html_()
    assert "<table" in html and "data:image/jpeg;base64," in html and "shown" in html
    assert lab.experiments()["name"].tolist() == ["shown"]
    with pytest.raises(ExperimentNotFoundError, match="known: shown"):
        lab.experiment("nope")


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_the_next_run_finishes(make_lab, data_dir: Path) -> None:
    with Emulator(latency=0.5) as emu:
        lab = make_lab(emu)
        ctrl_c_when_sent(data_dir / "qwenlab.db", 2)
        with pytest.raises(KeyboardInterrupt):
            lab.run(small_sweep(), name="ctrl-c", concurrency=2, progress=False)
        exp = lab.experiment("ctrl-c")
        assert exp.status == "interrupted" and "Ctrl-C" in exp.stop_reason
        join_run_threads()  # the requests in flight still finish and are logged
        counts = exp.counts()
        # the Ctrl-C lands once two are on the wire (concurrency 2, 0.5 s each); on a loaded
        # machine it may land a moment later, after the next two left: never later than that
        assert counts["done"] in (2, 4) and counts["pending"] == 8 - counts["done"] and counts["in_doubt"] == 0
        assert len(emu.ledger) == counts["done"]  # every request paid for is logged done
        exp = lab.run(small_sweep(), name="ctrl-c", concurrency=2, progress=False)
        assert exp.counts()["done"] == 8 and emu.ledger.charged_twice() == [] and len(emu.ledger) == 8


def test_ctrl_c_while_the_last_cells_are_in_flight_leaves_the_experiment_done(make_lab, data_dir: Path) -> None:
    """Ctrl-C with nothing left to send: the cells in flight finish and are logged, and then the
    experiment reads "done", not "interrupted" with nothing left to run."""
    with Emulator(latency=0.5) as emu:
        lab = make_lab(emu)
        ctrl_c_when_sent(data_dir / "qwenlab.db", 4)  # every cell of the sweep is on the wire
        with pytest.raises(KeyboardInterrupt):
            lab.run(small_sweep(n_quality=1, repeats=2), name="last", concurrency=4, progress=False)
        assert lab.experiment("last").status == "interrupted"  # at the moment of the Ctrl-C
        join_run_threads()
        exp = lab.experiment("last")
        assert exp.counts()["done"] == 4 and len(emu.ledger) == 4
        assert exp.status == "done" and exp.stop_reason is None
        assert "interrupted" not in exp.summary() and lab.experiments()["status"].tolist() == ["done"]


def test_an_interrupted_experiment_with_a_task_left_is_not_settled_as_done(make_lab, data_dir: Path) -> None:
    """An extended sweep's run: its done cells may outnumber this sweep's, with new cells still
    pending; counting done cells alone once marked such an experiment done."""
    with Emulator() as emu:
        exp = make_lab(emu).run(small_sweep(n_quality=1, repeats=2), name="settle", progress=False)
    log = exp.log
    with log.transaction() as db:
        db.execute("UPDATE experiments SET status = 'interrupted' WHERE id = ?", [exp.id])
        db.execute("UPDATE tasks SET status = 'pending', cost_usd = NULL WHERE id = (SELECT max(id) FROM tasks "
                   "WHERE experiment_id = ?)", [exp.id])
    assert log.settle_interrupted(exp.id, 3) is False  # 3 done, as many as cells: yet one task is left
    assert log.experiment("settle")["status"] == "interrupted"
    with log.transaction() as db:
        db.execute("UPDATE tasks SET status = 'done' WHERE experiment_id = ?", [exp.id])
    assert log.settle_interrupted(exp.id, 3) is True and log.experiment("settle")["status"] == "done"


# -- kill -9 in flight ----------------------------------------------------------------------------
KILL_SWEEP = "Sweep(prompt=%r, size='256x384', axes={'outputQuality': list(range(20, 60))})" % PROMPT  # 40 cells
KILL_SCRIPT = f"""
from qwenlab import Lab, Sweep
Lab().run({KILL_SWEEP}, name="killed", concurrency=4, progress=False)
"""


@pytest.mark.slow
def test_kill_9_in_flight_loses_nothing_and_pays_nothing_twice(data_dir: Path, make_lab) -> None:
    with Emulator(latency=0.4) as emu:
        env = {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_BASE_URL": emu.url, "RUNWARE_API_KEY": "sk-kill-test"}
        child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], env=env, stderr=subprocess.DEVNULL)
        db = data_dir / "qwenlab.db"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill it with work done and requests in flight
            s = statuses(db)
            if s.get("done", 0) >= 8 and s.get("sent", 0) >= 1:
                break
            assert child.poll() is None, "the sweep finished before it could be killed"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        at_kill = statuses(db)
        assert at_kill.get("sent", 0) >= 1 and at_kill.get("done", 0) >= 8

        lab = make_lab(emu, key="sk-kill-test")
        assert lab.log.integrity_check() == "ok"
        done_before = {t["task_uuid"] for t in lab.log.tasks(1) if t["status"] == "done"}
        time.sleep(0.5)  # let the tasks the dead process left in flight finish on the server
        exp = lab.run(eval(KILL_SWEEP), name="killed", concurrency=4, progress=False)

        tasks = lab.log.tasks(exp.id)
        assert exp.counts()["done"] == 40 and len(tasks) == 40
        assert done_before <= {t["task_uuid"] for t in tasks}  # nothing logged was lost or redone
        assert emu.ledger.charged_twice() == []
        charged = ledger_per_task(emu)
        assert set(charged) == {t["task_uuid"] for t in tasks} and set(charged.values()) == {1}  # each cell paid once
        assert {c.image_uuid for c in emu.ledger.charges} == set(exp.images["image_uuid"])  # every paid image kept
        assert all(Path(p).is_file() for p in exp.images["path"])


def test_a_task_with_several_errors_is_listed_under_the_paid_image_it_lost():
    """numberResults=2: one image failed at inference (not charged), the other was paid for but
    its download expired. The task must be listed under the lost paid image, whatever order the
    errors arrived in, so the user sees that money went on an image they do not have."""
    from qwenlab.errors import APIError, ImageError
    from qwenlab.sweeps.cellwork import headline

    inference = APIError("the inference failed for this image", code="inferenceError")
    expired = ImageError("the image's URL expired before it was downloaded")
    assert headline([inference, expired]) is expired
    assert headline([expired, inference]) is expired
    assert headline([inference]) is inference
    assert headline([]) is None


def test_image_paths_are_logged_relative_to_a_data_folder_reached_through_a_link(emulator: Emulator, tmp_path: Path) -> None:
    """The log keeps each image's path relative to the data folder, also when that folder is
    reached through a symbolic link (the store writes under the resolved folder), so the folder
    can move; an image store outside the data folder is logged by its absolute path."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    data = tmp_path / "link"
    outside = tmp_path / "elsewhere"
    for images, expect_relative in ((data / "images", True), (outside, False)):
        client = RunwareClient("sk-runner-test", emulator.url, images_dir=images)
        lab = Lab(data, client=client)
        try:
            exp = lab.run(small_sweep(1, 1), name=f"linked-{expect_relative}", progress=False)
            paths = [r["path"] for r in lab.log.images(exp.id)]
        finally:
            client.close()
            lab.close()
        assert len(paths) == 2
        for p in paths:
            if expect_relative:
                assert p.startswith("images/") and not Path(p).is_absolute()
                assert (data / p).is_file()
            else:
                assert Path(p).is_absolute() and Path(p).is_file() and Path(p).is_relative_to(outside.resolve())
