"""The runner's taskUUIDs are minted by the log and owned by it: a conflictTaskUUID for one of them
means that very task was sent before (a crashed run, another process sharing the log), so its
results are fetched and nothing is paid twice, where the client alone treats the same answer on a
first attempt as another task's UUID."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"


def test_a_cell_another_process_already_sent_is_fetched_not_failed(emulator: Emulator, data_dir: Path) -> None:
    sweep = Sweep(prompt=PROMPT, size="256x384", axes={"outputQuality": [60, 61, 62]})
    with RunwareClient("sk-conflict-test", emulator.url, images_dir=data_dir / "images", backoff_base=0.01,
                       poll_initial=0.02, poll_max=0.1) as client:
        lab = Lab(data_dir, client=client)
        lab.run(sweep, name="shared", budget_usd=0.01, progress=False)  # logs the cells, sends none
        rows = lab.log.tasks(int(lab.log.experiment("shared")["id"]))
        assert {r["status"] for r in rows} == {"pending"} and len(emulator.ledger) == 0
        # another notebook sharing this log sends the second cell first, under the log's taskUUID
        sent = json.loads(rows[1]["request_json"])
        answer = httpx.post(emulator.url, json=[sent], headers={"Authorization": "Bearer other-notebook"}, trust_env=False)
        assert answer.status_code == 200

        exp = lab.run(sweep, name="shared", budget_usd=1.0, progress=False, concurrency=1)
        tasks = {t["task_uuid"]: t for t in lab.log.tasks(exp.id)}
    assert exp.counts()["done"] == 3 and emulator.ledger.charged_twice() == []
    assert len(emulator.ledger) == 3 and tasks[sent["taskUUID"]]["status"] == "done"
    images = {i["image_uuid"] for i in lab.log.images(exp.id)}
    assert answer.json()["data"][0]["imageUUID"] in images  # the other notebook's paid image is this cell's


def test_a_cell_another_run_finished_meanwhile_is_neither_marked_sent_nor_sent_again(emulator: Emulator,
                                                                                     data_dir: Path) -> None:
    """Two runs of one experiment on one log (two notebooks, or a notebook and `qwenlab run`): the
    second read the cells before the first finished them. It marked each done row 'sent' again
    before sending it (a conflictTaskUUID then fetched it back), so the log showed done cells,
    images and all, in doubt meanwhile: the first run ended 'done, 2 in doubt' with exit 1, and a
    second run killed then left them in doubt for good. Now a row found done is left alone."""
    sweep = Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": [60, 61, 62]})
    with RunwareClient("sk-conflict-test", emulator.url, images_dir=data_dir / "images", backoff_base=0.01,
                       poll_initial=0.02, poll_max=0.1) as client:
        first = Lab(data_dir, client=client)
        assert first.run(sweep, name="shared", progress=False).counts()["done"] == 3
        charged = len(emulator.ledger)
        with first.log.transaction() as db:  # every status a done row is turned back to
            db.execute("CREATE TABLE undone (task_id INTEGER, status TEXT)")
            db.execute("CREATE TRIGGER undone AFTER UPDATE OF status ON tasks WHEN OLD.status = 'done' AND "
                       "NEW.status != 'done' BEGIN INSERT INTO undone VALUES (NEW.id, NEW.status); END")
        second = Lab(data_dir, client=client)  # its own connection, as another process has
        second.log.tasks = lambda *a, **k: []  # type: ignore[method-assign]  # it read the log before the first ran
        exp = second.run(sweep, name="shared", progress=False, concurrency=1)
        undone = first.log.rows("SELECT * FROM undone")
    assert undone == [], f"done cells turned back: {undone}"
    assert exp.counts()["done"] == 3 and len(emulator.ledger) == charged and emulator.ledger.charged_twice() == []
