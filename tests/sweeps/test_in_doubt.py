"""Cells the server took and no longer knows. A cell in doubt (sent, its result never logged) is
asked about with getResponse at the next run, and sent again only under its own taskUUID, which
cannot pay twice. When the server took that taskUUID and getResponse does not know it (its
results expired, or it failed on the server: `taskFailedOrNotFound`), the cell stays in doubt:
each run says so, and does not take it for an outage; `resend_in_doubt=True` (`--resend-in-doubt`)
sends it anew under a new taskUUID, the user's call, as it may be paid for twice.

Scripted with httpx.MockTransport (the fake Runware of tests/api/test_audit_fixes.py).
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwenlab import Sweep
from qwenlab.costs import Costs
from qwenlab.errors import QwenlabError, TransportError
from qwenlab.store.log import Log
from qwenlab.sweeps.runner import IN_DOUBT_ADVICE
from tests.api.test_audit_fixes import PROMPT, Fake, error_answer, lab_for

SWEEP = Sweep(prompt=PROMPT, size="256x256", repeats=4)  # 4 cells


def _forget(fake: Fake) -> None:
    """The server keeps the taskUUIDs it took but no longer has their results."""
    forgotten = set(fake.results)
    answer = fake.answer

    def forgetful(tasks: list[dict[str, Any]]) -> httpx.Response:
        uid = tasks[0].get("taskUUID")
        if tasks[0].get("taskType") == "getResponse" and uid in forgotten:
            return httpx.Response(400, json={"errors": [{"code": "taskFailedOrNotFound", "taskUUID": uid,
                                                         "message": "Task failed or not found"}]})
        return answer(tasks)

    fake.answer = forgetful  # type: ignore[method-assign]


def test_a_cell_the_server_no_longer_knows_stays_in_doubt_until_resent_by_choice(data_dir: Path) -> None:
    fake = Fake()
    # run 1: a gateway answers 502 to every attempt, after the API took (and charged) the task
    fake.script.extend([error_answer(502, take=fake)] * 12)  # 3 attempts for each cell sent
    lab, client = lab_for(fake, data_dir)
    with client:
        with pytest.raises(TransportError) as stop:  # 3 cells in a row unanswered: the API looks down
            lab.run(SWEEP, name="kept", progress=False, concurrency=1)
        assert "502" in str(stop.value) and IN_DOUBT_ADVICE in str(stop.value) and "client.recover" not in str(stop.value)
        taken = dict(fake.charged)  # 3, or 4 when the last cell was on the wire as the run stopped
        n = len(taken)
        assert n in (3, 4) and set(taken.values()) == {1}
        # the log and the stop say what happened and what the run does about it, not the client's
        # advice to its own callers ("call client.recover(request)"), which a shell user cannot follow
        stopped = lab.experiment("kept")
        doubts = [t["error_message"] or "" for t in stopped.log.tasks(stopped.id) if t["status"] == "sent"]
        assert doubts and all("502" in m and IN_DOUBT_ADVICE in m and "client.recover" not in m for m in doubts), doubts
        assert "502" in stopped.stop_reason and "client.recover" not in stopped.stop_reason
        # the plan says so too, and puts them first: they are asked about before anything is sent
        to_send = lab.preview(SWEEP, "kept").to_send["logged"].tolist()
        assert to_send[:n] == ["in_doubt"] * n and "sent" not in to_send, to_send
        fake.script.clear()
        _forget(fake)

        # run 2: each of them is asked about, sent again under its taskUUID (conflictTaskUUID: the
        # server has it) and still not known: in doubt, not failed, and no outage (3 or more in a
        # row, answered); a cell not sent before is done
        exp = lab.run(SWEEP, name="kept", progress=False, concurrency=1)
        counts = exp.counts()
        assert (counts["in_doubt"], counts["done"], counts["failed"]) == (n, 4 - n, 0), counts
        assert f"{n} of those in doubt were answered but not settled" in exp.row["stop_reason"]
        assert "--resend-in-doubt" in exp.row["stop_reason"]
        # the status word "done" (every cell tried) never stands alone over cells not settled
        assert exp.summary().startswith(f"Experiment 'kept' (done, {n} in doubt): {4 - n}/4 cells done"), exp.summary()
        assert all(fake.charged[u] == 1 for u in taken), "nothing paid twice without being asked"
        # every count says it as the CLI does: "in_doubt", never "sent" (which read as if the done
        # cells had not been sent); the old key still answers, with a warning
        listed = lab.experiments().set_index("name").loc["kept"]
        assert listed["in_doubt"] == n and "sent" not in listed.index
        by_status = Costs(lab.log).by("status")
        assert by_status.loc["in_doubt", "tasks"] == n and "sent" not in by_status.index
        statuses = exp.df["status"].tolist()  # the cells' frame, too (it said the log's raw 'sent')
        assert statuses.count("in_doubt") == n and "sent" not in statuses
        with pytest.warns(DeprecationWarning, match="in_doubt"):
            assert counts["sent"] == n
        with pytest.raises(KeyError):
            counts["nonsense"]

        # run 3, by choice: they are sent anew under new taskUUIDs; the earlier attempts stay in
        # the cost history as in doubt (they may have been paid)
        exp = lab.run(SWEEP, name="kept", progress=False, concurrency=1, resend_in_doubt=True)
    assert exp.counts()["done"] == 4 and exp.row["stop_reason"] is None
    new = {t["task_uuid"] for t in exp.log.tasks(exp.id)} - set(taken)
    assert len(new) == 4 and all(fake.charged[u] == 1 for u in new)
    totals = Costs(exp.log).totals()
    assert totals["in_doubt"] == n and totals["in_doubt_usd"] == pytest.approx(n * 0.075)
    assert totals["cost_usd"] == pytest.approx((4 + n) * 0.075)  # every request that may have been paid
    # and so say the budget's figure, the summary and `qwenlab logs` (the given-up attempts once
    # counted $0 there, and a budget let a resent cell through that it could not cover)
    assert exp.log.spent(exp.id) == pytest.approx(totals["cost_usd"]) == exp.cost
    listed = exp.log.experiments_frame().set_index("name").loc["kept", "cost_usd"]
    assert listed == pytest.approx(totals["cost_usd"])


def test_a_reference_image_that_cannot_be_uploaded_fails_its_cell_not_in_doubt(data_dir: Path, tmp_path: Path) -> None:
    """The upload comes before the cell is sent: a 5xx on every upload attempt leaves nothing of
    the cell on the server (uploads cost nothing), so it fails and is sent again next run; it was
    once 'in doubt' in the run's summary while the log said 'pending'."""
    from PIL import Image

    from qwenlab.core.request import Request

    picture = tmp_path / "billboard.png"
    Image.new("RGB", (64, 64), "white").save(picture)
    fake = Fake()
    fake.script.extend([error_answer(500)] * 3)
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(Sweep(base=Request(prompt="Put 'LUMIERE' on the billboard", referenceImages=[str(picture)])),
                      name="upload", progress=False, concurrency=1)
    assert exp.counts()["failed"] == 1 and exp.counts()["in_doubt"] == 0
    assert fake.kinds() == ["imageUpload"] * 3 and not fake.charged
    assert "in doubt" not in (exp.row["stop_reason"] or "")


