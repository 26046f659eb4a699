"""What a sweep logs and spends when Runware's answers are read as documented, or not documented:
every item reporting the whole task's cost is counted once (tasks.cost_reading says how costs were
read), and an image in another format than asked is kept with the mismatch noted in its row."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient

PRICE = 0.075


def image(fmt: str, color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(buf, format=fmt)
    return buf.getvalue()


class Runware:
    """A MockTransport stand-in: each item reports `per_item(n)` as its cost, images come as `fmt`."""

    def __init__(self, per_item: Any, fmt: str = "JPEG") -> None:
        self.per_item, self.fmt = per_item, fmt
        self.files: dict[str, bytes] = {}
        self.charged = 0.0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # an image, or the client asking the base URL what it is (Runware)
            data = self.files.get(str(request.url))
            return httpx.Response(200, content=data) if data is not None else httpx.Response(404)
        data = []
        for task in json.loads(request.content):
            n = task.get("numberResults", 1)
            self.charged += PRICE * n
            for i in range(n):
                url = f"https://im.runware.test/{uuid.uuid4()}.img"
                self.files[url] = image(self.fmt, (len(self.files) * 7 % 256, i * 60, 90))
                data.append({"taskType": "imageInference", "taskUUID": task["taskUUID"], "imageUUID": str(uuid.uuid4()),
                             "imageURL": url, "seed": i, "cost": self.per_item(n)})
        return httpx.Response(200, json={"data": data})


def lab_for(server: Runware, data_dir: Path) -> tuple[Lab, RunwareClient]:
    client = RunwareClient("sk-costs-test", transport=httpx.MockTransport(server), images_dir=data_dir / "images",
                           sleep=lambda s: None)
    return Lab(data_dir, client=client), client


@pytest.mark.parametrize("per_item, reading", [(lambda n: PRICE * n, "per_task"), (lambda n: PRICE, "per_image")],
                         ids=["whole-task-cost-on-every-item", "own-cost-on-every-item"])
def test_a_task_cost_reported_on_every_item_is_counted_once_in_the_log_and_the_budget(data_dir: Path, per_item, reading) -> None:
    server = Runware(per_item)
    lab, client = lab_for(server, data_dir)
    with client:
        # 3 cells of 3 images ($0.225 each): a budget of $0.50 holds 2 of them, counted once
        exp = lab.run(Sweep(prompt="A poster for LUMIERE", size="256x256", numberResults=3,
                            axes={"outputQuality": [60, 61, 62]}), name="costs", budget_usd=0.5, concurrency=1,
                      progress=False)
    tasks = [t for t in lab.log.tasks(exp.id) if t["status"] == "done"]
    assert len(tasks) == 2 and {t["cost_reading"] for t in tasks} == {reading}
    assert [t["cost_usd"] for t in tasks] == pytest.approx([0.225, 0.225])
    assert lab.log.spent(exp.id) == pytest.approx(server.charged) == pytest.approx(0.45)
    assert [i["cost_usd"] for i in lab.log.images(exp.id)] == pytest.approx([PRICE] * 6)


def test_an_image_in_another_format_is_kept_and_its_row_says_so(data_dir: Path) -> None:
    server = Runware(lambda n: PRICE, fmt="PNG")
    lab, client = lab_for(server, data_dir)
    with client:
        exp = lab.run(Sweep(prompt="A poster for LUMIERE", size="256x256", outputFormat="JPG"), name="fmt", progress=False)
    (row,) = lab.log.images(exp.id)
    assert exp.counts()["done"] == 1 and row["format"] == "PNG" and row["path"].endswith(".png")
    assert (data_dir / row["path"]).is_file()
    assert json.loads(row["raw_json"])["_qwenlab"] == {"formatRequested": "JPEG", "formatReceived": "PNG"}
