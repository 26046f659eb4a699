"""A disk that fills up or cannot be written, under a sweep: nothing paid is lost for it.

The image store's writes fail here as a full disk makes them fail (ENOSPC from the write), by
swapping the store's `write_atomic` for one that raises once a budget of images is used; tests run
as root, for whom a read-only folder is still writable, so permissions cannot stand in for it.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from qwenlab import Sweep
from qwenlab.api import imagestore
from qwenlab.api.imagestore import ImageStore
from qwenlab.errors import ImageStoreError, LogWriteError
from qwenlab.store.log import Log
from tests.api.test_audit_fixes import PROMPT, Fake, lab_for


class _FullAfter:
    """`write_atomic` that writes `room` files, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = imagestore.write_atomic

    def __call__(self, target: Path, data: bytes, **kw: Any) -> None:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        self.room -= 1
        self.real(target, data, **kw)


def test_a_full_disk_stops_the_sweep_and_the_paid_image_is_fetched_at_the_next_run(data_dir: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk filled after two images: the third cell was paid and its image could not be
    written. It was a bare OSError that left the cell 'sent' with no reason, and the run went on
    paying for cells whose images it could not keep. Now the run stops at the first (nothing
    more is sent), the error names the file and the fix, the cell is failed and counted, and the
    run after the space is freed fetches its image with getResponse instead of buying it again."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=6)
    monkeypatch.setattr(imagestore, "write_atomic", _FullAfter(2))
    with client:
        with pytest.raises(ImageStoreError) as err:
            lab.run(sweep, name="full", progress=False, concurrency=1)
        message = str(err.value)
        assert "No space left on device" in message and str(data_dir / "images") in message
        assert "Free space on that disk" in message and "getResponse (free)" in message
        exp = lab.experiment("full")
        # an image is written after its task gives the wire back: the next cell may have gone by then
        paid = sum(fake.charged.values())
        assert paid in (3, 4), "nothing sent after the image that could not be written but the cell already under way"
        assert exp.status != "running" and exp.counts()["done"] == 2 and exp.counts()["failed"] == paid - 2
        failed = [t for t in lab.log.tasks(exp.id) if t["status"] == "failed"]
        assert all(t["error_code"] == "StoreUnwritableError" and t["cost_usd"] == pytest.approx(0.075) for t in failed)
        assert exp.cost == pytest.approx(paid * 0.075)

        monkeypatch.undo()  # space freed
        again = lab.run(sweep, name="full", progress=False, concurrency=1)
    assert again.counts()["done"] == 6 and again.counts()["images"] == 6
    assert sum(fake.charged.values()) == 6 and max(fake.charged.values()) == 1, "the failed cells were not bought again"
    assert fake.kinds().count("getResponse") == paid - 2
    assert again.cost == pytest.approx(6 * 0.075)
    for image in again.images.itertuples():
        assert (data_dir / image.path).is_file()


def test_an_image_folder_that_cannot_be_written_is_found_before_anything_is_sent(data_dir: Path) -> None:
    """The folder was found unwritable only by the first paid image, after a whole wire of cells
    had been paid for and their images thrown away. It is asked before the first request now."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    (data_dir / "images").write_bytes(b"a file where the folder should be")
    with client, pytest.raises(ImageStoreError) as err:
        lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=3), name="nowhere", progress=False)
    assert "nothing was sent" in str(err.value) and str(data_dir / "images") in str(err.value)
    assert not fake.posts and not fake.charged
    # nor written: a new experiment refused for its store left a 'planned' row of nothing behind
    assert "nowhere" not in lab.log.experiment_names()


def test_a_damaged_copy_of_the_same_size_is_written_over(tmp_path: Path) -> None:
    """A stored image whose bytes were damaged in place (same size) was taken for whole when the
    same image was saved again (a lost image fetched anew), and the damage stayed."""
    from tests.api.test_hostile import jpeg

    store = ImageStore(tmp_path)
    data = jpeg()
    path = store.save(data).path
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert store.save(data).path == path and path.read_bytes() == data


@pytest.mark.parametrize("harm", ["deleted", "cut short"])
@pytest.mark.parametrize("server_kept_it", [True, False], ids=["server-has-it", "server-forgot-it"])
def test_an_image_file_lost_from_the_store_is_fetched_again_at_the_next_run(data_dir: Path, harm: str,
                                                                            server_kept_it: bool) -> None:
    """A paid image's file deleted or cut short between runs: the next run said every cell was
    done and left it lost, though getResponse (free) still had it. It is asked for now, and its
    file comes back; when the server no longer knows the task the row says ImageLost, and no
    later run asks again."""
    from tests.sweeps.test_in_doubt import _forget

    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=3)
    with client:
        first = lab.run(sweep, name="kept", progress=False, concurrency=1)
        image = first.images.iloc[1]
        path, whole = data_dir / image["path"], (data_dir / image["path"]).read_bytes()
        if harm == "deleted":
            path.unlink()
        else:
            path.write_bytes(whole[: len(whole) // 2])
        if not server_kept_it:
            _forget(fake)
        again = lab.run(sweep, name="kept", progress=False, concurrency=1)
        asked = fake.kinds().count("getResponse")
        third = lab.run(sweep, name="kept", progress=False, concurrency=1)
    assert asked == 1 and fake.kinds().count("getResponse") == 1, "asked once; the third run asks nothing"
    assert sum(fake.charged.values()) == 3 and third.cost == pytest.approx(3 * 0.075), "nothing bought again"
    assert again.counts()["done"] == 3 and again.counts()["images"] == 3
    task = next(t for t in third.log.tasks(third.id) if t["id"] == image["task_id"])
    if server_kept_it:
        assert path.read_bytes() == whole and task["error_code"] is None
    else:
        assert task["error_code"] == "ImageLost" and "no longer knows the task" in task["error_message"]


def test_a_lost_image_that_comes_back_as_other_bytes_is_not_asked_for_again(data_dir: Path) -> None:
    """getResponse answered with bytes other than those logged (here: the log names a file the
    image was never saved as): the file the row names is still missing after the refetch, so
    asking at every run would fetch the same again. The row says ImageLost after one ask."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256")
    with client:
        first = lab.run(sweep, name="other", progress=False)
        with lab.log.transaction() as db:
            db.execute("UPDATE images SET path = 'images/00/' || printf('%064d', 0) || '.jpg'")
        lab.run(sweep, name="other", progress=False)
        third = lab.run(sweep, name="other", progress=False)
    assert fake.kinds().count("getResponse") == 1 and sum(fake.charged.values()) == 1
    [task] = third.log.tasks(first.id)
    assert task["error_code"] == "ImageLost" and "other bytes than those logged" in task["error_message"]


