"""Raw wire helpers for tests that speak to the emulator without qwenlab's client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx

from qwenlab.emulator import Emulator

MODEL = "alibaba:qwen-image@2.0-pro"
KEY = "test-key-not-secret"


def http_client() -> Iterator[httpx.Client]:
    """An httpx client with the test key (a fixture body: `yield from http_client()`)."""
    with httpx.Client(trust_env=False, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as client:
        yield client


def task(**params) -> dict:
    """An imageInference task for a small poster; a parameter given as None is left out."""
    base = {"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": MODEL,
            "positivePrompt": "A poster that reads 'HELLO'", "width": 256, "height": 384}
    base.update(params)
    return {k: v for k, v in base.items() if v is not None}


def poll_until_done(http: httpx.Client, emu: Emulator, task_uuid: str, timeout: float = 10.0) -> list[dict]:
    """getResponse until no item is processing (or `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while True:
        items = http.post(emu.url, json=[{"taskType": "getResponse", "taskUUID": task_uuid}]).json()["data"]
        if all(i["status"] != "processing" for i in items) or time.monotonic() > deadline:
            return items
        time.sleep(0.05)