def test_a_paid_image_that_could_not_be_downloaded_is_fetched_again_before_it_is_bought_again(data_dir: Path) -> None:
    """A charged cell whose image failed to download (here its URL answered 410 once) ends failed.
    The next run asks getResponse under its taskUUID first, free, and downloads the image it paid
    for; it once sent the cell anew and paid for it a second time."""
    from collections import deque

    class LostOnce(Fake):
        def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
            items = super().accept(task)
            if len(self.accepted) == 1:
                self.get_script[items[0]["imageURL"]] = deque([410])  # the first download fails
            return items

    fake = LostOnce()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=2)
    with client:
        first = lab.run(sweep, name="lost", progress=False, concurrency=1)
        assert (first.counts()["failed"], first.counts()["done"]) == (1, 1)
        assert first.cost == pytest.approx(2 * 0.075)  # the failed one was charged
        again = lab.run(sweep, name="lost", progress=False, concurrency=1)
    assert again.counts()["done"] == 2 and again.counts()["images"] == 2
    assert sum(fake.charged.values()) == 2 and "getResponse" in fake.kinds()
    assert again.cost == pytest.approx(2 * 0.075)  # paid once each, and counted once


# -- when the server cannot be asked, nothing is bought again ---------------------------------------
class _LostOnce(Fake):
    """The first task's image download answers 410 once: charged, its image lost for now."""

    def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        from collections import deque

        items = super().accept(task)
        if len(self.accepted) == 1:
            self.get_script[items[0]["imageURL"]] = deque([410])
        return items


