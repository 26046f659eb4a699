"""Seeded chaos: random mixes of faults, crashes and damage around one experiment, then an audit
against the emulator's ledger (tests/sweeps/test_reliability_chaos.py runs it).

An iteration, all drawn from its seed: the emulator (on loopback, in this process, so its ledger
outlives every run) injects a random mix of its faults (429 bursts, 5xx, 504, connections dropped
before or after acceptance, stalls, broken JSON, failed inference, slow and expired image
downloads); sync or async delivery; concurrency 1, 4 or 8; a budget near what the sweep costs,
or none. One to three rounds of child processes run the sweep (`Lab.run`, or `qwenlab run` on a
sweep file), one or two of them at once on the same log, some with a disk that fills after a few
images; each round is cut by `kill -9` at a random moment (while the first cells are logged, as a
row is marked 'sent', after k results were written, or after a random time), or runs to its end.
Then some image files are deleted, cut short or damaged in place, and `qwenlab verify
--set-aside` runs; then the faults stop and two runs in this process finish the experiment.

`audit` checks after every round: the log is sound; no task was charged twice, nor any cell under
two taskUUIDs (but one whose earlier attempt was paid and its images could not be had, even when
asked for again: that cell is bought again, by design, and its history keeps the charge); every charge belongs to a taskUUID the log holds (now or in a cell's history);
every finished task's cost is what the ledger charged it, every earlier attempt's charge is in its
history, and the log's spend covers the ledger (equals it when nothing is in doubt); the budget was
never exceeded; every paid image is logged and on disk whole, or its task says it was paid and
lost (and so will be asked for), or it is in doubt. At the end (no budget): every cell done, every
paid image on disk, spend = ledger.

    PYTHONPATH=. .venv/bin/python -m tests.support.chaos SEED [ITERATIONS]   # prints each iteration
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator, Faults
from qwenlab.store.log import Log

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["iteration", "audit", "sweep"]
KEY = "sk-chaos-audit"
PROMPT = "A poster reading 'LUMIERE'"
CLIENT = dict(timeout=0.6, max_retries=6, backoff_base=0.01, backoff_max=0.1, poll_initial=0.02, poll_max=0.1,
              poll_timeout=15.0)


def sweep(n: int, delivery: str) -> Sweep:
    extra = {"deliveryMethod": "async"} if delivery == "async" else {}
    return Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": f"20-{19 + (n + 1) // 2}", "numberResults": [1, 2]}, **extra)


CHILD = textwrap.dedent("""
    import sys, json
    sys.path.insert(0, {root!r})
    from qwenlab import Lab
    from qwenlab.api.client import RunwareClient
    from tests.support.chaos import sweep, CLIENT, KEY
    from qwenlab.store.log import Log
    import threading
    lock = threading.Lock()
    def say(line):
        with lock:
            sys.stdout.write(line + "\\n"); sys.stdout.flush()
    mark_sent, add_tasks, complete = Log.mark_sent, Log.add_tasks, Log.complete_task
    def sent(self, *a, **k):
        say("SENDING"); r = mark_sent(self, *a, **k); say("SENT"); return r
    def add(self, rows):
        say("ADD"); return add_tasks(self, rows)
    def done(self, *a, **k):
        r = complete(self, *a, **k); say("DONE"); return r
    Log.mark_sent, Log.add_tasks, Log.complete_task = sent, add, done
    import os, errno
    room = os.environ.get("CHAOS_ROOM")
    if room is not None:
        from qwenlab.api import imagestore
        real, left = imagestore.write_atomic, [int(room)]
        def full(target, data, **kw):
            if left[0] <= 0:
                raise OSError(errno.ENOSPC, "No space left on device", str(target))
            left[0] -= 1
            return real(target, data, **kw)
        imagestore.write_atomic = full
    data, url, name, delivery, n, conc, budget = sys.argv[1:8]
    budget = None if budget == "none" else float(budget)
    with RunwareClient(KEY, url, images_dir=__import__("pathlib").Path(data) / "images", **CLIENT) as c:
        lab = Lab(data, client=c)
        try:
            lab.run(sweep(int(n), delivery), name=name, concurrency=int(conc), budget_usd=budget, progress=False)
        except Exception as exc:
            print("ERROR", type(exc).__name__, str(exc)[:300], flush=True)
    print("FINISHED", flush=True)
