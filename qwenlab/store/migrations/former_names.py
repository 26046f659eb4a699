"""Migration m018: the names an experiment had before it was renamed.

A notebook or a sweep file still carrying an experiment's old name, run after the experiment was
renamed, found no experiment of that name and started a new one: every cell sent, and paid for,
again. Each rename now records the name given up (`experiment_former_names`), and a run that
would start a new experiment under a name another one had (not deleted) is refused with both
fixes (`qwenlab.sweeps.checks`): the experiment's new name, to go on with it, or `reuse_name=True`
(`--reuse-name`) for a new experiment under the old name. Renames before this migration left no
trace, so they are not guarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["m018_former_names", "FORMER_NAMES"]

FORMER_NAMES = "experiment_former_names"


def m018_former_names(db: sqlite_utils.Database) -> None:
    db[FORMER_NAMES].create(
        {"id": int, "experiment_id": int, "name": str, "renamed_at": str},
        pk="id", foreign_keys=[("experiment_id", "experiments", "id")], not_null={"experiment_id", "name"})
    db[FORMER_NAMES].create_index(["name"])
    db[FORMER_NAMES].create_index(["experiment_id"])
