"""`page_starts`, the explorer's page breaks, on hand-made groups: whole cells while they fit,
a cell larger than a page split at its inner groups, and never an empty page."""

from __future__ import annotations

from qwenlab.widgets.explorer_pages import page_starts


def _pages(starts: list[int], n: int) -> list[int]:
    return [b - a for a, b in zip(starts, starts[1:] + [n])]


def test_whole_cells_fill_a_page_while_they_fit() -> None:
    cells = list("aabbbccdd")  # cells of 2, 3, 2, 2
    starts, split = page_starts([cells, cells], 5)
    assert _pages(starts, 9) == [5, 4] and split == []
    assert page_starts([cells, cells], 4)[0] == [0, 2, 5]  # b (3) does not fit beside a (2): a page of its own


def test_a_cell_larger_than_a_page_splits_at_its_inner_groups() -> None:
    grid = list("xyyyyyyz")  # y: a grid cell of 6, three sweep cells of 2 inside
    sweep = list("01122334")
    starts, split = page_starts([grid, sweep], 4)
    assert starts == [0, 1, 5] and split == [(1, 7)]  # x | y's 1 and 2 | y's 3, then z whole beside it
    # an inner group larger than a page too: cut by the page size
    starts, split = page_starts([list("aaaaaaaaaa"), list("aaaaaaaaaa")], 4)
    assert starts == [0, 4, 8] and split == [(0, 10)]


def test_no_items_is_one_empty_page_and_no_page_is_ever_empty() -> None:
    assert page_starts([[], []], 48) == ([0], [])
    for size in range(1, 8):
        grid = list("aaabccccccdd")
        starts, _ = page_starts([grid, grid], size)
        assert all(n > 0 for n in _pages(starts, len(grid))) and all(n <= size for n in _pages(starts, len(grid)))
