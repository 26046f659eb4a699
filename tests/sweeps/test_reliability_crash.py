"""Crashes: a sweep killed with SIGKILL again and again while requests are in flight, and two
processes (two notebooks) writing to one log at once.

tests/sweeps/test_runner.py::test_kill_9_in_flight_loses_nothing_and_pays_nothing_twice kills one sync
run once. Here the child process reports every write the moment its transaction returns, and is
killed three times in a row at different points (sync and async delivery), so the checks are
sharper: every write the dead process saw committed is in the database, byte for byte after the
final run; `PRAGMA integrity_check` passes after every kill; every image file under a real name is
whole; and in the end each cell was paid for exactly once, with its images kept.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator
from qwenlab.store.log import Log
from tests.support.at_once import at_once

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
KEY = "sk-reliability-crash"


def crash_sweep(delivery: str = "sync", n: int = 40, prompt: str = PROMPT) -> Sweep:
    """n cells (1 or 2 images each) of small images."""
    extra = {"deliveryMethod": "async"} if delivery == "async" else {}
    return Sweep(prompt=prompt, size="256x256", axes={"outputQuality": f"20-{19 + n // 2}", "numberResults": [1, 2]}, **extra)


# The child: the same sweep, logging each write to stdout once its transaction has returned.
CHILD = textwrap.dedent("""
    import sys
    from qwenlab import Lab
    from qwenlab.store.log import Log
    sys.path.insert(0, {root!r})
    from tests.sweeps.test_reliability_crash import crash_sweep

    import threading
    complete, mark_sent, lock = Log.complete_task, Log.mark_sent, threading.Lock()

    def say(line):  # one whole line at a time: the workers write from several threads
        with lock:
            sys.stdout.write(line + "\\n")
            sys.stdout.flush()

    def complete_task(self, task_id, fields, images=()):
        complete(self, task_id, fields, images)
        say(f"COMMITTED {{task_id}} {{fields['status']}} {{len(images)}}")

    def sent(self, task_id, request_json, **provenance):  # where it was sent (backend, host, version)
        marked = mark_sent(self, task_id, request_json, **provenance)
        say(f"SENT {{task_id}}")
        return marked

    Log.complete_task, Log.mark_sent = complete_task, sent
    name, delivery = sys.argv[1], sys.argv[2]
    Lab().run(crash_sweep(delivery), name=name, concurrency=4, progress=False)
    print("FINISHED", flush=True)
""").format(root=str(Path(__file__).resolve().parents[2]))


def child_env(data_dir: Path, emu: Emulator) -> dict[str, str]:
    return {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_BASE_URL": emu.url, "RUNWARE_API_KEY": KEY}


def run_and_kill(data_dir: Path, emu: Emulator, name: str, delivery: str, commits: int) -> tuple[list[str], dict[int, str]]:
    """Start the child, SIGKILL it after `commits` more task writes with requests in flight;
    return every line it printed and the tasks it saw committed (id -> status)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, name, delivery], env=child_env(data_dir, emu),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    lines: list[str] = []
    sent: set[str] = set()
    finished: set[str] = set()
    deadline = time.monotonic() + 60
    # kill once `commits` tasks were written since the start, with at least one request in flight
    while (len(finished) < commits or not sent - finished) and time.monotonic() < deadline:
        line = child.stdout.readline()
        assert line, f"the child ended before it could be killed: {lines[-3:]}"
        line = line.strip()
        lines.append(line)
        kind, _, rest = line.partition(" ")
        assert kind != "FINISHED", "the sweep finished before it could be killed"
        if kind == "SENT":
            sent.add(rest)
        elif kind == "COMMITTED":
            finished.add(rest.split()[0])
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate(timeout=10)  # what it printed before it died is still in the pipe
    lines += [x.strip() for x in rest.splitlines()]
    assert child.returncode == -signal.SIGKILL
    committed = {int(x.split()[1]): x.split()[2] for x in lines if x.startswith("COMMITTED")}
    return lines, committed