@pytest.mark.parametrize("answer", [502, 429], ids=["5xx", "429"])
def test_a_paid_cell_is_not_bought_again_when_its_getresponse_fails(data_dir: Path, answer: int) -> None:
    """A charged cell whose image was lost is asked about with getResponse first. When that ask
    met 5xx or 429 through every retry, the run took it for "the server does not have it" and
    bought the cell again, although the server held the paid image. Now the row stays failed
    and paid, and the next run asks again and downloads it."""
    fake = _LostOnce()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=1)
    with client:
        first = lab.run(sweep, name="lost", progress=False, concurrency=1)
        assert first.counts()["failed"] == 1 and first.cost == pytest.approx(0.075)
        fake.script.extend([error_answer(answer)] * 3)  # the getResponse, and its 2 retries
        second = lab.run(sweep, name="lost", progress=False, concurrency=1)
        assert second.counts()["failed"] == 1 and sum(fake.charged.values()) == 1, "not bought again"
        assert second.cost == pytest.approx(0.075)
        third = lab.run(sweep, name="lost", progress=False, concurrency=1)
    assert third.counts()["done"] == 1 and third.counts()["images"] == 1
    assert sum(fake.charged.values()) == 1 and third.cost == pytest.approx(0.075)


@pytest.mark.parametrize("answer", [(429, None), (401, "invalidApiKey"), (500, None)], ids=["429", "401", "5xx"])
def test_a_cell_in_doubt_whose_getresponse_is_refused_stays_in_doubt(data_dir: Path, answer: tuple[int, str | None]) -> None:
    """A cell in doubt (taken, no answer) is asked about at the next run. A getResponse refused
    (429 through every retry, a key refused) made it 'failed' with no cost: its possible payment
    left the spend, and the run after sent it anew under a new taskUUID, paying twice."""
    fake = Fake()
    fake.script.extend([error_answer(502, take=fake)] * 3)  # taken behind a gateway: in doubt
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=1)
    with client:
        first = lab.run(sweep, name="doubt", progress=False, concurrency=1)
        assert first.counts()["in_doubt"] == 1 and first.cost == pytest.approx(0.075)
        status, code = answer
        fake.script.extend([error_answer(status, code)] * (1 if status == 401 else 3))  # a 401 is not retried
        try:
            second = lab.run(sweep, name="doubt", progress=False, concurrency=1)
        except QwenlabError as exc:  # a key refused stops the run (and a 5xx-only API looks down): said, not hidden
            second = exc.experiment  # type: ignore[attr-defined]
        assert second.counts()["in_doubt"] == 1 and second.cost == pytest.approx(0.075), second.counts()
        third = lab.run(sweep, name="doubt", progress=False, concurrency=1)
    assert third.counts()["done"] == 1 and sum(fake.charged.values()) == 1 and third.cost == pytest.approx(0.075)


