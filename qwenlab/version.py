"""The version of qwenlab, recorded in reports and (later) in every logged task."""

__version__ = "0.1.0"