def whole_images(data_dir: Path) -> list[Path]:
    """Every image under a real name; each must hold exactly the bytes its name promises."""
    files = [p for p in (data_dir / "images").rglob("*") if p.is_file() and not p.name.startswith(".tmp-")]
    for p in files:
        assert p.stem == hashlib.sha256(p.read_bytes()).hexdigest(), f"{p} is not whole"
    return files


def snapshot(log: Log, exp_id: int) -> dict[str, Any]:
    """The finished cells and their images, as the log holds them."""
    tasks = {t["task_uuid"]: {k: t[k] for k in ("id", "status", "cost_usd", "error_code", "attempts", "completed_at")}
             for t in log.tasks(exp_id) if t["status"] in ("done", "failed")}
    images = {i["image_uuid"]: {k: i[k] for k in ("task_uuid", "path", "sha256", "seed", "cost_usd")} for i in log.images(exp_id)}
    return {"tasks": tasks, "images": images}


@pytest.mark.slow
@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_killed_three_times_in_flight_loses_nothing_and_pays_nothing_twice(data_dir: Path, delivery: str) -> None:
    db = data_dir / "qwenlab.db"
    kept: dict[str, Any] = {"tasks": {}, "images": {}}
    in_flight_at_kills = []
    with Emulator(latency="uniform:0.1,0.5") as emu:
        for round_, commits in enumerate((4, 8, 8)):
            lines, committed = run_and_kill(data_dir, emu, "crash", delivery, commits)
            with Log(db) as log:
                assert log.integrity_check() == "ok"
                exp_id = int(log.experiment("crash")["id"])
                rows = {t["id"]: t for t in log.tasks(exp_id)}
                # every write the dead process saw committed is there
                for task_id, status in committed.items():
                    assert rows[task_id]["status"] == status, (round_, task_id, status, rows[task_id]["status"])
                images = Counter(i["task_id"] for i in log.images(exp_id))
                for line in lines:
                    if line.startswith("COMMITTED"):
                        _, task_id, _, n = line.split()
                        assert images[int(task_id)] == int(n)
                # and nothing finished earlier changed
                now = snapshot(log, exp_id)
                for uuid, before in kept["tasks"].items():
                    assert now["tasks"][uuid] == before
                for uuid, before in kept["images"].items():
                    assert now["images"][uuid] == before
                kept = now
                in_flight_at_kills.append(sum(t["status"] == "sent" for t in rows.values()))
            whole_images(data_dir)
        assert all(n >= 1 for n in in_flight_at_kills), in_flight_at_kills  # each kill hit requests in flight

        with RunwareClient(KEY, emu.url, images_dir=data_dir / "images", backoff_base=0.01, poll_initial=0.02,
                           poll_max=0.1) as client:
            lab = Lab(data_dir, client=client)
            exp = lab.run(crash_sweep(delivery), name="crash", concurrency=4, progress=False)
            tasks = lab.log.tasks(exp.id)
            assert exp.counts()["done"] == 40 and len(tasks) == 40
            final = snapshot(lab.log, exp.id)
            assert {u: final["tasks"][u] for u in kept["tasks"]} == kept["tasks"]  # kept byte for byte
            assert {u: final["images"][u] for u in kept["images"]} == kept["images"]
            assert lab.log.integrity_check() == "ok"

            # each cell paid once, for exactly its images, and every paid image kept
            assert emu.ledger.charged_twice() == [] and emu.internal_errors == []
            charged = Counter(c.task_uuid for c in emu.ledger.charges)
            assert charged == Counter({t["task_uuid"]: t["number_results"] for t in tasks})
            assert {c.image_uuid for c in emu.ledger.charges} == set(final["images"])
            assert lab.log.spent(exp.id) == pytest.approx(emu.ledger.total())
            files = whole_images(data_dir)
            assert {str(data_dir / i["path"]) for i in final["images"].values()} <= {str(p) for p in files}
    # a kill mid-write leaves its temporary file (never a real name): count them, then tidy up so
    # no other test's scan of the temporary folders trips over them
    leftovers = [p for p in (data_dir / "images").rglob(".tmp-*")]
    for p in leftovers:
        p.unlink()
    print(f"\nFIGURES kill-9 {delivery}: {len(leftovers)} temporary files left by the kills; 3 kills with {in_flight_at_kills} requests in flight; "
          f"{len(tasks)}/40 cells done, {len(emu.ledger)} images paid once each (${emu.ledger.total():.3f}), "
          f"{len(kept['tasks'])} cells finished before the last kill kept unchanged")


