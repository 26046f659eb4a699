"""The compare viewer: 2 to 4 images at full resolution, zoomed and panned together.

    exp.compare_images([12, 15])                  # image ids, task UUIDs, or a row of exp.pairs()
    exp.compare_images(exp.pairs("promptExtend").iloc[0])
    compare_files(["a.jpg", "b.jpg"])             # any image files (qwenlab.widgets.compare_files)

Made to read a 30-px label in two images side by side: once the picture is clicked (or with Ctrl
held) the wheel zooms at the cursor in every image at once (until then it scrolls the page, as over
a map embedded in a page), a drag pans them all, a double-click fits them again, "1:1" shows one
image pixel per screen pixel, the device's (half a CSS pixel on a Retina screen, where one per CSS
pixel was smoothed over 2 x 2 device pixels), of the largest image when their sizes differ (none is shown below
its resolution; it stays on for the images shown next, and keeps the spot being read), and
"1:1 each", for images of different sizes, shows every one at its own pixels. Once the picture
is clicked, + and - zoom (steps that land on 1:1 and 2:1; from 2:1 on, each image pixel a sharp
square) and Shift with an arrow pans. With two images, "swipe" lays them in one frame with a handle to drag: A left of
it, B right. Each image is labelled with only what differs between them ("promptExtend on" vs
"off", the seed), the caption says what they share and where they came from (SYNTHETIC for the
offline emulator's).

It is an anywidget (a small ES module, `compare.js` after the zoom ladder it shares with the
report's lightbox, `qwenlab/html/zoom.js`, and `compare.css` beside this file), so it
works in JupyterLab, VS Code's notebooks, Colab and Voila. While the kernel runs, the image files
travel to the browser as they are stored (JPEG, PNG or WebP bytes in binary buffers, shown
through blob URLs): no base64, no re-encoding, full resolution. The widget's state (which a
notebook saved with its widget state keeps) holds only a 768-px preview of each larger image
(`previews.py`): the originals are sent in a message the view asks for (the views of one viewer
in a page ask once, and share the answer), which no state keeps, so
a saved notebook grows by tens of KB a viewer, not MB; reopened without a kernel it shows the
previews, and says so.

    viewer.zoom, viewer.pan, viewer.split       # the shared view, as the browser last sent it
    viewer.reset()                              # fit every image again
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..core.values import format_value, is_missing, same_value
from ..errors import ImageError
from ..html.zoom import ZOOM_JS
from ..store.catalog import REPEAT
from ..store.experiment import provenance_banner
from ..store.provenance import Provenance
from ..store.thumbnails import gone, read_checked
from .display import with_text
from .previews import preview

if TYPE_CHECKING:
    from ..store.catalog import Entry
    from ..store.experiment import ExperimentRecord

__all__ = ["CompareViewer", "CompareImage", "compare_files", "images_of", "differences", "MAX_IMAGES"]

MAX_IMAGES = 4
ARROWS = ("widget", "pan-zoomed")
ZOOMED_IN = 1.01  # a zoom above this is "zoomed in" (compare.js's zoomedIn() and its faded labels agree)
_HERE = Path(__file__).resolve().parent
_MIMES = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png", b"RI": "image/webp", b"GI": "image/gif"}


@dataclass
class CompareImage:
    """One image to compare: its file and what is known about it (`facts`: name -> value, in the
    order labels list them). `id` is the log's image id (None for a plain file)."""

    path: str
    facts: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    backend: str | None = None
    data: bytes | None = None  # bytes to show instead of the file's (e.g. the image with the OCR's boxes drawn)

    @classmethod
    def of_entry(cls, entry: "Entry") -> "CompareImage":
        """An image of the explorer's catalog, with its axis values, size and seed as facts."""
        facts: dict[str, Any] = {k: v for k, v in entry.cell.items() if k != REPEAT}
        if entry.width and entry.height:
            facts["size"] = f"{entry.width}x{entry.height}"
        facts["seed"] = entry.shown_seed
        return cls(entry.path or "", facts, entry.image_id, entry.task.get("backend"))

    def read(self) -> tuple[bytes, str]:
        """The file's bytes as stored and their MIME type; ImageError if it is gone or not an image."""
        try:
            data = self.data if self.data is not None else read_checked(Path(self.path))  # damaged: ImageError
        except FileNotFoundError as exc:
            if self.id is not None:  # a logged image: in the grid's words, which say what happened
                raise gone(self.path) from None
            raise ImageError(f"cannot read image {self.path}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise ImageError(f"cannot read image {self.path}: {exc.strerror or exc}") from None
        mime = _MIMES.get(data[:2])
        if mime is None:
            raise ImageError(f"{self.path} is not a JPEG, PNG, WebP or GIF image")
        return data, mime


def differences(images: Sequence[CompareImage]) -> tuple[list[str], list[str]]:
    """Per image a label of only the facts that differ between them ("promptExtend on · seed 7"),
    and the facts they share ("size 1024x1536")."""
    names: list[str] = []
    for img in images:
        names += [n for n in img.facts if n not in names]
    differ = [n for n in names if len(images) > 1 and not all(
        same_value(images[0].facts.get(n), img.facts.get(n)) for img in images[1:])]
    if len(images) == 1:  # nothing to tell apart: say what it is
        differ = [n for n in names if n != "prompt"]
    labels = [" · ".join(_fact(n, img.facts.get(n)) for n in differ) or (f"image {img.id}" if img.id is not None
                                                                           else Path(img.path).name)
              for img in images]
    shared = [_fact(n, images[0].facts.get(n)) for n in names if n not in differ and n != "prompt"]
    return labels, shared


def _fact(name: str, value: Any) -> str:
    return f"{name} {format_value(value, 60)}"


def images_of(record: "ExperimentRecord", items: Any) -> list[CompareImage]:
    """The logged images meant by `items`: image ids, task UUIDs (every image of that task), rows
    of `pairs()` (their image_a and image_b), or a list mixing them. Any experiment of the log."""
    ids: list[int] = []
    for item in _flatten(items):
        if isinstance(item, str) and not item.strip().isdigit():
            found = record.log.rows("SELECT id FROM images WHERE task_uuid = ? ORDER BY id", [item])
            if not found:
                raise ImageError(f"images: no image of task {item!r} in the log; pass image ids (exp.images['id']), "
                                 "task UUIDs of tasks that made an image, or rows of exp.pairs()")
            ids += [int(r["id"]) for r in found]
        else:
            try:
                ids.append(int(item))
            except (TypeError, ValueError):
                raise ImageError(f"images: {item!r} is neither an image id, a task UUID nor a row of pairs()") from None
    if not 1 <= len(ids) <= MAX_IMAGES:
        raise ImageError(f"images: the compare viewer shows 1 to {MAX_IMAGES} images, got {len(ids)}; "
                         "pass fewer ids (or open several viewers)")
    marks = ",".join("?" * len(ids))
    rows = {int(r["id"]): r for r in record.log.rows(
        "SELECT i.id, i.path, i.seed, i.width, i.height, t.cell_json, t.prompt, t.backend, e.name AS experiment "
        f"FROM images i JOIN tasks t ON t.id = i.task_id JOIN experiments e ON e.id = i.experiment_id WHERE i.id IN ({marks})",
        ids)}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ImageError(f"images: no image with id {', '.join(map(str, missing))} in the log at {record.log.path}")
    return [_logged(rows[i], Path(record.data_dir)) for i in ids]


def _flatten(items: Any) -> Iterable[Any]:
    """Image ids, task UUIDs and pair rows, one by one (a pair row stands for its two images)."""
    if _is_pair_row(items):
        yield from (items["image_a"], items["image_b"])
    elif isinstance(items, (str, bytes, int)) or not isinstance(items, Iterable):
        yield items
    else:
        for item in items:
            yield from (_flatten(item) if _is_pair_row(item) else (item,))


def _is_pair_row(item: Any) -> bool:
    """A row of `pairs()`: a pandas Series or a mapping with image_a and image_b."""
    keys = getattr(item, "keys", None)
    return callable(keys) and not isinstance(item, (str, bytes)) and "image_a" in keys() and "image_b" in keys()


def _logged(row: Mapping[str, Any], data_dir: Path) -> CompareImage:
    path = Path(row["path"] or "")
    facts: dict[str, Any] = {"experiment": row["experiment"]}
    cell = json.loads(row.get("cell_json") or "{}")
    facts.update({k: v for k, v in cell.items() if k != REPEAT})
    facts["prompt"] = row.get("prompt")
    if row.get("width") and row.get("height"):
        facts["size"] = f"{row['width']}x{row['height']}"
    facts["seed"] = None if is_missing(row.get("seed")) else int(row["seed"])
    return CompareImage(str(path if path.is_absolute() else data_dir / path), facts, int(row["id"]), row.get("backend"))


@functools.cache
def _widget_class() -> type:
    """The anywidget class, made on first use (so importing qwenlab imports no widget library)."""
    import anywidget
    import traitlets as t

    class CompareWidget(anywidget.AnyWidget):  # type: ignore[misc]
        # the zoom ladder the report's lightbox shares (qwenlab/html/zoom.js), then the viewer
        _esm = ZOOM_JS + (_HERE / "compare.js").read_text(encoding="utf-8")
        _css = _HERE / "compare.css"
        # what the saved state keeps: each file's bytes, or its preview when larger (`previewed`);
        # the view asks for the originals of this `generation` of images (a custom message)
        images = t.List(t.Bytes()).tag(sync=True)
        mimes = t.List(t.Unicode()).tag(sync=True)
        previewed = t.List(t.Bool()).tag(sync=True)
        generation = t.Int(0).tag(sync=True)
        labels = t.List(t.Unicode()).tag(sync=True)
        caption = t.Unicode("").tag(sync=True)  # HTML, escaped here
        mode = t.Unicode("side").tag(sync=True)  # "side" or "swipe" (two images)
        zoom = t.Float(1.0).tag(sync=True)  # 1: each image fits its pane
        pan_x = t.Float(0.0).tag(sync=True)  # screen pixels from the pane's centre
        pan_y = t.Float(0.0).tag(sync=True)
        split = t.Float(0.5).tag(sync=True)  # where the swipe handle is, 0 (left) to 1 (right)
        own_pixels = t.Bool(False).tag(sync=True)  # "1:1 each": every image at one scale, not fitted each to its pane
        height = t.Int(0).tag(sync=True)  # pane height in px; 0: as tall as the window allows
        reveal = t.Int(0).tag(sync=True)  # raised to scroll the viewer into view (`CompareViewer.reveal`)
        # "widget": the plain arrows go to the widget around (the explorer steps); "pan-zoomed":
        # while zoomed in they pan (judging, where an arrow is a verdict)
        arrows = t.Unicode("widget").tag(sync=True)
        hint = t.Unicode("").tag(sync=True)  # the bar's note on the keys ("": the viewer's own)

    return CompareWidget


class CompareViewer:
    """The compare viewer of logged images: `CompareViewer(record, image_ids)`.

    record: the experiment (`Experiment` / `ExperimentRecord`; any image of its log can be shown).
    image_ids: 1 to 4 image ids (or task UUIDs, or a row of `pairs()`), in the order shown.
    mode: "side" (side by side) or "swipe" (two images in one frame, a handle between them).
    height: pane height in pixels (default: as tall as the window allows).
    labels: your own labels instead of what differs (e.g. ["A", "B"] to judge blind).
    caption: HTML over the images instead of what they share and where they came from ("" for none).
    banner: False leaves out where they came from (SYNTHETIC) where a view around it says it
    already (the explorer's header, a pair's caption), and keeps what they share.
    arrows: "widget" (default): the plain arrow keys go to the widget around the viewer (the
    explorer's steps); "pan-zoomed": while zoomed in they pan instead (blind judging, where an
    arrow is a verdict). hint: the bar's note on the keys, instead of the viewer's own.
    """

    def __init__(self, record: "ExperimentRecord | None", image_ids: Any = (), *, mode: str = "side",
                 height: int = 0, labels: Sequence[str] | None = None, images: Sequence[CompareImage] | None = None,
                 caption: str | None = None, banner: bool = True, arrows: str = "widget", hint: str = "") -> None:
        self.record = record
        if arrows not in ARROWS:
            raise ValueError(f"arrows must be one of {ARROWS}, got {arrows!r}")
        self.widget = _widget_class()(mode=_check_mode(mode), height=int(height), arrows=arrows, hint=hint)
        self.widget.layout.width = "100%"  # as wide as its container, even inside a flex box
        self._originals: list[tuple[bytes, str]] = []
        self.widget.on_msg(self._on_msg)
        if images is None:
            if record is None:
                raise ValueError("CompareViewer needs the experiment the image ids belong to (or images=)")
            images = images_of(record, image_ids)
        self.show(images, labels=labels, caption=caption, banner=banner)

    def show(self, images: Sequence[CompareImage], *, labels: Sequence[str] | None = None,
             caption: str | None = None, banner: bool = True) -> None:
        """Show these images instead (the view is kept: zoom and pan stay where they were)."""
        images = list(images)
        if not 1 <= len(images) <= MAX_IMAGES:
            raise ImageError(f"images: the compare viewer shows 1 to {MAX_IMAGES} images, got {len(images)}")
        payload = [img.read() for img in images]
        small = [preview(data) for data, _ in payload]
        found, shared = differences(images)
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"labels: one per image ({len(images)}), got {len(labels)}")
        self.images = images
        prov = Provenance.of_tasks({"status": "done", "backend": img.backend} for img in images if img.id is not None)
        head = caption if caption is not None else (provenance_banner(prov) if banner else "") + (
            f"<div class='qwl-cmp-shared'>same: {html.escape(' · '.join(shared))}</div>" if shared and len(images) > 1 else "")
        self._originals = payload
        with self.widget.hold_sync():
            self.widget.labels = list(labels if labels is not None else found)
            self.widget.generation += 1
            self.widget.previewed = [p is not None for p in small]
            self.widget.mimes = [(p or o)[1] for p, o in zip(small, payload)]
            self.widget.images = [(p or o)[0] for p, o in zip(small, payload)]
            self.widget.caption = head

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A view asks for the originals of the images it shows (`{"want": "full", "generation": n}`):
        sent in a message, not a trait, so that no saved widget state holds them."""
        if not (isinstance(content, dict) and content.get("want") == "full"):
            return
        if content.get("generation") != self.widget.generation:
            return  # images shown since: the view asks again for those
        index = [i for i, p in enumerate(self.widget.previewed) if p]
        self.widget.send({"full": self.widget.generation, "index": index,
                          "mimes": [self._originals[i][1] for i in index]},
                         buffers=[self._originals[i][0] for i in index])

    # -- the view ------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Each image's label, in the order shown (what differs between them, or your own)."""
        return list(self.widget.labels)

    @property
    def value(self) -> bytes:
        """The first image's bytes, as stored and as the browser shows them while the kernel runs
        (the saved widget state holds a preview of it when larger: `widget.images`)."""
        return self._originals[0][0] if self._originals else b""

    @property
    def zoom(self) -> float:
        """The zoom as the browser last sent it, relative to fitting: 1.0 is every image fitted to its
        pane, 2.0 twice that. Not the readout's percent, whose 100% is 1:1 (one image pixel per
        device pixel), whatever zoom that takes for the pane and screen."""
        return float(self.widget.zoom)

    @property
    def pan(self) -> tuple[float, float]:
        """(x, y): how far the picture is moved from the pane's centre, in CSS pixels of the page,
        as the browser last sent it; (0, 0) centred. Counted for the image with the most pixels
        for its pane (the one "1:1" is for); every other is moved by the same fraction of its own
        width and height, so the same spot of each is at the centre whatever their shapes."""
        return float(self.widget.pan_x), float(self.widget.pan_y)

    @property
    def split(self) -> float:
        """Where the swipe handle is, 0 (left edge: all B) to 1 (right edge: all A); 0.5 by default."""
        return float(self.widget.split)

    @property
    def mode(self) -> str:
        """"side" (side by side) or "swipe" (two images in one frame, a handle between); settable."""
        return str(self.widget.mode)

    @mode.setter
    def mode(self, value: str) -> None:
        self.widget.mode = _check_mode(value)

    @property
    def zoomed_in(self) -> bool:
        """Whether more of the images than their panes show is in view: zoomed in past fitting
        (the zoom as the browser last sent it)."""
        return self.zoom > ZOOMED_IN

    def pan_by(self, sx: int, sy: int) -> None:
        """Pan as Shift and an arrow do in the browser: a step of 15% of the pane, `sx`, `sy` in
        -1, 0, 1 (1: the picture moves right, or down)."""
        self.widget.send({"pan": [int(sx), int(sy)]})

    def reveal(self) -> None:
        """Scroll the page so that the viewer is on screen (as little as that takes)."""
        self.widget.reveal += 1

    def reset(self) -> None:
        """Fit every image in its pane again (what a double-click does)."""
        with self.widget.hold_sync():
            self.widget.zoom, self.widget.pan_x, self.widget.pan_y = 1.0, 0.0, 0.0
            self.widget.own_pixels = False

    # -- notebook display -------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text(self.widget._repr_mimebundle_(**kwargs), repr(self))

    def __repr__(self) -> str:
        return f"CompareViewer({' | '.join(self.labels)}; {self.mode}, zoom {self.zoom:.2f})"

    def close(self) -> None:
        """Close the widget: its view leaves the notebook and its images are freed in the kernel."""
        self.widget.close()


def _check_mode(mode: str) -> str:
    if mode not in ("side", "swipe"):
        raise ValueError(f"mode must be 'side' (side by side) or 'swipe' (two images, a handle between), got {mode!r}")
    return mode


def compare_files(paths: Sequence[str | Path], labels: Sequence[str] | None = None, *, mode: str = "side",
                  height: int = 0) -> CompareViewer:
    """The compare viewer over image files (1 to 4), labelled with their names (or `labels`)."""
    images = [CompareImage(str(Path(p).expanduser().resolve()), {"file": Path(p).name}) for p in paths]
    labels = labels if labels is not None else [Path(p).name for p in paths]
    return CompareViewer(None, images=images, labels=labels, mode=mode, height=height)
