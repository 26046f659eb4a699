"""The progress bar as a saved notebook keeps it: finished, with its totals, not as first drawn."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_a_finished_bar_is_saved_finished_in_the_notebook() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from qwenlab.progress import Progress\n"
        "bar = Progress(24, desc='prompt-extend', budget_usd=2.5)\n"
        "for i in range(24):\n    bar.advance(0.075 * (i + 1))\n"
        "bar.close()")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    texts = [o["data"]["text/plain"] for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(texts) == 1, nb.cells[0].outputs  # one bar, updated in place, not a second copy
    assert "100%" in texts[0] and "24/24" in texts[0] and "$1.800 of $2.50" in texts[0], texts[0]
    assert "0%|" not in texts[0].replace("100%|", "")
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert [(b["value"], b["max"]) for b in bars] == [(24, 24)]


def test_in_a_terminal_the_bar_ends_with_its_totals(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from qwenlab.progress import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal
    bar = Progress(3, desc="score", unit="image")
    for _ in range(3):
        bar.update()
    bar.close()
    bar.close()  # closing twice is harmless
    err = capsys.readouterr().err
    assert "score" in err and "3/3" in err and "100%" in err


def test_a_disabled_bar_draws_nothing_but_still_says_its_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """progress=False (`--no-progress`) hid a run's warnings with the bar: a size Runware may
    refuse, a key it may ignore. The bar goes; the lines stay."""
    from qwenlab.progress import Progress

    bar = Progress(3, enabled=False)
    bar.advance(0.1)
    bar.close()
    assert capsys.readouterr().err == ""
    bar.write("size 2048x2048 is unconfirmed")
    assert capsys.readouterr().err == "size 2048x2048 is unconfirmed\n"


def test_into_a_file_no_bar_is_drawn_and_lines_stay_whole(capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo > log 2>&1`: the bar's redraws (carriage returns) ran into the lines written
    beside it ("demo:   0%|   | 0/64 [...]      seed_policy 'auto' -> 'sample' ...")."""
    from qwenlab.progress import Progress

    bar = Progress(3, desc="demo", budget_usd=1.0)  # captured: not a terminal
    bar.advance(0.1)
    bar.write("seed_policy 'auto' -> 'sample'")
    bar.advance(0.2)
    bar.close()
    assert capsys.readouterr().err == "seed_policy 'auto' -> 'sample'\n"

