"""Bricks of a self-contained HTML page: escaping, tables, images as data URIs, the page itself.

Everything a user or the API wrote goes through `esc`, which scrubs registered secrets (the API
key) and escapes HTML, so a prompt holding `<script>` stays text. Nothing here refers to
anything outside the file: no stylesheets, no fonts, no remote images, and one script of our own
(`viewer.py`: the lightbox and the pages), allowed by its hash. The one exception is asked for:
with `originals=True` the page may show images from the folder beside it (`images.py`).
"""

from __future__ import annotations

import html
from typing import Any, Iterable, Sequence

from ..core.values import format_usd, is_missing
from ..secrets import redact
from .viewer import VIEWER_CSS, lightbox_html, script_hash, script_tag

__all__ = ["esc", "table", "img", "img_ref", "Thumbnails", "details", "hover", "section", "page", "fmt", "THUMB_MAX_PX", "THUMB_PRINT_PX"]

THUMB_MAX_PX = 160  # the largest a thumbnail is shown (img.thumb below), on screen
THUMB_PRINT_PX = 110  # ... and on paper

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
.prompt { max-width: 420px; min-width: 16em; } .kv td:first-child { font-weight: 600; white-space: nowrap; }
/* a wide table scrolls in its box, its headings kept, and the page keeps its width */
table.paged, table.gridtable { display: block; overflow: auto; max-width: 100%; max-height: 85vh; }
table.gridtable td { text-align: center; } table.gridtable .stamp { font-size: 11px; color: #444; }
/* a cell's image not there: a box of its thumbnail's size and shape (set on each), its words inside;
   the thumbnails are blocks too, or the line's descent under each put its caption a few px lower */
table.gridtable img.thumb { display: block; margin: 0 auto; }
table.gridtable .blank { width: var(--w); height: var(--h); box-sizing: border-box; margin: 0 auto; overflow: hidden;
       display: flex; align-items: center; justify-content: center; padding: 4px; font-size: 11px; line-height: 1.3;
       background: #f4f4f4; border: 1px solid #d9a3ad; word-break: break-word; }
footer { margin-top: 40px; font-size: 12px; color: #777; }
.provenance { padding: 8px 12px; border-radius: 4px; margin: 0 0 12px; background: #f3f6fa; color: #34495e;
       border: 1px solid #d5dde6; }
.provenance.synthetic, .provenance.mixed, .provenance.unknown { background: #fff3cd; color: #7a4b00;
       border: 2px solid #e0b84a; font-size: 15px; }
/* on a phone every table scrolls in its own box: the page keeps the screen's width */
@media screen and (max-width: 760px) {
  body { margin: 12px auto; padding: 0 8px; } table { display: block; overflow-x: auto; max-width: 100%; }
  .prompt { min-width: 10em; }
}
/* on paper (print, save as PDF) nothing scrolls: every row and every page of requests is printed,
   not the part a scroll box showed; the pager and the lightbox are for the screen */
@media print {
  body { max-width: none; margin: 0; font-size: 11px; }  /* the requests' columns fit a page's width */
  img.thumb { max-width: 110px; max-height: 110px; } .prompt { min-width: 10em; max-width: 300px; }
  table.gridtable .blank { width: var(--pw); height: var(--ph); }
  table.paged, table.gridtable { display: table; max-height: none; overflow: visible; }
  table.paged tbody.page[hidden] { display: table-row-group; }
  th { position: static; } tr, img { break-inside: avoid; }
  .pager, body #qwl-lightbox, figure.gridpage .hint { display: none; }  /* body: above the lightbox's own rule */
  figure.gridpage { overflow: visible; } body img.grid.actual { max-width: 100%; }
  .provenance { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def esc(value: Any) -> str:
    """Text for HTML: secrets scrubbed, `<>&"'` escaped; None and NaN become empty."""
    if is_missing(value):
        return ""
    return html.escape(redact(str(value)), quote=True)


def fmt(value: Any, kind: str = "") -> str:
    """A number or value as table text (escaped): money as `format_usd` writes it, seconds with 2."""
    if is_missing(value):
        return ""
    if kind == "usd" and isinstance(value, (int, float)):
        return format_usd(value)
    if kind == "s" and isinstance(value, (int, float)):
        return f"{value:.2f} s"
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    return esc(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", numeric: Sequence[int] = (),
          page_rows: int | None = None, titles: Sequence[str | None] = ()) -> str:
    """An HTML table. `headers` are escaped here; `rows` cells must already be HTML (use `esc`).
    `page_rows`: the body in pages of that many rows (`<tbody class="page">`), which the page's
    script shows one at a time. `titles`: each heading's text on hover (None: none)."""
    tips = list(titles) + [None] * (len(headers) - len(titles))
    head = "".join(f"<th title=\"{esc(t)}\">{esc(h)}</th>" if t else f"<th>{esc(h)}</th>" for h, t in zip(headers, tips))
    body = []
    for row in rows:
        tds = "".join(f"<td class=\"num\">{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{tds}</tr>")
    klass = f" class=\"{esc(cls)}\"" if cls else ""
    if page_rows:
        pages = [body[i:i + page_rows] for i in range(0, len(body), page_rows)] or [[]]
        bodies = "".join(f"<tbody class=\"page\">{''.join(p)}</tbody>" for p in pages)
    else:
        bodies = f"<tbody>{''.join(body)}</tbody>"
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""  # a key-value table has no headings to show
    return f"<table{klass}>{thead}{bodies}</table>"


def img(data_uri: str, alt: str, cls: str = "thumb", *, key: Any = None, full: str | None = None) -> str:
    """An <img> of a data URI (only `data:image/...` is accepted: the file must stand alone).
    `key`: the image's id, so that other sections can show it by `img_ref` without a second copy;
    `full`: the relative link of its original beside the report, which the lightbox opens."""
    if not data_uri.startswith("data:image/"):
        raise ValueError("only data:image/... URIs may be embedded; the report must not refer to outside files")
    extra = (f" data-i=\"{esc(key)}\"" if key is not None else "") + (f" data-full=\"{esc(full)}\"" if full else "")
    return f"<img class=\"{esc(cls)}\" src=\"{data_uri}\" alt=\"{esc(alt)}\" title=\"{esc(alt)}\"{extra}/>"


def img_ref(key: Any, alt: str) -> str:
    """An <img> showing the image embedded elsewhere in the page under `key` (filled by the script)."""
    return f"<img class=\"thumb\" data-ref=\"{esc(key)}\" alt=\"{esc(alt)}\" title=\"{esc(alt)}\"/>"


class Thumbnails:
    """Each image's thumbnail embedded once in the page, where it first shows: `.img(...)` gives
    the embedded <img> the first time an image id is asked for, an `img_ref` to it after. The
    sections are made in the page's order, so the bytes are where the browser reaches them first:
    the grid's table of a large report, above the requests, paints while the file still loads
    (embedded in the requests, it showed a wall of broken images until the page's script ran,
    seconds into a 2,000-image report, or for good where scripts do not run)."""

    def __init__(self, uris: dict[str, str], links: dict[str, str] | None = None) -> None:
        self.uris = uris  # path -> its thumbnail's data URI (`images.webp_thumbnails`)
        self.links = links or {}  # path -> the relative link of its original beside the report
        self.placed: set[Any] = set()

    def img(self, key: Any, path: str, alt: str) -> str:
        """The thumbnail of `path` (which must be in `uris`) for image `key`."""
        if key is not None and key in self.placed:
            return img_ref(key, alt)
        self.placed.add(key)  # an image without an id is embedded wherever it shows: nothing can refer to it
        return img(self.uris[path], alt, key=key, full=self.links.get(path))


def details(summary: str, body_html: str) -> str:
    return f"<details><summary>{esc(summary)}</summary>{body_html}</details>"


def hover(text_html: str, title: str | None) -> str:
    """`text_html` with `title` shown on hover (as it is without one)."""
    return f"<span title=\"{esc(title)}\">{text_html}</span>" if title else text_html


def section(anchor: str, title: str, body_html: str) -> str:
    return f"<section id=\"{esc(anchor)}\"><h2>{esc(title)}</h2>{body_html}</section>"


def page(title: str, body_html: str, *, generator: str = "qwenlab", originals: bool = False,
         lightbox_note: str | None = None) -> str:
    """The whole document. A strict Content-Security-Policy tells a browser to load nothing from
    outside and run no script but ours, even if some text slipped through unescaped; with
    `originals`, images may also come from beside the file (relative links). `lightbox_note`:
    what the lightbox says under an embedded image (HTML; `viewer.lightbox_html`'s default)."""
    images = "data: 'self' file:" if originals else "data:"
    csp = f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; script-src {script_hash()}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\"/>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        f"<meta name=\"generator\" content=\"{esc(generator)}\"/>"
        f"<title>{esc(title)}</title><style>{CSS}{VIEWER_CSS}</style></head>\n<body>\n{body_html}\n{lightbox_html(lightbox_note)}\n"
        f"{script_tag()}\n</body></html>\n"
    )
