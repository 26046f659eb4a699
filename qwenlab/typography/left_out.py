"""The images one engine's text scores leave out: scored by other OCR engines only.

    gap = left_out(log, experiment_id, "rapidocr")   # None when that engine scored every image scored
    gap.images, gap.engines, gap.experiments
    str(gap)   # "text scores by rapidocr: 2 images of 'after' scored by tesseract only are left out; ..."
    gap.sentence()   # the same without its first words, where the engine is named already

Every view shows one engine's scores (two engines' are not comparable: they read differently),
the most used one unless told. In an experiment scored by one engine and extended since, or in a
comparison of experiments scored with different engines, the images only another engine scored
were left out of every mean, grid and report without a word: "mean 0.91 over 12 images" did not
say that 4 more were scored, by Tesseract. The views now say it with this sentence, which names
the fix: scoring those images with the shown engine too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.values import count_of, label_list

if TYPE_CHECKING:
    from ..store.log import Log

__all__ = ["LeftOut", "left_out"]


@dataclass(frozen=True)
class LeftOut:
    """Images of an experiment (or comparison) scored by other engines but not by `engine`."""

    engine: str                    # the engine whose scores are shown
    images: int                    # images scored by other engines only
    engines: tuple[str, ...]       # those other engines
    experiments: tuple[str, ...]   # the experiments they belong to
    comparison: bool = False       # the scores shown are a comparison's

    def __str__(self) -> str:
        return f"text scores by {self.engine}: {self.sentence()}"

    def sentence(self) -> str:
        """What is left out and how to score it, for a text that has named the engine already."""
        one = self.images == 1
        where = f" of {label_list(repr(n) for n in self.experiments)}" if self.comparison else ""
        python = f"{'cmp' if self.comparison else 'exp'}.score_text({self.engine!r})"
        shell = "; ".join(f"qwenlab score {name} --engine {self.engine}" for name in self.experiments)
        return (f"{count_of(self.images, 'image')}{where} scored by "
                f"{' and '.join(self.engines)} only {'is' if one else 'are'} left out; to score every image "
                f"with one engine, score {'it' if one else 'them'} with {self.engine} too: {python} ({shell})")


def left_out(log: "Log", experiment_id: int, engine: str | None) -> LeftOut | None:
    """The images of the experiment (or comparison: its id stands for its members) that engines
    other than `engine` scored and `engine` did not; None when there are none (or no engine)."""
    ids = log.scope(experiment_id)
    if engine is None or not ids:
        return None
    marks = ", ".join("?" for _ in ids)
    rows = log.rows(
        "SELECT s.image_id, s.engine, e.name FROM text_scores s JOIN experiments e ON e.id = s.experiment_id "
        f"WHERE s.experiment_id IN ({marks}) AND s.engine != ? AND s.image_id NOT IN "
        f"(SELECT image_id FROM text_scores WHERE engine = ? AND experiment_id IN ({marks})) "
        "ORDER BY s.experiment_id, s.engine", [*ids, engine, engine, *ids])
    if not rows:
        return None
    return LeftOut(engine, len({r["image_id"] for r in rows}), tuple(dict.fromkeys(r["engine"] for r in rows)),
                   tuple(dict.fromkeys(r["name"] for r in rows)), comparison=len(ids) > 1)
