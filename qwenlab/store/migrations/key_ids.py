"""Migration m016: which API key sent each task, by a name that does not hold the key.

A cell left in doubt (sent, never answered) is sent again, at the next run, under its own
taskUUID: the server answers conflictTaskUUID if it took it, so it cannot be paid twice. That holds
for one account. Sent again with another account's key, the server may not know the taskUUID and
take it as new, charging that account while the first may have paid for an image no one can
fetch. So each task keeps `key_id`, a name for the key it was sent with (`qwenlab.secrets.key_id`:
an HMAC of the key under a random salt of this log's own, kept in `log_meta`), and a run with
another key leaves such a cell in doubt. NULL: sent before this migration, or never sent.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["m016_key_ids", "KEY_SALT"]

KEY_SALT = "key_salt"  # log_meta's row of the salt


def m016_key_ids(db: sqlite_utils.Database) -> None:
    db["log_meta"].create({"name": str, "value": str}, pk="name")
    db["log_meta"].insert({"name": KEY_SALT, "value": secrets.token_hex(16)})
    db["tasks"].add_column("key_id", str)
