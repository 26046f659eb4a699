"""Long tasks past the sync cap, over real HTTP on loopback: Runware holds a sync request about
120 s and answers 504 failedTaskTimeout (the client's read timeout is also 120 s). The task goes
on, so the client fetches it with getResponse instead of failing or sending it again: the image
arrives and is paid once (the emulator's ledger)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.core.request import Request
from qwenlab.emulator import Emulator

KEY = "sk-sync-cap-test"


def client_for(emu: Emulator, data_dir: Path, **kw) -> RunwareClient:
    kw.setdefault("poll_initial", 0.05)
    kw.setdefault("poll_max", 0.2)
    kw.setdefault("backoff_base", 0.01)
    return RunwareClient(KEY, emu.url, images_dir=data_dir / "images", **kw)


def inference_posts(emu: Emulator) -> list[str]:
    return [t["taskUUID"] for r in emu.requests if r.method == "POST" for t in r.body if t.get("taskType") == "imageInference"]


@pytest.mark.parametrize("number_results", [1, 3])
def test_a_task_past_the_servers_sync_cap_still_arrives_paid_once(data_dir: Path, number_results: int) -> None:
    with Emulator(latency=1.0, sync_cap=0.25) as emu, client_for(emu, data_dir) as client:
        r = Request(prompt="A poster that reads 'LUMIERE'", size="256x256", numberResults=number_results)
        result = client.generate(r)
        assert result.ok and result.recovered and len(result.good_images) == number_results
        assert all(img.path.is_file() for img in result.images)
        assert inference_posts(emu) == [r.task_uuid]  # sent once, never again
        assert len(emu.ledger) == number_results and emu.ledger.charged_twice() == []
        assert result.cost == pytest.approx(emu.ledger.total())


def test_a_task_past_the_clients_read_timeout_still_arrives_paid_once(data_dir: Path) -> None:
    with Emulator(latency=1.0) as emu, client_for(emu, data_dir, timeout=0.3) as client:
        r = Request(prompt="A poster that reads 'LUMIERE'", size="256x256")
        result = client.generate(r)
        assert result.ok and result.recovered and inference_posts(emu) == [r.task_uuid]
        assert len(emu.ledger) == 1 and emu.ledger.charged_twice() == []


def test_a_sweep_of_long_tasks_is_logged_done_and_paid_once(data_dir: Path) -> None:
    with Emulator(latency=0.6, sync_cap=0.15) as emu, client_for(emu, data_dir) as client:
        lab = Lab(data_dir, client=client)
        exp = lab.run(Sweep(prompt="A poster for LUMIERE", size="256x256", numberResults=2,
                            axes={"outputQuality": [60, 61, 62]}), name="long", concurrency=3, progress=False)
        tasks = lab.log.tasks(exp.id)
        assert exp.counts()["done"] == 3 and all(t["status"] == "done" for t in tasks)
        assert len(emu.ledger) == 6 and emu.ledger.charged_twice() == []
        assert lab.log.spent(exp.id) == pytest.approx(emu.ledger.total())
        assert len(lab.log.images(exp.id)) == 6
