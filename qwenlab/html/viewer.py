"""The report's one script: a lightbox for any thumbnail, the requests a page at a time, and each
image's bytes held once however many sections show it.

- Click a drawn grid: it shows at its actual size (a wide page was shrunk to the page's width,
  its small text with it), scrolling sideways in its frame; click again to fit it back.
- Click a thumbnail (or Enter on it): it opens large over the page (never above its own pixels),
  with its caption; with the originals beside the report (`full_size=True`), the original itself
  and a link to it, or the embedded preview, said so, when the file came without its folder. A
  click on the image shows it 1:1 in its frame, one image pixel per pixel of the screen (half a
  CSS pixel on a Retina screen; a drag or Shift and an arrow pans, another click fits it); + and -
  zoom along the compare viewer's ladder (`zoom.js`, the same code), through 1:1 and 2:1, each
  image pixel a sharp square from 2:1 on (fitted too, where the fit is 2:1: an image smaller
  than the window on a Retina screen), the hint saying the scale. Escape or a
  click outside closes it; the arrow keys step through the thumbnails of its section, in a round, the
  requests' pages turning as they go (at 1:1, each
  at the spot the last one showed); the keys that would scroll the page behind scroll the image,
  and Tab stays in the lightbox.
- The requests table is split into pages of `PAGE_ROWS` rows (`<tbody class="page">`); the script
  shows one at a time, with buttons. Without the script every row shows.
- An image shown in several sections is embedded once, in the first (the grid's table, else its
  request's row: `<img data-i="ID" src="data:...">`); elsewhere it is `<img data-ref="ID">`,
  filled from that.

The script is fixed text (no user data in it); the page's Content-Security-Policy allows it by
its SHA-256 hash and nothing else, so text that slipped through escaping could still not run.
"""

from __future__ import annotations

import base64
import hashlib

from .zoom import ZOOM_JS

__all__ = ["SCRIPT", "VIEWER_CSS", "PAGE_ROWS", "PREVIEW_NOTE", "lightbox_html", "script_tag", "script_hash"]

PAGE_ROWS = 100

