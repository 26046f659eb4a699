"""An emulator's memory: the tasks one process made, known to the next, as Runware knows them.

Two emulators opening one file stand for two processes (a first `qwenlab run`, then a second):
the second answers getResponse for the first one's task at its own URLs, serves the same bytes,
refuses the taskUUID again without a charge, and still knows an upload's imageUUID.
"""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from qwenlab.emulator import Emulator, Faults
from tests.support.wire import KEY, http_client, task


@pytest.fixture
def http():
    yield from http_client()


def post(http: httpx.Client, emu: Emulator, *tasks: dict) -> httpx.Response:
    return http.post(emu.url, json=list(tasks))


def get_response(http: httpx.Client, emu: Emulator, task_uuid: str) -> httpx.Response:
    return post(http, emu, {"taskType": "getResponse", "taskUUID": task_uuid})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_later_emulator_answers_for_an_earlier_ones_task_with_the_same_image(http, tmp_path: Path) -> None:
    memory = tmp_path / "emulator.db"
    with Emulator(api_key=KEY, memory=memory) as first:
        sent = task(numberResults=2, includeCost=True)
        made = post(http, first, sent).json()["data"]
        originals = {item["imageUUID"]: http.get(item["imageURL"]).content for item in made}
    with Emulator(api_key=KEY, memory=memory) as second:
        answer = get_response(http, second, sent["taskUUID"])
        assert answer.status_code == 200, answer.text
        items = answer.json()["data"]
        assert [i["imageUUID"] for i in items] == [i["imageUUID"] for i in made]
        assert all(i["status"] == "success" and i["imageURL"].startswith(f"http://127.0.0.1:{second.port}/images/")
                   for i in items)
        assert [i["seed"] for i in items] == [i["seed"] for i in made]
        assert [i["cost"] for i in items] == [i["cost"] for i in made]
        for item in items:
            assert http.get(item["imageURL"]).content == originals[item["imageUUID"]]
        # the same taskUUID again is the task already accepted, never a second charge
        again = post(http, second, sent)
        assert again.status_code == 400 and again.json()["errors"][0]["code"] == "conflictTaskUUID"
        assert len(second.ledger) == 0


def test_without_a_memory_a_later_emulator_knows_nothing(http, tmp_path: Path) -> None:
    with Emulator(api_key=KEY) as first:
        sent = task()
        assert post(http, first, sent).status_code == 200
    with Emulator(api_key=KEY) as second:
        answer = get_response(http, second, sent["taskUUID"])
        assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "taskFailedOrNotFound"
    assert not list(tmp_path.rglob("emulator.db*"))


def test_inline_images_are_answered_inline_again(http, tmp_path: Path) -> None:
    memory = tmp_path / "emulator.db"
    with Emulator(api_key=KEY, memory=memory) as first:
        sent = task(outputType="base64Data")
        made = post(http, first, sent).json()["data"][0]
    with Emulator(api_key=KEY, memory=memory) as second:
        item = get_response(http, second, sent["taskUUID"]).json()["data"][0]
        assert "imageURL" not in item
        assert item["imageBase64Data"] == made["imageBase64Data"]


def test_a_task_is_forgotten_once_its_ttl_has_passed(http, tmp_path: Path) -> None:
    memory, clock = tmp_path / "emulator.db", Clock()
    with Emulator(api_key=KEY, memory=memory, clock=clock) as first:
        short, default = task(ttl=120), task()
        path = httpx.URL(post(http, first, short).json()["data"][0]["imageURL"]).path
        assert post(http, first, default).status_code == 200
    clock.now += 121
    with Emulator(api_key=KEY, memory=memory, clock=clock) as second:
        gone = get_response(http, second, short["taskUUID"])
        assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "taskFailedOrNotFound"
        assert http.get(f"http://127.0.0.1:{second.port}{path}").status_code == 404
        assert get_response(http, second, default["taskUUID"]).status_code == 200  # an hour by default
    clock.now += 3600
    with Emulator(api_key=KEY, memory=memory, clock=clock) as third:
        assert get_response(http, third, default["taskUUID"]).status_code == 404


@pytest.mark.parametrize("output_type", ["base64Data", "dataURI"])
def test_ttl_shortens_nothing_but_an_image_url(http, tmp_path: Path, output_type: str) -> None:
    """The model page (L165): ttl "Only applies when outputType is `URL`". A base64 task sent with
    ttl=60 was forgotten a minute later, its taskUUID free to be charged a second time."""
    memory, clock = tmp_path / "emulator.db", Clock()
    with Emulator(api_key=KEY, memory=memory, clock=clock) as first:
        sent = task(outputType=output_type, ttl=60)
        assert post(http, first, sent).status_code == 200
    clock.now += 121
    with Emulator(api_key=KEY, memory=memory, clock=clock) as second:
        assert get_response(http, second, sent["taskUUID"]).status_code == 200  # kept an hour, the default
        again = post(http, second, sent)
        assert again.status_code == 400 and again.json()["errors"][0]["code"] == "conflictTaskUUID"
        assert len(second.ledger) == 0


