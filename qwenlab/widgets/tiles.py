"""A page of thumbnails laid out by a row axis and a column axis, as ipywidgets.

The explorer's grid. Tiles (a JPEG thumbnail, a caption, and an invisible button laid over both
that takes the click) are made once and reused from page to page, so turning a page sends only
the pictures that changed. Thumbnails come from `qwenlab.store.thumbnails` (made once, cached on
disk); those of the next pages are made ahead in a background thread that writes files only and
never touches a widget (widgets belong to the kernel's main thread).

In a kernel (an asyncio loop running), a page whose thumbnails are not all cached yet is laid out
at once with grey tiles, and each missing thumbnail is made in a thread and put in its tile by a
task on the kernel's own loop, in the main thread: the page turns in a few milliseconds and the
pictures arrive as they are made. Without a loop (a script, a test), the page waits for them.

A tile's picture has a pixel for every pixel of the screen it is drawn on: its thumbnail is made
for the tile's width times the device pixel ratio (`tile_size`) the browser says its screen has
(`qwenlab.widgets.screen`; the tiles shown are then made again, and the next explorer of the
kernel starts from it), 1 until one has said. Thumbnails of 256 px, drawn 150 CSS px wide on a
screen of two pixels per CSS pixel, were enlarged (a portrait's 171 px wide, 1.75 times), and a
misspelled headline was read in the viewer only, one click per poster. Made for 2 before the
browser said, a 512-px image's thumbnail took 5 times as long (it cannot be decoded at half its
size), and a page turned in a script in 0.30 s instead of 0.12, for screens of one that need none.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import html
import io
import math
import os
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import ImageError
from ..store.axes import names_axis
from ..store.catalog import REPEAT
from ..store.thumbnails import DEFAULT_SIZE, is_fresh, thumbnail_of, thumbnail_path
from .require import require_ipywidgets
from .screen import PixelRatio

if TYPE_CHECKING:
    from ..store.catalog import Catalog, Entry

__all__ = ["TileGrid", "Tile", "TILE_CSS", "TILE_SCALE", "tile_size", "blank_jpeg", "thumb_jpeg", "unreadable_jpeg",
           "unreadable_tile"]

GRID_MAX_HEIGHT = "85vh"  # the grid's scroll box, as the HTML report's tables (qwenlab.html.page)
# device pixels per CSS pixel the tiles are made for before a browser has said its screen's
TILE_SCALE = 1.0
# the largest ratio a browser said in this kernel: the next explorer's tiles are made for it at once
_said_ratio: list[float] = []
_SIZE_STEP = 16  # thumbnail sizes rounded up to this: fewer cached sizes (a zoom of 110% and of 125% share one)

TILE_CSS = """
.qwl-tile { position: relative; border: 2px solid transparent; border-radius: 4px; padding: 2px; margin: 2px; }
.qwl-tile.qwl-selected { border-color: #e08a00; }
.qwl-tile .qwl-hit { position: absolute; top: 0; left: 0; width: 100%; height: 100%; margin: 0; opacity: 0; cursor: zoom-in; }
.qwl-cap { font-size: 11px; line-height: 1.25; color: #444; word-break: break-word; }
.qwl-head { font-weight: 600; padding: 4px 6px; line-height: 1.3; }
.qwl-grid .qwl-colhead, .qwl-grid .qwl-rowhead { margin: 0; background: var(--jp-layout-color0, #fff); }
.qwl-grid .qwl-colhead { position: sticky; top: 0; z-index: 2; box-shadow: 0 1px 0 var(--jp-border-color2, #ddd); }
.qwl-grid .qwl-rowhead { position: sticky; left: 0; z-index: 1; }
.qwl-grid .qwl-colhead.qwl-rowhead { z-index: 3; }
"""

def tile_size(px: int, aspect: float | None, scale: float = TILE_SCALE) -> int:
    """The thumbnail size (the side of the box it fits, `qwenlab.store.thumbnails`) of a tile `px`
    CSS pixels wide showing an image of `aspect` (width / height; None: a square) on a screen of
    `scale` device pixels per CSS pixel: at least px x scale pixels wide (a portrait's box is its
    height), so that the browser never enlarges it. Rounded up to a multiple of 16."""
    width_share = min(1.0, max(1 / 8, _rounded(aspect) or 1.0))  # a portrait's width is this much of its box
    need = math.ceil(px * max(1.0, scale) / width_share - 1e-6)
    return max(DEFAULT_SIZE // 8, min(4096, -(-need // _SIZE_STEP) * _SIZE_STEP))


def _box(aspect: float | None, size: int) -> tuple[int, int]:
    """(width, height) of a picture of `aspect` that fits a `size` x `size` box, as a thumbnail
    of that image does (none: a square): shown at a tile's width it is as tall as the image's
    tile, where a square beside portrait posters read as an image of another shape."""
    if not aspect:
        return size, size
    aspect = min(8.0, max(1 / 8, aspect))  # the model's sizes: sides 256-2048
    return (size, max(1, round(size / aspect))) if aspect >= 1 else (max(1, round(size * aspect)), size)


def _jpeg(img: Any, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@functools.cache
def _blank(w: int, h: int) -> bytes:
    from PIL import Image

    return _jpeg(Image.new("RGB", (w, h), (225, 225, 225)), 60)


def blank_jpeg(aspect: float | None = None, size: int = DEFAULT_SIZE) -> bytes:
    """A grey picture: a cell without an image, or a thumbnail not made yet; of the image's
    `aspect` (width / height; None: a square), fitting a `size` box."""
    return _blank(*_box(_rounded(aspect), size))


def unreadable_jpeg(what: str, hint: str = "", aspect: float | None = None, size: int = DEFAULT_SIZE) -> bytes:
    """A grey picture that says in words why there is no picture ("image missing"), and under it
    `hint` (what to do: "click for why"): a plain grey tile for an image deleted since the run
    read as one still loading, or as a failed cell. Of the image's `aspect`, as `blank_jpeg`."""
    return _unreadable(what, hint, *_box(_rounded(aspect), size))


@functools.cache
def _unreadable(what: str, hint: str, w: int, h: int) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (w, h), (225, 225, 225))
    draw = ImageDraw.Draw(img)
    # 30 px of a 256-px width: about 17 px on a 150-px tile, the explorer's default, whatever the
    # picture's shape (a tile is as wide as its column; a wide one's height may cut the text down)
    scale = min(w / DEFAULT_SIZE, h / (DEFAULT_SIZE * 0.4))
    lines = [(what, 30, (150, 20, 20))] + ([(hint, 22, (70, 70, 70))] if hint else [])
    for i, (text, px, colour) in enumerate(lines):
        y = h / 2 + (0 if len(lines) == 1 else (-26 + 46 * i) * scale)
        draw.text((w / 2, y), text, fill=colour, font=ImageFont.load_default(size=max(6, px * scale)), anchor="mm")
    return _jpeg(img, 85)


def _rounded(aspect: float | None) -> float | None:
    """An aspect to 3 places: the pictures are cached per shape, not per float."""
    return round(aspect, 3) if aspect and aspect > 0 else None


def thumb_jpeg(path: str | None, size: int = DEFAULT_SIZE, hint: str = "", aspect: float | None = None) -> bytes:
    """The cached thumbnail's JPEG bytes; for an image that is gone or unreadable a picture saying
    so (the grids' and the report's rule: `thumbnails.is_fresh`), with `hint`; the blank for no
    image. Those two have the image's `aspect` (width / height, from its logged size)."""
    got = thumbnail_of(path, size, "jpeg")
    if got:
        return got
    return unreadable_tile(got, hint, aspect, size) if path else blank_jpeg(aspect, size)


def unreadable_tile(reason: object, hint: str = "", aspect: float | None = None, size: int = DEFAULT_SIZE) -> bytes:
    """`unreadable_jpeg` for the reason an image could not be read (an `Unreadable`, an ImageError,
    an OSError): "image missing" for a file that is gone, "image damaged", else "image unreadable"."""
    text = str(reason)
    gone = isinstance(reason, FileNotFoundError) or "does not exist" in text or "No such file" in text
    what = "image missing" if gone else "image damaged" if "damaged" in text else "image unreadable"
    return unreadable_jpeg(what, hint, aspect, size)


def _tile_jpeg(entry: "Entry", size: int) -> bytes:
    """A tile's picture (`size`: `tile_size`): a click on a tile shows why its image cannot be read."""
    return thumb_jpeg(entry.path, size, hint="click for why", aspect=entry.aspect)


def is_cached(path: str | None, size: int = DEFAULT_SIZE) -> bool:
    """Whether the thumbnail is on disk already (or there is nothing to make: no image)."""
    if not path:
        return True
    try:
        return is_fresh(thumbnail_path(path, size), path) or not os.path.exists(path)  # gone: said at once
    except (ImageError, OSError, ValueError):
        return True  # unreadable: thumb_jpeg says so at once


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def position(catalog: "Catalog", axis: str, entry: "Entry") -> tuple[int, str]:
    """A sort key: the entry's value's place in the sweep's order of `axis` (none: 0)."""
    if not axis:
        return (0, "")
    info = catalog.axes[axis]
    value = entry.value(axis)
    i = info.index(value)
    return (i, "") if i is not None else (len(info.values), repr(value))


class Tile:
    """One thumbnail with its caption; a click anywhere on it calls `on_open(entry)`."""

    def __init__(self, px: int, on_open: Callable[["Entry"], None]) -> None:
        w = require_ipywidgets()
        self.entry: Entry | None = None
        self.image = w.Image(format="jpeg", layout=w.Layout(width=f"{px}px"))
        self.caption = w.HTML(layout=w.Layout(width=f"{px}px"))
        self.hit = w.Button(description="open", tooltip="show large, with its request")
        self.hit.add_class("qwl-hit")
        self.box = w.VBox([self.image, self.caption, self.hit])
        self.box.add_class("qwl-tile")
        self.hit.on_click(lambda _b: self.entry is not None and on_open(self.entry))

    def show(self, entry: "Entry", jpeg: bytes, caption: str, selected: bool) -> None:
        self.entry = entry
        if self.image.value != jpeg:  # an unchanged tile sends nothing to the browser
            self.image.value = jpeg
        if self.caption.value != caption:
            self.caption.value = caption
        self.hit.tooltip = (f"image {entry.image_id}" if entry.image_id is not None else f"cell {entry.task_id}") + \
            ": show large, with its request"
        self.mark(selected)

    def mark(self, selected: bool) -> None:
        if selected:
            self.box.add_class("qwl-selected")
        else:
            self.box.remove_class("qwl-selected")


class TileGrid:
    """The grid widget: `show(entries, ...)` lays out one page; `tiles` are the tiles in use."""

    def __init__(self, px: int, on_open: Callable[["Entry"], None]) -> None:
        w = require_ipywidgets()
        self.px = px
        self.on_open = on_open
        self.pool: list[Tile] = []
        # the grid scrolls in a box of its own, at most GRID_MAX_HEIGHT tall, its column headings
        # kept at its top (and its row headings at its left): they cannot stick to the page's own
        # scroll, since every ipywidgets box and the notebook's output area around the grid set
        # overflow, and a sticky heading sticks only in its nearest box that does
        self.widget = w.VBox(layout=w.Layout(flex="0 1 auto", max_width="100%", max_height=GRID_MAX_HEIGHT,
                                             overflow="auto"))
        self.widget.add_class("qwl-grid")
        self._threads = cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="qwenlab-thumbs")
        self._ahead: cf.Future[Any] | None = None
        self.filling: asyncio.Task[None] | None = None  # the task putting late thumbnails in their tiles
        self._layout: list[Any] = []  # the widgets laying out the page shown (not its tiles, which are reused)
        # device pixels per CSS pixel the pictures are made for (`tile_size`): the browser's, once said
        self.scale = max([TILE_SCALE, *_said_ratio])
        # the browser says its own (the grid's view puts `screen.widget` in it): the tiles shown are
        # made again for a larger one
        self.screen = PixelRatio()
        self.screen.on_change(self._on_ratio)

    def size_of(self, entry: "Entry") -> int:
        """The thumbnail size of this entry's tile (`tile_size`)."""
        return tile_size(self.px, entry.aspect, self.scale)

    @property
    def tiles(self) -> list[Tile]:
        """The tiles showing an entry on this page, in page order."""
        return [t for t in self.pool if t.entry is not None]

    def show(self, catalog: "Catalog", entries: Sequence["Entry"], rows: str, cols: str, captions: Sequence[str],
             selected: "Entry | None") -> None:
        """Lay out `entries` (one page, already sorted): a header row of column values, then per
        row value its header and one cell per column holding that cell's tiles side by side."""
        w = require_ipywidgets()
        while len(self.pool) < len(entries):
            self.pool.append(Tile(self.px, self.on_open))
        if self.filling is not None:
            self.filling.cancel()  # the page it was filling is gone
            self.filling = None
        loop = _running_loop()
        late = [e for e in entries if not is_cached(e.path, self.size_of(e))] if loop is not None else []
        later = {id(e) for e in late}
        # made in parallel where not cached yet (Pillow decodes outside the GIL); in a kernel, the
        # missing ones come after the page is shown
        jpegs = list(self._threads.map(lambda e: blank_jpeg(e.aspect, self.size_of(e)) if id(e) in later
                                        else _tile_jpeg(e, self.size_of(e)), entries))
        for tile, entry, jpeg, caption in zip(self.pool, entries, jpegs, captions):
            tile.show(entry, jpeg, caption, entry is selected)
        if late and loop is not None:
            self.filling = loop.create_task(self._fill(late))
        for tile in self.pool[len(entries):]:
            tile.entry = None
        row_keys = _unique(position(catalog, rows, e) for e in entries)
        col_keys = _unique(position(catalog, cols, e) for e in entries)
        cells: dict[tuple[Any, Any], list[Any]] = {}
        for tile, e in zip(self.pool, entries):
            cells.setdefault((position(catalog, rows, e), position(catalog, cols, e)), []).append(tile.box)
        wrap = w.Layout(flex_flow="row wrap", align_items="flex-start")
        children: list[Any] = []
        if cols:
            children += [_head("", "qwl-colhead", "qwl-rowhead")]
            children += [_head(_axis_label(catalog, cols, entries, c), "qwl-colhead") for c in col_keys]
        for r in row_keys:
            children.append(_head(_axis_label(catalog, rows, entries, r) if rows else "", "qwl-rowhead"))
            children += [w.HBox(cells.get((r, c), []), layout=wrap) for c in col_keys]
        # the columns share the width (each at least one tile wide) and a cell's tiles wrap inside
        # it: as wide as all its tiles side by side, one cell of eight pushed the next column
        # out of view, so on and off could never be seen together
        grid = w.GridBox(children, layout=w.Layout(
            grid_template_columns=f"fit-content(min(16em, 15vw)) repeat({len(col_keys)}, minmax({self.px + 8}px, 1fr))",
            grid_gap="4px 10px", overflow="visible"))  # not a box of its own: the headings stick in self.widget
        self.widget.children = [grid]
        self._close_layout()
        # each heading's own Layout and style widgets too (an HTML widget makes both)
        own = [part for c in children if c.layout is not wrap for part in (c.layout, getattr(c, "style", None)) if part]
        self._layout = [grid, grid.layout, wrap, *children, *own]

    def _close_layout(self) -> None:
        """Close the widgets that laid out the page shown before (its headings, cells and grid, with
        their Layout and style widgets), its tiles kept for the next page. Unclosed, every page
        turned left them alive in the kernel and in the browser's widget manager: 17 more widgets
        a page in a 1,920-image explorer, 680 after going through its 40 pages."""
        for widget in self._layout:
            widget.close()
        self._layout = []

    async def _fill(self, late: list["Entry"]) -> None:
        """Make each missing thumbnail in a thread; put it in its tile (if still shown) in the loop's thread."""
        loop = asyncio.get_running_loop()

        async def one(entry: "Entry") -> None:
            jpeg = await loop.run_in_executor(self._threads, _tile_jpeg, entry, self.size_of(entry))
            for tile in self.pool:
                if tile.entry is entry:
                    tile.image.value = jpeg

        await asyncio.gather(*(one(e) for e in late))

    def make_ahead(self, entries: Sequence["Entry"]) -> None:
        """Make these entries' thumbnails on disk in the background (files only, no widgets)."""
        wanted = [(e.path, self.size_of(e)) for e in entries if e.path]
        if wanted and (self._ahead is None or self._ahead.done()):
            self._ahead = self._threads.submit(_make_thumbs, wanted)

    def _on_ratio(self, ratio: float) -> None:
        """The browser told its device pixel ratio: above the one the tiles were made for, the
        tiles shown are made again for it (in a kernel, as a page's late thumbnails are); below
        it (a zoom out), the browser shrinks the pictures, which stay sharp."""
        _said_ratio[:] = [max([ratio, *_said_ratio])]
        if ratio <= self.scale:
            return
        self.scale = ratio
        shown = [t.entry for t in self.tiles if t.entry is not None]
        if self.filling is not None:
            self.filling.cancel()
            self.filling = None
        loop = _running_loop()
        if loop is not None:
            self.filling = loop.create_task(self._fill(shown))
        else:
            for tile, jpeg in zip(self.tiles, self._threads.map(lambda e: _tile_jpeg(e, self.size_of(e)), shown)):
                tile.image.value = jpeg

    def wait_ahead(self, timeout: float | None = None) -> None:
        """Wait until the thumbnails being made ahead are on disk (for benchmarks and tests)."""
        if self._ahead is not None:
            cf.wait([self._ahead], timeout=timeout)

    def frame(self, colour: Callable[["Entry"], str | None]) -> None:
        """A border around each tile's picture in `colour(entry)` (a text score's), none where it is None."""
        for tile in self.tiles:
            c = colour(tile.entry)  # type: ignore[arg-type]
            border = f"4px solid {c}" if c else ""
            if tile.image.layout.border != border:  # an unchanged tile sends nothing
                tile.image.layout.border = border

    def mark(self, selected: "Entry | None") -> None:
        for tile in self.tiles:
            tile.mark(tile.entry is selected)

    def close(self) -> None:
        if self.filling is not None:
            self.filling.cancel()
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._close_layout()
        self.screen.close()
        self.widget.close()


def _axis_label(catalog: "Catalog", axis: str, entries: Sequence["Entry"], pos: Any) -> str:
    for e in entries:
        if position(catalog, axis, e) == pos:
            value = e.value(axis)
            if axis == REPEAT:
                return f"{axis}: {value}"
            label = catalog.axes[axis].label(value)
            # a long value's label names its axis already ("prompt 2: …reads 'AURELIS'…"), as the
            # grid's and the report's headings have it: not "prompt: prompt 2: …"
            return label if names_axis(label, axis) else f"{axis}: {label}"
    return axis


def _make_thumbs(wanted: list[tuple[str, int]]) -> None:
    for path, size in wanted:
        thumbnail_of(path, size)  # into the disk cache; an unreadable one is shown blank later


def _head(text: str, *classes: str) -> Any:
    """A heading cell of the grid (empty text: an empty cell); `classes` make it stick (see TILE_CSS)."""
    head = require_ipywidgets().HTML(f"<div class='qwl-head'>{html.escape(text)}</div>" if text else "")
    for c in classes:
        head.add_class(c)
    return head


def _unique(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out
