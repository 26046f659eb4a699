"""Notebook widgets: the explorer, the pair viewer, judging, and the compare viewer.

    from qwenlab.widgets import compare_files
    compare_files(["a.jpg", "b.jpg"])      # any image files, zoomed and panned together
"""

from .compare import CompareViewer, compare_files

__all__ = ["CompareViewer", "compare_files"]
