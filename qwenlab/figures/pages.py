"""The pages of a built comparison grid, drawn only when shown or saved. Made by
`qwenlab.figures.grid.build_grid`.

    grid = exp.grid(rows="promptExtend", cols="negativePrompt")   # returns at once, draws nothing
    grid                          # in a notebook: the first page, as a JPEG at display size
    grid.show(3)                  # page 3 (or grid.show() for all, one by one)
    grid[3]                       # page 3's matplotlib Figure (drawn now, then kept)
    grid.save("grid.png")         # every page at full size, drawn in parallel processes

A page of 64 images takes about half a second to draw, so a grid of 2,000 images (30 pages and
more) is not drawn when it is built: each `GridPage` draws its figure the first time something
asks for it. Saving draws the pages in a pool of processes (matplotlib holds the GIL, so threads
would not help), one per core (on Linux: on Windows and macOS, where a worker cannot safely be
forked, in this process); the format follows the file's extension: `.png` (lossless, for
print), `.jpg`/`.webp` (a fraction of the size), `.svg`, or `.pdf` (one file, a page per page).

In a notebook a grid shows itself light: an image scaled to the notebook's width (a few hundred KB,
not a multi-megabyte PNG), drawn for a Retina screen (devicePixelRatio 2: two image pixels a CSS
pixel, so its captions and headings are as sharp there as on any screen) and encoded as WebP, which
keeps that within the bytes of the JPEG at one pixel a CSS pixel it replaced (see `sharp_webp`),
with a line saying how to get the full size (`grid.save(...)`). A grid of regions shows at its
own pixels instead, one image pixel per pixel of the screen: on a Retina screen (devicePixelRatio
2) half a CSS pixel each, by a CSS media query on the screen's resolution, no script (see
`_img_html`).
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import hashlib
import html
import io
import multiprocessing
import operator
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from PIL import Image

from ..core.values import count_of
from .text import slug

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Grid", "GridPage", "DISPLAY_WIDTH", "page_bytes", "grid_path", "GRID_FORMATS"]

DISPLAY_WIDTH = 1400   # pixels: wide enough for a notebook on a large screen, small enough to stay light
DISPLAY_QUALITY = 75   # JPEG quality of a page's figure shown alone (grid[i]; full size: grid.save())
# a grid shown in a notebook is drawn this many pixels a CSS pixel (DISPLAY_WIDTH CSS pixels at
# most), a Retina screen's: at one, the browser there enlarged it 2x and its captions went soft
DISPLAY_RATIO = 2
# WebP quality of that drawing: its 4x the pixels in the bytes of the 1x JPEG at quality 75 or
# fewer (notebook 01's 8 posters: 159 KB against 176 KB; 182 KB at 50, 206 KB at 60, where a 2x
# JPEG took 487 KB at 75 and 312 KB at 40; notebook 02, two grids, 938 KB once run, 941 KB now);
# its text stays sharp (36 dB from the lossless drawing), the images' grain smooths a little
SHARP_QUALITY = 40
# ... and only for a page of at most this many images and pixels at one a CSS pixel (notebook 01's
# 8 posters: 0.9 million): drawn 2x and encoded, a page takes 0.35 to 0.5 s more than its 1x JPEG
# (8 posters 0.29 s against 0.10; 16 images of 512x512 in two columns, 2.1 million pixels, 0.62 s
# against 0.20; the scale benchmark's page of 64, 1.14 s against 0.62 s, over issue 13's 1 s). A
# bigger page shows as that JPEG; the region grid and the explorer show its text at full size.
SHARP_MAX_IMAGES = 16
SHARP_MAX_PIXELS = 1_600_000
SHARP_METHOD = 2  # WebP's effort: at 4, 2.2x the encoding time for 7% fewer bytes
ACTUAL_WIDTH = 4000    # pixels: a page shown at its own pixels (`GridPage.actual_size`), up to this
ACTUAL_QUALITY = 85    # and at a quality that keeps small text's edges
SHOWN_PAGES = 1        # pages a grid's notebook display draws; the others are listed with how to show them
# the whole-number devicePixelRatios at which a page shown at its own pixels is laid out 1/ratio CSS
# pixels an image pixel (a Retina screen's 2, a phone's 3, and 4); between them (a browser zoomed to
# 150%) it is shown at the nearest ratio below, slightly enlarged but never shrunk below 1:1
PIXEL_RATIOS = (2, 3, 4)
PIXEL_MULTIPLE = 12    # such a page's JPEG is padded to a multiple of this (of every ratio) a side

Render = Callable[[], "tuple[Figure, int, int]"]  # draws a page: its figure, the images drawn, the blanks


class GridPage:
    """One page of a grid: the values of its page axes, and its figure, drawn on first use."""

    def __init__(self, render: Render, title: str, values: dict[str, Any] | None = None, label: str = "",
                 file_label: str = "", actual_size: bool = False) -> None:
        self.title = title
        # a notebook shows it at its own pixels in a box that scrolls, not scaled to the notebook's
        # width: a grid of regions is made to read small text, which the scaling blurred away
        self.actual_size = actual_size
        self.values = dict(values or {})
        self.label = label            # "example: skincare poster (LUMIERE)"
        self.file_label = file_label  # the values only, for file names: "skincare-poster-lumiere-with"
        self._render = render
        self._figure: "Figure | None" = None
        self._counts: tuple[int, int] | None = None

    @property
    def figure(self) -> "Figure":
        """The page's matplotlib Figure (drawn now if it was not yet)."""
        if self._figure is None:
            self._figure, images, blanks = self._render()
            self._counts = (images, blanks)
        return self._figure

    @property
    def rendered(self) -> bool:
        """Whether the figure is drawn and held in memory."""
        return self._figure is not None

    @property
    def images(self) -> int:
        """How many images the page shows (draws it if needed)."""
        return self._count()[0]

    @property
    def blanks(self) -> int:
        """How many cells the page shows as a labelled blank (failed, not run, or unreadable)."""
        return self._count()[1]

    def _count(self) -> tuple[int, int]:
        if self._counts is None:
            self.figure  # noqa: B018 - drawing counts what it draws
        return self._counts  # type: ignore[return-value]

    def release(self) -> None:
        """Forget the drawn figure (it is drawn again when next asked for); keeps the counts."""
        self._figure = None

    def png(self, dpi: float | None = None) -> bytes:
        """The page as PNG bytes at full size (its own dpi unless given)."""
        return page_bytes(self.figure, "png", dpi)

    def jpeg(self, width: int = DISPLAY_WIDTH, quality: int = DISPLAY_QUALITY) -> bytes:
        """The page as a JPEG at most `width` pixels wide: what a notebook shows."""
        fig = self.figure
        dpi = min(fig.dpi, width / fig.get_figwidth())
        return page_bytes(fig, "jpeg", dpi, quality=quality)

    def save(self, path: str | Path, dpi: float | None = None) -> Path:
        """Write the page to `path` (format from its extension); return the path."""
        path = Path(path)
        keep = self.rendered
        self.figure.savefig(path, dpi=dpi or self.figure.dpi, **save_options(path.suffix))
        if not keep:  # drawn only to be saved: do not hold thousands of images in memory
            self.release()
        return path

    def display_html(self) -> str:
        """What a notebook shows: the page scaled to the notebook's width, drawn for a Retina
        screen (`sharp_webp`), or at its own pixels (`actual_size`), sharper for its text."""
        alt = self.label or self.title
        if self.actual_size:
            return _img_html(even_jpeg(self.figure, ACTUAL_WIDTH, ACTUAL_QUALITY), alt, True)
        if self.images > SHARP_MAX_IMAGES or _display_pixels(self.figure) > SHARP_MAX_PIXELS:
            return _img_html(self.jpeg(), alt)  # a big page: its 1x JPEG, in half the time or less
        return _sharp_html(sharp_webp(self.figure), alt)

    def _repr_html_(self) -> str:
        return self.display_html()

    def __repr__(self) -> str:
        return f"<GridPage {self.label or self.title!r}{'' if self.rendered else ' (not drawn yet)'}>"


