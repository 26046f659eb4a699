"""Which pages of a SQLite file a b-tree's leaves are on, found by reading its interior pages.

A read of a big index, or of rows scattered through the tasks table, asks for one page at a time,
and each cold page waits for the disk. Knowing the pages beforehand, the OS can be asked for all of
them at once (`posix_fadvise(WILLNEED)`), in file order, and reads them many at a time: on this
project's machine the 46,000 leaf pages of the 1,000,000-task log's cost index arrived in 0.5 s that
way, against 1.4 s read by six threads page by page (throwaway `/tmp/s24/fadv.py`).

The leaves are found from the interior pages alone, a hundredth of the b-tree, read from the file
level by level (each level asked for at once, as above). The file format is SQLite's documented
one (https://www.sqlite.org/fileformat2.html, "B-tree Pages"):

- the page size is the 2 bytes at offset 16 of the file (1 means 65536), and page 1's b-tree header
  starts at offset 100;
- a b-tree page's first byte says its kind: 2 an interior index page, 5 an interior table page,
  10 and 13 their leaves; bytes 3-4 its number of cells, bytes 8-11 of an interior page its
  right-most child, and after the header (12 bytes on an interior page) one 2-byte offset per cell;
- an interior cell starts with its left child's page number (4 bytes); a table's goes on with the
  largest rowid of that child, as a varint.

What this module finds is a hint and nothing more: SQLite reads the log as it always does. A page
whose newer copy is in the write-ahead log, a b-tree changed meanwhile, or a page that is not what
the format says gives a page too many or too few to warm, never a wrong answer; anything that does
not parse ends the walk with what it found (`PageMapError` for a file that is no SQLite database).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PageMap", "PageMapError", "page_ranges"]

_INTERIOR_INDEX, _INTERIOR_TABLE, _LEAF_INDEX, _LEAF_TABLE = 2, 5, 10, 13
_MAX_DEPTH = 40  # SQLite's own limit on a b-tree's depth is 20
_NO_LIMIT = 2**63 - 1  # the largest rowid
_KIND_TRIES = 8  # pages of a level read to learn its kind, past any damaged ones
_BATCH = 2048  # interior pages read and parsed at once (8 MB of 4 KB pages)


class PageMapError(Exception):
    """The file is not a SQLite database this module can read."""


class PageMap:
    """The pages of one SQLite file's b-trees, read from the file at `path` (opened read-only).

        with PageMap(path) as pages:
            leaves = pages.leaves(root)                      # every leaf of a b-tree
            leaves = pages.leaves_of_rowids(root, rowids)    # a table's leaves holding these rows
            pages.warm(leaves)                               # ask the OS for them, all at once

    `root` is the b-tree's root page, as `sqlite_schema.rootpage` gives it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            head = os.pread(self._fd, 100, 0)
            if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
                raise PageMapError(f"{self.path} is not a SQLite database")
            size = int.from_bytes(head[16:18], "big")
            self.page_size = 65536 if size == 1 else size
            if self.page_size < 512 or self.page_size & (self.page_size - 1):
                raise PageMapError(f"{self.path}: a page size of {self.page_size} bytes")
            self.page_count = os.fstat(self._fd).st_size // self.page_size
        except BaseException:
            os.close(self._fd)
            raise

    def __enter__(self) -> "PageMap":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- what the b-trees hold ---------------------------------------------------------------------
    def leaves(self, root: int) -> list[int]:
        """Every leaf page of the b-tree at `root` (a table's or an index's), in key order; [root]
        for a b-tree of one page."""
        return self._walk(root, None)

    def leaves_of_rowids(self, root: int, rowids: Iterable[int]) -> list[int]:
        """The leaf pages of the table b-tree at `root` that hold these rowids (in rowid order,
        each once)."""
        import numpy as np

        wanted = np.unique(np.fromiter(rowids, dtype=np.int64))
        return self._walk(root, wanted) if len(wanted) else []

    def warm(self, pages: Sequence[int]) -> int:
        """Asks the OS to read these pages into its cache now, in file order, adjacent pages as one
        range; returns the number of ranges asked for (0 where the OS has no posix_fadvise)."""
        if not hasattr(os, "posix_fadvise"):
            return 0
        ranges = page_ranges(pages)
        for first, count in ranges:
            os.posix_fadvise(self._fd, (first - 1) * self.page_size, count * self.page_size, os.POSIX_FADV_WILLNEED)
        return len(ranges)

    # -- the walk ----------------------------------------------------------------------------------
    def _walk(self, root: int, rowids: "np.ndarray | None") -> list[int]:
        """The leaves under `root`, level by level: each level's interior pages asked for at once,
        then read and parsed together. `rowids`: only the children whose key range holds one of
        them (a table)."""
        import numpy as np

        pages = np.array([root], dtype=np.int64)
        upper = np.array([_NO_LIMIT], dtype=np.int64)  # the largest rowid each page of the level can hold
        for _ in range(_MAX_DEPTH):
            inside = (pages >= 1) & (pages <= self.page_count)
            pages, upper = pages[inside], upper[inside]
            if not len(pages) or len(pages) > self.page_count:
                return []  # a file changed under the walk (a loop would grow a level past the file)
            # Every leaf of a SQLite b-tree is at the same depth: when the first page of a level is
            # a leaf, they all are, and are not read (they are what a caller warms)
            kind = self._level_kind(pages)
            if kind in (_LEAF_INDEX, _LEAF_TABLE):
                return pages.tolist()
            if kind not in ((_INTERIOR_TABLE,) if rowids is not None else (_INTERIOR_INDEX, _INTERIOR_TABLE)):
                return []  # no b-tree pages, or an index's where a table's rows are asked for
            self.warm(pages.tolist())
            parts = [self._level(pages[i:i + _BATCH], upper[i:i + _BATCH], rowids, int(upper[i - 1]) if i else None)
                     for i in range(0, len(pages), _BATCH)]
            pages = np.concatenate([p for p, _ in parts])
            upper = np.concatenate([u for _, u in parts])
        return []

    def _level_kind(self, pages: "np.ndarray") -> int:
        """What kind of b-tree pages a level holds (they are all of one kind): the first byte of
        the b-tree header of its first page that has a b-tree page's (-1 when none of the first
        few has: a file changed or damaged)."""
        for page in pages[:_KIND_TRIES].tolist():
            head = 100 if page == 1 else 0
            data = os.pread(self._fd, 1, (page - 1) * self.page_size + head)
            if data and data[0] in (_INTERIOR_INDEX, _INTERIOR_TABLE, _LEAF_INDEX, _LEAF_TABLE):
                return data[0]
        return -1

    def _level(self, pages: "np.ndarray", upper: "np.ndarray", rowids: "np.ndarray | None", lower: int | None
               ) -> tuple["np.ndarray", "np.ndarray"]:
        """The children of interior pages that lie side by side in key order, in key order, with
        the largest rowid each can hold; with `rowids`, only those holding one of them (the
        pages hold the rowids above `lower` up to the last one's `upper`). A page that is not what
        the format says has no children. (`lower` None: from the smallest rowid.)"""
        import numpy as np

        size = self.page_size
        data = np.zeros((len(pages), size + 9), dtype=np.uint8)  # 9 bytes more: a varint read at the end
        for i, page in enumerate(pages.tolist()):
            got = os.pread(self._fd, size, (page - 1) * size)
            data[i, :len(got)] = np.frombuffer(got, dtype=np.uint8)
        rows = np.arange(len(pages))
        head = np.where(pages == 1, 100, 0)
        cells = (data[rows, head + 3].astype(np.int64) << 8) | data[rows, head + 4]
        ok = np.isin(data[rows, head], [_INTERIOR_TABLE] if rowids is not None else [_INTERIOR_INDEX, _INTERIOR_TABLE])
        ok &= head + 12 + 2 * cells <= size
        cells = np.where(ok, cells, 0)
        # every cell of every page, flat: its page's row and its place among the page's cells
        row = np.repeat(rows, cells)
        nth = np.arange(len(row)) - np.repeat(np.cumsum(cells) - cells, cells)
        at = head[row] + 12 + 2 * nth
        offset = (data[row, at].astype(np.int64) << 8) | data[row, at + 1]
        bad = (offset < head[row] + 12 + 2 * cells[row]) | (offset > size - 5)  # a cell outside its page
        ok[row[bad]] = False
        offset = np.minimum(offset, size - 5)  # (its page is dropped; read within the page meanwhile)
        # each page's children in order: its cells' left children, then its right-most child
        slot = np.cumsum(cells + 1) - (cells + 1)
        child = np.zeros(int((cells + 1).sum()), dtype=np.int64)
        child[slot[row] + nth] = _be32(data, row, offset)
        child[slot + cells] = _be32(data, rows, head + 8)
        live = np.repeat(ok, cells + 1)
        if rowids is None:
            return child[live], np.full(int(live.sum()), _NO_LIMIT, dtype=np.int64)
        # a child holds the rowids up to its cell's key; the right-most one those up to its page's own limit
        bound = np.zeros(len(child), dtype=np.int64)
        bound[slot[row] + nth] = _varints(data, row, offset + 4)
        bound[slot + cells] = upper
        child, bound = child[live], bound[live]
        start = 0 if lower is None else np.searchsorted(rowids, lower, side="right")
        mine = rowids[start:np.searchsorted(rowids, upper[-1], side="right")]
        hit = np.unique(np.searchsorted(bound, mine, side="left"))
        hit = hit[hit < len(child)]
        return child[hit], bound[hit]


