"""The progress bar as a saved notebook keeps it: finished, with its totals, not as first drawn."""

from __future__ import annotations

from typing import Any

import pytest


def _executed(source: str) -> Any:
    """A notebook of one cell holding `source`, executed in a real kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


@pytest.mark.slow
def test_a_finished_bar_is_saved_finished_in_the_notebook() -> None:
    nb = _executed("from qwenlab.progress import Progress\n"
                   "bar = Progress(24, desc='prompt-extend', budget_usd=2.5)\n"
                   "for i in range(24):\n    bar.advance(0.075 * (i + 1))\n"
                   "bar.close()")
    texts = [o["data"]["text/plain"] for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(texts) == 1, nb.cells[0].outputs  # one bar, updated in place, not a second copy
    assert "100%" in texts[0] and "24/24" in texts[0] and "$1.80 of $2.50" in texts[0], texts[0]
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



class Clock:
    """A clock the test moves: no test waits on real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_time_left_leaves_out_the_warm_up_and_says_estimating_until_then() -> None:
    """A typography pass's first image took three times the next ones (onnxruntime warming up),
    and tqdm extrapolated from it: 42 s shown for a 16 s pass."""
    from qwenlab.progress import Eta

    clock = Clock()
    eta = Eta(10, warmup=1, clock=clock)
    assert eta.rate() is None and eta.remaining() is None  # nothing done: estimating
    clock.now += 3.0  # the first image, warming up
    eta.done()
    assert eta.remaining() is None  # one image says how long warming takes, not an image
    for left in (8, 7, 6):
        clock.now += 1.0
        eta.done()
        assert eta.rate() == pytest.approx(1.0) and eta.remaining() == pytest.approx(left)
    clock.now += 3.0  # a slow one counts like any other after the warm-up
    eta.done()
    assert eta.rate() == pytest.approx(4 / 6) and eta.remaining() == pytest.approx(5 * 1.5)


def test_parallel_readers_each_warm_up_before_there_is_an_estimate() -> None:
    """Two readers each slow on their first image: their two first completions, close together,
    would make a second image look instant; every reader finishes a warm image first."""
    from qwenlab.progress import Eta

    clock = Clock()
    eta = Eta(20, warmup=2, clock=clock)
    for step in (3.0, 0.2, 1.8):  # both warm, then reader A's second image
        clock.now += step
        eta.done()
        assert eta.remaining() is None
    clock.now += 0.2  # reader B's second: 2 images in the 2 s since the warm-up
    eta.done()
    assert eta.rate() == pytest.approx(1.0) and eta.remaining() == pytest.approx(16)


def test_without_a_warm_up_the_rate_counts_from_the_start() -> None:
    from qwenlab.progress import Eta

    clock = Clock()
    eta = Eta(4, warmup=0, clock=clock)
    clock.now += 2.0
    eta.done(2)
    assert eta.rate() == pytest.approx(1.0) and eta.remaining() == pytest.approx(2)
    with pytest.raises(ValueError, match="warmup"):
        Eta(4, warmup=-1)


def test_the_terminal_bar_says_estimating_then_the_time_left_after_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from qwenlab.progress import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    clock = Clock()
    bar = Progress(10, desc="demo: reading text", unit="image", warmup=1, clock=clock)
    assert "estimating time left" in bar.text()
    clock.now += 30.0  # the first image
    bar.update()
    assert "1/10" in bar.text() and "estimating time left" in bar.text() and "<" not in bar.text()
    clock.now += 2.0
    bar.update()
    assert "2/10" in bar.text() and "<00:16," in bar.text() and "2.00s/image" in bar.text()  # 8 left at 2 s each
    for _ in range(8):
        bar.update()
    assert "10/10" in bar.text() and "estimating" not in bar.text()
    bar.close()


def test_a_bar_without_a_warm_up_keeps_tqdms_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bar given no warm-up (spend in its postfix) is tqdm's as before."""
    import sys

    from qwenlab.progress import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = Progress(4, desc="demo", budget_usd=1.0)
    assert bar.eta is None and "<?" in bar.text()
    bar.advance(0.1)
    assert "$0.10 of $1.00" in bar.text() and "estimating" not in bar.text()
    bar.close()


@pytest.mark.slow
def test_the_notebook_bar_says_estimating_until_the_warm_up_is_done() -> None:
    """The widget's text (tqdm's notebook bar) goes by the same estimate as the terminal's."""
    nb = _executed(
        "from qwenlab.progress import Progress\n"
        "now = [0.0]\n"
        "bar = Progress(10, desc='reading text', unit='image', warmup=1, clock=lambda: now[0])\n"
        "now[0] += 30; bar.update(); bar._bar.refresh()\n"
        "print('after 1:', bar._bar.container.children[2].value)\n"
        "now[0] += 2; bar.update(); bar._bar.refresh()\n"
        "print('after 2:', bar._bar.container.children[2].value)\n"
        "bar.close()")
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    first, second = out.replace("\u2007", " ").replace("&lt;", "<").split("after 2:")  # the widget's HTML
    assert "1/10" in first and "estimating time left" in first, out
    assert "2/10" in second and "<00:16" in second and "estimating" not in second, out


def test_a_run_s_bar_waits_for_its_first_concurrent_cells_before_saying_the_time_left(
        data_dir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's first `concurrency` cells go out together and come back together: tqdm went by the
    first of them alone and said `concurrency` times too long. The bar says it is estimating
    until as many cells are done after them, then gives the time left. (0.25 s a task, three at
    a time: the bar, redrawn at most every 0.1 s, is drawn after each wave of three.)"""
    import re
    import sys

    from qwenlab import Lab, Sweep
    from qwenlab.api.client import RunwareClient
    from qwenlab.emulator import Emulator, Faults

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with Emulator(faults=Faults(latency=0.25)) as emu:
        client = RunwareClient("sk-bar-test", emu.url, images_dir=data_dir / "images")
        try:
            Lab(data_dir, client=client).run(Sweep(prompt="A poster for 'LUMIERE'", size="256x256", repeats=12),
                                             name="bar", concurrency=3)
        finally:
            client.close()
    err = capsys.readouterr().err
    drawn = [(int(n), text) for n, text in re.findall(r"\| ?(\d+)/12 \[([^\]]*)\]", err)]
    warming = [text for n, text in drawn if 1 <= n < 6]
    assert warming and all("estimating time left" in text and "<" not in text for text in warming), drawn
    assert any("<" in text and "estimating" not in text for n, text in drawn if 6 <= n < 12), drawn