class Grid:
    """The pages of a comparison grid, each drawn when first shown or saved. Indexing gives a
    page's matplotlib Figure; `.pages` the `GridPage`s (with their values and counts)."""

    def __init__(self, pages: list[GridPage], name: str, prepare: Callable[[list[GridPage]], None] | None = None,
                 processes: bool = True) -> None:
        self.pages = pages
        self.name = name
        self._prepare = prepare  # readies what the given pages need (thumbnails on disk) before they are drawn elsewhere
        # False where drawing reads the log (OCR outlines): an SQLite connection must not cross a fork
        self._processes = processes

    @property
    def figures(self) -> list["Figure"]:
        """Every page's figure (draws them all: for many pages prefer `save` or indexing)."""
        return [p.figure for p in self.pages]

    def __len__(self) -> int:
        return len(self.pages)

    def __iter__(self) -> Iterator["Figure"]:
        return (p.figure for p in self.pages)

    def __getitem__(self, i: int) -> "Figure":
        return self._page(i).figure

    def _page(self, i: int) -> Any:
        """Page `i` (0-based, negative from the end), or an IndexError that says how many there are."""
        n = len(self.pages)
        try:
            index = None if isinstance(i, bool) else operator.index(i)  # an int, or numpy's
        except TypeError:
            index = None
        if index is None or not -n <= index < n:
            raise IndexError(f"page {i!r}: this grid has {n} page{'s' if n != 1 else ''}, "
                             f"grid[0] to grid[{n - 1}] (or grid[-1], the last)")
        return self.pages[index]

    def __repr__(self) -> str:
        # [i] as grid[i] and grid.show(i) count; " | " between pages, as a page's label holds "; "
        labels = [f"[{i}] {p.label or p.title}" for i, p in enumerate(self.pages)]
        shown = " | ".join(labels[:8]) + (f" | … ({len(labels) - 8} more)" if len(labels) > 8 else "")
        return f"<Grid of {self.name!r}: {count_of(len(self.pages), 'page')}: {shown}>"

    def save(self, path: str | Path, *, dpi: float | None = None, workers: int | None = None) -> list[Path]:
        """Write the grid; return the files written.

        `.pdf`: one file, one page per grid page. Any other suffix (`.png`, `.jpg`, `.webp`,
        `.svg`): one file per page, `<stem>-<n>-<page label>.<suffix>`, or `path` itself for a
        single page. workers: processes drawing pages at once (default: one per core; one where
        the pages show OCR outlines, which are read from the log as they are drawn, and on
        Windows and macOS, where pages are drawn in this process: see `fork_is_safe`)."""
        path = grid_path(path)  # before any page is drawn
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(path, metadata={"Title": self.name, "Creator": "qwenlab"}) as pdf:
                for page in self.pages:
                    keep = page.rendered
                    pdf.savefig(page.figure, dpi=dpi or page.figure.dpi)
                    if not keep:
                        page.release()
            return [path]
        targets = [path] if len(self.pages) == 1 else [
            path.with_name(f"{path.stem}-{n}-{slug(p.file_label or p.label or str(n))}{path.suffix}")
            for n, p in enumerate(self.pages, start=1)]
        todo = [i for i, p in enumerate(self.pages) if not p.rendered]  # drawn pages are saved here, as they are
        workers = _workers(workers, len(todo)) if self._processes else 1
        if workers > 1:
            if self._prepare is not None:
                self._prepare([self.pages[i] for i in todo])
            ctx = multiprocessing.get_context("fork")  # the pages' drawing code and data go as they are, unpickled
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_adopt, initargs=(self,)) as pool:
                for i, counts in zip(todo, pool.map(_save_in_worker, todo, [targets[i] for i in todo], [dpi] * len(todo))):
                    self.pages[i]._counts = counts
        else:
            for i in todo:
                self.pages[i].save(targets[i], dpi)
        for i, page in enumerate(self.pages):
            if i not in todo:
                page.save(targets[i], dpi)
        return targets

    def show(self, *pages: int) -> None:
        """Display the given pages (all without arguments) at display size, one after the other
        (in a notebook; elsewhere, print what the grid holds)."""
        try:
            from IPython.display import HTML, display
        except ImportError:  # pragma: no cover - IPython comes with the notebook extras
            print(repr(self))
            return
        chosen = [self._page(i) for i in pages] if pages else self.pages  # every index checked before any is shown
        for page in chosen:
            display(HTML(page._repr_html_()))

    def _repr_html_(self) -> str:
        shown = self.pages[:SHOWN_PAGES]
        parts = [p.display_html() for p in shown]
        n = len(self.pages)
        note = ("shown at its own pixels (a grid of regions, to read their text): scroll it; " if shown[0].actual_size else "")
        note += (f"page 1 of {n} (grid[0]); grid.show(i) shows grid[i], grid.show() every page; " if n > 1 else "") + (
            "full size: grid.save('grid.png') (or .jpg, .webp, .pdf; files numbered from 1); grid[i] is a page's "
            "matplotlib figure")
        if n > 1:
            rest = " | ".join(f"[{i}] {html.escape(p.label or p.title)}" for i, p in enumerate(self.pages[:30]))
            note += f"<br>pages: {rest}" + (f" | … ({n - 30} more)" if n > 30 else "")
        return "".join(parts) + f"<div style='color:#555;font-size:smaller'>{html.escape(self.name)}: {note}</div>"


