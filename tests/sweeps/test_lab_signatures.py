"""What `help(lab.run)` and a notebook's `lab.run?` show: the Experiment a user gets back, not the
runner's type variable (`-> E`, `~E` to `typing.get_type_hints`), which names nothing to look up."""

from __future__ import annotations

import inspect
import pydoc
import typing
from pathlib import Path

import pytest

from qwenlab import Lab
from qwenlab.lab import Experiment
from qwenlab.sweeps.runner import Runner


@pytest.mark.parametrize("method", ["run", "experiment"])
def test_lab_methods_show_that_they_return_an_experiment(method: str, tmp_path: Path) -> None:
    bound = getattr(Lab(tmp_path / "data"), method)
    assert inspect.signature(bound).return_annotation is Experiment
    assert typing.get_type_hints(getattr(Lab, method))["return"] is Experiment
    shown = pydoc.render_doc(bound, renderer=pydoc.plaintext)
    assert "-> qwenlab.lab.Experiment" in shown and "-> 'E'" not in shown and "~E" not in shown, shown[:400]
    # the same parameters and documentation as the runner's method it is
    assert list(inspect.signature(getattr(Lab, method)).parameters) == list(inspect.signature(getattr(Runner, method)).parameters)
    assert getattr(Lab, method).__doc__ == getattr(Runner, method).__doc__
