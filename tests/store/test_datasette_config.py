"""The Datasette configuration qwenlab writes: Datasette itself (its in-process test client, no
socket) serves the log with it, the canned queries give the same money as qwenlab's own
summaries, thumbnails render as images, and the API key appears nowhere. One test also runs
`qwenlab datasette` as a user would and asks it over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import datasette  # noqa: E402,F401  the datasette extra, which `make` installs: missing, these tests fail, not skip
import datasette_render_images  # noqa: E402,F401
import httpx
import pytest

from qwenlab import Lab
from qwenlab.costs import Costs
from qwenlab.store.datasette_config import ThumbnailsPlugin, metadata, write_metadata
from tests.support.labkit import run_sweep

KEY = "sk-grid-test"


@pytest.fixture
def lab(emulator, data_dir: Path) -> Lab:
    run_sweep(emulator, data_dir, name="posters", repeats=1)
    run_sweep(emulator, data_dir, name="gone", repeats=1, fail_one=False)
    lab = Lab(data_dir, client=lambda: pytest.fail("nothing here may connect"))
    ids = [int(i) for i in lab.experiment("posters").images["image_id"]]
    lab.log.rate(ids[0], 5)
    lab.log.rate(ids[1], 3)
    lab.experiment("gone").delete(confirm=True)
    return lab


def _get(data_dir: Path, *paths: str) -> list:
    from datasette.app import Datasette
    from datasette.plugins import pm

    plugin = ThumbnailsPlugin(data_dir)
    pm.register(plugin, name="qwenlab-thumbnails-test")
    try:
        ds = Datasette([str(data_dir / "qwenlab.db")], metadata=metadata(data_dir))

        async def fetch() -> list:
            return [await ds.client.get(p) for p in paths]

        return asyncio.run(fetch())
    finally:
        pm.unregister(plugin)


def test_canned_queries_give_qwenlab_s_costs_and_render_thumbnails(lab: Lab, data_dir: Path) -> None:
    costs, best, page, tasks, search, empty, pasted, fts = _get(
        data_dir, "/qwenlab/cost_by_experiment.json?_shape=array", "/qwenlab/best_rated_images.json?_shape=array",
        "/qwenlab/best_rated_images", "/qwenlab/tasks", "/qwenlab/search_prompts.json?_shape=array&text=LUMIERE",
        "/qwenlab/search_prompts",
        # words pasted with their punctuation, as `qwenlab search` takes them (an FTS5 syntax error before)
        "/qwenlab/search_prompts.json?_shape=array&text=" + quote("serum,  'LUMIERE'."),
        "/qwenlab/search_prompts_fts5.json?_shape=array&text=" + quote("LUMIER* OR nothingsuch"))
    assert costs.status_code == best.status_code == page.status_code == tasks.status_code == 200
    by_name = {r["experiment"]: r["cost_usd"] for r in costs.json()}
    expected = Costs(lab.log).by("experiment")["cost_usd"].to_dict()
    assert by_name.keys() == expected.keys() == {"posters", "(deleted) gone"}  # a deleted experiment keeps its spend
    assert all(by_name[k] == pytest.approx(v) for k, v in expected.items())
    rows = best.json()
    assert [r["rating"] for r in rows] == [5, 3] and rows[0]["thumbnail"]["$base64"]
    # datasette-render-images turns the BLOB into an <img>: the picture is in the page itself
    assert page.text.count('src="data:image/jpeg;base64,') == 2
    assert "Facet" in tasks.text or "facet" in tasks.text
    assert len(search.json()) == 3  # the deleted experiment's prompts are gone
    assert pasted.status_code == fts.status_code == 200, pasted.text[-300:]
    assert len(pasted.json()) == len(fts.json()) == 3  # FTS5's own syntax goes as typed in its own query
    # the search page before anything is typed: no "fts5: syntax error" in red
    assert empty.status_code == 200 and "syntax error" not in empty.text
    # counts are whole numbers (total() gave 2.0)
    assert all(isinstance(r["done"], int) and isinstance(r["failed"], int) for r in costs.json())
    for response in (costs, best, page, tasks, search):
        assert KEY not in response.text


def test_the_metadata_file_names_no_secret_and_only_loopback(lab: Lab, data_dir: Path) -> None:
    path = write_metadata(data_dir)
    meta = json.loads(path.read_text())
    assert set(meta["databases"]["qwenlab"]["queries"]) >= {"cost_by_experiment", "best_rated_images"}
    assert KEY not in path.read_text()


@pytest.mark.slow
def test_qwenlab_datasette_serves_on_loopback(lab: Lab, data_dir: Path) -> None:
    """--port 0 takes a free port, and says which: it said "http://127.0.0.1:0/"."""
    import re

    env = {**os.environ, "QWENLAB_DATA_DIR": str(data_dir), "RUNWARE_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "qwenlab.cli", "datasette", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        said = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", said).group(1))
        assert port > 0, said
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/qwenlab/best_rated_images", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"datasette did not start: {proc.stdout.read() if proc.poll() is not None else ''}")
                time.sleep(0.3)
        assert r.status_code == 200 and r.text.count('src="data:image/jpeg;base64,') == 2
        assert KEY not in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cost_by_experiment_says_which_spend_was_imported(lab: Lab, data_dir: Path, tmp_path: Path) -> None:
    """A log holding imported experiments showed their spend in "Cost by experiment" as if made
    there; `qwenlab costs` says it was spent elsewhere, and so does the query now."""
    ben = Lab(tmp_path / "ben", client=lambda: pytest.fail("nothing here may connect"))
    ben.import_bundle(lab.bundle("posters", tmp_path / "p.zip").path, as_name="from-ana")
    (costs,) = _get(data_dir, "/qwenlab/cost_by_experiment.json?_shape=array")
    assert {r["experiment"]: r["imported"] for r in costs.json()} == {"posters": 0, "(deleted) gone": 0}
    (costs,) = _get(ben.data_dir, "/qwenlab/cost_by_experiment.json?_shape=array")
    assert [(r["experiment"], r["imported"]) for r in costs.json()] == [("from-ana", 1)]
    assert "imported" in metadata(ben.data_dir)["databases"]["qwenlab"]["queries"]["cost_by_experiment"]["description"]


def test_prompt_search_takes_plain_words_and_fts5_syntax_in_its_own_query(emulator, data_dir: Path) -> None:
    """The search box guessed FTS5 syntax from the text: a sign's words "DO NOT DISTURB" became
    DO AND NOT DISTURB (nothing found), and a pasted "(gold, serif)" or an unclosed quote gave
    SQLite's "fts5: syntax error" in red. Plain words now always match as words; FTS5 syntax has
    a query of its own, where a malformed query gives a row saying what is wrong and how to mend it."""
    run_sweep(emulator, data_dir, name="signs", repeats=1, fail_one=False, axes={"promptExtend": [True, False]},
              prompt="A door sign that reads 'DO NOT DISTURB' (gold, serif) for hotel LUMIERE")
    plain = [f"/qwenlab/search_prompts.json?_shape=array&text={quote(t)}"
             for t in ("DO NOT DISTURB", "(gold, serif)", '"LUMIERE', "hotel AND")]
    fts5 = [f"/qwenlab/search_prompts_fts5.json?_shape=array&text={quote(t)}"
            for t in ("LUMIER* OR nothingsuch", "NEAR(door sign, 2) NOT nothingsuch", '"LUMIERE', "hotel AND", "colour: gold")]
    sign, pasted, unclosed, operator, prefix, near, *malformed = _get(data_dir, *plain, *fts5)
    for response in (sign, pasted, unclosed, prefix, near):
        assert response.status_code == 200 and len(response.json()) == 2, response.text[-300:]
    assert operator.status_code == 200 and operator.json() == []  # "AND" is a word here: no prompt has it
    for response, said in zip(malformed, ("unterminated string", 'syntax error near ""', "no such column: colour")):
        assert response.status_code == 200, response.text[-300:]
        (row,) = response.json()
        assert row["image_id"] is None and row["prompt"].startswith("not FTS5 syntax (") and said in row["prompt"]
        assert '"Search prompts"' in row["prompt"]  # the way out: plain words
    (blank,) = _get(data_dir, "/qwenlab/search_prompts_fts5")
    assert blank.status_code == 200 and "syntax error" not in blank.text and "not FTS5 syntax (" not in blank.text