""").format(root=str(ROOT))


def spawn(data: Path, url: str, name: str, delivery: str, n: int, conc: int, budget: float | None,
          room: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if room is not None:
        env["CHAOS_ROOM"] = str(room)
    env.pop("RUNWARE_API_KEY", None)
    return subprocess.Popen([sys.executable, "-c", CHILD, str(data), url, name, delivery, str(n), str(conc),
                             "none" if budget is None else str(budget)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def spawn_cli(data: Path, url: str, name: str, delivery: str, n: int, conc: int, budget: float | None) -> subprocess.Popen:
    file = data.parent / "sweep.toml"
    file.write_text(f"""name = {name!r}\nprompt = {PROMPT!r}\nconcurrency = {conc}\n[request]\nsize = "256x256"\n"""
                    + ('deliveryMethod = "async"\n' if delivery == "async" else "")
                    + f"""[axes]\noutputQuality = "20-{19 + (n + 1) // 2}"\nnumberResults = [1, 2]\n""")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QWENLAB_DATA_DIR": str(data), "RUNWARE_API_KEY": KEY,
           "RUNWARE_BASE_URL": url}
    args = [sys.executable, "-m", "qwenlab", "run", str(file), "--yes"] + ([] if budget is None else ["--budget", str(budget)])
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def random_faults(rng: random.Random) -> Faults:
    f: dict = {}
    for name, hi in [("rate_429", 0.2), ("rate_5xx", 0.1), ("drop_before", 0.05), ("drop_after", 0.08),
                     ("stall", 0.05), ("malformed", 0.05), ("rate_504", 0.05), ("task_error", 0.05),
                     ("slow_download", 0.1), ("expire_download", 0.08)]:
        if rng.random() < 0.5:
            f[name] = round(rng.uniform(0, hi), 3)
    return Faults(**f, retry_after=0.02, stall_seconds=1.0, download_bytes_per_s=100_000,
                  latency=rng.choice([0.0, "uniform:0.02,0.2", "uniform:0.1,0.5"]), seed=rng.randrange(10**6))


def audit(emu: Emulator, data: Path, name: str, budget: float | None, final: bool) -> list[str]:
    problems: list[str] = []
    with Log(data / "qwenlab.db") as log:
        if log.integrity_check() != "ok":
            problems.append("integrity")
        exp = log.experiment(name)
        if exp is None:
            return problems + (["no experiment but charges"] if len(emu.ledger) else [])
        tasks = log.tasks(int(exp["id"]))
        images = log.images(int(exp["id"]))
        spent = log.spent(int(exp["id"]))
    twice = emu.ledger.charged_twice()
    if twice:
        problems.append(f"charged twice: {twice}")
    charged = emu.ledger.by_task()
    # every taskUUID a cell ever had
    owner: dict[str, dict] = {}
    for t in tasks:
        owner[t["task_uuid"]] = t
        for h in json.loads(t["history_json"] or "[]"):
            owner[h["task_uuid"]] = t
    unknown = set(charged) - set(owner)
    if unknown:
        problems.append(f"charged tasks the log does not know: {len(unknown)}")
    per_cell = Counter()
    for uuid in charged:
        if uuid in owner:
            per_cell[owner[uuid]["id"]] += 1
    # a cell is bought again only when an earlier attempt was paid and its images could not be had,
    # asked for again (free) first: that attempt is in its history, failed, with its cost
    rebought = {t["id"] for t in tasks for h in json.loads(t["history_json"] or "[]")
                if h["status"] == "failed" and h.get("cost_usd") and h.get("error_code") in ("ImageError", "ImageStoreError")}
    multi = [k for k, n in per_cell.items() if n > 1 and k not in rebought]
    if multi:
        problems.append(f"cells paid under two taskUUIDs: {multi}")
    total = emu.ledger.total()
    if budget is not None and total > budget + 1e-9:
        problems.append(f"budget exceeded: ledger ${total} > ${budget}")
    in_doubt = [t for t in tasks if t["status"] == "sent"]
    if not in_doubt and abs(spent - total) > 1e-6:
        problems.append(f"log spent ${spent:.4f} != ledger ${total:.4f}")
    if in_doubt and spent + 1e-6 < total:  # a cell in doubt counts at its estimate: the spend covers the ledger
        problems.append(f"log spent ${spent:.4f} < ledger ${total:.4f} (in doubt {len(in_doubt)})")
    for t in tasks:
        if t["status"] == "sent":
            continue
        paid = round(sum(c.usd for c in charged.get(t["task_uuid"], [])), 6)
        if abs((t["cost_usd"] or 0.0) - paid) > 1e-6:
            problems.append(f"task {t['id']} {t['status']} {t['error_code']} cost {t['cost_usd']} != ledger {paid}")
    for t in tasks:
        for h in json.loads(t["history_json"] or "[]"):
            paid = round(sum(c.usd for c in charged.get(h["task_uuid"], [])), 6)
            rec = h.get("cost_usd") if h.get("cost_usd") is not None else (t["estimated_cost_usd"] if h["status"] == "sent" else 0.0)
            if paid > rec + 1e-6:
                problems.append(f"task {t['id']} earlier attempt {h['status']} {h.get('error_code')} recorded {rec} < ledger {paid}")
    logged = {i["image_uuid"]: i for i in images}
    for c in emu.ledger.charges:
        row = logged.get(c.image_uuid)
        if row is None:
            t = owner.get(c.task_uuid)
            if t is None:
                continue  # reported above
            if t["status"] == "sent" and not final:
                continue  # in doubt: the next run asks for it
            if t["status"] in ("failed", "done") and t["cost_usd"] and t["error_code"] and not final:
                continue  # recorded as paid and lost: the next run asks for it
            if t["error_code"] == "ImageLost" or (t["id"] in rebought and c.task_uuid != t["task_uuid"]):
                continue  # lost for good, said so; or an earlier attempt's, paid and lost, and bought again
            problems.append(f"paid image {c.image_uuid[:8]} of task {t['id']} ({t['status']}, {t['error_code']}) not logged")
            continue
        f = data / row["path"]
        if not f.is_file() or hashlib.sha256(f.read_bytes()).hexdigest() != row["sha256"]:
            problems.append(f"image {c.image_uuid[:8]} not on disk whole")
    if final:
        st = Counter(t["status"] for t in tasks)
        if st.keys() - {"done"}:
            problems.append(f"final statuses {dict(st)}")
    return problems


def run_child_and_kill(rng: random.Random, data: Path, emu: Emulator, name: str, delivery: str, n: int, conc: int,
                       budget: float | None, two: bool) -> str:
    room = rng.randrange(0, n) if rng.random() < 0.25 else None
    cli = rng.random() < 0.3
    if cli:
        room = None
        kids = [spawn_cli(data, emu.url, name, delivery, n, conc, budget) for _ in range(2 if two else 1)]
    else:
        kids = [spawn(data, emu.url, name, delivery, n, conc, budget, room) for _ in range(2 if two else 1)]
    victims = kids if rng.random() < 0.5 else kids[:1]
    how = rng.choice(["time", "add", "sending", "sent", "done", "none"]) if not cli else rng.choice(["time", "none"])
    k = rng.randrange(0, n)
    if how == "time":
        time.sleep(rng.uniform(0.5, 4.0))
    elif how != "none":
        seen = 0
        word = how.upper()
        while True:
            line = kids[0].stdout.readline()
            if not line or line.startswith("FINISHED"):
                break
            if line.strip() == word:
                seen += 1
                if seen > k or how == "add":
                    if how == "add":
                        time.sleep(rng.uniform(0, 0.01))
                    break
        how += f"#{k}"
    if not how.startswith("none"):
        for kid in victims:
            if kid.poll() is None:
                kid.send_signal(signal.SIGKILL)
    out = []
    for k in kids:
        try:
            o, e = k.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            k.kill()
            o, e = k.communicate()
            out.append("TIMEOUT")
        said = [x for x in o.splitlines() if x.strip() and x not in ("SENT", "SENDING", "ADD", "DONE")]
        # a run's last word (FINISHED, its error, the CLI's summary), and stderr when it ended badly
        out.append(f"rc={k.returncode} {said[-1][:300] if said else ''}"
                   + (f" {e.strip()[-500:]}" if k.returncode not in (0, 1, -signal.SIGKILL) or "Traceback" in e else ""))
    return ("cli " if cli else "") + how + (f" room={room}" if room is not None else "") + ": " + " | ".join(out)


def damage(rng: random.Random, data: Path) -> str:
    files = sorted(p for p in (data / "images").rglob("*") if p.is_file() and not p.name.startswith(".tmp"))
    done = []
    for p in rng.sample(files, min(len(files), rng.randrange(1, 4))):
        kind = rng.choice(["delete", "truncate", "flip"])
        b = p.read_bytes()
        if kind == "delete":
            p.unlink()
        elif kind == "truncate":
            p.write_bytes(b[: len(b) // 2])
        else:
            i = len(b) // 2
            p.write_bytes(b[:i] + bytes([b[i] ^ 0xFF]) + b[i + 1:])
        done.append(kind)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QWENLAB_DATA_DIR": str(data)}
    r = subprocess.run([sys.executable, "-m", "qwenlab", "verify", "--set-aside"], env=env, capture_output=True, text=True)
    return f"damage {done}: verify rc={r.returncode} {r.stdout.strip().splitlines()[-1:] if r.stdout else r.stderr[-300:]}"


def iteration(seed: int) -> tuple[list[str], list[str]]:
    """One seeded scenario: what happened (one line per step) and the audit's problems (empty: sound).
    A scenario with problems keeps its data folder, named in the last line of what happened."""
    rng = random.Random(seed)
    delivery = rng.choice(["sync", "async"])
    conc = rng.choice([1, 4, 8])
    n = rng.choice([8, 16, 24])
    budget = rng.choice([None, None, round(n * 1.5 * 0.075 * rng.uniform(0.3, 0.9), 3)])
    two = rng.random() < 0.3
    faults = random_faults(rng)
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    data = tmp / "data"
    data.mkdir()
    name = "chaos"
    lines = [f"seed={seed} delivery={delivery} conc={conc} n={n} budget={budget} two={two} faults={faults.summary()}"]
    problems: list[str] = []
    with Emulator(faults=faults) as emu:
        for round_ in range(rng.choice([1, 2, 3])):
            line = run_child_and_kill(rng, data, emu, name, delivery, n, conc, budget, two and round_ == 0)
            lines.append(line)
            if "Traceback" in line or "rc=2 " in line or "TIMEOUT" in line:
                problems.append(f"round {round_}: child failed badly")
            problems += [f"after round {round_}: {p}" for p in audit(emu, data, name, budget, final=False)]
        emu.faults = Faults()
        if rng.random() < 0.4:
            lines.append(damage(rng, data))
        with RunwareClient(KEY, emu.url, images_dir=data / "images", **CLIENT) as c:
            lab = Lab(data, client=c)
            for _ in range(2):
                try:
                    lab.run(sweep(n, delivery), name=name, concurrency=conc, budget_usd=budget, progress=False)
                except Exception as exc:
                    lines.append(f"final run: {type(exc).__name__}: {str(exc)[:300]}")
            lab.close()
        problems += [f"final: {p}" for p in audit(emu, data, name, budget, final=budget is None)]
        if emu.internal_errors:
            problems.append(f"emulator internal errors {emu.internal_errors[:2]}")
    if not problems:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        lines.append(f"kept {tmp}")
    return lines, problems


if __name__ == "__main__":
    base = int(sys.argv[1]) if len(sys.argv) > 1 else random.randrange(10**6)
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print("base seed", base, flush=True)
    bad = 0
    for i in range(count):
        lines, problems = iteration(base + i)
        bad += bool(problems)
        print(("FAIL " if problems else "ok   ") + "\n     ".join(lines + problems), flush=True)
    print("failures", bad)