def test_resend_in_doubt_stays_within_the_budget(data_dir: Path) -> None:
    """With resend_in_doubt, the attempt given up stays in the spend (it may have been paid), and
    the run that resends it began its budget without it: it sent the cell anew past the budget.
    Now the new attempt goes only when the budget holds both, and the run says why it did not."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=2)
    with client:
        fake.script.extend([lambda tasks: fake.answer(tasks)] + [error_answer(502, take=fake)] * 3)
        lab.run(sweep, name="edge", budget_usd=2 * 0.075, progress=False, concurrency=1)
        _forget(fake)
        held = lab.run(sweep, name="edge", budget_usd=2 * 0.075, progress=False, concurrency=1, resend_in_doubt=True)
        assert held.counts()["in_doubt"] == 1 and sum(fake.charged.values()) == 2, "not resent past the budget"
        assert "not sent anew (resend_in_doubt): the budget cannot hold" in held.row["stop_reason"]
        assert held.cost == pytest.approx(2 * 0.075)
        raised = lab.run(sweep, name="edge", budget_usd=3 * 0.075, progress=False, concurrency=1, resend_in_doubt=True)
    assert raised.counts()["done"] == 2 and sum(fake.charged.values()) == 3
    assert raised.cost == pytest.approx(3 * 0.075) and raised.cost <= 3 * 0.075 + 1e-9


def test_resend_in_doubt_reserves_a_raised_price_in_full(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The description says $0.05, the API charges $0.075, and the run has learnt it: every new
    cell reserves $0.075. A cell sent anew under resend_in_doubt reserved its estimate, $0.05,
    so the new attempt went where the budget held only that, and the spend passed the budget."""
    from qwenlab.core.request import Request

    monkeypatch.setattr(Request, "estimated_cost", lambda self: 0.05 * self.number_results)
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=2)
    with client:
        fake.script.extend([lambda tasks: fake.answer(tasks)] + [error_answer(502, take=fake)] * 3)
        lab.run(sweep, name="raised", progress=False, concurrency=1)  # one done at $0.075, one in doubt ($0.05 held)
        _forget(fake)
        budget = 0.075 + 0.05 + 0.05  # room for a new attempt at the estimate, not at the price charged
        held = lab.run(sweep, name="raised", budget_usd=budget, progress=False, concurrency=1, resend_in_doubt=True)
    assert sum(fake.charged.values()) == 2 and held.counts()["in_doubt"] == 1, "not resent past the budget"
    assert held.cost <= budget + 1e-9


def test_a_failed_cell_renewed_by_another_process_first_is_not_sent_under_a_second_taskuuid(data_dir: Path) -> None:
    """Two processes running one experiment each renew its failed cells. Each gave a failed row a
    taskUUID of its own, so each sent the cell and it was paid twice. Now the second finds the
    row renewed and sends it under the first's taskUUID: the server answers conflictTaskUUID and
    the run fetches the first's results, paid once."""
    from qwenlab.store.log import Log

    fake = Fake()
    fake.script.append(error_answer(400, "invalidPrompt"))  # run 1: refused, nothing charged: failed
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=1)
    with client:
        assert lab.run(sweep, name="shared", progress=False, concurrency=1).counts()["failed"] == 1
        other = Log(lab.log.path)  # another process on the same log
        ours = lab.log.reset_task

        def renewed_meanwhile(task_id: int, **kw: Any) -> Any:
            # just before this run renews the row, the other process has renewed it and sent it
            row = other.rows("SELECT * FROM tasks WHERE id = ?", [task_id])[0]
            other.reset_task(task_id, task_uuid="11111111-1111-4111-8111-111111111111",
                             request_json=row["request_json"], replacing=row["task_uuid"])
            fake.accept({**json.loads(row["request_json"]), "taskUUID": "11111111-1111-4111-8111-111111111111"})
            return ours(task_id, **kw)

        lab.log.reset_task = renewed_meanwhile  # type: ignore[method-assign]
        exp = lab.run(sweep, name="shared", progress=False, concurrency=1)
        other.close()
    assert exp.counts()["done"] == 1 and exp.counts()["images"] == 1
    assert sum(fake.charged.values()) == 1, f"paid twice: {dict(fake.charged)}"
    assert exp.log.tasks(exp.id)[0]["task_uuid"] == "11111111-1111-4111-8111-111111111111"


class _LosesOneOfTwo(Fake):
    """The first task's second image answers 410 once: the cell is done with one of its two
    paid images."""

    def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        from collections import deque

        items = super().accept(task)
        if len(self.accepted) == 1:
            self.get_script[items[1]["imageURL"]] = deque([410])
        return items


