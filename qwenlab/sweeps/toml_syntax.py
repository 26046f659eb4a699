"""A TOML syntax error in a sweep file, said as a problem a user can fix.

tomllib says where ("Invalid value (at line 3, column 17)") but neither what is there nor what to
write instead: a user who typed `True`, an unquoted `1024x1024` or `prompt: "..."` was left to
guess. The problem names the key of that line, shows the line, and gives the fix for the usual
slips.
"""

from __future__ import annotations

import re
import tomllib

from ..problems import Problem
from ..secrets import redact

__all__ = ["syntax_problem"]

_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*[=:]""")
_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_SHOWN = 120  # a long prompt's line is cut: the start says which line it is


def syntax_problem(text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """The problem of a sweep file that is no valid TOML: its key (else "toml"), its line, the fix."""
    message = str(exc)
    where = _WHERE.search(message)
    what = message[:where.start()] if where else message
    lines = text.splitlines()
    if where and where.group(1):
        number, column = int(where.group(1)), int(where.group(2))
    else:  # at the end of the document: the last line written is where something was left open
        number = next((i + 1 for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), max(len(lines), 1))
        column = len(lines[number - 1]) + 1 if lines else 1
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    key = _KEY.match(line)
    name = key.group(1).strip("\"'") if key else "toml"
    shown = redact(line.strip())  # a key pasted into a prompt is shown by no error
    shown = shown if len(shown) <= _SHOWN else shown[:_SHOWN] + "..."
    fix = _fix(what, line, column, name)
    return Problem(name, f"line {number}: {what} (column {column}) in `{shown}`" + (f"; {fix}" if fix else ""))


def _fix(what: str, line: str, column: int, name: str) -> str:
    """What to write instead, for the slips users make (empty when there is no better word)."""
    rest = line[column - 1:] if 0 < column <= len(line) else ""
    # the value the error points into: from the last '=', ',' or '[' before the column
    start = max(line.rfind(c, 0, max(column - 1, 0)) for c in "=,[") + 1
    token = (line[start:column - 1] + rest).strip().split(",")[0].split("]")[0].strip()
    if re.match(r"(?i)(true|false)\b", token) and token[:5] not in ("true", "false"):
        return "TOML writes true and false in lower case"
    if what.startswith("Cannot overwrite a value"):
        return f"{name} is given twice in one table; keep one line"
    if m := re.match(r"Cannot declare \((.*)\) twice", what):
        table = ".".join(p.strip().strip("'\"") for p in m.group(1).split(",") if p.strip())
        return f"[{table}] is written twice; put all its lines under one [{table}]"
    if what.startswith("Expected '=' after a key"):
        return "write key = value" + (" (TOML uses =, not :)" if ":" in line and "=" not in line else "")
    if what.startswith(("Illegal character '\\n'", "Unterminated string")) or line.count('"') % 2:
        return 'a string is not closed: end it with " on the same line ("""...""" holds text over several lines)'
    if what.startswith("Unclosed array") and not rest.strip():  # the line ended, the list did not
        return "close the list with ] (values separated by commas)"
    if re.fullmatch(r"\$\s*\d[\d_.]*", token):
        return f"write the number alone, without $: {token[1:].strip()}"
    if token and token[0] not in "\"'[{" and not re.fullmatch(r"[-+]?[\d_.eE+-]+", token):
        return f'put text in double quotes: "{token if len(token) <= 40 else token[:40] + "..."}"'
    if what.startswith("Unclosed array"):
        return "close the list with ] (values separated by commas)"
    return ""