def _refuse(message: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError(message)

    return refused


def test_a_log_that_refuses_to_record_a_result_stops_the_run_with_the_fix(data_dir: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The log's disk filled as a result was recorded: a bare sqlite3.OperationalError, its
    advice nowhere. LogWriteError names the file and the fix now; the cell stays 'sent' (paid,
    its image on disk), and the run after the space is freed recovers it without paying again."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=3)
    monkeypatch.setattr(Log, "complete_task", _refuse("database or disk is full"))
    with client:
        with pytest.raises(LogWriteError) as err:
            lab.run(sweep, name="logfull", progress=False, concurrency=1)
        message = str(err.value)
        assert str(data_dir / "qwenlab.db") in message and "database or disk is full" in message
        assert "free space on the disk that holds it" in message
        exp = lab.experiment("logfull")
        # the cells under way when it failed were sent and paid: each is left 'sent', none more goes
        assert exp.status == "failed" and exp.counts()["in_doubt"] == sum(fake.charged.values()) < 3
        monkeypatch.undo()
        again = lab.run(sweep, name="logfull", progress=False, concurrency=1)
    assert again.counts()["done"] == 3 and sum(fake.charged.values()) == 3 and max(fake.charged.values()) == 1


def test_a_log_that_refuses_a_write_before_anything_is_sent_leaves_the_experiment_interrupted(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write refused in the run's own thread (its new cells listed, here: locked past the busy
    timeout) left the experiment 'running' for ever, which refuses rename and delete, with a
    bare traceback. It is 'interrupted' now, with the reason, and nothing was sent."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    monkeypatch.setattr(Log, "add_tasks", _refuse("database is locked"))
    with client, pytest.raises(LogWriteError) as err:
        lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=2), name="locked", progress=False)
    assert "another process held it for more than 30 s" in str(err.value)
    # an older qwenlab upgrading the log holds it as long, and leaves no marker to say so
    assert "or an older qwenlab upgrading the log): finish or close it, or let the upgrade end" in str(err.value)
    exp = lab.experiment("locked")
    assert exp.status == "interrupted" and "LogWriteError" in exp.row["stop_reason"]
    assert not fake.posts