# the script: the zoom ladder the compare viewer shares (`zoom.ZOOM_JS`: dpr, ladderStep, percent,
# pixelShift, rendering), then the lightbox and the pager, all inside one function
_LIGHTBOX = r"""
  var box = document.getElementById('qwl-lightbox');
  if (!box) { return; }
  var frame = box.querySelector('.frame'), big = box.querySelector('img'), cap = box.querySelector('.cap');
  var orig = box.querySelector('a.orig'), note = box.querySelector('.note'), missing = box.querySelector('.missing');
  var closer = box.querySelector('.close'), level = box.querySelector('.level'), whole = box.querySelector('.full');
  // the report's legend: each value a caption names short ("prompt 2"), in full
  var legend = {};
  document.querySelectorAll('.legend[data-key]').forEach(function (el) { legend[el.getAttribute('data-key')] = el.textContent; });
  var held = {};
  document.querySelectorAll('img[data-i]').forEach(function (el) { held[el.getAttribute('data-i')] = el; });
  document.querySelectorAll('img[data-ref]').forEach(function (el) {
    var from = held[el.getAttribute('data-ref')];
    if (from) { el.src = from.src; if (from.getAttribute('data-full')) { el.setAttribute('data-full', from.getAttribute('data-full')); } }
  });
  var current = null, opener = null, round = null;
  function shown() {
    // the thumbnails of the section the image shown came from: the grid and the requests table
    // show the same images, and stepping on from the grid's last went through every one again.
    // Those on another page of the requests count too (the pager turns to them): the arrows went
    // round the 100 of one page, and the other 1,900 of a large report could not be reached.
    // Listed once while the lightbox is open: listing 1,920 thumbnails at every arrow, each
    // `src` read as its whole data URI, took 120 ms a step.
    if (round) { return round; }
    var scope = (current && current.closest('section')) || document;
    round = Array.prototype.filter.call(scope.querySelectorAll('img.thumb'), function (el) {
      return el.getAttribute('src') && (el.offsetParent !== null || el.closest('tbody.page[hidden]') !== null);
    });
    return round;
  }
  function reveal(el) {
    // an image on a page of the requests not shown: the pager turns to it
    var body = el.closest('tbody.page');
    if (body && body.hidden) { body.dispatchEvent(new CustomEvent('qwl-page', { bubbles: true })); }
  }
  // the original beside the report could not be loaded (the file was sent without its folder):
  // the preview embedded in the file stands in, and says so
  big.addEventListener('error', function () {
    if (current && big.getAttribute('src') !== current.src) {
      big.src = current.src; missing.hidden = false; orig.hidden = true;
    }
  });
  // at 1:1, the arrow keys bring the next image at the spot the last one showed (the headline
  // read in one is read in the next); a first image at 1:1 is centred
  var spot = null;
  big.addEventListener('load', centre);
  // The scale shown: null fitted, else device pixels per image pixel, on the compare viewer's
  // ladder (zoom.js): 1 is 1:1, one image pixel per pixel of the screen (on a Retina screen,
  // devicePixelRatio 2, half a CSS pixel: at its CSS size the image was drawn on 2 x 2 device
  // pixels, smoothed, and the small text it was opened to check came out soft); 2 is 2:1, each
  // image pixel a sharp square of 2 x 2 device pixels. It is kept for the next image (the arrows).
  var scale = null, MAX_SCALE = 16;
  function sizeActual() {
    var d = dpr(), on = scale !== null && big.naturalWidth > 0;
    box.classList.toggle('actual', scale !== null);
    // Zoomed, the image is laid out `scale` x its own pixels wide in CSS pixels, and shown at 1/dpr
    // of that (as the compare viewer scales its images), the margins giving back what it does not
    // take. Laid out at its size on the screen, an image of odd width on a Retina screen was
    // 350.5 CSS pixels wide at 1:1: the browser drew it on whole CSS pixels, 702 device pixels
    // for 701 image pixels, and resampled every one of them grey.
    var w = on ? big.naturalWidth * scale : 0, h = on ? big.naturalHeight * scale : 0;
    big.style.width = on ? w + 'px' : '';
    big.style.height = on ? h + 'px' : '';
    big.style.marginRight = on ? w / d - w + 'px' : '';
    big.style.marginBottom = on ? h / d - h + 'px' : '';
    // fitted too, the ladder's rule: an image smaller than the window, fitted at its CSS size, is
    // 2:1 on a Retina screen, and was drawn smoothed there until + was pressed
    var fit = big.naturalWidth > 0 ? fitScale() : null;
    big.style.imageRendering = on ? rendering(scale) : fit ? rendering(fit) : '';
    level.textContent = scale === null ? 'fit' : percent(scale);
    place();
  }
  function place() {
    // the image's corner on a pixel of the screen at 1:1 and 2:1 (zoom.js's pixelShift, as the
    // compare viewer places its images), counted from the frame's corner, which the browser puts
    // on one: the image is there, less the scroll
    var on = scale !== null && big.naturalWidth > 0, d = dpr();
    var shift = on ? pixelShift(scale, -frame.scrollLeft, -frame.scrollTop) : [0, 0];
    big.style.transform = !on ? '' : (shift[0] || shift[1] ? 'translate(' + shift[0] + 'px, ' + shift[1] + 'px) ' : '') +
      (d === 1 ? '' : 'scale(' + 1 / d + ')');
  }
  function shownSize() {
    // the image's width and height on the page, in CSS pixels (its layout box is dpr x that, zoomed)
    var r = big.getBoundingClientRect();
    return [r.width, r.height];
  }
  frame.addEventListener('scroll', place);
  // the browser's zoom (or another screen) changes the device pixel ratio: 1:1 stays 1:1
  window.addEventListener('resize', function () { if (!box.hidden) { sizeActual(); } });
  function fitScale() {
    // the scale of the image fitted: as the stylesheet fits it (96vw by 86vh, never above its own
    // CSS size), in device pixels per image pixel
    var w = big.naturalWidth, h = big.naturalHeight;
    if (!w || !h) { return null; }
    return Math.min(1, 0.96 * window.innerWidth / w, 0.86 * window.innerHeight / h) * dpr();
  }
  function zoomBy(up) {
    // + and -: the next scale of the ladder, the spot at the frame's centre kept; down past the
    // fitted scale (or 1:1, for an image fitted above it) it is fitted again
    var fit = fitScale();
    if (fit === null) { return; }
    var fx = 0.5, fy = 0.5;
    var was = shownSize();
    if (scale !== null && was[0] && was[1]) {
      fx = (frame.scrollLeft + frame.clientWidth / 2) / was[0];
      fy = (frame.scrollTop + frame.clientHeight / 2) / was[1];
    }
    var next = ladderStep(scale === null ? fit : scale, up);
    // below the fitted scale: fitted, but for an image fitted above 1:1 (smaller than the window),
    // whose 1:1 is below it and stays within reach
    var fitted = !up && next < fit - 1e-9 && !(fit > 1 && next >= 1 - 1e-9);
    scale = fitted ? null : Math.min(next, MAX_SCALE);
    sizeActual();
    var now = shownSize();
    frame.scrollLeft = fx * now[0] - frame.clientWidth / 2;
    frame.scrollTop = fy * now[1] - frame.clientHeight / 2;
  }
  function centre() {
    sizeActual();
    if (scale === null) { return; }
    var fx = spot ? spot[0] : 0.5, fy = spot ? spot[1] : 0.5;
    frame.scrollLeft = fx * frame.scrollWidth - frame.clientWidth / 2; frame.scrollTop = fy * frame.scrollHeight - frame.clientHeight / 2;
  }
  function open(el) {
    if (box.hidden) { opener = el; round = null; }
    current = el;
    reveal(el);
    var full = el.getAttribute('data-full');
    missing.hidden = true;
    big.src = full || el.src;
    cap.textContent = el.getAttribute('alt') || '';
    whole.textContent = cap.textContent.split(' \u00b7 ').map(function (part) {
      return legend[part.replace(/\u00a0/g, ' ')];
    }).filter(Boolean).join('\n');
    whole.hidden = !whole.textContent;
    orig.hidden = !full; if (full) { orig.href = full; }
    note.hidden = !!full;
    box.hidden = false;
    box.focus();
  }
  function close() {
    var last = current;
    box.hidden = true; scale = null; sizeActual(); big.removeAttribute('src'); current = null; round = null;
    // back to the thumbnail opened; or, when the pager has turned away from it, to the last shown
    if (opener && opener.offsetParent === null && last) { last.focus(); }
    else if (opener) { opener.focus({ preventScroll: true }); }
    opener = null;
  }
  function step(by) {
    spot = scale !== null && frame.scrollWidth && frame.scrollHeight ?
      [(frame.scrollLeft + frame.clientWidth / 2) / frame.scrollWidth, (frame.scrollTop + frame.clientHeight / 2) / frame.scrollHeight] : null;
    var all = shown(), i = all.indexOf(current);
    if (i >= 0 && all.length) { open(all[(i + by + all.length) % all.length]); }
  }
  // a click on the image shows it at its own pixels (1:1) in its frame, the point clicked kept
  // under the pointer; a drag pans it there (or at any zoom of + and -); another click fits it again
  var drag = null;
  big.addEventListener('pointerdown', function (ev) {
    if (ev.button !== 0) { return; }
    drag = { x: ev.clientX, y: ev.clientY, left: frame.scrollLeft, top: frame.scrollTop, moved: false };
    big.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  big.addEventListener('pointermove', function (ev) {
    if (!drag) { return; }
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) { drag.moved = true; }
    if (drag.moved && scale !== null) { frame.scrollLeft = drag.left - dx; frame.scrollTop = drag.top - dy; }
  });
  big.addEventListener('pointerup', function (ev) {
    var was = drag; drag = null;
    if (!was || was.moved) { return; }
    var r = big.getBoundingClientRect(), f = frame.getBoundingClientRect();
    var fx = (ev.clientX - r.left) / r.width, fy = (ev.clientY - r.top) / r.height;
    scale = scale === null ? 1 : null;
    sizeActual();
    if (scale !== null) {
      var now = shownSize();
      frame.scrollLeft = fx * now[0] - (ev.clientX - f.left);
      frame.scrollTop = fy * now[1] - (ev.clientY - f.top);
    }
  });
  document.addEventListener('click', function (ev) {
    var t = ev.target;
    if (t.matches && t.matches('img.thumb') && box.hidden) { ev.preventDefault(); open(t); return; }
    if (t.matches && t.matches('img.grid') && box.hidden) { t.classList.toggle('actual'); return; }
    if (!box.hidden && (t === box || t === closer)) { close(); }
  });
  var ZOOMS = { '+': true, '=': true, '-': false, '_': false };
  var PANS = { ArrowLeft: [-80, 0], ArrowRight: [80, 0], ArrowUp: [0, -80], ArrowDown: [0, 80] };
  var SCROLLS = { ArrowUp: [0, -80], ArrowDown: [0, 80], PageUp: [0, -0.9], PageDown: [0, 0.9], ' ': [0, 0.9],
    Home: [0, -1e9], End: [0, 1e9] };
  document.addEventListener('keydown', function (ev) {
    if (box.hidden) {
      if (ev.key === 'Enter' && ev.target.matches && ev.target.matches('img.thumb')) { open(ev.target); }
      return;
    }
    if (ev.key === 'Escape') { close(); }
    else if (!ev.ctrlKey && !ev.metaKey && !ev.altKey && ZOOMS[ev.key] !== undefined) {
      // + and - zoom along the compare viewer's ladder (zoom.js), through 1:1 and 2:1; Ctrl with
      // them is the browser's own zoom
      ev.preventDefault();
      zoomBy(ZOOMS[ev.key]);
    } else if (ev.shiftKey && PANS[ev.key]) {
      // Shift and an arrow pans the image at 1:1, as in the notebook's viewer: sideways too, where
      // a wide poster's edge could be reached with the pointer only (an arrow alone steps)
      ev.preventDefault();
      frame.scrollLeft += PANS[ev.key][0]; frame.scrollTop += PANS[ev.key][1];
    } else if (ev.key === 'ArrowRight') { step(1); } else if (ev.key === 'ArrowLeft') { step(-1); }
    else if (SCROLLS[ev.key]) {
      // over the page behind, these keys would scroll it: they scroll the image at 1:1, or nothing
      ev.preventDefault();
      var by = SCROLLS[ev.key][1];
      frame.scrollTop += Math.abs(by) < 1 ? by * frame.clientHeight : by;
    } else if (ev.key === 'Tab') {
      // the focus stays in the lightbox: behind it, Tab and Enter reached what cannot be seen
      ev.preventDefault();
      var stops = [closer, orig].filter(function (e) { return !e.hidden; });
      var i = stops.indexOf(document.activeElement);
      stops[ev.shiftKey ? (i <= 0 ? stops.length - 1 : i - 1) : (i + 1) % stops.length].focus();
    }
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
    // the lightbox stepped onto an image of another page (see `reveal`)
    tbl.addEventListener('qwl-page', function (ev) { show(Array.prototype.indexOf.call(pages, ev.target)); });
    prev.addEventListener('click', function () { show(at - 1); });
    next.addEventListener('click', function () { show(at + 1); });
    show(0);
  });
})();
"""
SCRIPT = "\n(function () {\n" + ZOOM_JS + _LIGHTBOX

