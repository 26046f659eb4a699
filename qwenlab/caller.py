"""The user's frame: where a warning qwenlab raises points, in a traceback's terms.

`warn(message, category)` is `warnings.warn` with the stack level counted for the caller: the
first frame outside the qwenlab package. A fixed `stacklevel=` points at the right line for one
way in only; the report's warning, reached through `exp.export`, `export_html` or `report_html`,
pointed at qwenlab's own lines for the others (in a notebook the user saw `lab.py:192`, not the
cell that asked). Counted, it points at the notebook cell, script or test that called qwenlab,
however many of qwenlab's frames lie between (under the CLI: click's, as no user frame exists).
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

_PACKAGE = os.path.dirname(os.path.realpath(__file__)) + os.sep


def _inside(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_PACKAGE)


def warn(message: str | Warning, category: type[Warning] | None = None) -> None:
    """Warn as `warnings.warn` does, pointing at the first caller outside qwenlab."""
    frame = sys._getframe(1)
    level = 2  # 1 is this function's frame; 2 its caller's
    while frame.f_back is not None and _inside(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
