"""Specimens: images of known text, to check that OCR scoring tells right text from wrong.

    from qwenlab.typography.specimens import specimens, agreement
    report = agreement("rapidocr")         # reads 24 specimens; how often the score matches the truth
    print(report)                          # rapidocr: strings 1.000 (49/49, 16 misspelled), words ...

Each specimen is a busy background (gradient, translucent shapes, strokes, noise) with one to
three strings drawn in one of several fonts (Pillow's built-in font; DejaVu Sans, Sans Bold and
Serif as bundled with matplotlib), sizes and colours (light or dark, plain or coloured, some
with an outline). About a third of the strings are deliberately misspelled with one edit (the
emulator's `misspell`), so the truth of every string and word is known: a string is right when
what was drawn equals what was expected, a word when it was drawn as expected. Agreement is the
share of strings (words, images) whose score says right exactly when the truth does.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from ..core.request import Request
from ..core.shown import shown_as_text
from ..emulator.misspelling import misspell
from ..emulator.synthetic import Scene, headlines
from .engines import get_engine
from .normalization import words
from .scoring import TextScore, score_text

if TYPE_CHECKING:
    from .engines import OCREngine

__all__ = ["Specimen", "specimens", "Agreement", "agreement", "emulated_truth", "FONTS"]

FONTS = ("default", "DejaVu Sans", "DejaVu Sans Bold", "DejaVu Serif")
_WORDS = ("LUMIERE", "Radiance", "Renewal", "Serum", "Glow", "Refined", "Midnight", "Bloom", "Parfum", "Eau", "de",
          "EST", "1928", "Morning", "Ritual", "Coffee", "Summer", "Sale", "Grand", "Opening", "Fresh", "Bakery",
          "Ocean", "Breeze", "Golden", "Hour", "Velvet", "Rose", "Harbor", "Market", "Since", "2024", "Urban", "Garden",
          "NOIRE", "LUNE", "Crystal", "Water", "Spring", "Festival", "Jazz", "Night", "Organic", "Honey", "Cafe")


@dataclass(frozen=True)
class Specimen:
    """One image of known text: what it should read (`expected`) and what it shows (`drawn`)."""

    image: Image.Image = field(repr=False)
    expected: tuple[str, ...]
    drawn: tuple[str, ...]
    font: str
    px: int

    def truth_words(self) -> list[list[bool]]:
        """For each string, for each expected word: was it drawn as expected?"""
        return [[x == y for x, y in zip(words(e), words(d))] + [False] * (len(words(e)) - len(words(d)))
                for e, d in zip(self.expected, self.drawn)]

    @property
    def truth_strings(self) -> list[bool]:
        return [e == d for e, d in zip(self.expected, self.drawn)]


def _font(name: str, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == "default":
        return ImageFont.load_default(size=px)
    from matplotlib import font_manager

    bold = name.endswith(" Bold")
    family = name.removesuffix(" Bold")
    path = font_manager.findfont(font_manager.FontProperties(family=family, weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, px)


def _background(w: int, h: int, rng: random.Random) -> Image.Image:
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    mask = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), bottom), Image.new("RGB", (w, h), top), mask)  # type: ignore[arg-type]
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(40):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(8, w / 5)
        colour = (*(rng.randrange(256) for _ in range(3)), rng.randrange(60, 160))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.rectangle([x - r, y - r / 2, x + r, y + r / 2], fill=colour)
    for _ in range(60):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        draw.line([x, y, x + rng.uniform(-80, 80), y + rng.uniform(-80, 80)],
                  fill=(*(rng.randrange(256) for _ in range(3)), 200), width=rng.choice((1, 2)))
    img = Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
    return Image.blend(img, Image.frombytes("L", (w, h), rng.randbytes(w * h)).convert("RGB"), 0.12)  # seeded noise


def _ink(region: Image.Image, rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int] | None]:
    """A text colour that stands out from `region` (light on dark, dark on light; sometimes
    coloured), and sometimes an outline of the opposite tone."""
    luminance = region.convert("L").resize((1, 1)).getpixel((0, 0))
    dark_bg = luminance < 128
    if rng.random() < 0.35:  # coloured ink
        ink = rng.choice([(255, 220, 0), (0, 230, 255), (255, 90, 200)] if dark_bg else [(150, 0, 0), (0, 40, 140), (0, 90, 0)])
    else:
        ink = (250, 250, 250) if dark_bg else (15, 15, 15)
    outline = ((0, 0, 0) if dark_bg else (255, 255, 255)) if rng.random() < 0.5 else None
    return ink, outline


def specimens(n: int = 24, *, seed: int = 0, size: tuple[int, int] = (640, 480), misspelled: float = 0.35) -> list[Specimen]:
    """`n` specimens (deterministic for a seed): fonts cycle through FONTS, sizes through
    26-72 px; each string is misspelled with probability `misspelled`."""

    w, h = size
    out = []
    sizes = (26, 34, 44, 56, 72)
    for k in range(n):
        rng = random.Random(f"specimen|{seed}|{k}")
        font_name, px = FONTS[k % len(FONTS)], sizes[(k // len(FONTS)) % len(sizes)]
        img = _background(w, h, rng)
        draw = ImageDraw.Draw(img)
        count = rng.choice((1, 2, 2, 3))
        band = h // count
        expected, drawn = [], []
        for i in range(count):
            text = " ".join(rng.sample(_WORDS, rng.choice((1, 2, 2, 3))))
            shown = misspell(text, rng) if rng.random() < misspelled else text
            font = _font(font_name, px)
            while font.getlength(shown) > w * 0.92 and font.size > 14:  # type: ignore[union-attr]
                font = _font(font_name, int(font.size * 0.85))  # type: ignore[union-attr]
            tw = font.getlength(shown)
            x = rng.uniform(w * 0.03, max(w * 0.03, w * 0.97 - tw))
            y = band * i + rng.uniform(band * 0.15, max(band * 0.15, band * 0.85 - px))
            left, top, right, bottom = draw.textbbox((x, y), shown, font=font)
            ink, outline = _ink(img.crop((int(left), int(top), int(right) + 1, int(bottom) + 1)), rng)
            draw.text((x, y), shown, font=font, fill=ink,
                      stroke_width=max(1, px // 18) if outline else 0, stroke_fill=outline)
            expected.append(text)
            drawn.append(shown)
        out.append(Specimen(img, tuple(expected), tuple(drawn), font_name, px))
    return out


@shown_as_text
@dataclass
class Agreement:
    """How often the score's verdict matched the truth, by string, word and image."""

    engine: str
    strings: int = 0
    strings_agree: int = 0
    words: int = 0
    words_agree: int = 0
    images: int = 0
    images_agree: int = 0
    seconds: float = 0.0
    misspelled_strings: int = 0
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def string_agreement(self) -> float:
        return self.strings_agree / self.strings if self.strings else float("nan")

    @property
    def word_agreement(self) -> float:
        return self.words_agree / self.words if self.words else float("nan")

    @property
    def image_agreement(self) -> float:
        return self.images_agree / self.images if self.images else float("nan")

    def __str__(self) -> str:
        return (f"{self.engine}: strings {self.string_agreement:.3f} ({self.strings_agree}/{self.strings}, "
                f"{self.misspelled_strings} misspelled), words {self.word_agreement:.3f} ({self.words_agree}/{self.words}), "
                f"images {self.image_agreement:.3f} ({self.images_agree}/{self.images}); "
                f"{self.images / self.seconds if self.seconds else float('nan'):.2f} images/s")


