"""Migration m012_api_extra: `images.api_extra` exists, and images logged before it get the
fields qwenlab does not model from their raw_json (which kept the whole item)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from qwenlab.store.log import Log
from qwenlab.store.migrations.runner import migrate


def test_older_images_get_their_unknown_fields_from_raw_json(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrate(db, until="m008_cost_reading")
    db["experiments"].insert({"id": 1, "name": "old", "status": "done"})
    db["tasks"].insert({"id": 1, "task_uuid": "t1", "experiment_id": 1, "cell_key": "k", "status": "done"})
    seed_item = {"taskType": "imageInference", "taskUUID": "t1", "imageUUID": "i1", "imageURL": "https://im.runware.ai/i1.jpg",
                 "seed": 1196265337, "cost": 0.075}
    for i, raw in enumerate([seed_item, {**seed_item, "revisedPrompt": "a gold serif headline", "_qwenlab": {"x": 1}}]):
        db["images"].insert({"id": i + 1, "image_uuid": f"i{i}", "task_id": 1, "experiment_id": 1, "raw_json": json.dumps(raw)})
    db.close()

    log = Log(path)
    extra = [r["api_extra"] for r in log.images(1)]
    assert extra[0] is None  # every field modelled
    assert json.loads(extra[1]) == {"revisedPrompt": "a gold serif headline"}  # qwenlab's own notes are not the API's
