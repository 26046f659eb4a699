"""Money mistakes a sweep must not make: an extended run keeps its budget, a request already done
is never paid again (and shows under the values it now has), a seed the model cannot take is
refused, and the way a run stopped (budget, failed cells) is recorded and shown as what it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from qwenlab import Lab, Sweep
from qwenlab.api.client import RunwareClient
from qwenlab.emulator import Emulator
from qwenlab.errors import ValidationError

PROMPT = "A premium beauty poster for a skincare brand called 'LUMIERE'"
PRICE = 0.075


@pytest.fixture
def make_lab(data_dir: Path) -> Callable[..., Lab]:
    made: list[RunwareClient] = []

    def make(emu: Emulator, **kw: Any) -> Lab:
        kw.setdefault("backoff_base", 0.01)
        client = RunwareClient("sk-money-test", emu.url, images_dir=data_dir / "images", **kw)
        made.append(client)
        return Lab(data_dir, client=client)

    yield make
    for c in made:
        c.close()


# -- 1. extend keeps the budget ----------------------------------------------------------------------
def test_extend_without_a_budget_keeps_the_experiments_budget(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    two = Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]})
    lab.run(two, name="kept", budget_usd=3 * PRICE, progress=False)
    assert emulator.ledger.total() == pytest.approx(2 * PRICE)

    eight = Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False], "outputQuality": [60, 61, 62, 63]})
    exp = lab.run(eight, name="kept", extend=True, progress=False)  # no budget_usd: the experiment's own holds
    assert exp.budget_usd == pytest.approx(3 * PRICE)
    assert emulator.ledger.total() <= 3 * PRICE + 1e-9
    assert exp.counts()["done"] == 3

    exp = lab.run(eight, name="kept", extend=True, budget_usd=1.0, progress=False)  # a new budget is taken
    assert exp.budget_usd == 1.0 and exp.counts()["done"] == 2 + 8  # the first sweep's 2 cells stay in the experiment


# -- 2. extend never pays twice for one request ----------------------------------------------------------
def test_adding_a_size_axis_reuses_the_cells_of_the_old_size_and_labels_them(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    lab.run(Sweep(prompt=PROMPT, size="256x384", axes={"promptExtend": [True, False]}), name="sized", progress=False)
    paid = {c.task_uuid for c in emulator.ledger.charges}
    assert len(paid) == 2

    wider = Sweep(prompt=PROMPT, axes={"promptExtend": [True, False], "size": ["256x384", "384x256"]})
    exp = lab.run(wider, name="sized", extend=True, progress=False)
    assert emulator.ledger.total() == pytest.approx(4 * PRICE) and emulator.ledger.charged_twice() == []
    df = exp.df
    assert len(df) == 4 and set(df["status"]) == {"done"}
    # the old cells show under the size they were sent with, not under "none"
    assert df["size"].notna().all()
    assert sorted(zip(df["promptExtend"], df["size"])) == [(False, "256x384"), (False, "384x256"),
                                                           (True, "256x384"), (True, "384x256")]
    old = df[df["task_uuid"].isin(paid)]
    assert set(old["size"]) == {"256x384"}
    # the grid reads the same values: one column per size, every slot filled
    from qwenlab.store.catalog import Catalog

    cat = Catalog.load(exp)
    assert len(cat.entries) == 4 and {e.value("size") for e in cat.entries} == {"256x384", "384x256"}
    # and running the wider sweep again sends nothing
    before = len(emulator.requests)
    lab.run(wider, name="sized", progress=False)
    assert len(emulator.requests) == before


def test_an_explicit_default_is_the_same_request_as_an_omitted_one(emulator: Emulator, make_lab) -> None:
    """promptExtend defaults to true (the model page says so): a cell that left it out and one that
    sends true are the same request, so adding a promptExtend axis pays only for `off`."""
    lab = make_lab(emulator)
    lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=2), name="implicit", progress=False)
    both = Sweep(prompt=PROMPT, size="256x256", repeats=2, axes={"promptExtend": [True, False]})
    plan = lab.plan(both, "implicit", quiet=True)  # the plan (and `qwenlab run --dry-run`) knows it too
    assert sorted(zip(plan["promptExtend"], plan["logged"])) == [("off", "new"), ("off", "new"), ("on", "done"), ("on", "done")]
    exp = lab.run(both, name="implicit", extend=True, progress=False)
    assert emulator.ledger.total() == pytest.approx(4 * PRICE) and emulator.ledger.charged_twice() == []
    assert sorted(zip(exp.df["promptExtend"], exp.df["repeat"])) == [(False, 0), (False, 1), (True, 0), (True, 1)]


def test_reference_images_moved_under_inputs_are_not_taken_for_those_sent_at_the_top(emulator: Emulator, make_lab) -> None:
    """The page's first example sends referenceImages at the top level, and qwenlab warns that
    Runware may ignore it there. Moved under inputs, as the warning advises, and run under the same
    name, the cell was taken for the one done (its output hash reads both spellings alike) and
    nothing was sent: the image that may have ignored the reference stood for the corrected
    request. The spelling now counts; a sweep extended beside it keeps its cells, spelled alike."""
    import base64
    import io

    from PIL import Image

    from qwenlab.core.request import Request

    lab = make_lab(emulator)
    jpeg = io.BytesIO()
    Image.new("RGB", (256, 256), (40, 60, 90)).save(jpeg, "JPEG")
    ref = "data:image/jpeg;base64," + base64.b64encode(jpeg.getvalue()).decode()
    task = {"taskType": "imageInference", "model": "alibaba:qwen-image@2.0-pro", "positivePrompt": PROMPT,
            "width": 256, "height": 256}
    top = Request.from_task({**task, "referenceImages": [ref]})
    assert top.spellings() == ("referenceImages",) and Request.from_task({**task, "inputs": {"referenceImages": [ref]}}).spellings() == ()
    lab.run(Sweep(base=top), name="edit", progress=False)
    assert len(emulator.ledger) == 1
    wider = lab.run(Sweep(base=top, axes={"outputQuality": [95, 99]}), name="edit", extend=True, progress=False)
    assert len(emulator.ledger) == 2 and len(wider.df) == 2, "the cell at the default (95) kept, spelled alike"
    moved = Sweep(base={**task, "inputs": {"referenceImages": [ref]}})
    assert list(lab.plan(moved, "edit", quiet=True)["logged"]) == ["new"]
    lab.run(moved, name="edit", extend=True, progress=False)
    assert len(emulator.ledger) == 3 and emulator.ledger.charged_twice() == []


def test_a_size_left_out_is_not_taken_for_a_size_sent(emulator: Emulator, make_lab) -> None:
    """Runware documents no default size, so a cell sent without one is a different request from
    one sent with 1024x1024: it stays, under "none", and is not relabelled."""
    lab = make_lab(emulator)
    lab.run(Sweep(prompt=PROMPT, outputQuality=20), name="unsized", progress=False)
    exp = lab.run(Sweep(prompt=PROMPT, outputQuality=20, axes={"size": ["1024x1024"]}), name="unsized", extend=True,
                  progress=False)
    assert len(exp.df) == 2 and exp.df["size"].isna().sum() == 1


# -- 3. a seed the model cannot take ------------------------------------------------------------------
def test_a_seed_on_a_model_without_seed_is_refused_like_a_seed_axis() -> None:
    with pytest.raises(ValidationError) as by_axis:
        Sweep(prompt=PROMPT, axes={"seed": [1, 2]}).cells()
    with pytest.raises(ValidationError) as by_keyword:
        Sweep(prompt=PROMPT, seed=42).cells()
    axis_text, keyword_text = str(by_axis.value), str(by_keyword.value)
    assert "declares none" in keyword_text and "seed_policy='sample'" in keyword_text
    explanation = next(p.message for p in by_axis.value.problems if "declares none" in p.message)
    assert explanation in keyword_text and explanation in axis_text


def test_a_seed_with_seed_policy_sample_is_refused(seeded_model: str) -> None:
    with pytest.raises(ValidationError, match="'sample' sends no seed"):
        Sweep(prompt=PROMPT, model=seeded_model, seed=42, seed_policy="sample").cells()
    assert Sweep(prompt=PROMPT, model=seeded_model, seed=42).cells()[0].seed == 42  # where it can be sent, it is


def test_a_sweep_file_seed_on_a_model_without_seed_is_refused(tmp_path: Path) -> None:
    from qwenlab.sweeps.sweepfile import load_sweep

    path = tmp_path / "s.toml"
    path.write_text('prompt = "A poster reading \'LUMIERE\'"\nseed = 42\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="declares none"):
        load_sweep(path).sweep.cells()


# -- 4. how a run stopped -----------------------------------------------------------------------------
def test_a_budget_stop_is_recorded_and_shown_as_one(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator)
    sweep = Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]}, repeats=2)
    exp = lab.run(sweep, name="capped", budget_usd=2 * PRICE, progress=False)
    assert exp.status == "budget" and exp.stop_reason.startswith("budget:")
    first = exp.summary().splitlines()[0]
    assert "stopped at its budget" in first and "interrupted" not in exp.summary()
    assert lab.experiments().set_index("name").loc["capped", "status"] == "budget"
    exp = lab.run(sweep, name="capped", budget_usd=1.0, progress=False)
    assert exp.status == "done" and exp.stop_reason is None


def test_failed_cells_are_in_the_status_line(emulator: Emulator, make_lab) -> None:
    lab = make_lab(emulator, max_retries=1)  # with none, a 5xx on every attempt leaves the cell in doubt
    emulator.script(["task_error"])
    exp = lab.run(Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]}), name="partly",
                  concurrency=1, progress=False)
    assert exp.counts()["failed"] == 1
    first = exp.summary().splitlines()[0]
    assert first.startswith("Experiment 'partly' (done, 1 cell failed)")
    exp = lab.run(Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]}), name="partly",
                  progress=False)
    assert exp.summary().splitlines()[0].startswith("Experiment 'partly' (done)")


# -- 5. two runs of one experiment at once share its budget ------------------------------------------------
@pytest.mark.parametrize("one_lab, raised", [(False, False), (True, False), (False, True)],
                         ids=["two-notebooks", "one-lab-two-threads", "two-notebooks-raised-price"])
def test_two_runs_of_one_experiment_at_once_share_its_budget(make_lab, monkeypatch: pytest.MonkeyPatch,
                                                             one_lab: bool, raised: bool) -> None:
    """Two notebooks (two connections to one log) send different cells of one experiment at once:
    each reserved against its own view of the spend, so together they paid 12 cells on a budget
    of 6. The log's own figure now decides, in the transaction that marks a cell sent. So it does
    for two threads running through one Lab (one connection: its own commits are no other's; an
    audit paid $1.125 on $0.60), and for a price raised above the description's, where the log
    counted the other run's cells in flight at their estimate ($1.425 on $1.00): now at the
    markup the runs have learnt."""
    import threading

    from qwenlab.core.request import Request
    from qwenlab.emulator import Faults

    if raised:  # the description says $0.05, the emulator charges $0.075
        monkeypatch.setattr(Request, "estimated_cost", lambda self: 0.05 * self.number_results)
    with Emulator(faults=Faults.parse("latency=0.1")) as emu:
        first = make_lab(emu)
        second = first if one_lab else make_lab(emu)
        low = Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": list(range(60, 70))})
        high = Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": [60, *range(70, 80)]})  # other cells
        first.run(Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": [60]}), name="shared",
                  budget_usd=6 * PRICE, progress=False)  # the experiment, its budget, one cell
        errors: list[BaseException] = []

        def extend() -> None:
            try:
                second.run(high, name="shared", extend=True, progress=False)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        other = threading.Thread(target=extend)
        other.start()
        exp = first.run(low, name="shared", extend=True, progress=False)
        other.join(60)
        assert not errors, errors
        assert len(emu.ledger) == 6 and emu.ledger.total() <= 6 * PRICE + 1e-9  # the budget, used and not passed
        assert exp.log.spent(exp.id) == pytest.approx(emu.ledger.total())


# -- 6. a price raised since the description was written ------------------------------------------------------
def test_a_price_above_the_estimate_is_reserved_from_then_on(emulator: Emulator, make_lab,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The description says $0.05 an image, the API charges $0.075 (a price raised since): the
    budget reserved $0.05 a cell throughout and paid $1.35 on a budget of $1.00 at concurrency 8."""
    from qwenlab.core.request import Request

    monkeypatch.setattr(Request, "estimated_cost", lambda self: 0.05)
    lab = make_lab(emulator)
    sweep = Sweep(prompt=PROMPT, size="256x256", axes={"outputQuality": list(range(40, 80))})
    exp = lab.run(sweep, name="raised", budget_usd=1.00, concurrency=8, progress=False)
    assert emulator.ledger.total() <= 1.00 + 1e-9
    assert exp.status == "budget" and exp.counts()["done"] == 13  # 13 x $0.075 = $0.975: all the budget holds
    again = lab.run(sweep, name="raised", budget_usd=1.30, concurrency=8, progress=False)  # learnt from the log
    assert emulator.ledger.total() <= 1.30 + 1e-9 and again.counts()["done"] == 17


def test_the_summary_says_when_the_spend_is_over_the_budget(emulator: Emulator, make_lab) -> None:
    """A price raised past what the budget reserves, or a budget lowered since: the summary's
    spend line said '$0.150 ... of $0.10 budget' and nothing more; `qwenlab costs` had the note."""
    lab = make_lab(emulator)
    exp = lab.run(Sweep(prompt=PROMPT, size="256x256", axes={"promptExtend": [True, False]}), name="over", progress=False)
    assert "OVER" not in exp.summary()
    lab.log.update_experiment(exp.id, budget_usd=0.10)
    assert "of $0.10 budget, OVER by $0.05" in lab.experiment("over").summary()