def agreement(engine: "str | OCREngine" = "auto", items: list[Specimen] | None = None) -> Agreement:
    """Read each specimen with `engine`, score it, and count where the verdicts match the truth."""

    eng = get_engine(engine)
    items = specimens() if items is None else items
    report = Agreement(eng.name)
    started = time.perf_counter()
    for k, sp in enumerate(items):
        score: TextScore = score_text(sp.expected, eng.read(sp.image))
        truth_words = sp.truth_words()
        report.images += 1
        report.images_agree += bool(score.correct) == all(sp.truth_strings)
        for s, truth, tw in zip(score.strings, sp.truth_strings, truth_words):
            report.strings += 1
            report.misspelled_strings += not truth
            report.strings_agree += s.exact == truth
            said = list(s.word_hits)
            report.words += len(tw)
            report.words_agree += sum(a == b for a, b in zip(said, tw))
            if s.exact != truth or said != tw:
                report.disagreements.append({"specimen": k, "font": sp.font, "px": sp.px, "expected": s.expected,
                                             "drawn": sp.drawn[sp.expected.index(s.expected)], "read": s.read,
                                             "ned": round(s.ned, 3), "words_truth": tw, "words_said": said})
    report.seconds = time.perf_counter() - started
    return report


def emulated_truth(exp: Any) -> dict[int, list[tuple[str, str]]]:
    """For an experiment run against qwenlab's emulator: image id -> (expected, drawn) for each
    quoted string, recomputed from the log (request, reported seed) with the emulator's own rule.
    `drawn` is what a reader sees: CJK characters show as □ where this machine has no CJK font
    (so ask on the machine whose emulator drew the images). Meaningless for images from the real API."""

    out: dict[int, list[tuple[str, str]]] = {}
    rows = exp.log.rows("SELECT i.id, i.seed, t.request_json FROM images i JOIN tasks t ON t.id = i.task_id "
                         "WHERE i.experiment_id = ?", [exp.id])
    for r in rows:
        req = Request.from_json(r["request_json"])  # as the emulator saw it: same size, same output hash
        width, height = req.size
        extend = req.get("promptExtend")
        scene = Scene(prompt=req.prompt or "", width=width, height=height, seed=r["seed"], key=req.output_hash(),
                      negative_prompt=req.negative_prompt, prompt_extend=True if extend is None else bool(extend))
        out[int(r["id"])] = [(h.expected, h.drawn) for h in headlines(scene)]
    return out
