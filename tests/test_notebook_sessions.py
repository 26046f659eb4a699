"""What a notebook user does beyond running cells top to bottom, in a real kernel (nbclient):
interrupt a run (Kernel > Interrupt, as nbclient's interrupt_on_timeout does it), run the cell
again, end a cell with a result to see it. Each notebook talks to an emulator started in its own
kernel, under the test's QWENLAB_DATA_DIR, without RUNWARE_API_KEY.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

# an emulator in the kernel, slow enough that a run of 8 cells two at a time takes 4 s
SETUP = """\
import os
from qwenlab.emulator import Emulator
emu = Emulator(latency={latency}).start()
os.environ["RUNWARE_BASE_URL"] = emu.url
from qwenlab import Lab, Sweep
lab = Lab()
sweep = Sweep(prompt="A poster reading 'GLOW'", axes={{"promptExtend": [True, False], "size": ["512x768", "768x512"]}},
              repeats=2)
"""


def _execute(cells: list[str], timeouts: dict[int, float] | None = None) -> Any:
    """A notebook of `cells`, executed in a real kernel with errors kept as outputs; a cell given a
    timeout in `timeouts` (by index) is interrupted once it has run that long, as Kernel > Interrupt
    (or the stop button) does."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    index = {id(c): i for i, c in enumerate(nb.cells)}
    limits = timeouts or {}
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                            timeout_func=lambda cell: limits.get(index.get(id(cell), -1), 180))
    client.execute()
    return nb


def _errors(cell: Any) -> list[Any]:
    return [o for o in cell.outputs if o.output_type == "error"]


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.slow
def test_a_run_interrupted_in_the_kernel_says_what_it_left_and_the_cell_run_again_pays_nothing_twice() -> None:
    """Kernel > Interrupt in the middle of `lab.run`: the traceback ended in a bare
    "KeyboardInterrupt:", leaving the user to guess what was sent, paid and lost (the CLI says it,
    the notebook did not). The error now says what the run left and that running the cell again
    finishes it; the bar stays red; the cell run again sends the rest and pays for nothing twice."""
    nb = _execute([
        SETUP.format(latency=1.0),
        "exp = lab.run(sweep, name='poster', concurrency=2)",
        # the requests in flight at the interrupt finish in the background and are logged
        "import threading\n"
        "for t in threading.enumerate():\n"
        "    if t.name.startswith('qwenlab-run'):\n"
        "        t.join(30)\n"
        "print(lab.experiment('poster').status, dict(lab.experiment('poster').counts()))",
        "exp = lab.run(sweep, name='poster', concurrency=2)\n"
        "import json\n"
        "print(json.dumps({'counts': dict(exp.counts()), 'charges': len(emu.ledger), 'twice': emu.ledger.charged_twice()}))",
    ], timeouts={1: 2.5})
    first = _errors(nb.cells[1])
    assert [e.ename for e in first] == ["KeyboardInterrupt"], nb.cells[1].outputs
    said = first[0].evalue
    assert "'poster'" in said and "interrupted" in said, said
    assert "of 8 cells done" in said and "run the cell again" in said.lower() and "nothing" in said and "twice" in said, said
    assert "interrupted" in _stdout(nb.cells[2]) or "done" in _stdout(nb.cells[2])
    assert not _errors(nb.cells[3]), nb.cells[3].outputs
    after = json.loads(_stdout(nb.cells[3]).strip().splitlines()[-1])
    assert after["counts"]["done"] == 8 and after["charges"] == 8 and after["twice"] == [], after
    # the interrupted bar is saved red and as far as it got, the finished one green and whole
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert [b["bar_style"] for b in bars] == ["danger", "success"], bars
    assert bars[0]["value"] < 8 and bars[1]["value"] == bars[1]["max"], bars


def _result_text(cell: Any) -> str:
    """What a cell ending in an expression showed as text (its execute_result's text/plain)."""
    shown = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert shown and not _errors(cell), cell.outputs
    return shown[0]["data"]["text/plain"]


