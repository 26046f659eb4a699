"""A request sent without a size: Runware documents no default, so the task is logged at the size
qwenlab assumes (1024x1024) until its image comes back, and then at that image's size. Scripted
with the fake Runware of tests/api/test_client.py, whose images are 64x48 whatever was asked."""

from __future__ import annotations

from pathlib import Path

from qwenlab import Lab, Sweep
from qwenlab.costs.frames import Costs
from tests.api.test_client import fake, make_client, sleeps  # noqa: F401

PROMPT = "A poster that reads 'LUMIERE'"


def test_a_task_sent_without_a_size_takes_the_size_its_image_came_back_at(fake, make_client, tmp_path: Path) -> None:  # noqa: F811
    lab = Lab(tmp_path / "lab", client=make_client())
    lab.run(Sweep(prompt=PROMPT, axes={"promptExtend": [True, False]}), name="unsized", progress=False)
    lab.run(Sweep(prompt=PROMPT, size="1024x1536", axes={"promptExtend": [True, False]}), name="sized", progress=False)
    assert all("width" not in p[0] for p in fake.posts[:2])  # no size was sent for the first two
    sizes = {(r["name"], r["width"], r["height"]) for r in lab.log.rows(
        "SELECT e.name, t.width, t.height FROM tasks t JOIN experiments e ON e.id = t.experiment_id")}
    # the size sent stays the task's, whatever came back; the size assumed gives way to the image's
    assert sizes == {("unsized", 64, 48), ("sized", 1024, 1536)}
    by_size = Costs(lab).by("size")
    assert by_size["tasks"].to_dict() == {"64x48": 2, "1024x1536": 2}  # not "1024x1024", which nothing was