VIEWER_CSS = """
img.thumb { cursor: zoom-in; }
figure.gridpage { overflow-x: auto; margin: 8px 0 16px; } img.grid { cursor: zoom-in; }
img.grid.actual { max-width: none; cursor: zoom-out; } figure.gridpage .hint { font-size: 12px; }
#qwl-lightbox { position: fixed; inset: 0; background: rgba(10, 10, 12, .88); z-index: 10; display: flex;
       flex-direction: column; align-items: center; justify-content: center; padding: 16px; }
#qwl-lightbox[hidden] { display: none; }
#qwl-lightbox .frame { max-width: 96vw; max-height: 86vh; overflow: auto; }
#qwl-lightbox img { display: block; max-height: 86vh; max-width: 96vw; width: auto; height: auto; background: #222;
       cursor: zoom-in; touch-action: none; }
#qwl-lightbox.actual img { max-width: none; max-height: none; cursor: zoom-out; transform-origin: 0 0; }
#qwl-lightbox .missing { color: #fc9; font-size: 12px; }
#qwl-lightbox .bar { color: #eee; margin-top: 8px; max-width: 96vw; text-align: center; }
#qwl-lightbox .full { white-space: pre-wrap; max-width: 60em; margin: 4px auto 0; color: #ddd; font-size: 13px; }
#qwl-lightbox a { color: #9cf; } #qwl-lightbox .note, #qwl-lightbox .hint { color: #bbb; font-size: 12px; }
#qwl-lightbox .note .small { color: #fc9; font-size: 13px; } #qwl-lightbox .note code { color: #fff; }
#qwl-lightbox .close { position: absolute; top: 10px; right: 16px; font-size: 28px; color: #eee; cursor: pointer;
       z-index: 2; width: 40px; height: 40px; line-height: 36px; padding: 0; border-radius: 50%;
       background: rgba(0, 0, 0, .6); border: 1px solid #666; }  /* above a tall image's corner, and readable there */
.pager { margin: 8px 0; } .pager button { font: inherit; padding: 2px 10px; }
"""


