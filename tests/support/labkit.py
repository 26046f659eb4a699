"""Small real experiments for the grid, pairs and export tests: a sweep run against the loopback
emulator, with one cell made to fail on purpose."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from qwenlab import Experiment, Lab, Sweep
from qwenlab.api.client import RunwareClient

PROMPT = "A premium beauty poster for LUMIERE serum, 'Glow, Refined.' headline"
SIZES = ["512x768", "768x512"]


def run_sweep(emulator: Any, data_dir: Path, *, name: str = "grid-test", axes: dict[str, Any] | None = None,
              repeats: int = 2, fail_one: bool = True, api_key: str = "sk-grid-test", prompt: str = PROMPT,
              **sweep_options: Any) -> Experiment:
    """Run a sweep (default promptExtend x size x 2 repeats = 8 cells) one request at a time, the
    second POST meeting an inferenceError, so exactly one cell fails."""
    axes = axes if axes is not None else {"promptExtend": [True, False], "size": SIZES}
    client = RunwareClient(api_key, emulator.url, images_dir=data_dir / "images", backoff_base=0.01, poll_initial=0.02,
                           poll_max=0.1)
    try:
        if fail_one:
            emulator.script(["ok", "task_error"])
        lab = Lab(data_dir, client=client)
        return lab.run(Sweep(prompt=prompt, axes=axes, repeats=repeats, **sweep_options), name=name, progress=False,
                       concurrency=1)
    finally:
        client.close()


def rename_axes(data_dir: Path, experiment: str, names: dict[str, str]) -> Experiment:
    """The experiment with its axes renamed in the log (old name -> new), as a log an older
    qwenlab wrote holds axes of names a sweep now refuses ("status", "backend"): the labels, the
    sweep and every cell. Returns the experiment as read anew."""
    def renamed(text: str | None, path: tuple[str, ...] = ()) -> str | None:
        if text is None:
            return None
        doc = json.loads(text)
        node = doc
        for key in path:
            node = node.get(key, {})
        for old, new in names.items():
            if old in node:
                node[new] = node.pop(old)
        return json.dumps(doc)

    with sqlite3.connect(data_dir / "qwenlab.db") as db:
        exp_id, axes, sweep = db.execute("SELECT id, axes_json, sweep_json FROM experiments WHERE name = ?",
                                         [experiment]).fetchone()
        db.execute("UPDATE experiments SET axes_json = ?, sweep_json = ? WHERE id = ?",
                   [renamed(axes), renamed(sweep, ("axes",)), exp_id])
        for task_id, cell in db.execute("SELECT id, cell_json FROM tasks WHERE experiment_id = ?", [exp_id]).fetchall():
            db.execute("UPDATE tasks SET cell_json = ? WHERE id = ?", [renamed(cell), task_id])
    return Lab(data_dir).experiment(experiment)


def texts(figure: Any) -> list[str]:
    """Every piece of text drawn on a matplotlib figure (figure texts and axes texts), with
    no-break spaces read as spaces."""
    out = [t.get_text() for t in figure.texts]
    for ax in figure.axes:
        out.extend(t.get_text() for t in ax.texts)
    return [t.replace("\u00a0", " ") for t in out]


class LoopbackServer:
    """A test's own tiny HTTP server on loopback (a handler class of its own), in a daemon thread:
    `with LoopbackServer(Handler) as s: s.url`. For answers the emulator never gives (hostile or
    echoing ones)."""

    def __init__(self, handler: type, host: str = "127.0.0.1") -> None:
        from http.server import ThreadingHTTPServer

        self.host = host
        self.server = ThreadingHTTPServer((host, 0), handler)
        self.server.daemon_threads = True

    def __enter__(self) -> "LoopbackServer":
        import threading

        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.origin + "/v1"