@pytest.mark.parametrize("server_kept_it", [True, False], ids=["server-has-it", "server-forgot-it"])
def test_a_done_cell_that_lost_a_paid_image_gets_it_back_at_the_next_run(data_dir: Path, server_kept_it: bool) -> None:
    """numberResults=2 and one image's download failed: the cell is done with one image, and no
    run ever asked for the other, paid for. The next run asks getResponse (free) and keeps it;
    when the server no longer knows the task the row says so and is not asked about again."""
    fake = _LosesOneOfTwo()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=2, repeats=2)
    with client:
        first = lab.run(sweep, name="two", progress=False, concurrency=1)
        assert first.counts()["done"] == 2 and first.counts()["images"] == 3
        if not server_kept_it:
            _forget(fake)
        again = lab.run(sweep, name="two", progress=False, concurrency=1)
        asked = fake.kinds().count("getResponse")
        refetched, lost_now = lab.last_refetched, lab.last_lost
        third = lab.run(sweep, name="two", progress=False, concurrency=1)
    assert sum(fake.charged.values()) == 2 and asked == 1, "asked once, free; nothing bought again"
    assert again.cost == pytest.approx(first.cost) == pytest.approx(4 * 0.075)
    lost = [t for t in third.log.tasks(third.id) if t["error_code"]]
    assert refetched == 1 and lost_now == (0 if server_kept_it else 1)
    if server_kept_it:
        assert again.counts()["images"] == 4 and not lost
        assert "for good" not in third.summary()
    else:
        assert again.counts()["images"] == 3 and [t["error_code"] for t in lost] == ["ImageLost"]
        assert "no longer knows the task" in lost[0]["error_message"]
        assert "1 cell lost a paid image for good: " in third.summary()
    assert fake.kinds().count("getResponse") == asked, "the third run asks nothing"


def test_a_done_cell_whose_answer_listed_fewer_images_than_asked_asks_for_the_rest(data_dir: Path) -> None:
    """numberResults=2 and the answer lists one image (the server may have made, and charged,
    both): the cell was done with one, and no run ever asked for the other. The next run asks
    getResponse (free) and keeps what it gives; nothing is bought again."""
    fake = Fake()

    def lists_one_of_two(tasks: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(200, json={"data": fake.accept(tasks[0])[:1]})

    fake.script.append(lists_one_of_two)
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=2)
    with client:
        first = lab.run(sweep, name="short", progress=False, concurrency=1)
        assert first.counts()["images"] == 1 and first.log.tasks(first.id)[0]["error_code"] == "missingResults"
        again = lab.run(sweep, name="short", progress=False, concurrency=1)
    assert again.counts()["images"] == 2 and lab.last_refetched == 1 and lab.last_lost == 0
    assert fake.kinds().count("getResponse") == 1 and sum(fake.charged.values()) == 1, "asked once, free"
    assert not again.log.tasks(again.id)[0]["error_code"]


class _RefusesOneOfTwo(Fake):
    """The first task's second image answers 410 (expired) at every download."""

    def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        from collections import deque

        items = super().accept(task)
        if len(self.accepted) == 1:
            self.get_script[items[1]["imageURL"]] = deque([410] * 10)
        return items


def test_a_lost_image_refused_again_is_not_asked_for_at_every_run(data_dir: Path) -> None:
    """A done cell's lost image whose download is refused again (not a passing failure: here an
    expired URL) was asked for, and downloaded, at every run for ever. The row now says it was
    refused again and later runs leave it."""
    fake = _RefusesOneOfTwo()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=2, repeats=1)
    with client:
        first = lab.run(sweep, name="refused", progress=False, concurrency=1)
        assert first.counts()["images"] == 1
        again = lab.run(sweep, name="refused", progress=False, concurrency=1)
        asked = fake.kinds().count("getResponse")
        third = lab.run(sweep, name="refused", progress=False, concurrency=1)
    assert asked == 1 and fake.kinds().count("getResponse") == asked, "asked once; the third run asks nothing"
    assert sum(fake.charged.values()) == 1 and third.cost == pytest.approx(again.cost) == pytest.approx(2 * 0.075)
    row = third.log.tasks(third.id)[0]
    assert row["status"] == "done" and row["error_code"] == "ImageLost"
    assert "refused again" in row["error_message"] and "410" in row["error_message"], row["error_message"]