class _FailsEvery:
    """`write_atomic` that fails its `nth` call (and every later one with `after`), as a disk
    that fills does (or one that had a moment's trouble)."""

    def __init__(self, nth: int, *, after: bool = True, error: int = errno.ENOSPC) -> None:
        self.calls, self.nth, self.after, self.error, self.real = 0, nth, after, error, imagestore.write_atomic

    def __call__(self, target: Path, data: bytes, **kw: Any) -> None:
        self.calls += 1
        if self.calls == self.nth or (self.after and self.calls > self.nth):
            raise OSError(self.error, os.strerror(self.error), str(target))
        self.real(target, data, **kw)


def test_one_image_that_cannot_be_written_where_others_can_does_not_stop_the_run(data_dir: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A write refused for one file (no permission on its folder), not by a full disk: stopping
    every run on it would leave the sweep unfinished for ever. The run goes on; that cell is
    failed and counted, and the next run fetches its image."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", repeats=4)
    monkeypatch.setattr(imagestore, "write_atomic", _FailsEvery(2, after=False, error=errno.EACCES))
    with client:
        exp = lab.run(sweep, name="one", progress=False, concurrency=1)
        [failed] = [t for t in lab.log.tasks(exp.id) if t["status"] == "failed"]
        assert exp.counts()["done"] == 3 and failed["error_code"] == "ImageStoreError" and exp.cost == pytest.approx(4 * 0.075)
        again = lab.run(sweep, name="one", progress=False, concurrency=1)
    assert again.counts()["done"] == 4 and sum(fake.charged.values()) == 4


def test_a_full_disk_met_by_one_image_of_two_still_stops_the_run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """numberResults=2, the second image of the first cell could not be written: the cell was
    done (it had one image), so its error went unseen, the wire stayed closed, and the run said
    'done' with every later cell left unsent and not a word."""
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=2, repeats=4)
    monkeypatch.setattr(imagestore, "write_atomic", _FailsEvery(2, after=False))  # only the first cell's second image
    with client, pytest.raises(ImageStoreError):
        lab.run(sweep, name="half", progress=False, concurrency=1)
    exp = lab.experiment("half")
    assert exp.status == "failed" and "StoreUnwritableError" in exp.row["stop_reason"]
    half = [t for t in lab.log.tasks(exp.id) if t["error_code"] == "StoreUnwritableError"]
    assert [t["status"] for t in half] == ["done"], "done with the image it kept, its error said"
    assert exp.counts()["pending"] >= 1, "the cells after it were not sent"


def test_a_refetch_adds_the_lost_image_and_leaves_the_cells_row_as_it_was(data_dir: Path) -> None:
    """Fetching a lost file again went through the path that completes a task: the row took the
    free getResponse's attempts (0), latency, time and status code; and an answer naming no
    imageUUID added a second row for the image the cell already had."""
    from tests.sweeps.test_in_doubt import NoUUID

    fake = NoUUID()
    lab, client = lab_for(fake, data_dir)
    sweep = Sweep(prompt=PROMPT, size="256x256", numberResults=1, repeats=2)
    with client:
        first = lab.run(sweep, name="kept", progress=False, concurrency=1)
        before = {t["id"]: t for t in lab.log.tasks(first.id)}
        image = first.images.iloc[0]
        (data_dir / image["path"]).unlink()
        again = lab.run(sweep, name="kept", progress=False, concurrency=1)
    assert fake.kinds().count("getResponse") == 1 and (data_dir / image["path"]).is_file()
    assert again.counts()["images"] == 2, "the image is not logged twice"
    after = {t["id"]: t for t in lab.log.tasks(again.id)}
    for column in ("attempts", "latency_s", "completed_at", "http_status", "cost_usd", "status"):
        assert after[image["task_id"]][column] == before[image["task_id"]][column], column


def test_a_full_disk_met_by_a_refetch_stops_the_run_before_it_buys_new_cells(data_dir: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Fake()
    lab, client = lab_for(fake, data_dir)
    with client:
        first = lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=2), name="grow", progress=False, concurrency=1)
        (data_dir / first.images.iloc[0]["path"]).unlink()
        paid = sum(fake.charged.values())
        monkeypatch.setattr(imagestore, "write_atomic", _FailsEvery(1))
        with pytest.raises(ImageStoreError):
            lab.run(Sweep(prompt=PROMPT, size="256x256", repeats=6), name="grow", progress=False, concurrency=1,
                    extend=True)
    # the refetch goes first; at most the one new cell already under way was bought meanwhile,
    # and the refetched row says why its image is still missing
    assert sum(fake.charged.values()) - paid <= 1
    lost = next(t for t in lab.log.tasks(first.id) if t["id"] == first.images.iloc[0]["task_id"])
    assert lost["status"] == "done" and lost["error_code"] == "StoreUnwritableError"
