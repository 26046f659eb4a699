"""qwenlab: prompt experiments for Qwen-Image-2.0-Pro on Runware, from a notebook.

    from qwenlab import Lab, Sweep
    lab = Lab()                                   # RUNWARE_API_KEY unset: the offline emulator, said plainly
    exp = lab.run(Sweep(prompt="...", axes={"promptExtend": [True, False]}), name="extend")
    exp.grid(rows="promptExtend"); exp.explore(); lab.costs().by("experiment")

Everything else is importable by module: qwenlab.figures.grid, qwenlab.widgets.explorer, qwenlab.analysis.judging,
qwenlab.analysis.pairs, qwenlab.html.report, qwenlab.typography, qwenlab.emulator, qwenlab.store.log.
"""

from .api.client import GeneratedImage, RunwareClient, TaskResult, connect
from .costs.frames import Costs
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names
from .store.experiment import Experiment
from .core.model import DEFAULT_MODEL, ModelDescription, get_model, list_models, register_model
from .core.request import Request, parse_size
from .sweeps.runner import Lab
from .sweeps.sweep import Sweep

__version__ = "0.1.0"

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
    *_error_names,
]
