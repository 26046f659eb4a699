"""Runware's own Python SDK (`runware-sdk`, the `bench` extra) driven the way its README shows,
as the baseline of the sweep benchmark: REST transport, asyncio, `deliveryMethod="sync"`, and
every image downloaded and written to disk, `concurrency` tasks in flight at once. With `duties`
(`qwenlab.bench.duties.LogDuties`), each task also does what qwenlab promises: its log row marked
'sent' before the request, its image checked, hashed and fsynced, the row completed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .duties import LogDuties

__all__ = ["bench_sdk", "sdk_available"]


def sdk_available() -> bool:
    """Whether `runware-sdk` is installed (`pip install 'qwenlab[bench]'`)."""
    try:
        import runware  # noqa: F401
    except ImportError:
        return False
    return True


def bench_sdk(url: str, tasks: list[dict[str, Any]], concurrency: int, *, duties: "LogDuties | None" = None) -> float:
    """Seconds to run `tasks` (imageInference task dicts without taskUUID) through the SDK at
    `url` with `concurrency` in flight, downloading and writing each image; with `duties`, each
    task's taskUUID is its log row's and the duties are done around it (synchronously, in the
    event loop, as a simple asyncio client would)."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_run(url, tasks, concurrency, Path(tmp), duties))


async def _run(url: str, tasks: list[dict[str, Any]], concurrency: int, out: Path, duties: "LogDuties | None") -> float:
    import aiohttp
    from runware.client import Runware

    gate = asyncio.Semaphore(concurrency)
    # The model is given as an AIR and the taskType explicitly, so the SDK never asks its registry
    # (schemas.runware.ai) anything: nothing leaves this machine.
    async with Runware(api_key="bench-key", transport="rest", http_base_url=url) as client, \
            aiohttp.ClientSession() as http:

        async def one(i: int, task: dict[str, Any]) -> None:
            async with gate:
                uuid_ = duties.task_uuids[i] if duties else str(uuid.uuid4())
                params = {**task, "taskType": "imageInference", "taskUUID": uuid_, "deliveryMethod": "sync"}
                if duties:
                    duties.before(i)
                for item in await client.run(params):
                    async with http.get(item["imageURL"]) as resp:
                        resp.raise_for_status()
                        data = await resp.read()
                    if duties:
                        duties.after(i, item, data)
                    else:
                        (out / f"{i}-{item['imageUUID']}.jpg").write_bytes(data)

        start = time.perf_counter()
        await asyncio.gather(*(one(i, t) for i, t in enumerate(tasks)))
        return time.perf_counter() - start
