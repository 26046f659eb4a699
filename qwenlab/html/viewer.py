"""The report's one script: a lightbox for any thumbnail, the requests a page at a time, and each
image's bytes held once however many sections show it.

- Click a drawn grid: it shows at its actual size (a wide page was shrunk to the page's width,
  its small text with it), scrolling sideways in its frame; click again to fit it back.
- Click a thumbnail (or Enter on it): it opens large over the page, with its caption; with the
  originals beside the report (`full_size=True`), the original itself and a link to it. Escape or
  a click outside closes it; the arrow keys step through the thumbnails of the page.
- The requests table is split into pages of `PAGE_ROWS` rows (`<tbody class="page">`); the script
  shows one at a time, with buttons. Without the script every row shows.
- An image shown in several sections is embedded once, where its request is listed
  (`<img data-i="ID" src="data:...">`); elsewhere it is `<img data-ref="ID">`, filled from that.

The script is fixed text (no user data in it); the page's Content-Security-Policy allows it by
its SHA-256 hash and nothing else, so text that slipped through escaping could still not run.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["SCRIPT", "VIEWER_CSS", "PAGE_ROWS", "lightbox_html", "script_tag", "script_hash"]

PAGE_ROWS = 100

SCRIPT = r"""
(function () {
  var box = document.getElementById('qwl-lightbox');
  if (!box) { return; }
  var big = box.querySelector('img'), cap = box.querySelector('.cap'), orig = box.querySelector('a.orig');
  var note = box.querySelector('.note');
  var held = {};
  document.querySelectorAll('img[data-i]').forEach(function (el) { held[el.getAttribute('data-i')] = el; });
  document.querySelectorAll('img[data-ref]').forEach(function (el) {
    var from = held[el.getAttribute('data-ref')];
    if (from) { el.src = from.src; if (from.getAttribute('data-full')) { el.setAttribute('data-full', from.getAttribute('data-full')); } }
  });
  var current = null;
  function shown() {
    return Array.prototype.filter.call(document.querySelectorAll('img.thumb'), function (el) { return el.offsetParent !== null && el.src; });
  }
  function open(el) {
    current = el;
    var full = el.getAttribute('data-full');
    big.src = full || el.src;
    cap.textContent = el.getAttribute('alt') || '';
    orig.hidden = !full; if (full) { orig.href = full; }
    note.hidden = !!full;
    box.hidden = false;
    box.focus();
  }
  function close() { box.hidden = true; big.removeAttribute('src'); current = null; }
  function step(by) {
    var all = shown(), i = all.indexOf(current);
    if (i >= 0 && all.length) { open(all[(i + by + all.length) % all.length]); }
  }
  document.addEventListener('click', function (ev) {
    var t = ev.target;
    if (t.matches && t.matches('img.thumb') && box.hidden) { ev.preventDefault(); open(t); return; }
    if (t.matches && t.matches('img.grid') && box.hidden) { t.classList.toggle('actual'); return; }
    if (!box.hidden && (t === box || (t.classList && t.classList.contains('close')))) { close(); }
  });
  document.addEventListener('keydown', function (ev) {
    if (box.hidden) {
      if (ev.key === 'Enter' && ev.target.matches && ev.target.matches('img.thumb')) { open(ev.target); }
      return;
    }
    if (ev.key === 'Escape') { close(); } else if (ev.key === 'ArrowRight') { step(1); } else if (ev.key === 'ArrowLeft') { step(-1); }
  });
  document.querySelectorAll('img.thumb').forEach(function (el) { el.tabIndex = 0; });
  document.querySelectorAll('table.paged').forEach(function (tbl) {
    var pages = tbl.querySelectorAll('tbody.page');
    if (pages.length < 2) { return; }
    var nav = document.createElement('div'); nav.className = 'pager';
    var prev = document.createElement('button'), next = document.createElement('button'), label = document.createElement('span');
    prev.textContent = '\u2190 previous'; next.textContent = 'next \u2192';
    nav.appendChild(prev); nav.appendChild(label); nav.appendChild(next);
    tbl.parentNode.insertBefore(nav, tbl);
    var at = 0;
    function show(n) {
      at = Math.max(0, Math.min(pages.length - 1, n));
      pages.forEach(function (p, i) { p.hidden = i !== at; });
      label.textContent = ' page ' + (at + 1) + ' of ' + pages.length + ' ';
      prev.disabled = at === 0; next.disabled = at === pages.length - 1;
    }
    prev.addEventListener('click', function () { show(at - 1); });
    next.addEventListener('click', function () { show(at + 1); });
    show(0);
  });
})();
"""

VIEWER_CSS = """
img.thumb { cursor: zoom-in; }
figure.gridpage { overflow-x: auto; margin: 8px 0 16px; } img.grid { cursor: zoom-in; }
img.grid.actual { max-width: none; cursor: zoom-out; } figure.gridpage .hint { font-size: 12px; }
#qwl-lightbox { position: fixed; inset: 0; background: rgba(10, 10, 12, .88); z-index: 10; display: flex;
       flex-direction: column; align-items: center; justify-content: center; padding: 16px; }
#qwl-lightbox[hidden] { display: none; }
#qwl-lightbox img { height: 86vh; width: auto; max-width: 96vw; object-fit: contain; background: #222; }
#qwl-lightbox .bar { color: #eee; margin-top: 8px; max-width: 96vw; text-align: center; }
#qwl-lightbox a { color: #9cf; } #qwl-lightbox .note { color: #bbb; font-size: 12px; }
#qwl-lightbox .close { position: absolute; top: 10px; right: 16px; font-size: 28px; color: #eee; cursor: pointer;
       background: none; border: 0; }
.pager { margin: 8px 0; } .pager button { font: inherit; padding: 2px 10px; }
"""


def lightbox_html() -> str:
    """The (hidden) overlay the script opens."""
    return ("<div id=\"qwl-lightbox\" hidden tabindex=\"-1\" role=\"dialog\" aria-label=\"image\">"
            "<button class=\"close\" aria-label=\"close\">\u00d7</button><img alt=\"\"/>"
            "<div class=\"bar\"><span class=\"cap\"></span> <a class=\"orig\" hidden target=\"_blank\">open the original</a>"
            "<div class=\"note\">a preview embedded in this file: export with --full-size (full_size=True) to see "
            "the originals here</div></div></div>")


def script_tag() -> str:
    return f"<script>{SCRIPT}</script>"


def script_hash() -> str:
    """The CSP source that allows exactly this script: `'sha256-...'`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'"
