"""Every notebook in notebooks/ runs top to bottom, offline, and is saved without outputs; run and
saved (widget state included, as nbclient and Jupyter save it), it stays under 1 MB.

Each runs in its own kernel, in the notebook's folder (as Jupyter runs it), with the test's
temporary QWENLAB_DATA_DIR and no RUNWARE_API_KEY, so it talks to the emulator and writes its
log and images under the temporary folder. A notebook added to notebooks/ is picked up here.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 600  # per cell
MAX_RUN_BYTES = 1_000_000  # a notebook once run, outputs and figures included: opened and shared quickly
# settings a notebook's tables show: read as the plan, the grids and `qwenlab logs` read them
# (promptExtend on/off, a negative prompt not sent "none"), never as a frame holds them
SETTING_COLUMNS = ("promptExtend", "negativePrompt")
AS_HELD = {"True", "False", "NaN", "None", "<NA>", ""}


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_saved_without_outputs(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; clear them before saving (Kernel > Restart & Clear Output)"
    # `jupyter nbconvert --to script` names its file by this: without it, notebook.txt
    assert nb.metadata.get("language_info", {}).get("file_extension") == ".py", f"{path.name}: language_info"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path: Path, data_dir: Path) -> None:
    import os

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    assert "RUNWARE_API_KEY" not in os.environ and os.environ["QWENLAB_DATA_DIR"] == str(data_dir)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the cell's source and traceback, not just "a cell failed"
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    saved = nbformat.writes(nb).encode("utf-8")  # as Jupyter would save it after the run
    print(f"{path.name}: {len(saved):,} bytes once run (limit {MAX_RUN_BYTES:,})")  # shown with -s: the margin
    if len(saved) > MAX_RUN_BYTES:
        heavy = sorted(((len(nbformat.writes(nbformat.v4.new_notebook(cells=[c]))), i) for i, c in enumerate(nb.cells)),
                       reverse=True)[:3]
        widgets = len(str(nb.metadata.get("widgets", "")))
        pytest.fail(f"{path.name} is {len(saved):,} bytes once run (limit {MAX_RUN_BYTES:,}); heaviest cells "
                    f"(bytes, index): {heavy}; widget state {widgets:,} bytes", pytrace=False)
    # a finished progress bar is saved finished: no "0%|" left in a bar's saved text
    bars = [o["data"]["text/plain"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "display_data" and "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            and "%|" in o["data"].get("text/plain", "")]
    assert not [b for b in bars if " 0%|" in b], bars
    held = [(i, column, value) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs
            for column, value in _setting_cells(o.get("data", {}).get("text/html", "")) if value in AS_HELD]
    assert not held, f"{path.name}: (cell, column, value) shown as the frame holds it, not as the views read it: {held[:6]}"
    # money in a table as every view writes it ("$0.075", "$1.20"; readable(frame)), not 0.075 or 1.200
    bare = [(i, column, value) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs
            for column, value in _money_cells(o.get("data", {}).get("text/html", "")) if _a_number(value)]
    assert not bare, f"{path.name}: (cell, column, value) a dollar figure shown as a bare number: {bare[:6]}"


class _Table(HTMLParser):
    """The rows of the HTML tables in a notebook output (a pandas frame's `_repr_html_`), each a
    list of its cells' texts, headings and data alike."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _setting_cells(html: Any) -> list[tuple[str, str]]:
    """(column, text) of every cell under a SETTING_COLUMNS heading of the tables in `html`: the
    rows as long as the heading row (a frame's rows; a grouped index's spans are left out)."""
    return _cells_under(html, lambda name: name in SETTING_COLUMNS)


def _a_number(text: str) -> bool:
    """Whether `text` reads as a bare number ("0.075", "1.200"), not "$0.075" or "no budget set"."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _money_cells(html: Any) -> list[tuple[str, str]]:
    """(column, text) of every cell under a dollar heading (`cost_usd`, `usd_per_image`,
    `est_cost_usd`: "usd" one of its words) of the tables in `html`."""
    return _cells_under(html, lambda name: "usd" in name.split("_"))


def _cells_under(html: Any, wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(column, text) of every cell under a heading `wanted` accepts, in the tables in `html`."""
    table = _Table()
    table.feed("".join(html) if isinstance(html, list) else html)
    out: list[tuple[str, str]] = []
    heading: list[str] = []
    for row in table.rows:
        if any(wanted(name) for name in row):
            heading = row
        elif heading and len(row) == len(heading):
            out += [(name, row[i]) for i, name in enumerate(heading) if wanted(name)]
    return out


@pytest.mark.slow
def test_notebook_03_reads_the_log_the_demo_wrote_at_the_projects_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter starts a notebook in notebooks/; with no QWENLAB_DATA_DIR, notebook 03 must read the
    log `make demo` wrote at the project's root. It once ran the demo again into notebooks/data and
    analysed that log instead."""
    import nbformat
    from nbclient import NotebookClient

    from qwenlab.demo import run_demo

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "qwenlab"\n')
    monkeypatch.delenv("QWENLAB_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # were the project missed, nothing lands in ~
    monkeypatch.chdir(project)
    run_demo(progress=False)  # as `make demo` runs it, at the root
    log = project / "data" / "qwenlab.db"
    assert log.is_file()

    path = next(p for p in NOTEBOOKS if p.name.startswith("03-"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(project / "notebooks")}}).execute()
    first = "".join(o.get("text", "") for o in next(c for c in nb.cells if c.cell_type == "code").outputs)
    assert f"Log('{log}'" in first or str(log) in first, first
    assert "qwenlab demo:" not in first  # the demo was found done, not run again
    assert not (project / "notebooks" / "data").exists() and not (tmp_path / "xdg").exists()


def test_notebook_02_states_what_the_emulators_rule_predicts() -> None:
    """Notebook 02 says how often the emulator's rule draws every string of its 120-image sweep
    right, with promptExtend on and off: those are the rule's figures, rounded, for that very sweep
    (the LUMIERE example at 512x768, no negative prompt). It said 13% off where the rule gives 16%."""
    import math
    import re

    import nbformat

    from qwenlab.demo import EXAMPLES
    from qwenlab.emulator.synthetic import Scene, headlines

    path = next(p for p in NOTEBOOKS if p.name.startswith("02-"))
    text = " ".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    said = re.search(r"predicts about (\d+)% of the images entirely correct with promptExtend on against about (\d+)% off", text)
    assert said, "notebook 02 no longer states the rule's prediction"
    prompt = EXAMPLES["skincare poster (LUMIERE)"]["positivePrompt"]

    def all_right(extend: bool) -> float:
        drawn = headlines(Scene(prompt=prompt, width=512, height=768, prompt_extend=extend, negative_prompt=None))
        assert len(drawn) == 5  # "one prompt with five quoted strings"
        return math.prod(1 - h.misspell_probability for h in drawn)

    assert (int(said[1]), int(said[2])) == (round(100 * all_right(True)), round(100 * all_right(False)))


def test_notebook_02_names_words_its_own_prompts_ask_for() -> None:
    """"Every prompt here asks for exact words: ..." names strings of the prompts notebook 02 sweeps
    (the model page's examples without a reference image). It named 'LUNE NOIRE' and 'Midnight
    Bloom Eau de Parfum', the words of the billboard edit, which the notebook leaves out."""
    import re

    import nbformat

    from qwenlab.core.expected_text import expected_strings
    from qwenlab.demo import EXAMPLES

    path = next(p for p in NOTEBOOKS if p.name.startswith("02-"))
    text = " ".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    said = re.search(r"Every prompt here asks for exact words: (.+?)\.\.\.", text)
    assert said, "notebook 02 no longer names the words its prompts ask for"
    named = re.findall(r"'([^']+)'", said[1])
    swept = {s for spec in EXAMPLES.values() if not spec.get("reference") for s in expected_strings(spec["positivePrompt"])}
    assert named and set(named) <= swept, (named, swept)


def _runware_names(path: Path) -> list[str]:
    """The experiment names a notebook runs, where its text offers to run it with RUNWARE_API_KEY
    set (none for a notebook that runs no named experiment, or offers no key)."""
    import re

    import nbformat

    nb = nbformat.read(path, as_version=4)
    said = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    names = re.findall(r"name=\"([^\"]+)\"", " ".join(c.source for c in nb.cells if c.cell_type == "code"))
    return names if "RUNWARE_API_KEY" in said else []


OFFERING_RUNWARE = [p for p in NOTEBOOKS if _runware_names(p)]


@pytest.mark.parametrize("path", OFFERING_RUNWARE, ids=_ids(OFFERING_RUNWARE))
def test_a_notebook_that_offers_runware_says_its_names_must_change(path: Path, data_dir: Path) -> None:
    """Each notebook runs offline first, then offers the same cells with RUNWARE_API_KEY set. It
    said "Set the key (and restart the kernel) to run the same cells against Runware": rerun as
    written, its first `lab.run` meets its own emulator experiment and is refused. Here, as the
    reader would: a name run on the emulator, then the same name with a key (a stand-in for
    Runware, tests/support/backends.py) is refused, and the notebook says so and what to do."""
    import re

    import nbformat

    from qwenlab import BackendMismatchError, Lab, Sweep
    from qwenlab.emulator import Emulator
    from tests.support.backends import emulator_client, runware_client

    nb = nbformat.read(path, as_version=4)
    names = _runware_names(path)
    said = " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())
    sweep = Sweep(prompt="A poster reading 'LUMIERE'", size="512x768")
    with Emulator() as offline, Emulator() as paid:
        for backend, client in (("emulator", emulator_client(offline, data_dir)), ("runware", runware_client(paid, data_dir))):
            try:
                if backend == "emulator":
                    Lab(data_dir, client=client).run(sweep, names[0], progress=False)
                else:
                    with pytest.raises(BackendMismatchError):
                        Lab(data_dir, client=client).run(sweep, names[0], progress=False)
            finally:
                client.close()
    assert re.search(r"with a key|set the key", said, re.I), said
    assert "BackendMismatchError" in said and "name" in said.split("BackendMismatchError")[0][-300:], said


def test_notebook_03_names_keys_that_by_takes(tmp_path: Path) -> None:
    """Notebook 03 lists what `Costs.by()` takes; each key it names is one by() accepts (its list
    lacked year and backend, which `qwenlab costs --help` names)."""
    import re

    import nbformat

    from qwenlab.costs.frames import Costs
    from qwenlab.store.log import Log

    path = next(p for p in NOTEBOOKS if p.name.startswith("03-"))
    text = " ".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    said = re.search(r"`by\(\)` takes (.+?)any axis of a\s+sweep", text, re.S)
    assert said, "notebook 03 no longer lists what by() takes"
    keys = re.findall(r"`(\w+)`", said[1])
    assert {"year", "backend"} <= set(keys), keys
    costs = Costs(Log(tmp_path / "empty.db"))
    for key in keys:
        costs.by(key)  # an unknown key raises, naming the ones it takes


def test_notebook_03_says_what_a_table_by_an_axis_leaves_out(emulator, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Notebook 03's table by promptExtend has rows for the experiments that swept it only; with
    another in the log (notebook 01's single request), its tasks added up to one fewer than every
    other view's, and nothing said why. The cell prints the note `qwenlab costs --by` prints."""
    import nbformat

    from qwenlab.costs.frames import Costs
    from qwenlab.costs.summary import readable
    from tests.support.labkit import run_sweep

    run_sweep(emulator, data_dir, name="swept", axes={"promptExtend": [True, False]}, repeats=1, fail_one=False)
    run_sweep(emulator, data_dir, name="single", axes={}, repeats=1, fail_one=False)
    path = next(p for p in NOTEBOOKS if p.name.startswith("03-"))
    cell = next(c.source for c in nbformat.read(path, as_version=4).cells
                if c.cell_type == "code" and 'costs.by("promptExtend")' in c.source)
    scope = {"costs": Costs(data_dir / "qwenlab.db"), "readable": readable}
    exec(compile(cell, str(path), "exec"), scope)
    out = capsys.readouterr().out
    assert "note: the rows cover 2 of 3 tasks" in out and "'single'" in out, out
    assert int(scope["by_extend"]["tasks"].sum()) == 2
