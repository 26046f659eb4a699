"""What can go wrong, on purpose: the emulator's fault plan.

`Faults` is plain data (rates and durations); `FaultDice` draws from it for each POST, each
task, each image and each download, from one seeded `random.Random`, and hands out scripted
faults first (`Emulator.script([...])`) so a test can say exactly what the next POSTs meet.

    >>> Faults.parse("latency=uniform:0.2,0.8; rate_429=0.1 drop-after=0.05 seed=7").rate_429
    0.1
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = ["Faults", "FaultDice", "parse_latency", "POST_FAULTS", "SCRIPT_WORDS"]

# One of these happens to a POST (or none: "ok"). Order matters: it is the order in which a
# single uniform draw is split into bands, so the rates are exact and the faults exclusive.
# "504" comes last so that adding it left the bands (and so the seeded draws) of the others as they were.
POST_FAULTS = ("429", "5xx", "drop_before", "drop_after", "stall", "malformed", "504")
# Words `Emulator.script` accepts: the POST faults, a concrete 5xx status, "task_error" (every
# inference task of that POST fails), and "ok" (no fault at all, whatever the rates say).
SCRIPT_WORDS = frozenset(POST_FAULTS) | {"500", "502", "503", "task_error", "ok"}
_RATE_FIELDS = {"429": "rate_429", "5xx": "rate_5xx", "drop_before": "drop_before", "drop_after": "drop_after",
                "stall": "stall", "malformed": "malformed", "504": "rate_504"}


@dataclass
class Faults:
    """Fault rates (probabilities per POST unless said otherwise) and their settings.

    POST faults hit any POST to /v1, getResponse polls and pings included, as a real gateway
    would; at most one of them per POST.

    latency: seconds each inference task takes (render time included): a number, or "0.5",
        "uniform:LO,HI", "normal:MEAN,SD" (clipped at 0) or "exp:MEAN". Tasks of one POST run
        side by side, so a sync answer waits for its slowest task.
    sync_cap: not a fault but the server's own limit: the longest a sync request is held (seconds;
        0 for none). A POST whose answer would come later is answered HTTP 504 `failedTaskTimeout`
        at the cap while its tasks go on (getResponse then has them), as Runware does at about
        120 s (its TypeScript SDK says so; a 504 failedTaskTimeout was seen at about 122 s).
    rate_429: answer 429 ("the queue is full"), without `Retry-After`: Runware's SDKs read none
        and its docs on rate limits name none. retry_after: send `Retry-After: retry_after` with it.
    rate_5xx: answer 500, 502 or 503.
    rate_504: accept the POST's tasks, then answer 504 `failedTaskTimeout` at once while they go on.
    drop_before: close the connection before any task is accepted (nothing charged).
    drop_after: accept, charge and generate, then close the connection without an answer.
    stall / stall_seconds: accept and charge, then send nothing for stall_seconds.
    malformed: accept and charge, then answer 200 with a body that is broken JSON.
    task_error: per inference task (per image for async tasks): an `inferenceError`, not charged.
    slow_download / download_bytes_per_s: per image GET: trickle the bytes at that speed.
    expire_download: per image GET: answer 410 as if the URL's ttl had passed.
    seed: seeds the dice (and the seeds the emulator reports), for reproducible runs.
    """

    latency: float | str = 0.0
    sync_cap: float = 120.0
    rate_429: float = 0.0
    retry_after: float | None = None
    rate_5xx: float = 0.0
    rate_504: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    stall: float = 0.0
    stall_seconds: float = 30.0
    malformed: float = 0.0
    task_error: float = 0.0
    slow_download: float = 0.0
    download_bytes_per_s: int = 65536
    expire_download: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        parse_latency(self.latency)  # fail now, naming the field, not at the first request
        for f in dataclasses.fields(self):
            if f.name in ("latency", "seed") or (f.name == "retry_after" and self.retry_after is None):
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"Faults.{f.name} must be a number, got {value!r}")
            if f.name in _RATES and not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{f.name} is a probability; give a number from 0 to 1, got {value!r}")
            if value < 0:
                raise ValueError(f"Faults.{f.name} must not be negative, got {value!r}")
        if self.download_bytes_per_s <= 0:
            raise ValueError("Faults.download_bytes_per_s must be positive")

    @classmethod
    def parse(cls, spec: str) -> "Faults":
        """Faults from text like `"latency=0.5 rate_429=0.1; drop-after=0.05 seed=3"`.

        Items are separated by spaces or semicolons; names take `_` or `-`. Unknown names
        raise ValueError listing the known ones.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for item in spec.replace(";", " ").split():
            name, sep, raw = item.partition("=")
            name = name.strip().replace("-", "_")
            if name == "rate_5XX":
                name = "rate_5xx"
            if not sep or name not in known:
                raise ValueError(f"fault spec item {item!r} is not NAME=VALUE with NAME one of: {', '.join(sorted(known))}")
            values[name] = _coerce(name, raw.strip())
        return cls(**values)

    def replace(self, **changes: Any) -> "Faults":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        """The non-default settings, as `Faults.parse` reads them back."""
        default = Faults()
        bits = [f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)]
        return " ".join(bits) or "none"