def _be32(data: "np.ndarray", row: "np.ndarray", at: "np.ndarray") -> "np.ndarray":
    """The 4-byte big-endian numbers at offsets `at` of rows `row` of `data`."""
    import numpy as np

    out = np.zeros(len(row), dtype=np.int64)
    for i in range(4):
        out = (out << 8) | data[row, at + i]
    return out


def _varints(data: "np.ndarray", row: "np.ndarray", at: "np.ndarray") -> "np.ndarray":
    """The varints (SQLite's: big-endian, 7 bits a byte while the high bit is set, all 8 bits of
    a ninth) at offsets `at` of rows `row` of `data` (9 bytes of room past every offset), as int64."""
    import numpy as np

    value = np.zeros(len(row), dtype=np.uint64)
    live = np.ones(len(row), dtype=bool)  # the varints not yet ended
    for i in range(9):
        byte = data[row, at + i].astype(np.uint64)
        bits = byte if i == 8 else byte & np.uint64(0x7F)
        value = np.where(live, (value << np.uint64(8 if i == 8 else 7)) | bits, value)
        live &= (byte & np.uint64(0x80)) != 0
        if not live.any():
            break
    return value.astype(np.int64)


def page_ranges(pages: Iterable[int]) -> list[tuple[int, int]]:
    """Pages as (first page, count) runs of adjacent pages, in file order, each page once."""
    ranges: list[tuple[int, int]] = []
    for page in sorted(set(pages)):
        if ranges and ranges[-1][0] + ranges[-1][1] == page:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + 1)
        else:
            ranges.append((page, 1))
    return ranges
