"""Bricks of a self-contained HTML page: escaping, tables, images as data URIs, the page itself.

Everything a user or the API wrote goes through `esc`, which scrubs registered secrets (the API
key) and escapes HTML, so a prompt holding `<script>` stays text. Nothing here refers to
anything outside the file: no scripts, no stylesheets, no fonts, no remote images.
"""

from __future__ import annotations

import html
from typing import Any, Iterable, Sequence

from ..core.values import is_missing
from ..errors import redact

__all__ = ["esc", "table", "img", "details", "section", "page", "fmt"]

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1400px;
       padding: 0 16px; color: #1d1d1f; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.muted { color: #666; } .failed { color: #b00020; } .num { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 8px 0 16px; } th, td { border: 1px solid #e1e1e1; padding: 4px 8px;
       vertical-align: top; text-align: left; } th { background: #f6f6f6; position: sticky; top: 0; }
td.thumbs { white-space: nowrap; } td.thumbs img { margin-right: 4px; }
img.thumb { max-width: 160px; max-height: 160px; display: inline-block; }
img.grid { max-width: 100%; border: 1px solid #eee; }
pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7; padding: 8px; max-width: 900px; margin: 4px 0; }
details summary { cursor: pointer; color: #1f4e79; }
.prompt { max-width: 420px; } .kv td:first-child { font-weight: 600; white-space: nowrap; }
table.gridtable td { text-align: center; } table.gridtable .stamp { font-size: 11px; color: #444; }
footer { margin-top: 40px; font-size: 12px; color: #777; }
.provenance { padding: 8px 12px; border-radius: 4px; margin: 0 0 12px; background: #f3f6fa; color: #34495e;
       border: 1px solid #d5dde6; }
.provenance.synthetic, .provenance.mixed, .provenance.unknown { background: #fff3cd; color: #7a4b00;
       border: 2px solid #e0b84a; font-size: 15px; }
"""


def esc(value: Any) -> str:
    """Text for HTML: secrets scrubbed, `<>&"'` escaped; None and NaN become empty."""
    if is_missing(value):
        return ""
    return html.escape(redact(str(value)), quote=True)


def fmt(value: Any, kind: str = "") -> str:
    """A number or value as table text (escaped): money with 4 decimals, seconds with 2."""
    if is_missing(value):
        return ""
    if kind == "usd" and isinstance(value, (int, float)):
        return f"${value:,.4f}"
    if kind == "s" and isinstance(value, (int, float)):
        return f"{value:.2f} s"
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    return esc(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", numeric: Sequence[int] = ()) -> str:
    """An HTML table. `headers` are escaped here; `rows` cells must already be HTML (use `esc`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        tds = "".join(f"<td class=\"num\">{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{tds}</tr>")
    klass = f" class=\"{esc(cls)}\"" if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def img(data_uri: str, alt: str, cls: str = "thumb") -> str:
    """An <img> of a data URI (only `data:image/...` is accepted: the file must stand alone)."""
    if not data_uri.startswith("data:image/"):
        raise ValueError("only data:image/... URIs may be embedded; the report must not refer to outside files")
    return f"<img class=\"{esc(cls)}\" src=\"{data_uri}\" alt=\"{esc(alt)}\" title=\"{esc(alt)}\"/>"


def details(summary: str, body_html: str) -> str:
    return f"<details><summary>{esc(summary)}</summary>{body_html}</details>"


def section(anchor: str, title: str, body_html: str) -> str:
    return f"<section id=\"{esc(anchor)}\"><h2>{esc(title)}</h2>{body_html}</section>"


def page(title: str, body_html: str, *, generator: str = "qwenlab") -> str:
    """The whole document. A strict Content-Security-Policy tells a browser to load nothing from
    outside even if some text slipped through unescaped."""
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\"/>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        f"<meta name=\"generator\" content=\"{esc(generator)}\"/>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body_html}\n</body></html>\n"
    )