class NoUUID(Fake):
    """The fake Runware, its image items without an imageUUID (Runware's carry one; an answer may not)."""

    def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        items = super().accept(task)
        for item in items:
            item.pop("imageUUID", None)
        return items


class _LostOnceNoUUID(NoUUID, _LostOnce):
    """_LostOnce, its image items without an imageUUID."""


@pytest.mark.parametrize("fake_class", [_LostOnce, _LostOnceNoUUID], ids=["imageUUID", "no-imageUUID"])
def test_a_lost_image_without_a_reported_cost_is_counted_and_asked_for_not_bought_again(data_dir: Path,
                                                                                      fake_class: type[Fake]) -> None:
    """With includeCost turned off, a cell whose image was made but could not be downloaded was
    logged failed at $0: out of the spend, and sent anew (paid again) by the next run. It counts
    at its estimate now, and the next run asks getResponse for the image first. An image item
    without an imageUUID was made all the same."""
    fake = fake_class()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", includeCost=False)
    with client:
        first = lab.run(sweep, name="nocost", progress=False, concurrency=1)
        row = first.log.tasks(first.id)[0]
        assert row["status"] == "failed" and row["cost_source"] == "estimate" and first.cost == pytest.approx(0.075)
        again = lab.run(sweep, name="nocost", progress=False, concurrency=1)
    assert again.counts()["done"] == 1 and sum(fake.charged.values()) == 1 and "getResponse" in fake.kinds()
    assert again.cost == pytest.approx(0.075)