@pytest.mark.slow
def test_exported_images_at_the_end_of_a_cell_read_as_what_was_written_not_a_wall_of_paths() -> None:
    """`exp.export_images(folder)` ends a cell in the README. It showed the list's repr, each
    image's ExportedImage(path=PosixPath(...), sidecar=..., original=...), 330 characters an image
    kept in the saved notebook, and not the images it left out. It reads as bundle and verify do:
    how many, where, the first names, and what was skipped with the fix."""
    nb = _execute([
        SETUP.format(latency=0) + "exp = lab.run(sweep, name='poster', progress=False)",
        "exp.export_images(lab.data_dir / 'picked')",
        "import os\nos.remove(exp.images['path'][0])\nexp.export_images(lab.data_dir / 'again', sidecar=False)",
    ])
    text = _result_text(nb.cells[1])
    assert text.startswith("8 images written to ") and "picked" in text and ".json sidecar" in text, text
    assert "poster_promptExtend-on_size-512x768_seed-" in text and "... and 3 more" in text, text
    assert "PosixPath" not in text and "ExportedImage(" not in text and len(text) < 600, text
    again = _result_text(nb.cells[2])
    assert again.startswith("7 images written to ") and "sidecar" not in again.splitlines()[0], again
    assert "1 image file was not written, 1 missing" in again and "Run the experiment again" in again, again


@pytest.mark.slow
def test_a_preview_at_the_end_of_a_cell_reads_as_what_the_run_would_send_and_spend() -> None:
    """`lab.preview(sweep, name, budget_usd=...)` showed its dataclass repr: the plan's frame
    printed inside "Preview(name=..., plan=   cell ...", cut by pandas, the budget at its very
    end. It reads as what a run would send now, what the log holds, and the budget's verdict."""
    nb = _execute([
        SETUP.format(latency=0) + "lab.run(sweep, name='poster', budget_usd=0.30, progress=False)",
        "lab.preview(sweep, 'poster', budget_usd=1.0)",
        "p = lab.preview(sweep, 'poster', budget_usd=1.0); len(p.to_send), p.estimated_usd",
    ])
    text = _result_text(nb.cells[1])
    assert text.splitlines()[0] == "run of 'poster': 8 cells (4 not sent yet, 4 done)", text
    assert "4 cells to send, estimated $0.30; budget $1.00 with $0.30 spent: the estimate fits" in text, text
    assert "plan=" not in text and "request_json" not in text and len(text.splitlines()) == 3, text
    assert _result_text(nb.cells[2]) == "(4, 0.3)"  # the preview's data is there as before


@pytest.mark.slow
def test_an_experiment_with_cells_not_sent_shows_its_table_at_the_end_of_a_cell() -> None:
    """An experiment stopped at its budget, ended a cell with: its HTML table raised TypeError
    (a traceback in the notebook, then the plain text alone). pandas 3 reads a cell's missing image
    path as NaN, which is true, so a thumbnail was asked of NaN. The table shows every cell, those
    not sent without a thumbnail."""
    nb = _execute([
        SETUP.format(latency=0) + "exp = lab.run(sweep, name='poster', budget_usd=0.30, progress=False)",
        "exp",
    ])
    shown = nb.cells[1].outputs
    assert not _errors(nb.cells[1]) and [o.output_type for o in shown] == ["execute_result"], shown
    page = shown[0]["data"]["text/html"]
    assert page.count("<tr><td>") == 8 and page.count("data:image/jpeg;base64,") == 4, page[:2000]
    assert page.count("<td>pending</td>") == 4, page[:2000]


@pytest.mark.slow
def test_model_descriptions_at_the_end_of_a_cell_read_as_their_price_sizes_and_parameters() -> None:
    """`list_models()` or `get_model(...)`, the way to see what a sweep can use, printed each
    dataclass whole: 7 KB a model of ParameterSpec(...) fields, the price somewhere inside. They read
    as `qwenlab models` does, with the sizes and the parameters a sweep may vary."""
    nb = _execute(["from qwenlab import DEFAULT_MODEL, get_model, list_models", "list_models()", "get_model(DEFAULT_MODEL)"])
    listed, one = _result_text(nb.cells[1]), _result_text(nb.cells[2])
    assert "alibaba:qwen-image@2.0-pro (Qwen-Image-2.0-Pro): $0.075 an image" in listed, listed
    assert "ParameterSpec" not in listed and len(listed) < 1500, listed
    assert one.splitlines()[0].startswith("alibaba:qwen-image@2.0-pro (Qwen-Image-2.0-Pro): $0.075 an image"), one
    assert "256 to 2048 px a side" in one and "promptExtend" in one and "negativePrompt" in one, one
    assert "ParameterSpec" not in one and len(one) < 800, one
