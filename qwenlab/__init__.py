"""qwenlab: prompt experiments for Qwen-Image-2.0-Pro on Runware, from a notebook.

    from qwenlab import Lab, Sweep
    lab = Lab()                                   # RUNWARE_API_KEY unset: the offline emulator, said plainly
    exp = lab.run(Sweep(prompt="...", axes={"promptExtend": [True, False]}), name="extend")
    exp.grid(rows="promptExtend"); exp.explore(); lab.costs().by("experiment")

Everything else is importable by module; the layers, bottom to top: qwenlab.core (models,
requests), qwenlab.emulator, qwenlab.api (the client), qwenlab.store (the log), qwenlab.sweeps,
qwenlab.costs, qwenlab.typography, qwenlab.analysis, qwenlab.figures, qwenlab.html,
qwenlab.widgets, and qwenlab.lab (this facade).
"""

from typing import TYPE_CHECKING, Any

from . import errors as _errors
from .core.model import (
    DEFAULT_MODEL,
    ModelDescription,
    get_model,
    list_models,
    register_model,
)
from .core.request import Request, parse_size
from .costs import Costs
from .errors import *  # noqa: F403 (every exception users can meet: qwenlab.errors.__all__ is the one list)
from .store.axes import labelled
from .version import __version__

if TYPE_CHECKING:
    from .api.client import GeneratedImage, RunwareClient, TaskResult
    from .api.connect import connect
    from .lab import Experiment, Lab
    from .sweeps.sweep import Sweep


__all__ = [
    "Lab",
    "Sweep",
    "Experiment",
    "Costs",
    "Request",
    "parse_size",
    "RunwareClient",
    "TaskResult",
    "GeneratedImage",
    "connect",
    "DEFAULT_MODEL",
    "ModelDescription",
    "get_model",
    "list_models",
    "register_model",
    "labelled",
    "__version__",
    *_errors.__all__,
]


def __getattr__(name: str) -> Any:
    # Lab and Experiment bring the views (matplotlib, ipywidgets: 0.3 s to import); loaded on first
    # use so that `qwenlab --help`, `qwenlab emulator` and scripts that only send requests start fast.
    if name in ("Lab", "Experiment"):
        from . import lab

        return getattr(lab, name)
    # the client brings httpx, Pillow and the emulator: every `qwenlab` command imports this package
    # first, and `qwenlab logs` or `costs`, which send nothing, spent a fifth of their start on them
    if name in ("RunwareClient", "TaskResult", "GeneratedImage"):
        from .api import client

        return getattr(client, name)
    if name == "Sweep":  # brings the client's upload path
        from .sweeps import sweep

        return sweep.Sweep
    if name == "connect":
        from .api import connect as connecting

        return connecting.connect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