def page_bytes(figure: "Figure", fmt: str, dpi: float | None = None, **options: Any) -> bytes:
    """A figure encoded as `fmt` ("png", "jpeg", "webp", ...) at `dpi` (its own by default)."""
    buf = io.BytesIO()
    extra = save_options(fmt)
    if "quality" in options:
        extra = {"pil_kwargs": {**extra.get("pil_kwargs", {}), "quality": options["quality"]}}
    figure.savefig(buf, format=fmt, dpi=dpi or figure.dpi, **extra)
    return buf.getvalue()


GRID_FORMATS = ("png", "jpg", "jpeg", "webp", "pdf", "svg")


def grid_path(path: str | Path) -> Path:
    """The file a grid is written to for `path` (no suffix: .png); ValueError naming -o for a
    format a grid is not written in. `Grid.save` checks it; a command checks it first too, so
    that it refuses a bad -o before it prints anything."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    if path.suffix.lower().lstrip(".") not in GRID_FORMATS:
        raise ValueError(f"path (-o): {path.name!r} is not a format a grid is written in; end it with "
                         f"{', '.join('.' + f for f in GRID_FORMATS)}")
    return path


def save_options(suffix: str) -> dict[str, Any]:
    """What `savefig` is given for a format: light compression where it pays."""
    # a grid is mostly photographs, which zlib barely shrinks: level 3 instead of 6 saves about
    # 40% of the time for 5% more bytes (python -m qwenlab.bench.grid)
    fmt = suffix.lower().lstrip(".")
    if fmt == "png":
        return {"pil_kwargs": {"compress_level": 3}}
    if fmt in ("jpg", "jpeg"):
        return {"pil_kwargs": {"quality": 88, "optimize": True}}
    if fmt == "webp":
        return {"pil_kwargs": {"quality": 85, "method": 4}}
    return {}


def even_jpeg(figure: "Figure", width: int, quality: int) -> bytes:
    """The figure as a JPEG at most `width` pixels wide (its own dpi or less), padded with its
    background to a multiple of PIXEL_MULTIPLE pixels a side, so that at every ratio of
    PIXEL_RATIOS it is laid out on whole CSS pixels: at devicePixelRatio 2 a page 3,197 pixels wide,
    laid out 1,598.5 CSS pixels wide, was drawn with every pixel smoothed (Chromium)."""
    out = io.BytesIO()
    _padded(figure, min(figure.dpi, width / figure.get_figwidth())).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def sharp_webp(figure: "Figure", width: int = DISPLAY_WIDTH, ratio: int = DISPLAY_RATIO,
               quality: int = SHARP_QUALITY) -> bytes:
    """The figure as a notebook shows it scaled to its width: `ratio` pixels a CSS pixel of a page
    at most `width` CSS pixels wide (drawn at `ratio` times the dpi `GridPage.jpeg` draws at, up to
    `width` pixels wide, so the same size on the screen), padded as `even_jpeg` pads, as WebP.
    Drawn at one pixel a CSS pixel, a Retina screen enlarged the page 2x and its captions and
    headings went soft; the grid's images are drawn from the same thumbnails as in `grid.save`."""
    out = io.BytesIO()
    dpi = ratio * min(figure.dpi, width / figure.get_figwidth())
    _padded(figure, dpi).save(out, format="WEBP", quality=quality, method=SHARP_METHOD)
    return out.getvalue()


