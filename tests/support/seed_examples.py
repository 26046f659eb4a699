"""The four example requests and responses of the model's Runware page, read from shared/seed.

Tests use the page itself, not a copy, so a change to the contract shows up here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SEED_PAGE = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "000_234d0ef179007147.txt"
# CI clones the repo into another folder with shared/ beside it; a copy ships in tests/data for
# machines without shared/.
_FALLBACK = Path(__file__).resolve().parents[1] / "data" / "seed-page.txt"


def seed_page_text() -> str:
    path = SEED_PAGE if SEED_PAGE.exists() else _FALLBACK
    return path.read_text(encoding="utf-8")


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"\*\*{kind}\*\*:\n\n```json\n(.*?)```", seed_page_text(), re.S)


def example_request_texts() -> list[str]:
    """The four request bodies exactly as written on the page."""
    return _blocks("Request")


def example_requests() -> list[dict]:
    return [json.loads(t) for t in _blocks("Request")]


def example_responses() -> list[dict]:
    return [json.loads(t) for t in _blocks("Response")]