# -- two notebooks, one log -----------------------------------------------------------------------
NOTEBOOK = textwrap.dedent("""
    import sys
    from qwenlab import Lab
    sys.path.insert(0, {root!r})
    from tests.sweeps.test_reliability_crash import crash_sweep

    own, prompt = sys.argv[1], sys.argv[2]
    lab = Lab()
    lab.run(crash_sweep(n=30, prompt=prompt), name=own, concurrency=4, progress=False)
    lab.run(crash_sweep(n=30), name="shared", concurrency=4, progress=False)   # both run this one, at once
    ids = [int(i) for i in lab.log.images_frame()["id"]]
    for image_id in ids:
        lab.log.rate(image_id, 3, note=own)
    print("RATED", len(ids), flush=True)
    print("FINISHED", flush=True)
""").format(root=str(Path(__file__).resolve().parents[2]))


@pytest.mark.slow
def test_two_notebooks_write_to_one_log_at_once(data_dir: Path) -> None:
    with Emulator(latency=0.05) as emu:
        env = child_env(data_dir, emu)
        children = [subprocess.Popen([sys.executable, "-c", NOTEBOOK, name, f"{PROMPT} ({name})"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for name in ("notebook-a", "notebook-b")]
        outputs = [c.communicate(timeout=120) for c in children]
        for child, (out, err) in zip(children, outputs):
            assert child.returncode == 0 and "FINISHED" in out, err[-2000:]

        with Log(data_dir / "qwenlab.db") as log:
            assert log.integrity_check() == "ok"
            assert sorted(log.experiment_names()) == ["notebook-a", "notebook-b", "shared"]
            tasks = [t for name in log.experiment_names() for t in log.tasks(int(log.experiment(name)["id"]))]
            assert len(tasks) == 90 and {t["status"] for t in tasks} == {"done"}
            images = log.images_frame()
            assert len(images) == sum(t["number_results"] for t in tasks) and images["image_uuid"].is_unique
            assert all((data_dir / p).is_file() for p in images["path"])
            # the cells both ran were paid once: the second sender was told conflictTaskUUID and fetched them
            assert emu.ledger.charged_twice() == []
            assert Counter(c.task_uuid for c in emu.ledger.charges) == Counter({t["task_uuid"]: t["number_results"] for t in tasks})
            spent = sum(log.spent(int(log.experiment(n)["id"])) for n in log.experiment_names())
            assert spent == pytest.approx(emu.ledger.total())
            # every rating each notebook wrote (one per image it could see when it finished) is there
            ratings = log.frame("SELECT note, count(*) AS n FROM ratings GROUP BY note")
            rated = {name: int(out.split("RATED ")[1].split()[0]) for name, (out, _) in zip(("notebook-a", "notebook-b"), outputs)}
            assert dict(zip(ratings["note"], ratings["n"])) == rated
            assert min(rated.values()) >= 90  # each saw at least its own and the shared experiment's images
    print(f"\nFIGURES two notebooks: 2 processes, 90 cells (30 run by both at once), {len(images)} images, "
          f"{len(emu.ledger)} paid once each, {int(ratings['n'].sum())} ratings, integrity ok")


@pytest.mark.slow
def test_many_openers_of_a_new_log_at_once() -> None:
    """Two notebooks started together open the same new log file at the same instant. SQLite can
    refuse the switch to WAL at once then ("database is locked", no busy wait); before Log retried
    it, this failed in about 1 round of 80 here (so 200 rounds catch a regression 9 times in 10)."""
    failures: list[str] = []
    for _ in range(200):
        path = Path(tempfile.mkdtemp()) / "qwenlab.db"

        def open_log(path: Path = path) -> None:
            with Log(path) as log:
                assert log.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

        failures += at_once(open_log)
    assert failures == []
