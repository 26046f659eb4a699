"""Whether a file name could be made on Windows: the rules of its file systems (NTFS, exFAT)
and its path parser, checked on any platform, for tests of the names qwenlab makes."""

from __future__ import annotations

import re

__all__ = ["windows_name_problem"]

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", *(f"{p}{n}" for p in ("COM", "LPT") for n in "123456789¹²³")}


def windows_name_problem(name: str) -> str | None:
    """What keeps `name` (one path component) from being a file name on Windows; None if nothing."""
    if not name or name in (".", ".."):
        return f"{name!r} is no file name"
    if found := _FORBIDDEN.search(name):
        return f"{name!r} holds {found.group()!r}"
    if name[-1] in ". ":
        return f"{name!r} ends in {name[-1]!r}, which Windows drops"
    if name.split(".", 1)[0].rstrip(" ").upper() in _DEVICES:
        return f"{name!r} is a device's name on Windows"
    if len(name) > 255:
        return f"{name!r} is longer than 255 characters"
    return None