_RATES = {"rate_429", "rate_5xx", "rate_504", "drop_before", "drop_after", "stall", "malformed", "task_error",
          "slow_download", "expire_download"}


def _coerce(name: str, raw: str) -> Any:
    if name == "latency":
        try:
            return float(raw)
        except ValueError:
            return raw
    if name in ("seed", "retry_after") and raw.lower() in ("", "none"):
        return None
    if name == "seed":
        return int(raw)
    try:
        return int(raw) if name == "download_bytes_per_s" else float(raw)
    except ValueError:
        raise ValueError(f"fault {name} needs a number, got {raw!r}") from None


def parse_latency(spec: float | int | str | None) -> Callable[[random.Random], float]:
    """A sampler of task latencies in seconds from a number or a distribution string."""
    if spec is None:
        return lambda rng: 0.0
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        if spec < 0:
            raise ValueError(f"latency must not be negative, got {spec!r}")
        fixed = float(spec)
        return lambda rng: fixed
    text = str(spec).strip()
    kind, sep, args = text.partition(":")
    try:
        if not sep:
            return parse_latency(float(text))
        nums = [float(a) for a in args.split(",")]
    except ValueError:
        nums = []
    kind = kind.strip().lower()
    if kind == "uniform" and len(nums) == 2 and 0 <= nums[0] <= nums[1]:
        lo, hi = nums
        return lambda rng: rng.uniform(lo, hi)
    if kind == "normal" and len(nums) == 2 and nums[1] >= 0:
        mean, sd = nums
        return lambda rng: max(0.0, rng.gauss(mean, sd))
    if kind == "exp" and len(nums) == 1 and nums[0] > 0:
        mean = nums[0]
        return lambda rng: rng.expovariate(1.0 / mean)
    raise ValueError(f"latency {spec!r} is not understood; write 0.5, 'uniform:0.2,0.8', 'normal:0.5,0.1' or 'exp:0.5'")


class FaultDice:
    """Draws faults for one emulator, thread-safely, scripted ones first."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._script: deque[str] = deque()
        self.faults = faults

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        if not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, got {type(faults).__name__}")
        with self._lock:
            self._faults = faults
            self._latency = parse_latency(faults.latency)
            self._rng = random.Random(faults.seed)

    def script(self, words: Iterable[str]) -> None:
        """Queue faults for the next POSTs, in order (replacing any queued before)."""
        queued = [str(w).strip().lower() for w in words]
        bad = [w for w in queued if w not in SCRIPT_WORDS]
        if bad:
            raise ValueError(f"unknown scripted fault(s) {bad}; use: {', '.join(sorted(SCRIPT_WORDS))}")
        with self._lock:
            self._script = deque(queued)

    @property
    def scripted(self) -> list[str]:
        """What is still queued."""
        with self._lock:
            return list(self._script)

    def next_post(self) -> str:
        """The fault for the next POST: a scripted word, else drawn from the rates ("ok": none)."""
        with self._lock:
            if self._script:
                word = self._script.popleft()
            else:
                word = "ok"
                u = self._rng.random()
                edge = 0.0
                for name in POST_FAULTS:
                    edge += getattr(self._faults, _RATE_FIELDS[name])
                    if u < edge:
                        word = name
                        break
            if word == "5xx":
                word = self._rng.choice(("500", "502", "503"))
            return word

    def chance(self, field: str) -> bool:
        """True with the probability `Faults.<field>` (task_error, slow_download, expire_download)."""
        with self._lock:
            p = getattr(self._faults, field)
            return p > 0 and self._rng.random() < p

    def latency(self) -> float:
        """A task latency in seconds, drawn from `Faults.latency`."""
        with self._lock:
            return self._latency(self._rng)

    def seed(self) -> int:
        """A seed to report for an image (reproducible when Faults.seed is set)."""
        with self._lock:
            return self._rng.randint(1, 2**31 - 1)
