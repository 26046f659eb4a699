"""qwenlab: prompt experiments for Qwen-Image-2.0-Pro on Runware, from a notebook."""
from .errors import *  # noqa: F401,F403
from .model import DEFAULT_MODEL, ModelDescription, get_model, list_models, register_model
from .request import Request, parse_size
from .client import GeneratedImage, RunwareClient, TaskResult, connect
from .experiment import Experiment
from .runner import Lab
from .sweep import Sweep
from .costs import Costs

__version__ = "0.1.0"
