"""Chinese, Japanese and Korean text in qwenlab's own figures: a grid's title holds the prompt, its
headings the values, a cost plot the experiments' names. matplotlib's DejaVu Sans has no CJK
glyph, so they were empty boxes (and a "Glyph ... missing" warning per character); the system's
CJK font is now a fallback after it, and the labels are wrapped by the width CJK glyphs take."""

from __future__ import annotations

import io
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from qwenlab.analysis.pairs import pairs
from qwenlab.core import cjk_font
from qwenlab.core.cjk_font import cjk_fallback
from qwenlab.core.scripts import NO_LINE_START, line_units
from qwenlab.costs import Costs
from qwenlab.costs.plots import cost_by_experiment
from qwenlab.figures.grid import build_grid
from qwenlab.figures.pairs import show_pairs
from qwenlab.figures.text import wrap_lines
from tests.support.labkit import run_sweep

PROMPT = "一张春节促销海报，标题写着“新年快乐”，副标题“全场五折”，底部小字写着活动时间与全国门店地址"


def _pixels(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return np.asarray(Image.open(buf).convert("L"))


def _one_text(text: str) -> Figure:
    fig = Figure(figsize=(3, 1))
    fig.text(0.05, 0.4, text, fontsize=20)
    return fig


def _missing_glyphs(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_a_wide_line_is_wrapped_by_the_width_its_characters_take() -> None:
    width = 20  # characters of the average Latin width
    lines = wrap_lines(PROMPT, width * 0.6 * 9 / 72, 9)  # a box that holds 20 of them at 9 pt
    assert len(lines) > 1 and all(line_units(line) <= width for line in lines), lines
    assert "".join(lines) == PROMPT  # broken between characters: nothing dropped, no space added
    assert not any(line[0] in "，。、：" for line in lines)  # punctuation stays with the character before it
    mixed = wrap_lines("LUMIERE 光彩 serum 新年快乐 Midnight Bloom", 12 * 0.6 * 9 / 72, 9)
    assert all(line_units(line) <= 12 for line in mixed) and "LUMIERE" in mixed[0] and "Midnight" in " ".join(mixed)
    # a review's cases: a long identifier after a nearly full line, an emoji in Latin text, brackets
    for text, w in (("新年快乐海报 model=runware:108@1-a-very-long-identifier-without-spaces", 10),
                    ("世界世界 abcdefghijklmnop", 8), ("Glow ✨ premium-serum-identifier", 8),
                    ("全场五折限时购《新年快乐》", 8), ("限时（五折）购“新年快乐”好快乐", 9)):
        lines = wrap_lines(text, w * 0.6 * 9 / 72, 9)
        assert all(line_units(line) <= w for line in lines), (text, lines)
        assert not any(line[-1] in "《（“" for line in lines) and not any(line[0] in "》）”" for line in lines), lines
    japanese = "シャンプーとコンディショナーのキャンペーンちょっとお得"  # small kana and ー stay with the kana before
    for w in range(6, 20):  # from 6 units: ちょっ, the longest piece, fits a line
        lines = wrap_lines(japanese, w * 0.6 * 9 / 72, 9)
        assert "".join(lines) == japanese and not any(line[0] in NO_LINE_START for line in lines), (w, lines)
    cut = wrap_lines(PROMPT, width * 0.6 * 9 / 72, 9, max_lines=2)
    assert len(cut) == 2 and cut[-1].endswith("…") and line_units(cut[-1]) <= width
    # Latin text is wrapped as before, by textwrap
    assert wrap_lines("Glow, Refined. A premium beauty poster", 10 * 0.6 * 9 / 72, 9) == [
        "Glow,", "Refined. A", "premium", "beauty", "poster"]


def test_cjk_characters_are_drawn_with_the_cjk_font_and_latin_text_as_before(cjk_font: Path) -> None:
    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        boxes = _pixels(_one_text("新年快乐"))
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        drawn = _pixels(cjk_fallback(_one_text("新年快乐")))
    assert _missing_glyphs(before) and _missing_glyphs(after) == []  # DejaVu lacks them; the fallback has them
    assert (boxes != drawn).mean() > 0.01  # glyphs, not the four empty boxes
    latin = "LUMIÈRE Glow, Refined. 50% OFF"
    assert (_pixels(_one_text(latin)) == _pixels(cjk_fallback(_one_text(latin)))).all()  # not a pixel moved


def test_a_grid_of_a_chinese_prompt_draws_it_without_a_missing_glyph(cjk_font: Path, emulator, data_dir: Path,
                                                                      tmp_path: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="新年快乐", prompt=PROMPT, repeats=1, fail_one=False,
                    axes={"negativePrompt": [None, "模糊的文字"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = build_grid(exp, cols="negativePrompt").save(tmp_path / "grid.png", workers=1)
        fig = cost_by_experiment(Costs(exp.log))
        fig.savefig(tmp_path / "costs.png")
        show_pairs(pairs(exp, "negativePrompt"), path=tmp_path / "pairs.png")  # saved as it is made
    assert written and not _missing_glyphs(caught), _missing_glyphs(caught)[:3]


def test_an_emoji_no_font_has_is_named_not_drawn_as_an_empty_box(cjk_font: Path, emulator, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    """An emoji in a prompt was an empty box in the grid's footnote (DejaVu Sans and the CJK fonts
    have none), said only by a warning: it is its name in brackets,
    the same everywhere, and the CJK text beside it is still drawn in the CJK font."""
    prompt = "海报 LUMIERE 🚀 serum, 'Glow' ✨👍🏽"
    exp = run_sweep(emulator, data_dir, name="emoji", prompt=prompt, repeats=1, fail_one=False,
                    axes={"promptExtend": [True, False]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid = build_grid(exp, cols="promptExtend")
        grid.save(tmp_path / "grid.png", workers=1)
        fig = show_pairs(pairs(exp, "promptExtend"), path=tmp_path / "pairs.png")
    assert not _missing_glyphs(caught), _missing_glyphs(caught)[:3]
    assert fig.texts  # the pair figure: drawn with no missing glyph (its title names the axis, not the prompt)
    drawn = " ".join(t.get_text() for t in grid[0].texts)
    flat = " ".join(drawn.split())
    assert "海报 LUMIERE [rocket] serum, 'Glow' [sparkles][thumbs up sign]" in flat, flat
    assert "🚀" not in drawn and "\U0001f3fd" not in drawn  # the skin tone goes with the emoji it shaped


def test_without_a_cjk_font_figures_are_left_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cjk_font, "cjk_font_path", lambda: None)
    fig = _one_text("新年快乐")
    families = [t.get_fontfamily() for t in fig.texts]
    assert [t.get_fontfamily() for t in cjk_fallback(fig).texts] == families


def test_an_ocr_overlay_labels_a_chinese_reading_in_the_cjk_font(cjk_font: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The overlay of what the OCR read labelled each box with Pillow's built-in font: a reading in
    Chinese was a row of boxes; a Latin one beside it keeps the built-in font."""
    from qwenlab.typography import draw
    from qwenlab.typography.reading import Reading, TextLine

    blank = Image.new("RGB", (420, 300), "white")
    box = ((40.0, 80.0), (300.0, 80.0), (300.0, 120.0), (40.0, 120.0))
    latin = ((40.0, 220.0), (300.0, 220.0), (300.0, 260.0), (40.0, 260.0))
    reading = Reading("rapidocr", (TextLine("新年快乐", 0.99, box), TextLine("SALE", 0.98, latin)))
    drawn = np.asarray(draw.draw_reading(blank, reading))
    monkeypatch.setattr(draw, "cjk_font_path", lambda: None)  # as before: the built-in font
    boxes = np.asarray(draw.draw_reading(blank, reading))
    assert (drawn[:80] != boxes[:80]).any()  # the label above the Chinese line differs
    assert (drawn[150:] == boxes[150:]).all()  # the Latin line's label is drawn as before


def test_the_fallback_keeps_a_users_own_tick_label_font(cjk_font: Path) -> None:
    """cjk_fallback set every axes' tick labels to the default families plus the CJK font: a
    user's figure passed to a cost plot (ax=...) lost its own tick font on every panel."""
    fig = Figure()
    ax = fig.add_subplot()
    ax.bar(["新年快乐", "SALE"], [1, 2])
    ax.tick_params(labelfontfamily="serif")
    cjk_fallback(fig)
    fig.savefig(io.BytesIO(), format="png")
    assert all(t.get_fontfamily()[0] == "serif" and len(t.get_fontfamily()) == 2
               for t in [*ax.get_xticklabels(), *ax.get_yticklabels()])


def test_a_cost_plot_wraps_a_chinese_label_by_the_width_it_takes() -> None:
    from qwenlab.costs.plots import _wrap

    name = "春节促销海报的提示词实验第二轮对比"  # 17 characters, 28 Latin letters wide
    lines = _wrap(name, 14).split("\n")
    assert "".join(lines) == name and len(lines) == 3 and all(line_units(line) <= 14 for line in lines), lines
    # Latin labels as textwrap wraps them, hyphens included
    assert _wrap("poster-sweep-with-negative-prompt run 2", 14) == textwrap.fill("poster-sweep-with-negative-prompt run 2", 14)


def test_tick_labels_made_when_drawn_name_an_emoji_no_font_has(cjk_font: Path) -> None:
    """A tick label is made from its axis' formatter each time the figure is drawn: an emoji set
    as one (a category of a user's bars, a label given to set_yticks) stayed an empty box after
    the figure's texts were passed through `drawable`. `legible` has the formatters hand theirs
    through it too; the CJK characters beside it are drawn as they are."""
    from qwenlab.core.glyphs import legible

    fig = Figure()
    ax, other = fig.subplots(1, 2)
    ax.bar(["spring 🌸 sale", "新年快乐"], [1, 2])  # categories: labelled by matplotlib's formatter at draw time
    other.set_yticks([0, 1], ["poster 🚀 launch", "plain"])
    other.set_title("spring 🌸 sale")
    legible(fig)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert not _missing_glyphs(caught), _missing_glyphs(caught)[:3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["spring [cherry blossom] sale", "新年快乐"]
    assert [t.get_text() for t in other.get_yticklabels()] == ["poster [rocket] launch", "plain"]
    assert other.get_title() == "spring [cherry blossom] sale"
    legible(fig)  # once more: each formatter still hands its labels through once
    assert [t.get_text() for t in other.get_yticklabels()] == ["poster [rocket] launch", "plain"]