def _display_pixels(figure: "Figure", width: int = DISPLAY_WIDTH) -> float:
    """The pixels of the figure drawn at most `width` pixels wide (one a CSS pixel)."""
    dpi = min(figure.dpi, width / figure.get_figwidth())
    return figure.get_figwidth() * figure.get_figheight() * dpi * dpi


def _drawn(figure: "Figure", dpi: float) -> Image.Image:
    """The figure drawn at `dpi` by Agg straight into memory (RGBA), pixel for pixel as savefig
    draws a PNG, without its encoding and decoding (a 2x page: 0.4 s against 0.8 s)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    before = figure.canvas
    canvas = before if isinstance(before, FigureCanvasAgg) else FigureCanvasAgg(figure)
    old = figure.dpi
    figure.dpi = dpi  # as savefig sets it for its drawing
    try:
        canvas.draw()
        width, height = canvas.get_width_height(physical=True)
        return Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).copy()
    finally:
        figure.dpi = old
        figure.set_canvas(before)  # as savefig leaves it


def _padded(figure: "Figure", dpi: float) -> Image.Image:
    """The figure drawn at `dpi` (`_drawn`), over its background, padded with it to a multiple of
    PIXEL_MULTIPLE pixels a side (RGB)."""
    page = _drawn(figure, dpi)
    w, h = page.size
    background = tuple(round(c * 255) for c in figure.get_facecolor()[:3])
    padded = Image.new("RGB", (-(-w // PIXEL_MULTIPLE) * PIXEL_MULTIPLE, -(-h // PIXEL_MULTIPLE) * PIXEL_MULTIPLE), background)
    padded.paste(page, (0, 0), page)  # over the background, as a JPEG of the figure is
    return padded


def _sharp_html(data: bytes, alt: str, ratio: int = DISPLAY_RATIO) -> str:
    """A page drawn `ratio` pixels a CSS pixel (`sharp_webp`), laid out 1/ratio of its pixels wide
    and no wider than the notebook. Nothing but an <img>'s width, src and inline style, which
    JupyterLab's sanitizer keeps (an untrusted notebook's outputs): no <style>, no script, no
    srcset, so every notebook shows the same; on a screen of one device pixel per CSS pixel the
    browser scales it down, as it scaled the 1,400-px JPEG to a narrower notebook before."""
    uri = "data:image/webp;base64," + base64.b64encode(data).decode("ascii")
    with Image.open(io.BytesIO(data)) as shown:
        width = shown.width // ratio  # whole: padded to a multiple of every ratio
    alt = html.escape(alt, quote=True)
    return (f"<div><img src='{uri}' alt='{alt}' width='{width}' "
            f"style='width:{width}px;max-width:100%;height:auto'/></div>")


def _img_html(data: bytes, alt: str, actual_size: bool = False) -> str:
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    alt = html.escape(alt, quote=True)
    if not actual_size:
        return f"<div><img src='{uri}' alt='{alt}' style='max-width:100%'/></div>"
    # One image pixel per pixel of the screen, in a box that scrolls both ways. Its own size in CSS
    # pixels is that on a screen of one device pixel per CSS pixel; on a Retina screen
    # (devicePixelRatio 2) every image pixel would be drawn on 2 x 2 device pixels, enlarged and
    # smoothed, so a media query on the resolution lays it out 1/2 of that (1/3, 1/4 on denser
    # screens). A <style> and not a script: a notebook's outputs may be untrusted, their scripts
    # not run, and its class is the image's own, so that one output's rule reaches no other. Where
    # a sanitizer drops the <style> (JupyterLab's, on an untrusted notebook) the image stays at its
    # CSS size, enlarged on a Retina screen but readable: never at half size on an ordinary one.
    # The box's max-height in px first: that sanitizer drops a length in vh (its CSS lengths are
    # px, em, pt...), which left the box as tall as the page; where vh is kept, it wins.
    with Image.open(io.BytesIO(data)) as shown:
        width = shown.width
    scope = "qwl-px-" + hashlib.sha256(data).hexdigest()[:12]
    rules = "".join(f"@media (min-resolution:{r}dppx),(-webkit-min-device-pixel-ratio:{r})"
                    f"{{.{scope} img{{width:{width // r}px !important;height:auto !important}}}}" for r in PIXEL_RATIOS)
    return (f"<style>{rules}</style><div class='{scope}' style='overflow:auto;max-height:800px;max-height:85vh;max-width:100%'>"
            f"<img src='{uri}' alt='{alt}' style='max-width:none;width:auto'/></div>")


def _workers(asked: int | None, pages: int) -> int:
    if asked is not None:
        if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
            raise ValueError(f"workers={asked!r}: give a number of processes from 1 up (or None: one per core)")
        # asked for, but a worker can only be forked (its pages' drawing code and data are not
        # pickled): drawn here instead where fork is missing (Windows) or unsafe (macOS)
        return max(1, min(asked, pages)) if fork_is_safe() else 1
    if not fork_is_safe():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, pages))


def fork_is_safe() -> bool:
    """Whether pages may be drawn in forked workers: where fork exists (not Windows, whose
    `get_context("fork")` raises ValueError) and is not macOS, where Python calls it unsafe since
    3.8 (system libraries, Accelerate's BLAS among them, may have threads that a fork leaves
    half-way, and the child crashes or hangs)."""
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


# -- in a worker process -----------------------------------------------------------------------------
_GRID: Grid | None = None  # the grid being saved, inherited from the parent by fork


def _adopt(grid: Grid) -> None:
    global _GRID
    _GRID = grid


def _save_in_worker(index: int, target: Path, dpi: float | None) -> tuple[int, int]:
    page = _GRID.pages[index]  # type: ignore[union-attr]
    page.save(target, dpi)
    return page._count()