def test_a_run_does_not_report_failures_another_run_has_since_mended(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one experiment on one log: this one's cell failed, and the other run did it
    meanwhile. Its stop reason said '1 cell failed; run again' over an experiment with nothing
    left to run (the last run to finish wrote its own counts)."""
    from qwenlab.store.log import Log
    from qwenlab.sweeps import dispatch

    fake = Fake()
    fake.script.append(error_answer(400, "invalidPrompt"))
    lab, client = lab_for(fake, data_dir)
    ran = dispatch.Dispatch.run

    def and_the_other_run_mends_it(self: Any, jobs: Any) -> Any:
        out = ran(self, jobs)
        with Log(lab.log.path) as other, other.transaction() as db:
            db.execute("UPDATE tasks SET status = 'done', error_code = NULL, error_message = NULL")
        return out

    monkeypatch.setattr(dispatch.Dispatch, "run", and_the_other_run_mends_it)
    with client:
        exp = lab.run(Sweep(prompt=PROMPT, size="256x256"), name="two-runs", progress=False, concurrency=1)
    assert exp.counts()["done"] == 1 and exp.stop_reason is None and exp.status == "done"


# -- the second audit: budgets with cells in doubt, hosts that blip, refetches --------------------------
@pytest.mark.parametrize("concurrency", [1, 4])
def test_cells_in_doubt_hold_their_room_in_the_budget_while_others_are_resent(data_dir: Path, concurrency: int) -> None:
    """8 cells in doubt and room for 2 new attempts: the run began its budget without the cells
    in doubt, and each resent cell used the room of those not reached yet: 5 were paid anew
    against a budget for 2, and 3 were set back to 'pending', their possible payment gone from
    the log. Now the cells in doubt hold their room until each settles."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=8)
    with client:
        fake.script.extend([error_answer(502, take=fake)] * 24)
        with pytest.raises(TransportError):
            lab.run(sweep, name="e", progress=False, concurrency=8)
        spent = lab.experiment("e").cost
        assert spent == pytest.approx(8 * 0.075) and sum(fake.charged.values()) == 8
        fake.script.clear()
        _forget(fake)
        budget = spent + 2 * 0.075
        exp = lab.run(sweep, name="e", progress=False, concurrency=concurrency, resend_in_doubt=True, budget_usd=budget)
    paid = sum(fake.charged.values()) * 0.075
    assert paid <= budget + 1e-9 and exp.cost == pytest.approx(paid), (paid, exp.cost, exp.counts())
    counts = exp.counts()
    assert counts["pending"] == 0 and counts["done"] + counts["in_doubt"] == 8, counts  # none flipped to 'pending'
    assert counts["done"] <= 2 and "not sent anew" in (exp.stop_reason or ""), exp.stop_reason


def test_a_paid_image_its_host_fails_to_serve_is_not_bought_again(data_dir: Path) -> None:
    """A charged cell lost its image (410); at the next run getResponse has it, but its host
    answers 503 through every retry: the run bought the cell again. Now it is asked again later."""
    from collections import deque

    fake = _LostOnce()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256")
    with client:
        lab.run(sweep, name="blip", progress=False, concurrency=1)
        url = next(iter(fake.results.values()))[0]["imageURL"]
        fake.get_script[url] = deque([503] * 10)
        second = lab.run(sweep, name="blip", progress=False, concurrency=1)
        assert second.counts()["failed"] == 1 and sum(fake.charged.values()) == 1, "not bought again"
        fake.get_script[url].clear()
        third = lab.run(sweep, name="blip", progress=False, concurrency=1)
    assert third.counts()["done"] == 1 and sum(fake.charged.values()) == 1


def test_refetching_lost_images_never_stops_a_run_as_an_outage_nor_asks_for_another_log_s(data_dir: Path) -> None:
    """Every cell done, three lost one of their two images (no cost reported: includeCost off).
    Asked for with the API answering 502, the run marked the experiment 'failed' and said cells
    were in doubt; on an imported experiment it asked this server for another account's tasks and
    wrote ImageLost. Neither now; and without a reported cost the lost images are still asked for."""
    class LosesEverySecond(Fake):
        def accept(self, task: dict[str, Any]) -> list[dict[str, Any]]:
            items = super().accept(task)
            self.get_script[items[1]["imageURL"]] = deque([410])
            return items

    fake = LosesEverySecond()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=2, repeats=3, includeCost=False)
    with client:
        first = lab.run(sweep, name="three2", progress=False, concurrency=1)
        assert first.counts()["images"] == 3
        fake.script.extend([error_answer(502)] * 9)  # 3 getResponse x 3 attempts
        down = lab.run(sweep, name="three2", progress=False, concurrency=1)
        assert down.status == "done" and down.stop_reason is None and down.counts()["done"] == 3
        with lab.log.transaction() as db:
            db.execute("UPDATE experiments SET imported_from = '{\"bundle\": \"x.zip\"}' WHERE name = 'three2'")
        asked = fake.kinds().count("getResponse")
        lab.run(sweep, name="three2", progress=False, concurrency=1)
        assert fake.kinds().count("getResponse") == asked, "nothing asked about an imported experiment"
        with lab.log.transaction() as db:
            db.execute("UPDATE experiments SET imported_from = NULL WHERE name = 'three2'")
        mended = lab.run(sweep, name="three2", progress=False, concurrency=1)
    assert mended.counts()["images"] == 6 and lab.last_refetched == 3
    assert sum(fake.charged.values()) == 3  # each cell paid once


def test_a_paid_image_is_fetched_again_when_the_budget_is_spent(data_dir: Path) -> None:
    """A charged cell lost its image (410) and the budget is spent, that cell's charge included.
    The next run stopped at the budget before asking for it, though getResponse is free: the
    paid image was never fetched, and lost for good once the server let it go. Now it is asked
    for first, whatever the budget; only buying it again would need room in the budget."""
    fake = _LostOnce()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=2)
    with client:
        first = lab.run(sweep, name="spent", progress=False, concurrency=1, budget_usd=0.075)
        assert first.counts()["failed"] == 1 and first.counts()["pending"] == 1 and first.cost == pytest.approx(0.075)
        second = lab.run(sweep, name="spent", progress=False, concurrency=1)
    counts = second.counts()
    assert counts["done"] == 1 and counts["images"] == 1 and counts["pending"] == 1, counts
    assert sum(fake.charged.values()) == 1 and second.cost == pytest.approx(0.075)
    assert second.status == "budget" and "not sent" in (second.stop_reason or "")
    for image in lab.log.images(second.id):
        assert (data_dir / image["path"]).is_file()


