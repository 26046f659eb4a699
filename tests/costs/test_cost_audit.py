"""Figures of the cost audit: what a run, a summary and a listing say of the budget and the spend."""

from __future__ import annotations

from pathlib import Path

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient

PROMPT = "A premium beauty poster for LUMIERE serum, 'Glow, Refined.' headline"


def test_a_budget_of_a_tenth_of_a_cent_is_shown_as_it_is_held(emulator, data_dir: Path) -> None:
    # $0.375 is five images at $0.075: the run stops at it exactly; "$0.38" said half a cent more was allowed
    client = RunwareClient("sk-budget", emulator.url, images_dir=data_dir / "images", backoff_base=0.01,
                           poll_initial=0.02, poll_max=0.1)
    with client:
        exp = Lab(data_dir, client=client).run(Sweep(prompt=PROMPT, size="512x512", repeats=6), name="fifths",
                                              budget_usd=0.375, progress=False, concurrency=1)
    assert exp.counts()["done"] == 5 and exp.cost == 0.375
    assert "of $0.375 budget" in exp.summary(), exp.summary()
    assert "of $0.375 is left" in exp.stop_reason and "$0.38" not in exp.stop_reason, exp.stop_reason


def test_progress_shows_a_budget_of_a_tenth_of_a_cent_as_it_is() -> None:
    from qwenlab.progress import budget_text

    assert budget_text(0.375) == "$0.375" and budget_text(2.0) == "$2.00" and budget_text(0.2) == "$0.20"