PREVIEW_NOTE = "a preview embedded in this file: export with --full-size (full_size=True) to see the originals here"


def lightbox_html(note_html: str | None = None) -> str:
    """The (hidden) overlay the script opens. `note_html`: what it says under an embedded image
    when the report has no originals beside it (HTML; default `PREVIEW_NOTE`)."""
    return ("<div id=\"qwl-lightbox\" hidden tabindex=\"-1\" role=\"dialog\" aria-label=\"image\">"
            "<button class=\"close\" aria-label=\"close\">\u00d7</button><div class=\"frame\"><img alt=\"\"/></div>"
            "<div class=\"bar\"><span class=\"cap\"></span> <a class=\"orig\" hidden target=\"_blank\">open the original</a>"
            "<div class=\"full\" hidden></div>"
            f"<div class=\"note\">{PREVIEW_NOTE if note_html is None else note_html}</div>"
            "<div class=\"missing\" hidden>the original is not beside this file (send it with its "
            "_files folder): this is the preview embedded in the file</div>"
            "<div class=\"hint\"><span class=\"level\">fit</span> \u00b7 click the image: 1:1 \u00b7 + \u2212: zoom "
            "(1:1, 2:1 as sharp pixels) \u00b7 drag or Shift+arrows to pan \u00b7 \u2190 \u2192 other images "
            "\u00b7 Esc closes</div>"
            "</div></div>")


def script_tag() -> str:
    return f"<script>{SCRIPT}</script>"


def script_hash() -> str:
    """The CSP source that allows exactly this script: `'sha256-...'`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'"
