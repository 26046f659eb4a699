"""What a notebook shows for a cell ending in `client.generate(request)` or `result.images[0]`:
what the result is, its task UUID shortened, size, cost and where each image is, not the
dataclass's every field (IPython's pretty printer, as Jupyter calls it). `repr()` stays the
fields, for debugging."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
from IPython.lib.pretty import pretty

from qwenlab.api.client import RunwareClient
from qwenlab.core.request import Request
from tests.api.test_fixtures import KEY, Scripted, load


def test_a_task_result_shows_its_task_images_size_cost_and_files(emulator, tmp_path: Path) -> None:
    """Two images printed 1,100 characters of nested fields: the request, each image's UUIDs,
    SHA-256 twice, PosixPath(...), error=None; the task's cost was nowhere."""
    client = RunwareClient("sk-shown-test-0123456789", base_url=emulator.url, images_dir=tmp_path / "images")
    try:
        result = client.generate(Request(prompt="A poster", size="512x768", numberResults=2))
    finally:
        client.close()
    shown = pretty(result)
    assert shown == str(result)
    lines = shown.splitlines()
    assert lines[0] == f"TaskResult {result.task_uuid[:8]}…: 2 images, 512x768 JPEG, $0.15, 1 attempt", shown
    for img, line in zip(result.images, lines[1:3]):
        assert line == f"  {img.nbytes / 1024:,.0f} KB, seed {img.seed}, $0.075, at {img.path}", shown
    assert result.task_uuid not in shown and "PosixPath(" not in shown and "GeneratedImage(" not in shown, shown
    assert "sk-shown-test" not in shown and len(shown) < 200 + 2 * len(str(result.images[0].path)), shown
    assert repr(result).startswith("TaskResult(request=")  # repr() stays the fields, for debugging

    one = pretty(result.images[0])
    assert one == str(result.images[0])
    img = result.images[0]
    assert one == (f"GeneratedImage {img.image_uuid[:8]}… of task {result.task_uuid[:8]}…: 512x768 JPEG, "
                   f"{img.nbytes / 1024:,.0f} KB, seed {img.seed}, $0.075, at {img.path}"), one
    assert repr(img).startswith("GeneratedImage(image_uuid=")


def test_a_failed_slot_shows_why_and_an_unsaved_image_where_it_is(tmp_path: Path) -> None:
    """One of two images failed: the result says 1 of 2 and the slot's error, once; the key a
    server quoted in it shows as ***."""
    fixture = copy.deepcopy(load("poll_item_error.json"))
    fixture["steps"][1]["body"]["data"][1]["error"]["message"] = f"one of N failed (key {KEY})"
    client = RunwareClient(KEY, transport=httpx.MockTransport(Scripted(fixture)), images_dir=tmp_path / "images",
                           sleep=lambda s: None)
    try:
        result = client.generate(Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536", **fixture["request"]))
        unsaved = client.generate(Request(prompt="A poster that reads 'LUMIERE'", size="1024x1536"), save=False)
    finally:
        client.close()
    shown = pretty(result)
    assert shown.splitlines()[0].startswith(f"TaskResult {result.task_uuid[:8]}…: 1 of 2 images, 48x32 JPEG, "), shown
    assert shown.count("one of N failed") == 1 and KEY not in shown and "***" in shown, shown
    assert pretty(result.images[1]).startswith(f"GeneratedImage fail-2 of task {result.task_uuid[:8]}…: failed: ")
    assert pretty(unsaved.images[0]).endswith(", in memory, not saved (.open())"), pretty(unsaved)
