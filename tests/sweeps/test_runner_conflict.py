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
