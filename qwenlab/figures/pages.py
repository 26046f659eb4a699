"""The pages of a built comparison grid: matplotlib Figures that show themselves in a notebook and
save as PNG (one file per page), PDF (one file, a page per page) or SVG. Made by
`qwenlab.figures.grid.build_grid`.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .text import slug

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Grid", "GridPage"]


@dataclass
class GridPage:
    """One page of a grid: its figure, and the values of the page axes it shows."""

    figure: "Figure"
    title: str
    values: dict[str, Any] = field(default_factory=dict)
    label: str = ""      # "example: skincare poster (LUMIERE)"
    file_label: str = ""  # the values only, for file names: "skincare poster (LUMIERE)"
    images: int = 0
    blanks: int = 0

    def png(self, dpi: float | None = None) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi or self.figure.dpi, **_save_kwargs("png"))
        return buf.getvalue()


class Grid:
    """The pages of a comparison grid. Iterating gives the matplotlib Figures."""

    def __init__(self, pages: list[GridPage], name: str) -> None:
        self.pages = pages
        self.name = name

    @property
    def figures(self) -> list["Figure"]:
        return [p.figure for p in self.pages]

    def __len__(self) -> int:
        return len(self.pages)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.figures)

    def __getitem__(self, i: int) -> "Figure":
        return self.pages[i].figure

    def __repr__(self) -> str:
        return f"<Grid of {self.name!r}: {len(self.pages)} page(s): " + "; ".join(p.label or p.title for p in self.pages) + ">"

    def save(self, path: str | Path, *, dpi: float | None = None) -> list[Path]:
        """Write the grid; return the files written.

        `.pdf`: one file, one page per grid page. Any other suffix (`.png`, `.svg`, `.jpg`): one
        file per page, `<stem>-<n>-<page label>.<suffix>`, or `path` itself for a single page."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(path, metadata={"Title": self.name, "Creator": "qwenlab"}) as pdf:
                for page in self.pages:
                    pdf.savefig(page.figure, dpi=dpi or page.figure.dpi)
            return [path]
        extra = _save_kwargs(path.suffix)
        if len(self.pages) == 1:
            self.pages[0].figure.savefig(path, dpi=dpi or self.pages[0].figure.dpi, **extra)
            return [path]
        written = []
        for n, page in enumerate(self.pages, start=1):
            target = path.with_name(f"{path.stem}-{n}-{slug(page.file_label or page.label or str(n))}{path.suffix}")
            page.figure.savefig(target, dpi=dpi or page.figure.dpi, **extra)
            written.append(target)
        return written

    def _repr_html_(self) -> str:
        import html

        parts = []
        for page in self.pages:
            data = base64.b64encode(page.png()).decode("ascii")
            parts.append(f"<div><img src='data:image/png;base64,{data}' alt='{html.escape(page.title, quote=True)}' "
                         "style='max-width:100%'/></div>")
        return "".join(parts)

    def show(self) -> None:
        """Display every page (in a notebook; elsewhere, print where to find them)."""
        try:
            from IPython.display import Image, display
        except ImportError:  # pragma: no cover - IPython comes with the notebook extras
            print(repr(self))
            return
        for page in self.pages:
            display(Image(data=page.png()))


def _save_kwargs(suffix: str) -> dict[str, Any]:
    # a grid is mostly photographs, which zlib barely shrinks: level 3 instead of 6 saves about
    # 40% of the time for 5% more bytes (python -m qwenlab.bench.grid)
    fmt = suffix.lower().lstrip(".")
    if fmt == "png":
        return {"pil_kwargs": {"compress_level": 3}}
    if fmt in ("jpg", "jpeg"):
        return {"pil_kwargs": {"quality": 88}}
    return {}