def test_a_paid_cell_the_server_no_longer_has_is_not_bought_past_the_budget(data_dir: Path) -> None:
    """As above, but the server has forgotten the task: asked (free), it is not bought again past
    the budget, and the run says the budget stopped it."""
    fake = _LostOnce()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=1)
    with client:
        lab.run(sweep, name="gone", progress=False, concurrency=1, budget_usd=0.075)
        _forget(fake)
        second = lab.run(sweep, name="gone", progress=False, concurrency=1)
    assert second.counts()["failed"] == 1 and sum(fake.charged.values()) == 1 and second.cost == pytest.approx(0.075)
    assert "getResponse" in fake.kinds()
    assert second.status == "budget" and "Raise the budget" in (second.stop_reason or ""), second.stop_reason


def test_a_cell_in_doubt_sent_again_under_its_taskuuid_is_not_refused_its_own_room_when_the_log_is_shared(
        data_dir: Path) -> None:
    """A budget that holds the sweep exactly; the last cell was left in doubt (502 on every
    attempt, the server never took it). With another notebook writing to the log meanwhile, each
    cell marked 'sent' is checked against the log's spend, which counts the cell in doubt at its
    estimate already: its estimate was added a second time, so the cell the server did not know
    was refused ("another run of this experiment spent part of its $0.30 meanwhile", which no run
    had) and stayed in doubt at every run. Sent again under its own taskUUID it cannot be paid
    twice, and its room in the budget is its own."""
    fake = Fake()
    fake.script.extend([fake.answer] * 3 + [error_answer(502)] * 3)  # the 4th cell: 502 on its 3 attempts
    lab, client = lab_for(fake, data_dir)
    with client:
        exp = lab.run(SWEEP, name="exact", progress=False, concurrency=1, budget_usd=4 * 0.075)
        assert (exp.counts()["done"], exp.counts()["in_doubt"]) == (3, 1) and sum(fake.charged.values()) == 3
        with Log(data_dir / "qwenlab.db") as other:  # a second notebook on the log writes to it
            other.update_experiment(exp.id, notes="seen from another notebook")
        exp = lab.run(SWEEP, name="exact", progress=False, concurrency=1)
    assert exp.counts()["done"] == 4 and exp.stop_reason is None, (exp.counts(), exp.stop_reason)
    assert sum(fake.charged.values()) == 4 and set(fake.charged.values()) == {1}
    assert exp.cost == pytest.approx(4 * 0.075)



def test_cells_in_doubt_sent_again_are_not_refused_by_a_shared_budget_before_any_price_is_known(data_dir: Path) -> None:
    """Two cells left in doubt (502 on every attempt: the server never took them) by a run
    without a budget; the next run gives a budget that holds both exactly, while another notebook
    writes to the log. Before any price is confirmed, the log's check counted every cell in doubt
    at twice its estimate, the one being sent again included, beside their estimates in the
    spend: the first was refused ("another run of this experiment spent part of its $0.15
    meanwhile", which none had), and both stayed in doubt at every run of that notebook. Sent
    again under their own taskUUIDs they cannot be paid twice: the spend holds them already."""
    fake = Fake()
    fake.script.extend([error_answer(502)] * 6)  # 2 cells, 3 attempts each: neither taken
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=2)
    with client:
        exp = lab.run(sweep, name="exact", progress=False, concurrency=2)
        assert exp.counts()["in_doubt"] == 2 and not fake.charged
        with Log(data_dir / "qwenlab.db") as other:  # a second notebook on the log writes to it
            other.update_experiment(exp.id, notes="seen from another notebook")
        exp = lab.run(sweep, name="exact", progress=False, concurrency=1, budget_usd=2 * 0.075)
    assert exp.counts()["done"] == 2 and exp.stop_reason is None, (exp.counts(), exp.stop_reason)
    assert sum(fake.charged.values()) == 2 and set(fake.charged.values()) == {1}
    assert exp.cost == pytest.approx(2 * 0.075)