def test_a_failed_task_is_unknown_later_but_its_task_uuid_stays_taken(http, tmp_path: Path) -> None:
    memory = tmp_path / "emulator.db"
    with Emulator(api_key=KEY, memory=memory) as first:
        first.script(["task_error"])
        sent = task()
        assert post(http, first, sent).status_code == 500
    with Emulator(api_key=KEY, memory=memory) as second:
        assert get_response(http, second, sent["taskUUID"]).status_code == 404
        again = post(http, second, sent)
        assert again.status_code == 400 and again.json()["errors"][0]["code"] == "conflictTaskUUID"


def test_an_upload_still_works_as_a_reference_in_a_later_emulator(http, tmp_path: Path) -> None:
    memory = tmp_path / "emulator.db"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    with Emulator(api_key=KEY, memory=memory) as first:
        upload = post(http, first, {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": uri})
        image_uuid = upload.json()["data"][0]["imageUUID"]
    with Emulator(api_key=KEY, memory=memory) as second:
        with_ref = post(http, second, task(inputs={"referenceImages": [image_uuid]}))
        assert with_ref.status_code == 200, with_ref.text
    with Emulator(api_key=KEY) as forgetful:
        refused = post(http, forgetful, task(inputs={"referenceImages": [image_uuid]}))
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "invalidReferenceImage"


def test_two_emulators_open_at_once_share_what_they_made(http, tmp_path: Path) -> None:
    """A notebook's kernel and a `qwenlab run` in a shell, each with its embedded emulator."""
    memory = tmp_path / "emulator.db"
    with Emulator(api_key=KEY, memory=memory) as one, Emulator(api_key=KEY, memory=memory) as other:
        sent = task()
        assert post(http, one, sent).status_code == 200
        assert get_response(http, other, sent["taskUUID"]).status_code == 200
        assert post(http, other, sent).json()["errors"][0]["code"] == "conflictTaskUUID"


def test_faults_do_not_reach_the_memory(http, tmp_path: Path) -> None:
    """A request the emulator refused (429, a bad parameter) took no taskUUID."""
    memory = tmp_path / "emulator.db"
    with Emulator(api_key=KEY, memory=memory, faults=Faults()) as first:
        first.script(["429"])
        sent = task()
        assert post(http, first, sent).status_code == 429
        assert post(http, first, task(width=100)).status_code == 400
    with Emulator(api_key=KEY, memory=memory) as second:
        assert post(http, second, sent).status_code == 200


def test_a_long_running_emulator_drops_what_has_expired_as_it_goes(http, tmp_path: Path, monkeypatch) -> None:
    """A notebook's kernel may run for days: its memory must not keep every image it ever made."""
    import sqlite3

    from qwenlab.emulator import memory as memory_module

    monkeypatch.setattr(memory_module, "PRUNE_EVERY", 2)
    path, clock = tmp_path / "emulator.db", Clock()
    with Emulator(api_key=KEY, memory=path, clock=clock) as emu:
        assert post(http, emu, task(ttl=60)).status_code == 200
        clock.now += 61
        assert post(http, emu, task()).status_code == 200  # the second image kept: expired ones go
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT count(*) FROM images").fetchone()[0] == 1
            assert db.execute("SELECT count(*) FROM tasks").fetchone()[0] == 1


@pytest.mark.slow
def test_many_emulators_opening_a_new_memory_at_once_all_keep_it(tmp_path: Path) -> None:
    """Two kernels (or a kernel and a `qwenlab` command) starting together on a new data folder
    open the same new emulator.db at the same instant. SQLite may refuse the switch to WAL at once
    then ("database is locked", no busy wait): that emulator ran without memory, so it forgot the
    other process's tasks (getResponse; a taskUUID both sent was charged twice). It waits now.
    Before, 200 rounds of 8 openers failed here 2 times in 3; 400 rounds catch it more often."""
    from qwenlab.emulator.memory import TaskMemory
    from tests.support.at_once import at_once

    failures: list[str] = []
    for round_ in range(400):
        path = tmp_path / f"m{round_}" / "emulator.db"
        failures += at_once(lambda path=path: TaskMemory(path, Clock()).close())
    assert failures == []
